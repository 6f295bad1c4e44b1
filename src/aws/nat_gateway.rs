//! The provider of `nat_gateway`. AWS takes minutes to make one available and
//! to delete one, and keeps a deleted one visible (state `deleted`) for about an
//! hour: what is deleted or failed reads as gone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    ConnectivityType, Filter, NatGateway as Nat, NatGatewayState, ResourceType,
};
use serde_json::json;

use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result, api, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt, Operation};

pub struct NatGateway(pub Arc<Aws>);

#[async_trait]
impl Provider for NatGateway {
    fn waits(&self) -> bool {
        true
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let found = ec2_tags::read_by_id(ids, "nat-gateway-id", |f| describe(&self.0, f)).await?;
        Ok(ec2_tags::live(found, gone))
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let out = send!(
            self.0
                .ec2
                .create_nat_gateway()
                .subnet_id(attrs.str("subnet_id")?)
                .connectivity_type(ConnectivityType::from(attrs.str("connectivity_type")?))
                .set_allocation_id(attrs.opt_str("allocation_id").map(str::to_string))
                .set_client_token(ctx.token.clone())
                .tag_specifications(ec2_tags::spec(ResourceType::Natgateway, attrs)),
            "CreateNatGateway"
        )?;
        Ok(out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_string()
            .into())
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
        Ok(ec2_tags::owned_ids(found, attrs, |(state, read)| (!gone(state)).then_some(read)))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.ec2.delete_nat_gateway().nat_gateway_id(id), "DeleteNatGateway").or_gone()?;
        Ok(())
    }

    /// Until it is available (a create) or deleted (a delete): AWS says a few
    /// minutes for either.
    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        let delete = match operation.phase() {
            Operation::Create => false,
            Operation::Delete => true,
            _ => return Ok(None),
        };
        let (doing, default) = if delete {
            ("deleting", Duration::from_secs(30 * 60))
        } else {
            ("creating", Duration::from_secs(10 * 60))
        };
        let timeout = ctx.timeout(operation, default);
        wait::until(ctx, doing, timeout, || async {
            let found =
                ec2_tags::read_by_id(&[id.to_string()], "nat-gateway-id", |f| describe(aws, f))
                    .await?;
            let Some((state, attrs)) = found.get(id) else {
                return Ok(if delete {
                    Poll::Done
                } else {
                    Poll::Failed("the NAT gateway is gone".into())
                });
            };
            Ok(match (state, delete) {
                // Its last look is a whole read: no read back.
                (NatGatewayState::Available, false) => Poll::Seen(attrs.clone()),
                (NatGatewayState::Deleted, true) => Poll::Done,
                (NatGatewayState::Failed, false) => Poll::Failed(format!(
                    "the NAT gateway failed: {}",
                    attrs.opt_str("failure").unwrap_or("no reason given")
                )),
                (NatGatewayState::Failed, true) => Poll::Done,
                (s, _) => Poll::Pending(s.as_str().to_string()),
            })
        })
        .await
    }
}

/// Deleted (and kept visible for a while) or failed (deleted by AWS soon):
/// either way not there to use.
fn gone(state: &NatGatewayState) -> bool {
    matches!(state, NatGatewayState::Deleted | NatGatewayState::Failed)
}

/// What the filters match, by id, with each one's state.
async fn describe(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<HashMap<String, (NatGatewayState, Attrs)>> {
    let mut out = HashMap::new();
    let mut pages =
        aws.ec2.describe_nat_gateways().set_filter(Some(filters)).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(api("DescribeNatGateways"))?;
        for n in page.nat_gateways() {
            if let Some((id, state, attrs)) = attrs_of(n) {
                out.insert(id, (state, attrs));
            }
        }
    }
    Ok(out)
}

fn attrs_of(n: &Nat) -> Option<(String, NatGatewayState, Attrs)> {
    let id = n.nat_gateway_id()?.to_string();
    let address = n.nat_gateway_addresses().first();
    let mut attrs = json!({
        "id": id,
        "subnet_id": n.subnet_id(),
        "connectivity_type": n.connectivity_type().map(|c| c.as_str()),
        "public_ip": address.and_then(|a| a.public_ip()),
        "private_ip": address.and_then(|a| a.private_ip()),
        "tags": ec2_tags::value(n.tags()),
    });
    if let Some(allocation) = address.and_then(|a| a.allocation_id()) {
        attrs["allocation_id"] = json!(allocation);
    }
    if let Some(why) = n.failure_message() {
        attrs["failure"] = json!(why);
    }
    let state = n.state().cloned().unwrap_or(NatGatewayState::Pending);
    Some((id, state, into_map(attrs)))
}
