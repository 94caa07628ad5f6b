//! # posbridge-core
//!
//! The vendor-neutral heart of posbridge: the domain types a POS speaks
//! ([`Sale`], [`Purchase`], [`StockLevel`], [`Customer`]), the capability traits a
//! connector implements ([`Sales`], [`Purchases`], [`Stock`], [`Customers`], tied
//! together by [`Connector`]), the one [`Error`] type, the money rules
//! ([`money`]), and the machinery every connector shares: the HTTP [`Transport`]
//! with retries and rate limits ([`http`]), authentication with single-flight token
//! renewal ([`auth`]), paged lists read lazily and bounded ([`paging`]), id mapping
//! explicit or by listing ([`idmap`]), vendor messages and the common status arms
//! ([`error::vendor_message`], [`http::default_parse_error_with`]) and tolerant wire
//! helpers ([`wire`]).
//!
//! It does **not** know any vendor: vendor crates (`posbridge-cloudma`, …) depend on
//! it, never the other way round. Its tests are unit and property tests beside the
//! code, plus `tests/transport.rs` against a loopback mock server.
//!
//! ```
//! use posbridge_core::{Sale, ErrorKind};
//!
//! let sale: Sale = serde_json::from_str(r#"{
//!     "reference": "INV-1001",
//!     "issued_at": "2026-11-26T10:15:00+05:30",
//!     "lines": [
//!         {"product_code": "TEA-100", "quantity": "2", "unit_price": "450.00", "total": "900.00"},
//!         {"product_code": "MUG-1", "quantity": "1", "unit_price": "1200", "discount": {"percent": "10"}}
//!     ],
//!     "shipping": "150",
//!     "total": "2130.00"
//! }"#)?;
//! let checked = sale.reconcile()?;
//! assert_eq!(checked.amounts().total.to_string(), "2130.00");
//!
//! // A POS total that is a cent off is refused before anything is sent.
//! let mut wrong = sale.clone();
//! wrong.total = Some("2130.01".parse()?);
//! assert_eq!(wrong.reconcile().unwrap_err().kind(), ErrorKind::Invalid);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod catalogue;
pub mod descriptor;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod idmap;
pub mod lifecycle;
pub mod model;
pub mod money;
pub mod paging;
pub mod traits;
pub mod wire;

pub use auth::{Auth, Credentials, RefreshableBearer, StaticAuth, Token, TokenSource};
pub use catalogue::{Catalogue, Location, Locations, MatchBy, MatchReport, Product, match_products};
pub use descriptor::{Documented, Shape, VendorDescriptor, Via};
pub use error::{Error, ErrorKind, Result};
pub use http::{HttpConfig, RateLimitConfig, Request, Response, RetryConfig, Transport};
pub use idmap::{IdKind, IdLister, IdMap, InMemoryIdMap, ListingIdMap};
pub use lifecycle::{ReconciledReturn, Return, SalePayment, SaleRef, Void};
pub use model::{
    Customer, Difference, Disposition, Payment, PaymentMethod, Purchase, PurchaseLine, PushReceipt, ReconciledPurchase,
    ReconciledSale, Sale, SaleKind, SaleLine, SaleStatus, StockLevel,
};
pub use money::{Discount, FieldPath, Tax};
pub use traits::{
    BoxFuture, BoxStream, Capabilities, Connector, ConnectorConfig, Customers, DuplicatePolicy, Operation, Payments,
    Purchases, Returns, Sales, Stock, Vendor, Voids,
};

pub use jiff;
pub use reqwest;
/// Re-exported so connectors and users name the same versions.
pub use rust_decimal::Decimal;
pub use secrecy::{ExposeSecret, SecretString};
