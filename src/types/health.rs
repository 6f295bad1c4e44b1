//! What AWS says of health: a CloudWatch alarm's state, and each target's
//! in its target group (what a rollout's gate and a plan's runbook read).

/// A CloudWatch alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// A registered target's health in its target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
    Unused,
    Draining,
    Unavailable,
}

/// One registered target and its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub id: String,
    pub state: TargetState,
    /// Its availability zone, where AWS says it.
    pub zone: Option<String>,
}
