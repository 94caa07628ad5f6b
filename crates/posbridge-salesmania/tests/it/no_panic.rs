#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: SalesMania's answers, read the way the connector reads them
//! (`posbridge_salesmania::fuzzing::fuzz`, the crate's entry in the fuzz target
//! `vendor_response`), by the shared kit's bounded property tests
//! (`posbridge_conformance::kit::no_panic`), plus every input the fuzzer saved as a
//! crash (`tests/regressions/`), replayed.

use posbridge_conformance::kit::no_panic::Suite;
use posbridge_core::fuzzing::{input, split_input};
use posbridge_salesmania::fuzzing::{DISCOUNT_SELECTOR, fuzz as run};
use proptest::prelude::*;

/// The fuzz entry (`DESCRIPTOR`'s); the selector modulo 12 picks the answer, and
/// [`DISCOUNT_SELECTOR`] the discount parser (see `posbridge_salesmania::fuzzing::fuzz`).
const SUITE: Suite = Suite {
    keys: KEYS,
    run,
    saved: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/salesmania_response"),
};

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

#[test]
fn bearer_token_answers_decode_or_fail_cleanly() {
    SUITE.answers(0);
}

#[test]
fn team_token_answers_decode_or_fail_cleanly() {
    SUITE.answers(1);
}

#[test]
fn databases_answers_decode_or_fail_cleanly() {
    SUITE.answers(2);
}

#[test]
fn databases_answers_by_id_decode_or_fail_cleanly() {
    SUITE.answers(130);
}

#[test]
fn stock_pages_decode_or_fail_cleanly() {
    SUITE.answers(3);
}

#[test]
fn product_pages_decode_or_fail_cleanly() {
    SUITE.answers(4);
}

#[test]
fn customer_pages_decode_or_fail_cleanly() {
    SUITE.answers(5);
}

#[test]
fn visit_pages_decode_or_fail_cleanly() {
    SUITE.answers(6);
}

#[test]
fn team_pages_decode_or_fail_cleanly() {
    SUITE.answers(7);
}

#[test]
fn order_lookups_decode_or_fail_cleanly() {
    SUITE.answers(8);
}

#[test]
fn order_answers_decode_or_fail_cleanly() {
    SUITE.answers(9);
}

#[test]
fn customer_answers_decode_or_fail_cleanly() {
    SUITE.answers(10);
}

#[test]
fn write_answers_decode_or_fail_cleanly() {
    SUITE.answers(11);
}

#[test]
fn any_input_decodes_or_fails_cleanly() {
    SUITE.any_input();
}

/// Every input the fuzzer saved as a crash (`tests/regressions/salesmania_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    SUITE.saved_inputs();
}

// ------------------------------------------------------------------ discounts

/// The discount route of the fuzz entry (`posbridge_salesmania::fuzzing::discount`,
/// reached by [`DISCOUNT_SELECTOR`]): any text parses or is a typed error; what parses
/// formats to a canonical string that parses back to the same parts; and the cascade
/// of what parses leaves between nothing and everything.
fn discount(text: &str) {
    use posbridge_core::Decimal;
    let mut routed = vec![DISCOUNT_SELECTOR];
    routed.extend_from_slice(text.as_bytes());
    run(&routed);
    let Ok(parts) = posbridge_salesmania::parse_discount(text) else {
        return;
    };
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
    let data = include_bytes!("../regressions/salesmania_response/proptest-id-tiny-float-long-message");
    run(data);
    let (_, response) = split_input(data);
    let e = posbridge_salesmania::fuzzing::customer_answer(&response).unwrap_err();
    assert!(e.to_string().contains("-9.83710656305676e-309"), "{e}");
}

/// Found by the fuzz target `salesmania_response` (now `vendor_response`; selector 9,
/// one order): a `trans_date` of 250 DEL characters was quoted whole, escaped, in the
/// decode error, whose `Display` ran to 776 characters. `Error::decode` now cuts every
/// decode message to `MESSAGE_LEN` characters.
#[test]
fn an_order_with_a_long_unreadable_date_gives_a_short_error() {
    let data = include_bytes!("../regressions/salesmania_response/crash-383a958c-order-trans-date-long-message");
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
