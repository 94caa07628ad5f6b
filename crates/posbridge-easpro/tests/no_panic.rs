#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: EAS Pro's answers, read the way the connector reads
//! them, through `posbridge_easpro::fuzzing` — the ground the fuzz target
//! `easpro_response` (`fuzz/`, `cargo xtask fuzz`) covers, guarded here without
//! cargo-fuzz by bounded property tests, plus every input the fuzzer found crashing
//! (`tests/regressions/`), replayed. Each answer must decode or fail with an error
//! that keeps its promises (`posbridge_core::fuzzing::check_error`).

use posbridge_core::fuzzing::{check_decimal, check_error, input, split_input};
use proptest::prelude::*;
use serde_json::Value;

/// Field names the vendor uses, so that generated bodies reach past the first check.
const KEYS: &[&str] = &[
    "code",
    "data",
    "date",
    "demo",
    "httpMessage",
    "response",
    "result",
    "status",
    "id",
    "transactionId",
    "billId",
    "invoiceId",
    "paymentId",
];

/// The fuzz target's body: an upsert answer (the selector is ignored).
fn run(data: &[u8]) {
    let (_, response) = split_input(data);
    match posbridge_easpro::fuzzing::upsert_answer(&response) {
        Ok(receipt) => assert_eq!(receipt.reference, "FUZZ-1"),
        Err(e) => check_error(&e),
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
    fn upsert_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(0, status, &body));
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

/// Every input the fuzzer saved as a crash (`tests/regressions/easpro_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/easpro_response");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
    }
}
