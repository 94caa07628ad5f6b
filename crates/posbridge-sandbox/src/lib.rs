//! # posbridge-sandbox
//!
//! A local, stateful imitation of the back-office vendor APIs posbridge talks to, so a
//! POS integration (and posbridge's own end-to-end tests) can run against something
//! that behaves like the vendor — validates, refuses, books, moves stock — without an
//! account, a network or a vendor's test server.
//!
//! **What it does.** One HTTP server on loopback serves every vendor under its own
//! path prefix (`/cloudma/api/push-sale`, `/easpro/eas/api/external/transaction/create`,
//! …). Each vendor module follows the vendor's document and the decisions recorded in
//! `docs/vendors/<vendor>.md`: the same field names, body encodings, status codes and
//! messages. The state is shared: one [`Catalogue`] whose stock every vendor's sales
//! lower and purchases raise, the documents each vendor received (by reference), and a
//! log of every request. Fault
//! rules ([`FaultRule`]) make requests slow, rate limited, failing, or drop the
//! connection before or after the request is applied; they are drawn from one seeded
//! generator, so a run repeats. The `/_sandbox/*` routes (and the same methods on
//! [`SandboxHandle`]) show the state and the log, reset, and set faults. See
//! `docs/sandbox.md` for the routes, the admin API and the fault kinds.
//!
//! **What it does not do.** It is not a vendor: it implements what the documents
//! say and what posbridge decided where they are silent, no more (customers only for
//! SalesMania and Asalta, reports only for Asalta, and no other endpoints). It keeps everything in memory (a restart starts over),
//! does no TLS, and is meant for loopback: do not expose it. Vendors so far: CloudMA
//! ([`CloudmaConfig`]), EAS Pro ([`EasproConfig`]), Codemax ([`CodemaxConfig`]),
//! SalesMania ([`SalesmaniaConfig`]) and Asalta ([`AsaltaConfig`]).
//!
//! **It is independent of the connectors.** The vendor modules share no code with the
//! `posbridge-<vendor>` crates, so each checks the other: `tests/cloudma_fixtures.rs`,
//! `tests/easpro_fixtures.rs` and `tests/codemax_fixtures.rs` replay each connector's
//! conformance fixtures against the sandbox, both as raw requests and through the real
//! connector.
//!
//! **Tests.** Unit tests next to the code (`state.rs`, `faults.rs`, `vendors/mod.rs`,
//! `vendors/body.rs`, `vendors/cloudma.rs`, `vendors/easpro.rs`,
//! `vendors/codemax.rs`); against a started sandbox: `tests/cloudma.rs`,
//! `tests/easpro.rs` and `tests/codemax.rs` (each vendor's rules),
//! `tests/admin_faults.rs` (admin API, fault injection, determinism, dropped
//! connections, shutdown), `tests/cloudma_fixtures.rs`, `tests/easpro_fixtures.rs` and
//! `tests/codemax_fixtures.rs` (the conformance fixtures in both directions),
//! `tests/salesmania.rs` (SalesMania's rules), `tests/salesmania_fixtures.rs` (the
//! SalesMania fixtures through the real connector), `tests/salesmania_connector.rs`
//! (200 sales through the SalesMania connector, then a re-push that books nothing),
//! `tests/easpro_faults.rs` (2,000 sales through the EAS Pro connector while a fifth of
//! the requests lose their answer), `tests/codemax_tokens.rs` (token renewal under
//! load through the Codemax connector, and 10,000 sales in 500 syncs), `tests/asalta.rs`
//! (Asalta's OAuth2 code flow and rules), `tests/asalta_fixtures.rs` (the Asalta
//! fixtures through the real connector), `tests/asalta_streaming.rs` (100,000 items
//! streamed through the Asalta connector in bounded memory).
//!
//! ```
//! use posbridge_sandbox::{Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! // Point a CloudMA connector's base_url at sandbox.vendor_url("cloudma"), or talk to it directly:
//! let stock: serde_json::Value = reqwest::Client::builder()
//!     .no_proxy()
//!     .build()?
//!     .post(format!("{}api/sync-stock", sandbox.vendor_url("cloudma")))
//!     .form(&[("token", "38iGm3yI86Hw")])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(stock[0]["code"], "TEA-100");
//! assert_eq!(stock[0]["qty"], "118");
//! assert_eq!(sandbox.requests().len(), 1);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod admin;
mod faults;
mod state;
mod vendors;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::faults::{Fault, FaultRule};
use crate::state::{App, Shared, State};
pub use crate::state::{Catalogue, Product, RequestRecord, StateSnapshot, VendorDocuments};
pub use crate::vendors::asalta::asalta_item_ids;
pub use crate::vendors::easpro::{easpro_product_id, easpro_product_ids};
pub use crate::vendors::salesmania::salesmania_product_ids;

/// The API token CloudMA's document gives, which the sandbox accepts by default.
pub const CLOUDMA_DEFAULT_TOKEN: &str = "38iGm3yI86Hw";

/// The `partner` header (the partner key EAS Pro's admin issues) the EAS Pro imitation
/// accepts by default.
pub const EASPRO_DEFAULT_PARTNER: &str = "sandbox-partner";

/// The `user-id` header (the merchant's EAS Pro user) the EAS Pro imitation accepts by
/// default.
pub const EASPRO_DEFAULT_USER_ID: &str = "sandbox-user";

/// The POS Live Sync username the Codemax imitation accepts by default (at login, and
/// as every invoice's `username`).
pub const CODEMAX_DEFAULT_USERNAME: &str = "sandbox-pos";

/// The password the Codemax imitation accepts by default.
pub const CODEMAX_DEFAULT_PASSWORD: &str = "sandbox-password";

/// The branch code the Codemax imitation knows by default.
pub const CODEMAX_DEFAULT_BRANCH: &str = "KL01";

/// How long a Codemax access token lives by default, in seconds: 15 minutes, as
/// Codemax's collection says.
pub const CODEMAX_DEFAULT_TOKEN_LIFETIME_SECS: u64 = 900;

/// The SalesMania username the imitation accepts by default (the connector's fixtures').
pub const SALESMANIA_DEFAULT_USERNAME: &str = "kasir@tokomaju.id";

/// The SalesMania password the imitation accepts by default (the connector's fixtures').
pub const SALESMANIA_DEFAULT_PASSWORD: &str = "Rahasia-123";

/// How long SalesMania bearer and team tokens live by default, in seconds: an hour
/// (SalesMania does not say; the answers carry it as `expires_in`).
pub const SALESMANIA_DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;

/// The SalesMania walk-in customer's id by default.
pub const SALESMANIA_DEFAULT_WALK_IN_CUSTOMER_ID: u64 = 3000;

/// The OAuth2 client id the Asalta imitation accepts by default.
pub const ASALTA_DEFAULT_CLIENT_ID: &str = "sandbox-asalta-client";

/// The OAuth2 client secret the Asalta imitation accepts by default.
pub const ASALTA_DEFAULT_CLIENT_SECRET: &str = "sandbox-asalta-secret";

/// The redirect URI registered for the Asalta imitation's client by default (where
/// `GET /asalta/auth` sends the browser back with the code).
pub const ASALTA_DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// How to start a sandbox. Every field has a default, so `{}` (or
/// [`SandboxConfig::default()`]) is a working configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Where to listen; default `127.0.0.1:0` (loopback, a free port).
    pub bind: SocketAddr,
    /// The products and their initial stock; default [`Catalogue::sample()`].
    pub catalogue: Catalogue,
    /// Seeds the fault generator, so the same requests get the same faults; default 42.
    pub seed: u64,
    /// Fault rules in force from the start; default none.
    pub faults: Vec<FaultRule>,
    /// CloudMA's settings.
    pub cloudma: CloudmaConfig,
    /// EAS Pro's settings.
    pub easpro: EasproConfig,
    /// Codemax's settings.
    pub codemax: CodemaxConfig,
    /// SalesMania's settings.
    pub salesmania: SalesmaniaConfig,
    /// Asalta's settings.
    pub asalta: AsaltaConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            catalogue: Catalogue::sample(),
            seed: 42,
            faults: Vec::new(),
            cloudma: CloudmaConfig::default(),
            easpro: EasproConfig::default(),
            codemax: CodemaxConfig::default(),
            salesmania: SalesmaniaConfig::default(),
            asalta: AsaltaConfig::default(),
        }
    }
}

/// The CloudMA imitation's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudmaConfig {
    /// The only API token accepted; default `38iGm3yI86Hw`, the one in CloudMA's
    /// document.
    pub token: String,
}

impl Default for CloudmaConfig {
    fn default() -> Self {
        Self {
            token: CLOUDMA_DEFAULT_TOKEN.to_owned(),
        }
    }
}

/// The EAS Pro imitation's settings: the credentials it accepts and the EAS Pro
/// product ids (`invProductId`) of the catalogue's products.
///
/// Every catalogue product is an EAS Pro product. Its `invProductId` is the one
/// `products` gives it, else the one [`easpro_product_id`] derives from its code (a
/// UUID-like id, the same on every run), so a connector's id map can be built from
/// [`easpro_product_ids`] whatever the catalogue. An entry of `products` whose code is
/// not in the catalogue is ignored (its id is then unknown to the sandbox).
///
/// ```
/// use posbridge_sandbox::{Catalogue, EasproConfig, easpro_product_ids};
///
/// let config = EasproConfig::default();
/// assert_eq!((config.partner.as_str(), config.user_id.as_str()), ("sandbox-partner", "sandbox-user"));
/// // The connector's id map (POS code → invProductId) for the sample catalogue:
/// let ids = easpro_product_ids(&Catalogue::sample());
/// assert_eq!(config.products[&ids["TEA-100"]], "TEA-100");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EasproConfig {
    /// The only `partner` header accepted; default [`EASPRO_DEFAULT_PARTNER`].
    pub partner: String,
    /// The only `user-id` header accepted; default [`EASPRO_DEFAULT_USER_ID`].
    pub user_id: String,
    /// `invProductId` → catalogue product code. Default: every product of
    /// [`Catalogue::sample()`] under its derived id ([`easpro_product_id`]).
    pub products: BTreeMap<String, String>,
}

impl Default for EasproConfig {
    fn default() -> Self {
        Self::for_catalogue(&Catalogue::sample())
    }
}

impl EasproConfig {
    /// The default credentials, and every product of `catalogue` under its derived
    /// `invProductId`.
    pub fn for_catalogue(catalogue: &Catalogue) -> Self {
        Self {
            partner: EASPRO_DEFAULT_PARTNER.to_owned(),
            user_id: EASPRO_DEFAULT_USER_ID.to_owned(),
            products: easpro_product_ids(catalogue)
                .into_iter()
                .map(|(code, id)| (id, code))
                .collect(),
        }
    }
}

/// The Codemax imitation's settings: the one account it accepts, the branches it
/// knows, and how long its access tokens live.
///
/// Every catalogue product is a Codemax item, by its code (`item_code` is the POS
/// product code).
///
/// ```
/// use posbridge_sandbox::CodemaxConfig;
///
/// let config = CodemaxConfig::default();
/// assert_eq!((config.username.as_str(), config.password.as_str()), ("sandbox-pos", "sandbox-password"));
/// assert_eq!((config.branches, config.token_lifetime_secs), (vec!["KL01".to_owned()], 900));
/// // Tests of token renewal use short-lived tokens:
/// let short: CodemaxConfig = serde_json::from_str(r#"{"token_lifetime_secs": 2}"#)?;
/// assert_eq!(short.username, "sandbox-pos");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodemaxConfig {
    /// The only username accepted at login, and the `username` every invoice must
    /// carry; default [`CODEMAX_DEFAULT_USERNAME`].
    pub username: String,
    /// The only password accepted; default [`CODEMAX_DEFAULT_PASSWORD`].
    pub password: String,
    /// The branch codes an invoice's `branch_code` may name (another is refused with
    /// code `32`); default: one, [`CODEMAX_DEFAULT_BRANCH`]. At least one.
    pub branches: Vec<String>,
    /// How long an access token lives, in seconds (the login and refresh answers'
    /// `expires_in`); default [`CODEMAX_DEFAULT_TOKEN_LIFETIME_SECS`]. At least 1.
    pub token_lifetime_secs: u64,
}

impl Default for CodemaxConfig {
    fn default() -> Self {
        Self {
            username: CODEMAX_DEFAULT_USERNAME.to_owned(),
            password: CODEMAX_DEFAULT_PASSWORD.to_owned(),
            branches: vec![CODEMAX_DEFAULT_BRANCH.to_owned()],
            token_lifetime_secs: CODEMAX_DEFAULT_TOKEN_LIFETIME_SECS,
        }
    }
}

/// The SalesMania imitation's settings: the one account it accepts, its databases
/// and teams, how long its tokens live, the walk-in customer, the page size of lists,
/// and what it does with a repeated `ext_order_no`.
///
/// Every catalogue product is a SalesMania product, numbered from 501 in catalogue
/// order ([`salesmania_product_ids`]), with `ext_product_code` = the code,
/// `qty_on_hand` = the shared stock and one unit `PCS` of ratio 1 at the catalogue
/// price.
///
/// ```
/// use posbridge_sandbox::SalesmaniaConfig;
///
/// let config = SalesmaniaConfig::default();
/// assert_eq!((config.username.as_str(), config.password.as_str()), ("kasir@tokomaju.id", "Rahasia-123"));
/// assert_eq!(config.databases[&2981], "Toko Maju");
/// assert_eq!((config.token_lifetime_secs, config.walk_in_customer_id), (3600, 3000));
/// let short: SalesmaniaConfig = serde_json::from_str(r#"{"token_lifetime_secs": 2}"#)?;
/// assert_eq!(short.teams[&24728], "Tim Bandung");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesmaniaConfig {
    /// The only username accepted (HTTP Basic on `GET token`); default
    /// [`SALESMANIA_DEFAULT_USERNAME`].
    pub username: String,
    /// The only password accepted; default [`SALESMANIA_DEFAULT_PASSWORD`].
    pub password: String,
    /// The account's databases, id → name; default 2981 "Toko Maju" and 2990
    /// "Gudang Pusat". At least one. Every database sees the same data.
    pub databases: BTreeMap<u64, String>,
    /// The teams, id → name; default 24728 "Tim Bandung". At least one; the first is
    /// an order's team when it names none.
    pub teams: BTreeMap<u64, String>,
    /// How long a bearer or team token lives, in seconds (the answers'
    /// `expires_in`); default [`SALESMANIA_DEFAULT_TOKEN_LIFETIME_SECS`]. At least 1.
    pub token_lifetime_secs: u64,
    /// The walk-in customer's id (seeded as "Pelanggan Umum"); default
    /// [`SALESMANIA_DEFAULT_WALK_IN_CUSTOMER_ID`]. Below 3001.
    pub walk_in_customer_id: u64,
    /// Records per page of a paged list; default 25 (so the sample's 30 products
    /// come in two pages). At least 1.
    pub page_size: usize,
    /// Whether `POST orders` refuses an `ext_order_no` already booked (422 "The ext
    /// order no has already been taken.", as `docs/vendors/salesmania.md` lists);
    /// default `true`. `false` books a second order, as a vendor that does not check
    /// would (tests of a connector's own duplicate check use it).
    pub refuse_repeated_ext_order_no: bool,
    /// The name of a catalogue product's one unit (of ratio 1), by product code, for
    /// products not sold by the piece; every other product's unit is `PCS`. Default:
    /// `SUGAR-1KG` → `KG`, as in the connector's fixtures.
    pub units: BTreeMap<String, String>,
}

impl Default for SalesmaniaConfig {
    fn default() -> Self {
        Self {
            username: SALESMANIA_DEFAULT_USERNAME.to_owned(),
            password: SALESMANIA_DEFAULT_PASSWORD.to_owned(),
            databases: BTreeMap::from([(2981, "Toko Maju".to_owned()), (2990, "Gudang Pusat".to_owned())]),
            teams: BTreeMap::from([(24728, "Tim Bandung".to_owned())]),
            token_lifetime_secs: SALESMANIA_DEFAULT_TOKEN_LIFETIME_SECS,
            walk_in_customer_id: SALESMANIA_DEFAULT_WALK_IN_CUSTOMER_ID,
            page_size: 25,
            refuse_repeated_ext_order_no: true,
            units: BTreeMap::from([("SUGAR-1KG".to_owned(), "KG".to_owned())]),
        }
    }
}

/// The Asalta imitation's settings: the one OAuth2 client it knows, how long codes
/// and tokens live, the page size of lists, its warehouses and its biller.
///
/// Every catalogue product is an Asalta `standard` item, numbered from 1001 in
/// catalogue order ([`asalta_item_ids`]), at the catalogue price, without tax. Its
/// stock in the **first** warehouse is the shared catalogue stock (what every
/// vendor's sales lower); the other warehouses start empty and hold their own stock
/// (raised by returns to them). The customer `1` "Walk-in Customer" is seeded.
///
/// ```
/// use posbridge_sandbox::AsaltaConfig;
///
/// let config = AsaltaConfig::default();
/// assert_eq!((config.code_lifetime_secs, config.token_lifetime_secs, config.page_size), (30, 3600, 20));
/// assert_eq!(config.warehouses[0].code, "ADL");
/// let short: AsaltaConfig = serde_json::from_str(r#"{"code_lifetime_secs": 1, "page_size": 1000}"#)?;
/// assert_eq!(short.client_id, "sandbox-asalta-client");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsaltaConfig {
    /// The only OAuth2 client id accepted; default [`ASALTA_DEFAULT_CLIENT_ID`].
    pub client_id: String,
    /// Its secret; default [`ASALTA_DEFAULT_CLIENT_SECRET`].
    pub client_secret: String,
    /// Its registered redirect URI (absolute); default [`ASALTA_DEFAULT_REDIRECT_URI`].
    pub redirect_uri: String,
    /// How long an authorization code lives, in seconds; default 30 (Asalta's
    /// document). At least 1.
    pub code_lifetime_secs: u64,
    /// How long an access token lives, in seconds (the token answer's `expires_in`);
    /// default 3600. At least 1.
    pub token_lifetime_secs: u64,
    /// Records per page of a list; default 20 (the document's `perPage`). At least 1.
    /// Clients cannot choose it.
    pub page_size: usize,
    /// The warehouses; the first holds the shared catalogue stock. Default: 2 `ADL`
    /// "Adelphi" (the main outlet) and 3 `STORE` "Store room". At least one; distinct
    /// ids.
    pub warehouses: Vec<AsaltaWarehouse>,
    /// The one biller; default 35 "Sandbox Biller".
    pub biller: AsaltaBiller,
}

/// An Asalta warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsaltaWarehouse {
    /// Its id.
    pub id: u64,
    /// Its code (what a POS calls its location).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// An Asalta biller (the selling entity sales are issued by).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsaltaBiller {
    /// Its id.
    pub id: u64,
    /// Its name (billers have no code).
    pub name: String,
}

impl Default for AsaltaBiller {
    fn default() -> Self {
        Self {
            id: 35,
            name: "Sandbox Biller".to_owned(),
        }
    }
}

impl Default for AsaltaConfig {
    fn default() -> Self {
        Self {
            client_id: ASALTA_DEFAULT_CLIENT_ID.to_owned(),
            client_secret: ASALTA_DEFAULT_CLIENT_SECRET.to_owned(),
            redirect_uri: ASALTA_DEFAULT_REDIRECT_URI.to_owned(),
            code_lifetime_secs: 30,
            token_lifetime_secs: 3600,
            page_size: 20,
            warehouses: vec![
                AsaltaWarehouse {
                    id: 2,
                    code: "ADL".to_owned(),
                    name: "Adelphi".to_owned(),
                },
                AsaltaWarehouse {
                    id: 3,
                    code: "STORE".to_owned(),
                    name: "Store room".to_owned(),
                },
            ],
            biller: AsaltaBiller::default(),
        }
    }
}

/// Why a sandbox could not start or load its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The catalogue file could not be read.
    #[error("cannot read the catalogue file {}: {source}", path.display())]
    CatalogueFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The catalogue file is not a catalogue.
    #[error("the catalogue file {} is not a valid catalogue: {source}", path.display())]
    CatalogueParse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
    /// The catalogue has a product without a code, or a code twice.
    #[error("invalid catalogue: {0}")]
    InvalidCatalogue(String),
    /// A fault rule in the configuration is invalid (see [`FaultRule::validate`]).
    #[error("invalid fault rule: {0}")]
    InvalidFault(String),
    /// A vendor's settings are unusable (an empty credential, an empty product id, no
    /// Codemax branch, a zero token lifetime).
    #[error("invalid vendor settings: {0}")]
    InvalidConfig(String),
}

/// Starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Validates `config` (the catalogue, the fault rules, the vendors' settings), binds
    /// its address and serves in a background task until
    /// [`SandboxHandle::shutdown`] (or until the handle is dropped). Must be called
    /// inside a Tokio runtime.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        config.catalogue.validate()?;
        for (i, rule) in config.faults.iter().enumerate() {
            rule.validate()
                .map_err(|e| SandboxError::InvalidFault(format!("rule #{i}: {e}")))?;
        }
        let easpro = vendors::easpro::Settings::resolve(&config.easpro, &config.catalogue)?;
        let codemax = vendors::codemax::Settings::resolve(&config.codemax)?;
        let salesmania = vendors::salesmania::Settings::resolve(&config.salesmania)?;
        let asalta = vendors::asalta::Settings::resolve(&config.asalta)?;
        let bind = config.bind;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| SandboxError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr: bind, source })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut state = State::new(config.catalogue.clone(), config.seed, config.faults);
        state.salesmania = vendors::salesmania::Ledger::new(&salesmania, &config.catalogue, config.seed);
        let shared: App = Arc::new(Shared::new(
            state,
            config.cloudma,
            easpro,
            codemax,
            salesmania,
            asalta,
            shutdown_rx,
        ));
        let app = router(shared.clone());
        let signal = {
            let shared = shared.clone();
            async move { shared.shutting_down().await }
        };
        let task = tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(signal).await });
        tracing::info!(%addr, "posbridge sandbox listening");
        Ok(SandboxHandle {
            addr,
            shared,
            shutdown,
            task,
        })
    }
}

fn router(app: App) -> Router {
    Router::new()
        .merge(admin::router())
        .merge(vendors::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), vendors::vendor_layer))
        .with_state(app)
}

async fn not_found() -> Response {
    vendors::json_message(StatusCode::NOT_FOUND, "Not Found")
}

/// A running sandbox. Dropping it stops the server (gracefully, in the background);
/// [`shutdown`](Self::shutdown) stops it and waits.
pub struct SandboxHandle {
    addr: SocketAddr,
    shared: App,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("addr", &self.addr)
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

    /// A vendor's base URL, e.g. `http://127.0.0.1:PORT/cloudma/`,
    /// `http://127.0.0.1:PORT/easpro/` or `http://127.0.0.1:PORT/codemax/`: what a
    /// connector's `base_url` is set to.
    pub fn vendor_url(&self, vendor: &str) -> String {
        format!("{}{}/", self.base_url(), vendor.trim_matches('/'))
    }

    /// The state now: the same data as `GET /_sandbox/state`.
    pub fn state(&self) -> StateSnapshot {
        self.shared.lock().snapshot()
    }

    /// The request log, in order of arrival: the same as `GET /_sandbox/requests`.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests()
    }

    /// The fault rules in force: the same as `GET /_sandbox/faults`.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.lock().faults()
    }

    /// Replaces the fault rules, as `POST /_sandbox/faults` does. The rules are not
    /// validated here (check them with [`FaultRule::validate`]): a rate outside
    /// `0.0..=1.0` is clamped and a status outside `400..=599` becomes 500.
    pub fn set_faults(&self, faults: Vec<FaultRule>) {
        for (i, rule) in faults.iter().enumerate() {
            if let Err(e) = rule.validate() {
                tracing::warn!(rule = i, "questionable sandbox fault rule: {e}");
            }
        }
        self.shared.lock().set_faults(faults);
    }

    /// Restores the original catalogue, clears the documents, ids and the request log,
    /// revokes every Codemax, SalesMania and Asalta token (and Asalta's codes),
    /// restores SalesMania's seeded customers, products and visits, forgets Asalta's
    /// customers (but the walk-in one), sales, payments, returns, gift cards and
    /// store-room stock, and re-seeds the fault generator, as
    /// `POST /_sandbox/reset` does. The fault rules stay.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Expires every Codemax access token issued so far, as if its lifetime had
    /// passed, as `POST /_sandbox/codemax/expire-access-tokens` does: the next sync
    /// with one is refused (401, code `11`), while its refresh token still works. How
    /// to show a connector an expired token without waiting for it.
    pub fn expire_codemax_access_tokens(&self) {
        self.shared
            .lock()
            .codemax
            .expire_access_tokens(tokio::time::Instant::now());
    }

    /// Revokes every Codemax access and refresh token, as
    /// `POST /_sandbox/codemax/revoke-tokens` does: a sync is refused (code `11`), a
    /// refresh too (code `12`), and clients must log in again.
    pub fn revoke_codemax_tokens(&self) {
        self.shared.lock().codemax.revoke_tokens();
    }

    /// Expires every SalesMania bearer and team token issued so far, as if their
    /// lifetime had passed, as `POST /_sandbox/salesmania/expire-tokens` does: the next
    /// call with one is refused (401 `{"message": "Unauthenticated."}`) and clients
    /// must run the chain (token, databases, team token) again.
    pub fn expire_salesmania_tokens(&self) {
        self.shared.lock().salesmania.expire_tokens(tokio::time::Instant::now());
    }

    /// An Asalta access token, live for `token_lifetime_secs`, issued without the
    /// browser step of the code flow (for demos and tests: a connector's
    /// `access_token`).
    pub fn mint_asalta_token(&self) -> String {
        self.mint_asalta_tokens().0
    }

    /// An Asalta access token and its refresh token, issued without the browser step
    /// (for tests of token renewal: the refresh token works at `POST /asalta/auth/token`).
    pub fn mint_asalta_tokens(&self) -> (String, String) {
        let lifetime = self.shared.asalta.token_lifetime();
        self.shared.lock().asalta.issue(lifetime)
    }

    /// Expires every Asalta access token issued so far, as if its lifetime had passed:
    /// the next call with one is refused (401), while its refresh token still works.
    pub fn expire_asalta_tokens(&self) {
        self.shared.lock().asalta.expire_tokens(tokio::time::Instant::now());
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
    /// let sandbox = posbridge_sandbox::Sandbox::start(Default::default()).await?;
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
