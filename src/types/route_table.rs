//! `route_table`: a VPC route table, its routes and the subnets associated with
//! it. Routes are compared as a set, by destination, and change in place
//! (CreateRoute, ReplaceRoute, DeleteRoute); the VPC's `local` route and the
//! routes a gateway endpoint adds are AWS's, never listed. A subnet is in one
//! table at a time: moved from one table to another, it is taken over by the
//! new one (ReplaceRouteTableAssociation) before the old one lets it go, so it
//! is never without its routes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, TypeSchema};

/// Where a route sends traffic: exactly one of these.
pub const TARGETS: &[&str] = &[
    "gateway_id",
    "nat_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
    "transit_gateway_id",
];

/// What a route matches: exactly one of these.
pub const DESTINATIONS: &[&str] = &["cidr_block", "destination_prefix_list_id"];

pub const ROUTE: Kind = Kind::Object(&[
    Attr::new("cidr_block", Kind::Cidr),
    Attr::new("destination_prefix_list_id", Kind::String),
    // An internet gateway (or a virtual private gateway).
    Attr::new("gateway_id", Kind::String),
    Attr::new("nat_gateway_id", Kind::String),
    // A Gateway Load Balancer endpoint.
    Attr::new("vpc_endpoint_id", Kind::String),
    Attr::new("vpc_peering_connection_id", Kind::String),
    Attr::new("transit_gateway_id", Kind::String),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "route_table",
    doc: "A VPC route table, its routes and the subnets associated with it. Routes change in place; the VPC's local route is AWS's and never listed.",
    attrs: &[
        Attr::new("vpc_id", Kind::String)
            .doc("The VPC it belongs to.").required().force_new(),
        Attr::new("routes", Kind::Set(&ROUTE))
            .doc("Its routes: each a destination (cidr_block or destination_prefix_list_id) and one target; one route per destination.").default(Default::EmptyList),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .doc("The subnets associated with it (a subnet is in one table at a time).").default(Default::EmptyList),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    exclusive: &["subnet_ids"],
    id_format: "its rtb-… id",
    ..TypeSchema::BASE
};

/// A route's destination, whichever kind it is.
pub fn destination(route: &Value) -> Option<&str> {
    DESTINATIONS.iter().find_map(|k| route.get(*k).and_then(Value::as_str))
}

/// A route's target: (which attribute, the id).
pub fn target(route: &Value) -> Option<(&'static str, &str)> {
    TARGETS.iter().find_map(|k| Some((*k, route.get(*k).and_then(Value::as_str)?)))
}

/// Each route has one destination and one target, and no two routes share a
/// destination (AWS answers RouteAlreadyExists).
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(routes) = attrs.get("routes").and_then(Value::as_array) else {
        return out;
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, route) in routes.iter().enumerate() {
        let count = |keys: &[&str]| keys.iter().filter(|k| route.get(**k).is_some()).count();
        if count(DESTINATIONS) != 1 {
            out.push(Finding {
                lint: None,
                pointer: format!("/routes/{i}"),
                message: format!(
                    "route {} needs exactly one of `cidr_block` and `destination_prefix_list_id`",
                    i + 1
                ),
                hint: Some("write one route per destination".into()),
            });
        }
        if count(TARGETS) != 1 {
            out.push(Finding {
                lint: None,
                pointer: format!("/routes/{i}"),
                message: format!("route {} needs exactly one target", i + 1),
                hint: Some(format!("one of {}", TARGETS.join(", "))),
            });
        }
        if let Some(dest) = destination(route) {
            if let Some(first) = seen.get(dest) {
                out.push(Finding {
                    lint: None,
                    pointer: format!("/routes/{i}"),
                    message: format!(
                        "routes {} and {} both go to {dest}",
                        first + 1,
                        i + 1
                    ),
                    hint: Some(
                        "a table has one route per destination; AWS refuses the second (RouteAlreadyExists)".into(),
                    ),
                });
            } else {
                seen.insert(dest, i);
            }
        }
    }
    out
}
