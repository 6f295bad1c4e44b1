//! The provider of `cloudwatch_log_group`. Its id is its name. Made with its
//! KMS key and tags; the retention is then set by `update` (PutRetentionPolicy,
//! DeleteRetentionPolicy when it is taken out), the KMS key changed with
//! AssociateKmsKey / DisassociateKmsKey, tags with TagResource / UntagResource.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map, tags_value};
use crate::types::{Attrs, AttrsExt};

pub struct CloudwatchLogGroup(pub Arc<Aws>);

#[async_trait]
impl Provider for CloudwatchLogGroup {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |name| async move {
            let Some(group) = describe(aws, &name).await? else {
                return Ok(None);
            };
            let arn = group.arn().unwrap_or_default().trim_end_matches(":*").to_string();
            let tags =
                send!(aws.logs.list_tags_for_resource().resource_arn(&arn), "ListTagsForResource")?;
            let mut attrs = json!({
                "id": name,
                "name": name,
                "arn": arn,
                "tags": tags_value(
                    tags.tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                ),
            });
            if let Some(days) = group.retention_in_days() {
                attrs["retention_days"] = json!(days);
            }
            if let Some(key) = group.kms_key_id() {
                attrs["kms_key_id"] = json!(key);
            }
            Ok(Some((name.clone(), into_map(attrs))))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let name = attrs.str("name")?;
        send!(
            self.0
                .logs
                .create_log_group()
                .log_group_name(name)
                .set_kms_key_id(attrs.opt_str("kms_key_id").map(str::to_string))
                .set_tags(Some(attrs.tags().into_iter().collect())),
            "CreateLogGroup"
        )?;
        // Made with its key and tags, kept for ever until `update` sets the
        // retention; its ARN is derived.
        let mut holds = into_map(json!({
            "id": name,
            "name": name,
            "arn": arn(&self.0, name).await?,
            "tags": attrs.string_map("tags"),
        }));
        if let Some(key) = attrs.opt_str("kms_key_id") {
            holds.insert("kms_key_id".into(), json!(key));
        }
        Ok(Made::holding(name, holds))
    }

    /// DescribeLogGroups by each name, without the tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |name| async move {
            Ok(describe(aws, &name).await?.map(|_| name))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let logs = &self.0.logs;
        if let Some(days) = after.opt_int("retention_days")
            && before.opt_int("retention_days") != Some(days)
        {
            send!(
                logs.put_retention_policy()
                    .log_group_name(id)
                    .retention_in_days(i32::try_from(days)?),
                "PutRetentionPolicy"
            )?;
        }
        // No longer set (`null`): kept for ever, and no longer encrypted
        // with the stack's key.
        if after.get("retention_days").is_some_and(serde_json::Value::is_null)
            && before.opt_int("retention_days").is_some()
        {
            send!(logs.delete_retention_policy().log_group_name(id), "DeleteRetentionPolicy")?;
        }
        if differs(before, after, "kms_key_id") {
            match after.opt_str("kms_key_id") {
                Some(key) => {
                    send!(
                        logs.associate_kms_key().log_group_name(id).kms_key_id(key),
                        "AssociateKmsKey"
                    )?;
                }
                None => {
                    send!(logs.disassociate_kms_key().log_group_name(id), "DisassociateKmsKey")?;
                }
            }
        }
        if let Some(arn) = before.opt_str("arn").filter(|a| !a.is_empty()) {
            tags::sync(&tags::Logs, &self.0, arn, before, after).await?;
        }
        Ok(())
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.logs.delete_log_group().log_group_name(id), "DeleteLogGroup").or_gone()?;
        Ok(())
    }
}

/// The log group of this name, if there is one (DescribeLogGroups by prefix).
async fn describe(
    aws: &Aws,
    name: &str,
) -> Result<Option<aws_sdk_cloudwatchlogs::types::LogGroup>> {
    let page =
        send!(aws.logs.describe_log_groups().log_group_name_prefix(name), "DescribeLogGroups")?;
    Ok(page.log_groups().iter().find(|g| g.log_group_name() == Some(name)).cloned())
}

/// A log group's ARN: `arn:aws:logs:REGION:ACCOUNT:log-group:NAME`.
async fn arn(aws: &Aws, name: &str) -> Result<String> {
    Ok(format!("arn:aws:logs:{}:{}:log-group:{name}", aws.region, aws.account().await?))
}
