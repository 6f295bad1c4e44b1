//! The provider of `subnet`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType};
use serde_json::json;

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map};
use crate::types::{Attrs, AttrsExt};

pub struct Subnet(pub Arc<Aws>);

#[async_trait]
impl Provider for Subnet {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        ec2_tags::read_by_id(ids, "subnet-id", |f| describe(&self.0, f)).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let az = attrs.opt_str("availability_zone").filter(|z| !z.is_empty());
        let out = send!(
            self.0
                .ec2
                .create_subnet()
                .vpc_id(attrs.str("vpc_id")?)
                .cidr_block(attrs.str("cidr_block")?)
                .set_availability_zone(az.map(str::to_string))
                .tag_specifications(ec2_tags::spec(ResourceType::Subnet, attrs)),
            "CreateSubnet"
        )?;
        // The answer describes the new subnet (its zone, its ARN); the tags
        // are what was sent.
        let id = out.subnet().and_then(|n| n.subnet_id()).unwrap_or_default();
        Ok(match out.subnet().and_then(described) {
            Some((_, mut holds)) => {
                holds.insert("tags".into(), json!(attrs.string_map("tags")));
                Made::holding(id, holds)
            }
            None => id.to_string().into(),
        })
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        if differs(before, after, "map_public_ip_on_launch") {
            send!(
                self.0.ec2.modify_subnet_attribute().subnet_id(id).map_public_ip_on_launch(
                    AttributeBooleanValue::builder()
                        .value(after.bool("map_public_ip_on_launch")?)
                        .build(),
                ),
                "ModifySubnetAttribute"
            )?;
        }
        tags::sync(&tags::Ec2, &self.0, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    /// Its ARN (its zone, when AWS chose it, is what the create's answer said).
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "subnet", id).await.map(Some)
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.ec2.delete_subnet().subnet_id(id), "DeleteSubnet").or_gone()?;
        Ok(())
    }
}

/// What the filters match, by id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = send!(aws.ec2.describe_subnets().set_filters(Some(filters)), "DescribeSubnets")?;
    Ok(out.subnets().iter().filter_map(described).collect())
}

/// A subnet as `read` gives it.
fn described(n: &aws_sdk_ec2::types::Subnet) -> Option<(String, Attrs)> {
    let id = n.subnet_id()?.to_string();
    let attrs = json!({
        "id": id,
        "arn": n.subnet_arn(),
        "vpc_id": n.vpc_id(),
        "cidr_block": n.cidr_block(),
        "availability_zone": n.availability_zone(),
        "map_public_ip_on_launch": n.map_public_ip_on_launch().unwrap_or(false),
        "tags": ec2_tags::value(n.tags()),
    });
    Some((id, into_map(attrs)))
}
