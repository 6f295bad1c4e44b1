//! `subnet`: a subnet of a VPC.

use super::schema::{Attr, Default, Kind, Removal, TypeSchema, block_size};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "subnet",
    doc: "A subnet of a VPC, in one availability zone.",
    attrs: &[
        Attr::new("vpc_id", Kind::String).doc("The VPC it is in.").required().force_new(),
        Attr::new("cidr_block", Kind::Cidr)
            .doc("Its IPv4 range, inside the VPC's and overlapping no other subnet's.")
            .required()
            .force_new(),
        Attr::new("availability_zone", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Its zone, such as ap-northeast-1a; AWS picks one when unset.")
            .force_new(),
        Attr::new("map_public_ip_on_launch", Kind::Bool)
            .doc("Whether instances launched in it get a public IPv4 address.")
            .default(Default::Bool(false)),
    ],
    exports: &["id", "arn", "availability_zone"],
    check: Some(block_size),
    id_format: "its subnet-… id",
    ..TypeSchema::BASE
};
