//! Pure domain ↔ wire functions: sales to invoices and orders, records back to
//! sales, customers both ways, items to stock levels, dates in the merchant's offset.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use posbridge_core::{
    Customer, Decimal, Discount, Error, Payment, PaymentMethod, ReconciledSale, Result, Sale, SaleKind, SaleLine,
    SaleStatus, StockLevel,
};

use crate::wire::{self, CustomerBody, CustomerRecord, Item, NewSale, NewSaleItem, SaleRecord, Shipping};

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
}

/// A timestamp as Asalta writes dates: `YYYY-MM-DD HH:MM:SS` in the merchant's time.
pub(crate) fn local_datetime(at: Timestamp, offset: Offset) -> String {
    at.to_zoned(TimeZone::fixed(offset))
        .datetime()
        .strftime("%Y-%m-%d %H:%M:%S")
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

/// Refuses what Asalta cannot take before anything is sent: returned lines (use
/// the return methods) and payments above the sale (Asalta's rule 400-4).
pub(crate) fn check_sale(sale: &ReconciledSale<'_>) -> Result<()> {
    let s = sale.sale();
    if let Some(i) = s.lines.iter().position(|l| l.quantity.is_sign_negative()) {
        return Err(Error::invalid(
            format!("lines[{i}].quantity"),
            "Asalta takes returns as return invoices or return orders, not negative lines: use \
             Asalta::create_return_invoice or Asalta::create_return_order",
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

/// The body of a new invoice or order. Amounts go as computed by
/// [`Sale::reconcile`] (2 dp, half away from zero, once per line): each line's
/// discount and the order discount as flat amounts; prices and tax come from
/// Asalta's catalogue.
pub(crate) fn sale_body(sale: &ReconciledSale<'_>, ids: &SaleIds, offset: Offset) -> Result<NewSale> {
    let s = sale.sale();
    let amounts = sale.amounts();
    if ids.product_ids.len() != s.lines.len() || amounts.lines.len() != s.lines.len() {
        return Err(Error::invalid("lines", "internal: one product id per line is needed"));
    }
    let date = local_datetime(s.issued_at, offset);
    let items = s
        .lines
        .iter()
        .zip(&amounts.lines)
        .zip(&ids.product_ids)
        .map(|((line, a), id)| NewSaleItem {
            product_id: *id,
            quantity: line.quantity.normalize(),
            discount_percentage: false,
            item_discount: a.discount,
        })
        .collect();
    let shipping = (!amounts.shipping.is_zero()).then(|| Shipping {
        delivery_date: date.clone(),
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

/// Asalta's `paid_by` for a payment method (the default identifiers: `cash`,
/// `CC`, `Cheque`, `other`; a POS name as it is).
pub(crate) fn paid_by(method: &PaymentMethod) -> String {
    match method {
        PaymentMethod::Cash => "cash".into(),
        PaymentMethod::Card => "CC".into(),
        PaymentMethod::Cheque => "Cheque".into(),
        PaymentMethod::Other(name) => name.clone(),
        _ => "other".into(),
    }
}

fn method_from(paid_by: Option<&str>) -> PaymentMethod {
    match paid_by.map(str::to_ascii_lowercase).as_deref() {
        Some("cash") => PaymentMethod::Cash,
        Some("cc") | Some("card") | Some("credit card") => PaymentMethod::Card,
        Some("cheque") => PaymentMethod::Cheque,
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
