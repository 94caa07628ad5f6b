#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: EAS Pro's answers, read the way the connector reads them
//! (`posbridge_easpro::fuzzing::fuzz`, the crate's entry in the fuzz target
//! `vendor_response`), by the shared kit's bounded property tests
//! (`posbridge_conformance::kit::no_panic`), plus every input the fuzzer saved as a
//! crash (`tests/regressions/`), replayed.

use posbridge_conformance::kit::no_panic::Suite;

/// The fuzz entry (`DESCRIPTOR`'s): an upsert answer (the selector is ignored).
const SUITE: Suite = Suite {
    keys: KEYS,
    run: posbridge_easpro::fuzzing::fuzz,
    saved: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/easpro_response"),
};

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

#[test]
fn upsert_answers_decode_or_fail_cleanly() {
    SUITE.answers(0);
}

#[test]
fn any_input_decodes_or_fails_cleanly() {
    SUITE.any_input();
}

/// Every input the fuzzer saved as a crash (`tests/regressions/easpro_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    SUITE.saved_inputs();
}
