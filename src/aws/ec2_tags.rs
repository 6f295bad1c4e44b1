//! What every EC2 provider shares: tags (at creation, as read back, kept in
//! line), lookups by the owner tags, reads by id in lists of ids, and what is
//! recorded without a read.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use serde_json::Value;

use super::{Aws, Result};
use crate::types::attrs::tags_value;
use crate::types::stack_id::{OWNER_TAGS, same_owner};
use crate::types::{Attrs, AttrsExt};

/// Tags to attach at creation.
pub fn spec(resource: ResourceType, attrs: &Attrs) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            attrs.tags().into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect(),
        ))
        .build()
}

/// Filters on the owner tags that a create given `attrs` attached (stack,
/// environment, address): what finds it again. A stack without an
/// environment cannot filter on the tag's absence: `owned` tells those apart.
pub fn owner_filters(attrs: &Attrs) -> Result<Vec<Filter>> {
    let owner: Vec<Filter> = attrs
        .tags()
        .into_iter()
        .filter(|(k, _)| OWNER_TAGS.contains(&k.as_str()))
        .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
        .collect();
    if owner.len() < 2 {
        anyhow::bail!("no infra:stack and infra:address tags to look it up by");
    }
    Ok(owner)
}

/// Tags as read back.
pub fn value(tags: &[Tag]) -> Value {
    tags_value(tags.iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())))
}

/// Reads by id: `describe` is called with a filter `filter` (`vpc-id`) on up to
/// `EC2_FILTER_VALUES` ids at a time, and what it finds is gathered.
pub async fn read_by_id<T, F, Fut>(
    ids: &[String],
    filter: &str,
    describe: F,
) -> Result<HashMap<String, T>>
where
    F: Fn(Vec<Filter>) -> Fut,
    Fut: Future<Output = Result<HashMap<String, T>>>,
{
    let mut out = HashMap::new();
    for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
        let by_id = Filter::builder().name(filter).set_values(Some(chunk.to_vec())).build();
        out.extend(describe(vec![by_id]).await?);
    }
    Ok(out)
}

/// The ids of what a lookup by owner tags found that carries the owner tags
/// of `attrs` (`read`: what was read of each, `None` for one that no longer
/// counts, such as a deleted NAT gateway).
pub fn owned_ids<V>(
    found: HashMap<String, V>,
    attrs: &Attrs,
    read: impl Fn(&V) -> Option<&Attrs>,
) -> Vec<String> {
    found
        .into_iter()
        .filter(|(_, v)| read(v).is_some_and(|r| owned(r, attrs)))
        .map(|(id, _)| id)
        .collect()
}

/// Whether what was read carries the owner tags of `attrs`: for an API that
/// ignores tag filters (or an emulator that does), and for the environment a
/// filter cannot ask to be absent.
pub fn owned(read: &Attrs, attrs: &Attrs) -> bool {
    same_owner(&attrs.string_map("tags"), &read.string_map("tags"))
}

/// What AWS computed of an EC2 resource that is known without reading it: its
/// ARN (`arn:aws:ec2:REGION:ACCOUNT:KIND/ID`, the account known already).
pub async fn arn(aws: &Aws, kind: &str, id: &str) -> Result<Attrs> {
    let mut attrs = Attrs::new();
    attrs.insert(
        "arn".into(),
        Value::String(format!("arn:aws:ec2:{}:{}:{kind}/{id}", aws.region, aws.account().await?)),
    );
    Ok(attrs)
}

/// What a new EC2 resource holds when its create took everything asked: what
/// was asked, with its id and ARN.
pub async fn made(aws: &Aws, kind: &str, id: &str, asked: &Attrs) -> Result<Attrs> {
    let mut attrs = asked.clone();
    attrs.insert("id".into(), Value::String(id.to_string()));
    attrs.extend(arn(aws, kind, id).await?);
    Ok(attrs)
}

/// Adopts what AWS made with a VPC (its default group, ACL or main route
/// table; `found`, looked up by the caller): tagged as the stack's. Never
/// made: `what` names it when the VPC has none.
pub async fn adopt(aws: &Aws, found: Option<String>, what: &str, attrs: &Attrs) -> Result<String> {
    let vpc = attrs.get("vpc_id").and_then(Value::as_str).unwrap_or_default();
    let Some(id) = found else {
        anyhow::bail!("VPC {vpc} has no {what}");
    };
    super::tags::sync(&super::tags::Ec2, aws, &id, &Attrs::new(), attrs).await?;
    Ok(id)
}

/// Lets go of what `adopt` took: its tags taken off, the resource left as
/// it is (AWS deletes it with its VPC); gone already is fine.
pub async fn release(aws: &Aws, id: &str, before: &Attrs) -> Result<()> {
    match super::tags::sync(&super::tags::Ec2, aws, id, before, &Attrs::new()).await {
        Err(e) if crate::provider::api_error(&e).is_some_and(|a| a.is_not_found()) => Ok(()),
        other => other,
    }
}

/// What a read by id found, each with its state, without those whose state
/// counts as gone (a deleted NAT gateway, a terminated instance: AWS lists
/// them a while longer).
pub fn live<S>(
    found: HashMap<String, (S, Attrs)>,
    gone: impl Fn(&S) -> bool,
) -> HashMap<String, Attrs> {
    found.into_iter().filter(|(_, (state, _))| !gone(state)).map(|(id, (_, a))| (id, a)).collect()
}
