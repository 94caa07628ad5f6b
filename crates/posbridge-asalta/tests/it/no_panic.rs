#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: Asalta's answers, read the way the connector reads them
//! (`posbridge_asalta::fuzzing::fuzz`, the crate's entry in the fuzz target
//! `vendor_response`), by the shared kit's bounded property tests
//! (`posbridge_conformance::kit::no_panic`), plus every input the fuzzer saved as a
//! crash (`tests/regressions/`), replayed.

use posbridge_conformance::kit::no_panic::Suite;

/// The fuzz entry (`DESCRIPTOR`'s); the selector modulo 7 picks the answer (see
/// `posbridge_asalta::fuzzing::fuzz`).
const SUITE: Suite = Suite {
    keys: KEYS,
    run: posbridge_asalta::fuzzing::fuzz,
    saved: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/asalta_response"),
};

/// Field names the vendor uses, so that generated bodies reach past the first check.
const KEYS: &[&str] = &[
    "_links",
    "_meta",
    "_metadata",
    "access_token",
    "refresh_token",
    "token_type",
    "error_description",
    "address",
    "amount",
    "biller",
    "biller_id",
    "city",
    "code",
    "cost",
    "currentPage",
    "customer",
    "customer_id",
    "data",
    "date",
    "discount",
    "email",
    "error",
    "expires_in",
    "grand_total",
    "id",
    "inventory",
    "item_discount",
    "item_tax",
    "items",
    "message",
    "name",
    "net_unit_price",
    "nextPage",
    "order_discount",
    "pageCount",
    "pageSize",
    "paid",
    "paid_by",
    "payments",
    "perPage",
    "phone",
    "price",
    "product_code",
    "product_id",
    "product_name",
    "quantity",
    "reference_no",
    "sale_status",
    "shipping",
    "status",
    "subtotal",
    "tax",
    "total",
    "totalCount",
    "totalPage",
    "type",
    "unit_price",
    "warehouse_id",
];

#[test]
fn invoice_pages_decode_or_fail_cleanly() {
    SUITE.answers(0);
}

#[test]
fn stock_pages_decode_or_fail_cleanly() {
    SUITE.answers(1);
}

#[test]
fn customer_pages_decode_or_fail_cleanly() {
    SUITE.answers(2);
}

#[test]
fn invoice_answers_decode_or_fail_cleanly() {
    SUITE.answers(3);
}

#[test]
fn write_answers_decode_or_fail_cleanly() {
    SUITE.answers(4);
}

#[test]
fn report_answers_decode_or_fail_cleanly() {
    SUITE.answers(5);
}

#[test]
fn token_endpoint_answers_decode_or_fail_cleanly() {
    SUITE.answers(6);
}

#[test]
fn any_input_decodes_or_fails_cleanly() {
    SUITE.any_input();
}

/// Every input the fuzzer saved as a crash (`tests/regressions/asalta_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    SUITE.saved_inputs();
}
