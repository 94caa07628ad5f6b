//! Webhooks out: each change of a tenant's deliveries POSTed to the tenant's URL.
//!
//! The events come from the outbox's event table, written in the same transaction as
//! the change itself, so none is lost; each tenant's stream has a cursor in the
//! service's own table (`posbridge_server_webhooks`), advanced only when the URL
//! answers 2xx. A failed POST is retried with doubling back-off (1 s to 10 min), in
//! order, for as long as it takes. An event is sent once it is
//! [`ServerConfig::webhook_settle`](crate::ServerConfig::webhook_settle) old (3 s by
//! default), so that on PostgreSQL a transaction that took an earlier id but commits
//! later is never stepped over. Delivery is at least once: a receiver dedupes by
//! the event's `id` (also sent as `Posbridge-Event-Id`). Several instances share the
//! work: one holds a tenant's stream at a time, under a lease.
//!
//! Each POST is signed as Stripe and Svix sign theirs: the header
//! `Posbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, under
//! the tenant's webhook secret. A receiver recomputes the HMAC over the raw body,
//! compares in constant time, and refuses a timestamp more than five minutes old
//! ([`verify`] does all three).
//!
//! ```
//! use posbridge_server::webhooks::{sign, verify};
//! let body = br#"{"id":7,"type":"delivery.dead"}"#;
//! let header = sign(b"whsec_test", 1_765_000_000, body);
//! assert!(verify(b"whsec_test", &header, body, 1_765_000_100, 300).is_ok());
//! assert!(verify(b"another", &header, body, 1_765_000_100, 300).is_err());
//! ```

use std::fmt;
use std::time::Duration;

use posbridge_outbox::DeliveryEvent;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::db::{now_ms, with_pool};
use crate::{Server, ServerError};

/// Where a tenant's webhooks go.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The URL (http or https) the events are POSTed to.
    pub url: reqwest::Url,
    /// The signing secret, shared with the receiver.
    pub secret: SecretString,
}

impl WebhookConfig {
    /// A webhook to `url`, refused unless it is http(s) with a host, and signed with
    /// `secret` (at least 16 characters).
    pub fn new(url: &str, secret: SecretString) -> Result<Self, ServerError> {
        let url = reqwest::Url::parse(url).map_err(|e| ServerError::Config(format!("webhook url `{url}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ServerError::Config(format!(
                "webhook url `{url}` is not http(s)://host/…"
            )));
        }
        if secret.expose_secret().len() < 16 {
            return Err(ServerError::Config(
                "a webhook secret is at least 16 characters".to_owned(),
            ));
        }
        Ok(Self { url, secret })
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url.as_str())
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The `Posbridge-Signature` header of `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit as _, Mac as _};
    let Ok(mut m) = <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret) else {
        return [0u8; 32];
    };
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header is not `t=…,v1=…`.
    #[error("the signature header is not `t=<seconds>,v1=<hex>`")]
    Malformed,
    /// No `v1` signature matches.
    #[error("the signature does not match the body")]
    Mismatch,
    /// The timestamp is further from now than the tolerance.
    #[error("the signature's timestamp is {0} s away from now")]
    Stale(i64),
}

/// Checks a `Posbridge-Signature` header against the raw body: one of its `v1`
/// signatures must match (several are sent while a secret is rotated), in constant
/// time, and its timestamp be within `tolerance` seconds of `now`.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => {
                let mut bytes = [0u8; 32];
                if hex::decode_to_slice(s, &mut bytes).is_ok() {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let Some(t) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let expected = mac(secret, t, body);
    if !signatures.iter().any(|s| bool::from(s.ct_eq(&expected))) {
        return Err(SignatureError::Mismatch);
    }
    let skew = now.saturating_sub(t).saturating_abs();
    if skew > tolerance {
        return Err(SignatureError::Stale(skew));
    }
    Ok(())
}

/// The JSON body of one webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookEvent<'a> {
    /// The event's id (increasing per queue); dedupe on it.
    pub id: i64,
    /// `delivery.<state>`: the state the delivery entered.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change happened.
    pub created_at: jiff::Timestamp,
    /// The tenant.
    pub tenant: &'a str,
    /// The delivery as the change left it.
    pub delivery: WebhookDelivery<'a>,
}

/// The delivery in a webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery<'a> {
    /// The delivery's id.
    pub id: i64,
    /// The vendor.
    pub vendor: &'a str,
    /// The document's reference.
    pub reference: &'a str,
    /// `sale`, `return`, `void` or `payment`.
    pub kind: &'a str,
    /// The state before.
    pub from: Option<&'a str>,
    /// The state after.
    pub state: &'a str,
    /// Attempts so far.
    pub attempts: u32,
    /// The vendor's id, once delivered.
    pub vendor_id: Option<&'a str>,
    /// The kind of error, for a failure.
    pub error_kind: Option<&'a str>,
    /// The vendor's reason (an excerpt), for a failure.
    pub error: Option<String>,
}

/// The body of the webhook for `e`.
pub fn body(e: &DeliveryEvent) -> Vec<u8> {
    let event = WebhookEvent {
        id: e.id,
        kind: format!("delivery.{}", e.to.as_str()),
        created_at: e.at,
        tenant: &e.target.tenant,
        delivery: WebhookDelivery {
            id: e.delivery_id,
            vendor: &e.target.vendor,
            reference: &e.reference,
            kind: e.kind.as_str(),
            from: e.from.map(|s| s.as_str()),
            state: e.to.as_str(),
            attempts: e.attempt,
            vendor_id: e.vendor_id.as_deref(),
            error_kind: e.error_kind.as_deref(),
            error: e
                .error
                .as_deref()
                .map(|x| crate::views::excerpt(x, crate::views::REASON_EXCERPT)),
        },
    };
    serde_json::to_vec(&event).unwrap_or_default()
}

/// How long an instance holds a tenant's stream without renewing.
const LEASE: Duration = Duration::from_secs(30);
/// Events sent per turn of one stream.
const PER_TURN: u32 = 100;
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The wait after `attempts` failures in a row: 1 s, 2 s, 4 s, … up to 10 min.
pub(crate) fn backoff(attempts: u32) -> Duration {
    let secs = 1u64.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// Sends every configured tenant's webhooks until `shutdown`.
pub(crate) async fn run(
    server: &Server,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let inner = server.inner();
    if inner.webhooks.is_empty() {
        shutdown.await;
        return Ok(());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ServerError::Config(format!("webhook client: {e}")))?;
    let me = format!(
        "webhooks-{}",
        hex::encode(crate::auth::random_key().0.get(..6).unwrap_or_default())
    );
    tokio::pin!(shutdown);
    loop {
        let mut busy = false;
        for (tenant, config) in &inner.webhooks {
            match turn(server, &client, &me, tenant, config).await {
                Ok(sent) => busy |= sent > 0,
                Err(e) => tracing::warn!(tenant = %tenant, error = %e, "webhook stream"),
            }
        }
        let pause = if busy {
            Duration::from_millis(10)
        } else {
            Duration::from_millis(500)
        };
        tokio::select! {
            () = &mut shutdown => return release(server, &me).await,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Gives back this sender's leases, so another instance (or this one restarted)
/// carries on at once rather than after the lease.
async fn release(server: &Server, me: &str) -> Result<(), ServerError> {
    with_pool!(server.outbox(), pool => {
        sqlx::query("UPDATE posbridge_server_webhooks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1")
            .bind(me)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(ServerError::from)
    })
}

/// One turn of a tenant's stream: take its lease if free and due, send what is
/// waiting in order, stop at the first failure. Returns how many were sent.
async fn turn(
    server: &Server,
    client: &reqwest::Client,
    me: &str,
    tenant: &str,
    config: &WebhookConfig,
) -> Result<usize, ServerError> {
    let outbox = server.outbox();
    let now = now_ms();
    let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(30_000);
    let held: u64 = with_pool!(outbox, pool => {
        // A stream starts at the tenant's latest event: a webhook added to a busy queue
        // is not flooded with its history.
        sqlx::query(
            "INSERT INTO posbridge_server_webhooks (tenant, last_event_id, next_attempt_at, updated_at) \
             SELECT $1, COALESCE(MAX(id), 0), $2, $2 FROM posbridge_outbox_events WHERE tenant = $1 \
             ON CONFLICT (tenant) DO NOTHING",
        )
        .bind(tenant)
        .bind(now)
        .execute(pool)
        .await?;
        sqlx::query(
            "UPDATE posbridge_server_webhooks SET lease_owner = $1, lease_until = $2 \
             WHERE tenant = $3 AND next_attempt_at <= $4 \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $4)",
        )
        .bind(me)
        .bind(now + lease_ms)
        .bind(tenant)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(ServerError::from)
    })?;
    if held == 0 {
        return Ok(0);
    }
    let (last, attempts): (i64, i64) = with_pool!(outbox, pool => {
        sqlx::query_as("SELECT last_event_id, attempts FROM posbridge_server_webhooks WHERE tenant = $1")
            .bind(tenant)
            .fetch_one(pool)
            .await
            .map_err(ServerError::from)
    })?;
    let events = outbox.events_after(last, Some(tenant), PER_TURN).await?;
    let settled_before = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::try_from(server.config().webhook_settle).unwrap_or_default())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut sent = 0;
    // In id order, and only those old enough that no earlier id can still appear.
    for e in events.iter().take_while(|e| e.at <= settled_before) {
        let payload = body(e);
        let t = jiff::Timestamp::now().as_second();
        let signature = sign(config.secret.expose_secret().as_bytes(), t, &payload);
        let result = client
            .post(config.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Posbridge-Signature", signature)
            .header("Posbridge-Event-Id", e.id.to_string())
            .body(payload)
            .send()
            .await;
        let (ok, status, error) = match result {
            Ok(r) if r.status().is_success() => (true, Some(r.status().as_u16()), None),
            Ok(r) => (
                false,
                Some(r.status().as_u16()),
                Some(format!("answered {}", r.status())),
            ),
            // reqwest's message names the URL, which is the operator's own config.
            Err(err) => (false, None, Some(err.without_url().to_string())),
        };
        let now = now_ms();
        if ok {
            sent += 1;
            with_pool!(outbox, pool => {
                sqlx::query(
                    "UPDATE posbridge_server_webhooks SET last_event_id = $1, attempts = 0, next_attempt_at = $2, \
                     last_status = $3, last_error = NULL, sent = sent + 1, updated_at = $2 \
                     WHERE tenant = $4 AND lease_owner = $5",
                )
                .bind(e.id)
                .bind(now)
                .bind(status.map(i32::from))
                .bind(tenant)
                .bind(me)
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(ServerError::from)
            })?;
        } else {
            let failures = u32::try_from(attempts).unwrap_or(0).saturating_add(1);
            let wait = i64::try_from(backoff(failures).as_millis()).unwrap_or(600_000);
            tracing::info!(tenant = %tenant, event = e.id, failures, error = ?error, "webhook not taken; will retry");
            with_pool!(outbox, pool => {
                sqlx::query(
                    "UPDATE posbridge_server_webhooks SET attempts = attempts + 1, next_attempt_at = $1, \
                     last_status = $2, last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4 \
                     WHERE tenant = $5 AND lease_owner = $6",
                )
                .bind(now + wait)
                .bind(status.map(i32::from))
                .bind(&error)
                .bind(now)
                .bind(tenant)
                .bind(me)
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(ServerError::from)
            })?;
            return Ok(sent);
        }
    }
    Ok(sent)
}

/// Where a tenant's webhook stream stands (for the console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamState {
    /// The tenant.
    pub tenant: String,
    /// The last event its URL took.
    pub last_event_id: i64,
    /// Failures in a row.
    pub attempts: i64,
    /// The last HTTP status its URL answered.
    pub last_status: Option<i64>,
    /// The last failure.
    pub last_error: Option<String>,
    /// Events sent in all.
    pub sent: i64,
}

/// Every tenant's stream.
pub async fn streams(server: &Server) -> Result<Vec<StreamState>, ServerError> {
    type Row = (String, i64, i64, Option<i64>, Option<String>, i64);
    let rows: Vec<Row> = with_pool!(server.outbox(), pool => {
        sqlx::query_as(
            "SELECT tenant, last_event_id, CAST(attempts AS BIGINT), CAST(last_status AS BIGINT), last_error, sent \
             FROM posbridge_server_webhooks ORDER BY tenant",
        )
        .fetch_all(pool)
        .await
        .map_err(ServerError::from)
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(tenant, last_event_id, attempts, last_status, last_error, sent)| StreamState {
                tenant,
                last_event_id,
                attempts,
                last_status,
                last_error,
                sent,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn a_signature_binds_the_secret_the_body_and_the_time() {
        let body = b"{\"id\":1}";
        let header = sign(b"0123456789abcdef", 1000, body);
        assert_eq!(verify(b"0123456789abcdef", &header, body, 1000, 300), Ok(()));
        assert_eq!(
            verify(b"0123456789abcdeX", &header, body, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"0123456789abcdef", &header, b"{\"id\":2}", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"0123456789abcdef", &header, body, 1301, 300),
            Err(SignatureError::Stale(301))
        );
        let moved = header.replace("t=1000", "t=1001");
        assert_eq!(
            verify(b"0123456789abcdef", &moved, body, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(b"k", "v1=zz", body, 0, 300), Err(SignatureError::Malformed));
    }

    #[test]
    fn a_webhook_configs_debug_hides_its_secret() {
        let c = WebhookConfig::new(
            "https://pos.example/hooks",
            SecretString::from("whsec_TOPSECRET_123456"),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("TOPSECRET"));
        assert!(WebhookConfig::new("ftp://x/", SecretString::from("whsec_TOPSECRET_123456")).is_err());
        assert!(WebhookConfig::new("https://x/", SecretString::from("short")).is_err());
    }
}
