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
                .set_ipv6_cidr_block(attrs.opt_str("ipv6_cidr_block").map(str::to_string))
                .tag_specifications(ec2_tags::spec(ResourceType::Subnet, attrs)),
            "CreateSubnet"
        )?;
        // The answer describes the new subnet (its zone, its ARN); the tags
        // are what was sent.
        let id = out.subnet().and_then(|n| n.subnet_id()).unwrap_or_default();
        Ok(match out.subnet().and_then(described) {
            Some((_, mut holds)) => {
                holds.insert("tags".into(), json!(attrs.string_map("tags")));
                // The IPv6 block asked for, where the answer leaves its
                // association out (the emulator's does).
                if let Some(v6) =
                    attrs.get("ipv6_cidr_block").filter(|_| !holds.contains_key("ipv6_cidr_block"))
                {
                    holds.insert("ipv6_cidr_block".into(), v6.clone());
                }
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
        if differs(before, after, "ipv6_cidr_block") {
            if let Some(association) = before.opt_str("ipv6_cidr_block_association_id") {
                send!(
                    self.0.ec2.disassociate_subnet_cidr_block().association_id(association),
                    "DisassociateSubnetCidrBlock"
                )
                .or_gone()?;
            }
            if let Some(block) = after.opt_str("ipv6_cidr_block") {
                send!(
                    self.0.ec2.associate_subnet_cidr_block().subnet_id(id).ipv6_cidr_block(block),
                    "AssociateSubnetCidrBlock"
                )?;
            }
        }
        if differs(before, after, "assign_ipv6_address_on_creation") {
            send!(
                self.0.ec2.modify_subnet_attribute().subnet_id(id).assign_ipv6_address_on_creation(
                    AttributeBooleanValue::builder()
                        .value(after.bool("assign_ipv6_address_on_creation")?)
                        .build(),
                ),
                "ModifySubnetAttribute"
            )?;
        }
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
        "assign_ipv6_address_on_creation": n.assign_ipv6_address_on_creation().unwrap_or(false),
        "tags": ec2_tags::value(n.tags()),
    });
    let mut attrs = into_map(attrs);
    use aws_sdk_ec2::types::SubnetCidrBlockStateCode as S;
    // Held unless it is going or gone (the emulator writes a state the SDK
    // does not know).
    if let Some(a) = n.ipv6_cidr_block_association_set().iter().find(|a| {
        !a.ipv6_cidr_block_state().and_then(|s| s.state()).is_some_and(|s| {
            matches!(s, S::Disassociated | S::Disassociating | S::Failed | S::Failing)
        })
    }) {
        attrs.insert("ipv6_cidr_block".into(), json!(a.ipv6_cidr_block()));
        attrs.insert("ipv6_cidr_block_association_id".into(), json!(a.association_id()));
    }
    Some((id, attrs))
}
