//! Pure domain ↔ wire functions: sales to invoices and orders, records back to
//! sales, customers both ways, items to stock levels, dates in the merchant's offset.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use posbridge_core::money::{LineAmounts, round_money};
use posbridge_core::{
    Customer, Decimal, Discount, Error, Payment, PaymentMethod, ReconciledReturn, ReconciledSale, Result, Sale,
    SaleKind, SaleLine, SaleStatus, StockLevel,
};
use rust_decimal::RoundingStrategy;

use crate::wire::{
    self, CustomerBody, CustomerRecord, Item, NewReturn, NewSale, NewSaleItem, ReturnItem, SaleRecord, Shipping,
};

/// Which document a vendor id names: `"880"` or `"invoice:880"` an invoice,
/// `"order:54"` an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaleRef {
    Invoice(u64),
    Order(u64),
}

impl SaleRef {
    pub(crate) fn parse(vendor_id: &str) -> Result<Self> {
        let s = vendor_id.trim();
        let (kind, id) = match s.split_once(':') {
            Some((k, id)) => (k.trim().to_ascii_lowercase(), id.trim()),
            None => ("invoice".to_owned(), s),
        };
        let n: u64 = id.parse().map_err(|_| {
            Error::invalid(
                "id",
                format!("{vendor_id:?} is not an Asalta sale id (`880`, `invoice:880` or `order:54`)"),
            )
        })?;
        match kind.as_str() {
            "invoice" => Ok(Self::Invoice(n)),
            "order" => Ok(Self::Order(n)),
            _ => Err(Error::invalid(
                "id",
                format!("{vendor_id:?}: the prefix must be `invoice:` or `order:`"),
            )),
        }
    }

    pub(crate) fn vendor_id(self) -> String {
        match self {
            Self::Invoice(n) => n.to_string(),
            Self::Order(n) => format!("order:{n}"),
        }
    }

    /// [`SaleRef::parse`] of a document's `sale.vendor_id`, a refusal naming that field.
    pub(crate) fn parse_field(vendor_id: &str, field: &str) -> Result<Self> {
        Self::parse(vendor_id).map_err(|e| match e {
            Error::Invalid { reason, .. } => Error::invalid(field, reason),
            other => other,
        })
    }

    /// Asalta's id of the sale.
    pub(crate) fn id(self) -> u64 {
        match self {
            Self::Invoice(n) | Self::Order(n) => n,
        }
    }

    /// Where the sale is read (`GET ?id=`).
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Invoice(_) => wire::INVOICES,
            Self::Order(_) => wire::ORDERS,
        }
    }

    /// Where a return of the sale is posted.
    pub(crate) fn return_path(self) -> &'static str {
        match self {
            Self::Invoice(_) => wire::RETURN_INVOICES,
            Self::Order(_) => wire::RETURN_ORDERS,
        }
    }

    /// The receipt's vendor id for return `id` of this sale: `return_invoice:252`,
    /// `return_order:38`.
    pub(crate) fn return_vendor_id(self, id: &str) -> String {
        match self {
            Self::Invoice(_) => format!("return_invoice:{id}"),
            Self::Order(_) => format!("return_order:{id}"),
        }
    }
}

/// A timestamp as Asalta writes dates: `YYYY-MM-DD HH:MM:SS` in the merchant's time.
pub(crate) fn local_datetime(at: Timestamp, offset: Offset) -> String {
    at.to_zoned(TimeZone::fixed(offset))
        .datetime()
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A timestamp as the document's shipping sample writes `delivery_date`:
/// `YYYY-MM-DD HH:MM` in the merchant's time (see `docs/vendors/asalta.md`).
pub(crate) fn local_minutes(at: Timestamp, offset: Offset) -> String {
    at.to_zoned(TimeZone::fixed(offset))
        .datetime()
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Reads `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD` in the merchant's time.
pub(crate) fn parse_local(text: &str, offset: Offset) -> std::result::Result<Timestamp, String> {
    let t = text.trim();
    let dt: DateTime = t
        .parse()
        .or_else(|_| DateTime::strptime("%Y-%m-%d %H:%M", t))
        .or_else(|_| {
            t.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|e| format!("date {t:?} is not YYYY-MM-DD HH:MM:SS: {e}"))?;
    offset
        .to_timestamp(dt)
        .map_err(|e| format!("date {t:?} is out of range: {e}"))
}

/// The Asalta ids a sale needs, resolved by the id map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SaleIds {
    pub customer_id: u64,
    pub biller_id: u64,
    pub warehouse_id: u64,
    /// One per line, in line order.
    pub product_ids: Vec<u64>,
}

/// What the document path is for a sale's kind.
pub(crate) fn sale_path(kind: SaleKind) -> Result<&'static str> {
    match kind {
        SaleKind::Invoice => Ok(wire::INVOICES),
        SaleKind::Order => Ok(wire::ORDERS),
        _ => Err(Error::invalid(
            "kind",
            "Asalta has no quotations: push an invoice or an order",
        )),
    }
}

/// Refuses what Asalta cannot take before anything is sent: a void sale (push it,
/// then void or return it), returned lines (use [`Returns`](posbridge_core::Returns))
/// and payments above the sale (Asalta's rule 400-4).
pub(crate) fn check_sale(sale: &ReconciledSale<'_>) -> Result<()> {
    let s = sale.sale();
    if s.status == SaleStatus::Void {
        return Err(Error::invalid(
            "status",
            "a void sale is not pushed to Asalta (it would be booked as a live invoice or order and move \
             stock): push the sale as it was rung up, then void it (Voids::void_sale, orders) or return its \
             goods (Returns::push_return)",
        ));
    }
    if let Some(i) = s.lines.iter().position(|l| l.quantity.is_sign_negative()) {
        return Err(Error::invalid(
            format!("lines[{i}].quantity"),
            "Asalta takes returns as return invoices or return orders, not negative lines: push a \
             return (Returns::push_return) against the sale's vendor id",
        ));
    }
    let mut paid = Decimal::ZERO;
    for (i, p) in s.payments.iter().enumerate() {
        if p.amount <= Decimal::ZERO {
            return Err(Error::invalid(
                format!("payments[{i}].amount"),
                "a payment must be positive",
            ));
        }
        if p.method == PaymentMethod::GiftCard && p.reference.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(Error::invalid(
                format!("payments[{i}].reference"),
                "Asalta redeems a gift card by its number (`no`): give the card number as the payment's reference",
            ));
        }
        paid = paid
            .checked_add(p.amount)
            .ok_or_else(|| Error::invalid("payments", "the payments overflow"))?;
    }
    let total = sale.amounts().total;
    if paid > total {
        return Err(Error::invalid(
            "payments",
            format!(
                "the paid amount {paid} is above the sale's total {total}: Asalta requires the paid amount to be less than or equal to the sales amount"
            ),
        ));
    }
    Ok(())
}

/// Whether Asalta's record of a sale says it is void (or cancelled).
pub(crate) fn is_void(record: &SaleRecord) -> bool {
    status_from(record) == SaleStatus::Void
}

/// Refuses what Asalta cannot take of a return before anything is sent, beyond
/// [`Return::reconcile`](posbridge_core::Return::reconcile): refunds that are not the
/// whole return. Asalta's return body has no payment: Asalta books the refund itself,
/// as a `returned` payment of the return's total (the document's sample answer), so
/// refunds given by the POS must come to that total, or Asalta's books would show
/// money given back that was not (see `docs/vendors/asalta.md`).
pub(crate) fn check_return(ret: &ReconciledReturn<'_>) -> Result<()> {
    let refunded = ret.refunded();
    let total = ret.amounts().total;
    if !ret.ret().refunds.is_empty() && refunded != total {
        return Err(Error::invalid(
            "refunds",
            format!(
                "the refunds total {refunded}, not the return's total {total}: Asalta takes no refund with a \
                 return and books the whole total as refunded, so give refunds of the whole total, or none"
            ),
        ));
    }
    Ok(())
}

/// Checks a return's lines against Asalta's record of the sale it returns: the sale is
/// not void, and each product returned was sold on it, no more than it sold (summed by
/// product). Earlier returns are not subtracted here (Asalta refuses those itself).
/// `product_ids` are the return's lines' Asalta ids, in line order.
pub(crate) fn check_return_against(
    ret: &ReconciledReturn<'_>,
    product_ids: &[u64],
    record: &SaleRecord,
    sale_id: &str,
) -> Result<()> {
    if is_void(record) {
        return Err(Error::invalid(
            "sale",
            format!("Asalta's sale {sale_id} is void: there is nothing left to return"),
        ));
    }
    let sold_by_id = |id: u64| -> Option<Decimal> {
        let mut sold = None;
        for item in &record.items {
            if item.product_id.as_deref().and_then(|p| p.trim().parse::<u64>().ok()) == Some(id) {
                let q = item.quantity.unwrap_or_default();
                sold = Some(sold.unwrap_or(Decimal::ZERO).checked_add(q).unwrap_or(q));
            }
        }
        sold
    };
    // A record whose lines carry no product ids cannot be checked against.
    if record.items.iter().all(|i| i.product_id.is_none()) {
        return Ok(());
    }
    let mut returned: std::collections::BTreeMap<u64, Decimal> = std::collections::BTreeMap::new();
    for (i, (line, id)) in ret.ret().lines.iter().zip(product_ids).enumerate() {
        let Some(sold) = sold_by_id(*id) else {
            return Err(Error::invalid(
                format!("lines[{i}].product_code"),
                format!(
                    "{:?} (Asalta item {id}) was not sold on Asalta's sale {sale_id}",
                    line.product_code
                ),
            ));
        };
        let r = returned.entry(*id).or_insert(Decimal::ZERO);
        *r = r.checked_add(line.quantity).unwrap_or(*r);
        if *r > sold {
            return Err(Error::invalid(
                format!("lines[{i}].quantity"),
                format!(
                    "returns {} of {:?} in all, but Asalta's sale {sale_id} sold {}",
                    r.normalize(),
                    line.product_code,
                    sold.normalize()
                ),
            ));
        }
    }
    Ok(())
}

/// The body of a new return invoice or order: the sale's id, lines mapped as a sale's
/// ([`item_discount`]), the return's discount as the amount computed, and the POS
/// reference (with the reason) in `note`, Asalta having no field for either.
pub(crate) fn return_body(
    ret: &ReconciledReturn<'_>,
    sale_id: u64,
    ids: &SaleIds,
    offset: Offset,
) -> Result<NewReturn> {
    let r = ret.ret();
    let amounts = ret.amounts();
    if ids.product_ids.len() != r.lines.len() || amounts.lines.len() != r.lines.len() {
        return Err(Error::invalid("lines", "internal: one product id per line is needed"));
    }
    let mut items = Vec::with_capacity(r.lines.len());
    for (i, ((line, a), id)) in r.lines.iter().zip(&amounts.lines).zip(&ids.product_ids).enumerate() {
        let (discount_percentage, item_discount) = item_discount(line, a, i)?;
        items.push(ReturnItem {
            product_id: *id,
            quantity: line.quantity.normalize(),
            discount_percentage,
            item_discount,
            bundle_items: None,
        });
    }
    let mut note = format!("POS reference {}", r.reference.trim());
    if let Some(reason) = r.reason.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        note.push_str(": ");
        note.push_str(reason);
    }
    Ok(NewReturn {
        sale_id,
        date: local_datetime(r.issued_at, offset),
        customer_id: ids.customer_id,
        biller_id: ids.biller_id,
        warehouse_id: ids.warehouse_id,
        note,
        return_surcharge: None,
        order_discount_percentage: false,
        order_discount: amounts.order_discount,
        items,
    })
}

/// Refuses a payment Asalta cannot take as the POS meant it, before anything is sent:
/// an amount with more than 2 decimals (Asalta keeps 4, the POS's money has 2: a
/// fraction of a cent would be booked that no till took), and a gift card payment
/// without the card's number.
pub(crate) fn check_payment(payment: &Payment, field: &str) -> Result<()> {
    if payment.amount.normalize().scale() > 2 {
        return Err(Error::invalid(
            format!("{field}.amount"),
            format!(
                "{} has more than 2 decimals: Asalta would book the fraction of a cent; round the payment to the cent",
                payment.amount
            ),
        ));
    }
    if payment.method == PaymentMethod::GiftCard && payment.reference.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(Error::invalid(
            format!("{field}.reference"),
            "Asalta redeems a gift card by its number (`no`): give the card number as the payment's reference",
        ));
    }
    Ok(())
}

/// How many decimals a percentage converted from an amount keeps: enough that
/// `gross × percentage` comes back to the amount at Asalta's 4 dp for any line below
/// 10^8, few enough for a PHP float to hold exactly.
const CONVERTED_PERCENT_DP: u32 = 10;

/// A line's discount as Asalta's `(discount_percentage, item_discount)`.
///
/// The document does not say whether an amount in `item_discount` comes off each
/// unit or the whole line (its only discounted sample line has quantity 1), so
/// nothing is sent that reads differently under the two:
/// - on a line of quantity 1, any discount goes as the amount [`Sale::reconcile`]
///   computed: one unit is the whole line, and the amount keeps the POS's cents
///   (Asalta keeps 4 decimals, so 10 % of 12.35 would be booked as 1.2350 where the
///   POS took 1.23, and a payment of the POS's total would then exceed Asalta's);
/// - on any other quantity, a percentage (or a cascade, as the one percentage it
///   comes to) goes as that percentage, which is the same per unit and per line;
/// - and an amount goes as the percentage of the line's gross (`quantity ×
///   unit_price`) it is, rounded to [`CONVERTED_PERCENT_DP`] decimals, after checking
///   that this percentage gives back the POS's amount to the cent; a line where it
///   would not is refused (`Error::Invalid`, nothing sent).
pub(crate) fn item_discount(line: &SaleLine, amounts: &LineAmounts, index: usize) -> Result<(bool, Decimal)> {
    let field = || format!("lines[{index}].discount");
    let Some(discount) = &line.discount else {
        return Ok((false, Decimal::ZERO));
    };
    if line.quantity == Decimal::ONE {
        return Ok((false, amounts.discount));
    }
    match discount {
        Discount::Percent(_) | Discount::Cascade(_) => {
            // What the discount takes off 100 is its percentage (a cascade's combined one).
            let percent = discount.amount_off(Decimal::ONE_HUNDRED, &field())?;
            Ok((true, percent.normalize()))
        }
        Discount::Amount(_) if amounts.discount.is_zero() => Ok((false, Decimal::ZERO)),
        Discount::Amount(_) => {
            let refuse = || {
                Error::invalid(
                    field(),
                    format!(
                        "Asalta's document does not say whether item_discount is per unit or per line, so an \
                         amount off a line of quantity {} is sent as a percentage, and {} off {} × {} is not one \
                         that gives the amount back to the cent: give the discount as a percentage, or split the line",
                        line.quantity, amounts.discount, line.quantity, line.unit_price
                    ),
                )
            };
            let gross = line.quantity.checked_mul(line.unit_price).ok_or_else(refuse)?;
            if gross.is_zero() {
                return Err(refuse());
            }
            let percent = amounts
                .discount
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|d| d.checked_div(gross))
                .ok_or_else(refuse)?
                .round_dp_with_strategy(CONVERTED_PERCENT_DP, RoundingStrategy::MidpointAwayFromZero)
                .normalize();
            let back = gross
                .checked_mul(percent)
                .and_then(|d| d.checked_div(Decimal::ONE_HUNDRED))
                .map(round_money);
            if back != Some(amounts.discount) || percent > Decimal::ONE_HUNDRED {
                return Err(refuse());
            }
            Ok((true, percent))
        }
    }
}

/// The body of a new invoice or order: ids from the id map, the date in the
/// merchant's time, each line's discount as [`item_discount`] decides, the order
/// discount as the amount [`Sale::reconcile`] computed (2 dp, half away from zero,
/// once on the subtotal); prices and tax come from Asalta's catalogue.
pub(crate) fn sale_body(sale: &ReconciledSale<'_>, ids: &SaleIds, offset: Offset) -> Result<NewSale> {
    let s = sale.sale();
    let amounts = sale.amounts();
    if ids.product_ids.len() != s.lines.len() || amounts.lines.len() != s.lines.len() {
        return Err(Error::invalid("lines", "internal: one product id per line is needed"));
    }
    let date = local_datetime(s.issued_at, offset);
    let mut items = Vec::with_capacity(s.lines.len());
    for (i, ((line, a), id)) in s.lines.iter().zip(&amounts.lines).zip(&ids.product_ids).enumerate() {
        let (discount_percentage, item_discount) = item_discount(line, a, i)?;
        items.push(NewSaleItem {
            product_id: *id,
            quantity: line.quantity.normalize(),
            discount_percentage,
            item_discount,
        });
    }
    let shipping = (!amounts.shipping.is_zero()).then(|| Shipping {
        delivery_date: local_minutes(s.issued_at, offset),
        delivery_charge: amounts.shipping,
        shipping_address: String::new(),
    });
    Ok(NewSale {
        date,
        customer_id: ids.customer_id,
        customer_name: s.customer.as_ref().map(|c| c.name.clone()),
        biller_id: ids.biller_id,
        warehouse_id: ids.warehouse_id,
        note: s.note.clone().unwrap_or_default(),
        staff_note: format!("POS reference {}", s.reference),
        order_discount_percentage: false,
        order_discount: amounts.order_discount,
        shipping,
        items,
    })
}

/// A sale's payment as Asalta's `POST /pos/payments` body fields: `paid_by`, the
/// `note` saying what an `other` stands for, `reference_no` and the gift card's `no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PaidBy {
    pub paid_by: String,
    pub note: Option<String>,
    pub reference_no: Option<String>,
    pub no: Option<String>,
}

/// Asalta's `paid_by` for a payment (the table and its reasons are in
/// `docs/vendors/asalta.md`, "Payments"). The document: "Values will be identifiers
/// in Payment Methods and default values are cash, CC, gift_card, other, loyalty";
/// its Payment Methods sample lists `Cheque` as a system-defined identifier.
/// A method Asalta has no identifier for goes as `other` with its name in `note`; a
/// gift card is redeemed by its number, which the POS gives as the payment's
/// reference and which goes in `no` only (never in `reference_no`).
pub(crate) fn paid_by(payment: &Payment) -> PaidBy {
    let mut out = PaidBy {
        paid_by: String::new(),
        note: None,
        reference_no: payment.reference.clone(),
        no: None,
    };
    let other = |note: &str| ("other".to_owned(), Some(note.to_owned()));
    let (paid_by, note) = match &payment.method {
        PaymentMethod::Cash => ("cash".to_owned(), None),
        PaymentMethod::Card => ("CC".to_owned(), None),
        PaymentMethod::Cheque => ("Cheque".to_owned(), None),
        PaymentMethod::BankTransfer => other("Bank transfer"),
        PaymentMethod::EWallet => other("E-wallet"),
        PaymentMethod::GiftCard => {
            out.no = out.reference_no.take().map(|n| n.trim().to_owned());
            ("gift_card".to_owned(), None)
        }
        PaymentMethod::LoyaltyPoints => ("loyalty".to_owned(), None),
        PaymentMethod::Other(name) if !name.trim().is_empty() => (name.trim().to_owned(), None),
        PaymentMethod::Other(_) => ("other".to_owned(), None),
        // A method added to posbridge after this connector: `other`, named in the note.
        method => {
            let name = serde_json::to_value(method)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            ("other".to_owned(), (!name.is_empty()).then_some(name))
        }
    };
    out.paid_by = paid_by;
    out.note = note;
    out
}

fn method_from(paid_by: Option<&str>) -> PaymentMethod {
    match paid_by.map(str::to_ascii_lowercase).as_deref() {
        Some("cash") => PaymentMethod::Cash,
        Some("cc") | Some("card") | Some("credit card") => PaymentMethod::Card,
        Some("cheque") => PaymentMethod::Cheque,
        Some("gift_card") => PaymentMethod::GiftCard,
        Some("loyalty") => PaymentMethod::LoyaltyPoints,
        Some(_) => PaymentMethod::Other(paid_by.unwrap_or_default().to_owned()),
        None => PaymentMethod::Other(String::new()),
    }
}

fn status_from(record: &SaleRecord) -> SaleStatus {
    let sale = record.sale_status.as_deref().map(str::to_ascii_lowercase);
    let paid = record.payment_status.as_deref().map(str::to_ascii_lowercase);
    match (sale.as_deref(), paid.as_deref()) {
        (Some("void" | "voided" | "cancelled" | "canceled"), _) => SaleStatus::Void,
        (_, Some("paid")) => SaleStatus::Paid,
        (Some("completed" | "delivered"), _) => SaleStatus::Delivered,
        (Some("processing" | "packaging" | "ordered"), _) => SaleStatus::Processing,
        _ => SaleStatus::Open,
    }
}

fn nonzero(d: Option<Decimal>) -> Option<Decimal> {
    d.filter(|d| !d.is_zero())
}

/// A sale read back from an invoice or an order. Prices are as Asalta charged them
/// (tax included); the tax itself is not restated on lines.
pub(crate) fn sale_from_record(
    record: &SaleRecord,
    kind: SaleKind,
    offset: Offset,
) -> std::result::Result<Sale, String> {
    let date = record.date.as_deref().ok_or("the sale has no date")?;
    let issued_at = parse_local(date, offset)?;
    let lines = record
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| -> std::result::Result<SaleLine, String> {
            Ok(SaleLine {
                product_code: item
                    .product_code
                    .clone()
                    .ok_or_else(|| format!("items[{i}] has no product_code"))?,
                name: item.product_name.clone(),
                quantity: item
                    .quantity
                    .ok_or_else(|| format!("items[{i}] has no quantity"))?
                    .normalize(),
                unit: None,
                unit_price: item
                    .unit_price
                    .ok_or_else(|| format!("items[{i}] has no unit_price"))?
                    .normalize(),
                discount: nonzero(item.item_discount).map(|d| Discount::Amount(d.normalize())),
                tax: None,
                total: None,
                note: None,
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let payments = record
        .payments
        .iter()
        .map(|p| Payment {
            reference: p.reference_no.clone(),
            amount: p.amount.normalize(),
            method: method_from(p.paid_by.as_deref()),
            paid_at: p.date.as_deref().and_then(|d| parse_local(d, offset).ok()),
        })
        .collect();
    let customer = record.customer_id.as_ref().map(|id| Customer {
        id: Some(id.clone()),
        name: record.customer.clone().unwrap_or_default(),
        ..Customer::default()
    });
    Ok(Sale {
        reference: record.reference_no.clone().ok_or("the sale has no reference_no")?,
        issued_at,
        kind,
        status: status_from(record),
        customer,
        lines,
        discount: nonzero(record.order_discount).map(|d| Discount::Amount(d.normalize())),
        shipping: record.shipping.unwrap_or_default().normalize(),
        payments,
        location: record.warehouse_code().or(record.warehouse_id()).map(str::to_owned),
        note: record.note.clone(),
        total: record.grand_total.map(|d| d.normalize()),
    })
}

/// A customer from Asalta's record. The phone is `+<phone_code> <phone>` when both
/// are known. Asalta has no customer code, so `code` stays empty.
pub(crate) fn customer_from_record(record: CustomerRecord) -> Customer {
    let profile = record.profile.unwrap_or_default();
    let phone = match (profile.phone_code, profile.phone) {
        (Some(code), Some(phone)) => Some(format!("+{} {phone}", code.trim_start_matches('+'))),
        (None, Some(phone)) => Some(phone),
        _ => None,
    };
    Customer {
        id: Some(record.id),
        code: None,
        name: record.name.unwrap_or_default(),
        email: profile.email,
        phone,
        address: profile.address,
        city: profile.city,
        tags: record.customer_group_name.into_iter().collect(),
    }
}

/// Splits `+65 1234 5678` into the calling code `65` and the digits `12345678`; a
/// number without `+` is all digits.
pub(crate) fn split_phone(phone: &str) -> (Option<u64>, Option<String>) {
    let t = phone.trim();
    if let Some(rest) = t.strip_prefix('+') {
        let mut parts = rest.splitn(2, [' ', '-']);
        let code = parts.next().and_then(|c| c.parse::<u64>().ok());
        let number: String = parts
            .next()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if code.is_some() && !number.is_empty() {
            return (code, Some(number));
        }
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    (None, (!digits.is_empty()).then_some(digits))
}

/// The body that creates (no `id`) or updates (with `id`) a customer. The phone is
/// sent as a string of digits so a leading zero survives.
pub(crate) fn customer_body(customer: &Customer, id: Option<u64>, group: Option<u64>) -> Result<CustomerBody> {
    if customer.name.trim().is_empty() {
        return Err(Error::invalid("name", "Asalta requires a customer name"));
    }
    let (phone_code, phone) = customer.phone.as_deref().map(split_phone).unwrap_or((None, None));
    Ok(CustomerBody {
        id,
        name: customer.name.trim().to_owned(),
        option_type: wire::CUSTOMER_OPTION_TYPE,
        customer_group_id: group,
        phone_code,
        phone,
        email: customer.email.clone(),
        address: customer.address.clone(),
        city: customer.city.clone(),
    })
}

/// An item's stock: one level per warehouse in its `inventory`, or its overall
/// `quantity` when it lists none. Services and digital items hold no stock.
pub(crate) fn stock_levels(item: &Item) -> std::result::Result<Vec<StockLevel>, String> {
    if matches!(item.r#type.as_deref(), Some("service" | "digital")) {
        return Ok(Vec::new());
    }
    let code = item
        .code
        .clone()
        .ok_or_else(|| format!("item {} has no code", item.id))?;
    if item.inventory.is_empty() {
        return Ok(vec![StockLevel {
            product_code: code,
            name: item.name.clone(),
            quantity: item.quantity.unwrap_or_default().normalize(),
            location: None,
        }]);
    }
    Ok(item
        .inventory
        .iter()
        .map(|inv| StockLevel {
            product_code: code.clone(),
            name: item.name.clone(),
            quantity: inv.quantity.normalize(),
            location: Some(inv.warehouse_id.clone()),
        })
        .collect())
}

/// A whole-number Asalta id from an id map entry.
pub(crate) fn numeric_id(id: &str, what: impl std::fmt::Display) -> Result<u64> {
    id.trim().parse().map_err(|_| {
        Error::config(format!(
            "asalta: the {what} id {id:?} is not an Asalta id (a whole number)"
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sgt() -> Offset {
        Offset::from_hours(8).unwrap()
    }

    #[test]
    fn dates_in_singapore_time() {
        let at: Timestamp = "2026-11-26T02:15:00Z".parse().unwrap();
        assert_eq!(local_datetime(at, sgt()), "2026-11-26 10:15:00");
        assert_eq!(parse_local("2026-11-26 10:15:00", sgt()).unwrap(), at);
        assert_eq!(parse_local("2026-11-26 10:15", sgt()).unwrap(), at);
        assert!(parse_local("26/11/2026", sgt()).is_err());
    }

    #[test]
    fn sale_refs() {
        assert_eq!(SaleRef::parse("880").unwrap(), SaleRef::Invoice(880));
        assert_eq!(SaleRef::parse("order:54").unwrap(), SaleRef::Order(54));
        assert!(SaleRef::parse("quote:1").is_err());
        assert!(SaleRef::parse("abc").is_err());
        assert_eq!(SaleRef::Order(54).vendor_id(), "order:54");
    }

    #[test]
    fn phones() {
        assert_eq!(split_phone("+65 6543 2130"), (Some(65), Some("65432130".into())));
        assert_eq!(split_phone("0812-345"), (None, Some("0812345".into())));
        assert_eq!(split_phone("n/a"), (None, None));
    }

    #[test]
    fn delivery_dates_to_the_minute_as_the_sample() {
        let at: Timestamp = "2026-11-26T02:15:42Z".parse().unwrap();
        assert_eq!(local_minutes(at, sgt()), "2026-11-26 10:15");
    }

    fn line_discount(quantity: &str, unit_price: &str, discount: serde_json::Value) -> Result<(bool, Decimal)> {
        let line: SaleLine = serde_json::from_value(serde_json::json!({
            "product_code": "A", "quantity": quantity, "unit_price": unit_price, "discount": discount
        }))
        .unwrap();
        let amounts = posbridge_core::money::line_amounts(
            line.quantity,
            line.unit_price,
            line.discount.as_ref(),
            None,
            "lines[0]",
        )
        .unwrap();
        item_discount(&line, &amounts, 0)
    }

    #[test]
    fn discounts_go_as_what_reads_alike_per_unit_and_per_line() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        // A percentage is one per unit and per line.
        let got = line_discount("2", "99", serde_json::json!({"percent": "10"})).unwrap();
        assert_eq!(got, (true, d("10")));
        // A cascade is the one percentage it comes to: 100 - 90 x 0.95.
        let got = line_discount("3", "25", serde_json::json!({"cascade": ["10", "5"]})).unwrap();
        assert_eq!(got, (true, d("14.5")));
        // Off one unit, any discount is the line's amount, with the POS's cents.
        let got = line_discount("1", "100", serde_json::json!({"amount": "12"})).unwrap();
        assert_eq!(got, (false, d("12")));
        let got = line_discount("1", "12.35", serde_json::json!({"percent": "10"})).unwrap();
        assert_eq!(got, (false, d("1.23")));
        // An amount off several units becomes the percentage that gives it back.
        let (pct, value) = line_discount("3", "3.335", serde_json::json!({"amount": "1.00"})).unwrap();
        assert!(pct);
        assert_eq!(value, d("9.9950024988"));
        assert_eq!(round_money(d("10.005") * value / Decimal::ONE_HUNDRED), d("1.00"));
        // A fractional quantity is not one unit either.
        let (pct, value) = line_discount("1.5", "10", serde_json::json!({"amount": "3"})).unwrap();
        assert_eq!((pct, value), (true, d("20")));
        // No discount, or none left after rounding.
        assert_eq!(
            line_discount("2", "5", serde_json::Value::Null).unwrap(),
            (false, Decimal::ZERO)
        );
        assert_eq!(
            line_discount("2", "5", serde_json::json!({"amount": "0"})).unwrap(),
            (false, Decimal::ZERO)
        );
        // Where no 10-decimal percentage gives the cent back (a line of 2 x 10^10),
        // the line is refused rather than booked with another discount.
        let e = line_discount("2", "10000000000", serde_json::json!({"amount": "0.01"})).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].discount"),
            "{e:?}"
        );
    }

    fn payment(json: serde_json::Value) -> Payment {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_payment_method_has_its_paid_by() {
        let by = |method: serde_json::Value| {
            let p = paid_by(&payment(serde_json::json!({"amount": "1", "method": method})));
            (p.paid_by, p.note)
        };
        let plain = |s: &str| (s.to_owned(), None);
        let other = |note: &str| ("other".to_owned(), Some(note.to_owned()));
        assert_eq!(by(serde_json::json!("cash")), plain("cash"));
        assert_eq!(by(serde_json::json!("card")), plain("CC"));
        assert_eq!(by(serde_json::json!("cheque")), plain("Cheque"));
        assert_eq!(by(serde_json::json!("bank_transfer")), other("Bank transfer"));
        assert_eq!(by(serde_json::json!("e_wallet")), other("E-wallet"));
        assert_eq!(by(serde_json::json!("gift_card")), plain("gift_card"));
        assert_eq!(by(serde_json::json!("loyalty_points")), plain("loyalty"));
        assert_eq!(by(serde_json::json!({"other": " NETS "})), plain("NETS"));
        assert_eq!(by(serde_json::json!({"other": ""})), plain("other"));
        // The gift card's number goes in `no`, not in `reference_no`.
        let card = paid_by(&payment(
            serde_json::json!({"reference": " 3147021291870209 ", "amount": "1", "method": "gift_card"}),
        ));
        assert_eq!(
            (card.no.as_deref(), card.reference_no),
            (Some("3147021291870209"), None)
        );
        let cash = paid_by(&payment(
            serde_json::json!({"reference": "PAY-1", "amount": "1", "method": "cash"}),
        ));
        assert_eq!((cash.reference_no.as_deref(), cash.no), (Some("PAY-1"), None));
        // Read back, Asalta's identifiers name the methods again.
        assert_eq!(method_from(Some("gift_card")), PaymentMethod::GiftCard);
        assert_eq!(method_from(Some("loyalty")), PaymentMethod::LoyaltyPoints);
        assert_eq!(method_from(Some("CC")), PaymentMethod::Card);
    }

    #[test]
    fn customers_are_written_with_option_type_item() {
        let c = Customer {
            name: "John".into(),
            ..Customer::default()
        };
        let body = serde_json::to_value(customer_body(&c, Some(7199), None).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"id": 7199, "name": "John", "option_type": "Item"})
        );
    }

    fn a_return(json: serde_json::Value) -> posbridge_core::Return {
        let mut base = serde_json::json!({
            "reference": "R-1", "sale": {"vendor_id": "880"}, "issued_at": "2026-11-27T01:30:00Z",
            "lines": [{"product_code": "A", "quantity": "2", "unit_price": "10", "discount": {"amount": "1"}}],
            "discount": {"percent": "10"}, "reason": " torn "
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), json.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(base).unwrap()
    }

    fn record(items: serde_json::Value, status: &str) -> SaleRecord {
        serde_json::from_value(serde_json::json!({"id": "880", "sale_status": status, "items": items})).unwrap()
    }

    #[test]
    fn a_return_goes_as_a_sale_would_with_its_reference_in_the_note() {
        let r = a_return(serde_json::json!({}));
        let rec = r.reconcile().unwrap();
        let ids = SaleIds {
            customer_id: 5,
            biller_id: 35,
            warehouse_id: 2,
            product_ids: vec![943],
        };
        let body = serde_json::to_value(return_body(&rec, 880, &ids, sgt()).unwrap()).unwrap();
        // 1.00 off 2 × 10 goes as 5 %; the return's 10 % of 19 as the amount 1.90.
        assert_eq!(
            body,
            serde_json::json!({"sale_id": 880, "date": "2026-11-27 09:30:00", "customer_id": 5, "biller_id": 35,
                "warehouse_id": 2, "note": "POS reference R-1: torn", "order_discount_percentage": false,
                "order_discount": 1.9, "items": [{"product_id": 943, "quantity": 2, "discount_percentage": true,
                "item_discount": 5}]})
        );
    }

    #[test]
    fn refunds_are_the_whole_return_or_none() {
        let none = a_return(serde_json::json!({}));
        assert!(check_return(&none.reconcile().unwrap()).is_ok());
        let whole = a_return(serde_json::json!({"refunds": [{"amount": "17.10", "method": "cash"}]}));
        assert!(check_return(&whole.reconcile().unwrap()).is_ok());
        let part = a_return(serde_json::json!({"refunds": [{"amount": "17", "method": "cash"}]}));
        let e = check_return(&part.reconcile().unwrap()).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "refunds"), "{e}");
        assert!(e.to_string().contains("17.10"), "{e}");
    }

    #[test]
    fn a_return_is_checked_against_what_the_sale_sold() {
        let r = a_return(serde_json::json!({}));
        let rec = r.reconcile().unwrap();
        let sold = |q: &str| {
            record(
                serde_json::json!([{"product_id": "943", "quantity": q}, {"product_id": "50", "quantity": "9"}]),
                "completed",
            )
        };
        assert!(check_return_against(&rec, &[943], &sold("2.0000"), "880").is_ok());
        let e = check_return_against(&rec, &[943], &sold("1.0000"), "880").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].quantity"),
            "{e}"
        );
        let e = check_return_against(&rec, &[7], &sold("2"), "880").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].product_code"),
            "{e}"
        );
        let e = check_return_against(&rec, &[943], &record(serde_json::json!([]), "void"), "880").unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "sale"), "{e}");
        // Lines without product ids cannot be checked: left to Asalta.
        let bare = record(serde_json::json!([{"product_code": "A", "quantity": "1"}]), "completed");
        assert!(check_return_against(&rec, &[943], &bare, "880").is_ok());
        // Two lines of one product are summed.
        let twice = a_return(serde_json::json!({"lines": [
            {"product_code": "A", "quantity": "1", "unit_price": "10"},
            {"product_code": "A", "quantity": "2", "unit_price": "10"}], "discount": null}));
        let e = check_return_against(&twice.reconcile().unwrap(), &[943, 943], &sold("2"), "880").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[1].quantity"),
            "{e}"
        );
    }

    #[test]
    fn payments_keep_to_the_cent_and_name_their_gift_card() {
        let p = |amount: &str, method: &str, reference: Option<&str>| {
            payment(serde_json::json!({"amount": amount, "method": method, "reference": reference}))
        };
        assert!(check_payment(&p("9.200", "cash", None), "payment").is_ok());
        let e = check_payment(&p("10.005", "cash", None), "payment").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "payment.amount"),
            "{e}"
        );
        let e = check_payment(&p("5", "gift_card", Some(" ")), "payment").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "payment.reference"),
            "{e}"
        );
        assert!(check_payment(&p("5", "gift_card", Some("3147021291870209")), "payment").is_ok());
    }

    #[test]
    fn void_sales_are_not_pushed() {
        let sale: Sale = serde_json::from_str(
            r#"{"reference":"R","issued_at":"2026-11-26T02:15:00Z","status":"void",
                "lines":[{"product_code":"A","quantity":"1","unit_price":"10"}]}"#,
        )
        .unwrap();
        let e = check_sale(&sale.reconcile().unwrap()).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "status"), "{e}");
    }

    #[test]
    fn sale_refs_name_their_return_paths() {
        assert_eq!(SaleRef::Invoice(880).return_vendor_id("252"), "return_invoice:252");
        assert_eq!(SaleRef::Order(54).return_vendor_id("38"), "return_order:38");
        assert_eq!(SaleRef::Order(54).return_path(), wire::RETURN_ORDERS);
        let e = SaleRef::parse_field("quote:1", "sale.vendor_id").unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "sale.vendor_id"),
            "{e}"
        );
    }

    #[test]
    fn payments_above_the_total_are_refused() {
        let sale: Sale = serde_json::from_str(
            r#"{"reference":"R","issued_at":"2026-11-26T02:15:00Z",
                "lines":[{"product_code":"A","quantity":"1","unit_price":"10"}],
                "payments":[{"amount":"10.01","method":"cash"}]}"#,
        )
        .unwrap();
        let e = check_sale(&sale.reconcile().unwrap()).unwrap_err();
        assert!(e.to_string().contains("10.01"), "{e}");
    }
}
