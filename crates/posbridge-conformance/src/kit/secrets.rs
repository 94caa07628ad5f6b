//! No secret in `Debug` output, errors or logs, even at TRACE level: a vendor's
//! `tests/secrets.rs` starts [`TraceLogs::capture`], runs its own scenario against
//! httpmock (a whole push, a token renewal, a vendor echoing the credentials back), and
//! hands the logs and every error and `Debug` it met to
//! [`TraceLogs::assert_nothing_leaked`].
//!
//! ```no_run
//! use posbridge_conformance::kit::secrets::{self, TraceLogs};
//!
//! # async fn example() {
//! const TOKEN: &str = "very-secret";
//! let logs = TraceLogs::capture();
//! // … build the client with `secrets::fast_http()`, call it against a mock server …
//! # let error = "the error the scenario ended in";
//! logs.assert_nothing_leaked(&["push_sale"], &[TOKEN], [format!("{error} {error:?}")]);
//! # }
//! ```

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use posbridge_core::{HttpConfig, RetryConfig};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Everything logged in this test binary, at TRACE, the client's dependencies (reqwest,
/// hyper, via `log`) included; only the mock server's own logs are left out: it stands
/// in for the vendor, which of course sees the credentials.
#[derive(Debug, Clone, Default)]
pub struct TraceLogs(Arc<Mutex<Vec<u8>>>);

impl TraceLogs {
    /// Installs the global subscriber that captures the logs; once per test binary (a
    /// second call panics).
    pub fn capture() -> Self {
        let captured = Self::default();
        let writer = captured.clone();
        let filter = Targets::new()
            .with_default(LevelFilter::TRACE)
            .with_target("httpmock", LevelFilter::OFF);
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .with_ansi(false)
                    .with_filter(filter),
            )
            .try_init()
            .expect("the only global subscriber of this test binary");
        captured
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        String::from_utf8(bytes).expect("logs in UTF-8")
    }

    /// Asserts that the logs hold the calls' spans (`posbridge.call`) and name each of
    /// `mentions` (so that the scenario was logged at all), then that neither the logs
    /// nor any of `texts` (the errors' `Display` and `Debug`, a client's `Debug`…)
    /// shows any of `secrets`.
    pub fn assert_nothing_leaked<S: AsRef<str>>(
        &self,
        mentions: &[&str],
        secrets: &[S],
        texts: impl IntoIterator<Item = String>,
    ) {
        let logs = self.text();
        assert!(logs.contains("posbridge.call"), "no spans were captured:\n{logs}");
        for mention in mentions {
            assert!(logs.contains(mention), "the logs do not name {mention:?}:\n{logs}");
        }
        assert_no_secret(&logs, secrets);
        for text in texts {
            assert_no_secret(&text, secrets);
        }
    }
}

impl Write for TraceLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts that `text` shows none of `secrets`.
pub fn assert_no_secret<S: AsRef<str>>(text: &str, secrets: &[S]) {
    for secret in secrets {
        let secret = secret.as_ref();
        assert!(!text.contains(secret), "a secret leaked ({secret}):\n{text}");
    }
}

/// Asserts that a `Debug` output shows none of `secrets` and says `REDACTED` where
/// they were.
pub fn assert_redacted<S: AsRef<str>>(debug: &str, secrets: &[S]) {
    assert_no_secret(debug, secrets);
    assert!(debug.contains("REDACTED"), "{debug}");
}

/// The default HTTP settings, but retrying after 1 to 5 ms.
pub fn fast_http() -> HttpConfig {
    HttpConfig {
        retry: RetryConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    }
}
