//! `eks_cluster`: an EKS control plane. Created and updated asynchronously by
//! AWS: every change waits until the cluster is ACTIVE again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use aws_sdk_eks::types::{
    AuthenticationMode, ClusterStatus, CreateAccessConfigRequest, LogSetup, LogType, Logging,
    SupportType, UpdateAccessConfigRequest, UpdateStatus, UpgradePolicyRequest, VpcConfigRequest,
};
use serde_json::{Value, json};

use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value, values_equal};
use crate::types::eks_cluster::{self as ty, LOG_TYPES, SCHEMA, version_step_problem};
use crate::types::{Attrs, AttrsExt, Operation};

fn logging(attrs: &Attrs) -> Logging {
    let on: Vec<LogType> = attrs
        .opt_strings("logging")
        .unwrap_or_default()
        .iter()
        .map(|t| LogType::from(t.as_str()))
        .collect();
    let off: Vec<LogType> = LOG_TYPES
        .iter()
        .filter(|t| !attrs.opt_strings("logging").unwrap_or_default().iter().any(|o| o == *t))
        .map(|t| LogType::from(*t))
        .collect();
    let mut setups = vec![LogSetup::builder().set_types(Some(on)).enabled(true).build()];
    if !off.is_empty() {
        setups.push(LogSetup::builder().set_types(Some(off)).enabled(false).build());
    }
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

/// The endpoint settings, with the subnets and groups as they are (sent again so
/// that an endpoint that drops what is not re-sent, as moto does, keeps them).
fn endpoint_config(attrs: &Attrs) -> Result<VpcConfigRequest> {
    Ok(VpcConfigRequest::builder()
        .set_subnet_ids(attrs.opt_strings("subnet_ids"))
        .set_security_group_ids(attrs.opt_strings("security_group_ids"))
        .endpoint_public_access(attrs.bool("endpoint_public_access")?)
        .endpoint_private_access(attrs.bool("endpoint_private_access")?)
        .set_public_access_cidrs(attrs.opt_strings("public_access_cidrs"))
        .build())
}

async fn wait_active(
    aws: &Aws,
    ctx: &OpContext,
    name: &str,
    doing: &str,
    timeout: Duration,
) -> Result<Option<Attrs>> {
    wait::until(ctx, doing, timeout, || async {
        let c = send!(aws.eks.describe_cluster().name(name), "DescribeCluster")?;
        Ok(match c.cluster().and_then(|c| c.status()) {
            // The last look is a whole read: no read back.
            Some(ClusterStatus::Active) => {
                Poll::Seen(c.cluster().map(attrs_of).unwrap_or_default())
            }
            Some(ClusterStatus::Failed) => Poll::Failed("the cluster is FAILED".into()),
            Some(s) => Poll::Pending(s.as_str().to_string()),
            None => Poll::Pending("unknown".into()),
        })
    })
    .await
}

async fn wait_update(
    aws: &Aws,
    ctx: &OpContext,
    name: &str,
    id: &str,
    timeout: Duration,
) -> Result<()> {
    wait::until(ctx, "updating", timeout, || update_status(aws, ctx, name, None, id)).await?;
    wait_active(aws, ctx, name, "updating", timeout).await?;
    Ok(())
}

/// The id of an update AWS accepted ("" when none came back).
/// The two parts of a cluster sub-resource's id, `CLUSTER:NAME` (a node
/// group, an add-on, a Pod Identity association).
pub fn split_id(id: &str) -> (&str, &str) {
    id.split_once(':').unwrap_or((id, id))
}

pub fn update_id(update: Option<&aws_sdk_eks::types::Update>) -> String {
    update.and_then(|u| u.id()).unwrap_or_default().to_string()
}

/// One look at an EKS update of a cluster or of one of its node groups.
pub async fn update_status(
    aws: &Aws,
    ctx: &OpContext,
    cluster: &str,
    nodegroup: Option<&str>,
    id: &str,
) -> Result<Poll> {
    if id.is_empty() {
        // No update id came back (the emulator's UpdateClusterConfig): the
        // status alone says when it is done.
        return Ok(Poll::Done);
    }
    let u = send!(
        aws.eks
            .describe_update()
            .name(cluster)
            .set_nodegroup_name(nodegroup.map(str::to_string))
            .update_id(id),
        "DescribeUpdate"
    );
    let u = match u {
        Ok(u) => u,
        // An endpoint without DescribeUpdate (the emulator): the status alone says when it is done.
        Err(e) if e.is_unimplemented() => {
            tracing::warn!(
                "{}: the endpoint does not implement DescribeUpdate; waiting on the status alone",
                ctx.address
            );
            return Ok(Poll::Done);
        }
        Err(e) => return Err(e.into()),
    };
    let update = u.update();
    Ok(match update.and_then(|u| u.status()) {
        Some(UpdateStatus::Successful) => Poll::Done,
        Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
            let why: Vec<String> = update
                .map(|u| {
                    u.errors()
                        .iter()
                        .map(|e| {
                            let code = e.error_code().map_or("", |c| c.as_str());
                            let message = e.error_message().unwrap_or("no message");
                            if code.is_empty() {
                                message.to_string()
                            } else {
                                format!("{code}: {message}")
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            Poll::Failed(format!("update {id}: {}", why.join("; ")))
        }
        Some(s) => Poll::Pending(s.as_str().to_string()),
        None => Poll::Pending("unknown".into()),
    })
}

/// A cluster as `read` gives it (one DescribeCluster says everything).
fn attrs_of(c: &aws_sdk_eks::types::Cluster) -> Attrs {
    let vpc = c.resources_vpc_config();
    let logging: Vec<&str> = c
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| t.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let mut tags: Vec<(&String, &String)> =
        c.tags().map(|t| t.iter().collect()).unwrap_or_default();
    tags.sort();
    let mut attrs = into_map(json!({
        "id": c.name(),
        "name": c.name(),
        "arn": c.arn(),
        "version": c.version(),
        "role_arn": c.role_arn(),
        "subnet_ids": vpc.map(|v| v.subnet_ids()),
        "security_group_ids": vpc.map(|v| v.security_group_ids()),
        "endpoint_public_access": vpc.map(|v| v.endpoint_public_access()),
        "endpoint_private_access": vpc.map(|v| v.endpoint_private_access()),
        "public_access_cidrs": vpc.map(|v| v.public_access_cidrs()),
        "logging": logging,
        "endpoint": c.endpoint(),
        "certificate_authority": c.certificate_authority().and_then(|a| a.data()),
        "oidc_issuer": c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()),
        "cluster_security_group_id": vpc.and_then(|v| v.cluster_security_group_id()),
        "status": c.status().map(|s| s.as_str()),
        "tags": tags_value(tags.into_iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    }));
    if let Some(access) = c.access_config() {
        let mut a = serde_json::Map::new();
        if let Some(mode) = access.authentication_mode() {
            a.insert("authentication_mode".into(), json!(mode.as_str()));
        }
        if let Some(flag) = access.bootstrap_cluster_creator_admin_permissions() {
            a.insert("bootstrap_cluster_creator_admin_permissions".into(), json!(flag));
        }
        attrs.insert("access_config".into(), Value::Object(a));
    }
    if let Some(e) = c.encryption_config().first() {
        attrs.insert(
            "encryption_config".into(),
            json!({
                "provider": {"key_arn": e.provider().and_then(|p| p.key_arn())},
                "resources": e.resources(),
            }),
        );
    }
    if let Some(t) = c.upgrade_policy().and_then(|u| u.support_type()) {
        attrs.insert("upgrade_policy".into(), json!(t.as_str()));
    }
    attrs
}

pub struct EksCluster(pub Arc<Aws>);

#[async_trait]
impl Provider for EksCluster {
    fn waits(&self) -> bool {
        true
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let mut out = HashMap::new();
        for name in ids {
            let c =
                match send!(aws.eks.describe_cluster().name(name), "DescribeCluster").or_gone()? {
                    Some(c) => c,
                    None => continue,
                };
            let Some(c) = c.cluster() else { continue };
            out.insert(name.clone(), attrs_of(c));
        }
        Ok(out)
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let name = attrs.str("name")?.to_string();
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(attrs.opt_strings("subnet_ids"))
            .set_security_group_ids(attrs.opt_strings("security_group_ids"))
            .endpoint_public_access(attrs.bool("endpoint_public_access")?)
            .endpoint_private_access(attrs.bool("endpoint_private_access")?)
            .set_public_access_cidrs(attrs.opt_strings("public_access_cidrs"))
            .build();
        let request = aws
            .eks
            .create_cluster()
            .name(&name)
            .version(attrs.str("version")?)
            .role_arn(attrs.str("role_arn")?)
            .resources_vpc_config(vpc)
            .logging(logging(attrs))
            .access_config(create_access(attrs))
            .set_bootstrap_self_managed_addons(attrs.opt_bool("bootstrap_self_managed_addons"))
            .set_upgrade_policy(attrs.opt_str("upgrade_policy").map(|t| {
                UpgradePolicyRequest::builder().support_type(SupportType::from(t)).build()
            }))
            .set_encryption_config(encryption(attrs).map(|e| vec![e]))
            .set_client_request_token(ctx.token.clone())
            .set_tags(Some(attrs.tags().into_iter().collect()));
        super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "CreateCluster")?) }
        })
        .await?;
        Ok(name.into())
    }

    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        let minutes = match operation.phase() {
            Operation::Create => 30,
            Operation::Delete => 15,
            _ => 60,
        };
        let t = ctx.timeout(operation, Duration::from_secs(minutes * 60));
        match operation.phase() {
            Operation::Delete => {
                wait::until(ctx, "deleting", t, || async {
                    match send!(aws.eks.describe_cluster().name(id), "DescribeCluster").or_gone()? {
                        Some(c) => Ok(Poll::Pending(
                            c.cluster()
                                .and_then(|c| c.status())
                                .map_or("unknown", |s| s.as_str())
                                .to_string(),
                        )),
                        None => Ok(Poll::Done),
                    }
                })
                .await
            }
            _ => wait_active(aws, ctx, id, operation.waiting(), t).await,
        }
    }

    async fn update(&self, ctx: &OpContext, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let (mut bf, mut af) = (before.clone(), after.clone());
        ty::canonical(&mut bf);
        ty::canonical(&mut af);
        let timeout = ctx.timeout(Operation::Update, Duration::from_secs(60 * 60));
        let changed = |k: &str| {
            af.get(k).is_some_and(|v| {
                !values_equal(SCHEMA.attr(k).map(|a| &a.kind), bf.get(k).unwrap_or(&Value::Null), v)
            })
        };
        if changed("version") {
            if let Some(why) = version_step_problem(bf.str("version")?, af.str("version")?) {
                anyhow::bail!(why);
            }
            let u = send!(
                aws.eks.update_cluster_version().name(id).version(af.str("version")?),
                "UpdateClusterVersion"
            )?;
            wait_update(aws, ctx, id, &update_id(u.update()), timeout).await?;
        }
        // UpdateClusterConfig takes one kind of change per call.
        let endpoint = changed("endpoint_public_access")
            || changed("endpoint_private_access")
            || changed("public_access_cidrs");
        let vpc_config = endpoint_config(&af)?;
        let configs = [
            endpoint.then(|| aws.eks.update_cluster_config().resources_vpc_config(vpc_config)),
            changed("logging").then(|| aws.eks.update_cluster_config().logging(logging(&af))),
            changed("access_config").then(|| {
                aws.eks.update_cluster_config().access_config(
                    UpdateAccessConfigRequest::builder()
                        .set_authentication_mode(
                            af.get("access_config")
                                .and_then(|a| a.opt_str("authentication_mode"))
                                .map(AuthenticationMode::from),
                        )
                        .build(),
                )
            }),
            changed("upgrade_policy").then(|| {
                aws.eks.update_cluster_config().upgrade_policy(
                    UpgradePolicyRequest::builder()
                        .set_support_type(af.opt_str("upgrade_policy").map(SupportType::from))
                        .build(),
                )
            }),
        ];
        for request in configs.into_iter().flatten() {
            let u = send!(request.name(id), "UpdateClusterConfig")?;
            wait_update(aws, ctx, id, &update_id(u.update()), timeout).await?;
        }
        // Encryption added to a cluster that had none (the plan refuses any
        // other change of it).
        if !bf.contains_key("encryption_config")
            && let Some(config) = encryption(&af)
        {
            let u = send!(
                aws.eks.associate_encryption_config().cluster_name(id).encryption_config(config),
                "AssociateEncryptionConfig"
            )?;
            wait_update(aws, ctx, id, &update_id(u.update()), timeout).await?;
        }
        tags::sync(&tags::Eks, aws, before.str("arn")?, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.eks.delete_cluster().name(id), "DeleteCluster").or_gone()?;
        Ok(())
    }
}

/// The stack's encryption_config as EKS takes it.
fn encryption(attrs: &Attrs) -> Option<aws_sdk_eks::types::EncryptionConfig> {
    let config = attrs.get("encryption_config")?;
    let key = config.get("provider")?.opt_str("key_arn")?;
    let resources = config.opt_strings("resources").unwrap_or_else(|| vec!["secrets".to_string()]);
    Some(
        aws_sdk_eks::types::EncryptionConfig::builder()
            .set_resources(Some(resources))
            .provider(aws_sdk_eks::types::Provider::builder().key_arn(key).build())
            .build(),
    )
}

/// Access at creation: as the stack says, or API_AND_CONFIG_MAP with the
/// creator as admin when it says nothing.
fn create_access(attrs: &Attrs) -> CreateAccessConfigRequest {
    let access = attrs.get("access_config");
    let mode =
        access.and_then(|a| a.opt_str("authentication_mode")).unwrap_or("API_AND_CONFIG_MAP");
    let bootstrap = access
        .and_then(|a| a.opt_bool("bootstrap_cluster_creator_admin_permissions"))
        .unwrap_or(true);
    CreateAccessConfigRequest::builder()
        .authentication_mode(AuthenticationMode::from(mode))
        .bootstrap_cluster_creator_admin_permissions(bootstrap)
        .build()
}
