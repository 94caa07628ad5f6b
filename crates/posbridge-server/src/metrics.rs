//! `/metrics` in the Prometheus text format.
//!
//! - `posbridge_deliveries{tenant,vendor,state}` and
//!   `posbridge_oldest_delivery_age_seconds{…}`: read from the queue at each scrape, so
//!   every instance reports the same (the queue is shared).
//! - `posbridge_attempt_duration_seconds{vendor,outcome}` and
//!   `posbridge_delivery_errors_total{vendor,kind}`: from the queue's events (every
//!   worker's, on any machine), read by each instance from the start of the queue — so
//!   every instance reports the same totals too; aggregate with `max`, not `sum`.
//! - `posbridge_http_requests_total{route,status}`,
//!   `posbridge_http_request_duration_seconds{route}`, `posbridge_ingested_total{kind,status}`,
//!   `posbridge_rate_limited_total`: this instance's own traffic.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::{Problem, Server};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetState {
    tenant: String,
    vendor: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VendorOutcome {
    vendor: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VendorKind {
    vendor: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindStatus {
    kind: String,
    status: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The service's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    http_requests: Family<RouteStatus, Counter>,
    http_duration: HistogramFamily<Route>,
    deliveries: Family<TargetState, Gauge>,
    oldest: Family<TargetState, Gauge>,
    attempt_duration: HistogramFamily<VendorOutcome>,
    errors: Family<VendorKind, Counter>,
    ingested: Family<KindStatus, Counter>,
    rate_limited: Counter,
    /// The last outbox event folded into the event-driven metrics; one scrape at a time.
    events_seen: tokio::sync::Mutex<i64>,
    /// Serialises renders (gauges are cleared and refilled).
    render: Mutex<()>,
}

/// Events read per scrape at most (a new instance catches up over a few scrapes).
const EVENTS_PER_SCRAPE: u32 = 50_000;

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RouteStatus, Counter>::default();
        let http_duration: HistogramFamily<Route> = Family::new_with_constructor(latency_histogram);
        let deliveries = Family::<TargetState, Gauge>::default();
        let oldest = Family::<TargetState, Gauge>::default();
        let attempt_duration: HistogramFamily<VendorOutcome> = Family::new_with_constructor(latency_histogram);
        let errors = Family::<VendorKind, Counter>::default();
        let ingested = Family::<KindStatus, Counter>::default();
        let rate_limited = Counter::default();
        registry.register(
            "posbridge_http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        registry.register(
            "posbridge_http_request_duration_seconds",
            "HTTP request latency by route",
            http_duration.clone(),
        );
        registry.register(
            "posbridge_deliveries",
            "Deliveries in the queue by target and state",
            deliveries.clone(),
        );
        registry.register(
            "posbridge_oldest_delivery_age_seconds",
            "Age of the oldest delivery by target and state",
            oldest.clone(),
        );
        registry.register(
            "posbridge_attempt_duration_seconds",
            "Delivery attempt latency by vendor and outcome",
            attempt_duration.clone(),
        );
        registry.register(
            "posbridge_delivery_errors",
            "Failed delivery attempts by vendor and error kind",
            errors.clone(),
        );
        registry.register(
            "posbridge_ingested",
            "Documents posted to the API by kind and status",
            ingested.clone(),
        );
        registry.register(
            "posbridge_rate_limited",
            "Requests refused by the per-key rate limit",
            rate_limited.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            deliveries,
            oldest,
            attempt_duration,
            errors,
            ingested,
            rate_limited,
            events_seen: tokio::sync::Mutex::new(0),
            render: Mutex::new(()),
        }
    }

    /// Counts a document posted.
    pub(crate) fn ingested(&self, kind: &str, status: u16) {
        self.ingested
            .get_or_create(&KindStatus {
                kind: kind.to_owned(),
                status: status.to_string(),
            })
            .inc();
    }

    /// Counts a request refused by the rate limit.
    pub(crate) fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// The text format, with the queue's figures read now.
    pub(crate) async fn render(&self, server: &Server) -> Result<String, Problem> {
        let outbox = server.outbox();
        let status = outbox.status().await?;
        {
            let mut seen = self.events_seen.lock().await;
            let events = outbox.events_after(*seen, None, EVENTS_PER_SCRAPE).await?;
            for e in events {
                *seen = e.id;
                if let Some(ms) = e.duration_ms {
                    let labels = VendorOutcome {
                        vendor: e.target.vendor.clone(),
                        outcome: e.to.as_str().to_owned(),
                    };
                    // Milliseconds to seconds for Prometheus; precision is not money.
                    #[allow(clippy::float_arithmetic)]
                    self.attempt_duration.get_or_create(&labels).observe(ms as f64 / 1000.0);
                }
                if let Some(kind) = e.error_kind {
                    self.errors
                        .get_or_create(&VendorKind {
                            vendor: e.target.vendor,
                            kind,
                        })
                        .inc();
                }
            }
        }
        let _guard = self.render.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.deliveries.clear();
        self.oldest.clear();
        for row in status {
            let labels = TargetState {
                tenant: row.target.tenant,
                vendor: row.target.vendor,
                state: row.state.as_str().to_owned(),
            };
            self.deliveries
                .get_or_create(&labels)
                .set(i64::try_from(row.count).unwrap_or(i64::MAX));
            if let Some(age) = row.oldest_age_ms {
                self.oldest
                    .get_or_create(&labels)
                    .set(i64::try_from(age / 1000).unwrap_or(i64::MAX));
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|_| Problem::unavailable("the metrics could not be written"))?;
        Ok(text)
    }
}

/// Middleware: counts and times every request by its route pattern (never its path,
/// which holds ids).
pub(crate) async fn track(State(server): State<Server>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &server.inner().metrics;
    metrics
        .http_duration
        .get_or_create(&Route { route: route.clone() })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&RouteStatus {
            route,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}
