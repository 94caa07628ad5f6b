//! The console's session: a signed cookie naming the operator key that logged in (never
//! the key itself), and the CSRF token derived from it.
//!
//! The cookie reads `posbridge_session=<expiry unix secs>.<key id>.<hex HMAC>`, the HMAC
//! by the server's [`SessionKey`](crate::auth::SessionKey) over `session`, the expiry
//! and the key id. A form's CSRF token is the hex HMAC over `csrf` and the cookie's
//! value, so it is bound to one session and useless without its cookie. Both are
//! checked in constant time.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use subtle::ConstantTimeEq as _;

use crate::Server;
use crate::auth::{Caller, SessionKey};
use crate::keys::Role;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "posbridge_session";

/// Where the console lives (the cookie's path).
pub(crate) const BASE: &str = "/console";

/// A verified console session.
#[derive(Clone)]
pub(crate) struct Session {
    /// The public id of the operator key that logged in.
    pub(crate) key_id: String,
    /// The CSRF token of this session's forms (bound to its cookie's value).
    csrf: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The caller the API's helpers act for: the operator key of the session.
    pub(crate) fn caller(&self) -> Caller {
        Caller {
            key_id: self.key_id.clone(),
            role: Role::Operator,
        }
    }

    /// The CSRF token every form of this session carries.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `presented` is this session's CSRF token (in constant time).
    pub(crate) fn csrf_matches(&self, presented: &str) -> bool {
        self.csrf.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// The cookie's value for `key_id`, valid until `expiry` (Unix seconds).
pub(crate) fn cookie_value(key: &SessionKey, expiry: i64, key_id: &str) -> String {
    let expiry = expiry.to_string();
    let mac = key.sign(&[b"session", expiry.as_bytes(), key_id.as_bytes()]);
    format!("{expiry}.{key_id}.{}", hex::encode(mac))
}

/// The CSRF token of the session whose cookie is `cookie`.
pub(crate) fn csrf_token(key: &SessionKey, cookie: &str) -> String {
    hex::encode(key.sign(&[b"csrf", cookie.as_bytes()]))
}

/// Whether a key id has the form `keys` gives them (12 lowercase hex digits).
fn is_key_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks a cookie value: its form, its signature (in constant time) and its expiry.
/// The key id when it holds.
pub(crate) fn verify(key: &SessionKey, value: &str, now: i64) -> Option<String> {
    let mut parts = value.splitn(3, '.');
    let (expiry, key_id, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) || !is_key_id(key_id) {
        return None;
    }
    let mut presented = [0u8; 32];
    hex::decode_to_slice(mac, &mut presented).ok()?;
    let expected = key.sign(&[b"session", expiry.as_bytes(), key_id.as_bytes()]);
    let same: bool = expected.ct_eq(&presented).into();
    let expiry: i64 = expiry.parse().ok()?;
    (same && now < expiry).then(|| key_id.to_owned())
}

/// The value of the session cookie among the request's cookies.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
}

/// The `Set-Cookie` of a new session.
pub(crate) fn set_cookie(value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path={BASE}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// The `Set-Cookie` that ends a session.
pub(crate) fn clear_cookie(secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path={BASE}; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// The current Unix time in seconds.
pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A request without a valid session is sent to the login page.
#[derive(Debug)]
pub(crate) struct LoginFirst;

impl IntoResponse for LoginFirst {
    fn into_response(self) -> Response {
        Redirect::to("/console/login").into_response()
    }
}

impl FromRequestParts<Server> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, server: &Server) -> Result<Self, Self::Rejection> {
        let key = &server.inner().session_key;
        let cookie = from_headers(&parts.headers).ok_or_else(|| LoginFirst.into_response())?;
        let key_id = verify(key, cookie, now()).ok_or_else(|| LoginFirst.into_response())?;
        // A revoked key ends its sessions at once.
        let role = crate::keys::active_role(server.outbox(), &key_id)
            .await
            .map_err(|e| super::ConsoleError::from(crate::Problem::from(e)).into_response())?;
        let active = role == Some(Role::Operator);
        if !active {
            tracing::info!(key = %key_id, "console session refused: its key is revoked");
            return Err(LoginFirst.into_response());
        }
        Ok(Session {
            key_id,
            csrf: csrf_token(key, cookie),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey([7u8; 32])
    }

    #[test]
    fn a_signed_cookie_verifies_until_it_expires() {
        let value = cookie_value(&key(), 1000, "0123456789ab");
        assert_eq!(verify(&key(), &value, 999).as_deref(), Some("0123456789ab"));
        assert_eq!(verify(&key(), &value, 1000), None);
    }

    #[test]
    fn a_changed_cookie_does_not_verify() {
        let value = cookie_value(&key(), 1000, "0123456789ab");
        let later = value.replacen("1000", "9000", 1);
        assert_eq!(verify(&key(), &later, 10), None);
        let other = value.replacen("0123456789ab", "0123456789ac", 1);
        assert_eq!(verify(&key(), &other, 10), None);
        assert_eq!(verify(&SessionKey([8u8; 32]), &value, 10), None);
        for bad in [
            "",
            "1000",
            "1000.0123456789ab",
            "x.0123456789ab.00",
            "1000.0123456789ab.zz",
        ] {
            assert_eq!(verify(&key(), bad, 10), None, "{bad}");
        }
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; posbridge_session=v.w.x ; b=2"),
        );
        assert_eq!(from_headers(&headers), Some("v.w.x"));
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let session = Session {
            key_id: "0123456789ab".into(),
            csrf: csrf_token(&key(), "c1"),
        };
        assert!(session.csrf_matches(&csrf_token(&key(), "c1")));
        assert!(!session.csrf_matches(&csrf_token(&key(), "c2")));
        assert!(!session.csrf_matches(""));
        assert!(!format!("{session:?}").contains(session.csrf()));
    }
}
