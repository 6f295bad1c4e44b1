//! AWS's clock, as its answers tell it (the HTTP `Date` header). Lease times
//! of the S3 lock are measured with it, so hosts whose clocks disagree still
//! agree on when a lease ends.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Utc};

/// An answer's `Date`, and when (by this host's monotonic clock) it came.
type Reading = (DateTime<Utc>, Instant);

/// The last `Date` an AWS answer carried, and when (by this host's monotonic
/// clock) it came; shared by every client of one `Aws`.
#[derive(Clone, Default, Debug)]
pub struct ServerClock {
    seen: Arc<Mutex<Option<Reading>>>,
}

impl ServerClock {
    /// AWS's time now: the last `Date` seen plus the time passed since, or
    /// this host's clock while no answer has come yet.
    pub fn now(&self) -> DateTime<Utc> {
        let seen = *self.seen.lock().expect("clock lock");
        match seen {
            Some((date, at)) => chrono::Duration::from_std(at.elapsed())
                .ok()
                .and_then(|d| date.checked_add_signed(d))
                .unwrap_or(date),
            None => Utc::now(),
        }
    }

    /// Records an answer's `Date` header (RFC 7231's IMF-fixdate, which RFC
    /// 2822 parsing reads); anything else is ignored.
    pub fn saw(&self, header: &str) {
        if let Ok(date) = DateTime::parse_from_rfc2822(header) {
            *self.seen.lock().expect("clock lock") =
                Some((date.with_timezone(&Utc), Instant::now()));
        }
    }
}

impl Intercept for ServerClock {
    fn name(&self) -> &'static str {
        "infra::ServerClock"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(date) = context.response().headers().get("date") {
            self.saw(date);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_date_is_read_and_moves_on() {
        let clock = ServerClock::default();
        clock.saw("not a date");
        assert!(
            (clock.now() - Utc::now()).num_seconds().abs() < 5,
            "no answer yet: this host's clock"
        );
        clock.saw("Tue, 01 Jun 2027 12:00:00 GMT");
        let now = clock.now();
        assert_eq!(now.format("%Y-%m-%dT%H:%M").to_string(), "2027-06-01T12:00");
    }
}
