//! Runs a graph of tasks: a task starts once every task it waits for is done,
//! at most `parallelism` at once; when one fails, what waits on it (transitively)
//! is skipped and the rest goes on. A stop signal (a first Ctrl-C or SIGTERM) or
//! a failure that asks for it ends the starting of tasks and the ones under way
//! finish; an abandon signal (a second one) drops the ones under way too.
//! Generic: it knows nothing of AWS, state or steps.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::{FutureExt, future::BoxFuture};
use tokio::sync::watch;

/// What the run is told from outside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    #[default]
    Go,
    /// Start no more tasks; let the running ones finish.
    Stop,
    /// Drop the running ones too.
    Abandon,
}

/// What the caller makes of a finished task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Done,
    Failed,
    /// Failed, and no more tasks may start (the state changed under the run).
    FailedStop,
}

/// What became of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Done,
    Failed,
    /// Something it waits for failed.
    Skipped,
    /// Not started: the run stopped first.
    NotRun,
    /// Under way when the run was abandoned: dropped where it was.
    Abandoned,
}

/// The end of a run.
#[derive(Debug)]
pub struct Run<T> {
    pub status: Vec<Status>,
    /// Each task's result, for those that ran; `None` for a task that panicked.
    pub results: Vec<Option<T>>,
    /// Stopped by the stop signal (or abandoned).
    pub interrupted: bool,
    /// Abandoned: tasks under way were dropped.
    pub abandoned: bool,
    /// Stopped by a `FailedStop` verdict.
    pub stopped: bool,
}

/// The callbacks of a run.
pub trait Hooks<T> {
    fn started(&mut self, task: usize);
    fn finished(&mut self, task: usize, result: Option<&T>) -> Verdict;
    /// The stop signal came: no more tasks start.
    fn interrupted(&mut self) {}
    /// The abandon signal came: the tasks under way are dropped.
    fn abandoned(&mut self) {}
}

/// Runs tasks `0..deps.len()`; `deps[i]` lists what task `i` waits for.
pub async fn run<'a, T, F, Fut>(
    deps: &[Vec<usize>],
    parallelism: usize,
    mut stop: watch::Receiver<Signal>,
    mut task: F,
    hooks: &mut dyn Hooks<T>,
) -> Run<T>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'a,
    T: Send + 'a,
{
    let n = deps.len();
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
        }
    }
    let mut status = vec![Status::NotRun; n];
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).rev().collect();
    let mut running: FuturesUnordered<BoxFuture<'a, (usize, Option<T>)>> = FuturesUnordered::new();
    let mut under_way = vec![false; n];
    let (mut interrupted, mut stopped) = (*stop.borrow() != Signal::Go, false);
    let mut abandoned = false;
    // A stop signal whose sender is gone can no longer come.
    let mut watching = true;
    loop {
        while !interrupted && !stopped && running.len() < parallelism.max(1) {
            let Some(i) = ready.pop() else { break };
            hooks.started(i);
            under_way[i] = true;
            let fut = AssertUnwindSafe(task(i)).catch_unwind();
            running.push(Box::pin(async move { (i, fut.await.ok()) }));
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((i, result)) = running.next() => {
                under_way[i] = false;
                let verdict = hooks.finished(i, result.as_ref());
                results[i] = result;
                match verdict {
                    Verdict::Done => {
                        status[i] = Status::Done;
                        for &j in &dependents[i] {
                            waiting[j] -= 1;
                            if waiting[j] == 0 && status[j] == Status::NotRun {
                                ready.push(j);
                            }
                        }
                    }
                    Verdict::Failed | Verdict::FailedStop => {
                        status[i] = Status::Failed;
                        stopped |= verdict == Verdict::FailedStop;
                        let mut skip = dependents[i].clone();
                        while let Some(j) = skip.pop() {
                            if status[j] == Status::NotRun {
                                status[j] = Status::Skipped;
                                skip.extend(dependents[j].iter().copied());
                            }
                        }
                    }
                }
            }
            changed = stop.changed(), if watching => {
                let signal = *stop.borrow();
                match changed {
                    Err(_) => watching = false,
                    Ok(()) if signal == Signal::Abandon => {
                        if !interrupted {
                            hooks.interrupted();
                        }
                        interrupted = true;
                        abandoned = true;
                        hooks.abandoned();
                        for (i, u) in under_way.iter().enumerate() {
                            if *u {
                                status[i] = Status::Abandoned;
                            }
                        }
                        break;
                    }
                    Ok(()) if signal == Signal::Stop && !interrupted => {
                        interrupted = true;
                        hooks.interrupted();
                    }
                    Ok(()) => {}
                }
            }
        }
    }
    Run { status, results, interrupted, abandoned, stopped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Log(Vec<usize>);

    impl Hooks<bool> for Log {
        fn started(&mut self, task: usize) {
            self.0.push(task);
        }
        fn finished(&mut self, _task: usize, result: Option<&bool>) -> Verdict {
            if result == Some(&true) { Verdict::Done } else { Verdict::Failed }
        }
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_only() {
        // 0 -> 1 -> 2, and 3 on its own; task 0 fails.
        let deps = vec![vec![], vec![0], vec![1], vec![]];
        let (_tx, rx) = watch::channel(Signal::Go);
        let mut log = Log(Vec::new());
        let run = run(&deps, 4, rx, |i| async move { i != 0 }, &mut log).await;
        assert_eq!(
            run.status,
            vec![Status::Failed, Status::Skipped, Status::Skipped, Status::Done]
        );
        assert_eq!(log.0.len(), 2);
    }

    #[tokio::test]
    async fn parallelism_bounds_what_runs_at_once() {
        let deps = vec![vec![]; 12];
        let (_tx, rx) = watch::channel(Signal::Go);
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut log = Log(Vec::new());
        let run = run(
            &deps,
            3,
            rx,
            |_| {
                let (now, most) = (now.clone(), most.clone());
                async move {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    true
                }
            },
            &mut log,
        )
        .await;
        assert!(run.status.iter().all(|s| *s == Status::Done));
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }
}
