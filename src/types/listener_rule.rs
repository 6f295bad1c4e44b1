//! `listener_rule`: a rule of a listener, matched by path, host or header, with a
//! weighted forward like the listener's.

use serde_json::{Map, Value};

use super::listener::{self, FIXED_RESPONSE, FORWARD, REDIRECT, ROLLOUT, STICKINESS};
use super::schema::{Attr, Finding, Kind, Removal, TypeSchema};

const CONDITIONS: Kind = Kind::Object(&[
    Attr::new("path_patterns", Kind::Set(&Kind::String)),
    Attr::new("host_headers", Kind::Set(&Kind::String)),
    Attr::new(
        "http_headers",
        Kind::Set(&Kind::Object(&[
            Attr::new("name", Kind::String).required(),
            Attr::new("values", Kind::Set(&Kind::String)).required(),
        ])),
    ),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "listener_rule",
    doc: "A rule of a listener, matched by path, host or header, with a weighted forward like the listener's.",
    attrs: &[
        Attr::new("listener_arn", Kind::String)
            .doc("The listener it belongs to.")
            .required()
            .force_new(),
        Attr::new("priority", Kind::Int { min: 1, max: 50_000 })
            .doc("Its priority, 1 to 50000 (lower first; one rule per priority and listener).")
            .required(),
        Attr::new("conditions", CONDITIONS)
            .doc("What it matches: path patterns, host headers, HTTP headers.")
            .required(),
        Attr::new("forward", FORWARD)
            .on_removal(Removal::Delete)
            .doc("Weighted target groups it forwards to."),
        Attr::new("stickiness", STICKINESS)
            .on_removal(Removal::Delete)
            .doc("Target group stickiness of a weighted forward."),
        Attr::new("redirect", REDIRECT)
            .on_removal(Removal::Delete)
            .doc("A redirect instead of forward."),
        Attr::new("fixed_response", FIXED_RESPONSE)
            .on_removal(Removal::Delete)
            .doc("A fixed response instead of forward."),
        Attr::new("rollout", ROLLOUT)
            .doc("How a weight change is applied: in gated steps, as a listener's.")
            .no_diff(),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    unique: &[&["listener_arn", "priority"]],
    canonical: Some(listener::canonical),
    id_format: "its ARN",
    forward_by_hand: Some("aws elbv2 modify-rule --rule-arn {arn} --actions '{actions}'"),
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = listener::check_actions(attrs);
    let empty = attrs
        .get("conditions")
        .and_then(Value::as_object)
        .is_none_or(|c| c.values().all(|v| v.as_array().is_none_or(Vec::is_empty)));
    if empty {
        out.push(Finding {
            lint: None,
            pointer: "/conditions".into(),
            message: "a rule needs at least one condition".into(),
            hint: Some("for example conditions: { path_patterns: [\"/api/*\"] }".into()),
        });
    }
    out
}
