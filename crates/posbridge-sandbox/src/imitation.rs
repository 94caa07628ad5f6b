//! The one trait a vendor imitation implements: [`VendorImitation`].
//!
//! An imitation lives in its vendor's crate (`posbridge_<vendor>::sandbox`, behind that
//! crate's `sandbox` feature), written independently of the connector beside it. It
//! says which path prefix and routes it serves, reads its own section of the
//! [`SandboxConfig`](crate::SandboxConfig), keeps its own state (sessions, tokens,
//! records beyond the shared documents) and resets it, and says what a client needs to
//! reach it. The sandbox mounts it under `/<name>/`, logs its requests and injects
//! faults around it; nothing in the sandbox names a vendor.

use std::any::Any;
use std::fmt;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::SandboxError;
use crate::state::{App, Catalogue};

/// A vendor the sandbox imitates.
///
/// The sandbox calls [`start`](Self::start) once, before it serves, then
/// [`router`](Self::router) and [`admin_router`](Self::admin_router) to mount it;
/// [`reference_of`](Self::reference_of) and [`fault_body`](Self::fault_body) for each
/// request; [`reset`](Self::reset) when the sandbox resets. A handler validates and
/// applies under the sandbox's one lock ([`Shared::lock`](crate::Shared::lock), or
/// [`Shared::lock_with`](crate::Shared::lock_with) with the imitation's own ledger) and
/// answers a [`Reply`](crate::Reply) saying whether it applied.
///
/// A minimal imitation, one route that books a sale under its reference:
///
/// ```
/// use axum::extract::State;
/// use axum::http::{HeaderMap, StatusCode};
/// use axum::routing::post;
/// use axum::{Json, Router};
/// use posbridge_sandbox::{App, DocKind, Reply, SandboxError, Setup, VendorImitation};
/// use serde_json::{Value, json};
///
/// #[derive(Debug, Default)]
/// struct Kedai;
///
/// async fn push_sale(State(app): State<App>, Json(sale): Json<Value>) -> Reply {
///     let Some(reference) = sale["reference"].as_str() else {
///         return Reply::message(StatusCode::UNPROCESSABLE_ENTITY, "reference is required");
///     };
///     let mut state = app.lock();
///     state.store_document("kedai", DocKind::Sale, reference, sale.clone());
///     Reply { status: StatusCode::CREATED, body: json!({"ok": true}), applied: true }
/// }
///
/// impl VendorImitation for Kedai {
///     fn name(&self) -> &'static str { "kedai" }
///     fn routes(&self) -> &'static [&'static str] { &["sales"] }
///     fn start(&mut self, _setup: &Setup<'_>) -> Result<(), SandboxError> { Ok(()) }
///     fn router(&self) -> Router<App> { Router::new().route("/sales", post(push_sale)) }
///     fn reference_of(&self, _route: &str, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
///         let body: Value = serde_json::from_slice(body).ok()?;
///         Some(body["reference"].as_str()?.to_owned())
///     }
///     fn connector_section(&self, vendor_url: &str) -> Value {
///         json!({"base_url": vendor_url})
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sandbox = posbridge_sandbox::Sandbox::start(Default::default(), vec![Box::new(Kedai)]).await?;
/// let answer = reqwest::Client::builder().no_proxy().build()?
///     .post(format!("{}sales", sandbox.vendor_url("kedai")))
///     .json(&json!({"reference": "S-1"}))
///     .send()
///     .await?;
/// assert_eq!(answer.status(), 201);
/// assert!(sandbox.state().documents["kedai"].sales.contains_key("S-1"));
/// assert_eq!(sandbox.requests()[0].reference.as_deref(), Some("S-1"));
/// sandbox.shutdown().await;
/// # Ok(()) }
/// ```
pub trait VendorImitation: Any + Send + Sync + fmt::Debug {
    /// The vendor's short name: its path prefix (`/<name>/…`), its key in the
    /// documents, the request log and fault rules, and its section of the
    /// [`SandboxConfig`](crate::SandboxConfig). The same as its connector's name.
    fn name(&self) -> &'static str;

    /// Its routes, as paths after the prefix (`api/push-sale`; `{id}` stands for any
    /// one segment): what a fault rule may name.
    fn routes(&self) -> &'static [&'static str];

    /// Reads its settings from its section ([`Setup::settings`]), checks them against
    /// the catalogue, and sets up its own state. Called once, before the sandbox
    /// serves; a setting that cannot work is [`SandboxError::InvalidConfig`].
    fn start(&mut self, setup: &Setup<'_>) -> Result<(), SandboxError>;

    /// Its routes, relative to its prefix (`/api/push-sale`), served once started.
    fn router(&self) -> Router<App>;

    /// Routes of its own under `/_sandbox/<name>/` (never logged, never faulted),
    /// e.g. to expire its tokens; none by default.
    fn admin_router(&self) -> Router<App> {
        Router::new()
    }

    /// The document reference a request to `route` carries in its body, for the log.
    fn reference_of(&self, route: &str, headers: &HeaderMap, body: &[u8]) -> Option<String>;

    /// The body of an injected 429 or error `status` in the vendor's own shape, when it
    /// has one; `None` (the default) for the generic `{"message": …}`.
    fn fault_body(&self, status: StatusCode) -> Option<Value> {
        let _ = status;
        None
    }

    /// Back to the start: forgets its own state (tokens, records), as the sandbox's
    /// reset does for the shared state. Called with the shared state locked: lock only
    /// the imitation's own ledger here.
    fn reset(&self) {}

    /// The config section (as `posbridge::VendorConfig` takes it, without the `vendor`
    /// tag) of a connector pointed at this imitation at `vendor_url`, with the
    /// credentials and ids it accepts: what `posbridge demo`, `posbridge sandbox` and
    /// tests connect with. It may issue a credential (a token minted without a
    /// browser step).
    fn connector_section(&self, vendor_url: &str) -> Value;

    /// How `posbridge demo` runs this vendor against the sandbox.
    fn demo(&self) -> DemoProfile {
        DemoProfile::default()
    }
}

/// What [`VendorImitation::start`] gets: its section of the config, the catalogue, the
/// seed, and the shared state.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The imitation's name.
    pub vendor: &'a str,
    /// Its section of the [`SandboxConfig`](crate::SandboxConfig), if any.
    pub section: Option<&'a Value>,
    /// The catalogue the sandbox starts with.
    pub catalogue: &'a Catalogue,
    /// The sandbox's seed (an imitation seeds its own generators from it, so that
    /// issuing tokens never changes which faults trigger).
    pub seed: u64,
    /// The shared state, for the imitation's handlers.
    pub app: &'a App,
}

impl Setup<'_> {
    /// The section read as `T` (its defaults when there is none). A section that does
    /// not fit (an unknown field where `T` refuses them, a wrong type) is
    /// [`SandboxError::InvalidConfig`] naming the vendor.
    pub fn settings<T: DeserializeOwned + Default>(&self) -> Result<T, SandboxError> {
        match self.section {
            None => Ok(T::default()),
            Some(section) => serde_json::from_value(section.clone())
                .map_err(|e| SandboxError::InvalidConfig(format!("{}: {e}", self.vendor))),
        }
    }
}

/// How `posbridge demo` runs one vendor against the sandbox: what the imitation
/// starts with, which of its routes `--faults` makes misbehave, and what a day of the
/// vendor's sales may hold.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoProfile {
    /// The section the demo starts the imitation with, instead of its defaults.
    pub settings: Option<Value>,
    /// Routes that write, which `--faults` makes slow, rate limited, failing or drop
    /// (before or after applying). Only routes whose uncertain outcome can be settled
    /// belong here.
    pub fault_writes: &'static [&'static str],
    /// Routes that read, which `--faults` makes fail or drop.
    pub fault_reads: &'static [&'static str],
    /// Whether the day's sales may charge shipping (a vendor whose documents have no
    /// shipping field: `false`).
    pub ships: bool,
    /// Whether the day's sales may name a customer (a vendor with no customer code to
    /// find a POS customer by: `false`, sold at the counter).
    pub named_customers: bool,
    /// Whether the imitation refuses a repeated reference with a recognisable code even
    /// where the connector declares duplicates unknown, so an uncertain push may be
    /// settled by re-sending it.
    pub refuses_repeated_reference: bool,
    /// The kind of sale the vendor voids, when it voids only one kind (Asalta voids
    /// orders, not invoices): the demo books a sale of that kind to void. `None`: any.
    pub voids_only: Option<posbridge_core::SaleKind>,
}

impl Default for DemoProfile {
    fn default() -> Self {
        Self {
            settings: None,
            fault_writes: &[],
            fault_reads: &[],
            ships: true,
            named_customers: true,
            refuses_repeated_reference: false,
            voids_only: None,
        }
    }
}
