//! The provider of `eks_addon`. Its id is `CLUSTER:NAME`. Create and update
//! wait until the add-on is ACTIVE (marked pending in state meanwhile), delete
//! until it is gone; an update goes through UpdateAddon and its update id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eks::types::{Addon, AddonPodIdentityAssociations, AddonStatus, ResolveConflicts};
use serde_json::{Value, json};

use super::eks_cluster::{split_id, update_id, update_status};
use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map, tags_value};
use crate::types::eks_addon as ty;
use crate::types::{Attrs, AttrsExt, Operation};

pub struct EksAddon(pub Arc<Aws>);

/// The add-on's own Pod Identity associations (AWS lists their ARNs), as
/// `{service_account, role_arn}` sorted by service account.
async fn pod_identities(aws: &Aws, cluster: &str, arns: &[String]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for arn in arns {
        let association = arn.rsplit('/').next().unwrap_or_default();
        if let Some(a) =
            super::eks_pod_identity_association::describe(aws, cluster, association).await?
        {
            out.push(json!({
                "service_account": a.service_account(),
                "role_arn": a.role_arn(),
            }));
        }
    }
    out.sort_by(|a, b| a["service_account"].as_str().cmp(&b["service_account"].as_str()));
    Ok(out)
}

/// The stack's Pod Identity associations of an add-on, as the API takes them.
fn pod_identity_request(attrs: &Attrs) -> Option<Vec<AddonPodIdentityAssociations>> {
    let list = attrs.opt_list("pod_identity_associations")?;
    Some(
        list.iter()
            .filter_map(|p| {
                AddonPodIdentityAssociations::builder()
                    .service_account(p.opt_str("service_account")?)
                    .role_arn(p.opt_str("role_arn")?)
                    .build()
                    .ok()
            })
            .collect(),
    )
}

/// The add-on versions AWS offers for a Kubernetes version
/// (DescribeAddonVersions).
pub struct AddonCatalog(pub Arc<Aws>);

#[async_trait]
impl crate::provider::Catalog for AddonCatalog {
    async fn addon_versions(&self, addon: &str, kubernetes: &str) -> Result<Vec<String>> {
        let addons: Vec<aws_sdk_eks::types::AddonInfo> = items!(
            self.0.eks.describe_addon_versions().addon_name(addon).kubernetes_version(kubernetes),
            "DescribeAddonVersions"
        )?;
        Ok(addons
            .iter()
            .filter(|a| a.addon_name() == Some(addon))
            .flat_map(|a| a.addon_versions())
            .filter_map(|v| v.addon_version())
            .map(str::to_string)
            .collect())
    }
}

/// The add-on of `CLUSTER:NAME`, if it exists.
async fn describe(aws: &Aws, id: &str) -> Result<Option<Addon>> {
    let (cluster, name) = split_id(id);
    let got =
        send!(aws.eks.describe_addon().cluster_name(cluster).addon_name(name), "DescribeAddon")
            .or_gone()?;
    Ok(got.and_then(|o| o.addon().cloned()))
}

/// An add-on as `read` gives it: DescribeAddon, and a look at each of its Pod
/// Identity associations.
async fn attrs_of(aws: &Aws, id: &str, a: &Addon) -> Result<Attrs> {
    let (cluster, _) = split_id(id);
    let mut attrs = into_map(json!({
        "id": id,
        "arn": a.addon_arn(),
        "cluster_name": a.cluster_name(),
        "name": a.addon_name(),
        "version": a.addon_version(),
        "tags": tags_value(
            a.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))
        ),
    }));
    if let Some(c) = a.configuration_values().filter(|c| !c.is_empty()) {
        attrs.insert("configuration_values".into(), json!(c));
    }
    if let Some(r) = a.service_account_role_arn() {
        attrs.insert("service_account_role_arn".into(), json!(r));
    }
    attrs.insert(
        "pod_identity_associations".into(),
        Value::Array(pod_identities(aws, cluster, a.pod_identity_associations()).await?),
    );
    ty::canonical(&mut attrs);
    Ok(attrs)
}

#[async_trait]
impl Provider for EksAddon {
    fn waits(&self) -> bool {
        true
    }

    /// DescribeAddon for each, without its Pod Identity associations.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let aws = &*self.0;
        let found =
            super::each(
                ids.to_vec(),
                |id| async move { Ok(describe(aws, &id).await?.map(|_| id)) },
            )
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |id| async move {
            let Some(a) = describe(aws, &id).await? else {
                return Ok(None);
            };
            Ok(Some((id.clone(), attrs_of(aws, &id, &a).await?)))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let cluster = attrs.str("cluster_name")?;
        let name = attrs.str("name")?;
        let request = self
            .0
            .eks
            .create_addon()
            .cluster_name(cluster)
            .addon_name(name)
            .set_addon_version(attrs.opt_str("version").map(str::to_string))
            .set_configuration_values(attrs.opt_str("configuration_values").map(str::to_string))
            .set_service_account_role_arn(
                attrs.opt_str("service_account_role_arn").map(str::to_string),
            )
            .resolve_conflicts(ResolveConflicts::from(ty::conflicts_on_create(attrs)))
            .set_pod_identity_associations(pod_identity_request(attrs))
            .set_client_request_token(ctx.token.clone())
            .set_tags(Some(attrs.tags().into_iter().collect()));
        super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "CreateAddon")?) }
        })
        .await?;
        Ok(format!("{cluster}:{name}").into())
    }

    async fn update(&self, ctx: &OpContext, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let (cluster, name) = split_id(id);
        let (b, a) = super::canonical_pair(ty::canonical, before, after);
        let fields = [
            "version",
            "configuration_values",
            "service_account_role_arn",
            "pod_identity_associations",
        ];
        if fields.iter().any(|k| differs(&b, &a, k)) {
            let u = send!(
                aws.eks
                    .update_addon()
                    .cluster_name(cluster)
                    .addon_name(name)
                    .set_addon_version(
                        a.opt_str("version")
                            .filter(|_| differs(&b, &a, "version"))
                            .map(str::to_string),
                    )
                    // No longer set (`null`): an empty configuration (EKS's
                    // defaults), an empty role (the node role's permissions), no
                    // associations (as Terraform sends them).
                    .set_configuration_values(differs(&b, &a, "configuration_values").then(|| {
                        a.opt_str("configuration_values").unwrap_or_default().to_string()
                    }))
                    .set_service_account_role_arn(differs(&b, &a, "service_account_role_arn").then(
                        || {
                            a.opt_str("service_account_role_arn").unwrap_or_default().to_string()
                        },
                    ))
                    .set_pod_identity_associations(
                        differs(&b, &a, "pod_identity_associations")
                            .then(|| pod_identity_request(&a).unwrap_or_default()),
                    )
                    .resolve_conflicts(ResolveConflicts::from(ty::conflicts_on_update(&a))),
                "UpdateAddon"
            )?;
            let timeout = ctx.timeout(Operation::Update, Duration::from_secs(20 * 60));
            let update = update_id(u.update());
            wait::until(ctx, "updating", timeout, || {
                update_status(aws, ctx, cluster, None, &update)
            })
            .await?;
        }
        match before.opt_str("arn") {
            Some(arn) => tags::sync(&tags::Eks, aws, arn, before, after).await,
            None => Ok(()),
        }
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let id = format!("{}:{}", attrs.str("cluster_name")?, attrs.str("name")?);
        super::find_by_id(self, &id).await
    }

    /// DeleteAddon; with `preserve`, its Kubernetes objects stay on the
    /// cluster, no longer managed by EKS.
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let (cluster, name) = split_id(id);
        let preserve = before.opt_bool("preserve").unwrap_or(false);
        send!(
            self.0.eks.delete_addon().cluster_name(cluster).addon_name(name).preserve(preserve),
            "DeleteAddon"
        )
        .or_gone()?;
        Ok(())
    }

    /// Until ACTIVE (a create or an update) or gone (a delete).
    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        let delete = operation.phase() == Operation::Delete;
        let doing = match operation.phase() {
            Operation::Create => "creating",
            Operation::Delete => "deleting",
            _ => "updating",
        };
        let timeout = ctx.timeout(operation, Duration::from_secs(20 * 60));
        wait::until(ctx, doing, timeout, || async {
            let addon = describe(aws, id).await?;
            Ok(match (addon.as_ref().and_then(|a| a.status().cloned()), delete) {
                (None, true) => Poll::Done,
                (None, false) => Poll::Failed("the add-on is gone".into()),
                // What the last look saw, whole: no read back.
                (Some(AddonStatus::Active), false) => match &addon {
                    Some(a) => Poll::Seen(attrs_of(aws, id, a).await?),
                    None => Poll::Done,
                },
                (Some(s @ (AddonStatus::CreateFailed | AddonStatus::UpdateFailed)), false) => {
                    Poll::Failed(s.as_str().to_string())
                }
                (Some(AddonStatus::DeleteFailed), true) => Poll::Failed("DELETE_FAILED".into()),
                (Some(s), _) => Poll::Pending(s.as_str().to_string()),
            })
        })
        .await
    }
}
