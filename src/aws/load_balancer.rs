//! `load_balancer`: an Application Load Balancer. Waits until it is active.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum,
};
use serde_json::{Value, json};

use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result, elbv2};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs, differs_set, into_map};
use crate::types::{Attrs, AttrsExt, Operation};

pub struct LoadBalancer(pub Arc<Aws>);

#[async_trait]
impl Provider for LoadBalancer {
    fn waits(&self) -> bool {
        true
    }

    /// DescribeLoadBalancers by lists of ARNs, without attributes or tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |l| l.load_balancer_arn()))
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let lbs = describe(aws, ids).await?;
        let mut out = HashMap::new();
        for (arn, lb, tags) in elbv2::with_tags(aws, lbs, |l| l.load_balancer_arn()).await? {
            let idle = send!(
                aws.elbv2.describe_load_balancer_attributes().load_balancer_arn(&arn),
                "DescribeLoadBalancerAttributes"
            )?
            .attributes()
            .iter()
            .find(|a| a.key() == Some("idle_timeout.timeout_seconds"))
            .and_then(|a| a.value())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(DEFAULT_IDLE);
            let mut attrs = attrs_of(&lb);
            attrs.insert("idle_timeout_seconds".into(), json!(idle));
            attrs.insert("tags".into(), tags);
            out.insert(arn, attrs);
        }
        Ok(out)
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let name = attrs
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| elbv2::generated_name(attrs), str::to_string);
        let out = send!(
            aws.elbv2
                .create_load_balancer()
                .name(name)
                .r#type(LoadBalancerTypeEnum::Application)
                .scheme(LoadBalancerSchemeEnum::from(attrs.str("scheme")?))
                .set_subnets(attrs.opt_strings("subnets"))
                .set_security_groups(attrs.opt_strings("security_groups"))
                .set_tags(Some(elbv2::tag_list(attrs))),
            "CreateLoadBalancer"
        )?;
        let lb = out
            .load_balancers()
            .first()
            .ok_or_else(|| anyhow::anyhow!("CreateLoadBalancer answered no load balancer"))?;
        // What was asked (its tags came with the create), what AWS assigned
        // (ARN, DNS name, the VPC's default group where none was given), and
        // AWS's idle timeout for a new one: `update` changes it if asked.
        let mut answer = attrs_of(lb);
        answer.insert("idle_timeout_seconds".into(), json!(DEFAULT_IDLE));
        Made::answered(attrs, answer)
    }

    /// A new load balancer is provisioning until it is active.
    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        match operation {
            Operation::Create => wait_active(&self.0, ctx, id).await,
            _ => Ok(None),
        }
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        if differs_set(before, after, "subnets") {
            send!(
                aws.elbv2
                    .set_subnets()
                    .load_balancer_arn(id)
                    .set_subnets(after.opt_strings("subnets")),
                "SetSubnets"
            )?;
        }
        if differs_set(before, after, "security_groups") {
            send!(
                aws.elbv2
                    .set_security_groups()
                    .load_balancer_arn(id)
                    .set_security_groups(after.opt_strings("security_groups")),
                "SetSecurityGroups"
            )?;
        }
        if differs(before, after, "idle_timeout_seconds") {
            let v =
                after.get("idle_timeout_seconds").and_then(Value::as_i64).unwrap_or(DEFAULT_IDLE);
            send!(
                aws.elbv2.modify_load_balancer_attributes().load_balancer_arn(id).attributes(
                    LoadBalancerAttribute::builder()
                        .key("idle_timeout.timeout_seconds")
                        .value(v.to_string())
                        .build(),
                ),
                "ModifyLoadBalancerAttributes"
            )?;
        }
        tags::sync(&tags::Elbv2, aws, id, before, after).await
    }

    fn prepare(&self, attrs: &mut Attrs) {
        elbv2::name_if_unnamed(attrs);
    }

    /// By the name `prepare` settled before the create.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let name = attrs.str("name")?;
        let found = send!(aws.elbv2.describe_load_balancers().names(name), "DescribeLoadBalancers")
            .or_gone()?;
        Ok(super::ids_of(found.iter().flat_map(|o| o.load_balancers()), |l| l.load_balancer_arn()))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        send!(aws.elbv2.delete_load_balancer().load_balancer_arn(id), "DeleteLoadBalancer")
            .or_gone()?;
        Ok(())
    }
}

/// AWS's idle timeout of a new load balancer, in seconds.
const DEFAULT_IDLE: i64 = 60;

/// What DescribeLoadBalancers (or CreateLoadBalancer) says of one, as `read`
/// gives it, without its idle timeout and tags (calls of their own).
fn attrs_of(lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer) -> Attrs {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    into_map(json!({
        "id": arn,
        "arn": arn,
        "arn_suffix": super::elbv2::arn_suffix(arn),
        "name": lb.load_balancer_name(),
        "dns_name": lb.dns_name(),
        "zone_id": lb.canonical_hosted_zone_id(),
        "scheme": lb.scheme().map(|s| s.as_str()),
        "subnets": lb.availability_zones().iter().filter_map(|z| z.subnet_id()).collect::<Vec<_>>(),
        "security_groups": lb.security_groups(),
        "state": lb.state().and_then(|s| s.code()).map(|c| c.as_str()),
    }))
}

/// Polls until the load balancer is active (AWS takes a few minutes; ten by
/// default, or the resource's `timeouts`), and gives what the last look saw.
async fn wait_active(aws: &Aws, ctx: &OpContext, arn: &str) -> Result<Option<Attrs>> {
    let timeout = ctx.timeout(Operation::Create, Duration::from_secs(600));
    wait::until(ctx, "creating", timeout, || async {
        let r = send!(
            aws.elbv2.describe_load_balancers().load_balancer_arns(arn),
            "DescribeLoadBalancers"
        )?;
        let lb = r.load_balancers().first();
        let state = lb.and_then(|l| l.state()).and_then(|s| s.code()).cloned();
        Ok(match (state, lb) {
            // The last look: what `read` gives but the idle timeout and tags.
            (Some(LoadBalancerStateEnum::Active), Some(lb)) => Poll::Seen(attrs_of(lb)),
            (Some(LoadBalancerStateEnum::Failed), _) => {
                Poll::Failed("the load balancer failed to provision".into())
            }
            (state, _) => {
                Poll::Pending(state.as_ref().map_or("unknown", |s| s.as_str()).to_string())
            }
        })
    })
    .await
}

/// Load balancers by ARN, twenty a call.
async fn describe(
    aws: &Aws,
    arns: &[String],
) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::LoadBalancer>> {
    elbv2::describe_by_arns(arns, "DescribeLoadBalancers", |arns| async {
        aws.elbv2
            .describe_load_balancers()
            .set_load_balancer_arns(Some(arns))
            .send()
            .await
            .map(|r| r.load_balancers().to_vec())
    })
    .await
}
