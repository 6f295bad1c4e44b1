//! `security_group`: a VPC security group and its rules. The rules are a deferred
//! part, applied in a step of their own and diffed one by one: a rule change never
//! replaces the group, and two groups may reference each other.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::schema::parse_ports;
use crate::types::stack_id::ADDRESS_TAG;
use crate::types::{Attrs, AttrsExt};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType,
    SecurityGroup as SecurityGroup_, SecurityGroupRule, UserIdGroupPair,
};
use serde_json::{Map, Value, json};

pub struct SecurityGroup(pub Arc<Aws>);

#[async_trait]
impl Provider for SecurityGroup {
    /// A name made from `name_prefix`, settled before the intent.
    fn prepare(&self, attrs: &mut Attrs) {
        super::name_from_prefix(attrs);
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let mut out = HashMap::new();
        for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
            out.extend(read_chunk(aws, chunk).await?);
        }
        Ok(out)
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let out = send!(
            aws.ec2
                .create_security_group()
                .group_name(attrs.str("name")?)
                .description(attrs.str("description")?)
                .vpc_id(attrs.str("vpc_id")?)
                .tag_specifications(ec2_tags::spec(ResourceType::SecurityGroup, attrs)),
            "CreateSecurityGroup"
        )?;
        let id = out.group_id().unwrap_or_default();
        Ok(Made::holding(id, new_group(id, attrs)))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = matching(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        send!(aws.ec2.delete_security_group().group_id(id), "DeleteSecurityGroup").or_gone()?;
        Ok(())
    }

    /// Revokes the rules that are not wanted (by rule id) and authorises the
    /// missing ones, comparing against the rules `before` holds (as the plan's
    /// refresh read them, or as the create left them). The rules are described
    /// only when one must be revoked (a revoke names rule ids) or `before` does
    /// not say.
    async fn update_deferred(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let mut current: Option<Vec<(SecurityGroupRule, Value)>> = None;
        for egress in [false, true] {
            let key = if egress { "egress" } else { "ingress" };
            let Some(want) = after.get(key).and_then(Value::as_array) else {
                continue;
            };
            let known = before.get(key).and_then(Value::as_array);
            let stale = known.is_none_or(|have| have.iter().any(|h| !want.contains(h)));
            if stale && current.is_none() {
                current = Some(rules_now(aws, id).await?);
            }
            let have: Vec<Value> = match (&current, known) {
                (Some(now), _) => now
                    .iter()
                    .filter(|(r, _)| r.is_egress() == Some(egress))
                    .map(|(_, v)| v.clone())
                    .collect(),
                (None, Some(have)) => have.clone(),
                (None, None) => Vec::new(),
            };
            let revoke: Vec<String> = current
                .iter()
                .flatten()
                .filter(|(r, v)| r.is_egress() == Some(egress) && !want.contains(v))
                .filter_map(|(r, _)| r.security_group_rule_id().map(str::to_string))
                .collect();
            let add: Vec<IpPermission> =
                want.iter().filter(|w| !have.contains(w)).map(permission).collect();
            revoke_rules(aws, id, egress, revoke).await?;
            if add.is_empty() {
                continue;
            }
            if egress {
                send!(
                    aws.ec2
                        .authorize_security_group_egress()
                        .group_id(id)
                        .set_ip_permissions(Some(add)),
                    "AuthorizeSecurityGroupEgress"
                )?;
            } else {
                send!(
                    aws.ec2
                        .authorize_security_group_ingress()
                        .group_id(id)
                        .set_ip_permissions(Some(add)),
                    "AuthorizeSecurityGroupIngress"
                )?;
            }
        }
        Ok(())
    }

    /// Its ARN (from the account, known already).
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "security-group", id).await.map(Some)
    }

    /// DescribeSecurityGroups by lists of ids, without their rules.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let found = ec2_tags::read_by_id(ids, "group-id", |f| matching(&self.0, f)).await?;
        Ok(found.into_keys().collect())
    }

    /// Revokes the rules that name another group, so that groups that
    /// reference each other can be deleted (a group named by another's rule
    /// cannot be; a rule naming an address range holds nothing up).
    async fn delete_deferred(&self, _ctx: &OpContext, id: &str) -> Result<()> {
        let aws = &*self.0;
        let filter = Filter::builder().name("group-id").values(id).build();
        let current = describe_rules(aws, vec![filter]).await?;
        for egress in [false, true] {
            let ids = current
                .iter()
                .filter(|r| r.is_egress() == Some(egress))
                .filter(|r| r.referenced_group_info().is_some())
                .filter_map(|r| r.security_group_rule_id().map(str::to_string))
                .collect();
            revoke_rules(aws, id, egress, ids).await?;
        }
        Ok(())
    }
}

/// A group's rules now, each with its stack-file form.
async fn rules_now(aws: &Aws, id: &str) -> Result<Vec<(SecurityGroupRule, Value)>> {
    let filter = Filter::builder().name("group-id").values(id).build();
    let (groups, rules) = tokio::try_join!(
        async {
            send!(aws.ec2.describe_security_groups().group_ids(id), "DescribeSecurityGroups")
                .map_err(anyhow::Error::from)
        },
        describe_rules(aws, vec![filter]),
    )?;
    Ok(groups
        .security_groups()
        .first()
        .map(|g| described(g, &rules).into_iter().map(|(r, v)| (r.clone(), v)).collect())
        .unwrap_or_default())
}

/// Every rule DescribeSecurityGroupRules lists with these filters.
pub(super) async fn describe_rules(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<SecurityGroupRule>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = send!(
            aws.ec2
                .describe_security_group_rules()
                .set_filters(Some(filters.clone()))
                .set_next_token(token),
            "DescribeSecurityGroupRules"
        )?;
        out.extend(page.security_group_rules().iter().cloned());
        token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Revokes rules of a group by their ids.
pub(super) async fn revoke_rules(
    aws: &Aws,
    id: &str,
    egress: bool,
    rule_ids: Vec<String>,
) -> std::result::Result<(), crate::provider::ApiError> {
    if rule_ids.is_empty() {
        return Ok(());
    }
    let ids = Some(rule_ids);
    if egress {
        let revoke = aws.ec2.revoke_security_group_egress().group_id(id);
        send!(revoke.set_security_group_rule_ids(ids), "RevokeSecurityGroupEgress")?;
    } else {
        let revoke = aws.ec2.revoke_security_group_ingress().group_id(id);
        send!(revoke.set_security_group_rule_ids(ids), "RevokeSecurityGroupIngress")?;
    }
    Ok(())
}

/// Whether a rule is a `security_group_rule`'s (it carries that resource's
/// owner tags, of this stack or another): it is not one of the group's own.
fn a_rule_of_its_own(r: &SecurityGroupRule) -> bool {
    let ty = crate::types::security_group_rule::SCHEMA.name;
    r.tags().iter().any(|t| {
        t.key() == Some(ADDRESS_TAG)
            && t.value().is_some_and(|a| a.strip_prefix(ty).is_some_and(|r| r.starts_with('.')))
    })
}

/// The rules of one group, each with its value as the stack file writes it,
/// leaving out those `security_group_rule`s hold (another stack's rule on
/// this group is that stack's to keep). Where the rule listing leaves a
/// description out (moto does, for rules that reference a group), the group's
/// own permissions supply it.
fn described<'a>(
    group: &SecurityGroup_,
    rules: &'a [SecurityGroupRule],
) -> Vec<(&'a SecurityGroupRule, Value)> {
    let id = group.group_id();
    rules
        .iter()
        .filter(|r| r.group_id() == id && !a_rule_of_its_own(r))
        .map(|r| {
            let mut v = rule_value(r);
            if v.get("description").is_none()
                && let Some(d) = permission_description(group, r)
            {
                v["description"] = json!(d);
            }
            (r, v)
        })
        .collect()
}

pub(super) fn permission_description<'a>(
    group: &'a SecurityGroup_,
    r: &SecurityGroupRule,
) -> Option<&'a str> {
    let target = r.referenced_group_info()?.group_id()?;
    let perms = if r.is_egress() == Some(true) {
        group.ip_permissions_egress()
    } else {
        group.ip_permissions()
    };
    perms
        .iter()
        .filter(|p| {
            p.ip_protocol() == r.ip_protocol()
                && p.from_port().unwrap_or(-1) == r.from_port().unwrap_or(-1)
                && p.to_port().unwrap_or(-1) == r.to_port().unwrap_or(-1)
        })
        .flat_map(|p| p.user_id_group_pairs())
        .find(|pair| pair.group_id() == Some(target))
        .and_then(|pair| pair.description())
        .filter(|d| !d.is_empty())
}

/// A rule as the stack file writes it.
pub(super) fn rule_value(r: &SecurityGroupRule) -> Value {
    let protocol = match r.ip_protocol().unwrap_or("-1") {
        "-1" => "all",
        "6" | "tcp" => "tcp",
        "17" | "udp" => "udp",
        "1" | "icmp" => "icmp",
        other => other,
    };
    let mut m = Map::new();
    m.insert("protocol".into(), json!(protocol));
    let (from, to) = (r.from_port().unwrap_or(-1), r.to_port().unwrap_or(-1));
    if protocol != "all" && !(from == -1 && to == -1) {
        let ports = if from == to { from.to_string() } else { format!("{from}-{to}") };
        m.insert("ports".into(), json!(ports));
    }
    if let Some(c) = r.cidr_ipv4() {
        m.insert("cidr".into(), json!(c));
    }
    if let Some(c) = r.cidr_ipv6() {
        m.insert("ipv6_cidr".into(), json!(c));
    }
    if let Some(p) = r.prefix_list_id() {
        m.insert("prefix_list_id".into(), json!(p));
    }
    if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
        m.insert("source_security_group".into(), json!(g));
    }
    if let Some(d) = r.description().filter(|d| !d.is_empty()) {
        m.insert("description".into(), json!(d));
    }
    Value::Object(m)
}

/// A rule's protocol and ports as EC2 writes them: `-1` for all, and -1 to
/// -1 where there are no ports.
pub(super) fn protocol_and_ports(rule: &Value) -> (&str, i32, i32) {
    let get = |k: &str| rule.get(k).and_then(Value::as_str);
    let protocol = match get("protocol").unwrap_or("all") {
        "all" => "-1",
        p => p,
    };
    let (from, to) = match get("ports").map(parse_ports) {
        Some(Ok((a, b))) => (i32::from(a), i32::from(b)),
        _ => (-1, -1),
    };
    (protocol, from, to)
}

/// A rule of the stack file as an EC2 permission.
pub(super) fn permission(rule: &Value) -> IpPermission {
    let get = |k: &str| rule.get(k).and_then(Value::as_str);
    let (protocol, from, to) = protocol_and_ports(rule);
    let description = get("description").map(str::to_string);
    let mut p = IpPermission::builder().ip_protocol(protocol);
    if protocol != "-1" {
        p = p.from_port(from).to_port(to);
    }
    if let Some(c) = get("cidr") {
        p = p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(description.clone()).build());
    }
    if let Some(c) = get("ipv6_cidr") {
        p = p.ipv6_ranges(
            Ipv6Range::builder().cidr_ipv6(c).set_description(description.clone()).build(),
        );
    }
    if let Some(l) = get("prefix_list_id") {
        p = p.prefix_list_ids(
            PrefixListId::builder().prefix_list_id(l).set_description(description.clone()).build(),
        );
    }
    if let Some(g) = get("source_security_group") {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder().group_id(g).set_description(description).build(),
        );
    }
    p.build()
}

/// Security groups and their rules, for up to `EC2_FILTER_VALUES` ids.
async fn read_chunk(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
    let filter = Filter::builder().name("group-id").set_values(Some(ids.to_vec())).build();
    let (groups, rules) = tokio::try_join!(
        async {
            send!(
                aws.ec2.describe_security_groups().filters(filter.clone()),
                "DescribeSecurityGroups"
            )
            .map_err(anyhow::Error::from)
        },
        describe_rules(aws, vec![filter.clone()]),
    )?;
    let mut out = HashMap::new();
    for g in groups.security_groups() {
        let Some(id) = g.group_id() else { continue };
        let mine = described(g, &rules);
        let side = |egress: bool| -> Vec<Value> {
            mine.iter()
                .filter(|(r, _)| r.is_egress() == Some(egress))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let attrs = json!({
            "id": id,
            "arn": format!("arn:aws:ec2:{}:{}:security-group/{id}", aws.region, g.owner_id().unwrap_or_default()),
            "name": g.group_name(),
            "vpc_id": g.vpc_id(),
            "description": g.description(),
            "ingress": side(false),
            "egress": side(true),
            "tags": ec2_tags::value(g.tags()),
        });
        out.insert(id.to_string(), into_map(attrs));
    }
    Ok(out)
}

/// A new group: what the create call set (name, description, VPC, tags), and
/// the one rule AWS gives every new group of a VPC: all traffic out to anywhere.
fn new_group(id: &str, asked: &Attrs) -> Attrs {
    let mut attrs = asked.clone();
    attrs.insert("id".into(), json!(id));
    attrs.insert("egress".into(), json!([{"protocol": "all", "cidr": "0.0.0.0/0"}]));
    attrs.insert("ingress".into(), json!([]));
    attrs
}

/// The ids of the groups the filters match (DescribeSecurityGroups, without
/// their rules), each with no attributes.
pub(super) async fn matching(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = send!(
        aws.ec2.describe_security_groups().set_filters(Some(filters)),
        "DescribeSecurityGroups"
    )?;
    Ok(out
        .security_groups()
        .iter()
        .filter_map(|g| Some((g.group_id()?.to_string(), Attrs::new())))
        .collect())
}
