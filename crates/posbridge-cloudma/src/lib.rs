//! # posbridge-cloudma
//!
//! The posbridge connector for **CloudMA**, a Sri Lankan ERP: push sales
//! ([`Sales`]), push purchases / goods received notes ([`Purchases`]), read stock
//! levels ([`Stock`]) and, from the same stock sync, the catalogue's codes and names
//! ([`Catalogue`]: read only, no prices), with CloudMA's static API token.
//!
//! It follows CloudMA's document (v1.0) and decides what the document leaves open;
//! each decision and its reason is in `docs/vendors/cloudma.md`. In short: requests
//! are form-encoded with PHP-style `items[0][code]` fields (JSON is a config switch),
//! `qty` is a whole number, money has two decimals, `grand_total` is the sum of item
//! totals, and a push is **not** retried after it may have reached CloudMA (a repeated
//! `reference_no` may be booked twice): such a failure is [`Error::Uncertain`].
//!
//! It does not do customers (CloudMA's API has none), product writes, payments, dates or locations
//! (the document has no field for them): a purchase's `received_at`, `supplier`,
//! `location` and `note` are not sent, and each push logs which, by name; money
//! without a field (shipping, a document discount, added tax) is refused instead.
//! Nor returns, voids or payments after the sale (the document has none of the three:
//! `Connector::returns`, `voids` and `payments` are `None`), and a sale whose status is
//! `void` is refused locally ([`Error::Invalid`] on `status`): CloudMA would book it as
//! a live sale.
//! Tests: unit tests in `map.rs`, conformance cases in `fixtures/` run by the
//! generated `tests/conformance.rs`, `tests/purchase_fields.rs` and
//! `tests/secrets.rs`.
//!
//! ```no_run
//! use posbridge_cloudma::{CloudMa, Config};
//! use posbridge_core::{Sale, Sales, SecretString};
//!
//! # async fn run() -> posbridge_core::Result<()> {
//! let cloudma = CloudMa::new(
//!     Config::new(SecretString::from("38iGm3yI86Hw")).with_base_url("https://testdev.cloudma.app/"),
//! )?;
//! let sale: Sale = serde_json::from_str(r#"{
//!     "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+05:30",
//!     "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "450.00"}]
//! }"#).expect("a valid sale");
//! let receipt = cloudma.push_sale(&sale).await?;
//! println!("CloudMA took {} ({:?})", receipt.reference, receipt.disposition);
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
use futures_util::{StreamExt, TryStreamExt, stream};
use posbridge_core::http::{Request, Response};
use posbridge_core::{
    BoxStream, Capabilities, Catalogue, Connector, ConnectorConfig, DuplicatePolicy, Error, ExposeSecret, HttpConfig,
    Operation, Product, Purchase, Purchases, PushReceipt, Result, Sale, Sales, SecretString, Stock, StockLevel,
    Transport, Vendor,
};
use serde::{Deserialize, Serialize};

pub use crate::error::DUPLICATE_REFERENCE;
pub use crate::map::GrandTotal;

/// The vendor name used in errors, logs and config files.
pub const VENDOR: &str = "cloudma";

/// CloudMA's test server, from its document. Set your production URL with
/// [`Config::with_base_url`].
pub const DEFAULT_BASE_URL: &str = "https://testdev.cloudma.app/";

/// How request bodies are encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` with `items[0][code]` fields: the token is
    /// "a POST parameter", which is what every PHP back end reads (the default).
    #[default]
    Form,
    /// `application/json`, numbers as JSON numbers.
    Json,
}

/// One merchant's CloudMA account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The CloudMA server, e.g. `https://testdev.cloudma.app/`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The API token CloudMA issued (sent as the `token` parameter).
    pub token: SecretString,
    /// Form (default) or JSON bodies.
    #[serde(default)]
    pub body: BodyFormat,
    /// What `grand_total` carries.
    #[serde(default)]
    pub grand_total: GrandTotal,
    /// The `customer_name` sent for a sale without a customer.
    #[serde(default = "default_walk_in")]
    pub walk_in_customer: String,
    /// Timeouts, retries, rate limit.
    #[serde(default)]
    pub http: HttpConfig,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_walk_in() -> String {
    "Walk-in Customer".to_owned()
}

impl Config {
    /// A config for CloudMA's test server with `token`.
    pub fn new(token: SecretString) -> Self {
        Self {
            base_url: default_base_url(),
            token,
            body: BodyFormat::default(),
            grand_total: GrandTotal::default(),
            walk_in_customer: default_walk_in(),
            http: HttpConfig::default(),
        }
    }

    /// Sets the server.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the body format.
    pub fn with_body_format(mut self, body: BodyFormat) -> Self {
        self.body = body;
        self
    }

    /// Sets what `grand_total` carries.
    pub fn with_grand_total(mut self, grand_total: GrandTotal) -> Self {
        self.grand_total = grand_total;
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
        Ok(Box::new(CloudMa::new(self)?))
    }
}

/// What the CloudMA connector offers.
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::new([
        Operation::PushSale,
        Operation::PushPurchase,
        Operation::StockLevels,
        Operation::ListProducts,
    ]);
    c.sale_duplicates = DuplicatePolicy::Unknown;
    c.purchase_duplicates = DuplicatePolicy::Unknown;
    c
}

/// A CloudMA client for one merchant.
#[derive(Debug)]
pub struct CloudMa {
    transport: Transport,
    config: Config,
    capabilities: Capabilities,
}

impl CloudMa {
    /// A client with its own connection pool. No request is sent.
    pub fn new(config: Config) -> Result<Self> {
        let transport = Transport::new(VENDOR, &config.base_url, config.http.clone(), error::parse_error)?;
        Ok(Self::from_parts(transport, config))
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
        Ok(Self::from_parts(transport, config))
    }

    fn from_parts(transport: Transport, config: Config) -> Self {
        // The token travels in every request body: no error may show it, should
        // CloudMA (or a PHP debug page) echo it back.
        let transport = transport.with_secrets([&config.token]);
        Self {
            transport,
            config,
            capabilities: capabilities(),
        }
    }

    fn token(&self) -> &str {
        self.config.token.expose_secret()
    }

    /// An error read from an answer's body, without the token should it be echoed
    /// there (the transport clears the errors it returns itself).
    fn scrub(&self, e: Error) -> Error {
        e.redact_secrets(&[self.token()])
    }

    /// The body in the configured format: the form is written only when it is sent.
    fn with_body<T: Serialize>(&self, request: Request, form: impl FnOnce() -> String, json: &T) -> Result<Request> {
        match self.config.body {
            BodyFormat::Form => Ok(request.form_encoded(form())),
            BodyFormat::Json => request.json(json),
        }
    }

    /// The request [`Sales::push_sale`] sends: totals checked, mapped, encoded.
    fn sale_request(&self, sale: &Sale) -> Result<Request> {
        let checked = sale.reconcile()?;
        let options = map::SaleOptions {
            walk_in_customer: &self.config.walk_in_customer,
            grand_total: self.config.grand_total,
        };
        let body = map::sale_to_wire(&checked, self.token(), &options)?;
        self.with_body(Request::post("push_sale", wire::PUSH_SALE), || body.form(), &body)
    }

    fn receipt(&self, reference: &str, operation: &'static str, response: &Response) -> Result<PushReceipt> {
        let status = response.status.as_u16();
        map::receipt(reference, status, &response.body).map_err(|p| {
            self.scrub(match p {
                map::ReceiptProblem::Unreadable(why) => {
                    Error::decode(VENDOR, why, &response.body).into_uncertain(operation)
                }
                map::ReceiptProblem::Refused(message) => Error::Rejected {
                    vendor: VENDOR,
                    status: Some(status),
                    code: None,
                    message,
                },
            })
        })
    }

    async fn fetch_stock(&self) -> Result<Vec<StockLevel>> {
        let body = wire::SyncStock { token: self.token() };
        let request = self
            .with_body(Request::post("stock_levels", wire::SYNC_STOCK), || body.form(), &body)?
            .idempotent(true);
        let response = self.transport.send(&request, None).await?;
        let value: serde_json::Value = response.json(VENDOR).map_err(|e| self.scrub(e))?;
        map::stock_levels(&value).map_err(|why| self.scrub(Error::decode(VENDOR, why, &response.body)))
    }

    /// The catalogue: the same sync-stock call, read as products.
    async fn fetch_products(&self) -> Result<Vec<Product>> {
        let body = wire::SyncStock { token: self.token() };
        let request = self
            .with_body(Request::post("list_products", wire::SYNC_STOCK), || body.form(), &body)?
            .idempotent(true);
        let response = self.transport.send(&request, None).await?;
        let value: serde_json::Value = response.json(VENDOR).map_err(|e| self.scrub(e))?;
        map::products(&value).map_err(|why| self.scrub(Error::decode(VENDOR, why, &response.body)))
    }
}

impl Vendor for CloudMa {
    fn vendor(&self) -> &'static str {
        VENDOR
    }
}

#[async_trait]
impl Sales for CloudMa {
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        let request = self.sale_request(sale)?;
        let response = self.transport.send(&request, None).await?;
        self.receipt(&sale.reference, "push_sale", &response)
    }
}

#[async_trait]
impl Purchases for CloudMa {
    /// Pushes a goods received note. CloudMA's push-purchase has no parameter for the
    /// purchase's `received_at`, `supplier`, `location` or `note`: they are not sent
    /// (logged at INFO by name, never by value), while money without a field (shipping,
    /// a document discount, added tax) is refused with [`Error::Invalid`].
    async fn push_purchase(&self, purchase: &Purchase) -> Result<PushReceipt> {
        let checked = purchase.reconcile()?;
        let body = map::purchase_to_wire(&checked, self.token())?;
        tracing::info!(
            vendor = VENDOR,
            reference = %purchase.reference,
            not_sent = ?map::purchase_fields_not_sent(purchase),
            "CloudMA's push-purchase has no field for these; CloudMA dates the GRN when it receives it"
        );
        let request = self.with_body(
            Request::post("push_purchase", wire::PUSH_PURCHASE),
            || body.form(),
            &body,
        )?;
        let response = self.transport.send(&request, None).await?;
        self.receipt(&purchase.reference, "push_purchase", &response)
    }
}

#[async_trait]
impl Stock for CloudMa {
    fn stock_levels(&self) -> BoxStream<'_, Result<StockLevel>> {
        stream::once(self.fetch_stock())
            .map_ok(|levels| stream::iter(levels.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// CloudMA's catalogue is its stock sync (`POST sync-stock`, the document's only
/// list): each item is an active product with its `code` and `name`; CloudMA's
/// document gives no price, tax, unit or id, so they are `None`, and the item's other
/// fields (`qty` among them) are kept in `extras`. Read only: the document has no
/// product writes, and no locations.
#[async_trait]
impl Catalogue for CloudMa {
    /// Every active product, from one sync-stock answer (CloudMA does not page it).
    /// Retried like any read.
    fn products(&self) -> BoxStream<'_, Result<Product>> {
        stream::once(self.fetch_products())
            .map_ok(|products| stream::iter(products.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

impl Connector for CloudMa {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }

    fn purchases(&self) -> Option<&dyn Purchases> {
        Some(self)
    }

    fn stock(&self) -> Option<&dyn Stock> {
        Some(self)
    }

    fn catalogue(&self) -> Option<&dyn Catalogue> {
        Some(self)
    }
}

impl CloudMa {
    /// Not part of the API: for `posbridge-bench` only, and may change at any time.
    /// The request [`Sales::push_sale`] would send for `sale` (the same steps: totals
    /// checked, mapped, encoded). Nothing is sent.
    #[doc(hidden)]
    pub fn bench_sale_request(&self, sale: &Sale) -> Result<Request> {
        self.sale_request(sale)
    }

    /// Not part of the API: for `posbridge-bench` only. The form fields of the
    /// push-sale body for `sale`, as `(name, value)` pairs, for a baseline to encode.
    #[doc(hidden)]
    pub fn bench_sale_fields(&self, sale: &Sale) -> Result<Vec<(String, String)>> {
        let checked = sale.reconcile()?;
        let options = map::SaleOptions {
            walk_in_customer: &self.config.walk_in_customer,
            grand_total: self.config.grand_total,
        };
        Ok(map::sale_to_wire(&checked, self.token(), &options)?.form_fields())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn cloudma() -> CloudMa {
        CloudMa::new(Config::new(SecretString::from("38iGm3yI86Hw")).with_base_url("http://127.0.0.1:9/")).unwrap()
    }

    #[test]
    fn returns_voids_and_payments_are_unsupported_naming_what_cloudma_offers() {
        let c = cloudma();
        assert!(c.voids().is_none() && c.returns().is_none() && c.payments().is_none());
        for op in [
            Operation::PushReturn,
            Operation::VoidSale,
            Operation::AddPayment,
            Operation::DeletePayment,
        ] {
            assert!(!c.capabilities().supports(op), "{op}");
            match c.unsupported_here(op) {
                Error::Unsupported {
                    vendor,
                    operation,
                    offers,
                } => {
                    assert_eq!((vendor, operation), (VENDOR, op.as_str()));
                    assert_eq!(offers, ["push_sale", "push_purchase", "stock_levels", "list_products"]);
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn a_void_sale_is_refused_before_a_request_is_built() {
        let sale = |status: &str| -> Sale {
            serde_json::from_value(serde_json::json!({
                "reference": "INV-1", "issued_at": "2026-11-26T10:15:00+05:30", "status": status,
                "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "450"}]
            }))
            .unwrap()
        };
        let c = cloudma();
        let e = c.sale_request(&sale("void")).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "status"), "{e}");
        assert!(e.to_string().contains("live"), "{e}");
        for live in ["open", "paid", "delivered"] {
            c.sale_request(&sale(live)).unwrap();
        }
    }
}
