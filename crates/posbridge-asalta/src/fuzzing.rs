//! Thin wrappers over how the connector reads Asalta's answers, for the fuzz target
//! `vendor_response` in `fuzz/` (through [`fuzz`], registered in the crate's
//! `DESCRIPTOR`) and the no-panic property tests. Not part of the API: hidden from
//! the docs, and it may change at any time.
//!
//! Each answer goes the way the client reads it: the error parser first, then the
//! decoding of a successful body. The token endpoint's answer goes through the same
//! `oauth2` code the client uses, with an HTTP client that hands it the answer.

use std::future::Future;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use jiff::tz::Offset;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, RefreshToken, TokenUrl};
use posbridge_core::fuzzing::{check, check_decimal, check_sale, split_input};
use posbridge_core::http::Response;
use posbridge_core::{Customer, Error, ExposeSecret, Result, Sale, SaleKind, StockLevel};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{self, Grant, HttpFailure, StoredToken};
use crate::paged::{self, RepeatGuard};
use crate::{CustomerRecord, Item, SaleRecord, SalesReportRow, VENDOR, wire};
use crate::{as_list, decode, error, map, record, written_id};

fn checked(response: &Response) -> Result<()> {
    error::parse_error(VENDOR, response).map_or(Ok(()), Err)
}

/// The entries of page `page` of a list, each read as `T`, and whether there is a
/// next page. `guard` is the list's repeat guard (pass the same one for each page).
fn page_of<T: DeserializeOwned + Clone + PartialEq>(
    response: &Response,
    page: u64,
    guard: &mut RepeatGuard<T>,
) -> Result<(Vec<T>, bool)> {
    checked(response)?;
    paged::read_page(response, page, guard)
}

/// Pages 1 and 2 of the invoices, as sales (UTC+8), the second read as the same
/// answer again (which the repeat guard must refuse when it has entries).
pub fn sales_pages(response: &Response) -> Result<Vec<Sale>> {
    let mut guard = RepeatGuard::default();
    let mut out = Vec::new();
    for page in 1..=2 {
        let (records, more) = page_of::<SaleRecord>(response, page, &mut guard)?;
        for r in &records {
            out.push(
                map::sale_from_record(r, SaleKind::Invoice, offset())
                    .map_err(|why| Error::decode(VENDOR, format!("sale {}: {why}", r.id), b""))?,
            );
        }
        if !more {
            break;
        }
    }
    Ok(out)
}

/// A page of items, as stock levels per warehouse.
pub fn stock_page(response: &Response, page: u64) -> Result<Vec<StockLevel>> {
    let (items, _) = page_of::<Item>(response, page, &mut RepeatGuard::default())?;
    let mut out = Vec::new();
    for item in &items {
        out.extend(map::stock_levels(item).map_err(|why| Error::decode(VENDOR, why, b""))?);
    }
    Ok(out)
}

/// A page of customers.
pub fn customers_page(response: &Response, page: u64) -> Result<Vec<Customer>> {
    let (records, _) = page_of::<CustomerRecord>(response, page, &mut RepeatGuard::default())?;
    Ok(records.into_iter().map(map::customer_from_record).collect())
}

/// The answer to a read of one invoice, as a sale: a missing record is not found.
pub fn sale_answer(response: &Response) -> Result<Sale> {
    checked(response)?;
    let value = record(response.json::<Value>(VENDOR)?);
    if value.is_null() || value.as_array().is_some_and(Vec::is_empty) || value.as_object().is_some_and(|o| o.is_empty())
    {
        return Err(Error::NotFound {
            vendor: VENDOR,
            what: "pos/invoices?id=1".into(),
        });
    }
    let r: SaleRecord = serde_json::from_value(value).map_err(|e| decode(response)(e.to_string()))?;
    map::sale_from_record(&r, SaleKind::Invoice, offset()).map_err(|why| Error::decode(VENDOR, why, b""))
}

/// The answer to a write: Asalta's `{message, data, error}`; the id written, if given.
pub fn write_answer(response: &Response) -> Result<Option<String>> {
    checked(response)?;
    let answer: Value = response.json_after_write(VENDOR, "push_sale")?;
    let answer: wire::WriteAnswer = match answer {
        Value::Object(_) => serde_json::from_value(answer)
            .map_err(|e| Error::decode(VENDOR, e.to_string(), &response.body).into_uncertain("push_sale"))?,
        _ => {
            return Err(
                Error::decode(VENDOR, "the answer is not a JSON object", &response.body).into_uncertain("push_sale")
            );
        }
    };
    Ok(written_id(&answer, "id"))
}

/// The answer to the sales report: its rows (bare, in `data`, or an object of rows).
pub fn report_answer(response: &Response) -> Result<Vec<SalesReportRow>> {
    checked(response)?;
    let value: Value = response.json(VENDOR)?;
    let value = match value {
        Value::Object(mut o) if o.contains_key("data") => o.remove("data").unwrap_or_default(),
        other => other,
    };
    as_list(value)
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v).map_err(|e| decode(response)(format!("row {i}: {e}"))))
        .collect()
}

/// An HTTP client for `oauth2` that answers every request with one response.
struct Canned<'r>(Mutex<Option<&'r Response>>);

impl<'c> oauth2::AsyncHttpClient<'c> for Canned<'_> {
    type Error = HttpFailure;
    type Future = std::future::Ready<std::result::Result<oauth2::HttpResponse, HttpFailure>>;

    fn call(&'c self, _request: oauth2::HttpRequest) -> Self::Future {
        let taken = self.0.lock().ok().and_then(|mut r| r.take());
        std::future::ready(match taken {
            Some(r) => auth::token_endpoint_answer(r.status, r.headers.clone(), r.body.to_vec()),
            None => Err(HttpFailure::Build("a second request".into())),
        })
    }
}

/// The token endpoint's answer to a refresh, read by the `oauth2` crate as the
/// client reads it, then turned into a stored token or an error.
pub fn token_answer(response: &Response) -> Result<StoredToken> {
    let url = TokenUrl::new("http://127.0.0.1/oauth/token".into()).map_err(|e| Error::config(e.to_string()))?;
    let client = BasicClient::new(ClientId::new("fuzz".into()))
        .set_token_uri(url)
        .set_auth_type(AuthType::RequestBody);
    let http = Canned(Mutex::new(Some(response)));
    let refresh = RefreshToken::new("refresh".into());
    let future = client.exchange_refresh_token(&refresh).request_async(&http);
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => auth::token_from(answer, Grant::Refresh),
        Poll::Pending => Err(Error::config("the oauth2 future did not finish at once")),
    }
}

fn offset() -> Offset {
    Offset::from_hours(8).unwrap_or(Offset::UTC)
}

/// The fuzz entry point (`DESCRIPTOR`'s fuzz entry): Asalta's answers, read the way
/// the connector reads them (the error parser, then the body; the token endpoint's
/// answer through the `oauth2` crate as the client does). Input: see
/// `posbridge_core::fuzzing`; the selector modulo 7 picks the answer: 0 invoice pages
/// (page 1, then the same answer as page 2), 1 items as stock, 2 customers, 3 one
/// invoice, 4 a write, 5 the sales report, 6 the token endpoint; pages 1–4 by the
/// selector divided by 7. No panic; every error keeps its promises (short texts);
/// every amount or quantity read round-trips. Panics when a promise is broken.
pub fn fuzz(data: &[u8]) {
    let (selector, response) = split_input(data);
    let page = u64::from(selector / 7 % 4) + 1;
    match selector % 7 {
        0 => check(sales_pages(&response), |sales| sales.iter().for_each(check_sale)),
        1 => check(stock_page(&response, page), |levels| {
            levels.iter().for_each(|l| check_decimal(l.quantity));
        }),
        2 => check(customers_page(&response, page), |_| {}),
        3 => check(sale_answer(&response), |sale| check_sale(&sale)),
        4 => check(write_answer(&response), |_| {}),
        5 => check(report_answer(&response), |_| {}),
        _ => check(token_answer(&response), |token| {
            let _ = token.access_token.expose_secret();
        }),
    }
}
