//! The provider of `kms_key`. A key is made with its
//! policy, usage and tags; rotation, its enabled flag and description are
//! kept in line afterwards. Deleting a key schedules its deletion after its
//! window; a key pending deletion counts as gone.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
use serde_json::{Value, json};

use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, read_back, tags_value};
use crate::types::stack_id::same_owner;
use crate::types::{Attrs, AttrsExt, kms_key as ty};

pub struct KmsKey(pub Arc<Aws>);

/// A key's metadata, unless it is gone or waiting to be deleted.
async fn describe(aws: &Aws, id: &str) -> Result<Option<aws_sdk_kms::types::KeyMetadata>> {
    let found = send!(aws.kms.describe_key().key_id(id), "DescribeKey").or_gone()?;
    Ok(found
        .and_then(|k| k.key_metadata().cloned())
        .filter(|m| m.key_state() != Some(&KeyState::PendingDeletion)))
}

/// A key's tags, as read back.
async fn key_tags(aws: &Aws, id: &str) -> Result<Value> {
    let tags = send!(aws.kms.list_resource_tags().key_id(id), "ListResourceTags")?;
    Ok(tags_value(tags.tags().iter().map(|t| (t.tag_key(), t.tag_value()))))
}

#[async_trait]
impl Provider for KmsKey {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |id| async move {
            let Some(meta) = describe(aws, &id).await? else {
                return Ok(None);
            };
            let policy =
                send!(aws.kms.get_key_policy().key_id(&id).policy_name("default"), "GetKeyPolicy")?;
            let rotation =
                send!(aws.kms.get_key_rotation_status().key_id(&id), "GetKeyRotationStatus")?;
            let attrs = read_back(
                json!({
                    "id": meta.key_id(),
                    "key_id": meta.key_id(),
                    "arn": meta.arn(),
                    "description": meta.description().unwrap_or_default(),
                    "policy": policy.policy(),
                    "enable_key_rotation": rotation.key_rotation_enabled(),
                    "rotation_period_in_days": rotation
                        .rotation_period_in_days()
                        .filter(|_| rotation.key_rotation_enabled()),
                    "is_enabled": meta.enabled(),
                    "key_usage": meta.key_usage().map(|u| u.as_str()),
                    "key_spec": meta.key_spec().map(|s| s.as_str()),
                    "multi_region": meta.multi_region().unwrap_or(false),
                    "tags": key_tags(aws, &id).await?,
                }),
                ty::canonical,
            );
            Ok(Some((id, attrs)))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let tag_list = attrs
            .tags()
            .into_iter()
            .map(|(k, v)| aws_sdk_kms::types::Tag::builder().tag_key(k).tag_value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let out = send!(
            aws.kms
                .create_key()
                .description(attrs.opt_str("description").unwrap_or_default())
                .set_policy(attrs.opt_str("policy").map(str::to_string))
                .set_key_usage(attrs.opt_str("key_usage").map(KeyUsageType::from))
                .set_key_spec(attrs.opt_str("key_spec").map(KeySpec::from))
                .set_multi_region(attrs.opt_bool("multi_region"))
                .set_tags(Some(tag_list)),
            "CreateKey"
        )?;
        let Some(meta) = out.key_metadata() else {
            anyhow::bail!("CreateKey answered without the key");
        };
        // Made enabled, without rotation: `update` turns on what the stack asks.
        let holds = read_back(
            json!({
                "id": meta.key_id(),
                "key_id": meta.key_id(),
                "arn": meta.arn(),
                "description": meta.description().unwrap_or_default(),
                "policy": attrs.get("policy"),
                "enable_key_rotation": false,
                "is_enabled": meta.enabled(),
                "key_usage": meta.key_usage().map(|u| u.as_str()),
                "key_spec": meta.key_spec().map(|s| s.as_str()),
                "multi_region": meta.multi_region().unwrap_or(false),
                "tags": attrs.string_map("tags"),
            }),
            ty::canonical,
        );
        Ok(Made::holding(meta.key_id(), holds))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (b, a) = super::canonical_pair(ty::canonical, before, after);
        let changed = |k: &str| a.contains_key(k) && b.get(k) != a.get(k);
        if changed("description") {
            send!(
                aws.kms
                    .update_key_description()
                    .key_id(id)
                    .description(a.opt_str("description").unwrap_or_default()),
                "UpdateKeyDescription"
            )?;
        }
        if changed("policy") {
            send!(
                aws.kms.put_key_policy().key_id(id).policy_name("default").policy(a.str("policy")?),
                "PutKeyPolicy"
            )?;
        }
        if changed("is_enabled") {
            match a.opt_bool("is_enabled") {
                Some(false) => send!(aws.kms.disable_key().key_id(id), "DisableKey").map(|_| ())?,
                _ => send!(aws.kms.enable_key().key_id(id), "EnableKey").map(|_| ())?,
            }
        }
        if changed("enable_key_rotation") || changed("rotation_period_in_days") {
            match a.opt_bool("enable_key_rotation") {
                Some(true) => send!(
                    aws.kms.enable_key_rotation().key_id(id).set_rotation_period_in_days(
                        a.get("rotation_period_in_days").and_then(Value::as_i64).map(|d| d as i32)
                    ),
                    "EnableKeyRotation"
                )
                .map(|_| ())?,
                _ => send!(aws.kms.disable_key_rotation().key_id(id), "DisableKeyRotation")
                    .map(|_| ())?,
            }
        }
        tags::sync(&tags::Kms, aws, id, &b, &a).await
    }

    /// Every key of the account that carries this resource's owner tags.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let keys: Vec<aws_sdk_kms::types::KeyListEntry> = items!(aws.kms.list_keys(), "ListKeys")?;
        let ids: Vec<String> = keys.iter().filter_map(|k| k.key_id()).map(str::to_string).collect();
        let wanted = &attrs.string_map("tags");
        let found = super::each(ids, |id| async move {
            if describe(aws, &id).await?.is_none() {
                return Ok(None);
            }
            let have = into_map(json!({ "tags": key_tags(aws, &id).await? })).string_map("tags");
            Ok(same_owner(wanted, &have).then_some(id))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Schedules the deletion after the key's window (7 to 30 days).
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let days = before.get("deletion_window_in_days").and_then(Value::as_i64).unwrap_or(30);
        match send!(
            aws.kms.schedule_key_deletion().key_id(id).pending_window_in_days(days as i32),
            "ScheduleKeyDeletion"
        )
        .or_gone()
        {
            Ok(_) => Ok(()),
            // Scheduled already (KMSInvalidStateException): gone as far as
            // the stack goes.
            Err(e) if describe(aws, id).await?.is_none() => {
                tracing::debug!("{id}: {e}; its deletion is scheduled already");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}
