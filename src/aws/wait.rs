//! Waiting for long operations (EKS takes 10 to 15 minutes): capped exponential
//! backoff, a timeout, and a progress line with the elapsed time on stderr (drawn
//! only on a terminal).

use std::future::Future;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use super::{Attrs, Result};

/// What one look found.
pub enum Poll {
    Done,
    /// Still going, with the status AWS reports.
    Pending(String),
    Failed(String),
}

/// Which timeout of `timeouts: { create, update, delete }` applies.
#[derive(Clone, Copy)]
pub enum Phase {
    Create,
    Update,
    Delete,
}

impl Phase {
    /// For progress lines: `creating`, `updating`, `deleting`.
    pub fn doing(self) -> &'static str {
        match self {
            Phase::Create => "creating",
            Phase::Update => "updating",
            Phase::Delete => "deleting",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Phase::Create => "create",
            Phase::Update => "update",
            Phase::Delete => "delete",
        }
    }
}

/// The timeout for a phase: the resource's own (`timeouts`, in seconds once
/// validated) or the type's default.
pub fn timeout(attrs: &Attrs, phase: Phase, default: Duration) -> Duration {
    let key = phase.name();
    attrs
        .get("timeouts")
        .and_then(|t| t.get(key))
        .and_then(Value::as_u64)
        .map_or(default, Duration::from_secs)
}

/// Who is waiting, for the progress line: the address from the infra tags.
pub fn label(attrs: &Attrs, fallback: &str) -> String {
    attrs
        .get("tags")
        .and_then(|t| t.get("infra:address"))
        .and_then(Value::as_str)
        .unwrap_or(fallback)
        .to_string()
}

/// Polls `check` until it is done, failed, or `timeout` has passed.
pub async fn until<F, Fut>(label: &str, doing: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll>>,
{
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    let result = loop {
        match check().await {
            Ok(Poll::Done) => break Ok(()),
            Ok(Poll::Failed(why)) => break Err(anyhow::anyhow!("{label}: {doing} failed: {why}")),
            Ok(Poll::Pending(status)) => {
                bar.set_message(format!("{label}: {doing} ({status})"));
                tracing::info!(
                    "{label}: {doing} ({status}), {}s so far",
                    started.elapsed().as_secs()
                );
            }
            Err(e) => break Err(e),
        }
        if started.elapsed() >= timeout {
            break Err(anyhow::anyhow!(
                "{label}: still {doing} after {}s (the timeout); it goes on in AWS, and the next apply waits for it",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    };
    bar.finish_and_clear();
    result
}
