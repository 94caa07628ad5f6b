//! SalesMania's auth chain, as a [`TokenSource`] for core's [`RefreshableBearer`]:
//!
//! 1. `GET /extapi/v1.0/token` with HTTP Basic (username, password) → a bearer token;
//! 2. `GET /extapi/v1.0/databases` with that bearer → the account's databases, of
//!    which the configured one is picked (by id or name);
//! 3. `GET /extapi/v1.0/team_token?db_id=…` with the bearer → the team token.
//!
//! The token handed to core is the bearer, with the team token as a query parameter
//! (`team_token`) that every later request carries. When SalesMania refuses either
//! (401/403, or a 4xx naming the team token), core marks the token stale and the
//! **whole chain** runs again, once, single-flight, before the request is re-sent.
//!
//! Tokens are not decoded (they may be JWTs, but nothing says so): a token lives
//! until it is refused, unless an answer carries `expires_in` (seconds), in which
//! case it is renewed a tenth of its lifetime (at most 30 s) before it ends.
//!
//! [`RefreshableBearer`]: posbridge_core::RefreshableBearer

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use posbridge_core::http::{Request, Response};
use posbridge_core::{Error, Result, SecretString, StaticAuth, Token, TokenSource, Transport};
use serde_json::Value;
use tokio::time::Instant;

use crate::{Database, VENDOR, map, wire};

/// The most a token is renewed ahead of its expiry, when it has one.
const MAX_MARGIN: Duration = Duration::from_secs(30);

/// Runs SalesMania's auth chain for one merchant's account.
#[derive(Debug)]
pub(crate) struct SalesManiaTokens {
    transport: Arc<Transport>,
    username: String,
    password: SecretString,
    database: Database,
}

impl SalesManiaTokens {
    pub(crate) fn new(transport: Arc<Transport>, username: String, password: SecretString, database: Database) -> Self {
        Self {
            transport,
            username,
            password,
            database,
        }
    }

    /// Step 1: Basic → bearer. Idempotent (it only issues a token): retried on 5xx.
    async fn bearer(&self) -> Result<(SecretString, Option<u64>)> {
        tracing::debug!(vendor = VENDOR, "getting a bearer token");
        let auth = StaticAuth::basic(&self.username, &self.password);
        let request = Request::get("auth_bearer_token", wire::BEARER_TOKEN);
        let response = self
            .transport
            .send(&request, Some(&auth))
            .await
            .map_err(login_refused)?;
        token_answer(&response, wire::BEARER_KEYS, "bearer token")
    }

    /// Step 2: the account's databases, and the configured one among them.
    async fn database_id(&self, bearer: &SecretString) -> Result<u64> {
        tracing::debug!(vendor = VENDOR, "listing databases");
        let request = Request::get("auth_list_databases", wire::DATABASES);
        let response = self
            .transport
            .send(&request, Some(&StaticAuth::bearer(bearer)))
            .await
            .map_err(fresh_token_refused)?;
        let value: Value = response.json(VENDOR)?;
        let page = map::page(value, 1).map_err(|why| Error::decode(VENDOR, why, &response.body))?;
        let databases: Vec<wire::Database> =
            map::items(page.items).map_err(|why| Error::decode(VENDOR, why, &response.body))?;
        map::pick_database(&databases, &self.database)
    }

    /// Step 3: the team token of that database.
    async fn team_token(&self, bearer: &SecretString, db_id: u64) -> Result<(SecretString, Option<u64>)> {
        tracing::debug!(vendor = VENDOR, db_id, "getting a team token");
        let request = Request::get("auth_team_token", wire::TEAM_TOKEN).query(wire::DB_ID_PARAM, db_id.to_string());
        let response = self
            .transport
            .send(&request, Some(&StaticAuth::bearer(bearer)))
            .await
            .map_err(fresh_token_refused)?;
        token_answer(&response, wire::TEAM_TOKEN_KEYS, "team token")
    }
}

#[async_trait]
impl TokenSource for SalesManiaTokens {
    /// The whole chain, every time: a refused bearer or team token cannot be told
    /// apart, and the chain is three cheap reads.
    async fn fetch(&self, _previous: Option<&Token>) -> Result<Token> {
        let started = Instant::now();
        let (bearer, bearer_lifetime) = self.bearer().await?;
        let db_id = self.database_id(&bearer).await?;
        let (team, team_lifetime) = self.team_token(&bearer, db_id).await?;
        let lifetime = match (bearer_lifetime, team_lifetime) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|secs| Duration::from_secs(secs.min(86_400)));
        Ok(Token {
            access: bearer,
            refresh: None,
            // `None`: renewed only when refused.
            expires_at: lifetime.and_then(|l| started.checked_add(l - renewal_margin(l))),
            query: vec![(wire::TEAM_TOKEN_PARAM.to_owned(), team)],
        })
    }
}

/// How long before its expiry a token of `lifetime` is renewed.
pub(crate) fn renewal_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(MAX_MARGIN)
}

/// A token from an answer: JSON with the token under one of `keys` (at the top or
/// under `data`), or the bare token as plain text — which never starts like JSON
/// (`{`, `[`, `"`): such an answer is JSON cut short, not a token. Decode errors never
/// carry the body (it may hold a token under a key we do not know).
pub(crate) fn token_answer(response: &Response, keys: &[&str], what: &str) -> Result<(SecretString, Option<u64>)> {
    // Through `Error::decode`, which cuts the message short (it names the keys
    // present, and a hostile answer may have thousands); an empty body: no excerpt.
    let no_token = |why: String| Error::decode(VENDOR, format!("the {what} answer carries no token: {why}"), b"");
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(value) => {
            let token = map::token_in(&value, keys).map_err(no_token)?;
            Ok((SecretString::from(token), map::expires_in(&value)))
        }
        Err(_) => {
            let text = String::from_utf8_lossy(&response.body);
            let t = text.trim();
            let plain = !t.is_empty()
                && t.len() <= 4096
                && !t.starts_with(['{', '[', '"'])
                && t.chars().all(|c| c.is_ascii_graphic() && c != '<');
            if plain {
                Ok((SecretString::from(t.to_owned()), None))
            } else {
                Err(no_token("the answer is neither JSON nor a bare token".into()))
            }
        }
    }
}

/// Refused credentials are an auth error that says what to fix; never retried.
fn login_refused(e: Error) -> Error {
    match e {
        Error::Auth { vendor, message } | Error::Rejected { vendor, message, .. } => Error::Auth {
            vendor,
            message: format!(
                "SalesMania refused the login ({message}); check `username` and `password` in the SalesMania config"
            ),
        },
        other => other,
    }
}

/// SalesMania refused a bearer token it has just issued.
fn fresh_token_refused(e: Error) -> Error {
    match e {
        Error::Auth { vendor, message } => Error::Auth {
            vendor,
            message: format!("SalesMania refused the bearer token it had just issued ({message})"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::reqwest::StatusCode;
    use posbridge_core::reqwest::header::HeaderMap;
    use posbridge_core::{ErrorKind, ExposeSecret};

    fn answer(body: &str) -> Response {
        Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec().into(),
        }
    }

    #[test]
    fn json_cut_short_is_not_a_bare_token() {
        let (token, _) = token_answer(&answer(" tok-123\n"), wire::BEARER_KEYS, "bearer token").unwrap();
        assert_eq!(token.expose_secret(), "tok-123");
        for cut in [r#"{"token":"tok-1"#, r#"["tok-1"#, r#""tok-1"#, "<html>"] {
            let e = token_answer(&answer(cut), wire::BEARER_KEYS, "bearer token").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode, "{cut}");
        }
    }

    #[test]
    fn renews_a_tenth_early_at_most_thirty_seconds() {
        assert_eq!(renewal_margin(Duration::from_secs(3600)), Duration::from_secs(30));
        assert_eq!(renewal_margin(Duration::from_secs(60)), Duration::from_secs(6));
    }

    #[test]
    fn a_refused_login_says_what_to_fix() {
        let e = login_refused(Error::Auth {
            vendor: VENDOR,
            message: "Username atau password salah".into(),
        });
        let text = e.to_string();
        assert!(
            text.contains("Username atau password salah") && text.contains("`password`"),
            "{text}"
        );
        let e = login_refused(Error::RateLimited {
            vendor: VENDOR,
            retry_after: None,
        });
        assert_eq!(e.kind(), posbridge_core::ErrorKind::RateLimited);
    }
}
