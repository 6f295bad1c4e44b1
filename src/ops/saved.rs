//! A saved plan applied exactly: made again (once) from the refresh it
//! records, the stack file and the state the command line names, refused
//! unless it is the plan reviewed, and what it touches read again from AWS.

use std::path::Path;

use super::session::{Session, connect, open};
use super::{Command, Context, Failure, derive, put_found, refuse_problems, targets};
use crate::apply::Engine;
use crate::plan::saved::SavedPlan;
use crate::plan::{Mode, Observed, Plan};
use crate::render::Format;
use crate::types::Address;

/// Applies a saved plan exactly: the plan is made again from the refresh it
/// records, the stack file and the state the command line names (so its
/// protections, `force_destroy` and sensitive values come from them, never
/// from the file), with the environment, variable values and lookups it
/// recorded, and refused unless it is the one saved; then what it changes or
/// deletes is read again from AWS, and refused where AWS differs from the
/// recorded refresh in anything the action depends on (the file is not
/// authenticated: its refresh could have been edited with its plan). The
/// plan was reviewed: no question asked.
pub async fn apply_saved(
    ctx: &Context,
    file: &Path,
    saved: SavedPlan,
    stack_file: Option<&Path>,
    state: Option<&Path>,
    parallelism: usize,
) -> Result<(), Failure> {
    let Some(stack_file) = stack_file else {
        return Err(Failure::new(
            format!(
                "{}: name the stack file the plan was made from: infra apply {} {}",
                file.display(),
                file.display(),
                saved.stack_file
            ),
            Some(
                "a saved plan is applied to the stack file (and state) the command line names, never to those the file alone names",
            ),
        ));
    };
    if !same_file(stack_file, Path::new(&saved.stack_file)) {
        return Err(Failure::new(
            format!(
                "the saved plan was made from the stack file {}, not {}",
                saved.stack_file,
                stack_file.display()
            ),
            Some("apply it with the stack file it was made from, or make a new plan"),
        ));
    }
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
    // The state is the one the command line gives (--state, else the stack
    // file's own), and must be the one the plan was made against.
    let mut session = open(ctx, stack_file, state, Command::Apply).await?;
    if session.journal.location() != saved.state_file {
        return Err(Failure::new(
            format!(
                "the saved plan was made against the state {}; this apply's is {}",
                saved.state_file,
                session.journal.location()
            ),
            Some("give --state for the state the plan was made against, or make a new plan"),
        ));
    }
    let state = session.journal.existed().then_some(session.journal.state());
    if let Some(why) = saved.staleness(&session.stack.source(), state) {
        return Err(Failure::new(
            format!("saved plan is stale: {why}"),
            Some("make a new plan with `infra plan STACK --out FILE` and review it"),
        ));
    }
    let moves = super::plan::moved(&mut session)?;
    ctx.console.out(&crate::render::render(&saved.plan, Format::Text, ctx.color_out));
    let engine = connect(ctx, &mut session).await?;
    if !session.stack.lookups.is_empty() {
        // What the lookups found when the plan was made, as reviewed.
        put_found(&mut session, &saved.lookups)?;
    }
    for note in engine.recover(&session.stack, &mut session.journal).await? {
        ctx.console.note(&format!("Recovered: {note}"));
    }
    let plan = again(ctx, &saved, &mut session, moves)?;
    verify_refresh(&engine, &saved, &plan, &mut session).await?;
    super::carry_out(ctx, session, engine, plan, Mode::Apply, true, parallelism).await?;
    Ok(())
}

/// The saved plan made again from its refresh, the stack file and the state;
/// refused where it differs from the one saved, naming the address.
fn again(
    ctx: &Context,
    saved: &SavedPlan,
    session: &mut Session,
    moves: Vec<crate::plan::moves::Move>,
) -> Result<Plan, Failure> {
    let options = super::PlanOptions {
        refresh: saved.refresh,
        targets: saved.targets.clone(),
        noop_sides: true,
        keep_observed: false,
        cost: true,
    };
    let only = targets(ctx, session, &options, crate::plan::Mode::Apply)?;
    // Sealed values are put back from what state recorded, then from what the
    // stack asks for (resolved against the refresh as recorded: no plan).
    let state = session.journal.state();
    let first = saved.observed(state, None);
    let wanted = crate::plan::desired(&session.stack, &session.graph, state, &first);
    let observed = saved.observed(state, Some(&wanted));
    // A value still sealed differs from both: the state keeps what it recorded.
    let recorded: Vec<_> = sealed_in(&observed)
        .filter_map(|(a, name)| {
            let v = state.resources.get(a)?.attributes.get(name)?;
            Some((a.clone(), name.to_string(), v.clone()))
        })
        .collect();
    let mut plan = derive(session, &observed, Mode::Apply, &options, only.as_ref());
    plan.moves = moves;
    for (a, name, v) in recorded {
        session.journal.keep_attribute(&a, &name, v);
    }
    refuse_problems(&plan)?;
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

/// Whether two paths name one file (or, where one does not exist, are the
/// same text).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Reads again, from AWS, every resource the plan updates, replaces or
/// deletes, and refuses the apply where what AWS holds now differs from the
/// refresh the saved plan recorded in an attribute the action depends on
/// (those it changes, those that force its replacement, its id), naming the
/// address and the attribute. Sensitive values are compared by their sealed
/// digests, and never shown.
async fn verify_refresh(
    engine: &Engine,
    saved: &SavedPlan,
    plan: &Plan,
    session: &mut Session,
) -> Result<(), Failure> {
    use crate::plan::Action;
    let touched: std::collections::BTreeSet<Address> = plan
        .changes
        .iter()
        .filter(|c| {
            !c.deposed
                && matches!(
                    c.action,
                    Action::Update
                        | Action::DeleteThenCreate
                        | Action::CreateThenDelete
                        | Action::Delete
                )
        })
        .map(|c| c.address.clone())
        .collect();
    if touched.is_empty() {
        return Ok(());
    }
    let live =
        engine.refresh(session.journal.state(), Some(&touched), Some(&session.stack)).await?;
    let state = session.journal.state();
    let recorded_refresh = saved.observed(state, None);
    for c in plan.changes.iter().filter(|c| touched.contains(&c.address)) {
        let a = &c.address;
        let (Some(Some(recorded)), Some(now)) = (recorded_refresh.get(a), live.get(a)) else {
            continue;
        };
        let Some(mut now) = now.clone() else {
            return Err(Failure::new(
                format!(
                    "{a} is gone from AWS since the plan was made: the saved plan's refresh says it exists"
                ),
                Some("make a new plan with `infra plan STACK --out FILE` and review it"),
            ));
        };
        let schema = crate::types::schema(&a.ty);
        let mut recorded = recorded.clone();
        if let Some(schema) = schema {
            if let Some(r) = state.resources.get(a) {
                schema.keep_local(&mut now, &r.attributes);
                schema.keep_local(&mut recorded, &r.attributes);
            }
            if let Some(canonical) = schema.canonical {
                canonical(&mut now);
                canonical(&mut recorded);
            }
        }
        let mut keys: Vec<&String> = c.changed.iter().chain(c.replace_because.iter()).collect();
        let id = "id".to_string();
        keys.push(&id);
        keys.sort();
        keys.dedup();
        for k in keys {
            let (was, is) = (
                recorded.get(k).cloned().unwrap_or(serde_json::Value::Null),
                now.get(k).cloned().unwrap_or(serde_json::Value::Null),
            );
            let kind = schema.and_then(|s| s.attr(k)).map(|x| &x.kind);
            let same = match crate::plan::saved::is_sealed(&was) {
                true => saved.seal_value(&is) == was,
                false => crate::types::attrs::values_equal(kind, &was, &is),
            };
            if same {
                continue;
            }
            let sensitive = crate::plan::saved::is_sealed(&was)
                || plan.sensitive.get(a).is_some_and(|m| crate::stack::sensitive::covers(m, k))
                || schema.and_then(|s| s.attr(k)).is_some_and(|x| x.sensitive);
            let values = match sensitive {
                true => String::new(),
                false => format!(
                    ": AWS holds {}, the saved plan's refresh says {}",
                    crate::render::text::show(&is),
                    crate::render::text::show(&was)
                ),
            };
            return Err(Failure::new(
                format!(
                    "{a}: `{k}` is not what the saved plan's refresh recorded{values}; the plan would {} it on that ground, so nothing was applied",
                    match c.action {
                        Action::Delete => "delete",
                        Action::Update => "update",
                        _ => "replace",
                    }
                ),
                Some(
                    "AWS changed since the plan was made, or the file was edited: make a new plan with `infra plan STACK --out FILE` and review it",
                ),
            ));
        }
    }
    Ok(())
}
