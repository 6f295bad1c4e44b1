//! `infra state list|show|rm|mv` and `infra refresh`: the state, read and edited
//! by hand, under the lock.

use std::path::Path;
use std::process::ExitCode;

use crate::aws::Aws;
use crate::ops::{self, Failure};
use crate::stack::Address;

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).ok_or_else(|| {
        Failure::new(
            format!("`{s}` is not an address"),
            Some("addresses are TYPE.NAME, for example vpc.main"),
        )
    })
}

pub fn list(file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let session = ops::open(file, state, "state list")?;
    for (a, r) in &session.store.state.resources {
        println!("{a}\t{}", r.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(addr: &str, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let session = ops::open(file, state, "state show")?;
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
pub fn rm(addr: &str, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let a = address(addr)?;
    let mut session = ops::open(file, state, "state rm")?;
    if session.store.state.resources.remove(&a).is_none() {
        return Err(Failure::new(
            format!("{a} is not in state"),
            Some("`infra state list` shows what is"),
        ));
    }
    session.store.save()?;
    println!("Removed {a} from state; it still exists in AWS.");
    Ok(ExitCode::SUCCESS)
}

/// Renames a resource in state, so that renaming it in the stack file replaces nothing.
pub fn mv(from: &str, to: &str, file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let (from, to) = (address(from)?, address(to)?);
    if from.ty != to.ty {
        return Err(Failure::new(
            format!("{from} and {to} are of different types"),
            Some("state mv renames; it cannot change a type"),
        ));
    }
    let mut session = ops::open(file, state, "state mv")?;
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
    session.store.save()?;
    println!("Moved {from} to {to}.");
    Ok(ExitCode::SUCCESS)
}

/// Reads everything in state from AWS and records what it finds; what is gone is forgotten.
pub async fn refresh(file: &Path, state: Option<&Path>) -> Result<ExitCode, Failure> {
    let mut session = ops::open(file, state, "refresh")?;
    let aws = Aws::connect(&session.stack.region).await;
    let observed = ops::refresh(&aws, &mut session).await?;
    let (mut kept, mut gone) = (0, 0);
    for (a, seen) in observed {
        match seen {
            Some(attrs) => {
                if let Some(r) = session.store.state.resources.get_mut(&a) {
                    // What only state holds (force_destroy) stays.
                    let local: Vec<(String, serde_json::Value)> =
                        crate::aws::registry::schema(&a.ty)
                            .map(|s| {
                                s.attrs
                                    .iter()
                                    .filter(|x| x.local)
                                    .filter_map(|x| {
                                        r.attributes
                                            .get(x.name)
                                            .map(|v| (x.name.to_string(), v.clone()))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                    r.attributes = attrs;
                    r.attributes.extend(local);
                    kept += 1;
                }
            }
            None => {
                if session.store.state.resources.remove(&a).is_some() {
                    gone += 1;
                }
            }
        }
    }
    session.store.save()?;
    println!("Refreshed {kept} resources; {gone} no longer exist and were forgotten.");
    Ok(ExitCode::SUCCESS)
}
