//! The integration tests of `posbridge-salesmania`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod client;
mod conformance;
mod hostile;
mod lookups;
mod no_panic;
mod sandbox;
mod sandbox_common;
mod sandbox_connector;
mod sandbox_fixtures;
mod secrets;
