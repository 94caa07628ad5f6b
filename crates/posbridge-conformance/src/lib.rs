//! # posbridge-conformance
//!
//! The conformance suite every posbridge connector passes: the [fixture format](fixture)
//! (one JSON file per case under `crates/<vendor>/fixtures/`) and the [runner]
//! that the generated `tests/conformance.rs` of each vendor crate calls.
//!
//! Each case starts its own loopback mock server (httpmock) that serves the case's
//! exchanges in order and records any request that differs from the script or comes
//! unexpectedly; the connector is built from the case's config pointed at that
//! server; the operation runs; and the outcome is compared with the expected value
//! (as the domain type, so decimals compare exactly by value) or error (kind, and the
//! vendor's code and message when the case gives them). A case whose exchanges list is
//! empty proves that nothing was sent.
//!
//! With the cargo feature `kits`, the `kit` module holds the behaviours every vendor
//! must show, written once: hostile responses (`kit::hostile`), no panic on any bytes
//! (`kit::no_panic`) and no secret at TRACE (`kit::secrets`). A vendor crate's
//! `tests/hostile.rs`, `tests/no_panic.rs` and `tests/secrets.rs` are short tables of
//! its own cases that call them.
//!
//! This crate does not generate the tests or print the matrix: `cargo xtask
//! conformance` does (see `xtask/`). It is a dev-dependency of vendor crates only.
//!
//! ```
//! use posbridge_conformance::fixture::{Case, Fixture};
//!
//! let f: Fixture = serde_json::from_str(r#"{
//!     "description": "Stock is read as a list.",
//!     "operation": "stock_levels",
//!     "covers": ["happy_path"],
//!     "config": {"token": "t"},
//!     "exchanges": [{
//!         "request": {"method": "POST", "path": "/api/sync-stock", "body": {"form": {"token": "t"}}},
//!         "response": {"status": 200, "body": {"json": [{"code": "A", "name": "Tea", "qty": "4"}]}}
//!     }],
//!     "expect": {"ok": [{"product_code": "A", "name": "Tea", "quantity": "4"}]}
//! }"#)?;
//! assert_eq!(f.covers, vec![Case::HappyPath]);
//! # Ok::<(), serde_json::Error>(())
//! ```
#![deny(missing_docs)]

pub mod fixture;
#[cfg(feature = "kits")]
#[allow(
    clippy::panic,
    clippy::expect_used,
    reason = "a test kit fails the test that calls it by panicking"
)]
pub mod kit;
pub mod runner;

pub use fixture::{Case, Fixture};
pub use runner::{run, run_disposition, run_fixture};

/// The JSON Schema of the fixture format, pretty-printed with a trailing newline, as
/// committed in `docs/fixture.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Fixture);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
