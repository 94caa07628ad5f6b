//! EAS Pro's answers, read the way the connector reads them (the HTTP status, the
//! `{"response": {"status": {"code"}}}` envelope, then `data` as a receipt). Input:
//! see `posbridge_core::fuzzing` (the selector is ignored). No panic; every error
//! keeps its promises (short texts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use posbridge_core::fuzzing::{check_error, split_input};
use posbridge_easpro::fuzzing;

fuzz_target!(|data: &[u8]| {
    let (_, response) = split_input(data);
    match fuzzing::upsert_answer(&response) {
        Ok(receipt) => assert_eq!(receipt.reference, "FUZZ-1"),
        Err(e) => check_error(&e),
    }
});
