//! [`Connector::call`](posbridge_core::Connector::call) for Asalta: every documented
//! operation no capability trait covers, by the name `src/descriptor.rs` gives it,
//! over the connector's typed methods, its answer serialized as JSON (a list read is
//! collected into a JSON array).
//!
//! | call | input | answers |
//! |---|---|---|
//! | `categories`, `subcategories`, `customer_groups`, `billers`, `tax_rates`, `payment_methods`, `orders` | `null` | an array of records |
//! | `category`, `subcategory`, `warehouse`, `customer_group`, `biller`, `promotion`, `tax_rate`, `payment_method`, `payment`, `return_invoice`, `order`, `return_order` | `{"id": N}` | one record |
//! | `subcategories_of` | `{"parent_category_id": N}` | an array of subcategories |
//! | `loyalty` | `{"customer_id": N}` | an array of loyalty entries |
//! | `promotions` | `{"warehouse_id": N}` | an array of promotions |
//! | `tax_line_items` | `{"tax_rate_id": N}` | an array of tax line items |
//! | `tax_line_item` | `{"tax_rate_id": N, "id": M}` | one tax line item |
//! | `payments`, `return_invoices`, `return_orders` | `{"sale_id": N}` | an array of records |
//! | `gift_card` | `{"card_no": "…"}` | the sale record that sold the card |
//! | `sales_report`, `crm_invoices_report`, `roster_schedule` | `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}` | an array of report rows |
//! | `payroll_report`, `claims_report` | `{"month": "YYYY-MM"}` | an array of report rows |
//!
//! An id is a JSON number or a string of digits. An unknown name is
//! [`Error::Invalid`] on `call`, listing the names.

use futures_util::{Stream, TryStreamExt};
use posbridge_core::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{Asalta, DateRange, Month};

/// The names [`Asalta::dispatch`] answers, in the document's order.
pub(crate) const CALLS: &[&str] = &[
    "categories",
    "category",
    "subcategories",
    "subcategory",
    "subcategories_of",
    "warehouse",
    "customer_groups",
    "customer_group",
    "billers",
    "biller",
    "loyalty",
    "promotions",
    "promotion",
    "tax_rates",
    "tax_rate",
    "tax_line_items",
    "tax_line_item",
    "payment_methods",
    "payment_method",
    "payments",
    "payment",
    "return_invoices",
    "return_invoice",
    "orders",
    "order",
    "return_orders",
    "return_order",
    "gift_card",
    "sales_report",
    "crm_invoices_report",
    "payroll_report",
    "claims_report",
    "roster_schedule",
];

/// [`CALLS`], a read and its list as one `x[s]` where the list is the read's plural.
fn offered() -> String {
    CALLS
        .iter()
        .filter(|c| !c.strip_suffix('s').is_some_and(|one| CALLS.contains(&one)))
        .map(|c| {
            if CALLS.contains(&format!("{c}s").as_str()) {
                format!("{c}[s]")
            } else {
                (*c).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The answer as JSON text: the records' amounts stay the exact numbers they write
/// (a `serde_json::Value` would read them back through a float).
fn json<T: Serialize>(value: &T) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| Error::invalid("call", format!("the answer does not serialize: {e}")))
}

async fn all<T: Serialize>(stream: impl Stream<Item = Result<T>>) -> Result<Box<RawValue>> {
    let items: Vec<T> = stream.try_collect().await?;
    json(&items)
}

/// `input.<field>` as an id: a JSON number or a string of digits.
fn id(input: &Value, field: &str) -> Result<u64> {
    let bad = || {
        Error::invalid(
            format!("input.{field}"),
            "must be an id (a number or a string of digits)",
        )
    };
    match input.get(field) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(bad),
        Some(Value::String(s)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            s.parse().map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

fn text<'a>(input: &'a Value, field: &str) -> Result<&'a str> {
    input
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(format!("input.{field}"), "must be a string"))
}

fn date(input: &Value, field: &str) -> Result<jiff::civil::Date> {
    text(input, field)?
        .parse()
        .map_err(|_| Error::invalid(format!("input.{field}"), "must be a date, YYYY-MM-DD"))
}

fn range(input: &Value) -> Result<DateRange> {
    Ok(DateRange {
        start: date(input, "from")?,
        end: date(input, "to")?,
    })
}

fn month(input: &Value) -> Result<Month> {
    let bad = || Error::invalid("input.month", "must be a month, YYYY-MM");
    let (year, month) = text(input, "month")?.split_once('-').ok_or_else(bad)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(bad());
    }
    let year: i16 = year.parse().map_err(|_| bad())?;
    let month: i8 = month.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) {
        return Err(bad());
    }
    Ok(Month { year, month })
}

impl Asalta {
    /// The body of [`Connector::call`](posbridge_core::Connector::call) (see the
    /// module's table).
    pub(crate) async fn dispatch(&self, name: &str, input: &Value) -> Result<Box<RawValue>> {
        match name {
            "categories" => all(self.categories()).await,
            "category" => json(&self.category(id(input, "id")?).await?),
            "subcategories" => all(self.subcategories()).await,
            "subcategory" => json(&self.subcategory(id(input, "id")?).await?),
            "subcategories_of" => all(self.subcategories_of(id(input, "parent_category_id")?)).await,
            "warehouse" => json(&self.warehouse(id(input, "id")?).await?),
            "customer_groups" => all(self.customer_groups()).await,
            "customer_group" => json(&self.customer_group(id(input, "id")?).await?),
            "billers" => all(self.billers()).await,
            "biller" => json(&self.biller(id(input, "id")?).await?),
            "loyalty" => all(self.loyalty(id(input, "customer_id")?)).await,
            "promotions" => all(self.promotions(id(input, "warehouse_id")?)).await,
            "promotion" => json(&self.promotion(id(input, "id")?).await?),
            "tax_rates" => all(self.tax_rates()).await,
            "tax_rate" => json(&self.tax_rate(id(input, "id")?).await?),
            "tax_line_items" => all(self.tax_line_items(id(input, "tax_rate_id")?)).await,
            "tax_line_item" => json(&self.tax_line_item(id(input, "tax_rate_id")?, id(input, "id")?).await?),
            "payment_methods" => all(self.payment_methods()).await,
            "payment_method" => json(&self.payment_method(id(input, "id")?).await?),
            "payments" => all(self.payments(id(input, "sale_id")?)).await,
            "payment" => json(&self.payment(id(input, "id")?).await?),
            "return_invoices" => all(self.return_invoices(id(input, "sale_id")?)).await,
            "return_invoice" => json(&self.return_invoice(id(input, "id")?).await?),
            "orders" => all(self.orders()).await,
            "order" => json(&self.order(id(input, "id")?).await?),
            "return_orders" => all(self.return_orders(id(input, "sale_id")?)).await,
            "return_order" => json(&self.return_order(id(input, "id")?).await?),
            "gift_card" => json(&self.gift_card(text(input, "card_no")?).await?),
            "sales_report" => json(&self.sales_report(range(input)?).await?),
            "crm_invoices_report" => json(&self.crm_invoices_report(range(input)?).await?),
            "payroll_report" => json(&self.payroll_report(month(input)?).await?),
            "claims_report" => json(&self.claims_report(month(input)?).await?),
            "roster_schedule" => json(&self.roster_schedule(range(input)?).await?),
            other => {
                // Within the reason's bound: the name cut short, the list compact.
                let name: String = other.chars().take(16).collect();
                Err(Error::invalid(
                    "call",
                    format!(
                        "no Asalta call {} (its calls: {}; x[s] is x and xs)",
                        posbridge_core::error::quote(&name),
                        offered()
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_numbers_or_digit_strings() {
        assert_eq!(id(&json!({"id": 7}), "id").unwrap(), 7);
        assert_eq!(id(&json!({"id": "42"}), "id").unwrap(), 42);
        let e = id(&json!({"id": "x1"}), "id").unwrap_err();
        assert!(e.to_string().contains("input.id"), "{e}");
        assert!(
            id(&json!(null), "sale_id")
                .unwrap_err()
                .to_string()
                .contains("input.sale_id")
        );
    }

    /// A connector whose server is never reached: every failure below is local.
    fn offline() -> Asalta {
        let config = crate::Config::new()
            .with_base_url("http://127.0.0.1:9/")
            .with_token(posbridge_core::SecretString::from("acc-Tok3n-1".to_owned()), None);
        Asalta::new(config).unwrap()
    }

    #[tokio::test]
    async fn an_unknown_call_lists_every_documented_call() {
        use posbridge_core::Connector;
        let e = offline().call("nope", &Value::Null).await.unwrap_err();
        let Error::Invalid { field, reason } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(field, "call");
        assert!(reason.contains("\"nope\""), "{reason}");
        assert!(reason.ends_with("roster_schedule; x[s] is x and xs)"), "cut: {reason}");
        for name in CALLS {
            let listed = reason.contains(&format!(" {name},")) || reason.contains(&format!(" {name}["));
            let plural = name
                .strip_suffix('s')
                .is_some_and(|one| reason.contains(&format!(" {one}[s]")));
            assert!(
                listed || plural || name == &"roster_schedule",
                "{name} missing from {reason}"
            );
        }
        // A long unknown name does not push the list out of the bounded reason.
        let long = "x".repeat(500);
        let e = offline().call(&long, &Value::Null).await.unwrap_err();
        assert!(e.to_string().contains("x[s] is x and xs)"), "{e}");
        // Every documented call name is one the dispatch knows, and the reverse.
        let documented: Vec<&str> = crate::DESCRIPTOR
            .documented()
            .iter()
            .filter_map(|d| match d.via {
                posbridge_core::Via::Call(name) => Some(name),
                _ => None,
            })
            .collect();
        assert_eq!(documented, CALLS);
    }

    #[tokio::test]
    async fn bad_input_names_the_field_before_anything_is_sent() {
        use posbridge_core::Connector;
        let asalta = offline();
        for (name, input, field) in [
            ("category", json!({"id": "x"}), "input.id"),
            ("tax_line_item", json!({"tax_rate_id": 1}), "input.id"),
            ("payments", json!(null), "input.sale_id"),
            ("gift_card", json!({"card_no": 12}), "input.card_no"),
            (
                "sales_report",
                json!({"from": "2026-11-01", "to": "30/11/2026"}),
                "input.to",
            ),
            ("claims_report", json!({"month": "2026-1"}), "input.month"),
        ] {
            let e = asalta.call(name, &input).await.unwrap_err();
            assert!(
                matches!(&e, Error::Invalid { field: f, .. } if f == field),
                "{name}: {e:?}"
            );
        }
    }

    #[test]
    fn months_and_ranges_parse_or_name_the_field() {
        assert_eq!(
            month(&json!({"month": "2016-03"})).unwrap(),
            Month { year: 2016, month: 3 }
        );
        assert!(
            month(&json!({"month": "2016-13"}))
                .unwrap_err()
                .to_string()
                .contains("input.month")
        );
        let r = range(&json!({"from": "2026-11-01", "to": "2026-11-30"})).unwrap();
        assert_eq!(r.start, jiff::civil::date(2026, 11, 1));
        assert!(
            range(&json!({"from": "2026-11-01"}))
                .unwrap_err()
                .to_string()
                .contains("input.to")
        );
    }
}
