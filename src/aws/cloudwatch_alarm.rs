//! `cloudwatch_alarm`: a CloudWatch metric alarm. PutMetricAlarm makes and
//! replaces it whole; its tags go through TagResource and UntagResource.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic, Tag};
use serde_json::{Value, json};

use super::tags;
use super::{Aws, Result};
use crate::provider::{ApiError, GoneOk, Made, OpContext, Provider};
use crate::types::attrs::{into_map, tags_value};
use crate::types::{Attrs, AttrsExt};

pub struct CloudwatchAlarm(pub Arc<Aws>);

/// What PutMetricAlarm sets: everything but the tags.
const SETTINGS: &[&str] = &[
    "description",
    "namespace",
    "metric",
    "dimensions",
    "statistic",
    "extended_statistic",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "threshold",
    "comparison",
    "treat_missing_data",
    "alarm_actions",
    "ok_actions",
];

#[async_trait]
impl Provider for CloudwatchAlarm {
    /// By name, a hundred a call; then each one's tags.
    async fn read(&self, ids: &[String]) -> Result<HashMap<String, Attrs>> {
        let aws = &*self.0;
        let alarms = describe(aws, ids).await?;
        let read = super::each(alarms, |a| async move {
            let arn = a.alarm_arn().unwrap_or_default().to_string();
            let tags = send!(
                aws.cloudwatch.list_tags_for_resource().resource_arn(&arn),
                "ListTagsForResource"
            )?;
            let mut attrs = attributes(&a);
            attrs.insert(
                "tags".into(),
                tags_value(tags.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))),
            );
            Ok((a.alarm_name().unwrap_or_default().to_string(), attrs))
        })
        .await?;
        Ok(read.into_iter().collect())
    }

    /// DescribeAlarms by names, a hundred a call, without their tags.
    async fn exist(&self, ids: &[String]) -> Result<std::collections::HashSet<String>> {
        Ok(super::ids_of(&describe(&self.0, ids).await?, |a| a.alarm_name()))
    }

    /// PutMetricAlarm replaces an alarm of that name without a word: an alarm
    /// of the name is looked for first, and its existence is a conflict (the
    /// engine then adopts it only if it carries this stack's tags).
    async fn create(&self, _ctx: &OpContext, attrs: &Attrs) -> Result<Made> {
        let name = attrs.str("name")?.to_string();
        if !super::find_by_id(self, &name).await?.is_empty() {
            return Err(ApiError::new(
                "PutMetricAlarm",
                "ResourceAlreadyExists",
                &format!("an alarm named {name} exists already"),
            )
            .into());
        }
        let tags =
            attrs.tags().into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        self.put(attrs, Some(tags)).await?;
        // PutMetricAlarm took every setting and the tags: what was asked, with
        // its name as id and its ARN.
        Ok(Made::asked(&name, attrs, self.computed(&name).await?))
    }

    /// Its ARN (from the region, the account and its name).
    async fn settled(&self, id: &str, _asked: &Attrs) -> Result<Option<Attrs>> {
        self.computed(id).await.map(Some)
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        _id: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<()> {
        let aws = &*self.0;
        if SETTINGS.iter().any(|k| before.get(*k) != after.get(*k)) {
            self.put(after, None).await?;
        }
        tags::sync(&tags::CloudWatch, aws, before.str("arn")?, before, after).await?;
        Ok(())
    }

    async fn find(&self, attrs: &Attrs) -> Result<Vec<String>> {
        super::find_by_id(self, attrs.str("name")?).await
    }

    async fn delete(&self, _ctx: &OpContext, id: &str, _before: &Attrs) -> Result<()> {
        send!(self.0.cloudwatch.delete_alarms().alarm_names(id), "DeleteAlarms").or_gone()?;
        Ok(())
    }
}

impl CloudwatchAlarm {
    /// What CloudWatch computes of the alarm `name`: its id and ARN.
    async fn computed(&self, name: &str) -> Result<Attrs> {
        let arn = format!(
            "arn:aws:cloudwatch:{}:{}:alarm:{name}",
            self.0.region,
            self.0.account().await?
        );
        Ok(into_map(json!({"id": name, "arn": arn})))
    }

    /// PutMetricAlarm with every setting (it replaces the alarm whole); tags
    /// only when it makes the alarm.
    async fn put(&self, a: &Attrs, tags: Option<Vec<Tag>>) -> Result<()> {
        let dimensions = a
            .string_map("dimensions")
            .into_iter()
            .map(|(k, v)| Dimension::builder().name(k).value(v).build())
            .collect::<Vec<_>>();
        let strings = |k: &str| a.opt_strings(k).unwrap_or_default();
        send!(
            self.0
                .cloudwatch
                .put_metric_alarm()
                .alarm_name(a.str("name")?)
                .set_alarm_description(a.opt_str("description").map(str::to_string))
                .namespace(a.str("namespace")?)
                .metric_name(a.str("metric")?)
                .set_dimensions(Some(dimensions))
                .set_statistic(a.opt_str("statistic").map(Statistic::from))
                .set_extended_statistic(a.opt_str("extended_statistic").map(str::to_string))
                .period(a.int("period")? as i32)
                .evaluation_periods(a.int("evaluation_periods")? as i32)
                .set_datapoints_to_alarm(a.opt_int("datapoints_to_alarm").map(|d| d as i32))
                .threshold(
                    a.get("threshold")
                        .and_then(Value::as_f64)
                        .ok_or_else(|| anyhow::anyhow!("the alarm has no threshold"))?,
                )
                .comparison_operator(ComparisonOperator::from(a.str("comparison")?))
                .treat_missing_data(a.str("treat_missing_data")?)
                .set_alarm_actions(Some(strings("alarm_actions")))
                .set_ok_actions(Some(strings("ok_actions")))
                .set_tags(tags),
            "PutMetricAlarm"
        )?;
        Ok(())
    }
}

/// An alarm as the stack file describes one.
fn attributes(a: &MetricAlarm) -> Attrs {
    let dimensions: serde_json::Map<String, Value> = a
        .dimensions()
        .iter()
        .filter_map(|d| Some((d.name()?.to_string(), json!(d.value()?))))
        .collect();
    let mut attrs = into_map(json!({
        "id": a.alarm_name(),
        "name": a.alarm_name(),
        "arn": a.alarm_arn(),
        "namespace": a.namespace(),
        "metric": a.metric_name(),
        "dimensions": dimensions,
        "period": a.period(),
        "evaluation_periods": a.evaluation_periods(),
        "threshold": a.threshold(),
        "comparison": a.comparison_operator().map(|c| c.as_str()),
        "treat_missing_data": a.treat_missing_data().unwrap_or("missing"),
        "alarm_actions": a.alarm_actions(),
        "ok_actions": a.ok_actions(),
    }));
    let mut optional = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            attrs.insert(k.into(), v);
        }
    };
    optional("description", a.alarm_description().map(|d| json!(d)));
    optional("statistic", a.statistic().map(|s| json!(s.as_str())));
    optional("extended_statistic", a.extended_statistic().map(|s| json!(s)));
    optional("datapoints_to_alarm", a.datapoints_to_alarm().map(|d| json!(d)));
    attrs
}

/// Alarms by name, a hundred a call.
async fn describe(aws: &Aws, names: &[String]) -> Result<Vec<MetricAlarm>> {
    let mut alarms = Vec::new();
    for chunk in names.chunks(100) {
        let page = send!(
            aws.cloudwatch.describe_alarms().set_alarm_names(Some(chunk.to_vec())).max_records(100),
            "DescribeAlarms"
        )?;
        alarms.extend(page.metric_alarms().iter().cloned());
    }
    Ok(alarms)
}
