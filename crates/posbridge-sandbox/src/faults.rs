//! Fault injection: rules that make vendor routes slow, rate limited, failing, or
//! drop the connection before or after applying a request.
//!
//! For each request to a vendor route (never `/_sandbox/*`) the rules whose `vendor`
//! and `route` match are evaluated in order; each triggers with probability `rate`,
//! drawn from the one seeded generator in the state, so the same seed and the same
//! sequence of requests give the same faults. A triggered `latency` adds its delay and
//! evaluation goes on; the first other fault that triggers wins and ends it.
//!
//! This module knows no vendor: which vendors and routes a rule may name is passed in
//! ([`FaultRule::validate_target`]), and a vendor's own shape of an injected answer is
//! given to [`rate_limited`] and [`injected`] by the caller.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::reply::json_message;

/// One fault rule.
///
/// ```
/// use posbridge_sandbox::{Fault, FaultRule};
///
/// let rules: Vec<FaultRule> = serde_json::from_str(r#"[
///     {"vendor": "kedai", "route": "api/push-sale", "fault": {"kind": "drop_after_apply"}, "rate": 0.2},
///     {"fault": {"kind": "latency", "ms": 150}, "rate": 1.0}
/// ]"#)?;
/// assert_eq!(rules[0].fault, Fault::DropAfterApply);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The vendor it applies to (its path prefix); `None` for every vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The route it applies to, as the path after the vendor prefix
    /// (`api/push-sale`); `None` for every route. Leading and trailing slashes are
    /// ignored.
    #[serde(default)]
    pub route: Option<String>,
    /// What happens when it triggers.
    pub fault: Fault,
    /// The probability that it triggers on a matching request, `0.0..=1.0`.
    pub rate: f64,
}

/// What a triggered rule does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Waits `ms` milliseconds, then goes on (other rules may still trigger). The wait
    /// is cut short when the sandbox shuts down.
    Latency {
        /// The delay, in milliseconds.
        ms: u64,
    },
    /// Answers 429 `{"message": "Too Many Requests"}` with `Retry-After: <secs>`;
    /// nothing is applied.
    RateLimit {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// Answers `status` (500, 502, 503, …) with `{"message": "Injected fault"}`;
    /// nothing is applied.
    Status {
        /// The HTTP status, `400..=599`.
        status: u16,
    },
    /// Breaks the connection without a complete response; nothing is applied.
    DropBeforeApply,
    /// Processes and applies the request, then breaks the connection, so the client
    /// never learns the outcome (the case that makes a push uncertain).
    DropAfterApply,
}

impl Fault {
    /// The name the request log gives this fault: `latency`, `rate_limit`,
    /// `status_503`, `drop_before_apply` or `drop_after_apply`.
    pub fn name(&self) -> String {
        match self {
            Fault::Latency { .. } => "latency".into(),
            Fault::RateLimit { .. } => "rate_limit".into(),
            Fault::Status { status } => format!("status_{status}"),
            Fault::DropBeforeApply => "drop_before_apply".into(),
            Fault::DropAfterApply => "drop_after_apply".into(),
        }
    }
}

impl FaultRule {
    /// A rule for every vendor and route.
    pub fn new(fault: Fault, rate: f64) -> Self {
        Self {
            vendor: None,
            route: None,
            fault,
            rate,
        }
    }

    /// Restricts the rule to `vendor`.
    pub fn for_vendor(mut self, vendor: impl Into<String>) -> Self {
        self.vendor = Some(vendor.into());
        self
    }

    /// Restricts the rule to `route` (the path after the vendor prefix).
    pub fn for_route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Checks what can be checked without a sandbox: `rate` within `0.0..=1.0` and a
    /// status within `400..=599`. The error says what is wrong. A sandbox also checks
    /// that the vendor and route are ones it imitates ([`Self::validate_target`]).
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(format!("rate must be within 0.0..=1.0, got {}", self.rate));
        }
        if let Fault::Status { status } = self.fault
            && !(400..=599).contains(&status)
        {
            return Err(format!("status must be within 400..=599, got {status}"));
        }
        Ok(())
    }

    /// Checks that the rule's vendor is one of `imitated` (each vendor's path prefix
    /// with its routes), and its route one that vendor (or, without a vendor, some
    /// vendor) has. The error says what is wrong.
    pub fn validate_target(&self, imitated: &[(&str, &[&str])]) -> Result<(), String> {
        if let Some(v) = &self.vendor
            && !imitated.iter().any(|(name, _)| name == v)
        {
            let names: Vec<&str> = imitated.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown vendor {v:?} (the sandbox imitates: {})",
                names.join(", ")
            ));
        }
        if let Some(r) = &self.route {
            let r = normalise_route(r);
            let known = imitated
                .iter()
                .filter(|(name, _)| self.vendor.as_deref().is_none_or(|want| want == *name))
                .any(|(_, routes)| routes.iter().any(|known| route_matches(known, r)));
            if !known {
                return Err(format!(
                    "unknown route {r:?}{}",
                    self.vendor.as_deref().map(|v| format!(" for {v}")).unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    fn matches(&self, vendor: &str, route: &str) -> bool {
        self.vendor.as_deref().is_none_or(|v| v == vendor)
            && self.route.as_deref().is_none_or(|r| route_matches(r, route))
    }
}

fn normalise_route(route: &str) -> &str {
    route.trim_matches('/')
}

/// Whether `route` is `pattern`: the same segments, where a `{id}` segment of the
/// pattern stands for any one segment (`extapi/v1.0/orders/{id}` matches
/// `extapi/v1.0/orders/9001`).
fn route_matches(pattern: &str, route: &str) -> bool {
    let (pattern, route) = (normalise_route(pattern), normalise_route(route));
    if pattern == route {
        return true;
    }
    let (mut p, mut r) = (pattern.split('/'), route.split('/'));
    loop {
        match (p.next(), r.next()) {
            (None, None) => return true,
            (Some("{id}"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// What happens to one request: a total delay, then at most one other fault.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub action: Option<Fault>,
}

impl Plan {
    /// The name logged for this plan, if any fault triggered.
    pub(crate) fn fault_name(&self) -> Option<String> {
        match (&self.action, self.latency.is_zero()) {
            (Some(f), _) => Some(f.name()),
            (None, false) => Some("latency".into()),
            (None, true) => None,
        }
    }
}

/// The longest delay a plan adds up to.
const MAX_LATENCY: Duration = Duration::from_secs(3600);

/// Evaluates `rules` for one request, drawing from `rng`.
pub(crate) fn plan(rules: &[FaultRule], rng: &mut StdRng, vendor: &str, route: &str) -> Plan {
    let mut plan = Plan::default();
    for rule in rules.iter().filter(|r| r.matches(vendor, route)) {
        if !triggers(rule.rate, rng) {
            continue;
        }
        match &rule.fault {
            Fault::Latency { ms } => {
                plan.latency = plan.latency.saturating_add(Duration::from_millis(*ms)).min(MAX_LATENCY);
            }
            other => {
                plan.action = Some(other.clone());
                break;
            }
        }
    }
    plan
}

/// Whether a rule with `rate` triggers. A rate of 0 (or less, or NaN) never does and a
/// rate of 1 (or more) always does, without drawing; anything between draws once.
fn triggers(rate: f64, rng: &mut StdRng) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        false
    } else if rate >= 1.0 {
        true
    } else {
        rng.random_bool(rate)
    }
}

/// 429 with `Retry-After`: `{"message": "Too Many Requests"}`, or `vendor_body`, the
/// vendor's own shape of it.
pub(crate) fn rate_limited(retry_after_secs: u64, vendor_body: Option<Value>) -> Response {
    let mut r = answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", vendor_body);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// The status an injected `status` fault answers: one outside `400..=599` (set through
/// [`SandboxHandle::set_faults`](crate::SandboxHandle::set_faults) without
/// validation) becomes 500.
pub(crate) fn injected_status(status: u16) -> StatusCode {
    StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The injected status's answer: `{"message": "Injected fault"}`, or `vendor_body`, the
/// vendor's own shape of it.
pub(crate) fn injected(status: StatusCode, vendor_body: Option<Value>) -> Response {
    answer(status, "Injected fault", vendor_body)
}

fn answer(status: StatusCode, message: &str, vendor_body: Option<Value>) -> Response {
    match vendor_body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => json_message(status, message),
    }
}

/// A response whose body fails at once: hyper aborts the connection, so the client
/// gets the status line at most and an error reading the body.
pub(crate) fn broken_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "posbridge-sandbox: injected connection drop",
        ))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rules() -> Vec<FaultRule> {
        vec![
            FaultRule::new(Fault::Latency { ms: 5 }, 0.5),
            FaultRule::new(Fault::Status { status: 503 }, 0.3).for_route("api/push-sale"),
            FaultRule::new(Fault::DropAfterApply, 0.3).for_vendor("cloudma"),
        ]
    }

    fn sequence(seed: u64) -> Vec<Option<String>> {
        let mut rng = StdRng::seed_from_u64(seed);
        let rules = rules();
        (0..40)
            .map(|i| {
                let route = if i % 2 == 0 {
                    "api/push-sale"
                } else {
                    "/api/sync-stock/"
                };
                plan(&rules, &mut rng, "cloudma", route).fault_name()
            })
            .collect()
    }

    #[test]
    fn same_seed_same_faults() {
        assert_eq!(sequence(7), sequence(7));
        let names = sequence(7);
        assert!(names.iter().any(Option::is_none));
        assert!(names.iter().any(|n| n.as_deref() == Some("status_503")));
        assert!(names.iter().any(|n| n.as_deref() == Some("drop_after_apply")));
        assert!(names.iter().any(|n| n.as_deref() == Some("latency")));
        // status_503 only ever on push-sale (the odd requests are sync-stock).
        for (i, n) in names.iter().enumerate() {
            if i % 2 == 1 {
                assert_ne!(n.as_deref(), Some("status_503"));
            }
        }
    }

    #[test]
    fn rates_zero_and_one_and_out_of_range() {
        let mut rng = StdRng::seed_from_u64(1);
        let always = [FaultRule::new(Fault::DropBeforeApply, 1.0)];
        let never = [FaultRule::new(Fault::DropBeforeApply, 0.0)];
        let silly = [
            FaultRule::new(Fault::DropBeforeApply, f64::NAN),
            FaultRule::new(Fault::DropAfterApply, 7.0),
        ];
        for _ in 0..20 {
            assert_eq!(
                plan(&always, &mut rng, "cloudma", "x").action,
                Some(Fault::DropBeforeApply)
            );
            assert_eq!(plan(&never, &mut rng, "cloudma", "x").action, None);
            assert_eq!(
                plan(&silly, &mut rng, "cloudma", "x").action,
                Some(Fault::DropAfterApply)
            );
        }
        let other_vendor = [FaultRule::new(Fault::DropBeforeApply, 1.0).for_vendor("easpro")];
        assert_eq!(plan(&other_vendor, &mut rng, "cloudma", "x").action, None);
    }

    #[test]
    fn latency_adds_up_and_the_first_other_fault_wins() {
        let mut rng = StdRng::seed_from_u64(1);
        let rules = [
            FaultRule::new(Fault::Latency { ms: 10 }, 1.0),
            FaultRule::new(Fault::Latency { ms: 20 }, 1.0),
            FaultRule::new(Fault::RateLimit { retry_after_secs: 3 }, 1.0),
            FaultRule::new(Fault::Status { status: 500 }, 1.0),
            FaultRule::new(Fault::Latency { ms: u64::MAX }, 1.0),
        ];
        let p = plan(&rules, &mut rng, "cloudma", "api/push-sale");
        assert_eq!(p.latency, Duration::from_millis(30));
        assert_eq!(p.action, Some(Fault::RateLimit { retry_after_secs: 3 }));
        assert_eq!(p.fault_name().as_deref(), Some("rate_limit"));
        let huge = [FaultRule::new(Fault::Latency { ms: u64::MAX }, 1.0)];
        assert_eq!(plan(&huge, &mut rng, "cloudma", "x").latency, MAX_LATENCY);
    }

    /// Vendors and routes as a sandbox imitating these would pass them.
    const IMITATED: &[(&str, &[&str])] = &[
        ("cloudma", &["api/push-sale", "api/push-purchase", "api/sync-stock"]),
        ("codemax", &["api/v1/auth/login", "api/v1/auth/refresh", "api/v1/sync"]),
        ("salesmania", &["extapi/v1.0/orders", "extapi/v1.0/customers/{id}"]),
    ];

    /// Both checks, as a sandbox makes them.
    trait Check {
        fn check(&self) -> Result<(), String>;
    }

    impl Check for FaultRule {
        fn check(&self) -> Result<(), String> {
            self.validate().and_then(|()| self.validate_target(IMITATED))
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(FaultRule::new(Fault::DropAfterApply, 0.5).check().is_ok());
        assert!(
            FaultRule::new(Fault::DropAfterApply, 1.5)
                .check()
                .unwrap_err()
                .contains("rate")
        );
        assert!(
            FaultRule::new(Fault::Status { status: 200 }, 1.0)
                .check()
                .unwrap_err()
                .contains("status")
        );
        assert!(
            FaultRule::new(Fault::DropAfterApply, 1.0)
                .for_vendor("nope")
                .check()
                .unwrap_err()
                .contains("unknown vendor")
        );
        assert!(
            FaultRule::new(Fault::DropAfterApply, 1.0)
                .for_route("api/push-sales")
                .check()
                .unwrap_err()
                .contains("unknown route")
        );
        assert!(
            FaultRule::new(Fault::DropAfterApply, 1.0)
                .for_vendor("cloudma")
                .for_route("/api/push-sale")
                .check()
                .is_ok()
        );
        for route in ["api/v1/sync", "api/v1/auth/login", "/api/v1/auth/refresh/"] {
            assert!(
                FaultRule::new(Fault::DropAfterApply, 1.0)
                    .for_vendor("codemax")
                    .for_route(route)
                    .check()
                    .is_ok(),
                "{route}"
            );
            assert!(
                FaultRule::new(Fault::DropAfterApply, 1.0)
                    .for_route(route)
                    .check()
                    .is_ok()
            );
        }
        assert!(
            FaultRule::new(Fault::DropAfterApply, 1.0)
                .for_vendor("codemax")
                .for_route("api/push-sale")
                .check()
                .is_err()
        );
    }

    #[test]
    fn id_segments_match_any_id() {
        assert!(route_matches("extapi/v1.0/orders/{id}", "extapi/v1.0/orders/9001"));
        assert!(route_matches("/extapi/v1.0/orders/", "extapi/v1.0/orders"));
        assert!(!route_matches("extapi/v1.0/orders/{id}", "extapi/v1.0/orders"));
        assert!(!route_matches("extapi/v1.0/orders", "extapi/v1.0/orders/9001"));
        let rule = FaultRule::new(Fault::Status { status: 500 }, 1.0)
            .for_vendor("salesmania")
            .for_route("extapi/v1.0/customers/{id}");
        assert!(rule.check().is_ok());
        assert!(rule.matches("salesmania", "extapi/v1.0/customers/3001"));
    }

    #[test]
    fn fault_json_shape() {
        let r: FaultRule = serde_json::from_str(
            r#"{"route": "api/push-sale", "fault": {"kind": "status", "status": 503}, "rate": 1}"#,
        )
        .unwrap();
        assert_eq!(r.fault.name(), "status_503");
        assert!(serde_json::from_str::<FaultRule>(r#"{"fault": {"kind": "explode"}, "rate": 1}"#).is_err());
        assert!(
            serde_json::from_str::<FaultRule>(r#"{"fault": {"kind": "drop_after_apply"}, "rate": 1, "x": 1}"#).is_err()
        );
    }
}
