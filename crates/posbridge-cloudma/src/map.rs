//! Pure mapping between posbridge's domain types and CloudMA's wire shapes.
//! Every decision the CloudMA document leaves open is made here and written down in
//! `docs/vendors/cloudma.md`.

use posbridge_core::money::{LineAmounts, Tax};
use posbridge_core::{
    Decimal, Disposition, Error, FieldPath, Product, Purchase, PushReceipt, ReconciledPurchase, ReconciledSale, Result,
    SaleStatus, StockLevel,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::wire;

/// What CloudMA's `grand_total` carries.
///
/// The document says only that "the grand_total must match the sum of individual item
/// totals". The default follows it literally; `payable` is there in case a CloudMA
/// server turns out to expect the amount the customer paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrandTotal {
    /// Σ item totals; the order discount and shipping go in `total_discount` and
    /// `shipping_cost` (the default, as the document states).
    #[default]
    ItemsSum,
    /// Σ item totals − `total_discount` + `shipping_cost`: what the customer paid.
    Payable,
}

/// Options of the sale mapping.
#[derive(Debug, Clone)]
pub(crate) struct SaleOptions<'a> {
    pub walk_in_customer: &'a str,
    pub grand_total: GrandTotal,
}

/// Money as CloudMA gets it: two decimal places, always (`20` → `20.00`).
pub(crate) fn money(d: Decimal) -> Decimal {
    let mut d = posbridge_core::money::round_money(d);
    d.rescale(2);
    d
}

/// A unit price keeps its precision (rounding it would break qty × price) but has
/// at least two decimals.
fn unit_price(d: Decimal) -> Decimal {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

/// CloudMA's `qty` is an Integer: fractional, zero or negative quantities are
/// refused locally.
pub(crate) fn integer_qty(q: Decimal, field: FieldPath<'_>) -> Result<i64> {
    if !q.fract().is_zero() {
        return Err(Error::invalid(
            field.to_string(),
            format!("CloudMA takes whole quantities only; {q} is fractional"),
        ));
    }
    if q <= Decimal::ZERO {
        return Err(Error::invalid(
            field.to_string(),
            format!("CloudMA has no returns: quantity {q} must be positive"),
        ));
    }
    i64::try_from(q).map_err(|_| Error::invalid(field.to_string(), format!("quantity {q} is too large")))
}

fn check_tax(tax: Option<&Tax>, field: FieldPath<'_>) -> Result<()> {
    match tax {
        Some(t) if !t.inclusive && !t.rate.is_zero() => Err(Error::invalid(
            field.to_string(),
            "CloudMA has no tax field: send tax-inclusive prices (tax.inclusive = true)",
        )),
        _ => Ok(()),
    }
}

fn item_amounts(a: &LineAmounts) -> (Decimal, Decimal) {
    (money(a.discount), money(a.total))
}

/// Builds the push-sale request from a reconciled sale.
pub(crate) fn sale_to_wire<'t>(
    sale: &ReconciledSale<'_>,
    token: &'t str,
    options: &SaleOptions<'_>,
) -> Result<wire::PushSale<'t>> {
    let s = sale.sale();
    if s.status == SaleStatus::Void {
        return Err(Error::invalid(
            "status",
            "the sale is void: CloudMA's push-sale has no status field and CloudMA has no voids, so it would book \
             it as a live sale and move stock; a void sale is not pushed to CloudMA",
        ));
    }
    let amounts = sale.amounts();
    let mut items = Vec::with_capacity(s.lines.len());
    for (i, (line, a)) in s.lines.iter().zip(&amounts.lines).enumerate() {
        let field = FieldPath::Line(i);
        check_tax(line.tax.as_ref(), field.child("tax"))?;
        let (discount, total) = item_amounts(a);
        items.push(wire::SaleItem {
            code: line.product_code.clone(),
            qty: integer_qty(line.quantity, field.child("quantity"))?,
            discount,
            total,
            unit_price: unit_price(line.unit_price),
        });
    }
    let items_sum = money(amounts.subtotal);
    let grand_total = match options.grand_total {
        GrandTotal::ItemsSum => items_sum,
        GrandTotal::Payable => money(amounts.total),
    };
    let (customer_name, customer_email) = match &s.customer {
        Some(c) if !c.name.trim().is_empty() => (c.name.clone(), c.email.clone()),
        Some(c) => (options.walk_in_customer.to_owned(), c.email.clone()),
        None => (options.walk_in_customer.to_owned(), None),
    };
    Ok(wire::PushSale {
        token,
        customer_name,
        customer_email,
        reference_no: s.reference.clone(),
        shipping_cost: money(amounts.shipping),
        total_discount: money(amounts.order_discount),
        grand_total,
        items,
    })
}

/// Builds the push-purchase request from a reconciled purchase. CloudMA's purchase
/// has no shipping or document discount field: a purchase with either is refused
/// rather than sent with money silently dropped.
pub(crate) fn purchase_to_wire<'t>(
    purchase: &ReconciledPurchase<'_>,
    token: &'t str,
) -> Result<wire::PushPurchase<'t>> {
    let p = purchase.purchase();
    let amounts = purchase.amounts();
    if !amounts.shipping.is_zero() {
        return Err(Error::invalid("shipping", "CloudMA purchases have no shipping field"));
    }
    if !amounts.order_discount.is_zero() {
        return Err(Error::invalid(
            "discount",
            "CloudMA purchases have no document discount field: put discounts on the lines",
        ));
    }
    let mut items = Vec::with_capacity(p.lines.len());
    for (i, (line, a)) in p.lines.iter().zip(&amounts.lines).enumerate() {
        let field = FieldPath::Line(i);
        check_tax(line.tax.as_ref(), field.child("tax"))?;
        let (discount, total) = item_amounts(a);
        items.push(wire::PurchaseItem {
            code: line.product_code.clone(),
            qty: integer_qty(line.quantity, field.child("quantity"))?,
            discount,
            total,
            unit_cost: unit_price(line.unit_cost),
        });
    }
    Ok(wire::PushPurchase {
        token,
        reference_no: p.reference.clone(),
        grand_total: money(amounts.subtotal),
        items,
    })
}

/// The fields of a purchase that CloudMA's push-purchase has no parameter for, so
/// are not sent (`docs/vendors/cloudma.md`, decision 6): its document takes only
/// `token`, `reference_no`, `items` and `grand_total`. None of them is money (money
/// without a field is refused instead: shipping, a document discount, added tax).
/// `received_at` is always there: CloudMA dates the GRN when it receives it, as it
/// does sales.
pub(crate) fn purchase_fields_not_sent(purchase: &Purchase) -> Vec<&'static str> {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|t| !t.trim().is_empty());
    let mut out = vec!["received_at"];
    for (name, value) in [
        ("supplier", &purchase.supplier),
        ("location", &purchase.location),
        ("note", &purchase.note),
    ] {
        if given(value) {
            out.push(name);
        }
    }
    out
}

/// Whether a successful-status JSON body nevertheless says the push failed
/// (`"success": false`, `"status": "error"`), as PHP back ends often do.
pub(crate) fn body_says_failure(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    let flag_false = |k: &str| matches!(o.get(k), Some(Value::Bool(false)));
    let status_bad = matches!(
        o.get("status")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("error" | "failed" | "fail" | "failure")
    );
    flag_false("success") || flag_false("status") || status_bad
}

/// The receipt for a pushed document from CloudMA's answer. A body that is not JSON
/// at all means we cannot tell what happened: the caller reports it as uncertain.
pub(crate) fn receipt(reference: &str, status: u16, body: &[u8]) -> std::result::Result<PushReceipt, ReceiptProblem> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| ReceiptProblem::Unreadable(e.to_string()))?
    };
    if body_says_failure(&v) {
        return Err(ReceiptProblem::Refused(
            wire::MESSAGES
                .message_in(&v)
                .unwrap_or_else(|| "the push was refused".into()),
        ));
    }
    let vendor_id = v.as_object().and_then(|o| {
        let data = o.get("data").and_then(Value::as_object);
        wire::ID_KEYS
            .iter()
            .find_map(|k| o.get(*k).or_else(|| data.and_then(|d| d.get(*k))))
            .and_then(scalar_text)
    });
    Ok(PushReceipt {
        reference: reference.to_owned(),
        vendor_id,
        disposition: if status == 201 {
            Disposition::Created
        } else {
            Disposition::Accepted
        },
        differences: Vec::new(),
    })
}

/// Why a success status did not yield a receipt.
#[derive(Debug)]
pub(crate) enum ReceiptProblem {
    /// The body is not JSON.
    Unreadable(String),
    /// The body says the push failed.
    Refused(String),
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Stock levels from the sync-stock answer: a top-level array, or one wrapped under
/// `data`/`stock`/`products`/…; `qty` as a number or a string. Items without a code
/// are skipped; an item whose quantity is not a number fails the read (a wrong stock
/// figure is worse than none).
pub(crate) fn stock_levels(v: &Value) -> std::result::Result<Vec<StockLevel>, String> {
    let list = stock_items(v)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(o) = item.as_object() else {
            return Err(format!("stock item #{i} is not an object"));
        };
        let Some(code) = o.get(wire::STOCK_CODE).and_then(scalar_text) else {
            tracing::warn!(index = i, "CloudMA stock item without a code skipped");
            continue;
        };
        let quantity = match o.get(wire::STOCK_QTY) {
            Some(Value::Number(n)) => parse_decimal(&n.to_string()),
            Some(Value::String(s)) => parse_decimal(s),
            _ => None,
        }
        .ok_or_else(|| format!("stock item {code:?} has no numeric qty"))?;
        let name = o.get(wire::STOCK_NAME).and_then(scalar_text);
        out.push(StockLevel {
            product_code: code,
            name,
            quantity,
            location: None,
        });
    }
    Ok(out)
}

/// The sync-stock answer's items: a top-level array, or one wrapped under
/// `data`/`stock`/`products`/….
fn stock_items(v: &Value) -> std::result::Result<&Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Object(o) => wire::LIST_KEYS
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array))
            .ok_or_else(|| "expected an array of stock items".to_string()),
        _ => Err("expected an array of stock items".into()),
    }
}

/// The catalogue from the sync-stock answer (the only list CloudMA's document has):
/// one active product per item, `code` and `name` as CloudMA says them; no price,
/// tax, unit or id (the document has none). Every other field of the item, `qty`
/// included, is kept in `extras` as CloudMA wrote it (nulls dropped): the quantity
/// is stock, read as such by [`stock_levels`], and is neither checked nor modelled
/// here. Items without a code are skipped (as for stock); an item that is not an
/// object, or has no name, fails the read, naming the item.
pub(crate) fn products(v: &Value) -> std::result::Result<Vec<Product>, String> {
    let list = stock_items(v)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(o) = item.as_object() else {
            return Err(format!("stock item #{i} is not an object"));
        };
        let Some(code) = o.get(wire::STOCK_CODE).and_then(scalar_text) else {
            tracing::warn!(index = i, "CloudMA stock item without a code skipped");
            continue;
        };
        let name = o
            .get(wire::STOCK_NAME)
            .and_then(scalar_text)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| format!("stock item #{i} ({code:?}) has no name"))?;
        let mut product = Product::new(code, name);
        product.extras = o
            .iter()
            .filter(|(k, v)| k.as_str() != wire::STOCK_CODE && k.as_str() != wire::STOCK_NAME && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.push(product);
    }
    Ok(out)
}

fn parse_decimal(s: &str) -> Option<Decimal> {
    let t = s.trim();
    t.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use posbridge_core::Sale;
    use rust_decimal_macros::dec;

    fn sale(json: serde_json::Value) -> Sale {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn maps_amounts_with_two_decimals_and_items_sum() {
        let s = sale(serde_json::json!({
            "reference": "S1", "issued_at": "2026-01-01T00:00:00Z",
            "customer": {"name": "Nimal", "email": "n@example.lk"},
            "lines": [{"product_code": "A", "quantity": "3", "unit_price": "3.335", "discount": {"percent": "10"}}],
            "shipping": "5", "discount": {"amount": "1"}
        }));
        let r = s.reconcile().unwrap();
        let opts = SaleOptions {
            walk_in_customer: "Walk-in",
            grand_total: GrandTotal::ItemsSum,
        };
        let w = sale_to_wire(&r, "t", &opts).unwrap();
        assert_eq!(
            w.items[0],
            wire::SaleItem {
                code: "A".into(),
                qty: 3,
                discount: dec!(1.01),
                total: dec!(9.00),
                unit_price: dec!(3.335)
            }
        );
        assert_eq!(w.grand_total.to_string(), "9.00");
        assert_eq!(w.total_discount.to_string(), "1.00");
        assert_eq!(w.shipping_cost.to_string(), "5.00");
        let payable = sale_to_wire(
            &r,
            "t",
            &SaleOptions {
                grand_total: GrandTotal::Payable,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(payable.grand_total.to_string(), "13.00");
    }

    #[test]
    fn refuses_fractional_negative_and_exclusive_tax() {
        assert!(integer_qty(dec!(1.5), FieldPath::Name("q")).is_err());
        assert!(integer_qty(dec!(-1), FieldPath::Name("q")).is_err());
        assert_eq!(integer_qty(dec!(2.000), FieldPath::Name("q")).unwrap(), 2);
        assert!(check_tax(Some(&Tax::new(dec!(8), false)), FieldPath::Name("t")).is_err());
        assert!(check_tax(Some(&Tax::new(dec!(8), true)), FieldPath::Name("t")).is_ok());
    }

    #[test]
    fn says_which_purchase_fields_are_not_sent() {
        let full: Purchase = serde_json::from_value(serde_json::json!({
            "reference": "GRN-1", "received_at": "2026-11-25T09:00:00+05:30",
            "supplier": "Lanka Tea Traders", "location": "COLOMBO-1", "note": "late delivery",
            "lines": [{"product_code": "TEA-100", "quantity": "1", "unit_cost": "310"}]
        }))
        .unwrap();
        assert_eq!(
            purchase_fields_not_sent(&full),
            ["received_at", "supplier", "location", "note"]
        );
        let bare = Purchase {
            supplier: None,
            location: Some(" ".into()),
            note: None,
            ..full
        };
        assert_eq!(purchase_fields_not_sent(&bare), ["received_at"]);
    }

    #[test]
    fn reads_stock_in_every_shape_seen() {
        let v = serde_json::json!([{"code": "A", "name": "Tea", "qty": "4"}, {"code": 7, "qty": 2.5}, {"name": "no code", "qty": 1}]);
        let s = stock_levels(&v).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].quantity, s[1].product_code.as_str(), s[1].quantity),
            (dec!(4), "7", dec!(2.5))
        );
        let v = serde_json::json!({"data": [{"code": "A", "qty": 1}]});
        assert_eq!(stock_levels(&v).unwrap().len(), 1);
        assert!(stock_levels(&serde_json::json!([{"code": "A", "qty": "many"}])).is_err());
        assert!(stock_levels(&serde_json::json!("nope")).is_err());
    }

    #[test]
    fn reads_the_stock_sync_as_a_catalogue_keeping_qty_in_extras() {
        let v = serde_json::json!({"products": [{"code": 7, "name": "Tea", "qty": "many", "price": null},
                                                {"name": "no code", "qty": 1}]});
        let p = products(&v).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].code.as_str(), p[0].name.as_str(), p[0].active),
            ("7", "Tea", true)
        );
        assert_eq!((p[0].price, p[0].id.as_deref()), (None, None));
        assert_eq!(
            serde_json::Value::Object(p[0].extras.clone()),
            serde_json::json!({"qty": "many"})
        );
        let e = products(&serde_json::json!([{"code": "A", "name": " "}])).unwrap_err();
        assert!(e.contains("#0") && e.contains("no name"), "{e}");
        assert!(products(&serde_json::json!([3])).is_err());
        assert!(products(&serde_json::json!({"items": "x"})).is_err());
    }

    #[test]
    fn finds_failure_flags() {
        assert!(body_says_failure(&serde_json::json!({"success": false})));
        assert!(body_says_failure(&serde_json::json!({"status": "error"})));
        assert!(!body_says_failure(&serde_json::json!({"status": "success"})));
    }

    #[test]
    fn receipts_read_ids_and_refuse_html() {
        let r = receipt("S1", 201, br#"{"data":{"id":42}}"#).unwrap();
        assert_eq!(
            (r.vendor_id.as_deref(), r.disposition),
            (Some("42"), Disposition::Created)
        );
        assert!(matches!(
            receipt("S1", 200, b"<html>"),
            Err(ReceiptProblem::Unreadable(_))
        ));
        assert_eq!(receipt("S1", 200, b"").unwrap().disposition, Disposition::Accepted);
    }
}
