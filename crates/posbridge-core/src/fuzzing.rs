//! Helpers shared by the fuzz targets in `fuzz/` and by the vendor crates'
//! "no panic on any bytes" property tests. Not part of the API: hidden from the docs,
//! and it may change at any time.
//!
//! A fuzz input for a vendor's response decoding is read by [`split_input`]: byte 0
//! picks which answer is decoded, bytes 1–2 are the HTTP status, byte 3 is the length
//! `n` of a `Retry-After` header value in the next `n` bytes, and the rest is the
//! body. [`input`] writes one, for seeds and tests.

use std::str::FromStr;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use crate::error::EXCERPT_LEN;
use crate::http::Response;
use crate::{Decimal, Error, Result, Sale};

/// Splits fuzz input into a selector byte and the response it describes (see the
/// module docs). The status is folded into `100..=599`; a `Retry-After` value that a
/// header cannot carry is left out, as the HTTP stack would refuse it.
pub fn split_input(data: &[u8]) -> (u8, Response) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let selector = byte(0);
    let status = 100 + u16::from_be_bytes([byte(1), byte(2)]) % 500;
    let header_len = usize::from(byte(3));
    let rest = data.get(4..).unwrap_or_default();
    let (retry_after, body) = rest.split_at(header_len.min(rest.len()));
    let mut headers = HeaderMap::new();
    if !retry_after.is_empty()
        && let Ok(value) = HeaderValue::from_bytes(retry_after)
    {
        headers.insert(RETRY_AFTER, value);
    }
    let response = Response {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        headers,
        body: body.to_vec().into(),
    };
    (selector, response)
}

/// The fuzz input [`split_input`] reads back as `selector`, `status`, no header and
/// `body`.
pub fn input(selector: u8, status: u16, body: &[u8]) -> Vec<u8> {
    let folded = status.saturating_sub(100) % 500;
    let mut out = vec![selector];
    out.extend_from_slice(&folded.to_be_bytes());
    out.push(0);
    out.extend_from_slice(body);
    out
}

/// The promises every error a connector returns keeps, whatever the vendor sent (the
/// same as the vendor crates' `tests/hostile.rs`): `Display` and `Debug` are short,
/// a decode error's excerpt is at most [`EXCERPT_LEN`] characters and a mark, and the
/// kind, retry advice and secret redaction do not panic. Panics when one is broken.
pub fn check_error(e: &Error) {
    let shown = e.to_string();
    let debug = format!("{e:?}");
    assert!(
        shown.chars().count() < 600,
        "Display is {} characters long: {}",
        shown.chars().count(),
        shown.chars().take(300).collect::<String>()
    );
    assert!(
        debug.chars().count() < 2_000,
        "Debug is {} characters long: {}",
        debug.chars().count(),
        debug.chars().take(300).collect::<String>()
    );
    if let Error::Decode { excerpt, .. } = e {
        assert!(
            excerpt.chars().count() <= EXCERPT_LEN + 1,
            "the excerpt is {} characters long",
            excerpt.chars().count()
        );
    }
    let _ = (e.kind(), e.is_retryable(), e.retry_after());
    let _ = e.clone().redact_secrets(&["secret"]).to_string();
}

/// Checks a decoded amount or quantity round-trips through its text form and through
/// JSON (as the domain types serialize it). Panics when it does not.
pub fn check_decimal(d: Decimal) {
    let text = d.to_string();
    assert_eq!(Decimal::from_str(&text).ok(), Some(d), "{text} does not read back");
    let json = serde_json::to_string(&d).unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<Decimal>(&json).ok(),
        Some(d),
        "{json} does not read back"
    );
}

/// Hands a decoded value to `ok`, or checks that the error keeps its promises
/// ([`check_error`]).
pub fn check<T>(r: Result<T>, ok: impl FnOnce(T)) {
    match r {
        Ok(v) => ok(v),
        Err(e) => check_error(&e),
    }
}

/// Checks every amount and quantity of a decoded sale ([`check_decimal`]).
pub fn check_sale(sale: &Sale) {
    for line in &sale.lines {
        check_decimal(line.quantity);
        check_decimal(line.unit_price);
    }
    if let Some(total) = sale.total {
        check_decimal(total);
    }
}
