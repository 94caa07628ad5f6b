//! # posbridge-asalta
//!
//! The posbridge connector for **Asalta**, the Singapore inventory & POS, CRM and
//! HRM suite: POS sales become Asalta invoices or orders ([`Sales`]: push, list, read
//! back), orders are voided ([`Voids`]), goods come back as return invoices or return
//! orders ([`Returns`]), sales are paid later ([`Payments`]: add, delete), stock is read
//! from the items' per-warehouse inventory
//! ([`Stock`]), customers are managed ([`Customers`]: list, get, create, update), the
//! items are read as products ([`Catalogue`]: list, get; Asalta has no item writes)
//! and the warehouses as locations ([`Locations`]), and
//! the rest of the POS API and the reports are typed methods of [`Asalta`]
//! (categories, warehouses, billers, items, promotions, tax rates, payments, returns,
//! gift cards, the sales / CRM / payroll / claims / roster reports).
//!
//! - **Auth** is OAuth2's authorization-code flow ([`AsaltaAuth`], driven by
//!   `posbridge auth asalta`); tokens live in a [`TokenStore`] ([`FileTokenStore`],
//!   mode 0600, for the CLI; [`InMemoryTokenStore`]). Every call carries
//!   `Authorization: Bearer …`; an expired or refused token is refreshed once
//!   (single-flight) where Asalta gave a refresh token, and otherwise the call fails
//!   with [`Error::Auth`] saying to run `posbridge auth asalta`.
//! - **Lists** are lazy streams of pages (`?page=1`, `?page=2`, …) that read `_meta`
//!   and `_metadata` alike, stop on the last page, and fail rather than loop when
//!   the server repeats a page.
//! - **Ids**: Asalta wants numeric product, biller, warehouse and customer ids. The
//!   connector's [`IdMap`] answers from `id_map` first, then by listing items (by
//!   `code`), warehouses (by code or name), billers (by name) and customers (by email
//!   or name), cached per client.
//! - **Amounts**: Asalta prices lines from its own catalogue. Its document does not
//!   say whether a line's `item_discount` amount is per unit or per line, so a line
//!   of quantity 1 gets the discount as the amount [`Sale::reconcile`] computed (2
//!   dp, half away from zero), and any other line as a percentage (an amount as the
//!   percentage that gives it back to the cent); the order discount goes as the
//!   computed amount. Because Asalta books its own prices, each line is first
//!   compared with its catalogue item as the id resolver's listing of the items gave
//!   it (one listing per client: made to resolve a product code, else by the first
//!   push, whose products `id_map` all mapped): a line Asalta would book at another
//!   total is refused ([`Error::Invalid`], `lines[i].unit_price`, both prices named),
//!   or, with `price_source = "back_office"`, pushed and listed in the receipt's
//!   `differences`. The sale's payments are booked after it
//!   (`POST /pos/payments`, each method mapped to Asalta's `paid_by`), refusing
//!   locally a paid amount above the sale. A sale with status `void` is refused, never
//!   booked as a live invoice.
//! - **After the sale**: Asalta finds sales by its own id only, so returns, voids and
//!   payments need the vendor id of the sale's push receipt (`880` an invoice,
//!   `order:54` an order). A return or payment reads the sale first (unknown:
//!   [`Error::NotFound`]) and is checked against it; Asalta books a return's refund
//!   itself. Only orders can be voided; an invoice is returned instead.
//! - **Every request** carries `Accept: application/json`, as the document asks.
//!
//! It has no purchases and no customer deletion (the API has neither), and no
//! native batch. Decisions and quirks: `docs/vendors/asalta.md`. Tests: unit tests
//! in each module; conformance cases in `fixtures/` run by `tests/conformance.rs`;
//! `tests/secrets.rs`; `tests/client.rs` (the OAuth2 flow, the typed methods).
//!
//! ```no_run
//! use posbridge_asalta::{Asalta, Config};
//! use posbridge_core::{Sale, Sales};
//!
//! # async fn run() -> posbridge_core::Result<()> {
//! let config: Config = serde_json::from_value(serde_json::json!({
//!     "client_id": "pos-app", "client_secret": "s3cret",
//!     "redirect_uri": "http://127.0.0.1:8765/callback",
//!     "token_file": "/home/kasir/.config/posbridge/asalta-token.json",
//!     "biller": "Adelphi Biller", "warehouse": "ADL", "walk_in_customer_id": 1
//! })).expect("a valid config");
//! let asalta = Asalta::new(config)?;
//! let sale: Sale = serde_json::from_str(r#"{
//!     "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+08:00",
//!     "lines": [{"product_code": "vitadine", "quantity": "1", "unit_price": "100"}]
//! }"#).expect("a valid sale");
//! let receipt = asalta.push_sale(&sale).await?;
//! println!("Asalta invoice {:?}", receipt.vendor_id);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod auth;
pub mod bench;
mod calls;
mod catalogue;
mod descriptor;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod map;
mod paged;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod wire;

pub use descriptor::DESCRIPTOR;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use jiff::tz::Offset;
use posbridge_core::http::{Request, Response};
use posbridge_core::paging::Paging;
use posbridge_core::reqwest::Method;
use posbridge_core::{
    BoxStream, Capabilities, Catalogue, Connector, ConnectorConfig, Customer, Customers, Decimal, Disposition,
    DuplicatePolicy, Error, FieldPath, HttpConfig, IdKind, IdMap, InMemoryIdMap, Location, Locations, Operation,
    PaymentMethod, Payments, Product, PushReceipt, RefreshableBearer, Result, Return, Returns, Sale, SaleKind,
    SalePayment, Sales, SecretString, Stock, StockLevel, Transport, Vendor, Void, Voids,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub use auth::{AsaltaAuth, CODE_LIFETIME, CsrfState, FileTokenStore, InMemoryTokenStore, StoredToken, TokenStore};
pub use catalogue::PriceSource;
pub use wire::{
    Biller, Category, ClaimTotal, CrmInvoice, CustomerGroup, CustomerRecord, DateRange, GiftCard, Inventory, Item,
    ItemTax, LoyaltyEntry, Month, NewPayment, NewReturn, PaymentMethodRecord, PaymentReceipt, PaymentRecord, Payroll,
    Profile, Promotion, PromotionKind, ReportPayment, ReturnItem, RosterBranch, RosterShift, SaleItem, SaleRecord,
    SalesReportRow, Subcategory, TaxLineItem, TaxRate, Warehouse,
};

use crate::auth::{AsaltaTokens, OAuthSettings};
use crate::ids::Resolver;
use crate::map::SaleRef;

/// The vendor name, as in errors and logs.
pub const VENDOR: &str = "asalta";

fn default_base_url() -> String {
    "https://api.asalta.com/".into()
}

fn default_utc_offset() -> Offset {
    Offset::constant(8)
}

fn deserialize_offset<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Offset, D::Error> {
    let s = String::deserialize(d)?;
    parse_offset(&s).ok_or_else(|| serde::de::Error::custom(format!("utc_offset {s:?} is not like \"+08:00\"")))
}

fn parse_offset(s: &str) -> Option<Offset> {
    let s = s.trim();
    let (sign, rest) = if let Some(r) = s.strip_prefix('+') {
        (1i32, r)
    } else if let Some(r) = s.strip_prefix('-') {
        (-1i32, r)
    } else {
        return None;
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    Offset::from_seconds(sign * secs).ok()
}

/// One merchant's Asalta account.
///
/// In a config file (JSON or TOML) everything is optional but what the operations
/// you use need: the OAuth2 client (`client_id`, `client_secret`, `redirect_uri`)
/// for `posbridge auth asalta`, a token (`token_file`, or `access_token` /
/// `refresh_token` for tests and scripts), and `biller` / `warehouse` to push sales.
///
/// ```
/// let config: posbridge_asalta::Config = serde_json::from_value(serde_json::json!({
///     "client_id": "pos-app", "client_secret": "s3cret-value",
///     "access_token": "acc-value", "biller": "Adelphi Biller", "warehouse": "ADL",
///     "utc_offset": "+08:00", "id_map": {"product": {"vitadine": "943"}}
/// }))?;
/// let shown = format!("{config:?}");
/// assert!(!shown.contains("s3cret-value") && !shown.contains("acc-value"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The API, `https://api.asalta.com/` by default (`/auth`, `/auth/token`, `/pos/…`,
    /// `/report/…` are under it).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The OAuth2 client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The OAuth2 client secret.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Where Asalta sends the user back with the code.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The token file (`FileTokenStore`, mode 0600). Wins over `access_token`.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// A token obtained elsewhere (kept in memory).
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// The refresh token that goes with `access_token`.
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// The biller sales are issued by: a name Asalta's billers list has, or a key of
    /// `id_map.biller`.
    #[serde(default)]
    pub biller: Option<String>,
    /// The warehouse a sale without a `location` comes from: a warehouse code or
    /// name, or a key of `id_map.warehouse`.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// The Asalta customer a sale without a customer is booked for (Asalta's
    /// "Walk-in Customer"); such a sale is refused when absent.
    #[serde(default)]
    pub walk_in_customer_id: Option<u64>,
    /// The customer group new customers join; Asalta's default when absent.
    #[serde(default)]
    pub customer_group_id: Option<u64>,
    /// The merchant's UTC offset for Asalta's local dates, `"+08:00"` by default.
    #[serde(default = "default_utc_offset", deserialize_with = "deserialize_offset")]
    pub utc_offset: Offset,
    /// Explicit mappings, which win over listing: `{"product": {"vitadine": "943"},
    /// "biller": {"MAIN": "35"}, "warehouse": {"ADL": "2"}, "customer": {"C-1": "5173"}}`.
    #[serde(default)]
    pub id_map: InMemoryIdMap,
    /// Whose price wins where a sale's line and Asalta's catalogue disagree (Asalta
    /// prices each line from its catalogue): `"pos"` (the default) refuses such a
    /// sale locally, `"back_office"` pushes it and lists the differences on the
    /// receipt. See "The price check" in `docs/vendors/asalta.md`.
    #[serde(default)]
    pub price_source: PriceSource,
    /// Timeouts, retries, rate limit.
    #[serde(default)]
    pub http: HttpConfig,
}

impl Config {
    /// A config with the default base URL and nothing else.
    pub fn new() -> Self {
        Self {
            base_url: default_base_url(),
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            token_file: None,
            access_token: None,
            refresh_token: None,
            biller: None,
            warehouse: None,
            walk_in_customer_id: None,
            customer_group_id: None,
            utc_offset: default_utc_offset(),
            id_map: InMemoryIdMap::new(),
            price_source: PriceSource::Pos,
            http: HttpConfig::default(),
        }
    }

    /// Sets the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the OAuth2 client.
    pub fn with_client(
        mut self,
        client_id: impl Into<String>,
        secret: SecretString,
        redirect_uri: impl Into<String>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(secret);
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// Keeps tokens in this file.
    pub fn with_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }

    /// Starts with this access token (and refresh token) in memory.
    pub fn with_token(mut self, access: SecretString, refresh: Option<SecretString>) -> Self {
        self.access_token = Some(access);
        self.refresh_token = refresh;
        self
    }

    /// Sets the biller and warehouse sales are booked under.
    pub fn with_biller_and_warehouse(mut self, biller: impl Into<String>, warehouse: impl Into<String>) -> Self {
        self.biller = Some(biller.into());
        self.warehouse = Some(warehouse.into());
        self
    }

    /// Sets the walk-in customer.
    pub fn with_walk_in_customer_id(mut self, id: u64) -> Self {
        self.walk_in_customer_id = Some(id);
        self
    }

    /// Sets explicit id mappings.
    pub fn with_id_map(mut self, id_map: InMemoryIdMap) -> Self {
        self.id_map = id_map;
        self
    }

    /// Sets whose price wins (see [`Config::price_source`]).
    pub fn with_price_source(mut self, source: PriceSource) -> Self {
        self.price_source = source;
        self
    }

    /// Sets timeouts, retries and rate limit.
    pub fn with_http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    fn token_store(&self) -> Arc<dyn TokenStore> {
        if let Some(path) = &self.token_file {
            return Arc::new(FileTokenStore::new(path.clone()));
        }
        match &self.access_token {
            Some(access) => Arc::new(InMemoryTokenStore::with_token(StoredToken {
                access_token: access.clone(),
                refresh_token: self.refresh_token.clone(),
                expires_at: None,
            })),
            None => Arc::new(InMemoryTokenStore::new()),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectorConfig for Config {
    fn connect(self) -> Result<Box<dyn Connector>> {
        Ok(Box::new(Asalta::new(self)?))
    }
}

/// What the Asalta connector offers. Asalta has no reference key for sales, returns
/// or payments (it numbers them itself), so a repeated push, return or payment books
/// it again ([`DuplicatePolicy::Unknown`]): an uncertain one is never re-sent. A
/// repeated void of an order is refused with "Order already void" (vendor code
/// `already_void`), so voids are [`DuplicatePolicy::Rejected`].
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::new([
        Operation::PushSale,
        Operation::GetSale,
        Operation::ListSales,
        Operation::VoidSale,
        Operation::PushReturn,
        Operation::AddPayment,
        Operation::DeletePayment,
        Operation::StockLevels,
        Operation::ListCustomers,
        Operation::GetCustomer,
        Operation::CreateCustomer,
        Operation::UpdateCustomer,
        Operation::ListProducts,
        Operation::GetProduct,
        Operation::ListLocations,
    ]);
    c.sale_duplicates = DuplicatePolicy::Unknown;
    c.return_duplicates = DuplicatePolicy::Unknown;
    c.payment_duplicates = DuplicatePolicy::Unknown;
    c.void_duplicates = DuplicatePolicy::Rejected;
    c
}

/// The transport and the bearer, shared by the client and its id resolver.
#[derive(Debug)]
pub(crate) struct Api {
    transport: Arc<Transport>,
    auth: RefreshableBearer<AsaltaTokens>,
    offset: Offset,
    /// The price and tax of every item of the last listing of the items (made by the
    /// id resolver, for itself or for the price check), by Asalta id; `None` until
    /// the items are first listed.
    prices: std::sync::Mutex<Option<catalogue::PriceBook>>,
}

fn decode(response: &Response) -> impl Fn(String) -> Error + '_ {
    move |why| Error::decode(VENDOR, why, &response.body)
}

/// A single record, bare or wrapped in `data`.
fn record(value: Value) -> Value {
    match value {
        Value::Object(mut o) if !o.contains_key("id") && o.contains_key("data") => o.remove("data").unwrap_or_default(),
        other => other,
    }
}

impl Api {
    /// Keeps the prices and taxes of a whole listing of the items for the price
    /// check, in place of those of an earlier listing.
    fn keep_prices(&self, book: catalogue::PriceBook) {
        *self.prices.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(book);
    }

    /// Forgets the listed prices (with the listed ids): the next push lists the items.
    fn forget_prices(&self) {
        *self.prices.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Whether the price check needs the items listed first: a line's item is not in
    /// the book because the items were never listed on this client. (Once listed, an
    /// item the listing does not have stays unchecked: listing again per push would
    /// add a request to every push.)
    fn needs_prices(&self, product_ids: &[u64]) -> bool {
        let prices = self.prices.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        prices.is_none() && !product_ids.is_empty()
    }

    /// The price check of a sale against the listed items (see [`catalogue::price_check`]).
    fn price_check(
        &self,
        sale: &posbridge_core::ReconciledSale<'_>,
        product_ids: &[u64],
        source: PriceSource,
    ) -> Result<Vec<posbridge_core::Difference>> {
        let prices = self.prices.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Never listed (not on a push, which lists first: `Asalta::list_prices`): nothing to check.
        let unlisted = catalogue::PriceBook::new();
        catalogue::price_check(sale, product_ids, prices.as_ref().unwrap_or(&unlisted), source)
    }

    /// Every `/pos/…` and `/report/…` call goes out here, with the bearer and
    /// `Accept: application/json` ([`wire::accept_json`]).
    async fn send(&self, request: Request) -> Result<Response> {
        let (name, value) = wire::accept_json();
        let request = request.header(name, value);
        // Obtain (or refresh) the token on its own first, so that a missing token is
        // reported once as what it is.
        self.auth.token().await?;
        self.transport.send(&request, Some(&self.auth)).await
    }

    /// Every entry of a paged list, lazily (core's pager: bounded, and guarded
    /// against a server that repeats pages).
    fn pages<T>(
        &self,
        operation: &'static str,
        path: &'static str,
        query: Vec<(&'static str, String)>,
    ) -> BoxStream<'_, Result<T>>
    where
        T: DeserializeOwned + Clone + PartialEq + Send + 'static,
    {
        let query = Arc::new(query);
        Paging::new(VENDOR, format!("{operation} (GET {path})"))
            .same_entries(paged::same_entries)
            .entries(1, move |page: u64| {
                let query = query.clone();
                async move {
                    let mut request = Request::get(operation, path);
                    for (k, v) in query.iter() {
                        request = request.query(*k, v.clone());
                    }
                    let request = request.query(wire::PAGE, page.to_string());
                    let response = self.send(request).await?;
                    paged::page::<T>(&response, page)
                }
            })
    }

    /// One record by its query parameters (`?id=n`, `?card_no=n`, …).
    async fn get_one<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &'static str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let mut request = Request::get(operation, path);
        for (k, v) in query {
            request = request.query(*k, v.clone());
        }
        let response = self.send(request).await?;
        let value = record(response.json::<Value>(VENDOR)?);
        if value.is_null()
            || value.as_array().is_some_and(Vec::is_empty)
            || value.as_object().is_some_and(|o| o.is_empty())
        {
            let what = query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            return Err(Error::NotFound {
                vendor: VENDOR,
                what: format!("{path}?{what}"),
            });
        }
        serde_json::from_value(value).map_err(|e| decode(&response)(e.to_string()))
    }

    /// A write; its answer must be Asalta's `{message, data, error}` JSON, anything
    /// else means it may have been applied without our knowing ([`Error::Uncertain`]).
    async fn write(&self, request: Request) -> Result<wire::WriteAnswer> {
        let operation = request.operation();
        let response = self.send(request).await?;
        let answer: Value = response.json_after_write(VENDOR, operation)?;
        match answer {
            Value::Object(_) => serde_json::from_value(answer)
                .map_err(|e| Error::decode(VENDOR, e.to_string(), &response.body).into_uncertain(operation)),
            _ => {
                Err(Error::decode(VENDOR, "the answer is not a JSON object", &response.body).into_uncertain(operation))
            }
        }
    }

    /// A report: `POST` with form fields, answered with a list (bare, in `data`, or
    /// an object of entries).
    async fn report(
        &self,
        operation: &'static str,
        path: &'static str,
        form: &[(&str, String)],
    ) -> Result<(Value, Response)> {
        let request = Request::post(operation, path).form(form)?.idempotent(true);
        let response = self.send(request).await?;
        let value: Value = response.json(VENDOR)?;
        let value = match value {
            Value::Object(mut o) if o.contains_key("data") => o.remove("data").unwrap_or_default(),
            other => other,
        };
        Ok((value, response))
    }
}

fn as_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(a) => a,
        Value::Object(o) => o.into_iter().map(|(_, v)| v).collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The Asalta client: one merchant's account.
pub struct Asalta {
    api: Arc<Api>,
    oauth: Arc<AsaltaAuth>,
    ids: Resolver,
    /// Held while the items are listed for the price check, so that concurrent first
    /// pushes share one listing.
    price_listing: tokio::sync::Mutex<()>,
    config: Config,
    capabilities: Capabilities,
}

impl fmt::Debug for Asalta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Asalta")
            .field("config", &self.config)
            .field("auth", &self.oauth)
            .finish_non_exhaustive()
    }
}

fn parse_id(id: &str, field: &str) -> Result<u64> {
    id.trim()
        .parse()
        .map_err(|_| Error::invalid(field, format!("{id:?} is not an Asalta id (a whole number)")))
}

fn written_id(answer: &wire::WriteAnswer, key: &str) -> Option<String> {
    match answer.data.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Asalta {
    /// A client with its own connection pool. No request is sent.
    pub fn new(config: Config) -> Result<Self> {
        let transport = Transport::new(VENDOR, &config.base_url, config.http.clone(), error::parse_error)?;
        Self::from_parts(transport, config)
    }

    /// A client sharing `client`'s connection pool with other merchants' clients.
    pub fn with_client(config: Config, client: posbridge_core::reqwest::Client) -> Result<Self> {
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
        // No error may show a configured credential, should Asalta echo one back (the
        // bearer a request carries is cleared by the transport itself, renewed or not).
        let secrets = [&config.access_token, &config.refresh_token, &config.client_secret];
        let transport = Arc::new(transport.with_secrets(secrets.into_iter().flatten()));
        let oauth = Arc::new(AsaltaAuth::new(
            transport.client().clone(),
            OAuthSettings {
                base_url: transport.base_url().clone(),
                max_response_bytes: config.http.max_response_bytes,
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                redirect_uri: config.redirect_uri.clone(),
                store: config.token_store(),
            },
        ));
        let api = Arc::new(Api {
            transport,
            auth: RefreshableBearer::new(AsaltaTokens { auth: oauth.clone() }),
            offset: config.utc_offset,
            prices: std::sync::Mutex::new(None),
        });
        Ok(Self {
            ids: Resolver::new(api.clone(), config.id_map.clone()),
            price_listing: tokio::sync::Mutex::new(()),
            api,
            oauth,
            config,
            capabilities: capabilities(),
        })
    }

    /// The OAuth2 flow and the token store.
    pub fn auth(&self) -> &AsaltaAuth {
        &self.oauth
    }

    /// The id map the connector resolves with (explicit mappings, then listing).
    ///
    /// ```no_run
    /// # async fn run(asalta: posbridge_asalta::Asalta) -> posbridge_core::Result<()> {
    /// use posbridge_core::IdKind;
    /// let id = asalta.id_map().lookup(IdKind::Product, "vitadine").await?;
    /// # let _ = id; Ok(()) }
    /// ```
    pub fn id_map(&self) -> &dyn IdMap {
        &self.ids
    }

    /// Forgets the listed ids and the items' prices the price check compares with:
    /// the next lookup lists items, billers, warehouses and customers again, and the
    /// next push lists the items again.
    pub async fn refresh_ids(&self) {
        let _listing = self.price_listing.lock().await;
        self.ids.forget_all().await;
        self.api.forget_prices();
    }

    /// Lists the items for the price check where this client has not listed them yet
    /// (the id resolver lists them to resolve product codes, but not for lines mapped
    /// by `id_map.product`): once per client, through the resolver, so that its
    /// product listing is the same one (a later code it resolves by listing needs no
    /// second listing). Concurrent first pushes share the listing.
    async fn list_prices(&self, product_ids: &[u64]) -> Result<()> {
        if !self.api.needs_prices(product_ids) {
            return Ok(());
        }
        let _listing = self.price_listing.lock().await;
        if !self.api.needs_prices(product_ids) {
            return Ok(());
        }
        self.ids.relist(IdKind::Product).await.map(drop)
    }

    async fn resolve(&self, kind: IdKind, code: &str, field: FieldPath<'_>) -> Result<u64> {
        // Explicit mappings first, without a future (one per line of every sale).
        if let Some(id) = self.ids.explicit().get(kind, code) {
            return map::numeric_id(id, kind);
        }
        let id = self.ids.require(kind, code, &field.to_string()).await?;
        map::numeric_id(&id, kind)
    }

    async fn sale_ids(&self, sale: &Sale) -> Result<map::SaleIds> {
        let customer_id = match &sale.customer {
            None => self.config.walk_in_customer_id.ok_or_else(|| {
                Error::invalid(
                    "customer",
                    "the sale has no customer and walk_in_customer_id is not configured",
                )
            })?,
            Some(c) => self.customer_id(c).await?,
        };
        let biller = self
            .config
            .biller
            .as_deref()
            .ok_or_else(|| Error::config("asalta: `biller` is not configured (it is needed to push sales)"))?;
        let biller_id = self.resolve(IdKind::Biller, biller, FieldPath::Name("biller")).await?;
        let warehouse = sale
            .location
            .as_deref()
            .or(self.config.warehouse.as_deref())
            .ok_or_else(|| Error::invalid("location", "the sale has no location and `warehouse` is not configured"))?;
        let warehouse_id = self
            .resolve(IdKind::Warehouse, warehouse, FieldPath::Name("location"))
            .await?;
        let mut product_ids = Vec::with_capacity(sale.lines.len());
        for (i, line) in sale.lines.iter().enumerate() {
            product_ids.push(
                self.resolve(
                    IdKind::Product,
                    &line.product_code,
                    FieldPath::LineField(i, "product_code"),
                )
                .await?,
            );
        }
        Ok(map::SaleIds {
            customer_id,
            biller_id,
            warehouse_id,
            product_ids,
        })
    }

    async fn customer_id(&self, c: &Customer) -> Result<u64> {
        if let Some(id) = &c.id {
            return parse_id(id, "customer.id");
        }
        if let Some(code) = &c.code
            && let Some(id) = self.config.id_map.lookup(IdKind::Customer, code).await?
        {
            return map::numeric_id(&id, "customer");
        }
        for key in [c.email.as_deref(), Some(c.name.as_str())].into_iter().flatten() {
            if key.trim().is_empty() {
                continue;
            }
            if let Some(id) = self.ids.lookup(IdKind::Customer, key).await? {
                return map::numeric_id(&id, "customer");
            }
        }
        Err(Error::invalid(
            "customer",
            format!(
                "customer {:?} is not in Asalta (looked up by id map, email and name); create it first or map it in id_map",
                c.name
            ),
        ))
    }

    async fn push(&self, sale: &Sale) -> Result<PushReceipt> {
        let reconciled = sale.reconcile()?;
        map::check_sale(&reconciled)?;
        let path = map::sale_path(sale.kind)?;
        let ids = self.sale_ids(sale).await?;
        self.list_prices(&ids.product_ids).await?;
        let differences = self
            .api
            .price_check(&reconciled, &ids.product_ids, self.config.price_source)?;
        let body = map::sale_body(&reconciled, &ids, self.config.utc_offset)?;
        let request = Request::post("push_sale", path).json(&body)?.idempotent(false);
        let answer = self.api.write(request).await?;
        let id = written_id(&answer, "id").and_then(|i| i.parse::<u64>().ok());
        let vendor_id = id.map(|n| match sale.kind {
            SaleKind::Order => SaleRef::Order(n),
            _ => SaleRef::Invoice(n),
        });
        if !sale.payments.is_empty() {
            let Some(sale_id) = id else {
                return Err(Error::Uncertain {
                    vendor: VENDOR,
                    operation: "push_sale",
                    message: "the sale was created but Asalta did not say its id, so its payments were not booked"
                        .into(),
                    source: None,
                });
            };
            for (i, p) in sale.payments.iter().enumerate() {
                let method = map::paid_by(p);
                let mut payment = NewPayment::new(
                    sale_id,
                    p.amount,
                    method.paid_by,
                    map::local_datetime(p.paid_at.unwrap_or(sale.issued_at), self.config.utc_offset),
                );
                payment.note = method.note;
                payment.reference_no = method.reference_no;
                payment.no = method.no;
                let request = Request::post("push_sale", wire::PAYMENTS)
                    .json(&payment)?
                    .idempotent(false);
                if let Err(e) = self.api.write(request).await {
                    return Err(Error::Uncertain {
                        vendor: VENDOR,
                        operation: "push_sale",
                        message: format!("sale {sale_id} was created, but payment {i} was not booked: {e}"),
                        source: Some(Arc::new(e)),
                    });
                }
            }
        }
        Ok(PushReceipt {
            reference: sale.reference.clone(),
            vendor_id: vendor_id.map(SaleRef::vendor_id),
            disposition: Disposition::Created,
            differences,
        })
    }

    /// The warehouse, biller and products of a return (customer aside), resolved
    /// like a sale's: the return's `location`, else the sale's warehouse in Asalta,
    /// else the configured `warehouse`.
    async fn return_ids(
        &self,
        ret: &Return,
        record: &SaleRecord,
        customer_id: u64,
        product_ids: Vec<u64>,
    ) -> Result<map::SaleIds> {
        let biller = self
            .config
            .biller
            .as_deref()
            .ok_or_else(|| Error::config("asalta: `biller` is not configured (it is needed to push returns)"))?;
        let biller_id = self.resolve(IdKind::Biller, biller, FieldPath::Name("biller")).await?;
        let warehouse_id = match (ret.location.as_deref(), record.warehouse_id()) {
            (Some(location), _) => {
                self.resolve(IdKind::Warehouse, location, FieldPath::Name("location"))
                    .await?
            }
            (None, Some(id)) => map::numeric_id(id, "sale's warehouse")
                .map_err(|_| Error::decode(VENDOR, format!("the sale's warehouse id {id:?} is not a number"), b""))?,
            (None, None) => {
                let warehouse = self.config.warehouse.as_deref().ok_or_else(|| {
                    Error::invalid(
                        "location",
                        "the return has no location and `warehouse` is not configured",
                    )
                })?;
                self.resolve(IdKind::Warehouse, warehouse, FieldPath::Name("location"))
                    .await?
            }
        };
        Ok(map::SaleIds {
            customer_id,
            biller_id,
            warehouse_id,
            product_ids,
        })
    }

    async fn product_ids(&self, lines: &[posbridge_core::SaleLine]) -> Result<Vec<u64>> {
        let mut ids = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            ids.push(
                self.resolve(
                    IdKind::Product,
                    &line.product_code,
                    FieldPath::LineField(i, "product_code"),
                )
                .await?,
            );
        }
        Ok(ids)
    }

    async fn send_return(&self, ret: &Return) -> Result<PushReceipt> {
        const OP: &str = "push_return";
        let reconciled = ret.reconcile()?;
        map::check_return(&reconciled)?;
        let vendor_id = ret.sale.require_vendor_id(VENDOR, "sale")?;
        let sale = SaleRef::parse_field(vendor_id, "sale.vendor_id")?;
        if self.config.biller.is_none() {
            return Err(Error::config(
                "asalta: `biller` is not configured (it is needed to push returns)",
            ));
        }
        // Products first: a code Asalta does not know is refused before any request
        // about the sale.
        let product_ids = self.product_ids(&ret.lines).await?;
        let record: SaleRecord = self
            .api
            .get_one(OP, sale.path(), &[(wire::ID, sale.id().to_string())])
            .await?;
        map::check_return_against(&reconciled, &product_ids, &record, vendor_id)?;
        let customer_id = match (&ret.customer, record.customer_id.as_deref()) {
            (Some(c), _) => self.customer_id(c).await?,
            (None, Some(id)) => parse_id(id, "sale.customer_id")
                .map_err(|_| Error::decode(VENDOR, format!("the sale's customer id {id:?} is not a number"), b""))?,
            (None, None) => self.config.walk_in_customer_id.ok_or_else(|| {
                Error::invalid(
                    "customer",
                    "neither the return nor Asalta's sale names a customer, and walk_in_customer_id is not configured",
                )
            })?,
        };
        let ids = self.return_ids(ret, &record, customer_id, product_ids).await?;
        let body = map::return_body(&reconciled, sale.id(), &ids, self.config.utc_offset)?;
        let request = Request::post(OP, sale.return_path()).json(&body)?.idempotent(false);
        let answer = self.api.write(request).await?;
        let id = written_id(&answer, "id").ok_or_else(|| {
            Error::decode(VENDOR, "the answer to a new return has no data.id", b"").into_uncertain(OP)
        })?;
        Ok(PushReceipt {
            reference: ret.reference.trim().to_owned(),
            vendor_id: Some(sale.return_vendor_id(&id)),
            disposition: Disposition::Created,
            differences: Vec::new(),
        })
    }

    async fn send_payment(&self, p: &SalePayment) -> Result<PushReceipt> {
        const OP: &str = "add_payment";
        p.check()?;
        map::check_payment(&p.payment, "payment")?;
        let vendor_id = p.sale.require_vendor_id(VENDOR, "sale")?;
        let sale = SaleRef::parse_field(vendor_id, "sale.vendor_id")?;
        let record: SaleRecord = self
            .api
            .get_one(OP, sale.path(), &[(wire::ID, sale.id().to_string())])
            .await?;
        if map::is_void(&record) {
            return Err(Error::invalid(
                "sale",
                format!("Asalta's sale {vendor_id} is void: a payment cannot be booked against it"),
            ));
        }
        let total = record.grand_total.unwrap_or_default();
        let due = total
            .checked_sub(record.paid.unwrap_or_default())
            .ok_or_else(|| Error::decode(VENDOR, "the sale's grand_total less paid is out of range", b""))?;
        if p.payment.amount > due {
            return Err(Error::invalid(
                "payment.amount",
                format!(
                    "paying {} on Asalta's sale {vendor_id} whose total is {} with {} still due: Asalta requires \
                     the paid amount to be less than or equal to the sales amount",
                    p.payment.amount,
                    total.normalize(),
                    due.normalize()
                ),
            ));
        }
        let method = map::paid_by(&p.payment);
        let at = p.payment.paid_at.unwrap_or_else(jiff::Timestamp::now);
        let mut payment = NewPayment::new(
            sale.id(),
            p.payment.amount.normalize(),
            method.paid_by,
            map::local_datetime(at, self.config.utc_offset),
        );
        payment.note = method.note;
        payment.reference_no = method.reference_no;
        payment.no = method.no;
        let request = Request::post(OP, wire::PAYMENTS).json(&payment)?.idempotent(false);
        let answer = self.api.write(request).await?;
        let receipt: PaymentReceipt = serde_json::from_value(answer.data)
            .map_err(|e| Error::decode(VENDOR, format!("the answer to a new payment: {e}"), b"").into_uncertain(OP))?;
        // A gift card's "reference" is the card's number (it goes in `no`): a receipt,
        // which logs and the outbox keep, names the sale instead.
        let reference = p
            .payment
            .reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty() && p.payment.method != PaymentMethod::GiftCard)
            .or(p.sale.reference())
            .unwrap_or(vendor_id);
        Ok(PushReceipt {
            reference: reference.to_owned(),
            vendor_id: Some(receipt.payment_id),
            disposition: Disposition::Created,
            differences: Vec::new(),
        })
    }

    async fn read_sale(&self, operation: &'static str, sale: SaleRef) -> Result<Sale> {
        let (path, id, kind) = match sale {
            SaleRef::Invoice(n) => (wire::INVOICES, n, SaleKind::Invoice),
            SaleRef::Order(n) => (wire::ORDERS, n, SaleKind::Order),
        };
        let record: SaleRecord = self.api.get_one(operation, path, &[(wire::ID, id.to_string())]).await?;
        map::sale_from_record(&record, kind, self.api.offset).map_err(|why| Error::decode(VENDOR, why, b""))
    }

    fn sale_stream(&self, path: &'static str, kind: SaleKind) -> BoxStream<'_, Result<Sale>> {
        let offset = self.api.offset;
        self.api
            .pages::<SaleRecord>("list_sales", path, Vec::new())
            .and_then(move |r| {
                futures_util::future::ready(
                    map::sale_from_record(&r, kind, offset)
                        .map_err(|why| Error::decode(VENDOR, format!("sale {}: {why}", r.id), b"")),
                )
            })
            .boxed()
    }

    // ------------------------------------------------------------ catalogue

    /// Every category (`GET /pos/categories`), page by page.
    pub fn categories(&self) -> BoxStream<'_, Result<Category>> {
        self.api.pages("categories", wire::CATEGORIES, Vec::new())
    }

    /// One category (`GET /pos/categories?id=`).
    pub async fn category(&self, id: u64) -> Result<Category> {
        self.api
            .get_one("category", wire::CATEGORIES, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every subcategory (`GET /pos/subcategories`).
    pub fn subcategories(&self) -> BoxStream<'_, Result<Subcategory>> {
        self.api.pages("subcategories", wire::SUBCATEGORIES, Vec::new())
    }

    /// The subcategories of one parent category (`?parent_category_id=`).
    pub fn subcategories_of(&self, parent_category_id: u64) -> BoxStream<'_, Result<Subcategory>> {
        self.api.pages(
            "subcategories",
            wire::SUBCATEGORIES,
            vec![("parent_category_id", parent_category_id.to_string())],
        )
    }

    /// One subcategory (`GET /pos/subcategories?id=`).
    pub async fn subcategory(&self, id: u64) -> Result<Subcategory> {
        self.api
            .get_one("subcategory", wire::SUBCATEGORIES, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every warehouse (`GET /pos/warehouses`).
    pub fn warehouses(&self) -> BoxStream<'_, Result<Warehouse>> {
        self.api.pages("warehouses", wire::WAREHOUSES, Vec::new())
    }

    /// One warehouse (`GET /pos/warehouses?id=`).
    pub async fn warehouse(&self, id: u64) -> Result<Warehouse> {
        self.api
            .get_one("warehouse", wire::WAREHOUSES, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every customer group (`GET /pos/customer_groups`).
    pub fn customer_groups(&self) -> BoxStream<'_, Result<CustomerGroup>> {
        self.api.pages("customer_groups", wire::CUSTOMER_GROUPS, Vec::new())
    }

    /// One customer group (`GET /pos/customer_groups?id=`).
    pub async fn customer_group(&self, id: u64) -> Result<CustomerGroup> {
        self.api
            .get_one("customer_group", wire::CUSTOMER_GROUPS, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every biller (`GET /pos/billers`).
    pub fn billers(&self) -> BoxStream<'_, Result<Biller>> {
        self.api.pages("billers", wire::BILLERS, Vec::new())
    }

    /// One biller (`GET /pos/billers?id=`).
    pub async fn biller(&self, id: u64) -> Result<Biller> {
        self.api
            .get_one("biller", wire::BILLERS, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every customer as Asalta stores it (groups, loyalty), `GET /pos/customers`.
    pub fn customer_records(&self) -> BoxStream<'_, Result<CustomerRecord>> {
        self.api.pages("customer_records", wire::CUSTOMERS, Vec::new())
    }

    /// A customer's loyalty movements (`GET /pos/loyalty?customer_id=`).
    pub fn loyalty(&self, customer_id: u64) -> BoxStream<'_, Result<LoyaltyEntry>> {
        self.api
            .pages("loyalty", wire::LOYALTY, vec![("customer_id", customer_id.to_string())])
    }

    /// Every item with its inventory (`GET /pos/items`).
    ///
    /// ```no_run
    /// # async fn run(asalta: posbridge_asalta::Asalta) -> posbridge_core::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let items: Vec<_> = asalta.items().try_collect().await?;
    /// # let _ = items; Ok(()) }
    /// ```
    pub fn items(&self) -> BoxStream<'_, Result<Item>> {
        self.api.pages("items", wire::ITEMS, Vec::new())
    }

    /// One item (`GET /pos/items?id=`).
    pub async fn item(&self, id: u64) -> Result<Item> {
        self.api
            .get_one("item", wire::ITEMS, &[(wire::ID, id.to_string())])
            .await
    }

    /// The promotions of a warehouse (`GET /pos/promotions?warehouse_id=`, required).
    pub fn promotions(&self, warehouse_id: u64) -> BoxStream<'_, Result<Promotion>> {
        self.api.pages(
            "promotions",
            wire::PROMOTIONS,
            vec![("warehouse_id", warehouse_id.to_string())],
        )
    }

    /// One promotion (`GET /pos/promotions?id=`).
    pub async fn promotion(&self, id: u64) -> Result<Promotion> {
        self.api
            .get_one("promotion", wire::PROMOTIONS, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every tax rate (`GET /pos/taxrates`).
    pub fn tax_rates(&self) -> BoxStream<'_, Result<TaxRate>> {
        self.api.pages("tax_rates", wire::TAX_RATES, Vec::new())
    }

    /// One tax rate (`GET /pos/taxrates?id=`).
    pub async fn tax_rate(&self, id: u64) -> Result<TaxRate> {
        self.api
            .get_one("tax_rate", wire::TAX_RATES, &[(wire::ID, id.to_string())])
            .await
    }

    /// A tax rate's line items (`GET /pos/taxlineitems?tax_rate_id=`).
    pub fn tax_line_items(&self, tax_rate_id: u64) -> BoxStream<'_, Result<TaxLineItem>> {
        self.api.pages(
            "tax_line_items",
            wire::TAX_LINE_ITEMS,
            vec![("tax_rate_id", tax_rate_id.to_string())],
        )
    }

    /// One line item of a tax rate (`GET /pos/taxlineitems?tax_rate_id=&id=`).
    pub async fn tax_line_item(&self, tax_rate_id: u64, id: u64) -> Result<TaxLineItem> {
        self.api
            .get_one(
                "tax_line_item",
                wire::TAX_LINE_ITEMS,
                &[("tax_rate_id", tax_rate_id.to_string()), (wire::ID, id.to_string())],
            )
            .await
    }

    /// Every payment method (`GET /pos/payment_methods`).
    pub fn payment_methods(&self) -> BoxStream<'_, Result<PaymentMethodRecord>> {
        self.api.pages("payment_methods", wire::PAYMENT_METHODS, Vec::new())
    }

    /// One payment method (`GET /pos/payment_methods?id=`).
    pub async fn payment_method(&self, id: u64) -> Result<PaymentMethodRecord> {
        self.api
            .get_one("payment_method", wire::PAYMENT_METHODS, &[(wire::ID, id.to_string())])
            .await
    }

    // ------------------------------------------------------------ documents

    /// Every invoice as Asalta stores it (`GET /pos/invoices`).
    pub fn invoices(&self) -> BoxStream<'_, Result<SaleRecord>> {
        self.api.pages("invoices", wire::INVOICES, Vec::new())
    }

    /// One invoice (`GET /pos/invoices?id=`).
    pub async fn invoice(&self, id: u64) -> Result<SaleRecord> {
        self.api
            .get_one("invoice", wire::INVOICES, &[(wire::ID, id.to_string())])
            .await
    }

    /// Every order (`GET /pos/orders`).
    pub fn orders(&self) -> BoxStream<'_, Result<SaleRecord>> {
        self.api.pages("orders", wire::ORDERS, Vec::new())
    }

    /// One order (`GET /pos/orders?id=`).
    pub async fn order(&self, id: u64) -> Result<SaleRecord> {
        self.api
            .get_one("order", wire::ORDERS, &[(wire::ID, id.to_string())])
            .await
    }

    /// The payments of a sale (`GET /pos/payments?sale_id=`).
    pub fn payments(&self, sale_id: u64) -> BoxStream<'_, Result<PaymentRecord>> {
        self.api
            .pages("payments", wire::PAYMENTS, vec![("sale_id", sale_id.to_string())])
    }

    /// One payment (`GET /pos/payments?id=`).
    pub async fn payment(&self, id: u64) -> Result<PaymentRecord> {
        self.api
            .get_one("payment", wire::PAYMENTS, &[(wire::ID, id.to_string())])
            .await
    }

    /// Books a payment against an invoice (`POST /pos/payments`). Asalta's rule "paid
    /// amount must be less than or equal to sales amount" is checked first: the
    /// invoice is read (`GET /pos/invoices?id=`) and a payment above what is still due
    /// is refused with [`Error::Invalid`], nothing sent. Not retried once sent.
    ///
    /// ```no_run
    /// # async fn run(asalta: posbridge_asalta::Asalta) -> posbridge_core::Result<()> {
    /// use posbridge_asalta::NewPayment;
    /// let payment = NewPayment::new(1182, "9.20".parse().expect("amount"), "cash", "2026-11-26 10:15:00");
    /// let receipt = asalta.create_payment(&payment).await?;
    /// # let _ = receipt; Ok(()) }
    /// ```
    pub async fn create_payment(&self, payment: &NewPayment) -> Result<PaymentReceipt> {
        if payment.amount <= Decimal::ZERO {
            return Err(Error::invalid("amount", "a payment must be positive"));
        }
        let sale = self.invoice(payment.sale_id).await?;
        let total = sale.grand_total.unwrap_or_default();
        let due = total
            .checked_sub(sale.paid.unwrap_or_default())
            .ok_or_else(|| Error::decode(VENDOR, "the sale's grand_total less paid is out of range", b""))?;
        if payment.amount > due {
            return Err(Error::invalid(
                "amount",
                format!(
                    "paying {} on sale {} whose total is {total} with {due} still due: Asalta requires the paid amount to be less than or equal to the sales amount",
                    payment.amount, payment.sale_id
                ),
            ));
        }
        let request = Request::post("create_payment", wire::PAYMENTS)
            .json(payment)?
            .idempotent(false);
        let answer = self.api.write(request).await?;
        serde_json::from_value(answer.data)
            .map_err(|e| Error::decode(VENDOR, e.to_string(), b"").into_uncertain("create_payment"))
    }

    /// Deletes a payment (`DELETE /pos/payments?id=`). Not retried once sent.
    pub async fn delete_payment(&self, id: u64) -> Result<()> {
        let request = Request::new("delete_payment", Method::DELETE, wire::PAYMENTS)
            .query(wire::ID, id.to_string())
            .idempotent(false);
        self.api.write(request).await.map(|_| ())
    }

    /// The returns of an invoice (`GET /pos/return_invoices?sale_id=`).
    pub fn return_invoices(&self, sale_id: u64) -> BoxStream<'_, Result<SaleRecord>> {
        self.api.pages(
            "return_invoices",
            wire::RETURN_INVOICES,
            vec![("sale_id", sale_id.to_string())],
        )
    }

    /// One return invoice (`GET /pos/return_invoices?id=`).
    pub async fn return_invoice(&self, id: u64) -> Result<SaleRecord> {
        self.api
            .get_one("return_invoice", wire::RETURN_INVOICES, &[(wire::ID, id.to_string())])
            .await
    }

    /// Returns lines of an invoice (`POST /pos/return_invoices`): a typed method
    /// rather than a negative sale, because Asalta needs the invoice returned. Not
    /// retried once sent.
    pub async fn create_return_invoice(&self, ret: &NewReturn) -> Result<SaleRecord> {
        self.create_return("create_return_invoice", wire::RETURN_INVOICES, ret)
            .await
    }

    /// The returns of an order (`GET /pos/return_orders?sale_id=`).
    pub fn return_orders(&self, sale_id: u64) -> BoxStream<'_, Result<SaleRecord>> {
        self.api.pages(
            "return_orders",
            wire::RETURN_ORDERS,
            vec![("sale_id", sale_id.to_string())],
        )
    }

    /// One return order (`GET /pos/return_orders?id=`).
    pub async fn return_order(&self, id: u64) -> Result<SaleRecord> {
        self.api
            .get_one("return_order", wire::RETURN_ORDERS, &[(wire::ID, id.to_string())])
            .await
    }

    /// Returns lines of an order (`POST /pos/return_orders`). Not retried once sent.
    pub async fn create_return_order(&self, ret: &NewReturn) -> Result<SaleRecord> {
        self.create_return("create_return_order", wire::RETURN_ORDERS, ret)
            .await
    }

    async fn create_return(&self, operation: &'static str, path: &'static str, ret: &NewReturn) -> Result<SaleRecord> {
        if ret.items.is_empty() {
            return Err(Error::invalid("items", "a return needs at least one line"));
        }
        if let Some(i) = ret.items.iter().position(|l| l.quantity <= Decimal::ZERO) {
            return Err(Error::invalid(
                format!("items[{i}].quantity"),
                "returned quantities are positive",
            ));
        }
        let request = Request::post(operation, path).json(ret)?.idempotent(false);
        let answer = self.api.write(request).await?;
        serde_json::from_value(answer.data)
            .map_err(|e| Error::decode(VENDOR, e.to_string(), b"").into_uncertain(operation))
    }

    /// The sale that sold a gift card, with the card's value and balance on its line
    /// (`GET /pos/giftcards?card_no=`).
    pub async fn gift_card(&self, card_no: &str) -> Result<SaleRecord> {
        let card_no = card_no.trim();
        if card_no.is_empty() || !card_no.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::invalid("card_no", "a gift card number is digits"));
        }
        self.api
            .get_one("gift_card", wire::GIFT_CARDS, &[("card_no", card_no.to_owned())])
            .await
    }

    // ------------------------------------------------------------ reports

    fn range_form(range: DateRange) -> Result<[(&'static str, String); 2]> {
        if range.end < range.start {
            return Err(Error::invalid("enddate", "the range ends before it starts"));
        }
        Ok([
            ("startdate", range.start.strftime("%Y-%m-%d").to_string()),
            ("enddate", range.end.strftime("%Y-%m-%d").to_string()),
        ])
    }

    fn month_form(month: Month) -> Result<[(&'static str, String); 2]> {
        if !(1..=12).contains(&month.month) {
            return Err(Error::invalid(
                "month",
                format!("{} is not a month (1–12)", month.month),
            ));
        }
        Ok([("month", month.month.to_string()), ("year", month.year.to_string())])
    }

    async fn rows<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &'static str,
        form: &[(&str, String)],
    ) -> Result<Vec<T>> {
        let (value, response) = self.api.report(operation, path, form).await?;
        as_list(value)
            .into_iter()
            .enumerate()
            .map(|(i, v)| serde_json::from_value(v).map_err(|e| decode(&response)(format!("row {i}: {e}"))))
            .collect()
    }

    /// The sales report between two dates (`POST /report/sales`).
    ///
    /// ```no_run
    /// # async fn run(asalta: posbridge_asalta::Asalta) -> posbridge_core::Result<()> {
    /// use jiff::civil::date;
    /// use posbridge_asalta::DateRange;
    /// let rows = asalta.sales_report(DateRange { start: date(2026, 11, 1), end: date(2026, 11, 30) }).await?;
    /// # let _ = rows; Ok(()) }
    /// ```
    pub async fn sales_report(&self, range: DateRange) -> Result<Vec<SalesReportRow>> {
        self.rows("sales_report", wire::REPORT_SALES, &Self::range_form(range)?)
            .await
    }

    /// The CRM invoices report between two dates (`POST /report/invoices`).
    pub async fn crm_invoices_report(&self, range: DateRange) -> Result<Vec<CrmInvoice>> {
        self.rows("crm_invoices_report", wire::REPORT_INVOICES, &Self::range_form(range)?)
            .await
    }

    /// The HRM payroll report for a month (`POST /report/payroll`).
    pub async fn payroll_report(&self, month: Month) -> Result<Vec<Payroll>> {
        let (value, response) = self
            .api
            .report("payroll_report", wire::REPORT_PAYROLL, &Self::month_form(month)?)
            .await?;
        let rows = match value {
            Value::Object(o) if o.contains_key("payslip_date") || o.contains_key("net_pay") => vec![Value::Object(o)],
            other => as_list(other),
        };
        rows.into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| decode(&response)(e.to_string())))
            .collect()
    }

    /// The HRM claims report for a month (`POST /report/claims`): one total per claim type.
    pub async fn claims_report(&self, month: Month) -> Result<Vec<ClaimTotal>> {
        let (value, response) = self
            .api
            .report("claims_report", wire::REPORT_CLAIMS, &Self::month_form(month)?)
            .await?;
        let Value::Object(o) = value else {
            return Err(decode(&response)(
                "the claims report is not an object of claim types".into(),
            ));
        };
        o.into_iter()
            .map(|(claim_type, v)| {
                let entry: wire::ClaimEntry =
                    serde_json::from_value(v).map_err(|e| decode(&response)(format!("{claim_type}: {e}")))?;
                Ok(ClaimTotal {
                    claim_type,
                    total_expense: entry.total_expense,
                })
            })
            .collect()
    }

    /// The HRM roster schedule between two dates (`POST /report/rosterschedule`).
    pub async fn roster_schedule(&self, range: DateRange) -> Result<Vec<RosterBranch>> {
        self.rows("roster_schedule", wire::REPORT_ROSTER, &Self::range_form(range)?)
            .await
    }
}

impl Vendor for Asalta {
    fn vendor(&self) -> &'static str {
        VENDOR
    }
}

#[async_trait]
impl Sales for Asalta {
    /// Pushes a sale as an Asalta invoice (kind `invoice`) or order (kind `order`),
    /// then books its payments; see the crate docs.
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        self.push(sale).await
    }

    /// Reads an invoice (`880`, `invoice:880`) or an order (`order:54`) back.
    async fn get_sale(&self, vendor_id: &str) -> Result<Sale> {
        self.read_sale("get_sale", SaleRef::parse(vendor_id)?).await
    }

    /// Every invoice, then every order.
    fn list_sales(&self) -> BoxStream<'_, Result<Sale>> {
        self.sale_stream(wire::INVOICES, SaleKind::Invoice)
            .chain(self.sale_stream(wire::ORDERS, SaleKind::Order))
            .boxed()
    }
}

#[async_trait]
impl Voids for Asalta {
    /// Voids an order (`GET /pos/void_order?id=`) by its vendor id `order:54`, as
    /// the order's push receipt gives it. Asalta voids orders only and finds them by
    /// its own id only; an invoice (`880`, `invoice:880`: a bare number is an invoice,
    /// as in push receipts) is refused with [`Error::Invalid`] pointing to
    /// [`Returns::push_return`]. Voiding twice is refused by Asalta ("Order already
    /// void", code `already_void`), so it is retried like a read.
    async fn void_sale(&self, void: &Void) -> Result<PushReceipt> {
        void.check()?;
        let vendor_id = void.sale.require_vendor_id(VENDOR, "sale")?;
        let id = match SaleRef::parse_field(vendor_id, "sale.vendor_id")? {
            SaleRef::Order(n) => n,
            SaleRef::Invoice(_) => {
                return Err(Error::invalid(
                    "sale.vendor_id",
                    format!(
                        "{vendor_id:?} is an Asalta invoice, and Asalta voids orders only (`order:<id>`): take an \
                         invoice's goods back with Returns::push_return (a return of every line)"
                    ),
                ));
            }
        };
        let request = Request::get("void_sale", wire::VOID_ORDER)
            .query(wire::ID, id.to_string())
            .idempotent(true);
        self.api.write(request).await?;
        Ok(PushReceipt {
            reference: void.sale.reference().unwrap_or(vendor_id).to_owned(),
            vendor_id: Some(format!("order:{id}")),
            disposition: Disposition::Updated,
            differences: Vec::new(),
        })
    }
}

#[async_trait]
impl Returns for Asalta {
    /// Returns goods of an invoice (`POST /pos/return_invoices`) or an order
    /// (`POST /pos/return_orders`), by the sale's vendor id (`880`, `invoice:880`,
    /// `order:54`). The return is reconciled and checked first; the sale is read
    /// (`GET /pos/invoices?id=` / `/pos/orders?id=`: an unknown sale is
    /// [`Error::NotFound`]) and each line checked against what it sold; then the
    /// return is posted, once (not retried: Asalta has no return reference). The
    /// receipt's `vendor_id` is `return_invoice:<id>` or `return_order:<id>`.
    async fn push_return(&self, ret: &Return) -> Result<PushReceipt> {
        self.send_return(ret).await
    }
}

#[async_trait]
impl Payments for Asalta {
    /// Books a payment against an invoice or an order (`POST /pos/payments`, `type:
    /// sale`), by the sale's vendor id. The payment is checked first (positive, at
    /// most 2 decimals, a gift card's number), the sale read (unknown:
    /// [`Error::NotFound`]; void, or less due than the payment: [`Error::Invalid`],
    /// Asalta's rule "paid amount must be less than or equal to sales amount"), then
    /// the payment posted once. The receipt's `vendor_id` is Asalta's payment id.
    async fn add_payment(&self, payment: &SalePayment) -> Result<PushReceipt> {
        self.send_payment(payment).await
    }

    /// Deletes a payment by Asalta's id for it (`DELETE /pos/payments?id=`). Not
    /// retried once sent.
    async fn delete_payment(&self, vendor_id: &str) -> Result<()> {
        let id = parse_id(vendor_id, "id")?;
        Asalta::delete_payment(self, id).await
    }
}

#[async_trait]
impl Stock for Asalta {
    /// Every item's stock per warehouse (`location` is Asalta's warehouse id).
    fn stock_levels(&self) -> BoxStream<'_, Result<StockLevel>> {
        self.api
            .pages::<Item>("stock_levels", wire::ITEMS, Vec::new())
            .and_then(|item| {
                futures_util::future::ready(
                    map::stock_levels(&item)
                        .map(|levels| stream::iter(levels.into_iter().map(Ok)))
                        .map_err(|why| Error::decode(VENDOR, why, b"")),
                )
            })
            .try_flatten()
            .boxed()
    }
}

#[async_trait]
impl Customers for Asalta {
    fn list_customers(&self) -> BoxStream<'_, Result<Customer>> {
        self.api
            .pages::<CustomerRecord>("list_customers", wire::CUSTOMERS, Vec::new())
            .map_ok(map::customer_from_record)
            .boxed()
    }

    async fn get_customer(&self, vendor_id: &str) -> Result<Customer> {
        let id = parse_id(vendor_id, "id")?;
        let record: CustomerRecord = self
            .api
            .get_one("get_customer", wire::CUSTOMERS, &[(wire::ID, id.to_string())])
            .await?;
        Ok(map::customer_from_record(record))
    }

    /// Creates a customer (`POST /pos/customers`). Not retried once sent.
    async fn create_customer(&self, customer: &Customer) -> Result<Customer> {
        let body = map::customer_body(customer, None, self.config.customer_group_id)?;
        let request = Request::post("create_customer", wire::CUSTOMERS)
            .json(&body)?
            .idempotent(false);
        let answer = self.api.write(request).await?;
        let id = written_id(&answer, "id").ok_or_else(|| {
            Error::decode(VENDOR, "the answer to a new customer has no data.id", b"").into_uncertain("create_customer")
        })?;
        Ok(Customer {
            id: Some(id),
            ..customer.clone()
        })
    }

    /// Updates a customer (`POST /pos/customers` with `id`). Sending the same values
    /// twice is harmless, so it is retried like a read.
    async fn update_customer(&self, vendor_id: &str, customer: &Customer) -> Result<Customer> {
        let id = parse_id(vendor_id, "id")?;
        let body = map::customer_body(customer, Some(id), None)?;
        let request = Request::post("update_customer", wire::CUSTOMERS)
            .json(&body)?
            .idempotent(true);
        self.api.write(request).await?;
        Ok(Customer {
            id: Some(id.to_string()),
            ..customer.clone()
        })
    }
}

impl Connector for Asalta {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
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

    fn returns(&self) -> Option<&dyn Returns> {
        Some(self)
    }

    fn payments(&self) -> Option<&dyn Payments> {
        Some(self)
    }

    fn catalogue(&self) -> Option<&dyn Catalogue> {
        Some(self)
    }

    fn locations(&self) -> Option<&dyn Locations> {
        Some(self)
    }

    /// Asalta's documented operations no capability covers, by name (the table in
    /// `src/calls.rs`: `categories`, `tax_line_item` with `{"tax_rate_id": N, "id": M}`,
    /// `sales_report` with `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`, …).
    fn call<'a>(
        &'a self,
        name: &'a str,
        input: &'a Value,
    ) -> posbridge_core::traits::BoxFuture<'a, Result<Box<serde_json::value::RawValue>>> {
        Box::pin(self.dispatch(name, input))
    }
}

#[async_trait]
impl Catalogue for Asalta {
    /// Every item (`GET /pos/items`, pages followed lazily) as a [`Product`]: code,
    /// name, unit, selling price, tax (`code` is Asalta's tax rate id; `inclusive`
    /// from `tax_method` `0`), the category's name, id, and the item's other fields
    /// (not its stock) in `extras`. Asalta's document has no item write endpoint, so
    /// creating, updating and deleting products are [`Error::Unsupported`].
    fn products(&self) -> BoxStream<'_, Result<Product>> {
        self.api
            .pages::<Value>("list_products", wire::ITEMS, Vec::new())
            .and_then(|raw| {
                futures_util::future::ready(
                    catalogue::product(raw)
                        .map_err(|why| Error::decode(VENDOR, format!("GET {}: {why}", wire::ITEMS), b"")),
                )
            })
            .boxed()
    }

    /// One item (`GET /pos/items?id=`) as a [`Product`]; an unknown id is
    /// [`Error::NotFound`].
    async fn get_product(&self, vendor_id: &str) -> Result<Product> {
        let id = parse_id(vendor_id, "id")?;
        let raw: Value = self
            .api
            .get_one("get_product", wire::ITEMS, &[(wire::ID, id.to_string())])
            .await?;
        catalogue::product(raw).map_err(|why| Error::decode(VENDOR, format!("GET {}?id={id}: {why}", wire::ITEMS), b""))
    }
}

#[async_trait]
impl Locations for Asalta {
    /// Every warehouse (`GET /pos/warehouses`): code, name, kind
    /// (`warehouse_type`), id.
    fn locations(&self) -> BoxStream<'_, Result<Location>> {
        self.api
            .pages::<Warehouse>("list_locations", wire::WAREHOUSES, Vec::new())
            .map_ok(catalogue::location)
            .boxed()
    }
}

impl Asalta {
    /// Not part of the API: for `posbridge-bench` only, and may change at any time.
    /// The request [`Sales::push_sale`] would post for `sale` (the same steps: totals
    /// and Asalta's rules checked, ids resolved, mapped, encoded), with the wire value
    /// its body is encoded from. The ids must resolve without a request (explicit
    /// `id_map` entries, the walk-in customer); no token is asked for. Unlike a push,
    /// it skips the price check (no items are listed, no line compared): it measures
    /// the mapping and encoding only.
    #[doc(hidden)]
    pub async fn bench_sale_request(&self, sale: &Sale) -> Result<(Request, impl serde::Serialize + use<>)> {
        let reconciled = sale.reconcile()?;
        map::check_sale(&reconciled)?;
        let path = map::sale_path(sale.kind)?;
        let ids = self.sale_ids(sale).await?;
        let body = map::sale_body(&reconciled, &ids, self.config.utc_offset)?;
        let request = Request::post("push_sale", path).json(&body)?.idempotent(false);
        Ok((request, body))
    }
}
