//! `eks_nodegroup`: a managed node group. Scaling, labels and taints change in
//! place (UpdateNodegroupConfig), the launch template version too
//! (UpdateNodegroupVersion); instance types force a replacement.

use serde_json::{Map, Value};

use super::price::{PriceBook, rate};
use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};

const SCALING: Kind = Kind::Object(&[
    Attr::new("min", Kind::Int { min: 0, max: 1000 }).required(),
    Attr::new("max", Kind::Int { min: 1, max: 1000 }).required(),
    // Left out: `min` at create, and the autoscaler's afterwards
    // (`desired_at_min`).
    Attr::new("desired", Kind::Int { min: 0, max: 1000 }),
]);

const TAINT: Kind = Kind::Object(&[
    Attr::new("key", Kind::String).required(),
    Attr::new("value", Kind::String),
    Attr::new("effect", Kind::Enum(&["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]))
        .required(),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_nodegroup",
    doc: "An EKS managed node group. Scaling, labels and taints change in place, the launch template version too; instance types replace it.",
    attrs: &[
        Attr::new("cluster_name", Kind::String)
            .doc("The cluster it joins.")
            .required()
            .force_new(),
        Attr::new("name", Kind::String)
            .doc("The node group name; <stack>-<name> when unset.").force_new(),
        // Terraform's name_prefix: a unique name that begins so, made at
        // create, so that a replacement can stand beside what it replaces.
        // AWS knows only the name: the prefix is kept as asked.
        Attr::new("name_prefix", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Instead of name: a unique name beginning with this is made at creation (Terraform's name_prefix), so a replacement can stand beside the node group it replaces.")
            .force_new()
            .kept_if_unreported(),
        Attr::new("node_role_arn", Kind::String)
            .doc("The nodes' IAM role (trusting ec2.amazonaws.com).")
            .required()
            .force_new(),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .doc("The subnets its nodes are launched in (private ones routed out through a NAT gateway).")
            .required()
            .force_new(),
        Attr::new("instance_types", Kind::Set(&Kind::String))
            .on_removal(Removal::Keep)
            .doc("Instance types, such as [m6i.large].").force_new(),
        Attr::new("scaling", SCALING)
            .doc("min, max and desired node counts; desired left out starts at min and is then not managed (an autoscaler's).").required(),
        Attr::new(
            "launch_template",
            Kind::Object(&[
                Attr::new("id", Kind::String).required().force_new(),
                Attr::new("version", Kind::String).required(),
            ]),
        )
            .on_removal(Removal::Keep)
            .doc("The launch template and version it uses."),
        Attr::new("labels", Kind::Map(&Kind::String))
            .doc("Kubernetes labels on its nodes.").default(Default::Json("{}")),
        Attr::new("taints", Kind::Set(&TAINT))
            .doc("Kubernetes taints on its nodes.").default(Default::EmptyList),
        Attr::new("capacity_type", Kind::Enum(&["ON_DEMAND", "SPOT"]))
            .doc("ON_DEMAND or SPOT.")
            .default(Default::Str("ON_DEMAND"))
            .force_new(),
        // How many nodes an update takes down at once: a count or a share.
        Attr::new(
            "update_config",
            Kind::Object(&[
                Attr::new("max_unavailable", Kind::Int { min: 1, max: 100 }),
                Attr::new("max_unavailable_percentage", Kind::Int { min: 1, max: 100 }),
            ]),
        )
            .on_removal(Removal::Reset(r#"{"max_unavailable": 1}"#))
            .doc("How many nodes a version update replaces at once."),
        // The AMI family (`AL2023_x86_64_STANDARD`, `BOTTLEROCKET_ARM_64`, ...);
        // left out, AWS picks it and it is not managed.
        Attr::new("ami_type", Kind::String)
            .on_removal(Removal::Keep)
            .doc("The AMI family, such as AL2023_x86_64_STANDARD.").force_new(),
        // The nodes' Kubernetes version; a change rolls the nodes
        // (UpdateNodegroupVersion). Left out, the cluster's at create, and
        // not managed.
        Attr::new("version", Kind::String)
            .on_removal(Removal::Keep)
            .doc("The nodes' Kubernetes version, such as \"1.33\" (at most the cluster's); a change rolls the nodes. Left out, the cluster's at creation."),
        // The EKS-optimised AMI release; a change rolls the nodes
        // (UpdateNodegroupVersion). Left out, not managed.
        Attr::new("release_version", Kind::String)
            .on_removal(Removal::Keep)
            .doc("The AMI release version."),
        // Roll nodes even when a pod disruption budget blocks their drain.
        Attr::new("force_update_version", Kind::Bool)
            .doc("Whether a version update goes on when pods cannot be drained.")
            .default(Default::Bool(false))
            .no_diff(),
    ],
    exports: &["id", "name", "arn", "status"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(check),
    impact: Some(impact),
    price: Some(price),
    create_defaults: Some(desired_at_min),
    create_before_destroy: Some(beside),
    id_format: "CLUSTER:NODEGROUP",
    ..TypeSchema::BASE
};

/// Whether a replacement can stand beside the group it replaces: its name is
/// made from a prefix, so the new group has a name of its own.
fn beside(attrs: &Map<String, Value>) -> bool {
    attrs.contains_key(super::schema::NAME_PREFIX)
}

/// EKS takes node group names of up to 63 characters; a made name adds 22.
const MAX_PREFIX: usize = 63 - 22;

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = scaling_check(attrs);
    if let Some(prefix) = attrs.get("name_prefix").and_then(Value::as_str)
        && prefix.chars().count() > MAX_PREFIX
    {
        out.push(Finding {
            lint: None,
            pointer: "/name_prefix".into(),
            message: format!(
                "name_prefix is {} characters: a node group's name is at most 63, and the made part takes 22",
                prefix.chars().count()
            ),
            hint: Some(format!("keep it to {MAX_PREFIX} characters")),
        });
    }
    if let Some(u) = attrs.get("update_config").and_then(Value::as_object)
        && u.len() != 1
    {
        out.push(Finding {
            lint: None,
            pointer: "/update_config".into(),
            message: "update_config needs exactly one of `max_unavailable` and `max_unavailable_percentage`".into(),
            hint: Some("for example update_config: { max_unavailable: 1 }".into()),
        });
    }
    out
}

/// What a change does to the running nodes, for the plan: how many a rolling
/// update replaces and how many at a time, or that a replacement deletes them
/// all.
pub fn impact(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changed: &[String],
    replace: bool,
) -> Option<String> {
    let nodes = |m: &Map<String, Value>| m.get("scaling")?.get("desired")?.as_i64();
    let count = |n: i64| format!("{n} node{}", if n == 1 { "" } else { "s" });
    if replace && beside(after) {
        let n = nodes(before)?;
        return Some(format!(
            "a new group starts under a new name and is ACTIVE before the old one's {} are drained and deleted",
            count(n)
        ));
    }
    if replace {
        let n = nodes(before)?;
        return Some(format!(
            "all {} are replaced: the group is deleted, pods are evicted, and a new group starts (give it a name_prefix to start the new group first)",
            count(n)
        ));
    }
    if !changed.iter().any(|c| c == "launch_template" || c == "release_version" || c == "version") {
        return None;
    }
    let n = nodes(after)?;
    let u = after.get("update_config");
    let at_once = match (
        u.and_then(|u| u.get("max_unavailable")).and_then(Value::as_i64),
        u.and_then(|u| u.get("max_unavailable_percentage")).and_then(Value::as_i64),
    ) {
        (Some(k), _) => format!("{} at a time", k.min(n).max(1)),
        (_, Some(p)) => format!("{p}% at a time"),
        _ => "1 at a time".into(),
    };
    let force = if after.get("force_update_version") == Some(&Value::Bool(true)) {
        ", forced past pod disruption budgets"
    } else {
        ""
    };
    Some(format!("rolls {}, {at_once}{force}", count(n)))
}

/// A node group whose desired size the stack leaves out starts at its
/// minimum, and its size is then the cluster autoscaler's (Terraform's users
/// write `ignore_changes = [scaling_config[0].desired_size]` for this).
fn desired_at_min(attrs: &mut Map<String, Value>) -> Vec<&'static str> {
    let Some(Value::Object(s)) = attrs.get_mut("scaling") else { return Vec::new() };
    if s.contains_key("desired") {
        return Vec::new();
    }
    let min = s.get("min").cloned().unwrap_or(Value::from(0));
    s.insert("desired".into(), min);
    vec!["scaling.desired"]
}

fn scaling_check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let s = &attrs["scaling"];
    let (min, max, desired) = (s["min"].as_i64(), s["max"].as_i64(), s["desired"].as_i64());
    match (min, max, desired) {
        (Some(min), Some(max), Some(desired)) if !(min <= desired && desired <= max) => {
            vec![Finding {
                lint: None,
                pointer: "/scaling".into(),
                message: format!(
                    "scaling needs min ≤ desired ≤ max; found min {min}, desired {desired}, max {max}"
                ),
                hint: None,
            }]
        }
        _ => Vec::new(),
    }
}

/// Its desired number of nodes of its (first) instance type, by the hour.
fn price(attrs: &Map<String, Value>, book: &PriceBook) -> Result<(f64, String), String> {
    let desired = attrs
        .get("scaling")
        .and_then(|s| s.get("desired"))
        .and_then(Value::as_i64)
        .ok_or("its desired size is known only after apply: not priced")?;
    let types: Vec<&str> = attrs
        .get("instance_types")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(first) = types.first() else {
        return Err("its instance type comes from its launch template: not priced".into());
    };
    if !super::reference::is_known(&Value::String(first.to_string())) {
        return Err("its instance type is known only after apply: not priced".into());
    }
    let price = book
        .rates
        .instances
        .get(*first)
        .ok_or_else(|| format!("the price table has no {first} instances: not priced"))?;
    let more = match types.len() {
        1 => String::new(),
        n => format!(" (the first of {n} types)"),
    };
    Ok((desired as f64 * price, format!("{desired} × {first} at {}{more}", rate(*price))))
}
