//! No panic on any bytes: a vendor's answers, read the way the connector reads them
//! (through its `fuzzing` module) — the ground its fuzz target (`fuzz/`, `cargo xtask
//! fuzz`) covers, guarded without cargo-fuzz by bounded property tests, plus every
//! input the fuzzer saved as a crash, replayed. Each answer must decode or fail with
//! an error that keeps its promises (`posbridge_core::fuzzing::check_error`).
//!
//! A vendor's `tests/no_panic.rs` describes itself once in a [`Suite`] and calls it
//! from one test per answer it reads:
//!
//! ```no_run
//! use posbridge_conformance::kit::no_panic::Suite;
//! use posbridge_core::fuzzing::{check_error, split_input};
//!
//! const SUITE: Suite = Suite {
//!     keys: &["data", "id", "message"],
//!     run,
//!     saved: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/acme_response"),
//! };
//!
//! /// The fuzz target's body.
//! fn run(data: &[u8]) {
//!     let (_selector, response) = split_input(data);
//!     # fn decode(_: &posbridge_core::Response) -> posbridge_core::Result<()> { Ok(()) }
//!     if let Err(e) = decode(&response) {
//!         check_error(&e);
//!     }
//! }
//!
//! #[test]
//! fn push_answers_decode_or_fail_cleanly() {
//!     SUITE.answers(0);
//! }
//! ```

use std::fmt::Debug;

use posbridge_core::fuzzing::{check_decimal, check_error, input};
use posbridge_core::{Result, Sale};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// A vendor's answers, as its fuzz target reads them.
#[derive(Debug, Clone, Copy)]
pub struct Suite {
    /// Field names the vendor uses, so that generated bodies reach past the first check.
    pub keys: &'static [&'static str],
    /// The fuzz target's body: reads one input (`posbridge_core::fuzzing::split_input`:
    /// a selector, a status, a `Retry-After`, a body) and checks what came of it.
    pub run: fn(&[u8]),
    /// The folder of the inputs the fuzzer saved as crashes
    /// (`concat!(env!("CARGO_MANIFEST_DIR"), "/tests/regressions/<target>")`).
    pub saved: &'static str,
}

impl Suite {
    /// 256 answers (a status, mostly a successful one, and a [`body`]) for `selector`.
    pub fn answers(&self, selector: u8) {
        let run = self.run;
        property(256, &(status(), body(self.keys)), |(status, body)| {
            run(&input(selector, status, &body));
        });
    }

    /// 512 inputs of any kind: any selector, status and body, or any bytes at all.
    pub fn any_input(&self) {
        property(512, &raw(self.keys), |data| (self.run)(&data));
    }

    /// Every input saved in [`Suite::saved`], if the folder exists.
    pub fn saved_inputs(&self) {
        let Ok(entries) = std::fs::read_dir(self.saved) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a saved input's directory entry").path();
            (self.run)(&std::fs::read(&path).expect("a saved input"));
        }
    }
}

/// Runs `test` on `cases` values of `strategy`, without saving failures; panics with
/// the smallest failing value.
fn property<S>(cases: u32, strategy: &S, test: impl Fn(S::Value))
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(strategy, |value| {
        test(value);
        Ok(())
    }) {
        panic!("{e}");
    }
}

// ------------------------------------------------------------------ inputs

/// Any JSON document built from `keys` (the vendor's field names), with numbers and
/// numeric strings of every size, nested a few levels.
pub fn json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        "[ -~]{0,16}".prop_map(Value::String),
        "-?[0-9]{1,32}(\\.[0-9]{0,32})?(e-?[0-9]{1,3})?".prop_map(Value::String),
        prop::sample::select(keys).prop_map(|k| Value::String(k.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(keys), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A body: JSON, JSON cut short, or any bytes.
pub fn body(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json(keys).prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => (json(keys), any::<prop::sample::Index>()).prop_map(|(v, i)| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.truncate(i.index(b.len() + 1));
            b
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

/// A status: mostly the successful ones, where bodies are read.
pub fn status() -> impl Strategy<Value = u16> {
    prop_oneof![4 => Just(200u16), 1 => Just(201u16), 2 => 100u16..600]
}

/// Any input the fuzz target reads (selector, status, `Retry-After`, body).
pub fn raw(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (any::<u8>(), status(), body(keys)).prop_map(|(s, st, b)| input(s, st, &b)),
        prop::collection::vec(any::<u8>(), 0..512),
    ]
}

// ------------------------------------------------------------------ checks

/// Hands a value to `ok`, or checks the error keeps its promises.
pub fn check<T>(r: Result<T>, ok: impl FnOnce(T)) {
    match r {
        Ok(v) => ok(v),
        Err(e) => check_error(&e),
    }
}

/// Checks every amount and quantity of a decoded sale.
pub fn check_sale(sale: &Sale) {
    for line in &sale.lines {
        check_decimal(line.quantity);
        check_decimal(line.unit_price);
    }
    if let Some(total) = sale.total {
        check_decimal(total);
    }
}
