#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: a sale file read the way `posbridge push-sales FILE` reads
//! it (one JSON object, a JSON array, or NDJSON of `Sale`), then every sale
//! reconciled. The CLI's parser (`crates/posbridge-cli/src/records.rs`) lives in a
//! binary crate that tests elsewhere cannot call, so this reads with the same steps
//! through `serde_json` and `Sale::reconcile`; the fuzz target `sale_file` (`fuzz/`)
//! compiles the CLI's own file. A sale that reconciles survives a JSON round trip
//! unchanged (the outbox stores sales as JSON).

use posbridge_core::{Sale, fuzzing::check_error};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The CLI's reading: an array, else one document, else one sale per line.
fn sales(text: &str) -> Vec<Sale> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if trimmed.starts_with('[') {
        let Ok(items) = serde_json::from_str::<Vec<Value>>(text) else {
            return Vec::new();
        };
        return items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
    }
    if let Ok(sale) = serde_json::from_str::<Sale>(text) {
        return vec![sale];
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn check(text: &str) {
    for sale in sales(text) {
        match sale.reconcile() {
            Ok(checked) => {
                let total = checked.amounts().total;
                let json = serde_json::to_string(&sale).unwrap();
                let back: Sale = serde_json::from_str(&json).unwrap();
                assert_eq!(back, sale, "{json}");
                assert_eq!(back.reconcile().unwrap().amounts().total, total, "{json}");
            }
            Err(e) => check_error(&e),
        }
    }
}

/// Amounts as the POS writes them, and as no POS should.
fn amount() -> impl Strategy<Value = Value> {
    prop_oneof![
        "-?[0-9]{1,4}(\\.[0-9]{1,3})?".prop_map(Value::String),
        "-?[0-9]{1,40}(\\.[0-9]{0,40})?(e-?[0-9]{1,3})?".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        Just(Value::Null),
        "[ -~]{0,8}".prop_map(Value::String),
    ]
}

fn discount() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        amount().prop_map(|a| json!({ "amount": a })),
        amount().prop_map(|a| json!({ "percent": a })),
        prop::collection::vec(amount(), 0..4).prop_map(|c| json!({ "cascade": c })),
    ]
}

fn line() -> impl Strategy<Value = Value> {
    (
        "[A-Z]{1,6}-[0-9]{1,3}",
        amount(),
        amount(),
        discount(),
        prop::option::of(amount()),
        prop::option::of(amount()),
    )
        .prop_map(|(code, quantity, unit_price, discount, total, tax)| {
            let mut l = json!({ "product_code": code, "quantity": quantity, "unit_price": unit_price });
            if !discount.is_null() {
                l["discount"] = discount;
            }
            if let Some(t) = total {
                l["total"] = t;
            }
            if let Some(t) = tax {
                l["tax"] = json!({ "rate": t, "inclusive": true });
            }
            l
        })
}

fn sale() -> impl Strategy<Value = Value> {
    (
        "[ -~]{0,12}",
        prop_oneof![
            Just("2026-11-26T10:15:00+05:30".to_owned()),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})"
        ],
        prop::collection::vec(line(), 0..5),
        discount(),
        prop::option::of(amount()),
        prop::option::of(amount()),
        prop::collection::vec(amount(), 0..3),
    )
        .prop_map(|(reference, issued_at, lines, discount, shipping, total, payments)| {
            let mut s = json!({ "reference": reference, "issued_at": issued_at, "lines": lines });
            if !discount.is_null() {
                s["discount"] = discount;
            }
            if let Some(x) = shipping {
                s["shipping"] = x;
            }
            if let Some(x) = total {
                s["total"] = x;
            }
            if !payments.is_empty() {
                s["payments"] = payments
                    .into_iter()
                    .map(|a| json!({ "method": "cash", "amount": a }))
                    .collect();
            }
            s
        })
}

/// A sale file: one sale, an array of them, NDJSON, cut short, or any text.
fn file() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => sale().prop_map(|s| serde_json::to_string_pretty(&s).unwrap()),
        2 => prop::collection::vec(sale(), 0..4).prop_map(|v| serde_json::to_string(&v).unwrap()),
        2 => prop::collection::vec(sale(), 0..4)
            .prop_map(|v| v.iter().map(|s| s.to_string() + "\n").collect::<String>()),
        1 => (sale(), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            let t = s.to_string();
            let cut = i.index(t.len() + 1);
            t.char_indices().map(|(n, _)| n).take_while(|n| *n <= cut).last().map_or(t.clone(), |n| t[..n].to_owned())
        }),
        1 => "\\PC{0,64}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sale_files_parse_and_reconcile_or_fail_cleanly(text in file()) {
        check(&text);
    }
}

/// Every input the fuzzer saved as a crash (`tests/regressions/sale_file/`).
#[test]
fn saved_fuzz_inputs_parse_or_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/sale_file");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        check(&String::from_utf8_lossy(&bytes));
    }
}
