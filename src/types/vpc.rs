//! `vpc`: a VPC. Its DNS attributes change in place (ModifyVpcAttribute): both
//! must be on for an interface endpoint's private DNS and for EKS nodes.

use super::schema::{Attr, Default, Kind, TypeSchema, block_size};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "vpc",
    doc: "A VPC: an isolated network with one IPv4 range.",
    attrs: &[
        Attr::new("cidr_block", Kind::Cidr)
            .doc("The VPC's IPv4 range, /16 to /28.").required().force_new(),
        // AWS's defaults for a VPC that is not the default one.
        Attr::new("enable_dns_support", Kind::Bool)
            .doc("Whether the Amazon DNS server answers in the VPC (EKS and private DNS of interface endpoints need it on).").default(Default::Bool(true)),
        Attr::new("enable_dns_hostnames", Kind::Bool)
            .doc("Whether instances get public DNS host names (EKS and private DNS of interface endpoints need it on).").default(Default::Bool(false)),
        Attr::new("assign_generated_ipv6_cidr_block", Kind::Bool)
            .doc("Whether AWS gives the VPC an IPv6 /56 of its own (exported as ipv6_cidr_block, for subnets' /64s: cidrsubnet(vpc.ipv6_cidr_block, 8, N)); in place.")
            .default(Default::Bool(false)),
    ],
    exports: &["id", "arn", "cidr_block", "ipv6_cidr_block", "ipv6_association_id"],
    check: Some(block_size),
    id_format: "its vpc-… id",
    ..TypeSchema::BASE
};
