//! `elastic_ip`: an Elastic IP address in the VPC domain, kept for a public NAT
//! gateway (or anything else that needs a fixed public address). Only its tags
//! change in place.

use super::schema::TypeSchema;

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "elastic_ip",
    doc: "An Elastic IP address in the VPC domain, kept for a public NAT gateway or anything else that needs a fixed public address.",
    attrs: &[],
    // `id` is the allocation id (`eipalloc-…`), what a NAT gateway takes.
    exports: &["id", "public_ip"],
    ..TypeSchema::BASE
};
