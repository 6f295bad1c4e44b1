//! `listener_rule`: a rule of a listener, matched by path, host or header, with a
//! weighted forward like the listener's.

use serde_json::{Map, Value};

use super::listener::{self, FIXED_RESPONSE, FORWARD, REDIRECT, ROLLOUT, STICKINESS};
use super::schema::{Attr, Finding, Kind, TypeSchema};

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
    attrs: &[
        Attr::new("listener_arn", Kind::String)
            .required()
            .force_new(),
        Attr::new(
            "priority",
            Kind::Int {
                min: 1,
                max: 50_000,
            },
        )
        .required(),
        Attr::new("conditions", CONDITIONS).required(),
        Attr::new("forward", FORWARD),
        Attr::new("stickiness", STICKINESS),
        Attr::new("redirect", REDIRECT),
        Attr::new("fixed_response", FIXED_RESPONSE),
        Attr::new("rollout", ROLLOUT).no_diff(),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    unique: &[&["listener_arn", "priority"]],
    canonical: Some(listener::canonical),
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
            pointer: "/conditions".into(),
            message: "a rule needs at least one condition".into(),
            hint: Some("for example conditions: { path_patterns: [\"/api/*\"] }".into()),
        });
    }
    out
}
