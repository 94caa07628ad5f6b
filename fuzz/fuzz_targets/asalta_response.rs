//! Asalta's answers, read the way the connector reads them (the error parser, then
//! the body; the token endpoint's answer through the `oauth2` crate as the client
//! does). Input: see `posbridge_core::fuzzing`; the selector modulo 7 picks the
//! answer: 0 invoice pages (page 1, then the same answer as page 2), 1 items as stock,
//! 2 customers, 3 one invoice, 4 a write, 5 the sales report, 6 the token endpoint.
//! No panic; every error keeps its promises (short texts); every amount or quantity
//! read round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posbridge_asalta::fuzzing;
use posbridge_core::fuzzing::{check_decimal, check_error, split_input};
use posbridge_core::{ExposeSecret, Result, Sale};

fn check<T>(r: Result<T>, ok: impl FnOnce(T)) {
    match r {
        Ok(v) => ok(v),
        Err(e) => check_error(&e),
    }
}

fn check_sale(sale: &Sale) {
    for line in &sale.lines {
        check_decimal(line.quantity);
        check_decimal(line.unit_price);
    }
    if let Some(total) = sale.total {
        check_decimal(total);
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, response) = split_input(data);
    let page = u64::from(selector / 7 % 4) + 1;
    match selector % 7 {
        0 => check(fuzzing::sales_pages(&response), |sales| {
            sales.iter().for_each(check_sale)
        }),
        1 => check(fuzzing::stock_page(&response, page), |levels| {
            levels.iter().for_each(|l| check_decimal(l.quantity));
        }),
        2 => check(fuzzing::customers_page(&response, page), |_| {}),
        3 => check(fuzzing::sale_answer(&response), |sale| check_sale(&sale)),
        4 => check(fuzzing::write_answer(&response), |_| {}),
        5 => check(fuzzing::report_answer(&response), |_| {}),
        _ => check(fuzzing::token_answer(&response), |token| {
            let _ = token.access_token.expose_secret();
        }),
    }
});
