//! `cloudwatch_alarm`: a CloudWatch metric alarm, such as the one a rollout's
//! gate watches (the 5xx count of a target group behind the load balancer).
//! Dimensions take references (`${target_group.eks.arn_suffix}`), so the graph
//! orders the alarm after what it watches, and a rollout that names
//! `${cloudwatch_alarm.x.name}` after the alarm.

use serde_json::{Map, Value};

use super::schema::{Attr, Default, Finding, Kind, NameDefault, Removal, TypeSchema};

pub const STATISTICS: &[&str] = &["Sum", "Average", "Minimum", "Maximum", "SampleCount"];
pub const COMPARISONS: &[&str] = &[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "cloudwatch_alarm",
    doc: "A CloudWatch metric alarm, such as the one a rollout's gate watches (a target group's 5xx count).",
    attrs: &[
        Attr::new("name", Kind::String)
            .doc("The alarm name; <stack>-<name> when unset.")
            .force_new(),
        Attr::new("description", Kind::String).on_removal(Removal::Delete).doc("Its description."),
        Attr::new("namespace", Kind::String)
            .doc("The metric's namespace, such as AWS/ApplicationELB.")
            .required(),
        Attr::new("metric", Kind::String)
            .doc("The metric name, such as HTTPCode_Target_5XX_Count.")
            .required(),
        Attr::new("dimensions", Kind::Map(&Kind::String))
            .doc("The metric's dimensions (references order the alarm after what it watches).")
            .default(Default::Json("{}")),
        // One of `statistic` (Sum, Average, ...) and `extended_statistic` (p99).
        Attr::new("statistic", Kind::Enum(STATISTICS))
            .on_removal(Removal::Delete)
            .doc("The statistic: Sum, Average, Minimum, Maximum or SampleCount."),
        Attr::new("extended_statistic", Kind::String)
            .on_removal(Removal::Delete)
            .doc("A percentile such as p99, instead of statistic."),
        Attr::new("period", Kind::Int { min: 10, max: 86_400 })
            .doc("The length of one evaluation period, in seconds.")
            .default(Default::Int(60)),
        Attr::new("evaluation_periods", Kind::Int { min: 1, max: 1_440 })
            .doc("How many periods are evaluated.")
            .default(Default::Int(1)),
        Attr::new("datapoints_to_alarm", Kind::Int { min: 1, max: 1_440 })
            .on_removal(Removal::Delete)
            .doc("How many of them must breach."),
        Attr::new("threshold", Kind::Number).doc("The threshold.").required(),
        Attr::new("comparison", Kind::Enum(COMPARISONS))
            .doc("How the statistic is compared with the threshold.")
            .required(),
        // Missing data counts as good by default: a new alarm, or one on a
        // target group with no traffic yet, reaches OK instead of sitting in
        // INSUFFICIENT_DATA (which a rollout's gate refuses by default).
        Attr::new(
            "treat_missing_data",
            Kind::Enum(&["breaching", "notBreaching", "ignore", "missing"]),
        )
        .doc("How missing data counts.")
        .default(Default::Str("notBreaching")),
        Attr::new("alarm_actions", Kind::List(&Kind::String))
            .doc("ARNs notified when it goes into ALARM.")
            .default(Default::EmptyList),
        Attr::new("ok_actions", Kind::List(&Kind::String))
            .doc("ARNs notified when it goes back to OK.")
            .default(Default::EmptyList),
    ],
    exports: &["id", "name", "arn"],
    name_attr: Some(("name", NameDefault::StackAndName("--"))),
    check: Some(check),
    id_format: "its alarm name",
    ..TypeSchema::BASE
};

pub fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    let mut out = Vec::new();
    let both = attrs.contains_key("statistic") && attrs.contains_key("extended_statistic");
    let neither = !attrs.contains_key("statistic") && !attrs.contains_key("extended_statistic");
    if both || neither {
        out.push(Finding {
            lint: None,
            pointer: if both { "/extended_statistic" } else { "" }.into(),
            message: "an alarm needs exactly one of `statistic` and `extended_statistic`".into(),
            hint: Some("for example statistic: Sum, or extended_statistic: p99".into()),
        });
    }
    let periods = attrs.get("evaluation_periods").and_then(Value::as_i64).unwrap_or(1);
    if let Some(d) = attrs.get("datapoints_to_alarm").and_then(Value::as_i64)
        && d > periods
    {
        out.push(Finding {
            lint: None,
            pointer: "/datapoints_to_alarm".into(),
            message: format!(
                "`datapoints_to_alarm` ({d}) cannot exceed `evaluation_periods` ({periods})"
            ),
            hint: None,
        });
    }
    out
}
