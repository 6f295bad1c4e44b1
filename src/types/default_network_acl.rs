//! `default_network_acl`: the network ACL AWS makes with every VPC (guarding
//! every subnet no other ACL holds), adopted so that its rules are managed:
//! none by default, which strips AWS's allow-all (the CIS baseline). Never
//! made or deleted: destroy leaves it, and its rules, as they are.

use super::network_acl::{RULE, canonical, check};
use super::schema::{Attr, Default, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "default_network_acl",
    doc: "The network ACL AWS makes with every VPC, adopted so its rules are managed: none unless listed (AWS's allow-all rules are removed, the CIS baseline). Never made or deleted: destroy leaves it and its rules as they are.",
    attrs: &[
        Attr::new("vpc_id", Kind::String).doc("The VPC whose default ACL it is.").required().force_new(),
        Attr::new("ingress", Kind::Set(&RULE))
            .doc("Rules in, as a network_acl's; none when unset or [] (AWS's own rule 100, allow all, is deleted).")
            .default(Default::EmptyList),
        Attr::new("egress", Kind::Set(&RULE))
            .doc("Rules out; none when unset or [] (AWS's own rule 100, allow all, is deleted).")
            .default(Default::EmptyList),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    canonical: Some(canonical),
    id_format: "its acl-… id (the VPC's default ACL)",
    ..TypeSchema::BASE
};
