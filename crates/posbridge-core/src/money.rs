//! Money rules: one rounding rule, discounts, and the totals check.
//!
//! - Amounts are [`Decimal`], never floats.
//! - Each line amount is computed exactly from quantity, unit price, discount and tax,
//!   then **rounded once** to 2 decimal places, half away from zero ([`round_money`]).
//!   Document totals are sums of rounded line amounts.
//! - Arithmetic is checked: an input so large that it overflows is refused with
//!   [`Error::Invalid`], never a panic.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Decimal places of every money amount posbridge sends.
pub const MONEY_DP: u32 = 2;

/// Rounds an amount to 2 decimal places, half away from zero (`0.005 → 0.01`,
/// `-0.005 → -0.01`). This is the only rounding posbridge applies to money.
pub fn round_money(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(MONEY_DP, RoundingStrategy::MidpointAwayFromZero)
}

/// A discount on a line or on a whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Discount {
    /// A flat amount off (in the document's currency), not per unit.
    Amount(Decimal),
    /// A percentage off, `0..=100`.
    Percent(Decimal),
    /// Successive percentages, each taken off what the previous ones left
    /// (`[55.05, 3]` is 55.05 %, then 3 % of the rest), as some vendors write
    /// `"55.05+3"`.
    Cascade(Vec<Decimal>),
}

impl Discount {
    /// The exact (unrounded) amount this discount takes off `base`.
    ///
    /// `field` names the discount in errors. A flat amount takes the sign of `base`
    /// (a discount on a returned line reduces the refund) and may not exceed it.
    pub fn amount_off(&self, base: Decimal, field: &str) -> Result<Decimal> {
        self.amount_off_at(base, FieldPath::Name(field))
    }

    /// [`Discount::amount_off`] with a field path that is only formatted on error.
    pub(crate) fn amount_off_at(&self, base: Decimal, field: FieldPath<'_>) -> Result<Decimal> {
        match self {
            Self::Amount(a) => {
                if a.is_sign_negative() && !a.is_zero() {
                    return Err(Error::invalid(
                        field.to_string(),
                        format!("discount amount {a} is negative"),
                    ));
                }
                if *a > base.abs() {
                    return Err(Error::invalid(
                        field.to_string(),
                        format!("discount amount {a} exceeds the amount it applies to ({base})"),
                    ));
                }
                Ok(if base.is_sign_negative() { -*a } else { *a })
            }
            Self::Percent(p) => {
                check_percent(*p, field)?;
                Ok(mul(base, *p, field)? / Decimal::ONE_HUNDRED)
            }
            Self::Cascade(ps) => {
                if ps.is_empty() {
                    return Err(Error::invalid(
                        field.to_string(),
                        "a cascading discount needs at least one percentage",
                    ));
                }
                let mut rest = base;
                for p in ps {
                    check_percent(*p, field)?;
                    let off = mul(rest, *p, field)? / Decimal::ONE_HUNDRED;
                    rest -= off;
                }
                sub(base, rest, field)
            }
        }
    }
}

fn check_percent(p: Decimal, field: FieldPath<'_>) -> Result<()> {
    if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
        return Err(Error::invalid(
            field.to_string(),
            format!("discount percentage {p} is outside 0..=100"),
        ));
    }
    Ok(())
}

/// The path of a field in an error message (`lines[3].discount`), built only when an
/// error names it: the checks run on every line of every document, and formatting
/// the names of fields that are fine costs more than the arithmetic.
///
/// ```
/// use posbridge_core::FieldPath;
///
/// let line = FieldPath::Line(3);
/// assert_eq!(line.child("tax").child("rate").to_string(), "lines[3].tax.rate");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldPath<'a> {
    /// A name given whole.
    Name(&'a str),
    /// `lines[i]`.
    Line(usize),
    /// `parent.child`.
    Child(&'a FieldPath<'a>, &'static str),
    /// `prefix` and `name` run together (`""` + `discount`).
    Prefixed(&'a str, &'static str),
    /// `lines[i].name`, owning nothing: for a path kept beyond the check that made it.
    LineField(usize, &'static str),
}

impl std::fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Line(i) => write!(f, "lines[{i}]"),
            Self::Child(parent, child) => write!(f, "{parent}.{child}"),
            Self::Prefixed(prefix, name) => write!(f, "{prefix}{name}"),
            Self::LineField(i, name) => write!(f, "lines[{i}].{name}"),
        }
    }
}

impl From<FieldPath<'_>> for String {
    fn from(path: FieldPath<'_>) -> Self {
        path.to_string()
    }
}

impl<'a> FieldPath<'a> {
    /// `self.child`.
    pub fn child(&'a self, child: &'static str) -> FieldPath<'a> {
        FieldPath::Child(self, child)
    }
}

/// Tax on a line.
///
/// A line carries one tax: none of the five vendors' documents books more than one on
/// a line (Asalta takes one tax rate id per item; the others take a rate or none), so
/// a line with several (a GST and a service charge as a tax) is modelled when a
/// vendor needs it, not before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tax {
    /// The rate in percent, `0..=100`.
    pub rate: Decimal,
    /// `true` when the unit price already includes the tax (the line total does not
    /// grow); `false` when the tax is added on top of the discounted amount.
    #[serde(default)]
    pub inclusive: bool,
    /// The vendor's code or id for this tax (Asalta's tax rate id, a GST code), for
    /// vendors that book a line's tax by reference; `None`: by rate alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Tax {
    /// A tax of `rate` percent, included in the price or added on top, with no vendor
    /// code.
    pub fn new(rate: Decimal, inclusive: bool) -> Self {
        Self {
            rate,
            inclusive,
            code: None,
        }
    }
}

/// The amounts of one line, each rounded once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    /// Quantity × unit price.
    pub gross: Decimal,
    /// What the line discount takes off: `gross - net`.
    pub discount: Decimal,
    /// `gross - discount`: the line amount before added tax.
    pub net: Decimal,
    /// The tax part of the line (included in `net` when the tax is inclusive).
    pub tax: Decimal,
    /// The line total: `net`, plus `tax` when the tax is added on top.
    pub total: Decimal,
}

/// Computes a line's amounts with the one rounding rule.
///
/// `field` is the line's path in errors, e.g. `lines[3]`.
pub fn line_amounts(
    quantity: Decimal,
    unit_price: Decimal,
    discount: Option<&Discount>,
    tax: Option<&Tax>,
    field: &str,
) -> Result<LineAmounts> {
    line_amounts_at(quantity, unit_price, discount, tax, FieldPath::Name(field))
}

/// [`line_amounts`] with a field path that is only formatted on error.
pub(crate) fn line_amounts_at(
    quantity: Decimal,
    unit_price: Decimal,
    discount: Option<&Discount>,
    tax: Option<&Tax>,
    field: FieldPath<'_>,
) -> Result<LineAmounts> {
    if quantity.is_zero() {
        return Err(Error::invalid(field.child("quantity").to_string(), "quantity is zero"));
    }
    if unit_price.is_sign_negative() && !unit_price.is_zero() {
        return Err(Error::invalid(
            field.child("unit_price").to_string(),
            format!("unit price {unit_price} is negative"),
        ));
    }
    let gross_exact = mul(quantity, unit_price, field)?;
    let gross = round_money(gross_exact);
    // Without a discount the net is the gross: no subtraction, no second rounding.
    let (net_exact, net) = match discount {
        Some(d) => {
            let off = d.amount_off_at(gross_exact, field.child("discount"))?;
            let net_exact = sub(gross_exact, off, field)?;
            (net_exact, round_money(net_exact))
        }
        None => (gross_exact, gross),
    };
    let (tax_amount, total) = match tax {
        None => (Decimal::ZERO, net),
        Some(t) => {
            if t.rate < Decimal::ZERO || t.rate > Decimal::ONE_HUNDRED {
                return Err(Error::invalid(
                    field.child("tax").child("rate").to_string(),
                    format!("tax rate {} is outside 0..=100", t.rate),
                ));
            }
            if t.inclusive {
                let divisor = Decimal::ONE_HUNDRED + t.rate;
                let part = mul(net_exact, t.rate, field)?
                    .checked_div(divisor)
                    .ok_or_else(|| overflow(field))?;
                (round_money(part), net)
            } else {
                let part = round_money(mul(net_exact, t.rate, field)? / Decimal::ONE_HUNDRED);
                (part, add(net, part, field)?)
            }
        }
    };
    Ok(LineAmounts {
        gross,
        discount: gross - net,
        net,
        tax: tax_amount,
        total,
    })
}

/// Checks a stated amount against the computed one, to the cent.
pub fn reconcile(field: &str, stated: Option<Decimal>, computed: Decimal) -> Result<()> {
    reconcile_at(FieldPath::Name(field), stated, computed)
}

/// [`reconcile`] with a field path that is only formatted on error.
pub(crate) fn reconcile_at(field: FieldPath<'_>, stated: Option<Decimal>, computed: Decimal) -> Result<()> {
    match stated {
        Some(s) if s != computed => Err(Error::invalid(
            field.to_string(),
            format!("stated {s} does not reconcile with the computed {computed}"),
        )),
        _ => Ok(()),
    }
}

/// Document-level amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentAmounts {
    /// Each line's amounts, in line order.
    pub lines: Vec<LineAmounts>,
    /// Sum of line totals.
    pub subtotal: Decimal,
    /// Sum of line discounts.
    pub line_discounts: Decimal,
    /// Sum of line tax parts.
    pub tax: Decimal,
    /// What the document-level discount takes off the subtotal: the subtotal less the
    /// discounted subtotal rounded once (the line rule, applied to the document).
    pub order_discount: Decimal,
    /// Shipping or delivery charge (rounded).
    pub shipping: Decimal,
    /// `subtotal - order_discount + shipping`.
    pub total: Decimal,
}

/// Sums lines and applies the order discount and shipping.
pub fn document_amounts(
    lines: Vec<LineAmounts>,
    order_discount: Option<&Discount>,
    shipping: Decimal,
    field: &str,
) -> Result<DocumentAmounts> {
    let at = FieldPath::Name(field);
    let mut subtotal = Decimal::ZERO;
    let mut line_discounts = Decimal::ZERO;
    let mut tax = Decimal::ZERO;
    for l in &lines {
        subtotal = sum(subtotal, l.total, at)?;
        line_discounts = sum(line_discounts, l.discount, at)?;
        tax = sum(tax, l.tax, at)?;
    }
    if shipping.is_sign_negative() && !shipping.is_zero() {
        return Err(Error::invalid(
            format!("{field}shipping"),
            format!("shipping {shipping} is negative"),
        ));
    }
    // As for a line, the discounted amount is rounded once and the discount derived
    // from it, so `subtotal - order_discount` is exactly what a vendor computing
    // `round(subtotal × (1 − p))` gets, half cents included.
    let order_off = match order_discount {
        Some(d) => {
            let off = d.amount_off_at(subtotal, FieldPath::Prefixed(field, "discount"))?;
            let net = round_money(sub(subtotal, off, at)?);
            sub(subtotal, net, at)?
        }
        None => Decimal::ZERO,
    };
    let shipping = round_money(shipping);
    let total = add(sub(subtotal, order_off, at)?, shipping, at)?;
    Ok(DocumentAmounts {
        lines,
        subtotal,
        line_discounts,
        tax,
        order_discount: order_off,
        shipping,
        total,
    })
}

/// `total + amount`, skipping the addition when it would change nothing: `amount`
/// is zero, `total` is not, and `total` has at least `amount`'s decimal places (the
/// tests check that the result, digits, sign and scale, is what `add` gives).
fn sum(total: Decimal, amount: Decimal, field: FieldPath<'_>) -> Result<Decimal> {
    // A zero total is not skipped: `Decimal` then answers with the zero added, its
    // sign and scale included.
    if amount.is_zero() && !total.is_zero() && total.scale() >= amount.scale() {
        return Ok(total);
    }
    add(total, amount, field)
}

fn overflow(field: FieldPath<'_>) -> Error {
    Error::invalid(field.to_string(), "amount is too large to compute exactly")
}

pub(crate) fn mul(a: Decimal, b: Decimal, field: FieldPath<'_>) -> Result<Decimal> {
    a.checked_mul(b).ok_or_else(|| overflow(field))
}

pub(crate) fn add(a: Decimal, b: Decimal, field: FieldPath<'_>) -> Result<Decimal> {
    a.checked_add(b).ok_or_else(|| overflow(field))
}

pub(crate) fn sub(a: Decimal, b: Decimal, field: FieldPath<'_>) -> Result<Decimal> {
    a.checked_sub(b).ok_or_else(|| overflow(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(round_money(dec!(0.005)), dec!(0.01));
        assert_eq!(round_money(dec!(-0.005)), dec!(-0.01));
        assert_eq!(round_money(dec!(2.675)), dec!(2.68));
        assert_eq!(round_money(dec!(2.6749)), dec!(2.67));
    }

    #[test]
    fn line_rounds_once_not_per_step() {
        // 3 × 3.335 = 10.005 → 10.01; 10 % off the exact 10.005 = 9.0045 → 9.00.
        let l = line_amounts(dec!(3), dec!(3.335), Some(&Discount::Percent(dec!(10))), None, "l").unwrap();
        assert_eq!(l.gross, dec!(10.01));
        assert_eq!(l.net, dec!(9.00));
        assert_eq!(l.discount, dec!(1.01));
        assert_eq!(l.total, dec!(9.00));
    }

    #[test]
    fn an_order_discount_rounds_the_discounted_amount_once() {
        // 4500 less 5 % then 2.5 % is exactly 4168.125: the total rounds to 4168.13 as
        // a vendor computing 4500 × 0.95 × 0.975 gets, and the discount is what is left.
        let line = line_amounts(dec!(1), dec!(4500), None, None, "l").unwrap();
        let doc = document_amounts(
            vec![line],
            Some(&Discount::Cascade(vec![dec!(5), dec!(2.5)])),
            dec!(0),
            "",
        )
        .unwrap();
        assert_eq!(doc.total, dec!(4168.13));
        assert_eq!(doc.order_discount, dec!(331.87));
    }

    #[test]
    fn cascade_discount_is_successive() {
        let off = Discount::Cascade(vec![dec!(50), dec!(10)])
            .amount_off(dec!(100), "d")
            .unwrap();
        assert_eq!(off, dec!(55));
    }

    #[test]
    fn tax_exclusive_adds_inclusive_does_not() {
        let t = Tax::new(dec!(6), false);
        let l = line_amounts(dec!(1), dec!(10), None, Some(&t), "l").unwrap();
        assert_eq!((l.tax, l.total), (dec!(0.60), dec!(10.60)));
        let t = Tax::new(dec!(6), true);
        let l = line_amounts(dec!(1), dec!(10.60), None, Some(&t), "l").unwrap();
        assert_eq!((l.tax, l.total), (dec!(0.60), dec!(10.60)));
    }

    #[test]
    fn bad_discounts_are_refused() {
        assert!(Discount::Percent(dec!(101)).amount_off(dec!(1), "d").is_err());
        assert!(Discount::Amount(dec!(-1)).amount_off(dec!(1), "d").is_err());
        assert!(Discount::Amount(dec!(2)).amount_off(dec!(1), "d").is_err());
        assert!(Discount::Cascade(vec![]).amount_off(dec!(1), "d").is_err());
    }

    #[test]
    fn reconcile_names_field_and_both_amounts() {
        let e = reconcile("total", Some(dec!(10.00)), dec!(10.01)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("total") && msg.contains("10.00") && msg.contains("10.01"),
            "{msg}"
        );
        assert!(reconcile("total", Some(dec!(10.5)), dec!(10.50)).is_ok());
    }

    fn any_decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s))
    }

    fn money() -> impl Strategy<Value = Decimal> {
        (0i64..10_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s))
    }

    #[test]
    fn skipping_zeros_keeps_signs_and_scales_of_zero_totals() {
        let at = FieldPath::Name("t");
        for total in [dec!(0), dec!(0.00), -dec!(0.00), dec!(-1.5)] {
            for zero in [dec!(0), dec!(0.0), dec!(0.000), -dec!(0.00), -dec!(0)] {
                let (a, b) = (sum(total, zero, at).unwrap(), add(total, zero, at).unwrap());
                assert_eq!(
                    (a.scale(), a.to_string()),
                    (b.scale(), b.to_string()),
                    "{total:?} + {zero:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn rounding_is_idempotent_and_within_half_a_cent(d in any_decimal()) {
            let r = round_money(d);
            prop_assert_eq!(round_money(r), r);
            prop_assert!(r.scale() <= MONEY_DP);
            prop_assert!((r - d).abs() <= dec!(0.005));
        }

        #[test]
        fn no_panic_on_any_decimal_input(q in any_decimal(), p in any_decimal(), d in any_decimal(), t in any_decimal()) {
            let _ = line_amounts(q, p, Some(&Discount::Percent(d)), Some(&Tax::new(t, false)), "l");
            let _ = line_amounts(q, p, Some(&Discount::Amount(d)), Some(&Tax::new(t, true)), "l");
            let _ = line_amounts(q, p, Some(&Discount::Cascade(vec![d, t])), None, "l");
        }

        #[test]
        fn skipping_a_zero_in_a_sum_changes_no_digit(total in any_decimal(), scale in 0u32..=28, negative: bool) {
            let mut zero = Decimal::new(0, scale);
            zero.set_sign_negative(negative);
            let at = FieldPath::Name("t");
            let (skipped, added) = (sum(total, zero, at), add(total, zero, at));
            prop_assert_eq!(skipped.is_ok(), added.is_ok());
            if let (Ok(a), Ok(b)) = (skipped, added) {
                prop_assert_eq!((a, a.scale(), a.to_string()), (b, b.scale(), b.to_string()));
            }
        }

        #[test]
        fn line_amounts_are_consistent(q in 1i64..1000, p in money(), pct in 0u32..=100) {
            let l = line_amounts(Decimal::from(q), p, Some(&Discount::Percent(Decimal::from(pct))), None, "l").unwrap();
            prop_assert_eq!(l.gross - l.discount, l.net);
            prop_assert!(l.net >= Decimal::ZERO);
            prop_assert!(l.net <= l.gross);
            prop_assert_eq!(l.total.scale().min(2), l.total.scale());
        }

        #[test]
        fn totals_reconcile_with_their_own_sum(
            lines in proptest::collection::vec((1i64..100, money(), 0u32..=50), 1..20),
            ship in money(),
            order_pct in 0u32..=30,
        ) {
            let amounts: Vec<_> = lines.iter().enumerate().map(|(i, (q, p, d))| {
                line_amounts(Decimal::from(*q), *p, Some(&Discount::Percent(Decimal::from(*d))), None, &format!("lines[{i}]")).unwrap()
            }).collect();
            let sum: Decimal = amounts.iter().map(|l| l.total).sum();
            let doc = document_amounts(amounts, Some(&Discount::Percent(Decimal::from(order_pct))), ship, "").unwrap();
            prop_assert_eq!(doc.subtotal, sum);
            prop_assert_eq!(doc.total, doc.subtotal - doc.order_discount + doc.shipping);
            prop_assert!(reconcile("total", Some(doc.total), doc.total).is_ok());
            let off_by_a_cent = doc.total + dec!(0.01);
            prop_assert!(reconcile("total", Some(off_by_a_cent), doc.total).is_err());
        }
    }
}
