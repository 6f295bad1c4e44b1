//! Tags on EC2 resources (VPCs, subnets, security groups, launch templates).

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;

use super::{Aws, Result, api};
use crate::types::attrs::{tag_changes, tags_value};
use crate::types::{Attrs, AttrsExt};

/// Tags to attach at creation.
pub fn spec(resource: ResourceType, attrs: &Attrs) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            attrs
                .tags()
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Filters on the `infra:stack` and `infra:address` tags that a create given
/// `attrs` attached: what finds it again.
pub fn owner_filters(attrs: &Attrs) -> Result<Vec<Filter>> {
    let owner: Vec<Filter> = attrs
        .tags()
        .into_iter()
        .filter(|(k, _)| k == "infra:stack" || k == "infra:address")
        .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
        .collect();
    if owner.len() != 2 {
        anyhow::bail!("no infra:stack and infra:address tags to look it up by");
    }
    Ok(owner)
}

/// Tags as read back.
pub fn value(tags: &[Tag]) -> Value {
    tags_value(
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
}

/// Sets and removes tags so that `before` becomes `after`.
pub async fn sync(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
    let (set, remove) = tag_changes(before, after);
    if !set.is_empty() {
        aws.ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(
                set.into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(api("CreateTags"))?;
    }
    if !remove.is_empty() {
        aws.ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(
                remove
                    .into_iter()
                    .map(|k| Tag::builder().key(k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(api("DeleteTags"))?;
    }
    Ok(())
}
