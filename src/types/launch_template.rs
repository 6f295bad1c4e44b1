//! `launch_template`: a launch template for EKS nodes, IMDSv2 with hop limit 2 by
//! default. A change makes a new version and makes it the default.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};

pub const METADATA: Kind = Kind::Object(&[
    Attr::new("http_tokens", Kind::Enum(&["required", "optional"]))
        .default(Default::Str("required")),
    Attr::new("http_put_response_hop_limit", Kind::Int { min: 1, max: 64 })
        .default(Default::Int(2)),
    Attr::new("http_endpoint", Kind::Enum(&["enabled", "disabled"]))
        .default(Default::Str("enabled")),
]);

const BLOCK_DEVICE: Kind = Kind::Object(&[
    Attr::new("device_name", Kind::String).required(),
    Attr::new("volume_size", Kind::Int { min: 1, max: 16_384 }).required(),
    Attr::new("volume_type", Kind::Enum(&["gp2", "gp3", "io1", "io2", "st1", "sc1"]))
        .default(Default::Str("gp3")),
    Attr::new("encrypted", Kind::Bool).default(Default::Bool(true)),
    Attr::new("delete_on_termination", Kind::Bool).default(Default::Bool(true)),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "launch_template",
    doc: "A launch template for EKS nodes, IMDSv2 with hop limit 2 by default. A change makes a new version and makes it the default.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The template name; <stack>-<name> when unset.")
            .force_new(),
        // Terraform's name_prefix: a unique name that begins so, made at
        // create, so that a replacement can stand beside what it replaces.
        // AWS knows only the name: the prefix is kept as asked.
        Attr::new("name_prefix", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Instead of name: a unique name beginning with this is made at creation (Terraform's name_prefix), so a replacement can stand beside the template it replaces.")
            .force_new()
            .kept_if_unreported(),
        Attr::new("metadata_options", METADATA)
            .doc("Instance metadata: IMDSv2 required with hop limit 2 by default, as pods need.")
            .default(Default::Json("{}")),
        Attr::new("instance_type", Kind::String)
            .on_removal(Removal::Delete)
            .doc("An instance type (else the node group's instance_types)."),
        // Plain text here; base64 on the wire.
        Attr::new("user_data", Kind::String)
            .on_removal(Removal::Delete)
            .doc("User data, plain text (base64 on the wire). Plans show it as lines, a change as the lines it changes; a secret in it comes from a sensitive variable, which seals it."),
        Attr::new("block_devices", Kind::List(&BLOCK_DEVICE))
            .on_removal(Removal::Delete)
            .doc("EBS volumes: size, type, encryption."),
        Attr::new("security_group_ids", Kind::Set(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("The security groups of the instances' network interface: the nodes' groups. Left out, EKS puts only the cluster's own group on the nodes (eks_cluster's cluster_security_group_id)."),
        Attr::new("description", Kind::String)
            .on_removal(Removal::Delete)
            .doc("What the template is for (the description of each version it makes)."),
        // Tags for the instances launched from the template.
        Attr::new("instance_tags", Kind::Map(&Kind::String))
            .on_removal(Removal::Delete)
            .doc("Tags for the instances and their volumes."),
    ],
    exports: &["id", "name", "latest_version", "default_version"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    lint: Some(lint),
    changes_on_update: &["latest_version", "default_version"],
    id_format: "its lt-… id",
    ..TypeSchema::BASE
};

/// Pods sit one hop behind the node: IMDSv2 needs a hop limit of 2 to reach them,
/// and IMDSv2 itself guards against SSRF.
pub fn lint(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let m = &attrs["metadata_options"];
    if m["http_tokens"] != "required" {
        out.push(Finding {
            lint: Some(crate::types::lint::Lint::ImdsTokens),
            pointer: "/metadata_options/http_tokens".into(),
            message: "instance metadata without IMDSv2 (`http_tokens` is not `required`)".into(),
            hint: Some("set http_tokens: required; IMDSv1 is open to SSRF".into()),
        });
    }
    if m["http_put_response_hop_limit"].as_i64().is_some_and(|h| h < 2) {
        out.push(Finding {
            lint: Some(crate::types::lint::Lint::ImdsHopLimit),
            pointer: "/metadata_options/http_put_response_hop_limit".into(),
            message: "a hop limit below 2 keeps pods from reaching instance metadata".into(),
            hint: Some(
                "pods sit one hop behind the node: set http_put_response_hop_limit: 2".into(),
            ),
        });
    }
    out
}
