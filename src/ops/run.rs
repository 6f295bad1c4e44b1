//! A plan carried out: confirmed, run along its step graph with the signals
//! and the lock watched, reported, and what the apply leaves (outputs,
//! lookups, sensitive marks) saved.

use std::collections::BTreeSet;

use super::session::Session;
use super::{Context, Failure};
use crate::apply::{Engine, Outcome, Signal};
use crate::plan::{Mode, Plan};
use crate::types::Address;
use crate::types::state::State;

/// Asks for `yes` on a terminal; refuses without one unless `--auto-approve`.
pub fn confirm(ctx: &Context, what: &str, auto_approve: bool) -> Result<(), Failure> {
    if auto_approve {
        return Ok(());
    }
    let question = format!("\nDo you want to {what}? Only 'yes' will be accepted: ");
    let Some(answer) = ctx.console.ask(&question) else {
        return Err(Failure::new(
            format!("refusing to {what} without confirmation: standard input is not a terminal"),
            Some("review the plan, then run again with --auto-approve"),
        ));
    };
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::new(format!("{what} cancelled"), None))
    }
}

/// Turns the first Ctrl-C or SIGTERM into `Signal::Stop` (start no more steps)
/// and the second into `Signal::Abandon` (drop the ones under way).
async fn signals(stop: std::sync::Arc<tokio::sync::watch::Sender<Signal>>) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    for level in [Signal::Stop, Signal::Abandon] {
        #[cfg(unix)]
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
        let _ = stop.send(level);
    }
}

/// The end summary; `Err` when anything failed, was skipped or interrupted.
/// `retries`: how many AWS calls were sent again.
pub fn report(ctx: &Context, verb: &str, outcome: &Outcome) -> Result<(), Failure> {
    use std::fmt::Write as _;
    let status = if outcome.ok() { "complete" } else { "failed" };
    let (done, failed, skipped) = outcome.resources();
    let mut text = format!("\n{verb} {status}: {done} done, {failed} failed, {skipped} skipped.\n");
    for (what, why) in &outcome.failed {
        let _ = writeln!(text, "  failed: {what}: {why}");
    }
    for what in &outcome.skipped {
        let _ = writeln!(text, "  skipped: {what}");
    }
    for what in &outcome.abandoned {
        let _ = writeln!(text, "  abandoned: {what}");
    }
    let retries = ctx.retries.count();
    if retries > 0 {
        let _ =
            writeln!(text, "AWS calls retried after throttling or transient errors: {retries}.");
    }
    ctx.console.out(&text);
    if outcome.ok() {
        Ok(())
    } else if !outcome.abandoned.is_empty() {
        Err(Failure::Abandoned {
            message: format!(
                "{verb} abandoned by a second interrupt: {} step{} under way dropped",
                outcome.abandoned.len(),
                if outcome.abandoned.len() == 1 { "" } else { "s" }
            ),
            hint: Some(
                "what AWS accepted is marked in state (pending or an intent); run it again to wait for it and finish".into(),
            ),
        })
    } else if let Some(why) = &outcome.stale {
        Err(Failure::new(
            format!("{verb} stopped: {why}"),
            Some(
                "another run wrote this state since this one read it (its lock was forced or taken over); nothing was overwritten. Plan again to see where things stand",
            ),
        ))
    } else if outcome.interrupted {
        Err(Failure::new(
            format!("{verb} interrupted"),
            Some("state holds everything that was done; run it again to finish"),
        ))
    } else {
        Err(Failure::new(
            format!("{verb} failed"),
            Some("fix the errors above and run it again; what was done is in state"),
        ))
    }
}

/// Confirms and executes a plan, then reports; with nothing to do, saves what the
/// refresh learnt (resources gone for good). Ctrl-C while it runs stops the
/// starting of steps. Returns the state as it ends.
pub async fn carry_out(
    ctx: &Context,
    session: Session,
    mut engine: Engine,
    plan: Plan,
    mode: Mode,
    auto_approve: bool,
    parallelism: usize,
) -> Result<State, Failure> {
    let journal = session.journal;
    if plan.has_changes() {
        let (question, verb) = match mode {
            Mode::Apply => ("apply these changes", "Apply"),
            Mode::Destroy => ("destroy everything in this stack", "Destroy"),
        };
        confirm(ctx, question, auto_approve)?;
        if !plan.moves.is_empty() {
            // The moves, made on the state in memory when planning, saved
            // under the lock before any step.
            journal.save().await?;
        }
        let (stop, interrupt) = tokio::sync::watch::channel(Signal::Go);
        let stop = std::sync::Arc::new(stop);
        let signals = tokio::spawn(signals(stop.clone()));
        // A lock lost while the run goes on (taken over, or its lease ended
        // unrenewed) stops the starting of steps, as a first Ctrl-C does.
        let mut lost = session.lock.lost();
        let watcher = tokio::spawn(async move {
            if lost.wait_for(Option::is_some).await.is_ok() {
                stop.send_if_modified(|s| {
                    let go = *s == Signal::Go;
                    if go {
                        *s = Signal::Stop;
                    }
                    go
                });
            }
        });
        engine.interrupt = interrupt;
        let stack = match mode {
            Mode::Apply => Some((&session.stack, &session.graph)),
            Mode::Destroy => None,
        };
        let outcome = engine.execute(&plan, stack, &journal, parallelism).await;
        signals.abort();
        watcher.abort();
        let lost = session.lock.lost().borrow().clone();
        let reported = report(ctx, verb, &outcome);
        if let Some(why) = lost {
            return Err(Failure::new(
                format!("{verb} stopped: the lock was lost: {why}"),
                Some(
                    "no step was started after; state holds what was done. Plan again to see where things stand",
                ),
            ));
        }
        reported?;
    } else if journal.exists().await || !journal.read(|s| s.resources.is_empty()).await {
        journal.save().await?;
    }
    // The outputs as this apply leaves them (none after a destroy), and what
    // its lookups found, written only when they changed.
    let outputs = match mode {
        Mode::Apply => journal.read(|s| crate::plan::outputs(&session.stack, s)).await,
        Mode::Destroy => Default::default(),
    };
    // What the lookups found, so that the next plan shows only what changed.
    let lookups = match mode {
        Mode::Apply => session.stack.inputs.lookups.clone().unwrap_or_default(),
        Mode::Destroy => Default::default(),
    };
    // Where each resource holds a sensitive value, and what the stack sets
    // of it, as the stack says now: a resource the plan considered and had
    // nothing to change keeps both current too (a targeted plan leaves the
    // others as they were: what they no longer set is still to be removed).
    let considered: BTreeSet<&Address> = plan.changes.iter().map(|c| &c.address).collect();
    let marks: Vec<(Address, Vec<String>, Vec<String>)> = match mode {
        Mode::Apply => session
            .stack
            .resources
            .iter()
            .filter(|(a, _)| considered.contains(a))
            .map(|(a, r)| {
                (a.clone(), r.sensitive.iter().cloned().collect(), crate::plan::managed(r))
            })
            .collect(),
        Mode::Destroy => Vec::new(),
    };
    let stale_marks = |s: &State| {
        marks.iter().any(|(a, m, set)| {
            s.resources.get(a).is_some_and(|r| r.sensitive != *m || r.managed.as_ref() != Some(set))
        })
    };
    if journal.read(|s| s.outputs != outputs || s.lookups != lookups || stale_marks(s)).await {
        journal
            .write(|s| {
                s.outputs = outputs;
                s.lookups = lookups;
                for (a, m, set) in marks {
                    if let Some(r) = s.resources.get_mut(&a) {
                        r.sensitive = m;
                        r.managed = Some(set);
                    }
                }
            })
            .await?;
    }
    drop(session.lock);
    Ok(journal.into_state())
}
