//! The integration tests of `posbridge-server`, one module per subject, built as one
//! test binary.

mod api;
mod browser;
mod console;
mod python;
mod scale;
mod support;
mod webhooks;
