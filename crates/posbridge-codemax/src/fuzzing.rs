//! Thin wrappers over how the connector reads Codemax's answers, for the fuzz target
//! `vendor_response` in `fuzz/` (through [`fuzz`], registered in the crate's
//! `DESCRIPTOR`) and the no-panic property tests. Not part of the API: hidden from
//! the docs, and it may change at any time.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use posbridge_core::fuzzing::{check_error, split_input};
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

/// The invoice numbers the body's `results` name.
fn named(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    v.get("results")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("invoice_no").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The fuzz entry point (`DESCRIPTOR`'s fuzz entry): Codemax's answers, read the way
/// the connector reads them. Input: see `posbridge_core::fuzzing`; selector 0 is a
/// login answer, 1 a refresh answer, 2 a sync answer (the invoices sent are those the
/// body's `results` name, one more when bit 3 of the selector is set, one fewer when
/// bit 4 is). No panic; every error keeps its promises (short texts); a sync gives
/// one outcome per invoice sent, in order. Panics when a promise is broken.
pub fn fuzz(data: &[u8]) {
    let (selector, response) = split_input(data);
    match selector % 3 {
        0 | 1 => {
            let previous = SecretString::from("previous-refresh");
            let previous = (selector % 3 == 1).then_some(&previous);
            match token_answer(&response, previous) {
                Ok(token) => {
                    let _ = token.expires_at;
                }
                Err(e) => check_error(&e),
            }
        }
        _ => {
            let mut references = named(&response.body);
            if selector & 0x08 != 0 {
                references.push("INV-EXTRA".into());
            }
            if selector & 0x10 != 0 {
                references.pop();
            }
            if references.is_empty() {
                references.push("INV-1".into());
            }
            let refs: Vec<&str> = references.iter().map(String::as_str).collect();
            match sync_answer(&refs, &response) {
                Ok(outcomes) => {
                    assert_eq!(outcomes.len(), refs.len(), "one outcome per invoice sent");
                    for (outcome, reference) in outcomes.iter().zip(&refs) {
                        match outcome {
                            Ok(receipt) => assert_eq!(receipt.reference, *reference),
                            Err(e) => check_error(e),
                        }
                    }
                }
                Err(e) => check_error(&e),
            }
        }
    }
}
