//! A progressive, alarm-gated weight change of a listener or listener rule.
//!
//! The weights move from their values before this apply to the planned ones in
//! steps. Before each step (that is, at the end of each pause) every named
//! CloudWatch alarm and the health of the target groups gaining weight are
//! checked; an alarm in ALARM or an unhealthy target reverts the weights at once.
//! Each step is printed with a timestamp and recorded in state, with the weights
//! actually in force.

use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use super::{Ctx, read_back, record};
use crate::aws::registry::with_provider;
use crate::aws::{Attrs, Aws, Provider, aws_error};
use crate::plan::rollout::{self, Weights};
use crate::stack::Address;
use crate::state::now;
use crate::state::{RolloutRecord, RolloutStep};

/// Whether this update is a weight change that a `rollout` governs.
pub fn applies(before: &Attrs, after: &Attrs) -> bool {
    let (from, to) = (
        rollout::weights(before.get("forward")),
        rollout::weights(after.get("forward")),
    );
    after.contains_key("rollout") && !from.is_empty() && !to.is_empty() && from != to
}

/// Runs the rollout. Returns a detail for the progress line.
pub async fn run(
    ctx: &Ctx,
    address: &Address,
    id: &str,
    before: &Attrs,
    after: &Attrs,
) -> anyhow::Result<String> {
    let aws = &ctx.aws;
    let ty = address.ty.as_str();
    let config = &after["rollout"];
    let steps: Vec<i64> = config["steps"]
        .as_array()
        .map(|s| s.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let pause = Duration::from_secs(config["pause_seconds"].as_u64().unwrap_or(0));
    let alarms: Vec<String> = config["alarms"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let from = rollout::weights(before.get("forward"));
    let to = rollout::weights(after.get("forward"));
    let schedule = rollout::schedule(&from, &to, &steps);
    let union = from
        .keys()
        .chain(to.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if union > 5 {
        bail!(
            "a rollout between these forwards would need {union} target groups at once (at most 5); apply the change without `rollout` or in two applies"
        );
    }
    check_alarms_exist(aws, &alarms).await?;
    let mut rec = RolloutRecord {
        started: now(),
        from: from.clone(),
        to: to.clone(),
        steps: Vec::new(),
        outcome: "in progress".into(),
    };
    save_record(ctx, address, &rec).await?;
    let mut current = before.clone();
    let mut in_force = from.clone();
    let names = names(ctx).await;
    let name = |arn: &String| {
        names
            .get(arn)
            .cloned()
            .unwrap_or_else(|| ctx.plan.label(&Value::String(arn.clone())))
    };
    let label = |w: &Weights| {
        w.iter()
            .map(|(arn, v)| format!("{} {v} ({}%)", name(arn), rollout::share(w, arn)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let n = schedule.len();
    for (i, (percent, weights)) in schedule.iter().enumerate() {
        let gaining: Vec<&String> = weights
            .iter()
            .filter(|(arn, w)| **w > in_force.get(*arn).copied().unwrap_or(0))
            .map(|(a, _)| a)
            .collect();
        if let Err(why) = gate(aws, &alarms, &gaining).await {
            let at = format!("before step {} of {n} ({percent}%)", i + 1);
            revert(
                ctx,
                address,
                id,
                &current,
                after,
                &from,
                &mut rec,
                &format!("reverted {at}: {why}"),
            )
            .await?;
            bail!(
                "rollout of {address} reverted {at}: {why}; the weights are back to {}",
                label(&from)
            );
        }
        let mut step = after.clone();
        step.insert("forward".into(), rollout::forward(weights, &to));
        with_provider!(ty, P => P::update(aws, id, &current, &step).await)?;
        current = read_back(aws, ty, id).await?;
        in_force = rollout::weights(current.get("forward"));
        record(ctx, address, id, current.clone(), after).await?;
        rec.steps.push(RolloutStep {
            at: now(),
            percent: *percent,
            weights: in_force.clone(),
        });
        save_record(ctx, address, &rec).await?;
        eprintln!(
            "[{}] {address}: rollout step {}/{n} ({percent}%): {}",
            chrono::Utc::now().format("%H:%M:%S"),
            i + 1,
            label(&in_force)
        );
        if i + 1 < n && !pause.is_zero() {
            let mut interrupt = ctx.interrupt.clone();
            let stopped = async move { interrupt.wait_for(|stop| *stop).await.is_ok() };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                true = stopped => {
                    rec.outcome = format!("interrupted after step {} of {n}", i + 1);
                    save_record(ctx, address, &rec).await?;
                    bail!("rollout of {address} interrupted after step {} of {n} ({percent}%); those weights are in force and recorded", i + 1);
                }
            }
        }
    }
    rec.outcome = "complete".into();
    save_record(ctx, address, &rec).await?;
    Ok(format!(" (rollout complete in {n} steps)"))
}

/// Target group names as of now: a group replaced in this apply has its new ARN
/// in state, and its old one is the replaced object.
async fn names(ctx: &Ctx) -> std::collections::HashMap<String, String> {
    let store = ctx.store.lock().await;
    let mut out = std::collections::HashMap::new();
    for (a, r) in &store.state.resources {
        out.insert(r.id.clone(), a.to_string());
        if let Some(d) = &r.deposed {
            out.insert(d.id.clone(), format!("{a} (replaced)"));
        }
    }
    out
}

/// Fails with the reason when an alarm is in ALARM or a target group gaining
/// weight has an unhealthy target.
async fn gate(aws: &Aws, alarms: &[String], gaining: &[&String]) -> Result<(), String> {
    if !alarms.is_empty() {
        let r = aws
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(alarms.to_vec()))
            .send()
            .await
            .map_err(|e| format!("{:#}", aws_error("DescribeAlarms", e)))?;
        if let Some(a) = r
            .metric_alarms()
            .iter()
            .find(|a| a.state_value() == Some(&aws_sdk_cloudwatch::types::StateValue::Alarm))
        {
            return Err(format!(
                "alarm {} is in ALARM",
                a.alarm_name().unwrap_or_default()
            ));
        }
    }
    for arn in gaining {
        let r = aws
            .elbv2
            .describe_target_health()
            .target_group_arn(arn.as_str())
            .send()
            .await
            .map_err(|e| format!("{:#}", aws_error("DescribeTargetHealth", e)))?;
        let unhealthy = r.target_health_descriptions().iter().find(|d| {
            d.target_health().and_then(|h| h.state())
                == Some(&aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::Unhealthy)
        });
        if let Some(d) = unhealthy {
            let target = d.target().and_then(|t| t.id()).unwrap_or_default();
            return Err(format!(
                "target {target} of target group {arn} is unhealthy"
            ));
        }
    }
    Ok(())
}

async fn check_alarms_exist(aws: &Aws, alarms: &[String]) -> anyhow::Result<()> {
    if alarms.is_empty() {
        return Ok(());
    }
    let r = aws
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(alarms.to_vec()))
        .send()
        .await
        .map_err(|e| aws_error("DescribeAlarms", e))?;
    let found: Vec<&str> = r
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    let missing: Vec<&String> = alarms
        .iter()
        .filter(|a| !found.contains(&a.as_str()))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the rollout's alarm{} {} do{} not exist; nothing was changed",
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if missing.len() == 1 { "es" } else { "" }
        );
    }
    Ok(())
}

/// Puts the weights from before this apply back and records why.
#[allow(clippy::too_many_arguments)]
async fn revert(
    ctx: &Ctx,
    address: &Address,
    id: &str,
    current: &Attrs,
    after: &Attrs,
    from: &Weights,
    rec: &mut RolloutRecord,
    outcome: &str,
) -> anyhow::Result<()> {
    let aws = &ctx.aws;
    let ty = address.ty.as_str();
    let mut original = after.clone();
    original.insert("forward".into(), rollout::forward(from, from));
    if rollout::weights(current.get("forward")) != *from {
        with_provider!(ty, P => P::update(aws, id, current, &original).await)?;
    }
    let observed = read_back(aws, ty, id).await?;
    rec.steps.push(RolloutStep {
        at: now(),
        percent: 0,
        weights: rollout::weights(observed.get("forward")),
    });
    rec.outcome = outcome.to_string();
    record(ctx, address, id, observed, after).await?;
    save_record(ctx, address, rec).await?;
    eprintln!(
        "[{}] {address}: rollout {outcome}",
        chrono::Utc::now().format("%H:%M:%S")
    );
    Ok(())
}

async fn save_record(ctx: &Ctx, address: &Address, rec: &RolloutRecord) -> anyhow::Result<()> {
    let mut store = ctx.store.lock().await;
    if let Some(r) = store.state.resources.get_mut(address) {
        r.rollout = Some(rec.clone());
    }
    let commit = store.commit();
    drop(store);
    commit.write().await?;
    Ok(())
}
