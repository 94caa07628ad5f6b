//! # posbridge-easpro
//!
//! The posbridge connector for **EAS Pro**, a Malaysian accounting system: push sales
//! ([`Sales`]) — invoices and quotations — with their payments, authenticated by the
//! `partner` and `user-id` headers.
//!
//! It follows EAS Pro's "jualan" (sales) document and its public payment notes, and
//! decides what they leave open; each decision and its reason is in
//! `docs/vendors/easpro.md`. In short: a sale is **upserted** by `billReferenceId` (the
//! POS reference), so a push is idempotent and safely retried after a timeout or a
//! 5xx; each line's product is mapped to EAS Pro's `invProductId` through the
//! [`Config::id_map`]; every `subTotal` and the `value` are checked before sending;
//! the sale's payments ([`Sale::payments`]) follow the sale, each upserted by its own
//! reference. EAS Pro answers every request with HTTP 200 and a status code in the
//! body, which [`Error`] kinds are read from.
//!
//! A payment made after the sale ([`Payments::add_payment`]) goes to the same payment
//! endpoint, keyed by the payment's own reference (an upsert, so retried safely).
//!
//! It does not do stock, customers, returns, voids, payment deletions, or a discount
//! on the whole sale (EAS Pro's API has none of them; such sales are refused locally
//! with [`Error::Invalid`], and nothing is sent; the operations are not offered). Tests: unit tests in `map.rs` and
//! `error.rs`, conformance cases in `fixtures/` run by the generated
//! `tests/conformance.rs`, and `tests/secrets.rs`.
//!
//! ```no_run
//! use posbridge_easpro::{Config, EasPro};
//! use posbridge_core::{IdKind, InMemoryIdMap, Sale, Sales, SecretString};
//!
//! # async fn run() -> posbridge_core::Result<()> {
//! let products = InMemoryIdMap::new().with(IdKind::Product, "AIRPOD-1", "68668492-e16b-4b5c-82e6-8e5d843ffbdc");
//! let easpro = EasPro::new(
//!     Config::new(SecretString::from("partner-key-from-easpro"), SecretString::from("merchant-user-id"))
//!         .with_id_map(products),
//! )?;
//! let sale: Sale = serde_json::from_str(r#"{
//!     "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+08:00",
//!     "lines": [{"product_code": "AIRPOD-1", "quantity": "2", "unit_price": "20.00"}],
//!     "payments": [{"amount": "40.00", "method": "cash"}]
//! }"#).expect("a valid sale");
//! let receipt = easpro.push_sale(&sale).await?;
//! println!("EAS Pro took {} ({:?})", receipt.reference, receipt.disposition);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

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

use async_trait::async_trait;
use jiff::tz::Offset;
use posbridge_core::http::Request;
use posbridge_core::idmap::not_mapped;
use posbridge_core::reqwest::header::HeaderName;
use posbridge_core::{
    Capabilities, Connector, ConnectorConfig, DuplicatePolicy, Error, ExposeSecret, FieldPath, HttpConfig, IdKind,
    InMemoryIdMap, Operation, Payments, PushReceipt, Result, Sale, SalePayment, Sales, SecretString, StaticAuth,
    Transport, Vendor,
};
use serde::Deserialize;

/// The vendor name used in errors, logs and config files.
pub const VENDOR: &str = "easpro";

/// EAS Pro's server. Its document writes `http://www.eas-pro.my`; the default is
/// https because the credentials travel in headers.
pub const DEFAULT_BASE_URL: &str = "https://www.eas-pro.my/";

/// Malaysia's offset from UTC (+08:00), the default for `transactionDate`.
pub const MALAYSIA: Offset = Offset::constant(8);

/// One merchant's EAS Pro account.
///
/// As JSON (e.g. in a config file):
///
/// ```
/// let config: posbridge_easpro::Config = serde_json::from_value(serde_json::json!({
///     "partner": "partner-key-from-easpro",
///     "user_id": "merchant-user-id",
///     "id_map": {"product": {"AIRPOD-1": "68668492-e16b-4b5c-82e6-8e5d843ffbdc"}},
///     "utc_offset": "+08:00"
/// }))?;
/// assert!(!format!("{config:?}").contains("partner-key-from-easpro"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The EAS Pro server, `https://www.eas-pro.my/` by default.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The partner key EAS Pro's admin issues (sent as the `partner` header).
    pub partner: SecretString,
    /// The merchant's EAS Pro user id (sent as the `user-id` header).
    pub user_id: SecretString,
    /// POS product code → EAS Pro `invProductId` (a UUID), under `product`. A line
    /// whose product is not mapped is refused locally.
    #[serde(default)]
    pub id_map: InMemoryIdMap,
    /// The merchant's offset from UTC, in which `transactionDate` and `paymentDate`
    /// are written; `"+08:00"` (Malaysia) by default.
    #[serde(default = "default_offset", with = "offset_text")]
    pub utc_offset: Offset,
    /// Timeouts, retries, rate limit.
    #[serde(default)]
    pub http: HttpConfig,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_offset() -> Offset {
    MALAYSIA
}

/// A UTC offset in config files: `"+08:00"`.
mod offset_text {
    use jiff::tz::Offset;
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Offset, D::Error> {
        let text = String::deserialize(d)?;
        crate::map::parse_offset(&text).map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// A config for EAS Pro's server with the `partner` key and the merchant's
    /// `user_id`, an empty id map, and Malaysia's offset.
    pub fn new(partner: SecretString, user_id: SecretString) -> Self {
        Self {
            base_url: default_base_url(),
            partner,
            user_id,
            id_map: InMemoryIdMap::new(),
            utc_offset: MALAYSIA,
            http: HttpConfig::default(),
        }
    }

    /// Sets the server.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the id map (POS product code → `invProductId`).
    pub fn with_id_map(mut self, id_map: InMemoryIdMap) -> Self {
        self.id_map = id_map;
        self
    }

    /// Maps one POS product code to its EAS Pro `invProductId`.
    pub fn with_product(mut self, code: impl Into<String>, inv_product_id: impl Into<String>) -> Self {
        self.id_map.insert(IdKind::Product, code, inv_product_id);
        self
    }

    /// Sets the merchant's offset from UTC.
    pub fn with_utc_offset(mut self, utc_offset: Offset) -> Self {
        self.utc_offset = utc_offset;
        self
    }

    /// Sets the HTTP settings.
    pub fn with_http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
}

impl ConnectorConfig for Config {
    fn connect(self) -> Result<Box<dyn Connector>> {
        Ok(Box::new(EasPro::new(self)?))
    }
}

/// What the EAS Pro connector offers: pushing sales, which EAS Pro upserts by
/// reference, and adding payments to them later, which EAS Pro upserts by the
/// payment's reference. No returns, voids or payment deletions: the API has none.
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::new([Operation::PushSale, Operation::AddPayment]);
    c.sale_duplicates = DuplicatePolicy::Upsert;
    c.payment_duplicates = DuplicatePolicy::Upsert;
    c
}

/// An EAS Pro client for one merchant.
#[derive(Debug)]
pub struct EasPro {
    transport: Transport,
    auth: StaticAuth,
    config: Config,
    capabilities: Capabilities,
}

impl EasPro {
    /// A client with its own connection pool. No request is sent; an empty
    /// credential, or one that cannot be a header value, is an [`Error::Config`].
    ///
    /// ```no_run
    /// # use posbridge_easpro::{Config, EasPro};
    /// # use posbridge_core::SecretString;
    /// let easpro = EasPro::new(Config::new(SecretString::from("partner-key"), SecretString::from("user-id")))?;
    /// # Ok::<(), posbridge_core::Error>(())
    /// ```
    pub fn new(config: Config) -> Result<Self> {
        let transport = Transport::new(VENDOR, &config.base_url, config.http.clone(), error::parse_error)?;
        Self::from_parts(transport, config)
    }

    /// A client sharing `client`'s connection pool with other merchants' clients.
    ///
    /// ```no_run
    /// # use posbridge_easpro::{Config, EasPro};
    /// # use posbridge_core::SecretString;
    /// let pool = posbridge_core::reqwest::Client::new();
    /// let shop_a = EasPro::with_client(Config::new(SecretString::from("p"), SecretString::from("a")), pool.clone())?;
    /// let shop_b = EasPro::with_client(Config::new(SecretString::from("p"), SecretString::from("b")), pool)?;
    /// # Ok::<(), posbridge_core::Error>(())
    /// ```
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
        let auth = StaticAuth::new()
            .header(
                credential_header(wire::PARTNER_HEADER, &config.partner)?,
                &config.partner,
            )
            .header(
                credential_header(wire::USER_ID_HEADER, &config.user_id)?,
                &config.user_id,
            );
        Ok(Self {
            transport,
            auth,
            config,
            capabilities: capabilities(),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `invProductId` of each line, from the id map; an unmapped code is
    /// [`Error::Invalid`] naming the line.
    fn product_ids(&self, sale: &Sale) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(sale.lines.len());
        for (i, line) in sale.lines.iter().enumerate() {
            let code = &line.product_code;
            match self.config.id_map.get(IdKind::Product, code) {
                Some(id) => ids.push(id.to_owned()),
                None => {
                    return Err(not_mapped(
                        IdKind::Product,
                        code,
                        FieldPath::LineField(i, "product_code"),
                    ));
                }
            }
        }
        Ok(ids)
    }

    /// Sends one request and reads EAS Pro's answer (whose status the transport has
    /// already checked).
    async fn upsert(&self, request: &Request) -> Result<map::Accepted> {
        let response = self.transport.send(request, Some(&self.auth)).await?;
        let answer: wire::Answer = response.json(VENDOR)?;
        let accepted = map::accepted(answer.data.as_ref());
        if accepted.demo {
            tracing::warn!(
                vendor = VENDOR,
                operation = request.operation(),
                "EAS Pro says this is a demo account: the record is not in real books"
            );
        }
        Ok(accepted)
    }
}

/// The header for a credential, refusing one that could never be sent.
fn credential_header(name: &'static str, value: &SecretString) -> Result<HeaderName> {
    let v = value.expose_secret();
    if v.trim().is_empty() {
        return Err(Error::config(format!("{VENDOR}: the {name} credential is empty")));
    }
    if posbridge_core::reqwest::header::HeaderValue::from_str(v).is_err() {
        return Err(Error::config(format!(
            "{VENDOR}: the {name} credential contains characters a header cannot carry"
        )));
    }
    Ok(HeaderName::from_static(name))
}

impl Vendor for EasPro {
    fn vendor(&self) -> &'static str {
        VENDOR
    }
}

#[async_trait]
impl Sales for EasPro {
    /// Upserts the sale, then each of its payments in order.
    ///
    /// Everything is checked before the first request: totals, product mappings,
    /// discounts, payments. If a payment fails after the sale was accepted, that
    /// error is returned; pushing the whole sale again is safe, as both the sale and
    /// its payments are upserts.
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        let checked = sale.reconcile()?;
        let product_ids = self.product_ids(sale)?;
        let transaction = map::sale_to_wire(&checked, &product_ids, self.config.utc_offset)?;
        let payments = map::payments_to_wire(&checked, self.config.utc_offset)?;

        let request = Request::post("push_sale", wire::CREATE_TRANSACTION)
            .json(&wire::Body { data: &transaction })?
            .idempotent(true);
        let accepted = self.upsert(&request).await?;

        for payment in &payments {
            let request = Request::post("push_payment", wire::CREATE_PAYMENT)
                .json(&wire::Body { data: payment })?
                .idempotent(true);
            if let Err(e) = self.upsert(&request).await {
                tracing::warn!(
                    vendor = VENDOR,
                    reference = %sale.reference,
                    payment = %payment.reference,
                    kind = %e.kind(),
                    "the sale was accepted but a payment was not; pushing the sale again is safe"
                );
                return Err(e);
            }
        }
        Ok(map::receipt(&sale.reference, &accepted))
    }
}

#[async_trait]
impl Payments for EasPro {
    /// Upserts a payment made after the sale: `billReferenceId` is the sale's POS
    /// reference, `reference` the payment's (required; sending the same payment
    /// again updates it, so the request is retried after a 5xx or a timeout).
    /// Everything is checked before anything is sent; a bill EAS Pro does not hold
    /// is EAS Pro's rejection (a non-`"0"` code).
    async fn add_payment(&self, payment: &SalePayment) -> Result<PushReceipt> {
        let data = map::sale_payment_to_wire(payment, self.config.utc_offset, jiff::Timestamp::now())?;
        let request = Request::post("add_payment", wire::CREATE_PAYMENT)
            .json(&wire::Body { data: &data })?
            .idempotent(true);
        let accepted = self.upsert(&request).await?;
        Ok(map::receipt(&data.reference, &accepted))
    }
}

impl Connector for EasPro {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }

    fn payments(&self) -> Option<&dyn Payments> {
        Some(self)
    }
}

impl EasPro {
    /// Not part of the API: for `posbridge-bench` only, and may change at any time.
    /// The sale request [`Sales::push_sale`] would send first for `sale` (the same
    /// steps: totals checked, products looked up in the id map, sale and payments
    /// mapped, encoded), with the wire value its body is encoded from. Nothing is sent.
    #[doc(hidden)]
    pub async fn bench_sale_request(&self, sale: &Sale) -> Result<(Request, impl serde::Serialize + use<>)> {
        let checked = sale.reconcile()?;
        let product_ids = self.product_ids(sale)?;
        let transaction = map::sale_to_wire(&checked, &product_ids, self.config.utc_offset)?;
        map::payments_to_wire(&checked, self.config.utc_offset)?;
        let body = wire::Body { data: transaction };
        let request = Request::post("push_sale", wire::CREATE_TRANSACTION)
            .json(&body)?
            .idempotent(true);
        Ok((request, body))
    }
}
