//! `eks_nodegroup`: a managed node group. Scaling, labels and taints change in
//! place (UpdateNodegroupConfig), the launch template version too
//! (UpdateNodegroupVersion); instance types force a replacement.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eks::types::{
    CapacityTypes, LaunchTemplateSpecification, NodegroupScalingConfig, NodegroupStatus,
    NodegroupUpdateConfig, Taint, TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use serde_json::{Map, Value, json};

use super::eks_cluster::{sync_tags, update_id, update_status};
use super::vpc::into_map;
use super::wait::{self, Phase, Poll};
use super::{Attrs, Aws, Provider, Result, aws_error, code, s, tags};
use crate::plan::values_equal;
use crate::stack::schema::{Attr, Default, Finding, Kind, NameDefault, TypeSchema};

const SCALING: Kind = Kind::Object(&[
    Attr::new("min", Kind::Int { min: 0, max: 1000 }).required(),
    Attr::new("max", Kind::Int { min: 1, max: 1000 }).required(),
    Attr::new("desired", Kind::Int { min: 0, max: 1000 }).required(),
]);

const TAINT: Kind = Kind::Object(&[
    Attr::new("key", Kind::String).required(),
    Attr::new("value", Kind::String),
    Attr::new(
        "effect",
        Kind::Enum(&["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]),
    )
    .required(),
]);

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "eks_nodegroup",
    attrs: &[
        Attr::new("cluster_name", Kind::String)
            .required()
            .force_new(),
        Attr::new("name", Kind::String).force_new(),
        Attr::new("node_role_arn", Kind::String)
            .required()
            .force_new(),
        Attr::new("subnet_ids", Kind::Set(&Kind::String))
            .required()
            .force_new(),
        Attr::new("instance_types", Kind::Set(&Kind::String)).force_new(),
        Attr::new("scaling", SCALING).required(),
        Attr::new(
            "launch_template",
            Kind::Object(&[
                Attr::new("id", Kind::String).required().force_new(),
                Attr::new("version", Kind::String).required(),
            ]),
        ),
        Attr::new("labels", Kind::Map(&Kind::String)).default(Default::Json("{}")),
        Attr::new("taints", Kind::Set(&TAINT)).default(Default::EmptyList),
        Attr::new("capacity_type", Kind::Enum(&["ON_DEMAND", "SPOT"]))
            .default(Default::Str("ON_DEMAND"))
            .force_new(),
        Attr::new(
            "update_config",
            Kind::Object(
                &[Attr::new("max_unavailable", Kind::Int { min: 1, max: 100 }).required()],
            ),
        ),
    ],
    exports: &["id", "name", "arn", "status"],
    name_attr: Some(("name", NameDefault::StackAndName)),
    check: Some(check),
    ..TypeSchema::BASE
};

fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let s = &attrs["scaling"];
    let (min, max, desired) = (s["min"].as_i64(), s["max"].as_i64(), s["desired"].as_i64());
    match (min, max, desired) {
        (Some(min), Some(max), Some(desired)) if !(min <= desired && desired <= max) => {
            vec![Finding {
                pointer: "/scaling".into(),
                message: format!(
                    "scaling needs min ≤ desired ≤ max; found min {min}, desired {desired}, max {max}"
                ),
                hint: None,
            }]
        }
        _ => Vec::new(),
    }
}

/// `cluster:nodegroup`.
fn split(id: &str) -> (&str, &str) {
    id.split_once(':').unwrap_or((id, id))
}

fn scaling(attrs: &Attrs) -> NodegroupScalingConfig {
    let s = &attrs["scaling"];
    NodegroupScalingConfig::builder()
        .set_min_size(s["min"].as_i64().map(|v| v as i32))
        .set_max_size(s["max"].as_i64().map(|v| v as i32))
        .set_desired_size(s["desired"].as_i64().map(|v| v as i32))
        .build()
}

fn taint(t: &Value) -> Taint {
    Taint::builder()
        .set_key(t["key"].as_str().map(str::to_string))
        .set_value(t["value"].as_str().map(str::to_string))
        .set_effect(t["effect"].as_str().map(TaintEffect::from))
        .build()
}

fn labels(attrs: &Attrs) -> HashMap<String, String> {
    super::string_map(attrs, "labels").into_iter().collect()
}

async fn status(aws: &Aws, id: &str) -> Result<Option<NodegroupStatus>> {
    let (cluster, name) = split(id);
    match aws
        .eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await
    {
        Ok(n) => Ok(n.nodegroup().and_then(|n| n.status()).cloned()),
        Err(e) if code(&e) == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(aws_error("DescribeNodegroup", e)),
    }
}

async fn wait_active(
    aws: &Aws,
    id: &str,
    label: &str,
    doing: &str,
    timeout: Duration,
) -> Result<()> {
    wait::until(label, doing, timeout, || async {
        Ok(match status(aws, id).await? {
            Some(NodegroupStatus::Active) => Poll::Done,
            Some(s @ (NodegroupStatus::CreateFailed | NodegroupStatus::Degraded)) => {
                Poll::Failed(s.as_str().to_string())
            }
            Some(s) => Poll::Pending(s.as_str().to_string()),
            None => Poll::Failed("the node group is gone".into()),
        })
    })
    .await
}

async fn wait_update(
    aws: &Aws,
    id: &str,
    update: &str,
    label: &str,
    timeout: Duration,
) -> Result<()> {
    let (cluster, name) = split(id);
    wait::until(label, "updating", timeout, || {
        update_status(aws, cluster, Some(name), update, label)
    })
    .await?;
    wait_active(aws, id, label, "updating", timeout).await
}

pub struct EksNodegroup;

impl Provider for EksNodegroup {
    const WAITS: bool = true;

    async fn read(aws: &Aws, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let mut out = HashMap::new();
        for id in ids {
            let (cluster, name) = split(id);
            let n = match aws
                .eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
            {
                Ok(n) => n,
                Err(e) if code(&e) == "ResourceNotFoundException" => continue,
                Err(e) => return Err(aws_error("DescribeNodegroup", e)),
            };
            let Some(n) = n.nodegroup() else { continue };
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
                "tags": super::tags_value(tags.into_iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            }));
            if let Some(lt) = n.launch_template() {
                attrs.insert(
                    "launch_template".into(),
                    json!({"id": lt.id(), "version": lt.version()}),
                );
            }
            if let Some(u) = n.update_config().and_then(|u| u.max_unavailable()) {
                attrs.insert("update_config".into(), json!({"max_unavailable": u}));
            }
            if attrs.get("labels") == Some(&Value::Null) {
                attrs.insert("labels".into(), json!({}));
            }
            out.insert(id.clone(), attrs);
        }
        Ok(out)
    }

    async fn create(aws: &Aws, attrs: &Attrs) -> Result<String> {
        let cluster = s(attrs, "cluster_name");
        let name = s(attrs, "name");
        let lt = attrs.get("launch_template").map(|lt| {
            LaunchTemplateSpecification::builder()
                .set_id(lt["id"].as_str().map(str::to_string))
                .set_version(lt["version"].as_str().map(str::to_string))
                .build()
        });
        aws.eks
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .node_role(s(attrs, "node_role_arn"))
            .set_subnets(super::strings(attrs.get("subnet_ids")))
            .set_instance_types(super::strings(attrs.get("instance_types")))
            .scaling_config(scaling(attrs))
            .set_launch_template(lt)
            .set_labels(Some(labels(attrs)))
            .set_taints(
                attrs
                    .get("taints")
                    .and_then(Value::as_array)
                    .map(|t| t.iter().map(taint).collect()),
            )
            .capacity_type(CapacityTypes::from(s(attrs, "capacity_type")))
            .set_client_request_token(
                attrs
                    .get("client_token")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_update_config(attrs.get("update_config").map(|u| {
                NodegroupUpdateConfig::builder()
                    .set_max_unavailable(u["max_unavailable"].as_i64().map(|v| v as i32))
                    .build()
            }))
            .set_tags(Some(tags(attrs).into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_error("CreateNodegroup", e))?;
        Ok(format!("{cluster}:{name}"))
    }

    async fn wait(aws: &Aws, id: &str, phase: Phase, attrs: &Attrs) -> Result<()> {
        let label = wait::label(attrs, id);
        let minutes = match phase {
            Phase::Create => 30,
            Phase::Update => 60,
            Phase::Delete => 30,
        };
        let t = wait::timeout(attrs, phase, Duration::from_secs(minutes * 60));
        match phase {
            Phase::Create | Phase::Update => wait_active(aws, id, &label, phase.doing(), t).await,
            Phase::Delete => {
                wait::until(&label, "deleting", t, || async {
                    Ok(match status(aws, id).await? {
                        None => Poll::Done,
                        Some(s) => Poll::Pending(s.as_str().to_string()),
                    })
                })
                .await
            }
        }
    }

    async fn update(aws: &Aws, id: &str, before: &Attrs, after: &Attrs) -> Result<()> {
        let (cluster, name) = split(id);
        let label = wait::label(after, id);
        let timeout = wait::timeout(after, Phase::Update, Duration::from_secs(60 * 60));
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
                        old.keys()
                            .filter(|k| !new.contains_key(*k))
                            .cloned()
                            .collect(),
                    ))
                    .build()
            });
            let taint_update = changed("taints").then(|| {
                let have = before
                    .get("taints")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let want = after
                    .get("taints")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                UpdateTaintsPayload::builder()
                    .set_add_or_update_taints(Some(
                        want.iter()
                            .filter(|t| !have.contains(t))
                            .map(taint)
                            .collect(),
                    ))
                    .set_remove_taints(Some(
                        have.iter()
                            .filter(|t| {
                                !want
                                    .iter()
                                    .any(|w| w["key"] == t["key"] && w["effect"] == t["effect"])
                            })
                            .map(taint)
                            .collect(),
                    ))
                    .build()
            });
            let u = aws
                .eks
                .update_nodegroup_config()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .set_scaling_config(changed("scaling").then(|| scaling(after)))
                .set_labels(label_update)
                .set_taints(taint_update)
                .set_update_config(
                    after
                        .get("update_config")
                        .filter(|_| changed("update_config"))
                        .map(|u| {
                            NodegroupUpdateConfig::builder()
                                .set_max_unavailable(
                                    u["max_unavailable"].as_i64().map(|v| v as i32),
                                )
                                .build()
                        }),
                )
                .send()
                .await
                .map_err(|e| aws_error("UpdateNodegroupConfig", e))?;
            wait_update(aws, id, &update_id(u.update()), &label, timeout).await?;
        }
        if changed("launch_template") {
            let lt = &after["launch_template"];
            let u = aws
                .eks
                .update_nodegroup_version()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .launch_template(
                    LaunchTemplateSpecification::builder()
                        .set_id(lt["id"].as_str().map(str::to_string))
                        .set_version(lt["version"].as_str().map(str::to_string))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("UpdateNodegroupVersion", e))?;
            wait_update(aws, id, &update_id(u.update()), &label, timeout).await?;
        }
        sync_tags(aws, s(before, "arn"), before, after).await
    }

    async fn find(aws: &Aws, attrs: &Attrs) -> Result<Option<String>> {
        let id = format!("{}:{}", s(attrs, "cluster_name"), s(attrs, "name"));
        super::find_by_id::<Self>(aws, &id).await
    }

    async fn delete(aws: &Aws, id: &str, _before: &Attrs) -> Result<()> {
        let (cluster, name) = split(id);
        match aws
            .eks
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == "ResourceNotFoundException" => Ok(()),
            Err(e) => Err(aws_error("DeleteNodegroup", e)),
        }
    }
}
