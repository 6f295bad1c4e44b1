//! The machine-readable plan (documented in docs/plan-json.md). Keys come in a
//! fixed order; `format_version` changes only when a field is removed or changes
//! meaning.

use serde_json::{Map, Value, json};

use crate::plan::{Action, Plan};
use crate::types::reference;

pub const FORMAT_VERSION: &str = "1";

pub fn render(plan: &Plan) -> String {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            let actions: &[&str] = match c.action {
                Action::NoOp if c.pending.is_some() => &["wait"],
                Action::NoOp => &["no-op"],
                Action::Create => &["create"],
                Action::Update => &["update"],
                Action::CreateThenDelete => &["create", "delete"],
                Action::DeleteThenCreate => &["delete", "create"],
                Action::Delete => &["delete"],
            };
            let after_unknown: Vec<&String> = c
                .after
                .iter()
                .flat_map(|a| a.iter())
                .filter(|(_, v)| reference::has_unknown(v))
                .map(|(k, _)| k)
                .collect();
            let mut m = Map::new();
            m.insert("address".into(), json!(c.address.to_string()));
            m.insert("type".into(), json!(c.address.ty));
            m.insert("name".into(), json!(c.address.name));
            if !c.address.module.is_empty() {
                // Terraform's `module_address`: the module it sits in.
                let module = crate::types::address::path_text(&c.address.module);
                m.insert("module_address".into(), json!(module));
            }
            if let Some(k) = &c.address.key {
                // Terraform's `index`: the key, or the count's number.
                m.insert("index".into(), k.value());
            }
            m.insert("actions".into(), json!(actions));
            m.insert("deposed".into(), json!(c.deposed));
            // The attributes that hold documents, as JSON values.
            let schema = crate::types::schema(&c.address.ty);
            let value = |k: &String, v: Value| match schema.and_then(|s| s.attr(k)) {
                Some(a) if a.document => documents(&v),
                _ => v,
            };
            m.insert(
                "before".into(),
                json!(c.before.as_ref().map(|b| {
                    b.iter()
                        .map(|(k, v)| (k.clone(), value(k, v.clone())))
                        .collect::<Map<String, Value>>()
                })),
            );
            m.insert(
                "after".into(),
                json!(c.after.as_ref().map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.clone(), value(k, reference::undisplayed(v))))
                        .collect::<Map<String, Value>>()
                })),
            );
            m.insert("after_unknown".into(), json!(after_unknown));
            m.insert("changed".into(), json!(c.changed));
            m.insert("replace_because".into(), json!(c.replace_because));
            m.insert("reason".into(), json!(c.reason));
            if let Some(r) = &c.rollout {
                m.insert("rollout".into(), json!(r));
            }
            Value::Object(m)
        })
        .collect();
    let drift = drift_values(plan);
    let counts = plan.counts();
    let mut out = head(plan);
    out.insert(
        "summary".into(),
        json!({"add": counts.add, "change": counts.change, "destroy": counts.destroy}),
    );
    out.insert("resource_changes".into(), Value::Array(changes));
    out.insert("moved".into(), json!(plan.moves));
    out.insert("drift".into(), drift);
    out.insert("lookups".into(), json!(plan.lookups));
    out.insert("recovered".into(), json!(plan.recovered));
    if !plan.cutover.is_empty() {
        out.insert("cutover".into(), json!(plan.cutover));
    }
    if !plan.notices.is_empty() {
        out.insert("notices".into(), json!(plan.notices));
    }
    if let Some(cost) = &plan.cost {
        let mut c = json!(cost);
        c["delta"] = json!((cost.delta() * 100.0).round() / 100.0);
        out.insert("cost".into(), c);
    }
    out.insert(
        "outputs".into(),
        Value::Object(
            plan.outputs
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        json!({"value": reference::undisplayed(v), "known": !reference::has_unknown(v)}),
                    )
                })
                .collect(),
        ),
    );
    let mut text = serde_json::to_string_pretty(&Value::Object(out)).expect("a plan serialises");
    text.push('\n');
    text
}

/// A document attribute's value (a policy, add-on configuration, each of a
/// map of inline policies) as JSON values rather than strings of JSON; a
/// document known only after apply keeps its `${...}` inside the strings of
/// the JSON; what is no JSON object (a sealed value) as it is.
fn documents(v: &Value) -> Value {
    let doc = |v: &Value| super::document::parse(v).map(|(d, _)| d);
    if let Some(d) = doc(v) {
        return d;
    }
    match v {
        Value::Object(m) if !m.is_empty() && m.values().all(|d| doc(d).is_some()) => {
            Value::Object(m.iter().map(|(k, d)| (k.clone(), documents(d))).collect())
        }
        other => other.clone(),
    }
}

/// What every JSON document of a plan starts with: the format, the stack,
/// its environment, the state serial.
fn head(plan: &Plan) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("format_version".into(), json!(FORMAT_VERSION));
    out.insert("stack".into(), json!(plan.stack));
    if let Some(env) = &plan.environment {
        out.insert("environment".into(), json!(env));
    }
    out.insert("state_serial".into(), json!(plan.serial));
    out
}

fn drift_values(plan: &Plan) -> Value {
    Value::Array(
        plan.drift
            .iter()
            .map(|d| {
                json!({
                    "address": d.address.to_string(),
                    "deleted": d.deleted,
                    "attributes": d.attributes,
                    "values": d.values,
                })
            })
            .collect(),
    )
}

/// `infra drift --format json`: the stack, its state serial, and the drift.
pub fn drift(plan: &Plan) -> String {
    let mut out = head(plan);
    out.insert("drift".into(), drift_values(plan));
    let mut text = serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default();
    text.push('\n');
    text
}
