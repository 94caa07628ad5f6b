#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: CloudMA's answers, read the way the connector reads them
//! (`posbridge_cloudma::fuzzing::fuzz`, the crate's entry in the fuzz target
//! `vendor_response`), by the shared kit's bounded property tests
//! (`posbridge_conformance::kit::no_panic`), plus every input the fuzzer saved as a
//! crash (`tests/regressions/`), replayed.

use posbridge_conformance::kit::no_panic::Suite;

/// The fuzz entry (`DESCRIPTOR`'s): selector 0 a push answer, 1 a sync-stock answer.
const SUITE: Suite = Suite {
    keys: KEYS,
    run: posbridge_cloudma::fuzzing::fuzz,
    saved: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/cloudma_response"),
};

/// Field names the vendor uses, so that generated bodies reach past the first check.
const KEYS: &[&str] = &[
    "code",
    "data",
    "error",
    "errors",
    "id",
    "sale_id",
    "purchase_id",
    "grn_id",
    "invoice_id",
    "message",
    "msg",
    "error_message",
    "name",
    "qty",
    "status",
    "success",
    "stock",
    "stocks",
    "products",
    "items",
    "result",
];

#[test]
fn push_answers_decode_or_fail_cleanly() {
    SUITE.answers(0);
}

#[test]
fn stock_answers_decode_or_fail_cleanly() {
    SUITE.answers(1);
}

#[test]
fn any_input_decodes_or_fails_cleanly() {
    SUITE.any_input();
}

/// Every input the fuzzer saved as a crash (`tests/regressions/cloudma_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    SUITE.saved_inputs();
}
