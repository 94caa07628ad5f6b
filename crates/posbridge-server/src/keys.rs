//! API keys: one or more per tenant, and operator keys.
//!
//! A key reads `pbk_<id>_<secret>`: `id` (12 hex digits) is its public name, shown by
//! `posbridge keys list` and safe to log; `secret` is 32 random bytes. The database
//! keeps only the SHA-256 of the whole key, so a copy of the database lets nobody in;
//! a presented key is hashed and compared with the stored hash in constant time. A key
//! is shown once, when created.
//!
//! ```no_run
//! # async fn run(outbox: &posbridge_outbox::Outbox) -> Result<(), posbridge_server::ServerError> {
//! use posbridge_server::keys::{self, Role};
//! posbridge_server::prepare(outbox).await?;
//! let new = keys::create(outbox, Role::tenant("colombo"), "till 3").await?;
//! println!("{}", new.info.id); // the public part; the secret is in `new.secret`
//! keys::revoke(outbox, &new.info.id).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jiff::Timestamp;
use posbridge_outbox::Outbox;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ServerError;
use crate::db::{now_ms, with_pool};

/// What a key may do.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Enqueue and read the deliveries of one tenant, and nothing of another's.
    Tenant(String),
    /// Everything: every tenant, the console, the metrics.
    Operator,
}

impl Role {
    /// A tenant's key.
    pub fn tenant(name: impl Into<String>) -> Self {
        Self::Tenant(name.into())
    }

    /// The tenant, for a tenant's key.
    pub fn tenant_name(&self) -> Option<&str> {
        match self {
            Self::Tenant(t) => Some(t),
            Self::Operator => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(t) => write!(f, "tenant {t}"),
            Self::Operator => f.write_str("operator"),
        }
    }
}

/// A key as listed: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The public part of the key (`pbk_<id>_…`).
    pub id: String,
    /// What it may do.
    pub role: Role,
    /// Who or what holds it, as given at creation.
    pub label: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// A key just made: the only time its secret is known.
pub struct NewKey {
    /// The key as listed.
    pub info: KeyInfo,
    /// The whole key, to give its holder once.
    pub secret: SecretString,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("info", &self.info)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The longest label taken.
const MAX_LABEL: usize = 200;

/// Makes a key. Tenant names are not checked against a config here: a key for a
/// tenant the service does not serve can only read that tenant's (empty) queue.
pub async fn create(outbox: &Outbox, role: Role, label: &str) -> Result<NewKey, ServerError> {
    if label.chars().count() > MAX_LABEL {
        return Err(ServerError::Config(format!(
            "a key's label is at most {MAX_LABEL} characters"
        )));
    }
    if let Role::Tenant(t) = &role
        && (t.is_empty() || t.contains('/'))
    {
        return Err(ServerError::Config(format!("`{t}` is not a tenant name")));
    }
    let mut bytes = [0u8; 6 + 32];
    rand::rng().fill_bytes(&mut bytes);
    let (id_bytes, secret_bytes) = bytes.split_at(6);
    let id = hex::encode(id_bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes);
    let whole = format!("pbk_{id}_{secret}");
    let hash = hex::encode(Sha256::digest(whole.as_bytes()));
    let now = now_ms();
    let tenant = role.tenant_name().map(str::to_owned);
    with_pool!(outbox, pool => {
        sqlx::query("INSERT INTO posbridge_server_keys (id, tenant, hash, label, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(&tenant)
            .bind(&hash)
            .bind(label)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())
            .map_err(ServerError::from)
    })?;
    Ok(NewKey {
        info: KeyInfo {
            id,
            role,
            label: label.to_owned(),
            created_at: timestamp(now),
            revoked_at: None,
        },
        secret: SecretString::from(whole),
    })
}

type KeyRow = (String, Option<String>, String, i64, Option<i64>);

fn info_from_row((id, tenant, label, created_at, revoked_at): KeyRow) -> KeyInfo {
    KeyInfo {
        id,
        role: tenant.map_or(Role::Operator, Role::Tenant),
        label,
        created_at: timestamp(created_at),
        revoked_at: revoked_at.map(timestamp),
    }
}

/// Every key, oldest first, revoked ones included.
pub async fn list(outbox: &Outbox) -> Result<Vec<KeyInfo>, ServerError> {
    let rows: Vec<KeyRow> = with_pool!(outbox, pool => {
        sqlx::query_as("SELECT id, tenant, label, created_at, revoked_at FROM posbridge_server_keys ORDER BY created_at, id")
            .fetch_all(pool)
            .await
            .map_err(ServerError::from)
    })?;
    Ok(rows.into_iter().map(info_from_row).collect())
}

/// Revokes a key by its id (the public part). Revoking a revoked key is a no-op.
/// Every instance stops taking it within [`CACHE_TTL`].
pub async fn revoke(outbox: &Outbox, id: &str) -> Result<KeyInfo, ServerError> {
    let now = now_ms();
    let rows: Vec<KeyRow> = with_pool!(outbox, pool => {
        sqlx::query("UPDATE posbridge_server_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .map_err(ServerError::from)?;
        sqlx::query_as("SELECT id, tenant, label, created_at, revoked_at FROM posbridge_server_keys WHERE id = $1")
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(ServerError::from)
    })?;
    rows.into_iter()
        .next()
        .map(info_from_row)
        .ok_or_else(|| ServerError::UnknownKey(id.to_owned()))
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// How long an instance trusts what it read of a key (so a revocation takes at most
/// this long to reach every instance).
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// What the database says of one key id.
#[derive(Clone)]
struct Stored {
    role: Role,
    hash: [u8; 32],
    revoked: bool,
}

/// Keys read recently, by id.
#[derive(Default)]
pub(crate) struct KeyCache {
    entries: Mutex<HashMap<String, (Option<Stored>, Instant)>>,
}

/// The most ids the cache holds (unknown ids are cached too, so a flood of made-up
/// keys costs one query each at most once per TTL, and never grows memory unbounded).
const CACHE_MAX: usize = 10_000;

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub(crate) id: String,
    pub(crate) role: Role,
}

impl KeyCache {
    /// Checks a presented key: its form, its id, its hash (in constant time), and that
    /// it is not revoked. `None` for any failure, without saying which.
    pub(crate) async fn verify(&self, outbox: &Outbox, presented: &str) -> Result<Option<Verified>, ServerError> {
        let Some(id) = parse_id(presented) else {
            return Ok(None);
        };
        let cached = self.get(id);
        let stored = match cached {
            Some(s) => s,
            None => {
                let s = load(outbox, id).await?;
                self.put(id, s.clone());
                s
            }
        };
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let Some(stored) = stored else {
            return Ok(None);
        };
        let same: bool = digest.ct_eq(&stored.hash).into();
        Ok((same && !stored.revoked).then(|| Verified {
            id: id.to_owned(),
            role: stored.role,
        }))
    }

    fn get(&self, id: &str) -> Option<Option<Stored>> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(id)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(s, _)| s.clone())
    }

    fn put(&self, id: &str, stored: Option<Stored>) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= CACHE_MAX {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(id.to_owned(), (stored, Instant::now()));
    }
}

/// The role of key `id` if it exists and is not revoked, read from the database now
/// (not the cache): a console session ends the moment its key is revoked.
pub(crate) async fn active_role(outbox: &Outbox, id: &str) -> Result<Option<Role>, ServerError> {
    Ok(load(outbox, id).await?.filter(|s| !s.revoked).map(|s| s.role))
}

/// The id of a key of the right form.
fn parse_id(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix("pbk_")?;
    let (id, secret) = rest.split_once('_')?;
    let ok = id.len() == 12
        && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(id)
}

async fn load(outbox: &Outbox, id: &str) -> Result<Option<Stored>, ServerError> {
    let row: Option<(Option<String>, String, Option<i64>)> = with_pool!(outbox, pool => {
        sqlx::query_as("SELECT tenant, hash, revoked_at FROM posbridge_server_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(ServerError::from)
    })?;
    Ok(row.and_then(|(tenant, hash, revoked_at)| {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&hash, &mut bytes).ok()?;
        Some(Stored {
            role: tenant.map_or(Role::Operator, Role::Tenant),
            hash: bytes,
            revoked: revoked_at.is_some(),
        })
    }))
}

/// A key's secret never reaches a log: this is what a log may say of a presented key.
pub(crate) fn describe(presented: &SecretString) -> String {
    parse_id(presented.expose_secret()).map_or_else(|| "a malformed key".to_owned(), |id| format!("key {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_keys_have_an_id() {
        let good = format!("pbk_0123456789ab_{}", "A".repeat(43));
        assert_eq!(parse_id(&good), Some("0123456789ab"));
        for bad in [
            "",
            "pbk_",
            "pbk_0123456789ab",
            "pbk_0123456789AB_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "pbk_0123456789ab_short",
            "Bearer pbk_0123456789ab_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "pbk_0123456789ab_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx!",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_new_keys_debug_hides_its_secret() {
        let key = NewKey {
            info: KeyInfo {
                id: "0123456789ab".into(),
                role: Role::Operator,
                label: "l".into(),
                created_at: Timestamp::UNIX_EPOCH,
                revoked_at: None,
            },
            secret: SecretString::from("pbk_0123456789ab_TOPSECRETTOPSECRETTOPSECRETTOPSECRETTOPSECR"),
        };
        let text = format!("{key:?}");
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert_eq!(describe(&key.secret), "key 0123456789ab");
    }
}
