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
        let on = cluster
            .attrs
            .get("logging")
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty());
        let name = cluster
            .attrs
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.contains("${"));
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

pub fn check(resources: &Resources) -> Vec<Finding> {
    logged(resources)
        .into_iter()
        .filter(|(_, _, group)| group.is_none())
        .map(|(cluster, name, _)| Finding {
            address: cluster.address.clone(),
            pointer: "/logging".into(),
            error: false,
            message: format!(
                "logging is on and the stack has no log group {name}: EKS makes it with no retention, and keeps (and bills) the logs forever"
            ),
            hint: format!(
                "declare a cloudwatch_log_group with name: {name} and retention_days (for example 30); it is made before the cluster"
            ),
        })
        .collect()
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
    let cluster_of = |r: &Resource| r.attrs.get("cluster_name").cloned();
    for addon in resources.values().filter(|r| {
        r.address.ty == "eks_addon"
            && r.attrs
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| crate::types::eks_addon::NEEDS_NODES.contains(&n))
    }) {
        for group in resources.values().filter(|g| {
            g.address.ty == "eks_nodegroup"
                && cluster_of(g).is_some()
                && cluster_of(g) == cluster_of(addon)
                && !g.dependencies().contains(&addon.address)
        }) {
            edges.push((addon.address.clone(), group.address.clone()));
        }
    }
    edges
}
