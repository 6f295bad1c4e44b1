//! Saved plans: what `plan --out` writes and `apply FILE` carries out exactly, or
//! refuses when the state or the stack file moved since, or when the plan made
//! again from the refresh it records differs from it. No sensitive value is
//! kept: each is a salted digest, and apply takes the value from the stack
//! file (or state) whose digest it is. Pure.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Action, Change, Observed, Plan};
use crate::types::state::State;

pub const FORMAT: &str = "infra-saved-plan";
/// 2: a replacement's order is in its action (`delete_then_create`,
/// `create_then_delete`). 3: the refresh the plan was made from
/// (`observed`), how it was made (`refresh`, `targets`), and sensitive values
/// kept only as salted digests. 4: what the lookups found (`lookups`), the
/// environment and the variable values that are not sensitive (`environment`,
/// `inputs`). 5: where each resource holds a sensitive value (the plan's
/// `sensitive`), by which values are sealed, never by what they are.
pub const VERSION: u32 = 5;

/// How a sensitive value is kept: `(sensitive sha256:HEX)`.
const SEALED: &str = "(sensitive sha256:";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format: String,
    pub version: u32,
    pub infra_version: String,
    /// The stack file as given to `plan`, and the SHA-256 of its text.
    pub stack_file: String,
    pub stack_digest: String,
    /// The state the plan was computed against; `lineage` is empty when there was
    /// no state yet.
    pub state_file: String,
    pub state_serial: u64,
    pub state_lineage: String,
    /// Whether the plan read AWS (`--refresh`), and its `--target`s.
    pub refresh: bool,
    pub targets: Vec<String>,
    /// What the refresh read, sensitive values sealed: apply plans again from
    /// it, the stack file and the state, and refuses what differs.
    pub observed: Observed,
    /// What the stack's lookups found: apply uses it rather than looking again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: crate::stack::LookedUp,
    /// The environment planned (`--env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The variable values given from outside the file, with where each came
    /// from, except any that holds a sensitive value: apply is given those again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, (crate::stack::vars::Given, String)>,
    /// Random, for the digests of sensitive values.
    pub salt: String,
    /// The plan as reviewed, sensitive values sealed.
    pub plan: Plan,
}

pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// How a plan was made, as a saved plan records it.
pub struct Made<'a> {
    pub stack_file: &'a str,
    pub stack_text: &'a str,
    pub state_file: &'a str,
    pub state: Option<&'a State>,
    pub refresh: bool,
    pub targets: &'a [String],
    /// What the lookups found, when the stack has any.
    pub lookups: Option<&'a crate::stack::LookedUp>,
    /// The environment and the values the stack was read with, and the
    /// variables that are sensitive (their values are never saved).
    pub inputs: Option<&'a crate::stack::Inputs>,
    pub sensitive_variables: &'a std::collections::BTreeSet<String>,
}

impl SavedPlan {
    pub fn new(plan: &Plan, observed: &Observed, made: Made<'_>) -> SavedPlan {
        let salt = uuid::Uuid::new_v4().simple().to_string();
        SavedPlan {
            format: FORMAT.into(),
            version: VERSION,
            infra_version: env!("CARGO_PKG_VERSION").into(),
            stack_file: made.stack_file.into(),
            stack_digest: digest(made.stack_text),
            state_file: made.state_file.into(),
            state_serial: made.state.map_or(0, |s| s.serial),
            state_lineage: made.state.map(|s| s.lineage.clone()).unwrap_or_default(),
            refresh: made.refresh,
            targets: made.targets.to_vec(),
            observed: sealed_observed(observed, &plan.sensitive, &salt),
            lookups: made.lookups.cloned().unwrap_or_default(),
            environment: made.inputs.and_then(|i| i.env.clone()),
            inputs: made
                .inputs
                .map(|i| {
                    i.values
                        .iter()
                        .filter(|(name, _)| !made.sensitive_variables.contains(*name))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            plan: sealed_plan(plan, &salt),
            salt,
        }
    }

    /// Whether a text is a saved plan rather than a stack file.
    pub fn parse(text: &str) -> Option<Result<SavedPlan, String>> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return None;
        }
        match v.get("version").and_then(serde_json::Value::as_u64) {
            Some(version) if version != u64::from(VERSION) => {
                return Some(Err(format!(
                    "the saved plan has format version {version}; this infra reads {VERSION}"
                )));
            }
            _ => {}
        }
        Some(serde_json::from_value(v).map_err(|e| format!("the saved plan cannot be read: {e}")))
    }

    /// Why this plan can no longer be applied as it is, if it cannot.
    pub fn staleness(&self, stack_text: &str, state: Option<&State>) -> Option<String> {
        if self.version != VERSION {
            return Some(format!(
                "it has format version {}; this infra reads {VERSION}",
                self.version
            ));
        }
        if digest(stack_text) != self.stack_digest {
            return Some(format!(
                "the stack file {} changed since the plan was made",
                self.stack_file
            ));
        }
        match state {
            None if !self.state_lineage.is_empty() => {
                Some(format!("the state {} is gone", self.state_file))
            }
            None => None,
            Some(s) if self.state_lineage.is_empty() => Some(format!(
                "the state {} was created since the plan was made (serial {})",
                self.state_file, s.serial
            )),
            Some(s) if s.lineage != self.state_lineage => Some(format!(
                "the state {} is another lineage ({}, the plan was made against {})",
                self.state_file, s.lineage, self.state_lineage
            )),
            Some(s) if s.serial != self.state_serial => Some(format!(
                "state serial is {}, the plan was made at {}",
                s.serial, self.state_serial
            )),
            Some(_) => None,
        }
    }

    /// The refresh the plan was made from, each sealed value put back where a
    /// value at hand has its digest: what the state recorded, or (`wanted`)
    /// what the stack asks for now. A value that matches neither stays sealed:
    /// it differs from both, as it did when the plan was made.
    pub fn observed(
        &self,
        state: &State,
        wanted: Option<&BTreeMap<crate::types::Address, crate::types::Attrs>>,
    ) -> Observed {
        let mut observed = self.observed.clone();
        for (address, seen) in &mut observed {
            let Some(attrs) = seen else { continue };
            let recorded = state.resources.get(address).map(|r| &r.attributes);
            let asked = wanted.and_then(|w| w.get(address));
            for (name, v) in attrs.iter_mut() {
                let Some(sealed) = v.as_str().filter(|s| s.starts_with(SEALED)) else {
                    continue;
                };
                let candidates = [recorded, asked].into_iter().flatten();
                if let Some(found) = candidates
                    .filter_map(|m| m.get(name))
                    .find(|c| seal(&self.salt, c).as_str() == Some(sealed))
                {
                    *v = found.clone();
                }
            }
        }
        observed
    }

    /// A value as this plan seals it (a sensitive value, compared with a
    /// sealed one by its digest).
    pub fn seal_value(&self, v: &Value) -> Value {
        seal(&self.salt, v)
    }

    /// Where the plan made again (`now`) differs from the one saved, naming the
    /// first address that does: what was reviewed is not what would be done.
    pub fn differs(&self, now: &Plan) -> Option<String> {
        let now = sealed_plan(now, &self.salt);
        let key = |c: &Change| (c.address.clone(), c.deposed);
        let saved: BTreeMap<_, _> = self.plan.changes.iter().map(|c| (key(c), c)).collect();
        let fresh: BTreeMap<_, _> = now.changes.iter().map(|c| (key(c), c)).collect();
        let name = |(a, deposed): &(crate::types::Address, bool)| match deposed {
            true => format!("{a} (deposed)"),
            false => a.to_string(),
        };
        for k in saved.keys().chain(fresh.keys()) {
            let (s, f) = match (saved.get(k), fresh.get(k)) {
                (Some(s), Some(f)) => (*s, *f),
                (Some(s), None) => {
                    return Some(format!(
                        "{}: the saved plan has a change ({}) the stack and state do not give",
                        name(k),
                        action(s.action)
                    ));
                }
                (None, Some(f)) => {
                    return Some(format!(
                        "{}: the stack and state give a change ({}) the saved plan does not have",
                        name(k),
                        action(f.action)
                    ));
                }
                (None, None) => continue,
            };
            if s.action != f.action {
                return Some(format!(
                    "{}: the saved plan says {}, the stack and state give {}",
                    name(k),
                    action(s.action),
                    action(f.action)
                ));
            }
            let json = |c: &Change| serde_json::to_value(c).unwrap_or_default();
            let (sj, fj) = (json(s), json(f));
            if sj != fj {
                let fields: Vec<String> = match (sj.as_object(), fj.as_object()) {
                    (Some(a), Some(b)) => a
                        .iter()
                        .filter(|(k, v)| b.get(*k) != Some(*v))
                        .map(|(k, _)| k.clone())
                        .collect(),
                    _ => Vec::new(),
                };
                return Some(format!(
                    "{}: {} as saved differs from what the stack and state give ({})",
                    name(k),
                    action(s.action),
                    fields.join(", ")
                ));
            }
        }
        if self.plan.outputs != now.outputs {
            return Some("the outputs differ from what the stack and state give".into());
        }
        None
    }
}

fn action(a: Action) -> &'static str {
    match a {
        Action::NoOp => "no change",
        Action::Create => "create",
        Action::Update => "update",
        Action::DeleteThenCreate => "replace (delete, then create)",
        Action::CreateThenDelete => "replace (create, then delete)",
        Action::Delete => "delete",
    }
}

/// Whether a value is a sensitive one as a saved plan keeps it.
pub fn is_sealed(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with(SEALED))
}

/// A sensitive value as a saved plan keeps it: a salted digest of its
/// canonical text (keys in order), so that one value read back and one
/// recorded as asked (tags in another order) seal alike.
fn seal(salt: &str, v: &Value) -> Value {
    if is_sealed(v) {
        return v.clone();
    }
    let v = crate::types::attrs::sorted(v);
    Value::String(format!("{SEALED}{})", digest(&format!("{salt}:{v}"))))
}

/// Seals, whole, every attribute of a resource that holds a sensitive value
/// somewhere (by its type, or where the marks say), so that `observed` can
/// put it back by its digest.
fn seal_attrs(
    address: &crate::types::Address,
    attrs: &mut Map<String, Value>,
    marks: &BTreeMap<crate::types::Address, std::collections::BTreeSet<String>>,
    salt: &str,
) {
    if let Some(schema) = crate::types::schema(&address.ty) {
        schema.redact_with(attrs, |v| seal(salt, v));
    }
    if let Some(marks) = marks.get(address) {
        for (k, v) in attrs.iter_mut() {
            if crate::stack::sensitive::covers(marks, k) {
                *v = seal(salt, v);
            }
        }
    }
}

fn sealed_plan(plan: &Plan, salt: &str) -> Plan {
    let mut plan = plan.clone();
    for c in &mut plan.changes {
        for side in [&mut c.before, &mut c.after].into_iter().flatten() {
            seal_attrs(&c.address, side, &plan.sensitive, salt);
        }
    }
    plan
}

/// The refresh as a saved plan keeps it: every attribute that holds a
/// sensitive value sealed whole.
fn sealed_observed(
    observed: &Observed,
    marks: &BTreeMap<crate::types::Address, std::collections::BTreeSet<String>>,
    salt: &str,
) -> Observed {
    let mut observed = observed.clone();
    for (address, seen) in &mut observed {
        if let Some(attrs) = seen {
            seal_attrs(address, attrs, marks, salt);
        }
    }
    observed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_saved_in_another_format_version_is_refused_by_name() {
        let old = r#"{"format": "infra-saved-plan", "version": 1, "plan": {}}"#;
        let why = SavedPlan::parse(old).unwrap().unwrap_err();
        assert_eq!(why, format!("the saved plan has format version 1; this infra reads {VERSION}"));
        assert!(SavedPlan::parse(r#"{"stack": "x"}"#).is_none());
    }

    /// How the test plans were made: from a refresh, with no state yet.
    fn made() -> Made<'static> {
        Made {
            stack_file: "stack.yaml",
            stack_text: "text",
            state_file: "state/s.json",
            state: None,
            refresh: true,
            targets: &[],
            lookups: None,
            inputs: None,
            sensitive_variables: &NONE,
        }
    }

    static NONE: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();

    /// A launch template whose user data holds a sensitive variable's value
    /// (the plan marks `/user_data`).
    fn lt_plan(user_data: &str, action: Action) -> (Plan, Observed) {
        let address = crate::types::Address::parse("launch_template.nodes").unwrap();
        let attrs: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"user_data": user_data, "name": "n"}))
                .unwrap();
        let change = Change {
            address: address.clone(),
            action,
            before: Some(attrs.clone()),
            after: Some(attrs.clone()),
            changed: Vec::new(),
            replace_because: Vec::new(),
            reason: None,
            deposed: false,
            pending: None,
            rollout: None,
        };
        let plan = Plan {
            stack: "s".into(),
            serial: 1,
            changes: vec![change],
            outputs: BTreeMap::new(),
            labels: BTreeMap::new(),
            problems: Vec::new(),
            drift: Vec::new(),
            recovered: Vec::new(),
            cutover: Vec::new(),
            notices: Vec::new(),
            sensitive: BTreeMap::from([(
                address.clone(),
                ["/user_data".to_string()].into_iter().collect(),
            )]),
            environment: None,
            lookups: Vec::new(),
            moves: Vec::new(),
            cost: None,
            traffic: Vec::new(),
            edges: Vec::new(),
        };
        (plan, BTreeMap::from([(address, Some(attrs))]))
    }

    #[test]
    fn sensitive_values_are_sealed_put_back_by_digest_and_edits_are_named() {
        let (plan, observed) = lt_plan("export TOKEN=s3cr3t", Action::NoOp);
        let saved = SavedPlan::new(&plan, &observed, made());
        let text = serde_json::to_string(&saved).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains(SEALED));

        // Put back from what the stack asks for, when the digest matches only.
        let state = State::new("s");
        let wanted = |p: &Plan| -> BTreeMap<_, _> {
            p.changes.iter().filter_map(|c| Some((c.address.clone(), c.after.clone()?))).collect()
        };
        let back = saved.observed(&state, Some(&wanted(&plan)));
        assert_eq!(back, observed);
        let (other, _) = lt_plan("export TOKEN=rotated", Action::NoOp);
        let kept = saved.observed(&state, Some(&wanted(&other)));
        assert!(kept.values().flatten().all(|a| is_sealed(&a["user_data"])));

        assert_eq!(saved.differs(&plan), None);
        let (deleted, _) = lt_plan("export TOKEN=s3cr3t", Action::Delete);
        assert_eq!(
            saved.differs(&deleted).unwrap(),
            "launch_template.nodes: the saved plan says no change, the stack and state give delete"
        );
        let (edited, _) = lt_plan("export TOKEN=rotated", Action::NoOp);
        assert_eq!(
            saved.differs(&edited).unwrap(),
            "launch_template.nodes: no change as saved differs from what the stack and state give (before, after)"
        );
    }

    #[test]
    fn a_sensitive_variable_is_sealed_in_the_refresh_and_put_back_from_state() {
        let (mut plan, mut observed) = lt_plan("echo hi", Action::NoOp);
        // The tag holds a sensitive variable's value: the plan marks where.
        let address = observed.keys().next().unwrap().clone();
        plan.sensitive.insert(address, ["/tags/api".to_string()].into_iter().collect());
        let tags = serde_json::json!({"api": "tok-5ec7e7", "team": "sre"});
        for attrs in observed.values_mut().flatten() {
            attrs.insert("tags".into(), tags.clone());
        }
        let saved = SavedPlan::new(&plan, &observed, made());
        let text = serde_json::to_string(&saved).unwrap();
        assert!(!text.contains("tok-5ec7e7"), "{text}");
        // What state recorded puts it back whole.
        let mut state = State::new("s");
        let address = observed.keys().next().unwrap().clone();
        state.resources.insert(
            address.clone(),
            serde_json::from_value(serde_json::json!({
                "type": "launch_template", "id": "lt-1", "attributes": {"tags": tags}
            }))
            .unwrap(),
        );
        let back = saved.observed(&state, None);
        assert_eq!(back[&address].as_ref().unwrap()["tags"], tags);
    }
}
