//! Pure mapping between posbridge's domain types and EAS Pro's wire shapes.
//! Every decision the EAS Pro document leaves open is made here and written down in
//! `docs/vendors/easpro.md`.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::Offset;
use posbridge_core::money::{Discount, Tax, round_money};
use posbridge_core::{
    Customer, Decimal, Disposition, Error, FieldPath, PaymentMethod, PushReceipt, ReconciledSale, Result, SaleKind,
    SaleStatus,
};
use serde_json::Value;

use crate::wire;

/// Money as EAS Pro gets it: two decimal places, always (`20` → `20.00`).
pub(crate) fn money(d: Decimal) -> Decimal {
    let mut d = round_money(d);
    d.rescale(2);
    d
}

/// A unit price or a flat discount keeps its precision (rounding it would change what
/// EAS Pro computes from it) but has at least two decimals.
fn at_least_cents(d: Decimal) -> Decimal {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

/// EAS Pro's date format, `YYYY-MM-DDTHH:MM`, in the merchant's offset. Seconds are
/// dropped (truncated), as the document's example has none.
pub(crate) fn transaction_date(at: Timestamp, offset: Offset) -> String {
    let dt = offset.to_datetime(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// Parses a UTC offset written `+08:00`, `+0800`, `+08`, `-05:30`, `Z` or `UTC`.
pub(crate) fn parse_offset(text: &str) -> std::result::Result<Offset, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(Offset::UTC);
    }
    let bad = || format!("{text:?} is not a UTC offset like \"+08:00\"");
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1i32, &t[1..]),
        Some(b'-') => (-1i32, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let colons = rest.chars().filter(|c| *c == ':').count();
    if !digits.chars().all(|c| c.is_ascii_digit()) || colons > 1 || (colons == 1 && rest.find(':') != Some(2)) {
        return Err(bad());
    }
    let (hours, minutes) = match digits.len() {
        2 => (&digits[..2], "0"),
        4 => (&digits[..2], &digits[2..]),
        _ => return Err(bad()),
    };
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if minutes >= 60 {
        return Err(bad());
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).map_err(|e| format!("{text:?}: {e}"))
}

/// `billType` of a sale: an order is a confirmed sale, so it is an invoice.
pub(crate) fn bill_type(kind: SaleKind) -> wire::BillType {
    match kind {
        SaleKind::Quotation => wire::BillType::Quotation,
        _ => wire::BillType::Invoice,
    }
}

/// `billStatus` of a sale, and the checks that go with it: a void sale, a paid
/// quotation, payments on a quotation and payments over the total are refused.
pub(crate) fn bill_status(
    kind: SaleKind,
    status: SaleStatus,
    total: Decimal,
    paid: Decimal,
    has_payments: bool,
) -> Result<wire::BillStatus> {
    if status == SaleStatus::Void {
        return Err(Error::invalid(
            "status",
            "EAS Pro's API cannot void or cancel a bill: cancel it in EAS Pro itself",
        ));
    }
    if kind == SaleKind::Quotation {
        if has_payments {
            return Err(Error::invalid(
                "payments",
                "an EAS Pro quotation cannot take payments: push the sale as an invoice",
            ));
        }
        if status == SaleStatus::Paid {
            return Err(Error::invalid(
                "status",
                "an EAS Pro quotation cannot be paid: push the sale as an invoice",
            ));
        }
        return Ok(wire::BillStatus::Unpaid);
    }
    if paid > total {
        return Err(Error::invalid(
            "payments",
            format!("the payments add up to {paid}, more than the sale's total {total}"),
        ));
    }
    let covered = has_payments && paid == total;
    Ok(if status == SaleStatus::Paid || covered {
        wire::BillStatus::Paid
    } else {
        wire::BillStatus::Unpaid
    })
}

/// A line's `discount` and `discountType`. A cascade of percentages is sent as the one
/// percentage it amounts to (`[50, 10]` → `55`), which is exact.
pub(crate) fn product_discount(
    discount: Option<&Discount>,
    field: FieldPath<'_>,
) -> Result<(Decimal, wire::DiscountType)> {
    match discount {
        None => Ok((money(Decimal::ZERO), wire::DiscountType::Flat)),
        Some(Discount::Amount(a)) => Ok((at_least_cents(*a), wire::DiscountType::Flat)),
        Some(Discount::Percent(p)) => Ok((p.normalize(), wire::DiscountType::Percent)),
        Some(Discount::Cascade(ps)) => {
            let overflow = || {
                Error::invalid(
                    field.to_string(),
                    "the cascading discount is too precise to compute exactly",
                )
            };
            let mut rest = Decimal::ONE_HUNDRED;
            for p in ps {
                let off = rest
                    .checked_mul(*p)
                    .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                    .ok_or_else(overflow)?;
                rest = rest.checked_sub(off).ok_or_else(overflow)?;
            }
            let percent = Decimal::ONE_HUNDRED.checked_sub(rest).ok_or_else(overflow)?;
            Ok((percent.normalize(), wire::DiscountType::Percent))
        }
    }
}

/// `subTotal` the way EAS Pro's document defines it: `priceSellPerUnit ×
/// stockToCount − discount` (flat) or `× (1 − discount / 100)` (percent), rounded once
/// to 2 dp, half away from zero.
pub(crate) fn sub_total(
    price: Decimal,
    quantity: Decimal,
    discount: Decimal,
    kind: wire::DiscountType,
    field: FieldPath<'_>,
) -> Result<Decimal> {
    let overflow = || Error::invalid(field.to_string(), "amount is too large to compute exactly");
    let gross = price.checked_mul(quantity).ok_or_else(overflow)?;
    let net = match kind {
        wire::DiscountType::Flat => gross.checked_sub(discount).ok_or_else(overflow)?,
        wire::DiscountType::Percent => {
            let keep = Decimal::ONE_HUNDRED.checked_sub(discount).ok_or_else(overflow)?;
            gross
                .checked_mul(keep)
                .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                .ok_or_else(overflow)?
        }
    };
    Ok(money(net))
}

fn check_tax(tax: Option<&Tax>, field: FieldPath<'_>) -> Result<()> {
    match tax {
        Some(t) if !t.inclusive && !t.rate.is_zero() => Err(Error::invalid(
            field.to_string(),
            "EAS Pro has no tax field: send tax-inclusive prices (tax.inclusive = true)",
        )),
        _ => Ok(()),
    }
}

fn non_blank(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The `partner` object of a customer. EAS Pro makes `name` mandatory when a partner
/// is sent, so a customer without a name is refused rather than dropped.
pub(crate) fn partner(customer: &Customer) -> Result<wire::Partner> {
    let name = customer.name.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "customer.name",
            "EAS Pro needs a name for a customer; leave the customer out for a walk-in sale",
        ));
    }
    let address = match (non_blank(customer.address.as_ref()), non_blank(customer.city.as_ref())) {
        (Some(a), Some(c)) if !a.to_lowercase().contains(&c.to_lowercase()) => Some(format!("{a}, {c}")),
        (Some(a), _) => Some(a),
        (None, c) => c,
    };
    Ok(wire::Partner {
        kind: wire::PARTNER_TYPE_CUSTOMER.to_owned(),
        name: name.to_owned(),
        email: non_blank(customer.email.as_ref()),
        tel_no: non_blank(customer.phone.as_ref()),
        address,
    })
}

/// Builds the create-transaction request from a reconciled sale. `product_ids` are the
/// `invProductId`s of the lines, in line order (from the id map).
pub(crate) fn sale_to_wire(
    sale: &ReconciledSale<'_>,
    product_ids: &[String],
    offset: Offset,
) -> Result<wire::Transaction> {
    let s = sale.sale();
    let amounts = sale.amounts();
    if !amounts.order_discount.is_zero() {
        return Err(Error::invalid(
            "discount",
            format!(
                "EAS Pro has no discount on the whole sale (this one takes {} off): put the discount on the lines",
                amounts.order_discount
            ),
        ));
    }
    if product_ids.len() != s.lines.len() {
        return Err(Error::invalid("lines", "every line needs an EAS Pro product id"));
    }
    let mut products = Vec::with_capacity(s.lines.len());
    let mut value = Decimal::ZERO;
    for (i, ((line, a), id)) in s.lines.iter().zip(&amounts.lines).zip(product_ids).enumerate() {
        let field = FieldPath::Line(i);
        if line.quantity.is_sign_negative() {
            return Err(Error::invalid(
                field.child("quantity").to_string(),
                format!(
                    "EAS Pro has no returns or credit notes: quantity {} must be positive",
                    line.quantity
                ),
            ));
        }
        check_tax(line.tax.as_ref(), field.child("tax"))?;
        let (discount, discount_type) = product_discount(line.discount.as_ref(), field.child("discount"))?;
        let price = at_least_cents(line.unit_price);
        let quantity = line.quantity.normalize();
        let sub_total = sub_total(price, quantity, discount, discount_type, field)?;
        if sub_total != a.total {
            return Err(Error::invalid(
                field.child("total").to_string(),
                format!(
                    "EAS Pro would compute {sub_total} for this line, not {}: send it with a flat or percent discount",
                    a.total
                ),
            ));
        }
        value = value
            .checked_add(sub_total)
            .ok_or_else(|| Error::invalid("total", "amount is too large to compute exactly"))?;
        products.push(wire::Product {
            description: non_blank(line.note.as_ref()).unwrap_or_else(|| "-".to_owned()),
            discount,
            discount_type,
            inv_product_id: id.clone(),
            name: non_blank(line.name.as_ref()).unwrap_or_else(|| line.product_code.clone()),
            price_sell_per_unit: price,
            stock_to_count: quantity,
            sub_total,
        });
    }
    let delivery = money(amounts.shipping);
    let value = value
        .checked_add(delivery)
        .ok_or_else(|| Error::invalid("total", "amount is too large to compute exactly"))?;
    if value != amounts.total {
        return Err(Error::invalid(
            "total",
            format!(
                "EAS Pro's value (Σ subTotal + delivery) would be {value}, not the sale's total {}",
                amounts.total
            ),
        ));
    }
    let paid = s
        .payments
        .iter()
        .try_fold(Decimal::ZERO, |sum, p| sum.checked_add(p.amount))
        .ok_or_else(|| Error::invalid("payments", "amount is too large to compute exactly"))?;
    let bill_status = bill_status(s.kind, s.status, amounts.total, paid, !s.payments.is_empty())?;
    let partner = s.customer.as_ref().map(partner).transpose()?;
    Ok(wire::Transaction {
        value: money(value),
        transaction_date: transaction_date(s.issued_at, offset),
        bill_type: bill_type(s.kind),
        bill_status,
        bill_reference_id: s.reference.clone(),
        delivery,
        partner,
        products,
    })
}

/// `transactionMethod` of a payment. Card and e-wallet payments settle into the
/// merchant's bank account, so they are bank transfers; anything else is refused.
pub(crate) fn transaction_method(method: &PaymentMethod, field: &str) -> Result<wire::TransactionMethod> {
    match method {
        PaymentMethod::Cash => Ok(wire::TransactionMethod::Cash),
        PaymentMethod::Cheque => Ok(wire::TransactionMethod::Cheque),
        PaymentMethod::BankTransfer | PaymentMethod::Card | PaymentMethod::EWallet => {
            Ok(wire::TransactionMethod::BankTransfer)
        }
        PaymentMethod::Other(name) => Err(Error::invalid(
            field,
            format!("EAS Pro takes cash, cheque and bank transfer payments only; {name:?} is none of them"),
        )),
        PaymentMethod::GiftCard => Err(Error::invalid(
            field,
            "EAS Pro takes cash, cheque and bank transfer payments only; a gift card is none of them (its money was \
             taken when the card was sold)",
        )),
        PaymentMethod::LoyaltyPoints => Err(Error::invalid(
            field,
            "EAS Pro takes cash, cheque and bank transfer payments only; loyalty points are none of them (no money \
             changes hands)",
        )),
        other => Err(Error::invalid(
            field,
            format!("EAS Pro takes cash, cheque and bank transfer payments only; {other:?} is none of them"),
        )),
    }
}

/// The reference of the `index`-th payment (0-based) of sale `sale_reference`: the
/// POS's own, or `<sale reference>-P<n>` (1-based) when it gave none.
pub(crate) fn payment_reference(sale_reference: &str, index: usize, own: Option<&String>) -> String {
    non_blank(own).unwrap_or_else(|| format!("{sale_reference}-P{}", index + 1))
}

/// Builds the payment requests of a reconciled sale, in order. Everything is checked
/// here, before the sale is sent, so a bad payment never leaves a sale half-sent.
pub(crate) fn payments_to_wire(sale: &ReconciledSale<'_>, offset: Offset) -> Result<Vec<wire::Payment>> {
    let s = sale.sale();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(s.payments.len());
    for (i, p) in s.payments.iter().enumerate() {
        let field = format!("payments[{i}]");
        if money(p.amount) != p.amount {
            return Err(Error::invalid(
                format!("{field}.amount"),
                format!("payment amount {} has more than two decimals", p.amount),
            ));
        }
        let transaction_method = transaction_method(&p.method, &format!("{field}.method"))?;
        let reference = payment_reference(&s.reference, i, p.reference.as_ref());
        if !seen.insert(reference.clone()) {
            return Err(Error::invalid(
                format!("{field}.reference"),
                format!("payment reference {reference:?} is used twice; EAS Pro would keep only one of them"),
            ));
        }
        out.push(wire::Payment {
            amount: money(p.amount),
            payment_date: transaction_date(p.paid_at.unwrap_or(s.issued_at), offset),
            reference,
            bill_reference_id: s.reference.clone(),
            transaction_method,
        });
    }
    Ok(out)
}

/// Builds the payment request of a payment made after the sale
/// ([`SalePayment`](posbridge_core::SalePayment)): `billReferenceId` is the sale's POS
/// reference (EAS Pro keys bills on it; a vendor id alone cannot name one),
/// `reference` the payment's own (required: it is EAS Pro's upsert key, and a derived
/// one could not be told from the sale's own payments), `paymentDate` the payment's
/// `paid_at`, else `now`. Everything is checked before anything is sent.
pub(crate) fn sale_payment_to_wire(
    payment: &posbridge_core::SalePayment,
    offset: Offset,
    now: Timestamp,
) -> Result<wire::Payment> {
    payment.check()?;
    let bill_reference_id = payment.sale.reference().ok_or_else(|| {
        Error::invalid(
            "sale.reference",
            format!(
                "EAS Pro finds a bill by its POS reference (billReferenceId) only: give the sale's reference{}",
                payment
                    .sale
                    .vendor_id()
                    .map(|v| format!(", not only its vendor id {}", posbridge_core::error::quote(v)))
                    .unwrap_or_default()
            ),
        )
    })?;
    let reference = payment.require_reference("EAS Pro")?;
    let p = &payment.payment;
    if money(p.amount) != p.amount {
        return Err(Error::invalid(
            "payment.amount",
            format!(
                "payment amount {} has more than two decimals; EAS Pro books cents, and rounding would book another amount",
                p.amount
            ),
        ));
    }
    let transaction_method = transaction_method(&p.method, "payment.method")?;
    Ok(wire::Payment {
        amount: money(p.amount),
        payment_date: transaction_date(p.paid_at.unwrap_or(now), offset),
        reference: reference.to_owned(),
        bill_reference_id: bill_reference_id.to_owned(),
        transaction_method,
    })
}

/// What a successful answer says beyond its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The id EAS Pro gave the record, if it sent one.
    pub vendor_id: Option<String>,
    /// Whether EAS Pro says the account is a demo account.
    pub demo: bool,
}

/// Reads the `data` of a successful answer.
pub(crate) fn accepted(data: Option<&Value>) -> Accepted {
    let obj = data.and_then(Value::as_object);
    let vendor_id = obj.and_then(|o| wire::ID_KEYS.iter().find_map(|k| o.get(*k)).and_then(scalar_text));
    let demo = obj.and_then(|o| o.get(wire::DEMO)).is_some_and(|v| match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    });
    Accepted { vendor_id, demo }
}

/// The receipt for a sale EAS Pro accepted. EAS Pro does not say whether it created
/// or updated the bill, so it is always [`Disposition::Accepted`].
pub(crate) fn receipt(reference: &str, accepted: &Accepted) -> PushReceipt {
    PushReceipt {
        reference: reference.to_owned(),
        vendor_id: accepted.vendor_id.clone(),
        disposition: Disposition::Accepted,
        differences: Vec::new(),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::Sale;
    use rust_decimal_macros::dec;

    fn sale(json: serde_json::Value) -> Sale {
        serde_json::from_value(json).unwrap()
    }

    fn myt() -> Offset {
        Offset::constant(8)
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("uuid-{i}")).collect()
    }

    #[test]
    fn formats_dates_in_the_merchants_offset_without_seconds() {
        let at: Timestamp = "2026-11-26T02:15:59Z".parse().unwrap();
        assert_eq!(transaction_date(at, myt()), "2026-11-26T10:15");
        assert_eq!(transaction_date(at, Offset::UTC), "2026-11-26T02:15");
        let late: Timestamp = "2026-11-26T20:05:00Z".parse().unwrap();
        assert_eq!(transaction_date(late, myt()), "2026-11-27T04:05");
    }

    #[test]
    fn parses_offsets_in_the_usual_spellings() {
        assert_eq!(parse_offset("+08:00").unwrap(), myt());
        assert_eq!(parse_offset("+0800").unwrap(), myt());
        assert_eq!(parse_offset("+08").unwrap(), myt());
        assert_eq!(parse_offset("-05:30").unwrap().seconds(), -(5 * 3600 + 30 * 60));
        assert_eq!(parse_offset("Z").unwrap(), Offset::UTC);
        for bad in [
            "08:00",
            "+8",
            "+08:60",
            "+0:800",
            "+99:00",
            "",
            "+08:00:00",
            "+ab:cd",
            "+08::0",
        ] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_documents_sample_product_adds_up() {
        // priceSellPerUnit "20" × stockToCount "10" − flat "20" = 180.
        let t = sub_total(
            dec!(20),
            dec!(10),
            dec!(20),
            wire::DiscountType::Flat,
            FieldPath::Name("l"),
        )
        .unwrap();
        assert_eq!(t, dec!(180));
        let t = sub_total(
            dec!(20),
            dec!(10),
            dec!(15),
            wire::DiscountType::Percent,
            FieldPath::Name("l"),
        )
        .unwrap();
        assert_eq!(t, dec!(170));
        // 3 × 3.335 = 10.005, less 10 % = 9.0045 → 9.00 (rounded once).
        let t = sub_total(
            dec!(3.335),
            dec!(3),
            dec!(10),
            wire::DiscountType::Percent,
            FieldPath::Name("l"),
        )
        .unwrap();
        assert_eq!(t.to_string(), "9.00");
        assert!(
            sub_total(
                Decimal::MAX,
                dec!(2),
                dec!(0),
                wire::DiscountType::Flat,
                FieldPath::Name("l")
            )
            .is_err()
        );
    }

    #[test]
    fn cascades_become_one_exact_percentage() {
        let (p, t) =
            product_discount(Some(&Discount::Cascade(vec![dec!(50), dec!(10)])), FieldPath::Name("d")).unwrap();
        assert_eq!((p.to_string().as_str(), t), ("55", wire::DiscountType::Percent));
        let (p, _) = product_discount(
            Some(&Discount::Cascade(vec![dec!(55.05), dec!(3)])),
            FieldPath::Name("d"),
        )
        .unwrap();
        assert_eq!(p, dec!(56.3985));
        let (f, t) = product_discount(Some(&Discount::Amount(dec!(5))), FieldPath::Name("d")).unwrap();
        assert_eq!((f.to_string().as_str(), t), ("5.00", wire::DiscountType::Flat));
        let (z, t) = product_discount(None, FieldPath::Name("d")).unwrap();
        assert_eq!((z.to_string().as_str(), t), ("0.00", wire::DiscountType::Flat));
    }

    #[test]
    fn maps_a_sale_and_checks_every_subtotal() {
        let s = sale(serde_json::json!({
            "reference": "S1", "issued_at": "2026-11-26T10:15:00+08:00",
            "customer": {"name": " Adam ", "email": "adam@example.my", "phone": "013484573",
                         "address": "No 12, Jalan Istana", "city": "Pangkor"},
            "lines": [
                {"product_code": "A", "name": "Airpod", "quantity": "10", "unit_price": "20", "discount": {"amount": "20"}},
                {"product_code": "B", "quantity": "3", "unit_price": "3.335", "discount": {"percent": "10"}},
                {"product_code": "C", "quantity": "1", "unit_price": "100", "discount": {"cascade": ["50", "10"]},
                 "tax": {"rate": "6", "inclusive": true}, "note": "gift"}
            ],
            "shipping": "5"
        }));
        let r = s.reconcile().unwrap();
        let w = sale_to_wire(&r, &ids(3), myt()).unwrap();
        assert_eq!(w.value.to_string(), "239.00");
        assert_eq!(w.delivery.to_string(), "5.00");
        assert_eq!(w.transaction_date, "2026-11-26T10:15");
        assert_eq!(
            (w.bill_type, w.bill_status),
            (wire::BillType::Invoice, wire::BillStatus::Unpaid)
        );
        let p = w.partner.as_ref().unwrap();
        assert_eq!(p.name, "Adam");
        assert_eq!(p.address.as_deref(), Some("No 12, Jalan Istana, Pangkor"));
        assert_eq!(w.products[0].sub_total, dec!(180));
        assert_eq!(w.products[0].name, "Airpod");
        assert_eq!(w.products[1].name, "B");
        assert_eq!(w.products[1].description, "-");
        assert_eq!(w.products[2].description, "gift");
        assert_eq!(w.products[2].discount.to_string(), "55");
        assert_eq!(w.products[2].sub_total, dec!(45));
        assert_eq!(w.products[2].inv_product_id, "uuid-2");
    }

    #[test]
    fn refuses_what_eas_pro_cannot_carry() {
        let base = serde_json::json!({
            "reference": "S1", "issued_at": "2026-11-26T10:15:00+08:00",
            "lines": [{"product_code": "A", "quantity": "1", "unit_price": "10"}]
        });
        let with = |patch: serde_json::Value| {
            let mut v = base.clone();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            sale(v)
        };
        let field_of = |s: &Sale| match s.reconcile().and_then(|r| {
            sale_to_wire(&r, &ids(s.lines.len()), myt())?;
            payments_to_wire(&r, myt())
        }) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            field_of(&with(serde_json::json!({"discount": {"amount": "1"}}))),
            "discount"
        );
        assert_eq!(field_of(&with(serde_json::json!({"status": "void"}))), "status");
        assert_eq!(
            field_of(&with(
                serde_json::json!({"lines": [{"product_code": "A", "quantity": "-1", "unit_price": "10"}]})
            )),
            "lines[0].quantity"
        );
        assert_eq!(
            field_of(&with(
                serde_json::json!({"lines": [{"product_code": "A", "quantity": "1", "unit_price": "10",
                "tax": {"rate": "6"}}]})
            )),
            "lines[0].tax"
        );
        assert_eq!(
            field_of(&with(serde_json::json!({"customer": {"name": "  "}}))),
            "customer.name"
        );
        assert_eq!(
            field_of(&with(
                serde_json::json!({"kind": "quotation", "payments": [{"amount": "10", "method": "cash"}]})
            )),
            "payments"
        );
        assert_eq!(
            field_of(&with(
                serde_json::json!({"payments": [{"amount": "11", "method": "cash"}]})
            )),
            "payments"
        );
        assert_eq!(
            field_of(&with(
                serde_json::json!({"payments": [{"amount": "10", "method": {"other": "voucher"}}]})
            )),
            "payments[0].method"
        );
        assert_eq!(
            field_of(&with(serde_json::json!({"payments": [
                {"amount": "5", "method": "cash", "reference": "S1-P2"},
                {"amount": "5", "method": "cash"}
            ]}))),
            "payments[1].reference"
        );
        assert_eq!(
            field_of(&with(
                serde_json::json!({"payments": [{"amount": "1.005", "method": "cash"}]})
            )),
            "payments[0].amount"
        );
    }

    #[test]
    fn status_follows_the_sale_and_its_payments() {
        use SaleKind::*;
        use SaleStatus::*;
        let st = |k, s, paid, has| bill_status(k, s, dec!(10), paid, has).unwrap();
        assert_eq!(st(Invoice, Open, dec!(0), false), wire::BillStatus::Unpaid);
        assert_eq!(st(Invoice, Paid, dec!(0), false), wire::BillStatus::Paid);
        assert_eq!(st(Invoice, Open, dec!(10), true), wire::BillStatus::Paid);
        assert_eq!(st(Order, Delivered, dec!(4), true), wire::BillStatus::Unpaid);
        assert_eq!(st(Quotation, Open, dec!(0), false), wire::BillStatus::Unpaid);
        assert!(bill_status(Quotation, Paid, dec!(10), dec!(0), false).is_err());
        assert_eq!(bill_type(Order), wire::BillType::Invoice);
        assert_eq!(bill_type(Quotation), wire::BillType::Quotation);
    }

    #[test]
    fn payments_get_references_methods_and_dates() {
        let s = sale(serde_json::json!({
            "reference": "S1", "issued_at": "2026-11-26T10:15:00+08:00",
            "lines": [{"product_code": "A", "quantity": "1", "unit_price": "30"}],
            "payments": [
                {"amount": "10", "method": "card"},
                {"amount": "10", "method": "e_wallet", "reference": "QR-77", "paid_at": "2026-11-27T01:00:00Z"},
                {"amount": "10", "method": "cheque"}
            ]
        }));
        let r = s.reconcile().unwrap();
        let p = payments_to_wire(&r, myt()).unwrap();
        let refs: Vec<_> = p.iter().map(|p| p.reference.as_str()).collect();
        assert_eq!(refs, ["S1-P1", "QR-77", "S1-P3"]);
        assert_eq!(p[0].transaction_method, wire::TransactionMethod::BankTransfer);
        assert_eq!(p[1].transaction_method, wire::TransactionMethod::BankTransfer);
        assert_eq!(p[2].transaction_method, wire::TransactionMethod::Cheque);
        assert_eq!(p[0].payment_date, "2026-11-26T10:15");
        assert_eq!(p[1].payment_date, "2026-11-27T09:00");
        assert_eq!(p[0].amount.to_string(), "10.00");
        assert_eq!(
            sale_to_wire(&r, &ids(1), myt()).unwrap().bill_status,
            wire::BillStatus::Paid
        );
    }

    #[test]
    fn the_documents_sample_request_reads_back() {
        let sample = serde_json::json!({"data": {
            "value": 25, "transactionDate": "2023-05-04T09:43", "billType": "INVOICE", "billStatus": "UNPAID",
            "products": [{"description": "-", "discount": "20", "discountType": "flat",
                "invFeId": "6fd515ef-4d90-49f7-a857-9241758974f0",
                "invProductId": "68668492-e16b-4b5c-82e6-8e5d843ffbdc", "name": "airpod",
                "priceSellPerUnit": "20", "stockToCount": "10", "subTotal": 180}],
            "delivery": 5, "billReferenceId": "b5971eba-c246-4053-994c-d18ec0a721312c",
            "partner": {"type": "CUSTOMER", "name": "Adam", "email": "adam@gmail.com", "telNo": "013484593",
                "address": "No 21, Taman isaed, 09232, pangkor, perak"}
        }});
        let body: wire::Body<wire::Transaction> = serde_json::from_value(sample).unwrap();
        let p = &body.data.products[0];
        assert_eq!(
            (p.price_sell_per_unit, p.stock_to_count, p.sub_total),
            (dec!(20), dec!(10), dec!(180))
        );
        // Numbers where the sample has strings, and strings where it has numbers, read too.
        let p: wire::Product = serde_json::from_value(serde_json::json!({"description": "-", "discount": 20,
            "discountType": "percent", "invProductId": "x", "name": "n", "priceSellPerUnit": 2.5,
            "stockToCount": 4, "subTotal": "8.00"}))
        .unwrap();
        assert_eq!(
            (p.discount, p.price_sell_per_unit, p.sub_total),
            (dec!(20), dec!(2.5), dec!(8))
        );
    }

    #[test]
    fn writes_strings_and_numbers_as_the_sample_does() {
        let s = sale(serde_json::json!({
            "reference": "S1", "issued_at": "2026-11-26T10:15:00+08:00",
            "lines": [{"product_code": "A", "quantity": "10.000", "unit_price": "20", "discount": {"amount": "20"}}],
            "shipping": "5"
        }));
        let r = s.reconcile().unwrap();
        let w = sale_to_wire(&r, &ids(1), myt()).unwrap();
        let json = serde_json::to_string(&wire::Body { data: &w }).unwrap();
        assert!(json.contains(r#""value":185.00"#), "{json}");
        assert!(json.contains(r#""delivery":5.00"#), "{json}");
        assert!(json.contains(r#""subTotal":180.00"#), "{json}");
        assert!(json.contains(r#""priceSellPerUnit":"20.00""#), "{json}");
        assert!(json.contains(r#""stockToCount":"10""#), "{json}");
        assert!(json.contains(r#""discount":"20.00""#), "{json}");
        assert!(!json.contains("partner"), "{json}");
    }

    #[test]
    fn reads_ids_and_the_demo_flag() {
        let a = accepted(Some(&serde_json::json!({"result": "Success", "demo": false})));
        assert_eq!(
            a,
            Accepted {
                vendor_id: None,
                demo: false
            }
        );
        let a = accepted(Some(&serde_json::json!({"id": 42, "demo": "true"})));
        assert_eq!(
            a,
            Accepted {
                vendor_id: Some("42".into()),
                demo: true
            }
        );
        assert_eq!(receipt("S1", &a).disposition, Disposition::Accepted);
    }

    fn sale_payment(v: serde_json::Value) -> posbridge_core::SalePayment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_later_payment_is_keyed_on_both_references_and_checked_first() {
        let now: Timestamp = "2026-12-01T02:30:59Z".parse().unwrap();
        let p = sale_payment(serde_json::json!({
            "sale": {"reference": "INV-1001", "vendor_id": "77"},
            "payment": {"reference": "PAY-1", "amount": "40.5", "method": "card"}
        }));
        let w = sale_payment_to_wire(&p, Offset::constant(8), now).unwrap();
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"amount": 40.50, "paymentDate": "2026-12-01T10:30", "reference": "PAY-1",
                "billReferenceId": "INV-1001", "transactionMethod": "BANK_TRANSFER"})
        );
        assert_eq!(w.amount.to_string(), "40.50");
        let refused = |v: serde_json::Value| match sale_payment_to_wire(&sale_payment(v), Offset::constant(8), now)
            .unwrap_err()
        {
            Error::Invalid { field, reason } => (field, reason),
            other => panic!("{other}"),
        };
        let (field, reason) = refused(serde_json::json!({
            "sale": {"vendor_id": "77"}, "payment": {"reference": "PAY-1", "amount": "1", "method": "cash"}
        }));
        assert_eq!(field, "sale.reference");
        assert!(reason.contains("77"), "{reason}");
        let (field, _) = refused(serde_json::json!({
            "sale": {"reference": "INV-1"}, "payment": {"amount": "1", "method": "cash"}
        }));
        assert_eq!(field, "payment.reference");
        let (field, _) = refused(serde_json::json!({
            "sale": {"reference": "INV-1"}, "payment": {"reference": "P", "amount": "1.005", "method": "cash"}
        }));
        assert_eq!(field, "payment.amount");
        for method in [
            serde_json::json!("gift_card"),
            serde_json::json!("loyalty_points"),
            serde_json::json!({"other": "voucher"}),
        ] {
            let (field, reason) = refused(serde_json::json!({
                "sale": {"reference": "INV-1"}, "payment": {"reference": "P", "amount": "1", "method": method}
            }));
            assert_eq!(field, "payment.method");
            assert!(reason.contains("cash, cheque and bank transfer"), "{reason}");
        }
    }
}
