//! The provider of `eks_access_entry`. Its id is `CLUSTER:PRINCIPAL_ARN`: one
//! entry per principal and cluster, so a lost create is found again by both.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::eks_cluster::split_id;
use super::tags;
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, differs_set, into_map, tags_value};
use crate::types::{Attrs, AttrsExt};

pub struct EksAccessEntry(pub Arc<Aws>);

#[async_trait]
impl Provider for EksAccessEntry {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let found = super::each(ids.to_vec(), |id| async move {
            let (cluster, principal) = split_id(&id);
            let got = send!(
                aws.eks.describe_access_entry().cluster_name(cluster).principal_arn(principal),
                "DescribeAccessEntry"
            )
            .or_gone()?;
            Ok(got.and_then(|out| Some((id.clone(), attrs_of(&id, out.access_entry()?)))))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let cluster = attrs.str("cluster_name")?;
        let principal = attrs.str("principal_arn")?;
        let request = self
            .0
            .eks
            .create_access_entry()
            .cluster_name(cluster)
            .principal_arn(principal)
            .r#type(attrs.opt_str("type").unwrap_or("STANDARD"))
            .set_kubernetes_groups(Some(attrs.opt_strings("kubernetes_groups").unwrap_or_default()))
            .set_username(attrs.opt_str("username").map(str::to_string))
            .set_client_request_token(ctx.token.clone())
            .set_tags(Some(attrs.tags().into_iter().collect()));
        let out = super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "CreateAccessEntry")?) }
        })
        .await?;
        // Made with what was asked (its tags too); the answer says the rest
        // (its ARN, the username AWS chose where none was asked).
        let id = format!("{cluster}:{principal}");
        let answer = out.access_entry().map(|e| attrs_of(&id, e));
        Ok(Made::asked(id, attrs, answer.unwrap_or_default()))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (cluster, principal) = split_id(id);
        let username = after.opt_str("username").is_some() && differs(before, after, "username");
        if differs_set(before, after, "kubernetes_groups") || username {
            send!(
                aws.eks
                    .update_access_entry()
                    .cluster_name(cluster)
                    .principal_arn(principal)
                    .set_kubernetes_groups(Some(
                        after.opt_strings("kubernetes_groups").unwrap_or_default(),
                    ))
                    .set_username(after.opt_str("username").map(str::to_string)),
                "UpdateAccessEntry"
            )?;
        }
        match before.opt_str("arn") {
            Some(arn) => tags::sync(&tags::Eks, aws, arn, before, after).await,
            None => Ok(()),
        }
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let id = format!("{}:{}", attrs.str("cluster_name")?, attrs.str("principal_arn")?);
        Ok(self.read(std::slice::from_ref(&id)).await?.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let (cluster, principal) = split_id(id);
        send!(
            self.0.eks.delete_access_entry().cluster_name(cluster).principal_arn(principal),
            "DeleteAccessEntry"
        )
        .or_gone()?;
        Ok(())
    }
}

/// An access entry as `read` gives it.
fn attrs_of(id: &str, e: &aws_sdk_eks::types::AccessEntry) -> Attrs {
    let mut groups: Vec<&str> = e.kubernetes_groups().iter().map(String::as_str).collect();
    groups.sort_unstable();
    into_map(json!({
        "id": id,
        "arn": e.access_entry_arn(),
        "cluster_name": e.cluster_name(),
        "principal_arn": e.principal_arn(),
        "type": e.r#type(),
        "kubernetes_groups": groups,
        "username": e.username(),
        "tags": tags_value(
            e.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))
        ),
    }))
}
