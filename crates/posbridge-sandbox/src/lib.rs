//! # posbridge-sandbox
//!
//! A local, stateful imitation of the back-office vendor APIs posbridge talks to, so a
//! POS integration (and posbridge's own end-to-end tests) can run against something
//! that behaves like the vendor — validates, refuses, books, moves stock — without an
//! account, a network or a vendor's test server.
//!
//! **What it does.** One HTTP server on loopback serves every vendor it is given under
//! its own path prefix (`/<vendor>/…`). The vendors are [`VendorImitation`]s, one per
//! vendor crate (`posbridge_<vendor>::sandbox::imitation()`, behind that crate's
//! `sandbox` feature; `posbridge::sandbox_imitations()` gives every one compiled in).
//! The state is shared ([`SharedState`]): one [`Catalogue`] whose stock every vendor's
//! sales lower and purchases raise, the documents each vendor received (by reference),
//! and a log of every request. Fault rules ([`FaultRule`]) make requests slow, rate
//! limited, failing, or drop the connection before or after the request is applied;
//! they are drawn from one seeded generator, so a run repeats. The `/_sandbox/*` routes
//! (and the same methods on [`SandboxHandle`]) show the state and the log, reset, and
//! set faults. See `docs/sandbox.md` for the routes, the admin API and the fault kinds.
//!
//! **What it does not do.** It names no vendor: what a vendor answers is its
//! imitation's business, written in the vendor's crate independently of the connector
//! beside it (each checks the other: the vendor crate's `tests/sandbox_fixtures.rs`
//! replays the connector's conformance fixtures against its imitation). It keeps
//! everything in memory (a restart starts over), does no TLS, and is meant for
//! loopback: do not expose it.
//!
//! **Tests.** Unit tests next to the code (`state.rs`, `faults.rs`, `serve.rs`,
//! `body.rs`); against a started sandbox with a small imitation of the tests' own
//! (`tests/common`): `tests/admin_faults.rs` (admin API, fault injection, determinism,
//! dropped connections, shutdown, start-up errors). Each vendor's imitation is tested
//! in its own crate (`tests/sandbox*.rs`).
//!
//! ```
//! use posbridge_sandbox::{Sandbox, SandboxConfig, StateSnapshot};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // With the imitations of a build: `Sandbox::start(config, posbridge::sandbox_imitations())`.
//! let sandbox = Sandbox::start(SandboxConfig::default(), Vec::new()).await?;
//! let state: StateSnapshot = reqwest::Client::builder()
//!     .no_proxy()
//!     .build()?
//!     .get(format!("{}_sandbox/state", sandbox.base_url()))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(state.products[0].code, "TEA-100");
//! assert_eq!(state.stock("TEA-100"), Some(118.into()));
//! assert!(sandbox.requests().is_empty(), "the admin API is not logged");
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod admin;
pub mod body;
mod error;
mod faults;
mod imitation;
mod reply;
mod serve;
mod state;
/// Helpers for tests against a started sandbox, shared by the sandbox's own tests and
/// each vendor crate's (`bounded`: a test body with a time limit).
pub mod testing;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::error::SandboxError;
pub use crate::faults::{Fault, FaultRule};
pub use crate::imitation::{DemoProfile, Setup, VendorImitation};
pub use crate::reply::{AppliedReferences, Reply, json_message};
use crate::serve::{Imitations, Layer};
pub use crate::state::{
    App, Catalogue, DocKind, Locked, Product, RequestRecord, Shared, SharedState, StateSnapshot, StockOverflow,
    VendorDocuments,
};

/// How to start a sandbox. Every field has a default, so `{}` (or
/// [`SandboxConfig::default()`]) is a working configuration.
///
/// ```
/// use posbridge_sandbox::SandboxConfig;
///
/// let config: SandboxConfig = serde_json::from_str(r#"{"seed": 7, "kedai": {"token": "t"}}"#)?;
/// assert_eq!(config.seed, 7);
/// assert_eq!(config.vendors["kedai"]["token"], "t");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxConfig {
    /// Where to listen; default `127.0.0.1:0` (loopback, a free port).
    pub bind: SocketAddr,
    /// The products and their initial stock; default [`Catalogue::sample()`].
    pub catalogue: Catalogue,
    /// Seeds the fault generator, so the same requests get the same faults; default 42.
    pub seed: u64,
    /// Fault rules in force from the start; default none.
    pub faults: Vec<FaultRule>,
    /// Each vendor's settings, by its name, beside the fields above
    /// (`{"<vendor>": {"token": "…"}}`): each imitation reads its own section
    /// ([`Setup::settings`]) and refuses what it does not know. A section that names no
    /// vendor the sandbox imitates is refused when it starts.
    #[serde(flatten)]
    pub vendors: BTreeMap<String, Value>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            catalogue: Catalogue::sample(),
            seed: 42,
            faults: Vec::new(),
            vendors: BTreeMap::new(),
        }
    }
}

impl SandboxConfig {
    /// The same, with `section` as the settings of the vendor `vendor`.
    #[must_use]
    pub fn with_section(mut self, vendor: impl Into<String>, section: Value) -> Self {
        self.vendors.insert(vendor.into(), section);
        self
    }
}

/// Starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Validates `config` (the catalogue, the fault rules, each section against the
    /// `imitations`), starts every imitation (each reads and checks its settings),
    /// binds the address and serves in a background task until
    /// [`SandboxHandle::shutdown`] (or until the handle is dropped). Must be called
    /// inside a Tokio runtime.
    pub async fn start(
        config: SandboxConfig,
        mut imitations: Vec<Box<dyn VendorImitation>>,
    ) -> Result<SandboxHandle, SandboxError> {
        config.catalogue.validate()?;
        let mut names: Vec<&'static str> = Vec::new();
        for i in &imitations {
            if names.contains(&i.name()) {
                return Err(SandboxError::InvalidConfig(format!("two imitations of {:?}", i.name())));
            }
            names.push(i.name());
        }
        if let Some(unknown) = config.vendors.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(SandboxError::InvalidConfig(format!(
                "the section {unknown:?} names no vendor the sandbox imitates ({})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
        for (i, rule) in config.faults.iter().enumerate() {
            check_rule(&imitations, rule).map_err(|e| SandboxError::InvalidFault(format!("rule #{i}: {e}")))?;
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = SharedState::new(config.catalogue.clone(), config.seed, config.faults)
            .with_vendors(names.iter().map(|n| (*n).to_owned()).collect());
        let app: App = Arc::new(Shared::new(state, shutdown_rx));
        for imitation in &mut imitations {
            let vendor = imitation.name();
            imitation.start(&Setup {
                vendor,
                section: config.vendors.get(vendor),
                catalogue: &config.catalogue,
                seed: config.seed,
                app: &app,
            })?;
        }
        let imitations = Arc::new(Imitations::new(imitations));
        let bind = config.bind;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| SandboxError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr: bind, source })?;
        let app_router = router(Layer {
            app: app.clone(),
            imitations: imitations.clone(),
        });
        let signal = {
            let app = app.clone();
            async move { app.shutting_down().await }
        };
        let task = tokio::spawn(async move { axum::serve(listener, app_router).with_graceful_shutdown(signal).await });
        tracing::info!(%addr, "posbridge sandbox listening");
        Ok(SandboxHandle {
            addr,
            app,
            imitations,
            shutdown,
            task,
        })
    }
}

/// Checks a fault rule against imitations not yet started.
fn check_rule(imitations: &[Box<dyn VendorImitation>], rule: &FaultRule) -> Result<(), String> {
    let targets: Vec<(&str, &[&str])> = imitations.iter().map(|i| (i.name(), i.routes())).collect();
    rule.validate()?;
    rule.validate_target(&targets)
}

fn router(layer: Layer) -> Router {
    Router::new()
        .merge(admin::router(layer.clone()))
        .merge(serve::router(&layer.imitations))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(layer.clone(), serve::vendor_layer))
        .with_state(layer.app)
}

async fn not_found() -> Response {
    json_message(StatusCode::NOT_FOUND, "Not Found")
}

/// A running sandbox. Dropping it stops the server (gracefully, in the background);
/// [`shutdown`](Self::shutdown) stops it and waits.
pub struct SandboxHandle {
    addr: SocketAddr,
    app: App,
    imitations: Arc<Imitations>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
            .field("vendors", &self.imitations.names())
            .field("running", &!self.task.is_finished())
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/` (an unspecified bind address such as `0.0.0.0` is
    /// given as loopback, which clients can reach).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/", SocketAddr::new(ip, self.addr.port()))
    }

    /// A vendor's base URL, `http://127.0.0.1:PORT/<vendor>/`: what a connector's
    /// `base_url` is set to.
    pub fn vendor_url(&self, vendor: &str) -> String {
        format!("{}{}/", self.base_url(), vendor.trim_matches('/'))
    }

    /// The vendors imitated, by path prefix, in the order given to [`Sandbox::start`].
    pub fn vendors(&self) -> Vec<&'static str> {
        self.imitations.names()
    }

    /// The imitation of `vendor`, if the sandbox has one.
    pub fn imitation_of(&self, vendor: &str) -> Option<&dyn VendorImitation> {
        self.imitations.get(vendor)
    }

    /// The imitation of type `T`, if the sandbox has one: how a vendor crate reaches
    /// its own (to mint a token, expire its sessions…).
    pub fn imitation<T: VendorImitation>(&self) -> Option<&T> {
        self.imitations.iter().find_map(|i| (i as &dyn Any).downcast_ref::<T>())
    }

    /// The config section of a connector pointed at `vendor`'s imitation, with the
    /// credentials and ids it accepts ([`VendorImitation::connector_section`]); `None`
    /// when the sandbox does not imitate `vendor`.
    pub fn connector_section(&self, vendor: &str) -> Option<Value> {
        let imitation = self.imitations.get(vendor)?;
        Some(imitation.connector_section(&self.vendor_url(vendor)))
    }

    /// The shared state, as the imitations' handlers see it.
    pub fn shared(&self) -> &App {
        &self.app
    }

    /// The state now: the same data as `GET /_sandbox/state`.
    pub fn state(&self) -> StateSnapshot {
        self.app.lock().snapshot()
    }

    /// The request log, in order of arrival: the same as `GET /_sandbox/requests`.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.lock().requests()
    }

    /// The fault rules in force: the same as `GET /_sandbox/faults`.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.app.lock().faults()
    }

    /// Checks a fault rule as [`Sandbox::start`] and `POST /_sandbox/faults` do: its
    /// rate and status ([`FaultRule::validate`]), and that its vendor and route are ones
    /// this sandbox imitates. The error says what is wrong.
    pub fn validate_fault(&self, rule: &FaultRule) -> Result<(), String> {
        self.imitations.check(rule)
    }

    /// Replaces the fault rules, as `POST /_sandbox/faults` does. The rules are not
    /// validated here (check them with [`Self::validate_fault`]): a rate outside
    /// `0.0..=1.0` is clamped and a status outside `400..=599` becomes 500.
    pub fn set_faults(&self, faults: Vec<FaultRule>) {
        for (i, rule) in faults.iter().enumerate() {
            if let Err(e) = self.imitations.check(rule) {
                tracing::warn!(rule = i, "questionable sandbox fault rule: {e}");
            }
        }
        self.app.lock().set_faults(faults);
    }

    /// Restores the original catalogue, clears the documents, ids and the request log,
    /// resets every imitation's own state (tokens, sessions, records), and re-seeds the
    /// fault generator, as `POST /_sandbox/reset` does. The fault rules stay.
    pub fn reset(&self) {
        serve::reset(&self.app, &self.imitations);
    }

    /// Stops accepting connections, lets requests in flight finish (a latency fault's
    /// wait is cut short), and returns when the server has stopped.
    pub async fn shutdown(self) {
        let Self { shutdown, task, .. } = self;
        shutdown.send_replace(true);
        finished(task.await);
    }

    /// Runs until the server stops. It does not stop by itself: use this when
    /// something else ends the process; to stop on a signal, see
    /// [`shutdown_on`](Self::shutdown_on).
    pub async fn wait(self) {
        let Self { shutdown, task, .. } = self;
        finished(task.await);
        drop(shutdown);
    }

    /// Runs until `signal` completes (e.g. Ctrl-C), then shuts down gracefully as
    /// [`shutdown`](Self::shutdown) does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), posbridge_sandbox::SandboxError> {
    /// let sandbox = posbridge_sandbox::Sandbox::start(Default::default(), Vec::new()).await?;
    /// // A CLI would pass `async { let _ = tokio::signal::ctrl_c().await; }`.
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let _ = stop.send(());
    /// sandbox.shutdown_on(async { let _ = stopped.await; }).await;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown_on(self, signal: impl Future<Output = ()>) {
        let Self { shutdown, mut task, .. } = self;
        let stopped_alone = tokio::select! {
            () = signal => None,
            r = &mut task => Some(r),
        };
        match stopped_alone {
            Some(r) => finished(r),
            None => {
                shutdown.send_replace(true);
                finished(task.await);
            }
        }
    }
}

fn finished(result: Result<std::io::Result<()>, tokio::task::JoinError>) {
    match result {
        Ok(Ok(())) => tracing::info!("posbridge sandbox stopped"),
        Ok(Err(e)) => tracing::error!("posbridge sandbox stopped with an error: {e}"),
        Err(e) => tracing::error!("posbridge sandbox task failed: {e}"),
    }
}
