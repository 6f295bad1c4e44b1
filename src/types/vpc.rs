//! `vpc`: a VPC. Its DNS attributes change in place (ModifyVpcAttribute): both
//! must be on for an interface endpoint's private DNS and for EKS nodes.

use super::schema::{Attr, Default, Kind, TypeSchema, block_size};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "vpc",
    attrs: &[
        Attr::new("cidr_block", Kind::Cidr).required().force_new(),
        // AWS's defaults for a VPC that is not the default one.
        Attr::new("enable_dns_support", Kind::Bool).default(Default::Bool(true)),
        Attr::new("enable_dns_hostnames", Kind::Bool).default(Default::Bool(false)),
    ],
    exports: &["id", "arn", "cidr_block"],
    check: Some(block_size),
    ..TypeSchema::BASE
};
