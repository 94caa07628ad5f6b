//! Pure mapping between posbridge's domain types and SalesMania's wire shapes: the
//! cascading discount strings (`"55.05+3"`), order statuses both ways, sales to
//! orders (with SalesMania's own arithmetic checked against core's), orders back to
//! sales, customers, products, visits, teams, list envelopes and error messages.
//! Every decision is written down in `docs/vendors/salesmania.md`.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;
use posbridge_core::money::round_money;
use posbridge_core::{
    Customer, Decimal, Discount, Error, FieldPath, ReconciledSale, Result, Sale, SaleKind, SaleLine, SaleStatus,
    StockLevel,
};
use serde_json::Value;

use crate::types::{Product, ProductUnit, Team, Visit};
use crate::{Database, wire};

// ---- cascading discounts -----------------------------------------------------------

/// Why a cascading discount string such as `"55.05+3"` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscountError {
    /// The string is empty (or only spaces).
    #[error("the discount {input:?} is empty")]
    Empty {
        /// The string (at most 64 characters of it).
        input: String,
    },
    /// A part between two `+` (or before the first, or after the last) is empty.
    #[error("part {index} of the discount {input:?} is empty")]
    EmptyPart {
        /// The string (at most 64 characters of it).
        input: String,
        /// Which part, from 1.
        index: usize,
    },
    /// A part is not a plain non-negative decimal number (`55.05`, `3`).
    #[error("part {index} of the discount {input:?} is not a percentage such as 55.05")]
    NotANumber {
        /// The string (at most 64 characters of it).
        input: String,
        /// Which part, from 1.
        index: usize,
    },
    /// A part is more than 100 %.
    #[error("part {index} of the discount {input:?} is more than 100 %")]
    OutOfRange {
        /// The string (at most 64 characters of it).
        input: String,
        /// Which part, from 1.
        index: usize,
    },
}

impl DiscountError {
    /// The error as a local refusal of `field`.
    pub(crate) fn invalid(self, field: impl Into<String>) -> Error {
        Error::invalid(field, self.to_string())
    }
}

/// Reads a cascading discount the way SalesMania writes it: percentages joined by
/// `+`, each taken off what the previous ones left (`"55.05+3"` is 55.05 %, then 3 %
/// of the rest). Exact: `"55.05"` is the decimal 55.05, never a float.
///
/// Each part is a plain non-negative decimal (`3`, `55.05`, `0.5`; spaces around it
/// are allowed, as are leading and trailing zeros) of at most 100. Refused with a
/// [`DiscountError`]: an empty string, an empty part (`"5+"`, `"+5"`, `"5++3"`), a
/// sign, an exponent, a comma, `.5` or `5.`, anything else that is not a digit or one
/// point, and a part over 100.
///
/// ```
/// use posbridge_salesmania::{format_discount, parse_discount};
/// use posbridge_core::Decimal;
///
/// let parts = parse_discount("55.05+3")?;
/// assert_eq!(parts, vec![Decimal::new(5505, 2), Decimal::from(3)]);
/// assert_eq!(format_discount(&parts), "55.05+3");
/// assert!(parse_discount("55,05").is_err());
/// # Ok::<(), posbridge_salesmania::DiscountError>(())
/// ```
pub fn parse_discount(text: &str) -> std::result::Result<Vec<Decimal>, DiscountError> {
    let input = || text.chars().take(64).collect::<String>();
    if text.trim().is_empty() {
        return Err(DiscountError::Empty { input: input() });
    }
    let mut out = Vec::new();
    for (i, raw) in text.split('+').enumerate() {
        let index = i + 1;
        let part = raw.trim();
        if part.is_empty() {
            return Err(DiscountError::EmptyPart { input: input(), index });
        }
        if !is_plain_decimal(part) {
            return Err(DiscountError::NotANumber { input: input(), index });
        }
        let value = Decimal::from_str(part).map_err(|_| DiscountError::NotANumber { input: input(), index })?;
        if value > Decimal::ONE_HUNDRED {
            return Err(DiscountError::OutOfRange { input: input(), index });
        }
        out.push(value);
    }
    Ok(out)
}

/// `digits` or `digits.digits`.
fn is_plain_decimal(part: &str) -> bool {
    let (whole, fraction) = match part.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (part, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Writes percentages the way SalesMania reads them: each without trailing zeros
/// (`55.050` → `55.05`, `3.0` → `3`), joined by `+`, no spaces. The inverse of
/// [`parse_discount`] by value: `parse_discount(&format_discount(p)) == p` for any
/// non-empty list of percentages in `0..=100`, and `format_discount(&parse_discount(s)?)
/// == s` for any string already in this canonical form. An empty list gives `""`
/// (no discount: the connector then sends no discount field).
pub fn format_discount(percentages: &[Decimal]) -> String {
    percentages
        .iter()
        .map(|p| p.normalize().to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// What is left of `base` after the percentages, taken one after the other, exactly
/// (SalesMania's way; the same steps as core's `Discount::Cascade`). Never negative
/// for a base that is not; never more than the base.
pub(crate) fn apply_cascade(base: Decimal, percentages: &[Decimal], field: FieldPath<'_>) -> Result<Decimal> {
    let overflow = || Error::invalid(field, "amount is too large to compute exactly");
    let mut rest = base;
    for p in percentages {
        if *p < Decimal::ZERO || *p > Decimal::ONE_HUNDRED {
            return Err(Error::invalid(
                field,
                format!("discount percentage {p} is outside 0..=100"),
            ));
        }
        let off = rest.checked_mul(*p).ok_or_else(overflow)? / Decimal::ONE_HUNDRED;
        rest = rest.checked_sub(off).ok_or_else(overflow)?;
        if base >= Decimal::ZERO && rest < Decimal::ZERO {
            rest = Decimal::ZERO;
        }
    }
    Ok(rest)
}

/// A domain discount as SalesMania's pair of fields: percentages as a cascade
/// string, a flat amount as a number.
fn discount_fields(discount: Option<&Discount>, field: FieldPath<'_>) -> Result<(Option<String>, Option<Decimal>)> {
    Ok(match discount {
        None => (None, None),
        Some(Discount::Percent(p)) => (Some(format_discount(&[*p])), None),
        Some(Discount::Cascade(ps)) if ps.is_empty() => {
            return Err(Error::invalid(
                field,
                "a cascading discount needs at least one percentage",
            ));
        }
        Some(Discount::Cascade(ps)) => (Some(format_discount(ps)), None),
        Some(Discount::Amount(a)) => (None, Some(*a)),
    })
}

/// SalesMania's pair of discount fields as a domain discount: a non-zero cascade
/// string wins (one part is a `Percent`, several a `Cascade`), else a non-zero amount.
fn discount_from_fields(
    percent: Option<&str>,
    amount: Option<Decimal>,
) -> std::result::Result<Option<Discount>, String> {
    if let Some(text) = percent.filter(|t| !t.trim().is_empty()) {
        let parts = parse_discount(text).map_err(|e| e.to_string())?;
        if parts.iter().any(|p| !p.is_zero()) {
            return Ok(Some(match parts.as_slice() {
                [one] => Discount::Percent(*one),
                _ => Discount::Cascade(parts),
            }));
        }
    }
    match amount {
        Some(a) if a < Decimal::ZERO => Err(format!("discount amount {a} is negative")),
        Some(a) if !a.is_zero() => Ok(Some(Discount::Amount(a))),
        _ => Ok(None),
    }
}

// ---- statuses ----------------------------------------------------------------------

/// A domain status as SalesMania's order status: open → Baru, processing → Diproses,
/// delivered → Terkirim, paid → Lunas, void → Batal.
pub(crate) fn status_to_vendor(status: SaleStatus) -> Result<&'static str> {
    Ok(match status {
        SaleStatus::Open => wire::status::BARU,
        SaleStatus::Processing => wire::status::DIPROSES,
        SaleStatus::Delivered => wire::status::TERKIRIM,
        SaleStatus::Paid => wire::status::LUNAS,
        SaleStatus::Void => wire::status::BATAL,
        other => {
            return Err(Error::invalid(
                "status",
                format!("SalesMania has no order status for {other:?}"),
            ));
        }
    })
}

/// SalesMania's order status as a domain status (case and spaces ignored): the
/// inverse of [`status_to_vendor`].
pub(crate) fn status_from_vendor(text: &str) -> Option<SaleStatus> {
    let t = text.trim();
    [
        (wire::status::BARU, SaleStatus::Open),
        (wire::status::DIPROSES, SaleStatus::Processing),
        (wire::status::TERKIRIM, SaleStatus::Delivered),
        (wire::status::LUNAS, SaleStatus::Paid),
        (wire::status::BATAL, SaleStatus::Void),
    ]
    .into_iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(t))
    .map(|(_, s)| s)
}

/// The POS's own name of a status, sent as `ext_order_status_name`.
pub(crate) fn status_name(status: SaleStatus) -> &'static str {
    match status {
        SaleStatus::Open => "open",
        SaleStatus::Processing => "processing",
        SaleStatus::Delivered => "delivered",
        SaleStatus::Paid => "paid",
        SaleStatus::Void => "void",
        _ => "other",
    }
}

// ---- dates -------------------------------------------------------------------------

/// The day of `at` in the merchant's offset, `YYYY-MM-DD`.
pub(crate) fn order_date(at: Timestamp, offset: Offset) -> String {
    offset.to_datetime(at).date().to_string()
}

/// An instant from what SalesMania may send: an RFC 3339 timestamp, a local date
/// and time (`2024-01-01 10:15:00` or with a `T`), or a date (midnight), the last two
/// in the merchant's offset.
pub(crate) fn read_instant(text: &str, offset: Offset) -> Option<Timestamp> {
    let t = text.trim();
    if let Ok(ts) = Timestamp::from_str(t) {
        return Some(ts);
    }
    if let Ok(dt) = DateTime::from_str(t) {
        return offset.to_timestamp(dt).ok();
    }
    let date = read_date(t)?;
    offset
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()
}

/// A day from `YYYY-MM-DD`, with or without a time after it.
pub(crate) fn read_date(text: &str) -> Option<Date> {
    Date::from_str(text.trim().get(..10)?).ok()
}

/// Parses a UTC offset written `+07:00`, `+0700`, `+07` or `Z`.
pub(crate) fn parse_offset(text: &str) -> std::result::Result<Offset, String> {
    let t = text.trim();
    let bad = || format!("{t:?} is not a UTC offset such as \"+07:00\"");
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(Offset::UTC);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1i32, &t[1..]),
        Some(b'-') => (-1i32, &t[1..]),
        _ => return Err(bad()),
    };
    let (hours, minutes) = match rest.len() {
        2 => (rest, "00"),
        4 => (rest.get(..2).ok_or_else(bad)?, rest.get(2..).ok_or_else(bad)?),
        5 if rest.as_bytes().get(2) == Some(&b':') => (rest.get(..2).ok_or_else(bad)?, rest.get(3..).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if !(hours.bytes().all(|b| b.is_ascii_digit()) && minutes.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let h: i32 = hours.parse().map_err(|_| bad())?;
    let m: i32 = minutes.parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60)).map_err(|_| bad())
}

// ---- sales to orders ---------------------------------------------------------------

/// What every order of one merchant carries besides the sale itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderOptions<'a> {
    pub utc_offset: Offset,
    pub unit: &'a str,
    pub team_id: Option<u64>,
    pub visit_status: Option<&'a str>,
    pub walk_in_customer_id: Option<u64>,
}

/// Which SalesMania customer an order is for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CustomerNeed {
    /// The sale's customer carries SalesMania's id.
    Id(u64),
    /// Resolved by `ext_cust_no` (and created on first use when the config allows).
    ByCode { code: String, customer: Box<Customer> },
    /// A sale without a customer goes to the configured walk-in customer.
    WalkIn(u64),
}

/// A line's POS product code, to resolve into SalesMania's product id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineProduct {
    /// `lines[i].product_code`.
    pub field: FieldPath<'static>,
    pub code: String,
}

/// An order built and checked from a sale, waiting for its SalesMania ids.
#[derive(Debug, Clone)]
pub(crate) struct PreparedOrder {
    order: wire::NewOrder,
    pub products: Vec<LineProduct>,
    pub customer: CustomerNeed,
}

impl PreparedOrder {
    /// The order with its product ids (one per line, in order) and customer id.
    pub(crate) fn finish(mut self, product_ids: &[u64], customer_id: u64) -> Result<wire::NewOrder> {
        if product_ids.len() != self.order.ordered_products.len() {
            return Err(Error::invalid(
                "lines",
                "a product id is missing for a line (a posbridge bug)",
            ));
        }
        for (line, id) in self.order.ordered_products.iter_mut().zip(product_ids) {
            line.product_id = *id;
        }
        self.order.customer_id = customer_id;
        Ok(self.order)
    }
}

/// Builds the order for a reconciled sale and checks it locally, before any request:
/// SalesMania's arithmetic on the fields sent must give core's amounts to the cent.
///
/// Refused ([`Error::Invalid`], nothing sent): a quotation (`kind`), shipping
/// (`shipping`: no field for it), a quantity that is not positive
/// (`lines[i].quantity`: an order has no returns), tax added on top of the price
/// (`lines[i].tax`: no field for it; tax included in the price is fine), payments
/// above the total (`payments`), a sale without a customer and no walk-in customer
/// (`customer`), a customer with neither SalesMania id nor code (`customer.code`).
pub(crate) fn prepare_order(checked: &ReconciledSale<'_>, options: &OrderOptions<'_>) -> Result<PreparedOrder> {
    let sale = checked.sale();
    let amounts = checked.amounts();
    if sale.kind == SaleKind::Quotation {
        return Err(Error::invalid(
            "kind",
            "a quotation is not an order: SalesMania would book it as a real order",
        ));
    }
    if !sale.shipping.is_zero() {
        return Err(Error::invalid(
            "shipping",
            format!(
                "SalesMania orders have no shipping field; a shipping charge of {} would be lost",
                sale.shipping
            ),
        ));
    }
    let mut lines = Vec::with_capacity(sale.lines.len());
    let mut products = Vec::with_capacity(sale.lines.len());
    for (i, line) in sale.lines.iter().enumerate() {
        lines.push(order_line(line, i, FieldPath::Line(i), options)?);
        products.push(LineProduct {
            field: FieldPath::LineField(i, "product_code"),
            code: line.product_code.clone(),
        });
    }
    let (disc_percent, disc_amount) = discount_fields(sale.discount.as_ref(), FieldPath::Name("discount"))?;
    let mut paid = Decimal::ZERO;
    for p in &sale.payments {
        paid = paid
            .checked_add(p.amount)
            .ok_or_else(|| Error::invalid("payments", "amount is too large to compute exactly"))?;
    }
    if paid > amounts.total {
        return Err(Error::invalid(
            "payments",
            format!("payments of {paid} exceed the sale's total of {}", amounts.total),
        ));
    }
    let order = wire::NewOrder {
        date: order_date(sale.issued_at, options.utc_offset),
        customer_id: 0,
        team_id: options.team_id,
        description: sale.note.clone().filter(|n| !n.trim().is_empty()),
        ordered_products: lines,
        disc_percent,
        disc_amount,
        total_paid: (!sale.payments.is_empty()).then_some(paid),
        status: status_to_vendor(sale.status)?,
        visit_status: options.visit_status.map(str::to_owned),
        ext_order_no: sale.reference.clone(),
        ext_order_status_name: status_name(sale.status),
    };
    check_vendor_totals(&order, checked)?;
    Ok(PreparedOrder {
        order,
        products,
        customer: customer_need(sale, options)?,
    })
}

fn order_line(
    line: &SaleLine,
    i: usize,
    field: FieldPath<'_>,
    options: &OrderOptions<'_>,
) -> Result<wire::OrderedProduct> {
    if line.quantity <= Decimal::ZERO {
        return Err(Error::invalid(
            field.child("quantity"),
            format!(
                "SalesMania orders take positive quantities; {} would be a return",
                line.quantity
            ),
        ));
    }
    if let Some(tax) = &line.tax
        && !tax.inclusive
        && !tax.rate.is_zero()
    {
        return Err(Error::invalid(
            field.child("tax"),
            "SalesMania orders have no tax field: tax added on top of the price would be lost (tax included in \
             the price is accepted)",
        ));
    }
    let (item_disc_percent, item_disc_amount) = discount_fields(line.discount.as_ref(), field.child("discount"))?;
    let unit = line
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(options.unit);
    Ok(wire::OrderedProduct {
        product_id: 0,
        qty: line.quantity.normalize(),
        unit: unit.to_owned(),
        price: line.unit_price,
        item_disc_percent,
        item_disc_amount,
        description: line.note.clone().filter(|n| !n.trim().is_empty()),
        ext_order_line_id: u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1),
    })
}

fn customer_need(sale: &Sale, options: &OrderOptions<'_>) -> Result<CustomerNeed> {
    let Some(customer) = &sale.customer else {
        return options.walk_in_customer_id.map(CustomerNeed::WalkIn).ok_or_else(|| {
            Error::invalid(
                "customer",
                "SalesMania orders need a customer: give the sale one, or set walk_in_customer_id in the config",
            )
        });
    };
    if let Some(id) = customer.id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        return id.parse::<u64>().map(CustomerNeed::Id).map_err(|_| {
            Error::invalid(
                "customer.id",
                format!("{id:?} is not a SalesMania customer id (a whole number)"),
            )
        });
    }
    match customer.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Ok(CustomerNeed::ByCode {
            code: code.to_owned(),
            customer: Box::new(customer.clone()),
        }),
        None => Err(Error::invalid(
            "customer.code",
            "a customer needs a code (sent as ext_cust_no) or SalesMania's id",
        )),
    }
}

/// SalesMania's arithmetic on the fields sent: each line is `qty × price` less its
/// cascade (or flat amount), rounded once to 2 dp half away from zero; the order
/// discount applies to the sum of the lines, rounded once. Both must equal core's
/// reconciled amounts, or the sale is refused.
fn check_vendor_totals(order: &wire::NewOrder, checked: &ReconciledSale<'_>) -> Result<()> {
    let amounts = checked.amounts();
    let mut subtotal = Decimal::ZERO;
    for (i, (line, want)) in order.ordered_products.iter().zip(&amounts.lines).enumerate() {
        let field = FieldPath::Line(i);
        let overflow = || Error::invalid(field, "amount is too large to compute exactly");
        let gross = line.qty.checked_mul(line.price).ok_or_else(overflow)?;
        let net = match (&line.item_disc_percent, line.item_disc_amount) {
            (Some(text), _) => {
                let parts = parse_discount(text).map_err(|e| e.invalid(field.child("discount")))?;
                apply_cascade(gross, &parts, field)?
            }
            (None, Some(amount)) => gross.checked_sub(amount).ok_or_else(overflow)?,
            (None, None) => gross,
        };
        let total = round_money(net);
        if total != want.total {
            return Err(Error::invalid(
                field.child("total"),
                format!("SalesMania would compute this line as {total}, not {}", want.total),
            ));
        }
        subtotal = subtotal.checked_add(total).ok_or_else(overflow)?;
    }
    let after = match (&order.disc_percent, order.disc_amount) {
        (Some(text), _) => {
            let parts = parse_discount(text).map_err(|e| e.invalid("discount"))?;
            round_money(apply_cascade(subtotal, &parts, FieldPath::Name("discount"))?)
        }
        (None, Some(amount)) => subtotal
            .checked_sub(round_money(amount))
            .ok_or_else(|| Error::invalid("discount", "amount is too large to compute exactly"))?,
        (None, None) => subtotal,
    };
    if after != amounts.total {
        return Err(Error::invalid(
            "total",
            format!("SalesMania would compute this order as {after}, not {}", amounts.total),
        ));
    }
    Ok(())
}

// ---- orders to sales ---------------------------------------------------------------

/// An order read back as a sale, as well as the order allows: see the losses in
/// `docs/vendors/salesmania.md` (no customer name, no line names, no payments, no
/// totals; the date is midnight of the order's day in the merchant's offset).
pub(crate) fn sale_from_order(order: &wire::ExtOrder, offset: Offset) -> std::result::Result<Sale, String> {
    let reference = match (order.reference(), order.order_id()) {
        (Some(r), _) => r.to_owned(),
        (None, Some(id)) => id.to_string(),
        (None, None) => return Err("the order has neither ext_order_id nor an id".into()),
    };
    let date = order
        .trans_date
        .as_deref()
        .or(order.date.as_deref())
        .ok_or("the order has no trans_date")?;
    let issued_at = read_instant(date, offset).ok_or_else(|| format!("trans_date {date:?} is not a date"))?;
    let status = match order.sm_status.as_deref().or(order.status.as_deref()) {
        None => SaleStatus::Open,
        Some(s) if s.trim().is_empty() => SaleStatus::Open,
        Some(s) => status_from_vendor(s).ok_or_else(|| format!("unknown order status {s:?}"))?,
    };
    let customer_id = order.sm_customer_id.or(order.customer_id);
    let customer_code = order.ext_cust_no.clone().filter(|c| !c.trim().is_empty());
    let customer = (customer_id.is_some() || customer_code.is_some()).then(|| Customer {
        id: customer_id.map(|id| id.to_string()),
        code: customer_code,
        ..Customer::default()
    });
    let mut lines = Vec::with_capacity(order.lines().len());
    for (i, l) in order.lines().iter().enumerate() {
        let product_code = l
            .ext_product_code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| l.sm_product_id.or(l.product_id).map(|id| id.to_string()))
            .ok_or_else(|| format!("line {i} has no product"))?;
        lines.push(SaleLine {
            product_code,
            name: None,
            quantity: l.qty.ok_or_else(|| format!("line {i} has no qty"))?,
            unit: l.unit.clone(),
            unit_price: l.price.ok_or_else(|| format!("line {i} has no price"))?,
            discount: discount_from_fields(l.item_disc_percent.as_deref(), l.item_disc_amount)
                .map_err(|e| format!("line {i}: {e}"))?,
            tax: None,
            total: None,
            note: l.description.clone().filter(|d| !d.trim().is_empty()),
        });
    }
    Ok(Sale {
        reference,
        issued_at,
        kind: SaleKind::Order,
        status,
        customer,
        lines,
        discount: discount_from_fields(order.disc_percent.as_deref(), order.disc_amount)?,
        shipping: Decimal::ZERO,
        payments: Vec::new(),
        location: None,
        note: order.description.clone().filter(|d| !d.trim().is_empty()),
        total: None,
    })
}

/// The order booked under the POS `reference` among `orders`, matched on the field
/// itself in every entry (the list endpoint's filter is not trusted: a server that
/// ignores it answers every order). `Some(id)` when one matches: SalesMania's id of
/// the first matching entry that has one, `None` when no matching entry says its id
/// (the order exists all the same).
pub(crate) fn find_order(orders: &[wire::ExtOrder], reference: &str) -> Option<Option<u64>> {
    let mut matching = orders.iter().filter(|o| o.has_reference(reference)).peekable();
    matching.peek()?;
    Some(matching.find_map(wire::ExtOrder::order_id))
}

// ---- customers ---------------------------------------------------------------------

/// A customer's body. `None` fields are left out: on an update, SalesMania keeps
/// what it has. Tags are always sent on an update (an empty list clears them), on a
/// create only when there are some. The domain's `email` has no SalesMania field.
pub(crate) fn customer_body(customer: &Customer, update: bool) -> Result<wire::CustomerBody> {
    let name = customer.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "a SalesMania customer needs a name"));
    }
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    Ok(wire::CustomerBody {
        name: name.to_owned(),
        address: text(&customer.address),
        city: text(&customer.city),
        phone: text(&customer.phone),
        ext_cust_no: text(&customer.code),
        tags: (update || !customer.tags.is_empty()).then(|| customer.tags.clone()),
    })
}

/// A customer record as a domain customer.
pub(crate) fn customer_from_record(r: wire::CustomerRecord) -> std::result::Result<Customer, String> {
    let name = r
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or("a customer has no name")?;
    Ok(Customer {
        id: r.id.map(|id| id.to_string()),
        code: r.ext_cust_no.filter(|c| !c.trim().is_empty()),
        name,
        email: r.email.filter(|e| !e.trim().is_empty()),
        phone: r.phone.filter(|p| !p.trim().is_empty()),
        address: r.address.filter(|a| !a.trim().is_empty()),
        city: r.city.filter(|c| !c.trim().is_empty()),
        tags: r.tags,
    })
}

// ---- products and stock ------------------------------------------------------------

/// The longest product name SalesMania takes.
pub(crate) const MAX_PRODUCT_NAME: usize = 200;

/// See [`Product::check`].
pub(crate) fn check_product(p: &Product) -> Result<()> {
    let name = p.name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "a SalesMania product needs a name"));
    }
    if name.chars().count() > MAX_PRODUCT_NAME {
        return Err(Error::invalid(
            "name",
            format!("SalesMania takes product names of at most {MAX_PRODUCT_NAME} characters"),
        ));
    }
    if p.product_units.is_empty() {
        return Err(Error::invalid(
            "product_units",
            "a SalesMania product needs at least one unit",
        ));
    }
    for (i, u) in p.product_units.iter().enumerate() {
        if u.name.trim().is_empty() {
            return Err(Error::invalid(
                format!("product_units[{i}].name"),
                "a unit needs a name",
            ));
        }
        if u.ratio <= Decimal::ZERO {
            return Err(Error::invalid(
                format!("product_units[{i}].ratio"),
                format!("ratio {} is not positive", u.ratio),
            ));
        }
        if u.price < Decimal::ZERO {
            return Err(Error::invalid(
                format!("product_units[{i}].price"),
                format!("price {} is negative", u.price),
            ));
        }
    }
    if !p.product_units.iter().any(|u| u.ratio == Decimal::ONE) {
        return Err(Error::invalid(
            "product_units",
            "SalesMania needs at least one unit of ratio 1 (the base unit stock is counted in)",
        ));
    }
    for (i, d) in p.default_disc.iter().enumerate() {
        if *d < Decimal::ZERO || *d > Decimal::ONE_HUNDRED {
            return Err(Error::invalid(
                format!("default_disc[{i}]"),
                format!("discount percentage {d} is outside 0..=100"),
            ));
        }
    }
    Ok(())
}

/// A product's body, checked first.
pub(crate) fn product_body(p: &Product) -> Result<wire::ProductBody> {
    check_product(p)?;
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    Ok(wire::ProductBody {
        name: p.name.trim().to_owned(),
        description: text(&p.description),
        sku: text(&p.sku),
        tags: p.tags.clone(),
        status: p.status,
        ext_product_code: text(&p.ext_product_code),
        default_disc: (!p.default_disc.is_empty()).then(|| format_discount(&p.default_disc)),
        qty_on_hand: Some(p.qty_on_hand),
        product_units: p
            .product_units
            .iter()
            .map(|u| wire::UnitBody {
                name: u.name.trim().to_owned(),
                price: u.price,
                ratio: u.ratio,
            })
            .collect(),
    })
}

/// A product record as a typed product.
pub(crate) fn product_from_record(r: wire::ProductRecord) -> std::result::Result<Product, String> {
    let name = r.name.filter(|n| !n.trim().is_empty()).ok_or("a product has no name")?;
    let mut units = Vec::with_capacity(r.product_units.len());
    for (i, u) in r.product_units.into_iter().enumerate() {
        units.push(ProductUnit {
            name: u.name.ok_or_else(|| format!("unit {i} of {name:?} has no name"))?,
            price: u.price.ok_or_else(|| format!("unit {i} of {name:?} has no price"))?,
            ratio: u.ratio.ok_or_else(|| format!("unit {i} of {name:?} has no ratio"))?,
        });
    }
    let default_disc = match r.default_disc.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => parse_discount(d).map_err(|e| format!("default_disc of {name:?}: {e}"))?,
        None => Vec::new(),
    };
    Ok(Product {
        id: r.id,
        qty_on_hand: r
            .qty_on_hand
            .ok_or_else(|| format!("product {name:?} has no qty_on_hand"))?,
        description: r.description,
        sku: r.sku,
        tags: r.tags,
        status: r.status,
        ext_product_code: r.ext_product_code.filter(|c| !c.trim().is_empty()),
        default_disc,
        product_units: units,
        name,
    })
}

// ---- the catalogue (core's `Product`) -----------------------------------------------

/// The record fields the catalogue's [`posbridge_core::Product`] models; every other
/// field of a product record is kept in its `extras`.
const MODELLED: [&str; 5] = ["id", "name", "ext_product_code", "status", "product_units"];

/// A decimal written as a JSON number or a string (`120`, `"80.5"`).
fn decimal_of(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .ok()
}

/// A product record (as SalesMania answers it) as a catalogue product: `code` is
/// `ext_product_code`, else the SKU, else SalesMania's id (as for stock); `unit` and
/// `price` are the first unit of ratio 1's; `active` is `status` (absent: active);
/// no tax, barcode or category (SalesMania has none). `extras` keeps every other
/// field as SalesMania wrote it (`qty_on_hand`, `sku`, `description`, `tags`,
/// `default_disc`, anything else; nulls dropped), and the units other than the base
/// one as `product_units`.
pub(crate) fn catalogue_product(value: Value) -> std::result::Result<posbridge_core::Product, String> {
    let Value::Object(raw) = value else {
        return Err("a product is not a JSON object".into());
    };
    let r: wire::ProductRecord = serde_json::from_value(Value::Object(raw.clone())).map_err(|e| e.to_string())?;
    let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let name = nonempty(&r.name).ok_or("a product has no name")?;
    let code = nonempty(&r.ext_product_code)
        .or_else(|| nonempty(&r.sku))
        .or_else(|| r.id.map(|id| id.to_string()))
        .ok_or_else(|| format!("product {name:?} has no ext_product_code, sku or id"))?;
    let mut base = None;
    for (i, u) in r.product_units.iter().enumerate() {
        if base.is_none() && u.ratio == Some(Decimal::ONE) && nonempty(&u.name).is_some() {
            base = Some(i);
        }
    }
    let mut extras = serde_json::Map::new();
    for (key, v) in raw {
        if v.is_null() || MODELLED.contains(&key.as_str()) {
            continue;
        }
        extras.insert(key, v);
    }
    let others = other_units(&r, base, &code)?;
    if !others.is_empty() {
        extras.insert("product_units".into(), Value::Array(others));
    }
    let base = base.and_then(|i| r.product_units.get(i));
    let mut product = posbridge_core::Product::new(code, name);
    product.unit = base.and_then(|u| nonempty(&u.name));
    product.price = base.and_then(|u| u.price);
    product.active = r.status.unwrap_or(true);
    product.id = r.id.map(|id| id.to_string());
    product.extras = extras;
    Ok(product)
}

/// The units other than the base one, as `{name, price, ratio}`.
fn other_units(r: &wire::ProductRecord, base: Option<usize>, code: &str) -> std::result::Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, u) in r.product_units.iter().enumerate() {
        let (Some(name), Some(price), Some(ratio)) = (&u.name, u.price, u.ratio) else {
            return Err(format!("unit {i} of product {code:?} lacks a name, a price or a ratio"));
        };
        if Some(i) != base {
            out.push(serde_json::json!({"name": name, "price": number(price), "ratio": number(ratio)}));
        }
    }
    Ok(out)
}

/// A decimal as the JSON number that writes it exactly (`4500`, `17500.5`).
fn number(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or_else(|_| Value::String(d.to_string()))
}

/// Where a catalogue product's body is for: a new product (`POST`, which requires
/// `qty_on_hand`) or an update (`PATCH`, which leaves the stock alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    /// `POST /products`.
    Create,
    /// `PATCH /products/{id}`.
    Update,
}

/// A catalogue product as SalesMania's product body, checked locally first (nothing
/// is sent when it fails): a code, a name of at most 200 characters, a price that is
/// not negative (SalesMania's base unit needs one). `ext_product_code` = `code`; the
/// base unit (ratio 1) is `unit` (else `default_unit`) at `price`; the other units
/// come from `extras.product_units`; `sku`, `description`, `tags`, `default_disc`
/// from `extras` when there; `status` = `active`. `qty_on_hand`: on create,
/// `extras.qty_on_hand` when given, else 0; on update, never sent. Barcode, tax and
/// category have no SalesMania field and are not sent.
pub(crate) fn catalogue_body(
    p: &posbridge_core::Product,
    default_unit: &str,
    write: Write,
) -> Result<wire::ProductBody> {
    let code = p.code.trim();
    if code.is_empty() {
        return Err(Error::invalid(
            "code",
            "a product needs a code (SalesMania's ext_product_code)",
        ));
    }
    let price = p.price.ok_or_else(|| {
        Error::invalid(
            "price",
            "SalesMania needs the price of the product's base unit (ratio 1)",
        )
    })?;
    if price < Decimal::ZERO {
        return Err(Error::invalid("price", format!("price {price} is negative")));
    }
    let base_unit = p
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(default_unit)
        .to_owned();
    let mut units = vec![ProductUnit::new(base_unit.clone(), price, Decimal::ONE)];
    match p.extras.get("product_units") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, u) in list.iter().enumerate() {
                let field = format!("extras.product_units[{i}]");
                let name = u
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|n| !n.is_empty());
                let price = u.get("price").and_then(decimal_of);
                let ratio = u.get("ratio").and_then(decimal_of);
                let (Some(name), Some(price), Some(ratio)) = (name, price, ratio) else {
                    return Err(Error::invalid(field, "a unit is {\"name\", \"price\", \"ratio\"}"));
                };
                if name.eq_ignore_ascii_case(&base_unit) {
                    continue;
                }
                units.push(ProductUnit::new(name, price, ratio));
            }
        }
        Some(_) => return Err(Error::invalid("extras.product_units", "not a list of units")),
    }
    let text = |key: &str| -> Result<Option<String>> {
        match p.extras.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid(format!("extras.{key}"), "not a string")),
        }
    };
    let tags = match p.extras.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|t| t.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::invalid("extras.tags", "not a list of strings"))?,
        Some(_) => return Err(Error::invalid("extras.tags", "not a list of strings")),
    };
    let default_disc = match text("default_disc")?.filter(|d| !d.trim().is_empty()) {
        Some(d) => parse_discount(&d).map_err(|e| Error::invalid("extras.default_disc", e.to_string()))?,
        None => Vec::new(),
    };
    let qty_on_hand = match (write, p.extras.get("qty_on_hand")) {
        (Write::Update, _) => None,
        (Write::Create, None | Some(Value::Null)) => Some(Decimal::ZERO),
        (Write::Create, Some(v)) => {
            Some(decimal_of(v).ok_or_else(|| Error::invalid("extras.qty_on_hand", "not a number"))?)
        }
    };
    let mut product = Product::new(p.name.clone(), qty_on_hand.unwrap_or_default(), units);
    product.description = text("description")?;
    product.sku = text("sku")?;
    product.tags = tags;
    product.status = Some(p.active);
    product.ext_product_code = Some(code.to_owned());
    product.default_disc = default_disc;
    let mut body = product_body(&product)?;
    body.qty_on_hand = qty_on_hand;
    Ok(body)
}

/// A product record as a stock level: the code is `ext_product_code`, else the SKU,
/// else SalesMania's id; the quantity is `qty_on_hand` (in the unit of ratio 1).
pub(crate) fn stock_level(r: &wire::ProductRecord) -> std::result::Result<StockLevel, String> {
    let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let product_code = nonempty(&r.ext_product_code)
        .or_else(|| nonempty(&r.sku))
        .or_else(|| r.id.map(|id| id.to_string()))
        .ok_or("a product has no ext_product_code, sku or id")?;
    let quantity = r
        .qty_on_hand
        .ok_or_else(|| format!("product {product_code:?} has no qty_on_hand"))?;
    Ok(StockLevel {
        product_code,
        name: nonempty(&r.name),
        quantity,
        location: None,
    })
}

// ---- visits and teams --------------------------------------------------------------

pub(crate) fn visit_from_record(r: wire::VisitRecord) -> Visit {
    Visit {
        id: r.id,
        date: r.date.as_deref().and_then(read_date),
        customer_id: r.customer_id,
        team_id: r.team_id,
        visit_status: r.visit_status.filter(|s| !s.trim().is_empty()),
        description: r.description.filter(|d| !d.trim().is_empty()),
    }
}

pub(crate) fn team_from_record(r: wire::TeamRecord) -> std::result::Result<Team, String> {
    Ok(Team {
        id: r.id.or(r.team_id).ok_or("a team has no id")?,
        name: r.name.filter(|n| !n.trim().is_empty()),
    })
}

// ---- envelopes ---------------------------------------------------------------------

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub items: Vec<Value>,
    /// Whether the answer says there is a next page.
    pub more: bool,
}

/// A list answer: a bare array (everything, no paging), or `{"data": [...]}` with
/// optional Laravel paging (`next_page_url`, or `current_page` and `last_page` at the
/// top or under `meta`). `page` is the page asked for.
pub(crate) fn page(value: Value, page: u32) -> std::result::Result<Page, String> {
    match value {
        Value::Array(items) => Ok(Page { items, more: false }),
        Value::Object(mut obj) => match obj.remove(wire::DATA) {
            Some(Value::Array(items)) => {
                let more = !items.is_empty() && has_next_page(&obj, page);
                Ok(Page { items, more })
            }
            // `{"data": {"current_page": 1, "data": [...]}}`: the paginator nested once.
            Some(inner @ Value::Object(_)) if inner.get(wire::DATA).is_some_and(Value::is_array) => {
                self::page(inner, page)
            }
            Some(Value::Null) => Ok(Page {
                items: Vec::new(),
                more: false,
            }),
            _ => Err("expected a list, or an object with a \"data\" list".into()),
        },
        _ => Err("expected a list, or an object with a \"data\" list".into()),
    }
}

fn has_next_page(obj: &serde_json::Map<String, Value>, asked: u32) -> bool {
    if let Some(next) = obj.get(wire::NEXT_PAGE_URL) {
        return next.as_str().is_some_and(|u| !u.trim().is_empty());
    }
    let number = |v: Option<&Value>| match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let meta = obj.get(wire::META).and_then(Value::as_object);
    let last = number(obj.get(wire::LAST_PAGE)).or_else(|| number(meta.and_then(|m| m.get(wire::LAST_PAGE))));
    let current = number(obj.get(wire::CURRENT_PAGE))
        .or_else(|| number(meta.and_then(|m| m.get(wire::CURRENT_PAGE))))
        .unwrap_or(u64::from(asked));
    last.is_some_and(|last| last > current)
}

/// A single record, unwrapped from `{"data": {...}}` when it is wrapped.
pub(crate) fn record(value: Value) -> Value {
    match value {
        Value::Object(mut obj) if obj.get(wire::DATA).is_some_and(Value::is_object) => {
            obj.remove(wire::DATA).unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// The body of a write's answer: empty or JSON (any JSON), else `None`.
pub(crate) fn write_answer(body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(body).ok()
}

/// A token from an answer: the first non-empty string under one of `keys`, at the top
/// or under `data`. Returns the keys present when there is none (never a value).
pub(crate) fn token_in(value: &Value, keys: &[&str]) -> std::result::Result<String, String> {
    let found = |obj: &serde_json::Map<String, Value>| {
        keys.iter()
            .filter_map(|k| obj.get(*k))
            .find_map(|v| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned))
    };
    match value {
        Value::String(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
        Value::Object(obj) => {
            if let Some(t) = found(obj) {
                return Ok(t);
            }
            if let Some(t) = obj.get(wire::DATA).and_then(Value::as_object).and_then(found) {
                return Ok(t);
            }
            let present: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(format!(
                "the answer has no {} (keys present: {})",
                keys.join(" or "),
                if present.is_empty() {
                    "none".into()
                } else {
                    present.join(", ")
                }
            ));
        }
        _ => {}
    }
    Err(format!("the answer is not an object with {}", keys.join(" or ")))
}

/// Seconds a token lives, when the answer says (`expires_in`, at the top or under
/// `data`); anything not a positive number is ignored.
pub(crate) fn expires_in(value: &Value) -> Option<u64> {
    let read = |v: &Value| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    value
        .get(wire::EXPIRES_IN)
        .or_else(|| value.get(wire::DATA).and_then(|d| d.get(wire::EXPIRES_IN)))
        .and_then(read)
        .filter(|s| *s > 0)
}

// ---- databases ---------------------------------------------------------------------

/// The configured database among the account's: by id; or by name (case and
/// surrounding spaces ignored), else by a name that is the id's digits. A missing
/// or ambiguous one is a [`Error::Config`] listing the available databases.
pub(crate) fn pick_database(available: &[wire::Database], wanted: &Database) -> Result<u64> {
    let listing = || {
        // At most `LISTED` of them, each name cut short: the error must stay short
        // whatever the account (or a hostile answer) holds.
        const LISTED: usize = 10;
        let name = |n: &str| n.chars().take(40).collect::<String>();
        let mut all: Vec<String> = available
            .iter()
            .take(LISTED)
            .map(|d| match (d.id(), d.name()) {
                (Some(id), Some(n)) => format!("{id} {:?}", name(n)),
                (Some(id), None) => id.to_string(),
                (None, Some(n)) => format!("{:?} (no id)", name(n)),
                (None, None) => "(unnamed, no id)".into(),
            })
            .collect();
        if available.len() > LISTED {
            all.push(format!("and {} more", available.len() - LISTED));
        }
        if all.is_empty() {
            "this account has no database".to_owned()
        } else {
            format!("available: {}", all.join(", "))
        }
    };
    let by_id = |id: u64| {
        available
            .iter()
            .find(|d| d.id() == Some(id))
            .and_then(wire::Database::id)
    };
    match wanted {
        Database::Id(id) => by_id(*id).ok_or_else(|| {
            Error::config(format!(
                "salesmania: database {id} is not one of this account's databases; {}",
                listing()
            ))
        }),
        Database::Name(name) => {
            let wanted = name.trim();
            let named: Vec<u64> = available
                .iter()
                .filter(|d| d.name().is_some_and(|n| n.trim().eq_ignore_ascii_case(wanted)))
                .filter_map(wire::Database::id)
                .collect();
            match named.as_slice() {
                [one] => Ok(*one),
                [] => wanted.parse::<u64>().ok().and_then(by_id).ok_or_else(|| {
                    Error::config(format!(
                        "salesmania: database {wanted:?} is not one of this account's databases; {}",
                        listing()
                    ))
                }),
                _ => Err(Error::config(format!(
                    "salesmania: several databases are named {wanted:?}; set `database` to one's id; {}",
                    listing()
                ))),
            }
        }
    }
}

/// Parses every item of a page into `T`, or says which one could not be read.
pub(crate) fn items<T: serde::de::DeserializeOwned>(items: Vec<Value>) -> std::result::Result<Vec<T>, String> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v).map_err(|e| format!("entry {i}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn options() -> OrderOptions<'static> {
        OrderOptions {
            utc_offset: parse_offset("+07:00").unwrap(),
            unit: "PCS",
            team_id: None,
            visit_status: None,
            walk_in_customer_id: Some(3000),
        }
    }

    fn sale(v: Value) -> Sale {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn parses_and_formats_the_documents_example() {
        assert_eq!(parse_discount("55.05+3").unwrap(), vec![dec!(55.05), dec!(3)]);
        assert_eq!(parse_discount(" 5 ").unwrap(), vec![dec!(5)]);
        assert_eq!(parse_discount("100+0.5").unwrap(), vec![dec!(100), dec!(0.5)]);
        assert_eq!(format_discount(&[dec!(55.050), dec!(3.0)]), "55.05+3");
        assert_eq!(format_discount(&[dec!(0)]), "0");
        assert_eq!(format_discount(&[]), "");
    }

    #[test]
    fn refuses_malformed_discounts_with_a_typed_error() {
        let kind = |s: &str| parse_discount(s).unwrap_err();
        assert!(matches!(kind(""), DiscountError::Empty { .. }));
        assert!(matches!(kind("  "), DiscountError::Empty { .. }));
        assert!(matches!(kind("5+"), DiscountError::EmptyPart { index: 2, .. }));
        assert!(matches!(kind("+5"), DiscountError::EmptyPart { index: 1, .. }));
        assert!(matches!(kind("5++3"), DiscountError::EmptyPart { index: 2, .. }));
        for junk in [
            "-3", "5+-3", "55,05", "1e2", ".5", "5.", "5%", "abc", "5 3", "1.2.3", "+", "٣",
        ] {
            assert!(parse_discount(junk).is_err(), "{junk:?} was accepted");
        }
        assert!(matches!(kind("100.01"), DiscountError::OutOfRange { index: 1, .. }));
        assert!(matches!(kind("5+101"), DiscountError::OutOfRange { index: 2, .. }));
        assert!(matches!(
            kind("99999999999999999999999999999999"),
            DiscountError::NotANumber { .. }
        ));
        assert!(kind("5+x").to_string().contains("part 2"));
    }

    #[test]
    fn the_cascade_is_successive_and_exact() {
        // 100 less 55.05 % = 44.95, less 3 % of that = 43.6015.
        assert_eq!(
            apply_cascade(dec!(100), &[dec!(55.05), dec!(3)], FieldPath::Name("d")).unwrap(),
            dec!(43.6015)
        );
        assert_eq!(
            apply_cascade(dec!(100), &[dec!(100), dec!(3)], FieldPath::Name("d")).unwrap(),
            dec!(0)
        );
        assert!(apply_cascade(dec!(1), &[dec!(101)], FieldPath::Name("d")).is_err());
    }

    #[test]
    fn statuses_map_both_ways() {
        for s in [
            SaleStatus::Open,
            SaleStatus::Processing,
            SaleStatus::Delivered,
            SaleStatus::Paid,
            SaleStatus::Void,
        ] {
            assert_eq!(status_from_vendor(status_to_vendor(s).unwrap()), Some(s));
        }
        assert_eq!(status_from_vendor(" lunas "), Some(SaleStatus::Paid));
        assert_eq!(status_from_vendor("Dikirim"), None);
    }

    #[test]
    fn offsets_and_dates() {
        assert_eq!(parse_offset("+07:00").unwrap().seconds(), 7 * 3600);
        assert_eq!(parse_offset("+0800").unwrap().seconds(), 8 * 3600);
        assert_eq!(parse_offset("+09").unwrap().seconds(), 9 * 3600);
        assert_eq!(parse_offset("Z").unwrap(), Offset::UTC);
        for bad in ["07:00", "+7", "+07:0", "+25:00", "+07:60", "x"] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
        let wib = parse_offset("+07:00").unwrap();
        let at: Timestamp = "2026-11-26T18:30:00Z".parse().unwrap();
        assert_eq!(order_date(at, wib), "2026-11-27");
        let midnight = read_instant("2026-11-27", wib).unwrap();
        assert_eq!(midnight.to_string(), "2026-11-26T17:00:00Z");
        assert_eq!(
            read_instant("2026-11-27 10:00:00", wib).unwrap().to_string(),
            "2026-11-27T03:00:00Z"
        );
        assert_eq!(
            read_instant("2026-11-27T10:00:00+08:00", wib).unwrap().to_string(),
            "2026-11-27T02:00:00Z"
        );
        assert!(read_instant("27/11/2026", wib).is_none());
    }

    #[test]
    fn maps_a_sale_with_cascades_to_an_order() {
        let s = sale(json!({
            "reference": "INV-1", "issued_at": "2026-11-26T03:15:00Z", "status": "paid",
            "lines": [
                {"product_code": "TEA-100", "quantity": "3.000", "unit_price": "3.335",
                 "discount": {"cascade": ["55.05", "3"]}, "total": "4.36", "note": "promo"},
                {"product_code": "MUG-1", "quantity": "2", "unit_price": "12.00", "unit": "BOX",
                 "discount": {"amount": "1.50"}}
            ],
            "discount": {"cascade": ["10", "2.5"]},
            "payments": [{"amount": "10", "method": "cash"}],
            "total": "23.57"
        }));
        let checked = s.reconcile().unwrap();
        let prepared = prepare_order(&checked, &options()).unwrap();
        assert_eq!(prepared.customer, CustomerNeed::WalkIn(3000));
        let order = prepared.finish(&[501, 502], 3000).unwrap();
        let body = serde_json::to_value(&order).unwrap();
        assert_eq!(
            body,
            json!({
                "date": "2026-11-26", "customer_id": 3000,
                "ordered_products": [
                    {"product_id": 501, "qty": 3, "unit": "PCS", "price": 3.335, "item_disc_percent": "55.05+3",
                     "description": "promo", "ext_order_line_id": 1},
                    {"product_id": 502, "qty": 2, "unit": "BOX", "price": 12.00, "item_disc_amount": 1.50,
                     "ext_order_line_id": 2}
                ],
                "disc_percent": "10+2.5", "total_paid": 10, "status": "Lunas",
                "ext_order_no": "INV-1", "ext_order_status_name": "paid"
            })
        );
    }

    #[test]
    fn refuses_what_an_order_cannot_carry() {
        let base = json!({"reference": "R", "issued_at": "2026-11-26T03:15:00Z",
            "lines": [{"product_code": "A", "quantity": "1", "unit_price": "10"}]});
        let refused = |patch: Value| {
            let mut v = base.clone();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            let s = sale(v);
            let checked = s.reconcile().unwrap();
            match prepare_order(&checked, &options()).unwrap_err() {
                Error::Invalid { field, .. } => field,
                other => panic!("{other}"),
            }
        };
        assert_eq!(refused(json!({"kind": "quotation"})), "kind");
        assert_eq!(refused(json!({"shipping": "5"})), "shipping");
        assert_eq!(
            refused(json!({"lines": [{"product_code": "A", "quantity": "-1", "unit_price": "10"}]})),
            "lines[0].quantity"
        );
        assert_eq!(
            refused(
                json!({"lines": [{"product_code": "A", "quantity": "1", "unit_price": "10",
                "tax": {"rate": "11"}}]})
            ),
            "lines[0].tax"
        );
        assert_eq!(
            refused(json!({"payments": [{"amount": "11", "method": "cash"}]})),
            "payments"
        );
        assert_eq!(refused(json!({"customer": {"name": "Budi"}})), "customer.code");
        assert_eq!(
            refused(json!({"customer": {"name": "Budi", "id": "x1"}})),
            "customer.id"
        );
        let mut o = options();
        o.walk_in_customer_id = None;
        let s = sale(base.clone());
        let checked = s.reconcile().unwrap();
        assert!(matches!(prepare_order(&checked, &o), Err(Error::Invalid { field, .. }) if field == "customer"));
        // Tax included in the price is fine.
        let s = sale(json!({"reference": "R", "issued_at": "2026-11-26T03:15:00Z",
            "lines": [{"product_code": "A", "quantity": "1", "unit_price": "11.10", "tax": {"rate": "11", "inclusive": true}}]}));
        assert!(prepare_order(&s.reconcile().unwrap(), &options()).is_ok());
    }

    #[test]
    fn reads_an_order_back_as_a_sale() {
        let o: wire::ExtOrder = serde_json::from_value(json!({
            "ext_cust_no": "C-001", "ext_order_id": "INV-1", "trans_date": "2026-11-26",
            "disc_amount": 0, "disc_percent": "10+2.5", "description": "antar sore",
            "sm_customer_id": 3001, "sm_order_id": 9001, "sm_status": "Terkirim",
            "ordered_product": [
                {"ext_product_code": "TEA-100", "qty": 3, "price": 3.335, "item_disc_percent": "55.05+3",
                 "item_disc_amount": 0, "unit": {"name": "PCS", "ratio": 1}, "sm_product_id": 501},
                {"ext_product_code": "", "sm_product_id": 502, "qty": "2", "price": "12", "item_disc_percent": "",
                 "item_disc_amount": "1.5", "unit": {"name": "BOX", "ratio": 12}}
            ]
        }))
        .unwrap();
        let s = sale_from_order(&o, parse_offset("+07:00").unwrap()).unwrap();
        assert_eq!(s.reference, "INV-1");
        assert_eq!(s.issued_at.to_string(), "2026-11-25T17:00:00Z");
        assert_eq!(s.status, SaleStatus::Delivered);
        assert_eq!(s.kind, SaleKind::Order);
        assert_eq!(s.discount, Some(Discount::Cascade(vec![dec!(10), dec!(2.5)])));
        assert_eq!(s.lines[0].discount, Some(Discount::Cascade(vec![dec!(55.05), dec!(3)])));
        assert_eq!(s.lines[1].product_code, "502");
        assert_eq!(s.lines[1].discount, Some(Discount::Amount(dec!(1.5))));
        let c = s.customer.unwrap();
        assert_eq!((c.id.as_deref(), c.code.as_deref()), (Some("3001"), Some("C-001")));
        let bad: wire::ExtOrder =
            serde_json::from_value(json!({"ext_order_id": "R", "trans_date": "2026-11-26", "sm_status": "Dikirim"}))
                .unwrap();
        assert!(sale_from_order(&bad, Offset::UTC).unwrap_err().contains("Dikirim"));
    }

    #[test]
    fn pages_and_records() {
        let p = page(json!([{"id": 1}]), 1).unwrap();
        assert_eq!((p.items.len(), p.more), (1, false));
        let p = page(json!({"data": [{"id": 1}], "current_page": 1, "last_page": 2}), 1).unwrap();
        assert!(p.more);
        let p = page(
            json!({"data": [{"id": 1}], "meta": {"current_page": 2, "last_page": 2}}),
            2,
        )
        .unwrap();
        assert!(!p.more);
        let p = page(json!({"data": [{"id": 1}], "next_page_url": "https://x/?page=2"}), 1).unwrap();
        assert!(p.more);
        let p = page(json!({"data": {"data": [{"id": 1}], "next_page_url": null}}), 1).unwrap();
        assert_eq!((p.items.len(), p.more), (1, false));
        let p = page(json!({"data": [], "last_page": 9}), 3).unwrap();
        assert!(!p.more, "an empty page ends the list");
        assert!(page(json!({"items": []}), 1).is_err());
        assert!(page(json!("x"), 1).is_err());
        assert_eq!(record(json!({"data": {"id": 1}})), json!({"id": 1}));
        assert_eq!(record(json!({"id": 1, "data": [1]})), json!({"id": 1, "data": [1]}));
    }

    #[test]
    fn tokens_and_messages() {
        assert_eq!(token_in(&json!({"token": "abc"}), wire::BEARER_KEYS).unwrap(), "abc");
        assert_eq!(
            token_in(&json!({"data": {"access_token": "x"}}), wire::BEARER_KEYS).unwrap(),
            "x"
        );
        let e = token_in(&json!({"tokn": "secret-value"}), wire::BEARER_KEYS).unwrap_err();
        assert!(e.contains("tokn") && !e.contains("secret-value"), "{e}");
        assert_eq!(expires_in(&json!({"expires_in": "3600"})), Some(3600));
        assert_eq!(expires_in(&json!({"expires_in": 0})), None);
    }

    #[test]
    fn an_order_is_found_by_its_own_reference_field_whatever_the_filter_did() {
        let orders: Vec<wire::ExtOrder> = serde_json::from_value(json!([
            {"sm_order_id": 9001, "ext_order_id": "INV-1000"},
            {"sm_order_id": 9002, "ext_order_id": "X-77", "ext_order_no": "INV-1001"},
            {"sm_order_id": 9003, "ext_order_id": " INV-1002 "},
            {"ext_order_no": "INV-1003"},
            {"sm_order_id": 9005, "ext_order_id": ""}
        ]))
        .unwrap();
        // Unrelated entries (an unfiltered list) are not taken for a match.
        assert_eq!(find_order(&orders, "INV-1"), None);
        assert_eq!(find_order(&orders, "INV-1000"), Some(Some(9001)));
        // `ext_order_no` counts even when `ext_order_id` holds something else.
        assert_eq!(find_order(&orders, "INV-1001"), Some(Some(9002)));
        assert_eq!(find_order(&orders, "INV-1002"), Some(Some(9003)));
        // Booked, though the entry does not say its id: still found.
        assert_eq!(find_order(&orders, "INV-1003"), Some(None));
        assert_eq!(find_order(&orders, ""), None);
        assert_eq!(find_order(&[], "INV-1000"), None);
    }

    #[test]
    fn picks_the_configured_database() {
        let dbs: Vec<wire::Database> = serde_json::from_value(json!([
            {"id": 2981, "name": "Toko Maju"}, {"db_id": "2990", "db_name": "Gudang Pusat"}
        ]))
        .unwrap();
        assert_eq!(pick_database(&dbs, &Database::Id(2990)).unwrap(), 2990);
        assert_eq!(
            pick_database(&dbs, &Database::Name(" toko maju ".into())).unwrap(),
            2981
        );
        assert_eq!(pick_database(&dbs, &Database::Name("2990".into())).unwrap(), 2990);
        let e = pick_database(&dbs, &Database::Name("Toko Baru".into())).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("Toko Baru") && text.contains("2981 \"Toko Maju\"") && text.contains("2990 \"Gudang Pusat\""),
            "{text}"
        );
        assert_eq!(e.kind(), posbridge_core::ErrorKind::Config);
        let twins: Vec<wire::Database> =
            serde_json::from_value(json!([{"id": 1, "name": "A"}, {"id": 2, "name": "a"}])).unwrap();
        assert!(
            pick_database(&twins, &Database::Name("A".into()))
                .unwrap_err()
                .to_string()
                .contains("several")
        );
    }

    #[test]
    fn products_are_checked_locally() {
        let unit = |r: Decimal| ProductUnit::new("PCS", dec!(4500), r);
        assert!(check_product(&Product::new("Teh", dec!(1), vec![unit(dec!(1))])).is_ok());
        let e = check_product(&Product::new("Teh", dec!(1), vec![unit(dec!(12))])).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "product_units"),
            "{e}"
        );
        assert!(check_product(&Product::new("Teh", dec!(1), vec![])).is_err());
        assert!(check_product(&Product::new("Teh", dec!(1), vec![unit(dec!(0)), unit(dec!(1))])).is_err());
        assert!(check_product(&Product::new(" ", dec!(1), vec![unit(dec!(1))])).is_err());
        assert!(check_product(&Product::new("x".repeat(201), dec!(1), vec![unit(dec!(1))])).is_err());
        let mut p = Product::new("Teh", dec!(1), vec![unit(dec!(1))]);
        p.default_disc = vec![dec!(55.55), dec!(3)];
        assert_eq!(product_body(&p).unwrap().default_disc.as_deref(), Some("55.55+3"));
    }

    #[test]
    fn a_catalogue_product_read_back_and_updated_keeps_its_other_units_but_not_its_stock() {
        let record = json!({"id": "501", "name": "Teh", "sku": "SW-25", "status": 0, "ext_product_code": " ",
            "qty_on_hand": "120", "description": null, "default_disc": "5+2",
            "product_units": [{"name": "DUS", "price": 216000, "ratio": 48}, {"name": "PCS", "price": "4500.50", "ratio": 1}]});
        let p = catalogue_product(record).unwrap();
        assert_eq!(
            (p.code.as_str(), p.unit.as_deref(), p.price, p.active),
            ("SW-25", Some("PCS"), Some(dec!(4500.50)), false)
        );
        assert_eq!(p.id.as_deref(), Some("501"));
        assert!(
            !p.extras.contains_key("description") && !p.extras.contains_key("status"),
            "{:?}",
            p.extras
        );
        assert_eq!(
            p.extras["product_units"],
            json!([{"name": "DUS", "price": 216000, "ratio": 48}])
        );
        let body = serde_json::to_value(catalogue_body(&p, "PCS", Write::Update).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"name": "Teh", "sku": "SW-25", "status": false, "ext_product_code": "SW-25", "default_disc": "5+2",
                   "product_units": [{"name": "PCS", "price": 4500.5, "ratio": 1}, {"name": "DUS", "price": 216000, "ratio": 48}]})
        );
        let created = catalogue_body(&p, "PCS", Write::Create).unwrap();
        assert_eq!(created.qty_on_hand, Some(dec!(120)));
        assert!(
            catalogue_product(
                json!({"id": 1, "name": "x", "product_units": [{"name": "PCS", "price": "a", "ratio": 1}]})
            )
            .is_err()
        );
        assert!(catalogue_product(json!({"name": "x"})).is_err(), "no code, SKU or id");
        assert!(catalogue_product(json!([1])).is_err());
    }

    #[test]
    fn a_catalogue_product_is_refused_locally_naming_the_field() {
        let field = |p: &posbridge_core::Product| match catalogue_body(p, "PCS", Write::Create) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let mut p = posbridge_core::Product::new("A", "a");
        assert_eq!(field(&p), "price");
        p.price = Some(dec!(-0.01));
        assert_eq!(field(&p), "price");
        p.price = Some(Decimal::ZERO);
        p.extras.insert("qty_on_hand".into(), json!("lots"));
        assert_eq!(field(&p), "extras.qty_on_hand");
        p.extras.insert("qty_on_hand".into(), json!(3));
        p.extras.insert("product_units".into(), json!([{"name": "DUS"}]));
        assert_eq!(field(&p), "extras.product_units[0]");
        p.extras.remove("product_units");
        p.extras.insert("default_disc".into(), json!("5,5"));
        assert_eq!(field(&p), "extras.default_disc");
        p.extras.remove("default_disc");
        p.name = "n".repeat(201);
        assert_eq!(field(&p), "name");
        p.name = "n".repeat(200);
        p.code = " ".into();
        assert_eq!(field(&p), "code");
    }

    fn percentage() -> impl Strategy<Value = Decimal> {
        // 0..=100 with up to 6 decimals, trailing zeros included.
        (0u64..=100_000_000, 0u32..=6)
            .prop_map(|(m, s)| Decimal::new(i64::try_from(m).unwrap_or(0), s))
            .prop_filter("at most 100", |d| *d <= Decimal::ONE_HUNDRED)
    }

    fn money() -> impl Strategy<Value = Decimal> {
        (0i64..1_000_000_000, 0u32..=4).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn parse_of_format_is_the_identity(ps in proptest::collection::vec(percentage(), 1..6)) {
            let text = format_discount(&ps);
            let back = parse_discount(&text).unwrap();
            prop_assert_eq!(&back, &ps);
            // And the text is canonical: formatting again gives the same string.
            prop_assert_eq!(format_discount(&back), text);
        }

        #[test]
        fn format_of_parse_keeps_canonical_strings(parts in proptest::collection::vec((0u32..=100, proptest::option::of(1u32..=99)), 1..5)) {
            let text: Vec<String> = parts
                .iter()
                .map(|(w, f)| match f {
                    Some(f) if *w < 100 && f % 10 != 0 => format!("{w}.{f:02}"),
                    Some(f) if *w < 100 => format!("{w}.{}", f / 10),
                    _ => w.to_string(),
                })
                .collect();
            let text = text.join("+");
            prop_assert_eq!(format_discount(&parse_discount(&text).unwrap()), text);
        }

        #[test]
        fn the_discounted_amount_is_never_negative(base in money(), ps in proptest::collection::vec(percentage(), 1..6)) {
            let rest = apply_cascade(base, &ps, FieldPath::Name("d")).unwrap();
            prop_assert!(rest >= Decimal::ZERO);
            prop_assert!(rest <= base);
            // And it is what core's cascade leaves.
            let off = Discount::Cascade(ps.clone()).amount_off(base, "d").unwrap();
            prop_assert_eq!(round_money(rest), round_money(base - off));
        }

        #[test]
        fn any_string_parses_or_is_a_typed_error(s in "\\PC{0,24}") {
            match parse_discount(&s) {
                Ok(ps) => {
                    prop_assert!(!ps.is_empty());
                    prop_assert!(ps.iter().all(|p| *p >= Decimal::ZERO && *p <= Decimal::ONE_HUNDRED));
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn strings_of_discount_characters_never_panic(s in "[0-9.+ ,-]{0,16}") {
            let _ = parse_discount(&s);
        }

        #[test]
        fn every_order_the_connector_builds_reconciles(
            lines in proptest::collection::vec((1i64..50, money(), proptest::collection::vec(percentage(), 0..3)), 1..6),
            order in proptest::collection::vec(percentage(), 0..3),
        ) {
            let lines: Vec<Value> = lines.iter().map(|(q, p, d)| {
                let mut l = json!({"product_code": "A", "quantity": q.to_string(), "unit_price": p.to_string()});
                if !d.is_empty() {
                    l["discount"] = json!({"cascade": d.iter().map(ToString::to_string).collect::<Vec<_>>()});
                }
                l
            }).collect();
            let mut s = json!({"reference": "R", "issued_at": "2026-11-26T03:15:00Z", "lines": lines});
            if !order.is_empty() {
                s["discount"] = json!({"cascade": order.iter().map(ToString::to_string).collect::<Vec<_>>()});
            }
            let s = sale(s);
            let checked = s.reconcile().unwrap();
            prop_assert!(prepare_order(&checked, &options()).is_ok());
        }
    }
}
