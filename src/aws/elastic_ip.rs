//! The provider of `elastic_ip`: an address allocated in the VPC domain with its
//! tags, released on delete. Its id is the allocation id.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, Filter, ResourceType};
use serde_json::json;

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt};

pub struct ElasticIp(pub Arc<Aws>);

#[async_trait]
impl Provider for ElasticIp {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        ec2_tags::read_by_id(ids, "allocation-id", |f| describe(&self.0, f)).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let out = send!(
            self.0
                .ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(ec2_tags::spec(ResourceType::ElasticIp, attrs)),
            "AllocateAddress"
        )?;
        // The answer gives its address; the tags are what was sent.
        let id = out.allocation_id().unwrap_or_default();
        let holds = into_map(json!({
            "id": id,
            "public_ip": out.public_ip(),
            "tags": attrs.string_map("tags"),
        }));
        Ok(Made::holding(id, holds))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        tags::sync(&tags::Ec2, &self.0, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(ec2_tags::owned_ids(found, attrs, |read| Some(read)))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.ec2.release_address().allocation_id(id), "ReleaseAddress").or_gone()?;
        Ok(())
    }
}

/// What the filters match, by allocation id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = send!(aws.ec2.describe_addresses().set_filters(Some(filters)), "DescribeAddresses")?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| {
            let id = a.allocation_id()?.to_string();
            let attrs = json!({
                "id": id,
                "public_ip": a.public_ip(),
                "tags": ec2_tags::value(a.tags()),
            });
            Some((id, into_map(attrs)))
        })
        .collect())
}
