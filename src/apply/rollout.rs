//! A progressive, gated weight change of a listener or listener rule.
//!
//! Traffic moves from the weights before the rollout (its origin) to the
//! planned ones in steps of traffic share (`plan::rollout::schedule`). A gate
//! watches all the time, through the registry's `Monitor`: before the first
//! step, every `poll_seconds` of each pause, and for `bake_seconds` after the
//! last step. It trips on an alarm in ALARM, an alarm with INSUFFICIENT_DATA
//! (unless allowed), or a target group gaining weight with no healthy target;
//! the weights then go back to the origin at once. Every step's and revert's
//! call is preceded by an intent and followed by a record of the weights in
//! force; a rollout interrupted or killed part of the way keeps its origin in
//! state, and the next apply to the same weights goes on from where it stopped.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use anyhow::bail;
use serde_json::Value;

use super::ctx::{Ctx, read_back};
use crate::observe::Event;
use crate::plan::rollout::{self, Settings, Traffic, Verdict, Weights};
use crate::provider::{AlarmState, TargetHealth, TargetState};
use crate::types::state::{RolloutOutcome, RolloutRecord, RolloutStep, now};
use crate::types::{Address, Attrs, Operation};

/// Whether this update is a weight change that a `rollout` governs: one that
/// moves traffic share onto some target group (a change of weights that keeps
/// every share, or of a group at 0, is made at once).
pub fn applies(before: &Attrs, after: &Attrs) -> bool {
    let (from, to) =
        (rollout::weights(before.get("forward")), rollout::weights(after.get("forward")));
    after.contains_key("rollout")
        && !from.is_empty()
        && !to.is_empty()
        && !rollout::gaining(&from, &to).is_empty()
}

/// What ended a watch.
enum Watch {
    Clear,
    /// The gate tripped: why.
    Tripped(String),
    Interrupted,
}

/// One rollout under way.
struct Run<'a, 'c> {
    ctx: &'a Ctx<'c>,
    address: &'a Address,
    id: &'a str,
    after: &'a Attrs,
    settings: Settings,
    origin: Weights,
    to: Weights,
    gaining: Vec<String>,
    names: HashMap<String, String>,
    rec: RolloutRecord,
    /// The listener as last read back.
    current: Attrs,
    /// The load balancer's `arn_suffix`, CloudWatch's `LoadBalancer`.
    load_balancer: String,
}

/// Runs the rollout. Returns a detail for the progress line.
pub async fn run(
    ctx: &Ctx<'_>,
    address: &Address,
    id: &str,
    before: &Attrs,
    after: &Attrs,
) -> anyhow::Result<String> {
    let (mut r, schedule, first) = Run::begin(ctx, address, id, before, after).await?;
    let n = schedule.len();
    // Before anything moves.
    if let Err(why) = gate(&r).await {
        let at = format!("before step {} of {n} ({}%)", first + 1, schedule[first].share);
        return r.revert(&at, &why).await;
    }
    for (i, step) in schedule.iter().enumerate().skip(first) {
        let began = chrono::Utc::now();
        r.step(i, n, step).await?;
        let last = i + 1 == n;
        let watch = match last {
            false => r.settings.pause_seconds,
            true => r.settings.bake_seconds,
        };
        let watching = tokio::time::Instant::now();
        let mut ended = r.watch(Duration::from_secs(watch)).await;
        if let Watch::Clear = ended {
            ended = r.analyze(began).await?;
        }
        match ended {
            Watch::Clear => {}
            Watch::Tripped(why) => {
                let at = match last {
                    false => format!("in the pause after step {} of {n} ({}%)", i + 1, step.share),
                    true => format!("while baking after step {n} of {n} ({}%)", step.share),
                };
                return r.revert(&at, &why).await;
            }
            // Every weight is in force, but the bake was cut short: the
            // change was not watched as long as asked, and is not complete.
            Watch::Interrupted if last => {
                let watched = watching.elapsed().as_secs().min(watch);
                r.end(RolloutOutcome::InterruptedBaking { of: n, watched, bake: watch }).await?;
                bail!(
                    "rollout of {address} interrupted while baking after its last step ({}%), {watched} of {watch} s watched: the weights are in force and recorded, but the change was not watched to the end",
                    step.share
                );
            }
            Watch::Interrupted => {
                r.rec.outcome = RolloutOutcome::Interrupted { after: i + 1, of: n };
                ctx.journal.rollout(address, &r.rec).await?;
                bail!(
                    "rollout of {address} interrupted after step {} of {n} ({}%); those weights are in force and recorded, and the next apply goes on from there",
                    i + 1,
                    step.share
                );
            }
        }
    }
    r.rec.outcome = RolloutOutcome::Complete;
    ctx.journal.rollout(address, &r.rec).await?;
    Ok(format!(" (rollout complete in {n} steps)"))
}

impl<'a, 'c> Run<'a, 'c> {
    /// A rollout about to start, or to resume one to the same weights that
    /// stopped part of the way (which keeps its origin: it goes on from there,
    /// and a revert goes back all the way), recorded in state; its schedule
    /// and the step it starts at.
    async fn begin(
        ctx: &'a Ctx<'c>,
        address: &'a Address,
        id: &'a str,
        before: &Attrs,
        after: &'a Attrs,
    ) -> anyhow::Result<(Run<'a, 'c>, Vec<rollout::Step>, usize)> {
        let settings = Settings::read(after.get("rollout").unwrap_or(&Value::Null));
        let in_force = rollout::weights(before.get("forward"));
        let to = rollout::weights(after.get("forward"));
        // A rollout to these same weights that stopped part of the way keeps its
        // origin: it goes on from there, and a revert goes back all the way.
        let earlier = ctx
            .journal
            .read(|s| s.resources.get(address).and_then(|r| r.rollout.clone()))
            .await
            .filter(|r| r.unfinished() && r.to == to && r.from != in_force);
        let origin = earlier.as_ref().map_or_else(|| in_force.clone(), |r| r.from.clone());
        let union =
            origin.keys().chain(to.keys()).chain(in_force.keys()).collect::<BTreeSet<_>>().len();
        if union > 5 {
            bail!(
                "a rollout between these forwards would need {union} target groups at once (at most 5); apply the change without `rollout` or in two applies"
            );
        }
        let schedule = rollout::schedule(&origin, &to, &settings.steps);
        let gaining = rollout::gaining(&origin, &to);
        let first = rollout::resume_at(&schedule, &in_force, &gaining);
        let resumed = earlier.is_some();
        let rec = match earlier {
            Some(mut r) => {
                r.outcome = RolloutOutcome::InProgress;
                r
            }
            None => RolloutRecord {
                started: now(),
                from: origin.clone(),
                to: to.clone(),
                steps: Vec::new(),
                outcome: RolloutOutcome::InProgress,
                acknowledged: None,
            },
        };
        let r = Run {
            ctx,
            address,
            id,
            after,
            settings,
            origin,
            to,
            gaining,
            names: names(ctx).await,
            rec,
            current: before.clone(),
            load_balancer: after
                .get("load_balancer_arn")
                .and_then(Value::as_str)
                .map(crate::types::load_balancer::arn_suffix)
                .or_else(|| crate::types::load_balancer::suffix_of_owner(id))
                .unwrap_or_else(|| id.to_string()),
        };
        ctx.journal.rollout(address, &r.rec).await?;
        let n = schedule.len();
        if resumed {
            tracing::info!(
                "{address}: resuming an interrupted rollout at step {} of {n}",
                first + 1
            );
        }
        Ok((r, schedule, first))
    }
}

impl Run<'_, '_> {
    fn name(&self, arn: &str) -> String {
        self.names
            .get(arn)
            .cloned()
            .unwrap_or_else(|| self.ctx.plan.label(&Value::String(arn.to_string())))
    }

    /// `target_group.ec2 75 (75%), target_group.eks 25 (25%)`.
    fn label(&self, w: &Weights) -> String {
        w.iter()
            .map(|(arn, v)| format!("{} {v} ({}%)", self.name(arn), rollout::share(w, arn)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Sets the weights of one step, an intent before the call and the
    /// weights read back after it.
    async fn set(&mut self, weights: &Weights, keep: &Weights) -> anyhow::Result<Weights> {
        let (ctx, address) = (self.ctx, self.address);
        let provider = ctx.provider(address)?;
        let mut asked = self.after.clone();
        asked.insert("forward".into(), rollout::forward(weights, keep));
        let mut intent = Attrs::new();
        intent.insert("forward".into(), asked["forward"].clone());
        ctx.journal.intend(address, Operation::Update, None, intent).await?;
        provider.update(&ctx.op(address, None), self.id, &self.current, &asked).await?;
        self.current = read_back(provider, self.id).await?;
        ctx.record(address, self.id, self.current.clone(), self.after, None).await?;
        Ok(rollout::weights(self.current.get("forward")))
    }

    async fn step(&mut self, i: usize, n: usize, step: &rollout::Step) -> anyhow::Result<()> {
        let to = self.to.clone();
        let in_force = self.set(&step.weights, &to).await?;
        let share = rollout::share_of(&in_force, &self.gaining);
        self.rec.steps.push(RolloutStep {
            at: now(),
            percent: share,
            weights: in_force.clone(),
            verdict: None,
        });
        self.ctx.journal.rollout(self.address, &self.rec).await?;
        self.ctx.observer.event(&Event::RolloutStep {
            address: self.address,
            step: i + 1,
            of: n,
            percent: share,
            split: &self.label(&in_force),
        });
        Ok(())
    }

    /// Watches for `how_long`, the gate looked at every `poll_seconds` and at
    /// the end; an interrupt ends the watch.
    async fn watch(&self, how_long: Duration) -> Watch {
        if how_long.is_zero() {
            return Watch::Clear;
        }
        let poll = Duration::from_secs(self.settings.poll_seconds);
        let end = tokio::time::Instant::now() + how_long;
        loop {
            let now = tokio::time::Instant::now();
            if now >= end {
                return Watch::Clear;
            }
            let mut interrupt = self.ctx.interrupt.clone();
            let stopped =
                async move { interrupt.wait_for(|s| *s != super::Signal::Go).await.is_ok() };
            tokio::select! {
                _ = tokio::time::sleep(poll.min(end - now)) => {}
                true = stopped => return Watch::Interrupted,
            }
            if let Err(why) = gate(self).await {
                return Watch::Tripped(why);
            }
        }
    }

    /// Judges the canary over the window since its step began, when the
    /// rollout asks for analysis: too few requests, and it waits (watching)
    /// up to `wait_seconds`, then fails unless told to pass. The verdict, with
    /// its numbers, is printed and recorded on the step.
    async fn analyze(&mut self, since: chrono::DateTime<chrono::Utc>) -> anyhow::Result<Watch> {
        let Some(a) = self.settings.analysis.clone() else {
            return Ok(Watch::Clear);
        };
        let wait = Duration::from_secs(a.wait_seconds);
        let started = tokio::time::Instant::now();
        loop {
            let verdict = match self.judge(&a, since).await {
                Ok(v) => v,
                Err(why) => return Ok(Watch::Tripped(why)),
            };
            let (text, ended) = match verdict {
                Verdict::Pass(text) => (text, Some(Watch::Clear)),
                Verdict::Fail(text) => (text.clone(), Some(Watch::Tripped(text))),
                Verdict::TooFew(text) if started.elapsed() >= wait => {
                    let ended = match a.pass_with_too_few_requests {
                        true => Watch::Clear,
                        false => Watch::Tripped(format!("canary analysis could not judge: {text}")),
                    };
                    (text, Some(ended))
                }
                Verdict::TooFew(text) => (text, None),
            };
            if let Some(ended) = ended {
                self.note(&text).await?;
                return Ok(ended);
            }
            let left = wait.saturating_sub(started.elapsed());
            let poll = Duration::from_secs(self.settings.poll_seconds);
            match self.watch(poll.min(left).max(Duration::from_millis(1))).await {
                Watch::Clear => {}
                other => return Ok(other),
            }
        }
    }

    /// The canary (the groups gaining weight) against the baseline (the other
    /// groups holding weight now), over `since` to now; and the load
    /// balancer's own 5xx over that window against a window as long (a
    /// minute at least) just before it.
    async fn judge(
        &self,
        a: &rollout::Analysis,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Verdict, String> {
        let monitor = self.ctx.registry.monitor();
        let now = chrono::Utc::now() + chrono::Duration::seconds(1);
        let in_force = rollout::weights(self.current.get("forward"));
        let mut canary = Traffic::default();
        let mut baseline: Option<Traffic> = None;
        for (arn, weight) in &in_force {
            let gaining = self.gaining.contains(arn);
            if !gaining && *weight <= 0 {
                continue;
            }
            let t = monitor
                .traffic(
                    &self.load_balancer,
                    &crate::types::load_balancer::arn_suffix(arn),
                    since,
                    now,
                    &a.latency_statistic,
                )
                .await
                .map_err(|e| format!("the canary's metrics cannot be read: {e:#}"))?;
            match gaining {
                true => canary = canary + t,
                false => baseline = Some(baseline.unwrap_or_default() + t),
            }
        }
        let window = (now - since).max(chrono::Duration::seconds(60));
        let balancer = async |from, to| {
            monitor
                .balancer(&self.load_balancer, from, to)
                .await
                .map_err(|e| format!("the load balancer's metrics cannot be read: {e:#}"))
        };
        let before = balancer(since - window, since).await?;
        let during = balancer(since, now).await?;
        Ok(a.judge(canary, baseline.filter(|b| b.requests > 0.0), Some((before, during))))
    }

    /// A verdict: printed, and recorded on the step it judged.
    async fn note(&mut self, verdict: &str) -> anyhow::Result<()> {
        if let Some(step) = self.rec.steps.last_mut() {
            step.verdict = Some(verdict.to_string());
        }
        self.ctx.journal.rollout(self.address, &self.rec).await?;
        self.ctx.observer.event(&Event::RolloutVerdict { address: self.address, verdict });
        Ok(())
    }

    /// Records how the rollout ended, and says it.
    async fn end(&mut self, outcome: RolloutOutcome) -> anyhow::Result<()> {
        self.rec.outcome = outcome;
        self.ctx.journal.rollout(self.address, &self.rec).await?;
        self.ctx
            .observer
            .event(&Event::RolloutEnded { address: self.address, outcome: &self.rec.outcome });
        Ok(())
    }

    /// Puts the origin's weights back, says why, and fails the step. Why
    /// (the alarm that tripped) is in state before the revert's call, so a
    /// revert that fails or is killed is never forgotten: its record blocks
    /// every step forward until the weights are back or it is acknowledged.
    async fn revert(&mut self, at: &str, why: &str) -> anyhow::Result<String> {
        let (ctx, address) = (self.ctx, self.address);
        let reason = format!("{at}: {why}");
        self.rec.outcome = RolloutOutcome::Reverting(reason.clone());
        ctx.journal.rollout(address, &self.rec).await?;
        let origin = self.origin.clone();
        let in_force = if rollout::weights(self.current.get("forward")) != origin {
            match self.set(&origin, &origin).await {
                Ok(w) => w,
                Err(e) => {
                    self.end(RolloutOutcome::RevertFailed(format!(
                        "{reason}; the revert failed: {e:#}"
                    )))
                    .await?;
                    let now = rollout::weights(self.current.get("forward"));
                    bail!(
                        "rollout of {address} could not be reverted {at}: {why}; the revert failed: {e:#}. The weights are still {}; put them back to {} by hand, and no apply moves them forward until the weights are back or `infra rollout ack {address} STACK_FILE` acknowledges this",
                        self.label(&now),
                        self.label(&origin)
                    );
                }
            }
        } else {
            origin.clone()
        };
        self.rec.steps.push(RolloutStep {
            at: now(),
            percent: rollout::share_of(&in_force, &self.gaining),
            weights: in_force.clone(),
            verdict: None,
        });
        self.end(RolloutOutcome::Reverted(reason)).await?;
        bail!(
            "rollout of {address} reverted {at}: {why}; the weights are back to {}",
            self.label(&in_force)
        )
    }
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

/// Why the rollout must not go on, if it must not: an alarm in ALARM, an
/// alarm with INSUFFICIENT_DATA (unless allowed), or a target group gaining
/// weight with no healthy target (unless not required). A monitor call that
/// fails trips it too: a gate that cannot see lets nothing through.
async fn gate(r: &Run<'_, '_>) -> Result<(), String> {
    let monitor = r.ctx.registry.monitor();
    let s = &r.settings;
    if !s.alarms.is_empty() {
        let states = monitor
            .alarms(&s.alarms)
            .await
            .map_err(|e| format!("the alarms cannot be read: {e:#}"))?;
        for name in &s.alarms {
            match states.iter().find(|(n, _)| n == name).map(|(_, st)| *st) {
                Some(AlarmState::Alarm) => return Err(format!("alarm {name} is in ALARM")),
                Some(AlarmState::InsufficientData) if !s.allow_insufficient_data => {
                    return Err(format!(
                        "alarm {name} has INSUFFICIENT_DATA: it cannot judge the change yet (`allow_insufficient_data: true` lets it through)"
                    ));
                }
                None => return Err(format!("alarm {name} does not exist")),
                _ => {}
            }
        }
    }
    if s.require_healthy_targets {
        for arn in &r.gaining {
            let health = monitor
                .target_health(arn)
                .await
                .map_err(|e| format!("the health of {} cannot be read: {e:#}", r.name(arn)))?;
            if !health.iter().any(|t| t.state == TargetState::Healthy) {
                return Err(format!(
                    "target group {} has no healthy target ({})",
                    r.name(arn),
                    health_summary(&health)
                ));
            }
        }
    }
    Ok(())
}

/// `no target registered`, or `1 unhealthy, 2 initial`.
fn health_summary(health: &[TargetHealth]) -> String {
    if health.is_empty() {
        return "no target registered".into();
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for t in health {
        let name = format!("{:?}", t.state).to_lowercase();
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.iter().map(|(n, c)| format!("{c} {n}")).collect::<Vec<_>>().join(", ")
}
