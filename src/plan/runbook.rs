//! A rollout's runbook, the pure part: from the gate's alarm states and each
//! target group's health (read by the command), what the reviewer of a
//! cut-over needs: every alarm's state, each group's readiness, the command
//! that puts the weights back by hand.

use std::collections::BTreeMap;

use serde_json::Value;

use super::rollout::{self, Settings};
use super::{Change, Plan, Readiness, Runbook};
use crate::types::health::{AlarmState, TargetHealth, TargetState};
use crate::types::state::State;

/// What a change's runbook needs read from AWS: the states of the gate's
/// alarms that exist already, and the health of the target groups whose
/// traffic moves (those that exist). `None` for a change without a rollout.
pub struct Asks {
    pub alarms: Vec<String>,
    pub groups: Vec<String>,
}

/// What the runbook of `change` asks AWS; `None` when it has no rollout.
pub fn asks(change: &Change) -> Option<Asks> {
    let (Some(before), Some(after)) = (&change.before, &change.after) else {
        return None;
    };
    // Every change of the weights in force, rolled out or not.
    let (now, to) =
        (rollout::weights(before.get("forward")), rollout::weights(after.get("forward")));
    if now.is_empty() || to.is_empty() || now == to {
        return None;
    }
    let settings = Settings::read(after.get("rollout").unwrap_or(&Value::Null));
    let alarms = settings
        .alarms
        .iter()
        .filter(|a| crate::types::reference::is_known(&Value::String((*a).clone())))
        .cloned()
        .collect();
    Some(Asks {
        alarms,
        groups: moving(before, after).into_iter().filter(|arn| arn.starts_with("arn:")).collect(),
    })
}

/// Every target group of the weights now and after, those in force first.
fn moving(before: &crate::types::Attrs, after: &crate::types::Attrs) -> Vec<String> {
    let now = rollout::weights(before.get("forward"));
    let to = rollout::weights(after.get("forward"));
    now.keys().chain(to.keys().filter(|k| !now.contains_key(*k))).cloned().collect()
}

/// The runbook of a change with a rollout, from what was read: `alarms`, the
/// states of those `asks` named (or why they could not be read), `health`,
/// the targets of each group that could be read.
pub fn runbook(
    plan: &Plan,
    change: &Change,
    state: &State,
    alarms: &Result<Vec<(String, AlarmState)>, String>,
    health: &BTreeMap<String, Vec<TargetHealth>>,
) -> Option<Runbook> {
    let (Some(before), Some(after)) = (&change.before, &change.after) else {
        return None;
    };
    let settings = Settings::read(after.get("rollout").unwrap_or(&Value::Null));
    let asked = asks(change)?;
    let alarms = settings
        .alarms
        .iter()
        .map(|name| (name.clone(), alarm_state(name, &asked.alarms, alarms)))
        .collect();
    let now = rollout::weights(before.get("forward"));
    let to = rollout::weights(after.get("forward"));
    let groups = moving(before, after)
        .into_iter()
        // Those made by this apply have no health yet.
        .filter(|arn| arn.starts_with("arn:"))
        .map(|arn| {
            let mut r = readiness(plan, state, &arn);
            r.share_now = rollout::share(&now, &arn);
            r.share_after = rollout::share(&to, &arn);
            for t in health.get(&arn).into_iter().flatten() {
                let ok = usize::from(t.state == TargetState::Healthy);
                r.targets += 1;
                r.healthy += ok;
                if let Some(z) = &t.zone {
                    let e = r.zones.entry(z.clone()).or_default();
                    e.0 += ok;
                    e.1 += 1;
                }
            }
            r
        })
        .collect();
    let id = state.resources.get(&change.address).map_or("ARN", |r| r.id.as_str());
    Some(Runbook {
        address: change.address.clone(),
        alarms,
        groups,
        revert: rollout::manual_revert(
            &change.address.ty,
            id,
            // Where a revert goes: the rollout's origin, else what is in
            // force now (a change without `rollout` moves at once).
            &change.rollout.as_ref().map_or(now, |v| v.origin.clone()),
            after.get("stickiness"),
        ),
    })
}

/// How an alarm of the gate reads in the runbook.
fn alarm_state(
    name: &str,
    known: &[String],
    states: &Result<Vec<(String, AlarmState)>, String>,
) -> String {
    match states {
        _ if !known.iter().any(|k| k == name) => "made by this apply".to_string(),
        Err(e) => format!("could not be read: {e}"),
        Ok(found) => found
            .iter()
            .find(|(n, _)| n == name)
            .map_or("does not exist".to_string(), |(_, s)| match s {
                AlarmState::Ok => "OK".to_string(),
                AlarmState::Alarm => "ALARM".to_string(),
                AlarmState::InsufficientData => {
                    "INSUFFICIENT_DATA: the gate cannot judge it yet and blocks (allow_insufficient_data: true lets it through)".to_string()
                }
            }),
    }
}

/// A target group's readiness as state recorded it (deregistration delay,
/// stickiness), its targets not counted yet.
fn readiness(plan: &Plan, state: &State, arn: &str) -> Readiness {
    let recorded = state
        .resources
        .values()
        .find(|r| r.attributes.get("arn").and_then(Value::as_str) == Some(arn))
        .map(|r| &r.attributes);
    Readiness {
        group: plan.label(&Value::String(arn.to_string())),
        share_now: 0,
        share_after: 0,
        healthy: 0,
        targets: 0,
        zones: Default::default(),
        deregistration_delay_seconds: recorded
            .and_then(|a| a.get("deregistration_delay_seconds"))
            .and_then(Value::as_i64),
        stickiness: recorded
            .and_then(|a| a.get("stickiness"))
            .filter(|s| s.get("enabled").and_then(Value::as_bool) == Some(true))
            .map_or("off".to_string(), |s| {
                format!(
                    "{} for {} s",
                    s.get("type").and_then(Value::as_str).unwrap_or("lb_cookie"),
                    s.get("duration_seconds").and_then(Value::as_i64).unwrap_or(0)
                )
            }),
    }
}
