//! The provider of `vpc_endpoint`: made with everything it is given (a Gateway
//! endpoint adds its routes to its route tables there and then), waited for
//! until available; route tables, subnets, security groups and private DNS
//! change in place with one ModifyVpcEndpoint. A deleted endpoint stays
//! visible for a while (state `deleted`) and reads as gone.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, State, VpcEndpoint as Endpoint, VpcEndpointType};
use serde_json::json;

use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result, api, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, into_map};
use crate::types::{Attrs, AttrsExt, Operation};

pub struct VpcEndpoint(pub Arc<Aws>);

/// The members of a set attribute that `after` adds to and removes from `before`.
fn moves(before: &Attrs, after: &Attrs, key: &str) -> (Vec<String>, Vec<String>) {
    // Not set: not managed; no longer set (`null`): every one removed.
    let now = match after.get(key) {
        None => return (Vec::new(), Vec::new()),
        Some(v) if v.is_null() => Vec::new(),
        Some(_) => after.opt_strings(key).unwrap_or_default(),
    };
    let was = before.opt_strings(key).unwrap_or_default();
    (
        now.iter().filter(|x| !was.contains(x)).cloned().collect(),
        was.iter().filter(|x| !now.contains(x)).cloned().collect(),
    )
}

fn some(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

#[async_trait]
impl Provider for VpcEndpoint {
    fn waits(&self) -> bool {
        true
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let found = by_ids(&self.0, ids).await?;
        Ok(found
            .into_iter()
            .filter(|(_, (state, _))| !gone(state))
            .map(|(id, (_, attrs))| (id, attrs))
            .collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let interface = attrs.opt_str("vpc_endpoint_type") == Some("Interface");
        let out = send!(
            self.0
                .ec2
                .create_vpc_endpoint()
                .vpc_id(attrs.str("vpc_id")?)
                .service_name(attrs.str("service_name")?)
                .vpc_endpoint_type(VpcEndpointType::from(
                    attrs.opt_str("vpc_endpoint_type").unwrap_or("Gateway"),
                ))
                .set_route_table_ids(attrs.opt_strings("route_table_ids"))
                .set_subnet_ids(attrs.opt_strings("subnet_ids"))
                .set_security_group_ids(attrs.opt_strings("security_group_ids"))
                .set_private_dns_enabled(
                    interface.then(|| attrs.opt_bool("private_dns_enabled").unwrap_or(true)),
                )
                .set_policy_document(attrs.opt_str("policy").map(str::to_string))
                .set_dns_options(dns_options(attrs))
                .set_client_token(ctx.token.clone())
                .tag_specifications(ec2_tags::spec(ResourceType::VpcEndpoint, attrs)),
            "CreateVpcEndpoint"
        )?;
        Ok(out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
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
        let aws = &*self.0;
        let (add_tables, remove_tables) = moves(before, after, "route_table_ids");
        let (add_subnets, remove_subnets) = moves(before, after, "subnet_ids");
        let (add_groups, remove_groups) = moves(before, after, "security_group_ids");
        let dns = differs(before, after, "private_dns_enabled")
            .then(|| after.opt_bool("private_dns_enabled"))
            .flatten();
        // A policy no longer set is AWS's full access again: sent as that
        // document (what ResetPolicy puts back, and what the emulator takes).
        let policy = differs(before, after, "policy").then(|| match after.opt_str("policy") {
            Some(doc) => doc.to_string(),
            None => serde_json::from_str::<String>(crate::types::vpc_endpoint::FULL_ACCESS)
                .unwrap_or_default(),
        });
        let changes = [
            &add_tables,
            &remove_tables,
            &add_subnets,
            &remove_subnets,
            &add_groups,
            &remove_groups,
        ];
        let options = differs(before, after, "dns_options").then(|| dns_options(after)).flatten();
        if dns.is_some()
            || policy.is_some()
            || options.is_some()
            || changes.iter().any(|c| !c.is_empty())
        {
            send!(
                aws.ec2
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(id)
                    .set_add_route_table_ids(some(add_tables))
                    .set_remove_route_table_ids(some(remove_tables))
                    .set_add_subnet_ids(some(add_subnets))
                    .set_remove_subnet_ids(some(remove_subnets))
                    .set_add_security_group_ids(some(add_groups))
                    .set_remove_security_group_ids(some(remove_groups))
                    .set_private_dns_enabled(dns)
                    .set_dns_options(options)
                    .set_policy_document(policy),
                "ModifyVpcEndpoint"
            )?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, Some(ec2_tags::owner_filters(attrs)?), None).await?;
        Ok(ec2_tags::owned_ids(found, attrs, |(state, read)| (!gone(state)).then_some(read)))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let out =
            send!(self.0.ec2.delete_vpc_endpoints().vpc_endpoint_ids(id), "DeleteVpcEndpoints")
                .or_gone()?;
        // The call answers per endpoint: one it could not delete is in
        // `Unsuccessful`, and only a missing one counts as deleted.
        if let Some(item) = out.as_ref().and_then(|o| o.unsuccessful().first())
            && let Some(e) = item.error()
            && !e.code().unwrap_or_default().contains("NotFound")
        {
            anyhow::bail!(
                "DeleteVpcEndpoints: {}: {}",
                e.code().unwrap_or_default(),
                e.message().unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Until it is available (an Interface endpoint takes a minute or two) or
    /// gone.
    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        let delete = match operation.phase() {
            Operation::Create => false,
            Operation::Delete => true,
            _ => return Ok(None),
        };
        let doing = if delete { "deleting" } else { "creating" };
        let timeout = ctx.timeout(operation, Duration::from_secs(10 * 60));
        wait::until(ctx, doing, timeout, || async {
            let found = by_ids(aws, &[id.to_string()]).await?;
            let attrs = found.get(id).map(|(_, a)| a);
            Ok(match (found.get(id).map(|(s, _)| s), delete) {
                (None, true) => Poll::Done,
                (Some(s), true) if gone(s) => Poll::Done,
                (None, false) => Poll::Failed("the endpoint is gone".into()),
                // Its last look is a whole read: no read back.
                (Some(s), false) if s == "available" => {
                    Poll::Seen(attrs.cloned().unwrap_or_default())
                }
                (Some(s), false) if gone(s) => Poll::Failed(format!("the endpoint is {s}")),
                (Some(s), _) => Poll::Pending(s.clone()),
            })
        })
        .await
    }
}

/// Deleted (and still listed for a while), or never to be available. AWS
/// writes states in lower case (`available`) where its model says `Available`:
/// they are compared as lower-case text.
fn gone(state: &str) -> bool {
    matches!(state, "deleted" | "failed" | "rejected" | "expired")
}

/// The endpoints with these ids that exist, with each one's state. By the
/// `VpcEndpointIds` parameter (the emulator has no `vpc-endpoint-id` filter),
/// which refuses the whole call when one id is gone: then one id a call.
async fn by_ids(aws: &Aws, ids: &[String]) -> Result<HashMap<String, (String, Attrs)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
        match describe(aws, None, Some(chunk.to_vec())).await {
            Ok(found) => out.extend(found),
            Err(e) if gone_id(&e) => {
                for id in chunk {
                    match describe(aws, None, Some(vec![id.clone()])).await {
                        Ok(found) => out.extend(found),
                        Err(e) if gone_id(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn gone_id(e: &anyhow::Error) -> bool {
    crate::provider::api_error(e).is_some_and(|a| a.is_not_found())
}

/// What the filters or ids match, by id, with each one's state.
async fn describe(
    aws: &Aws,
    filters: Option<Vec<Filter>>,
    ids: Option<Vec<String>>,
) -> Result<HashMap<String, (String, Attrs)>> {
    let mut out = HashMap::new();
    let mut pages = aws
        .ec2
        .describe_vpc_endpoints()
        .set_filters(filters)
        .set_vpc_endpoint_ids(ids)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(api("DescribeVpcEndpoints"))?;
        for e in page.vpc_endpoints() {
            if let Some((id, state, attrs)) = attrs_of(aws, e) {
                out.insert(id, (state, attrs));
            }
        }
    }
    Ok(out)
}

fn attrs_of(aws: &Aws, e: &Endpoint) -> Option<(String, String, Attrs)> {
    let id = e.vpc_endpoint_id()?.to_string();
    let kind = e.vpc_endpoint_type().map_or("Gateway", |t| t.as_str()).to_string();
    let mut attrs = json!({
        "id": id,
        "arn": format!("arn:aws:ec2:{}:{}:vpc-endpoint/{id}", aws.region, e.owner_id().unwrap_or_default()),
        "vpc_id": e.vpc_id(),
        "service_name": e.service_name(),
        "vpc_endpoint_type": kind,
        "policy": e.policy_document(),
        "tags": ec2_tags::value(e.tags()),
    });
    if attrs["policy"].is_null() {
        attrs.as_object_mut().map(|m| m.remove("policy"));
    }
    if kind == "Interface" {
        attrs["subnet_ids"] = json!(e.subnet_ids());
        attrs["security_group_ids"] =
            json!(e.groups().iter().filter_map(|g| g.group_id()).collect::<Vec<_>>());
        attrs["private_dns_enabled"] = json!(e.private_dns_enabled().unwrap_or(false));
        if let Some(o) = e.dns_options() {
            let mut options = serde_json::Map::new();
            if let Some(t) = o.dns_record_ip_type() {
                options.insert("dns_record_ip_type".into(), json!(t.as_str()));
            }
            if let Some(only) = o.private_dns_only_for_inbound_resolver_endpoint() {
                options
                    .insert("private_dns_only_for_inbound_resolver_endpoint".into(), json!(only));
            }
            if !options.is_empty() {
                attrs["dns_options"] = serde_json::Value::Object(options);
            }
        }
    } else {
        attrs["route_table_ids"] = json!(e.route_table_ids());
    }
    let state = e.state().map_or("pending", State::as_str).to_ascii_lowercase();
    Some((id, state, into_map(attrs)))
}

/// An Interface endpoint's DNS options as EC2 takes them.
fn dns_options(attrs: &Attrs) -> Option<aws_sdk_ec2::types::DnsOptionsSpecification> {
    let o = attrs.get("dns_options")?;
    Some(
        aws_sdk_ec2::types::DnsOptionsSpecification::builder()
            .set_dns_record_ip_type(
                o.opt_str("dns_record_ip_type").map(aws_sdk_ec2::types::DnsRecordIpType::from),
            )
            .set_private_dns_only_for_inbound_resolver_endpoint(
                o.opt_bool("private_dns_only_for_inbound_resolver_endpoint"),
            )
            .build(),
    )
}
