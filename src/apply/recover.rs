//! Resolving what an interrupted apply left half-done, before anything else.
//!
//! Apply writes an intent to state before each mutating call and takes it away
//! with the result. An intent still there means the run stopped in between: a
//! create may or may not have reached AWS. What it may have made is looked up
//! (by its owner tags, or by its name, port or priority) and adopted only when
//! it carries this stack's owner tags (`infra:stack`, `infra:env`,
//! `infra:address`): what belongs to someone else is never taken over. Any
//! other operation left half-done needs nothing but the refresh that follows,
//! which reads what AWS has now.

use std::time::Duration;

use super::Engine;
use super::Journal;
use crate::observe::Event;
use crate::provider::{Provider, api_error};
use crate::stack::Stack;
use crate::types::stack_id::{owner_said, same_owner};
use crate::types::state::State;
use crate::types::{Address, Attrs, AttrsExt, Operation};

/// How long after a create was sent it may take to become visible.
const GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// What a lookup for a create's result found.
pub enum Found {
    Nothing,
    /// One candidate, carrying the owner tags the create asked for.
    Ours(String, Attrs),
    /// One candidate that is someone else's (or whose tags say nothing).
    NotOurs(String, Attrs),
    /// More than one candidate: none is picked.
    Many(Vec<String>),
}

/// Looks for what a create given `asked` may have made, and whether it is
/// ours: it carries the owner tags the create asked for (the same stack,
/// environment and address). Nothing is ours by when it was made: a bucket
/// someone else made a moment before would be as new. Of several
/// candidates, the one that is ours is; several of ours are an error.
pub async fn look(provider: &dyn Provider, asked: &Attrs) -> anyhow::Result<Found> {
    let mut ids = provider.find(asked).await?;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Found::Nothing);
    }
    let mut read = provider.read(&ids).await?;
    let want = asked.string_map("tags");
    let mut ours: Vec<String> = ids
        .iter()
        .filter(|id| read.get(*id).is_some_and(|a| same_owner(&want, &a.string_map("tags"))))
        .cloned()
        .collect();
    Ok(match (ours.len(), ids.len()) {
        (1, _) => {
            let id = ours.remove(0);
            let attrs = read.remove(&id).unwrap_or_default();
            Found::Ours(id, attrs)
        }
        (0, 1) => match read.remove(&ids[0]) {
            Some(attrs) => Found::NotOurs(ids.remove(0), attrs),
            None => Found::Nothing,
        },
        (0, _) => Found::Many(ids),
        _ => Found::Many(ours),
    })
}

/// Why a candidate is not this stack's, for messages: its owner tags.
pub fn owner(attrs: &Attrs) -> String {
    owner_said(&attrs.string_map("tags"))
}

/// Resolves every intent in the journal's state (in memory; the caller
/// saves). Returns what it did, one line each, for the plan.
pub async fn recover(
    engine: &Engine,
    stack: &Stack,
    journal: &mut Journal,
) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    for (address, intent) in journal.state().intents.clone() {
        if intent.operation != Operation::Create {
            notes.push(format!(
                "{address}: an earlier apply stopped during its {} (since {}); the refresh reads what AWS has now",
                intent.operation, intent.since
            ));
            journal.drop_intent(&address);
            continue;
        }
        let provider = engine.registry.provider(&address.ty)?;
        // A create sent just before the run died may still be under way in AWS,
        // or not yet visible (eventual consistency): a recent intent is looked
        // for again until GRACE after it was written.
        let since = chrono::DateTime::parse_from_rfc3339(&intent.since)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now());
        let deadline = since + GRACE;
        let mut said = false;
        let found = loop {
            let found = match look(provider, &intent.attributes).await {
                Ok(found) => found,
                Err(e) if denied(&e) => {
                    // Not fatal to every plan: the intent stays, and apply
                    // refuses to create this address again until it is resolved.
                    notes.push(format!(
                        "{address}: could not look for what an interrupted apply was creating ({e:#}); the intent stays until a lookup succeeds, or `infra state rm {address}` once you have checked by hand"
                    ));
                    break None;
                }
                Err(e) => {
                    return Err(e.context(format!(
                        "looking for {address}, which an interrupted apply was creating (`infra state rm {address}` forgets that create)"
                    )));
                }
            };
            let left = deadline - chrono::Utc::now();
            if !matches!(found, Found::Nothing) || left <= chrono::Duration::zero() {
                break Some(found);
            }
            if !said {
                engine.observer.event(&Event::Looking { address: &address });
                said = true;
            }
            let pause = left.to_std().unwrap_or_default().min(Duration::from_secs(1));
            tokio::time::sleep(pause).await;
        };
        let (id, mut attributes) = match found {
            None => continue,
            Some(Found::Nothing) => {
                notes.push(format!(
                    "{address}: an earlier apply stopped while creating it (since {}), and AWS has no such resource: recorded as never created",
                    intent.since
                ));
                journal.drop_intent(&address);
                continue;
            }
            Some(Found::NotOurs(id, attrs)) => {
                anyhow::bail!(
                    "{address}: an earlier apply stopped while creating it, and AWS has {} {id} in its place, but that is not this stack's ({}): infra does not adopt it. If it is this resource, `infra import {address} {id} STACK_FILE`; otherwise `infra state rm {address}` forgets the interrupted create",
                    address.ty,
                    owner(&attrs)
                );
            }
            Some(Found::Many(ids)) => {
                anyhow::bail!(
                    "{address}: an earlier apply stopped while creating it, and AWS has {} candidates carrying its tags: {}; infra picks none. Delete the ones that should not exist, or `infra import {address} ID STACK_FILE` the right one",
                    ids.len(),
                    ids.join(", ")
                );
            }
            Some(Found::Ours(id, attrs)) => (id, attrs),
        };
        if journal.state().resources.get(&address).is_some_and(|r| r.id == id) {
            journal.drop_intent(&address);
            continue;
        }
        let resource = stack.resources.get(&address);
        if let Some(schema) = crate::types::schema(&address.ty) {
            schema.keep_local(&mut attributes, &intent.attributes);
        }
        // A create-before-destroy replacement: what state held is an old
        // object, deposed.
        journal.adopt(&address, super::resource_state(&address, &id, attributes, resource));
        notes.push(format!(
            "{address}: adopted {id}, which an earlier apply created (since {}) and did not record",
            intent.since
        ));
    }
    Ok(notes)
}

/// Whether a lookup was refused for want of permission (HTTP 403).
fn denied(e: &anyhow::Error) -> bool {
    api_error(e).is_some_and(|a| a.status == Some(403) || a.code().starts_with("AccessDenied"))
}

/// Whether an unresolved create intent for `address` is in `state`: what an
/// earlier create made could not be looked up, and creating it again could
/// make a second one.
pub fn unresolved(state: &State, address: &Address) -> bool {
    state.intents.get(address).is_some_and(|i| i.operation == Operation::Create)
}
