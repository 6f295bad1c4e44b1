//! What a change touches beyond itself: the traffic each listener and rule
//! forwards, by target group, and what that traffic passes through; the
//! dependency edges among what changes, the plan's picture; and the ids and
//! ARNs state holds, by address, which name them. Pure.

use serde_json::Value;

use super::{Action, Change};
use crate::stack::graph::Graph;
use crate::types::Address;
use crate::types::state::State;

/// The resources that change.
fn changes_of(changes: &[Change]) -> std::collections::BTreeSet<Address> {
    changes.iter().filter(|c| c.action != Action::NoOp).map(|c| c.address.clone()).collect()
}

/// The dependency edges among what changes: the stack's graph where it has
/// both ends, else what state recorded (what is deleted).
pub(super) fn edges(
    graph: Option<&Graph>,
    state: &State,
    changes: &[Change],
) -> Vec<(Address, Address)> {
    let changing = changes_of(changes);
    let mut out: std::collections::BTreeSet<(Address, Address)> = Default::default();
    for (a, b) in graph.map(Graph::edges).unwrap_or_default() {
        if changing.contains(&a) && changing.contains(&b) {
            out.insert((a, b));
        }
    }
    for (a, r) in state.resources.iter().filter(|(a, _)| changing.contains(*a)) {
        let in_graph =
            graph.is_some_and(|g| g.contains(&(a.clone(), crate::stack::graph::Part::Main)));
        for d in r.dependencies.iter().chain(&r.rule_dependencies) {
            if !in_graph && changing.contains(d) && d != a {
                out.insert((d.clone(), a.clone()));
            }
        }
    }
    out.into_iter().collect()
}

/// The target groups each listener and rule forwards to with weight, and
/// their shares, as state recorded the weights in force.
pub(super) fn carried(state: &State) -> Vec<super::Carried> {
    let names = labels(state);
    let mut out = Vec::new();
    for (a, r) in &state.resources {
        // The types that forward by weight (listeners and their rules).
        if crate::types::schema(&a.ty).and_then(|s| s.forward_by_hand).is_none() {
            continue;
        }
        let weights = super::rollout::weights(r.attributes.get("forward"));
        let through = through(state, a);
        for arn in weights.keys() {
            let share = super::rollout::share(&weights, arn);
            if share > 0 {
                let group = names.get(arn).cloned().unwrap_or_else(|| arn.clone());
                let through = through.clone();
                out.push(super::Carried { group, by: a.clone(), share, through });
            }
        }
    }
    out
}

/// What the traffic a listener or rule (`by`) forwards passes through, as
/// state recorded it: up from a rule to its listener (`listener_arn`) and to
/// the load balancer (`load_balancer_arn`), its security groups
/// (`security_groups`), then what opens those groups or lets them in to the
/// targets (a rule on one, `security_group_id`; a rule or a group's ingress
/// whose `source_security_group` is one).
fn through(state: &State, by: &Address) -> Vec<Address> {
    let mut by_id: std::collections::BTreeMap<&str, &Address> = Default::default();
    for (a, r) in &state.resources {
        by_id.insert(r.id.as_str(), a);
        if let Some(arn) = r.attributes.get("arn").and_then(Value::as_str) {
            by_id.insert(arn, a);
        }
    }
    let attr = |a: &Address, k: &str| state.resources.get(a).and_then(|r| r.attributes.get(k));
    let mut out: Vec<Address> = Vec::new();
    let mut at = by.clone();
    for k in ["listener_arn", "load_balancer_arn"] {
        if let Some(next) = attr(&at, k).and_then(Value::as_str).and_then(|v| by_id.get(v)) {
            out.push((*next).clone());
            at = (*next).clone();
        }
    }
    let groups: Vec<&str> = attr(&at, "security_groups")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.extend(groups.iter().filter_map(|g| by_id.get(g)).map(|a| (*a).clone()));
    let names_one =
        |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| groups.contains(&s));
    for (a, r) in &state.resources {
        let at = |k: &str| r.attributes.get(k);
        let lets_in = at("ingress").and_then(Value::as_array).is_some_and(|rules| {
            rules.iter().any(|rule| names_one(rule.get("source_security_group")))
        });
        if names_one(at("security_group_id")) || names_one(at("source_security_group")) || lets_in {
            out.push(a.clone());
        }
    }
    out.retain(|a| a != by);
    out.sort();
    out.dedup();
    out
}

/// Ids and ARNs of what the state holds, by address.
pub(super) fn labels(state: &State) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for (a, r) in &state.resources {
        out.insert(r.id.clone(), a.to_string());
        if let Some(arn) = r.attributes.get("arn").and_then(Value::as_str) {
            out.insert(arn.to_string(), a.to_string());
        }
    }
    out
}
