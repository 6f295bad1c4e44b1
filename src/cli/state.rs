//! `infra state list|show|rm|mv` and `infra refresh`: the state, read and edited
//! by hand, under the lock.

use std::path::Path;
use std::process::ExitCode;

use crate::aws::Aws;
use crate::ops::{self, Failure};
use crate::stack::Address;
use crate::state::StateError;

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).ok_or_else(|| {
        Failure::new(
            format!("`{s}` is not an address"),
            Some("addresses are TYPE.NAME, for example vpc.main"),
        )
    })
}

pub async fn list(file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let session = ops::open(file, state, "state list").await?;
    for (a, r) in &session.store.state.resources {
        println!("{a}\t{}", r.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn show(addr: &str, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let session = ops::open(file, state, "state show").await?;
    let Some(r) = session.store.state.resources.get(&a) else {
        return Err(Failure::new(
            format!("{a} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    };
    let mut r = r.clone();
    if let Some(schema) = crate::aws::registry::schema(&a.ty) {
        schema.redact(&mut r.attributes);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&r).expect("state serialises")
    );
    Ok(ExitCode::SUCCESS)
}

/// Forgets a resource without deleting it.
pub async fn rm(addr: &str, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let mut session = ops::open(file, state, "state rm").await?;
    if session.store.state.resources.remove(&a).is_none() {
        return Err(Failure::new(
            format!("{a} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    }
    session.store.save().await?;
    println!("Removed {a} from state; it still exists in AWS.");
    Ok(ExitCode::SUCCESS)
}

/// Renames a resource in state, so that renaming it in the stack file replaces nothing.
pub async fn mv(
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
    let mut session = ops::open(file, state, "state mv").await?;
    let s = &mut session.store.state;
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
    session.store.save().await?;
    println!("Moved {from} to {to}.");
    // The `infra:address` tag follows, so that the next plan has nothing to do.
    if let Err(e) = retag(&mut session, &from, &to).await {
        eprintln!(
            "warning: could not move the infra:address tag of {to} in AWS ({e:#}); the next apply updates it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Updates a moved resource's `infra:address` tag in AWS, and its state.
async fn retag(session: &mut ops::Session, from: &Address, to: &Address) -> anyhow::Result<()> {
    let Some(r) = session.store.state.resources.get(to) else {
        return Ok(());
    };
    let old = serde_json::Value::String(from.to_string());
    if r.attributes
        .get("tags")
        .and_then(|t| t.get("infra:address"))
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
            "infra:address".into(),
            serde_json::Value::String(to.to_string()),
        );
    }
    let aws = Aws::connect(&session.stack.region).await;
    let (id, ty) = (r.id.clone(), to.ty.as_str());
    let ids = [id.clone()];
    let found = crate::aws::registry::with_provider!(ty, P => {
        <P as crate::aws::Provider>::update(&aws, &id, &before, &after).await?;
        <P as crate::aws::Provider>::read(&aws, &ids).await
    })?;
    if let (Some(mut attrs), Some(r)) = (
        found.get(&id).cloned(),
        session.store.state.resources.get_mut(to),
    ) {
        crate::apply::keep_local(&mut attrs, &before, ty);
        r.attributes = attrs;
        session.store.save().await?;
    }
    Ok(())
}

/// Reads everything in state from AWS and records what it finds; what is gone is forgotten.
pub async fn refresh(file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let mut session = ops::open(file, state, "refresh").await?;
    let aws = Aws::connect(&session.stack.region).await;
    for note in crate::apply::recover(&aws, &session.stack, &mut session.store.state).await? {
        println!("Recovered: {note}");
    }
    let observed = ops::refresh(&aws, &mut session).await?;
    let (mut kept, mut gone) = (0, 0);
    ops::absorb(&mut session.store.state, &observed);
    for (a, seen) in observed {
        match seen {
            Some(_) => kept += 1,
            None => {
                if session.store.state.resources.remove(&a).is_some() {
                    gone += 1;
                }
            }
        }
    }
    session.store.save().await?;
    println!("Refreshed {kept} resources; {gone} no longer exist and were forgotten.");
    Ok(ExitCode::SUCCESS)
}

/// Reads an existing resource into state for an address the stack file describes.
pub async fn import(
    addr: &str,
    id: &str,
    file: &Path,
    state: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let mut session = ops::open(file, state, "import").await?;
    let Some(resource) = session.stack.resources.get(&a) else {
        return Err(Failure::new(
            format!("{a} is not in {}", file.display()),
            Some(
                "describe the resource in the stack file first; import then reads what exists into state for it",
            ),
        ));
    };
    let held = &session.store.state.resources;
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
    let aws = Aws::connect(&session.stack.region).await;
    for note in crate::apply::recover(&aws, &session.stack, &mut session.store.state).await? {
        println!("Recovered: {note}");
    }
    let ids = [id.to_string()];
    let ty = a.ty.as_str();
    let mut found = crate::aws::registry::with_provider!(ty, P => {
        <P as crate::aws::Provider>::read(&aws, &ids).await
    })?;
    let Some(mut attributes) = found.remove(id) else {
        return Err(Failure::new(
            format!("there is no {ty} {id} in {}", session.stack.region),
            Some(
                "the id is what AWS calls it: vpc-…/subnet-…/sg-…/lt-… ids; the name of a bucket, repository, role, cluster or delivery stream; CLUSTER:NODEGROUP; the ARN of a load balancer, target group, listener or rule",
            ),
        ));
    };
    crate::apply::keep_local(&mut attributes, &resource.attrs, ty);
    let record = crate::apply::resource_state(&a, id, attributes, Some(resource));
    session.store.state.resources.insert(a.clone(), record);
    session.store.save().await?;
    println!(
        "Imported {a} ({id}). `infra plan {}` shows how it differs from the stack file.",
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Removes a lock by its id, after confirmation (or with `--force`).
pub async fn force_unlock(
    id: &str,
    file: &Path,
    state: Option<&Path>,
    force: bool,
) -> Result<ExitCode, Failure> {
    let stack = ops::load_stack(file, crate::cli::strict())?;
    let config = ops::state_config(&stack, state)?;
    let backend = ops::backend(&stack, config).await;
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
    println!(
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
    println!("Removed lock {id}.");
    Ok(ExitCode::SUCCESS)
}
