//! CloudMA's request and response shapes, with field names exactly as CloudMA spells
//! them. Nothing outside this file names a CloudMA field.

use posbridge_core::Decimal;
use posbridge_core::wire::decimal_number;
use serde::Serialize;

/// Path of the push-sale endpoint, relative to the base URL.
pub(crate) const PUSH_SALE: &str = "api/push-sale";
/// Path of the push-purchase (GRN) endpoint.
pub(crate) const PUSH_PURCHASE: &str = "api/push-purchase";
/// Path of the stock endpoint.
pub(crate) const SYNC_STOCK: &str = "api/sync-stock";

/// The token parameter every request carries.
pub(crate) const TOKEN: &str = "token";

/// `POST /api/push-sale`. Not `Debug`: it carries the token.
#[derive(Serialize)]
pub(crate) struct PushSale<'a> {
    pub token: &'a str,
    pub customer_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    pub reference_no: String,
    #[serde(with = "decimal_number")]
    pub shipping_cost: Decimal,
    #[serde(with = "decimal_number")]
    pub total_discount: Decimal,
    #[serde(with = "decimal_number")]
    pub grand_total: Decimal,
    pub items: Vec<SaleItem>,
}

/// One item of a sale.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct SaleItem {
    pub code: String,
    pub qty: i64,
    #[serde(with = "decimal_number")]
    pub discount: Decimal,
    #[serde(with = "decimal_number")]
    pub total: Decimal,
    #[serde(with = "decimal_number")]
    pub unit_price: Decimal,
}

/// `POST /api/push-purchase`. Not `Debug`: it carries the token.
#[derive(Serialize)]
pub(crate) struct PushPurchase<'a> {
    pub token: &'a str,
    pub reference_no: String,
    #[serde(with = "decimal_number")]
    pub grand_total: Decimal,
    pub items: Vec<PurchaseItem>,
}

/// One item of a purchase.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct PurchaseItem {
    pub code: String,
    pub qty: i64,
    #[serde(with = "decimal_number")]
    pub discount: Decimal,
    #[serde(with = "decimal_number")]
    pub total: Decimal,
    #[serde(with = "decimal_number")]
    pub unit_cost: Decimal,
}

/// `POST /api/sync-stock`: only the token.
#[derive(Serialize)]
pub(crate) struct SyncStock<'a> {
    pub token: &'a str,
}

/// Keys under which CloudMA may wrap a list or put a message or an id. The
/// document does not show a response body, so the connector looks for the usual
/// names (see `docs/vendors/cloudma.md`).
pub(crate) const LIST_KEYS: &[&str] = &["data", "stock", "stocks", "products", "items", "result"];
/// Keys that may carry a human-readable message.
pub(crate) const MESSAGE_KEYS: &[&str] = &["message", "error", "msg", "errors", "error_message"];
/// Keys that may carry the id CloudMA gave a pushed document.
pub(crate) const ID_KEYS: &[&str] = &["id", "sale_id", "purchase_id", "grn_id", "invoice_id"];
/// Stock item fields.
pub(crate) const STOCK_CODE: &str = "code";
/// Stock item name.
pub(crate) const STOCK_NAME: &str = "name";
/// Stock item quantity.
pub(crate) const STOCK_QTY: &str = "qty";

/// Form fields in PHP bracket notation (`items[0][code]`), which PHP and Laravel
/// back ends parse into arrays.
pub(crate) type FormFields = Vec<(String, String)>;

fn money(d: &Decimal) -> String {
    d.to_string()
}

impl PushSale<'_> {
    /// The request as form fields.
    pub(crate) fn form_fields(&self) -> FormFields {
        let mut f = vec![
            (TOKEN.to_owned(), self.token.to_owned()),
            ("customer_name".to_owned(), self.customer_name.clone()),
        ];
        if let Some(e) = &self.customer_email {
            f.push(("customer_email".to_owned(), e.clone()));
        }
        f.push(("reference_no".to_owned(), self.reference_no.clone()));
        f.push(("shipping_cost".to_owned(), money(&self.shipping_cost)));
        f.push(("total_discount".to_owned(), money(&self.total_discount)));
        f.push(("grand_total".to_owned(), money(&self.grand_total)));
        for (i, it) in self.items.iter().enumerate() {
            f.push((format!("items[{i}][code]"), it.code.clone()));
            f.push((format!("items[{i}][qty]"), it.qty.to_string()));
            f.push((format!("items[{i}][discount]"), money(&it.discount)));
            f.push((format!("items[{i}][total]"), money(&it.total)));
            f.push((format!("items[{i}][unit_price]"), money(&it.unit_price)));
        }
        f
    }
}

impl PushPurchase<'_> {
    /// The request as form fields.
    pub(crate) fn form_fields(&self) -> FormFields {
        let mut f = vec![
            (TOKEN.to_owned(), self.token.to_owned()),
            ("reference_no".to_owned(), self.reference_no.clone()),
            ("grand_total".to_owned(), money(&self.grand_total)),
        ];
        for (i, it) in self.items.iter().enumerate() {
            f.push((format!("items[{i}][code]"), it.code.clone()));
            f.push((format!("items[{i}][qty]"), it.qty.to_string()));
            f.push((format!("items[{i}][discount]"), money(&it.discount)));
            f.push((format!("items[{i}][total]"), money(&it.total)));
            f.push((format!("items[{i}][unit_cost]"), money(&it.unit_cost)));
        }
        f
    }
}

impl SyncStock<'_> {
    /// The request as form fields.
    pub(crate) fn form_fields(&self) -> FormFields {
        vec![(TOKEN.to_owned(), self.token.to_owned())]
    }
}
