//! The vendor imitations, one module each, mounted under `/<vendor>/`.
//!
//! Every request to a vendor route passes through [`vendor_layer`]: it numbers the
//! request, decides its faults, applies them around the vendor's handler, and logs
//! the outcome. A vendor module only validates and applies: it returns a [`Reply`]
//! saying whether the state changed (and, for a request that carries several
//! documents, which ones it applied: [`AppliedReferences`]).
//!
//! To add a vendor: a module here with `VENDOR`, `ROUTES`, `router()` and
//! `reference_of()`, then one line in each of [`VENDORS`], [`routes`], [`router`]
//! and [`reference_of`]. A vendor with settings adds them to [`Shared`](crate::state::Shared)
//! (and to `SandboxConfig`).

pub(crate) mod asalta;
pub(crate) mod body;
pub(crate) mod cloudma;
pub(crate) mod codemax;
pub(crate) mod easpro;
pub(crate) mod salesmania;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::faults::{self, Fault};
use crate::state::{App, RequestRecord, Ticket};

/// The vendors the sandbox imitates, by path prefix.
pub(crate) const VENDORS: &[&str] = &[
    asalta::VENDOR,
    cloudma::VENDOR,
    codemax::VENDOR,
    easpro::VENDOR,
    salesmania::VENDOR,
];

/// A vendor's routes, as paths after its prefix (`api/push-sale`).
pub(crate) fn routes(vendor: &str) -> &'static [&'static str] {
    match vendor {
        asalta::VENDOR => asalta::ROUTES,
        cloudma::VENDOR => cloudma::ROUTES,
        codemax::VENDOR => codemax::ROUTES,
        easpro::VENDOR => easpro::ROUTES,
        salesmania::VENDOR => salesmania::ROUTES,
        _ => &[],
    }
}

/// Every vendor's routes, each nested under `/<vendor>`.
pub(crate) fn router() -> Router<App> {
    Router::new()
        .nest(&format!("/{}", asalta::VENDOR), asalta::router())
        .nest(&format!("/{}", cloudma::VENDOR), cloudma::router())
        .nest(&format!("/{}", codemax::VENDOR), codemax::router())
        .nest(&format!("/{}", easpro::VENDOR), easpro::router())
        .nest(&format!("/{}", salesmania::VENDOR), salesmania::router())
}

/// The document reference a request to `route` carries in its body, for the log.
fn reference_of(vendor: &str, route: &str, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    match vendor {
        asalta::VENDOR => asalta::reference_of(route, body),
        cloudma::VENDOR => cloudma::reference_of(headers, body),
        codemax::VENDOR => codemax::reference_of(route, body),
        easpro::VENDOR => easpro::reference_of(route, body),
        salesmania::VENDOR => salesmania::reference_of(route, body),
        _ => None,
    }
}

/// The largest request body a vendor route reads.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// What a vendor handler answers, and whether it changed the state.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub applied: bool,
}

impl Reply {
    /// A reply that changed nothing: `{"message": …}`.
    pub(crate) fn message(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "message": message.into() }),
            applied: false,
        }
    }
}

/// Carried on a handler's response so [`vendor_layer`] can log whether it applied.
#[derive(Debug, Clone, Copy)]
struct Applied(bool);

/// Carried on a handler's response when a request may apply several documents (a
/// Codemax sync): the references of those it applied, for the log's
/// `applied_references`. Without it, an applied request applied its `reference`.
#[derive(Debug, Clone)]
pub(crate) struct AppliedReferences(pub Vec<String>);

/// Whether a handler's response says it applied, and what.
fn outcome(response: &Response) -> (bool, Option<Vec<String>>) {
    let applied = response.extensions().get::<Applied>().is_some_and(|a| a.0);
    let references = response.extensions().get::<AppliedReferences>().map(|r| r.0.clone());
    (applied, references)
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        r.extensions_mut().insert(Applied(self.applied));
        r
    }
}

/// `{"message": …}` with `status`.
pub(crate) fn json_message(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// Splits `/cloudma/api/push-sale` into a known vendor and its route.
fn split_vendor_path(path: &str) -> Option<(&'static str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (first, route) = rest.split_once('/').unwrap_or((rest, ""));
    VENDORS.iter().find(|v| **v == first).map(|v| (*v, route))
}

/// Logs a request when dropped, so a request whose client went away mid-way is logged
/// too (with no status).
struct LogGuard {
    app: App,
    ticket: Ticket,
    record: Option<RequestRecord>,
}

impl LogGuard {
    /// Logs the request: its status (`None`: dropped), whether it applied, and which
    /// documents (`None`: its `reference`, if it applied).
    fn finish(mut self, status: Option<StatusCode>, (applied, references): (bool, Option<Vec<String>>)) {
        if let Some(mut record) = self.record.take() {
            record.status = status.map(|s| s.as_u16());
            record.applied = applied;
            record.applied_references = match references {
                Some(r) => r,
                None if applied => record.reference.iter().cloned().collect(),
                None => Vec::new(),
            };
            tracing::info!(
                vendor = %record.vendor,
                method = %record.method,
                path = %record.path,
                status = ?record.status,
                fault = ?record.fault,
                applied,
                reference = ?record.reference,
                "sandbox request"
            );
            self.app.lock().finish(self.ticket, record);
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            tracing::info!(vendor = %record.vendor, path = %record.path, "sandbox request abandoned by the client");
            self.app.lock().finish(self.ticket, record);
        }
    }
}

/// The middleware around every route: for vendor paths, faults and the log.
pub(crate) async fn vendor_layer(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some((vendor, route)) = split_vendor_path(&path) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await;
    let reference = bytes
        .as_ref()
        .ok()
        .and_then(|b| reference_of(vendor, route, &parts.headers, b));
    let (ticket, plan) = app.lock().begin(vendor, route);
    let guard = LogGuard {
        app: app.clone(),
        ticket,
        record: Some(RequestRecord {
            seq: 0,
            vendor: vendor.to_owned(),
            method: parts.method.to_string(),
            path: path.clone(),
            status: None,
            fault: plan.fault_name(),
            applied: false,
            reference,
            applied_references: Vec::new(),
        }),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(_) => {
            let mut guard = guard;
            // The faults drawn were not applied: the body could not be read.
            if let Some(r) = guard.record.as_mut() {
                r.fault = None;
            }
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            guard.finish(Some(status), NOTHING);
            return json_message(status, "Malformed request: the body is too large or was cut off");
        }
    };

    if !plan.latency.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(plan.latency) => {}
            () = app.shutting_down() => {}
        }
    }

    let request = Request::from_parts(parts, Body::from(bytes));
    match plan.action {
        // Latency never ends a plan; treat it as no fault.
        None | Some(Fault::Latency { .. }) => {
            let response = next.run(request).await;
            guard.finish(Some(response.status()), outcome(&response));
            response
        }
        Some(Fault::RateLimit { retry_after_secs }) => {
            let response = faults::rate_limited(vendor, retry_after_secs);
            guard.finish(Some(response.status()), NOTHING);
            response
        }
        Some(Fault::Status { status }) => {
            let response = faults::injected_status(vendor, status);
            guard.finish(Some(response.status()), NOTHING);
            response
        }
        Some(Fault::DropBeforeApply) => {
            guard.finish(None, NOTHING);
            faults::broken_connection()
        }
        Some(Fault::DropAfterApply) => {
            let response = next.run(request).await;
            guard.finish(None, outcome(&response));
            faults::broken_connection()
        }
    }
}

/// The outcome of a request that applied nothing.
const NOTHING: (bool, Option<Vec<String>>) = (false, None);

/// The body of an injected 429 or error status in the vendor's own shape, when it has
/// one (Codemax: `{"code", "message"}`); `None` for the generic `{"message": …}`.
pub(crate) fn fault_body(vendor: &str, status: StatusCode) -> Option<Value> {
    match vendor {
        codemax::VENDOR => codemax::fault_body(status),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_known_vendor_paths_only() {
        assert_eq!(
            split_vendor_path("/cloudma/api/push-sale"),
            Some(("cloudma", "api/push-sale"))
        );
        assert_eq!(split_vendor_path("/cloudma"), Some(("cloudma", "")));
        assert_eq!(
            split_vendor_path("/easpro/eas/api/external/transaction/payment/create"),
            Some(("easpro", "eas/api/external/transaction/payment/create"))
        );
        assert_eq!(split_vendor_path("/_sandbox/state"), None);
        assert_eq!(split_vendor_path("/cloudmax/api/push-sale"), None);
        assert_eq!(
            split_vendor_path("/codemax/api/v1/auth/login"),
            Some(("codemax", "api/v1/auth/login"))
        );
        assert_eq!(split_vendor_path(""), None);
    }
}
