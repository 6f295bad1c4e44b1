//! Whether the load balancer's traffic can reach the pods: the checks across
//! a stack's security groups that AWS never makes (it accepts a listener whose
//! targets no rule admits; the targets just never turn healthy). Pure.
//!
//! A listener (or listener rule) that forwards to an `ip` target group in the
//! VPC of one of the stack's EKS clusters sends the load balancer's traffic
//! to pod IPs, which sit behind the security groups of the nodes they run on:
//! the node group's launch template's groups, or, when it names none, the
//! group EKS makes for the cluster (`cluster_security_group_id`). Some rule of
//! the stack must let one of the load balancer's groups into those groups on
//! the target group's port, and on its health check's port.
//!
//! Like src/stack/network.rs, it looks only at what the stack holds: where a
//! group is a literal id (or the load balancer names none), it says nothing.
//! An `instance` target group is not checked: its targets may be the EC2 fleet
//! a cut-over moves away from, whose groups the stack cannot see, and the AWS
//! Load Balancer Controller registers nodes in one on their NodePort, not on
//! the target group's port.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Resource;
use super::eks::cluster_of;
use super::network::{Finding, Resources, list, of_type, refers};
use crate::types::Address;
use crate::types::reference;
use crate::types::schema::parse_ports;

/// A security group as the stack names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    /// A `security_group` of the stack.
    Own(Address),
    /// The group EKS makes for a cluster of the stack.
    Cluster(Address),
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Group::Own(a) => write!(f, "{a}"),
            Group::Cluster(a) => write!(f, "{a}'s cluster security group"),
        }
    }
}

/// The group a value names: `${security_group.X.id}` or
/// `${eks_cluster.X.cluster_security_group_id}`; `None` for a literal id or
/// anything else.
fn group(resources: &Resources, value: &Value) -> Option<Group> {
    let refs = reference::references(value);
    let [one] = refs.as_slice() else { return None };
    if !resources.contains_key(&one.address) || value.as_str() != Some(&format!("${{{one}}}")) {
        return None;
    }
    match (one.address.ty.as_str(), one.attr.as_str()) {
        ("security_group", "id") => Some(Group::Own(one.address.clone())),
        ("eks_cluster", "cluster_security_group_id") => Some(Group::Cluster(one.address.clone())),
        _ => None,
    }
}

/// Every group a list names, or `None` when one of them is not the stack's.
fn groups(resources: &Resources, values: &[Value]) -> Option<Vec<Group>> {
    values.iter().map(|v| group(resources, v)).collect()
}

/// The port a value holds, when it is written out.
fn port(value: Option<&Value>) -> Option<u16> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An ingress rule, wherever it is written: on which group, from what, how.
struct Ingress<'a> {
    on: Group,
    rule: &'a Map<String, Value>,
}

impl Ingress<'_> {
    /// Whether it admits one of `sources` (or an address range, which may
    /// hold the load balancer's addresses) on TCP `port`.
    fn admits(&self, resources: &Resources, sources: &[Group], port: u16) -> bool {
        let protocol = self.rule.get("protocol").and_then(Value::as_str).unwrap_or("");
        let covers = match protocol {
            "all" => true,
            "tcp" => self
                .rule
                .get("ports")
                .and_then(Value::as_str)
                .and_then(|p| parse_ports(p).ok())
                .is_some_and(|(from, to)| from <= port && port <= to),
            _ => false,
        };
        let from = match (self.rule.get("source_security_group"), self.rule.get("cidr")) {
            (Some(g), _) => group(resources, g).is_some_and(|g| sources.contains(&g)),
            (None, Some(_)) => true,
            (None, None) => false,
        };
        covers && from
    }
}

/// Every ingress rule of the stack: groups' own, and `security_group_rule`s.
fn ingress(resources: &Resources) -> Vec<Ingress<'_>> {
    let mut out = Vec::new();
    for sg in of_type(resources, "security_group") {
        for rule in list(sg, "ingress").iter().filter_map(Value::as_object) {
            out.push(Ingress { on: Group::Own(sg.address.clone()), rule });
        }
    }
    for r in of_type(resources, "security_group_rule") {
        let direction = r.attrs.get("direction").and_then(Value::as_str);
        if let (Some("ingress"), Some(on)) =
            (direction, r.attrs.get("security_group_id").and_then(|v| group(resources, v)))
        {
            // Its attributes hold the keys an inline rule has.
            out.push(Ingress { on, rule: &r.attrs });
        }
    }
    out
}

/// The VPC of the stack a cluster's subnets are in.
fn cluster_vpc(resources: &Resources, cluster: &Resource) -> Option<Address> {
    let vpcs: BTreeSet<Address> = list(cluster, "subnet_ids")
        .iter()
        .filter_map(|s| resources.get(&refers(resources, Some(s))?))
        .filter_map(|s| refers(resources, s.attrs.get("vpc_id")))
        .collect();
    (vpcs.len() == 1).then(|| vpcs.into_iter().next()).flatten()
}

/// The groups each node group of a cluster puts on its nodes: its launch
/// template's, or the cluster's own when the template names none (or there
/// is none); `None` when one of them is not the stack's.
fn node_groups<'a>(
    resources: &'a Resources,
    cluster: &Resource,
) -> Option<Vec<(&'a Resource, Vec<Group>)>> {
    let mut out = Vec::new();
    for ng in of_type(resources, "eks_nodegroup") {
        if cluster_of(resources, ng).map(|c| &c.address) != Some(&cluster.address) {
            continue;
        }
        let template = ng
            .attrs
            .get("launch_template")
            .and_then(|t| t.get("id").or_else(|| t.get("name")))
            .map(|v| refers(resources, Some(v)).and_then(|a| resources.get(&a)));
        let named = match template {
            // A template that is not the stack's: its groups are unknown.
            Some(None) => return None,
            Some(Some(t)) => list(t, "security_group_ids"),
            None => &[],
        };
        let groups = if named.is_empty() {
            vec![Group::Cluster(cluster.address.clone())]
        } else {
            groups(resources, named)?
        };
        out.push((ng, groups));
    }
    Some(out)
}

/// The target groups a listener or a listener rule forwards to, and the
/// load balancer it is on.
fn forwarding<'a>(
    resources: &'a Resources,
    r: &'a Resource,
) -> Option<(&'a Resource, Vec<Address>)> {
    let listener = match r.address.ty.as_str() {
        "listener" => r,
        _ => resources.get(&refers(resources, r.attrs.get("listener_arn"))?)?,
    };
    let lb = resources.get(&refers(resources, listener.attrs.get("load_balancer_arn"))?)?;
    let targets = list(r, "forward")
        .iter()
        .filter_map(|f| refers(resources, f.get("target_group_arn")))
        .filter(|a| a.ty == "target_group")
        .collect();
    Some((lb, targets))
}

/// Every forward to an `ip` target group whose pods no rule lets the load
/// balancer reach (said at the first forward to it).
pub fn check(resources: &Resources) -> Vec<Finding> {
    let rules = ingress(resources);
    let mut out = Vec::new();
    // Said once for each target group and node group, at the first forward.
    let mut said: BTreeSet<(Address, Address)> = BTreeSet::new();
    let forwards = of_type(resources, "listener").chain(of_type(resources, "listener_rule"));
    for r in forwards {
        let Some((lb, targets)) = forwarding(resources, r) else { continue };
        let Some(sources) = groups(resources, list(lb, "security_groups")) else { continue };
        if sources.is_empty() {
            continue;
        }
        for (i, tg) in targets.iter().enumerate() {
            let Some(tg) = resources.get(tg) else { continue };
            if tg.attrs.get("target_type").and_then(Value::as_str) != Some("ip") {
                continue;
            }
            let Some(vpc) = refers(resources, tg.attrs.get("vpc_id")) else { continue };
            let mut ports: Vec<u16> = port(tg.attrs.get("port")).into_iter().collect();
            if let Some(p) = port(tg.attrs.get("health_check").and_then(|h| h.get("port"))) {
                ports.push(p);
            }
            ports.dedup();
            for cluster in of_type(resources, "eks_cluster") {
                if cluster_vpc(resources, cluster).as_ref() != Some(&vpc) {
                    continue;
                }
                let Some(nodes) = node_groups(resources, cluster) else { continue };
                for (ng, on) in nodes {
                    let shut: Vec<u16> = ports
                        .iter()
                        .copied()
                        .filter(|p| {
                            !rules
                                .iter()
                                .any(|x| on.contains(&x.on) && x.admits(resources, &sources, *p))
                        })
                        .collect();
                    if shut.is_empty() || !said.insert((tg.address.clone(), ng.address.clone())) {
                        continue;
                    }
                    let said = |gs: &[Group]| {
                        gs.iter().map(Group::to_string).collect::<Vec<_>>().join(", ")
                    };
                    let ports_said =
                        shut.iter().map(u16::to_string).collect::<Vec<_>>().join(" and ");
                    let into = match &on[0] {
                        Group::Own(a) => format!("an ingress rule on {a}"),
                        Group::Cluster(c) => {
                            format!("a security_group_rule on ${{{c}.cluster_security_group_id}}")
                        }
                    };
                    out.push(Finding {
                        address: r.address.clone(),
                        pointer: format!("/forward/{i}/target_group_arn"),
                        error: false,
                        lint: Some(crate::types::lint::Lint::UnreachablePods),
                        message: format!(
                            "forwards to {} (ip targets: pods of {}) but no rule lets the load balancer's {} into the nodes' {} on port {ports_said}: the targets never turn healthy",
                            tg.address,
                            ng.address,
                            said(&sources),
                            said(&on),
                        ),
                        hint: format!(
                            "add {into}: {{ protocol: tcp, ports: \"{}\", source_security_group: \"${{{}.id}}\" }} (see docs/migration.md, \"Open the path from the ALB to the pods\")",
                            shut[0],
                            match &sources[0] {
                                Group::Own(a) | Group::Cluster(a) => a,
                            }
                        ),
                    });
                }
            }
        }
    }
    out.extend(rules_on_owned_groups(resources));
    out
}

/// A `security_group_rule` on a group the stack declares: in one stack, a
/// group's rules are written in one place, its own `ingress` and `egress`
/// lists (a rule in both would be a duplicate AWS refuses).
fn rules_on_owned_groups(resources: &Resources) -> Vec<Finding> {
    of_type(resources, "security_group_rule")
        .filter_map(|r| {
            let Group::Own(sg) = group(resources, r.attrs.get("security_group_id")?)? else {
                return None;
            };
            let direction = r.attrs.get("direction").and_then(Value::as_str).unwrap_or("ingress");
            Some(Finding {
                address: r.address.clone(),
                pointer: "/security_group_id".into(),
                error: true,
                lint: None,
                message: format!(
                    "{sg} is this stack's: its rules are written in its own `{direction}` list"
                ),
                hint: format!(
                    "write the rule in {sg}'s `{direction}` list; security_group_rule is for a group the stack does not declare (the cluster's, another stack's)"
                ),
            })
        })
        .collect()
}
