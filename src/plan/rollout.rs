//! Progressive traffic shifting, the pure part: the weights at each step of a
//! rollout, and how a rollout reads in a plan.

use std::collections::BTreeMap;

use serde_json::Value;

/// Weights by target group (ARN, or a reference while it is unknown).
pub type Weights = BTreeMap<String, i64>;

/// The weights of a `forward` attribute.
pub fn weights(forward: Option<&Value>) -> Weights {
    forward
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(|t| {
                    let arn = t.get("target_group_arn")?.as_str()?.to_string();
                    Some((arn, t.get("weight").and_then(Value::as_i64).unwrap_or(1)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A `forward` attribute from weights, dropping target groups at 0 that are not
/// wanted at the end.
pub fn forward(weights: &Weights, keep: &Weights) -> Value {
    Value::Array(
        weights
            .iter()
            .filter(|(arn, w)| **w > 0 || keep.contains_key(*arn))
            .map(|(arn, w)| serde_json::json!({"target_group_arn": arn, "weight": w}))
            .collect(),
    )
}

/// The weights at each step: `percent` of the way from `from` to `to`. A target
/// group missing on one side weighs 0 there. The last step is `to` exactly.
pub fn schedule(from: &Weights, to: &Weights, steps: &[i64]) -> Vec<(i64, Weights)> {
    let arns: Vec<&String> = from.keys().chain(to.keys()).collect();
    steps
        .iter()
        .map(|&p| {
            let w = arns
                .iter()
                .map(|arn| {
                    let a = from.get(*arn).copied().unwrap_or(0);
                    let b = to.get(*arn).copied().unwrap_or(0);
                    let v = if p >= 100 {
                        b
                    } else {
                        a + ((b - a) as f64 * p as f64 / 100.0).round() as i64
                    };
                    ((*arn).clone(), v)
                })
                .collect();
            (p, w)
        })
        .collect()
}

/// Each weight's share of the total, in percent.
pub fn share(weights: &Weights, arn: &str) -> i64 {
    let total: i64 = weights.values().sum();
    if total == 0 {
        return 0;
    }
    ((weights.get(arn).copied().unwrap_or(0) as f64) * 100.0 / total as f64).round() as i64
}

/// `3 steps (25%, 50%, 100%), 60 s apart, gated by alarm X`.
pub fn describe(rollout: &Value) -> String {
    let steps: Vec<i64> = rollout
        .get("steps")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let pause = rollout
        .get("pause_seconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let alarms: Vec<&str> = rollout
        .get("alarms")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pcts: Vec<String> = steps.iter().map(|p| format!("{p}%")).collect();
    let mut out = format!(
        "{} step{} ({}), {pause} s apart",
        steps.len(),
        if steps.len() == 1 { "" } else { "s" },
        pcts.join(", ")
    );
    match alarms.as_slice() {
        [] => out.push_str(", no alarms"),
        [one] => out.push_str(&format!(", gated by alarm {one}")),
        many => out.push_str(&format!(", gated by alarms {}", many.join(", "))),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pairs: &[(&str, i64)]) -> Weights {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn steps_move_part_of_the_way_and_end_exactly() {
        let s = schedule(
            &w(&[("ec2", 100), ("eks", 0)]),
            &w(&[("ec2", 0), ("eks", 100)]),
            &[25, 50, 100],
        );
        assert_eq!(s[0], (25, w(&[("ec2", 75), ("eks", 25)])));
        assert_eq!(s[1], (50, w(&[("ec2", 50), ("eks", 50)])));
        assert_eq!(s[2], (100, w(&[("ec2", 0), ("eks", 100)])));
        assert_eq!(share(&s[0].1, "eks"), 25);
    }

    #[test]
    fn a_group_only_on_one_side_weighs_zero_on_the_other() {
        let s = schedule(&w(&[("old", 10)]), &w(&[("new", 30)]), &[50, 100]);
        assert_eq!(s[0].1, w(&[("new", 15), ("old", 5)]));
        assert_eq!(
            forward(&s[1].1, &w(&[("new", 30)])),
            serde_json::json!([{"target_group_arn": "new", "weight": 30}])
        );
    }

    #[test]
    fn describes_the_schedule() {
        let r = serde_json::json!({"steps": [25, 50, 100], "pause_seconds": 60, "alarms": ["enza-5xx"]});
        assert_eq!(
            describe(&r),
            "3 steps (25%, 50%, 100%), 60 s apart, gated by alarm enza-5xx"
        );
    }
}
