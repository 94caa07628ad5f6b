//! Vendor-neutral domain types: what a POS knows about a sale, a purchase, a stock
//! level and a customer.
//!
//! Every vendor request is built from these. Vendor-only ids (numeric product ids,
//! UUIDs) are not here: they come from an [`IdMap`](crate::IdMap).
//!
//! Money fields are [`Decimal`]; in JSON they are written as strings (`"12.50"`) and
//! read from strings or numbers. Unknown JSON fields are refused, so a typo in a sale
//! file is an error rather than a silently dropped discount.

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::money::{self, Discount, DocumentAmounts, FieldPath, Tax};

/// What kind of document a sale is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SaleKind {
    /// A tax invoice or receipt: goods left the shop.
    #[default]
    Invoice,
    /// A quotation: nothing moved yet.
    Quotation,
    /// A customer order to be fulfilled.
    Order,
}

/// Where a sale is in its life.
///
/// Vendors with fewer states map several of these to one of theirs; each vendor's
/// notes (`docs/vendors/`) give the mapping both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SaleStatus {
    /// Recorded, not yet paid or fulfilled.
    #[default]
    Open,
    /// Being prepared.
    Processing,
    /// Handed over or shipped.
    Delivered,
    /// Fully paid.
    Paid,
    /// Cancelled or voided.
    Void,
}

/// How a payment was made.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PaymentMethod {
    /// Notes and coins.
    Cash,
    /// A debit or credit card.
    Card,
    /// A bank transfer (including instant transfers such as DuitNow or PayNow).
    BankTransfer,
    /// A cheque.
    Cheque,
    /// An e-wallet or QR payment.
    EWallet,
    /// A gift card or store voucher, by the card's number where the vendor keeps it.
    GiftCard,
    /// Loyalty points redeemed as payment.
    LoyaltyPoints,
    /// Anything else, by the POS's own name.
    Other(String),
}

/// A payment against a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    /// The POS's own reference for the payment; vendors that upsert payments key on it.
    #[serde(default)]
    pub reference: Option<String>,
    /// The amount paid; positive.
    pub amount: Decimal,
    /// How it was paid.
    pub method: PaymentMethod,
    /// When it was paid; the sale's time when absent.
    #[serde(default)]
    pub paid_at: Option<Timestamp>,
}

/// A customer, as a POS knows them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    /// The vendor's id for this customer, when known (set on records read back).
    #[serde(default)]
    pub id: Option<String>,
    /// The POS's own customer number; the key an [`IdMap`](crate::IdMap) maps.
    #[serde(default)]
    pub code: Option<String>,
    /// Display name.
    pub name: String,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number as the POS stores it.
    #[serde(default)]
    pub phone: Option<String>,
    /// Postal address, one line.
    #[serde(default)]
    pub address: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One line of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleLine {
    /// The POS product code (SKU).
    pub product_code: String,
    /// Product name as printed on the receipt.
    #[serde(default)]
    pub name: Option<String>,
    /// Quantity sold; on a [`Return`](crate::Return), the quantity returned. Either
    /// way positive: a return is its own document, not a negative line.
    pub quantity: Decimal,
    /// Unit of measure, e.g. `PCS`.
    #[serde(default)]
    pub unit: Option<String>,
    /// Price of one unit.
    pub unit_price: Decimal,
    /// Discount on this line.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Tax on this line.
    #[serde(default)]
    pub tax: Option<Tax>,
    /// The line total the POS computed; checked to the cent when present.
    #[serde(default)]
    pub total: Option<Decimal>,
    /// Free-form note.
    #[serde(default)]
    pub note: Option<String>,
}

/// A sale, invoice, quotation or order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sale {
    /// The POS's unique reference (receipt or invoice number).
    pub reference: String,
    /// When the sale was made.
    pub issued_at: Timestamp,
    /// Invoice, quotation or order.
    #[serde(default)]
    pub kind: SaleKind,
    /// Where the sale is in its life.
    #[serde(default)]
    pub status: SaleStatus,
    /// The customer, when known.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The lines; at least one.
    pub lines: Vec<SaleLine>,
    /// A discount on the whole sale, applied to the sum of line totals.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Shipping or delivery charge.
    #[serde(default)]
    pub shipping: Decimal,
    /// Payments made.
    #[serde(default)]
    pub payments: Vec<Payment>,
    /// Branch, outlet or warehouse code.
    #[serde(default)]
    pub location: Option<String>,
    /// Free-form note.
    #[serde(default)]
    pub note: Option<String>,
    /// The grand total the POS computed; checked to the cent when present.
    #[serde(default)]
    pub total: Option<Decimal>,
}

/// One line of a purchase (goods received).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurchaseLine {
    /// The POS product code (SKU).
    pub product_code: String,
    /// Product name.
    #[serde(default)]
    pub name: Option<String>,
    /// Quantity received.
    pub quantity: Decimal,
    /// Unit of measure.
    #[serde(default)]
    pub unit: Option<String>,
    /// Cost of one unit.
    pub unit_cost: Decimal,
    /// Discount on this line.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Tax on this line.
    #[serde(default)]
    pub tax: Option<Tax>,
    /// The line total the POS computed; checked when present.
    #[serde(default)]
    pub total: Option<Decimal>,
}

/// A purchase or goods received note (GRN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Purchase {
    /// The POS's unique reference.
    pub reference: String,
    /// When the goods were received.
    pub received_at: Timestamp,
    /// The supplier's name or code.
    #[serde(default)]
    pub supplier: Option<String>,
    /// The lines; at least one.
    pub lines: Vec<PurchaseLine>,
    /// A discount on the whole purchase.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// Shipping or freight charge.
    #[serde(default)]
    pub shipping: Decimal,
    /// Branch or warehouse code.
    #[serde(default)]
    pub location: Option<String>,
    /// Free-form note.
    #[serde(default)]
    pub note: Option<String>,
    /// The grand total the POS computed; checked when present.
    #[serde(default)]
    pub total: Option<Decimal>,
}

/// The stock of one product at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLevel {
    /// The product code.
    pub product_code: String,
    /// The product name, when the vendor sends it.
    #[serde(default)]
    pub name: Option<String>,
    /// Quantity on hand.
    pub quantity: Decimal,
    /// The location, when the vendor tracks several.
    #[serde(default)]
    pub location: Option<String>,
}

/// What the vendor did with a document we pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Disposition {
    /// The vendor created a new record.
    Created,
    /// The vendor updated the record it already had under this reference.
    Updated,
    /// The vendor already had this reference and left it unchanged.
    Duplicate,
    /// The vendor accepted the document without saying which of the above.
    Accepted,
}

/// The receipt for a document the vendor accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushReceipt {
    /// The POS reference of the document.
    pub reference: String,
    /// The vendor's id for the record, when it returns one.
    #[serde(default)]
    pub vendor_id: Option<String>,
    /// What the vendor did.
    pub disposition: Disposition,
    /// Where the vendor booked the document other than it was sent: Asalta prices
    /// each line from its own catalogue, and where the merchant lets the back
    /// office's price win, the lines it priced differently are listed here. Empty
    /// when the vendor booked what was sent (or cannot tell).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

impl PushReceipt {
    /// A receipt with no differences.
    pub fn new(reference: impl Into<String>, vendor_id: Option<String>, disposition: Disposition) -> Self {
        Self {
            reference: reference.into(),
            vendor_id,
            disposition,
            differences: Vec::new(),
        }
    }
}

/// An amount the vendor booked other than the document said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Difference {
    /// Where in the document (`lines[2].unit_price`, `total`).
    pub field: String,
    /// What the document said.
    pub sent: Decimal,
    /// What the vendor booked.
    pub booked: Decimal,
}

/// A sale whose totals have been checked: the only way to get one is
/// [`Sale::reconcile`], so a connector that maps from it cannot forget the check.
#[derive(Debug, Clone)]
pub struct ReconciledSale<'a> {
    sale: &'a Sale,
    amounts: DocumentAmounts,
}

impl<'a> ReconciledSale<'a> {
    /// The sale.
    pub fn sale(&self) -> &'a Sale {
        self.sale
    }
    /// Its amounts, computed with the one rounding rule.
    pub fn amounts(&self) -> &DocumentAmounts {
        &self.amounts
    }
}

/// A purchase whose totals have been checked; see [`Purchase::reconcile`].
#[derive(Debug, Clone)]
pub struct ReconciledPurchase<'a> {
    purchase: &'a Purchase,
    amounts: DocumentAmounts,
}

impl<'a> ReconciledPurchase<'a> {
    /// The purchase.
    pub fn purchase(&self) -> &'a Purchase {
        self.purchase
    }
    /// Its amounts.
    pub fn amounts(&self) -> &DocumentAmounts {
        &self.amounts
    }
}

pub(crate) fn check_reference(reference: &str) -> Result<()> {
    if reference.trim().is_empty() {
        return Err(Error::invalid("reference", "reference is empty"));
    }
    if reference.len() > 200 {
        return Err(Error::invalid("reference", "reference is longer than 200 bytes"));
    }
    Ok(())
}

/// What the totals check needs of a line, sale or purchase alike.
pub(crate) struct Priced<'a> {
    pub(crate) product_code: &'a str,
    pub(crate) quantity: Decimal,
    pub(crate) unit_price: Decimal,
    pub(crate) discount: Option<&'a Discount>,
    pub(crate) tax: Option<&'a Tax>,
    pub(crate) total: Option<Decimal>,
}

/// The shared check of [`Sale::reconcile`] and [`Purchase::reconcile`]: a reference,
/// at least one line, product codes, each line's amounts and stated total, then the
/// document's amounts and stated total.
pub(crate) fn reconcile_document<'a>(
    what: &str,
    reference: &str,
    lines: impl ExactSizeIterator<Item = Priced<'a>>,
    discount: Option<&Discount>,
    shipping: Decimal,
    stated_total: Option<Decimal>,
) -> Result<DocumentAmounts> {
    check_reference(reference)?;
    if lines.len() == 0 {
        return Err(Error::invalid("lines", format!("a {what} needs at least one line")));
    }
    let mut amounts = Vec::with_capacity(lines.len());
    for (i, line) in lines.enumerate() {
        let field = FieldPath::Line(i);
        if line.product_code.trim().is_empty() {
            return Err(Error::invalid(
                field.child("product_code").to_string(),
                "product code is empty",
            ));
        }
        let a = money::line_amounts_at(line.quantity, line.unit_price, line.discount, line.tax, field)?;
        money::reconcile_at(field.child("total"), line.total, a.total)?;
        amounts.push(a);
    }
    let document = money::document_amounts(amounts, discount, shipping, "")?;
    money::reconcile("total", stated_total, document.total)?;
    Ok(document)
}

impl Sale {
    /// Checks the sale and computes its amounts: a reference, at least one line,
    /// product codes, non-zero quantities, sane discounts, positive payments, and
    /// stated line totals and grand total that reconcile to the cent with the
    /// computed ones.
    ///
    /// Every connector calls this before building a request, so a sale that fails it
    /// is refused with [`Error::Invalid`] and nothing is sent.
    pub fn reconcile(&self) -> Result<ReconciledSale<'_>> {
        for (i, p) in self.payments.iter().enumerate() {
            if p.amount <= Decimal::ZERO {
                return Err(Error::invalid(
                    format!("payments[{i}].amount"),
                    format!("payment amount {} is not positive", p.amount),
                ));
            }
        }
        let lines = self.lines.iter().map(|l| Priced {
            product_code: &l.product_code,
            quantity: l.quantity,
            unit_price: l.unit_price,
            discount: l.discount.as_ref(),
            tax: l.tax.as_ref(),
            total: l.total,
        });
        let amounts = reconcile_document(
            "sale",
            &self.reference,
            lines,
            self.discount.as_ref(),
            self.shipping,
            self.total,
        )?;
        Ok(ReconciledSale { sale: self, amounts })
    }
}

impl Purchase {
    /// Checks the purchase and computes its amounts, like [`Sale::reconcile`].
    pub fn reconcile(&self) -> Result<ReconciledPurchase<'_>> {
        let lines = self.lines.iter().map(|l| Priced {
            product_code: &l.product_code,
            quantity: l.quantity,
            unit_price: l.unit_cost,
            discount: l.discount.as_ref(),
            tax: l.tax.as_ref(),
            total: l.total,
        });
        let amounts = reconcile_document(
            "purchase",
            &self.reference,
            lines,
            self.discount.as_ref(),
            self.shipping,
            self.total,
        )?;
        Ok(ReconciledPurchase {
            purchase: self,
            amounts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn sale() -> Sale {
        serde_json::from_value(serde_json::json!({
            "reference": "S-1",
            "issued_at": "2026-11-26T10:00:00+05:30",
            "lines": [
                {"product_code": "A", "quantity": "2", "unit_price": "10.00", "total": "20.00"},
                {"product_code": "B", "quantity": "1", "unit_price": 5.5, "discount": {"amount": "0.50"}}
            ],
            "shipping": "3",
            "discount": {"percent": "10"},
            "total": "25.50"
        }))
        .unwrap()
    }

    #[test]
    fn reconciles_a_good_sale() {
        let s = sale();
        let r = s.reconcile().unwrap();
        assert_eq!(r.amounts().subtotal, dec!(25.00));
        assert_eq!(r.amounts().order_discount, dec!(2.50));
        assert_eq!(r.amounts().total, dec!(25.50));
    }

    #[test]
    fn refuses_a_total_off_by_a_cent_naming_both_amounts() {
        let mut s = sale();
        s.total = Some(dec!(25.51));
        let e = s.reconcile().unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "total"), "{e}");
        let m = e.to_string();
        assert!(m.contains("25.51") && m.contains("25.50"), "{m}");
    }

    #[test]
    fn refuses_a_line_total_that_does_not_match() {
        let mut s = sale();
        s.lines[0].total = Some(dec!(19.99));
        let e = s.reconcile().unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].total"),
            "{e}"
        );
    }

    #[test]
    fn refuses_empty_and_unknown_fields() {
        let mut s = sale();
        s.lines.clear();
        assert!(s.reconcile().is_err());
        let bad = serde_json::from_value::<Sale>(serde_json::json!({
            "reference": "S", "issued_at": "2026-01-01T00:00:00Z", "lines": [], "discout": "1"
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn numbers_and_strings_both_deserialize_exactly() {
        let l: SaleLine = serde_json::from_str(r#"{"product_code":"A","quantity":3,"unit_price":0.1}"#).unwrap();
        assert_eq!(l.unit_price, dec!(0.1));
        assert_eq!(l.quantity, dec!(3));
    }
}
