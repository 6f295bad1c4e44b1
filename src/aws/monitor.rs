//! What a rollout watches, read from AWS: CloudWatch alarm states and ELBv2
//! target health.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;

use super::{Aws, Result, api};
use crate::provider::{AlarmState, Monitor, TargetState};

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

    async fn target_health(&self, target_group: &str) -> Result<Vec<(String, TargetState)>> {
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
                Some((d.target()?.id()?.to_string(), state))
            })
            .collect())
    }
}
