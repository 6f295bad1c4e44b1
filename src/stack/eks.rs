//! Checks across a stack's EKS resources, and the order they need that no
//! reference carries. Pure.
//!
//! EKS writes control-plane logs to `/aws/eks/<cluster>/cluster`; when that
//! group does not exist, it makes one with no retention (the field notes'
//! CloudWatch bill). A stack that turns logging on should manage the group,
//! and it must exist before the cluster does.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Resource;
use super::network::Finding;
use crate::types::Address;

type Resources = BTreeMap<Address, Resource>;

/// The log group EKS writes a cluster's control-plane logs to.
pub fn log_group_name(cluster: &str) -> String {
    format!("/aws/eks/{cluster}/cluster")
}

/// Each cluster with logging on, its log group's name, and the stack's log
/// group of that name if it has one.
fn logged(resources: &Resources) -> Vec<(&Resource, String, Option<&Resource>)> {
    let mut out = Vec::new();
    for cluster in resources.values().filter(|r| r.address.ty == "eks_cluster") {
        let on =
            cluster.attrs.get("logging").and_then(Value::as_array).is_some_and(|l| !l.is_empty());
        let name = cluster.attrs.get("name").and_then(Value::as_str).filter(|n| !n.contains("${"));
        let (true, Some(name)) = (on, name) else {
            continue;
        };
        let name = log_group_name(name);
        let group = resources.values().find(|g| {
            g.address.ty == "cloudwatch_log_group"
                && g.attrs.get("name").and_then(Value::as_str) == Some(name.as_str())
        });
        out.push((cluster, name, group));
    }
    out
}

/// The stack's cluster a resource's `cluster_name` names: by a reference to
/// the cluster (`${eks_cluster.main.name}`) or by its literal name.
pub fn cluster_of<'a>(resources: &'a Resources, r: &Resource) -> Option<&'a Resource> {
    let named = r.attrs.get("cluster_name")?.as_str()?;
    resources.values().find(|c| {
        c.address.ty == "eks_cluster"
            && (named == format!("${{{}.name}}", c.address)
                || named == format!("${{{}.id}}", c.address)
                || c.attrs.get("name").and_then(Value::as_str) == Some(named))
    })
}

/// The stack's access entry an access policy association belongs to: same
/// cluster and principal.
fn entry_of<'a>(resources: &'a Resources, association: &Resource) -> Option<&'a Resource> {
    let key = |r: &Resource| {
        (r.attrs.get("cluster_name").cloned(), r.attrs.get("principal_arn").cloned())
    };
    resources.values().find(|e| e.address.ty == "eks_access_entry" && key(e) == key(association))
}

/// Access entries and policies on a cluster that does not take them (its
/// authentication mode is CONFIG_MAP), and policies on an entry that takes
/// none (a node type): AWS refuses both.
fn access(resources: &Resources) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in resources.values().filter(|r| {
        matches!(r.address.ty.as_str(), "eks_access_entry" | "eks_access_policy_association")
    }) {
        let mode = cluster_of(resources, r)
            .and_then(|c| c.attrs.get("access_config")?.get("authentication_mode")?.as_str());
        if mode == Some("CONFIG_MAP") {
            out.push(Finding {
                address: r.address.clone(),
                pointer: "/cluster_name".into(),
                error: true,
                lint: None,
                message: "the cluster's authentication_mode is CONFIG_MAP, which takes no access entries or access policies".into(),
                hint: "set the cluster's access_config.authentication_mode to API_AND_CONFIG_MAP (or API)".into(),
            });
        }
        if r.address.ty == "eks_access_policy_association"
            && let Some(entry) = entry_of(resources, r)
            && let Some(kind) = entry.attrs.get("type").and_then(Value::as_str)
            && kind != "STANDARD"
        {
            out.push(Finding {
                address: r.address.clone(),
                pointer: "/principal_arn".into(),
                error: true,
                lint: None,
                message: format!(
                    "{} is of type {kind}, which takes no access policies",
                    entry.address
                ),
                hint: "associate access policies with STANDARD entries only; EKS gives node entries their permissions".into(),
            });
        }
    }
    out
}

/// Pod Identity associations on a cluster whose stack runs no
/// eks-pod-identity-agent add-on: AWS accepts them, and the pods get no
/// credentials.
fn pod_identity_agent(resources: &Resources) -> Vec<Finding> {
    let has_agent = |cluster: &Resource| {
        resources.values().any(|a| {
            a.address.ty == "eks_addon"
                && a.attrs.get("name").and_then(Value::as_str) == Some("eks-pod-identity-agent")
                && cluster_of(resources, a).map(|c| &c.address) == Some(&cluster.address)
        })
    };
    resources
        .values()
        .filter_map(|r| {
            let pointer = match r.address.ty.as_str() {
                "eks_pod_identity_association" => "/role_arn",
                "eks_addon"
                    if r
                        .attrs
                        .get("pod_identity_associations")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty()) =>
                {
                    "/pod_identity_associations"
                }
                _ => return None,
            };
            let cluster = cluster_of(resources, r)?;
            (!has_agent(cluster)).then(|| Finding {
                address: r.address.clone(),
                pointer: pointer.into(),
                error: false,
                lint: Some(crate::types::lint::Lint::PodIdentityAgent),
                message: format!(
                    "{} runs no eks-pod-identity-agent add-on: the association is accepted and the pods get no credentials",
                    cluster.address
                ),
                hint: "add an eks_addon with name: eks-pod-identity-agent on the same cluster".into(),
            })
        })
        .collect()
}

pub fn check(resources: &Resources) -> Vec<Finding> {
    let mut out = access(resources);
    out.extend(pod_identity_agent(resources));
    out.extend(logged(resources)
        .into_iter()
        .filter(|(_, _, group)| group.is_none())
        .map(|(cluster, name, _)| Finding {
            address: cluster.address.clone(),
            pointer: "/logging".into(),
            error: false,
            lint: Some(crate::types::lint::Lint::EksLogGroup),
            message: format!(
                "logging is on and the stack has no log group {name}: EKS makes it with no retention, and keeps (and bills) the logs forever"
            ),
            hint: format!(
                "declare a cloudwatch_log_group with name: {name} and retention_days (for example 30); it is made before the cluster"
            ),
        }));
    out
}

/// A cluster with logging on waits for its log group, so that EKS finds it
/// with its retention instead of making one without; an add-on whose pods run
/// on nodes (coredns) waits for its cluster's node groups, or it stays
/// DEGRADED with nowhere to run. `(dependent, dependency)`.
pub fn implied(resources: &Resources) -> Vec<(Address, Address)> {
    let mut edges: Vec<(Address, Address)> = logged(resources)
        .into_iter()
        .filter_map(|(cluster, _, group)| {
            let group = group?;
            (!group.dependencies().contains(&cluster.address))
                .then(|| (cluster.address.clone(), group.address.clone()))
        })
        .collect();
    let cluster_name = |r: &Resource| r.attrs.get("cluster_name").cloned();
    for addon in resources.values().filter(|r| {
        r.address.ty == "eks_addon"
            && r.attrs
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| crate::types::eks_addon::NEEDS_NODES.contains(&n))
    }) {
        for group in resources.values().filter(|g| {
            g.address.ty == "eks_nodegroup"
                && cluster_name(g).is_some()
                && cluster_name(g) == cluster_name(addon)
                && !g.dependencies().contains(&addon.address)
        }) {
            edges.push((addon.address.clone(), group.address.clone()));
        }
    }
    // An access policy goes to an entry that exists: after it is made, and
    // gone before it is deleted. Anything naming a cluster by its literal name
    // waits for the stack's cluster of that name.
    for r in resources.values() {
        if r.address.ty == "eks_access_policy_association"
            && let Some(entry) = entry_of(resources, r)
            && !r.dependencies().contains(&entry.address)
        {
            edges.push((r.address.clone(), entry.address.clone()));
        }
        if r.address.ty != "eks_cluster"
            && let Some(cluster) = cluster_of(resources, r)
            && !r.dependencies().contains(&cluster.address)
        {
            edges.push((r.address.clone(), cluster.address.clone()));
        }
    }
    edges
}
