//! `default_route_table`: the main route table AWS makes with every VPC
//! (the routes of every subnet no other table holds), adopted so that its
//! routes are managed: none but AWS's local route by default. Never made or
//! deleted: destroy leaves it, and its routes, as they are.

use super::route_table::{ROUTE, check};
use super::schema::{Attr, Default, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "default_route_table",
    doc: "The main route table AWS makes with every VPC, adopted so its routes are managed: none but the VPC's local route unless listed. Never made or deleted: destroy leaves it and its routes as they are.",
    attrs: &[
        Attr::new("vpc_id", Kind::String).doc("The VPC whose main table it is.").required().force_new(),
        Attr::new("routes", Kind::Set(&ROUTE))
            .doc("Its routes, as a route_table's; none when unset or [] (routes added by hand are deleted; the local route is AWS's).")
            .default(Default::EmptyList),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    id_format: "its rtb-… id (the VPC's main table)",
    ..TypeSchema::BASE
};
