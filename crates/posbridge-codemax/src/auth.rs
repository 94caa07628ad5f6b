//! Codemax's own auth, as a [`TokenSource`] for core's [`RefreshableBearer`]: log in
//! with username and password for an access and a refresh token; when the access
//! token is about to expire (or is refused), refresh by submitting **both** the
//! expired access token and the refresh token for a new pair (the refresh token
//! rotates); when the refresh is refused, log in again.
//!
//! Single-flight renewal, the renewal margin and the one retry after a refused token
//! are core's; this file only knows Codemax's two calls.
//!
//! [`RefreshableBearer`]: posbridge_core::RefreshableBearer

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use posbridge_core::http::Request;
use posbridge_core::{Decimal, Error, ErrorKind, ExposeSecret, Result, SecretString, Token, TokenSource, Transport};
use tokio::time::Instant;

use crate::{VENDOR, wire};

/// The most a token is renewed ahead of its expiry.
const MAX_MARGIN: Duration = Duration::from_secs(30);

/// Logs in and refreshes against one merchant's Codemax account.
#[derive(Debug)]
pub(crate) struct CodemaxTokens {
    transport: Arc<Transport>,
    username: String,
    password: SecretString,
    login_path: String,
    refresh_path: String,
    /// How long an access token lives when the login answer does not say.
    default_lifetime: Duration,
}

impl CodemaxTokens {
    pub(crate) fn new(
        transport: Arc<Transport>,
        username: String,
        password: SecretString,
        base_path: &str,
        default_lifetime: Duration,
    ) -> Self {
        Self {
            transport,
            username,
            password,
            login_path: format!("{base_path}{}", wire::LOGIN_PATH),
            refresh_path: format!("{base_path}{}", wire::REFRESH_PATH),
            default_lifetime,
        }
    }

    async fn login(&self) -> Result<Token> {
        tracing::debug!(vendor = VENDOR, "logging in");
        let body = wire::Login {
            username: &self.username,
            password: self.password.expose_secret(),
        };
        // Logging in twice only issues another token pair: safe to retry.
        let request = Request::post("login", self.login_path.as_str())
            .json(&body)?
            .idempotent(true);
        let sent_at = Instant::now();
        let response = self.transport.send(&request, None).await.map_err(login_refused)?;
        let answer: wire::TokenAnswer = response.json(VENDOR)?;
        token_from_answer(answer, sent_at, self.default_lifetime, None, &response.body).map_err(login_refused)
    }

    async fn refresh(&self, previous: &Token, refresh: &SecretString) -> Result<Token> {
        tracing::debug!(vendor = VENDOR, "refreshing the access token");
        let body = wire::Refresh {
            access_token: previous.access.expose_secret(),
            refresh_token: refresh.expose_secret(),
        };
        // Not idempotent: the refresh token rotates, so a refresh that may have been
        // applied is never re-sent; the caller logs in again instead.
        let request = Request::post("refresh_token", self.refresh_path.as_str()).json(&body)?;
        let sent_at = Instant::now();
        // Both tokens travel in the body: no error may show them, should Codemax echo them.
        let scrub = |e: Error| e.redact_secrets(&[body.access_token, body.refresh_token]);
        let response = self.transport.send(&request, None).await.map_err(scrub)?;
        let answer: wire::TokenAnswer = response.json(VENDOR).map_err(scrub)?;
        token_from_answer(answer, sent_at, self.default_lifetime, Some(refresh), &response.body).map_err(scrub)
    }
}

/// The token from a login or refresh answer. It is renewed ahead of its expiry by
/// a tenth of its lifetime, at most 30 s (a 15-minute token at 14:30), counted from
/// when the request was sent; `default_lifetime` when the answer gives none.
pub(crate) fn token_from_answer(
    answer: wire::TokenAnswer,
    sent_at: Instant,
    default_lifetime: Duration,
    previous_refresh: Option<&SecretString>,
    body: &[u8],
) -> Result<Token> {
    if let Some(code) = &answer.code
        && !wire::code::is_success(code)
    {
        return Err(Error::Auth {
            vendor: VENDOR,
            // The code as an excerpt: a hostile answer's "code" may be megabytes.
            message: format!(
                "Codemax answered code {} without a token",
                posbridge_core::error::excerpt(code.as_bytes())
            ),
        });
    }
    let access = answer
        .access_token
        .filter(|t| !t.expose_secret().trim().is_empty())
        .ok_or_else(|| Error::decode(VENDOR, "the answer carries no access token", body))?;
    let lifetime = answer.expires_in.and_then(seconds).unwrap_or(default_lifetime);
    let refresh = answer
        .refresh_token
        .filter(|t| !t.expose_secret().trim().is_empty())
        .or_else(|| previous_refresh.cloned());
    Ok(Token {
        access,
        refresh,
        // `None` (renewed only when refused) for a lifetime beyond the clock's range.
        expires_at: sent_at.checked_add(lifetime - renewal_margin(lifetime)),
        query: Vec::new(),
    })
}

/// A positive number of seconds, as a duration; anything else is ignored.
fn seconds(secs: Decimal) -> Option<Duration> {
    let whole = u64::try_from(secs.trunc()).ok()?;
    (whole > 0).then(|| Duration::from_secs(whole.min(86_400)))
}

/// How long before its expiry a token of `lifetime` is renewed.
pub(crate) fn renewal_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(MAX_MARGIN)
}

/// A refused login is an auth error that says what to fix; it is never retried.
fn login_refused(e: Error) -> Error {
    match e {
        Error::Auth { vendor, message }
        | Error::Rejected { vendor, message, .. }
        | Error::NotFound { vendor, what: message } => Error::Auth {
            vendor,
            message: format!(
                "Codemax refused the login ({message}); check `username` and `password` in the Codemax config"
            ),
        },
        other => other,
    }
}

/// Whether a failed refresh is worth a fresh login: the refresh was refused, or it
/// may have rotated the tokens without us reading the new ones. An outage or a rate
/// limit is not: a login would fail the same way.
fn falls_back_to_login(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Auth | ErrorKind::Rejected | ErrorKind::NotFound | ErrorKind::Decode | ErrorKind::Uncertain
    )
}

#[async_trait]
impl TokenSource for CodemaxTokens {
    async fn fetch(&self, previous: Option<&Token>) -> Result<Token> {
        if let Some(previous) = previous
            && let Some(refresh) = &previous.refresh
        {
            match self.refresh(previous, refresh).await {
                Ok(token) => return Ok(token),
                Err(e) if falls_back_to_login(&e) => {
                    tracing::debug!(vendor = VENDOR, kind = %e.kind(), "the refresh failed; logging in again");
                }
                Err(e) => return Err(e),
            }
        }
        self.login().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_a_tenth_early_at_most_thirty_seconds() {
        assert_eq!(renewal_margin(Duration::from_secs(900)), Duration::from_secs(30));
        assert_eq!(renewal_margin(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(renewal_margin(Duration::from_secs(1)), Duration::from_millis(100));
    }

    #[test]
    fn reads_expiries_tolerantly() {
        assert_eq!(seconds(Decimal::from(900)), Some(Duration::from_secs(900)));
        assert_eq!(seconds(Decimal::new(15, 1)), Some(Duration::from_secs(1)));
        assert_eq!(seconds(Decimal::ZERO), None);
        assert_eq!(seconds(Decimal::from(-5)), None);
    }

    #[test]
    fn a_refused_login_says_what_to_fix() {
        let e = login_refused(Error::Auth {
            vendor: VENDOR,
            message: "Invalid username or password".into(),
        });
        let text = e.to_string();
        assert!(
            text.contains("Invalid username or password") && text.contains("password"),
            "{text}"
        );
        assert!(!falls_back_to_login(&Error::RateLimited {
            vendor: VENDOR,
            retry_after: None
        }));
    }
}
