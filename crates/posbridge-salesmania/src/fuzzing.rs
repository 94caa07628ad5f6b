//! Thin wrappers over how the connector reads SalesMania's answers and its
//! cascading discounts, for the fuzz target `vendor_response` in `fuzz/` (through
//! [`fuzz`], registered in the crate's `DESCRIPTOR`) and the no-panic property tests.
//! Not part of the API: hidden from the docs, and it may change at any time.
//!
//! Each answer goes the way the client reads it: the error parser first, then the
//! decoding of a successful body.

use posbridge_core::fuzzing::{check, check_decimal, check_sale, split_input};
use posbridge_core::http::Response;
use posbridge_core::jiff::tz::Offset;
use posbridge_core::{Customer, Decimal, Error, ExposeSecret, Result, Sale, SecretString, StockLevel};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Database, Product, Team, VENDOR, Visit};
use crate::{auth, error, format_discount, map, parse_discount, wire};

fn checked(response: &Response) -> Result<()> {
    error::parse_error(VENDOR, response).map_or(Ok(()), Err)
}

fn decode(response: &Response) -> impl Fn(String) -> Error + '_ {
    move |why| Error::decode(VENDOR, why, &response.body)
}

/// The answer to the bearer-token request (`team` false) or the team-token request:
/// the token and its lifetime in seconds, when given.
pub fn token_answer(response: &Response, team: bool) -> Result<(SecretString, Option<u64>)> {
    checked(response)?;
    if team {
        auth::token_answer(response, wire::TEAM_TOKEN_KEYS, "team token")
    } else {
        auth::token_answer(response, wire::BEARER_KEYS, "bearer token")
    }
}

/// The answer to the databases request, and the `wanted` one's id among them.
pub fn databases_answer(response: &Response, wanted: &Database) -> Result<u64> {
    checked(response)?;
    let value: Value = response.json(VENDOR)?;
    let page = map::page(value, 1).map_err(decode(response))?;
    let databases: Vec<wire::Database> = map::items(page.items).map_err(decode(response))?;
    map::pick_database(&databases, wanted)
}

/// One page (number `page`) of a list, each entry read as `T` then mapped; and
/// whether the answer says there is a next page.
fn list_page<T: DeserializeOwned, U>(
    response: &Response,
    page: u32,
    map_entry: impl Fn(T) -> std::result::Result<U, String>,
) -> Result<(Vec<U>, bool)> {
    checked(response)?;
    let value: Value = response.json(VENDOR)?;
    let p = map::page(value, page).map_err(decode(response))?;
    let records: Vec<T> = map::items(p.items).map_err(decode(response))?;
    let entries = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| map_entry(r).map_err(|why| decode(response)(format!("entry {i}: {why}"))))
        .collect::<Result<Vec<U>>>()?;
    Ok((entries, p.more))
}

/// A page of products read as stock levels (`qty_on_hand`).
pub fn stock_page(response: &Response, page: u32) -> Result<(Vec<StockLevel>, bool)> {
    list_page(response, page, |r: wire::ProductRecord| map::stock_level(&r))
}

/// A page of products.
pub fn products_page(response: &Response, page: u32) -> Result<(Vec<Product>, bool)> {
    list_page(response, page, map::product_from_record)
}

/// A page of customers.
pub fn customers_page(response: &Response, page: u32) -> Result<(Vec<Customer>, bool)> {
    list_page(response, page, map::customer_from_record)
}

/// A page of visits.
pub fn visits_page(response: &Response, page: u32) -> Result<(Vec<Visit>, bool)> {
    list_page(response, page, |r| Ok(map::visit_from_record(r)))
}

/// A page of teams.
pub fn teams_page(response: &Response, page: u32) -> Result<(Vec<Team>, bool)> {
    list_page(response, page, map::team_from_record)
}

/// The answer to the look-up of an order by `ext_order_no`: the id of the order
/// whose reference is `reference`, if one is.
pub fn find_order_answer(response: &Response, reference: &str) -> Result<Option<u64>> {
    checked(response)?;
    let value: Value = response.json(VENDOR)?;
    let p = map::page(value, 1).map_err(decode(response))?;
    let orders: Vec<wire::ExtOrder> = map::items(p.items).map_err(decode(response))?;
    Ok(map::find_order(&orders, reference).flatten())
}

/// The answer to a read of one order, as a sale (in UTC+7, Jakarta).
pub fn order_answer(response: &Response) -> Result<Sale> {
    checked(response)?;
    let value: Value = response.json(VENDOR)?;
    let order: wire::ExtOrder =
        serde_json::from_value(map::record(value)).map_err(|e| decode(response)(e.to_string()))?;
    let offset = Offset::from_hours(7).unwrap_or(Offset::UTC);
    map::sale_from_order(&order, offset).map_err(decode(response))
}

/// The answer to a read of one customer.
pub fn customer_answer(response: &Response) -> Result<Customer> {
    checked(response)?;
    let value: Value = response.json(VENDOR)?;
    let record: wire::CustomerRecord =
        serde_json::from_value(map::record(value)).map_err(|e| decode(response)(e.to_string()))?;
    map::customer_from_record(record).map_err(decode(response))
}

/// The answer to a write (creating a customer): `Ok(None)` for an answer without a
/// whole record, as the client then reads the record back.
pub fn write_answer(response: &Response) -> Result<Option<Customer>> {
    checked(response)?;
    let answer = map::write_answer(&response.body).ok_or_else(|| {
        Error::decode(VENDOR, "the answer is not JSON", &response.body).into_uncertain("create_customer")
    })?;
    let record: wire::CustomerRecord = serde_json::from_value(map::record(answer)).unwrap_or_default();
    if record.id.is_none() {
        return Ok(None);
    }
    Ok(map::customer_from_record(record).ok())
}

/// What is left of `base` after the cascade `percentages`, as an order line's
/// discount is computed.
pub fn apply_cascade(base: Decimal, percentages: &[Decimal]) -> Result<Decimal> {
    map::apply_cascade(base, percentages, posbridge_core::FieldPath::Name("discount"))
}

/// The selector byte that makes [`fuzz`] read the rest of its input as a cascading
/// discount (`"55.05+3"`) instead of an answer.
pub const DISCOUNT_SELECTOR: u8 = 0xFF;

/// The fuzz entry point (`DESCRIPTOR`'s fuzz entry). Input: see
/// `posbridge_core::fuzzing`.
///
/// - Selector [`DISCOUNT_SELECTOR`]: the rest of the input is text for the
///   cascading-discount parser ([`discount`]).
/// - Any other selector: SalesMania's answers, read the way the connector reads them
///   (the error parser, then the body); the selector modulo 12 picks the answer: 0
///   bearer token, 1 team token, 2 databases (by name, or by id when bit 7 is set), 3
///   products as stock, 4 products, 5 customers, 6 visits, 7 teams, 8 an order
///   look-up, 9 one order as a sale, 10 one customer, 11 a write; pages 1–4 by the
///   selector divided by 12.
///
/// No panic; every error keeps its promises (short texts); every amount or quantity
/// read round-trips. Panics when a promise is broken.
pub fn fuzz(data: &[u8]) {
    if data.first() == Some(&DISCOUNT_SELECTOR) {
        if let Ok(text) = std::str::from_utf8(data.get(1..).unwrap_or_default()) {
            discount(text);
        }
        return;
    }
    let (selector, response) = split_input(data);
    let page = u32::from(selector / 12 % 4) + 1;
    match selector % 12 {
        0 | 1 => check(token_answer(&response, selector % 12 == 1), |(token, _)| {
            assert!(!token.expose_secret().trim().is_empty(), "an empty token was accepted");
        }),
        2 => {
            let wanted = if selector & 0x80 == 0 {
                Database::from("Toko Maju")
            } else {
                Database::from(2981)
            };
            check(databases_answer(&response, &wanted), |_| {});
        }
        3 => check(stock_page(&response, page), |(levels, _)| {
            levels.iter().for_each(|l| check_decimal(l.quantity));
        }),
        4 => check(products_page(&response, page), |_| {}),
        5 => check(customers_page(&response, page), |_| {}),
        6 => check(visits_page(&response, page), |_| {}),
        7 => check(teams_page(&response, page), |_| {}),
        8 => check(find_order_answer(&response, "INV-1001"), |_| {}),
        9 => check(order_answer(&response), |sale| check_sale(&sale)),
        10 => check(customer_answer(&response), |_| {}),
        _ => check(write_answer(&response), |_| {}),
    }
}

/// The cascading-discount parser on any text: no panic, and for every string it
/// accepts, format then parse gives the same percentages back and the formatted form
/// is canonical (formatting it again changes nothing). Panics when a promise is broken.
pub fn discount(text: &str) {
    let Ok(parts) = parse_discount(text) else { return };
    assert!(!parts.is_empty(), "{text:?} parsed to no percentage");
    assert_eq!(parts.len(), text.split('+').count(), "{text:?}");
    for p in &parts {
        assert!(*p >= Decimal::ZERO && *p <= Decimal::ONE_HUNDRED, "{text:?} gave {p}");
    }
    let formatted = format_discount(&parts);
    let again = parse_discount(&formatted);
    assert_eq!(
        again.as_ref().ok(),
        Some(&parts),
        "{text:?} -> {formatted:?}: {again:?}"
    );
    assert_eq!(
        format_discount(&parts),
        formatted,
        "{text:?}: the formatted form is not canonical"
    );
}
