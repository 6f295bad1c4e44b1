//! `iam_instance_profile`: what puts an IAM role on an EC2 instance.

use super::schema::{Attr, Default, Kind, NameDefault, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "iam_instance_profile",
    doc: "An instance profile: what puts an IAM role on an EC2 instance (an instance's iam_instance_profile names it).",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The profile name; <stack>-<name> when unset (replace).")
            .force_new(),
        Attr::new("path", Kind::String)
            .doc("Its path, / unless set (replace).")
            .default(Default::Str("/"))
            .force_new(),
        Attr::new("role", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The name of the role it holds (one at most, as IAM allows), such as ${iam_role.app.name}; in place."),
    ],
    exports: &["id", "name", "arn", "unique_id"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(super::iam_policy::check_path),
    id_format: "its name",
    ..TypeSchema::BASE
};
