//! The integration tests of `posbridge-asalta`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod client;
mod conformance;
mod hostile;
mod no_panic;
mod price_check;
mod sandbox;
mod sandbox_catalogue;
mod sandbox_common;
mod sandbox_fixtures;
mod sandbox_lifecycle;
mod sandbox_streaming;
mod secrets;
