#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: SalesMania's answers, read the way the connector reads
//! them, through `posbridge_salesmania::fuzzing` — the ground the fuzz target
//! `salesmania_response` (`fuzz/`, `cargo xtask fuzz`) covers, guarded here without
//! cargo-fuzz by bounded property tests, plus every input the fuzzer found crashing
//! (`tests/regressions/`), replayed. Each answer must decode or fail with an error
//! that keeps its promises (`posbridge_core::fuzzing::check_error`).

use posbridge_core::fuzzing::{check_decimal, check_error, input, split_input};
use proptest::prelude::*;
use serde_json::Value;

/// Field names the vendor uses, so that generated bodies reach past the first check.
const KEYS: &[&str] = &[
    "address",
    "city",
    "current_page",
    "customers",
    "data",
    "default_disc",
    "description",
    "disc_amount",
    "disc_percent",
    "errors",
    "ext_cust_id",
    "ext_cust_no",
    "ext_order_id",
    "ext_order_no",
    "ext_product_code",
    "ext_product_id",
    "id",
    "item_disc_amount",
    "item_disc_percent",
    "last_page",
    "meta",
    "message",
    "error",
    "msg",
    "name",
    "next_page_url",
    "ordered_products",
    "phone",
    "price",
    "product_units",
    "qty",
    "qty_on_hand",
    "ratio",
    "sku",
    "sm_status",
    "status",
    "team_token",
    "token",
    "access_token",
    "bearer_token",
    "expires_in",
    "trans_date",
    "unit",
    "db_id",
    "db_name",
];

fn check<T>(r: posbridge_core::Result<T>, ok: impl FnOnce(T)) {
    match r {
        Ok(v) => ok(v),
        Err(e) => check_error(&e),
    }
}

fn check_sale(sale: &posbridge_core::Sale) {
    for line in &sale.lines {
        check_decimal(line.quantity);
        check_decimal(line.unit_price);
    }
    if let Some(total) = sale.total {
        check_decimal(total);
    }
}

/// The fuzz target's body; the selector modulo 12 picks the answer (see the target).
fn run(data: &[u8]) {
    use posbridge_core::ExposeSecret;
    use posbridge_salesmania::{Database, fuzzing};
    let (selector, response) = split_input(data);
    let page = u32::from(selector / 12 % 4) + 1;
    match selector % 12 {
        0 | 1 => check(fuzzing::token_answer(&response, selector % 12 == 1), |(token, _)| {
            assert!(!token.expose_secret().trim().is_empty(), "an empty token was accepted");
        }),
        2 => {
            let wanted = if selector & 0x80 == 0 {
                Database::from("Toko Maju")
            } else {
                Database::from(2981)
            };
            check(fuzzing::databases_answer(&response, &wanted), |_| {});
        }
        3 => check(fuzzing::stock_page(&response, page), |(levels, _)| {
            levels.iter().for_each(|l| check_decimal(l.quantity));
        }),
        4 => check(fuzzing::products_page(&response, page), |_| {}),
        5 => check(fuzzing::customers_page(&response, page), |_| {}),
        6 => check(fuzzing::visits_page(&response, page), |_| {}),
        7 => check(fuzzing::teams_page(&response, page), |_| {}),
        8 => check(fuzzing::find_order_answer(&response, "INV-1001"), |_| {}),
        9 => check(fuzzing::order_answer(&response), |sale| check_sale(&sale)),
        10 => check(fuzzing::customer_answer(&response), |_| {}),
        _ => check(fuzzing::write_answer(&response), |_| {}),
    }
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
    fn bearer_token_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(0, status, &body));
    }

    #[test]
    fn team_token_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(1, status, &body));
    }

    #[test]
    fn databases_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(2, status, &body));
    }

    #[test]
    fn databases_answers_by_id_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(130, status, &body));
    }

    #[test]
    fn stock_pages_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(3, status, &body));
    }

    #[test]
    fn product_pages_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(4, status, &body));
    }

    #[test]
    fn customer_pages_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(5, status, &body));
    }

    #[test]
    fn visit_pages_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(6, status, &body));
    }

    #[test]
    fn team_pages_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(7, status, &body));
    }

    #[test]
    fn order_lookups_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(8, status, &body));
    }

    #[test]
    fn order_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(9, status, &body));
    }

    #[test]
    fn customer_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(10, status, &body));
    }

    #[test]
    fn write_answers_decode_or_fail_cleanly(status in status(), body in body()) {
        run(&input(11, status, &body));
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

/// Every input the fuzzer saved as a crash (`tests/regressions/salesmania_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions/salesmania_response");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries {
        let path = entry.unwrap().path();
        run(&std::fs::read(&path).unwrap());
    }
}

// ------------------------------------------------------------------ discounts

/// The fuzz target `salesmania_discount`'s body: any text parses or is a typed error;
/// what parses formats to a canonical string that parses back to the same parts.
fn discount(text: &str) {
    use posbridge_core::Decimal;
    use posbridge_salesmania::{format_discount, parse_discount};
    let Ok(parts) = parse_discount(text) else { return };
    assert_eq!(parts.len(), text.split('+').count(), "{text:?}");
    assert!(
        parts.iter().all(|p| *p >= Decimal::ZERO && *p <= Decimal::ONE_HUNDRED),
        "{text:?}"
    );
    let formatted = format_discount(&parts);
    let again = parse_discount(&formatted).unwrap();
    assert_eq!(again, parts, "{text:?} -> {formatted:?}");
    assert_eq!(format_discount(&again), formatted, "{text:?}");
    let cascaded = posbridge_salesmania::fuzzing::apply_cascade(Decimal::ONE_HUNDRED, &parts).unwrap();
    assert!(
        cascaded >= Decimal::ZERO && cascaded <= Decimal::ONE_HUNDRED,
        "{text:?} leaves {cascaded}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn discount_strings_parse_format_and_parse_back(text in prop_oneof![
        "[0-9.+ ]{0,40}",
        "(0|[1-9][0-9]{0,2})(\\.[0-9]{1,30})?( ?\\+ ?(0|[1-9][0-9]{0,2})(\\.[0-9]{1,30})?){0,4}",
        "\\PC{0,24}",
    ]) {
        discount(&text);
    }
}

// ------------------------------------------------------------------ regressions

/// Found by `customer_answers_decode_or_fail_cleanly`: an id sent as a tiny float
/// (`-9.83710656305676e-309`) was named in the error by `f64`'s plain text, 300-odd
/// digits, so the error's `Display` broke the 600-character promise.
#[test]
fn an_id_sent_as_a_tiny_float_gives_a_short_error() {
    let data = include_bytes!("regressions/salesmania_response/proptest-id-tiny-float-long-message");
    run(data);
    let (_, response) = split_input(data);
    let e = posbridge_salesmania::fuzzing::customer_answer(&response).unwrap_err();
    assert!(e.to_string().contains("-9.83710656305676e-309"), "{e}");
}

/// Found by the fuzz target `salesmania_response` (selector 9, one order): a
/// `trans_date` of 250 DEL characters was quoted whole, escaped, in the decode error,
/// whose `Display` ran to 776 characters. `Error::decode` now cuts every decode
/// message to `MESSAGE_LEN` characters.
#[test]
fn an_order_with_a_long_unreadable_date_gives_a_short_error() {
    let data = include_bytes!("regressions/salesmania_response/crash-383a958c-order-trans-date-long-message");
    run(data);
    let (_, response) = split_input(data);
    let e = posbridge_salesmania::fuzzing::order_answer(&response).unwrap_err();
    assert!(e.to_string().contains("trans_date"), "{e}");
}

/// Found by review after the fuzz crash above (same class; the fuzzer's 4 KiB inputs
/// did not reach it in its run): a token answer without a token names the keys it
/// has, and the decode error was built without `Error::decode`'s cut, so a thousand
/// keys made a 10,000-character error. It now goes through `Error::decode`.
#[test]
fn a_token_answer_with_a_thousand_keys_gives_a_short_error() {
    let keys: Vec<String> = (0..1000).map(|i| format!("\"key_{i:04}\": 1")).collect();
    let body = format!("{{{}}}", keys.join(", "));
    for selector in [0, 1] {
        run(&input(selector, 200, body.as_bytes()));
    }
}

/// Found by review after the fuzz crash above (same class): a databases answer that
/// does not hold the configured database lists the ones it has, every one of them, so
/// a thousand made a 15,000-character configuration error. It now lists ten (names
/// cut to 40 characters) and says how many more.
#[test]
fn a_thousand_databases_give_a_short_error() {
    let dbs: Vec<String> = (0..1000)
        .map(|i| format!("{{\"db_id\": {i}, \"db_name\": \"Toko {i}\"}}"))
        .collect();
    let body = format!("[{}]", dbs.join(", "));
    run(&input(2, 200, body.as_bytes()));
    run(&input(2 | 0x80, 200, body.as_bytes()));
}
