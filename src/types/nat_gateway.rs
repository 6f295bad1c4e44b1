//! `nat_gateway`: a NAT gateway in one subnet. A public one (the default) needs
//! an Elastic IP and a subnet with a route to the internet gateway; a private one
//! takes no address. AWS works on it for minutes: create and delete wait, marked
//! pending in state, so a run that stops resumes the wait.

use serde_json::{Map, Value};

use super::price::{PriceBook, rate};
use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "nat_gateway",
    doc: "A NAT gateway in one subnet: how private subnets reach the internet. A public one needs an Elastic IP and a subnet routed to the internet gateway.",
    attrs: &[
        Attr::new("subnet_id", Kind::String)
            .doc("The subnet it sits in: for a public gateway, one routed to the internet gateway.")
            .required()
            .force_new(),
        Attr::new("connectivity_type", Kind::Enum(&["public", "private"]))
            .doc("public (needs allocation_id) or private (no address).")
            .default(Default::Str("public"))
            .force_new(),
        // The Elastic IP's allocation id: `${elastic_ip.NAME.id}`.
        Attr::new("allocation_id", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The Elastic IP's allocation id, for a public gateway.")
            .force_new(),
    ],
    exports: &["id", "public_ip", "private_ip"],
    check: Some(check),
    price: Some(price),
    id_format: "its nat-… id",
    ..TypeSchema::BASE
};

/// What AWS refuses: a public NAT gateway without an address, a private one
/// with one.
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let public = attrs.get("connectivity_type").and_then(Value::as_str) != Some("private");
    match (public, attrs.contains_key("allocation_id")) {
        (true, false) => vec![Finding {
            lint: None,
            pointer: "/connectivity_type".into(),
            message: "a public NAT gateway needs `allocation_id` (an Elastic IP)".into(),
            hint: Some(
                "add an `elastic_ip` and set allocation_id: ${elastic_ip.NAME.id}, or set connectivity_type: private".into(),
            ),
        }],
        (false, true) => vec![Finding {
            lint: None,
            pointer: "/allocation_id".into(),
            message: "a private NAT gateway takes no `allocation_id`".into(),
            hint: Some("remove allocation_id, or make it public".into()),
        }],
        _ => Vec::new(),
    }
}

/// The gateway by the hour (what it processes is billed by use).
fn price(_: &Map<String, Value>, book: &PriceBook) -> Result<(f64, String), String> {
    let r = book.rates.nat_gateway;
    Ok((r, format!("NAT gateway at {}", rate(r))))
}
