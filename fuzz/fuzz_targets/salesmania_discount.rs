//! SalesMania's cascading-discount parser (`"55.05+3"`): no panic on any text, and
//! for every string it accepts, format then parse gives the same percentages back
//! and the formatted form is canonical (formatting it again changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use posbridge_core::Decimal;
use posbridge_salesmania::{format_discount, parse_discount};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(parts) = parse_discount(text) else { return };
    assert!(!parts.is_empty(), "{text:?} parsed to no percentage");
    assert_eq!(parts.len(), text.split('+').count(), "{text:?}");
    for p in &parts {
        assert!(*p >= Decimal::ZERO && *p <= Decimal::ONE_HUNDRED, "{text:?} gave {p}");
    }
    let formatted = format_discount(&parts);
    let again = parse_discount(&formatted).unwrap_or_else(|e| panic!("{text:?} -> {formatted:?} does not parse: {e}"));
    assert_eq!(again, parts, "{text:?} -> {formatted:?}");
    assert_eq!(
        format_discount(&again),
        formatted,
        "{text:?}: the formatted form is not canonical"
    );
});
