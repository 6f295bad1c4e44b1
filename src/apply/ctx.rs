//! What every step of one run is given (`Ctx`: the providers, the journal,
//! the stack and plan, the interrupt) and what each step asks of it: a
//! call's context, what state holds, what the stack wants with references
//! resolved, the record of a result; and a read back through AWS's eventual
//! consistency. Shared by the operations (`run.rs`) and rollouts
//! (`rollout.rs`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use serde_json::Value;
use tokio::sync::watch;

use super::{Journal, resource_state};
use crate::observe::Observer;
use crate::plan::{Action, Plan};
use crate::provider::{OpContext, Provider, Registry};
use crate::stack::Stack;
use crate::stack::graph::Part;
use crate::types::reference::{self, Reference};
use crate::types::state::ResourceState;
use crate::types::{Address, Attrs, Operation, Timeouts};

/// What every step of one run shares.
pub(super) struct Ctx<'a> {
    pub registry: &'a Registry,
    pub observer: &'a Arc<dyn Observer>,
    pub journal: &'a Journal,
    /// `None` for a destroy.
    pub stack: Option<&'a Stack>,
    pub plan: &'a Plan,
    /// Ctrl-C or SIGTERM: long steps (a rollout's pauses) stop where they are.
    pub interrupt: watch::Receiver<super::Signal>,
}

impl Ctx<'_> {
    pub fn provider(&self, a: &Address) -> anyhow::Result<&dyn Provider> {
        self.registry.provider(&a.ty)
    }

    /// The context of a mutating call on `a`: its timeouts from the stack.
    pub fn op(&self, a: &Address, token: Option<String>) -> OpContext {
        OpContext {
            address: a.clone(),
            timeouts: self
                .stack
                .and_then(|s| s.resources.get(a))
                .map_or_else(Timeouts::default, |r| r.timeouts),
            token,
            observer: self.observer.clone(),
        }
    }

    /// A resource's state, or an error saying it is not there (never a panic).
    pub async fn in_state(&self, a: &Address) -> anyhow::Result<ResourceState> {
        self.journal.read(|s| s.resources.get(a).cloned()).await.ok_or_else(|| {
            anyhow::anyhow!("{a} is not in state (it was removed while this apply ran)")
        })
    }

    /// What the plan saw before (refreshed); empty when it saw nothing.
    pub fn before(&self, a: &Address) -> Attrs {
        self.plan.change(a).and_then(|c| c.before.clone()).unwrap_or_default()
    }

    /// Desired attributes with every reference resolved from state, as the
    /// values they stand for. The main part leaves out the deferred
    /// attributes, which may reference what comes after it.
    pub async fn desired(&self, a: &Address, part: Part) -> anyhow::Result<Attrs> {
        let stack = self.stack.ok_or_else(|| anyhow::anyhow!("no stack to apply"))?;
        let resource =
            stack.resources.get(a).ok_or_else(|| anyhow::anyhow!("{a} is not in the stack"))?;
        let mut attrs = resource.attrs.clone();
        // What the stack no longer sets is removed or put back, as planned.
        let removed = self
            .journal
            .read(|state| crate::plan::removals(resource, state.resources.get(a)))
            .await;
        attrs.extend(removed);
        if part == Part::Main {
            attrs.retain(|k, _| !resource.schema.attr(k).is_some_and(|x| x.deferred));
        }
        let (resolved, problem) = self
            .journal
            .read(|state| {
                let lookup = |r: &Reference| {
                    state.resources.get(&r.address).and_then(|s| s.attributes.get(&r.attr)).cloned()
                };
                let attrs = Value::Object(attrs);
                (reference::resolve(&attrs, &lookup), reference::problem(&attrs, &lookup))
            })
            .await;
        if let Some(why) = problem {
            bail!("an expression cannot be evaluated: {why}");
        }
        if !reference::is_known(&resolved) {
            bail!("a value it references is still unknown");
        }
        // Known: the value it stands for, what AWS is sent and state records.
        let Value::Object(mut out) = reference::value_of(&resolved) else {
            bail!("an object resolved to something else");
        };
        // What it ignores (`ignore_changes`) stays as the plan saw it.
        let before = self.before(a);
        if !before.is_empty() {
            for path in &resource.ignore_changes {
                path.take(&mut out, &before);
            }
        }
        Ok(out)
    }

    /// Writes the result of an operation: the observed attributes (plus the
    /// ones kept only in state, from what was asked) and what the stack says the
    /// resource depends on. `pending`: AWS accepted an operation and has not
    /// finished it.
    pub async fn record(
        &self,
        a: &Address,
        id: &str,
        mut observed: Attrs,
        asked: &Attrs,
        pending: Option<Operation>,
    ) -> anyhow::Result<()> {
        if let Some(schema) = crate::types::schema(&a.ty) {
            schema.keep_local(&mut observed, asked);
        }
        let resource = self.stack.and_then(|s| s.resources.get(a));
        let replacing = self.plan.change(a).is_some_and(|c| c.action == Action::CreateThenDelete);
        self.journal
            .record(resource_state(a, id, observed, resource), a, replacing, pending)
            .await?;
        Ok(())
    }
}

/// Reads one resource back, waiting for AWS's eventual consistency.
pub(super) async fn read_back(provider: &dyn Provider, id: &str) -> anyhow::Result<Attrs> {
    let ids = [id.to_string()];
    let mut delay = Duration::from_millis(200);
    for _ in 0..12 {
        if let Some(a) = provider.read(&ids).await?.remove(id) {
            return Ok(a);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    bail!("{id} was created but cannot be read back")
}
