//! `internet_gateway`: a VPC's way to the internet, attached to one VPC. An
//! internet-facing load balancer needs one in its VPC, and a public subnet a
//! route to it.

use super::schema::{Attr, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "internet_gateway",
    doc: "A VPC's way to the internet, attached to one VPC: an internet-facing load balancer needs one, and a public subnet a route to it.",
    // The VPC it is attached to; a change detaches it and attaches it there.
    attrs: &[Attr::new("vpc_id", Kind::String).doc("The VPC it is attached to.").required()],
    exports: &["id", "arn"],
    id_format: "its igw-… id",
    ..TypeSchema::BASE
};
