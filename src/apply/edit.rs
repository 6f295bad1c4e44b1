//! The state edited by hand where AWS is reached: `infra import` reads what
//! exists, and `infra state mv` moves a resource's `infra:address` tag (a
//! mutating call: an intent first, like every step of an apply).

use anyhow::Result;
use serde_json::Value;

use super::{Engine, Journal};
use crate::provider::OpContext;
use crate::types::stack_id::ADDRESS_TAG;
use crate::types::{Address, Attrs, Operation};

impl Engine {
    /// What AWS holds as `id` of `address`'s type; `None` when it has no such
    /// resource. Only read: nothing is written.
    pub async fn import(&self, address: &Address, id: &str) -> Result<Option<Attrs>> {
        let provider = self.registry.provider(&address.ty)?;
        Ok(provider.read(&[id.to_string()]).await?.remove(id))
    }

    /// After `state mv`: the moved resource's `infra:address` tag follows it
    /// in AWS (so that the next plan has nothing to do), and state records
    /// what AWS holds then. Nothing happens unless the tag names `from`.
    pub async fn retag(&self, journal: &Journal, from: &Address, to: &Address) -> Result<()> {
        let Some(mut record) = journal.read(|s| s.resources.get(to).cloned()).await else {
            return Ok(());
        };
        let (id, before) = (record.id.clone(), record.attributes.clone());
        let old = Value::String(from.tag_value());
        if before.get("tags").and_then(|t| t.get(ADDRESS_TAG)) != Some(&old) {
            return Ok(());
        }
        let mut after = before.clone();
        if let Some(tags) = after.get_mut("tags").and_then(Value::as_object_mut) {
            tags.insert(ADDRESS_TAG.into(), Value::String(to.tag_value()));
        }
        let provider = self.registry.provider(&to.ty)?;
        let op = OpContext {
            address: to.clone(),
            timeouts: Default::default(),
            token: None,
            observer: self.observer.clone(),
        };
        journal.intend(to, Operation::Update, None, Attrs::new()).await?;
        let read = async {
            provider.update(&op, &id, &before, &after).await?;
            let mut found = provider.read(std::slice::from_ref(&id)).await?;
            found.remove(&id).ok_or_else(|| anyhow::anyhow!("{id} cannot be read back"))
        };
        let mut attrs = match read.await {
            Ok(attrs) => attrs,
            Err(e) => {
                // The call failed: what it may have changed is a tag the next
                // apply puts right.
                journal.resolve(to).await?;
                return Err(e);
            }
        };
        if let Some(schema) = crate::types::schema(&to.ty) {
            schema.keep_local(&mut attrs, &before);
        }
        record.attributes = attrs;
        journal.record(record, to, false, None).await?;
        Ok(())
    }
}
