//! `listener`: an ALB listener whose default action forwards to weighted target
//! groups (or redirects, or answers). A weight change is an in-place
//! ModifyListener; with `rollout` it is applied in steps (src/apply/rollout.rs).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::tags;
use super::{Aws, Result, elbv2};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{differs_set, into_map};
use crate::types::listener as ty;
use crate::types::{Attrs, AttrsExt};
use aws_sdk_elasticloadbalancingv2::types::{Certificate, ProtocolEnum};
use serde_json::{Value, json};

pub struct Listener(pub Arc<Aws>);

#[async_trait]
impl Provider for Listener {
    /// DescribeListeners by lists of ARNs, without tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |x| x.listener_arn()))
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let listeners = describe(aws, ids).await?;
        elbv2::read_with_tags(aws, listeners, |l| l.listener_arn(), attrs_of).await
    }

    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let out = send!(
                aws.elbv2
                    .create_listener()
                    .load_balancer_arn(attrs.str("load_balancer_arn")?)
                    .port(attrs.int("port")? as i32)
                    .protocol(ProtocolEnum::from(attrs.str("protocol")?))
                    .set_certificates(certificates(attrs))
                    .set_ssl_policy(
                        attrs.get("ssl_policy").and_then(Value::as_str).map(str::to_string),
                    )
                    .default_actions(elbv2::action(attrs))
                    .set_tags(Some(elbv2::tag_list(attrs))),
                "CreateListener"
            )?;
        let l = out
            .listeners()
            .first()
            .ok_or_else(|| anyhow::anyhow!("CreateListener answered no listener"))?;
        // Made with what was asked (its tags too); the answer says the rest
        // (its ARN, AWS's security policy where none was asked).
        Made::answered(attrs, attrs_of(l))
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        let keys = [
            "port",
            "protocol",
            "certificate_arn",
            "ssl_policy",
            "forward",
            "stickiness",
            "redirect",
            "fixed_response",
        ];
        let (b, a) = super::canonical_pair(ty::canonical, before, after);
        if keys.iter().any(|k| differs_set(&b, &a, k)) {
            send!(
                aws.elbv2
                    .modify_listener()
                    .listener_arn(id)
                    .port(after.int("port")? as i32)
                    .protocol(ProtocolEnum::from(after.str("protocol")?))
                    .set_certificates(certificates(after))
                    .set_ssl_policy(
                        after.get("ssl_policy").and_then(Value::as_str).map(str::to_string),
                    )
                    .default_actions(elbv2::action(after)),
                "ModifyListener"
            )?;
        }
        tags::sync(&tags::Elbv2, aws, id, before, after).await
    }

    /// A load balancer has one listener per port.
    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let aws = &*self.0;
        let port = attrs.int("port")?;
        let found = send!(
            aws.elbv2.describe_listeners().load_balancer_arn(attrs.str("load_balancer_arn")?),
            "DescribeListeners"
        )
        .or_gone()?;
        Ok(super::ids_of(
            found
                .iter()
                .flat_map(|o| o.listeners())
                .filter(|l| l.port().map(i64::from) == Some(port)),
            |l| l.listener_arn(),
        ))
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        send!(aws.elbv2.delete_listener().listener_arn(id), "DeleteListener").or_gone()?;
        Ok(())
    }
}

fn certificates(attrs: &Attrs) -> Option<Vec<Certificate>> {
    attrs
        .get("certificate_arn")
        .and_then(Value::as_str)
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

/// A listener as `read` gives it, but for its tags (a call of their own).
fn attrs_of(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> Attrs {
    let arn = l.listener_arn().unwrap_or_default();
    let mut m = into_map(json!({
        "id": arn,
        "arn": arn,
        "load_balancer_arn": l.load_balancer_arn(),
        "port": l.port(),
        "protocol": l.protocol().map(|p| p.as_str()),
    }));
    if let Some(c) = l.certificates().first().and_then(|c| c.certificate_arn()) {
        m.insert("certificate_arn".into(), json!(c));
    }
    if let Some(p) = l.ssl_policy() {
        m.insert("ssl_policy".into(), json!(p));
    }
    if let Some(a) = l.default_actions().first() {
        elbv2::action_value(a, &mut m);
    }
    m
}

/// Listeners by ARN, twenty a call.
async fn describe(
    aws: &Aws,
    ids: &[String],
) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::Listener>> {
    elbv2::describe_by_arns(ids, "DescribeListeners", |arns| async {
        aws.elbv2
            .describe_listeners()
            .set_listener_arns(Some(arns))
            .send()
            .await
            .map(|r| r.listeners().to_vec())
    })
    .await
}
