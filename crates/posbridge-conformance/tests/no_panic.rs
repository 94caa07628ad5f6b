#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: the fixture format read from bytes — the ground the fuzz
//! target `fixture` (`fuzz/`, `cargo xtask fuzz`) covers (there with the committed
//! JSON Schema too), guarded here without cargo-fuzz. A fixture that parses survives
//! a serialize/parse round trip unchanged, and so does every committed fixture.

use posbridge_conformance::{Case, Fixture};
use proptest::prelude::*;
use serde_json::{Value, json};

const KEYS: &[&str] = &[
    "description",
    "operation",
    "covers",
    "config",
    "input",
    "exchanges",
    "request",
    "response",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "json",
    "form",
    "text",
    "status",
    "delay_ms",
    "expect",
    "ok",
    "error",
    "kind",
    "field",
    "vendor_code",
    "vendor_message",
    "retry_after_secs",
    "message_contains",
    "token",
];

const WORDS: &[&str] = &[
    "push_sale",
    "push_sales",
    "get_sale",
    "list_sales",
    "void_sale",
    "push_return",
    "add_payment",
    "delete_payment",
    "push_purchase",
    "stock_levels",
    "list_customers",
    "get_customer",
    "create_customer",
    "update_customer",
    "delete_customer",
    "list_products",
    "get_product",
    "create_product",
    "update_product",
    "delete_product",
    "list_locations",
    "happy_path",
    "invalid_credentials",
    "rejected",
    "rate_limited",
    "malformed_response",
    "auth",
    "invalid",
    "unavailable",
    "uncertain",
    "decode",
    "not_found",
    "POST",
    "GET",
    "/api/push-sale",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// Fixtures shaped like the real ones, with any part replaced.
fn fixture() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&WORDS[..12]),
        prop::collection::vec(prop::sample::select(&WORDS[12..17]), 0..3),
        json(),
        json(),
        any::<u16>(),
        json(),
        prop::sample::select(&WORDS[17..23]),
        any::<bool>(),
    )
        .prop_map(|(operation, covers, config, input, status, body, kind, ok)| {
            json!({
                "description": "generated",
                "operation": operation,
                "covers": covers,
                "config": config,
                "input": input,
                "exchanges": [{
                    "request": {"method": "POST", "path": "/api/push-sale"},
                    "response": {"status": status, "body": {"json": body}}
                }],
                "expect": if ok { json!({"ok": null}) } else { json!({"error": {"kind": kind}}) }
            })
        })
}

fn check(bytes: &[u8]) {
    let Ok(fixture) = serde_json::from_slice::<Fixture>(bytes) else {
        return;
    };
    let _ = Case::required_for(fixture.operation);
    let text = serde_json::to_string(&fixture).unwrap();
    let back: Fixture = serde_json::from_str(&text).unwrap();
    assert_eq!(back, fixture, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fixtures_parse_and_round_trip(v in fixture()) {
        check(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn any_json_is_a_fixture_or_an_error(v in json()) {
        check(&serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn any_bytes_are_a_fixture_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }
}

/// Every committed fixture parses and round-trips.
#[test]
fn every_committed_fixture_round_trips() {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seen = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let Ok(files) = std::fs::read_dir(entry.unwrap().path().join("fixtures")) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|x| x == "json") {
                let bytes = std::fs::read(&path).unwrap();
                assert!(serde_json::from_slice::<Fixture>(&bytes).is_ok(), "{}", path.display());
                check(&bytes);
                seen += 1;
            }
        }
    }
    assert!(seen > 100, "only {seen} fixtures found");
}

/// Every input the fuzzer saved as a crash (`tests/regressions/fixture/`).
#[test]
fn saved_fuzz_inputs_parse_or_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/fixture");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        check(&std::fs::read(entry.unwrap().path()).unwrap());
    }
}

/// Found by `fixtures_parse_and_round_trip`: without serde_json's `float_roundtrip`
/// (now enabled by posbridge-core), `-6.705421074284143e-187` was read one unit in the
/// last place off, so a fixture (or a vendor's number) did not survive a round trip.
#[test]
fn a_sixteen_digit_float_survives_a_round_trip() {
    let bytes = include_bytes!("regressions/fixture/proptest-float-one-ulp-off.json");
    check(bytes);
    let v: Value = serde_json::from_str("-6.705421074284143e-187").unwrap();
    assert_eq!(v.to_string(), "-6.705421074284143e-187");
}
