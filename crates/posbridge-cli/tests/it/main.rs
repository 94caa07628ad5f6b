//! The integration tests of `posbridge-cli`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod asalta;
mod cli;
mod outbox;
mod secrets;
mod serve;
