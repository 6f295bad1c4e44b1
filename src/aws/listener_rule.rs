//! `listener_rule`: a rule of a listener, matched by path, host or header, with a
//! weighted forward like the listener's.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, HttpHeaderConditionConfig, PathPatternConditionConfig,
    RuleCondition, RulePriorityPair,
};
use serde_json::{Map, Value, json};

use super::tags;
use super::{Aws, Result, elbv2};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, differs_set, into_map};
use crate::types::listener;
use crate::types::{Attrs, AttrsExt};

pub struct ListenerRule(pub Arc<Aws>);

#[async_trait]
impl Provider for ListenerRule {
    /// DescribeRules by lists of ARNs, without tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |x| x.rule_arn()))
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let rules = describe(aws, ids).await?;
        elbv2::read_with_tags(aws, rules, |r| r.rule_arn(), attrs_of).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let out = send!(
            aws.elbv2
                .create_rule()
                .listener_arn(attrs.str("listener_arn")?)
                .priority(attrs.int("priority")? as i32)
                .set_conditions(Some(conditions(attrs)))
                .actions(elbv2::action(attrs))
                .set_tags(Some(elbv2::tag_list(attrs))),
            "CreateRule"
        )?;
        let r =
            out.rules().first().ok_or_else(|| anyhow::anyhow!("CreateRule answered no rule"))?;
        // Made with what was asked (its tags too); the answer says the rest.
        Made::answered(attrs, attrs_of(r))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (b, a) = super::canonical_pair(listener::canonical, before, after);
        let keys = ["conditions", "forward", "stickiness", "redirect", "fixed_response"];
        if keys.iter().any(|k| differs_set(&b, &a, k)) {
            send!(
                aws.elbv2
                    .modify_rule()
                    .rule_arn(id)
                    .set_conditions(Some(conditions(after)))
                    .actions(elbv2::action(after)),
                "ModifyRule"
            )?;
        }
        if differs(before, after, "priority") {
            let priority = after.int("priority")? as i32;
            send!(
                aws.elbv2.set_rule_priorities().rule_priorities(
                    RulePriorityPair::builder().rule_arn(id).priority(priority).build(),
                ),
                "SetRulePriorities"
            )?;
        }
        tags::sync(&tags::Elbv2, aws, id, before, after).await
    }

    /// A listener has one rule per priority.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let priority = attrs.int("priority")?.to_string();
        let listener = attrs.str("listener_arn")?;
        let mut found = Vec::new();
        let mut marker = None;
        loop {
            let Some(page) = send!(
                aws.elbv2.describe_rules().listener_arn(listener).set_marker(marker),
                "DescribeRules"
            )
            .or_gone()?
            else {
                return Ok(Vec::new());
            };
            found.extend(
                page.rules()
                    .iter()
                    .filter(|r| r.priority() == Some(priority.as_str()))
                    .filter_map(|r| r.rule_arn())
                    .map(str::to_string),
            );
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(found);
            }
        }
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        send!(aws.elbv2.delete_rule().rule_arn(id), "DeleteRule").or_gone()?;
        Ok(())
    }
}

/// A rule as `read` gives it, but for its tags (a call of their own).
fn attrs_of(r: &aws_sdk_elasticloadbalancingv2::types::Rule) -> Attrs {
    let arn = r.rule_arn().unwrap_or_default();
    let mut m = into_map(json!({
        "id": arn,
        "arn": arn,
        "listener_arn": listener_of(arn),
        "priority": r.priority().and_then(|p| p.parse::<i64>().ok()),
        "conditions": conditions_value(r.conditions()),
    }));
    if let Some(a) = r.actions().first() {
        elbv2::action_value(a, &mut m);
    }
    m
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
    let c = attrs.get("conditions").cloned().unwrap_or_else(|| json!({}));
    let mut out = Vec::new();
    if let Some(p) = c.opt_strings("path_patterns").filter(|p| !p.is_empty()) {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder().set_values(Some(p)).build(),
                )
                .build(),
        );
    }
    if let Some(h) = c.opt_strings("host_headers").filter(|h| !h.is_empty()) {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder().set_values(Some(h)).build(),
                )
                .build(),
        );
    }
    for h in c.get("http_headers").and_then(Value::as_array).into_iter().flatten() {
        out.push(
            RuleCondition::builder()
                .field("http-header")
                .http_header_config(
                    HttpHeaderConditionConfig::builder()
                        .set_http_header_name(
                            h.get("name").and_then(Value::as_str).map(str::to_string),
                        )
                        .set_values(h.opt_strings("values"))
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

/// Rules by ARN, twenty a call.
async fn describe(
    aws: &Aws,
    ids: &[String],
) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::Rule>> {
    elbv2::describe_by_arns(ids, "DescribeRules", |arns| async {
        aws.elbv2
            .describe_rules()
            .set_rule_arns(Some(arns))
            .send()
            .await
            .map(|r| r.rules().to_vec())
    })
    .await
}
