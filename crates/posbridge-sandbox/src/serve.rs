//! The imitations a sandbox serves ([`Imitations`]), each mounted under `/<vendor>/`,
//! and the layer around their routes.
//!
//! Every request to a vendor route passes through [`vendor_layer`]: it numbers the
//! request, decides its faults, applies them around the imitation's handler, and logs
//! the outcome. An imitation only validates and applies: it returns a
//! [`Reply`](crate::Reply) saying whether the state changed (and, for a request that
//! carries several documents, which ones it applied:
//! [`AppliedReferences`](crate::AppliedReferences)).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::faults::{self, Fault, FaultRule};
use crate::imitation::VendorImitation;
use crate::reply::{json_message, outcome};
use crate::state::{App, RequestRecord, Ticket};

/// The vendor imitations of one sandbox, started, in the order given.
#[derive(Debug)]
pub(crate) struct Imitations(Vec<Box<dyn VendorImitation>>);

impl Imitations {
    pub(crate) fn new(imitations: Vec<Box<dyn VendorImitation>>) -> Self {
        Self(imitations)
    }

    /// The imitation with the path prefix `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&dyn VendorImitation> {
        self.0.iter().find(|i| i.name() == name).map(AsRef::as_ref)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &dyn VendorImitation> {
        self.0.iter().map(AsRef::as_ref)
    }

    /// Their path prefixes, in order.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|i| i.name()).collect()
    }

    /// Each vendor with its routes, as fault rules are checked against them.
    fn targets(&self) -> Vec<(&'static str, &'static [&'static str])> {
        self.0.iter().map(|i| (i.name(), i.routes())).collect()
    }

    /// Checks a fault rule: its rate and status, and that its vendor and route are
    /// ones this sandbox imitates.
    pub(crate) fn check(&self, rule: &FaultRule) -> Result<(), String> {
        rule.validate()?;
        rule.validate_target(&self.targets())
    }

    /// Resets every imitation's own state. The caller holds the shared state's lock.
    pub(crate) fn reset(&self) {
        for i in &self.0 {
            i.reset();
        }
    }

    /// Splits `/<vendor>/api/push-sale` into the imitation of that prefix and its route.
    fn split<'p>(&self, path: &'p str) -> Option<(&dyn VendorImitation, &'p str)> {
        let rest = path.strip_prefix('/')?;
        let (first, route) = rest.split_once('/').unwrap_or((rest, ""));
        self.get(first).map(|i| (i, route))
    }
}

/// Resets the sandbox: the shared state, then (under its lock) every imitation's own.
pub(crate) fn reset(app: &App, imitations: &Imitations) {
    let mut state = app.lock();
    state.reset();
    imitations.reset();
}

/// Every imitation's routes, each nested under `/<vendor>`, and its admin routes under
/// `/_sandbox/<vendor>`.
pub(crate) fn router(imitations: &Imitations) -> Router<App> {
    imitations.iter().fold(Router::new(), |router, i| {
        router
            .nest(&format!("/{}", i.name()), i.router())
            .nest(&format!("/_sandbox/{}", i.name()), i.admin_router())
    })
}

/// The largest request body a vendor route reads.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

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

/// What [`vendor_layer`] needs: the shared state and the imitations.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    pub(crate) app: App,
    pub(crate) imitations: Arc<Imitations>,
}

/// The middleware around every route: for vendor paths, faults and the log.
pub(crate) async fn vendor_layer(State(layer): State<Layer>, request: Request, next: Next) -> Response {
    let Layer { app, imitations } = layer;
    let path = request.uri().path().to_owned();
    let Some((imitation, route)) = imitations.split(&path) else {
        return next.run(request).await;
    };
    let vendor = imitation.name();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await;
    let reference = bytes
        .as_ref()
        .ok()
        .and_then(|b| imitation.reference_of(route, &parts.headers, b));
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
            let vendor_body = imitation.fault_body(StatusCode::TOO_MANY_REQUESTS);
            let response = faults::rate_limited(retry_after_secs, vendor_body);
            guard.finish(Some(response.status()), NOTHING);
            response
        }
        Some(Fault::Status { status }) => {
            let status = faults::injected_status(status);
            let response = faults::injected(status, imitation.fault_body(status));
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use serde_json::Value;

    use crate::error::SandboxError;
    use crate::imitation::Setup;

    /// An imitation with a name and nothing else.
    #[derive(Debug)]
    struct Named(&'static str);

    impl VendorImitation for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn routes(&self) -> &'static [&'static str] {
            &[]
        }
        fn start(&mut self, _: &Setup<'_>) -> Result<(), SandboxError> {
            Ok(())
        }
        fn router(&self) -> Router<App> {
            Router::new()
        }
        fn reference_of(&self, _: &str, _: &HeaderMap, _: &[u8]) -> Option<String> {
            None
        }
        fn connector_section(&self, _: &str) -> Value {
            Value::Null
        }
    }

    #[test]
    fn splits_known_vendor_paths_only() {
        let imitations = Imitations::new(vec![
            Box::new(Named("cloudma")),
            Box::new(Named("easpro")),
            Box::new(Named("codemax")),
        ]);
        let split = |path| imitations.split(path).map(|(i, route)| (i.name(), route));
        assert_eq!(split("/cloudma/api/push-sale"), Some(("cloudma", "api/push-sale")));
        assert_eq!(split("/cloudma"), Some(("cloudma", "")));
        assert_eq!(
            split("/easpro/eas/api/external/transaction/payment/create"),
            Some(("easpro", "eas/api/external/transaction/payment/create"))
        );
        assert_eq!(split("/_sandbox/state"), None);
        assert_eq!(split("/cloudmax/api/push-sale"), None);
        assert_eq!(
            split("/codemax/api/v1/auth/login"),
            Some(("codemax", "api/v1/auth/login"))
        );
        assert_eq!(split(""), None);
    }
}
