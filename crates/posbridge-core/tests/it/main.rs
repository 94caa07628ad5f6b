//! The integration tests of `posbridge-core`, one module per subject, built as one test
//! binary (one link, one executable, instead of one per file).

mod sale_parsing;
mod transport;
