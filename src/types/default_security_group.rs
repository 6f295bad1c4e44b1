//! `default_security_group`: the group AWS makes with every VPC, adopted
//! (never made, never deleted) so that its rules are managed: none by
//! default, which strips AWS's (the CIS baseline: the default group admits
//! nothing, so nothing lands in it by accident).

use super::schema::{Attr, Default, Kind, TypeSchema};
use super::security_group::{RULE, check, lint};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "default_security_group",
    doc: "The group AWS makes with every VPC, adopted so its rules are managed: none unless listed (the CIS baseline strips AWS's). Never made or deleted: destroy leaves the group, and its rules as they are.",
    attrs: &[
        Attr::new("vpc_id", Kind::String).doc("The VPC whose default group it is.").required().force_new(),
        Attr::new("ingress", Kind::Set(&RULE))
            .doc("Rules in, as a security group's; none when unset or [] (AWS's own, all traffic from the group itself, is revoked).")
            .deferred()
            .default(Default::EmptyList),
        Attr::new("egress", Kind::Set(&RULE))
            .doc("Rules out; none when unset or [] (AWS's own, all traffic to anywhere, is revoked).")
            .deferred()
            .default(Default::EmptyList),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    lint: Some(lint),
    id_format: "its sg-… id (the VPC's default group)",
    ..TypeSchema::BASE
};
