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
    let options = &ops::PlanOptions {
        noop_sides: false,
        ..options.clone()
    };
    let ops::Planned {
        session,
        engine,
        plan,
        ..
    } = ops::plan(
        ctx,
        file,
        args.state.state.as_deref(),
        ops::Command::Apply,
        Mode::Apply,
        Format::Text,
        options,
    )
    .await?;
    let state = ops::carry_out(
        ctx,
        session,
        engine,
        plan,
        Mode::Apply,
        args.auto_approve,
        args.parallelism.into(),
    )
    .await?;
    if !state.outputs.is_empty() {
        ctx.console.out(&format!(
            "\nOutputs:\n{}",
            crate::render::outputs(&state.outputs, "  ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn destroy(
    ctx: &Context,
    file: &Path,
    args: &RunArgs,
    refresh: bool,
) -> Result<ExitCode, Failure> {
    let ops::Planned {
        session,
        engine,
        plan,
        ..
    } = ops::plan(
        ctx,
        file,
        args.state.state.as_deref(),
        ops::Command::Destroy,
        Mode::Destroy,
        Format::Text,
        &ops::PlanOptions {
            refresh,
            ..Default::default()
        },
    )
    .await?;
    ops::carry_out(
        ctx,
        session,
        engine,
        plan,
        Mode::Destroy,
        args.auto_approve,
        args.parallelism.into(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
