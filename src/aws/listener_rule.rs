//! `listener_rule`: a rule of a listener, matched by path, host or header, with a
//! weighted forward like the listener's.

use std::collections::HashMap;

use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, HttpHeaderConditionConfig, PathPatternConditionConfig,
    RuleCondition, RulePriorityPair,
};
use serde_json::{Map, Value, json};

use super::listener::{self, FIXED_RESPONSE, FORWARD, REDIRECT, ROLLOUT, STICKINESS, differs_set};
use super::vpc::into_map;
use super::{Attrs, Aws, Provider, Result, aws_error, code, differs, elbv2, s};
use crate::stack::schema::{Attr, Finding, Kind, TypeSchema};

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

fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
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

pub struct ListenerRule;

impl Provider for ListenerRule {
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let rules = elbv2::describe_by_arns(ids, "RuleNotFound", "DescribeRules", |arns| async {
            aws.elbv2
                .describe_rules()
                .set_rule_arns(Some(arns))
                .send()
                .await
                .map(|r| r.rules().to_vec())
        })
        .await?;
        let arns: Vec<String> = rules
            .iter()
            .filter_map(|r| r.rule_arn().map(str::to_string))
            .collect();
        let tags = elbv2::read_tags(aws, &arns).await?;
        let mut out = HashMap::new();
        for r in rules {
            let arn = r.rule_arn().unwrap_or_default().to_string();
            let mut m = into_map(json!({
                "id": arn,
                "arn": arn,
                "listener_arn": listener_of(&arn),
                "priority": r.priority().and_then(|p| p.parse::<i64>().ok()),
                "conditions": conditions_value(r.conditions()),
                "tags": tags.get(&arn).cloned().unwrap_or_else(|| json!({})),
            }));
            if let Some(a) = r.actions().first() {
                elbv2::action_value(a, &mut m);
            }
            out.insert(arn, m);
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let out = aws
            .elbv2
            .create_rule()
            .listener_arn(s(attrs, "listener_arn"))
            .priority(attrs.get("priority").and_then(Value::as_i64).unwrap_or(1) as i32)
            .set_conditions(Some(conditions(attrs)))
            .actions(elbv2::action(attrs))
            .set_tags(Some(elbv2::tag_list(attrs)))
            .send()
            .await
            .map_err(|e| aws_error("CreateRule", e))?;
        Ok(out
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .unwrap_or_default()
            .to_string())
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let (mut b, mut a) = (before.clone(), after.clone());
        listener::canonical(&mut b);
        listener::canonical(&mut a);
        let keys = [
            "conditions",
            "forward",
            "stickiness",
            "redirect",
            "fixed_response",
        ];
        if keys.iter().any(|k| differs_set(&b, &a, k)) {
            aws.elbv2
                .modify_rule()
                .rule_arn(id)
                .set_conditions(Some(conditions(after)))
                .actions(elbv2::action(after))
                .send()
                .await
                .map_err(|e| aws_error("ModifyRule", e))?;
        }
        if differs(before, after, "priority") {
            let priority = after.get("priority").and_then(Value::as_i64).unwrap_or(1) as i32;
            aws.elbv2
                .set_rule_priorities()
                .rule_priorities(
                    RulePriorityPair::builder()
                        .rule_arn(id)
                        .priority(priority)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("SetRulePriorities", e))?;
        }
        elbv2::sync_tags(aws, id, before, after).await
    }

    /// A listener has one rule per priority.
    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        let priority = attrs
            .get("priority")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .to_string();
        match aws
            .elbv2
            .describe_rules()
            .listener_arn(s(attrs, "listener_arn"))
            .send()
            .await
        {
            Ok(out) => Ok(out
                .rules()
                .iter()
                .find(|r| r.priority() == Some(priority.as_str()))
                .and_then(|r| r.rule_arn())
                .map(str::to_string)),
            Err(e) if code(&e).contains("NotFound") => Ok(None),
            Err(e) => Err(aws_error("DescribeRules", e)),
        }
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        match aws.elbv2.delete_rule().rule_arn(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "RuleNotFound" => Ok(()),
            Err(e) => Err(aws_error("DeleteRule", e)),
        }
    }
}

/// `...:listener-rule/app/LB/ID/LISTENER/RULE` belongs to `...:listener/app/LB/ID/LISTENER`.
fn listener_of(rule_arn: &str) -> String {
    let arn = rule_arn.replacen(":listener-rule/", ":listener/", 1);
    match arn.rsplit_once('/') {
        Some((listener, _)) => listener.to_string(),
        None => arn,
    }
}

fn conditions(attrs: &Attrs) -> Vec<RuleCondition> {
    let c = attrs
        .get("conditions")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut out = Vec::new();
    if let Some(p) = super::strings(c.get("path_patterns")).filter(|p| !p.is_empty()) {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(p))
                        .build(),
                )
                .build(),
        );
    }
    if let Some(h) = super::strings(c.get("host_headers")).filter(|h| !h.is_empty()) {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(h))
                        .build(),
                )
                .build(),
        );
    }
    for h in c
        .get("http_headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .set_http_header_name(
                            h.get("name").and_then(Value::as_str).map(str::to_string),
                        )
                        .set_values(super::strings(h.get("values")))
                        .build(),
                )
                .build(),
        );
    }
    out
}

fn conditions_value(conditions: &[RuleCondition]) -> Value {
    let mut m = Map::new();
    let mut headers = Vec::new();
    for c in conditions {
        match c.field() {
            Some("path-pattern") => {
                let v = c
                    .path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_else(|| c.values().to_vec());
                m.insert("path_patterns".into(), json!(v));
            }
            Some("host-header") => {
                let v = c
                    .host_header_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_else(|| c.values().to_vec());
                m.insert("host_headers".into(), json!(v));
            }
            Some("http-header") => {
                if let Some(h) = c.http_header_config() {
                    headers.push(json!({"name": h.http_header_name(), "values": h.values()}));
                }
            }
            _ => {}
        }
    }
    if !headers.is_empty() {
        m.insert("http_headers".into(), Value::Array(headers));
    }
    Value::Object(m)
}
