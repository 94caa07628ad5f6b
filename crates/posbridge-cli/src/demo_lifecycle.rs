//! The rest of the demo's day, after the sales: a partial and a whole return, a void
//! and two later payments, each at the vendors that offer it (what
//! [`Connector::returns`], [`Connector::voids`] and [`Connector::payments`] say).
//!
//! Every document refers to a sale the vendor booked, by its POS reference and the
//! vendor id its push receipt gave. What comes back to stock (returned, voided) feeds
//! the day's stock check.

use std::collections::BTreeMap;

use posbridge::{
    Connector, Decimal, Discount, DuplicatePolicy, Error, ErrorKind, Payment, PaymentMethod, PushReceipt, Return, Sale,
    SaleKind, SalePayment, SaleRef, Void,
};
use serde::Serialize;

use crate::commands::{json_name, was_sent};
use crate::quote::bound_text;

/// How the documents of one kind fared.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Counts {
    /// Whether the vendor offers the operation at all.
    pub offered: bool,
    /// Documents tried.
    pub tried: usize,
    /// Accepted (at once or after settling an uncertain outcome).
    pub accepted: usize,
    /// Refused by the vendor.
    pub rejected: usize,
    /// Refused by the connector before sending.
    pub invalid: usize,
    /// Still uncertain.
    pub uncertain: usize,
    /// What happened to each, one line per document.
    pub notes: Vec<String>,
}

impl Counts {
    fn offered(offered: bool) -> Self {
        Self {
            offered,
            ..Self::default()
        }
    }

    /// Every document tried has an outcome.
    pub fn accounted(&self) -> bool {
        self.accepted + self.rejected + self.invalid + self.uncertain == self.tried
    }

    /// Records one outcome; `true` when the vendor took the document.
    fn record(&mut self, what: &str, outcome: &Result<PushReceipt, Error>) -> bool {
        self.tried += 1;
        match outcome {
            Ok(r) => {
                self.accepted += 1;
                self.notes.push(match &r.vendor_id {
                    Some(id) => format!("{what}: accepted (vendor id {id})"),
                    None => format!("{what}: accepted"),
                });
                true
            }
            Err(e) if e.kind() == ErrorKind::Uncertain => {
                self.uncertain += 1;
                self.notes.push(bound_text(&format!("{what}: uncertain: {e}")));
                false
            }
            Err(e) if !was_sent(e) => {
                self.invalid += 1;
                self.notes.push(bound_text(&format!("{what}: invalid (not sent): {e}")));
                false
            }
            Err(e) => {
                self.rejected += 1;
                self.notes.push(bound_text(&format!("{what}: rejected: {e}")));
                false
            }
        }
    }
}

/// The after-sale part of a vendor's day.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AfterSale {
    /// Returns (one partial, one whole).
    pub returns: Counts,
    /// Voids (one).
    pub voids: Counts,
    /// Payments after the sale (two).
    pub payments: Counts,
    /// Units back in stock from accepted returns, by product code.
    #[serde(skip)]
    pub returned: BTreeMap<String, Decimal>,
    /// Units back in stock from accepted voids, by product code.
    #[serde(skip)]
    pub voided: BTreeMap<String, Decimal>,
    /// Units sold by a sale booked to be voided (at a vendor that voids only one kind
    /// of sale), by product code.
    #[serde(skip)]
    pub sold: BTreeMap<String, Decimal>,
}

impl AfterSale {
    /// Every return, void and payment tried has an outcome.
    pub fn accounted(&self) -> bool {
        self.returns.accounted() && self.voids.accounted() && self.payments.accounted()
    }
}

/// A return of `sale`: of one unit of its first line (`partial`), or of all of it.
/// `None` when a partial return of this sale cannot keep the sale's prices (an
/// amount off the whole sale does not divide over part of it).
fn return_of(sale: &Sale, receipt: &PushReceipt, partial: bool, n: usize) -> Option<Return> {
    if partial && matches!(sale.discount, Some(Discount::Amount(_))) {
        return None;
    }
    let lines = if partial {
        let mut first = sale.lines.first()?.clone();
        first.quantity = first.quantity.min(Decimal::ONE);
        first.total = None;
        vec![first]
    } else {
        sale.lines
            .iter()
            .map(|l| {
                let mut l = l.clone();
                l.total = None;
                l
            })
            .collect()
    };
    let mut ret = Return {
        reference: format!("{}-R{n}", sale.reference),
        sale: sale_ref(sale, receipt),
        issued_at: sale.issued_at,
        customer: sale.customer.clone(),
        lines,
        discount: sale.discount.clone(),
        refunds: Vec::new(),
        reason: Some(
            if partial {
                "one unit damaged"
            } else {
                "changed their mind"
            }
            .to_owned(),
        ),
        location: sale.location.clone(),
        total: None,
    };
    let total = ret.reconcile().ok()?.amounts().total;
    ret.total = Some(total);
    if total > Decimal::ZERO {
        ret.refunds.push(Payment {
            reference: Some(format!("{}-RF", ret.reference)),
            amount: total,
            method: PaymentMethod::Cash,
            paid_at: None,
        });
    }
    Some(ret)
}

fn sale_ref(sale: &Sale, receipt: &PushReceipt) -> SaleRef {
    SaleRef {
        reference: Some(sale.reference.clone()),
        vendor_id: receipt.vendor_id.clone(),
    }
}

fn add_units(to: &mut BTreeMap<String, Decimal>, lines: &[posbridge::SaleLine]) {
    for l in lines {
        *to.entry(l.product_code.clone()).or_default() += l.quantity;
    }
}

/// Re-sends a write whose outcome was uncertain where a repeat is recognised (the
/// vendor's duplicate policy), as the sales part of the demo does.
async fn settled<F, Fut>(
    policy: DuplicatePolicy,
    first: Result<PushReceipt, Error>,
    resend: F,
) -> Result<PushReceipt, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<PushReceipt, Error>>,
{
    match first {
        Err(e) if e.kind() == ErrorKind::Uncertain && policy != DuplicatePolicy::Unknown => {
            match settle(resend).await {
                Settled::AlreadyBooked | Settled::BookedOnResend => Ok(PushReceipt {
                    reference: String::new(),
                    vendor_id: None,
                    disposition: posbridge::Disposition::Accepted,
                    differences: Vec::new(),
                }),
                Settled::NotBooked(e) | Settled::Unsettled(e) => Err(e),
            }
        }
        other => other,
    }
}

/// Runs the after-sale part of the day over the sales the vendor booked (with the
/// receipts their pushes gave), in sale order: the first two take a partial and a
/// whole return, the third is voided, the fourth and fifth are paid later.
///
/// `voids_only` is the one kind of sale the vendor voids, if it voids only one: the
/// void is then of a copy of the third sale, booked as that kind first.
pub async fn after_sale(
    connector: &dyn Connector,
    booked: &[(&Sale, &PushReceipt)],
    voids_only: Option<SaleKind>,
) -> AfterSale {
    let caps = connector.capabilities();
    let mut day = AfterSale {
        returns: Counts::offered(connector.returns().is_some()),
        voids: Counts::offered(connector.voids().is_some()),
        payments: Counts::offered(connector.payments().is_some()),
        ..AfterSale::default()
    };
    let mut pool = booked.iter();
    if let Some(returns) = connector.returns() {
        for (n, partial) in [true, false].into_iter().enumerate() {
            // The next sale this return can be made of.
            let Some((sale, ret)) = pool
                .by_ref()
                .find_map(|(s, r)| return_of(s, r, partial, n + 1).map(|ret| (*s, ret)))
            else {
                break;
            };
            let first = returns.push_return(&ret).await;
            let outcome = settled(caps.return_duplicates, first, || returns.push_return(&ret)).await;
            let what = format!(
                "{} ({} return of {})",
                ret.reference,
                if partial { "partial" } else { "whole" },
                sale.reference
            );
            if day.returns.record(&what, &outcome) {
                add_units(&mut day.returned, &ret.lines);
            }
        }
    }
    if let (Some(voids), Some((sale, receipt))) = (connector.voids(), pool.next()) {
        let mut target = Some(((*sale).clone(), (*receipt).clone()));
        if let (Some(kind), Some(sales)) = (voids_only.filter(|k| *k != sale.kind), connector.sales()) {
            // A copy of the sale, of the kind the vendor voids, booked first.
            let mut copy = (*sale).clone();
            copy.reference = format!("{}-{}", sale.reference, json_name(&kind).to_ascii_uppercase());
            copy.kind = kind;
            copy.payments.clear();
            target = match sales.push_sale(&copy).await {
                Ok(receipt) => {
                    add_units(&mut day.sold, &copy.lines);
                    Some((copy, receipt))
                }
                Err(e) => {
                    day.voids.tried += 1;
                    day.voids.rejected += 1;
                    day.voids
                        .notes
                        .push(bound_text(&format!("{} (to void) not booked: {e}", copy.reference)));
                    None
                }
            };
        }
        if let Some((sale, receipt)) = target {
            let void = Void {
                sale: sale_ref(&sale, &receipt),
                reason: Some("rung up twice".to_owned()),
                voided_at: None,
            };
            let first = voids.void_sale(&void).await;
            let outcome = settled(caps.void_duplicates, first, || voids.void_sale(&void)).await;
            if day.voids.record(&format!("void of {}", sale.reference), &outcome) {
                add_units(&mut day.voided, &sale.lines);
            }
        }
    }
    if let Some(payments) = connector.payments() {
        // Sales on credit: those not paid at the counter.
        for (sale, receipt) in pool.by_ref().filter(|(s, _)| s.payments.is_empty()).take(2) {
            let payment = SalePayment {
                sale: sale_ref(sale, receipt),
                payment: Payment {
                    reference: Some(format!("{}-P1", sale.reference)),
                    amount: sale
                        .total
                        .unwrap_or(Decimal::ONE)
                        .min(Decimal::ONE_HUNDRED)
                        .max(Decimal::ONE),
                    method: PaymentMethod::Cash,
                    paid_at: None,
                },
            };
            let first = payments.add_payment(&payment).await;
            let outcome = settled(caps.payment_duplicates, first, || payments.add_payment(&payment)).await;
            day.payments.record(&format!("payment of {}", sale.reference), &outcome);
        }
    }
    day
}

/// How often a re-send is tried to settle an uncertain outcome.
pub(crate) const SETTLE_ATTEMPTS: usize = 6;

/// How an uncertain push ended after re-sending.
pub(crate) enum Settled {
    AlreadyBooked,
    BookedOnResend,
    NotBooked(Error),
    Unsettled(Error),
}

/// Re-sends a document whose outcome was uncertain. Safe here because the vendor (and
/// the sandbox imitating it) refuses a repeated reference with a recognisable code:
/// a duplicate rejection means the first push landed.
pub(crate) async fn settle<F, Fut>(mut resend: F) -> Settled
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<PushReceipt, Error>>,
{
    let mut last = None;
    for _ in 0..SETTLE_ATTEMPTS {
        match resend().await {
            Ok(_) => return Settled::BookedOnResend,
            Err(e) if e.vendor_code() == Some(posbridge::error::DUPLICATE_REFERENCE) => return Settled::AlreadyBooked,
            Err(e) if e.kind() == ErrorKind::Uncertain || e.is_retryable() => last = Some(e),
            Err(e) => return Settled::NotBooked(e),
        }
    }
    Settled::Unsettled(last.unwrap_or(Error::config("no attempt made")))
}
