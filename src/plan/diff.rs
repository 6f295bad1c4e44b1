//! Desired against observed, attribute by attribute.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Action, Change, Observed, Plan};
use crate::stack::Stack;
use crate::stack::graph::Graph;
use crate::types::attrs::values_equal;
use crate::types::reference::{self, Reference};
use crate::types::schema::TypeSchema;
use crate::types::state::State;
use crate::types::{Address, Operation};

/// Plans the stack against what the refresh observed. Resources in state but gone
/// from AWS are planned for creation again; resources in state but gone from the
/// file are deleted.
pub fn plan(stack: &Stack, graph: &Graph, state: &State, observed: &Observed) -> Plan {
    plan_with(stack, graph, state, observed, true)
}

/// `plan`; without `noop_sides`, a no-op change keeps neither side (a text plan
/// shows no no-ops, and a large plan's memory is mostly those sides).
pub fn plan_with(
    stack: &Stack,
    graph: &Graph,
    state: &State,
    observed: &Observed,
    noop_sides: bool,
) -> Plan {
    let values = referenced(stack, graph, state, observed);
    let mut changes = Vec::new();
    let mut problems = Vec::new();
    let mut ledger = crate::cost::Ledger::new(&stack.region);
    for (address, resource) in &stack.resources {
        let seen = observed.get(address).and_then(Option::as_ref);
        let (after, removed) = desired_of(resource, state.resources.get(address), &values, seen);
        let change = match observed.get(address).cloned().flatten() {
            None => {
                ledger.add(address, None, Some(&after));
                Change {
                    address: address.clone(),
                    action: Action::Create,
                    before: None,
                    after: Some(after),
                    changed: Vec::new(),
                    replace_because: Vec::new(),
                    reason: state
                        .resources
                        .get(address)
                        .map(|_| "it was deleted outside infra".to_string()),
                    deposed: false,
                    pending: pending(state, address),
                    rollout: None,
                }
            }
            Some(before) => {
                let seen = Seen { address, schema: resource.schema, state, removed: &removed };
                seen.change(before, after, noop_sides, &mut ledger, &mut problems)
            }
        };
        changes.push(change);
    }
    changes.extend(deposed(state));
    for c in changes.iter_mut().filter(|c| !c.deposed) {
        c.pending = pending(state, &c.address);
    }
    for (address, _) in state.resources.iter().filter(|(a, _)| !stack.resources.contains_key(a)) {
        if let Some(Some(before)) = observed.get(address) {
            ledger.add(address, Some(before), None);
            changes.push(delete(address, before, "it is no longer in the stack file"));
        }
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    let (blocked, mut notices) = rollout_records(state, &changes);
    problems.extend(blocked);
    let (refused, skew) = super::eks::node_versions(stack, &changes, observed);
    problems.extend(refused);
    notices.extend(skew);
    notices.extend(failed(state));
    notices.extend(foreign(stack, observed));
    // What the stack accepts, and why: silent at validate, said here.
    notices.extend(stack.accepted.iter().map(|a| super::Notice {
        address: a.address.clone(),
        message: format!("lint `{}` accepted: {} (it says: {})", a.lint, a.reason, a.message),
    }));
    let edges = super::traffic::edges(Some(graph), state, &changes);
    Plan {
        stack: stack.name.clone(),
        serial: state.serial,
        changes,
        outputs: outputs(stack, &values),
        labels: super::traffic::labels(state),
        problems,
        drift: ignored_marked(drift(state, observed), stack),
        recovered: Vec::new(),
        cutover: Vec::new(),
        notices,
        sensitive: super::sensitive_marks(Some(stack), state),
        environment: stack.env.clone(),
        lookups: Vec::new(),
        moves: Vec::new(),
        cost: Some(ledger.finish()),
        traffic: super::traffic::carried(state),
        edges,
    }
}

/// What the stack asks of each resource, its references resolved against
/// what exists (`observed`) and in canonical form: each change's `after`,
/// without the plan.
pub fn desired(
    stack: &Stack,
    graph: &Graph,
    state: &State,
    observed: &Observed,
) -> std::collections::BTreeMap<Address, Map<String, Value>> {
    let values = referenced(stack, graph, state, observed);
    stack
        .resources
        .iter()
        .map(|(a, r)| {
            let seen = observed.get(a).and_then(Option::as_ref);
            (a.clone(), desired_of(r, state.resources.get(a), &values, seen).0)
        })
        .collect()
}

/// The values other resources reference, by resource. They depend only on
/// the main attributes (deferred ones never force a replacement), so rules
/// that reference a group created later still resolve. Only what something
/// references is kept of them.
fn referenced(
    stack: &Stack,
    graph: &Graph,
    state: &State,
    observed: &Observed,
) -> HashMap<Address, Map<String, Value>> {
    let mut wanted: HashMap<Address, std::collections::HashSet<String>> = HashMap::new();
    let referenced =
        stack.resources.values().flat_map(|r| r.attrs.values()).chain(stack.outputs.values());
    for v in referenced {
        for r in reference::references(v) {
            wanted.entry(r.address).or_default().insert(r.attr);
        }
    }
    let mut values: HashMap<Address, Map<String, Value>> = HashMap::new();
    let none = std::collections::HashSet::new();
    for address in graph.creation_order() {
        let resource = &stack.resources[&address];
        let keep = wanted.get(&address).unwrap_or(&none);
        if keep.is_empty() {
            // What nothing references keeps nothing: no need to work it out.
            values.insert(address, Map::new());
            continue;
        }
        let mut main = resource.attrs.clone();
        main.retain(|k, _| !resource.schema.attr(k).is_some_and(|a| a.deferred));
        let mut after = resolve_map(main, &values);
        ignoring(resource, &mut after, observed.get(&address).and_then(Option::as_ref));
        let mut v = Map::new();
        if let Some(Some(before)) = observed.get(&address) {
            // Compared as a plan compares them (`Seen::change`).
            let seen = as_compared(resource.schema, before.clone(), state, &address);
            let mut asked = after.clone();
            if let Some(canonical) = resource.schema.canonical {
                canonical(&mut asked);
            }
            let (changed, replace_because) = assess(resource.schema, &seen, &asked);
            // What exists stands, unless it is replaced or changes what it exports.
            if replace_because.is_empty() {
                for (k, x) in before.iter().filter(|(k, _)| keep.contains(*k)) {
                    let exported_change = !changed.is_empty()
                        && resource.schema.changes_on_update.contains(&k.as_str());
                    if !exported_change {
                        v.insert(k.clone(), x.clone());
                    }
                }
            }
        }
        v.extend(
            known(&after)
                .into_iter()
                .filter(|(k, _)| keep.contains(k))
                .map(|(k, t)| (k, reference::value_of(&t))),
        );
        values.insert(address, v);
    }
    values
}

/// What the stack asks of the attributes a resource ignores
/// (`ignore_changes`), once it exists: what it holds (`seen`).
fn ignoring(
    resource: &crate::stack::Resource,
    after: &mut Map<String, Value>,
    seen: Option<&Map<String, Value>>,
) {
    if let Some(seen) = seen {
        for path in &resource.ignore_changes {
            path.take(after, seen);
        }
    }
}

/// What a refresh read of a resource, as a plan compares it with what the
/// stack asks: what AWS does not report taken as recorded, in the type's
/// canonical form.
fn as_compared(
    schema: &TypeSchema,
    mut before: Map<String, Value>,
    state: &State,
    address: &Address,
) -> Map<String, Value> {
    if let Some(s) = state.resources.get(address) {
        schema.keep_local(&mut before, &s.attributes);
    }
    if let Some(canonical) = schema.canonical {
        canonical(&mut before);
    }
    before
}

/// What the stack asks of one resource, resolved and canonical, and what it
/// set at the last apply and sets no more: removed (`null`) or put back to
/// AWS's default.
fn desired_of(
    resource: &crate::stack::Resource,
    recorded: Option<&crate::types::state::ResourceState>,
    values: &HashMap<Address, Map<String, Value>>,
    seen: Option<&Map<String, Value>>,
) -> (Map<String, Value>, Vec<(String, Value)>) {
    let removed = super::removals(resource, recorded);
    let mut desired = resource.attrs.clone();
    desired.extend(removed.iter().cloned());
    // Plans hold both sides in canonical form (a trust policy from its
    // shorthand, documents normalised), so that what they show is what differs.
    let mut after = resolve_map(desired, values);
    ignoring(resource, &mut after, seen);
    if let Some(canonical) = resource.schema.canonical {
        canonical(&mut after);
    }
    (after, removed)
}

/// A resource the refresh found, to be compared with what the stack asks.
struct Seen<'a> {
    address: &'a Address,
    schema: &'static TypeSchema,
    state: &'a State,
    removed: &'a [(String, Value)],
}

impl Seen<'_> {
    /// The change from what exists (`before`) to what the stack asks.
    /// Its cost before and after goes in the ledger, and what AWS cannot
    /// do of it in `problems`.
    fn change(
        &self,
        before: Map<String, Value>,
        after: Map<String, Value>,
        noop_sides: bool,
        ledger: &mut crate::cost::Ledger,
        problems: &mut Vec<String>,
    ) -> Change {
        let (address, schema, state) = (self.address, self.schema, self.state);
        let before = as_compared(schema, before, state, address);
        let (changed, replace_because) = assess(schema, &before, &after);
        ledger.add(address, Some(&before), Some(&after));
        if let Some(check) = schema.plan_check
            && let Some(why) = check(&before, &after)
        {
            problems.push(format!("{address}: {why}"));
        }
        let before_destroy = schema.create_before_destroy.is_some_and(|applies| applies(&after));
        let action = if !replace_because.is_empty() && before_destroy {
            Action::CreateThenDelete
        } else if !replace_because.is_empty() {
            Action::DeleteThenCreate
        } else if !changed.is_empty() {
            Action::Update
        } else {
            Action::NoOp
        };
        let sides = noop_sides || action != Action::NoOp;
        let rollout = match action {
            Action::Update => rollout_view(state, address, &before, &after),
            _ => None,
        };
        let impact = schema
            .impact
            .filter(|_| action != Action::NoOp)
            .and_then(|f| f(&before, &after, &changed, !replace_because.is_empty()))
            // A replaced one is deleted: what that means, where the type says.
            .or_else(|| {
                schema.deletion.filter(|_| !replace_because.is_empty()).map(|says| says(&before))
            });
        // What changes for it: itself, or what the canonical form
        // makes of it (a shorthand's expansion).
        let mut dropped: Vec<&str> = self
            .removed
            .iter()
            .filter(|(k, _)| changed.contains(k) || (!changed.is_empty() && !after.contains_key(k)))
            .map(|(k, _)| k.as_str())
            .collect();
        dropped.sort_unstable();
        let dropped = (!dropped.is_empty())
            .then(|| format!("no longer set in the stack file: {}", dropped.join(", ")));
        Change {
            address: address.clone(),
            action,
            reason: rollout
                .as_ref()
                .and_then(|r| r.resumes.clone())
                .map(|r| format!("rollout {r}; this apply goes on from there"))
                .or(impact)
                .or(dropped),
            before: sides.then_some(before),
            after: sides.then_some(after),
            changed,
            replace_because,
            deposed: false,
            pending: pending(state, address),
            rollout,
        }
    }
}

/// The stack's outputs, from the values resources export. An output of a
/// sensitive value is never kept, even in a saved plan.
fn outputs(
    stack: &Stack,
    values: &HashMap<Address, Map<String, Value>>,
) -> std::collections::BTreeMap<String, Value> {
    let lookup = |r: &Reference| values.get(&r.address).and_then(|m| m.get(&r.attr)).cloned();
    stack
        .outputs
        .iter()
        .map(|(k, v)| {
            match crate::stack::refers_to_sensitive(v) || stack.sensitive_outputs.contains(k) {
                true => (k.clone(), Value::String("(sensitive)".into())),
                false => (k.clone(), reference::resolve(v, &lookup)),
            }
        })
        .map(|(k, t)| match reference::is_known(&t) {
            true => (k, reference::value_of(&t)),
            false => (k, t),
        })
        .collect()
}

/// What AWS reports differently from what the last apply recorded.
pub(super) fn drift(state: &State, observed: &Observed) -> Vec<super::Drift> {
    let mut out = Vec::new();
    for (address, r) in &state.resources {
        let Some(seen) = observed.get(address) else {
            continue;
        };
        let Some(seen) = seen else {
            out.push(super::Drift {
                address: address.clone(),
                deleted: true,
                attributes: Vec::new(),
                values: Vec::new(),
            });
            continue;
        };
        let Some(schema) = crate::types::schema(&r.ty) else {
            continue;
        };
        // Both sides in the type's canonical form, as a plan compares them,
        // what AWS does not report taken as recorded.
        let (mut was, mut seen) = (r.attributes.clone(), seen.clone());
        schema.keep_local(&mut seen, &r.attributes);
        if let Some(canonical) = schema.canonical {
            canonical(&mut was);
            canonical(&mut seen);
        }
        let attributes: Vec<String> = schema
            .attrs
            .iter()
            .filter(|a| !a.local && !a.no_diff)
            .map(|a| a.name)
            .chain(schema.taggable.then_some("tags"))
            .filter(|k| match (was.get(*k), seen.get(*k)) {
                (Some(was), Some(now)) => !values_equal(schema.attr(k).map(|a| &a.kind), was, now),
                _ => false,
            })
            .map(str::to_string)
            .collect();
        if !attributes.is_empty() {
            let values = attributes
                .iter()
                .map(|k| super::DriftValue {
                    attribute: k.clone(),
                    was: was.get(k).cloned().unwrap_or(Value::Null),
                    now: seen.get(k).cloned().unwrap_or(Value::Null),
                    ignored: false,
                })
                .collect();
            out.push(super::Drift { address: address.clone(), deleted: false, attributes, values });
        }
    }
    out
}

/// Drift with each value marked where all of its change is in paths its
/// resource ignores (`ignore_changes`).
pub(super) fn ignored_marked(mut drift: Vec<super::Drift>, stack: &Stack) -> Vec<super::Drift> {
    for d in &mut drift {
        let Some(resource) = stack.resources.get(&d.address) else { continue };
        for v in &mut d.values {
            let paths: Vec<_> =
                resource.ignore_changes.iter().filter(|p| p.attribute() == v.attribute).collect();
            if paths.is_empty() {
                continue;
            }
            let wrap = |x: &Value| Map::from_iter([(v.attribute.clone(), x.clone())]);
            let (mut was, now) = (wrap(&v.was), wrap(&v.now));
            for p in paths {
                p.take(&mut was, &now);
            }
            let kind = resource.schema.attr(&v.attribute).map(|a| &a.kind);
            v.ignored = match (was.get(&v.attribute), now.get(&v.attribute)) {
                (Some(a), Some(b)) => values_equal(kind, a, b),
                (a, b) => a == b,
            };
        }
    }
    drift
}

/// Deletes of the objects that interrupted create-before-destroy replacements left.
fn deposed(state: &State) -> Vec<Change> {
    state
        .resources
        .iter()
        .flat_map(|(a, r)| {
            r.deposed.iter().map(move |d| {
                let mut c = delete(a, &d.attributes, "the object a replacement left behind");
                c.deposed = true;
                c
            })
        })
        .collect()
}

/// Deletes everything in state that still exists.
pub fn plan_destroy(state: &State, observed: &Observed) -> Plan {
    let mut ledger = crate::cost::Ledger::new(state.region.as_deref().unwrap_or_default());
    let mut changes: Vec<Change> = state
        .resources
        .keys()
        .filter_map(|a| match observed.get(a) {
            Some(Some(before)) => {
                ledger.add(a, Some(before), None);
                Some(delete(a, before, "destroy"))
            }
            _ => None,
        })
        .collect();
    changes.extend(deposed(state));
    for c in changes.iter_mut().filter(|c| !c.deposed) {
        c.pending = pending(state, &c.address);
    }
    let edges = super::traffic::edges(None, state, &changes);
    Plan {
        stack: state.stack.clone(),
        serial: state.serial,
        changes,
        outputs: Default::default(),
        labels: super::traffic::labels(state),
        problems: Vec::new(),
        drift: drift(state, observed),
        recovered: Vec::new(),
        cutover: Vec::new(),
        notices: Vec::new(),
        sensitive: super::sensitive_marks(None, state),
        environment: None,
        lookups: Vec::new(),
        moves: Vec::new(),
        cost: Some(ledger.finish()),
        traffic: super::traffic::carried(state),
        edges,
    }
}

fn delete(address: &Address, before: &Map<String, Value>, why: &str) -> Change {
    Change {
        address: address.clone(),
        action: Action::Delete,
        before: Some(before.clone()),
        after: None,
        changed: Vec::new(),
        replace_because: Vec::new(),
        reason: {
            // What the type says deleting one means (a KMS key's waiting period).
            let deletion =
                crate::types::schema(&address.ty).and_then(|s| s.deletion).map(|says| says(before));
            let why = (why != "destroy").then(|| why.to_string());
            match (why, deletion) {
                (Some(w), Some(d)) => Some(format!("{w}; {d}")),
                (w, d) => w.or(d),
            }
        },
        deposed: false,
        pending: None,
        rollout: None,
    }
}

/// How a weight change will be rolled out: the shares of its steps, from the
/// origin of an earlier rollout to the same weights that stopped part of the
/// way (it goes on from there), else from the weights in force.
fn rollout_view(
    state: &State,
    address: &Address,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Option<super::RolloutView> {
    use super::rollout;
    let settings = rollout::Settings::read(after.get("rollout")?);
    let in_force = rollout::weights(before.get("forward"));
    let to = rollout::weights(after.get("forward"));
    if in_force.is_empty() || to.is_empty() || rollout::gaining(&in_force, &to).is_empty() {
        return None;
    }
    let earlier = state
        .resources
        .get(address)
        .and_then(|r| r.rollout.as_ref())
        .filter(|r| r.unfinished() && r.to == to && r.from != in_force);
    let origin = earlier.map_or_else(|| in_force.clone(), |r| r.from.clone());
    let schedule = rollout::schedule(&origin, &to, &settings.steps);
    let gaining = rollout::gaining(&origin, &to);
    let first = rollout::resume_at(&schedule, &in_force, &gaining);
    Some(super::RolloutView {
        shares: schedule[first..].iter().map(|s| s.share).collect(),
        resumes: earlier.map(|r| r.stopped_at(schedule.len())),
        origin,
    })
}

/// What earlier rollouts left that a reviewer must know, from state: a revert
/// that failed or was cut short (`RolloutRecord::blocks`) while the weights are
/// not back at its origin is said, and any change moving those weights
/// anywhere but the origin is refused (a problem) until the record is
/// acknowledged; a bake cut short is said until acknowledged.
fn rollout_records(state: &State, changes: &[Change]) -> (Vec<String>, Vec<super::Notice>) {
    use super::rollout::weights;
    use crate::types::state::RolloutOutcome;
    let names = super::traffic::labels(state);
    let label = |w: &super::rollout::Weights| {
        w.iter()
            .map(|(arn, v)| format!("{} {v}", names.get(arn).map_or(arn.as_str(), String::as_str)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (mut problems, mut notices) = (Vec::new(), Vec::new());
    for (address, r) in &state.resources {
        let Some(rec) = &r.rollout else { continue };
        if rec.acknowledged.is_some() {
            continue;
        }
        let in_force = weights(r.attributes.get("forward"));
        match &rec.outcome {
            RolloutOutcome::Reverting(_) | RolloutOutcome::RevertFailed(_)
                if in_force != rec.from =>
            {
                notices.push(super::Notice {
                    address: address.clone(),
                    message: format!(
                        "its rollout's revert did not finish ({}): its weights are {}, not back at {}; nothing moves them forward until they are, or `infra rollout ack {address} STACK_FILE` acknowledges it",
                        rec.outcome,
                        label(&in_force),
                        label(&rec.from)
                    ),
                });
                let forward = changes.iter().find(|c| {
                    c.address == *address
                        && c.changed.iter().any(|k| k == "forward")
                        && c.after.as_ref().is_some_and(|a| weights(a.get("forward")) != rec.from)
                });
                if forward.is_some() {
                    problems.push(format!(
                        "{address}: its last rollout's revert did not finish ({}); no step forward is taken until its weights are back at the origin ({}): set its forward to those weights and apply (the revert), or run `infra rollout ack {address} STACK_FILE` once the weights are checked by hand",
                        rec.outcome,
                        label(&rec.from)
                    ));
                }
            }
            RolloutOutcome::InterruptedBaking { .. } if in_force == rec.to => {
                notices.push(super::Notice {
                    address: address.clone(),
                    message: format!(
                        "its rollout was {}: the weights ({}) are in force but were not watched to the end; watch its alarms, or `infra rollout ack {address} STACK_FILE` once satisfied",
                        rec.outcome,
                        label(&in_force)
                    ),
                });
            }
            _ => {}
        }
    }
    (problems, notices)
}

/// What this stack manages that carries another stack's owner tags (an
/// import that took it over): that stack's state may still hold it, and its
/// destroy would delete it. The apply puts this stack's tags on it.
fn foreign(stack: &Stack, observed: &Observed) -> Vec<super::Notice> {
    use crate::types::AttrsExt;
    use crate::types::stack_id::{owner_of, owner_said};
    let ours = stack.id();
    stack
        .resources
        .keys()
        .filter_map(|address| {
            let tags = observed.get(address)?.as_ref()?.string_map("tags");
            let owner = owner_of(&tags).filter(|o| *o != ours)?;
            Some(super::Notice {
                address: address.clone(),
                message: format!(
                    "it belongs to stack {owner} by its tags ({}): unless that stack's state no longer holds it, two states manage it and either's destroy deletes it; this apply puts this stack's tags on it",
                    owner_said(&tags)
                ),
            })
        })
        .collect()
}

/// The operation an earlier apply left unfinished for this resource.
/// Operations the last apply saw end in an error while AWS held them (a node
/// group update AWS reported failed): said until an apply finishes them.
fn failed(state: &State) -> Vec<super::Notice> {
    state
        .resources
        .iter()
        .filter_map(|(address, r)| {
            let p = r.pending.as_ref()?;
            let error = p.failed.as_ref()?;
            Some(super::Notice {
                address: address.clone(),
                message: format!(
                    "its {} (since {}) ended in an error: {error}; the next apply waits for it, then tries again",
                    p.operation, p.since
                ),
            })
        })
        .collect()
}

fn pending(state: &State, address: &Address) -> Option<Operation> {
    Some(state.resources.get(address)?.pending.as_ref()?.operation)
}

fn resolve_map(
    attrs: Map<String, Value>,
    values: &HashMap<Address, Map<String, Value>>,
) -> Map<String, Value> {
    let lookup = |r: &Reference| values.get(&r.address).and_then(|m| m.get(&r.attr)).cloned();
    match reference::resolve(&Value::Object(attrs), &lookup) {
        Value::Object(m) => m,
        _ => unreachable!("an object resolves to an object"),
    }
}

/// The attributes that differ, and those of them that force a replacement.
fn assess(
    schema: &TypeSchema,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> (Vec<String>, Vec<String>) {
    let changed = changed_attrs(schema, before, after);
    let replace_because =
        changed.iter().filter(|a| schema.attr(a).is_some_and(|a| a.force_new)).cloned().collect();
    (changed, replace_because)
}

/// The attributes of `after` that are known now.
fn known(after: &Map<String, Value>) -> Map<String, Value> {
    after
        .iter()
        .filter(|(_, v)| reference::is_known(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Desired attributes whose value differs from what was observed. An attribute the
/// stack leaves unset (and has no default) is not managed and never differs.
fn changed_attrs(
    schema: &TypeSchema,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<String> {
    let (mut before, mut after) = (before.clone(), after.clone());
    if let Some(canonical) = schema.canonical {
        canonical(&mut before);
        canonical(&mut after);
    }
    let mut out = Vec::new();
    for (name, want) in &after {
        if schema.attr(name).is_some_and(|a| a.no_diff) {
            continue;
        }
        let kind = schema.attr(name).map(|a| &a.kind);
        let differs = match before.get(name) {
            _ if !reference::is_known(want) => true,
            None => !want.is_null(),
            Some(have) => !values_equal(kind, have, &reference::value_of(want)),
        };
        if differs {
            out.push(name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drift_compares_both_sides_in_canonical_form() {
        let a = Address::new("listener", "http");
        let mut state = State::new("web");
        let forward = |w: i64| json!([{"target_group_arn": "arn:tg", "weight": w}]);
        state.resources.insert(
            a.clone(),
            crate::types::state::ResourceState {
                ty: "listener".into(),
                id: "arn:l".into(),
                attributes: crate::types::attrs::into_map(
                    json!({"forward": forward(100), "port": 80}),
                ),
                ..Default::default()
            },
        );
        let seen = crate::types::attrs::into_map(json!({"forward": forward(1), "port": 80}));
        let observed: Observed = [(a.clone(), Some(seen.clone()))].into_iter().collect();
        assert!(drift(&state, &observed).is_empty(), "one target's weight means nothing");
        let mut moved = seen;
        moved.insert("port".into(), json!(8080));
        let observed: Observed = [(a, Some(moved))].into_iter().collect();
        assert_eq!(drift(&state, &observed)[0].attributes, ["port"]);
    }
}
