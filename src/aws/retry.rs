//! One retry policy for every AWS call: the SDK's standard mode (exponential
//! backoff with jitter on the throttling and transient errors of every service:
//! Throttling, ThrottlingException, RequestLimitExceeded, TooManyRequestsException,
//! SlowDown, LimitExceededException, 5xx, dropped connections), and an interceptor
//! that logs each retry and reports it to the observer (the summary counts them).
//!
//! The SDK's adaptive mode adds a client-side rate limiter, but against a local
//! emulator it throttles a whole apply down to about one call a second after a
//! single throttling error (measured: 2 s became 42 s), so it is not used; a
//! per-service limiter of our own is still to come.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::observe::{Event, Observer};

/// How many times a call is sent at most.
pub const ATTEMPTS: u32 = 10;

/// Whether an answer says "try again later": throttling or a server error.
pub fn later(e: &crate::provider::ApiError) -> bool {
    let c = e.code();
    e.status.is_some_and(|s| s >= 500)
        || c.contains("Throttl")
        || c == "RequestLimitExceeded"
        || c == "SlowDown"
        || c == "TooManyRequestsException"
}

/// How long one attempt of an AWS call may take (`INFRA_CALL_TIMEOUT`, in
/// seconds; 60 by default), and all its attempts together (five times that): a
/// hung connection fails the call instead of holding the lock for ever.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    let attempt = std::env::var("INFRA_CALL_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(Duration::from_secs(60), Duration::from_secs);
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(attempt.min(Duration::from_secs(10)))
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt * 5)
        .build()
}

pub fn config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20))
}

/// Logs and reports every attempt after the first.
#[derive(Clone)]
pub struct RetryReporter {
    observer: Arc<dyn Observer>,
}

impl RetryReporter {
    pub fn new(observer: Arc<dyn Observer>) -> RetryReporter {
        RetryReporter { observer }
    }
}

impl std::fmt::Debug for RetryReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryReporter")
    }
}

impl Intercept for RetryReporter {
    fn name(&self) -> &'static str {
        "infra::RetryReporter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        if attempt > 1 {
            let (service, operation) =
                cfg.load::<Metadata>().map_or(("?", "?"), |m| (m.service(), m.name()));
            tracing::info!("retrying {service}.{operation} (attempt {attempt})");
            self.observer.event(&Event::Retry { service, operation, attempt });
        }
        Ok(())
    }
}
