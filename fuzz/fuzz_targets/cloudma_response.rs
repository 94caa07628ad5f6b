//! CloudMA's answers, read the way the connector reads them (the error parser, then
//! the push receipt or the stock list). Input: see `posbridge_core::fuzzing`;
//! selector 0 is a push answer, 1 a sync-stock answer. No panic; every error keeps
//! its promises (short texts); every quantity read round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posbridge_cloudma::fuzzing;
use posbridge_core::fuzzing::{check_decimal, check_error, split_input};

fuzz_target!(|data: &[u8]| {
    let (selector, response) = split_input(data);
    match selector % 2 {
        0 => match fuzzing::push_answer(&response) {
            Ok(receipt) => assert_eq!(receipt.reference, "FUZZ-1"),
            Err(e) => check_error(&e),
        },
        _ => match fuzzing::stock_answer(&response) {
            Ok(levels) => levels.iter().for_each(|l| check_decimal(l.quantity)),
            Err(e) => check_error(&e),
        },
    }
});
