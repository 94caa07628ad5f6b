//! The capability traits a connector implements, and [`Connector`] that ties them
//! together for dynamic use.
//!
//! All traits are object-safe (`async-trait`), so a CLI or an outbox can hold a
//! `Box<dyn Connector>` chosen at run time. A vendor implements only what its API
//! offers and declares it in [`Capabilities`]; every optional method's default
//! returns [`Error::Unsupported`], visibly, never a silent no-op.

use std::collections::BTreeSet;
use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use futures_util::{Stream, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lifecycle::{Return, SalePayment, Void};
use crate::model::{Customer, Purchase, PushReceipt, Sale, StockLevel};

/// A boxed, sendable stream, as the traits return for lists.
pub type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// The vendor a connector talks to.
pub trait Vendor: Send + Sync {
    /// The vendor's short name, e.g. `cloudma`. Used in errors, logs and metrics.
    fn vendor(&self) -> &'static str;

    /// The error for an operation this connector does not offer.
    fn unsupported(&self, operation: Operation) -> Error {
        Error::Unsupported {
            vendor: self.vendor(),
            operation: operation.as_str(),
            offers: Vec::new(),
        }
    }
}

/// Pushing sales (invoices, orders, quotations).
#[async_trait]
pub trait Sales: Vendor {
    /// Sends one sale. The sale is checked with [`Sale::reconcile`] first; a sale
    /// that fails is refused with [`Error::Invalid`] and nothing is sent.
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt>;

    /// Sends many sales and returns one outcome per sale, in input order. Vendors
    /// that batch send them in batches; a locally invalid sale is refused alone and
    /// does not hold back the others. The default sends them one by one.
    async fn push_sales(&self, sales: &[Sale]) -> Vec<Result<PushReceipt>> {
        let mut out = Vec::with_capacity(sales.len());
        for sale in sales {
            out.push(self.push_sale(sale).await);
        }
        out
    }

    /// Reads a sale back by the vendor's id.
    async fn get_sale(&self, vendor_id: &str) -> Result<Sale> {
        let _ = vendor_id;
        Err(self.unsupported(Operation::GetSale))
    }

    /// Streams the sales the vendor holds, page by page.
    fn list_sales(&self) -> BoxStream<'_, Result<Sale>> {
        Box::pin(futures_util::stream::once(futures_util::future::ready(Err(
            self.unsupported(Operation::ListSales)
        ))))
    }
}

/// Taking goods back: a [`Return`] against a sale already pushed.
#[async_trait]
pub trait Returns: Vendor {
    /// Sends one return. The return is checked with [`Return::reconcile`] first (and
    /// against the vendor's own rules); one that fails is refused with
    /// [`Error::Invalid`] and nothing is sent. A return of a sale the vendor does not
    /// hold is [`Error::NotFound`] or the vendor's rejection, never a silent success.
    async fn push_return(&self, ret: &Return) -> Result<PushReceipt>;
}

/// Voiding (cancelling) a sale already pushed.
#[async_trait]
pub trait Voids: Vendor {
    /// Voids the sale `void` names, by its POS reference or its vendor id (a vendor
    /// that cannot look a sale up by the POS reference needs the vendor id and says
    /// so with [`Error::Invalid`]). The receipt's `reference` is the sale's POS
    /// reference when known, else its vendor id. Voiding a sale the vendor does not
    /// hold is an error, never a silent success.
    async fn void_sale(&self, void: &Void) -> Result<PushReceipt>;
}

/// Payments made after the sale.
#[async_trait]
pub trait Payments: Vendor {
    /// Books a payment against a sale already pushed. The receipt's `reference` is
    /// the payment's POS reference (or, without one, the sale's) and its
    /// `vendor_id` the vendor's id for the payment when it gives one.
    async fn add_payment(&self, payment: &SalePayment) -> Result<PushReceipt>;

    /// Deletes a payment by the vendor's id for it, where the vendor allows it.
    async fn delete_payment(&self, vendor_id: &str) -> Result<()> {
        let _ = vendor_id;
        Err(self.unsupported(Operation::DeletePayment))
    }
}

/// Pushing purchases (goods received notes).
#[async_trait]
pub trait Purchases: Vendor {
    /// Sends one purchase, checked with [`Purchase::reconcile`] first.
    async fn push_purchase(&self, purchase: &Purchase) -> Result<PushReceipt>;
}

/// Reading stock levels.
#[async_trait]
pub trait Stock: Vendor {
    /// Streams every stock level; vendors that page fetch pages lazily.
    fn stock_levels(&self) -> BoxStream<'_, Result<StockLevel>>;

    /// Collects [`Stock::stock_levels`] into a vector.
    async fn stock_snapshot(&self) -> Result<Vec<StockLevel>> {
        self.stock_levels().try_collect().await
    }
}

/// Managing customers.
#[async_trait]
pub trait Customers: Vendor {
    /// Streams every customer.
    fn list_customers(&self) -> BoxStream<'_, Result<Customer>> {
        Box::pin(futures_util::stream::once(futures_util::future::ready(Err(
            self.unsupported(Operation::ListCustomers)
        ))))
    }

    /// Reads one customer by the vendor's id.
    async fn get_customer(&self, vendor_id: &str) -> Result<Customer> {
        let _ = vendor_id;
        Err(self.unsupported(Operation::GetCustomer))
    }

    /// Creates a customer and returns it as the vendor stored it (with its id).
    async fn create_customer(&self, customer: &Customer) -> Result<Customer> {
        let _ = customer;
        Err(self.unsupported(Operation::CreateCustomer))
    }

    /// Updates a customer by the vendor's id.
    async fn update_customer(&self, vendor_id: &str, customer: &Customer) -> Result<Customer> {
        let _ = (vendor_id, customer);
        Err(self.unsupported(Operation::UpdateCustomer))
    }

    /// Deletes a customer by the vendor's id.
    async fn delete_customer(&self, vendor_id: &str) -> Result<()> {
        let _ = vendor_id;
        Err(self.unsupported(Operation::DeleteCustomer))
    }
}

/// An operation of the capability traits, as named in capabilities, fixtures and
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// [`Sales::push_sale`].
    PushSale,
    /// [`Sales::push_sales`] as a native batch (the vendor takes many sales per
    /// request). Every `Sales` connector offers `push_sales`; only batching ones
    /// declare this.
    PushSales,
    /// [`Sales::get_sale`].
    GetSale,
    /// [`Sales::list_sales`].
    ListSales,
    /// [`Voids::void_sale`].
    VoidSale,
    /// [`Returns::push_return`].
    PushReturn,
    /// [`Payments::add_payment`].
    AddPayment,
    /// [`Payments::delete_payment`].
    DeletePayment,
    /// [`Purchases::push_purchase`].
    PushPurchase,
    /// [`Stock::stock_levels`].
    StockLevels,
    /// [`Customers::list_customers`].
    ListCustomers,
    /// [`Customers::get_customer`].
    GetCustomer,
    /// [`Customers::create_customer`].
    CreateCustomer,
    /// [`Customers::update_customer`].
    UpdateCustomer,
    /// [`Customers::delete_customer`].
    DeleteCustomer,
    /// [`Catalogue::products`](crate::Catalogue::products).
    ListProducts,
    /// [`Catalogue::get_product`](crate::Catalogue::get_product).
    GetProduct,
    /// [`Catalogue::create_product`](crate::Catalogue::create_product).
    CreateProduct,
    /// [`Catalogue::update_product`](crate::Catalogue::update_product).
    UpdateProduct,
    /// [`Catalogue::delete_product`](crate::Catalogue::delete_product).
    DeleteProduct,
    /// [`Locations::locations`](crate::Locations::locations).
    ListLocations,
    /// [`Connector::call`]: one of the vendor's own documented operations, by name.
    Call,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 22] = [
        Self::PushSale,
        Self::PushSales,
        Self::GetSale,
        Self::ListSales,
        Self::VoidSale,
        Self::PushReturn,
        Self::AddPayment,
        Self::DeletePayment,
        Self::PushPurchase,
        Self::StockLevels,
        Self::ListCustomers,
        Self::GetCustomer,
        Self::CreateCustomer,
        Self::UpdateCustomer,
        Self::DeleteCustomer,
        Self::ListProducts,
        Self::GetProduct,
        Self::CreateProduct,
        Self::UpdateProduct,
        Self::DeleteProduct,
        Self::ListLocations,
        Self::Call,
    ];

    /// The snake_case name, as in fixtures.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PushSale => "push_sale",
            Self::PushSales => "push_sales",
            Self::GetSale => "get_sale",
            Self::ListSales => "list_sales",
            Self::VoidSale => "void_sale",
            Self::PushReturn => "push_return",
            Self::AddPayment => "add_payment",
            Self::DeletePayment => "delete_payment",
            Self::PushPurchase => "push_purchase",
            Self::StockLevels => "stock_levels",
            Self::ListCustomers => "list_customers",
            Self::GetCustomer => "get_customer",
            Self::CreateCustomer => "create_customer",
            Self::UpdateCustomer => "update_customer",
            Self::DeleteCustomer => "delete_customer",
            Self::ListProducts => "list_products",
            Self::GetProduct => "get_product",
            Self::CreateProduct => "create_product",
            Self::UpdateProduct => "update_product",
            Self::DeleteProduct => "delete_product",
            Self::ListLocations => "list_locations",
            Self::Call => "call",
        }
    }

    /// Whether the operation writes to the vendor.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::PushSale
                | Self::PushSales
                | Self::VoidSale
                | Self::PushReturn
                | Self::AddPayment
                | Self::DeletePayment
                | Self::PushPurchase
                | Self::CreateCustomer
                | Self::UpdateCustomer
                | Self::DeleteCustomer
                | Self::CreateProduct
                | Self::UpdateProduct
                | Self::DeleteProduct
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the vendor does when the same document reference is pushed again. This
/// decides whether a write that may have been applied can be re-sent safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DuplicatePolicy {
    /// The reference is an upsert key: re-sending updates the same record. Safe to retry.
    Upsert,
    /// The vendor refuses a reference it already has, with an error we recognise.
    /// Re-sending cannot create a duplicate; a refusal after an uncertain write means
    /// the first one landed.
    Rejected,
    /// The vendor accepts the repeat and ignores it. Safe to retry.
    Ignored,
    /// Unknown: re-sending may book the document twice. Never retried blindly.
    Unknown,
}

impl DuplicatePolicy {
    /// Whether a push under this policy can be re-sent without risk of a double booking.
    pub fn is_idempotent(self) -> bool {
        matches!(self, Self::Upsert | Self::Ignored | Self::Rejected)
    }
}

/// What a connector offers, declared once and read by the CLI, the outbox and the
/// conformance matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The operations this connector implements.
    pub operations: BTreeSet<Operation>,
    /// The most sales one request may carry, for vendors that batch.
    pub max_batch: Option<usize>,
    /// What a repeated sale reference does.
    pub sale_duplicates: DuplicatePolicy,
    /// What a repeated purchase reference does.
    pub purchase_duplicates: DuplicatePolicy,
    /// What a repeated return reference does.
    pub return_duplicates: DuplicatePolicy,
    /// What voiding the same sale again does.
    pub void_duplicates: DuplicatePolicy,
    /// What a repeated payment reference does.
    pub payment_duplicates: DuplicatePolicy,
}

impl Capabilities {
    /// Capabilities with the given operations and unknown duplicate behaviour.
    pub fn new(operations: impl IntoIterator<Item = Operation>) -> Self {
        Self {
            operations: operations.into_iter().collect(),
            max_batch: None,
            sale_duplicates: DuplicatePolicy::Unknown,
            purchase_duplicates: DuplicatePolicy::Unknown,
            return_duplicates: DuplicatePolicy::Unknown,
            void_duplicates: DuplicatePolicy::Unknown,
            payment_duplicates: DuplicatePolicy::Unknown,
        }
    }

    /// Whether `op` is offered.
    pub fn supports(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }

    /// What repeating the write `op` does: the policy of the document it writes
    /// ([`DuplicatePolicy::Unknown`] for writes without one).
    pub fn duplicates(&self, op: Operation) -> DuplicatePolicy {
        match op {
            Operation::PushSale | Operation::PushSales => self.sale_duplicates,
            Operation::PushPurchase => self.purchase_duplicates,
            Operation::PushReturn => self.return_duplicates,
            Operation::VoidSale => self.void_duplicates,
            Operation::AddPayment => self.payment_duplicates,
            _ => DuplicatePolicy::Unknown,
        }
    }

    /// The names of the offered operations, in declaration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.operations.iter().map(|o| o.as_str()).collect()
    }
}

/// A vendor configuration that can be turned into a connector: what the facade's
/// `connect`, the CLI and the conformance runner use to pick a vendor at run time.
pub trait ConnectorConfig: serde::de::DeserializeOwned {
    /// Builds the connector. No request is sent; a configuration that cannot work
    /// (a bad URL, a missing credential) is an [`Error::Config`].
    fn connect(self) -> Result<Box<dyn Connector>>;
}

/// One merchant's account at one vendor, with whichever capabilities the vendor offers.
///
/// ```
/// use posbridge_core::{Connector, Operation};
///
/// fn describe(c: &dyn Connector) -> String {
///     let ops: Vec<_> = c.capabilities().operations.iter().map(|o| o.as_str()).collect();
///     format!("{} offers {}", c.vendor(), ops.join(", "))
/// }
/// ```
pub trait Connector: Vendor + fmt::Debug {
    /// What this connector offers.
    fn capabilities(&self) -> &Capabilities;

    /// The sales capability, if offered.
    fn sales(&self) -> Option<&dyn Sales> {
        None
    }

    /// The purchases capability, if offered.
    fn purchases(&self) -> Option<&dyn Purchases> {
        None
    }

    /// The stock capability, if offered.
    fn stock(&self) -> Option<&dyn Stock> {
        None
    }

    /// The customers capability, if offered.
    fn customers(&self) -> Option<&dyn Customers> {
        None
    }

    /// The returns capability, if offered.
    fn returns(&self) -> Option<&dyn Returns> {
        None
    }

    /// The voids capability, if offered.
    fn voids(&self) -> Option<&dyn Voids> {
        None
    }

    /// The payments capability, if offered.
    fn payments(&self) -> Option<&dyn Payments> {
        None
    }

    /// The catalogue (products) capability, if offered.
    fn catalogue(&self) -> Option<&dyn crate::Catalogue> {
        None
    }

    /// The locations capability, if offered.
    fn locations(&self) -> Option<&dyn crate::Locations> {
        None
    }

    /// Performs one of the vendor's own documented operations that no capability trait
    /// covers (Asalta's tax rates, SalesMania's teams), by the name its descriptor's
    /// documented list gives it, with its input as JSON (ids, filters; `null` when it
    /// takes none); answers what the vendor's typed method returns, as JSON text
    /// (amounts exact, as the typed records write them: never through a float). What
    /// the conformance runner and generic tools reach those methods through; Rust code
    /// calls the typed methods. The default knows no call.
    fn call<'a>(
        &'a self,
        name: &'a str,
        input: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<Box<serde_json::value::RawValue>>> {
        let _ = input;
        let offers = self.capabilities().names();
        let vendor = self.vendor();
        Box::pin(async move {
            Err(Error::invalid(
                "call",
                format!(
                    "{vendor} has no documented call {} (it offers {})",
                    crate::error::quote(name),
                    offers.join(", ")
                ),
            ))
        })
    }

    /// The [`Error::Unsupported`] for `op`, naming what this connector does offer.
    /// What a caller returns when one of the accessors above answers `None`:
    ///
    /// ```
    /// use posbridge_core::{Connector, Operation, Result, Void};
    ///
    /// async fn void(c: &dyn Connector, v: &Void) -> Result<()> {
    ///     let voids = c.voids().ok_or_else(|| c.unsupported_here(Operation::VoidSale))?;
    ///     voids.void_sale(v).await.map(|_| ())
    /// }
    /// ```
    fn unsupported_here(&self, op: Operation) -> Error {
        Error::Unsupported {
            vendor: self.vendor(),
            operation: op.as_str(),
            offers: self.capabilities().names(),
        }
    }

    /// Checks that the vendor accepts this connector's credentials with the cheapest
    /// authenticated call it has, and says what was done. The default reads the first
    /// stock level or customer; vendors with a login (or nothing to read) override it.
    /// A vendor with no side-effect-free call answers `Ok` and says it could not check.
    fn check_credentials(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            use futures_util::StreamExt as _;
            if let Some(stock) = self.stock() {
                return match stock.stock_levels().next().await {
                    None => Ok("credentials accepted (no stock items)".to_owned()),
                    Some(r) => r.map(|_| "credentials accepted (stock read)".to_owned()),
                };
            }
            if let Some(customers) = self.customers() {
                return match customers.list_customers().next().await {
                    None => Ok("credentials accepted (no customers)".to_owned()),
                    Some(r) => r.map(|_| "credentials accepted (customers read)".to_owned()),
                };
            }
            Ok("not checked: this vendor has no call without side effects".to_owned())
        })
    }
}

/// A boxed, sendable future, as [`Connector::check_credentials`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
