//! `target_group_attachment`: one target registered in a target group (an
//! instance by id, or an IP address, with a port), as Terraform's
//! `aws_lb_target_group_attachment`; deregistered with the group's
//! deregistration delay waited out, so connections drain before it is gone.

use serde_json::{Map, Value};

use super::schema::{Attr, Finding, Kind, Removal, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "target_group_attachment",
    doc: "One target registered in a target group: an instance id or an IP address, with a port. Deregistered with the group's deregistration delay waited out.",
    attrs: &[
        Attr::new("target_group_arn", Kind::String)
            .doc("The target group (replace).")
            .required()
            .force_new(),
        Attr::new("target_id", Kind::String)
            .doc("An instance id (${instance.web.id}) for an instance group, an IP address for an ip group (replace).")
            .required()
            .force_new(),
        Attr::new("port", Kind::Int { min: 1, max: 65_535 })
            .on_removal(Removal::Keep)
            .doc("The port it takes traffic on; the group's port when unset (replace).")
            .force_new(),
        Attr::new("availability_zone", Kind::String)
            .on_removal(Removal::Keep)
            .doc("For an IP outside the group's VPC: all (replace).")
            .force_new(),
    ],
    exports: &["id"],
    taggable: false,
    check: Some(check),
    id_format: "TARGET_GROUP_ARN,TARGET_ID,PORT",
    ..TypeSchema::BASE
};

/// A target id is an instance id or an IP address.
pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let Some(id) = attrs.get("target_id").and_then(Value::as_str).filter(|i| !i.contains("${"))
    else {
        return Vec::new();
    };
    let instance = id.starts_with("i-");
    let ip = format!("{id}/32").parse::<ipnet::Ipv4Net>().is_ok()
        || format!("{id}/128").parse::<ipnet::Ipv6Net>().is_ok();
    if instance || ip {
        return Vec::new();
    }
    vec![Finding {
        lint: None,
        pointer: "/target_id".into(),
        message: format!("`{id}` is neither an instance id nor an IP address"),
        hint: Some("for example ${instance.web.id} or 10.0.1.15".into()),
    }]
}
