//! The cut-over runbook a plan carries for each rollout: pre-flight findings,
//! the schedule and its expected length, what is watched, and the manual
//! revert. Shared by the text and markdown plans.

use serde_json::Value;

use crate::plan::rollout::Settings;
use crate::plan::{Plan, Runbook};

/// A runbook's parts, as lines.
pub struct Sections {
    pub preflight: Vec<String>,
    pub schedule: String,
    pub watched: String,
    pub revert: String,
}

pub fn sections(plan: &Plan, rb: &Runbook) -> Sections {
    let change = plan.change(&rb.address);
    let rollout = change
        .and_then(|c| c.after.as_ref())
        .and_then(|a| a.get("rollout"))
        .map(crate::types::reference::undisplayed)
        .unwrap_or(Value::Null);
    let settings = Settings::read(&rollout);
    let shares: Vec<i64> = change
        .and_then(|c| c.rollout.as_ref())
        .map_or_else(|| settings.steps.clone(), |v| v.shares.clone());
    let mut preflight: Vec<String> =
        rb.alarms.iter().map(|(name, state)| format!("alarm {name}: {state}")).collect();
    for g in &rb.groups {
        let health = match g.targets {
            0 => "no target registered".to_string(),
            n => format!("{} of {n} targets healthy", g.healthy),
        };
        let zones = match g.zones.is_empty() {
            true => String::new(),
            false => format!(
                " ({})",
                g.zones
                    .iter()
                    .map(|(z, (h, n))| format!("{z} {h}/{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let delay = g
            .deregistration_delay_seconds
            .map_or(String::new(), |d| format!("; deregistration delay {d} s"));
        preflight.push(format!(
            "{} ({}% → {}%): {health}{zones}{delay}; stickiness {}",
            g.group, g.share_now, g.share_after, g.stickiness
        ));
    }
    // No `rollout`: the weights move in one call, nothing watches.
    if change.and_then(|c| c.after.as_ref()).and_then(|a| a.get("rollout")).is_none() {
        return Sections {
            preflight,
            schedule: "at once: one call moves every share, no steps (the change has no `rollout`)"
                .to_string(),
            watched: "nothing: without `rollout` no gate watches the move".to_string(),
            revert: rb.revert.clone(),
        };
    }
    let steps = shares.len() as u64;
    let total = steps.saturating_sub(1) * settings.pause_seconds + settings.bake_seconds;
    let pcts = crate::plan::rollout::step_shares(&settings.steps, &shares);
    let schedule = format!(
        "{steps} step{} ({}), {} s apart, then {} s of watching: at least {}",
        if steps == 1 { "" } else { "s" },
        pcts.join(", "),
        settings.pause_seconds,
        settings.bake_seconds,
        duration(total)
    );
    let mut watched = Vec::new();
    if !settings.alarms.is_empty() {
        watched.push(format!(
            "alarm{} {}",
            if settings.alarms.len() == 1 { "" } else { "s" },
            settings.alarms.join(", ")
        ));
    }
    if settings.require_healthy_targets {
        watched.push("a healthy target in every group gaining weight".to_string());
    }
    let mut watched = format!(
        "{}, every {} s, before the first step, through every pause and while baking",
        if watched.is_empty() { "nothing".to_string() } else { watched.join(" and ") },
        settings.poll_seconds
    );
    if let Some(a) = &settings.analysis {
        watched.push_str(&format!(
            "; canary analysis after each pause (5xx share at most {} points over the baseline and under {}%, {} latency, at least {} requests)",
            a.max_5xx_increase, a.max_5xx_share, a.latency_statistic, a.min_requests
        ));
    }
    Sections { preflight, schedule, watched, revert: rb.revert.clone() }
}

/// `1 h 5 min`, `3 min`, `45 s`.
fn duration(seconds: u64) -> String {
    match seconds {
        s if s >= 3600 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{} min", s.div_ceil(60)),
        s => format!("{s} s"),
    }
}
