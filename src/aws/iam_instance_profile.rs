//! The provider of `iam_instance_profile`: made with its tags and its role,
//! its role swapped in place (one at most, as IAM allows), and taken out
//! before the profile is deleted.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::iam_role::iam_tags;
use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value};
use crate::types::{Attrs, AttrsExt};

pub struct IamInstanceProfile(pub Arc<Aws>);

#[async_trait]
impl Provider for IamInstanceProfile {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |name| async move {
            let got = send!(
                aws.iam.get_instance_profile().instance_profile_name(&name),
                "GetInstanceProfile"
            )
            .or_gone()?;
            let Some(p) = got.as_ref().and_then(|g| g.instance_profile()) else {
                return Ok(None);
            };
            // GetInstanceProfile answers with the tags (the emulator has no
            // ListInstanceProfileTags).
            let mut attrs = into_map(json!({
                "id": p.instance_profile_name(),
                "name": p.instance_profile_name(),
                "arn": p.arn(),
                "path": p.path(),
                "unique_id": p.instance_profile_id(),
                "role": p.roles().first().map(|r| r.role_name()),
                "tags": tags_value(p.tags().iter().map(|t| (t.key(), t.value()))),
            }));
            attrs.retain(|_, v| !v.is_null());
            Ok(Some((name, attrs)))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let name = attrs.str("name")?;
        let out = send!(
            aws.iam
                .create_instance_profile()
                .instance_profile_name(name)
                .set_path(attrs.opt_str("path").map(str::to_string))
                .set_tags(Some(iam_tags(attrs.tags())?)),
            "CreateInstanceProfile"
        )?;
        if let Some(role) = attrs.opt_str("role") {
            add_role(aws, name, role).await?;
        }
        let p = out.instance_profile();
        let answer = into_map(json!({
            "id": name,
            "arn": p.map(|p| p.arn()),
            "unique_id": p.map(|p| p.instance_profile_id()),
        }));
        Ok(Made::asked(name, attrs, answer))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        if before.get("role") != after.get("role") {
            if let Some(old) = before.opt_str("role") {
                remove_role(aws, id, old).await?;
            }
            if let Some(new) = after.opt_str("role") {
                add_role(aws, id, new).await?;
            }
        }
        tags::sync(&tags::IamInstanceProfile, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    /// Its role out first: IAM refuses to delete a profile that holds one.
    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let got =
            send!(aws.iam.get_instance_profile().instance_profile_name(id), "GetInstanceProfile")
                .or_gone()?;
        let Some(p) = got.as_ref().and_then(|g| g.instance_profile()) else {
            return Ok(());
        };
        for role in p.roles() {
            remove_role(aws, id, role.role_name()).await?;
        }
        send!(aws.iam.delete_instance_profile().instance_profile_name(id), "DeleteInstanceProfile")
            .or_gone()?;
        Ok(())
    }
}

async fn add_role(aws: &Aws, profile: &str, role: &str) -> Result<()> {
    send!(
        aws.iam.add_role_to_instance_profile().instance_profile_name(profile).role_name(role),
        "AddRoleToInstanceProfile"
    )?;
    Ok(())
}

async fn remove_role(aws: &Aws, profile: &str, role: &str) -> Result<()> {
    send!(
        aws.iam.remove_role_from_instance_profile().instance_profile_name(profile).role_name(role),
        "RemoveRoleFromInstanceProfile"
    )
    .or_gone()?;
    Ok(())
}
