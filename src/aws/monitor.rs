//! What a rollout watches, read from AWS: CloudWatch alarm states and ELBv2
//! target health.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;

use super::{Aws, Result, api};
use crate::plan::rollout::Traffic;
use crate::provider::{AlarmState, Monitor, TargetHealth, TargetState};

pub struct CloudWatch(pub Arc<Aws>);

#[async_trait]
impl Monitor for CloudWatch {
    async fn alarms(&self, names: &[String]) -> Result<Vec<(String, AlarmState)>> {
        let r = self
            .0
            .cloudwatch
            .describe_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(api("DescribeAlarms"))?;
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
        let r = self
            .0
            .elbv2
            .describe_target_health()
            .target_group_arn(target_group)
            .send()
            .await
            .map_err(api("DescribeTargetHealth"))?;
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

    /// One GetMetricData call: `RequestCount` and `HTTPCode_Target_5XX_Count`
    /// summed over the window, `TargetResponseTime` by the statistic asked
    /// (the worst minute of the window), by the `LoadBalancer` and
    /// `TargetGroup` dimensions of the namespace `AWS/ApplicationELB`.
    async fn traffic(
        &self,
        load_balancer: &str,
        target_group: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
        latency_statistic: &str,
    ) -> Result<Traffic> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let query = |id: &str, metric: &str, stat: &str| {
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/ApplicationELB")
                                .metric_name(metric)
                                .dimensions(
                                    Dimension::builder()
                                        .name("LoadBalancer")
                                        .value(load_balancer)
                                        .build(),
                                )
                                .dimensions(
                                    Dimension::builder()
                                        .name("TargetGroup")
                                        .value(target_group)
                                        .build(),
                                )
                                .build(),
                        )
                        .period(60)
                        .stat(stat)
                        .build(),
                )
                .build()
        };
        let out = self
            .0
            .cloudwatch
            .get_metric_data()
            .metric_data_queries(query("requests", "RequestCount", "Sum"))
            .metric_data_queries(query("errors", "HTTPCode_Target_5XX_Count", "Sum"))
            .metric_data_queries(query("latency", "TargetResponseTime", latency_statistic))
            .start_time(DateTime::from_secs(since.timestamp()))
            .end_time(DateTime::from_secs(until.timestamp()))
            .send()
            .await
            .map_err(api("GetMetricData"))?;
        let values = |id: &str| -> Vec<f64> {
            out.metric_data_results()
                .iter()
                .filter(|r| r.id() == Some(id))
                .flat_map(|r| r.values().iter().copied())
                .collect()
        };
        Ok(Traffic {
            requests: values("requests").iter().sum(),
            errors: values("errors").iter().sum(),
            latency: values("latency").into_iter().reduce(f64::max),
        })
    }
}
