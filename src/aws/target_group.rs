//! `target_group`: where a listener sends traffic. Replaced create-before-destroy,
//! so a group a listener uses can be replaced in one apply.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::tags;
use super::{Aws, Result, elbv2};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map};
use crate::types::target_group as ty;
use crate::types::{Attrs, AttrsExt};
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetDescription, TargetGroup as TargetGroupDescription,
    TargetGroupAttribute, TargetTypeEnum,
};
use serde_json::{Value, json};

pub struct TargetGroup(pub Arc<Aws>);

#[async_trait]
impl Provider for TargetGroup {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        read_groups(&self.0, ids, &|_| true).await
    }

    /// The registered targets (DescribeTargetHealth, one call a group) only of
    /// the groups whose targets are managed.
    async fn read_wanted(
        &self,
        ids: &[String],
        wanted: &HashMap<String, std::collections::BTreeSet<String>>,
    ) -> Result<HashMap<String, Attrs>> {
        let targets = |arn: &str| wanted.get(arn).is_none_or(|w| w.contains("targets"));
        read_groups(&self.0, ids, &targets).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let name = attrs
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| elbv2::generated_name(attrs), str::to_string);
        let hc = attrs.get("health_check").cloned().unwrap_or_else(|| json!({}));
        let out = send!(
            aws.elbv2
                .create_target_group()
                .name(name)
                .protocol(ProtocolEnum::from(attrs.str("protocol")?))
                .port(attrs.int("port")? as i32)
                .vpc_id(attrs.str("vpc_id")?)
                .target_type(TargetTypeEnum::from(attrs.str("target_type")?))
                .set_health_check_path(hc.get("path").and_then(Value::as_str).map(str::to_string))
                .set_tags(Some(elbv2::tag_list(attrs))),
            "CreateTargetGroup"
        )?;
        // The answer describes the new group; its attributes are AWS's
        // defaults for a new one, its tags what was sent, and it has no
        // targets yet.
        let Some(g) = out.target_groups().first() else {
            return Ok(String::new().into());
        };
        let arn = g.target_group_arn().unwrap_or_default();
        let targets = attrs.contains_key("targets").then(Vec::new);
        let tags = json!(attrs.string_map("tags"));
        let holds = described(g, &HashMap::new(), targets, tags);
        Ok(Made::holding(arn, holds))
    }

    /// Its ARN (its id) and what derives from it: nothing else of a group is
    /// computed by AWS.
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        Ok(Some(into_map(json!({"arn": id, "arn_suffix": elbv2::arn_suffix(id)}))))
    }

    /// DescribeTargetGroups by lists of ARNs, without attributes, tags or targets.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |g| g.target_group_arn()))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (b, a) = super::canonical_pair(ty::canonical, before, after);
        if differs(&b, &a, "health_check") {
            let hc = a.object("health_check")?;
            let get_i = |k: &str| hc.get(k).and_then(Value::as_i64).map(|v| v as i32);
            let get_s = |k: &str| hc.get(k).and_then(Value::as_str).map(str::to_string);
            send!(
                aws.elbv2
                    .modify_target_group()
                    .target_group_arn(id)
                    .set_health_check_path(get_s("path"))
                    .set_health_check_port(get_s("port"))
                    .set_health_check_protocol(
                        get_s("protocol").map(|p| ProtocolEnum::from(p.as_str())),
                    )
                    .set_health_check_interval_seconds(get_i("interval_seconds"))
                    .set_health_check_timeout_seconds(get_i("timeout_seconds"))
                    .set_healthy_threshold_count(get_i("healthy_threshold"))
                    .set_unhealthy_threshold_count(get_i("unhealthy_threshold"))
                    .set_matcher(get_s("matcher").map(|m| Matcher::builder().http_code(m).build())),
                "ModifyTargetGroup"
            )?;
        }
        let mut changes = Vec::new();
        if differs(&b, &a, "deregistration_delay_seconds") {
            changes.push((
                "deregistration_delay.timeout_seconds",
                a.int("deregistration_delay_seconds")?.to_string(),
            ));
        }
        if differs(&b, &a, "stickiness") {
            let st = a.object("stickiness")?;
            changes
                .push(("stickiness.enabled", st.opt_bool("enabled").unwrap_or(false).to_string()));
            changes
                .push(("stickiness.type", st.opt_str("type").unwrap_or("lb_cookie").to_string()));
            changes.push((
                "stickiness.lb_cookie.duration_seconds",
                st.get("duration_seconds").unwrap_or(&Value::Null).to_string(),
            ));
        }
        if !changes.is_empty() {
            send!(
                aws.elbv2.modify_target_group_attributes().target_group_arn(id).set_attributes(
                    Some(
                        changes
                            .into_iter()
                            .map(|(k, v)| TargetGroupAttribute::builder().key(k).value(v).build())
                            .collect(),
                    )
                ),
                "ModifyTargetGroupAttributes"
            )?;
        }
        // No longer set (`null`): every target deregistered.
        let none = Vec::new();
        let wanted = match a.get("targets") {
            Some(Value::Null) => Some(&none),
            other => other.and_then(Value::as_array),
        };
        if let Some(want) = wanted {
            let have = b.get("targets").and_then(Value::as_array).cloned().unwrap_or_default();
            let add: Vec<TargetDescription> =
                want.iter().filter(|t| !have.contains(t)).map(target).collect();
            let remove: Vec<TargetDescription> =
                have.iter().filter(|t| !want.contains(t)).map(target).collect();
            if !add.is_empty() {
                send!(
                    aws.elbv2.register_targets().target_group_arn(id).set_targets(Some(add)),
                    "RegisterTargets"
                )?;
            }
            if !remove.is_empty() {
                send!(
                    aws.elbv2.deregister_targets().target_group_arn(id).set_targets(Some(remove)),
                    "DeregisterTargets"
                )?;
            }
        }
        tags::sync(&tags::Elbv2, aws, id, before, after).await
    }

    fn prepare(&self, attrs: &mut Attrs) {
        elbv2::name_if_unnamed(attrs);
    }

    /// By the name `prepare` settled before the create.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let name = attrs.str("name")?;
        let found = send!(aws.elbv2.describe_target_groups().names(name), "DescribeTargetGroups")
            .or_gone()?;
        Ok(super::ids_of(found.iter().flat_map(|o| o.target_groups()), |g| g.target_group_arn()))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        send!(aws.elbv2.delete_target_group().target_group_arn(id), "DeleteTargetGroup")
            .or_gone()?;
        Ok(())
    }
}

fn target(t: &Value) -> TargetDescription {
    TargetDescription::builder()
        .set_id(t.get("id").and_then(Value::as_str).map(str::to_string))
        .set_port(t.get("port").and_then(Value::as_i64).map(|p| p as i32))
        .build()
}

/// Target groups by ARN with their attributes and tags, and the registered
/// targets of those `with_targets` names.
async fn read_groups(
    aws: &Aws,
    ids: &[String],
    with_targets: &(dyn Fn(&str) -> bool + Sync),
) -> Result<HashMap<String, Attrs>> {
    let groups = describe(aws, ids).await?;
    let groups = elbv2::with_tags(aws, groups, |g| g.target_group_arn()).await?;
    let read = super::each(groups, |(arn, g, tags)| async move {
        let attributes: HashMap<String, String> = send!(
            aws.elbv2.describe_target_group_attributes().target_group_arn(&arn),
            "DescribeTargetGroupAttributes"
        )?
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
        .collect();
        let targets: Option<Vec<Value>> = match with_targets(&arn) {
            true => Some(
                send!(
                    aws.elbv2.describe_target_health().target_group_arn(&arn),
                    "DescribeTargetHealth"
                )?
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target())
                .map(|t| json!({"id": t.id(), "port": t.port()}))
                .collect(),
            ),
            false => None,
        };
        Ok((arn, described(&g, &attributes, targets, tags)))
    })
    .await?;
    Ok(read.into_iter().collect())
}

/// Target groups by ARN, twenty a call.
async fn describe(aws: &Aws, ids: &[String]) -> Result<Vec<TargetGroupDescription>> {
    elbv2::describe_by_arns(ids, "DescribeTargetGroups", |arns| async {
        aws.elbv2
            .describe_target_groups()
            .set_target_group_arns(Some(arns))
            .send()
            .await
            .map(|r| r.target_groups().to_vec())
    })
    .await
}

/// A group as `read` gives it, from its description, its attributes (AWS's
/// defaults where one is missing), its registered targets (left out where
/// they are not managed) and its tags.
fn described(
    g: &TargetGroupDescription,
    attributes: &HashMap<String, String>,
    targets: Option<Vec<Value>>,
    tags: Value,
) -> Attrs {
    let arn = g.target_group_arn().unwrap_or_default();
    let num = |k: &str, d: i64| attributes.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(d);
    let mut attrs = into_map(json!({
        "id": arn,
        "arn": arn,
        "arn_suffix": elbv2::arn_suffix(arn),
        "name": g.target_group_name(),
        "vpc_id": g.vpc_id(),
        "protocol": g.protocol().map(|p| p.as_str()),
        "port": g.port(),
        "target_type": g.target_type().map(|t| t.as_str()),
        "health_check": {
            "path": g.health_check_path().unwrap_or("/"),
            "port": g.health_check_port().unwrap_or("traffic-port"),
            "protocol": g.health_check_protocol().map(|p| p.as_str()).unwrap_or("HTTP"),
            "interval_seconds": g.health_check_interval_seconds(),
            "timeout_seconds": g.health_check_timeout_seconds(),
            "healthy_threshold": g.healthy_threshold_count(),
            "unhealthy_threshold": g.unhealthy_threshold_count(),
            "matcher": g.matcher().and_then(|m| m.http_code()).unwrap_or("200"),
        },
        "deregistration_delay_seconds": num("deregistration_delay.timeout_seconds", 300),
        "stickiness": {
            "enabled": attributes.get("stickiness.enabled").map(String::as_str) == Some("true"),
            "type": attributes.get("stickiness.type").map(String::as_str).unwrap_or("lb_cookie"),
            "duration_seconds": num("stickiness.lb_cookie.duration_seconds", 86_400),
        },
        "tags": tags,
    }));
    if let Some(targets) = targets {
        attrs.insert("targets".into(), Value::Array(targets));
    }
    attrs
}
