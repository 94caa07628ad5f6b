//! Thin wrappers over how the connector reads CloudMA's answers, for the fuzz target
//! `vendor_response` in `fuzz/` (through [`fuzz`], registered in the crate's
//! `DESCRIPTOR`) and the no-panic property tests. Not part of the API: hidden from
//! the docs, and it may change at any time.
//!
//! Each function takes a response as the transport hands it over and goes the way
//! the client does: the error parser first, then the decoding of a successful body.

use posbridge_core::fuzzing::{check_decimal, check_error, split_input};
use posbridge_core::http::Response;
use posbridge_core::{Error, PushReceipt, Result, StockLevel};

use crate::VENDOR;
use crate::{error, map};

/// The answer to `push-sale` (or `push-purchase`): an error, or the receipt.
pub fn push_answer(response: &Response) -> Result<PushReceipt> {
    if let Some(e) = error::parse_error(VENDOR, response) {
        return Err(e);
    }
    let status = response.status.as_u16();
    map::receipt("FUZZ-1", status, &response.body).map_err(|p| match p {
        map::ReceiptProblem::Unreadable(why) => Error::decode(VENDOR, why, &response.body).into_uncertain("push_sale"),
        map::ReceiptProblem::Refused(message) => Error::Rejected {
            vendor: VENDOR,
            status: Some(status),
            code: None,
            message,
        },
    })
}

/// The answer to `sync-stock`: an error, or the stock levels.
pub fn stock_answer(response: &Response) -> Result<Vec<StockLevel>> {
    if let Some(e) = error::parse_error(VENDOR, response) {
        return Err(e);
    }
    let value: serde_json::Value = response.json(VENDOR)?;
    map::stock_levels(&value).map_err(|why| Error::decode(VENDOR, why, &response.body))
}

/// The fuzz entry point (`DESCRIPTOR`'s fuzz entry): CloudMA's answers, read the way
/// the connector reads them. Input: see `posbridge_core::fuzzing`; selector 0 is a
/// push answer, 1 a sync-stock answer. No panic; every error keeps its promises
/// (short texts); every quantity read round-trips. Panics when a promise is broken.
pub fn fuzz(data: &[u8]) {
    let (selector, response) = split_input(data);
    match selector % 2 {
        0 => match push_answer(&response) {
            Ok(receipt) => assert_eq!(receipt.reference, "FUZZ-1"),
            Err(e) => check_error(&e),
        },
        _ => match stock_answer(&response) {
            Ok(levels) => levels.iter().for_each(|l| check_decimal(l.quantity)),
            Err(e) => check_error(&e),
        },
    }
}
