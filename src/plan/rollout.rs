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
                    // A group not made yet, as a plan shows it, by its reference.
                    let arn = t.get("target_group_arn")?;
                    let arn =
                        arn.as_str().or_else(|| crate::types::reference::unknown(arn))?.to_string();
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

/// One step of a rollout: the weights it sets, and the combined traffic share
/// (percent) of the target groups gaining weight once they are in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub share: i64,
    pub weights: Weights,
}

/// Each target group's share of the traffic (0 to 1); a group missing weighs 0.
fn shares(w: &Weights, arns: &[&String]) -> Vec<f64> {
    let total: i64 = w.values().filter(|v| **v > 0).sum();
    arns.iter()
        .map(|arn| match total {
            0 => 0.0,
            t => w.get(*arn).copied().unwrap_or(0).max(0) as f64 / t as f64,
        })
        .collect()
}

/// The target groups whose traffic share grows from `from` to `to`: what a
/// rollout moves traffic onto, and what its gate watches.
pub fn gaining(from: &Weights, to: &Weights) -> Vec<String> {
    let arns: Vec<&String> = union(from, to);
    let (f, t) = (shares(from, &arns), shares(to, &arns));
    arns.iter()
        .zip(f.iter().zip(&t))
        .filter(|(_, (a, b))| **b > **a + 1e-9)
        .map(|(arn, _)| (*arn).clone())
        .collect()
}

/// The combined share of `groups` under `w`, in whole percent.
pub fn share_of(w: &Weights, groups: &[String]) -> i64 {
    let total: i64 = w.values().filter(|v| **v > 0).sum();
    if total == 0 {
        return 0;
    }
    let sum: i64 = groups.iter().filter_map(|g| w.get(g)).filter(|v| **v > 0).sum();
    (sum as f64 * 100.0 / total as f64).round() as i64
}

fn union<'a>(from: &'a Weights, to: &'a Weights) -> Vec<&'a String> {
    let mut arns: Vec<&String> = from.keys().chain(to.keys()).collect();
    arns.sort();
    arns.dedup();
    arns
}

/// The steps of a rollout. A step of `p` moves every target group's traffic
/// share `p` percent of the way from its share before to its share after,
/// computed on normalised weights whatever their totals (a forward to one
/// group reads back as weight 1): from `1` to `0/100` in `[25, 50, 100]`
/// gives the new group 25%, 50% and 100%. Between the ends the weights total
/// 100, so each is its share; the last step is `to` exactly.
pub fn schedule(from: &Weights, to: &Weights, steps: &[i64]) -> Vec<Step> {
    let arns = union(from, to);
    let (f, t) = (shares(from, &arns), shares(to, &arns));
    let gaining = gaining(from, to);
    steps
        .iter()
        .map(|&p| {
            let weights = if p >= 100 {
                arns.iter()
                    .map(|arn| ((*arn).clone(), to.get(*arn).copied().unwrap_or(0)))
                    .collect()
            } else {
                let wanted: Vec<f64> = f
                    .iter()
                    .zip(&t)
                    .map(|(a, b)| (a + (b - a) * p as f64 / 100.0) * 100.0)
                    .collect();
                arns.iter().map(|a| (*a).clone()).zip(largest_remainder(&wanted, 100)).collect()
            };
            Step { share: share_of(&weights, &gaining), weights }
        })
        .collect()
}

/// The index of the first step still to take when `in_force` are the weights
/// now: the first whose share of the gaining groups is above the one in force
/// (the last step, which sets the weights exactly, is never skipped).
pub fn resume_at(schedule: &[Step], in_force: &Weights, gaining: &[String]) -> usize {
    let now = share_of(in_force, gaining);
    schedule.iter().position(|s| s.share > now).unwrap_or(schedule.len().saturating_sub(1))
}

/// The AWS CLI command that sets a listener's (or rule's) forward to these
/// weights, stickiness kept: what to run by hand to put the weights back.
pub fn manual_revert(ty: &str, arn: &str, weights: &Weights, stickiness: Option<&Value>) -> String {
    let groups: Vec<Value> = weights
        .iter()
        .map(|(g, w)| serde_json::json!({"TargetGroupArn": g, "Weight": w}))
        .collect();
    let mut forward = serde_json::json!({"TargetGroups": groups});
    if let Some(s) = stickiness.filter(|s| s.get("enabled").and_then(Value::as_bool) == Some(true))
    {
        forward["TargetGroupStickinessConfig"] = serde_json::json!({
            "Enabled": true,
            "DurationSeconds": s.get("duration_seconds").and_then(Value::as_i64).unwrap_or(3600),
        });
    }
    let actions = serde_json::json!([{"Type": "forward", "ForwardConfig": forward}]);
    crate::types::schema(ty)
        .and_then(|s| s.forward_by_hand)
        .unwrap_or("aws elbv2 modify-listener --listener-arn {arn} --default-actions '{actions}'")
        .replace("{arn}", arn)
        .replace("{actions}", &actions.to_string())
}

/// Whole numbers that sum to `total`, each as near its value as can be (the
/// largest remainders round up).
fn largest_remainder(values: &[f64], total: i64) -> Vec<i64> {
    let mut out: Vec<i64> = values.iter().map(|v| v.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (values[a] - values[a].floor(), values[b] - values[b].floor());
        rb.partial_cmp(&ra).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b))
    });
    for i in order.into_iter().cycle().take(values.len() * 2) {
        if left <= 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Each weight's share of the total, in percent.
pub fn share(weights: &Weights, arn: &str) -> i64 {
    share_of(weights, &[arn.to_string()])
}

/// How a rollout watches: its settings with their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub steps: Vec<i64>,
    pub pause_seconds: u64,
    /// How long the gate keeps watching after the last step.
    pub bake_seconds: u64,
    /// How often the gate looks while it watches.
    pub poll_seconds: u64,
    pub alarms: Vec<String>,
    /// Let an alarm with INSUFFICIENT_DATA through (by default it blocks).
    pub allow_insufficient_data: bool,
    /// A target group gaining weight must have a healthy target.
    pub require_healthy_targets: bool,
    /// Canary analysis after every pause and the bake, when asked for.
    pub analysis: Option<Analysis>,
}

/// How a canary is judged: the target groups gaining weight against those
/// losing it, over the pause that just ended, from the load balancer's
/// CloudWatch metrics per target group (`RequestCount`,
/// `HTTPCode_Target_5XX_Count`, `TargetConnectionErrorCount`,
/// `TargetResponseTime`), and the load balancer's own 5xx answers
/// (`HTTPCode_ELB_502/503/504_Count`, which only the load balancer dimension
/// carries: a crashing or timing-out pod shows there) over the step against
/// their level before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// How many percentage points the canary's 5xx share may exceed the
    /// baseline's.
    pub max_5xx_increase: f64,
    /// The 5xx share (percent) the canary may never exceed.
    pub max_5xx_share: f64,
    /// The statistic of `TargetResponseTime` compared (`p99`, `Average`).
    pub latency_statistic: String,
    /// How many seconds the canary's latency may exceed the baseline's.
    pub max_latency_increase: Option<f64>,
    /// The latency (seconds) the canary may never exceed.
    pub max_latency: Option<f64>,
    /// Requests the canary must have served before it is judged.
    pub min_requests: f64,
    /// How long to wait for them after the pause; then the step fails.
    pub wait_seconds: u64,
    /// Pass a canary that served too few requests (by default it fails).
    pub pass_with_too_few_requests: bool,
}

/// What some target groups served over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    pub requests: f64,
    /// Answers of 5xx from the targets.
    pub errors: f64,
    /// Connections the load balancer could not make to a target (a pod that
    /// crashed or does not listen): each such request failed.
    pub connection_errors: f64,
    /// Seconds, by the statistic asked for; `None` without data.
    pub latency: Option<f64>,
}

/// Several groups as one: counts add up, the worst latency stands.
impl std::ops::Add for Traffic {
    type Output = Traffic;

    fn add(self, other: Traffic) -> Traffic {
        Traffic {
            requests: self.requests + other.requests,
            errors: self.errors + other.errors,
            connection_errors: self.connection_errors + other.connection_errors,
            latency: match (self.latency, other.latency) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

impl Traffic {
    /// The share of requests that failed (a target's 5xx, or no connection
    /// to a target), in percent.
    pub fn error_share(&self) -> f64 {
        if self.requests <= 0.0 {
            return 0.0;
        }
        ((self.errors + self.connection_errors) * 100.0 / self.requests).min(100.0)
    }

    /// `failed 10.0% of 1000 requests (100 target 5xx, 0 target connection
    /// errors), p99 0.120 s`.
    pub fn describe(&self, statistic: &str) -> String {
        let latency = self
            .latency
            .map_or_else(|| "no latency data".to_string(), |l| format!("{statistic} {l:.3} s"));
        format!(
            "failed {:.1}% of {} requests ({} target 5xx, {} target connection errors), {latency}",
            self.error_share(),
            self.requests.round() as i64,
            self.errors.round() as i64,
            self.connection_errors.round() as i64
        )
    }
}

/// What the load balancer answered itself over a window (its dimension
/// alone): all its requests, and its own 502, 503 and 504 answers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Balancer {
    pub requests: f64,
    pub elb_502: f64,
    pub elb_503: f64,
    pub elb_504: f64,
}

impl Balancer {
    pub fn errors(&self) -> f64 {
        self.elb_502 + self.elb_503 + self.elb_504
    }

    /// Its own 5xx answers' share of its requests, in percent.
    pub fn error_share(&self) -> f64 {
        if self.requests <= 0.0 {
            return 0.0;
        }
        (self.errors() * 100.0 / self.requests).min(100.0)
    }

    /// `1.2% of 2000 requests (20 502, 4 503, 0 504)`.
    pub fn describe(&self) -> String {
        format!(
            "{:.1}% of {} requests ({} 502, {} 503, {} 504)",
            self.error_share(),
            self.requests.round() as i64,
            self.elb_502.round() as i64,
            self.elb_503.round() as i64,
            self.elb_504.round() as i64
        )
    }
}

/// A canary's judgement.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass(String),
    Fail(String),
    /// Too few requests to judge yet.
    TooFew(String),
}

impl Analysis {
    /// The canary against the baseline (`None`: no group holds the rest of the
    /// traffic, so only the ceilings apply), and the load balancer's own 5xx
    /// over the step against their level before it (`balancer`: before,
    /// during). Every verdict carries what it counted.
    pub fn judge(
        &self,
        canary: Traffic,
        baseline: Option<Traffic>,
        balancer: Option<(Balancer, Balancer)>,
    ) -> Verdict {
        let stat = &self.latency_statistic;
        let mut numbers = match baseline {
            Some(b) => format!("canary {}; baseline {}", canary.describe(stat), b.describe(stat)),
            None => format!("canary {}; no baseline traffic", canary.describe(stat)),
        };
        if let Some((before, during)) = balancer {
            numbers.push_str(&format!(
                "; the load balancer's own 5xx {} during the step, {} before it",
                during.describe(),
                before.describe()
            ));
        }
        if canary.requests < self.min_requests {
            return Verdict::TooFew(format!(
                "too few requests to judge ({} of {}): {numbers}",
                canary.requests.round() as i64,
                self.min_requests.round() as i64
            ));
        }
        let share = canary.error_share();
        let mut why = Vec::new();
        if share > self.max_5xx_share {
            why.push(format!(
                "its failed share {share:.1}% is over the ceiling of {}%",
                self.max_5xx_share
            ));
        }
        if let Some((before, during)) = balancer.filter(|(_, d)| d.requests > 0.0) {
            let over = during.error_share() - before.error_share();
            if over > self.max_5xx_increase {
                why.push(format!(
                    "the load balancer's own 5xx share rose to {:.1}% from {:.1}% before the step, {over:.1} points (at most {} allowed)",
                    during.error_share(),
                    before.error_share(),
                    self.max_5xx_increase
                ));
            }
        }
        if let Some(b) = baseline.filter(|b| b.requests > 0.0) {
            let over = share - b.error_share();
            if over > self.max_5xx_increase {
                why.push(format!(
                    "its failed share {share:.1}% is {over:.1} points above the baseline's {:.1}% (at most {} allowed)",
                    b.error_share(),
                    self.max_5xx_increase
                ));
            }
            if let (Some(limit), Some(c), Some(bl)) =
                (self.max_latency_increase, canary.latency, b.latency)
                && c - bl > limit
            {
                why.push(format!(
                    "its {stat} latency {c:.3} s is {:.3} s above the baseline's {bl:.3} s (at most {limit} s allowed)",
                    c - bl
                ));
            }
        }
        if let (Some(limit), Some(c)) = (self.max_latency, canary.latency)
            && c > limit
        {
            why.push(format!("its {stat} latency {c:.3} s is over the ceiling of {limit} s"));
        }
        match why.is_empty() {
            true => Verdict::Pass(format!("canary analysis passed: {numbers}")),
            false => {
                Verdict::Fail(format!("canary analysis failed: {} ({numbers})", why.join("; ")))
            }
        }
    }
}

/// The default of `poll_seconds`.
pub const POLL_SECONDS: u64 = 10;

impl Settings {
    /// A `rollout` block as the stack gives it.
    pub fn read(rollout: &Value) -> Settings {
        use crate::types::AttrsExt;
        let r = rollout;
        let secs = |k: &str| r.opt_int(k).map(|v| v.max(0) as u64);
        let pause_seconds = secs("pause_seconds").unwrap_or(0);
        Settings {
            steps: r
                .opt_list("steps")
                .map(|s| s.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
            pause_seconds,
            bake_seconds: secs("bake_seconds").unwrap_or(pause_seconds),
            poll_seconds: secs("poll_seconds").unwrap_or(POLL_SECONDS).max(1),
            alarms: r.opt_strings("alarms").unwrap_or_default(),
            allow_insufficient_data: r.opt_bool("allow_insufficient_data").unwrap_or(false),
            require_healthy_targets: r.opt_bool("require_healthy_targets").unwrap_or(true),
            analysis: r.field("analysis").map(|a| {
                let num = |k: &str| a.field(k).and_then(Value::as_f64);
                Analysis {
                    max_5xx_increase: num("max_5xx_increase").unwrap_or(1.0),
                    max_5xx_share: num("max_5xx_share").unwrap_or(5.0),
                    latency_statistic: a.opt_str("latency_statistic").unwrap_or("p99").to_string(),
                    max_latency_increase: num("max_latency_increase"),
                    max_latency: num("max_latency"),
                    min_requests: num("min_requests").unwrap_or(100.0),
                    wait_seconds: a.opt_int("wait_seconds").map_or(300, |v| v.max(0) as u64),
                    pass_with_too_few_requests: a
                        .opt_bool("pass_with_too_few_requests")
                        .unwrap_or(false),
                }
            }),
        }
    }
}

/// Each step as the file wrote it; where the traffic share after it differs
/// (a move toward 90/10 is 90% of traffic at its end), that share beside:
/// `10% of the move (9% of traffic)`.
pub fn step_shares(steps: &[i64], shares: &[i64]) -> Vec<String> {
    // A resumed rollout has the last steps left: they line up at the end.
    let skip = steps.len().saturating_sub(shares.len());
    shares
        .iter()
        .enumerate()
        .map(|(i, p)| match steps.get(skip + i) {
            Some(step) if step != p => format!("{step}% of the move ({p}% of traffic)"),
            _ => format!("{p}%"),
        })
        .collect()
}

/// `3 steps (25%, 50%, 100%), 60 s apart, watched every 10 s and for 60 s
/// after the last, gated by alarm X`: the percentages are the share of the
/// groups gaining weight in force after each step (`shares`), or the steps as
/// written when the weights are not known yet.
pub fn describe(rollout: &Value, shares: Option<&[i64]>) -> String {
    let s = Settings::read(rollout);
    let shares = shares.unwrap_or(&s.steps);
    let pcts = step_shares(&s.steps, shares);
    let mut out = format!(
        "{} step{} ({}), {} s apart, watched every {} s and for {} s after the last",
        shares.len(),
        if shares.len() == 1 { "" } else { "s" },
        pcts.join(", "),
        s.pause_seconds,
        s.poll_seconds,
        s.bake_seconds,
    );
    match s.alarms.as_slice() {
        [] => out.push_str(", no alarms"),
        [one] => out.push_str(&format!(", gated by alarm {one}")),
        many => out.push_str(&format!(", gated by alarms {}", many.join(", "))),
    }
    if s.allow_insufficient_data {
        out.push_str(" (INSUFFICIENT_DATA allowed)");
    }
    if !s.require_healthy_targets {
        out.push_str(" (healthy targets not required)");
    }
    if let Some(a) = &s.analysis {
        out.push_str(&format!(
            ", canary analysis after each pause (5xx at most {} points over the baseline and under {}%",
            a.max_5xx_increase, a.max_5xx_share
        ));
        if let Some(l) = a.max_latency_increase {
            out.push_str(&format!(", {} at most {l} s over", a.latency_statistic));
        }
        if let Some(l) = a.max_latency {
            out.push_str(&format!(", {} under {l} s", a.latency_statistic));
        }
        out.push_str(&format!(", at least {} requests)", a.min_requests));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pairs: &[(&str, i64)]) -> Weights {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    type Pairs = &'static [(&'static str, i64)];
    /// From, to, steps, the shares in force after each, the first step's weights.
    type Row = (Pairs, Pairs, &'static [i64], &'static [i64], Pairs);

    /// (from, to, steps) and the share the gaining groups get at each step,
    /// with the weights of the first.
    #[test]
    fn steps_are_traffic_shares_whatever_the_totals() {
        let table: &[Row] = &[
            // 100/0 -> 0/100
            (
                &[("ec2", 100), ("eks", 0)],
                &[("ec2", 0), ("eks", 100)],
                &[25, 50, 100],
                &[25, 50, 100],
                &[("ec2", 75), ("eks", 25)],
            ),
            // A forward to one group reads back as weight 1.
            (
                &[("ec2", 1)],
                &[("ec2", 0), ("eks", 100)],
                &[25, 50, 100],
                &[25, 50, 100],
                &[("ec2", 75), ("eks", 25)],
            ),
            // 1/1 is 50/50.
            (
                &[("ec2", 1), ("eks", 1)],
                &[("ec2", 0), ("eks", 100)],
                &[50, 100],
                &[75, 100],
                &[("ec2", 25), ("eks", 75)],
            ),
            // 1/0 -> 0/1
            (
                &[("ec2", 1), ("eks", 0)],
                &[("ec2", 0), ("eks", 1)],
                &[10, 100],
                &[10, 100],
                &[("ec2", 90), ("eks", 10)],
            ),
            // One group to two.
            (&[("old", 10)], &[("new", 30)], &[50, 100], &[50, 100], &[("new", 50), ("old", 50)]),
            // Three groups: ec2 drains into two.
            (
                &[("a", 3), ("b", 0), ("c", 0)],
                &[("a", 0), ("b", 2), ("c", 1)],
                &[30, 100],
                &[30, 100],
                &[("a", 70), ("b", 20), ("c", 10)],
            ),
            // Part of the way: 100/0 -> 50/50.
            (
                &[("ec2", 100), ("eks", 0)],
                &[("ec2", 500), ("eks", 500)],
                &[50, 100],
                &[25, 50],
                &[("ec2", 75), ("eks", 25)],
            ),
        ];
        for (from, to, steps, shares, first) in table {
            let s = schedule(&w(from), &w(to), steps);
            assert_eq!(
                s.iter().map(|s| s.share).collect::<Vec<_>>(),
                *shares,
                "{from:?} -> {to:?} at {steps:?}"
            );
            assert_eq!(s[0].weights, w(first), "{from:?} -> {to:?}");
            assert_eq!(
                s.last().unwrap().weights.values().sum::<i64>(),
                to.iter().map(|p| p.1).sum::<i64>()
            );
        }
    }

    #[test]
    fn a_rollout_stopped_part_of_the_way_resumes_at_the_next_step() {
        let (from, to) = (w(&[("ec2", 1)]), w(&[("ec2", 0), ("eks", 100)]));
        let s = schedule(&from, &to, &[25, 50, 75, 100]);
        let gaining = gaining(&from, &to);
        assert_eq!(gaining, vec!["eks".to_string()]);
        assert_eq!(resume_at(&s, &from, &gaining), 0);
        assert_eq!(resume_at(&s, &s[1].weights, &gaining), 2);
        assert_eq!(resume_at(&s, &w(&[("ec2", 1), ("eks", 1)]), &gaining), 2);
        assert_eq!(resume_at(&s, &to, &gaining), 3);
    }

    #[test]
    fn a_canary_is_judged_against_its_baseline_and_never_passed_blind() {
        let a = Settings::read(&serde_json::json!({
            "steps": [100],
            "analysis": {"max_latency_increase": 0.1, "latency_statistic": "Average"}
        }))
        .analysis
        .unwrap();
        let t = |requests: f64, errors: f64, latency: f64| Traffic {
            requests,
            errors,
            connection_errors: 0.0,
            latency: Some(latency),
        };
        let baseline = Some(t(1000.0, 1.0, 0.1));
        match a.judge(t(1000.0, 100.0, 0.1), baseline, None) {
            Verdict::Fail(why) => assert_eq!(
                why,
                "canary analysis failed: its failed share 10.0% is over the ceiling of 5%; its failed share 10.0% is 9.9 points above the baseline's 0.1% (at most 1 allowed) (canary failed 10.0% of 1000 requests (100 target 5xx, 0 target connection errors), Average 0.100 s; baseline failed 0.1% of 1000 requests (1 target 5xx, 0 target connection errors), Average 0.100 s)"
            ),
            v => panic!("{v:?}"),
        }
        assert!(matches!(a.judge(t(1000.0, 2.0, 0.12), baseline, None), Verdict::Pass(_)));
        // Pods that crash fail the load balancer's connections to them: no
        // target answers 5xx, yet requests fail.
        let crashing = Traffic { connection_errors: 80.0, ..t(1000.0, 0.0, 0.1) };
        match a.judge(crashing, baseline, None) {
            Verdict::Fail(why) => assert!(
                why.contains("its failed share 8.0%")
                    && why.contains("80 target connection errors"),
                "{why}"
            ),
            v => panic!("{v:?}"),
        }
        // Timing-out pods answer nothing: the load balancer's own 504s,
        // against their level before the step.
        let lb =
            |requests: f64, e504: f64| Balancer { requests, elb_504: e504, ..Balancer::default() };
        match a.judge(t(1000.0, 2.0, 0.1), baseline, Some((lb(2000.0, 2.0), lb(2000.0, 120.0)))) {
            Verdict::Fail(why) => assert!(
                why.contains(
                    "the load balancer's own 5xx share rose to 6.0% from 0.1% before the step"
                ) && why.contains("0 503, 120 504) during the step"),
                "{why}"
            ),
            v => panic!("{v:?}"),
        }
        match a.judge(t(1000.0, 2.0, 0.1), baseline, Some((lb(2000.0, 2.0), lb(2000.0, 4.0)))) {
            Verdict::Pass(text) => assert!(
                text.contains("the load balancer's own 5xx 0.2% of 2000 requests (0 502, 0 503, 4 504) during the step, 0.1% of 2000 requests (0 502, 0 503, 2 504) before it"),
                "{text}"
            ),
            v => panic!("{v:?}"),
        }
        match a.judge(t(1000.0, 2.0, 0.35), baseline, None) {
            Verdict::Fail(why) => {
                assert!(why.contains("Average latency 0.350 s is 0.250 s above"), "{why}")
            }
            v => panic!("{v:?}"),
        }
        assert!(matches!(a.judge(t(20.0, 0.0, 0.1), baseline, None), Verdict::TooFew(_)));
        // No baseline traffic (the last step): the ceilings alone.
        assert!(matches!(a.judge(t(500.0, 3.0, 0.1), None, None), Verdict::Pass(_)));
        assert!(matches!(a.judge(t(500.0, 50.0, 0.1), None, None), Verdict::Fail(_)));
    }

    #[test]
    fn a_third_is_rounded_to_whole_weights_that_total_100() {
        let s = schedule(&w(&[("a", 1)]), &w(&[("a", 1), ("b", 1), ("c", 1)]), &[100]);
        assert_eq!(s[0].weights, w(&[("a", 1), ("b", 1), ("c", 1)]));
        let s = schedule(&w(&[("a", 1)]), &w(&[("a", 0), ("b", 1), ("c", 1)]), &[33, 100]);
        assert_eq!(s[0].weights.values().sum::<i64>(), 100);
        assert_eq!(s[0].share, 33);
    }

    #[test]
    fn steps_move_part_of_the_way_and_end_exactly() {
        let s = schedule(
            &w(&[("ec2", 100), ("eks", 0)]),
            &w(&[("ec2", 0), ("eks", 100)]),
            &[25, 50, 100],
        );
        assert_eq!(s[0].weights, w(&[("ec2", 75), ("eks", 25)]));
        assert_eq!(s[1].weights, w(&[("ec2", 50), ("eks", 50)]));
        assert_eq!(s[2].weights, w(&[("ec2", 0), ("eks", 100)]));
        assert_eq!(share(&s[0].weights, "eks"), 25);
    }

    #[test]
    fn a_group_only_on_one_side_weighs_zero_on_the_other() {
        let s = schedule(&w(&[("old", 10)]), &w(&[("new", 30)]), &[50, 100]);
        assert_eq!(s[0].weights, w(&[("new", 50), ("old", 50)]));
        assert_eq!(
            forward(&s[1].weights, &w(&[("new", 30)])),
            serde_json::json!([{"target_group_arn": "new", "weight": 30}])
        );
    }

    #[test]
    fn describes_the_schedule() {
        let r = serde_json::json!({"steps": [25, 50, 100], "pause_seconds": 60, "alarms": ["enza-5xx"]});
        assert_eq!(
            describe(&r, None),
            "3 steps (25%, 50%, 100%), 60 s apart, watched every 10 s and for 60 s after the last, gated by alarm enza-5xx"
        );
        assert_eq!(
            describe(&r, Some(&[75, 88, 100])),
            "3 steps (25% of the move (75% of traffic), 50% of the move (88% of traffic), 100%), 60 s apart, watched every 10 s and for 60 s after the last, gated by alarm enza-5xx"
        );
        // Toward a 90/10 forward: the steps as written, the traffic beside.
        let r = serde_json::json!({"steps": [10, 50, 100]});
        assert!(
            describe(&r, Some(&[9, 45, 90])).starts_with(
                "3 steps (10% of the move (9% of traffic), 50% of the move (45% of traffic), 100% of the move (90% of traffic))"
            )
        );
    }
}
