//! SalesMania's answers, read the way the connector reads them (the error parser,
//! then the body). Input: see `posbridge_core::fuzzing`; the selector modulo 12 picks
//! the answer: 0 bearer token, 1 team token, 2 databases, 3 products as stock, 4
//! products, 5 customers, 6 visits, 7 teams, 8 an order look-up, 9 one order as a
//! sale, 10 one customer, 11 a write. No panic; every error keeps its promises (short
//! texts); every amount or quantity read round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posbridge_core::fuzzing::{check_decimal, check_error, split_input};
use posbridge_core::{ExposeSecret, Result, Sale};
use posbridge_salesmania::{Database, fuzzing};

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
});
