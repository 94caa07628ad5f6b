//! The integration tests of `posbridge-codemax`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod batches;
mod conformance;
mod hostile;
mod no_panic;
mod sandbox;
mod sandbox_common;
mod sandbox_fixtures;
mod sandbox_tokens;
mod secrets;
mod tokens;
