//! The conformance fixture format: bytes parsed and validated the way `cargo xtask
//! conformance` does (JSON, the committed JSON Schema, serde into `Fixture`, the
//! required cases for its operation), then the case's `input` read the way the runner
//! reads it (a `Sale`, a list of sales, a `Purchase`, a `Customer` or `{"id": …}`)
//! and reconciled. No panic; a parsed fixture survives a serialize/parse round trip.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use posbridge_conformance::{Case, Fixture};
use posbridge_core::{Customer, Operation, Purchase, Sale};
use serde_json::Value;

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value =
        serde_json::from_str(&posbridge_conformance::schema_json()).expect("the generated schema is JSON");
    jsonschema::validator_for(&schema).expect("the generated schema compiles")
});

/// `{"id": …, "customer": …}`, as the runner reads inputs by id.
#[derive(serde::Deserialize)]
struct ById {
    #[allow(dead_code)]
    id: String,
    #[serde(default)]
    customer: Option<Customer>,
}

fn read_input(op: Operation, input: &Value) {
    let input = input.clone();
    match op {
        Operation::PushSale => {
            if let Ok(sale) = serde_json::from_value::<Sale>(input) {
                let _ = sale.reconcile();
            }
        }
        Operation::PushSales => {
            if let Ok(sales) = serde_json::from_value::<Vec<Sale>>(input) {
                for sale in &sales {
                    let _ = sale.reconcile();
                }
            }
        }
        Operation::PushPurchase => {
            if let Ok(purchase) = serde_json::from_value::<Purchase>(input) {
                let _ = purchase.reconcile();
            }
        }
        Operation::CreateCustomer => {
            let _ = serde_json::from_value::<Customer>(input);
        }
        _ => {
            if let Ok(by) = serde_json::from_value::<ById>(input) {
                let _ = by.customer;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let schema_errors = VALIDATOR.iter_errors(&value).map(|e| e.to_string()).count();
    let Ok(fixture) = serde_json::from_value::<Fixture>(value) else {
        return;
    };
    let _ = (
        schema_errors,
        Case::required_for(fixture.operation),
        fixture.operation.as_str(),
    );
    for case in &fixture.covers {
        let _ = case.as_str();
    }
    let text = serde_json::to_string(&fixture).expect("a parsed fixture serializes");
    let back: Fixture = serde_json::from_str(&text).expect("a serialized fixture parses");
    assert_eq!(back, fixture, "round trip changed the fixture");
    read_input(fixture.operation, &fixture.input);
});
