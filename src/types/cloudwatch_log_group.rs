//! `cloudwatch_log_group`: a CloudWatch Logs log group with its retention. EKS
//! writes control-plane logs to `/aws/eks/<cluster>/cluster` and, when that
//! group does not exist, makes it with no retention: logs kept (and paid for)
//! forever, the field notes' CloudWatch bill. Declared in the stack, it is made
//! before the cluster (src/stack/eks.rs). Retention, KMS key and tags change in
//! place.

use serde_json::{Map, Value};

use super::schema::{Attr, Finding, Kind, Removal, TypeSchema};

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "cloudwatch_log_group",
    doc: "A CloudWatch Logs log group with its retention. Declare EKS's /aws/eks/CLUSTER/cluster group so control-plane logs are not kept forever.",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The log group name, such as /aws/eks/CLUSTER/cluster.")
            .required()
            .force_new(),
        // Left out, not managed (a new group keeps its events forever: a lint says so).
        Attr::new("retention_days", Kind::Int { min: 1, max: 3653 })
            .on_removal(Removal::Delete)
            .doc("How many days logs are kept (one of CloudWatch's values); forever when unset."),
        Attr::new("kms_key_id", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The KMS key its logs are encrypted with."),
    ],
    exports: &["id", "arn", "name"],
    check: Some(check),
    lint: Some(lint),
    id_format: "its log group name",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    match attrs.get("retention_days").and_then(Value::as_i64) {
        Some(days) if !RETENTION_DAYS.contains(&days) => vec![Finding {
            lint: None,
            pointer: "/retention_days".into(),
            message: format!(
                "CloudWatch Logs keeps events for set periods; {days} days is not one"
            ),
            hint: Some(format!(
                "one of {}",
                RETENTION_DAYS.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )),
        }],
        _ => Vec::new(),
    }
}

pub fn lint(attrs: &Map<String, Value>) -> Vec<Finding> {
    if attrs.contains_key("retention_days") {
        return Vec::new();
    }
    vec![Finding {
        lint: Some(crate::types::lint::Lint::LogRetention),
        pointer: String::new(),
        message: "no `retention_days`: its events are kept, and paid for, forever".into(),
        hint: Some("set retention_days, for example 30".into()),
    }]
}
