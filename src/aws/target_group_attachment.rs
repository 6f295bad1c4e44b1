//! The provider of `target_group_attachment`: one target registered
//! (RegisterTargets); read by its health (a target AWS reports as not
//! registered is gone); deregistered, then waited for while it drains, up to
//! the group's deregistration delay.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthStateEnum};
use serde_json::{Value, json};

use super::wait::{self, Poll};
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt, Operation};

pub struct TargetGroupAttachment(pub Arc<Aws>);

/// The id: `TARGET_GROUP_ARN,TARGET_ID,PORT` (no port: the group's).
fn id_of(attrs: &Attrs) -> Result<String> {
    let port = attrs.get("port").and_then(Value::as_i64).map(|p| p.to_string()).unwrap_or_default();
    Ok(format!("{},{},{port}", attrs.str("target_group_arn")?, attrs.str("target_id")?))
}

/// An id's parts: the group, the target, its port if one was given.
fn parts(id: &str) -> Option<(&str, &str, Option<i32>)> {
    let mut it = id.rsplitn(3, ',');
    let port = it.next()?;
    let target = it.next()?;
    let group = it.next()?;
    Some((group, target, port.parse().ok()))
}

fn target(id: &str, port: Option<i32>) -> TargetDescription {
    TargetDescription::builder().id(id).set_port(port).build()
}

/// The target's state in its group, `None` when AWS says it is not
/// registered (or the group is gone).
async fn state(aws: &Aws, id: &str) -> Result<Option<TargetHealthStateEnum>> {
    let Some((group, t, port)) = parts(id) else { return Ok(None) };
    let Some(health) = send!(
        aws.elbv2.describe_target_health().target_group_arn(group).targets(target(t, port)),
        "DescribeTargetHealth"
    )
    .or_gone()?
    else {
        return Ok(None);
    };
    let d = health.target_health_descriptions().first();
    let s = d.and_then(|d| d.target_health()).and_then(|h| h.state()).cloned();
    let reason = d.and_then(|d| d.target_health()).and_then(|h| h.reason()).map(|r| r.as_str());
    Ok(match (s, reason) {
        (_, Some("Target.NotRegistered")) | (Some(TargetHealthStateEnum::Unused), None) => None,
        (s, _) => s,
    })
}

#[async_trait]
impl Provider for TargetGroupAttachment {
    fn waits(&self) -> bool {
        true
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |id| async move {
            let Some((group, t, port)) = parts(&id) else { return Ok(None) };
            let registered =
                !matches!(state(aws, &id).await?, None | Some(TargetHealthStateEnum::Draining));
            let mut attrs = into_map(json!({
                "id": id,
                "target_group_arn": group,
                "target_id": t,
                "port": port,
            }));
            attrs.retain(|_, v| !v.is_null());
            Ok(registered.then_some((id.clone(), attrs)))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let port = attrs.get("port").and_then(Value::as_i64).map(|p| p as i32);
        let t = TargetDescription::builder()
            .id(attrs.str("target_id")?)
            .set_port(port)
            .set_availability_zone(attrs.opt_str("availability_zone").map(str::to_string))
            .build();
        send!(
            aws.elbv2
                .register_targets()
                .target_group_arn(attrs.str("target_group_arn")?)
                .targets(t),
            "RegisterTargets"
        )?;
        let id = id_of(attrs)?;
        let mut holds = attrs.clone();
        holds.insert("id".into(), json!(id));
        Ok(Made::holding(id, holds))
    }

    async fn update(&self, _ctx: &OpContext, _id: &str, _b: &Attrs, _a: &Attrs) -> Result<()> {
        // Every attribute replaces it.
        Ok(())
    }

    /// Nothing: a registration carries no tags to tell whose it is, and
    /// RegisterTargets takes a target registered already, so an interrupted
    /// create is simply made again.
    async fn find(&self, _attrs: &Attrs) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let Some((group, t, port)) = parts(id) else { return Ok(()) };
        match send!(
            self.0.elbv2.deregister_targets().target_group_arn(group).targets(target(t, port)),
            "DeregisterTargets"
        ) {
            Ok(_) => Ok(()),
            // Gone already: the group, or the target from it.
            Err(e) if e.is_not_found() || e.code() == "InvalidTarget" => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// After a delete, while the target drains: at most the group's
    /// deregistration delay (read from the group), and a minute more.
    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        if operation.phase() != Operation::Delete {
            return Ok(None);
        }
        let Some((group, _, _)) = parts(id) else { return Ok(None) };
        let delay = deregistration_delay(aws, group).await?;
        let timeout = ctx.timeout(operation, delay + Duration::from_secs(60));
        wait::until(ctx, "draining", timeout, || async {
            Ok(match state(aws, id).await? {
                None => Poll::Done,
                Some(s) => Poll::Pending(s.as_str().to_string()),
            })
        })
        .await
    }
}

/// A group's deregistration delay (300 s, AWS's default, when unreadable).
async fn deregistration_delay(aws: &Aws, group: &str) -> Result<Duration> {
    let attrs = send!(
        aws.elbv2.describe_target_group_attributes().target_group_arn(group),
        "DescribeTargetGroupAttributes"
    )
    .or_gone()?;
    let seconds = attrs
        .as_ref()
        .and_then(|a| {
            a.attributes()
                .iter()
                .find(|kv| kv.key() == Some("deregistration_delay.timeout_seconds"))
                .and_then(|kv| kv.value())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(300);
    Ok(Duration::from_secs(seconds))
}
