//! `infra state list|show|rm|mv` and `infra refresh`: the state, read and edited
//! by hand, under the lock.

use std::path::Path;
use std::process::ExitCode;

use crate::ops::{self, Context, Failure};
use crate::state::StateError;
use crate::types::{Address, AttrsExt};

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).ok_or_else(|| {
        Failure::new(
            format!("`{s}` is not an address"),
            Some("addresses are TYPE.NAME, for example vpc.main"),
        )
    })
}

pub async fn list(ctx: &Context, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let mut session = ops::open(ctx, file, state, "state list").await?;
    for (a, r) in &session.journal.state().resources {
        sayln!("{a}\t{}", r.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn show(
    ctx: &Context,
    addr: &str,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let mut session = ops::open(ctx, file, state, "state show").await?;
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
    sayln!(
        "{}",
        serde_json::to_string_pretty(&r).expect("state serialises")
    );
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
    let a = address(addr)?;
    let mut session = ops::open(ctx, file, state, "state rm").await?;
    let s = session.journal.state_mut();
    let resource = s.resources.remove(&a);
    let intent = s.intents.remove(&a);
    if resource.is_none() && intent.is_none() {
        return Err(Failure::new(
            format!("{a} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    }
    session.journal.save().await?;
    if let Some(i) = intent {
        sayln!(
            "Forgot the {} an interrupted apply left on {a} (since {}); whatever it made in AWS, if anything, is untouched.",
            i.operation,
            i.since
        );
    }
    if resource.is_some() {
        sayln!("Removed {a} from state; it still exists in AWS.");
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
    let mut session = ops::open(ctx, file, state, "state mv").await?;
    let s = &mut session.journal.state_mut();
    if s.resources.contains_key(&to) {
        return Err(Failure::new(format!("{to} is already in state"), None));
    }
    let Some(r) = s.resources.remove(&from) else {
        return Err(Failure::new(
            format!("{from} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    };
    s.resources.insert(to.clone(), r);
    for r in s.resources.values_mut() {
        for d in r
            .dependencies
            .iter_mut()
            .chain(r.rule_dependencies.iter_mut())
        {
            if *d == from {
                *d = to.clone();
            }
        }
    }
    session.journal.save().await?;
    sayln!("Moved {from} to {to}.");
    // The `infra:address` tag follows, so that the next plan has nothing to do.
    if let Err(e) = retag(ctx, &mut session, &from, &to).await {
        eprintln!(
            "warning: could not move the infra:address tag of {to} in AWS ({e:#}); the next apply updates it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Updates a moved resource's `infra:address` tag in AWS, and its state.
async fn retag(
    ctx: &Context,
    session: &mut ops::Session,
    from: &Address,
    to: &Address,
) -> anyhow::Result<()> {
    let Some(r) = session.journal.state_mut().resources.get(to) else {
        return Ok(());
    };
    let old = serde_json::Value::String(from.to_string());
    if r.attributes
        .get("tags")
        .and_then(|t| t.get(crate::types::stack_id::ADDRESS_TAG))
        != Some(&old)
    {
        return Ok(());
    }
    let before = r.attributes.clone();
    let mut after = before.clone();
    if let Some(tags) = after
        .get_mut("tags")
        .and_then(serde_json::Value::as_object_mut)
    {
        tags.insert(
            crate::types::stack_id::ADDRESS_TAG.into(),
            serde_json::Value::String(to.to_string()),
        );
    }
    let id = r.id.clone();
    let engine = ops::connect(ctx, session)
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    let provider = engine.registry.provider(&to.ty)?;
    let op = crate::provider::OpContext {
        address: to.clone(),
        timeouts: Default::default(),
        token: None,
        observer: ctx.observer.clone(),
    };
    provider.update(&op, &id, &before, &after).await?;
    let found = provider.read(std::slice::from_ref(&id)).await?;
    if let (Some(mut attrs), Some(r)) = (
        found.get(&id).cloned(),
        session.journal.state_mut().resources.get_mut(to),
    ) {
        if let Some(schema) = crate::types::schema(&to.ty) {
            schema.keep_local(&mut attrs, &before);
        }
        r.attributes = attrs;
        session.journal.save().await?;
    }
    Ok(())
}

/// Reads everything in state from AWS and records what it finds; what is gone is forgotten.
pub async fn refresh(
    ctx: &Context,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let mut session = ops::open(ctx, file, state, "refresh").await?;
    let engine = ops::connect(ctx, &mut session).await?;
    for note in engine
        .recover(&session.stack, session.journal.state_mut())
        .await?
    {
        sayln!("Recovered: {note}");
    }
    let observed = ops::refresh(&engine, &mut session).await?;
    let (mut kept, mut gone) = (0, 0);
    ops::absorb(session.journal.state_mut(), &observed);
    for (a, seen) in observed {
        match seen {
            Some(_) => kept += 1,
            None => {
                if session.journal.state_mut().resources.remove(&a).is_some() {
                    gone += 1;
                }
            }
        }
    }
    session.journal.save().await?;
    sayln!("Refreshed {kept} resources; {gone} no longer exist and were forgotten.");
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
    let mut session = ops::open(ctx, file, state, "import").await?;
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
    session.journal.state_mut().intents.remove(&a);
    let engine = ops::connect(ctx, &mut session).await?;
    for note in engine
        .recover(&session.stack, session.journal.state_mut())
        .await?
    {
        sayln!("Recovered: {note}");
    }
    let ty = a.ty.as_str();
    let mut found = engine
        .registry
        .provider(ty)?
        .read(&[id.to_string()])
        .await?;
    let Some(mut attributes) = found.remove(id) else {
        return Err(Failure::new(
            format!("there is no {ty} {id} in {}", session.stack.region),
            Some(
                "the id is what AWS calls it: vpc-…/subnet-…/igw-…/rtb-…/nat-…/vpce-…/sg-…/lt-… ids; an Elastic IP's eipalloc-… allocation id; the name of a bucket, repository, role, cluster or delivery stream; CLUSTER:NODEGROUP; the ARN of a load balancer, target group, listener or rule",
            ),
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
        eprintln!(
            "warning: {ty} {id} belongs to stack {owner} ({}); imported anyway (--take-over): make sure that stack's state no longer holds it",
            crate::types::stack_id::owner_said(&tags)
        );
    }
    resource.schema.keep_local(&mut attributes, &resource.attrs);
    let record = crate::apply::resource_state(&a, id, attributes, Some(&resource));
    session
        .journal
        .state_mut()
        .resources
        .insert(a.clone(), record);
    session.journal.save().await?;
    sayln!(
        "Imported {a} ({id}). `infra plan {}` shows how it differs from the stack file.",
        file.display()
    );
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
            return Err(StateError::WrongLockId {
                path,
                given: id.to_string(),
                held: held.id,
            }
            .into());
        }
        None => return Err(StateError::NoLock { path }.into()),
    };
    sayln!(
        "The lock on {} is held by {}@{} (pid {}, {} since {}). Removing it lets another run write the state while that one may still run.",
        backend.describe(),
        held.holder,
        held.host,
        held.pid,
        held.operation,
        held.created
    );
    ops::confirm("remove this lock", force)?;
    backend.force_unlock(id).await?;
    sayln!("Removed lock {id}.");
    Ok(ExitCode::SUCCESS)
}
