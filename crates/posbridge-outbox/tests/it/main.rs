//! The integration tests of `posbridge-outbox`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod behaviour;
mod crash;
mod dependents;
mod events;
mod soak;
mod support;
