//! # posbridge-codemax
//!
//! The posbridge connector for **Codemax POS Live Sync**, the Malaysian retail
//! management system's sales intake: it pushes sales as invoices ([`Sales`]) so
//! that Codemax RMS deducts the items sold from its inventory, at most 20 invoices
//! per request, with Codemax's login / refresh token auth.
//!
//! Codemax's public collection describes the flow (log in for an access and a refresh
//! token; the access token lives 15 minutes; refresh with both tokens; sync at most
//! 20 invoices per request) and, in prose, what an invoice carries. It publishes no
//! field names, no login or refresh path and no response codes: every such name was
//! chosen, lives in `src/wire.rs` only, and is documented with its reason in
//! `docs/vendors/codemax.md`. In short:
//!
//! - [`Sales::push_sales`] sends the valid sales in requests of up to 20 invoices
//!   and returns one outcome per sale, in input order; a sale refused locally
//!   ([`Error::Invalid`]) is not sent and does not hold back the others.
//! - An invoice carries its number (the sale's reference), its timestamp in the
//!   merchant's UTC offset, the branch code, the POS Live Sync username, the items
//!   (item code and quantity deducted) and whether it is void. **No money** goes on
//!   the wire (the integration is for inventory tracking), but totals are still
//!   checked with [`Sale::reconcile`] before anything is sent.
//! - A repeated invoice number (with the same void status: voiding a synced invoice
//!   is sending it again with `is_void`) is assumed to be refused per invoice
//!   ([`DuplicatePolicy::Rejected`], code `duplicate_reference`), so a sync is
//!   **not** re-sent after it may have been applied: such a failure is
//!   [`Error::Uncertain`] for each sale of that request.
//!
//! - [`Voids::void_sale`] voids an invoice already synced by re-syncing its number with
//!   `is_void` set and no items (Codemax reverses what it recorded); a void of a number
//!   Codemax never synced is its rejection (code `34`), a second void a duplicate.
//!
//! It does not read stock, purchases or customers, and takes no returns or payments:
//! the API has none. Tests: unit
//! tests in `map.rs`, `error.rs` and `auth.rs`, conformance cases in `fixtures/` run
//! by the generated `tests/conformance.rs`, `tests/secrets.rs` and `tests/tokens.rs`.
//!
//! ```no_run
//! use posbridge_codemax::{Codemax, Config};
//! use posbridge_core::{Sale, Sales, SecretString};
//!
//! # async fn run() -> posbridge_core::Result<()> {
//! let codemax = Codemax::new(
//!     Config::new("pos-kl01", SecretString::from("s3cret"), "KL01")
//!         .with_base_url(posbridge_codemax::STAGING_BASE_URL),
//! )?;
//! let sale: Sale = serde_json::from_str(r#"{
//!     "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+08:00",
//!     "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "4.50"}]
//! }"#).expect("a valid sale");
//! for outcome in codemax.push_sales(&[sale]).await {
//!     match outcome {
//!         Ok(receipt) => println!("Codemax took {}", receipt.reference),
//!         Err(e) => println!("not synced: {e}"),
//!     }
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod auth;
pub mod bench;
mod descriptor;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod map;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod wire;

pub use descriptor::DESCRIPTOR;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::tz::Offset;
use posbridge_core::http::Request;
use posbridge_core::{
    Capabilities, Connector, ConnectorConfig, DuplicatePolicy, Error, ErrorKind, HttpConfig, Operation, PushReceipt,
    RefreshableBearer, Result, Sale, Sales, SecretString, Transport, Vendor, Void, Voids,
};
use serde::{Deserialize, Deserializer};

use crate::auth::CodemaxTokens;

/// The vendor name used in errors, logs and config files.
pub const VENDOR: &str = "codemax";

/// Codemax's live server, from its collection (the default).
pub const DEFAULT_BASE_URL: &str = "https://possync.c-mx.co/";

/// Codemax's staging server, from its collection.
pub const STAGING_BASE_URL: &str = "https://possync-staging.c-mx.co/";

/// The API's base path on the server, from the collection's links.
pub const DEFAULT_BASE_PATH: &str = "/api/v1";

/// The most invoices one sync request carries.
pub const MAX_BATCH: usize = wire::MAX_INVOICES_PER_SYNC;

/// How long an access token lives when the login answer does not say: 15 minutes,
/// as the collection states.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 900;

/// The longest token lifetime accepted in the config: one day.
const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// One merchant's Codemax POS Live Sync account (one branch).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The Codemax server: live `https://possync.c-mx.co/` (default) or staging
    /// `https://possync-staging.c-mx.co/`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The API's path on the server, `/api/v1` by default; the sync endpoint is
    /// `{base_path}/sync`, login and refresh `{base_path}/auth/login` and
    /// `{base_path}/auth/refresh`.
    #[serde(default = "default_base_path")]
    pub base_path: String,
    /// The POS Live Sync username: used to log in, and sent with every invoice.
    pub username: String,
    /// The POS Live Sync password.
    pub password: SecretString,
    /// The merchant's branch code, sent with every invoice.
    pub branch_code: String,
    /// The merchant's UTC offset, for invoice timestamps: `"+08:00"` (Malaysia) by
    /// default. In code, a `posbridge_core::jiff::tz::Offset`.
    #[serde(default = "default_utc_offset", deserialize_with = "deserialize_offset")]
    pub utc_offset: Offset,
    /// How long an access token lives when the login answer has no `expires_in`, in
    /// seconds (1 to 86400): 900 by default.
    #[serde(default = "default_token_lifetime_secs")]
    pub token_lifetime_secs: u64,
    /// Timeouts, retries, rate limit.
    #[serde(default)]
    pub http: HttpConfig,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_base_path() -> String {
    DEFAULT_BASE_PATH.to_owned()
}

fn default_utc_offset() -> Offset {
    Offset::constant(8)
}

fn default_token_lifetime_secs() -> u64 {
    DEFAULT_TOKEN_LIFETIME_SECS
}

fn deserialize_offset<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Offset, D::Error> {
    let text = String::deserialize(d)?;
    map::parse_offset(&text).map_err(serde::de::Error::custom)
}

impl Config {
    /// A config for the live server with the POS Live Sync `username`, `password`
    /// and the merchant's `branch_code`; offset +08:00.
    pub fn new(username: impl Into<String>, password: SecretString, branch_code: impl Into<String>) -> Self {
        Self {
            base_url: default_base_url(),
            base_path: default_base_path(),
            username: username.into(),
            password,
            branch_code: branch_code.into(),
            utc_offset: default_utc_offset(),
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            http: HttpConfig::default(),
        }
    }

    /// Sets the server, e.g. [`STAGING_BASE_URL`].
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the API's base path (`/api/v1` by default).
    pub fn with_base_path(mut self, base_path: impl Into<String>) -> Self {
        self.base_path = base_path.into();
        self
    }

    /// Sets the merchant's UTC offset for invoice timestamps.
    pub fn with_utc_offset(mut self, utc_offset: Offset) -> Self {
        self.utc_offset = utc_offset;
        self
    }

    /// Sets the access token lifetime assumed when the login answer does not say.
    pub fn with_token_lifetime_secs(mut self, secs: u64) -> Self {
        self.token_lifetime_secs = secs;
        self
    }

    /// Sets the HTTP settings.
    pub fn with_http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// The base path with one leading and no trailing slash (`""` for the root).
    fn normalized_base_path(&self) -> Result<String> {
        let p = self.base_path.trim().trim_end_matches('/');
        if p.contains(['?', '#']) || p.chars().any(char::is_whitespace) {
            return Err(Error::config(format!(
                "{VENDOR}: base_path {:?} must be a plain path such as \"/api/v1\"",
                self.base_path
            )));
        }
        Ok(if p.is_empty() || p.starts_with('/') {
            p.to_owned()
        } else {
            format!("/{p}")
        })
    }

    fn validate(&self) -> Result<()> {
        if self.username.trim().is_empty() {
            return Err(Error::config(format!("{VENDOR}: username is empty")));
        }
        if self.branch_code.trim().is_empty() {
            return Err(Error::config(format!("{VENDOR}: branch_code is empty")));
        }
        if !(1..=MAX_TOKEN_LIFETIME_SECS).contains(&self.token_lifetime_secs) {
            return Err(Error::config(format!(
                "{VENDOR}: token_lifetime_secs must be between 1 and {MAX_TOKEN_LIFETIME_SECS}"
            )));
        }
        Ok(())
    }
}

impl ConnectorConfig for Config {
    fn connect(self) -> Result<Box<dyn Connector>> {
        Ok(Box::new(Codemax::new(self)?))
    }
}

/// What the Codemax connector offers: pushing sales, natively in batches of up to 20,
/// and voiding a sale already synced; a repeated invoice number (or a repeated void of
/// one) is assumed to be refused per invoice. No returns and no payments: Codemax
/// tracks stock, not money, and its sync has no return document.
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::new([Operation::PushSale, Operation::PushSales, Operation::VoidSale]);
    c.max_batch = Some(MAX_BATCH);
    c.sale_duplicates = DuplicatePolicy::Rejected;
    c.void_duplicates = DuplicatePolicy::Rejected;
    c
}

/// A Codemax POS Live Sync client for one merchant branch.
#[derive(Debug)]
pub struct Codemax {
    transport: Arc<Transport>,
    auth: RefreshableBearer<CodemaxTokens>,
    config: Config,
    sync_path: String,
    capabilities: Capabilities,
}

impl Codemax {
    /// A client with its own connection pool. No request is sent: it logs in on the
    /// first push.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let transport = Transport::new(VENDOR, &config.base_url, config.http.clone(), error::parse_error)?;
        Self::from_parts(transport, config)
    }

    /// A client sharing `client`'s connection pool with other merchants' clients.
    pub fn with_client(config: Config, client: posbridge_core::reqwest::Client) -> Result<Self> {
        config.validate()?;
        let transport = Transport::with_client(
            VENDOR,
            &config.base_url,
            config.http.clone(),
            error::parse_error,
            client,
        )?;
        Self::from_parts(transport, config)
    }

    fn from_parts(transport: Transport, config: Config) -> Result<Self> {
        let base_path = config.normalized_base_path()?;
        // The password travels in the login body: no error may show it, should Codemax
        // echo it back (the bearer is cleared by the transport itself).
        let transport = Arc::new(transport.with_secrets([&config.password]));
        let tokens = CodemaxTokens::new(
            transport.clone(),
            config.username.clone(),
            config.password.clone(),
            &base_path,
            Duration::from_secs(config.token_lifetime_secs),
        );
        Ok(Self {
            transport,
            // The renewal margin is per token (see `auth.rs`), so the bearer's is zero.
            auth: RefreshableBearer::with_margin(tokens, Duration::ZERO),
            sync_path: format!("{base_path}{}", wire::SYNC_PATH),
            config,
            capabilities: capabilities(),
        })
    }

    fn invoice_options(&self) -> map::InvoiceOptions<'_> {
        map::InvoiceOptions {
            username: &self.config.username,
            branch_code: &self.config.branch_code,
            utc_offset: self.config.utc_offset,
        }
    }

    /// Maps, chunks and sends `sales`; one outcome per sale, in input order.
    async fn push_batch(&self, sales: &[Sale], operation: &'static str) -> Vec<Result<PushReceipt>> {
        let mut outcomes: Vec<Option<Result<PushReceipt>>> = Vec::with_capacity(sales.len());
        outcomes.resize_with(sales.len(), || None);
        let mut prepare = Prepare::new(sales, self.invoice_options());
        let mut chunk = prepare.next_chunk();

        // After a failure that says the vendor takes nothing from us now (refused
        // credentials, throttling, an outage), the remaining requests are not sent:
        // they would fail the same way, and nothing of them was applied.
        let mut stopped: Option<Error> = None;
        while !chunk.is_empty() {
            // The next chunk is checked and mapped while this one is on the wire:
            // requests still go one after the other, but the CPU work of the next
            // one no longer waits for the answer to this one.
            let (results, next) = match &stopped {
                Some(e) => (vec![Err(e.clone()); chunk.len()], prepare.next_chunk()),
                None => {
                    let ahead = async {
                        // Let the connection task write this request first.
                        tokio::task::yield_now().await;
                        prepare.next_chunk()
                    };
                    futures_util::future::join(self.sync(&chunk, operation), ahead).await
                }
            };
            if stopped.is_none()
                && let Some(Err(e)) = results.first()
                && results.iter().all(Result::is_err)
                && stops_the_batch(e)
            {
                stopped = Some(e.clone());
            }
            for ((i, _), result) in chunk.iter().zip(results) {
                if let Some(slot) = outcomes.get_mut(*i) {
                    *slot = Some(result);
                }
            }
            chunk = next;
        }
        for (i, error) in prepare.refused {
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = Some(Err(error));
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    Err(Error::Uncertain {
                        vendor: VENDOR,
                        operation,
                        message: "no outcome was recorded for this sale (a posbridge bug)".into(),
                        source: None,
                    })
                })
            })
            .collect()
    }

    /// Sends one request of at most [`MAX_BATCH`] invoices; one outcome per invoice.
    async fn sync(&self, chunk: &[(usize, wire::Invoice)], operation: &'static str) -> Vec<Result<PushReceipt>> {
        let whole = |e: Error| vec![Err(e); chunk.len()];
        // Log in (or refresh) first, so that a refused login is reported as what it
        // is, never as the outcome of a sync.
        if let Err(e) = self.auth.token().await {
            return whole(e);
        }
        let body = wire::SyncInvoices {
            invoices: chunk.iter().map(|(_, invoice)| invoice).collect(),
        };
        // Not idempotent: re-sending a sync that landed would turn its successes
        // into duplicate refusals, so a failure after sending is uncertain.
        let request = match Request::post(operation, self.sync_path.as_str()).json(&body) {
            Ok(r) => r,
            Err(e) => return whole(e),
        };
        let response = match self.transport.send(&request, Some(&self.auth)).await {
            Ok(r) => r,
            // The transport already reports a failure after sending this non-idempotent
            // write as uncertain; what is left (503, 429, connect failures) was not applied.
            Err(e) => return whole(e),
        };
        let references: Vec<&str> = chunk.iter().map(|(_, invoice)| invoice.invoice_no.as_str()).collect();
        map::sync_outcomes(&references, &response.body)
            .unwrap_or_else(|why| whole(Error::decode(VENDOR, why, &response.body).into_uncertain(operation)))
    }
}

/// The sales of a batch, checked and mapped a request's worth at a time.
struct Prepare<'a> {
    sales: std::iter::Enumerate<std::slice::Iter<'a, Sale>>,
    options: map::InvoiceOptions<'a>,
    seen: HashSet<&'a str>,
    /// Sales refused before sending, with why.
    refused: Vec<(usize, Error)>,
}

impl<'a> Prepare<'a> {
    fn new(sales: &'a [Sale], options: map::InvoiceOptions<'a>) -> Self {
        Self {
            sales: sales.iter().enumerate(),
            options,
            seen: HashSet::with_capacity(sales.len()),
            refused: Vec::new(),
        }
    }

    /// The next (at most) [`MAX_BATCH`] valid invoices with their sales' positions;
    /// empty when every sale has been taken.
    fn next_chunk(&mut self) -> Vec<(usize, wire::Invoice)> {
        let mut chunk = Vec::with_capacity(MAX_BATCH);
        while chunk.len() < MAX_BATCH {
            let Some((i, sale)) = self.sales.next() else { break };
            match map::invoice(sale, &self.options) {
                Ok(_) if !self.seen.insert(sale.reference.as_str()) => self.refused.push((
                    i,
                    Error::invalid(
                        "reference",
                        format!(
                            "invoice number {:?} appears more than once in this batch; Codemax would refuse the repeat",
                            sale.reference
                        ),
                    ),
                )),
                Ok(invoice) => chunk.push((i, invoice)),
                Err(e) => self.refused.push((i, e)),
            }
        }
        chunk
    }
}

/// Whether a failure of a whole request means the next one would fail the same way
/// without anything being applied.
fn stops_the_batch(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Auth
            | ErrorKind::RateLimited
            | ErrorKind::Unavailable
            | ErrorKind::Transport
            | ErrorKind::NotFound
            | ErrorKind::Config
            | ErrorKind::Decode
    )
}

impl Vendor for Codemax {
    fn vendor(&self) -> &'static str {
        VENDOR
    }
}

#[async_trait]
impl Sales for Codemax {
    /// Sends one sale as a batch of one.
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        self.push_batch(std::slice::from_ref(sale), "push_sale")
            .await
            .pop()
            .unwrap_or_else(|| {
                Err(Error::Uncertain {
                    vendor: VENDOR,
                    operation: "push_sale",
                    message: "no outcome was recorded for this sale (a posbridge bug)".into(),
                    source: None,
                })
            })
    }

    /// Sends the valid sales in requests of at most 20 invoices, one request after
    /// the other, and returns one outcome per sale in input order.
    async fn push_sales(&self, sales: &[Sale]) -> Vec<Result<PushReceipt>> {
        self.push_batch(sales, "push_sales").await
    }
}

#[async_trait]
impl Voids for Codemax {
    /// Re-syncs the invoice with the void flag set: a void record of the invoice
    /// number (the sale's POS reference; Codemax gives no id of its own), dated when
    /// it was voided, with no items (Codemax reverses what it recorded for the
    /// number). Codemax answers per invoice: a number it never synced is a rejection
    /// (code `34`), a second void a rejection with code `duplicate_reference`. Like a
    /// sale, the sync is not re-sent once it may have been applied: a 5xx or an
    /// unreadable answer is [`Error::Uncertain`].
    async fn void_sale(&self, void: &Void) -> Result<PushReceipt> {
        let invoice = map::void_invoice(void, &self.invoice_options(), jiff::Timestamp::now())?;
        self.sync(&[(0, invoice)], "void_sale").await.pop().unwrap_or_else(|| {
            Err(Error::Uncertain {
                vendor: VENDOR,
                operation: "void_sale",
                message: "no outcome was recorded for this void (a posbridge bug)".into(),
                source: None,
            })
        })
    }
}

impl Connector for Codemax {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Logs in (or refreshes): Codemax has no read, but a login proves the credentials.
    fn check_credentials(&self) -> posbridge_core::BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            self.auth.token().await?;
            Ok("credentials accepted (logged in)".to_owned())
        })
    }

    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }

    fn voids(&self) -> Option<&dyn Voids> {
        Some(self)
    }
}

impl Codemax {
    /// Not part of the API: for `posbridge-bench` only, and may change at any time.
    /// The sync request [`Sales::push_sale`] would send for `sale` (the same steps:
    /// totals checked, mapped to an invoice, encoded as a batch of one), with the
    /// invoice. Nothing is sent and no token is asked for.
    #[doc(hidden)]
    pub fn bench_sale_request(&self, sale: &Sale) -> Result<(Request, impl serde::Serialize + use<>)> {
        let invoice = map::invoice(sale, &self.invoice_options())?;
        let body = wire::SyncInvoices {
            invoices: vec![&invoice],
        };
        let request = Request::post("push_sale", self.sync_path.as_str()).json(&body)?;
        Ok((request, invoice))
    }
}
