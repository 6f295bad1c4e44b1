//! `subnet`: a subnet of a VPC.

use std::collections::HashMap;

use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType};
use serde_json::json;

use super::vpc::into_map;
use super::{Attrs, Aws, Provider, Result, aws_error, b, code, differs, ec2_tags, s};
use crate::stack::schema::{Attr, Default, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "subnet",
    attrs: &[
        Attr::new("vpc_id", Kind::String).required().force_new(),
        Attr::new("cidr_block", Kind::Cidr).required().force_new(),
        Attr::new("availability_zone", Kind::String).force_new(),
        Attr::new("map_public_ip_on_launch", Kind::Bool).default(Default::Bool(false)),
    ],
    exports: &["id", "arn", "availability_zone"],
    ..TypeSchema::BASE
};

pub struct Subnet;

impl Provider for Subnet {
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
            let by_id = Filter::builder()
                .name("subnet-id")
                .set_values(Some(chunk.to_vec()))
                .build();
            out.extend(describe(aws, vec![by_id]).await?);
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let az = Some(s(attrs, "availability_zone")).filter(|z| !z.is_empty());
        let out = aws
            .ec2
            .create_subnet()
            .vpc_id(s(attrs, "vpc_id"))
            .cidr_block(s(attrs, "cidr_block"))
            .set_availability_zone(az.map(str::to_string))
            .tag_specifications(ec2_tags::spec(ResourceType::Subnet, attrs))
            .send()
            .await
            .map_err(|e| aws_error("CreateSubnet", e))?;
        Ok(out
            .subnet()
            .and_then(|n| n.subnet_id())
            .unwrap_or_default()
            .to_string())
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        if differs(before, after, "map_public_ip_on_launch") {
            aws.ec2
                .modify_subnet_attribute()
                .subnet_id(id)
                .map_public_ip_on_launch(
                    AttributeBooleanValue::builder()
                        .value(b(after, "map_public_ip_on_launch"))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("ModifySubnetAttribute", e))?;
        }
        ec2_tags::sync(aws, id, before, after).await
    }

    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        let found = describe(aws, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().next())
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        match aws.ec2.delete_subnet().subnet_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "InvalidSubnetID.NotFound" => Ok(()),
            Err(e) => Err(aws_error("DeleteSubnet", e)),
        }
    }
}

/// What the filters match, by id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = aws
        .ec2
        .describe_subnets()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| aws_error("DescribeSubnets", e))?;
    Ok(out
        .subnets()
        .iter()
        .filter_map(|n| {
            let id = n.subnet_id()?.to_string();
            let attrs = json!({
                "id": id,
                "arn": n.subnet_arn(),
                "vpc_id": n.vpc_id(),
                "cidr_block": n.cidr_block(),
                "availability_zone": n.availability_zone(),
                "map_public_ip_on_launch": n.map_public_ip_on_launch().unwrap_or(false),
                "tags": ec2_tags::value(n.tags()),
            });
            Some((id, into_map(attrs)))
        })
        .collect())
}
