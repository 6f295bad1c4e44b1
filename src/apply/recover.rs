//! Resolving what an interrupted apply left half-done, before anything else.
//!
//! Apply writes an intent to state before each mutating call and takes it away
//! with the result. An intent still there means the run stopped in between: a
//! create may or may not have reached AWS. What it may have made is looked up
//! (by its `infra:stack` and `infra:address` tags, or by its name, port or
//! priority) and adopted only when it carries this stack's `infra:stack` and
//! `infra:address` tags: what belongs to someone else is never taken over. Any
//! other operation left half-done needs nothing but the refresh that follows,
//! which reads what AWS has now.

use std::time::Duration;

use super::Engine;
use crate::observe::Event;
use crate::provider::{Provider, api_error};
use crate::stack::Stack;
use crate::state::{Deposed, ResourceState, State};
use crate::types::{Address, Attrs, AttrsExt, Operation};

/// How long after a create was sent it may take to become visible.
const GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// The tags that say whose a resource is.
const OWNER_TAGS: [&str; 2] = ["infra:stack", "infra:address"];

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

/// How far AWS's clock may run behind this host's when a creation time proves
/// that a create made something.
const SKEW: chrono::Duration = chrono::Duration::seconds(60);

/// Looks for what a create given `asked`, sent at `since`, may have made, and
/// whether it is ours: it carries the owner tags the create asked for, or it
/// carries none and AWS says it was made after `since` (a bucket, whose tags
/// come after its create).
pub async fn look(
    provider: &dyn Provider,
    asked: &Attrs,
    since: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Found> {
    let mut ids = provider.find(asked).await?;
    if ids.len() > 1 {
        ids.sort();
        return Ok(Found::Many(ids));
    }
    let Some(id) = ids.pop() else {
        return Ok(Found::Nothing);
    };
    let Some(attrs) = provider.read(std::slice::from_ref(&id)).await?.remove(&id) else {
        return Ok(Found::Nothing);
    };
    let (want, have) = (asked.string_map("tags"), attrs.string_map("tags"));
    let mut ours = OWNER_TAGS
        .iter()
        .all(|k| want.contains_key(*k) && want.get(*k) == have.get(*k));
    if !ours && !OWNER_TAGS.iter().any(|k| have.contains_key(*k)) {
        ours = provider
            .created(&id)
            .await?
            .is_some_and(|made| made >= since - SKEW);
    }
    Ok(if ours {
        Found::Ours(id, attrs)
    } else {
        Found::NotOurs(id, attrs)
    })
}

/// Why a candidate is not this stack's, for messages: its owner tags.
pub fn owner(attrs: &Attrs) -> String {
    let tags = attrs.string_map("tags");
    let said: Vec<String> = OWNER_TAGS
        .iter()
        .filter_map(|k| tags.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    if said.is_empty() {
        "it has no infra:stack or infra:address tag".into()
    } else {
        format!("its tags say {}", said.join(", "))
    }
}

/// Resolves every intent in `state` (in memory; the caller saves). Returns what
/// it did, one line each, for the plan.
pub async fn recover(
    engine: &Engine,
    stack: &Stack,
    state: &mut State,
) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    for (address, intent) in state.intents.clone() {
        if intent.operation != Operation::Create {
            notes.push(format!(
                "{address}: an earlier apply stopped during its {} (since {}); the refresh reads what AWS has now",
                intent.operation, intent.since
            ));
            state.intents.remove(&address);
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
            let found = match look(provider, &intent.attributes, since).await {
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
            let pause = left
                .to_std()
                .unwrap_or_default()
                .min(Duration::from_secs(1));
            tokio::time::sleep(pause).await;
        };
        let (id, mut attributes) = match found {
            None => continue,
            Some(Found::Nothing) => {
                notes.push(format!(
                    "{address}: an earlier apply stopped while creating it (since {}), and AWS has no such resource: recorded as never created",
                    intent.since
                ));
                state.intents.remove(&address);
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
        state.intents.remove(&address);
        if state.resources.get(&address).is_some_and(|r| r.id == id) {
            continue;
        }
        let resource = stack.resources.get(&address);
        if let Some(schema) = crate::types::schema(&address.ty) {
            schema.keep_local(&mut attributes, &intent.attributes);
        }
        // A create-before-destroy replacement: what state held is an old object.
        let deposed = match state.resources.remove(&address) {
            Some(p) => {
                let mut deposed = p.deposed;
                deposed.push(Deposed {
                    id: p.id,
                    attributes: p.attributes,
                });
                deposed
            }
            None => Vec::new(),
        };
        state.resources.insert(
            address.clone(),
            ResourceState {
                deposed,
                ..super::resource_state(&address, &id, attributes, resource)
            },
        );
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
    state
        .intents
        .get(address)
        .is_some_and(|i| i.operation == Operation::Create)
}
