//! The integration tests of `posbridge-cloudma`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod conformance;
mod hostile;
mod no_panic;
mod purchase_fields;
mod sandbox;
mod sandbox_common;
mod sandbox_fixtures;
mod secrets;
