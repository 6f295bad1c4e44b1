//! The provider of `route_table`: made empty with its tags, then its routes
//! and subnet associations brought in line by `update`. Routes change one by
//! one (CreateRoute, ReplaceRoute, DeleteRoute: a changed target is replaced,
//! never deleted and added again). A subnet another table holds is taken over
//! with ReplaceRouteTableAssociation, so it is never without a table; a table's
//! associations go before the table does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, ResourceType, Route as AwsRoute, RouteOrigin, RouteTable as Table,
};
use serde_json::{Value, json};

use super::tags;
use super::{Aws, Result, api, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs_set, into_map};
use crate::types::route_table::{destination, target};
use crate::types::{Attrs, AttrsExt};

pub struct RouteTable(pub Arc<Aws>);

/// A table's subnet associations: subnet id to association id.
type Associations = HashMap<String, String>;

/// One route: what it matches and where it sends it, each with the attribute
/// that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    prefix_list: bool,
    destination: String,
    via: &'static str,
    target: String,
}

impl Route {
    fn of(v: &Value) -> Option<Route> {
        let (via, to) = target(v)?;
        Some(Route {
            prefix_list: v.get("destination_prefix_list_id").is_some(),
            destination: destination(v)?.to_string(),
            via,
            target: to.to_string(),
        })
    }
}

/// The routes of `attrs`, by destination.
fn routes(attrs: &Attrs) -> BTreeMap<String, Route> {
    attrs
        .get("routes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Route::of)
        .map(|r| (r.destination.clone(), r))
        .collect()
}

/// Sets a route's destination and target on a CreateRoute or ReplaceRoute.
macro_rules! route_call {
    ($call:expr, $r:expr) => {{
        let r: &Route = $r;
        let call = if r.prefix_list {
            $call.destination_prefix_list_id(&r.destination)
        } else {
            $call.destination_cidr_block(&r.destination)
        };
        match r.via {
            "nat_gateway_id" => call.nat_gateway_id(&r.target),
            "vpc_endpoint_id" => call.vpc_endpoint_id(&r.target),
            "vpc_peering_connection_id" => call.vpc_peering_connection_id(&r.target),
            "transit_gateway_id" => call.transit_gateway_id(&r.target),
            _ => call.gateway_id(&r.target),
        }
    }};
}

#[async_trait]
impl Provider for RouteTable {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let found = ec2_tags::read_by_id(ids, "route-table-id", |f| describe(&self.0, f)).await?;
        Ok(found.into_iter().map(|(id, (_, a))| (id, a)).collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let out = send!(
            self.0
                .ec2
                .create_route_table()
                .vpc_id(attrs.str("vpc_id")?)
                .set_client_token(ctx.token.clone())
                .tag_specifications(ec2_tags::spec(ResourceType::RouteTable, attrs)),
            "CreateRouteTable"
        )?;
        // A new table: its VPC and tags, AWS's local route only (never
        // listed), no subnet; `update` adds the routes and associations.
        let id = out.route_table().and_then(|t| t.route_table_id()).unwrap_or_default().to_string();
        let mut holds = ec2_tags::made(&self.0, "route-table", &id, attrs).await?;
        holds.insert("routes".into(), serde_json::json!([]));
        holds.insert("subnet_ids".into(), serde_json::json!([]));
        Ok(Made::holding(id, holds))
    }

    /// Its ARN (from the account, known already).
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "route-table", id).await.map(Some)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        sync_routes(aws, id, before, after).await?;
        // Associations are looked up (their ids) only when they change.
        // A table with none (a new one) has no association ids to look up.
        if let Some(subnets) = after.opt_strings("subnet_ids")
            && differs_set(before, after, "subnet_ids")
        {
            let none = before.opt_strings("subnet_ids").is_some_and(|s| s.is_empty());
            associate(aws, id, &subnets, none).await?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        associate(aws, id, &[], false).await?;
        send!(aws.ec2.delete_route_table().route_table_id(id), "DeleteRouteTable").or_gone()?;
        Ok(())
    }
}

/// Makes the routes of table `id` those of `after`, from those of `before`:
/// a destination whose target changes is replaced in place (ReplaceRoute).
pub(super) async fn sync_routes(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
    let (was, now) = (routes(before), routes(after));
    for (dest, r) in &now {
        match was.get(dest) {
            Some(old) if old == r => {}
            Some(_) => {
                send!(route_call!(aws.ec2.replace_route().route_table_id(id), r), "ReplaceRoute")?;
            }
            None => {
                send!(route_call!(aws.ec2.create_route().route_table_id(id), r), "CreateRoute")?;
            }
        }
    }
    for (dest, r) in was.iter().filter(|(d, _)| !now.contains_key(*d)) {
        let call = aws.ec2.delete_route().route_table_id(id);
        let call = if r.prefix_list {
            call.destination_prefix_list_id(dest)
        } else {
            call.destination_cidr_block(dest)
        };
        send!(call, "DeleteRoute").or_gone()?;
    }
    Ok(())
}

/// Makes `subnets` the subnets associated with table `id`, as AWS has it now:
/// a subnet held by another table is taken over in one call, one no longer
/// wanted is let go (it falls back to the VPC's main table). `none`: the
/// table is known to hold no subnet (it was just made), so its own
/// associations are not looked up.
async fn associate(aws: &Aws, id: &str, subnets: &[String], none: bool) -> Result<()> {
    let held = if none {
        Associations::new()
    } else {
        let by_id = Filter::builder().name("route-table-id").values(id).build();
        describe(aws, vec![by_id]).await?.remove(id).map(|(assoc, _)| assoc).unwrap_or_default()
    };
    let missing: Vec<String> = subnets.iter().filter(|s| !held.contains_key(*s)).cloned().collect();
    let elsewhere: HashMap<String, String> = if missing.is_empty() {
        HashMap::new()
    } else {
        let by_subnet = Filter::builder()
            .name("association.subnet-id")
            .set_values(Some(missing.clone()))
            .build();
        describe(aws, vec![by_subnet]).await?.into_values().flat_map(|(assoc, _)| assoc).collect()
    };
    for subnet in &missing {
        match elsewhere.get(subnet) {
            Some(association) => {
                send!(
                    aws.ec2
                        .replace_route_table_association()
                        .association_id(association)
                        .route_table_id(id),
                    "ReplaceRouteTableAssociation"
                )?;
            }
            None => {
                send!(
                    aws.ec2.associate_route_table().route_table_id(id).subnet_id(subnet),
                    "AssociateRouteTable"
                )?;
            }
        }
    }
    for (_, association) in held.iter().filter(|(s, _)| !subnets.contains(*s)) {
        send!(
            aws.ec2.disassociate_route_table().association_id(association),
            "DisassociateRouteTable"
        )
        .or_gone()?;
    }
    Ok(())
}

/// What the filters match, by id: each table's subnet associations (subnet to
/// association id) and its attributes.
pub(super) async fn describe(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<HashMap<String, (Associations, Attrs)>> {
    let mut out = HashMap::new();
    let mut pages =
        aws.ec2.describe_route_tables().set_filters(Some(filters)).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(api("DescribeRouteTables"))?;
        for t in page.route_tables() {
            if let Some((id, found)) = attrs_of(aws, t) {
                out.insert(id, found);
            }
        }
    }
    Ok(out)
}

fn attrs_of(aws: &Aws, t: &Table) -> Option<(String, (Associations, Attrs))> {
    let id = t.route_table_id()?.to_string();
    let associations: Associations = t
        .associations()
        .iter()
        .filter(|a| a.main() != Some(true))
        .filter_map(|a| {
            Some((a.subnet_id()?.to_string(), a.route_table_association_id()?.to_string()))
        })
        .collect();
    let mut subnets: Vec<&String> = associations.keys().collect();
    subnets.sort();
    let routes: Vec<Value> = t.routes().iter().filter_map(route_value).collect();
    let attrs = json!({
        "id": id,
        "arn": format!("arn:aws:ec2:{}:{}:route-table/{id}", aws.region, t.owner_id().unwrap_or_default()),
        "vpc_id": t.vpc_id(),
        "routes": routes,
        "subnet_ids": subnets,
        "tags": ec2_tags::value(t.tags()),
    });
    Some((id, (associations, into_map(attrs))))
}

/// A route as the stack writes it; `None` for a route that is AWS's: the VPC's
/// `local` route, a propagated one, and those a gateway endpoint adds (its
/// `route_table_ids` own them).
fn route_value(r: &AwsRoute) -> Option<Value> {
    if matches!(
        r.origin(),
        Some(RouteOrigin::CreateRouteTable | RouteOrigin::EnableVgwRoutePropagation)
    ) || r.gateway_id() == Some("local")
    {
        return None;
    }
    let gateway = r.gateway_id().filter(|g| !g.is_empty());
    let endpoint = gateway.filter(|g| g.starts_with("vpce-"));
    if endpoint.is_some() && r.destination_prefix_list_id().is_some() {
        return None;
    }
    let mut v = serde_json::Map::new();
    if let Some(cidr) = r.destination_cidr_block() {
        v.insert("cidr_block".into(), json!(cidr));
    } else if let Some(pl) = r.destination_prefix_list_id() {
        v.insert("destination_prefix_list_id".into(), json!(pl));
    } else {
        return None;
    }
    let targets = [
        ("vpc_endpoint_id", endpoint),
        ("gateway_id", gateway.filter(|g| !g.starts_with("vpce-"))),
        ("nat_gateway_id", r.nat_gateway_id()),
        ("vpc_peering_connection_id", r.vpc_peering_connection_id()),
        ("transit_gateway_id", r.transit_gateway_id()),
    ];
    let (via, to) = targets.into_iter().find_map(|(k, t)| Some((k, t?)))?;
    v.insert(via.into(), json!(to));
    Some(Value::Object(v))
}
