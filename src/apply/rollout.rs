//! A progressive, alarm-gated weight change of a listener or listener rule.
//!
//! The weights move from their values before this apply to the planned ones in
//! steps. Before each step (that is, at the end of each pause) every named
//! alarm and the health of the target groups gaining weight are checked,
//! through the registry's `Monitor`; an alarm in ALARM or an unhealthy target
//! reverts the weights at once. Each step is reported with the weights actually
//! in force and recorded in state.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use super::run::{Ctx, read_back};
use crate::observe::Event;
use crate::plan::rollout::{self, Weights};
use crate::provider::{AlarmState, TargetState};
use crate::state::{RolloutOutcome, RolloutRecord, RolloutStep, now};
use crate::types::{Address, Attrs, AttrsExt};

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
    ctx: &Ctx<'_>,
    address: &Address,
    id: &str,
    before: &Attrs,
    after: &Attrs,
) -> anyhow::Result<String> {
    let provider = ctx.provider(address)?;
    let config = after.object("rollout")?;
    let steps: Vec<i64> = config
        .opt_list("steps")
        .map(|s| s.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let pause = Duration::from_secs(config.opt_int("pause_seconds").unwrap_or(0).max(0) as u64);
    let alarms = config.opt_strings("alarms").unwrap_or_default();
    let from = rollout::weights(before.get("forward"));
    let to = rollout::weights(after.get("forward"));
    let schedule = rollout::schedule(&from, &to, &steps);
    let union = from.keys().chain(to.keys()).collect::<BTreeSet<_>>().len();
    if union > 5 {
        bail!(
            "a rollout between these forwards would need {union} target groups at once (at most 5); apply the change without `rollout` or in two applies"
        );
    }
    check_alarms_exist(ctx, &alarms).await?;
    let mut rec = RolloutRecord {
        started: now(),
        from: from.clone(),
        to: to.clone(),
        steps: Vec::new(),
        outcome: RolloutOutcome::InProgress,
    };
    ctx.journal.rollout(address, &rec).await?;
    let op = ctx.op(address, None);
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
        if let Err(why) = gate(ctx, &alarms, &gaining).await {
            let at = format!("before step {} of {n} ({percent}%)", i + 1);
            rec.outcome = RolloutOutcome::Reverted(format!("{at}: {why}"));
            revert(ctx, address, id, &current, after, &from, &mut rec).await?;
            bail!(
                "rollout of {address} reverted {at}: {why}; the weights are back to {}",
                label(&from)
            );
        }
        let mut step = after.clone();
        step.insert("forward".into(), rollout::forward(weights, &to));
        provider.update(&op, id, &current, &step).await?;
        current = read_back(provider, id).await?;
        in_force = rollout::weights(current.get("forward"));
        ctx.record(address, id, current.clone(), after, None)
            .await?;
        rec.steps.push(RolloutStep {
            at: now(),
            percent: *percent,
            weights: in_force.clone(),
        });
        ctx.journal.rollout(address, &rec).await?;
        ctx.observer.event(&Event::RolloutStep {
            address,
            step: i + 1,
            of: n,
            percent: *percent,
            split: &label(&in_force),
        });
        if i + 1 < n && !pause.is_zero() {
            let mut interrupt = ctx.interrupt.clone();
            let stopped = async move {
                interrupt
                    .wait_for(|s| *s != super::Signal::Go)
                    .await
                    .is_ok()
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                true = stopped => {
                    rec.outcome = RolloutOutcome::Interrupted { after: i + 1, of: n };
                    ctx.journal.rollout(address, &rec).await?;
                    bail!("rollout of {address} interrupted after step {} of {n} ({percent}%); those weights are in force and recorded", i + 1);
                }
            }
        }
    }
    rec.outcome = RolloutOutcome::Complete;
    ctx.journal.rollout(address, &rec).await?;
    Ok(format!(" (rollout complete in {n} steps)"))
}

/// Target group names as of now: a group replaced in this apply has its new ARN
/// in state, and its old one is the replaced object.
async fn names(ctx: &Ctx<'_>) -> HashMap<String, String> {
    ctx.journal
        .read(|state| {
            let mut out = HashMap::new();
            for (a, r) in &state.resources {
                out.insert(r.id.clone(), a.to_string());
                for d in &r.deposed {
                    out.insert(d.id.clone(), format!("{a} (replaced)"));
                }
            }
            out
        })
        .await
}

/// Fails with the reason when an alarm is in ALARM or a target group gaining
/// weight has an unhealthy target.
async fn gate(ctx: &Ctx<'_>, alarms: &[String], gaining: &[&String]) -> Result<(), String> {
    let monitor = ctx.registry.monitor();
    if !alarms.is_empty() {
        let states = monitor.alarms(alarms).await.map_err(|e| format!("{e:#}"))?;
        if let Some((name, _)) = states.iter().find(|(_, s)| *s == AlarmState::Alarm) {
            return Err(format!("alarm {name} is in ALARM"));
        }
    }
    for arn in gaining {
        let health = monitor
            .target_health(arn)
            .await
            .map_err(|e| format!("{e:#}"))?;
        if let Some((target, _)) = health.iter().find(|(_, s)| *s == TargetState::Unhealthy) {
            return Err(format!(
                "target {target} of target group {arn} is unhealthy"
            ));
        }
    }
    Ok(())
}

async fn check_alarms_exist(ctx: &Ctx<'_>, alarms: &[String]) -> anyhow::Result<()> {
    if alarms.is_empty() {
        return Ok(());
    }
    let found = ctx.registry.monitor().alarms(alarms).await?;
    let missing: Vec<&str> = alarms
        .iter()
        .filter(|a| !found.iter().any(|(name, _)| name == *a))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!(
            "the rollout's alarm{} {} do{} not exist; nothing was changed",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "es" } else { "" }
        );
    }
    Ok(())
}

/// Puts the weights from before this apply back; `rec.outcome` says why.
async fn revert(
    ctx: &Ctx<'_>,
    address: &Address,
    id: &str,
    current: &Attrs,
    after: &Attrs,
    from: &Weights,
    rec: &mut RolloutRecord,
) -> anyhow::Result<()> {
    let provider = ctx.provider(address)?;
    let mut original = after.clone();
    original.insert("forward".into(), rollout::forward(from, from));
    if rollout::weights(current.get("forward")) != *from {
        provider
            .update(&ctx.op(address, None), id, current, &original)
            .await?;
    }
    let observed = read_back(provider, id).await?;
    rec.steps.push(RolloutStep {
        at: now(),
        percent: 0,
        weights: rollout::weights(observed.get("forward")),
    });
    ctx.record(address, id, observed, after, None).await?;
    ctx.journal.rollout(address, rec).await?;
    ctx.observer.event(&Event::RolloutEnded {
        address,
        outcome: &rec.outcome,
    });
    Ok(())
}
