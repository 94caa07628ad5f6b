//! The integration tests of `posbridge-easpro`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod conformance;
mod hostile;
mod no_panic;
mod sandbox;
mod sandbox_common;
mod sandbox_faults;
mod sandbox_fixtures;
mod secrets;
