//! A client-side rate limit per service: every request of a client waits for its
//! slot, so that a large apply slows down instead of failing on throttling. The
//! pace slows by half again when the service answers 429 or 503 (throttling, SlowDown) and
//! recovers slowly as calls succeed (additive increase, multiplicative decrease).
//! Throttling answered as 400 (EC2's RequestLimitExceeded) is left to the retry
//! policy's backoff, which sees the error code.
//!
//! It wraps the SDK's own HTTP client, so it applies to every call of a client,
//! retries included.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::time::Instant;

/// Requests per second each service may get, unless `INFRA_MAX_REQUESTS_PER_SECOND`
/// says otherwise.
pub const DEFAULT_RATE: f64 = 50.0;

/// S3's default: it serves thousands of reads a second per prefix, and a bucket's
/// settings take eight reads with no batch form.
pub const DEFAULT_S3_RATE: f64 = 500.0;

/// The pace of one service (named as its SDK crate): `INFRA_MAX_REQUESTS_PER_SECOND`
/// for every service, or the default.
pub fn max_rate(service: &str) -> f64 {
    std::env::var("INFRA_MAX_REQUESTS_PER_SECOND")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|r| *r > 0.0)
        .unwrap_or(if service == "aws_sdk_s3" { DEFAULT_S3_RATE } else { DEFAULT_RATE })
}

#[derive(Debug)]
struct Bucket {
    /// The earliest time the next request may go.
    next: Instant,
    /// Time between requests now, and at the fastest.
    interval: Duration,
    fastest: Duration,
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, proxies from the
/// environment), built here so that it can be wrapped.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut conn = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc));
        conn.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            conn.set_sleep_impl(c.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// The pace of one service.
#[derive(Debug, Clone)]
pub struct Limiter {
    service: &'static str,
    bucket: Arc<Mutex<Bucket>>,
}

impl Limiter {
    pub fn new(service: &'static str, rate: f64) -> Limiter {
        let fastest = Duration::from_secs_f64(1.0 / rate);
        Limiter {
            service,
            bucket: Arc::new(Mutex::new(Bucket {
                next: Instant::now(),
                interval: fastest,
                fastest,
            })),
        }
    }

    /// Reserves the next slot and returns when it is.
    fn reserve(&self) -> Instant {
        let mut b = self.bucket.lock().expect("the pace lock is never poisoned");
        let slot = b.next.max(Instant::now());
        b.next = slot + b.interval;
        slot
    }

    fn observe(&self, status: u16) {
        let mut b = self.bucket.lock().expect("the pace lock is never poisoned");
        if status == 429 || status == 503 {
            b.interval = b.interval.mul_f64(1.5).min(Duration::from_secs(1));
            tracing::info!(
                "{}: throttled (HTTP {status}), slowing to {:.1} requests/s",
                self.service,
                1.0 / b.interval.as_secs_f64()
            );
        } else if status < 500 && b.interval > b.fastest {
            b.interval = b.interval.mul_f64(0.8).max(b.fastest);
        }
    }
}

/// The SDK's HTTP client, paced.
#[derive(Debug)]
pub struct Paced {
    inner: SharedHttpClient,
    limiter: Limiter,
}

impl Paced {
    pub fn new(inner: SharedHttpClient, limiter: Limiter) -> Paced {
        Paced { inner, limiter }
    }
}

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            limiter: self.limiter.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    limiter: Limiter,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let limiter = self.limiter.clone();
        HttpConnectorFuture::new(async move {
            tokio::time::sleep_until(limiter.reserve()).await;
            let response = inner.call(request).await?;
            limiter.observe(response.status().as_u16());
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_and_throttling_slows_them() {
        let l = Limiter::new("test", 10.0);
        let t0 = Instant::now();
        let (a, b, c) = (l.reserve(), l.reserve(), l.reserve());
        assert_eq!(a, t0);
        assert_eq!(b - a, Duration::from_millis(100));
        assert_eq!(c - b, Duration::from_millis(100));
        l.observe(503);
        let d = l.reserve();
        let e = l.reserve();
        assert_eq!(e - d, Duration::from_millis(150));
        for _ in 0..50 {
            l.observe(200);
        }
        let (f, g) = (l.reserve(), l.reserve());
        assert_eq!(g - f, Duration::from_millis(100), "back to the full pace");
    }
}
