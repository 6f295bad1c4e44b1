//! `vpc`: a VPC.

use std::collections::HashMap;

use aws_sdk_ec2::types::{Filter, ResourceType};
use serde_json::{Value, json};

use super::{Attrs, Aws, Provider, Result, aws_error, code, ec2_tags, s};
use crate::stack::schema::{Attr, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "vpc",
    attrs: &[Attr::new("cidr_block", Kind::Cidr).required().force_new()],
    exports: &["id", "arn", "cidr_block"],
    ..TypeSchema::BASE
};

pub struct Vpc;

impl Provider for Vpc {
    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(super::EC2_FILTER_VALUES) {
            let by_id = Filter::builder()
                .name("vpc-id")
                .set_values(Some(chunk.to_vec()))
                .build();
            out.extend(describe(aws, vec![by_id]).await?);
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let out = aws
            .ec2
            .create_vpc()
            .cidr_block(s(attrs, "cidr_block"))
            .tag_specifications(ec2_tags::spec(ResourceType::Vpc, attrs))
            .send()
            .await
            .map_err(|e| aws_error("CreateVpc", e))?;
        let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
        Ok(id.to_string())
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        ec2_tags::sync(aws, id, before, after).await
    }

    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        let found = describe(aws, ec2_tags::owner_filters(attrs)?).await?;
        Ok(found.into_keys().next())
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        match aws.ec2.delete_vpc().vpc_id(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "InvalidVpcID.NotFound" => Ok(()),
            Err(e) => Err(aws_error("DeleteVpc", e)),
        }
    }
}

/// A JSON object as an attribute map.
pub fn into_map(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

/// What the filters match, by id.
async fn describe(aws: &Aws, filters: Vec<Filter>) -> Result<HashMap<String, Attrs>> {
    let out = aws
        .ec2
        .describe_vpcs()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| aws_error("DescribeVpcs", e))?;
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
