//! The CLI's sale-file parser (`posbridge push-sales FILE`: one JSON object, a JSON
//! array, or NDJSON of `Sale`), compiled from the CLI's own `src/records.rs` (the CLI
//! is a binary crate, so its modules are included here by path, with the `exit.rs` and
//! `quote.rs` it uses), then every parsed sale reconciled (`Sale::reconcile`) as the
//! CLI does before sending. No panic; a reconciled sale's totals survive a JSON round
//! trip of the sale.
#![no_main]
#![allow(dead_code, unreachable_pub)]

#[path = "../../crates/posbridge-cli/src/exit.rs"]
mod exit;
#[path = "../../crates/posbridge-cli/src/quote.rs"]
mod quote;
#[path = "../../crates/posbridge-cli/src/records.rs"]
mod records;

use libfuzzer_sys::fuzz_target;
use posbridge::Sale;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = match records::parse::<Sale>("fuzz", text, "sale") {
        Ok(r) => r,
        Err(e) => {
            let _ = e.render();
            return;
        }
    };
    for record in parsed {
        let sale = record.value;
        let Ok(checked) = sale.reconcile() else { continue };
        let total = checked.amounts().total;
        let json = serde_json::to_string(&sale).expect("a parsed sale serializes");
        let back: Sale = serde_json::from_str(&json).expect("a serialized sale parses");
        assert_eq!(back, sale, "a JSON round trip changed the sale");
        let again = back
            .reconcile()
            .expect("a reconciled sale reconciles after a round trip");
        assert_eq!(again.amounts().total, total, "{json}");
    }
});
