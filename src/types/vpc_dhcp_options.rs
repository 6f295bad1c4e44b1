//! `vpc_dhcp_options`: what a VPC's instances are told by DHCP (their
//! domain name, name servers, NTP servers), associated with one VPC. A set
//! of options cannot change in AWS: a change makes a new set, associated in
//! the old one's place, before the old one goes.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "vpc_dhcp_options",
    doc: "What a VPC's instances are told by DHCP (domain name, name servers, NTP servers), associated with one VPC. A set cannot change: a change makes a new one.",
    attrs: &[
        Attr::new("domain_name", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The domain name instances take, such as internal.example.com (replace).")
            .force_new(),
        Attr::new("domain_name_servers", Kind::List(&Kind::String))
            .doc("Up to four name servers, or AmazonProvidedDNS (the default; replace).")
            .default(Default::Json(r#"["AmazonProvidedDNS"]"#))
            .force_new(),
        Attr::new("ntp_servers", Kind::List(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("Up to four NTP servers' IPv4 addresses (replace).")
            .force_new(),
        Attr::new("netbios_name_servers", Kind::List(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("Up to four NetBIOS name servers (replace).")
            .force_new(),
        Attr::new("netbios_node_type", Kind::Enum(&["1", "2", "4", "8"]))
            .on_removal(Removal::Delete)
            .doc("The NetBIOS node type; AWS recommends 2 (replace).")
            .force_new(),
        // The association: in place (AssociateDhcpOptions).
        Attr::new("vpc_id", Kind::String).on_removal(Removal::Delete).doc(
            "The VPC that uses it (in place; AWS's default set is put back on the VPC it leaves).",
        ),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    id_format: "its dopt-… id",
    ..TypeSchema::BASE
};

/// At most four servers of each kind (EC2's CreateDhcpOptions).
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    ["domain_name_servers", "ntp_servers", "netbios_name_servers"]
        .iter()
        .filter(|k| attrs.get(**k).and_then(Value::as_array).is_some_and(|a| a.len() > 4))
        .map(|k| Finding {
            lint: None,
            pointer: format!("/{k}"),
            message: format!("`{k}` takes at most four servers"),
            hint: Some("EC2 refuses a fifth (CreateDhcpOptions)".into()),
        })
        .collect()
}
