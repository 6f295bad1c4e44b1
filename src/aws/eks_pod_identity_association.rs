//! The provider of `eks_pod_identity_association`. Its id is
//! `CLUSTER:ASSOCIATION_ID`; one association per service account, so a lost
//! create is found again by cluster, namespace and service account.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_eks::types::PodIdentityAssociation;
use serde_json::json;

use super::eks_cluster::split_id;
use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map, tags_value};
use crate::types::{Attrs, AttrsExt};

pub struct EksPodIdentityAssociation(pub Arc<Aws>);

/// One association of a cluster, if it exists (an add-on's own ones too).
pub(super) async fn describe(
    aws: &Aws,
    cluster: &str,
    association: &str,
) -> Result<Option<PodIdentityAssociation>> {
    let got = send!(
        aws.eks
            .describe_pod_identity_association()
            .cluster_name(cluster)
            .association_id(association),
        "DescribePodIdentityAssociation"
    )
    .or_gone()?;
    Ok(got.and_then(|o| o.association().cloned()))
}

#[async_trait]
impl Provider for EksPodIdentityAssociation {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |id| async move {
            let (cluster, association) = split_id(&id);
            let got = describe(aws, cluster, association).await?;
            Ok(got.map(|a| (id.clone(), attrs_of(&id, &a))))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let cluster = attrs.str("cluster_name")?;
        let request = self
            .0
            .eks
            .create_pod_identity_association()
            .cluster_name(cluster)
            .namespace(attrs.str("namespace")?)
            .service_account(attrs.str("service_account")?)
            .role_arn(attrs.str("role_arn")?)
            .set_client_request_token(ctx.token.clone())
            .set_tags(Some(attrs.tags().into_iter().collect()));
        let out = super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "CreatePodIdentityAssociation")?) }
        })
        .await?;
        let made = out
            .association()
            .ok_or_else(|| anyhow::anyhow!("CreatePodIdentityAssociation answered none"))?;
        let id = format!("{cluster}:{}", made.association_id().unwrap_or_default());
        // Made with what was asked (its tags too); the answer says the rest.
        Ok(Made::asked(&id, attrs, attrs_of(&id, made)))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (cluster, association) = split_id(id);
        if differs(before, after, "role_arn") {
            send!(
                aws.eks
                    .update_pod_identity_association()
                    .cluster_name(cluster)
                    .association_id(association)
                    .role_arn(after.str("role_arn")?),
                "UpdatePodIdentityAssociation"
            )?;
        }
        match before.opt_str("arn") {
            Some(arn) => tags::sync(&tags::Eks, aws, arn, before, after).await,
            None => Ok(()),
        }
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let cluster = attrs.str("cluster_name")?;
        let out = send!(
            self.0
                .eks
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .namespace(attrs.str("namespace")?)
                .service_account(attrs.str("service_account")?),
            "ListPodIdentityAssociations"
        )?;
        Ok(out
            .associations()
            .iter()
            .filter_map(|a| a.association_id())
            .map(|a| format!("{cluster}:{a}"))
            .collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let (cluster, association) = split_id(id);
        send!(
            self.0
                .eks
                .delete_pod_identity_association()
                .cluster_name(cluster)
                .association_id(association),
            "DeletePodIdentityAssociation"
        )
        .or_gone()?;
        Ok(())
    }
}

/// An association as `read` gives it.
fn attrs_of(id: &str, a: &PodIdentityAssociation) -> Attrs {
    into_map(json!({
        "id": id,
        "arn": a.association_arn(),
        "association_id": a.association_id(),
        "cluster_name": a.cluster_name(),
        "namespace": a.namespace(),
        "service_account": a.service_account(),
        "role_arn": a.role_arn(),
        "tags": tags_value(
            a.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))
        ),
    }))
}
