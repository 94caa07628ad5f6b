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
#[expect(clippy::expect_used, reason = "a test helper: a test that hangs fails by panicking")]
pub async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_TIME_LIMIT, f)
        .await
        .expect("the test took longer than 15 s")
}
