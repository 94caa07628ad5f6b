//! They are written once here rather than in each crate's `tests/` helpers; they
//! panic instead of returning errors, as test code does.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let answer = posbridge_sandbox::testing::bounded(async { 42 }).await;
//! assert_eq!(answer, 42);
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

/// How long [`bounded`] lets a test body run.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(15);

/// Runs a test body with a time limit ([`TEST_TIME_LIMIT`]), so a hung server fails
/// the test instead of the run.
///
/// # Panics
///
/// When `f` takes longer than the limit.
pub async fn bounded<F: Future>(f: F) -> F::Output {
    bounded_for(TEST_TIME_LIMIT, f).await
}

/// The time limit of a test that replays every conformance fixture of a vendor
/// against the sandbox (hundreds of cases, each its own connector and exchanges): a
/// bound that catches a hang without failing a run on a busy two-core machine.
pub const REPLAY_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Runs a test body with the time limit `limit`.
///
/// # Panics
///
/// When `f` takes longer than the limit.
#[expect(clippy::panic, reason = "a test helper: a test that hangs fails by panicking")]
pub async fn bounded_for<F: Future>(limit: Duration, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(out) => out,
        Err(_) => panic!("the test took longer than {} s", limit.as_secs()),
    }
}
