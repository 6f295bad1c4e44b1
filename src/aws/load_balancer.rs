//! `load_balancer`: an Application Load Balancer. Waits until it is active.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum,
};
use serde_json::{Value, json};

use super::listener::differs_set;
use super::vpc::into_map;
use super::{Attrs, Aws, Provider, Result, aws_error, code, differs, elbv2, s};
use crate::stack::schema::{Attr, Default, Kind, TypeSchema};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "load_balancer",
    attrs: &[
        // Left out, a unique name is made at creation.
        Attr::new("name", Kind::String).force_new(),
        Attr::new("subnets", Kind::Set(&Kind::String)).required(),
        Attr::new("security_groups", Kind::Set(&Kind::String)),
        Attr::new("scheme", Kind::Enum(&["internet-facing", "internal"]))
            .default(Default::Str("internet-facing"))
            .force_new(),
        Attr::new("idle_timeout_seconds", Kind::Int { min: 1, max: 4000 })
            .default(Default::Int(60)),
    ],
    exports: &["id", "arn", "dns_name", "zone_id", "name"],
    ..TypeSchema::BASE
};

pub struct LoadBalancer;

impl Provider for LoadBalancer {
    const WAITS: bool = true;

    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let lbs = elbv2::describe_by_arns(
            ids,
            "LoadBalancerNotFound",
            "DescribeLoadBalancers",
            |arns| async {
                aws.elbv2
                    .describe_load_balancers()
                    .set_load_balancer_arns(Some(arns))
                    .send()
                    .await
                    .map(|r| r.load_balancers().to_vec())
            },
        )
        .await?;
        let arns: Vec<String> = lbs
            .iter()
            .filter_map(|l| l.load_balancer_arn().map(str::to_string))
            .collect();
        let tags = elbv2::read_tags(aws, &arns).await?;
        let mut out = HashMap::new();
        for lb in lbs {
            let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
            let idle = aws
                .elbv2
                .describe_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .send()
                .await
                .map_err(|e| aws_error("DescribeLoadBalancerAttributes", e))?
                .attributes()
                .iter()
                .find(|a| a.key() == Some("idle_timeout.timeout_seconds"))
                .and_then(|a| a.value())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(60);
            let attrs = json!({
                "id": arn,
                "arn": arn,
                "name": lb.load_balancer_name(),
                "dns_name": lb.dns_name(),
                "zone_id": lb.canonical_hosted_zone_id(),
                "scheme": lb.scheme().map(|s| s.as_str()),
                "subnets": lb.availability_zones().iter().filter_map(|z| z.subnet_id()).collect::<Vec<_>>(),
                "security_groups": lb.security_groups(),
                "idle_timeout_seconds": idle,
                "state": lb.state().and_then(|s| s.code()).map(|c| c.as_str()),
                "tags": tags.get(&arn).cloned().unwrap_or_else(|| json!({})),
            });
            out.insert(arn, into_map(attrs));
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let name = attrs
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| elbv2::generated_name(attrs), str::to_string);
        let out = aws
            .elbv2
            .create_load_balancer()
            .name(name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::from(s(attrs, "scheme")))
            .set_subnets(super::strings(attrs.get("subnets")))
            .set_security_groups(super::strings(attrs.get("security_groups")))
            .set_tags(Some(elbv2::tag_list(attrs)))
            .send()
            .await
            .map_err(|e| aws_error("CreateLoadBalancer", e))?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .unwrap_or_default()
            .to_string();
        wait_active(aws, &arn).await?;
        Ok(arn)
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        if differs_set(before, after, "subnets") {
            aws.elbv2
                .set_subnets()
                .load_balancer_arn(id)
                .set_subnets(super::strings(after.get("subnets")))
                .send()
                .await
                .map_err(|e| aws_error("SetSubnets", e))?;
        }
        if differs_set(before, after, "security_groups") {
            aws.elbv2
                .set_security_groups()
                .load_balancer_arn(id)
                .set_security_groups(super::strings(after.get("security_groups")))
                .send()
                .await
                .map_err(|e| aws_error("SetSecurityGroups", e))?;
        }
        if differs(before, after, "idle_timeout_seconds") {
            let v = after
                .get("idle_timeout_seconds")
                .and_then(Value::as_i64)
                .unwrap_or(60);
            aws.elbv2
                .modify_load_balancer_attributes()
                .load_balancer_arn(id)
                .attributes(
                    LoadBalancerAttribute::builder()
                        .key("idle_timeout.timeout_seconds")
                        .value(v.to_string())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("ModifyLoadBalancerAttributes", e))?;
        }
        elbv2::sync_tags(aws, id, before, after).await
    }

    fn prepare(attrs: &mut Attrs) {
        elbv2::name_if_unnamed(attrs);
    }

    /// By the name `prepare` settled before the create.
    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        let name = s(attrs, "name");
        match aws.elbv2.describe_load_balancers().names(name).send().await {
            Ok(out) => Ok(out
                .load_balancers()
                .iter()
                .find_map(|l| l.load_balancer_arn())
                .map(str::to_string)),
            Err(e) if code(&e).contains("NotFound") => Ok(None),
            Err(e) => Err(aws_error("DescribeLoadBalancers", e)),
        }
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        match aws
            .elbv2
            .delete_load_balancer()
            .load_balancer_arn(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "LoadBalancerNotFound" => Ok(()),
            Err(e) => Err(aws_error("DeleteLoadBalancer", e)),
        }
    }
}

/// Polls with capped backoff until the load balancer is active (up to 10 minutes).
async fn wait_active(aws: &Aws, arn: &str) -> Result<()> {
    let mut delay = Duration::from_millis(250);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let r = aws
            .elbv2
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .map_err(|e| aws_error("DescribeLoadBalancers", e))?;
        let state = r
            .load_balancers()
            .first()
            .and_then(|l| l.state())
            .and_then(|s| s.code())
            .cloned();
        match state {
            Some(LoadBalancerStateEnum::Active) => return Ok(()),
            Some(LoadBalancerStateEnum::Failed) => {
                anyhow::bail!("load balancer {arn} failed to provision")
            }
            _ if tokio::time::Instant::now() > deadline => {
                anyhow::bail!("load balancer {arn} not active after 10 minutes")
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}
