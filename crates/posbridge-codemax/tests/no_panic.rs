#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: Codemax's answers, read the way the connector reads
//! them, through `posbridge_codemax::fuzzing` — the ground the fuzz target
//! `codemax_response` (`fuzz/`, `cargo xtask fuzz`) covers, guarded here without
//! cargo-fuzz by bounded property tests, plus every input the fuzzer found crashing
//! (`tests/regressions/`), replayed. Each answer must decode or fail with an error
//! that keeps its promises (`posbridge_core::fuzzing::check_error`).

use posbridge_core::fuzzing::{check_decimal, check_error, input, split_input};
use proptest::prelude::*;
use serde_json::Value;

/// Field names the vendor uses, so that generated bodies reach past the first check.
const KEYS: &[&str] = &[
    "access_token",
    "code",
    "expires_in",
    "invoice_no",
    "message",
    "error",
    "msg",
    "refresh_token",
    "results",
    "status",
];

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

/// The fuzz target's body: selector 0 a login answer, 1 a refresh answer, 2 a sync
/// answer for the invoices the body names (one more with bit 3, one fewer with bit 4).
fn run(data: &[u8]) {
    let (selector, response) = split_input(data);
    match selector % 3 {
        0 | 1 => {
            let previous = posbridge_core::SecretString::from("previous-refresh");
            let previous = (selector % 3 == 1).then_some(&previous);
            if let Err(e) = posbridge_codemax::fuzzing::token_answer(&response, previous) {
                check_error(&e);
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
            match posbridge_codemax::fuzzing::sync_answer(&refs, &response) {
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
    let _ = check_decimal;
}

// ------------------------------------------------------------------ inputs

/// Any JSON document built from `KEYS` (the vendor's field names), with numbers and
/// numeric strings of every size, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        "[ -~]{0,16}".prop_map(Value::String),
        "-?[0-9]{1,32}(\\.[0-9]{0,32})?(e-?[0-9]{1,3})?".prop_map(Value::String),
        prop::sample::select(KEYS).prop_map(|k| Value::String(k.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A body: JSON, JSON cut short, or any bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => (json(), any::<prop::sample::Index>()).prop_map(|(v, i)| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.truncate(i.index(b.len() + 1));
            b
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// A status: mostly the successful ones, where bodies are read.
fn status() -> impl Strategy<Value = u16> {
    prop_oneof![4 => Just(200u16), 1 => Just(201u16), 2 => 100u16..600]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn login_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(0, status, &body));
    }

    #[test]
    fn refresh_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(1, status, &body));
    }

    #[test]
    fn sync_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(2, status, &body));
    }

    #[test]
    fn sync_answers_with_an_invoice_more_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(10, status, &body));
    }

    #[test]
    fn sync_answers_with_an_invoice_fewer_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(18, status, &body));
    }
}

/// Any input the fuzz target reads (selector, status, `Retry-After`, body).
fn raw() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (any::<u8>(), status(), body()).prop_map(|(s, st, b)| input(s, st, &b)),
        prop::collection::vec(any::<u8>(), 0..512),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_input_decodes_or_fails_cleanly(data in raw()) {
        run(&data);
    }
}

/// Every input the fuzzer saved as a crash (`tests/regressions/codemax_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/codemax_response");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
    }
}

/// Found by review after the fuzz crashes below (same class): a login answer with a
/// refusal code and no token named the code whole in the auth error, so a code of a
/// thousand characters made a 1,070-character error. The code is now an excerpt.
#[test]
fn a_login_answer_with_a_long_code_gives_a_short_error() {
    let body = format!("{{\"code\": \"{}\"}}", "9".repeat(1000));
    run(&input(0, 200, body.as_bytes()));
    run(&input(1, 200, body.as_bytes()));
}

/// Found by the fuzz target `codemax_response` (selector 1, a refresh answer; two
/// inputs): a body that is one JSON string of backslashes. serde's message quotes the
/// string, and `Display` shows the body's excerpt escaped, each backslash twice, so the
/// error ran past 600 characters. Core now measures an excerpt and a decode message
/// as `Debug` shows them (`"` and `\` count two, a `\u{…}` escape its length).
#[test]
fn a_refresh_answer_of_backslashes_gives_a_short_error() {
    for data in [
        &include_bytes!("regressions/codemax_response/crash-281c6003-refresh-answer-of-backslashes")[..],
        &include_bytes!("regressions/codemax_response/crash-35ec7351-refresh-answer-of-backslashes")[..],
    ] {
        run(data);
        let (_, response) = split_input(data);
        let previous = posbridge_core::SecretString::from("previous-refresh");
        let e = posbridge_codemax::fuzzing::token_answer(&response, Some(&previous)).unwrap_err();
        assert_eq!(e.kind(), posbridge_core::ErrorKind::Decode, "{e}");
    }
}
