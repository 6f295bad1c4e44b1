//! What a plan that upgrades an EKS cluster must check: each add-on on that
//! cluster, at the version it will have, against the versions the new
//! Kubernetes version supports (the asking is in `ops/plan.rs`), and its node
//! groups' versions against what EKS requires of them before and after a
//! control-plane upgrade. Pure.

use serde_json::Value;

use super::{Action, Notice, Plan};
use crate::types::state::State;
use crate::types::{Address, reference};

/// One add-on to check against a cluster's new Kubernetes version.
#[derive(Debug, Clone, PartialEq)]
pub struct AddonCheck {
    pub address: Address,
    pub cluster: Address,
    pub addon: String,
    pub version: String,
    pub kubernetes: String,
}

fn known_str<'a>(attrs: Option<&'a serde_json::Map<String, Value>>, key: &str) -> Option<&'a str> {
    attrs.and_then(|a| a.get(key)).filter(|v| reference::is_known(v)).and_then(Value::as_str)
}

/// The add-ons to check: those on a cluster whose version the plan changes,
/// at the version the stack asks for or, where it asks none, the one they run
/// (an add-on the plan leaves alone carries no sides: state says what it runs).
pub fn addon_checks(plan: &Plan, state: &State) -> Vec<AddonCheck> {
    let mut out = Vec::new();
    for cluster in plan
        .changes
        .iter()
        .filter(|c| c.address.ty == "eks_cluster" && matches!(c.action, Action::Update))
    {
        let (Some(from), Some(to), Some(name)) = (
            known_str(cluster.before.as_ref(), "version"),
            known_str(cluster.after.as_ref(), "version"),
            known_str(cluster.after.as_ref(), "name"),
        ) else {
            continue;
        };
        if from == to {
            continue;
        }
        for addon in plan
            .changes
            .iter()
            .filter(|c| c.address.ty == "eks_addon" && c.action != Action::Delete)
        {
            let recorded = state.resources.get(&addon.address).map(|r| &r.attributes);
            let after = addon.after.as_ref().or(recorded);
            if known_str(after, "cluster_name") != Some(name) {
                continue;
            }
            let version = known_str(addon.after.as_ref(), "version")
                .or_else(|| known_str(addon.before.as_ref(), "version"))
                .or_else(|| known_str(recorded, "version"));
            let (Some(version), Some(addon_name)) = (version, known_str(after, "name")) else {
                continue;
            };
            out.push(AddonCheck {
                address: addon.address.clone(),
                cluster: cluster.address.clone(),
                addon: addon_name.to_string(),
                version: version.to_string(),
                kubernetes: to.to_string(),
            });
        }
    }
    out
}

/// What a reviewer must hear about one check, given the versions AWS offers
/// for the new Kubernetes version: nothing when the add-on's is among them.
pub fn addon_notice(check: &AddonCheck, supported: &[String]) -> Option<Notice> {
    if supported.iter().any(|v| v == &check.version) {
        return None;
    }
    let message = if supported.is_empty() {
        format!(
            "{} {} is not offered for Kubernetes {} at all: upgrading {} leaves it unsupported",
            check.addon, check.version, check.kubernetes, check.cluster
        )
    } else {
        let mut offered = supported.to_vec();
        offered.truncate(3);
        format!(
            "{} {} does not support Kubernetes {}, which {} moves to; set its version to one that does ({}{})",
            check.addon,
            check.version,
            check.kubernetes,
            check.cluster,
            offered.join(", "),
            if supported.len() > 3 { ", ..." } else { "" }
        )
    };
    Some(Notice { address: check.address.clone(), message })
}

/// How far behind a node's kubelet may run behind the control plane: three
/// minors from Kubernetes 1.28 (EKS user guide, managed node groups), two
/// before.
fn allowed_skew(control_plane: (u32, u32)) -> u32 {
    if control_plane >= (1, 28) { 3 } else { 2 }
}

/// The node groups of a cluster whose version a plan moves, and node groups
/// asked to run ahead of their cluster: what EKS refuses (`problems`) and
/// what a reviewer must hear (`notices`).
///
/// From the EKS user guide ("Update existing cluster to new Kubernetes
/// version"): before the control plane moves to a new version, the
/// Kubernetes version of its managed node groups must be the control
/// plane's; a node's kubelet is never newer than the control plane, and may
/// run up to three minors behind it. So a plan that moves the cluster while a
/// node group runs behind its current version is refused (UpdateClusterVersion
/// would fail), as is a node group asked ahead of the cluster; a node group
/// left behind by the move is said under Needs attention, with how far.
pub fn node_versions(
    stack: &crate::stack::Stack,
    changes: &[super::Change],
    observed: &super::Observed,
) -> (Vec<String>, Vec<Notice>) {
    use crate::types::eks_cluster::minor;
    let (mut problems, mut notices) = (Vec::new(), Vec::new());
    let seen = |a: &Address| observed.get(a).and_then(Option::as_ref);
    let change = |a: &Address| changes.iter().find(|c| &c.address == a);
    for cluster in stack.resources.values().filter(|r| r.address.ty == "eks_cluster") {
        let from = known_str(seen(&cluster.address), "version");
        let to =
            change(&cluster.address).and_then(|c| known_str(c.after.as_ref(), "version")).or(from);
        let (Some(to), Some(to_minor)) = (to, to.and_then(minor)) else { continue };
        let moving = from.filter(|f| *f != to);
        for ng in stack.resources.values().filter(|r| r.address.ty == "eks_nodegroup") {
            if crate::stack::eks::cluster_of(&stack.resources, ng).map(|c| &c.address)
                != Some(&cluster.address)
            {
                continue;
            }
            let now = known_str(seen(&ng.address), "version");
            let then = change(&ng.address)
                .filter(|c| c.action != Action::Delete)
                .and_then(|c| known_str(c.after.as_ref(), "version"))
                .or(now);
            let a = &ng.address;
            if let Some(v) = then.filter(|v| minor(v).is_some_and(|m| m > to_minor)) {
                problems.push(format!(
                    "{a}: Kubernetes {v} is ahead of its cluster {}'s {to}: a node is never newer than the control plane (EKS refuses it); upgrade the cluster first",
                    cluster.address
                ));
                continue;
            }
            let Some(from) = moving else { continue };
            if let Some(n) = now.filter(|n| minor(n).is_some_and(|m| Some(m) < minor(from))) {
                problems.push(format!(
                    "{} cannot move from {from} to {to} while {a} runs Kubernetes {n}: EKS requires every managed node group at the control plane's version ({from}) before it upgrades the control plane; set {a}'s version to {from} and apply, then move the cluster",
                    cluster.address
                ));
                continue;
            }
            let Some((v, m)) = then.and_then(|v| Some((v, minor(v)?))) else { continue };
            if m >= to_minor || m.0 != to_minor.0 {
                continue;
            }
            let behind = to_minor.1 - m.1;
            let allowed = allowed_skew(to_minor);
            let minors =
                if behind == 1 { "one minor".to_string() } else { format!("{behind} minors") };
            notices.push(Notice {
                address: a.clone(),
                message: format!(
                    "stays at Kubernetes {v}, {minors} behind {}, which moves to {to}: nodes may run up to {allowed} minors behind the control plane, but EKS will not upgrade the cluster again until every node group is at its version; set its version to {to} (it rolls the nodes)",
                    cluster.address
                ),
            });
        }
    }
    (problems, notices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Change;
    use serde_json::json;

    fn change(address: &str, action: Action, before: Value, after: Value) -> Change {
        Change {
            address: Address::parse(address).unwrap(),
            action,
            before: before.as_object().cloned(),
            after: after.as_object().cloned(),
            changed: Vec::new(),
            replace_because: Vec::new(),
            reason: None,
            deposed: false,
            pending: None,
            rollout: None,
        }
    }

    #[test]
    fn a_version_bump_checks_each_add_on_at_the_version_it_will_run() {
        let mut state = State::new("eks");
        state.resources.insert(
            Address::parse("eks_addon.kube_proxy").unwrap(),
            serde_json::from_value(json!({
                "type": "eks_addon", "id": "c:kube-proxy",
                "attributes": {"cluster_name": "c", "name": "kube-proxy", "version": "v1.30.6-eksbuild.3"}
            }))
            .unwrap(),
        );
        let plan = Plan {
            stack: "eks".into(),
            serial: 1,
            changes: vec![
                change(
                    "eks_cluster.main",
                    Action::Update,
                    json!({"name": "c", "version": "1.30"}),
                    json!({"name": "c", "version": "1.31"}),
                ),
                change(
                    "eks_addon.coredns",
                    Action::Update,
                    json!({"cluster_name": "c", "name": "coredns", "version": "v1.10.1"}),
                    json!({"cluster_name": "c", "name": "coredns", "version": "v1.11.3"}),
                ),
                // Left alone by the plan: no sides; state says what it runs.
                change("eks_addon.kube_proxy", Action::NoOp, Value::Null, Value::Null),
                change(
                    "eks_addon.elsewhere",
                    Action::NoOp,
                    json!({"cluster_name": "other", "name": "coredns", "version": "v1"}),
                    json!({"cluster_name": "other", "name": "coredns", "version": "v1"}),
                ),
            ],
            outputs: Default::default(),
            labels: Default::default(),
            problems: Vec::new(),
            drift: Vec::new(),
            recovered: Vec::new(),
            cutover: Vec::new(),
            notices: Vec::new(),
            sensitive: Default::default(),
            environment: None,
            lookups: Vec::new(),
            moves: Vec::new(),
            cost: None,
            traffic: Vec::new(),
            edges: Vec::new(),
        };
        let checks = addon_checks(&plan, &state);
        let asked: Vec<(&str, &str, &str)> = checks
            .iter()
            .map(|c| (c.addon.as_str(), c.version.as_str(), c.kubernetes.as_str()))
            .collect();
        assert_eq!(
            asked,
            [("coredns", "v1.11.3", "1.31"), ("kube-proxy", "v1.30.6-eksbuild.3", "1.31")]
        );
        assert_eq!(addon_notice(&checks[0], &["v1.11.3".into()]), None);
        let notice = addon_notice(&checks[1], &["v1.31.2-eksbuild.3".into()]).unwrap();
        assert_eq!(notice.address.to_string(), "eks_addon.kube_proxy");
        assert!(
            notice.message.contains(
                "kube-proxy v1.30.6-eksbuild.3 does not support Kubernetes 1.31, which eks_cluster.main moves to; set its version to one that does (v1.31.2-eksbuild.3)"
            ),
            "{}",
            notice.message
        );
        assert!(
            addon_notice(&checks[1], &[])
                .unwrap()
                .message
                .contains("is not offered for Kubernetes 1.31 at all")
        );
    }
}
