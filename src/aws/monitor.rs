//! What a rollout watches, read from AWS: CloudWatch alarm states and ELBv2
//! target health.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;

use super::{Aws, Result};
use crate::plan::rollout::{Balancer, Traffic};
use crate::provider::{AlarmState, Monitor, TargetHealth, TargetState};

pub struct CloudWatch(pub Arc<Aws>);

#[async_trait]
impl Monitor for CloudWatch {
    async fn alarms(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>> {
        let r = send!(
            self.0.cloudwatch.describe_alarms().set_alarm_names(Some(names.to_vec())),
            "DescribeAlarms"
        )?;
        Ok(r.metric_alarms()
            .iter()
            .filter_map(|a| {
                let state = match a.state_value() {
                    Some(StateValue::Alarm) => AlarmState::Alarm,
                    Some(StateValue::Ok) => AlarmState::Ok,
                    _ => AlarmState::InsufficientData,
                };
                Some((a.alarm_name()?.to_string(), state))
            })
            .collect())
    }

    async fn target_health(&self, target_group: &str) -> Result<Vec<TargetHealth>> {
        let r = send!(
            self.0.elbv2.describe_target_health().target_group_arn(target_group),
            "DescribeTargetHealth"
        )?;
        Ok(r.target_health_descriptions()
            .iter()
            .filter_map(|d| {
                let state = match d.target_health().and_then(|h| h.state()) {
                    Some(TargetHealthStateEnum::Healthy) => TargetState::Healthy,
                    Some(TargetHealthStateEnum::Unhealthy) => TargetState::Unhealthy,
                    Some(TargetHealthStateEnum::Initial) => TargetState::Initial,
                    Some(TargetHealthStateEnum::Unused) => TargetState::Unused,
                    Some(TargetHealthStateEnum::Draining) => TargetState::Draining,
                    _ => TargetState::Unavailable,
                };
                let target = d.target()?;
                Some(TargetHealth {
                    id: target.id()?.to_string(),
                    state,
                    zone: target.availability_zone().map(str::to_string),
                })
            })
            .collect())
    }

    /// One GetMetricData call: `RequestCount`, `HTTPCode_Target_5XX_Count`
    /// and `TargetConnectionErrorCount` summed over the window,
    /// `TargetResponseTime` by the statistic asked (the worst minute of the
    /// window), by the `LoadBalancer` and `TargetGroup` dimensions of the
    /// namespace `AWS/ApplicationELB`.
    async fn traffic(
        &self,
        load_balancer: &str,
        target_group: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        latency_statistic: &str,
    ) -> Result<Traffic> {
        let dims = [("LoadBalancer", load_balancer), ("TargetGroup", target_group)];
        let got = metrics(
            &self.0,
            &dims,
            &[
                ("requests", "RequestCount", "Sum"),
                ("errors", "HTTPCode_Target_5XX_Count", "Sum"),
                ("connection_errors", "TargetConnectionErrorCount", "Sum"),
                ("latency", "TargetResponseTime", latency_statistic),
            ],
            since,
            until,
        )
        .await?;
        let sum = |id: &str| got.get(id).map_or(0.0, |v| v.iter().sum());
        Ok(Traffic {
            requests: sum("requests"),
            errors: sum("errors"),
            connection_errors: sum("connection_errors"),
            latency: got.get("latency").and_then(|v| v.iter().copied().reduce(f64::max)),
        })
    }

    /// One GetMetricData call: the load balancer's `RequestCount` and its own
    /// `HTTPCode_ELB_502_Count`, `_503_` and `_504_`, by the `LoadBalancer`
    /// dimension alone (the only one those carry).
    async fn balancer(
        &self,
        load_balancer: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Balancer> {
        let got = metrics(
            &self.0,
            &[("LoadBalancer", load_balancer)],
            &[
                ("requests", "RequestCount", "Sum"),
                ("elb502", "HTTPCode_ELB_502_Count", "Sum"),
                ("elb503", "HTTPCode_ELB_503_Count", "Sum"),
                ("elb504", "HTTPCode_ELB_504_Count", "Sum"),
            ],
            since,
            until,
        )
        .await?;
        let sum = |id: &str| got.get(id).map_or(0.0, |v| v.iter().sum());
        Ok(Balancer {
            requests: sum("requests"),
            elb_502: sum("elb502"),
            elb_503: sum("elb503"),
            elb_504: sum("elb504"),
        })
    }
}

/// The values of metrics of `AWS/ApplicationELB` with these dimensions, a
/// minute each, from `since` to `until`, by query id: one GetMetricData call
/// for all of `queries` (`(id, metric, statistic)`).
async fn metrics(
    aws: &Aws,
    dimensions: &[(&str, &str)],
    queries: &[(&str, &str, &str)],
    since: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<std::collections::HashMap<String, Vec<f64>>> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    let mut request = aws
        .cloudwatch
        .get_metric_data()
        .start_time(DateTime::from_secs(since.timestamp()))
        .end_time(DateTime::from_secs(until.timestamp()));
    for (id, metric, stat) in queries {
        let mut m = Metric::builder().namespace("AWS/ApplicationELB").metric_name(*metric);
        for (name, value) in dimensions {
            m = m.dimensions(Dimension::builder().name(*name).value(*value).build());
        }
        request = request.metric_data_queries(
            MetricDataQuery::builder()
                .id(*id)
                .metric_stat(MetricStat::builder().metric(m.build()).period(60).stat(*stat).build())
                .build(),
        );
    }
    let out = send!(request, "GetMetricData")?;
    let mut values: std::collections::HashMap<String, Vec<f64>> = Default::default();
    for r in out.metric_data_results() {
        if let Some(id) = r.id() {
            values.entry(id.to_string()).or_default().extend(r.values().iter().copied());
        }
    }
    Ok(values)
}
