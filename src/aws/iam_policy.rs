//! The provider of `iam_policy`: a customer-managed policy by its ARN. A new
//! document is a new default version (CreatePolicyVersion); before it is
//! made, the oldest versions that are not the default are deleted so that
//! the policy keeps within IAM's five.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::PolicyVersion;
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::iam_role::iam_tags;
use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, read_back, tags_value};
use crate::types::iam_policy::{self as ty, MAX_VERSIONS};
use crate::types::{Attrs, AttrsExt};

pub struct IamPolicy(pub Arc<Aws>);

/// Every version of a policy, oldest first.
async fn versions(aws: &Aws, arn: &str) -> Result<Vec<PolicyVersion>> {
    let mut all: Vec<PolicyVersion> =
        items!(aws.iam.list_policy_versions().policy_arn(arn), "ListPolicyVersions")?;
    // IAM numbers versions v1, v2, ... in the order it made them.
    all.sort_by_key(|v| {
        v.version_id().and_then(|n| n.trim_start_matches('v').parse::<u64>().ok()).unwrap_or(0)
    });
    Ok(all)
}

#[async_trait]
impl Provider for IamPolicy {
    /// A name made from `name_prefix`, settled before the intent.
    fn prepare(&self, attrs: &mut Attrs) {
        super::name_from_prefix(attrs);
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |arn| async move {
            let Some(got) = send!(aws.iam.get_policy().policy_arn(&arn), "GetPolicy").or_gone()?
            else {
                return Ok(None);
            };
            let Some(p) = got.policy() else { return Ok(None) };
            let version = p.default_version_id().unwrap_or("v1");
            let doc = send!(
                aws.iam.get_policy_version().policy_arn(&arn).version_id(version),
                "GetPolicyVersion"
            )?;
            let document = doc
                .policy_version()
                .and_then(|v| v.document())
                .map(|d| percent_decode_str(d).decode_utf8_lossy().into_owned());
            let tag_list = send!(aws.iam.list_policy_tags().policy_arn(&arn), "ListPolicyTags")?;
            let attrs = read_back(
                json!({
                    "id": p.arn(),
                    "arn": p.arn(),
                    "name": p.policy_name(),
                    "path": p.path(),
                    "description": p.description().unwrap_or_default(),
                    "policy": document,
                    "policy_id": p.policy_id(),
                    "default_version_id": p.default_version_id(),
                    "attachment_count": p.attachment_count(),
                    "tags": tags_value(tag_list.tags().iter().map(|t| (t.key(), t.value()))),
                }),
                ty::canonical,
            );
            Ok(Some((arn, attrs)))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let mut a = attrs.clone();
        ty::canonical(&mut a);
        let out = send!(
            aws.iam
                .create_policy()
                .policy_name(a.str("name")?)
                .set_path(a.opt_str("path").map(str::to_string))
                .set_description(
                    a.opt_str("description").filter(|d| !d.is_empty()).map(str::to_string)
                )
                .policy_document(a.str("policy")?)
                .set_tags(Some(iam_tags(a.tags())?)),
            "CreatePolicy"
        )?;
        let Some(p) = out.policy() else {
            anyhow::bail!("CreatePolicy answered without the policy");
        };
        let arn = p.arn().unwrap_or_default().to_string();
        let answer = into_map(json!({
            "id": arn,
            "arn": arn,
            "policy_id": p.policy_id(),
            "default_version_id": p.default_version_id().unwrap_or("v1"),
            "attachment_count": 0,
        }));
        Ok(Made::asked(arn, &a, answer))
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
        if b.get("policy") != a.get("policy") {
            // Room for the new version: the oldest that are not the default
            // go, leaving four.
            let all = versions(aws, id).await?;
            let spare = all.len().saturating_sub(MAX_VERSIONS - 1);
            for old in all.iter().filter(|v| !v.is_default_version()).take(spare) {
                send!(
                    aws.iam
                        .delete_policy_version()
                        .policy_arn(id)
                        .version_id(old.version_id().unwrap_or_default()),
                    "DeletePolicyVersion"
                )?;
            }
            send!(
                aws.iam
                    .create_policy_version()
                    .policy_arn(id)
                    .policy_document(a.str("policy")?)
                    .set_as_default(true),
                "CreatePolicyVersion"
            )?;
        }
        tags::sync(&tags::IamPolicy, aws, id, &b, &a).await
    }

    /// The ARN a policy of this path and name has in this account.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let arn = format!(
            "arn:aws:iam::{}:policy{}{}",
            aws.account().await?,
            attrs.opt_str("path").unwrap_or("/"),
            attrs.str("name")?
        );
        super::find_by_id(self, &arn).await
    }

    /// Its versions other than the default, then the policy (AWS refuses to
    /// delete one that has others, or that is still attached).
    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let all = match versions(aws, id).await {
            Ok(all) => all,
            Err(e) if crate::provider::api_error(&e).is_some_and(|a| a.is_not_found()) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        for old in all.iter().filter(|v| !v.is_default_version()) {
            send!(
                aws.iam
                    .delete_policy_version()
                    .policy_arn(id)
                    .version_id(old.version_id().unwrap_or_default()),
                "DeletePolicyVersion"
            )
            .or_gone()?;
        }
        send!(aws.iam.delete_policy().policy_arn(id), "DeletePolicy").or_gone()?;
        Ok(())
    }
}
