//! Checks across a stack's network that AWS makes and the emulator does not:
//! what AWS refuses (errors) and what it accepts and then fails at run time
//! (warnings: nodes that cannot join, a load balancer no one can reach), and
//! the order AWS needs that no reference says (an internet-facing load balancer
//! waits for its VPC's internet gateway). Pure.
//!
//! It looks only at what the stack holds: a subnet, VPC or route table given as
//! a literal id is outside its sight, and then it says nothing rather than
//! guess.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Resource;
use crate::types::Address;
use crate::types::reference;

/// One finding, located by a JSON pointer into a resource's attributes.
#[derive(Debug, PartialEq)]
pub struct Finding {
    pub address: Address,
    pub pointer: String,
    /// AWS refuses it (an error); otherwise AWS accepts it and it fails later
    /// (a warning, an error under `--strict`).
    pub error: bool,
    /// Which lint a warning is (what `accept:` names to silence it).
    pub lint: Option<crate::types::lint::Lint>,
    pub message: String,
    pub hint: String,
}

pub(super) type Resources = BTreeMap<Address, Resource>;

/// The endpoints nodes with no route out need, by the end of their service
/// name (`com.amazonaws.REGION.ecr.api`), and their kind.
const NODE_ENDPOINTS: &[(&str, &str)] =
    &[("ecr.api", "Interface"), ("ecr.dkr", "Interface"), ("s3", "Gateway"), ("sts", "Interface")];

/// The resource a value refers to, when it is one reference to a resource of
/// the stack.
pub(super) fn refers(resources: &Resources, value: Option<&Value>) -> Option<Address> {
    let refs = reference::references(value?);
    match refs.as_slice() {
        [one] if resources.contains_key(&one.address) => Some(one.address.clone()),
        _ => None,
    }
}

fn text<'a>(r: &'a Resource, key: &str) -> Option<&'a str> {
    r.attrs.get(key).and_then(Value::as_str)
}

pub(super) fn list<'a>(r: &'a Resource, key: &str) -> &'a [Value] {
    r.attrs.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

pub(super) fn of_type<'a>(
    resources: &'a Resources,
    ty: &'a str,
) -> impl Iterator<Item = &'a Resource> {
    resources.values().filter(move |r| r.address.ty == ty)
}

/// Where a table's default route (`0.0.0.0/0`) goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Out {
    InternetGateway,
    Nat,
    /// A transit gateway, a peering, an appliance: a way out we cannot judge.
    Elsewhere,
}

struct Net<'a> {
    resources: &'a Resources,
}

impl<'a> Net<'a> {
    /// The stack's subnets a list names, or `None` when one is not the stack's.
    fn subnets(&self, values: &[Value]) -> Option<Vec<&'a Resource>> {
        values
            .iter()
            .map(|v| {
                let a = refers(self.resources, Some(v)).filter(|a| a.ty == "subnet")?;
                self.resources.get(&a)
            })
            .collect()
    }

    /// The VPC of the stack a resource's `vpc_id` names.
    fn vpc(&self, r: &Resource) -> Option<&'a Resource> {
        let a = refers(self.resources, r.attrs.get("vpc_id")).filter(|a| a.ty == "vpc")?;
        self.resources.get(&a)
    }

    fn gateways(&self, vpc: &Address) -> Vec<&'a Resource> {
        of_type(self.resources, "internet_gateway")
            .filter(|g| self.vpc(g).is_some_and(|v| &v.address == vpc))
            .collect()
    }

    /// The stack's route table a subnet is associated with; `None` means the
    /// VPC's main table, which AWS makes with only the `local` route.
    fn table(&self, subnet: &Address) -> Option<&'a Resource> {
        of_type(self.resources, "route_table").find(|t| {
            list(t, "subnet_ids")
                .iter()
                .any(|v| refers(self.resources, Some(v)).as_ref() == Some(subnet))
        })
    }

    fn default_route(&self, table: Option<&Resource>) -> Option<Out> {
        let route = list(table?, "routes")
            .iter()
            .find(|r| r.get("cidr_block").and_then(Value::as_str) == Some("0.0.0.0/0"))?;
        let to_gateway = route.get("gateway_id").map(|g| {
            refers(self.resources, Some(g)).is_some_and(|a| a.ty == "internet_gateway")
                || g.as_str().is_some_and(|s| s.starts_with("igw-"))
        });
        Some(if to_gateway == Some(true) {
            Out::InternetGateway
        } else if route.get("nat_gateway_id").is_some() {
            Out::Nat
        } else {
            Out::Elsewhere
        })
    }

    /// Whether a subnet of the stack, in a VPC of the stack, has a default
    /// route to an internet gateway; `None` when its VPC is not the stack's
    /// (its main table may have one).
    fn public(&self, subnet: &Resource) -> Option<bool> {
        self.vpc(subnet)?;
        Some(self.default_route(self.table(&subnet.address)) == Some(Out::InternetGateway))
    }
}

/// Every finding over the stack's network.
pub fn check(resources: &Resources) -> Vec<Finding> {
    let net = Net { resources };
    let mut out = Vec::new();
    for lb in of_type(resources, "load_balancer") {
        load_balancer(&net, lb, &mut out);
    }
    for ng in of_type(resources, "eks_nodegroup") {
        nodegroup(&net, ng, &mut out);
    }
    for nat in of_type(resources, "nat_gateway") {
        if text(nat, "connectivity_type") == Some("private") {
            continue;
        }
        let Some(subnet) = net.subnets(list_of(nat, "subnet_id")).and_then(|s| s.first().copied())
        else {
            continue;
        };
        if net.public(subnet) == Some(false) {
            out.push(Finding {
                address: nat.address.clone(),
                pointer: "/subnet_id".into(),
                error: false,
                lint: Some(crate::types::lint::Lint::NatWithoutRoute),
                message: format!(
                    "public NAT gateway in {}, which has no route to an internet gateway: nothing it forwards gets out",
                    subnet.address
                ),
                hint: "put it in a public subnet: one whose route table sends 0.0.0.0/0 to the internet gateway".into(),
            });
        }
    }
    for e in of_type(resources, "vpc_endpoint") {
        endpoint_dns(&net, e, &mut out);
    }
    subnet_ranges(&net, &mut out);
    out
}

/// A CIDR attribute written out in full (no reference left).
fn cidr(r: &Resource, key: &str) -> Option<ipnet::Ipv4Net> {
    text(r, key).filter(|t| !t.contains("${"))?.parse().ok()
}

/// Subnets AWS refuses by their range: outside their VPC's
/// (`InvalidSubnet.Range`), or overlapping another subnet of the VPC
/// (`InvalidSubnet.Conflict`).
fn subnet_ranges(net: &Net, out: &mut Vec<Finding>) {
    let subnets: Vec<(&Resource, ipnet::Ipv4Net, &Resource)> = of_type(net.resources, "subnet")
        .filter_map(|s| Some((s, cidr(s, "cidr_block")?, net.vpc(s)?)))
        .collect();
    for (i, (s, range, vpc)) in subnets.iter().enumerate() {
        if let Some(vpc_range) = cidr(vpc, "cidr_block")
            && !vpc_range.contains(range)
        {
            out.push(Finding {
                address: s.address.clone(),
                pointer: "/cidr_block".into(),
                error: true,
                lint: None,
                message: format!(
                    "{range} is not inside {}'s {vpc_range}: AWS refuses it (InvalidSubnet.Range)",
                    vpc.address
                ),
                hint: format!("give the subnet a range within {vpc_range}"),
            });
            continue;
        }
        if let Some((other, _, _)) = subnets[..i]
            .iter()
            .find(|(_, r, v)| v.address == vpc.address && (r.contains(range) || range.contains(r)))
        {
            out.push(Finding {
                address: s.address.clone(),
                pointer: "/cidr_block".into(),
                error: true,
                lint: None,
                message: format!(
                    "{range} overlaps {}'s range in the same VPC: AWS refuses it (InvalidSubnet.Conflict)",
                    other.address
                ),
                hint: "give each subnet of a VPC its own range".into(),
            });
        }
    }
}

/// A one-value attribute as a list of one.
fn list_of<'a>(r: &'a Resource, key: &str) -> &'a [Value] {
    r.attrs.get(key).map_or(&[], std::slice::from_ref)
}

fn load_balancer(net: &Net, lb: &Resource, out: &mut Vec<Finding>) {
    // Its one warning is the lint `lb-without-route`.
    let at = |pointer: &str, error: bool, message: String, hint: &str| Finding {
        address: lb.address.clone(),
        pointer: pointer.into(),
        error,
        lint: (!error).then_some(crate::types::lint::Lint::LbWithoutRoute),
        message,
        hint: hint.into(),
    };
    let values = list(lb, "subnets");
    if values.len() < 2 {
        out.push(at(
            "/subnets",
            true,
            "an Application Load Balancer needs subnets in at least two availability zones".into(),
            "list one subnet in each of two or more zones",
        ));
    }
    let Some(subnets) = net.subnets(values) else {
        return;
    };
    let zones: Option<Vec<(&str, &Address)>> = subnets
        .iter()
        .map(|s| {
            text(s, "availability_zone").filter(|z| !z.contains("${")).map(|z| (z, &s.address))
        })
        .collect();
    if let Some(zones) = zones {
        let seen: BTreeSet<&str> = zones.iter().map(|(z, _)| *z).collect();
        let mut first: BTreeMap<&str, &Address> = BTreeMap::new();
        for (zone, subnet) in &zones {
            if let Some(first) = first.insert(zone, subnet)
                && seen.len() >= 2
            {
                out.push(at(
                    "/subnets",
                    true,
                    format!(
                        "{first} and {subnet} are both in {zone}: AWS takes one subnet per zone"
                    ),
                    "keep one subnet of each availability zone",
                ));
            }
        }
        if values.len() >= 2 && seen.len() < 2 {
            out.push(at(
                "/subnets",
                true,
                "an Application Load Balancer needs subnets in at least two availability zones"
                    .into(),
                "add a subnet in another zone",
            ));
        }
    }
    if text(lb, "scheme") == Some("internal") {
        return;
    }
    let vpcs: BTreeSet<&Address> =
        subnets.iter().filter_map(|s| net.vpc(s)).map(|v| &v.address).collect();
    for vpc in vpcs {
        if net.gateways(vpc).is_empty() {
            out.push(at(
                "/scheme",
                true,
                format!("internet-facing, and {vpc} has no internet gateway: AWS refuses it (InvalidSubnet)"),
                "add an internet_gateway with vpc_id: ${vpc.NAME.id}, or set scheme: internal",
            ));
            return;
        }
    }
    let private: Vec<String> = subnets
        .iter()
        .filter(|s| net.public(s) == Some(false))
        .map(|s| s.address.to_string())
        .collect();
    if !private.is_empty() {
        out.push(at(
            "/subnets",
            false,
            format!(
                "internet-facing in {} with no route to the internet gateway: no one outside reaches it",
                private.join(", ")
            ),
            "associate these subnets with a route_table that sends 0.0.0.0/0 to the internet gateway",
        ));
    }
}

fn nodegroup(net: &Net, ng: &Resource, out: &mut Vec<Finding>) {
    let Some(subnets) = net.subnets(list(ng, "subnet_ids")) else {
        return;
    };
    let mut stuck = Vec::new();
    let mut missing = BTreeSet::new();
    for subnet in subnets {
        let Some(vpc) = net.vpc(subnet) else {
            continue;
        };
        let table = net.table(&subnet.address);
        let public_ip = subnet.attrs.get("map_public_ip_on_launch") == Some(&Value::Bool(true));
        match net.default_route(table) {
            Some(Out::Nat | Out::Elsewhere) => continue,
            Some(Out::InternetGateway) if public_ip => continue,
            _ => {}
        }
        let lacking: Vec<&str> = NODE_ENDPOINTS
            .iter()
            .filter(|(service, kind)| {
                !of_type(net.resources, "vpc_endpoint").any(|e| {
                    net.vpc(e).is_some_and(|v| v.address == vpc.address)
                        && text(e, "service_name")
                            .is_some_and(|n| n.ends_with(&format!(".{service}")))
                        && text(e, "vpc_endpoint_type").unwrap_or("Gateway") == *kind
                        && (*kind == "Interface"
                            || table.is_some_and(|t| {
                                list(e, "route_table_ids").iter().any(|v| {
                                    refers(net.resources, Some(v)).as_ref() == Some(&t.address)
                                })
                            }))
                })
            })
            .map(|(service, _)| *service)
            .collect();
        if !lacking.is_empty() {
            stuck.push(subnet.address.to_string());
            missing.extend(lacking);
        }
    }
    if !stuck.is_empty() {
        out.push(Finding {
            address: ng.address.clone(),
            pointer: "/subnet_ids".into(),
            error: false,
            lint: Some(crate::types::lint::Lint::NodesWithoutRouteOut),
            message: format!(
                "nodes in {} have no route out (no NAT gateway route) and no endpoint for {}: they cannot pull images or join the cluster (NodeCreationFailure)",
                stuck.join(", "),
                missing.into_iter().collect::<Vec<_>>().join(", ")
            ),
            hint: "give these subnets a route_table with 0.0.0.0/0 to a nat_gateway, or add vpc_endpoints for ecr.api, ecr.dkr and sts (Interface) and s3 (Gateway, on their route table)".into(),
        });
    }
}

fn endpoint_dns(net: &Net, e: &Resource, out: &mut Vec<Finding>) {
    if text(e, "vpc_endpoint_type") != Some("Interface")
        || e.attrs.get("private_dns_enabled") == Some(&Value::Bool(false))
    {
        return;
    }
    let Some(vpc) = net.vpc(e) else {
        return;
    };
    let off: Vec<&str> = ["enable_dns_support", "enable_dns_hostnames"]
        .into_iter()
        .filter(|k| vpc.attrs.get(*k) == Some(&Value::Bool(false)))
        .collect();
    if !off.is_empty() {
        out.push(Finding {
            address: e.address.clone(),
            pointer: "/private_dns_enabled".into(),
            error: false,
            lint: Some(crate::types::lint::Lint::EndpointPrivateDns),
            message: format!(
                "private DNS in {}, which has {} off: AWS refuses the endpoint's private DNS",
                vpc.address,
                off.join(" and ")
            ),
            hint: format!(
                "set {} on {}, or private_dns_enabled: false",
                off.iter().map(|k| format!("{k}: true")).collect::<Vec<_>>().join(" and "),
                vpc.address
            ),
        });
    }
}

/// Dependencies AWS needs that no reference carries: an internet-facing load
/// balancer and a public NAT gateway wait for their VPC's internet gateway
/// (AWS refuses them before it is attached, and it cannot be detached while
/// they hold public addresses); a node group waits for the route tables of its
/// subnets and the endpoints of its VPC (nodes that start with no way out
/// never join). `(dependent, dependency)`; none that would close a cycle.
pub fn implied(resources: &Resources) -> Vec<(Address, Address)> {
    let net = Net { resources };
    let mut edges = Vec::new();
    for r in resources.values() {
        let subnets = match (r.address.ty.as_str(), text(r, "scheme"), text(r, "connectivity_type"))
        {
            ("load_balancer", Some("internal"), _) => continue,
            ("load_balancer", _, _) => net.subnets(list(r, "subnets")),
            ("nat_gateway", _, Some("private")) => continue,
            ("nat_gateway", _, _) => net.subnets(list_of(r, "subnet_id")),
            ("eks_nodegroup", _, _) => net.subnets(list(r, "subnet_ids")),
            _ => continue,
        };
        let Some(subnets) = subnets else { continue };
        let mut needs = BTreeSet::new();
        for subnet in subnets {
            let Some(vpc) = net.vpc(subnet) else { continue };
            if r.address.ty == "eks_nodegroup" {
                needs.extend(net.table(&subnet.address).map(|t| t.address.clone()));
                needs.extend(
                    of_type(resources, "vpc_endpoint")
                        .filter(|e| net.vpc(e).is_some_and(|v| v.address == vpc.address))
                        .map(|e| e.address.clone()),
                );
            } else {
                needs.extend(net.gateways(&vpc.address).iter().map(|g| g.address.clone()));
            }
        }
        for need in needs {
            if !r.dependencies().contains(&need) && !reaches(resources, &need, &r.address) {
                edges.push((r.address.clone(), need));
            }
        }
    }
    edges
}

/// Whether `from` depends, directly or not, on `to`.
fn reaches(resources: &Resources, from: &Address, to: &Address) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.clone()];
    while let Some(a) = todo.pop() {
        if &a == to {
            return true;
        }
        if seen.insert(a.clone())
            && let Some(r) = resources.get(&a)
        {
            todo.extend(r.dependencies());
        }
    }
    false
}
