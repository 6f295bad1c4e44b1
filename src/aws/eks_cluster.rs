//! `eks_cluster`: an EKS control plane. Created and updated asynchronously by
//! AWS: every change waits until the cluster is ACTIVE again.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eks::types::{
    ClusterStatus, LogSetup, LogType, Logging, UpdateStatus, VpcConfigRequest,
};
use serde_json::{Map, Value, json};

use super::vpc::into_map;
use super::wait::{self, Phase, Poll};
use super::{Attrs, Aws, Provider, Result, aws_error, b, code, s, tag_changes, tags};
use crate::stack::schema::{Attr, Default, Finding, Kind, NameDefault, TypeSchema};

const LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_cluster",
    attrs: &[
        Attr::new("name", Kind::String).force_new(),
        Attr::new("version", Kind::String).required(),
        Attr::new("role_arn", Kind::String).required().force_new(),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .required()
            .force_new(),
        Attr::new("security_group_ids", Kind::Set(&Kind::String)).force_new(),
        // Private by default: the safe value.
        Attr::new("endpoint_public_access", Kind::Bool).default(Default::Bool(false)),
        Attr::new("endpoint_private_access", Kind::Bool).default(Default::Bool(true)),
        Attr::new("public_access_cidrs", Kind::Set(&Kind::Cidr)),
        Attr::new("logging", Kind::Set(&Kind::Enum(LOG_TYPES))).default(Default::EmptyList),
    ],
    exports: &[
        "id",
        "name",
        "arn",
        "endpoint",
        "certificate_authority",
        "oidc_issuer",
        "status",
    ],
    name_attr: Some(("name", NameDefault::StackAndName)),
    check: Some(check),
    lint: Some(lint),
    canonical: Some(canonical),
    plan_check: Some(|before, after| {
        version_step_problem(s(before, "version"), s(after, "version"))
    }),
    ..TypeSchema::BASE
};

fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let version = attrs.get("version").and_then(Value::as_str).unwrap_or("");
    if crate::stack::reference::is_known(&json!(version)) && minor(version).is_none() {
        out.push(Finding {
            pointer: "/version".into(),
            message: format!("`{version}` is not a Kubernetes version"),
            hint: Some(
                "write MAJOR.MINOR, for example \"1.31\" (quoted, so YAML keeps it a string)"
                    .into(),
            ),
        });
    }
    if !b(attrs, "endpoint_public_access") && !b(attrs, "endpoint_private_access") {
        out.push(Finding {
            pointer: "/endpoint_public_access".into(),
            message: "the cluster endpoint would be reachable from nowhere".into(),
            hint: Some("enable endpoint_private_access or endpoint_public_access".into()),
        });
    }
    out
}

fn lint(attrs: &Map<String, Value>) -> Vec<Finding> {
    let open = b(attrs, "endpoint_public_access")
        && attrs
            .get("public_access_cidrs")
            .and_then(Value::as_array)
            .is_none_or(|c| c.iter().any(|c| c == "0.0.0.0/0"));
    if open {
        vec![Finding {
            pointer: "/endpoint_public_access".into(),
            message: "the cluster endpoint is public to 0.0.0.0/0".into(),
            hint: Some(
                "limit public_access_cidrs to your offices and CI, or use the private endpoint"
                    .into(),
            ),
        }]
    } else {
        Vec::new()
    }
}

/// A public endpoint without CIDRs is open to all, as AWS reads it back.
fn canonical(attrs: &mut Map<String, Value>) {
    if b(attrs, "endpoint_public_access") && !attrs.contains_key("public_access_cidrs") {
        attrs.insert("public_access_cidrs".into(), json!(["0.0.0.0/0"]));
    }
}

/// `1.31` → (1, 31).
pub fn minor(version: &str) -> Option<(u32, u32)> {
    let (a, b) = version.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// A version change AWS can make in one step: the next minor.
pub fn version_step_problem(from: &str, to: &str) -> Option<String> {
    let (Some(f), Some(t)) = (minor(from), minor(to)) else {
        return None;
    };
    if t < f {
        Some(format!(
            "EKS cannot downgrade a cluster from {from} to {to}"
        ))
    } else if t.0 != f.0 || t.1 > f.1 + 1 {
        Some(format!(
            "EKS upgrades one minor version at a time: {from} can go to {}.{} next, not {to}",
            f.0,
            f.1 + 1
        ))
    } else {
        None
    }
}

fn logging(attrs: &Attrs) -> Logging {
    let on: Vec<LogType> = super::strings(attrs.get("logging"))
        .unwrap_or_default()
        .iter()
        .map(|t| LogType::from(t.as_str()))
        .collect();
    let off: Vec<LogType> = LOG_TYPES
        .iter()
        .filter(|t| {
            !super::strings(attrs.get("logging"))
                .unwrap_or_default()
                .iter()
                .any(|o| o == *t)
        })
        .map(|t| LogType::from(*t))
        .collect();
    let mut setups = vec![
        LogSetup::builder()
            .set_types(Some(on))
            .enabled(true)
            .build(),
    ];
    if !off.is_empty() {
        setups.push(
            LogSetup::builder()
                .set_types(Some(off))
                .enabled(false)
                .build(),
        );
    }
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

/// The endpoint settings, with the subnets and groups as they are (sent again so
/// that an endpoint that drops what is not re-sent, as moto does, keeps them).
fn endpoint_config(attrs: &Attrs) -> VpcConfigRequest {
    VpcConfigRequest::builder()
        .set_subnet_ids(super::strings(attrs.get("subnet_ids")))
        .set_security_group_ids(super::strings(attrs.get("security_group_ids")))
        .endpoint_public_access(b(attrs, "endpoint_public_access"))
        .endpoint_private_access(b(attrs, "endpoint_private_access"))
        .set_public_access_cidrs(super::strings(attrs.get("public_access_cidrs")))
        .build()
}

async fn wait_active(
    aws: &Aws,
    name: &str,
    label: &str,
    doing: &str,
    timeout: Duration,
) -> Result<()> {
    wait::until(label, doing, timeout, || async {
        let c = aws
            .eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeCluster", e))?;
        Ok(match c.cluster().and_then(|c| c.status()) {
            Some(ClusterStatus::Active) => Poll::Done,
            Some(ClusterStatus::Failed) => Poll::Failed("the cluster is FAILED".into()),
            Some(s) => Poll::Pending(s.as_str().to_string()),
            None => Poll::Pending("unknown".into()),
        })
    })
    .await
}

async fn wait_update(
    aws: &Aws,
    name: &str,
    id: &str,
    label: &str,
    timeout: Duration,
) -> Result<()> {
    wait::until(label, "updating", timeout, || {
        update_status(aws, name, None, id, label)
    })
    .await?;
    wait_active(aws, name, label, "updating", timeout).await
}

/// The id of an update AWS accepted ("" when none came back).
pub fn update_id(update: Option<&aws_sdk_eks::types::Update>) -> String {
    update.and_then(|u| u.id()).unwrap_or_default().to_string()
}

/// One look at an EKS update of a cluster or of one of its node groups.
pub async fn update_status(
    aws: &Aws,
    cluster: &str,
    nodegroup: Option<&str>,
    id: &str,
    label: &str,
) -> Result<Poll> {
    if id.is_empty() {
        // No update id came back (the emulator's UpdateClusterConfig): the
        // status alone says when it is done.
        return Ok(Poll::Done);
    }
    let u = aws
        .eks
        .describe_update()
        .name(cluster)
        .set_nodegroup_name(nodegroup.map(str::to_string))
        .update_id(id)
        .send()
        .await;
    let u = match u {
        Ok(u) => u,
        // An endpoint without DescribeUpdate (the emulator): the status alone says when it is done.
        Err(e) if super::unimplemented(&e) => {
            tracing::warn!(
                "{label}: the endpoint does not implement DescribeUpdate; waiting on the status alone"
            );
            return Ok(Poll::Done);
        }
        Err(e) => return Err(aws_error("DescribeUpdate", e)),
    };
    let update = u.update();
    Ok(match update.and_then(|u| u.status()) {
        Some(UpdateStatus::Successful) => Poll::Done,
        Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
            let why: Vec<String> = update
                .map(|u| {
                    u.errors()
                        .iter()
                        .filter_map(|e| e.error_message().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            Poll::Failed(format!("update {id}: {}", why.join("; ")))
        }
        Some(s) => Poll::Pending(s.as_str().to_string()),
        None => Poll::Pending("unknown".into()),
    })
}

pub struct EksCluster;

impl Provider for EksCluster {
    const WAITS: bool = true;

    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut out = HashMap::new();
        for name in ids {
            let c = match aws.eks.describe_cluster().name(name).send().await {
                Ok(c) => c,
                Err(e) if code(&e) == "ResourceNotFoundException" => continue,
                Err(e) => return Err(aws_error("DescribeCluster", e)),
            };
            let Some(c) = c.cluster() else { continue };
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
                "status": c.status().map(|s| s.as_str()),
                "tags": super::tags_value(tags.into_iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            }));
            // Without a public endpoint, AWS keeps CIDRs that mean nothing.
            if attrs.get("endpoint_public_access") == Some(&json!(false)) {
                attrs.remove("public_access_cidrs");
            }
            out.insert(name.clone(), attrs);
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let name = s(attrs, "name").to_string();
        let vpc = VpcConfigRequest::builder()
            .set_subnet_ids(super::strings(attrs.get("subnet_ids")))
            .set_security_group_ids(super::strings(attrs.get("security_group_ids")))
            .endpoint_public_access(b(attrs, "endpoint_public_access"))
            .endpoint_private_access(b(attrs, "endpoint_private_access"))
            .set_public_access_cidrs(super::strings(attrs.get("public_access_cidrs")))
            .build();
        aws.eks
            .create_cluster()
            .name(&name)
            .version(s(attrs, "version"))
            .role_arn(s(attrs, "role_arn"))
            .resources_vpc_config(vpc)
            .logging(logging(attrs))
            .set_client_request_token(
                attrs
                    .get("client_token")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_tags(Some(tags(attrs).into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_error("CreateCluster", e))?;
        Ok(name)
    }

    async fn wait(aws: &Aws, id: &str, phase: Phase, attrs: &Attrs) -> Result<()> {
        let label = wait::label(attrs, id);
        let minutes = match phase {
            Phase::Create => 30,
            Phase::Update => 60,
            Phase::Delete => 15,
        };
        let t = wait::timeout(attrs, phase, Duration::from_secs(minutes * 60));
        match phase {
            Phase::Create | Phase::Update => wait_active(aws, id, &label, phase.doing(), t).await,
            Phase::Delete => {
                wait::until(&label, "deleting", t, || async {
                    match aws.eks.describe_cluster().name(id).send().await {
                        Ok(c) => Ok(Poll::Pending(
                            c.cluster()
                                .and_then(|c| c.status())
                                .map_or("unknown", |s| s.as_str())
                                .to_string(),
                        )),
                        Err(e) if code(&e) == "ResourceNotFoundException" => Ok(Poll::Done),
                        Err(e) => Err(aws_error("DescribeCluster", e)),
                    }
                })
                .await
            }
        }
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let (mut bf, mut af) = (before.clone(), after.clone());
        canonical(&mut bf);
        canonical(&mut af);
        let label = wait::label(after, id);
        let timeout = wait::timeout(after, Phase::Update, Duration::from_secs(60 * 60));
        let changed = |k: &str| {
            af.get(k).is_some_and(|v| {
                !crate::plan::values_equal(
                    SCHEMA.attr(k).map(|a| &a.kind),
                    bf.get(k).unwrap_or(&Value::Null),
                    v,
                )
            })
        };
        if changed("version") {
            if let Some(why) = version_step_problem(s(&bf, "version"), s(&af, "version")) {
                anyhow::bail!(why);
            }
            let u = aws
                .eks
                .update_cluster_version()
                .name(id)
                .version(s(&af, "version"))
                .send()
                .await
                .map_err(|e| aws_error("UpdateClusterVersion", e))?;
            wait_update(aws, id, &update_id(u.update()), &label, timeout).await?;
        }
        // UpdateClusterConfig takes one kind of change per call.
        let endpoint = changed("endpoint_public_access")
            || changed("endpoint_private_access")
            || changed("public_access_cidrs");
        let configs = [
            endpoint.then(|| {
                aws.eks
                    .update_cluster_config()
                    .resources_vpc_config(endpoint_config(&af))
            }),
            changed("logging").then(|| aws.eks.update_cluster_config().logging(logging(&af))),
        ];
        for request in configs.into_iter().flatten() {
            let u = request
                .name(id)
                .send()
                .await
                .map_err(|e| aws_error("UpdateClusterConfig", e))?;
            wait_update(aws, id, &update_id(u.update()), &label, timeout).await?;
        }
        sync_tags(aws, s(before, "arn"), before, after).await
    }

    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        super::find_by_id::<Self>(aws, s(attrs, "name")).await
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        match aws.eks.delete_cluster().name(id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "ResourceNotFoundException" => Ok(()),
            Err(e) => Err(aws_error("DeleteCluster", e)),
        }
    }
}

/// Tags on an EKS cluster or node group.
pub async fn sync_tags(aws: &Aws, arn: &str, before: &Attrs, after: &Attrs) -> Result<()> {
    let (set, remove) = tag_changes(before, after);
    if !set.is_empty() {
        aws.eks
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(set.into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_error("TagResource", e))?;
    }
    if !remove.is_empty() {
        aws.eks
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| aws_error("UntagResource", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_move_one_minor_at_a_time() {
        assert_eq!(version_step_problem("1.30", "1.31"), None);
        assert_eq!(version_step_problem("1.31", "1.31"), None);
        assert!(
            version_step_problem("1.29", "1.31")
                .unwrap()
                .contains("1.29 can go to 1.30 next, not 1.31")
        );
        assert!(
            version_step_problem("1.31", "1.30")
                .unwrap()
                .contains("cannot downgrade")
        );
    }
}
