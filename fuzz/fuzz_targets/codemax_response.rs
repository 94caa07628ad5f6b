//! Codemax's answers, read the way the connector reads them. Input: see
//! `posbridge_core::fuzzing`; selector 0 is a login answer, 1 a refresh answer, 2 a
//! sync answer (the invoices sent are those the body's `results` name, one more when
//! bit 3 of the selector is set, one fewer when bit 4 is). No panic; every error keeps
//! its promises (short texts); a sync gives one outcome per invoice sent, in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posbridge_codemax::fuzzing;
use posbridge_core::SecretString;
use posbridge_core::fuzzing::{check_error, split_input};
use serde_json::Value;

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

fuzz_target!(|data: &[u8]| {
    let (selector, response) = split_input(data);
    match selector % 3 {
        0 | 1 => {
            let previous = SecretString::from("previous-refresh");
            let previous = (selector % 3 == 1).then_some(&previous);
            match fuzzing::token_answer(&response, previous) {
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
            match fuzzing::sync_answer(&refs, &response) {
                Ok(outcomes) => {
                    assert_eq!(outcomes.len(), refs.len());
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
});
