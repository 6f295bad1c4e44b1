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
            .set_amazon_provided_ipv6_cidr_block(
                attrs.opt_bool("assign_generated_ipv6_cidr_block").filter(|on| *on),
            )
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
                    let mut holds = new_vpc(id, attrs);
                    // Its IPv6 block, when one was asked for: from the answer,
                    // else read (AWS may assign it a moment later).
                    if attrs.opt_bool("assign_generated_ipv6_cidr_block") == Some(true) {
                        let v6 = out.vpc().map(ipv6_of).unwrap_or_default();
                        let v6 = match v6.get("ipv6_cidr_block") {
                            Some(_) => v6,
                            None => ipv6_now(&self.0, id).await?,
                        };
                        holds.extend(v6);
                    }
                    return Ok(Made::holding(id, holds));
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
        if differs(before, after, "assign_generated_ipv6_cidr_block") {
            if after.opt_bool("assign_generated_ipv6_cidr_block") == Some(true) {
                send!(
                    self.0
                        .ec2
                        .associate_vpc_cidr_block()
                        .vpc_id(id)
                        .amazon_provided_ipv6_cidr_block(true),
                    "AssociateVpcCidrBlock"
                )?;
            } else if let Some(association) = before.opt_str("ipv6_association_id") {
                send!(
                    self.0.ec2.disassociate_vpc_cidr_block().association_id(association),
                    "DisassociateVpcCidrBlock"
                )
                .or_gone()?;
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
    attrs.insert("assign_generated_ipv6_cidr_block".into(), json!(false));
    attrs
}

/// A VPC's Amazon-provided IPv6 block, if it has one (associated, or being
/// associated): `assign_generated_ipv6_cidr_block`, the block and its
/// association's id.
fn ipv6_of(v: &aws_sdk_ec2::types::Vpc) -> Attrs {
    use aws_sdk_ec2::types::VpcCidrBlockStateCode as S;
    let held = v.ipv6_cidr_block_association_set().iter().find(|a| {
        a.ipv6_cidr_block_state()
            .and_then(|s| s.state())
            .is_some_and(|s| matches!(s, S::Associated | S::Associating))
    });
    let mut attrs = into_map(json!({
        "assign_generated_ipv6_cidr_block": held.is_some(),
        "ipv6_cidr_block": held.and_then(|a| a.ipv6_cidr_block()),
        "ipv6_association_id": held.and_then(|a| a.association_id()),
    }));
    attrs.retain(|_, v| !v.is_null());
    attrs
}

/// A VPC's IPv6 block as it is now (DescribeVpcs by its id).
async fn ipv6_now(aws: &Aws, id: &str) -> Result<Attrs> {
    let by_id = Filter::builder().name("vpc-id").values(id).build();
    let out = send!(aws.ec2.describe_vpcs().filters(by_id), "DescribeVpcs")?;
    Ok(out.vpcs().first().map(ipv6_of).unwrap_or_default())
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
            let mut attrs = into_map(attrs);
            attrs.extend(ipv6_of(v));
            Some((id, attrs))
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
