//! `vpc`: a VPC.

use super::schema::{Attr, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "vpc",
    attrs: &[Attr::new("cidr_block", Kind::Cidr).required().force_new()],
    exports: &["id", "arn", "cidr_block"],
    ..TypeSchema::BASE
};
