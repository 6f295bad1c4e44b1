//! The provider of `vpc`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, VpcAttributeName};
use serde_json::json;

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map};
use crate::types::{Attrs, AttrsExt};

pub struct Vpc(pub Arc<Aws>);

#[async_trait]
impl Provider for Vpc {
    /// DescribeVpcs, then the two DNS attributes of each (DescribeVpcAttribute
    /// answers one attribute of one VPC a call).
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let mut found = ec2_tags::read_by_id(ids, "vpc-id", |f| describe(aws, f)).await?;
        let ids: Vec<String> = found.keys().cloned().collect();
        let dns = super::each(ids, |id| async move {
            let support = dns_attribute(aws, &id, VpcAttributeName::EnableDnsSupport).await?;
            let hostnames = dns_attribute(aws, &id, VpcAttributeName::EnableDnsHostnames).await?;
            Ok((id, support, hostnames))
        })
        .await?;
        for (id, support, hostnames) in dns {
            if let Some(attrs) = found.get_mut(&id) {
                attrs.insert("enable_dns_support".into(), support.into());
                attrs.insert("enable_dns_hostnames".into(), hostnames.into());
            }
        }
        Ok(found)
    }

    /// CreateVpc takes no idempotency token, so the SDK does not retry it: a
    /// retry after a lost answer would make a second VPC. An answered refusal
    /// that says "later" (throttling, 5xx) is tried again here; after a lost
    /// answer, the VPC is looked for by its tags instead.
    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let request = self
            .0
            .ec2
            .create_vpc()
            .cidr_block(attrs.str("cidr_block")?)
            .tag_specifications(ec2_tags::spec(ResourceType::Vpc, attrs));
        let mut delay = std::time::Duration::from_millis(200);
        for attempt in 1.. {
            let once = request.clone().customize().config_override(
                aws_sdk_ec2::config::Builder::new()
                    .retry_config(aws_config::retry::RetryConfig::disabled()),
            );
            match send!(once, "CreateVpc") {
                Ok(out) => {
                    let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
                    return Ok(Made::holding(id, new_vpc(id, attrs)));
                }
                Err(e) if e.code.is_none() => {
                    let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
                    let ours = ec2_tags::owned_ids(found, attrs, |read| Some(read));
                    if let [id] = ours.as_slice() {
                        return Ok(Made::found(id.clone()));
                    }
                    return Err(e.into());
                }
                Err(e) if super::retry::later(&e) && attempt < super::retry::ATTEMPTS => {
                    ctx.observer.event(&crate::observe::Event::Retry {
                        service: "ec2",
                        operation: "CreateVpc",
                        attempt: attempt + 1,
                    });
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the loop returns")
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        // One attribute a call, support before hostnames (AWS refuses hostnames
        // without support).
        for name in ["enable_dns_support", "enable_dns_hostnames"] {
            if differs(before, after, name) {
                let on = AttributeBooleanValue::builder().value(after.bool(name)?).build();
                let call = self.0.ec2.modify_vpc_attribute().vpc_id(id);
                let call = if name == "enable_dns_support" {
                    call.enable_dns_support(on)
                } else {
                    call.enable_dns_hostnames(on)
                };
                send!(call, "ModifyVpcAttribute")?;
            }
        }
        tags::sync(&tags::Ec2, &self.0, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    /// Its ARN (from the account, known already).
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "vpc", id).await.map(Some)
    }

    /// DescribeVpcs by lists of ids, without the DNS attributes.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let found = ec2_tags::read_by_id(ids, "vpc-id", |f| describe(&self.0, f)).await?;
        Ok(found.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.ec2.delete_vpc().vpc_id(id), "DeleteVpc").or_gone()?;
        Ok(())
    }
}

/// A new VPC: what the create call set (its range, its tags), with AWS's DNS
/// settings for a new VPC: support on, hostnames off.
fn new_vpc(id: &str, asked: &Attrs) -> Attrs {
    let mut attrs = asked.clone();
    attrs.insert("id".into(), json!(id));
    attrs.insert("enable_dns_support".into(), json!(true));
    attrs.insert("enable_dns_hostnames".into(), json!(false));
    attrs
}

/// What the filters match, by id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = send!(aws.ec2.describe_vpcs().set_filters(Some(filters)), "DescribeVpcs")?;
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

/// One DNS attribute of a VPC.
async fn dns_attribute(aws: &Aws, id: &str, name: VpcAttributeName) -> Result<bool> {
    let out = send!(
        aws.ec2.describe_vpc_attribute().vpc_id(id).attribute(name.clone()),
        "DescribeVpcAttribute"
    )?;
    let value = match name {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_dns_support(),
    };
    Ok(value.and_then(|v| v.value()).unwrap_or(false))
}
