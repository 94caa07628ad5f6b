//! Thin wrappers over how the connector reads EAS Pro's answers, for the fuzz target
//! `vendor_response` in `fuzz/` (through [`fuzz`], registered in the crate's
//! `DESCRIPTOR`) and the no-panic property tests. Not part of the API: hidden from
//! the docs, and it may change at any time.

use posbridge_core::fuzzing::{check_error, split_input};
use posbridge_core::http::Response;
use posbridge_core::{PushReceipt, Result};

use crate::VENDOR;
use crate::{error, map, wire};

/// The answer to a transaction or payment upsert, the way the client reads it: the
/// error parser (HTTP status, then the `{"response": {"status": {"code"}}}`
/// envelope), then the envelope's `data` (the id given, the demo flag) as a receipt.
pub fn upsert_answer(response: &Response) -> Result<PushReceipt> {
    if let Some(e) = error::parse_error(VENDOR, response) {
        return Err(e);
    }
    let answer: wire::Answer = response.json(VENDOR)?;
    let accepted = map::accepted(answer.data.as_ref());
    Ok(map::receipt("FUZZ-1", &accepted))
}

/// The fuzz entry point (`DESCRIPTOR`'s fuzz entry): EAS Pro's answers, read the way
/// the connector reads them (the HTTP status, the `{"response": {"status":
/// {"code"}}}` envelope, then `data` as a receipt). Input: see
/// `posbridge_core::fuzzing` (the selector is ignored). No panic; every error keeps
/// its promises (short texts). Panics when a promise is broken.
pub fn fuzz(data: &[u8]) {
    let (_, response) = split_input(data);
    match upsert_answer(&response) {
        Ok(receipt) => assert_eq!(receipt.reference, "FUZZ-1"),
        Err(e) => check_error(&e),
    }
}
