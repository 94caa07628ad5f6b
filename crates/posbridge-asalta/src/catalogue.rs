//! Asalta's catalogue and warehouses as core's [`Product`] and [`Location`], and the
//! price check: Asalta's invoice and order POSTs take no unit price (Asalta prices
//! each line from its own catalogue), so before a sale is sent each line is compared
//! with its catalogue item, as the id resolver's listing of the items gave it (made
//! once per client: to resolve a product code, else on the first push).
//!
//! How a line compares (`docs/vendors/asalta.md`, "The price check"): the line is
//! computed twice with core's one rounding rule, once as the POS sent it (its unit
//! price, discount and tax) and once as Asalta will book it (the item's price and
//! tax, the discount as the connector sends it); the line *differs* when the two
//! totals differ to the cent. A unit price or tax rate that differs without changing
//! the total (a 100 % discount, an included tax of another rate) does not refuse the
//! sale, but is listed on the receipt where the back office's price wins.

use std::collections::HashMap;

use posbridge_core::money::{LineAmounts, line_amounts};
use posbridge_core::{Decimal, Difference, Discount, Error, Location, Product, ReconciledSale, Result, Tax};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{map, wire};

/// Whose price wins when the POS's and Asalta's catalogue disagree (`price_source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PriceSource {
    /// The POS's: a sale Asalta would book at another total is refused locally
    /// ([`Error::Invalid`] naming the line and both prices), nothing sent.
    #[default]
    Pos,
    /// Asalta's: the sale is pushed anyway and each difference listed in the
    /// receipt's `differences`.
    BackOffice,
}

/// An item's tax as the price check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ItemTaxRule {
    /// No tax on the item (none given, or a rate of 0).
    None,
    /// A percentage, included in the price or added on top.
    Percent(Tax),
    /// A tax posbridge cannot compute (a fixed amount, an unknown `tax_method`):
    /// what Asalta books for the line cannot be told.
    Unknown(String),
}

/// What the price check keeps of a listed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Priced {
    /// The selling price; `None` when the listing gave none.
    pub price: Option<Decimal>,
    /// The tax.
    pub tax: ItemTaxRule,
}

/// The items of the resolver's last listing, by Asalta id.
pub(crate) type PriceBook = HashMap<u64, Priced>;

/// The item's tax: `tax_method` `0` included in the price, `1` added on top (as
/// Asalta's POS means it, and as its invoice sample books it: 100 with GST 7 %
/// `tax_method 0` is 93.46 + 6.54), `type` `Percentage`.
pub(crate) fn item_tax(tax: Option<&wire::ItemTax>) -> ItemTaxRule {
    let Some(t) = tax else {
        return ItemTaxRule::None;
    };
    let Some(rate) = t.rate else {
        return ItemTaxRule::None;
    };
    let code = t.id.clone();
    if rate.is_zero() {
        return ItemTaxRule::None;
    }
    let percentage = t
        .r#type
        .as_deref()
        .is_none_or(|ty| ty.trim().eq_ignore_ascii_case("percentage"));
    if !percentage {
        return ItemTaxRule::Unknown(format!(
            "its tax {:?} is of type {:?}, not a percentage",
            t.name.as_deref().unwrap_or_default(),
            t.r#type.as_deref().unwrap_or_default()
        ));
    }
    let inclusive = match t.tax_method.as_deref().map(str::trim) {
        Some("0") => true,
        Some("1") => false,
        other => {
            return ItemTaxRule::Unknown(format!(
                "its tax has tax_method {other:?} (Asalta's are \"0\", included, and \"1\", added)"
            ));
        }
    };
    ItemTaxRule::Percent(Tax { rate, inclusive, code })
}

/// What the price check keeps of an item.
pub(crate) fn priced(item: &wire::Item) -> Priced {
    Priced {
        price: item.price,
        tax: item_tax(item.tax.as_ref()),
    }
}

/// Item fields mapped to a [`Product`] field (or stock, which `Stock` reads) and so
/// left out of its `extras`.
const MAPPED: &[&str] = &[
    "id",
    "code",
    "name",
    "unit",
    "price",
    "barcode",
    "inventory",
    "quantity",
];

/// An item (`/pos/items`, as the page gave it) as a [`Product`]: `code`, `name`,
/// `unit`, `price`, `barcode` (where the item has one), the tax (`code` = Asalta's tax
/// rate id; `None` for an item without a rate, or whose tax is not a percentage with
/// a known `tax_method`), the category's name, `id`; every other field in `extras`
/// (`tax` and `category` whole too, for their names, sub-category and type), but the
/// stock (`inventory`, `quantity`). Asalta's document shows no active flag: every
/// listed item is active.
pub(crate) fn product(raw: Value) -> std::result::Result<Product, String> {
    let item: wire::Item = serde_json::from_value(raw.clone()).map_err(|e| format!("an item does not read: {e}"))?;
    let code = item
        .code
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| format!("item {} has no code", item.id))?;
    let barcode = match raw.get("barcode") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let tax = match item.tax.as_ref() {
        Some(t) if t.rate.is_some_and(|r| r.is_zero()) => Some(Tax {
            rate: Decimal::ZERO,
            inclusive: t.tax_method.as_deref().map(str::trim) == Some("0"),
            code: t.id.clone(),
        }),
        t => match item_tax(t) {
            ItemTaxRule::Percent(tax) => Some(tax),
            ItemTaxRule::None | ItemTaxRule::Unknown(_) => None,
        },
    };
    let category = item
        .category
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .map(str::to_owned);
    let extras: Map<String, Value> = match raw {
        Value::Object(o) => o.into_iter().filter(|(k, _)| !MAPPED.contains(&k.as_str())).collect(),
        _ => Map::new(),
    };
    Ok(Product {
        code,
        barcode,
        name: item.name.unwrap_or_default(),
        unit: item.unit,
        price: item.price,
        tax,
        category,
        active: true,
        id: Some(item.id),
        extras,
    })
}

/// A warehouse as a [`Location`]: `code` the warehouse's code (its name, else its
/// id, where it has none: the id resolver matches names too), `kind` its
/// `warehouse_type`.
pub(crate) fn location(w: wire::Warehouse) -> Location {
    let code = w
        .code
        .clone()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| w.name.clone().filter(|n| !n.trim().is_empty()))
        .unwrap_or_else(|| w.id.clone());
    Location {
        code,
        name: w.name,
        kind: w.warehouse_type,
        id: Some(w.id),
    }
}

fn tax_rate(tax: Option<&Tax>) -> Decimal {
    tax.map_or(Decimal::ZERO, |t| t.rate)
}

/// The discount as [`map::item_discount`] sends it (an amount on a quantity-1
/// line, else a percentage), which Asalta applies to its own price.
fn sent_discount(line: &posbridge_core::SaleLine, sent: &LineAmounts, index: usize) -> Result<Option<Discount>> {
    let (percent, value) = map::item_discount(line, sent, index)?;
    Ok(match (percent, value.is_zero()) {
        (_, true) => None,
        (true, false) => Some(Discount::Percent(value)),
        (false, false) => Some(Discount::Amount(value)),
    })
}

/// Compares each line with the catalogue item it will be booked as (`product_ids`,
/// one per line; a line whose item is not in `book`, or whose item has no price, is
/// not checked). Under [`PriceSource::Pos`] a line whose total would differ is
/// refused ([`Error::Invalid`], `lines[i].unit_price` or `lines[i].tax`, both values
/// in the reason); under [`PriceSource::BackOffice`] the differences are returned:
/// `lines[i].unit_price`, `lines[i].tax.rate` where they differ, `lines[i].total`
/// where the total does, and `total` (the sale's) when any line's does. Either way
/// payments above the total Asalta will book are refused (Asalta's rule 400-4 would
/// refuse them after the sale exists).
pub(crate) fn price_check(
    sale: &ReconciledSale<'_>,
    product_ids: &[u64],
    book: &PriceBook,
    source: PriceSource,
) -> Result<Vec<Difference>> {
    let s = sale.sale();
    let amounts = sale.amounts();
    let mut differences = Vec::new();
    let mut total_delta = Decimal::ZERO;
    for (i, ((line, sent), id)) in s.lines.iter().zip(&amounts.lines).zip(product_ids).enumerate() {
        let Some(item) = book.get(id) else { continue };
        let Some(price) = item.price else { continue };
        let tax = match &item.tax {
            ItemTaxRule::None => None,
            ItemTaxRule::Percent(t) => Some(t),
            ItemTaxRule::Unknown(why) => {
                if source == PriceSource::Pos {
                    return Err(Error::invalid(
                        format!("lines[{i}].tax"),
                        format!(
                            "Asalta prices line {i} ({:?}, item {id}) from its catalogue, and {why}, so what it \
                             would book cannot be checked against the POS's {}; set price_source = \
                             \"back_office\" to push such sales anyway",
                            line.product_code, sent.total
                        ),
                    ));
                }
                continue;
            }
        };
        // The discount as sent: its own refusal (an amount that is no percentage) names
        // the discount, as it would when the body is built.
        let discount = sent_discount(line, sent, i)?;
        let booked = line_amounts(line.quantity, price, discount.as_ref(), tax, &format!("lines[{i}]")).map_err(
            |e| match e {
                Error::Invalid { reason, .. } => Error::invalid(
                    format!("lines[{i}].unit_price"),
                    format!(
                        "line {i} ({:?}) is priced {} by the POS and {price} by Asalta's catalogue (item {id}), at \
                     which its discount cannot be booked: {reason}",
                        line.product_code, line.unit_price
                    ),
                ),
                other => other,
            },
        )?;
        let sent_rate = tax_rate(line.tax.as_ref());
        let booked_rate = tax_rate(tax);
        let same_total = booked.total == sent.total;
        if source == PriceSource::Pos && !same_total {
            let (field, what) = if price != line.unit_price {
                (
                    format!("lines[{i}].unit_price"),
                    format!(
                        "unit price {} on the POS, {price} in Asalta's catalogue",
                        line.unit_price
                    ),
                )
            } else {
                let incl = |inclusive: bool| if inclusive { "included" } else { "added" };
                (
                    format!("lines[{i}].tax"),
                    format!(
                        "tax {} % {} on the POS, {} % {} in Asalta's catalogue",
                        sent_rate,
                        incl(line.tax.as_ref().is_some_and(|t| t.inclusive)),
                        booked_rate,
                        incl(tax.is_some_and(|t| t.inclusive))
                    ),
                )
            };
            return Err(Error::invalid(
                field,
                format!(
                    "Asalta prices each line from its own catalogue and would book line {i} ({:?}, item {id}) at \
                     {} where the POS has {}: {what}; correct the POS's price (or Asalta's), or set price_source = \
                     \"back_office\" to let Asalta's price win",
                    line.product_code, booked.total, sent.total
                ),
            ));
        }
        if price != line.unit_price {
            differences.push(Difference {
                field: format!("lines[{i}].unit_price"),
                sent: line.unit_price,
                booked: price,
            });
        }
        if sent_rate != booked_rate {
            differences.push(Difference {
                field: format!("lines[{i}].tax.rate"),
                sent: sent_rate,
                booked: booked_rate,
            });
        }
        if !same_total {
            differences.push(Difference {
                field: format!("lines[{i}].total"),
                sent: sent.total,
                booked: booked.total,
            });
            total_delta = total_delta
                .checked_add(booked.total)
                .and_then(|d| d.checked_sub(sent.total))
                .ok_or_else(|| Error::invalid(format!("lines[{i}]"), "the amounts overflow"))?;
        }
    }
    if !total_delta.is_zero() {
        let booked_total = amounts
            .total
            .checked_add(total_delta)
            .ok_or_else(|| Error::invalid("total", "the amounts overflow"))?;
        differences.push(Difference {
            field: "total".into(),
            sent: amounts.total,
            booked: booked_total,
        });
        let paid = s
            .payments
            .iter()
            .try_fold(Decimal::ZERO, |acc, p| acc.checked_add(p.amount))
            .ok_or_else(|| Error::invalid("payments", "the amounts overflow"))?;
        if paid > booked_total {
            return Err(Error::invalid(
                "payments",
                format!(
                    "Asalta prices the lines from its catalogue and would book this sale at {booked_total} (the POS \
                     has {}), less than the {paid} paid; Asalta refuses a paid amount above the sale, after \
                     booking it",
                    amounts.total
                ),
            ));
        }
    }
    Ok(differences)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use posbridge_core::Sale;
    use serde_json::json;

    fn sale(lines: Value) -> Sale {
        serde_json::from_value(json!({"reference": "R", "issued_at": "2026-11-26T10:15:00+08:00", "lines": lines}))
            .unwrap()
    }

    fn book(price: &str, tax: Option<(&str, &str)>) -> PriceBook {
        let tax = match tax {
            None => ItemTaxRule::None,
            Some((rate, method)) => item_tax(Some(
                &serde_json::from_value(json!({"rate": rate, "tax_method": method, "id": "3", "type": "Percentage"}))
                    .unwrap(),
            )),
        };
        HashMap::from([(
            7,
            Priced {
                price: Some(price.parse().unwrap()),
                tax,
            },
        )])
    }

    #[test]
    fn an_equal_price_passes_and_another_is_refused_or_reported() {
        let s =
            sale(json!([{"product_code": "A", "quantity": "2", "unit_price": "99", "discount": {"percent": "10"}}]));
        let r = s.reconcile().unwrap();
        assert!(
            price_check(&r, &[7], &book("99.0000", None), PriceSource::Pos)
                .unwrap()
                .is_empty()
        );
        let e = price_check(&r, &[7], &book("105", None), PriceSource::Pos).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, reason } if field == "lines[0].unit_price"
            && reason.contains("99") && reason.contains("105") && reason.contains("at 189 ")),
            "{e}"
        );
        let d = price_check(&r, &[7], &book("105", None), PriceSource::BackOffice).unwrap();
        let fields: Vec<_> = d.iter().map(|d| (d.field.as_str(), d.sent, d.booked)).collect();
        assert_eq!(
            fields,
            [
                ("lines[0].unit_price", Decimal::new(99, 0), Decimal::new(105, 0)),
                ("lines[0].total", Decimal::new(17820, 2), Decimal::new(18900, 2)),
                ("total", Decimal::new(17820, 2), Decimal::new(18900, 2)),
            ]
        );
    }

    #[test]
    fn an_included_tax_changes_no_total_but_an_added_one_does() {
        let s = sale(json!([{"product_code": "A", "quantity": "1", "unit_price": "100"}]));
        let r = s.reconcile().unwrap();
        let d = price_check(&r, &[7], &book("100", Some(("7", "0"))), PriceSource::Pos).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].field, "lines[0].tax.rate");
        let e = price_check(&r, &[7], &book("100", Some(("7", "1"))), PriceSource::Pos).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].tax"),
            "{e}"
        );
        let e = price_check(&r, &[7], &book("100", Some(("7", "x"))), PriceSource::Pos).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].tax"),
            "{e}"
        );
        assert!(
            price_check(&r, &[8], &book("1", None), PriceSource::Pos)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_amount_discount_on_one_unit_is_compared_as_sent() {
        let s = sale(json!([{"product_code": "A", "quantity": "1", "unit_price": "100", "discount": {"amount": "5"}}]));
        let r = s.reconcile().unwrap();
        let d = price_check(&r, &[7], &book("110", None), PriceSource::BackOffice).unwrap();
        assert_eq!(d[1].booked, Decimal::new(105, 0));
        let e = price_check(&r, &[7], &book("4", None), PriceSource::BackOffice).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].unit_price"),
            "{e}"
        );
    }

    #[test]
    fn payments_above_what_asalta_books_are_refused() {
        let mut s = sale(json!([{"product_code": "A", "quantity": "1", "unit_price": "100"}]));
        s.payments = serde_json::from_value(json!([{"amount": "100", "method": "cash"}])).unwrap();
        let r = s.reconcile().unwrap();
        let e = price_check(&r, &[7], &book("90", None), PriceSource::BackOffice).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "payments"), "{e}");
        assert_eq!(
            price_check(&r, &[7], &book("110", None), PriceSource::BackOffice)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn an_item_becomes_a_product_with_its_extras_but_not_its_stock() {
        let p = product(
            json!({"id": "952", "code": "Test10", "name": "Test10", "type": "standard", "unit": null,
            "price": "100.0000", "quantity": "880", "category": {"id": "8", "name": "Human THERAPEUTIC"},
            "tax": {"tax_method": "0", "id": "3", "code": "GST", "rate": "7.0000", "type": "Percentage"},
            "inventory": [{"warehouse_id": "2", "quantity": "170"}]}),
        )
        .unwrap();
        assert_eq!(p.price, Some(Decimal::new(100, 0)));
        assert_eq!(
            p.tax.as_ref().map(|t| (t.inclusive, t.code.as_deref())),
            Some((true, Some("3")))
        );
        assert_eq!(p.category.as_deref(), Some("Human THERAPEUTIC"));
        assert!(p.extras.contains_key("type") && p.extras.contains_key("tax"));
        assert!(!p.extras.contains_key("inventory") && !p.extras.contains_key("quantity"));
        assert!(
            product(json!({"id": "1", "name": "x"}))
                .unwrap_err()
                .contains("no code")
        );
    }
}
