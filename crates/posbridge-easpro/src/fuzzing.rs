//! Thin wrappers over how the connector reads EAS Pro's answers, for the fuzz target
//! `easpro_response` in `fuzz/` and the no-panic property tests. Not part of the API:
//! hidden from the docs, and it may change at any time.

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
