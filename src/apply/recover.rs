//! Resolving what an interrupted apply left half-done, before anything else.
//!
//! Apply writes an intent to state before each mutating call and takes it away
//! with the result. An intent still there means the run stopped in between: a
//! create may or may not have reached AWS. It is looked up by its `infra:stack`
//! and `infra:address` tags (or its name) and adopted, or recorded as never
//! created. Any other operation left half-done needs nothing but the refresh
//! that follows, which reads what AWS has now.

use std::time::Duration;

use anyhow::Context;

use super::Engine;
use crate::observe::Event;
use crate::stack::Stack;
use crate::state::{Deposed, ResourceState, State};
use crate::types::Operation;

/// How long after a create was sent it may take to become visible.
const GRACE: chrono::Duration = chrono::Duration::seconds(10);

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
        let deadline = chrono::DateTime::parse_from_rfc3339(&intent.since)
            .map(|t| t.with_timezone(&chrono::Utc) + GRACE)
            .unwrap_or_else(|_| chrono::Utc::now());
        let mut said = false;
        let found = loop {
            let found = provider.find(&intent.attributes).await.with_context(|| {
                format!("looking for {address}, which an interrupted apply was creating")
            })?;
            let left = deadline - chrono::Utc::now();
            if found.is_some() || left <= chrono::Duration::zero() {
                break found;
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
        let observed = match &found {
            Some(id) => provider.read(std::slice::from_ref(id)).await?.remove(id),
            None => None,
        };
        let (Some(id), Some(mut attributes)) = (found, observed) else {
            notes.push(format!(
                "{address}: an earlier apply stopped while creating it (since {}), and AWS has no such resource: recorded as never created",
                intent.since
            ));
            state.intents.remove(&address);
            continue;
        };
        state.intents.remove(&address);
        if state.resources.get(&address).is_some_and(|r| r.id == id) {
            continue;
        }
        let resource = stack.resources.get(&address);
        if let Some(schema) = crate::types::schema(&address.ty) {
            schema.keep_local(&mut attributes, &intent.attributes);
        }
        // A create-before-destroy replacement: what state held is the old object.
        let previous = state.resources.remove(&address);
        let deposed = previous.and_then(|p| {
            p.deposed.or(Some(Deposed {
                id: p.id,
                attributes: p.attributes,
            }))
        });
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
