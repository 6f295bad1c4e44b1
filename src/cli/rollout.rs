//! `infra rollout status`: the recorded rollouts, from state alone; `infra
//! rollout ack`: an operator's word that a failed revert or a cut-short bake
//! has been seen to.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};

pub async fn status(ctx: &Context, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let (_, state, location) = ops::peek(ctx, file, state).await?;
    let Some(state) = state else {
        ctx.console.outln(&format!("No state at {location}: nothing was applied yet."));
        return Ok(ExitCode::SUCCESS);
    };
    ctx.console.out(&crate::render::rollouts(&state));
    Ok(ExitCode::SUCCESS)
}

/// Acknowledges what the last rollout of a listener or rule left unfinished
/// (a revert that failed or was cut short, a bake cut short): it no longer
/// blocks a step forward, and plans stop saying it. Under the lock; no AWS
/// call.
pub async fn ack(
    ctx: &Context,
    address: &str,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let a = crate::types::Address::parse(address).ok_or_else(|| {
        Failure::new(
            format!("`{address}` is not an address"),
            Some("addresses are TYPE.NAME, for example listener.http"),
        )
    })?;
    let mut session = ops::open(ctx, file, state, ops::Command::RolloutAck).await?;
    let Some(mut rec) = session.journal.state().resources.get(&a).and_then(|r| r.rollout.clone())
    else {
        return Err(Failure::new(
            format!("{a} has no recorded rollout"),
            Some("`infra rollout status STACK_FILE` lists the recorded rollouts"),
        ));
    };
    use crate::types::state::RolloutOutcome as O;
    if !matches!(rec.outcome, O::Reverting(_) | O::RevertFailed(_) | O::InterruptedBaking { .. }) {
        return Err(Failure::new(
            format!("the last rollout of {a} is {}: nothing to acknowledge", rec.outcome),
            None,
        ));
    }
    if let Some(when) = &rec.acknowledged {
        ctx.console.outln(&format!(
            "The last rollout of {a} ({}) was acknowledged at {when} already.",
            rec.outcome
        ));
        return Ok(ExitCode::SUCCESS);
    }
    rec.acknowledged = Some(crate::types::state::now());
    session.journal.rollout(&a, &rec).await?;
    ctx.console.outln(&format!(
        "Acknowledged the last rollout of {a} ({}): it no longer blocks a step forward.",
        rec.outcome
    ));
    Ok(ExitCode::SUCCESS)
}
