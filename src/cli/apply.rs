//! `infra apply` and `infra destroy`: a plan made and carried out, or a saved
//! plan checked and carried out (`ops::saved`).

use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use crate::ops::{self, Context, Failure};
use crate::plan::Mode;
use crate::render::Format;

pub async fn apply(
    ctx: &Context,
    file: &Path,
    stack_file: Option<&Path>,
    args: &RunArgs,
    options: &ops::PlanOptions,
) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    if crate::plan::saved::SavedPlan::parse(&text).is_some() {
        let saved = super::plan::read_saved(file)?;
        let state = args.state.state.as_deref();
        let parallelism = args.parallelism.into();
        ops::apply_saved(ctx, file, saved, stack_file, state, parallelism).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(second) = stack_file {
        return Err(Failure::new(
            format!(
                "{}: a second file is for a saved plan's stack file, and {} is a stack file",
                second.display(),
                file.display()
            ),
            Some("infra apply STACK_FILE, or infra apply PLAN_FILE STACK_FILE"),
        ));
    }
    let options = ops::PlanOptions { noop_sides: false, ..options.clone() };
    let state = plan_and_carry_out(ctx, file, args, Mode::Apply, options).await?;
    if !state.outputs.is_empty() {
        ctx.console.out(&format!("\nOutputs:\n{}", crate::render::outputs(&state.outputs, "  ")));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn destroy(
    ctx: &Context,
    file: &Path,
    args: &RunArgs,
    refresh: bool,
    targets: Vec<String>,
) -> Result<ExitCode, Failure> {
    let options = ops::PlanOptions { refresh, targets, ..Default::default() };
    plan_and_carry_out(ctx, file, args, Mode::Destroy, options).await?;
    Ok(ExitCode::SUCCESS)
}

/// The plan of an apply or a destroy, printed, then confirmed and carried
/// out; the state as it ends.
async fn plan_and_carry_out(
    ctx: &Context,
    file: &Path,
    args: &RunArgs,
    mode: Mode,
    options: ops::PlanOptions,
) -> Result<crate::types::state::State, Failure> {
    let command = match mode {
        Mode::Apply => ops::Command::Apply,
        Mode::Destroy => ops::Command::Destroy,
    };
    let state = args.state.state.as_deref();
    let planned = ops::plan(ctx, file, state, command, mode, Format::Text, &options).await?;
    let (session, engine, plan) = (planned.session, planned.engine, planned.plan);
    let parallelism = args.parallelism.into();
    ops::carry_out(ctx, session, engine, plan, mode, args.auto_approve, parallelism).await
}
