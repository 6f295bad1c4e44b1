//! `target_group`: where a listener sends traffic. Replaced create-before-destroy,
//! so a group a listener uses can be replaced in one apply.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Kind, Removal, TypeSchema};

const HEALTH_CHECK: Kind = Kind::Object(&[
    Attr::new("path", Kind::String).default(Default::Str("/")),
    Attr::new("port", Kind::String).default(Default::Str("traffic-port")),
    Attr::new("protocol", Kind::Enum(&["HTTP", "HTTPS"])).default(Default::Str("HTTP")),
    Attr::new("interval_seconds", Kind::Int { min: 5, max: 300 }).default(Default::Int(30)),
    Attr::new("timeout_seconds", Kind::Int { min: 2, max: 120 }).default(Default::Int(5)),
    Attr::new("healthy_threshold", Kind::Int { min: 2, max: 10 }).default(Default::Int(5)),
    Attr::new("unhealthy_threshold", Kind::Int { min: 2, max: 10 }).default(Default::Int(2)),
    Attr::new("matcher", Kind::String).default(Default::Str("200")),
]);

const STICKINESS: Kind = Kind::Object(&[
    Attr::new("enabled", Kind::Bool).default(Default::Bool(false)),
    Attr::new("type", Kind::Enum(&["lb_cookie", "app_cookie"])).default(Default::Str("lb_cookie")),
    Attr::new("duration_seconds", Kind::Int { min: 1, max: 604_800 }).default(Default::Int(86_400)),
]);

const TARGET: Kind = Kind::Object(&[
    Attr::new("id", Kind::String).required(),
    Attr::new("port", Kind::Int { min: 1, max: 65_535 }),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "target_group",
    doc: "An ALB target group: where a listener sends traffic. Replaced create-before-destroy, so a group a listener uses can be replaced in one apply.",
    attrs: &[
        Attr::new("vpc_id", Kind::String)
            .doc("The VPC of its targets.").required().force_new(),
        // Left out, a unique name is made at creation (so a replacement can
        // exist beside the group it replaces).
        Attr::new("name", Kind::String)
            .on_removal(Removal::Keep)
            .doc("Its name (32 characters at most); a unique one is made when unset, so a replacement can exist beside the group it replaces.").force_new(),
        Attr::new("protocol", Kind::Enum(&["HTTP", "HTTPS"]))
            .doc("The protocol to the targets.")
            .required()
            .force_new(),
        Attr::new(
            "port",
            Kind::Int {
                min: 1,
                max: 65_535,
            },
        )
            .doc("The port the targets receive traffic on.")
        .required()
        .force_new(),
        Attr::new("target_type", Kind::Enum(&["instance", "ip"]))
            .doc("instance (EC2 instances by id) or ip (pods, with the AWS Load Balancer Controller).")
            .default(Default::Str("instance"))
            .force_new(),
        Attr::new("health_check", HEALTH_CHECK)
            .doc("How targets are checked: path, port, protocol, interval, timeout, thresholds, matcher.").default(Default::Json("{}")),
        Attr::new(
            "deregistration_delay_seconds",
            Kind::Int { min: 0, max: 3600 },
        )
            .doc("How long a leaving target keeps its connections.")
        .default(Default::Int(300)),
        Attr::new("stickiness", STICKINESS)
            .doc("Load-balancer cookie stickiness.").default(Default::Json("{}")),
        // Left out, targets are not managed (a controller in the cluster may own them).
        Attr::new("targets", Kind::Set(&TARGET))
            .on_removal(Removal::Delete)
            .doc("The registered targets; unmanaged when unset (a controller in the cluster may own them)."),
    ],
    exports: &["id", "arn", "arn_suffix", "name"],
    canonical: Some(canonical),
    create_before_destroy: Some(|_| true),
    id_format: "its ARN",
    ..TypeSchema::BASE
};

/// Defaults inside nested objects, and a target's port defaulting to the group's.
pub fn canonical(attrs: &mut Map<String, Value>) {
    for (key, kind) in [("health_check", &HEALTH_CHECK), ("stickiness", &STICKINESS)] {
        if let (Some(Value::Object(m)), Kind::Object(fields)) = (attrs.get_mut(key), kind) {
            for f in fields.iter() {
                if let Some(d) = f.default.to_json() {
                    m.entry(f.name).or_insert(d);
                }
            }
        }
    }
    let port = attrs.get("port").cloned();
    if let (Some(Value::Array(targets)), Some(port)) = (attrs.get_mut("targets"), port) {
        for t in targets {
            if let Value::Object(t) = t {
                t.entry("port").or_insert(port.clone());
            }
        }
    }
}
