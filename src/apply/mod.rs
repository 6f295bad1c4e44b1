//! Carrying a plan out: refresh, recovery, the step graph, and the executor.
//!
//! `steps` turns a plan into a step graph (pure); `scheduler` runs any task
//! graph in parallel (generic); `run` has one function per operation; `journal`
//! owns every state write; `rollout` moves weights step by step; `recover`
//! resolves what a killed run left; `ctx` is what each step is given; `edit` reaches AWS for the state edited
//! by hand (`import`, `state mv`). The cloud is reached only through a
//! `provider::Registry`, and progress only through an `observe::Observer`.

mod ctx;
mod edit;
pub mod journal;
mod recover;
mod rollout;
mod run;
pub mod scheduler;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use futures::future::join_all;
use tokio::sync::watch;

use crate::observe::{Event, Observer, Stop};
use crate::plan::{Observed, Plan};
use crate::provider::Registry;
use crate::stack::graph::Graph;
use crate::stack::{Resource, Stack};
use crate::types::state::{ResourceState, State};
use crate::types::{Address, Attrs};
use journal::StoreError;

pub use crate::plan::steps::{Step, Work, build_steps};
pub use journal::Journal;
pub use scheduler::Signal;

/// What carries plans out: the providers, where progress goes, and the
/// signal that stops starting steps (a first Ctrl-C or SIGTERM) or abandons the
/// ones under way (a second).
pub struct Engine {
    pub registry: Registry,
    pub observer: Arc<dyn Observer>,
    pub interrupt: watch::Receiver<Signal>,
}

/// What became of each step.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<String>,
    pub interrupted: bool,
    /// A second signal abandoned the steps under way (their waits resume next
    /// run): these.
    pub abandoned: Vec<String>,
    /// Another writer changed the state under this run: why it stopped.
    pub stale: Option<String>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }

    /// How many resources were done, failed and skipped: the plan's unit,
    /// not the steps' (a security group's rules are a step of their own). A
    /// resource with a step failed is failed, else with one skipped skipped,
    /// else done.
    pub fn resources(&self) -> (usize, usize, usize) {
        use std::collections::BTreeSet;
        // A step's label is its address, then what it does in parentheses.
        let address = |label: &str| label.split(" (").next().unwrap_or(label).to_string();
        let failed: BTreeSet<String> = self.failed.iter().map(|(l, _)| address(l)).collect();
        let skipped: BTreeSet<String> =
            self.skipped.iter().map(|l| address(l)).filter(|a| !failed.contains(a)).collect();
        let done: BTreeSet<String> = self
            .done
            .iter()
            .map(|l| address(l))
            .filter(|a| !failed.contains(a) && !skipped.contains(a))
            .collect();
        (done.len(), failed.len(), skipped.len())
    }
}

/// The state's resources (those of `only`, when given) by type.
fn by_type<'a>(
    state: &'a State,
    only: Option<&BTreeSet<Address>>,
) -> BTreeMap<&'a str, Vec<(&'a Address, &'a ResourceState)>> {
    let mut out: BTreeMap<&str, Vec<(&Address, &ResourceState)>> = BTreeMap::new();
    let wanted = state.resources.iter().filter(|(a, _)| only.is_none_or(|o| o.contains(*a)));
    for (a, r) in wanted {
        out.entry(r.ty.as_str()).or_default().push((a, r));
    }
    out
}

impl Engine {
    /// An engine that is never interrupted.
    pub fn new(registry: Registry, observer: Arc<dyn Observer>) -> Engine {
        let (_, interrupt) = watch::channel(Signal::Go);
        Engine { registry, observer, interrupt }
    }

    /// Reads every resource in state (or those of `only`), one batched read per
    /// type, types in parallel.
    pub async fn refresh(
        &self,
        state: &State,
        only: Option<&BTreeSet<Address>>,
        stack: Option<&Stack>,
    ) -> anyhow::Result<Observed> {
        let reads = by_type(state, only).into_iter().map(|(ty, items)| async move {
            let ids: Vec<String> = items.iter().map(|(_, r)| r.id.clone()).collect();
            // What is wanted of each: what its stack resource sets, or
            // else what state recorded.
            let wanted: HashMap<String, BTreeSet<String>> = items
                .iter()
                .map(|(a, r)| {
                    let keys = match stack.and_then(|s| s.resources.get(*a)) {
                        Some(res) => res.attrs.keys().cloned().collect(),
                        None => r.attributes.keys().cloned().collect(),
                    };
                    (r.id.clone(), keys)
                })
                .collect();
            let found: HashMap<String, Attrs> =
                self.registry.provider(ty)?.read_wanted(&ids, &wanted).await?;
            Ok::<_, anyhow::Error>(
                items
                    .into_iter()
                    .map(|(a, r)| (a.clone(), found.get(&r.id).cloned()))
                    .collect::<Vec<_>>(),
            )
        });
        let mut observed = Observed::new();
        for r in join_all(reads).await {
            observed.extend(r?);
        }
        Ok(observed)
    }

    /// What a destroy needs of AWS: which of the state's resources still
    /// exist (`Provider::exist`, one batched call per type where the API
    /// allows, types in parallel), each standing as state recorded it.
    pub async fn existing(&self, state: &State) -> anyhow::Result<Observed> {
        let looks = by_type(state, None).into_iter().map(|(ty, items)| async move {
            let ids: Vec<String> = items.iter().map(|(_, r)| r.id.clone()).collect();
            let there = self.registry.provider(ty)?.exist(&ids).await?;
            Ok::<_, anyhow::Error>(
                items
                    .into_iter()
                    .map(|(a, r)| {
                        let seen = there.contains(&r.id).then(|| r.attributes.clone());
                        (a.clone(), seen)
                    })
                    .collect::<Vec<_>>(),
            )
        });
        let mut observed = Observed::new();
        for r in join_all(looks).await {
            observed.extend(r?);
        }
        Ok(observed)
    }

    /// Resolves every intent a killed run left in `state` (in memory; the caller
    /// saves). Returns what it did, one line each, for the plan.
    pub async fn recover(
        &self,
        stack: &Stack,
        journal: &mut Journal,
    ) -> anyhow::Result<Vec<String>> {
        recover::recover(self, stack, journal).await
    }

    /// Runs the plan along its step graph, at most `parallelism` steps at once.
    /// A step starts when everything it waits for is done; when one fails, what
    /// waits on it is skipped and the rest goes on. The interrupt, or a state
    /// that changed under the run, stops the starting of steps. `stack` is
    /// `None` for a destroy.
    pub async fn execute(
        &self,
        plan: &Plan,
        stack: Option<(&Stack, &Graph)>,
        journal: &Journal,
        parallelism: usize,
    ) -> Outcome {
        let graph = stack.map(|(_, g)| g);
        let (steps, deps) = journal.read(|state| build_steps(plan, graph, state)).await;
        self.observer.event(&Event::Scheduled { steps: &steps, deps: &deps });
        let ctx = ctx::Ctx {
            registry: &self.registry,
            observer: &self.observer,
            journal,
            stack: stack.map(|(s, _)| s),
            plan,
            interrupt: self.interrupt.clone(),
        };
        let began = Instant::now();
        let mut hooks = Hooks {
            steps: &steps,
            observer: self.observer.as_ref(),
            started: vec![None; steps.len()],
            outcome: Outcome::default(),
        };
        let ctx = &ctx;
        let steps_ref = &steps;
        let run = scheduler::run(
            &deps,
            parallelism,
            self.interrupt.clone(),
            |i| Box::pin(run::run(ctx, &steps_ref[i])),
            &mut hooks,
        )
        .await;
        let mut outcome = hooks.outcome;
        for (i, status) in run.status.iter().enumerate() {
            match status {
                scheduler::Status::Skipped => outcome.skipped.push(steps[i].label()),
                scheduler::Status::NotRun if run.interrupted || run.stopped => {
                    outcome.skipped.push(steps[i].label())
                }
                scheduler::Status::Abandoned => outcome.abandoned.push(steps[i].label()),
                _ => {}
            }
        }
        outcome.interrupted = run.interrupted || run.stopped;
        self.observer.event(&Event::Finished {
            wall: began.elapsed(),
            state_writes: journal.writes().await,
        });
        outcome
    }
}

/// The scheduler's callbacks: progress to the observer, results to the outcome.
struct Hooks<'a> {
    steps: &'a [Step],
    observer: &'a dyn Observer,
    started: Vec<Option<Instant>>,
    outcome: Outcome,
}

impl scheduler::Hooks<anyhow::Result<run::Done>> for Hooks<'_> {
    fn started(&mut self, index: usize) {
        self.started[index] = Some(Instant::now());
        self.observer.event(&Event::StepStarted { index, step: &self.steps[index] });
    }

    fn finished(
        &mut self,
        index: usize,
        result: Option<&anyhow::Result<run::Done>>,
    ) -> scheduler::Verdict {
        let step = &self.steps[index];
        let took = self.started[index].map(|t| t.elapsed()).unwrap_or_default();
        match result {
            Some(Ok(done)) => {
                self.observer.event(&Event::StepDone {
                    index,
                    step,
                    verb: done.verb,
                    detail: &done.detail,
                    took,
                });
                self.outcome.done.push(step.label());
                scheduler::Verdict::Done
            }
            Some(Err(error)) => {
                self.observer.event(&Event::StepFailed { index, step, error });
                self.outcome.failed.push((step.label(), format!("{error:#}")));
                let stale = error.chain().any(|c| {
                    matches!(c.downcast_ref::<StoreError>(), Some(StoreError::Stale { .. }))
                });
                if stale && self.outcome.stale.is_none() {
                    self.observer.event(&Event::Stopping(Stop::Stale));
                    self.outcome.stale = Some(format!("{error:#}"));
                    scheduler::Verdict::FailedStop
                } else {
                    scheduler::Verdict::Failed
                }
            }
            None => {
                let error = anyhow::anyhow!("the step panicked (a defect in infra)");
                self.observer.event(&Event::StepFailed { index, step, error: &error });
                self.outcome.failed.push((step.label(), format!("{error:#}")));
                scheduler::Verdict::Failed
            }
        }
    }

    fn interrupted(&mut self) {
        self.observer.event(&Event::Stopping(Stop::Interrupted));
    }

    fn abandoned(&mut self) {
        self.observer.event(&Event::Stopping(Stop::Abandoned));
    }
}

/// A resource as state records it: its id, attributes, and what the stack says
/// it depends on (destroy deletes in reverse without the stack file).
pub fn resource_state(
    address: &Address,
    id: &str,
    attributes: Attrs,
    resource: Option<&Resource>,
) -> ResourceState {
    ResourceState {
        ty: address.ty.clone(),
        id: id.to_string(),
        attributes,
        dependencies: resource
            .map(|r| {
                let mut d = r.main_references();
                d.extend(r.depends_on.iter().cloned());
                d.into_iter().collect()
            })
            .unwrap_or_default(),
        rule_dependencies: resource
            .map(|r| r.deferred_references().into_iter().collect())
            .unwrap_or_default(),
        sensitive: resource.map(|r| r.sensitive.iter().cloned().collect()).unwrap_or_default(),
        managed: resource.map(crate::plan::managed),
        deposed: Vec::new(),
        rollout: None,
        pending: None,
    }
}
