//! `eks_nodegroup`: a managed node group. Scaling, labels and taints change in
//! place (UpdateNodegroupConfig), the launch template version too
//! (UpdateNodegroupVersion); instance types force a replacement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, LaunchTemplateSpecification, NodegroupScalingConfig, NodegroupStatus,
    NodegroupUpdateConfig, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use serde_json::{Map, Value, json};

use super::eks_cluster::{split_id, update_id, update_status};
use super::tags;
use super::wait::{self, Poll};
use super::{Aws, Result};
use crate::provider::{GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value, values_equal};
use crate::types::eks_nodegroup::SCHEMA;
use crate::types::{Attrs, AttrsExt, Operation};

fn scaling(attrs: &Attrs) -> Result<NodegroupScalingConfig> {
    let s = attrs.object("scaling")?;
    Ok(NodegroupScalingConfig::builder()
        .min_size(s.int("min")? as i32)
        .max_size(s.int("max")? as i32)
        .desired_size(s.int("desired")? as i32)
        .build())
}

fn launch_template(lt: &Value) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .set_id(lt.opt_str("id").map(str::to_string))
        .set_version(lt.opt_str("version").map(str::to_string))
        .build()
}

fn update_config(u: &Value) -> NodegroupUpdateConfig {
    NodegroupUpdateConfig::builder()
        .set_max_unavailable(u.opt_int("max_unavailable").map(|v| v as i32))
        .set_max_unavailable_percentage(u.opt_int("max_unavailable_percentage").map(|v| v as i32))
        .build()
}

fn taint(t: &Value) -> Taint {
    Taint::builder()
        .set_key(t.opt_str("key").map(str::to_string))
        .set_value(t.opt_str("value").map(str::to_string))
        .set_effect(t.opt_str("effect").map(TaintEffect::from))
        .build()
}

fn labels(attrs: &Attrs) -> HashMap<String, String> {
    attrs.string_map("labels").into_iter().collect()
}

/// The node group `CLUSTER:NAME`, if it exists.
async fn describe(aws: &Aws, id: &str) -> Result<Option<aws_sdk_eks::types::Nodegroup>> {
    let (cluster, name) = split_id(id);
    Ok(send!(
        aws.eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name),
        "DescribeNodegroup"
    )
    .or_gone()?
    .and_then(|n| n.nodegroup().cloned()))
}

async fn wait_active(
    aws: &Aws,
    ctx: &OpContext,
    id: &str,
    doing: &str,
    timeout: Duration,
) -> Result<Option<Attrs>> {
    wait::until(ctx, doing, timeout, || async {
        let n = describe(aws, id).await?;
        Ok(match n.as_ref().map(|n| (n, n.status())) {
            // The last look is a whole read: no read back.
            Some((n, Some(NodegroupStatus::Active))) => Poll::Seen(attrs_of(id, n)),
            Some((_, Some(s @ (NodegroupStatus::CreateFailed | NodegroupStatus::Degraded)))) => {
                Poll::Failed(s.as_str().to_string())
            }
            Some((_, s)) => Poll::Pending(s.map_or("unknown", |s| s.as_str()).to_string()),
            None => Poll::Failed("the node group is gone".into()),
        })
    })
    .await
}

async fn wait_update(
    aws: &Aws,
    ctx: &OpContext,
    id: &str,
    update: &str,
    timeout: Duration,
) -> Result<()> {
    let (cluster, name) = split_id(id);
    wait::until(ctx, "updating", timeout, || update_status(aws, ctx, cluster, Some(name), update))
        .await?;
    wait_active(aws, ctx, id, "updating", timeout).await?;
    Ok(())
}

/// A node group as `read` gives it (one DescribeNodegroup says everything).
fn attrs_of(id: &str, n: &aws_sdk_eks::types::Nodegroup) -> Attrs {
    let sc = n.scaling_config();
    let mut tags: Vec<(&String, &String)> =
        n.tags().map(|t| t.iter().collect()).unwrap_or_default();
    tags.sort();
    let mut attrs = into_map(json!({
        "id": id,
        "name": n.nodegroup_name(),
        "arn": n.nodegroup_arn(),
        "cluster_name": n.cluster_name(),
        "node_role_arn": n.node_role(),
        "subnet_ids": n.subnets(),
        "instance_types": n.instance_types(),
        "scaling": {
            "min": sc.and_then(|s| s.min_size()),
            "max": sc.and_then(|s| s.max_size()),
            "desired": sc.and_then(|s| s.desired_size()),
        },
        "labels": n.labels(),
        "taints": n.taints().iter().map(|t| {
            let mut m = Map::new();
            m.insert("key".into(), json!(t.key()));
            if let Some(v) = t.value() { m.insert("value".into(), json!(v)); }
            m.insert("effect".into(), json!(t.effect().map(|e| e.as_str())));
            Value::Object(m)
        }).collect::<Vec<_>>(),
        "capacity_type": n.capacity_type().map_or("ON_DEMAND", |c| c.as_str()),
        "status": n.status().map(|s| s.as_str()),
        "tags": tags_value(tags.into_iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    }));
    if let Some(lt) = n.launch_template() {
        attrs.insert("launch_template".into(), json!({"id": lt.id(), "version": lt.version()}));
    }
    if let Some(u) = n.update_config() {
        match (u.max_unavailable(), u.max_unavailable_percentage()) {
            (Some(k), _) => {
                attrs.insert("update_config".into(), json!({"max_unavailable": k}));
            }
            (_, Some(p)) => {
                attrs.insert("update_config".into(), json!({"max_unavailable_percentage": p}));
            }
            _ => {}
        }
    }
    if let Some(ami) = n.ami_type() {
        attrs.insert("ami_type".into(), json!(ami.as_str()));
    }
    if let Some(release) = n.release_version() {
        attrs.insert("release_version".into(), json!(release));
    }
    if let Some(version) = n.version() {
        attrs.insert("version".into(), json!(version));
    }
    if attrs.get("labels") == Some(&Value::Null) {
        attrs.insert("labels".into(), json!({}));
    }
    attrs
}

pub struct EksNodegroup(pub Arc<Aws>);

#[async_trait]
impl Provider for EksNodegroup {
    /// A name made from `name_prefix`, settled before the intent.
    fn prepare(&self, attrs: &mut Attrs) {
        super::name_from_prefix(attrs);
    }

    fn waits(&self) -> bool {
        true
    }

    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let mut out = HashMap::new();
        for id in ids {
            if let Some(n) = describe(aws, id).await? {
                out.insert(id.clone(), attrs_of(id, &n));
            }
        }
        Ok(out)
    }

    async fn create(&self, ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let aws = &*self.0;
        let cluster = attrs.str("cluster_name")?;
        let name = attrs.str("name")?;
        let lt = attrs.get("launch_template").map(launch_template);
        let request = aws
            .eks
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .node_role(attrs.str("node_role_arn")?)
            .set_subnets(attrs.opt_strings("subnet_ids"))
            .set_instance_types(attrs.opt_strings("instance_types"))
            .scaling_config(scaling(attrs)?)
            .set_launch_template(lt)
            .set_labels(Some(labels(attrs)))
            .set_taints(attrs.opt_list("taints").map(|t| t.iter().map(taint).collect()))
            .capacity_type(CapacityTypes::from(attrs.str("capacity_type")?))
            .set_ami_type(attrs.opt_str("ami_type").map(AmiTypes::from))
            .set_release_version(attrs.opt_str("release_version").map(str::to_string))
            .set_version(attrs.opt_str("version").map(str::to_string))
            .set_client_request_token(ctx.token.clone())
            .set_update_config(attrs.get("update_config").map(update_config))
            .set_tags(Some(attrs.tags().into_iter().collect()));
        super::while_iam_propagates(ctx, || {
            let request = request.clone();
            async move { Ok(send!(request, "CreateNodegroup")?) }
        })
        .await?;
        Ok(format!("{cluster}:{name}").into())
    }

    async fn wait(&self, ctx: &OpContext, id: &str, operation: Operation) -> Result<Option<Attrs>> {
        let aws = &*self.0;
        let minutes = match operation.phase() {
            Operation::Update => 60,
            _ => 30,
        };
        let t = ctx.timeout(operation, Duration::from_secs(minutes * 60));
        match operation.phase() {
            Operation::Delete => {
                wait::until(ctx, "deleting", t, || async {
                    Ok(match describe(aws, id).await? {
                        None => Poll::Done,
                        Some(n) => {
                            Poll::Pending(n.status().map_or("unknown", |s| s.as_str()).to_string())
                        }
                    })
                })
                .await
            }
            _ => wait_active(aws, ctx, id, operation.waiting(), t).await,
        }
    }

    async fn update(&self, ctx: &OpContext, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let (cluster, name) = split_id(id);
        let timeout = ctx.timeout(Operation::Update, Duration::from_secs(60 * 60));
        let changed = |k: &str| {
            after.get(k).is_some_and(|v| {
                !values_equal(
                    SCHEMA.attr(k).map(|a| &a.kind),
                    before.get(k).unwrap_or(&Value::Null),
                    v,
                )
            })
        };
        if changed("scaling") || changed("labels") || changed("taints") || changed("update_config")
        {
            let (old, new) = (labels(before), labels(after));
            let label_update = changed("labels").then(|| {
                UpdateLabelsPayload::builder()
                    .set_add_or_update_labels(Some(
                        new.iter()
                            .filter(|(k, v)| old.get(*k) != Some(*v))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ))
                    .set_remove_labels(Some(
                        old.keys().filter(|k| !new.contains_key(*k)).cloned().collect(),
                    ))
                    .build()
            });
            let taint_update = changed("taints").then(|| {
                let have = before.opt_list("taints").cloned().unwrap_or_default();
                let want = after.opt_list("taints").cloned().unwrap_or_default();
                UpdateTaintsPayload::builder()
                    .set_add_or_update_taints(Some(
                        want.iter().filter(|t| !have.contains(t)).map(taint).collect(),
                    ))
                    .set_remove_taints(Some(
                        have.iter()
                            .filter(|t| {
                                !want.iter().any(|w| {
                                    w.get("key") == t.get("key")
                                        && w.get("effect") == t.get("effect")
                                })
                            })
                            .map(taint)
                            .collect(),
                    ))
                    .build()
            });
            let u = send!(
                aws.eks
                    .update_nodegroup_config()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .set_scaling_config(changed("scaling").then(|| scaling(after)).transpose()?)
                    .set_labels(label_update)
                    .set_taints(taint_update)
                    .set_update_config(
                        after
                            .get("update_config")
                            .filter(|_| changed("update_config"))
                            .map(update_config),
                    ),
                "UpdateNodegroupConfig"
            )?;
            wait_update(aws, ctx, id, &update_id(u.update()), timeout).await?;
        }
        if changed("launch_template") || changed("release_version") || changed("version") {
            let u = send!(
                aws.eks
                    .update_nodegroup_version()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .set_launch_template(
                        after
                            .get("launch_template")
                            .filter(|_| changed("launch_template"))
                            .map(launch_template),
                    )
                    .set_release_version(
                        after
                            .opt_str("release_version")
                            .filter(|_| changed("release_version"))
                            .map(str::to_string),
                    )
                    .set_version(
                        after.opt_str("version").filter(|_| changed("version")).map(str::to_string),
                    )
                    .force(after.opt_bool("force_update_version").unwrap_or(false)),
                "UpdateNodegroupVersion"
            )?;
            wait_update(aws, ctx, id, &update_id(u.update()), timeout).await?;
        }
        tags::sync(&tags::Eks, aws, before.str("arn")?, before, after).await
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        let id = format!("{}:{}", attrs.str("cluster_name")?, attrs.str("name")?);
        super::find_by_id(self, &id).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        let aws = &*self.0;
        let (cluster, name) = split_id(id);
        send!(
            aws.eks.delete_nodegroup().cluster_name(cluster).nodegroup_name(name),
            "DeleteNodegroup"
        )
        .or_gone()?;
        Ok(())
    }
}
