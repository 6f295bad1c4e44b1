//! The provider of `kms_alias`: an alias made, moved to another key in
//! place (UpdateAlias), deleted; read from the account's list of aliases.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt, kms_alias};

pub struct KmsAlias(pub Arc<Aws>);

/// Every alias of the account by name: its ARN and the key it names.
async fn aliases(aws: &Aws) -> Result<HashMap<String, Attrs>> {
    let all: Vec<aws_sdk_kms::types::AliasListEntry> =
        items!(aws.kms.list_aliases(), "ListAliases")?;
    Ok(all
        .iter()
        .filter_map(|a| {
            let (name, arn) = (a.alias_name()?, a.alias_arn()?);
            let key = a.target_key_id();
            // The key's ARN is the alias's, `alias/NAME` made `key/ID`.
            let key_arn = key
                .and_then(|k| arn.split_once(":alias/").map(|(head, _)| format!("{head}:key/{k}")));
            let mut attrs = into_map(json!({
                "id": name,
                "name": name,
                "arn": arn,
                "target_key_id": key,
                "target_key_arn": key_arn,
            }));
            attrs.retain(|_, v| !v.is_null());
            Some((name.to_string(), attrs))
        })
        .collect())
}

#[async_trait]
impl Provider for KmsAlias {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut all = aliases(&self.0).await?;
        all.retain(|name, _| ids.contains(name));
        Ok(all)
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let mut a = attrs.clone();
        kms_alias::canonical(&mut a);
        let name = a.str("name")?;
        let key = a.str("target_key_id")?;
        match send!(aws.kms.create_alias().alias_name(name).target_key_id(key), "CreateAlias") {
            Ok(_) => {}
            // Made already by an apply that stopped before it was recorded:
            // the same name on the same key is that one; on another key,
            // someone else's.
            Err(e) if e.code() == "AlreadyExistsException" => {
                let held = aliases(aws).await?.remove(name);
                if held.as_ref().and_then(|h| h.opt_str("target_key_id")) != Some(key) {
                    return Err(anyhow::Error::from(e).context(format!(
                        "alias {name} exists and names another key: `infra import` it, or choose another name"
                    )));
                }
            }
            Err(e) => return Err(e.into()),
        }
        // CreateAlias answers nothing: its ARN and its key's are made from
        // the account, known already.
        let head = format!("arn:aws:kms:{}:{}", aws.region, aws.account().await?);
        let answer = into_map(json!({
            "id": name,
            "arn": format!("{head}:{name}"),
            "target_key_arn": format!("{head}:key/{key}"),
        }));
        Ok(Made::asked(name, &a, answer))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let (b, a) = super::canonical_pair(kms_alias::canonical, before, after);
        if b.get("target_key_id") != a.get("target_key_id") {
            send!(
                self.0.kms.update_alias().alias_name(id).target_key_id(a.str("target_key_id")?),
                "UpdateAlias"
            )?;
        }
        Ok(())
    }

    /// Nothing: an alias carries no tags to tell whose it is. Its create
    /// takes an alias of the same name on the same key as the one an
    /// interrupted apply made.
    async fn find(&self, _attrs: &Attrs) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.kms.delete_alias().alias_name(id), "DeleteAlias").or_gone()?;
        Ok(())
    }
}
