//! `subnet`: a subnet of a VPC.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema, block_size};

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
        Attr::new("ipv6_cidr_block", Kind::String)
            .on_removal(Removal::Delete)
            .doc("Its IPv6 range, a /64 of the VPC's /56 (cidrsubnet(vpc.ipv6_cidr_block, 8, N)); in place (AssociateSubnetCidrBlock; removed, disassociated).")
            .kept_if_unreported(),
        Attr::new("assign_ipv6_address_on_creation", Kind::Bool)
            .doc("Whether instances launched in it get an IPv6 address (needs ipv6_cidr_block).")
            .default(Default::Bool(false)),
    ],
    exports: &["id", "arn", "availability_zone", "ipv6_cidr_block_association_id"],
    check: Some(check),
    id_format: "its subnet-… id",
    ..TypeSchema::BASE
};

/// Its IPv4 block's size, and an IPv6 block that is a /64 (a subnet's IPv6
/// range is always a /64: Amazon VPC User Guide, "IPv6 VPC CIDR blocks").
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = block_size(attrs);
    if let Some(v6) = attrs.get("ipv6_cidr_block").and_then(Value::as_str)
        && !v6.contains("${")
    {
        match v6.parse::<ipnet::Ipv6Net>() {
            Ok(net) if net.prefix_len() == 64 => {}
            _ => out.push(Finding {
                lint: None,
                pointer: "/ipv6_cidr_block".into(),
                message: format!("`{v6}` is not an IPv6 /64: a subnet's IPv6 range is a /64"),
                hint: Some(
                    "cidrsubnet(vpc.ipv6_cidr_block, 8, N) makes the Nth /64 of the VPC's /56"
                        .into(),
                ),
            }),
        }
    }
    if attrs.get("assign_ipv6_address_on_creation").and_then(Value::as_bool) == Some(true)
        && !attrs.contains_key("ipv6_cidr_block")
    {
        out.push(Finding {
            lint: None,
            pointer: "/assign_ipv6_address_on_creation".into(),
            message: "a subnet without ipv6_cidr_block has no IPv6 address to give".into(),
            hint: Some("set ipv6_cidr_block too".into()),
        });
    }
    out
}
