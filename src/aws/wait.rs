//! Waiting for long operations (EKS takes 10 to 15 minutes): capped exponential
//! backoff and a timeout, with each look reported to the observer (the terminal
//! draws it as a progress line).

use std::future::Future;
use std::time::Duration;

use super::Result;
use crate::observe::Event;
use crate::provider::OpContext;

/// What one look found.
pub enum Poll {
    Done,
    /// Done, and this is what the look saw of it, as `read` would give it
    /// (or the part of that its describe call answers): a create or update
    /// then need not read it back.
    Seen(crate::types::Attrs),
    /// Still going, with the status AWS reports.
    Pending(String),
    Failed(String),
}

/// Polls `check` until it is done, failed, or `timeout` has passed, and gives
/// what the last look saw where it says (`Poll::Seen`). `doing` says what AWS
/// is doing (`creating`, `updating`, `deleting`).
pub async fn until<F, Fut>(
    ctx: &OpContext,
    doing: &str,
    timeout: Duration,
    mut check: F,
) -> Result<Option<crate::types::Attrs>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll>>,
{
    let label = &ctx.address;
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    let result = loop {
        match check().await {
            Ok(Poll::Done) => break Ok(None),
            Ok(Poll::Seen(attrs)) => break Ok(Some(attrs)),
            Ok(Poll::Failed(why)) => break Err(anyhow::anyhow!("{label}: {doing} failed: {why}")),
            Ok(Poll::Pending(status)) => ctx.observer.event(&Event::Waiting {
                address: label,
                doing,
                status: &status,
                elapsed: started.elapsed(),
            }),
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
    ctx.observer.event(&Event::WaitOver { address: label });
    result
}
