//! CloudMA's request and response shapes, with field names exactly as CloudMA spells
//! them. Nothing outside this file names a CloudMA field.

use posbridge_core::Decimal;
use posbridge_core::error::MessageKeys;
use posbridge_core::wire::{decimal_number, write_decimal};
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
/// Keys that may carry a human-readable message (strings, lists and objects of
/// strings, joined).
pub(crate) const MESSAGES: MessageKeys =
    MessageKeys::new(&["message", "error", "msg", "errors", "error_message"]).nested();
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

/// A form body written in one pass, straight into one `String`: text values are
/// percent-encoded as they are appended, amounts written digit by digit (digits,
/// `.` and `-` need no encoding) and item keys written already encoded
/// (`items%5B3%5D%5Bcode%5D`). The bytes are those `serde_urlencoded` gives for
/// [`PushSale::form_fields`] (a test checks it), without a `String` per field.
pub(crate) struct Form {
    out: String,
}

/// Appends `i` in decimal digits.
fn push_index(out: &mut String, i: usize) {
    if i >= 10 {
        push_index(out, i / 10);
    }
    out.push(char::from(b'0' + (i % 10) as u8));
}

impl Form {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            out: String::with_capacity(bytes),
        }
    }

    /// `&key=`: `key` must need no encoding (letters, digits, `_`).
    fn key(&mut self, key: &str) {
        if !self.out.is_empty() {
            self.out.push('&');
        }
        self.out.push_str(key);
        self.out.push('=');
    }

    /// `&items[i][leaf]=`, encoded.
    fn item_key(&mut self, i: usize, leaf: &str) {
        if !self.out.is_empty() {
            self.out.push('&');
        }
        self.out.push_str("items%5B");
        push_index(&mut self.out, i);
        self.out.push_str("%5D%5B");
        self.out.push_str(leaf);
        self.out.push_str("%5D=");
    }

    fn value(&mut self, value: &str) {
        self.out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        self.value(value);
    }

    fn decimal(&mut self, key: &str, value: &Decimal) {
        self.key(key);
        write_decimal(&mut self.out, value);
    }

    fn item_text(&mut self, i: usize, leaf: &str, value: &str) {
        self.item_key(i, leaf);
        self.value(value);
    }

    fn item_decimal(&mut self, i: usize, leaf: &str, value: &Decimal) {
        self.item_key(i, leaf);
        write_decimal(&mut self.out, value);
    }

    fn item_integer(&mut self, i: usize, leaf: &str, value: i64) {
        self.item_key(i, leaf);
        write_decimal(&mut self.out, &Decimal::from(value));
    }

    fn finish(self) -> String {
        self.out
    }
}

impl PushSale<'_> {
    /// The request as a form body.
    pub(crate) fn form(&self) -> String {
        let mut f = Form::with_capacity(256 + 160 * self.items.len());
        f.text(TOKEN, self.token);
        f.text("customer_name", &self.customer_name);
        if let Some(e) = &self.customer_email {
            f.text("customer_email", e);
        }
        f.text("reference_no", &self.reference_no);
        f.decimal("shipping_cost", &self.shipping_cost);
        f.decimal("total_discount", &self.total_discount);
        f.decimal("grand_total", &self.grand_total);
        for (i, it) in self.items.iter().enumerate() {
            f.item_text(i, "code", &it.code);
            f.item_integer(i, "qty", it.qty);
            f.item_decimal(i, "discount", &it.discount);
            f.item_decimal(i, "total", &it.total);
            f.item_decimal(i, "unit_price", &it.unit_price);
        }
        f.finish()
    }

    /// The request as form fields: what [`PushSale::form`] encodes, as pairs.
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
    /// The request as a form body.
    pub(crate) fn form(&self) -> String {
        let mut f = Form::with_capacity(128 + 160 * self.items.len());
        f.text(TOKEN, self.token);
        f.text("reference_no", &self.reference_no);
        f.decimal("grand_total", &self.grand_total);
        for (i, it) in self.items.iter().enumerate() {
            f.item_text(i, "code", &it.code);
            f.item_integer(i, "qty", it.qty);
            f.item_decimal(i, "discount", &it.discount);
            f.item_decimal(i, "total", &it.total);
            f.item_decimal(i, "unit_cost", &it.unit_cost);
        }
        f.finish()
    }

    /// The request as form fields: what [`PushPurchase::form`] encodes, as pairs.
    #[cfg(test)]
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
    /// The request as a form body.
    pub(crate) fn form(&self) -> String {
        let mut f = Form::with_capacity(64);
        f.text(TOKEN, self.token);
        f.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, qty: i64, price: &str) -> SaleItem {
        let unit_price: Decimal = price.parse().unwrap();
        SaleItem {
            code: code.into(),
            qty,
            discount: Decimal::ZERO,
            total: unit_price * Decimal::from(qty),
            unit_price,
        }
    }

    #[test]
    fn the_one_pass_form_is_what_serde_urlencoded_writes() {
        for email in [None, Some("a+b@example.com".to_owned())] {
            let sale = PushSale {
                token: "t0k/en=+&",
                customer_name: "Café & Co, 50% off [x]".into(),
                customer_email: email,
                reference_no: "INV 1/2?#".into(),
                shipping_cost: "0.00".parse().unwrap(),
                total_discount: "-1.50".parse().unwrap(),
                grand_total: "123.45".parse().unwrap(),
                items: vec![
                    item("SKU-1", 2, "10.50"),
                    item("ශ්‍රී ~*._-", 1, "0.125"),
                    item("", 1000, "7"),
                ],
            };
            let mut sale = sale;
            sale.items.extend((3..12).map(|k| item(&format!("S {k}"), k, "1.5")));
            let fields = sale.form_fields();
            assert_eq!(sale.form(), serde_urlencoded::to_string(&fields).unwrap());
            assert!(sale.form().contains("items%5B2%5D%5Bqty%5D=1000"));
            assert!(sale.form().contains("items%5B11%5D%5Bcode%5D=S+11"));
        }
        let purchase = PushPurchase {
            token: "t",
            reference_no: "GRN 7".into(),
            grand_total: "21.00".parse().unwrap(),
            items: vec![PurchaseItem {
                code: "A&B".into(),
                qty: 3,
                discount: "0.00".parse().unwrap(),
                total: "21.00".parse().unwrap(),
                unit_cost: "7.00".parse().unwrap(),
            }],
        };
        assert_eq!(
            purchase.form(),
            serde_urlencoded::to_string(purchase.form_fields()).unwrap()
        );
        assert_eq!(SyncStock { token: "a b" }.form(), "token=a+b");
    }
}
