//! # posbridge-salesmania
//!
//! The posbridge connector for **SalesMania**, the Indonesian sales-force app: POS
//! sales become SalesMania orders ([`Sales`]: push, read back; [`Voids`]: void by
//! status Batal, by vendor id or POS reference), customers are
//! managed ([`Customers`]: list, get, create, update, delete), stock is read from the
//! products' `qty_on_hand` ([`Stock`]), the products are posbridge's catalogue, read
//! and written ([`Catalogue`]: list, get, create, update, delete; no locations), and
//! products, visits and teams have typed methods of their own
//! ([`SalesMania::create_product`], [`SalesMania::add_visit`],
//! [`SalesMania::list_teams`], …).
//!
//! SalesMania's public pages show the "Add new order" endpoint in full and little
//! else; every path and shape they do not show was chosen (all in `src/wire.rs`) and
//! is documented with its reason in `docs/vendors/salesmania.md`. In short:
//!
//! - **Auth** is a chain: HTTP Basic → bearer token → the account's databases → the
//!   configured one (by id or name) → a team token. Every call then carries
//!   `Authorization: Bearer …` and `?team_token=…`; when SalesMania refuses either,
//!   the whole chain runs again once (single-flight) and the call is re-sent. Wrong
//!   credentials are an [`Error::Auth`]; a configured database the account does not
//!   have is an [`Error::Config`] listing the ones it has.
//! - **Orders**: POS product codes become SalesMania product ids by
//!   `ext_product_code` (the catalogue is listed and cached; explicit `id_map`
//!   entries win), the customer by `ext_cust_no` (created on first use unless
//!   `create_customers` is off; a sale without one goes to `walk_in_customer_id`).
//!   Discounts are SalesMania's cascading strings (`"55.05+3"`, see
//!   [`parse_discount`]) or flat amounts, and SalesMania's arithmetic on what is sent
//!   is checked to the cent against [`Sale::reconcile`] before anything is sent.
//! - **A repeated reference books nothing twice**: the answer to a new order is
//!   `{}`, so the connector looks the reference up (`GET /orders?ext_order_no=…`)
//!   before sending (found: [`Disposition::Duplicate`]) and after (to learn the id).
//!   That look-up is not in SalesMania's document, so it is not trusted: every entry
//!   is matched on its own reference, page after page, up to `lookup_max_pages`
//!   (past it: [`Error::Rejected`] with code [`LOOKUP_PAGE_LIMIT`], nothing sent).
//!   The `POST` itself is never re-sent by the transport; an uncertain one is settled
//!   by the same read-back when it can be.
//! - **A server without that look-up** (HTTP 404 or 405) gets its orders all the
//!   same, without the duplicate check: the client warns once, says
//!   [`DuplicatePolicy::Unknown`] from then on, answers [`Disposition::Accepted`]
//!   without an id, and a failure after sending stays [`Error::Uncertain`] (that
//!   reference is not sent again by the client). Customers are looked up the same way
//!   (by `ext_cust_no`); without that look-up, a customer code the config does not map
//!   is refused rather than created for every sale.
//!
//! It has no purchases, no list of sales and no native batch (the API has none), no
//! returns (SalesMania has no return document) and no payments after the sale (an
//! order's `total_paid` is a running total, not a payment record: overwriting it is
//! neither idempotent nor deletable); a sale with status `void` is booked as a `Batal`
//! order, a cancelled one. See "Returns, voids and payments" in
//! `docs/vendors/salesmania.md`.
//! Tests: unit and property tests in `map.rs` (the discount parser), `wire.rs`,
//! `error.rs` and `auth.rs`; conformance cases in `fixtures/` run by
//! `tests/conformance.rs`; `tests/secrets.rs`; `tests/client.rs` (the chain under
//! load, the catalogue cache, the typed methods); `tests/lookups.rs` (a server without
//! the look-ups, across several pushes).
//!
//! ```no_run
//! use posbridge_core::{Sale, Sales, SecretString};
//! use posbridge_salesmania::{Config, SalesMania};
//!
//! # async fn run() -> posbridge_core::Result<()> {
//! let salesmania = SalesMania::new(
//!     Config::new("kasir@tokomaju.id", SecretString::from("rahasia"), "Toko Maju")
//!         .with_walk_in_customer_id(3000),
//! )?;
//! let sale: Sale = serde_json::from_str(r#"{
//!     "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+07:00",
//!     "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "4500",
//!                "discount": {"cascade": ["55.05", "3"]}}]
//! }"#).expect("a valid sale");
//! let receipt = salesmania.push_sale(&sale).await?;
//! println!("SalesMania order {:?} ({:?})", receipt.vendor_id, receipt.disposition);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod auth;
pub mod bench;
mod descriptor;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod lookup;
mod map;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod types;
mod wire;

pub use descriptor::DESCRIPTOR;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::tz::Offset;
use posbridge_core::error::DUPLICATE_REFERENCE;
use posbridge_core::http::{Request, Response};
use posbridge_core::paging::{MAX_PAGES, Page, Paging};
use posbridge_core::reqwest::Method;
use posbridge_core::{
    BoxFuture, BoxStream, Capabilities, Catalogue, Connector, ConnectorConfig, Customer, Customers, Disposition,
    DuplicatePolicy, Error, HttpConfig, IdKind, IdMap, InMemoryIdMap, Operation, PushReceipt, RefreshableBearer,
    Result, Sale, SaleStatus, Sales, SecretString, Stock, StockLevel, Transport, Vendor, Void, Voids,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::auth::SalesManiaTokens;
use crate::ids::Resolver;
use crate::lookup::{Absences, Looked, Lookup};

pub use crate::map::{DiscountError, format_discount, parse_discount};
pub use crate::types::{NewVisit, Product, ProductUnit, Team, Visit};

/// The vendor name used in errors, logs and config files.
pub const VENDOR: &str = "salesmania";

/// SalesMania's API host, from its document (the default `base_url`).
pub const DEFAULT_BASE_URL: &str = "https://api.salesmania.id/";

/// The unit sent for a line whose sale line names none.
pub const DEFAULT_UNIT: &str = "PCS";

/// The most pages a look-up by reference reads by default (`lookup_max_pages`): 750
/// orders or customers at Laravel's 15 a page, when the server ignores the filter.
pub const DEFAULT_LOOKUP_MAX_PAGES: u32 = 50;

/// The code of the [`Error::Rejected`] a look-up by reference (orders by
/// `ext_order_no`, customers by `ext_cust_no`) ends with when the list goes on past
/// `lookup_max_pages` pages without a match: the server ignores the filter and the
/// list is longer than the bound. Nothing was written; the message names the look-up
/// and the bound.
pub const LOOKUP_PAGE_LIMIT: &str = "lookup_page_limit";

/// Which of the account's databases the connector works in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// By SalesMania's id (`2981`). In a config file: a number.
    Id(u64),
    /// By name (`"Toko Maju"`, case and surrounding spaces ignored; a name that is
    /// all digits also matches the database with that id). In a config file: a string.
    Name(String),
}

impl From<u64> for Database {
    fn from(id: u64) -> Self {
        Self::Id(id)
    }
}

impl From<&str> for Database {
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for Database {
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Name(name) => write!(f, "{name:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for Database {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(Self::Id)
                .ok_or_else(|| serde::de::Error::custom("a database id is a whole number")),
            Value::String(s) if !s.trim().is_empty() => Ok(Self::Name(s.trim().to_owned())),
            _ => Err(serde::de::Error::custom(
                "database is a SalesMania database id (a number) or name (a string)",
            )),
        }
    }
}

/// One merchant's SalesMania account.
///
/// In a config file (JSON or TOML), everything but `username`, `password` and
/// `database` is optional:
///
/// ```
/// let config: posbridge_salesmania::Config = serde_json::from_value(serde_json::json!({
///     "username": "kasir@tokomaju.id", "password": "rahasia", "database": "Toko Maju",
///     "walk_in_customer_id": 3000, "utc_offset": "+08:00",
///     "id_map": {"product": {"TEA-100": "501"}}
/// }))?;
/// assert!(!format!("{config:?}").contains("rahasia"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The SalesMania API, `https://api.salesmania.id/` by default.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The API user's username (HTTP Basic).
    pub username: String,
    /// The API user's password (HTTP Basic).
    pub password: SecretString,
    /// The database to work in, by id or name.
    pub database: Database,
    /// The team orders and visits are booked for; SalesMania's default (the API
    /// user's team) when absent.
    #[serde(default)]
    pub team_id: Option<u64>,
    /// The SalesMania customer a sale without a customer is booked for; such a sale
    /// is refused when absent.
    #[serde(default)]
    pub walk_in_customer_id: Option<u64>,
    /// Whether a sale's customer that SalesMania does not have (by `ext_cust_no`) is
    /// created on first use (the default) or the sale refused.
    #[serde(default = "yes")]
    pub create_customers: bool,
    /// The unit sent for a line that names none, `PCS` by default.
    #[serde(default = "default_unit")]
    pub unit: String,
    /// The `visit_status` sent with orders and visits; SalesMania's default when absent.
    #[serde(default)]
    pub visit_status: Option<String>,
    /// The merchant's UTC offset, for order dates: `"+07:00"` (WIB) by default;
    /// `"+08:00"` for WITA, `"+09:00"` for WIT.
    #[serde(default = "default_utc_offset", deserialize_with = "deserialize_offset")]
    pub utc_offset: Offset,
    /// Explicit mappings, which win over resolution by listing: `{"product": {"TEA-100":
    /// "501"}, "customer": {"C-001": "3001"}}` (values are SalesMania ids).
    #[serde(default)]
    pub id_map: InMemoryIdMap,
    /// The most pages a look-up by reference (orders by `ext_order_no`, customers
    /// by `ext_cust_no`) reads when the server ignores the filter and answers its
    /// whole list, [`DEFAULT_LOOKUP_MAX_PAGES`] by default (1 to 10 000). Past it, the
    /// sale is refused with [`LOOKUP_PAGE_LIMIT`].
    #[serde(default = "default_lookup_max_pages")]
    pub lookup_max_pages: u32,
    /// Timeouts, retries, rate limit.
    #[serde(default)]
    pub http: HttpConfig,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_unit() -> String {
    DEFAULT_UNIT.to_owned()
}

fn yes() -> bool {
    true
}

fn default_lookup_max_pages() -> u32 {
    DEFAULT_LOOKUP_MAX_PAGES
}

fn default_utc_offset() -> Offset {
    Offset::constant(7)
}

fn deserialize_offset<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Offset, D::Error> {
    let text = String::deserialize(d)?;
    map::parse_offset(&text).map_err(serde::de::Error::custom)
}

impl Config {
    /// A config for SalesMania's API with the API user's credentials and the
    /// database to work in (an id, `2981`, or a name, `"Toko Maju"`).
    pub fn new(username: impl Into<String>, password: SecretString, database: impl Into<Database>) -> Self {
        Self {
            base_url: default_base_url(),
            username: username.into(),
            password,
            database: database.into(),
            team_id: None,
            walk_in_customer_id: None,
            create_customers: true,
            unit: default_unit(),
            visit_status: None,
            utc_offset: default_utc_offset(),
            id_map: InMemoryIdMap::new(),
            lookup_max_pages: DEFAULT_LOOKUP_MAX_PAGES,
            http: HttpConfig::default(),
        }
    }

    /// Sets the server.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the team orders and visits are booked for.
    pub fn with_team_id(mut self, team_id: u64) -> Self {
        self.team_id = Some(team_id);
        self
    }

    /// Sets the customer a sale without a customer is booked for.
    pub fn with_walk_in_customer_id(mut self, customer_id: u64) -> Self {
        self.walk_in_customer_id = Some(customer_id);
        self
    }

    /// Sets whether unknown customers are created on first use.
    pub fn with_create_customers(mut self, create: bool) -> Self {
        self.create_customers = create;
        self
    }

    /// Sets the unit sent for lines that name none.
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = unit.into();
        self
    }

    /// Sets the `visit_status` sent with orders and visits.
    pub fn with_visit_status(mut self, visit_status: impl Into<String>) -> Self {
        self.visit_status = Some(visit_status.into());
        self
    }

    /// Sets the merchant's UTC offset.
    pub fn with_utc_offset(mut self, offset: Offset) -> Self {
        self.utc_offset = offset;
        self
    }

    /// Sets the explicit id mappings.
    pub fn with_id_map(mut self, id_map: InMemoryIdMap) -> Self {
        self.id_map = id_map;
        self
    }

    /// Maps a POS product code to a SalesMania product id explicitly.
    pub fn map_product(mut self, code: impl Into<String>, product_id: u64) -> Self {
        self.id_map.insert(IdKind::Product, code, product_id.to_string());
        self
    }

    /// Maps a POS customer code to a SalesMania customer id explicitly.
    pub fn map_customer(mut self, code: impl Into<String>, customer_id: u64) -> Self {
        self.id_map.insert(IdKind::Customer, code, customer_id.to_string());
        self
    }

    /// Sets the most pages a look-up by reference reads (see
    /// [`Config::lookup_max_pages`]).
    pub fn with_lookup_max_pages(mut self, max_pages: u32) -> Self {
        self.lookup_max_pages = max_pages;
        self
    }

    /// Sets the HTTP settings.
    pub fn with_http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    fn validate(&self) -> Result<()> {
        let username = self.username.trim();
        if username.is_empty() {
            return Err(Error::config(format!("{VENDOR}: username is empty")));
        }
        if username.contains(':') {
            return Err(Error::config(format!(
                "{VENDOR}: username may not contain ':' (HTTP Basic cannot carry it)"
            )));
        }
        if posbridge_core::ExposeSecret::expose_secret(&self.password).is_empty() {
            return Err(Error::config(format!("{VENDOR}: password is empty")));
        }
        if matches!(&self.database, Database::Name(n) if n.trim().is_empty()) {
            return Err(Error::config(format!("{VENDOR}: database is empty")));
        }
        if self.unit.trim().is_empty() {
            return Err(Error::config(format!("{VENDOR}: unit is empty")));
        }
        if !(1..=MAX_PAGES).contains(&self.lookup_max_pages) {
            return Err(Error::config(format!(
                "{VENDOR}: lookup_max_pages is {}; it must be 1 to {MAX_PAGES}",
                self.lookup_max_pages
            )));
        }
        Ok(())
    }
}

impl ConnectorConfig for Config {
    fn connect(self) -> Result<Box<dyn Connector>> {
        Ok(Box::new(SalesMania::new(self)?))
    }
}

/// What the SalesMania connector offers. A repeated sale reference is found by the
/// connector and not booked again ([`DuplicatePolicy::Ignored`]), by the order
/// look-up by `ext_order_no`. A client whose server turns out to have no such look-up
/// (HTTP 404 or 405) says [`DuplicatePolicy::Unknown`] from then on
/// ([`Connector::capabilities`]).
///
/// Voiding an order already Batal answers [`Disposition::Duplicate`] (the refusal is
/// read back), so a repeated void is [`DuplicatePolicy::Ignored`]. No returns and no
/// payments: SalesMania has neither document.
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::new([
        Operation::PushSale,
        Operation::GetSale,
        Operation::VoidSale,
        Operation::StockLevels,
        Operation::ListCustomers,
        Operation::GetCustomer,
        Operation::CreateCustomer,
        Operation::UpdateCustomer,
        Operation::DeleteCustomer,
        Operation::ListProducts,
        Operation::GetProduct,
        Operation::CreateProduct,
        Operation::UpdateProduct,
        Operation::DeleteProduct,
    ]);
    c.sale_duplicates = DuplicatePolicy::Ignored;
    c.void_duplicates = DuplicatePolicy::Ignored;
    c
}

/// The transport and the auth chain, shared by the client and its id resolver; and
/// what the client learnt of the look-ups by reference.
#[derive(Debug)]
pub(crate) struct Api {
    transport: Arc<Transport>,
    auth: RefreshableBearer<SalesManiaTokens>,
    /// The look-ups this server turned out not to have.
    absences: Absences,
    /// The config's `lookup_max_pages`.
    lookup_max_pages: u32,
}

/// A list to read page by page (`GET path?page=N`): a whole list, or a look-up with
/// its filter and its bound.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    operation: &'static str,
    path: &'static str,
    /// `param=value`, for a look-up.
    filter: Option<(&'static str, String)>,
    /// The last page read.
    max_pages: u32,
    /// For a look-up, a list that goes on past `max_pages` is an error naming it
    /// ([`lookup::page_limit`]); a whole list ends with the pager's own error there
    /// (a guard against a server that never says the list has ended).
    lookup: Option<Lookup>,
}

impl Listing {
    /// The whole list at `path`, read to [`MAX_PAGES`].
    pub(crate) fn all(operation: &'static str, path: &'static str) -> Self {
        Self {
            operation,
            path,
            filter: None,
            max_pages: MAX_PAGES,
            lookup: None,
        }
    }

    /// A look-up of `value`, read to `max_pages`.
    pub(crate) fn lookup(lookup: Lookup, value: &str, max_pages: u32) -> Self {
        Self {
            operation: lookup.operation(),
            path: lookup.path(),
            filter: Some((lookup.param(), value.to_owned())),
            max_pages,
            lookup: Some(lookup),
        }
    }

    /// How the list is paged: to its bound, refusing a page that repeats the one
    /// before.
    fn paging(&self) -> Paging {
        let paging = match self.lookup {
            Some(lookup) => Paging::new(VENDOR, lookup.to_string())
                .past_the_bound(move |limit| lookup::page_limit(lookup, limit.max_pages)),
            None => Paging::new(VENDOR, format!("{} (GET {})", self.operation, self.path)),
        };
        paging.max_pages(self.max_pages).same_entries(same_entries)
    }
}

/// Whether two pages' bodies hold the same entries, however written.
fn same_entries(a: &[u8], b: &[u8]) -> bool {
    let entries = |body: &[u8]| {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        map::page(value, 1).ok().map(|p| p.items)
    };
    matches!((entries(a), entries(b)), (Some(x), Some(y)) if x == y)
}

impl Api {
    /// Sends a request with the bearer and the team token. The chain runs first, on
    /// its own, so that a refused login is reported once as what it is (and not
    /// multiplied by the request's retries).
    async fn send(&self, request: &Request) -> Result<Response> {
        self.auth.token().await?;
        self.transport.send(request, Some(&self.auth)).await
    }

    /// A JSON read.
    async fn get(&self, operation: &'static str, path: String) -> Result<(Value, Response)> {
        let response = self.send(&Request::get(operation, path)).await?;
        let value = response.json(VENDOR)?;
        Ok((value, response))
    }

    /// A write whose answer must be empty or JSON; anything else means the write may
    /// have been applied without our knowing ([`Error::Uncertain`]).
    async fn write(&self, request: &Request) -> Result<Value> {
        let response = self.send(request).await?;
        map::write_answer(&response.body).ok_or_else(|| {
            Error::decode(VENDOR, "the answer is not JSON", &response.body).into_uncertain(request.operation())
        })
    }

    /// Every page of a list, lazily, each entry read as `T` then mapped: the one
    /// pager (core's), for whole lists and for look-ups alike.
    fn pages<T, U>(
        &self,
        listing: Listing,
        map_entry: fn(T) -> std::result::Result<U, String>,
    ) -> BoxStream<'_, Result<Vec<U>>>
    where
        T: DeserializeOwned + Send + 'static,
        U: Clone + PartialEq + Send + 'static,
    {
        let paging = listing.paging();
        paging.pages(1, move |page| {
            let listing = listing.clone();
            async move { self.page(&listing, page, map_entry).await }
        })
    }

    /// Page `page` of a list: `GET path?page=N`, each entry read as `T` then mapped.
    async fn page<T, U>(
        &self,
        listing: &Listing,
        page: u32,
        map_entry: fn(T) -> std::result::Result<U, String>,
    ) -> Result<Page<U, u32>>
    where
        T: DeserializeOwned,
    {
        let mut request = Request::get(listing.operation, listing.path);
        if let Some((param, value)) = &listing.filter {
            request = request.query(*param, value.clone());
        }
        let request = request.query(wire::PAGE_PARAM, page.to_string());
        let response = self.send(&request).await?;
        let value: Value = response.json(VENDOR)?;
        let decode = |why: String| Error::decode(VENDOR, why, &response.body);
        let p = map::page(value, page).map_err(decode)?;
        let records: Vec<T> = map::items(p.items).map_err(decode)?;
        let entries = records
            .into_iter()
            .enumerate()
            .map(|(i, r)| map_entry(r).map_err(|why| decode(format!("entry {i}: {why}"))))
            .collect::<Result<Vec<U>>>()?;
        Ok(Page::new(entries, p.more.then_some(page + 1)).body(response.body))
    }

    /// Every entry of a list, read to the end.
    async fn list_all<T, U>(
        &self,
        operation: &'static str,
        path: &'static str,
        map_entry: fn(T) -> std::result::Result<U, String>,
    ) -> Result<Vec<U>>
    where
        T: DeserializeOwned + Send + 'static,
        U: Clone + PartialEq + Send + 'static,
    {
        self.pages(Listing::all(operation, path), map_entry).try_concat().await
    }
}

/// Serialises pushes of one reference within a client, so that two concurrent
/// pushes of the same sale cannot both find no order and both create one.
#[derive(Debug, Default)]
struct ReferenceLocks(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

struct ReferenceGuard<'a> {
    locks: &'a ReferenceLocks,
    reference: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl ReferenceLocks {
    async fn lock(&self, reference: &str) -> ReferenceGuard<'_> {
        let lock = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(reference.to_owned())
            .or_default()
            .clone();
        ReferenceGuard {
            locks: self,
            reference: reference.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for ReferenceGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.locks.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only the map holds it now: nobody is waiting on this reference.
        if map.get(&self.reference).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(&self.reference);
        }
    }
}

/// A SalesMania client for one merchant's account (one database).
#[derive(Debug)]
pub struct SalesMania {
    api: Arc<Api>,
    ids: Resolver,
    config: Config,
    capabilities: Capabilities,
    /// What the client offers once the order look-up turned out absent: the same,
    /// with duplicates [`DuplicatePolicy::Unknown`].
    capabilities_unchecked: Capabilities,
    pushing: ReferenceLocks,
    /// References pushed without the duplicate check whose outcome was uncertain:
    /// never sent again by this client (they may be booked).
    unsettled: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl SalesMania {
    /// A client with its own connection pool. No request is sent: the auth chain
    /// runs on the first call.
    pub fn new(config: Config) -> Result<Self> {
        config.validate()?;
        let transport = Transport::new(VENDOR, &config.base_url, config.http.clone(), error::parse_error)?;
        Ok(Self::from_parts(transport, config))
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
        Ok(Self::from_parts(transport, config))
    }

    fn from_parts(transport: Transport, config: Config) -> Self {
        // The password travels (Basic-encoded) on the chain's first step: no error may
        // show it, should SalesMania echo it back (the tokens the transport puts on
        // requests are cleared by the transport itself).
        let transport = Arc::new(transport.with_secrets([&config.password]));
        let tokens = SalesManiaTokens::new(
            transport.clone(),
            config.username.trim().to_owned(),
            config.password.clone(),
            config.database.clone(),
        );
        let api = Arc::new(Api {
            transport,
            // The renewal margin is per token (see `auth.rs`), so the bearer's is zero.
            auth: RefreshableBearer::with_margin(tokens, Duration::ZERO),
            absences: Absences::default(),
            lookup_max_pages: config.lookup_max_pages,
        });
        let mut capabilities_unchecked = capabilities();
        capabilities_unchecked.sale_duplicates = DuplicatePolicy::Unknown;
        Self {
            ids: Resolver::new(api.clone(), config.id_map.clone()),
            api,
            config,
            capabilities: capabilities(),
            capabilities_unchecked,
            pushing: ReferenceLocks::default(),
            unsettled: std::sync::Mutex::default(),
        }
    }

    /// The id map the connector resolves with: products by `ext_product_code`,
    /// customers by `ext_cust_no`, the config's explicit mappings first.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// use posbridge_core::IdKind;
    /// let id = salesmania.id_map().lookup(IdKind::Product, "TEA-100").await?;
    /// println!("TEA-100 is SalesMania product {id:?}");
    /// # Ok(()) }
    /// ```
    pub fn id_map(&self) -> &dyn IdMap {
        &self.ids
    }

    fn order_options(&self) -> map::OrderOptions<'_> {
        map::OrderOptions {
            utc_offset: self.config.utc_offset,
            unit: self.config.unit.trim(),
            team_id: self.config.team_id,
            visit_status: self.config.visit_status.as_deref(),
            walk_in_customer_id: self.config.walk_in_customer_id,
        }
    }

    /// SalesMania's id of the order pushed under the POS `reference`, if SalesMania
    /// has one that says its id (`GET /extapi/v1.0/orders?ext_order_no=…`, page by
    /// page, every entry matched on its own reference: the filter is not trusted).
    /// [`Error::Unsupported`] when the server has no such look-up (HTTP 404 or 405);
    /// [`Error::Rejected`] with code [`LOOKUP_PAGE_LIMIT`] when the list goes on past
    /// `lookup_max_pages` pages without the reference.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// if let Some(id) = salesmania.find_order("INV-1001").await? {
    ///     println!("INV-1001 is SalesMania order {id}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_order(&self, reference: &str) -> Result<Option<String>> {
        match self.look_up_order(reference).await? {
            Looked::Found(id) => Ok(id.map(|id| id.to_string())),
            Looked::NoMatch => Ok(None),
            Looked::Absent(_) => Err(Error::Unsupported {
                vendor: VENDOR,
                operation: "find_order",
                offers: Vec::new(),
            }),
        }
    }

    /// The order booked under `reference`: found (with its id when the entry says
    /// it), not booked, or no look-up on this server.
    async fn look_up_order(&self, reference: &str) -> Result<Looked<Option<u64>>> {
        Ok(
            match self
                .api
                .find(Lookup::Orders, reference, |o: &wire::ExtOrder| {
                    o.has_reference(reference)
                })
                .await?
            {
                Looked::Found(orders) => Looked::Found(map::find_order(&orders, reference).flatten()),
                Looked::NoMatch => Looked::NoMatch,
                Looked::Absent(status) => Looked::Absent(status),
            },
        )
    }

    /// Sets an order's status (`PATCH /extapi/v1.0/orders/{id}`): open → Baru,
    /// processing → Diproses, delivered → Terkirim, paid → Lunas, void → Batal.
    /// Setting a status twice is harmless, so the call is retried like a read.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// use posbridge_core::SaleStatus;
    /// salesmania.set_order_status("9001", SaleStatus::Delivered).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_order_status(&self, order_id: &str, status: SaleStatus) -> Result<()> {
        self.patch_status(parse_id(order_id, "id")?, status).await
    }

    /// `PATCH /extapi/v1.0/orders/{id}` with the status; retried like a read.
    async fn patch_status(&self, id: u64, status: SaleStatus) -> Result<()> {
        let body = wire::OrderStatusUpdate {
            status: map::status_to_vendor(status)?,
            ext_order_status_name: map::status_name(status),
        };
        let operation = if status == SaleStatus::Void {
            "void_sale"
        } else {
            "set_order_status"
        };
        let request = Request::new(operation, Method::PATCH, wire::by_id(wire::ORDERS, id))
            .json(&body)?
            .idempotent(true);
        self.api.write(&request).await.map(|_| ())
    }

    /// An order's status as SalesMania has it (`GET /extapi/v1.0/orders/{id}`); `None`
    /// when the order says none that posbridge knows.
    async fn order_status(&self, id: u64) -> Result<Option<SaleStatus>> {
        let (value, response) = self.api.get("void_sale", wire::by_id(wire::ORDERS, id)).await?;
        let order: wire::ExtOrder = serde_json::from_value(map::record(value))
            .map_err(|e| Error::decode(VENDOR, e.to_string(), &response.body))?;
        Ok(order
            .sm_status
            .as_deref()
            .or(order.status.as_deref())
            .and_then(map::status_from_vendor))
    }

    /// The id of the order booked under the POS `reference`, for a void: an order
    /// the look-up does not find is [`Error::NotFound`]; one listed without its id,
    /// or a server without the look-up, is [`Error::Invalid`] asking for the vendor id.
    async fn order_by_reference(&self, reference: &str) -> Result<u64> {
        let quoted = posbridge_core::error::quote(reference);
        match self.look_up_order(reference).await? {
            Looked::Found(Some(id)) => Ok(id),
            Looked::Found(None) => Err(Error::invalid(
                "sale.vendor_id",
                format!(
                    "SalesMania lists an order with {} {quoted} but not its id: give the vendor id from the \
                     sale's push receipt",
                    wire::EXT_ORDER_NO_PARAM
                ),
            )),
            Looked::NoMatch => Err(Error::NotFound {
                vendor: VENDOR,
                what: format!("an order with {} {quoted} to void", wire::EXT_ORDER_NO_PARAM),
            }),
            Looked::Absent(status) => Err(Error::invalid(
                "sale.vendor_id",
                format!(
                    "this SalesMania server has no order look-up by {} (HTTP {status}), so sale {quoted} cannot \
                     be found by its POS reference: give the vendor id from the sale's push receipt (the outbox \
                     fills it in for sales it delivered)",
                    wire::EXT_ORDER_NO_PARAM
                ),
            )),
        }
    }

    /// The customer a prepared order is for, creating it when allowed.
    async fn order_customer(&self, need: &map::CustomerNeed) -> Result<u64> {
        let (code, customer) = match need {
            map::CustomerNeed::Id(id) | map::CustomerNeed::WalkIn(id) => return Ok(*id),
            map::CustomerNeed::ByCode { code, customer } => (code, customer),
        };
        if let Some(id) = self.ids.customer_id(code).await? {
            return Ok(id);
        }
        if !self.config.create_customers {
            return Err(Error::invalid(
                "customer.code",
                format!(
                    "no SalesMania customer has ext_cust_no {code:?}; create it, map it in id_map, or turn \
                     create_customers on"
                ),
            ));
        }
        tracing::debug!(vendor = VENDOR, "creating the sale's customer");
        let created = self.create_customer_record(customer).await?;
        let id = created
            .id
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok())
            .ok_or_else(|| Error::Unavailable {
                vendor: VENDOR,
                status: None,
                message: format!(
                    "the customer {code:?} was created but SalesMania did not say its id, nor list it by \
                     ext_cust_no yet; push the sale again later"
                ),
            })?;
        self.ids.remember_customer(code, id);
        Ok(id)
    }

    /// `POST /customers`, then the created customer: from the answer when it has an
    /// id, else read back by `ext_cust_no`, else as sent (without an id).
    async fn create_customer_record(&self, customer: &Customer) -> Result<Customer> {
        let body = map::customer_body(customer, false)?;
        let request = Request::post("create_customer", wire::CUSTOMERS).json(&body)?;
        let answer = self.api.write(&request).await?;
        let record: wire::CustomerRecord = serde_json::from_value(map::record(answer)).unwrap_or_default();
        if let Some(id) = record.id {
            return Ok(stored_customer(record, customer, id));
        }
        if let Some(code) = &body.ext_cust_no {
            let found = match self.ids.find_customer(code).await {
                Ok(Looked::Found(found)) => found,
                Ok(Looked::NoMatch | Looked::Absent(_)) => Vec::new(),
                Err(e) => {
                    tracing::debug!(vendor = VENDOR, error = %e, "reading the new customer back failed");
                    Vec::new()
                }
            };
            if let [one] = found.as_slice()
                && let Some(id) = one.id
            {
                return Ok(stored_customer(one.clone(), customer, id));
            }
        }
        Ok(customer.clone())
    }

    async fn push(&self, sale: &Sale) -> Result<PushReceipt> {
        let checked = sale.reconcile()?;
        let prepared = map::prepare_order(&checked, &self.order_options())?;
        self.api.auth.token().await?;
        let product_ids = self.ids.product_ids(&prepared.products).await?;
        let customer_id = self.order_customer(&prepared.customer).await?;
        let reference = sale.reference.as_str();
        let _pushing = self.pushing.lock(reference).await;
        if self.is_unsettled(reference) {
            return Err(Error::Uncertain {
                vendor: VENDOR,
                operation: "push_sale",
                message: format!(
                    "not sent: an earlier push of this reference by this client may have been booked (its outcome \
                     was uncertain, and SalesMania has no order look-up by {} to tell); check SalesMania, and push \
                     it again from a new client only if it is missing",
                    wire::EXT_ORDER_NO_PARAM
                ),
                source: None,
            });
        }
        // Whether a repeat of this reference would have been seen: the look-up
        // answered (decision 19). Without it, the order is posted all the same.
        let duplicate_checked = match self.look_up_order(reference).await? {
            Looked::Found(id) => return Ok(receipt(reference, id, Disposition::Duplicate)),
            Looked::NoMatch => true,
            Looked::Absent(_) => false,
        };
        let order = prepared.finish(&product_ids, customer_id)?;
        // Not idempotent: a re-sent order would be a second order. A failure after
        // sending is uncertain, and settled below by reading back when possible.
        let request = Request::post("push_sale", wire::ORDERS).json(&order)?;
        let sent = self.api.write(&request).await;
        if !duplicate_checked {
            return self.unchecked_outcome(reference, sent);
        }
        match sent {
            Ok(_) => match self.look_up_order(reference).await {
                Ok(Looked::Found(id)) => Ok(receipt(reference, id, Disposition::Created)),
                Ok(Looked::NoMatch | Looked::Absent(_)) => Ok(receipt(reference, None, Disposition::Accepted)),
                Err(e) => {
                    tracing::debug!(vendor = VENDOR, error = %e, "reading the new order back failed");
                    Ok(receipt(reference, None, Disposition::Accepted))
                }
            },
            Err(e @ Error::Uncertain { .. }) => match self.look_up_order(reference).await {
                Ok(Looked::Found(id)) => Ok(receipt(reference, id, Disposition::Created)),
                _ => Err(e),
            },
            // Booked meanwhile (by another process): SalesMania's own refusal of the
            // repeat, confirmed by reading back, is a duplicate.
            Err(e) if e.vendor_code() == Some(DUPLICATE_REFERENCE) => match self.look_up_order(reference).await {
                Ok(Looked::Found(id)) => Ok(receipt(reference, id, Disposition::Duplicate)),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The outcome of an order posted without the duplicate check (the server has no
    /// order look-up): nothing can be read back, so a success is
    /// [`Disposition::Accepted`] without an id, and a failure after sending stays
    /// [`Error::Uncertain`], saying that the sale's duplicate safety is unknown; its
    /// reference is then never sent again by this client.
    fn unchecked_outcome(&self, reference: &str, sent: Result<Value>) -> Result<PushReceipt> {
        match sent {
            Ok(_) => Ok(receipt(reference, None, Disposition::Accepted)),
            Err(Error::Uncertain {
                vendor,
                operation,
                message,
                source,
            }) => {
                self.unsettled
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(reference.to_owned());
                Err(Error::Uncertain {
                    vendor,
                    operation,
                    message: format!(
                        "{message}; duplicate safety unknown: SalesMania has no order look-up by {} here, so \
                         whether the order was booked cannot be read back, and this client will not send it \
                         again: check SalesMania before pushing it again",
                        wire::EXT_ORDER_NO_PARAM
                    ),
                    source,
                })
            }
            Err(e) => Err(e),
        }
    }

    fn is_unsettled(&self, reference: &str) -> bool {
        self.unsettled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(reference)
    }

    /// Every product, page by page (`GET /extapi/v1.0/products?page=…`).
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let products: Vec<_> = salesmania.list_products().try_collect().await?;
    /// println!("{} products", products.len());
    /// # Ok(()) }
    /// ```
    pub fn list_products(&self) -> BoxStream<'_, Result<Product>> {
        self.api
            .pages(Listing::all("list_products", wire::PRODUCTS), map::product_from_record)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// One product by SalesMania's id.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// let tea = salesmania.get_product(501).await?;
    /// println!("{} has {} on hand", tea.name, tea.qty_on_hand);
    /// # Ok(()) }
    /// ```
    pub async fn get_product(&self, product_id: u64) -> Result<Product> {
        let (value, response) = self
            .api
            .get("get_product", wire::by_id(wire::PRODUCTS, product_id))
            .await?;
        let record: wire::ProductRecord = serde_json::from_value(map::record(value))
            .map_err(|e| Error::decode(VENDOR, e.to_string(), &response.body))?;
        map::product_from_record(record).map_err(|why| Error::decode(VENDOR, why, &response.body))
    }

    /// Creates a product, checked locally first (a name, at least one unit of ratio
    /// 1, …: see [`Product::check`]; refused with [`Error::Invalid`], nothing sent).
    /// Returns it as stored: from the answer when it has an id, else with the id
    /// found by `ext_product_code`, else as sent.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// use posbridge_core::Decimal;
    /// use posbridge_salesmania::{Product, ProductUnit};
    /// let mut tea = Product::new("Teh Celup 25s", Decimal::from(40), vec![
    ///     ProductUnit::new("PCS", Decimal::from(4500), Decimal::ONE),
    /// ]);
    /// tea.ext_product_code = Some("TEA-100".into());
    /// let stored = salesmania.create_product(&tea).await?;
    /// println!("created product {:?}", stored.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_product(&self, product: &Product) -> Result<Product> {
        let body = map::product_body(product)?;
        let request = Request::post("create_product", wire::PRODUCTS).json(&body)?;
        let answer = self.api.write(&request).await?;
        let stored = self.stored_product(answer, product, None);
        if stored.id.is_some() {
            return Ok(stored);
        }
        let mut stored = stored;
        if let Some(code) = &body.ext_product_code {
            stored.id = self.ids.product_id_fresh(code).await.unwrap_or_default();
        }
        Ok(stored)
    }

    /// Updates a product by SalesMania's id (`PATCH`, the whole product, checked
    /// locally first). Setting the same values twice is harmless, so it is retried
    /// like a read.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// let mut tea = salesmania.get_product(501).await?;
    /// tea.qty_on_hand = posbridge_core::Decimal::from(38);
    /// salesmania.update_product(501, &tea).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_product(&self, product_id: u64, product: &Product) -> Result<Product> {
        let body = map::product_body(product)?;
        let request = Request::new("update_product", Method::PATCH, wire::by_id(wire::PRODUCTS, product_id))
            .json(&body)?
            .idempotent(true);
        let answer = self.api.write(&request).await;
        self.ids.forget_products().await;
        Ok(self.stored_product(answer?, product, Some(product_id)))
    }

    /// Deletes a product by SalesMania's id.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// salesmania.delete_product(501).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_product(&self, product_id: u64) -> Result<()> {
        let request = Request::new(
            "delete_product",
            Method::DELETE,
            wire::by_id(wire::PRODUCTS, product_id),
        )
        .idempotent(false);
        let answer = self.api.write(&request).await;
        self.ids.forget_products().await;
        answer.map(|_| ())
    }

    /// The product as stored: the answer's when it is a whole product record, else
    /// what was sent with the answer's (or the known) id.
    fn stored_product(&self, answer: Value, sent: &Product, known_id: Option<u64>) -> Product {
        let record: Option<wire::ProductRecord> = serde_json::from_value(map::record(answer)).ok();
        let id = record.as_ref().and_then(|r| r.id).or(known_id);
        match record.map(map::product_from_record) {
            Some(Ok(p)) if p.id.is_some() => p,
            _ => Product { id, ..sent.clone() },
        }
    }

    /// Every visit (`GET /extapi/v1.0/visits`, page by page).
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// for visit in salesmania.list_visits().await? {
    ///     println!("{:?} visited customer {:?}", visit.date, visit.customer_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_visits(&self) -> Result<Vec<Visit>> {
        self.api
            .list_all("list_visits", wire::VISITS, |r| Ok(map::visit_from_record(r)))
            .await
    }

    /// Records a visit (`POST /extapi/v1.0/visits`); returns its id when the answer
    /// carries one. The config's `team_id` and `visit_status` fill what the visit
    /// leaves out. Not retried after it may have been applied.
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// use posbridge_salesmania::NewVisit;
    /// let visit = NewVisit::new("2026-11-26".parse().expect("a date"), 3001);
    /// let id = salesmania.add_visit(&visit).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_visit(&self, visit: &NewVisit) -> Result<Option<u64>> {
        let body = wire::VisitBody {
            date: visit.date.to_string(),
            customer_id: visit.customer_id,
            team_id: visit.team_id.or(self.config.team_id),
            visit_status: visit.visit_status.clone().or_else(|| self.config.visit_status.clone()),
            description: visit.description.clone().filter(|d| !d.trim().is_empty()),
        };
        let request = Request::post("add_visit", wire::VISITS).json(&body)?;
        let answer = self.api.write(&request).await?;
        Ok(serde_json::from_value::<wire::VisitRecord>(map::record(answer))
            .ok()
            .and_then(|r| r.id))
    }

    /// The account's teams (`GET /extapi/v1.0/teams`).
    ///
    /// ```no_run
    /// # async fn run(salesmania: posbridge_salesmania::SalesMania) -> posbridge_core::Result<()> {
    /// for team in salesmania.list_teams().await? {
    ///     println!("team {} {:?}", team.id, team.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_teams(&self) -> Result<Vec<Team>> {
        self.api
            .list_all("list_teams", wire::TEAMS, map::team_from_record)
            .await
    }
}

fn receipt(reference: &str, id: Option<u64>, disposition: Disposition) -> PushReceipt {
    PushReceipt {
        reference: reference.to_owned(),
        vendor_id: id.map(|id| id.to_string()),
        disposition,
        differences: Vec::new(),
    }
}

/// A SalesMania id from a domain id string; refused locally (nothing sent) when it is
/// not a whole number.
fn parse_id(id: &str, field: &str) -> Result<u64> {
    id.trim()
        .parse::<u64>()
        .map_err(|_| Error::invalid(field, format!("{id:?} is not a SalesMania id (a whole number)")))
}

/// The customer as stored: the answer's record when it is whole, else what was sent
/// with the answer's id.
fn stored_customer(record: wire::CustomerRecord, sent: &Customer, id: u64) -> Customer {
    match map::customer_from_record(record) {
        Ok(c) => c,
        Err(_) => Customer {
            id: Some(id.to_string()),
            ..sent.clone()
        },
    }
}

impl Vendor for SalesMania {
    fn vendor(&self) -> &'static str {
        VENDOR
    }
}

#[async_trait]
impl Sales for SalesMania {
    /// Pushes a sale as a SalesMania order; see the crate docs for the steps.
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        self.push(sale).await
    }

    /// Reads an order back by SalesMania's id, as a sale of kind `order`.
    async fn get_sale(&self, vendor_id: &str) -> Result<Sale> {
        let id = parse_id(vendor_id, "id")?;
        let (value, response) = self.api.get("get_sale", wire::by_id(wire::ORDERS, id)).await?;
        let order: wire::ExtOrder = serde_json::from_value(map::record(value))
            .map_err(|e| Error::decode(VENDOR, e.to_string(), &response.body))?;
        map::sale_from_order(&order, self.config.utc_offset).map_err(|why| Error::decode(VENDOR, why, &response.body))
    }
}

#[async_trait]
impl Voids for SalesMania {
    /// Sets the order's status to Batal (`PATCH /extapi/v1.0/orders/{id}`), which
    /// SalesMania's stock follows. The order is the vendor id when given, else the one
    /// booked under the POS reference ([`SalesMania::find_order`]).
    ///
    /// - An order SalesMania does not hold (a 404 to the `PATCH`, or a POS reference
    ///   the look-up does not find) is [`Error::NotFound`] naming it; on a server
    ///   without the look-up by `ext_order_no`, a void by POS reference is
    ///   [`Error::Invalid`] asking for the vendor id.
    /// - Setting a status is idempotent, so the `PATCH` is retried like a read (5xx
    ///   included).
    /// - A refusal is read back (`GET /extapi/v1.0/orders/{id}`): an order that is
    ///   Batal already was voided before (by an earlier void, or by a retry of this
    ///   one whose first answer was lost), and the void answers
    ///   [`Disposition::Duplicate`]; any other refusal stays [`Error::Rejected`].
    async fn void_sale(&self, void: &Void) -> Result<PushReceipt> {
        void.check()?;
        let id = match (void.sale.vendor_id(), void.sale.reference()) {
            (None, Some(reference)) => self.order_by_reference(reference).await?,
            _ => parse_id(void.sale.require_vendor_id(VENDOR, "sale")?, "sale.vendor_id")?,
        };
        let receipt = |disposition| PushReceipt {
            reference: void.sale.reference().map_or_else(|| id.to_string(), str::to_owned),
            vendor_id: Some(id.to_string()),
            disposition,
            differences: Vec::new(),
        };
        match self.patch_status(id, SaleStatus::Void).await {
            Ok(()) => Ok(receipt(Disposition::Updated)),
            Err(Error::NotFound { vendor, what }) => Err(Error::NotFound {
                vendor,
                what: format!("order {id} to void ({what})"),
            }),
            Err(e @ Error::Rejected { .. }) => match self.order_status(id).await {
                Ok(Some(SaleStatus::Void)) => Ok(receipt(Disposition::Duplicate)),
                Ok(_) => Err(e),
                Err(read) => {
                    tracing::debug!(vendor = VENDOR, error = %read, "reading the refused void's order back failed");
                    Err(e)
                }
            },
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Stock for SalesMania {
    /// Every product's `qty_on_hand`, page by page.
    fn stock_levels(&self) -> BoxStream<'_, Result<StockLevel>> {
        fn level(r: wire::ProductRecord) -> std::result::Result<StockLevel, String> {
            map::stock_level(&r)
        }
        self.api
            .pages(Listing::all("stock_levels", wire::PRODUCTS), level)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

#[async_trait]
impl Customers for SalesMania {
    fn list_customers(&self) -> BoxStream<'_, Result<Customer>> {
        self.api
            .pages(
                Listing::all("list_customers", wire::CUSTOMERS),
                map::customer_from_record,
            )
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    async fn get_customer(&self, vendor_id: &str) -> Result<Customer> {
        let id = parse_id(vendor_id, "id")?;
        let (value, response) = self.api.get("get_customer", wire::by_id(wire::CUSTOMERS, id)).await?;
        let record: wire::CustomerRecord = serde_json::from_value(map::record(value))
            .map_err(|e| Error::decode(VENDOR, e.to_string(), &response.body))?;
        map::customer_from_record(record).map_err(|why| Error::decode(VENDOR, why, &response.body))
    }

    /// Creates a customer (the POS code as `ext_cust_no`). Not retried after it may
    /// have been applied.
    async fn create_customer(&self, customer: &Customer) -> Result<Customer> {
        let created = self.create_customer_record(customer).await?;
        if let (Some(code), Some(id)) = (
            created.code.as_deref(),
            created.id.as_deref().and_then(|i| i.parse().ok()),
        ) {
            self.ids.remember_customer(code, id);
        }
        Ok(created)
    }

    /// Updates a customer (`PATCH`): fields the customer leaves empty are left as
    /// they are, tags are replaced. Retried like a read (the same values twice are
    /// harmless).
    async fn update_customer(&self, vendor_id: &str, customer: &Customer) -> Result<Customer> {
        let id = parse_id(vendor_id, "id")?;
        let body = map::customer_body(customer, true)?;
        let request = Request::new("update_customer", Method::PATCH, wire::by_id(wire::CUSTOMERS, id))
            .json(&body)?
            .idempotent(true);
        let answer = self.api.write(&request).await?;
        let record: wire::CustomerRecord = serde_json::from_value(map::record(answer)).unwrap_or_default();
        Ok(stored_customer(record, customer, id))
    }

    /// Deletes a customer. Not retried after it may have been applied (a second
    /// delete would answer "not found" for a customer this one deleted).
    async fn delete_customer(&self, vendor_id: &str) -> Result<()> {
        let id = parse_id(vendor_id, "id")?;
        let request =
            Request::new("delete_customer", Method::DELETE, wire::by_id(wire::CUSTOMERS, id)).idempotent(false);
        self.api.write(&request).await.map(|_| ())
    }
}

/// SalesMania's products as posbridge's catalogue ("Catalogue and locations" in
/// `docs/vendors/salesmania.md`): `code` ↔ `ext_product_code` (read: else the SKU,
/// else the id), `unit`/`price` ↔ the unit of ratio 1, `active` ↔ `status`, the rest
/// kept in `extras` (and sent back from there: `sku`, `description`, `tags`,
/// `default_disc`, the other units; `qty_on_hand` on create only). No locations:
/// SalesMania's teams are sales teams, not places stock is kept.
#[async_trait]
impl Catalogue for SalesMania {
    /// Every product, page by page (`GET /extapi/v1.0/products?page=…`), lazily.
    fn products(&self) -> BoxStream<'_, Result<posbridge_core::Product>> {
        self.api
            .pages(Listing::all("list_products", wire::PRODUCTS), map::catalogue_product)
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// One product by SalesMania's id (`GET /extapi/v1.0/products/{id}`).
    async fn get_product(&self, vendor_id: &str) -> Result<posbridge_core::Product> {
        let id = parse_id(vendor_id, "id")?;
        let (value, response) = self.api.get("get_product", wire::by_id(wire::PRODUCTS, id)).await?;
        map::catalogue_product(map::record(value)).map_err(|why| Error::decode(VENDOR, why, &response.body))
    }

    /// Creates a product (`POST /extapi/v1.0/products`), checked locally first; with
    /// `qty_on_hand` from `extras` when given, else 0 (the stock is SalesMania's to
    /// count from there). Not retried once sent (a second `POST` would be a second
    /// product). Returns it as stored: the answer's record when it is one, else as
    /// sent with the id found by `ext_product_code` (when the catalogue lists it).
    async fn create_product(&self, product: &posbridge_core::Product) -> Result<posbridge_core::Product> {
        let body = map::catalogue_body(product, self.config.unit.trim(), map::Write::Create)?;
        let request = Request::post("create_product", wire::PRODUCTS).json(&body)?;
        let answer = self.api.write(&request).await?;
        self.ids.forget_products().await;
        if let Some(stored) = stored_catalogue_product(answer) {
            return Ok(stored);
        }
        let mut stored = product.clone();
        stored.id = match self.ids.product_id_fresh(product.code.trim()).await {
            Ok(id) => id.map(|id| id.to_string()),
            Err(e) => {
                tracing::debug!(vendor = VENDOR, error = %e, "reading the new product back failed");
                None
            }
        };
        Ok(stored)
    }

    /// Updates a product (`PATCH /extapi/v1.0/products/{id}`), checked locally
    /// first; `qty_on_hand` is never sent (a catalogue write does not overwrite the
    /// stock SalesMania counts). Setting the same values twice is harmless, so it is
    /// retried like a read. Returns the answer's record when it is one, else the
    /// product as sent with its id.
    async fn update_product(
        &self,
        vendor_id: &str,
        product: &posbridge_core::Product,
    ) -> Result<posbridge_core::Product> {
        let id = parse_id(vendor_id, "id")?;
        let body = map::catalogue_body(product, self.config.unit.trim(), map::Write::Update)?;
        let request = Request::new("update_product", Method::PATCH, wire::by_id(wire::PRODUCTS, id))
            .json(&body)?
            .idempotent(true);
        let answer = self.api.write(&request).await;
        self.ids.forget_products().await;
        Ok(
            stored_catalogue_product(answer?).unwrap_or_else(|| posbridge_core::Product {
                id: Some(id.to_string()),
                ..product.clone()
            }),
        )
    }

    /// Deletes a product (`DELETE /extapi/v1.0/products/{id}`). Not retried once
    /// sent: a second delete of a product the first deleted would answer "not found".
    async fn delete_product(&self, vendor_id: &str) -> Result<()> {
        let id = parse_id(vendor_id, "id")?;
        SalesMania::delete_product(self, id).await
    }
}

/// The product a write's answer carries, when it is a whole product record with
/// its id.
fn stored_catalogue_product(answer: Value) -> Option<posbridge_core::Product> {
    map::catalogue_product(map::record(answer))
        .ok()
        .filter(|p| p.id.is_some())
}

impl Connector for SalesMania {
    /// See [`capabilities`]: duplicates are [`DuplicatePolicy::Ignored`] while the
    /// order look-up works, [`DuplicatePolicy::Unknown`] once this client found that
    /// the server has none (HTTP 404 or 405).
    fn capabilities(&self) -> &Capabilities {
        if self.api.absences.status(Lookup::Orders).is_some() {
            &self.capabilities_unchecked
        } else {
            &self.capabilities
        }
    }

    /// Runs the auth chain (Basic → bearer → databases → team token): it proves the
    /// credentials and the configured database without reading or writing anything
    /// else. A database the account lacks is an [`Error::Config`] listing the others.
    fn check_credentials(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            self.api.auth.token().await?;
            Ok(format!(
                "credentials accepted (logged in, database {} found, team token issued)",
                self.config.database
            ))
        })
    }

    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }

    fn stock(&self) -> Option<&dyn Stock> {
        Some(self)
    }

    fn customers(&self) -> Option<&dyn Customers> {
        Some(self)
    }

    fn voids(&self) -> Option<&dyn Voids> {
        Some(self)
    }

    fn catalogue(&self) -> Option<&dyn Catalogue> {
        Some(self)
    }

    /// SalesMania's documented operations that no capability trait covers, by the
    /// name its descriptor gives them:
    ///
    /// | name | endpoint | input | answer |
    /// |---|---|---|---|
    /// | `visits` | `GET /extapi/v1.0/visits` | `null` | the [`Visit`]s, every page ([`SalesMania::list_visits`]) |
    /// | `add_visit` | `POST /extapi/v1.0/visits` | `{"date": "YYYY-MM-DD", "customer_id": N}`, optional `"team_id": N`, `"visit_status"`, `"description"` | the new visit's id, or `null` ([`SalesMania::add_visit`]) |
    /// | `teams` | `GET /extapi/v1.0/teams` | `null` | the [`Team`]s, every page ([`SalesMania::list_teams`]) |
    ///
    /// Another name is an [`Error::Invalid`] on `call` listing these; a missing or
    /// mistyped input field, an [`Error::Invalid`] naming it (`input.date`, …).
    fn call<'a>(&'a self, name: &'a str, input: &'a Value) -> BoxFuture<'a, Result<Box<serde_json::value::RawValue>>> {
        Box::pin(async move {
            match name {
                "visits" => to_json(&self.list_visits().await?),
                "add_visit" => {
                    let visit = new_visit(input)?;
                    to_json(&self.add_visit(&visit).await?)
                }
                "teams" => to_json(&self.list_teams().await?),
                other => Err(Error::invalid(
                    "call",
                    format!(
                        "SalesMania has no documented call {} (it offers {})",
                        posbridge_core::error::quote(other),
                        CALLS.join(", ")
                    ),
                )),
            }
        })
    }
}

/// The names [`Connector::call`] knows.
const CALLS: &[&str] = &["visits", "add_visit", "teams"];

/// A call's answer as JSON.
/// The answer as JSON text (what `Connector::call` answers).
fn to_json<T: serde::Serialize>(value: &T) -> Result<Box<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| Error::invalid("call", format!("the answer does not serialize: {e}")))
}

/// The visit an `add_visit` call's input describes.
fn new_visit(input: &Value) -> Result<NewVisit> {
    let bad = |field: &str, why: &str| Error::invalid(format!("input.{field}"), why.to_owned());
    let date = input
        .get("date")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("date", "required: the visit's day as \"YYYY-MM-DD\""))?
        .trim()
        .parse::<jiff::civil::Date>()
        .map_err(|_| bad("date", "not a date (\"YYYY-MM-DD\")"))?;
    let customer_id = input
        .get("customer_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("customer_id", "required: SalesMania's customer id, a whole number"))?;
    let mut visit = NewVisit::new(date, customer_id);
    visit.team_id = match input.get("team_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| bad("team_id", "not a whole number"))?),
    };
    let text = |field: &str| -> Result<Option<String>> {
        match input.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(field, "not a string")),
        }
    };
    visit.visit_status = text("visit_status")?;
    visit.description = text("description")?;
    Ok(visit)
}

impl SalesMania {
    /// Not part of the API: for `posbridge-bench` only, and may change at any time.
    /// The order request [`Sales::push_sale`] would post for `sale` (the same steps:
    /// totals checked, the order prepared and checked against SalesMania's arithmetic,
    /// product and customer ids resolved, encoded), with the order. The ids must
    /// resolve without a request (explicit `id_map` entries, a walk-in or known
    /// customer); the auth chain and the look-ups by reference are not run.
    #[doc(hidden)]
    pub async fn bench_sale_request(&self, sale: &Sale) -> Result<(Request, impl serde::Serialize + use<>)> {
        let checked = sale.reconcile()?;
        let prepared = map::prepare_order(&checked, &self.order_options())?;
        let product_ids = self.ids.product_ids(&prepared.products).await?;
        let customer_id = self.order_customer(&prepared.customer).await?;
        let order = prepared.finish(&product_ids, customer_id)?;
        let request = Request::post("push_sale", wire::ORDERS).json(&order)?;
        Ok((request, order))
    }
}
