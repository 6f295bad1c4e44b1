//! Tags kept in line, one way for every service: `sync` works out what to set
//! and what to remove, and a service's `Tagging` makes its two calls on one
//! resource (named by ARN, name or id, as the service names it).

use std::collections::HashMap;

use anyhow::Result;
use async_trait::async_trait;

use super::{Aws, api};
use crate::types::Attrs;
use crate::types::attrs::tag_changes;

/// A service's tag calls on one resource.
#[async_trait]
pub trait Tagging: Sync {
    /// Sets these tags (added, or changed in value).
    async fn tag(&self, aws: &Aws, id: &str, set: Vec<(String, String)>) -> Result<()>;
    /// Removes the tags of these keys.
    async fn untag(&self, aws: &Aws, id: &str, keys: Vec<String>) -> Result<()>;
}

/// Sets and removes tags so that `before`'s become `after`'s; no call when
/// they are the same.
pub async fn sync(
    service: &dyn Tagging,
    aws: &Aws,
    id: &str,
    before: &Attrs,
    after: &Attrs,
) -> Result<()> {
    let (set, remove) = tag_changes(before, after);
    if !set.is_empty() {
        service.tag(aws, id, set).await?;
    }
    if !remove.is_empty() {
        service.untag(aws, id, remove).await?;
    }
    Ok(())
}

/// A service whose tag calls are `CLIENT.TAG().BY(id).set_tags(LIST)` and
/// `CLIENT.UNTAG().BY(id).set_tag_keys(keys)`; `LIST` makes the service's tag
/// list from the pairs.
macro_rules! tagging {
    ($(#[$doc:meta])* $name:ident: $client:ident, $by:ident,
     $tag:ident $tag_op:literal, $untag:ident $untag_op:literal, $list:expr) => {
        $(#[$doc])*
        pub struct $name;

        #[async_trait]
        impl Tagging for $name {
            async fn tag(&self, aws: &Aws, id: &str, set: Vec<(String, String)>) -> Result<()> {
                #[allow(clippy::redundant_closure_call)]
                let list = ($list)(set)?;
                aws.$client
                    .$tag()
                    .$by(id)
                    .set_tags(Some(list))
                    .send()
                    .await
                    .map_err(api($tag_op))?;
                Ok(())
            }

            async fn untag(&self, aws: &Aws, id: &str, keys: Vec<String>) -> Result<()> {
                aws.$client
                    .$untag()
                    .$by(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(api($untag_op))?;
                Ok(())
            }
        }
    };
}

/// Tags as a map (the APIs that take one).
fn map(set: Vec<(String, String)>) -> Result<HashMap<String, String>> {
    Ok(set.into_iter().collect())
}

tagging!(
    /// An EKS cluster, node group, add-on, access entry or Pod Identity
    /// association, by ARN.
    Eks: eks, resource_arn, tag_resource "TagResource", untag_resource "UntagResource", map
);
tagging!(
    /// A CloudWatch Logs log group, by ARN.
    Logs: logs, resource_arn, tag_resource "TagResource", untag_resource "UntagResource", map
);
tagging!(
    /// An ELBv2 load balancer, target group, listener or rule, by ARN.
    Elbv2: elbv2, resource_arns, add_tags "AddTags", remove_tags "RemoveTags",
    |set: Vec<(String, String)>| -> Result<Vec<_>> {
        use aws_sdk_elasticloadbalancingv2::types::Tag;
        Ok(set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect())
    }
);
tagging!(
    /// A CloudWatch alarm, by ARN.
    CloudWatch: cloudwatch, resource_arn, tag_resource "TagResource", untag_resource "UntagResource",
    |set: Vec<(String, String)>| -> Result<Vec<_>> {
        use aws_sdk_cloudwatch::types::Tag;
        Ok(set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect())
    }
);
tagging!(
    /// An ECR repository, by ARN.
    Ecr: ecr, resource_arn, tag_resource "TagResource", untag_resource "UntagResource",
    |set: Vec<(String, String)>| -> Result<Vec<_>> {
        use aws_sdk_ecr::types::Tag;
        Ok(set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect::<Result<_, _>>()?)
    }
);
tagging!(
    /// A Firehose delivery stream, by name.
    Firehose: firehose, delivery_stream_name, tag_delivery_stream "TagDeliveryStream",
    untag_delivery_stream "UntagDeliveryStream",
    |set: Vec<(String, String)>| -> Result<Vec<_>> {
        use aws_sdk_firehose::types::Tag;
        Ok(set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect::<Result<_, _>>()?)
    }
);
tagging!(
    /// A KMS key, by id.
    Kms: kms, key_id, tag_resource "TagResource", untag_resource "UntagResource",
    |set: Vec<(String, String)>| -> Result<Vec<_>> {
        use aws_sdk_kms::types::Tag;
        Ok(set.into_iter().map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build()).collect::<Result<_, _>>()?)
    }
);
tagging!(
    /// An IAM policy, by ARN.
    IamPolicy: iam, policy_arn, tag_policy "TagPolicy", untag_policy "UntagPolicy", iam
);
tagging!(
    /// An IAM instance profile, by name.
    IamInstanceProfile: iam, instance_profile_name, tag_instance_profile "TagInstanceProfile",
    untag_instance_profile "UntagInstanceProfile", iam
);
tagging!(
    /// An IAM role, by name.
    IamRole: iam, role_name, tag_role "TagRole", untag_role "UntagRole", iam
);
tagging!(
    /// An IAM OIDC provider, by ARN.
    IamOidcProvider: iam, open_id_connect_provider_arn,
    tag_open_id_connect_provider "TagOpenIDConnectProvider",
    untag_open_id_connect_provider "UntagOpenIDConnectProvider", iam
);

/// IAM's tags.
fn iam(set: Vec<(String, String)>) -> Result<Vec<aws_sdk_iam::types::Tag>> {
    use aws_sdk_iam::types::Tag;
    Ok(set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<_, _>>()?)
}

/// An EC2 resource, by id: EC2 removes tags by `Tag`s without values.
pub struct Ec2;

#[async_trait]
impl Tagging for Ec2 {
    async fn tag(&self, aws: &Aws, id: &str, set: Vec<(String, String)>) -> Result<()> {
        use aws_sdk_ec2::types::Tag;
        let tags = set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build());
        send!(aws.ec2.create_tags().resources(id).set_tags(Some(tags.collect())), "CreateTags")?;
        Ok(())
    }

    async fn untag(&self, aws: &Aws, id: &str, keys: Vec<String>) -> Result<()> {
        use aws_sdk_ec2::types::Tag;
        let tags = keys.into_iter().map(|k| Tag::builder().key(k).build());
        send!(aws.ec2.delete_tags().resources(id).set_tags(Some(tags.collect())), "DeleteTags")?;
        Ok(())
    }
}
