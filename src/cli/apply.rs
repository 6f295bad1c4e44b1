use std::path::Path;
use std::process::ExitCode;

use super::RunArgs;
use crate::ops::{self, Context, Failure};
use crate::plan::saved::SavedPlan;
use crate::plan::{Mode, Observed, Plan};
use crate::render::Format;
use crate::types::Address;

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
    let ops::Planned {
        session,
        engine,
        plan,
        ..
    } = ops::plan(
        ctx,
        file,
        args.state.state.as_deref(),
        "apply",
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
        say!(
            "\nOutputs:\n{}",
            crate::render::outputs(&state.outputs, "  ")
        );
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
        "destroy",
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

/// Applies a saved plan exactly, without reading AWS again: the plan is made
/// again from the refresh it records, the stack file and the state (so its
/// protections, `force_destroy` and sensitive values come from them, never
/// from the file), with the environment, variable values and lookups it
/// recorded, and refused unless it is the one saved. The plan was reviewed: no
/// question asked.
async fn apply_saved(ctx: &Context, file: &Path, args: &RunArgs) -> Result<ExitCode, Failure> {
    let saved = super::plan::read_saved(file)?;
    // The plan's environment and the values it was made with (all but the
    // sensitive ones, which are given again) stand unless given again.
    if ctx.inputs.env.is_some() && ctx.inputs.env != saved.environment {
        return Err(Failure::new(
            format!(
                "--env {}: the saved plan was made for {}",
                ctx.inputs.env.as_deref().unwrap_or_default(),
                saved
                    .environment
                    .as_deref()
                    .map_or("no environment".to_string(), |e| format!("environment {e}"))
            ),
            Some("apply it without --env, or make a new plan for that environment"),
        ));
    }
    let mut with_saved = ctx.clone();
    with_saved.inputs.env = saved.environment.clone();
    with_saved.inputs.saved = saved.inputs.clone();
    let ctx = &with_saved;
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
    say!(
        "{}",
        crate::render::render(&saved.plan, Format::Text, ctx.color_out)
    );
    let engine = ops::connect(ctx, &mut session).await?;
    if !session.stack.lookups.is_empty() {
        // What the lookups found when the plan was made, as reviewed.
        ops::put_found(&mut session, &saved.lookups)?;
    }
    for note in engine
        .recover(&session.stack, session.journal.state_mut())
        .await?
    {
        eprintln!("Recovered: {note}");
    }
    let plan = again(&saved, &mut session)?;
    ops::carry_out(
        ctx,
        session,
        engine,
        plan,
        Mode::Apply,
        true,
        args.parallelism.into(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The saved plan made again from its refresh, the stack file and the state;
/// refused where it differs from the one saved, naming the address.
fn again(saved: &SavedPlan, session: &mut ops::Session) -> Result<Plan, Failure> {
    let options = ops::PlanOptions {
        refresh: saved.refresh,
        targets: saved.targets.clone(),
        noop_sides: true,
        keep_observed: false,
        cost: true,
    };
    let only = ops::targets(session, &options)?;
    // Sealed values are put back from what state recorded, then from what the
    // stack asks for (a first, side-effect-free plan tells what that is).
    let state = session.journal.state();
    let first = saved.observed(state, None);
    let wanted = crate::plan::plan_with(&session.stack, &session.graph, state, &first, true);
    let observed = saved.observed(state, Some(&wanted));
    // A value still sealed differs from both: the state keeps what it recorded.
    let recorded: Vec<_> = sealed_in(&observed)
        .filter_map(|(a, name)| {
            let v = state.resources.get(a)?.attributes.get(name)?;
            Some((a.clone(), name.to_string(), v.clone()))
        })
        .collect();
    let plan = ops::derive(session, &observed, Mode::Apply, &options, only.as_ref());
    for (a, name, v) in recorded {
        if let Some(r) = session.journal.state_mut().resources.get_mut(&a) {
            r.attributes.insert(name, v);
        }
    }
    ops::refuse_problems(&plan)?;
    if let Some(why) = saved.differs(&plan) {
        return Err(Failure::new(
            format!("saved plan does not match the stack file and state: {why}"),
            Some(
                "the file was edited, or made by another infra version; make a new plan with `infra plan STACK --out FILE` and review it",
            ),
        ));
    }
    Ok(plan)
}

/// The attributes whose observed values are still sealed.
fn sealed_in(observed: &Observed) -> impl Iterator<Item = (&Address, &str)> {
    observed.iter().flat_map(|(a, seen)| {
        seen.iter().flat_map(move |attrs| {
            attrs
                .iter()
                .filter(|(_, v)| crate::plan::saved::is_sealed(v))
                .map(move |(k, _)| (a, k.as_str()))
        })
    })
}
