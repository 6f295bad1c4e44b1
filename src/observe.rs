//! What the engine and the providers report while they work: steps starting and
//! ending, waits, rollout steps, retries. They report through `Observer`; the
//! terminal view (`cli/view.rs`) prints, the benchmark's timings record, tests
//! collect. Nothing under `src/apply` or `src/aws` prints.

use std::time::Duration;

use crate::plan::steps::Step;
use crate::types::Address;
use crate::types::state::RolloutOutcome;

/// Why a run starts no more steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C: the steps under way finish, no more start.
    Interrupted,
    /// Another writer changed the state under this run.
    Stale,
    /// A second Ctrl-C or SIGTERM: the steps under way are dropped (their
    /// waits resume next run).
    Abandoned,
}

#[derive(Debug)]
pub enum Event<'a> {
    /// The step graph of an apply, before anything runs.
    Scheduled {
        steps: &'a [Step],
        deps: &'a [Vec<usize>],
    },
    StepStarted {
        index: usize,
        step: &'a Step,
    },
    StepDone {
        index: usize,
        step: &'a Step,
        /// What it did: `created`, `adopted` (a create found what this stack
        /// had made and not recorded), `updated`, ...
        verb: &'a str,
        /// Said after the verb: ` (id vpc-1)`.
        detail: &'a str,
        took: Duration,
    },
    StepFailed {
        index: usize,
        step: &'a Step,
        error: &'a anyhow::Error,
    },
    Stopping(Stop),
    /// The last step has ended.
    Finished {
        wall: Duration,
        state_writes: u64,
    },
    /// A long AWS operation is still going (`status` as AWS reports it).
    Waiting {
        address: &'a Address,
        doing: &'a str,
        status: &'a str,
        elapsed: Duration,
    },
    WaitOver {
        address: &'a Address,
    },
    /// A rollout step is in force: `split` names each target group's weight and share.
    RolloutStep {
        address: &'a Address,
        step: usize,
        of: usize,
        percent: i64,
        split: &'a str,
    },
    RolloutEnded {
        address: &'a Address,
        outcome: &'a RolloutOutcome,
    },
    /// A canary analysis judged the pause that just ended, with its numbers.
    RolloutVerdict {
        address: &'a Address,
        verdict: &'a str,
    },
    /// Recovery is looking for what an interrupted create made.
    Looking {
        address: &'a Address,
    },
    /// An AWS call is sent again after throttling or a transient error.
    Retry {
        service: &'a str,
        operation: &'a str,
        attempt: u32,
    },
}

pub trait Observer: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

/// Reports nowhere.
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _event: &Event<'_>) {}
}

/// Reports to each of several observers.
pub struct Tee(pub Vec<std::sync::Arc<dyn Observer>>);

impl Observer for Tee {
    fn event(&self, event: &Event<'_>) {
        for o in &self.0 {
            o.event(event);
        }
    }
}

/// Counts the AWS calls sent again.
#[derive(Default)]
pub struct Retries(std::sync::atomic::AtomicU64);

impl Retries {
    pub fn count(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Observer for Retries {
    fn event(&self, event: &Event<'_>) {
        if let Event::Retry { .. } = event {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
