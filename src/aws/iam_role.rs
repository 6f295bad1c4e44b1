//! `iam_role`: a role with its trust policy, managed policies and inline policies.
//! Policy documents are compared by meaning (src/stack/policy.rs).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use super::tags;
use super::{Aws, Result};
use crate::provider::{ApiError, GoneOk, Made, OpContext, Provider, api_error};
use crate::types::attrs::{read_back, tags_value};
use crate::types::iam_role as ty;
use crate::types::{Attrs, AttrsExt};
use aws_sdk_iam::types::Tag;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

fn decode(doc: &str) -> String {
    percent_decode_str(doc).decode_utf8_lossy().into_owned()
}

pub struct IamRole(pub Arc<Aws>);

/// The role of this name, if there is one (GetRole).
pub async fn get_role(aws: &Aws, name: &str) -> Result<Option<aws_sdk_iam::types::Role>> {
    Ok(send!(aws.iam.get_role().role_name(name), "GetRole")
        .or_gone()?
        .and_then(|r| r.role().cloned()))
}

/// Tags as IAM takes them (roles, OIDC providers).
pub fn iam_tags(pairs: Vec<(String, String)>) -> Result<Vec<Tag>> {
    Ok(pairs
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

#[async_trait]
impl Provider for IamRole {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let mut out = HashMap::new();
        for name in ids {
            let Some(role) = get_role(aws, name).await? else {
                continue;
            };
            let attached = attached_policies(aws, name).await?;
            let mut inline = BTreeMap::new();
            for p in inline_policy_names(aws, name).await? {
                let doc = send!(
                    aws.iam.get_role_policy().role_name(name).policy_name(&p),
                    "GetRolePolicy"
                )?;
                inline.insert(p, decode(doc.policy_document()));
            }
            let tag_list = send!(aws.iam.list_role_tags().role_name(name), "ListRoleTags")?;
            let attrs = read_back(
                json!({
                    "id": role.role_name(),
                    "name": role.role_name(),
                    "arn": role.arn(),
                    "assume_role_policy": role.assume_role_policy_document().map(decode),
                    "managed_policy_arns": attached,
                    "inline_policies": inline,
                    "description": role.description().unwrap_or_default(),
                    "path": role.path(),
                    "max_session_duration": role.max_session_duration().unwrap_or(3600),
                    "permissions_boundary": role
                        .permissions_boundary()
                        .and_then(|b| b.permissions_boundary_arn()),
                    "tags": tags_value(tag_list.tags().iter().map(|t| (t.key(), t.value()))),
                }),
                ty::canonical,
            );
            out.insert(name.clone(), attrs);
        }
        Ok(out)
    }

    /// GetRole for each, without its policies and tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |name| async move {
            Ok(get_role(aws, &name).await?.map(|_| name))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let mut a = attrs.clone();
        ty::canonical(&mut a);
        let tag_list = iam_tags(a.tags())?;
        let out = send!(
            aws.iam
                .create_role()
                .role_name(a.str("name")?)
                .assume_role_policy_document(a.str("assume_role_policy")?)
                .set_description(
                    a.get("description")
                        .and_then(Value::as_str)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string)
                )
                .set_path(a.get("path").and_then(Value::as_str).map(str::to_string))
                .set_max_session_duration(
                    a.get("max_session_duration").and_then(Value::as_i64).map(|n| n as i32)
                )
                .set_permissions_boundary(
                    a.get("permissions_boundary").and_then(Value::as_str).map(str::to_string)
                )
                .set_tags(Some(tag_list)),
            "CreateRole"
        )?;
        // A new role: its trust policy and tags as sent, its ARN from the
        // answer, no policies yet (`update` attaches and puts them).
        let Some(role) = out.role() else {
            return Ok(String::new().into());
        };
        let holds = read_back(
            json!({
                "id": role.role_name(),
                "name": role.role_name(),
                "arn": role.arn(),
                "assume_role_policy": a.get("assume_role_policy"),
                "managed_policy_arns": [],
                "inline_policies": {},
                "description": a.get("description").cloned().unwrap_or(json!("")),
                "path": role.path(),
                "max_session_duration": role.max_session_duration().unwrap_or(3600),
                "permissions_boundary": a.get("permissions_boundary"),
                "tags": a.string_map("tags"),
            }),
            ty::canonical,
        );
        Ok(Made::holding(role.role_name(), holds))
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
        if b.get("assume_role_policy") != a.get("assume_role_policy") {
            send!(
                aws.iam
                    .update_assume_role_policy()
                    .role_name(id)
                    .policy_document(a.str("assume_role_policy")?),
                "UpdateAssumeRolePolicy"
            )?;
        }
        // Description and session length in one UpdateRole.
        let changed = |k: &str| b.get(k) != a.get(k);
        if changed("description") || changed("max_session_duration") {
            send!(
                aws.iam
                    .update_role()
                    .role_name(id)
                    .description(a.get("description").and_then(Value::as_str).unwrap_or(""))
                    .set_max_session_duration(
                        a.get("max_session_duration").and_then(Value::as_i64).map(|n| n as i32)
                    ),
                "UpdateRole"
            )?;
        }
        if changed("permissions_boundary") {
            match a.get("permissions_boundary").and_then(Value::as_str) {
                Some(arn) => send!(
                    aws.iam.put_role_permissions_boundary().role_name(id).permissions_boundary(arn),
                    "PutRolePermissionsBoundary"
                )
                .map(|_| ())?,
                None => send!(
                    aws.iam.delete_role_permissions_boundary().role_name(id),
                    "DeleteRolePermissionsBoundary"
                )
                .map(|_| ())?,
            }
        }
        let list = |m: &Attrs| -> Vec<String> {
            m.get("managed_policy_arns")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let (have, want) = (list(&b), list(&a));
        for arn in want.iter().filter(|p| !have.contains(p)) {
            send!(aws.iam.attach_role_policy().role_name(id).policy_arn(arn), "AttachRolePolicy")?;
        }
        for arn in have.iter().filter(|p| !want.contains(p)) {
            detach(aws, id, arn).await?;
        }
        let docs = |m: &Attrs| {
            m.get("inline_policies").and_then(Value::as_object).cloned().unwrap_or_default()
        };
        let (have, want) = (docs(&b), docs(&a));
        for (name, doc) in want.iter().filter(|(k, v)| have.get(*k) != Some(*v)) {
            send!(
                aws.iam
                    .put_role_policy()
                    .role_name(id)
                    .policy_name(name)
                    .policy_document(doc.as_str().unwrap_or("{}")),
                "PutRolePolicy"
            )?;
        }
        for name in have.keys().filter(|k| !want.contains_key(*k)) {
            delete_inline(aws, id, name).await?;
        }
        tags::sync(&tags::IamRole, aws, id, &b, &a).await?;
        Ok(())
    }

    /// Detaches managed policies and deletes inline ones, then the role.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let attached = match attached_policies(aws, id).await {
            Ok(arns) => arns,
            Err(e) if api_error(&e).is_some_and(ApiError::is_not_found) => return Ok(()),
            Err(e) => return Err(e),
        };
        for p in &attached {
            detach(aws, id, p).await?;
        }
        for name in inline_policy_names(aws, id).await? {
            delete_inline(aws, id, &name).await?;
        }
        send!(aws.iam.delete_role().role_name(id), "DeleteRole").or_gone()?;
        Ok(())
    }
}

/// The ARNs of every managed policy attached to a role, page by page.
async fn attached_policies(aws: &Aws, role: &str) -> Result<Vec<String>> {
    let policies: Vec<_> =
        items!(aws.iam.list_attached_role_policies().role_name(role), "ListAttachedRolePolicies")?;
    Ok(policies
        .iter()
        .filter_map(|p: &aws_sdk_iam::types::AttachedPolicy| p.policy_arn())
        .map(str::to_string)
        .collect())
}

/// The names of every inline policy of a role, page by page.
async fn inline_policy_names(aws: &Aws, role: &str) -> Result<Vec<String>> {
    Ok(items!(aws.iam.list_role_policies().role_name(role), "ListRolePolicies")?)
}

async fn detach(aws: &Aws, role: &str, arn: &str) -> Result<()> {
    let detach = aws.iam.detach_role_policy().role_name(role).policy_arn(arn);
    send!(detach, "DetachRolePolicy")?;
    Ok(())
}

async fn delete_inline(aws: &Aws, role: &str, name: &str) -> Result<()> {
    let delete = aws.iam.delete_role_policy().role_name(role).policy_name(name);
    send!(delete, "DeleteRolePolicy")?;
    Ok(())
}
