//! The recorded rollouts of a state, as `infra rollout status` prints them.

use std::collections::HashMap;
use std::fmt::Write;

use crate::plan::rollout::{self, Weights};
use crate::types::state::State;

/// Every listener's and rule's recorded rollout: when it started, from and to
/// which weights, each step (its time, the traffic share of the groups gaining
/// weight, the weights in force) and how it ended.
pub fn render(state: &State) -> String {
    let names: HashMap<&str, String> =
        state.resources.iter().map(|(a, r)| (r.id.as_str(), a.to_string())).collect();
    let split = |w: &Weights| {
        w.iter()
            .map(|(arn, v)| {
                let name = names.get(arn.as_str()).cloned().unwrap_or_else(|| arn.clone());
                format!("{name} {v} ({}%)", rollout::share(w, arn))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    for (address, r) in &state.resources {
        let Some(rec) = &r.rollout else { continue };
        let _ = writeln!(out, "{address}: rollout {} (started {})", rec.outcome, rec.started);
        if let Some(when) = &rec.acknowledged {
            let _ = writeln!(out, "  acknowledged {when}");
        }
        let _ = writeln!(out, "  from: {}", split(&rec.from));
        let _ = writeln!(out, "  to:   {}", split(&rec.to));
        for (i, step) in rec.steps.iter().enumerate() {
            // A revert adds the weights it restored as the last step.
            let reverted = matches!(rec.outcome, crate::types::state::RolloutOutcome::Reverted(_));
            let what = match reverted && i + 1 == rec.steps.len() {
                true => "revert".to_string(),
                false => format!("step {}", i + 1),
            };
            let _ =
                writeln!(out, "  {} {what}: {}% — {}", step.at, step.percent, split(&step.weights));
            if let Some(v) = &step.verdict {
                let _ = writeln!(out, "      {v}");
            }
        }
    }
    if out.is_empty() {
        out.push_str("No rollout recorded.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Address;
    use crate::types::state::{ResourceState, RolloutOutcome, RolloutRecord, RolloutStep};

    #[test]
    fn a_reverted_rollout_lists_its_steps_and_the_revert() {
        let mut state = State::new("s");
        let tg = |id: &str| ResourceState {
            ty: "target_group".into(),
            id: id.into(),
            ..ResourceState::default()
        };
        state.resources.insert(Address::new("target_group", "ec2"), tg("arn:ec2"));
        state.resources.insert(Address::new("target_group", "eks"), tg("arn:eks"));
        let w =
            |ec2: i64, eks: i64| Weights::from([("arn:ec2".into(), ec2), ("arn:eks".into(), eks)]);
        let step = |at: &str, percent: i64, weights: Weights| RolloutStep {
            at: at.into(),
            percent,
            weights,
            verdict: None,
        };
        let listener = ResourceState {
            ty: "listener".into(),
            id: "arn:listener".into(),
            rollout: Some(RolloutRecord {
                started: "2026-11-30T10:00:00Z".into(),
                from: w(100, 0),
                to: w(0, 100),
                acknowledged: None,
                steps: vec![
                    step("2026-11-30T10:00:01Z", 25, w(75, 25)),
                    step("2026-11-30T10:01:01Z", 0, w(100, 0)),
                ],
                outcome: RolloutOutcome::Reverted(
                    "in the pause after step 1 of 3 (25%): alarm x is in ALARM".into(),
                ),
            }),
            ..ResourceState::default()
        };
        state.resources.insert(Address::new("listener", "http"), listener);
        assert_eq!(
            render(&state),
            "listener.http: rollout reverted in the pause after step 1 of 3 (25%): alarm x is in ALARM (started 2026-11-30T10:00:00Z)
  from: target_group.ec2 100 (100%), target_group.eks 0 (0%)
  to:   target_group.ec2 0 (0%), target_group.eks 100 (100%)
  2026-11-30T10:00:01Z step 1: 25% — target_group.ec2 75 (75%), target_group.eks 25 (25%)
  2026-11-30T10:01:01Z revert: 0% — target_group.ec2 100 (100%), target_group.eks 0 (0%)
"
        );
        assert_eq!(render(&State::new("s")), "No rollout recorded.\n");
    }
}
