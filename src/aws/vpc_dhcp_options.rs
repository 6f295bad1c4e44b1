//! The provider of `vpc_dhcp_options`: made with its tags, then associated
//! with its VPC; moved to another VPC in place (the one it leaves gets AWS's
//! default set back); its VPC given the default set before it is deleted.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, NewDhcpConfiguration, ResourceType};
use serde_json::{Value, json};

use super::tags;
use super::{Aws, Result, ec2_tags};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::into_map;
use crate::types::{Attrs, AttrsExt};

pub struct VpcDhcpOptions(pub Arc<Aws>);

/// Each option as EC2 names it, with the attribute that holds it.
const OPTIONS: [(&str, &str); 5] = [
    ("domain-name", "domain_name"),
    ("domain-name-servers", "domain_name_servers"),
    ("ntp-servers", "ntp_servers"),
    ("netbios-name-servers", "netbios_name_servers"),
    ("netbios-node-type", "netbios_node_type"),
];

#[async_trait]
impl Provider for VpcDhcpOptions {
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut found =
            ec2_tags::read_by_id(ids, "dhcp-options-id", |f| describe(&self.0, f)).await?;
        let sets: Vec<String> = found.keys().cloned().collect();
        for (id, vpc) in vpcs_of(&self.0, &sets).await? {
            if let Some(attrs) = found.get_mut(&id) {
                attrs.insert("vpc_id".into(), Value::String(vpc));
            }
        }
        Ok(found)
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let configurations = OPTIONS
            .iter()
            .filter_map(|(key, attr)| {
                let values: Vec<String> = match attrs.get(*attr)? {
                    Value::Array(a) => {
                        a.iter().filter_map(Value::as_str).map(String::from).collect()
                    }
                    Value::String(s) => vec![s.clone()],
                    _ => return None,
                };
                Some(NewDhcpConfiguration::builder().key(*key).set_values(Some(values)).build())
            })
            .collect();
        let out = send!(
            aws.ec2
                .create_dhcp_options()
                .set_dhcp_configurations(Some(configurations))
                .tag_specifications(ec2_tags::spec(ResourceType::DhcpOptions, attrs)),
            "CreateDhcpOptions"
        )?;
        let made = out.dhcp_options();
        let id = made.and_then(|d| d.dhcp_options_id()).unwrap_or_default().to_string();
        // The emulator makes the set without the tags asked for (AWS answers
        // with them): then they are put (CreateTags).
        if made.is_some_and(|d| d.tags().is_empty()) {
            tags::sync(&tags::Ec2, aws, &id, &Attrs::new(), attrs).await?;
        }
        if let Some(vpc) = attrs.opt_str("vpc_id") {
            associate(aws, &id, vpc).await?;
        }
        let holds = ec2_tags::made(aws, "dhcp-options", &id, attrs).await?;
        Ok(Made::holding(id, holds))
    }

    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        ec2_tags::arn(&self.0, "dhcp-options", id).await.map(Some)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let (was, now) = (before.opt_str("vpc_id"), after.opt_str("vpc_id"));
        if was != now {
            if let Some(was) = was {
                associate(aws, "default", was).await?;
            }
            if let Some(now) = now {
                associate(aws, id, now).await?;
            }
        }
        tags::sync(&tags::Ec2, aws, id, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let found = describe(&self.0, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().collect())
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        // AWS refuses to delete a set a VPC uses: that VPC gets the default.
        for (_, vpc) in vpcs_of(aws, &[id.to_string()]).await? {
            associate(aws, "default", &vpc).await?;
        }
        send!(aws.ec2.delete_dhcp_options().dhcp_options_id(id), "DeleteDhcpOptions").or_gone()?;
        Ok(())
    }
}

async fn associate(aws: &Aws, id: &str, vpc: &str) -> Result<()> {
    send!(
        aws.ec2.associate_dhcp_options().dhcp_options_id(id).vpc_id(vpc),
        "AssociateDhcpOptions"
    )?;
    Ok(())
}

/// The VPC that uses each of these sets, where one does: one DescribeVpcs
/// for as many sets as a filter takes.
async fn vpcs_of(aws: &Aws, ids: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
        let filter =
            Filter::builder().name("dhcp-options-id").set_values(Some(chunk.to_vec())).build();
        let found = send!(aws.ec2.describe_vpcs().filters(filter), "DescribeVpcs")?;
        out.extend(
            found
                .vpcs()
                .iter()
                .filter_map(|v| Some((v.dhcp_options_id()?.to_string(), v.vpc_id()?.to_string()))),
        );
    }
    Ok(out)
}

/// What the filters match, by id (without their VPC: `vpcs_of`).
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out =
        send!(aws.ec2.describe_dhcp_options().set_filters(Some(filters)), "DescribeDhcpOptions")?;
    Ok(out
        .dhcp_options()
        .iter()
        .filter_map(|d| {
            let id = d.dhcp_options_id()?.to_string();
            let mut attrs = into_map(json!({
                "id": id,
                "arn": format!("arn:aws:ec2:{}:{}:dhcp-options/{id}", aws.region, d.owner_id().unwrap_or_default()),
                "tags": ec2_tags::value(d.tags()),
            }));
            for c in d.dhcp_configurations() {
                let Some((_, attr)) = OPTIONS.iter().find(|(k, _)| Some(*k) == c.key()) else {
                    continue;
                };
                let values: Vec<&str> =
                    c.values().iter().filter_map(|v| v.value()).collect();
                let value = match *attr {
                    "domain_name" | "netbios_node_type" => json!(values.first()),
                    _ => json!(values),
                };
                attrs.insert((*attr).into(), value);
            }
            Some((id, attrs))
        })
        .collect())
}
