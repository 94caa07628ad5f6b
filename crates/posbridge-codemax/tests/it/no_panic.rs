#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No panic on any bytes: Codemax's answers, read the way the connector reads them
//! (`posbridge_codemax::fuzzing::fuzz`, the crate's entry in the fuzz target
//! `vendor_response`), by the shared kit's bounded property tests
//! (`posbridge_conformance::kit::no_panic`), plus every input the fuzzer saved as a
//! crash (`tests/regressions/`), replayed.

use posbridge_codemax::fuzzing::fuzz as run;
use posbridge_conformance::kit::no_panic::Suite;
use posbridge_core::fuzzing::{input, split_input};

/// The fuzz entry (`DESCRIPTOR`'s): selector 0 a login answer, 1 a refresh answer, 2
/// a sync answer for the invoices the body names (one more with bit 3, one fewer with
/// bit 4).
const SUITE: Suite = Suite {
    keys: KEYS,
    run,
    saved: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/codemax_response"),
};

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

#[test]
fn login_answers_decode_or_fail_cleanly() {
    SUITE.answers(0);
}

#[test]
fn refresh_answers_decode_or_fail_cleanly() {
    SUITE.answers(1);
}

#[test]
fn sync_answers_decode_or_fail_cleanly() {
    SUITE.answers(2);
}

#[test]
fn sync_answers_with_an_invoice_more_decode_or_fail_cleanly() {
    SUITE.answers(10);
}

#[test]
fn sync_answers_with_an_invoice_fewer_decode_or_fail_cleanly() {
    SUITE.answers(18);
}

#[test]
fn any_input_decodes_or_fails_cleanly() {
    SUITE.any_input();
}

/// Every input the fuzzer saved as a crash (`tests/regressions/codemax_response/`).
#[test]
fn saved_fuzz_inputs_decode_or_fail_cleanly() {
    SUITE.saved_inputs();
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

/// Found by the fuzz target `codemax_response` (now `vendor_response`; selector 1, a
/// refresh answer; two inputs): a body that is one JSON string of backslashes. serde's
/// message quotes the string, and `Display` shows the body's excerpt escaped, each
/// backslash twice, so the error ran past 600 characters. Core now measures an excerpt
/// and a decode message as `Debug` shows them (`"` and `\` count two, a `\u{…}` escape
/// its length).
#[test]
fn a_refresh_answer_of_backslashes_gives_a_short_error() {
    for data in [
        &include_bytes!("../regressions/codemax_response/crash-281c6003-refresh-answer-of-backslashes")[..],
        &include_bytes!("../regressions/codemax_response/crash-35ec7351-refresh-answer-of-backslashes")[..],
    ] {
        run(data);
        let (_, response) = split_input(data);
        let previous = posbridge_core::SecretString::from("previous-refresh");
        let e = posbridge_codemax::fuzzing::token_answer(&response, Some(&previous)).unwrap_err();
        assert_eq!(e.kind(), posbridge_core::ErrorKind::Decode, "{e}");
    }
}
