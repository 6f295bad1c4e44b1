//! `listener`: an ALB listener whose default action forwards to weighted target
//! groups (or redirects, or answers). A weight change is an in-place
//! ModifyListener; with `rollout` it is applied in steps (src/apply/rollout.rs).

use serde_json::{Map, Value, json};

use super::reference;
use super::schema::{Attr, Default, Finding, Kind, Removal, TypeSchema};

pub const FORWARD: Kind = Kind::Set(&Kind::Object(&[
    Attr::new("target_group_arn", Kind::String).required(),
    Attr::new("weight", Kind::Int { min: 0, max: 999 }).default(Default::Int(1)),
]));

pub const STICKINESS: Kind = Kind::Object(&[
    Attr::new("enabled", Kind::Bool).default(Default::Bool(false)),
    Attr::new("duration_seconds", Kind::Int { min: 1, max: 604_800 }),
]);

pub const REDIRECT: Kind = Kind::Object(&[
    Attr::new("protocol", Kind::String).default(Default::Str("#{protocol}")),
    Attr::new("port", Kind::String).default(Default::Str("#{port}")),
    Attr::new("host", Kind::String).default(Default::Str("#{host}")),
    Attr::new("path", Kind::String).default(Default::Str("/#{path}")),
    Attr::new("query", Kind::String).default(Default::Str("#{query}")),
    Attr::new("status_code", Kind::Enum(&["HTTP_301", "HTTP_302"])).required(),
]);

pub const FIXED_RESPONSE: Kind = Kind::Object(&[
    Attr::new("status_code", Kind::String).required(),
    Attr::new("content_type", Kind::String),
    Attr::new("message_body", Kind::String),
]);

/// How a weight change is applied: in steps (each moves every target group's
/// traffic share that percent of the way from before to after), with pauses,
/// watched by a gate (CloudWatch alarms, target health) that reverts at once.
pub const ROLLOUT: Kind = Kind::Object(&[
    Attr::new("steps", Kind::List(&Kind::Int { min: 1, max: 100 })).required(),
    Attr::new("pause_seconds", Kind::Int { min: 0, max: 86_400 }).default(Default::Int(0)),
    // How long the gate keeps watching after the last step; one pause when
    // not given.
    Attr::new("bake_seconds", Kind::Int { min: 0, max: 86_400 }),
    Attr::new("poll_seconds", Kind::Int { min: 1, max: 3_600 }).default(Default::Int(10)),
    Attr::new("alarms", Kind::List(&Kind::String)).default(Default::EmptyList),
    Attr::new("allow_insufficient_data", Kind::Bool).default(Default::Bool(false)),
    Attr::new("require_healthy_targets", Kind::Bool).default(Default::Bool(true)),
    Attr::new("analysis", ANALYSIS),
]);

/// Canary analysis: the groups gaining weight against those losing it, after
/// every pause (see `plan::rollout::Analysis` for the defaults).
pub const ANALYSIS: Kind = Kind::Object(&[
    Attr::new("max_5xx_increase", Kind::Number),
    Attr::new("max_5xx_share", Kind::Number),
    Attr::new("latency_statistic", Kind::String),
    Attr::new("max_latency_increase", Kind::Number),
    Attr::new("max_latency", Kind::Number),
    Attr::new("min_requests", Kind::Number),
    Attr::new("wait_seconds", Kind::Int { min: 0, max: 86_400 }),
    Attr::new("pass_with_too_few_requests", Kind::Bool),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "listener",
    doc: "An ALB listener whose default action forwards to weighted target groups (or redirects, or answers). A weight change is made in place, and with `rollout` in gated steps.",
    attrs: &[
        Attr::new("load_balancer_arn", Kind::String)
            .doc("The load balancer it listens on.")
            .required()
            .force_new(),
        Attr::new(
            "port",
            Kind::Int {
                min: 1,
                max: 65_535,
            },
        )
            .doc("The port it listens on (one listener per port and load balancer).")
        .required(),
        Attr::new("protocol", Kind::Enum(&["HTTP", "HTTPS"]))
            .doc("HTTP, or HTTPS with certificate_arn.").required(),
        Attr::new("certificate_arn", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The ACM certificate, for HTTPS."),
        Attr::new("ssl_policy", Kind::String)
            .on_removal(Removal::Keep)
            .doc("The TLS policy, for HTTPS."),
        Attr::new("forward", FORWARD)
            .on_removal(Removal::Delete)
            .doc("Weighted target groups the default action forwards to (weights 0 to 999)."),
        Attr::new("stickiness", STICKINESS)
            .on_removal(Removal::Delete)
            .doc("Target group stickiness of a weighted forward: keeps a client on one group."),
        Attr::new("redirect", REDIRECT)
            .on_removal(Removal::Delete)
            .doc("A redirect as the default action, instead of forward."),
        Attr::new("fixed_response", FIXED_RESPONSE)
            .on_removal(Removal::Delete)
            .doc("A fixed response as the default action, instead of forward."),
        Attr::new("rollout", ROLLOUT)
            .doc("How a weight change is applied: in steps, each held and gated by alarms and target health. Says how, never is a change itself.").no_diff(),
    ],
    exports: &["id", "arn"],
    check: Some(check),
    unique: &[&["load_balancer_arn", "port"]],
    canonical: Some(canonical),
    id_format: "its ARN",
    forward_by_hand: Some(
        "aws elbv2 modify-listener --listener-arn {arn} --default-actions '{actions}'",
    ),
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = check_actions(attrs);
    if attrs.get("protocol").and_then(Value::as_str) == Some("HTTPS")
        && !attrs.contains_key("certificate_arn")
    {
        out.push(Finding {
            lint: None,
            pointer: "/protocol".into(),
            message: "an HTTPS listener needs `certificate_arn`".into(),
            hint: Some("give the ARN of an ACM certificate, or use protocol HTTP".into()),
        });
    }
    out
}

/// The checks a listener and a listener rule share: one action; a forward of one
/// to five distinct target groups with at least one weight above 0; a rollout
/// whose steps rise to 100.
pub fn check_actions(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let actions: Vec<&str> = ["forward", "redirect", "fixed_response"]
        .into_iter()
        .filter(|k| attrs.contains_key(*k))
        .collect();
    if actions.len() != 1 {
        out.push(Finding {
            lint: None,
            pointer: actions.get(1).map(|k| format!("/{k}")).unwrap_or_default(),
            message: format!(
                "needs exactly one action of `forward`, `redirect` and `fixed_response`; found {}",
                actions.len()
            ),
            hint: Some("a listener or rule has one default action".into()),
        });
    }
    if let Some(forward) = attrs.get("forward").and_then(Value::as_array) {
        if forward.is_empty() || forward.len() > 5 {
            out.push(Finding {
                lint: None,
                pointer: "/forward".into(),
                message: format!("a forward takes 1 to 5 target groups; found {}", forward.len()),
                hint: None,
            });
        }
        let weights: Vec<i64> =
            forward.iter().filter_map(|t| t.get("weight").and_then(Value::as_i64)).collect();
        if !forward.is_empty() && weights.iter().all(|w| *w == 0) {
            out.push(Finding {
                lint: None,
                pointer: "/forward".into(),
                message: "every weight of the forward is 0, so no traffic would flow".into(),
                hint: Some("give at least one target group a weight above 0".into()),
            });
        }
        for (i, t) in forward.iter().enumerate() {
            let arn = t.get("target_group_arn").and_then(Value::as_str).unwrap_or("");
            if forward[..i]
                .iter()
                .any(|u| u.get("target_group_arn").and_then(Value::as_str) == Some(arn))
            {
                out.push(Finding {
                    lint: None,
                    pointer: format!("/forward/{i}/target_group_arn"),
                    message: format!("target group `{arn}` appears twice in one forward"),
                    hint: Some("list each target group once, with its weight".into()),
                });
            }
            if reference::is_known(&Value::String(arn.to_string())) && !arn.starts_with("arn:") {
                out.push(Finding {
                    lint: None,
                    pointer: format!("/forward/{i}/target_group_arn"),
                    message: format!("`{arn}` is not a target group ARN"),
                    hint: Some("reference one, as ${target_group.NAME.arn}, or give the ARN of one infra does not manage".into()),
                });
            }
        }
    }
    if let Some(steps) = attrs.get("rollout").and_then(|r| r.get("steps")).and_then(Value::as_array)
    {
        let steps: Vec<i64> = steps.iter().filter_map(Value::as_i64).collect();
        let rising = steps.windows(2).all(|w| w[0] < w[1]);
        if steps.is_empty() || !rising || steps.last() != Some(&100) {
            out.push(Finding {
                lint: None,
                pointer: "/rollout/steps".into(),
                message: "rollout steps must rise and end at 100".into(),
                hint: Some("for example steps: [25, 50, 100]".into()),
            });
        }
    }
    out
}

/// A forward to one target group has no meaningful weight: AWS reads it back as 1.
pub fn canonical(attrs: &mut Map<String, Value>) {
    if let Some(Value::Array(forward)) = attrs.get_mut("forward")
        && forward.len() == 1
    {
        forward[0]["weight"] = json!(1);
    }
}
