//! Who is calling: the API key of a request, its tenant scope, and its request rate.

use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, KeyInit as _, Mac as _};
use posbridge_outbox::Delivery;
use rand::RngCore as _;
use secrecy::SecretString;
use sha2::Sha256;

use crate::keys::{Role, describe};
use crate::{Problem, Server, ServerError};

/// The per-key request limiter.
pub(crate) type Limiter = DefaultKeyedRateLimiter<String>;

/// A limiter of `per_minute` requests a minute per key, bursting to as many.
pub(crate) fn limiter(per_minute: u32) -> Result<Limiter, ServerError> {
    let n = NonZeroU32::new(per_minute)
        .ok_or_else(|| ServerError::Config("requests_per_minute must be at least 1".to_owned()))?;
    Ok(RateLimiter::keyed(Quota::per_minute(n)))
}

/// The key that signs console sessions and CSRF tokens.
#[derive(Clone)]
pub(crate) struct SessionKey(pub(crate) [u8; 32]);

/// A session key derived from a configured secret (every instance given the same
/// secret signs alike).
pub(crate) fn derive_key(secret: &[u8]) -> SessionKey {
    SessionKey(sign_with(&[0u8; 32], &[b"posbridge-console-session", secret]))
}

/// A session key of this process alone.
pub(crate) fn random_key() -> SessionKey {
    let mut k = [0u8; 32];
    rand::rng().fill_bytes(&mut k);
    SessionKey(k)
}

/// HMAC-SHA256 of the parts (each length-prefixed, so no two lists sign alike).
pub(crate) fn sign_with(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length.
    let mut mac = match <Hmac<Sha256>>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 32],
    };
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl SessionKey {
    /// HMAC-SHA256 of the parts under this key.
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        sign_with(&self.0, parts)
    }
}

/// A request's verified API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The key's public id (safe to log).
    pub(crate) key_id: String,
    /// What it may do.
    pub(crate) role: Role,
}

impl Caller {
    /// The tenant a read is confined to: a tenant key's own (asking for another is
    /// refused), or for an operator the one asked for (or every tenant).
    pub(crate) fn read_scope(&self, asked: Option<&str>) -> Result<Option<String>, Problem> {
        match (&self.role, asked) {
            (Role::Tenant(t), None) => Ok(Some(t.clone())),
            (Role::Tenant(t), Some(a)) if a == t => Ok(Some(t.clone())),
            (Role::Tenant(_), Some(_)) => Err(Problem::forbidden("this key belongs to another tenant")),
            (Role::Operator, a) => Ok(a.map(str::to_owned)),
        }
    }

    /// The tenant a write is for: a tenant key's own, or the one an operator names.
    pub(crate) fn write_scope(&self, asked: Option<&str>) -> Result<String, Problem> {
        self.read_scope(asked)?
            .ok_or_else(|| Problem::invalid("/tenant", "an operator key must name the tenant: add `?tenant=NAME`"))
    }

    /// Whether the key may see a delivery.
    pub(crate) fn may_see(&self, d: &Delivery) -> bool {
        match &self.role {
            Role::Tenant(t) => *t == d.target.tenant,
            Role::Operator => true,
        }
    }

    /// Refuses anything but an operator key.
    pub(crate) fn require_operator(&self) -> Result<(), Problem> {
        match self.role {
            Role::Operator => Ok(()),
            Role::Tenant(_) => Err(Problem::forbidden("this needs an operator key")),
        }
    }
}

/// The key presented: `Authorization: Bearer …` or `X-Api-Key: …`.
fn presented(parts: &Parts) -> Option<SecretString> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| SecretString::from(rest.trim().to_owned()));
    }
    parts
        .headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| SecretString::from(v.trim().to_owned()))
}

impl FromRequestParts<Server> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, server: &Server) -> Result<Self, Self::Rejection> {
        let inner = server.inner();
        let Some(key) = presented(parts) else {
            return Err(Problem::unauthorized());
        };
        let verified = inner
            .keys
            .verify(&inner.outbox, secrecy::ExposeSecret::expose_secret(&key))
            .await
            .map_err(Problem::from)?;
        let Some(verified) = verified else {
            tracing::info!(key = %describe(&key), "refused an API key");
            // Failed attempts share one budget per presented id, so guessing is as
            // slow as the rate limit.
            check_rate(inner, &format!("refused:{}", describe(&key)))?;
            return Err(Problem::unauthorized());
        };
        check_rate(inner, &verified.id)?;
        Ok(Caller {
            key_id: verified.id,
            role: verified.role,
        })
    }
}

fn check_rate(inner: &crate::Inner, key: &str) -> Result<(), Problem> {
    inner.limiter.check_key(&key.to_owned()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        inner.metrics.rate_limited();
        Problem::rate_limited(wait.as_secs().max(1))
    })
}
