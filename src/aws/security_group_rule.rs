//! `security_group_rule`: one rule on a group the stack does not own, by its
//! rule id (`sgr-…`). Authorised with the owner tags on the rule itself, so
//! an interrupted create is found again by them; revoked by its id, so the
//! group's other rules are never touched.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, ResourceType, SecurityGroupRule as Rule, SecurityGroupRuleRequest,
    SecurityGroupRuleUpdate,
};
use serde_json::{Value, json};

use super::security_group::{
    describe_rules, permission, permission_description, protocol_and_ports, revoke_rules,
};
use super::{Aws, Result, ec2_tags, tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::differs;
use crate::types::security_group_rule::as_rule;
use crate::types::{Attrs, AttrsExt};

pub struct SecurityGroupRule(pub Arc<Aws>);

fn egress(attrs: &Attrs) -> bool {
    attrs.opt_str("direction") == Some("egress")
}

/// Rules with what `read` gives of each, by id: DescribeSecurityGroupRules
/// with `filters`, and the groups of those that name a group and whose
/// description the listing leaves out (moto's does).
async fn described(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let mut rules = Vec::new();
    for f in filters {
        rules.extend(describe_rules(aws, vec![f]).await?);
    }
    let lacking: HashSet<String> = rules
        .iter()
        .filter(|r| {
            r.description().is_none_or(str::is_empty) && r.referenced_group_info().is_some()
        })
        .filter_map(|r| r.group_id().map(str::to_string))
        .collect();
    let groups = if lacking.is_empty() {
        Vec::new()
    } else {
        let ids = Some(lacking.into_iter().collect());
        let out =
            send!(aws.ec2.describe_security_groups().set_group_ids(ids), "DescribeSecurityGroups")?;
        out.security_groups().to_vec()
    };
    Ok(rules
        .iter()
        .filter_map(|r| {
            let id = r.security_group_rule_id()?.to_string();
            let group = groups.iter().find(|g| g.group_id() == r.group_id());
            Some((id, attrs_of(r, group.and_then(|g| permission_description(g, r)))))
        })
        .collect())
}

fn attrs_of(r: &Rule, description: Option<&str>) -> Attrs {
    let mut attrs = match super::security_group::rule_value(r) {
        Value::Object(m) => m,
        _ => Attrs::new(),
    };
    if let Some(d) = description.filter(|_| !attrs.contains_key("description")) {
        attrs.insert("description".into(), json!(d));
    }
    attrs.insert("id".into(), json!(r.security_group_rule_id()));
    attrs.insert("security_group_id".into(), json!(r.group_id()));
    let direction = if r.is_egress() == Some(true) { "egress" } else { "ingress" };
    attrs.insert("direction".into(), json!(direction));
    attrs.insert("tags".into(), ec2_tags::value(r.tags()));
    attrs
}

#[async_trait]
impl Provider for SecurityGroupRule {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let filters = ids
            .chunks(super::EC2_FILTER_VALUES)
            .map(|c| {
                Filter::builder()
                    .name("security-group-rule-id")
                    .set_values(Some(c.to_vec()))
                    .build()
            })
            .collect();
        described(&self.0, filters).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let group = attrs.str("security_group_id")?;
        let rule = permission(&as_rule(attrs));
        let tags = ec2_tags::spec(ResourceType::SecurityGroupRule, attrs);
        let made = if egress(attrs) {
            let out = send!(
                aws.ec2
                    .authorize_security_group_egress()
                    .group_id(group)
                    .ip_permissions(rule)
                    .tag_specifications(tags),
                "AuthorizeSecurityGroupEgress"
            )?;
            out.security_group_rules().to_vec()
        } else {
            let out = send!(
                aws.ec2
                    .authorize_security_group_ingress()
                    .group_id(group)
                    .ip_permissions(rule)
                    .tag_specifications(tags),
                "AuthorizeSecurityGroupIngress"
            )?;
            out.security_group_rules().to_vec()
        };
        let id = made.first().and_then(|r| r.security_group_rule_id()).ok_or_else(|| {
            anyhow::anyhow!("AWS answered the rule's authorisation with no rule id")
        })?;
        Ok(Made::asked(id, attrs, crate::types::attrs::into_map(json!({ "id": id }))))
    }

    /// The description (ModifySecurityGroupRules restates the whole rule)
    /// and the tags; everything else replaces the rule.
    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        if differs(before, after, "description") {
            let rule = as_rule(after);
            let get = |k: &str| rule.get(k).and_then(Value::as_str).map(str::to_string);
            let (protocol, from, to) = protocol_and_ports(&rule);
            let request = SecurityGroupRuleRequest::builder()
                .ip_protocol(protocol)
                .from_port(from)
                .to_port(to)
                .set_cidr_ipv4(get("cidr"))
                .set_referenced_group_id(get("source_security_group"))
                .description(get("description").unwrap_or_default())
                .build();
            send!(
                aws.ec2
                    .modify_security_group_rules()
                    .group_id(after.str("security_group_id")?)
                    .security_group_rules(
                        SecurityGroupRuleUpdate::builder()
                            .security_group_rule_id(id)
                            .security_group_rule(request)
                            .build(),
                    ),
                "ModifySecurityGroupRules"
            )?;
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    /// The rules that carry the owner tags a create given `attrs` put on
    /// its rule.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let mut filters = ec2_tags::owner_filters(attrs)?;
        filters.push(
            Filter::builder().name("group-id").values(attrs.str("security_group_id")?).build(),
        );
        let rules = describe_rules(&self.0, filters).await?;
        let found: HashMap<String, Attrs> = rules
            .iter()
            .filter_map(|r| Some((r.security_group_rule_id()?.to_string(), attrs_of(r, None))))
            .collect();
        Ok(ec2_tags::owned_ids(found, attrs, |a| Some(a)))
    }

    /// Revokes the rule by its id; a rule or group gone counts as deleted.
    async fn delete(&self, _ctx: &OpContext, id: &str, before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let (group, egress) = match before.opt_str("security_group_id") {
            Some(g) => (g.to_string(), egress(before)),
            None => match self.read(&[id.to_string()]).await?.remove(id) {
                Some(now) => (now.str("security_group_id")?.to_string(), egress(&now)),
                None => return Ok(()),
            },
        };
        revoke_rules(aws, &group, egress, vec![id.to_string()]).await.or_gone()?;
        Ok(())
    }
}
