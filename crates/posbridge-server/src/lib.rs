//! # posbridge-server
//!
//! The posbridge outbox as an HTTP service, for point-of-sale software written in any
//! language, and an operator console for the people who support it.
//!
//! - A versioned JSON API under `/v1`: enqueue sales (one or many), returns, voids and
//!   later payments; list deliveries with filters and a cursor; read one with its
//!   history; retry a dead one, resolve an uncertain one; read stock and products
//!   through to the vendor with a short cache.
//! - OpenAPI 3.1 generated from the handlers' own types ([`openapi`]), served at
//!   `/openapi.json` and committed as `docs/openapi.json`.
//! - API keys ([`keys`]): one or more per tenant, stored hashed, compared in constant
//!   time, never logged; a tenant's key sees and touches only its tenant's deliveries.
//!   An operator key works the console, the metrics and every tenant.
//! - Errors as RFC 9457 problem+json ([`Problem`]), with the JSON pointer of a field the
//!   library refused; a body size limit and a request rate per key.
//! - `/healthz`, `/readyz`, and `/metrics` in the Prometheus text format.
//! - Signed webhooks out ([`webhooks`]): each delivery's state change POSTed to the
//!   tenant's URL, HMAC-SHA256 over a timestamp and the body, durable and retried.
//! - A server-rendered operator console at `/console`.
//!
//! `posbridge serve` (the CLI) builds a [`Server`] from its config file. A program can
//! do the same:
//!
//! ```no_run
//! use std::sync::Arc;
//! use posbridge_outbox::{Outbox, OutboxConfig, Target};
//! use posbridge_server::{Server, ServerConfig};
//!
//! # async fn run(connector: Arc<dyn posbridge_core::Connector>) -> Result<(), Box<dyn std::error::Error>> {
//! let target = Target::for_tenant("colombo", "easpro");
//! let outbox = Outbox::open("sqlite://outbox.db", OutboxConfig::default())
//!     .await?
//!     .with_target(target.clone(), connector.clone());
//! let server = Server::builder(outbox)
//!     .config(ServerConfig::default())
//!     .target(target, connector)
//!     .build()
//!     .await?;
//! let key = posbridge_server::keys::create(server.outbox(), posbridge_server::keys::Role::tenant("colombo"), "till 1").await?;
//! eprintln!("give the till this key once: {}", secrecy::ExposeSecret::expose_secret(&key.secret));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, server.router()).await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use posbridge_core::Connector;
use posbridge_outbox::{Outbox, OutboxError, Target};
use secrecy::{ExposeSecret, SecretString};

mod api;
mod auth;
mod cache;
mod console;
mod db;
pub mod keys;
mod metrics;
pub mod openapi;
mod problem;
mod views;
pub mod webhooks;

pub use problem::{FieldError, Problem};
pub use views::{
    BatchItem, BatchRequest, BatchResponse, DeliveryDetail, DeliveryList, DeliveryView, EnqueueResponse,
    EnqueuedDelivery, EventView, ProductsResponse, ResolveRequest, StockResponse,
};
pub use webhooks::WebhookConfig;

/// How the service behaves. [`ServerConfig::default`] suits a shop's till fleet.
#[derive(Clone)]
pub struct ServerConfig {
    /// The largest request body taken, in bytes (a larger one is answered 413).
    pub body_limit: usize,
    /// Requests each API key may make per minute (a burst of as many); more are answered
    /// 429 with `Retry-After`.
    pub requests_per_minute: u32,
    /// How long a stock or product listing read from a vendor is served from memory.
    pub read_cache_ttl: Duration,
    /// The most sales one batch request may carry.
    pub batch_limit: usize,
    /// The key that signs console sessions and their CSRF tokens. Give every instance
    /// behind one load balancer the same secret; when `None`, each process draws its
    /// own at start (sessions then last until a restart and stay on one instance).
    pub session_secret: Option<SecretString>,
    /// How long a console login lasts.
    pub session_ttl: Duration,
    /// Mark the console's cookie `Secure` (set it when TLS ends at a reverse proxy in
    /// front of the service, as it should in production).
    pub secure_cookies: bool,
    /// How old an outbox event must be before its webhook is sent. On PostgreSQL two
    /// transactions may commit in the other order than they took their event ids; a
    /// stream that waits this long never steps over an event still being committed.
    pub webhook_settle: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            requests_per_minute: 600,
            read_cache_ttl: Duration::from_secs(30),
            batch_limit: 500,
            session_secret: None,
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: false,
            webhook_settle: Duration::from_secs(3),
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("body_limit", &self.body_limit)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("read_cache_ttl", &self.read_cache_ttl)
            .field("batch_limit", &self.batch_limit)
            .field("session_secret", &self.session_secret.as_ref().map(|_| "[redacted]"))
            .field("session_ttl", &self.session_ttl)
            .field("secure_cookies", &self.secure_cookies)
            .field("webhook_settle", &self.webhook_settle)
            .finish()
    }
}

/// What can go wrong building or running the service (a request's own errors are
/// [`Problem`]s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The service's own tables could not be read or written.
    #[error("server database: {0}")]
    Database(#[from] sqlx::Error),
    /// The service's own migrations failed.
    #[error("server migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The configuration cannot work.
    #[error("server configuration: {0}")]
    Config(String),
    /// A key given for a command does not exist.
    #[error("no API key with id {0}")]
    UnknownKey(String),
}

/// One tenant as the service knows it: where its documents go and where its webhooks
/// go.
#[derive(Clone, Default)]
pub(crate) struct TenantRt {
    /// Its targets, in the order they were registered.
    pub(crate) targets: Vec<Target>,
    /// The connector of each of its vendors, for read-through.
    pub(crate) connectors: BTreeMap<String, Arc<dyn Connector>>,
}

/// Builds a [`Server`].
pub struct ServerBuilder {
    outbox: Outbox,
    config: ServerConfig,
    tenants: BTreeMap<String, TenantRt>,
    webhooks: BTreeMap<String, WebhookConfig>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("config", &self.config)
            .field("tenants", &self.tenants.keys().collect::<Vec<_>>())
            .field("webhooks", &self.webhooks)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Sets the configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Makes `target` a destination of its tenant's documents, with the connector
    /// that reads its stock and products. (Register the same connector with the
    /// outbox, [`Outbox::with_target`], for this process's workers to deliver.)
    pub fn target(mut self, target: Target, connector: Arc<dyn Connector>) -> Self {
        let tenant = self.tenants.entry(target.tenant.clone()).or_default();
        tenant.connectors.insert(target.vendor.clone(), connector);
        if !tenant.targets.contains(&target) {
            tenant.targets.push(target);
        }
        self
    }

    /// Sends `tenant`'s delivery state changes to a webhook.
    pub fn webhook(mut self, tenant: impl Into<String>, webhook: WebhookConfig) -> Self {
        self.webhooks.insert(tenant.into(), webhook);
        self
    }

    /// Runs the service's migrations on the outbox's database and builds the server.
    pub async fn build(self) -> Result<Server, ServerError> {
        prepare(&self.outbox).await?;
        let session_key = match &self.config.session_secret {
            Some(s) if s.expose_secret().len() < 16 => {
                return Err(ServerError::Config(
                    "the session secret must be at least 16 characters".to_owned(),
                ));
            }
            Some(s) => auth::derive_key(s.expose_secret().as_bytes()),
            None => auth::random_key(),
        };
        let limiter = auth::limiter(self.config.requests_per_minute)?;
        let inner = Inner {
            keys: keys::KeyCache::default(),
            limiter,
            cache: cache::ReadCache::default(),
            metrics: metrics::Metrics::new(),
            session_key,
            webhooks: self.webhooks,
            tenants: self.tenants,
            config: self.config,
            outbox: self.outbox,
        };
        Ok(Server(Arc::new(inner)))
    }
}

/// The service: cheap to clone (one shared state), its [`Server::router`] served by
/// axum.
#[derive(Clone)]
pub struct Server(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) outbox: Outbox,
    pub(crate) config: ServerConfig,
    pub(crate) tenants: BTreeMap<String, TenantRt>,
    pub(crate) webhooks: BTreeMap<String, WebhookConfig>,
    pub(crate) keys: keys::KeyCache,
    pub(crate) limiter: auth::Limiter,
    pub(crate) cache: cache::ReadCache,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) session_key: auth::SessionKey,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("outbox", &self.0.outbox.backend())
            .field("config", &self.0.config)
            .field("tenants", &self.0.tenants.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts building a server over `outbox`.
    pub fn builder(outbox: Outbox) -> ServerBuilder {
        ServerBuilder {
            outbox,
            config: ServerConfig::default(),
            tenants: BTreeMap::new(),
            webhooks: BTreeMap::new(),
        }
    }

    /// The outbox it serves.
    pub fn outbox(&self) -> &Outbox {
        &self.0.outbox
    }

    /// Its configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The tenants it knows, by name.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.0.tenants.keys().map(String::as_str)
    }

    /// The whole service: the API, `/openapi.json`, health, metrics and the console.
    pub fn router(&self) -> Router {
        let (api, _) = api::router(openapi::base()).split_for_parts();
        Router::new()
            .merge(api)
            .merge(console::router())
            .route("/openapi.json", axum::routing::get(openapi::serve))
            .layer(axum::middleware::from_fn_with_state(self.clone(), metrics::track))
            .layer(axum::extract::DefaultBodyLimit::max(self.0.config.body_limit))
            .with_state(self.clone())
    }

    /// Sends the webhooks of every tenant that has one until `shutdown` resolves.
    /// Run it in every instance: each tenant's stream is leased to one instance at a
    /// time.
    pub async fn run_webhooks(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        webhooks::run(self, shutdown).await
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }
}

/// Creates (or brings up to date) the service's own tables — API keys, webhook
/// cursors — in the outbox's database. [`ServerBuilder::build`] runs it; `posbridge
/// keys` runs it before managing keys.
pub async fn prepare(outbox: &Outbox) -> Result<(), ServerError> {
    db::migrate(outbox).await
}
