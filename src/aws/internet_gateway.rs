//! The provider of `internet_gateway`: made with its tags, then attached; moved
//! to another VPC in place (detach, attach); detached before it is deleted.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType};
use serde_json::json;

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt};

pub struct InternetGateway(pub Arc<Aws>);

#[async_trait]
impl Provider for InternetGateway {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        ec2_tags::read_by_id(ids, "internet-gateway-id", |f| describe(&self.0, f)).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let out = send!(
            aws.ec2
                .create_internet_gateway()
                .tag_specifications(ec2_tags::spec(ResourceType::InternetGateway, attrs)),
            "CreateInternetGateway"
        )?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        attach(aws, &id, attrs.str("vpc_id")?).await?;
        // Made with its tags and attached: what was asked, with its id and ARN.
        let holds = ec2_tags::made(aws, "internet-gateway", &id, attrs).await?;
        Ok(Made::holding(id, holds))
    }

    /// Its ARN (from the account, known already).
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "internet-gateway", id).await.map(Some)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (was, now) = (before.opt_str("vpc_id"), after.str("vpc_id")?);
        if was != Some(now) {
            if let Some(was) = was.filter(|v| !v.is_empty()) {
                detach(aws, id, was).await?;
            }
            attach(aws, id, now).await?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        if let Some(vpc) = before.opt_str("vpc_id").filter(|v| !v.is_empty()) {
            detach(aws, id, vpc).await?;
        }
        send!(aws.ec2.delete_internet_gateway().internet_gateway_id(id), "DeleteInternetGateway")
            .or_gone()?;
        Ok(())
    }
}

async fn attach(aws: &Aws, id: &str, vpc: &str) -> Result<()> {
    send!(
        aws.ec2.attach_internet_gateway().internet_gateway_id(id).vpc_id(vpc),
        "AttachInternetGateway"
    )?;
    Ok(())
}

/// Detaches it; already detached (or gone) is fine.
async fn detach(aws: &Aws, id: &str, vpc: &str) -> Result<()> {
    match send!(
        aws.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc),
        "DetachInternetGateway"
    ) {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() || e.code() == "Gateway.NotAttached" => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// What the filters match, by id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = send!(
        aws.ec2.describe_internet_gateways().set_filters(Some(filters)),
        "DescribeInternetGateways"
    )?;
    Ok(out
        .internet_gateways()
        .iter()
        .filter_map(|g| {
            let id = g.internet_gateway_id()?.to_string();
            let vpc = g
                .attachments()
                .iter()
                .find_map(|a| a.vpc_id())
                .unwrap_or_default();
            let attrs = json!({
                "id": id,
                "arn": format!("arn:aws:ec2:{}:{}:internet-gateway/{id}", aws.region, g.owner_id().unwrap_or_default()),
                "vpc_id": vpc,
                "tags": ec2_tags::value(g.tags()),
            });
            Some((id, into_map(attrs)))
        })
        .collect())
}
