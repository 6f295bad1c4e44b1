use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use crate::ops::{self, Context, Failure};
use crate::plan::Mode;
use crate::render::Format;
use crate::render::text::show;
use crate::types::reference::{self, Reference};

pub async fn apply(
    ctx: &Context,
    file: &Path,
    args: &RunArgs,
    options: &ops::PlanOptions,
) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    if crate::plan::saved::SavedPlan::parse(&text).is_some() {
        return apply_saved(ctx, file, args).await;
    }
    let options = &ops::PlanOptions {
        noop_sides: false,
        ..options.clone()
    };
    let (session, engine, plan) = ops::plan(
        ctx,
        file,
        args.state.state.as_deref(),
        "apply",
        Mode::Apply,
        Format::Text,
        options,
    )
    .await?;
    let outputs = session.stack.outputs.clone();
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
    if !outputs.is_empty() {
        let lookup = |r: &Reference| {
            state
                .resources
                .get(&r.address)
                .and_then(|s| s.attributes.get(&r.attr))
                .cloned()
        };
        println!("\nOutputs:");
        for (name, value) in &outputs {
            if crate::stack::refers_to_sensitive(value) {
                println!("  {name} = (sensitive)");
            } else {
                println!("  {name} = {}", show(&reference::resolve(value, &lookup)));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn destroy(ctx: &Context, file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let (session, engine, plan) = ops::plan(
        ctx,
        file,
        args.state.state.as_deref(),
        "destroy",
        Mode::Destroy,
        Format::Text,
        &ops::PlanOptions::default(),
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

/// Applies a saved plan exactly, without planning again, unless the state or the
/// stack file moved since it was made. The plan was reviewed: no question asked.
async fn apply_saved(ctx: &Context, file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let saved = super::plan::read_saved(file)?;
    let mut session = ops::open(
        ctx,
        Path::new(&saved.stack_file),
        Some(Path::new(&saved.state_file)),
        "apply",
    )
    .await?;
    let state = session.journal.existed().then_some(session.journal.state());
    if let Some(why) = saved.staleness(&session.stack.text, state) {
        return Err(Failure::new(
            format!("saved plan is stale: {why}"),
            Some("make a new plan with `infra plan STACK --out FILE` and review it"),
        ));
    }
    print!(
        "{}",
        crate::render::render(&saved.plan, Format::Text, ctx.color_out)
    );
    let engine = ops::connect(ctx, &mut session).await?;
    for note in engine
        .recover(&session.stack, session.journal.state_mut())
        .await?
    {
        eprintln!("Recovered: {note}");
    }
    ops::carry_out(
        ctx,
        session,
        engine,
        saved.plan,
        Mode::Apply,
        true,
        args.parallelism.into(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
