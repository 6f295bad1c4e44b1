//! The provider of `network_acl`: made with its tags and no rules, then its
//! rules and subnets brought in line by `update`. Rules change one by one
//! (CreateNetworkAclEntry, ReplaceNetworkAclEntry for a number given another
//! rule, DeleteNetworkAclEntry). A subnet always has one ACL: it is moved
//! here, or back to the VPC's default ACL, with ReplaceNetworkAclAssociation,
//! never left without one; an ACL's subnets go back to the default before it
//! is deleted.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IcmpTypeCode, NetworkAcl as Acl, NetworkAclEntry, PortRange, ResourceType, RuleAction,
};
use serde_json::{Map, Value, json};

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs_set, into_map};
use crate::types::schema::parse_ports;
use crate::types::{Attrs, AttrsExt};

pub struct NetworkAcl(pub Arc<Aws>);

/// An ACL's subnet associations: subnet id to association id.
type Associations = HashMap<String, String>;

/// The rules of one direction, by number.
fn rules(attrs: &Attrs, dir: &str) -> BTreeMap<i64, Value> {
    attrs
        .get(dir)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.get("rule_no")?.as_i64()?, r.clone())))
        .collect()
}

/// EC2's number for a protocol the stack names.
fn protocol_number(name: &str) -> &str {
    match name {
        "tcp" => "6",
        "udp" => "17",
        "icmp" => "1",
        "icmpv6" => "58",
        "all" => "-1",
        other => other,
    }
}

/// Sets a rule's fields on a CreateNetworkAclEntry or ReplaceNetworkAclEntry.
macro_rules! entry_call {
    ($call:expr, $rule:expr, $egress:expr) => {{
        let rule: &Value = $rule;
        let get = |k: &str| rule.get(k).and_then(Value::as_str);
        let int = |k: &str| rule.get(k).and_then(Value::as_i64).map(|n| n as i32);
        let mut call = $call
            .rule_number(int("rule_no").unwrap_or_default())
            .egress($egress)
            .protocol(protocol_number(get("protocol").unwrap_or("all")))
            .rule_action(RuleAction::from(get("action").unwrap_or("deny")))
            .set_cidr_block(get("cidr").map(str::to_string))
            .set_ipv6_cidr_block(get("ipv6_cidr").map(str::to_string));
        if let Some(Ok((from, to))) = get("ports").map(parse_ports) {
            call = call
                .port_range(PortRange::builder().from(i32::from(from)).to(i32::from(to)).build());
        }
        if get("protocol").is_some_and(|p| p.starts_with("icmp")) {
            call = call.icmp_type_code(
                IcmpTypeCode::builder()
                    .r#type(int("icmp_type").unwrap_or(-1))
                    .code(int("icmp_code").unwrap_or(-1))
                    .build(),
            );
        }
        call
    }};
}

#[async_trait]
impl Provider for NetworkAcl {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let found = by_id(&self.0, ids).await?;
        Ok(found.into_iter().map(|(id, (_, a))| (id, a)).collect())
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let out = send!(
            self.0
                .ec2
                .create_network_acl()
                .vpc_id(attrs.str("vpc_id")?)
                .set_client_token(ctx.token.clone())
                .tag_specifications(ec2_tags::spec(ResourceType::NetworkAcl, attrs)),
            "CreateNetworkAcl"
        )?;
        // A new ACL: AWS's catch-all denies only (never listed), no subnet;
        // `update` adds the rules and associations.
        let id = out.network_acl().and_then(|a| a.network_acl_id()).unwrap_or_default().to_string();
        let mut holds = ec2_tags::made(&self.0, "network-acl", &id, attrs).await?;
        for k in ["ingress", "egress", "subnet_ids"] {
            holds.insert(k.into(), json!([]));
        }
        Ok(Made::holding(id, holds))
    }

    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "network-acl", id).await.map(Some)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        sync_rules(aws, id, before, after).await?;
        if let Some(subnets) = after.opt_strings("subnet_ids")
            && differs_set(before, after, "subnet_ids")
        {
            let vpc = after.str("vpc_id")?;
            associate(aws, id, vpc, &subnets).await?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    /// Its subnets go back to the VPC's default ACL, then it goes.
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        if let Ok(vpc) = before.str("vpc_id") {
            associate(aws, id, vpc, &[]).await?;
        }
        send!(aws.ec2.delete_network_acl().network_acl_id(id), "DeleteNetworkAcl").or_gone()?;
        Ok(())
    }
}

/// Makes the rules of ACL `id` those of `after`, from those of `before`: a
/// number whose rule changes is replaced in place, one no longer listed is
/// deleted after the new ones are in.
pub(super) async fn sync_rules(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
    for (dir, egress) in [("ingress", false), ("egress", true)] {
        let (was, now) = (rules(before, dir), rules(after, dir));
        for (n, rule) in &now {
            match was.get(n) {
                Some(old) if old == rule => {}
                Some(_) => {
                    send!(
                        entry_call!(
                            aws.ec2.replace_network_acl_entry().network_acl_id(id),
                            rule,
                            egress
                        ),
                        "ReplaceNetworkAclEntry"
                    )?;
                }
                None => {
                    send!(
                        entry_call!(
                            aws.ec2.create_network_acl_entry().network_acl_id(id),
                            rule,
                            egress
                        ),
                        "CreateNetworkAclEntry"
                    )?;
                }
            }
        }
        for n in was.keys().filter(|n| !now.contains_key(*n)) {
            send!(
                aws.ec2
                    .delete_network_acl_entry()
                    .network_acl_id(id)
                    .rule_number(*n as i32)
                    .egress(egress),
                "DeleteNetworkAclEntry"
            )
            .or_gone()?;
        }
    }
    Ok(())
}

/// The id of a VPC's default network ACL.
pub(super) async fn default_of(aws: &Aws, vpc: &str) -> Result<Option<String>> {
    let filters = vec![
        Filter::builder().name("vpc-id").values(vpc).build(),
        Filter::builder().name("default").values("true").build(),
    ];
    Ok(describe(aws, filters).await?.into_keys().next())
}

/// Makes `subnets` the subnets of ACL `id`: each taken from the ACL that
/// holds it in one call (ReplaceNetworkAclAssociation); each no longer
/// wanted given back to the VPC's default ACL the same way.
async fn associate(aws: &Aws, id: &str, vpc: &str, subnets: &[String]) -> Result<()> {
    let by_vpc = Filter::builder().name("vpc-id").values(vpc).build();
    let all = describe(aws, vec![by_vpc]).await?;
    let held = all.get(id).map(|(a, _)| a.clone()).unwrap_or_default();
    let elsewhere: Associations = all
        .iter()
        .filter(|(acl, _)| *acl != id)
        .flat_map(|(_, (assoc, _))| assoc.clone())
        .collect();
    for subnet in subnets.iter().filter(|s| !held.contains_key(*s)) {
        let Some(association) = elsewhere.get(subnet) else {
            anyhow::bail!(
                "subnet {subnet} is not in VPC {vpc}: a network ACL guards its own VPC's subnets"
            );
        };
        replace(aws, association, id).await?;
    }
    let leaving: Vec<&String> =
        held.iter().filter(|(s, _)| !subnets.contains(*s)).map(|(_, a)| a).collect();
    if !leaving.is_empty() {
        let Some(default) = all
            .iter()
            .find(|(_, (_, a))| a.get("default") == Some(&Value::Bool(true)))
            .map(|(acl, _)| acl.clone())
        else {
            anyhow::bail!("VPC {vpc} has no default network ACL to give subnets back to");
        };
        for association in leaving {
            replace(aws, association, &default).await?;
        }
    }
    Ok(())
}

async fn replace(aws: &Aws, association: &str, acl: &str) -> Result<()> {
    send!(
        aws.ec2.replace_network_acl_association().association_id(association).network_acl_id(acl),
        "ReplaceNetworkAclAssociation"
    )?;
    Ok(())
}

/// What the filters match, by id: each ACL's subnet associations (subnet to
/// association id) and its attributes (with `default`, whether it is the
/// VPC's own, which no stack attribute holds).
pub(super) async fn describe(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<HashMap<String, (Associations, Attrs)>> {
    acls(aws, Some(filters), None).await
}

/// Every page of DescribeNetworkAcls, by filters or by ids, each ACL as
/// `attrs_of` gives it.
async fn acls(
    aws: &Aws,
    filters: Option<Vec<Filter>>,
    ids: Option<Vec<String>>,
) -> Result<HashMap<String, (Associations, Attrs)>> {
    let found: Vec<Acl> = items!(
        aws.ec2.describe_network_acls().set_filters(filters).set_network_acl_ids(ids),
        "DescribeNetworkAcls"
    )?;
    Ok(found.iter().filter_map(|acl| attrs_of(aws, acl)).collect())
}

/// The ACLs of these ids, those that exist. By their ids (NetworkAclIds),
/// not the `network-acl-id` filter, which the emulator lacks: a list with
/// one gone is refused whole, and is then read one id at a time.
async fn by_id(aws: &Aws, ids: &[String]) -> Result<HashMap<String, (Associations, Attrs)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
        match acls(aws, None, Some(chunk.to_vec())).await {
            Ok(found) => out.extend(found),
            Err(e) if crate::provider::api_error(&e).is_some_and(|a| a.is_not_found()) => {
                for id in chunk {
                    match acls(aws, None, Some(vec![id.clone()])).await {
                        Ok(found) => out.extend(found),
                        Err(e)
                            if crate::provider::api_error(&e).is_some_and(|a| a.is_not_found()) => {
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn attrs_of(aws: &Aws, acl: &Acl) -> Option<(String, (Associations, Attrs))> {
    let id = acl.network_acl_id()?.to_string();
    let associations: Associations = acl
        .associations()
        .iter()
        .filter_map(|a| {
            Some((a.subnet_id()?.to_string(), a.network_acl_association_id()?.to_string()))
        })
        .collect();
    let mut subnets: Vec<&String> = associations.keys().collect();
    subnets.sort();
    let direction = |egress: bool| -> Vec<Value> {
        acl.entries().iter().filter(|e| e.egress() == Some(egress)).filter_map(rule_value).collect()
    };
    let attrs = json!({
        "id": id,
        "arn": format!("arn:aws:ec2:{}:{}:network-acl/{id}", aws.region, acl.owner_id().unwrap_or_default()),
        "vpc_id": acl.vpc_id(),
        "ingress": direction(false),
        "egress": direction(true),
        "subnet_ids": subnets,
        "default": acl.is_default().unwrap_or(false),
        "tags": ec2_tags::value(acl.tags()),
    });
    Some((id, (associations, into_map(attrs))))
}

/// A rule as the stack writes it; `None` for AWS's catch-all deny (32767).
fn rule_value(e: &NetworkAclEntry) -> Option<Value> {
    let n = e.rule_number()?;
    if i64::from(n) > crate::types::network_acl::MAX_RULE {
        return None;
    }
    let protocol = match e.protocol().unwrap_or("-1") {
        "-1" | "all" => "all",
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        "58" | "icmpv6" => "icmpv6",
        other => other,
    };
    let mut m = Map::new();
    m.insert("rule_no".into(), json!(n));
    m.insert("action".into(), json!(e.rule_action().map(|a| a.as_str()).unwrap_or("deny")));
    m.insert("protocol".into(), json!(protocol));
    if matches!(protocol, "tcp" | "udp")
        && let Some(p) = e.port_range()
    {
        let (from, to) = (p.from().unwrap_or(0), p.to().unwrap_or(65535));
        let ports = if from == to { from.to_string() } else { format!("{from}-{to}") };
        m.insert("ports".into(), json!(ports));
    }
    if let Some(c) = e.cidr_block() {
        m.insert("cidr".into(), json!(c));
    }
    if let Some(c) = e.ipv6_cidr_block() {
        m.insert("ipv6_cidr".into(), json!(c));
    }
    if protocol.starts_with("icmp")
        && let Some(icmp) = e.icmp_type_code()
    {
        m.insert("icmp_type".into(), json!(icmp.r#type().unwrap_or(-1)));
        m.insert("icmp_code".into(), json!(icmp.code().unwrap_or(-1)));
    }
    Some(Value::Object(m))
}
