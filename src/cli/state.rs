//! `infra state list|show|rm|mv` and `infra refresh`: the state, read and edited
//! by hand, under the lock.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Command, Context, Failure};
use crate::state::StateError;
use crate::types::{Address, AttrsExt};

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).ok_or_else(|| {
        Failure::new(
            format!("`{s}` is not an address"),
            Some("addresses are TYPE.NAME, or module.NAME.TYPE.NAME inside a module, for example vpc.main"),
        )
    })
}

pub async fn list(ctx: &Context, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let mut session = ops::open(ctx, file, state, Command::StateList).await?;
    let mut text = String::new();
    for (a, r) in &session.journal.state().resources {
        text.push_str(&format!("{a}\t{}\n", r.id));
    }
    ctx.console.out(&text);
    Ok(ExitCode::SUCCESS)
}

pub async fn show(
    ctx: &Context,
    addr: &str,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let mut session = ops::open(ctx, file, state, Command::StateShow).await?;
    let Some(r) = session.journal.state().resources.get(&a) else {
        return Err(Failure::new(
            format!("{a} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    };
    // Redacted where a sensitive value sits, as state and the stack mark it
    // (and by the type), whatever the value is: a rotated secret, or a
    // placeholder given for it, changes nothing.
    let mut r = r.clone();
    if let Some(schema) = crate::types::schema(&a.ty) {
        schema.redact(&mut r.attributes);
    }
    let mut marks: std::collections::BTreeSet<String> = r.sensitive.iter().cloned().collect();
    if let Some(own) = session.stack.resources.get(&a) {
        marks.extend(own.sensitive.iter().cloned());
    }
    crate::types::attrs::redact_paths(&mut r.attributes, &marks, &|_| {
        serde_json::Value::String("(sensitive)".into())
    });
    ctx.console.outln(&serde_json::to_string_pretty(&r).expect("state serialises"));
    Ok(ExitCode::SUCCESS)
}

/// Forgets a resource without deleting it, and any operation an interrupted
/// apply left on it (an intent).
pub async fn rm(
    ctx: &Context,
    addr: &str,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    // A module (`module.svc`, `module.svc["web"]`) removes everything in it.
    let module = crate::types::address::parse_path(addr);
    let a = match &module {
        Some(_) => None,
        None => Some(address(addr)?),
    };
    let mut session = ops::open(ctx, file, state, Command::StateRm).await?;
    let s = session.journal.state();
    // A resource's bare name removes every instance of it, as in Terraform.
    let held = |x: &Address| s.resources.contains_key(x) || s.intents.contains_key(x);
    let picked = |x: &&Address| match (&module, &a) {
        (Some(path), _) => crate::types::address::path_within(&x.module, path),
        (None, Some(a)) => a.key.is_none() && x.key.is_some() && x.base() == *a,
        (None, None) => false,
    };
    let all: Vec<Address> = match a.as_ref().filter(|a| held(a)) {
        Some(a) => vec![a.clone()],
        None => s
            .resources
            .keys()
            .chain(s.intents.keys())
            .filter(picked)
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    if all.is_empty() {
        return Err(Failure::new(
            format!("{addr} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    }
    for a in all {
        let (resource, intent) = session.journal.remove(&a).await?;
        if let Some(i) = intent {
            ctx.console.outln(&format!(
                "Forgot the {} an interrupted apply left on {a} (since {}); whatever it made in AWS, if anything, is untouched.",
                i.operation,
                i.since
            ));
        }
        if resource.is_some() {
            ctx.console.outln(&format!("Removed {a} from state; it still exists in AWS."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Renames a resource in state, so that renaming it in the stack file replaces nothing.
pub async fn mv(
    ctx: &Context,
    from: &str,
    to: &str,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let (from, to) = (address(from)?, address(to)?);
    if from.ty != to.ty {
        return Err(Failure::new(
            format!("{from} and {to} are of different types"),
            Some("state mv renames; it cannot change a type"),
        ));
    }
    let mut session = ops::open(ctx, file, state, Command::StateMv).await?;
    let s = session.journal.state();
    if s.resources.contains_key(&to) {
        return Err(Failure::new(format!("{to} is already in state"), None));
    }
    if !s.resources.contains_key(&from) {
        return Err(Failure::new(
            format!("{from} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    }
    session.journal.rename(&from, &to).await?;
    ctx.console.outln(&format!("Moved {from} to {to}."));
    // The `infra:address` tag follows, so that the next plan has nothing to do.
    let retagged = match ops::connect(ctx, &mut session).await {
        Ok(engine) => {
            engine.retag(&session.journal, &from, &to).await.map_err(|e| format!("{e:#}"))
        }
        Err(f) => Err(f.to_string()),
    };
    if let Err(e) = retagged {
        ctx.console.note(&format!(
            "warning: could not move the infra:address tag of {to} in AWS ({e}); it keeps its old one (state knows it by its new address)"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads everything in state from AWS and records what it finds; what is gone is forgotten.
pub async fn refresh(
    ctx: &Context,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let mut session = ops::open(ctx, file, state, Command::Refresh).await?;
    let engine = ops::connect(ctx, &mut session).await?;
    for note in engine.recover(&session.stack, &mut session.journal).await? {
        ctx.console.outln(&format!("Recovered: {note}"));
    }
    let observed = ops::refresh(&engine, &mut session).await?;
    session.journal.absorb(&observed);
    // What is gone is forgotten, in the stack or not (the refresh above
    // forgot those no longer in it).
    let gone = session.journal.forget_gone(&observed, |_| false).len();
    let kept = observed.values().filter(|seen| seen.is_some()).count();
    session.journal.save().await?;
    ctx.console
        .outln(&format!("Refreshed {kept} resources; {gone} no longer exist and were forgotten."));
    Ok(ExitCode::SUCCESS)
}

/// Reads an existing resource into state for an address the stack file
/// describes. One whose owner tags name another stack (or environment) is
/// refused, naming it, unless `take_over`: two states would then manage it,
/// and either's destroy would delete it.
pub async fn import(
    ctx: &Context,
    addr: &str,
    id: &str,
    file: &Path,
    state: Option<&Path>,
    take_over: bool,
) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let mut session = ops::open(ctx, file, state, Command::Import).await?;
    let Some(resource) = session.stack.resources.get(&a).cloned() else {
        return Err(Failure::new(
            format!("{a} is not in {}", file.display()),
            Some(
                "describe the resource in the stack file first; import then reads what exists into state for it",
            ),
        ));
    };
    let held = &session.journal.state().resources;
    if let Some(r) = held.get(&a) {
        return Err(Failure::new(
            format!("{a} is already in state (id {})", r.id),
            Some("`infra state rm` it first to import another resource under this address"),
        ));
    }
    if let Some((other, _)) = held.iter().find(|(_, r)| r.ty == a.ty && r.id == id) {
        return Err(Failure::new(
            format!("{id} is already in state as {other}"),
            Some("one resource has one address; `infra state mv` renames it"),
        ));
    }
    // Importing an address settles what an interrupted create left on it: the
    // id is given.
    session.journal.drop_intent(&a);
    let engine = ops::connect(ctx, &mut session).await?;
    for note in engine.recover(&session.stack, &mut session.journal).await? {
        ctx.console.outln(&format!("Recovered: {note}"));
    }
    let ty = a.ty.as_str();
    let Some(mut attributes) = engine.import(&a, id).await? else {
        return Err(Failure::new(
            format!("there is no {ty} {id} in {}", session.stack.region),
            Some(&format!(
                "the id is what AWS calls it: for a {ty}, {}",
                resource.schema.id_format
            )),
        ));
    };
    let tags = attributes.string_map("tags");
    let ours = session.stack.id();
    if let Some(owner) = crate::types::stack_id::owner_of(&tags).filter(|o| *o != ours) {
        if !take_over {
            return Err(Failure::new(
                format!(
                    "{ty} {id} belongs to stack {owner} ({}): importing it would let two states manage it, and either's destroy would delete it; nothing was imported",
                    crate::types::stack_id::owner_said(&tags)
                ),
                Some(&format!(
                    "`infra state rm` it from stack {owner}'s state first, or give --take-over if that stack no longer manages it (the next plan says so, and the next apply puts this stack's tags on it)"
                )),
            ));
        }
        ctx.console.note(&format!(
            "warning: {ty} {id} belongs to stack {owner} ({}); imported anyway (--take-over): make sure that stack's state no longer holds it",
            crate::types::stack_id::owner_said(&tags)
        ));
    }
    resource.schema.keep_local(&mut attributes, &resource.attrs);
    let record = crate::apply::resource_state(&a, id, attributes, Some(&resource));
    session.journal.import(&a, record).await?;
    ctx.console.outln(&format!(
        "Imported {a} ({id}). `infra plan {}` shows how it differs from the stack file.",
        file.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Removes a lock by its id, after confirmation (or with `--force`).
pub async fn force_unlock(
    ctx: &Context,
    id: &str,
    file: &Path,
    state: Option<&Path>,
    force: bool,
) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(ctx, file).await?;
    let config = ops::state_config(&stack, state)?;
    let backend = ops::backend(ctx, &stack.id(), &stack.region, config).await?;
    // What is there is shown before the question; `force_unlock` checks again
    // and removes exactly that lock.
    let path = backend.lock_location();
    let held = match backend.peek_lock().await? {
        Some(held) if held.id == id => held,
        Some(held) => {
            return Err(
                StateError::WrongLockId { path, given: id.to_string(), held: held.id }.into()
            );
        }
        None => return Err(StateError::NoLock { path }.into()),
    };
    ctx.console.outln(&format!(
        "The lock on {} is held by {}@{} (pid {}, {} since {}). Removing it lets another run write the state while that one may still run.",
        backend.describe(),
        held.holder,
        held.host,
        held.pid,
        held.operation,
        held.created
    ));
    ops::confirm(ctx, "remove this lock", force)?;
    backend.force_unlock(id).await?;
    ctx.console.outln(&format!("Removed lock {id}."));
    Ok(ExitCode::SUCCESS)
}
