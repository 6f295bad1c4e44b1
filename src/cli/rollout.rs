//! `infra rollout status`: the recorded rollouts, from state alone.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};

pub async fn status(ctx: &Context, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let (_, state, location) = ops::peek(ctx, file, state).await?;
    let Some(state) = state else {
        sayln!("No state at {location}: nothing was applied yet.");
        return Ok(ExitCode::SUCCESS);
    };
    say!("{}", crate::render::rollouts(&state));
    Ok(ExitCode::SUCCESS)
}
