//! The provider of `vpc`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use serde_json::json;

use super::{Aws, Result, api, ec2_tags};
use crate::provider::{GoneOk, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt};

pub struct Vpc(pub Arc<Aws>);

#[async_trait]
impl Provider for Vpc {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
            let by_id = Filter::builder()
                .name("vpc-id")
                .set_values(Some(chunk.to_vec()))
                .build();
            out.extend(describe(&self.0, vec![by_id]).await?);
        }
        Ok(out)
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<String> {
        // CreateVpc takes no idempotency token: an SDK retry after a lost
        // answer would make a second VPC. Not retried; the engine resolves a
        // lost answer by looking for the VPC's tags.
        let out = self
            .0
            .ec2
            .create_vpc()
            .cidr_block(attrs.str("cidr_block")?)
            .tag_specifications(ec2_tags::spec(ResourceType::Vpc, attrs))
            .customize()
            .config_override(
                aws_sdk_ec2::config::Builder::new()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(api("CreateVpc"))?;
        let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
        Ok(id.to_string())
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        ec2_tags::sync(&self.0, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        self.0
            .ec2
            .delete_vpc()
            .vpc_id(id)
            .send()
            .await
            .map_err(api("DeleteVpc"))
            .or_gone()?;
        Ok(())
    }
}

/// What the filters match, by id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = aws
        .ec2
        .describe_vpcs()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(api("DescribeVpcs"))?;
    Ok(out
        .vpcs()
        .iter()
        .filter_map(|v| {
            let id = v.vpc_id()?.to_string();
            let attrs = json!({
                "id": id,
                "arn": format!("arn:aws:ec2:{}:{}:vpc/{id}", aws.region, v.owner_id().unwrap_or_default()),
                "cidr_block": v.cidr_block(),
                "tags": ec2_tags::value(v.tags()),
            });
            Some((id, into_map(attrs)))
        })
        .collect())
}
