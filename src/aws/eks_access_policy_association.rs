//! The provider of `eks_access_policy_association`. Its id is
//! `CLUSTER#PRINCIPAL_ARN#POLICY_ARN`. AssociateAccessPolicy both makes the
//! association and changes its scope; it carries no tags, so recovery adopts
//! one only when AWS says it was associated after the create's intent.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_eks::types::{AccessScope, AccessScopeType, AssociatedAccessPolicy};
use serde_json::{Value, json};

use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map};
use crate::types::{Attrs, AttrsExt};

pub struct EksAccessPolicyAssociation(pub Arc<Aws>);

/// `CLUSTER#PRINCIPAL_ARN#POLICY_ARN` → its three parts.
fn split(id: &str) -> (&str, &str, &str) {
    let mut parts = id.splitn(3, '#');
    let cluster = parts.next().unwrap_or_default();
    let principal = parts.next().unwrap_or_default();
    (cluster, principal, parts.next().unwrap_or_default())
}

fn id_of(attrs: &Attrs) -> Result<String> {
    Ok(format!(
        "{}#{}#{}",
        attrs.str("cluster_name")?,
        attrs.str("principal_arn")?,
        attrs.str("policy_arn")?
    ))
}

fn scope(attrs: &Attrs) -> Result<AccessScope> {
    let scope = attrs.get("access_scope").cloned().unwrap_or(Value::Null);
    let ty = scope.get("type").and_then(Value::as_str).unwrap_or("cluster");
    let namespaces: Vec<String> = scope
        .get("namespaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    Ok(AccessScope::builder()
        .r#type(AccessScopeType::from(ty))
        .set_namespaces((!namespaces.is_empty()).then_some(namespaces))
        .build())
}

impl EksAccessPolicyAssociation {
    /// Associates the policy with the scope `attrs` gives; again, it changes
    /// the scope.
    async fn associate(&self, id: &str, attrs: &Attrs) -> Result<()> {
        let (cluster, principal, policy) = split(id);
        send!(
            self.0
                .eks
                .associate_access_policy()
                .cluster_name(cluster)
                .principal_arn(principal)
                .policy_arn(policy)
                .access_scope(scope(attrs)?),
            "AssociateAccessPolicy"
        )?;
        Ok(())
    }

    /// The association of `id`, if the entry exists and holds the policy.
    async fn associated(&self, id: &str) -> Result<Option<AssociatedAccessPolicy>> {
        let (cluster, principal, policy) = split(id);
        let pages = pages!(
            self.0
                .eks
                .list_associated_access_policies()
                .cluster_name(cluster)
                .principal_arn(principal),
            "ListAssociatedAccessPolicies"
        )
        .or_gone()?;
        Ok(pages.into_iter().flatten().find_map(|page| {
            page.associated_access_policies()
                .iter()
                .find(|p| p.policy_arn() == Some(policy))
                .cloned()
        }))
    }
}

#[async_trait]
impl Provider for EksAccessPolicyAssociation {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let found = super::each(ids.to_vec(), |id| async move {
            let Some(p) = self.associated(&id).await? else {
                return Ok(None);
            };
            let (cluster, principal, policy) = split(&id);
            let mut namespaces: Vec<&str> = p
                .access_scope()
                .map(|s| s.namespaces().iter().map(String::as_str).collect())
                .unwrap_or_default();
            namespaces.sort_unstable();
            let attrs = into_map(json!({
                "id": id,
                "cluster_name": cluster,
                "principal_arn": principal,
                "policy_arn": policy,
                "access_scope": {
                    "type": p.access_scope().and_then(|s| s.r#type()).map(|t| t.as_str()),
                    "namespaces": namespaces,
                },
            }));
            Ok(Some((id.clone(), attrs)))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let id = id_of(attrs)?;
        self.associate(&id, attrs).await?;
        // Associated as asked: nothing AWS computes.
        Ok(Made::asked(&id, attrs, into_map(json!({ "id": id }))))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        match differs(before, after, "access_scope") {
            true => self.associate(id, after).await,
            false => Ok(()),
        }
    }

    /// Nothing: an association carries no tags to tell whose it is, and
    /// nothing is this stack's by when it was made. Its create
    /// (AssociateAccessPolicy) sets the association whether or not it is
    /// there, so an interrupted one is simply made again.
    async fn find(&self, _attrs: &Attrs) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let (cluster, principal, policy) = split(id);
        send!(
            self.0
                .eks
                .disassociate_access_policy()
                .cluster_name(cluster)
                .principal_arn(principal)
                .policy_arn(policy),
            "DisassociateAccessPolicy"
        )
        .or_gone()?;
        Ok(())
    }
}
