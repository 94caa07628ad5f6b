//! Thin wrappers over how the connector reads Codemax's answers, for the fuzz target
//! `codemax_response` in `fuzz/` and the no-panic property tests. Not part of the
//! API: hidden from the docs, and it may change at any time.

use std::time::Duration;

use tokio::time::Instant;

use posbridge_core::http::Response;
use posbridge_core::{PushReceipt, Result, SecretString, Token};

use crate::VENDOR;
use crate::{auth, error, map, wire};

/// The answer to a login (`previous_refresh` `None`) or a refresh: the error parser,
/// then the token (renewed ahead of its expiry; 15 minutes when the answer gives no
/// lifetime).
pub fn token_answer(response: &Response, previous_refresh: Option<&SecretString>) -> Result<Token> {
    if let Some(e) = error::parse_error(VENDOR, response) {
        return Err(e);
    }
    let answer: wire::TokenAnswer = response.json(VENDOR)?;
    auth::token_from_answer(
        answer,
        Instant::now(),
        Duration::from_secs(900),
        previous_refresh,
        &response.body,
    )
}

/// The answer to a `sync` of the invoices numbered `references`: the error parser,
/// then one outcome per invoice — or, when the answer cannot be matched to the
/// invoices sent, the whole request as uncertain, as the client reports it.
pub fn sync_answer(references: &[&str], response: &Response) -> Result<Vec<Result<PushReceipt>>> {
    if let Some(e) = error::parse_error(VENDOR, response) {
        return Err(e);
    }
    map::sync_outcomes(references, &response.body)
        .map_err(|why| posbridge_core::Error::decode(VENDOR, why, &response.body).into_uncertain("push_sales"))
}
