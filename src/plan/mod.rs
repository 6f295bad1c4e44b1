//! The plan: what must change to make AWS match the stack. Pure: the refreshed
//! observations come in as data, a `Plan` goes out.

mod diff;
pub mod eks;
pub mod moves;
pub mod rollout;
pub mod runbook;
pub mod saved;
pub mod steps;
mod traffic;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::types::{Address, Operation};

pub use diff::{desired, plan, plan_destroy, plan_with};

/// What happens to one resource. A replacement says its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Replaced: deleted, then created (the default, as in Terraform).
    DeleteThenCreate,
    /// Replaced: the new one is created, what uses the old one moves over, then
    /// the old one is deleted (a target group in use; see `TypeSchema`).
    CreateThenDelete,
    Delete,
}

impl Action {
    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }
}

/// Which plan to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Make what exists match the stack.
    Apply,
    /// Delete everything in state.
    Destroy,
}

/// The attributes of one resource as read from AWS, or `None` where it is gone.
pub type Observed = BTreeMap<Address, Option<Map<String, Value>>>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub action: Action,
    /// As observed (refreshed); `None` for a create.
    pub before: Option<Map<String, Value>>,
    /// As desired, references resolved where their values are known; a string that
    /// still holds `${...}` is known only after apply. `None` for a delete.
    pub after: Option<Map<String, Value>>,
    /// Attributes whose values differ.
    pub changed: Vec<String>,
    /// The changed attributes that cannot change in place.
    pub replace_because: Vec<String>,
    /// Why, when it is not plain from the stack file.
    pub reason: Option<String>,
    /// This change deletes the object a create-before-destroy replacement left.
    pub deposed: bool,
    /// An operation an earlier apply started and did not see finish (`create`,
    /// `update`, `delete`): apply waits for it first.
    pub pending: Option<Operation>,
    /// How a weight change is rolled out, when a `rollout` governs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutView>,
}

/// A rollout as a plan shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutView {
    /// The traffic share of the target groups gaining weight after each step
    /// this apply takes.
    pub shares: Vec<i64>,
    /// The weights a revert goes back to: those before the rollout began.
    pub origin: rollout::Weights,
    /// An earlier rollout to these weights stopped part of the way:
    /// `interrupted at step 2 of 4 (50%)`; this apply goes on from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub stack: String,
    /// The state serial the plan was computed against.
    pub serial: u64,
    /// Sorted by address; no-ops included.
    pub changes: Vec<Change>,
    /// Output values, references resolved where known.
    pub outputs: BTreeMap<String, Value>,
    /// Addresses by the ids and ARNs of what the stack manages, so that renderers
    /// can say `target_group.eks` instead of an ARN.
    pub labels: BTreeMap<String, String>,
    /// Changes AWS cannot make, found against what exists; such a plan is refused.
    pub problems: Vec<String>,
    /// What changed outside the tool since the last apply.
    #[serde(default)]
    pub drift: Vec<Drift>,
    /// What an interrupted apply left half-done and how it was resolved before
    /// this plan (resources adopted, creates that never happened).
    #[serde(default)]
    pub recovered: Vec<String>,
    /// A runbook for each rollout the plan holds: what AWS said at plan time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cutover: Vec<Runbook>,
    /// What AWS said at plan time that a reviewer must look at (an add-on
    /// whose version the cluster's new Kubernetes version does not support).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// Where each resource holds a sensitive value (JSON pointers), as the
    /// stack says and as state recorded: every rendering shows `(sensitive)`
    /// there, whatever the value, and a saved plan seals it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sensitive: BTreeMap<Address, std::collections::BTreeSet<String>>,
    /// The target groups that carry traffic now, by the listeners and rules
    /// whose weights state recorded: what a change to one of them touches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic: Vec<Carried>,
    /// The dependency edges among the resources that change, each from
    /// what is depended on to what depends on it (the stack's graph; for
    /// what is deleted, what state recorded): the plan's picture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<(Address, Address)>,
    /// The environment planned (`--env`): the stack's name carries it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The lookups whose findings differ from what the last apply recorded
    /// (all of them before a first apply). Those unchanged are not shown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<LookupChange>,
    /// Records that move to another address (`moved:`): no change in AWS,
    /// state rewritten at apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<moves::Move>,
    /// What the stack costs a month before and after the plan, at on-demand
    /// prices (`None` with `--no-cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::Cost>,
}

/// A lookup that found something other than at the last apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookupChange {
    pub address: Address,
    /// What it found at the last apply; `None` when it was not recorded.
    pub before: Option<Map<String, Value>>,
    pub after: Map<String, Value>,
    /// The attributes that differ (all of them when there is no `before`).
    pub changed: Vec<String>,
}

/// The lookups whose findings differ from what state recorded at the last
/// apply, and labels for what they found (`data.target_group.ec2` for its
/// ARN), so that a plan names it.
pub fn lookups(
    found: &crate::stack::LookedUp,
    recorded: &BTreeMap<Address, Map<String, Value>>,
) -> (Vec<LookupChange>, BTreeMap<String, String>) {
    let mut changes = Vec::new();
    let mut labels = BTreeMap::new();
    for (address, after) in found {
        for key in ["arn", "id"] {
            if let Some(v) = after.get(key).and_then(Value::as_str) {
                labels.insert(v.to_string(), address.to_string());
            }
        }
        let before = recorded.get(address);
        if before == Some(after) {
            continue;
        }
        let changed = after
            .iter()
            .filter(|(k, v)| before.and_then(|b| b.get(*k)) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        changes.push(LookupChange {
            address: address.clone(),
            before: before.cloned(),
            after: after.clone(),
            changed,
        });
    }
    (changes, labels)
}

/// The attributes a stack resource sets, as state records them (`managed`).
pub fn managed(resource: &crate::stack::Resource) -> Vec<String> {
    resource.attrs.keys().cloned().collect()
}

/// What stopping to set an attribute does, for each the stack set at the
/// last apply (state's `managed`) and no longer sets: `null` where the
/// setting is removed in AWS, AWS's default where that is put back
/// (`schema::Removal`). Nothing for a state that did not record what was set.
pub fn removals(
    resource: &crate::stack::Resource,
    recorded: Option<&crate::types::state::ResourceState>,
) -> Vec<(String, Value)> {
    use crate::types::schema::Removal;
    let Some(managed) = recorded.and_then(|r| r.managed.as_ref()) else {
        return Vec::new();
    };
    managed
        .iter()
        .filter(|k| !resource.attrs.contains_key(*k))
        .filter_map(|k| {
            let value = match resource.schema.attr(k)?.removal? {
                Removal::Delete => Value::Null,
                Removal::Reset(json) => serde_json::from_str(json).ok()?,
                Removal::Keep => return None,
            };
            Some((k.clone(), value))
        })
        .collect()
}

/// What a plan shows for a sensitive value that changes, on its new side.
pub const CHANGED: &str = "(sensitive, changed)";

/// Where the resources hold a sensitive value: what the stack says, and what
/// state recorded (a mark stays while either has it).
pub fn sensitive_marks(
    stack: Option<&crate::stack::Stack>,
    state: &crate::types::state::State,
) -> BTreeMap<Address, std::collections::BTreeSet<String>> {
    let mut out: BTreeMap<Address, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (a, r) in stack.into_iter().flat_map(|s| s.resources.iter()) {
        if !r.sensitive.is_empty() {
            out.entry(a.clone()).or_default().extend(r.sensitive.iter().cloned());
        }
    }
    for (a, r) in &state.resources {
        if !r.sensitive.is_empty() {
            out.entry(a.clone()).or_default().extend(r.sensitive.iter().cloned());
        }
    }
    out
}

/// Applies `with` to every value the marks point at in one attribute's value
/// (the marks are of the resource's attributes: `/tags/api` reaches
/// `api` in the value of `tags`).
pub fn redact_attribute(
    attr: &str,
    value: &mut Value,
    marks: &std::collections::BTreeSet<String>,
    with: &impl Fn(&Value) -> Value,
) {
    let whole = format!("/{attr}");
    for m in marks {
        if *m == whole {
            *value = with(value);
            return;
        }
        if let Some(rest) = m.strip_prefix(&whole).filter(|r| r.starts_with('/'))
            && let Some(v) = value.pointer_mut(rest)
        {
            *v = with(v);
        }
    }
}

/// One finding read from AWS at plan time, about one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub address: Address,
    pub message: String,
}

/// What a reviewer needs before a cut-over, read from AWS when the plan was
/// made: the gate's alarms, the target groups' readiness, and the one command
/// that puts the weights back by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    pub address: Address,
    /// Each alarm and its state (`OK`, `ALARM`, `INSUFFICIENT_DATA`, or why it
    /// could not be read).
    pub alarms: Vec<(String, String)>,
    pub groups: Vec<Readiness>,
    /// The AWS CLI command that restores the weights in force now.
    pub revert: String,
}

/// A target group's share of one listener's (or rule's) traffic, as state
/// recorded its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// The target group's address (or its name, when not this stack's).
    pub group: String,
    /// The listener or rule forwarding to it.
    pub by: Address,
    /// Percent of what `by` forwards.
    pub share: i64,
    /// What else that traffic passes through on its way: the listener of a
    /// rule, the load balancer, its security groups, and the rules and
    /// groups that let it in to the targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through: Vec<Address>,
}

/// A target group before the cut-over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    pub group: String,
    /// Its traffic share now and after the apply, in percent.
    pub share_now: i64,
    pub share_after: i64,
    pub healthy: usize,
    pub targets: usize,
    /// Healthy and registered targets by availability zone, where known.
    pub zones: BTreeMap<String, (usize, usize)>,
    pub deregistration_delay_seconds: Option<i64>,
    /// `off`, or `lb_cookie for 86400 s`.
    pub stickiness: String,
}

/// A resource that AWS no longer has as the last apply left it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Drift {
    pub address: Address,
    /// Gone altogether.
    pub deleted: bool,
    /// Attributes whose value AWS reports differently from the last apply.
    pub attributes: Vec<String>,
    /// Each of them, as the last apply recorded it and as AWS reports it now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<DriftValue>,
}

/// One attribute changed outside infra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftValue {
    pub attribute: String,
    pub was: Value,
    pub now: Value,
    /// What changed is all in paths the stack ignores (`ignore_changes`): no
    /// plan will put it back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
}

impl Plan {
    /// A plan of no changes that carries only the drift: `infra drift`.
    pub fn drift_report(
        stack: &crate::stack::Stack,
        state: &crate::types::state::State,
        observed: &Observed,
        ignore: &[String],
    ) -> Plan {
        Plan {
            stack: state.stack.clone(),
            serial: state.serial,
            changes: Vec::new(),
            outputs: BTreeMap::new(),
            labels: traffic::labels(state),
            problems: Vec::new(),
            drift: diff::ignored_marked(drift(state, observed, ignore), stack),
            recovered: Vec::new(),
            cutover: Vec::new(),
            notices: Vec::new(),
            sensitive: sensitive_marks(Some(stack), state),
            environment: stack.env.clone(),
            lookups: Vec::new(),
            moves: Vec::new(),
            cost: None,
            traffic: Vec::new(),
            edges: Vec::new(),
        }
    }
}

/// The stack's outputs resolved against what state holds: those fully known,
/// each marked sensitive when it refers to a sensitive attribute or holds a
/// sensitive variable's value.
pub fn outputs(
    stack: &crate::stack::Stack,
    state: &crate::types::state::State,
) -> BTreeMap<String, crate::types::state::Output> {
    let lookup = |r: &crate::types::reference::Reference| {
        state.resources.get(&r.address).and_then(|s| s.attributes.get(&r.attr)).cloned()
    };
    stack
        .outputs
        .iter()
        .filter_map(|(name, v)| {
            let value = crate::types::reference::resolve(v, &lookup);
            if !crate::types::reference::is_known(&value) {
                return None;
            }
            let value = crate::types::reference::value_of(&value);
            let sensitive =
                crate::stack::refers_to_sensitive(v) || stack.sensitive_outputs.contains(name);
            Some((name.clone(), crate::types::state::Output { value, sensitive }))
        })
        .collect()
}

/// What AWS reports differently from what the last apply recorded, leaving out
/// what `ignore` names (`ADDRESS` or `ADDRESS.ATTR`).
pub fn drift(
    state: &crate::types::state::State,
    observed: &Observed,
    ignore: &[String],
) -> Vec<Drift> {
    let mut out = diff::drift(state, observed);
    for d in &mut out {
        let a = d.address.to_string();
        d.values.retain(|v| !ignore.contains(&format!("{a}.{}", v.attribute)));
        d.attributes.retain(|k| !ignore.contains(&format!("{a}.{k}")));
    }
    out.retain(|d| {
        !ignore.contains(&d.address.to_string()) && (d.deleted || !d.attributes.is_empty())
    });
    out
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

/// What state recorded, as if it had been observed: a plan without refresh.
pub fn as_recorded(state: &crate::types::state::State) -> Observed {
    state.resources.iter().map(|(a, r)| (a.clone(), Some(r.attributes.clone()))).collect()
}

/// The targets and everything they depend on in the stack, transitively.
pub fn target_closure(
    stack: &crate::stack::Stack,
    targets: &[Address],
) -> std::collections::BTreeSet<Address> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<Address> = targets.to_vec();
    while let Some(a) = todo.pop() {
        if !seen.insert(a.clone()) {
            continue;
        }
        if let Some(r) = stack.resources.get(&a) {
            todo.extend(r.main_references());
            todo.extend(r.deferred_references());
            todo.extend(r.depends_on.iter().cloned());
        }
    }
    seen
}

/// The targets and everything that depends on them, in the stack or as
/// state recorded, transitively: what a targeted destroy deletes (nothing
/// is left depending on what is gone).
pub fn dependents_closure(
    stack: &crate::stack::Stack,
    state: &crate::types::state::State,
    targets: &[Address],
) -> std::collections::BTreeSet<Address> {
    let mut seen: std::collections::BTreeSet<Address> = targets.iter().cloned().collect();
    loop {
        let before = seen.len();
        for (a, r) in &stack.resources {
            if r.dependencies().iter().any(|d| seen.contains(d)) {
                seen.insert(a.clone());
            }
        }
        for (a, r) in &state.resources {
            let deps = r.dependencies.iter().chain(&r.rule_dependencies);
            if deps.clone().any(|d| seen.contains(d)) {
                seen.insert(a.clone());
            }
        }
        if seen.len() == before {
            return seen;
        }
    }
}

impl Plan {
    /// Keeps only the changes (and drift) of these addresses: a targeted plan.
    pub fn retain(&mut self, only: &std::collections::BTreeSet<Address>) {
        self.changes.retain(|c| only.contains(&c.address));
        self.drift.retain(|d| only.contains(&d.address));
        if let Some(cost) = &mut self.cost {
            cost.retain(|a| only.iter().any(|o| o.to_string() == a));
        }
    }

    /// A replacement counts once in add and once in destroy.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for ch in &self.changes {
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    c.add += 1;
                    c.destroy += 1;
                }
                Action::Delete => c.destroy += 1,
                Action::NoOp => {}
            }
        }
        c
    }

    /// Whether apply has anything to do: a change, or a wait left by an earlier apply.
    pub fn has_changes(&self) -> bool {
        !self.moves.is_empty()
            || self.changes.iter().any(|c| c.action != Action::NoOp || c.pending.is_some())
    }

    /// Refuses deleting or replacing what the stack marks `prevent_destroy`.
    pub fn protect(&mut self, stack: &crate::stack::Stack) {
        for c in &self.changes {
            let protected = stack.resources.get(&c.address).is_some_and(|r| r.prevent_destroy);
            if protected && (c.action == Action::Delete || c.action.is_replace()) && !c.deposed {
                self.problems.push(format!(
                    "{} has prevent_destroy set, and this plan would {} it",
                    c.address,
                    if c.action == Action::Delete { "destroy" } else { "replace" }
                ));
            }
        }
    }

    /// The plan as it may be shown: every sensitive attribute's value replaced by
    /// `(sensitive)`. Renderers draw from this; the saved plan keeps the values.
    pub fn redacted(&self) -> Plan {
        self.redacted_where(|_| true)
    }

    /// `redacted`, with only the changes `keep` selects (a text plan shows no
    /// no-ops: copying them would double a large plan's memory for nothing).
    pub fn redacted_where(&self, keep: impl Fn(&Change) -> bool) -> Plan {
        let mut plan = Plan {
            stack: self.stack.clone(),
            serial: self.serial,
            changes: self.changes.iter().filter(|c| keep(c)).cloned().collect(),
            outputs: self.outputs.clone(),
            labels: self.labels.clone(),
            problems: self.problems.clone(),
            drift: self.drift.clone(),
            recovered: self.recovered.clone(),
            cutover: self.cutover.clone(),
            notices: self.notices.clone(),
            sensitive: self.sensitive.clone(),
            environment: self.environment.clone(),
            lookups: self.lookups.clone(),
            moves: self.moves.clone(),
            cost: self.cost.clone(),
            traffic: self.traffic.clone(),
            edges: self.edges.clone(),
        };
        // What is known shows as its value, what is not as a marker of its
        // own: no renderer tells them apart by parsing a value.
        use crate::types::reference::displayed;
        for c in &mut plan.changes {
            if let Some(after) = c.after.as_mut() {
                after.values_mut().for_each(|v| *v = displayed(v));
            }
        }
        plan.outputs.values_mut().for_each(|v| *v = displayed(v));
        for c in &mut plan.changes {
            let Some(schema) = crate::types::schema(&c.address.ty) else {
                continue;
            };
            for side in [&mut c.before, &mut c.after].into_iter().flatten() {
                schema.redact(side);
            }
        }
        for d in &mut plan.drift {
            let Some(schema) = crate::types::schema(&d.address.ty) else {
                continue;
            };
            for v in &mut d.values {
                if schema.attr(&v.attribute).is_some_and(|a| a.sensitive) {
                    v.was = Value::String("(sensitive)".into());
                    v.now = Value::String("(sensitive)".into());
                }
            }
        }
        // Where a sensitive value sits, whatever it is now.
        let hidden = |_: &Value| Value::String("(sensitive)".into());
        for c in &mut plan.changes {
            let Some(marks) = plan.sensitive.get(&c.address) else {
                continue;
            };
            // A sensitive value that changes reads so on the new side: the
            // review sees that it changes, never what it is.
            let changed: Vec<&String> = match (&c.before, &c.after) {
                (Some(b), Some(a)) => {
                    let (b, a) = (Value::Object(b.clone()), Value::Object(a.clone()));
                    marks
                        .iter()
                        .filter(|m| b.pointer(m).is_some() && b.pointer(m) != a.pointer(m))
                        .collect()
                }
                _ => Vec::new(),
            };
            if let Some(after) = c.after.as_mut() {
                crate::types::attrs::redact_paths(after, changed, &|_| {
                    Value::String(CHANGED.into())
                });
            }
            for side in [&mut c.before, &mut c.after].into_iter().flatten() {
                crate::types::attrs::redact_paths(side, marks, &|v: &Value| match v.as_str() {
                    Some(CHANGED) => v.clone(),
                    _ => hidden(v),
                });
            }
        }
        for d in &mut plan.drift {
            let Some(marks) = plan.sensitive.get(&d.address) else {
                continue;
            };
            for v in &mut d.values {
                redact_attribute(&v.attribute, &mut v.was, marks, &hidden);
                redact_attribute(&v.attribute, &mut v.now, marks, &hidden);
            }
        }
        plan
    }

    /// The change of a resource (not of a deposed object).
    pub fn change(&self, address: &Address) -> Option<&Change> {
        self.changes.iter().find(|c| &c.address == address && !c.deposed)
    }

    /// A readable name for an id or ARN: the address that owns it, a reference's
    /// address, or the name inside a target group ARN.
    pub fn label(&self, value: &Value) -> String {
        let Some(s) = value.as_str() else {
            return value.to_string();
        };
        if let Some(a) = self.labels.get(s) {
            return a.clone();
        }
        if let Some(r) = crate::types::reference::references(value).first() {
            return r.address.to_string();
        }
        match s.split_once(":targetgroup/") {
            Some((_, rest)) => rest.split('/').next().unwrap_or(rest).to_string(),
            None => s.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository(extra: &str) -> crate::stack::Resource {
        let text = format!(
            "stack: s\nregion: ap-northeast-1\nresources:\n  ecr_repository.app:\n    name: s/app\n{extra}"
        );
        let (stack, _) = crate::stack::parse("s.yaml", &text).expect("a valid stack");
        stack.resources[&Address::new("ecr_repository", "app")].clone()
    }

    #[test]
    fn a_removal_is_what_the_stack_set_and_no_longer_sets() {
        let set = repository(
            "    repository_policy: '{\"Version\": \"2012-10-17\", \"Statement\": []}'\n    kms_key: arn:aws:kms:ap-northeast-1:123456789012:key/k\n",
        );
        let recorded = crate::types::state::ResourceState {
            ty: "ecr_repository".into(),
            managed: Some(managed(&set)),
            ..Default::default()
        };
        assert!(removals(&set, Some(&recorded)).is_empty(), "nothing left out");

        let left_out = repository("");
        assert_eq!(
            removals(&left_out, Some(&recorded)),
            [("repository_policy".to_string(), Value::Null)],
            "the policy is deleted; the key, replace-only, is kept"
        );
        let never_set = crate::types::state::ResourceState {
            managed: Some(vec!["name".into()]),
            ..recorded.clone()
        };
        assert!(
            removals(&left_out, Some(&never_set)).is_empty(),
            "what the stack never set is left alone"
        );
        let unrecorded = crate::types::state::ResourceState { managed: None, ..recorded };
        assert!(
            removals(&left_out, Some(&unrecorded)).is_empty(),
            "a state that did not record what was set removes nothing"
        );
        assert!(removals(&left_out, None).is_empty(), "nothing to remove from");
    }
}
