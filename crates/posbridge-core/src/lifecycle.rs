//! What happens to a sale after it was pushed: a [`Return`] of some or all of its
//! goods, a [`Void`], and [`SalePayment`]s made later (a sale on credit paid days
//! after).
//!
//! Each refers to its sale by a [`SaleRef`]: the POS reference, the vendor's id, or
//! both. A vendor that can look a sale up by the POS reference needs only that; one
//! that cannot needs the vendor id, which the [`PushReceipt`](crate::PushReceipt) of
//! the sale gave (the outbox keeps it with each delivery and fills it in).
//!
//! A return reconciles to the cent exactly like a sale ([`Return::reconcile`]): the
//! same rounding rule, the same refusal before anything is sent.
//!
//! ```
//! use posbridge_core::{Return, SaleRef};
//!
//! let ret: Return = serde_json::from_value(serde_json::json!({
//!     "reference": "R-1",
//!     "sale": {"reference": "S-1"},
//!     "issued_at": "2026-12-07T10:00:00+08:00",
//!     "lines": [{"product_code": "A", "quantity": "1", "unit_price": "10.00"}],
//!     "refunds": [{"amount": "10.00", "method": "cash"}],
//!     "reason": "damaged"
//! }))?;
//! assert_eq!(ret.reconcile()?.amounts().total.to_string(), "10.00");
//! assert_eq!(ret.sale, SaleRef::pos("S-1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Customer, Payment, Priced, SaleLine, check_reference, reconcile_document};
use crate::money::{Discount, DocumentAmounts};

/// The sale an after-sale document refers to: its POS reference, the vendor's id
/// for it, or both. At least one is required ([`SaleRef::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleRef {
    /// The sale's POS reference, as it was pushed ([`Sale::reference`](crate::Sale::reference)).
    #[serde(default)]
    pub reference: Option<String>,
    /// The vendor's id for the sale, as the push receipt gave it
    /// ([`PushReceipt::vendor_id`](crate::PushReceipt::vendor_id)).
    #[serde(default)]
    pub vendor_id: Option<String>,
}

impl SaleRef {
    /// The sale with this POS reference.
    pub fn pos(reference: impl Into<String>) -> Self {
        Self {
            reference: Some(reference.into()),
            vendor_id: None,
        }
    }

    /// The sale with this vendor id.
    pub fn vendor(vendor_id: impl Into<String>) -> Self {
        Self {
            reference: None,
            vendor_id: Some(vendor_id.into()),
        }
    }

    /// The same sale, with its vendor id known too.
    pub fn with_vendor_id(mut self, vendor_id: impl Into<String>) -> Self {
        self.vendor_id = Some(vendor_id.into());
        self
    }

    /// The POS reference, when given and not blank.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref().map(str::trim).filter(|r| !r.is_empty())
    }

    /// The vendor id, when given and not blank.
    pub fn vendor_id(&self) -> Option<&str> {
        self.vendor_id.as_deref().map(str::trim).filter(|r| !r.is_empty())
    }

    /// Checks that the reference names a sale: a POS reference or a vendor id, each
    /// at most 200 bytes. `field` is where the reference sits in its document.
    pub fn check(&self, field: &str) -> Result<()> {
        if self.reference().is_none() && self.vendor_id().is_none() {
            return Err(Error::invalid(
                field,
                "names no sale: give the sale's POS reference, its vendor id, or both",
            ));
        }
        if let Some(r) = &self.reference {
            check_reference(r).map_err(|e| rename(e, &format!("{field}.reference")))?;
        }
        if let Some(v) = &self.vendor_id {
            check_reference(v).map_err(|e| rename(e, &format!("{field}.vendor_id")))?;
        }
        Ok(())
    }

    /// The vendor id, or an [`Error::Invalid`] saying that `vendor` cannot look a
    /// sale up by its POS reference and needs the id from the sale's push receipt.
    pub fn require_vendor_id(&self, vendor: &str, field: &str) -> Result<&str> {
        self.vendor_id().ok_or_else(|| {
            Error::invalid(
                format!("{field}.vendor_id"),
                format!(
                    "{vendor} cannot find a sale by its POS reference{}: give the vendor id from the sale's push \
                     receipt (the outbox fills it in for sales it delivered)",
                    self.reference()
                        .map(|r| format!(" ({})", crate::error::quote(r)))
                        .unwrap_or_default()
                ),
            )
        })
    }
}

impl fmt::Display for SaleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.reference(), self.vendor_id()) {
            (Some(r), Some(v)) => write!(f, "sale {r} (vendor id {v})"),
            (Some(r), None) => write!(f, "sale {r}"),
            (None, Some(v)) => write!(f, "sale with vendor id {v}"),
            (None, None) => f.write_str("no sale"),
        }
    }
}

fn rename(e: Error, field: &str) -> Error {
    match e {
        Error::Invalid { reason, .. } => Error::invalid(field, reason),
        other => other,
    }
}

/// Goods brought back from a sale: a credit note or refund. Partial returns are
/// returns of some lines or of part of a line's quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Return {
    /// The POS's own reference for the return (its credit-note number).
    pub reference: String,
    /// The sale the goods came from.
    pub sale: SaleRef,
    /// When the goods came back.
    pub issued_at: Timestamp,
    /// The customer, when known (vendors that need one on a return take the sale's
    /// otherwise).
    #[serde(default)]
    pub customer: Option<Customer>,
    /// The lines returned: the quantity returned (positive), with unit price,
    /// discount and tax as they were on the sale.
    pub lines: Vec<SaleLine>,
    /// A discount on the whole return, as the sale's discount applied to it.
    #[serde(default)]
    pub discount: Option<Discount>,
    /// The money given back; their sum is at most the return's total.
    #[serde(default)]
    pub refunds: Vec<Payment>,
    /// Why the goods came back.
    #[serde(default)]
    pub reason: Option<String>,
    /// Branch, outlet or warehouse code where the goods came back.
    #[serde(default)]
    pub location: Option<String>,
    /// The total the POS computed; checked to the cent when present.
    #[serde(default)]
    pub total: Option<Decimal>,
}

/// A return whose totals have been checked: the only way to get one is
/// [`Return::reconcile`].
#[derive(Debug, Clone)]
pub struct ReconciledReturn<'a> {
    ret: &'a Return,
    amounts: DocumentAmounts,
}

impl<'a> ReconciledReturn<'a> {
    /// The return.
    pub fn ret(&self) -> &'a Return {
        self.ret
    }
    /// Its amounts, computed with the one rounding rule.
    pub fn amounts(&self) -> &DocumentAmounts {
        &self.amounts
    }
    /// The sum of its refunds.
    pub fn refunded(&self) -> Decimal {
        self.ret.refunds.iter().map(|p| p.amount).sum()
    }
}

fn check_payment(field: &str, p: &Payment) -> Result<()> {
    if p.amount <= Decimal::ZERO {
        return Err(Error::invalid(
            format!("{field}.amount"),
            format!("payment amount {} is not positive", p.amount),
        ));
    }
    if let Some(r) = &p.reference {
        check_reference(r).map_err(|e| rename(e, &format!("{field}.reference")))?;
    }
    Ok(())
}

impl Return {
    /// Checks the return and computes its amounts: a reference, the sale it refers
    /// to, at least one line, product codes, positive quantities, sane discounts,
    /// positive refunds that do not exceed the total, and stated line totals and
    /// total that reconcile to the cent with the computed ones (the rule of
    /// [`Sale::reconcile`](crate::Sale::reconcile)).
    ///
    /// Every connector calls this before building a request.
    pub fn reconcile(&self) -> Result<ReconciledReturn<'_>> {
        self.sale.check("sale")?;
        if self.sale.reference() == Some(self.reference.trim()) {
            return Err(Error::invalid(
                "reference",
                "the return has the reference of the sale it returns: give the return its own reference",
            ));
        }
        for (i, line) in self.lines.iter().enumerate() {
            if line.quantity <= Decimal::ZERO {
                return Err(Error::invalid(
                    format!("lines[{i}].quantity"),
                    format!("returned quantity {} is not positive", line.quantity),
                ));
            }
        }
        for (i, p) in self.refunds.iter().enumerate() {
            check_payment(&format!("refunds[{i}]"), p)?;
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
            "return",
            &self.reference,
            lines,
            self.discount.as_ref(),
            Decimal::ZERO,
            self.total,
        )?;
        let reconciled = ReconciledReturn { ret: self, amounts };
        let refunded = reconciled.refunded();
        if refunded > reconciled.amounts.total {
            return Err(Error::invalid(
                "refunds",
                format!(
                    "refunds total {refunded}, more than the return's total {}",
                    reconciled.amounts.total
                ),
            ));
        }
        Ok(reconciled)
    }

    /// The quantity returned of each product code, summed over lines.
    pub fn quantities(&self) -> std::collections::BTreeMap<&str, Decimal> {
        let mut out = std::collections::BTreeMap::new();
        for l in &self.lines {
            *out.entry(l.product_code.as_str()).or_insert(Decimal::ZERO) += l.quantity;
        }
        out
    }
}

/// A void (cancellation) of a sale already pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Void {
    /// The sale to void.
    pub sale: SaleRef,
    /// Why it is voided.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it was voided; now when absent.
    #[serde(default)]
    pub voided_at: Option<Timestamp>,
}

impl Void {
    /// A void of `sale` with no reason given.
    pub fn of(sale: SaleRef) -> Self {
        Self {
            sale,
            reason: None,
            voided_at: None,
        }
    }

    /// Checks that the void names a sale.
    pub fn check(&self) -> Result<()> {
        self.sale.check("sale")
    }
}

/// A payment made after the sale (a sale on credit paid later, or a second
/// instalment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalePayment {
    /// The sale it pays.
    pub sale: SaleRef,
    /// The payment. Its `reference` is the POS's key for it: vendors that upsert
    /// payments key on it, and the outbox needs it to deliver the payment once.
    pub payment: Payment,
}

impl SalePayment {
    /// Checks the payment: a sale, a positive amount, a sane reference.
    pub fn check(&self) -> Result<()> {
        self.sale.check("sale")?;
        check_payment("payment", &self.payment)
    }

    /// The payment's POS reference, or an [`Error::Invalid`] when `vendor` keys
    /// payments on it and it is missing.
    pub fn require_reference(&self, vendor: &str) -> Result<&str> {
        self.payment
            .reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "payment.reference",
                    format!("{vendor} keys payments on their reference: give the payment one"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn ret() -> Return {
        serde_json::from_value(serde_json::json!({
            "reference": "R-1",
            "sale": {"reference": "S-1", "vendor_id": "880"},
            "issued_at": "2026-12-07T10:00:00+08:00",
            "lines": [
                {"product_code": "A", "quantity": "1", "unit_price": "10.00", "tax": {"rate": "9", "inclusive": true}},
                {"product_code": "B", "quantity": "0.5", "unit_price": "3.33", "discount": {"percent": "10"}}
            ],
            "discount": {"percent": "5"},
            "refunds": [{"amount": "5", "method": "cash"}, {"amount": "5", "method": "card"}],
            "reason": "damaged"
        }))
        .unwrap()
    }

    #[test]
    fn a_partial_return_reconciles_with_the_sale_rounding_rule() {
        let r = ret();
        let a = r.reconcile().unwrap();
        // 10.00 + round(0.5 × 3.33 = 1.665 → 1.67, less 10% = 0.17) = 1.50.
        assert_eq!(a.amounts().subtotal, dec!(11.50));
        assert_eq!(a.refunded(), dec!(10));
        // The same lines as a sale give the same amounts, cent for cent.
        let sale = crate::Sale {
            reference: "S-1".into(),
            issued_at: r.issued_at,
            kind: Default::default(),
            status: Default::default(),
            customer: None,
            lines: r.lines.clone(),
            discount: r.discount.clone(),
            shipping: Decimal::ZERO,
            payments: Vec::new(),
            location: None,
            note: None,
            total: None,
        };
        assert_eq!(sale.reconcile().unwrap().amounts(), a.amounts());
        assert_eq!(a.amounts().total, dec!(10.93));
    }

    #[test]
    fn refuses_a_stated_total_off_by_a_cent() {
        let mut r = ret();
        r.total = Some(dec!(10.92));
        let e = r.reconcile().unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "total"), "{e}");
        assert!(e.to_string().contains("10.93"), "{e}");
    }

    #[test]
    fn refuses_non_positive_quantities_naming_the_line() {
        let mut r = ret();
        r.lines[1].quantity = dec!(-1);
        let e = r.reconcile().unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[1].quantity"),
            "{e}"
        );
    }

    #[test]
    fn refuses_refunds_beyond_the_total() {
        let mut r = ret();
        r.refunds[1].amount = dec!(6);
        let e = r.reconcile().unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "refunds"), "{e}");
        assert!(e.to_string().contains("11") && e.to_string().contains("10.93"), "{e}");
    }

    #[test]
    fn refuses_a_return_naming_no_sale_or_its_own_reference() {
        let mut r = ret();
        r.sale = SaleRef::default();
        assert!(matches!(r.reconcile(), Err(Error::Invalid { field, .. }) if field == "sale"));
        r.sale = SaleRef::vendor("   ");
        assert!(matches!(r.reconcile(), Err(Error::Invalid { field, .. }) if field == "sale"));
        r.sale = SaleRef::pos("R-1");
        assert!(matches!(r.reconcile(), Err(Error::Invalid { field, .. }) if field == "reference"));
    }

    #[test]
    fn quantities_sum_per_product() {
        let mut r = ret();
        r.lines.push(r.lines[0].clone());
        let q = r.quantities();
        assert_eq!(q["A"], dec!(2));
        assert_eq!(q["B"], dec!(0.5));
    }

    #[test]
    fn payments_need_a_sale_and_a_positive_amount() {
        let p: SalePayment = serde_json::from_value(serde_json::json!({
            "sale": {"vendor_id": "880"},
            "payment": {"amount": "0", "method": "e_wallet"}
        }))
        .unwrap();
        assert!(matches!(p.check(), Err(Error::Invalid { field, .. }) if field == "payment.amount"));
        assert!(p.require_reference("EAS Pro").is_err());
        let v = Void::of(SaleRef::pos("S-1"));
        v.check().unwrap();
        let e = v.sale.require_vendor_id("Asalta", "sale").unwrap_err();
        assert!(
            e.to_string().contains("S-1") && e.to_string().contains("push receipt"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let bad = serde_json::from_value::<Void>(serde_json::json!({"sale": {"reference": "S"}, "reasn": "x"}));
        assert!(bad.is_err());
    }
}
