//! `subnet`: a subnet of a VPC.

use super::schema::{Attr, Default, Kind, TypeSchema, block_size};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "subnet",
    attrs: &[
        Attr::new("vpc_id", Kind::String).required().force_new(),
        Attr::new("cidr_block", Kind::Cidr).required().force_new(),
        Attr::new("availability_zone", Kind::String).force_new(),
        Attr::new("map_public_ip_on_launch", Kind::Bool).default(Default::Bool(false)),
    ],
    exports: &["id", "arn", "availability_zone"],
    check: Some(block_size),
    ..TypeSchema::BASE
};
