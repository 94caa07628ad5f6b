//! # posbridge-bench
//!
//! posbridge's benchmarks. `cargo xtask bench` builds this crate in release mode, runs
//! the criterion micro benchmarks (`benches/mapping.rs`) and then the
//! `posbridge-bench` binary, which runs every macro scenario against its baseline in
//! the same run, alternating the two over several rounds, and prints one table of
//! ratios (posbridge ÷ baseline). `cargo xtask bench --smoke` runs one short round of
//! each, for CI: it checks that every scenario runs and produces numbers, not that
//! the targets are met. The scenarios and how to read them: `docs/benchmarks.md`.
//!
//! It names no vendor: the vendors come from the facade's registry
//! (`posbridge::vendors()`, every vendor through the default feature `vendors`), each
//! through the bench hook its descriptor registers ([`vendors`]).
//!
//! This library holds what the binary and the criterion benches share: the sale every
//! scenario sends ([`fixture`]), the vendors ([`vendors`]) and the mapping cases
//! ([`mapping`]).
#![allow(clippy::float_arithmetic, reason = "a benchmark computes rates and ratios")]

pub mod fixture;
pub mod mapping;
pub mod vendors;
