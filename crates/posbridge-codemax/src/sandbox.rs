//! The sandbox's imitation of Codemax POS Live Sync (feature `sandbox`), as
//! `docs/vendors/codemax.md` decides everything its public collection leaves out
//! (paths, field names, codes): [`imitation()`] for [`posbridge_sandbox::Sandbox::start`].
//! An independent implementation of the vendor side: it shares this crate but none of
//! the connector's code (no `wire.rs`, `map.rs` or client), so each checks the other
//! (`tests/sandbox_fixtures.rs`).
//!
//! Routes (under `/codemax/`), all `POST` with a JSON body (the content type is not
//! checked):
//!
//! | route | does |
//! |---|---|
//! | `api/v1/auth/login` | `{"username", "password"}` → a new access and refresh token |
//! | `api/v1/auth/refresh` | `{"access_token", "refresh_token"}` (the access token may have expired) → a new pair; both old tokens are revoked |
//! | `api/v1/sync` | `Authorization: Bearer <access>`, `{"invoices": [...]}` (1 to 20) → one result per invoice, in request order |
//!
//! Every answer is `{"code": "<two digits>", "message": …}` plus the tokens or the
//! results:
//!
//! | code | HTTP | when |
//! |---|---|---|
//! | `00` | 200 | login, refresh, or a sync whose every invoice was synced |
//! | `01` | 200 | a sync in which some invoice failed (see `results`) |
//! | `10` | 401 | login: wrong username or password |
//! | `11` | 401 | sync: `Authorization` missing, not `Bearer`, unknown, revoked or expired (checked first) |
//! | `12` | 401 | refresh: the pair is not the current pair of one session (unknown, already used, mismatched) |
//! | `20` | 400 | sync: more than 20 invoices; nothing applied |
//! | `21` | 400 | any: the body is not a JSON object, a required field is missing or of the wrong type (`invoices`, each invoice an object with an `invoice_no`); nothing applied |
//! | `29` / `99` | 429 / 5xx | only from fault injection ([`VendorImitation::fault_body`]) |
//!
//! Per invoice (`results[i]`: `{"invoice_no", "status": "success" | "failed", "code",
//! "message"}`), checked in this order, each invoice on its own (a failed one does not
//! undo the others; a later one sees what an earlier one applied):
//!
//! | code | message | when |
//! |---|---|---|
//! | `33` | `Invalid invoice: <what>` | `timestamp` not RFC 3339 with an offset; `branch_code` missing; `username` missing or not the configured one; `is_void` not a boolean; `items` missing, or empty on a sale (a void may list none); an item without `item_code`, or a `quantity` that is not a number > 0 |
//! | `32` | `Branch code <code> not found` | `branch_code` not among the configured branches |
//! | `31` | `Item code <code> not found` | the first `item_code` not in the catalogue |
//! | `30` | `Duplicate invoice number <no>` | the same `invoice_no` with the same `is_void` was synced before |
//! | `34` | `Invoice number <no> not found` | a void of an `invoice_no` never synced as a sale |
//! | `00` | `Synced` | applied |
//!
//! Applying: a sale (`is_void` false or absent) lowers the stock of each item by its
//! `quantity` and is stored under its `invoice_no`. A void of a synced sale gives
//! back what that sale took, whatever items the void lists (none, from
//! `Voids::void_sale`; the sale's, from a sale pushed with status void), once: a
//! second void is a duplicate. It replaces the stored invoice, so the stock always
//! reflects the invoices that stand. A void of a number never synced is refused
//! (`34`): there is nothing to void.
//!
//! Its admin routes (`/_sandbox/codemax/…`, [`expire_access_tokens`] and
//! [`revoke_tokens`] on a handle): `POST expire-access-tokens` expires every access
//! token issued so far (refresh tokens still work); `POST revoke-tokens` revokes every
//! access and refresh token.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use posbridge_core::Decimal;
use posbridge_sandbox::body::{decimal, text};
use posbridge_sandbox::{
    App, AppliedReferences, DemoProfile, DocKind, Locked, Reply, SandboxError, SandboxHandle, Setup, VendorImitation,
    json_message,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::VENDOR;

/// The POS Live Sync username the imitation accepts by default (at login, and as every
/// invoice's `username`).
pub const DEFAULT_USERNAME: &str = "sandbox-pos";

/// The password the imitation accepts by default.
pub const DEFAULT_PASSWORD: &str = "sandbox-password";

/// The branch code the imitation knows by default.
pub const DEFAULT_BRANCH: &str = "KL01";

/// How long an access token lives by default, in seconds: 15 minutes, as Codemax's
/// collection says.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 900;

/// The imitation's settings, its section of the sandbox's config (`"codemax": {…}`):
/// the one account it accepts, the branches it
/// knows, and how long its access tokens live.
///
/// Every catalogue product is a Codemax item, by its code (`item_code` is the POS
/// product code).
///
/// ```
/// use posbridge_codemax::sandbox::ImitationConfig;
///
/// let config = ImitationConfig::default();
/// assert_eq!((config.username.as_str(), config.password.as_str()), ("sandbox-pos", "sandbox-password"));
/// assert_eq!((config.branches, config.token_lifetime_secs), (vec!["KL01".to_owned()], 900));
/// // Tests of token renewal use short-lived tokens:
/// let short: ImitationConfig = serde_json::from_str(r#"{"token_lifetime_secs": 2}"#)?;
/// assert_eq!(short.username, "sandbox-pos");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImitationConfig {
    /// The only username accepted at login, and the `username` every invoice must
    /// carry; default [`DEFAULT_USERNAME`].
    pub username: String,
    /// The only password accepted; default [`DEFAULT_PASSWORD`].
    pub password: String,
    /// The branch codes an invoice's `branch_code` may name (another is refused with
    /// code `32`); default: one, [`DEFAULT_BRANCH`]. At least one.
    pub branches: Vec<String>,
    /// How long an access token lives, in seconds (the login and refresh answers'
    /// `expires_in`); default [`DEFAULT_TOKEN_LIFETIME_SECS`]. At least 1.
    pub token_lifetime_secs: u64,
}

impl Default for ImitationConfig {
    fn default() -> Self {
        Self {
            username: DEFAULT_USERNAME.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            branches: vec![DEFAULT_BRANCH.to_owned()],
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
        }
    }
}

/// The shared state and Codemax's ledger, locked together.
type SandboxState<'a> = Locked<'a, Ledger>;

/// Its routes, after the prefix: the connector's default base path `/api/v1`.
const ROUTES: &[&str] = &[LOGIN, REFRESH, SYNC];

const LOGIN: &str = "api/v1/auth/login";
const REFRESH: &str = "api/v1/auth/refresh";
const SYNC: &str = "api/v1/sync";

/// The most invoices one sync takes, from Codemax's collection.
const MAX_INVOICES: usize = 20;

/// How a void appears in the log's `applied_references`: `<invoice_no>#void`.
const VOID_SUFFIX: &str = "#void";

/// The codes in `code` (two-digit strings, `docs/vendors/codemax.md`).
mod code {
    pub(super) const SUCCESS: &str = "00";
    pub(super) const PARTIAL: &str = "01";
    pub(super) const INVALID_CREDENTIALS: &str = "10";
    pub(super) const TOKEN_EXPIRED: &str = "11";
    pub(super) const REFRESH_REFUSED: &str = "12";
    pub(super) const TOO_MANY_INVOICES: &str = "20";
    pub(super) const MALFORMED: &str = "21";
    pub(super) const RATE_LIMITED: &str = "29";
    pub(super) const DUPLICATE: &str = "30";
    pub(super) const ITEM_NOT_FOUND: &str = "31";
    pub(super) const BRANCH_NOT_FOUND: &str = "32";
    pub(super) const INVALID_INVOICE: &str = "33";
    pub(super) const UNKNOWN_INVOICE: &str = "34";
    pub(super) const INTERNAL: &str = "99";
}

/// The settings in force, checked.
#[derive(Debug, Clone)]
struct Settings {
    username: String,
    password: String,
    branches: HashSet<String>,
    /// The first branch configured: a connector's `branch_code`.
    first_branch: String,
    lifetime: Duration,
    lifetime_secs: u64,
}

impl Settings {
    /// Checks `config`: non-blank credentials, at least one branch and none blank, a
    /// token lifetime of at least a second.
    fn resolve(config: &ImitationConfig) -> Result<Self, SandboxError> {
        let invalid = |what: &str| Err(SandboxError::InvalidConfig(format!("codemax.{what}")));
        if config.username.trim().is_empty() {
            return invalid("username is empty");
        }
        if config.password.is_empty() {
            return invalid("password is empty");
        }
        if config.branches.is_empty() {
            return invalid("branches is empty: no invoice could be synced");
        }
        if config.branches.iter().any(|b| b.trim().is_empty()) {
            return invalid("branches has an empty branch code");
        }
        if config.token_lifetime_secs == 0 {
            return invalid("token_lifetime_secs must be at least 1");
        }
        Ok(Self {
            username: config.username.clone(),
            password: config.password.clone(),
            branches: config.branches.iter().cloned().collect(),
            first_branch: config.branches.first().cloned().unwrap_or_default(),
            lifetime: Duration::from_secs(config.token_lifetime_secs),
            lifetime_secs: config.token_lifetime_secs,
        })
    }
}

/// One login's tokens: the refresh token paired with an access token, and when the
/// access token expires (`None`: beyond the clock's range, never).
#[derive(Debug)]
struct Session {
    refresh: String,
    expires_at: Option<Instant>,
}

/// What Codemax knows of one invoice number.
#[derive(Debug, Default)]
struct InvoiceRecord {
    /// The items of the synced sale, once the sale was synced.
    sale: Option<Vec<(String, Decimal)>>,
    /// Whether its void was synced.
    voided: bool,
    /// Whether the sale's quantities are deducted now.
    taken: bool,
}

/// Codemax's state beyond the stored documents: the sessions, and what each invoice
/// number's sale and void did. Part of the sandbox's state, under its one lock.
#[derive(Debug)]
struct Ledger {
    /// By access token.
    sessions: HashMap<String, Session>,
    /// Refresh token → its access token.
    refresh: HashMap<String, String>,
    invoices: HashMap<String, InvoiceRecord>,
    /// Pairs issued over the sandbox's life (never reset, so a token is never issued
    /// twice, even across resets).
    issued: u64,
    /// Makes tokens unguessable-looking; separate from the fault generator, so issuing
    /// tokens never changes which faults trigger.
    rng: StdRng,
}

impl Ledger {
    fn new(seed: u64) -> Self {
        Self {
            sessions: HashMap::new(),
            refresh: HashMap::new(),
            invoices: HashMap::new(),
            issued: 0,
            rng: StdRng::seed_from_u64(seed ^ 0x636f_6465_6d61_7821),
        }
    }

    /// Forgets every invoice and revokes every token.
    fn reset(&mut self) {
        self.invoices.clear();
        self.revoke_tokens();
    }

    /// Revokes every access and refresh token: clients must log in again.
    fn revoke_tokens(&mut self) {
        self.sessions.clear();
        self.refresh.clear();
    }

    /// Expires every access token issued so far, as if its lifetime had passed; the
    /// refresh tokens still work.
    fn expire_access_tokens(&mut self, now: Instant) {
        for session in self.sessions.values_mut() {
            session.expires_at = Some(now);
        }
    }

    /// A new session: `(access, refresh)`.
    fn issue(&mut self, lifetime: Duration, now: Instant) -> (String, String) {
        self.issued = self.issued.saturating_add(1);
        let n = self.issued;
        let access = format!("acc-{n}-{:016x}", self.rng.random::<u64>());
        let refresh = format!("ref-{n}-{:016x}", self.rng.random::<u64>());
        self.refresh.insert(refresh.clone(), access.clone());
        self.sessions.insert(
            access.clone(),
            Session {
                refresh: refresh.clone(),
                expires_at: now.checked_add(lifetime),
            },
        );
        (access, refresh)
    }

    /// Whether `access` is a live access token.
    fn valid(&self, access: &str, now: Instant) -> bool {
        self.sessions
            .get(access)
            .is_some_and(|s| s.expires_at.is_none_or(|at| now < at))
    }

    /// Rotates the pair: when `refresh` is the refresh token of `access`, both are
    /// revoked and a new pair issued.
    fn rotate(&mut self, access: &str, refresh: &str, lifetime: Duration, now: Instant) -> Option<(String, String)> {
        let paired = self.refresh.get(refresh).is_some_and(|a| a == access)
            && self.sessions.get(access).is_some_and(|s| s.refresh == refresh);
        if !paired {
            return None;
        }
        self.refresh.remove(refresh);
        self.sessions.remove(access);
        Some(self.issue(lifetime, now))
    }
}

/// The imitation, for [`posbridge_sandbox::Sandbox::start`].
pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Imitation::default())
}

/// Expires every Codemax access token `sandbox` issued so far, as if its lifetime had
/// passed, as `POST /_sandbox/codemax/expire-access-tokens` does: the next sync with
/// one is refused (401, code `11`), while its refresh token still works. How to show a
/// connector an expired token without waiting for it. `false` when the sandbox does
/// not imitate Codemax.
pub fn expire_access_tokens(sandbox: &SandboxHandle) -> bool {
    running(sandbox).is_some_and(|r| {
        r.lock().ledger.expire_access_tokens(Instant::now());
        true
    })
}

/// Revokes every Codemax access and refresh token, as
/// `POST /_sandbox/codemax/revoke-tokens` does: a sync is refused (code `11`), a
/// refresh too (code `12`), and clients must log in again. `false` when the sandbox
/// does not imitate Codemax.
pub fn revoke_tokens(sandbox: &SandboxHandle) -> bool {
    running(sandbox).is_some_and(|r| {
        r.lock().ledger.revoke_tokens();
        true
    })
}

fn running(sandbox: &SandboxHandle) -> Option<&Arc<Running>> {
    sandbox.imitation::<Imitation>()?.running.as_ref()
}

/// Codemax as the sandbox imitates it (see [`imitation()`]).
#[derive(Debug, Default)]
pub struct Imitation {
    running: Option<Arc<Running>>,
}

/// What the handlers share once started.
#[derive(Debug)]
struct Running {
    app: App,
    settings: Settings,
    ledger: Mutex<Ledger>,
}

impl Running {
    /// The shared state and the ledger, locked.
    fn lock(&self) -> SandboxState<'_> {
        self.app.lock_with(&self.ledger)
    }
}

impl VendorImitation for Imitation {
    fn name(&self) -> &'static str {
        VENDOR
    }

    fn routes(&self) -> &'static [&'static str] {
        ROUTES
    }

    fn start(&mut self, setup: &Setup<'_>) -> Result<(), SandboxError> {
        let config: ImitationConfig = setup.settings()?;
        self.running = Some(Arc::new(Running {
            app: setup.app.clone(),
            settings: Settings::resolve(&config)?,
            ledger: Mutex::new(Ledger::new(setup.seed)),
        }));
        Ok(())
    }

    fn router(&self) -> Router<App> {
        match &self.running {
            Some(running) => Router::new()
                .route(&format!("/{LOGIN}"), post(login))
                .route(&format!("/{REFRESH}"), post(refresh))
                .route(&format!("/{SYNC}"), post(sync))
                .with_state(running.clone()),
            None => Router::new(),
        }
    }

    fn admin_router(&self) -> Router<App> {
        match &self.running {
            Some(running) => Router::new()
                .route("/expire-access-tokens", post(admin_expire_access_tokens))
                .route("/revoke-tokens", post(admin_revoke_tokens))
                .with_state(running.clone()),
            None => Router::new(),
        }
    }

    fn reference_of(&self, route: &str, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        reference_of(route, body)
    }

    fn fault_body(&self, status: StatusCode) -> Option<Value> {
        fault_body(status)
    }

    /// Forgets every invoice and revokes every token.
    fn reset(&self) {
        if let Some(r) = &self.running {
            r.ledger
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .reset();
        }
    }

    fn connector_section(&self, vendor_url: &str) -> Value {
        let (username, password, branch) = match &self.running {
            Some(r) => (
                r.settings.username.clone(),
                r.settings.password.clone(),
                r.settings.first_branch.clone(),
            ),
            None => (
                DEFAULT_USERNAME.to_owned(),
                DEFAULT_PASSWORD.to_owned(),
                DEFAULT_BRANCH.to_owned(),
            ),
        };
        json!({"base_url": vendor_url, "username": username, "password": password, "branch_code": branch})
    }

    fn demo(&self) -> DemoProfile {
        DemoProfile {
            fault_writes: &[SYNC],
            ..DemoProfile::default()
        }
    }
}

async fn admin_expire_access_tokens(State(me): State<Arc<Running>>) -> Response {
    me.lock().ledger.expire_access_tokens(Instant::now());
    json_message(StatusCode::OK, "Codemax access tokens expired")
}

async fn admin_revoke_tokens(State(me): State<Arc<Running>>) -> Response {
    me.lock().ledger.revoke_tokens();
    json_message(StatusCode::OK, "Codemax tokens revoked")
}

/// The reference a request carries, for the log: a sync's first `invoice_no`.
fn reference_of(route: &str, body: &[u8]) -> Option<String> {
    if route.trim_matches('/') != SYNC {
        return None;
    }
    let body: Value = serde_json::from_slice(body).ok()?;
    text(body.get("invoices")?.get(0)?.get("invoice_no")?)
}

/// An injected 429 or 5xx in Codemax's shape.
fn fault_body(status: StatusCode) -> Option<Value> {
    let (code, message) = match status {
        StatusCode::TOO_MANY_REQUESTS => (code::RATE_LIMITED, "Too many requests"),
        StatusCode::SERVICE_UNAVAILABLE => (code::INTERNAL, "Service unavailable"),
        s if s.is_server_error() => (code::INTERNAL, "Internal server error"),
        _ => return None,
    };
    Some(json!({"code": code, "message": message}))
}

/// A refusal of the whole request: `{"code", "message"}`.
fn refusal(status: StatusCode, code: &str, message: impl Into<String>) -> Reply {
    Reply {
        status,
        body: json!({"code": code, "message": message.into()}),
        applied: false,
    }
}

fn malformed(what: impl std::fmt::Display) -> Reply {
    refusal(
        StatusCode::BAD_REQUEST,
        code::MALFORMED,
        format!("Malformed request: {what}"),
    )
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(malformed("the body must be a JSON object")),
        Err(e) => Err(malformed(format!("the body is not valid JSON ({e})"))),
    }
}

/// A required text field of a login or refresh body.
fn credential(fields: &Map<String, Value>, name: &str) -> Result<String, Reply> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(malformed(format!("{name} is required"))),
        Some(v) => text(v).ok_or_else(|| malformed(format!("{name} must be a string"))),
    }
}

fn token_answer(message: &str, (access, refresh): (String, String), lifetime_secs: u64) -> Reply {
    Reply {
        status: StatusCode::OK,
        body: json!({
            "code": code::SUCCESS,
            "message": message,
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": lifetime_secs,
        }),
        // Tokens are not documents: login and refresh never count as applied.
        applied: false,
    }
}

async fn login(State(me): State<Arc<Running>>, body: Bytes) -> Reply {
    let settings = &me.settings;
    let read = object(&body).and_then(|f| Ok((credential(&f, "username")?, credential(&f, "password")?)));
    let (username, password) = match read {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    if username != settings.username || password != settings.password {
        return refusal(
            StatusCode::UNAUTHORIZED,
            code::INVALID_CREDENTIALS,
            "Invalid username or password",
        );
    }
    let pair = me.lock().ledger.issue(settings.lifetime, Instant::now());
    token_answer("Login successful", pair, settings.lifetime_secs)
}

async fn refresh(State(me): State<Arc<Running>>, body: Bytes) -> Reply {
    let settings = &me.settings;
    let read = object(&body).and_then(|f| Ok((credential(&f, "access_token")?, credential(&f, "refresh_token")?)));
    let (access, refresh) = match read {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let rotated = me
        .lock()
        .ledger
        .rotate(&access, &refresh, settings.lifetime, Instant::now());
    match rotated {
        Some(pair) => token_answer("Token refreshed", pair, settings.lifetime_secs),
        None => refusal(StatusCode::UNAUTHORIZED, code::REFRESH_REFUSED, "Refresh token expired"),
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// One invoice of a sync, as sent: its number (as sent, and as text) and its fields.
struct Sent {
    number: Value,
    invoice_no: String,
    fields: Map<String, Value>,
}

/// Reads a sync body down to its invoices (the checks of the whole request).
fn read_sync(body: &[u8]) -> Result<Vec<Sent>, Reply> {
    let mut fields = object(body)?;
    let list = match fields.remove("invoices") {
        None | Some(Value::Null) => return Err(malformed("invoices is required")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(malformed("invoices must be a list")),
    };
    if list.is_empty() {
        return Err(malformed("invoices must not be empty"));
    }
    if list.len() > MAX_INVOICES {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            code::TOO_MANY_INVOICES,
            format!("Maximum {MAX_INVOICES} invoices per request"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, invoice) in list.into_iter().enumerate() {
        let Value::Object(fields) = invoice else {
            return Err(malformed(format!("invoices[{i}] must be an object")));
        };
        let number = fields.get("invoice_no").cloned().unwrap_or(Value::Null);
        let invoice_no = match text(&number) {
            Some(n) if !n.trim().is_empty() => n,
            _ => return Err(malformed(format!("invoices[{i}].invoice_no is required"))),
        };
        out.push(Sent {
            number,
            invoice_no,
            fields,
        });
    }
    Ok(out)
}

async fn sync(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    let settings = &me.settings;
    let read = read_sync(&body);
    let mut state = me.lock();
    if !bearer(&headers).is_some_and(|t| state.ledger.valid(t, Instant::now())) {
        return refusal(StatusCode::UNAUTHORIZED, code::TOKEN_EXPIRED, "Access token expired").into_response();
    }
    let invoices = match read {
        Ok(i) => i,
        Err(reply) => return reply.into_response(),
    };
    let total = invoices.len();
    let mut results = Vec::with_capacity(total);
    let mut applied = Vec::new();
    for sent in invoices {
        let result = match sync_one(&mut state, settings, &sent.invoice_no, sent.fields) {
            Ok(reference) => {
                applied.push(reference);
                json!({"invoice_no": sent.number, "status": "success", "code": code::SUCCESS, "message": "Synced"})
            }
            Err(Failure { code, message }) => {
                json!({"invoice_no": sent.number, "status": "failed", "code": code, "message": message})
            }
        };
        results.push(result);
    }
    drop(state);
    let failed = total.saturating_sub(applied.len());
    let body = if failed == 0 {
        json!({"code": code::SUCCESS, "message": "Invoices synced", "results": results})
    } else {
        json!({"code": code::PARTIAL, "message": format!("{failed} of {total} invoices failed"), "results": results})
    };
    let mut response = Reply {
        status: StatusCode::OK,
        body,
        applied: !applied.is_empty(),
    }
    .into_response();
    response.extensions_mut().insert(AppliedReferences(applied));
    response
}

/// Why one invoice failed.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    code: &'static str,
    message: String,
}

fn invalid(what: impl std::fmt::Display) -> Failure {
    Failure {
        code: code::INVALID_INVOICE,
        message: format!("Invalid invoice: {what}"),
    }
}

/// An invoice as read: its branch, whether it is a void, and its items.
#[derive(Debug)]
struct Invoice {
    branch: String,
    is_void: bool,
    items: Vec<(String, Decimal)>,
}

/// A required, non-blank text field (a JSON number is taken as its text).
fn required_text(fields: &Map<String, Value>, name: &str) -> Result<String, Failure> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(invalid(format!("{name} is required"))),
        Some(v) => match text(v) {
            Some(t) if !t.trim().is_empty() => Ok(t),
            Some(_) => Err(invalid(format!("{name} must not be empty"))),
            None => Err(invalid(format!("{name} must be a string"))),
        },
    }
}

/// Checks an invoice's fields (code 33).
fn read_invoice(settings: &Settings, fields: &Map<String, Value>) -> Result<Invoice, Failure> {
    match fields.get("timestamp") {
        None | Some(Value::Null) => return Err(invalid("timestamp is required")),
        Some(Value::String(t)) if is_timestamp(t) => {}
        Some(_) => {
            return Err(invalid(
                "timestamp must be an RFC 3339 date and time with an offset, e.g. 2026-11-26T10:15:00+08:00",
            ));
        }
    }
    let branch = required_text(fields, "branch_code")?;
    let username = required_text(fields, "username")?;
    if username != settings.username {
        return Err(invalid(format!("username {username} is not the logged-in user")));
    }
    let is_void = match fields.get("is_void") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s == "1" => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s == "0" => false,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(_) => return Err(invalid("is_void must be true or false")),
    };
    let raw = match fields.get("items") {
        None | Some(Value::Null) => return Err(invalid("items is required")),
        Some(Value::Array(a)) if a.is_empty() && !is_void => return Err(invalid("items must not be empty")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("items must be a list")),
    };
    let mut items = Vec::with_capacity(raw.len());
    for (i, item) in raw.iter().enumerate() {
        let Some(item) = item.as_object() else {
            return Err(invalid(format!("items[{i}] must be an object")));
        };
        let item_code =
            required_text(item, "item_code").map_err(|_| invalid(format!("items[{i}].item_code is required")))?;
        let quantity = match item.get("quantity") {
            None | Some(Value::Null) => return Err(invalid(format!("items[{i}].quantity is required"))),
            Some(q) => decimal(q).ok_or_else(|| invalid(format!("items[{i}].quantity must be a number")))?,
        };
        if quantity <= Decimal::ZERO {
            return Err(invalid(format!("items[{i}].quantity must be greater than 0")));
        }
        items.push((item_code, quantity));
    }
    Ok(Invoice { branch, is_void, items })
}

/// Judges one invoice and applies it: `Ok` with the reference it applied (for the
/// log), or why it failed (nothing applied).
fn sync_one(
    state: &mut SandboxState<'_>,
    settings: &Settings,
    invoice_no: &str,
    fields: Map<String, Value>,
) -> Result<String, Failure> {
    let invoice = read_invoice(settings, &fields)?;
    if !settings.branches.contains(&invoice.branch) {
        return Err(Failure {
            code: code::BRANCH_NOT_FOUND,
            message: format!("Branch code {} not found", invoice.branch),
        });
    }
    if let Some((code, _)) = invoice.items.iter().find(|(c, _)| state.product(c).is_none()) {
        return Err(Failure {
            code: code::ITEM_NOT_FOUND,
            message: format!("Item code {code} not found"),
        });
    }
    let (sale, voided, taken) = match state.ledger.invoices.get(invoice_no) {
        Some(r) => (r.sale.clone(), r.voided, r.taken),
        None => (None, false, false),
    };
    let duplicate = if invoice.is_void { voided } else { sale.is_some() };
    if duplicate {
        return Err(Failure {
            code: code::DUPLICATE,
            message: format!("Duplicate invoice number {invoice_no}"),
        });
    }
    if invoice.is_void && sale.is_none() {
        return Err(Failure {
            code: code::UNKNOWN_INVOICE,
            message: format!("Invoice number {invoice_no} not found"),
        });
    }
    // What moves: a void gives back what the sale took; a sale takes its quantities
    // unless the invoice is void already.
    let deltas: Vec<(&str, Decimal)> = match (invoice.is_void, &sale) {
        (true, Some(lines)) if taken => lines.iter().map(|(c, q)| (c.as_str(), *q)).collect(),
        (true, _) => Vec::new(),
        (false, _) if voided => Vec::new(),
        (false, _) => invoice.items.iter().map(|(c, q)| (c.as_str(), -*q)).collect(),
    };
    state
        .adjust_stock(&deltas)
        .map_err(|e| invalid(format!("stock out of range ({})", e.0)))?;
    let record = state.ledger.invoices.entry(invoice_no.to_owned()).or_default();
    let store = if invoice.is_void {
        record.voided = true;
        record.taken = false;
        true
    } else {
        record.taken = !record.voided;
        record.sale = Some(invoice.items);
        // A voided invoice keeps its void as the stored version.
        !record.voided
    };
    if store {
        state.store_document(VENDOR, DocKind::Sale, invoice_no, Value::Object(fields));
    }
    Ok(if invoice.is_void {
        format!("{invoice_no}{VOID_SUFFIX}")
    } else {
        invoice_no.to_owned()
    })
}

/// RFC 3339: `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM`; a real
/// date and time.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() < 20 {
        return false;
    }
    let shape_ok = b.iter().take(19).enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b'T' || *c == b't',
        13 | 16 => *c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return false;
    }
    let number = |range: std::ops::Range<usize>| s.get(range).and_then(|t| t.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        number(0..4),
        number(5..7),
        number(8..10),
        number(11..13),
        number(14..16),
        number(17..19),
    ) else {
        return false;
    };
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if year == 0 || day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    if rest == "Z" || rest == "z" {
        return true;
    }
    let o = rest.as_bytes();
    o.len() == 6
        && (o[0] == b'+' || o[0] == b'-')
        && o[3] == b':'
        && [1, 2, 4, 5].iter().all(|i| o[*i].is_ascii_digit())
        && number_at(rest, 1..3).is_some_and(|h| h <= 23)
        && number_at(rest, 4..6).is_some_and(|m| m <= 59)
}

fn number_at(s: &str, range: std::ops::Range<usize>) -> Option<u32> {
    s.get(range).and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use posbridge_sandbox::{Catalogue, SharedState};

    fn settings() -> Settings {
        Settings::resolve(&ImitationConfig::default()).unwrap()
    }

    /// A fresh shared state and ledger, to lock.
    struct Fresh(Mutex<SharedState>, Mutex<Ledger>);

    impl Fresh {
        fn lock(&self) -> SandboxState<'_> {
            Locked::new(self.0.lock().unwrap(), self.1.lock().unwrap())
        }
    }

    fn state() -> Fresh {
        Fresh(
            Mutex::new(SharedState::new(Catalogue::sample(), 42, Vec::new())),
            Mutex::new(Ledger::new(42)),
        )
    }

    fn invoice(no: &str, is_void: bool, items: Value) -> Map<String, Value> {
        match json!({
            "invoice_no": no, "timestamp": "2026-11-26T10:15:00+08:00", "branch_code": "KL01",
            "username": "sandbox-pos", "is_void": is_void, "items": items
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn stock(s: &SandboxState<'_>, code: &str) -> Decimal {
        s.product(code).map(|p| p.stock).unwrap_or_default()
    }

    #[test]
    fn settings_refuse_what_cannot_work() {
        assert!(Settings::resolve(&ImitationConfig::default()).is_ok());
        for broken in [
            ImitationConfig {
                username: " ".into(),
                ..ImitationConfig::default()
            },
            ImitationConfig {
                password: String::new(),
                ..ImitationConfig::default()
            },
            ImitationConfig {
                branches: Vec::new(),
                ..ImitationConfig::default()
            },
            ImitationConfig {
                branches: vec!["KL01".into(), String::new()],
                ..ImitationConfig::default()
            },
            ImitationConfig {
                token_lifetime_secs: 0,
                ..ImitationConfig::default()
            },
        ] {
            assert!(Settings::resolve(&broken).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn timestamps() {
        for ok in [
            "2026-11-26T10:15:00+08:00",
            "2024-02-29T23:59:59Z",
            "2026-11-26t10:15:00.250-05:30",
            "2026-12-31T00:00:00z",
        ] {
            assert!(is_timestamp(ok), "{ok}");
        }
        for bad in [
            "2026-11-26T10:15:00",
            "2026-11-26 10:15:00+08:00",
            "2026-11-26T10:15+08:00",
            "2023-02-29T10:00:00Z",
            "2026-13-01T10:00:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T10:15:00.+08:00",
            "2026-11-26T10:15:00+0800",
            "2026-11-26T10:15:00+24:00",
            "0000-01-01T00:00:00Z",
            "２０２６-11-26T10:15:00Z",
            "",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }

    #[test]
    fn tokens_rotate_once_and_expire() {
        let mut l = Ledger::new(1);
        let now = Instant::now();
        let lifetime = Duration::from_secs(10);
        let (a1, r1) = l.issue(lifetime, now);
        let (a2, _) = l.issue(lifetime, now);
        assert_ne!(a1, a2, "unique per issue");
        assert!(l.valid(&a1, now));
        assert!(!l.valid(&a1, now + lifetime), "expired at its lifetime");
        assert!(l.rotate(&a2, &r1, lifetime, now).is_none(), "a mismatched pair");
        let (a3, r3) = l.rotate(&a1, &r1, lifetime, now + lifetime).unwrap();
        assert!(!l.valid(&a1, now), "the old access token is revoked");
        assert!(
            l.rotate(&a1, &r1, lifetime, now).is_none(),
            "a refresh token works once"
        );
        assert!(l.valid(&a3, now + lifetime));
        l.expire_access_tokens(now + lifetime);
        assert!(!l.valid(&a3, now + lifetime) && !l.valid(&a2, now + lifetime));
        assert!(
            l.rotate(&a3, &r3, lifetime, now).is_some(),
            "an expired access token refreshes"
        );
        l.revoke_tokens();
        assert!(l.sessions.is_empty() && l.refresh.is_empty());
        // Tokens are not reissued after a reset.
        let mut again = Ledger::new(1);
        let (b1, _) = again.issue(lifetime, now);
        assert_eq!(b1, a1, "the same seed gives the same tokens");
        again.reset();
        assert_ne!(again.issue(lifetime, now).0, a1);
    }

    #[test]
    fn invoice_rules_in_order() {
        let s = settings();
        let fresh = state();
        let mut st = fresh.lock();
        let items = json!([{"item_code": "NOPE", "quantity": 0}]);
        let mut i = invoice("A", false, items);
        i.insert("branch_code".into(), json!("XX"));
        // The quantity (33) before the branch (32) before the item (31).
        assert_eq!(sync_one(&mut st, &s, "A", i.clone()).unwrap_err().code, "33");
        i.insert("items".into(), json!([{"item_code": "NOPE", "quantity": "1.5"}]));
        assert_eq!(
            sync_one(&mut st, &s, "A", i.clone()).unwrap_err(),
            Failure {
                code: "32",
                message: "Branch code XX not found".into()
            }
        );
        i.insert("branch_code".into(), json!("KL01"));
        assert_eq!(
            sync_one(&mut st, &s, "A", i.clone()).unwrap_err().message,
            "Item code NOPE not found"
        );
        for (field, value, message) in [
            ("timestamp", json!("2026-11-26"), "timestamp must be"),
            (
                "username",
                json!("someone"),
                "username someone is not the logged-in user",
            ),
            ("is_void", json!("maybe"), "is_void must be true or false"),
            ("items", json!([]), "items must not be empty"),
            ("items", json!([{"quantity": 1}]), "items[0].item_code is required"),
            (
                "items",
                json!([{"item_code": "MUG-1", "quantity": "x"}]),
                "items[0].quantity must be a number",
            ),
        ] {
            let mut bad = invoice("A", false, json!([{"item_code": "MUG-1", "quantity": 1}]));
            bad.insert(field.into(), value);
            let f = sync_one(&mut st, &s, "A", bad).unwrap_err();
            assert_eq!(f.code, "33");
            assert!(
                f.message.starts_with("Invalid invoice: ") && f.message.contains(message),
                "{}",
                f.message
            );
        }
        assert_eq!(st.snapshot(), state().lock().snapshot());
    }

    #[test]
    fn sales_and_voids_move_stock_once() {
        let s = settings();
        let fresh = state();
        let mut st = fresh.lock();
        let items = json!([{"item_code": "TEA-100", "quantity": 2}, {"item_code": "TEA-100", "quantity": "0.5"}]);
        assert_eq!(
            sync_one(&mut st, &s, "A", invoice("A", false, items.clone())),
            Ok("A".into())
        );
        assert_eq!(stock(&st, "TEA-100"), Decimal::new(1155, 1));
        assert_eq!(
            sync_one(&mut st, &s, "A", invoice("A", false, items.clone()))
                .unwrap_err()
                .code,
            "30"
        );
        // The void's items do not matter: the sale's quantities come back.
        let other = json!([{"item_code": "MUG-1", "quantity": 1}]);
        assert_eq!(
            sync_one(&mut st, &s, "A", invoice("A", true, other.clone())),
            Ok("A#void".into())
        );
        assert_eq!(stock(&st, "TEA-100"), Decimal::from(118));
        assert_eq!(stock(&st, "MUG-1"), Decimal::from(23));
        assert_eq!(
            sync_one(&mut st, &s, "A", invoice("A", true, other)).unwrap_err().code,
            "30"
        );
        assert_eq!(st.snapshot().documents["codemax"].sales["A"]["is_void"], json!(true));

        // A void of a number never synced is refused and moves nothing; the sale
        // can still come, and then its void (with no items) gives it back once.
        let mug = json!([{"item_code": "MUG-1", "quantity": 3}]);
        let before = st.snapshot();
        assert_eq!(
            sync_one(&mut st, &s, "B", invoice("B", true, json!([]))).unwrap_err(),
            Failure {
                code: "34",
                message: "Invoice number B not found".into()
            }
        );
        assert_eq!(st.snapshot(), before);
        assert!(sync_one(&mut st, &s, "B", invoice("B", false, mug)).is_ok());
        assert_eq!(stock(&st, "MUG-1"), Decimal::from(20));
        assert_eq!(
            sync_one(&mut st, &s, "B", invoice("B", true, json!([]))),
            Ok("B#void".into())
        );
        assert_eq!(stock(&st, "MUG-1"), Decimal::from(23));
        assert_eq!(
            sync_one(&mut st, &s, "B", invoice("B", true, json!([])))
                .unwrap_err()
                .code,
            "30"
        );
        assert_eq!(stock(&st, "MUG-1"), Decimal::from(23));
        assert_eq!(st.snapshot().documents["codemax"].sales["B"]["is_void"], json!(true));
        // A sale still needs items.
        assert_eq!(
            sync_one(&mut st, &s, "C", invoice("C", false, json!([])))
                .unwrap_err()
                .code,
            "33"
        );
    }

    #[test]
    fn whole_request_checks() {
        let twenty_one: Vec<Value> = (0..21).map(|n| json!({"invoice_no": n})).collect();
        let body = json!({ "invoices": twenty_one }).to_string();
        let r = read_sync(body.as_bytes()).err().unwrap();
        assert_eq!((r.status, &r.body["code"]), (StatusCode::BAD_REQUEST, &json!("20")));
        for (body, message) in [
            ("[]", "Malformed request: the body must be a JSON object"),
            ("{", "Malformed request: the body is not valid JSON"),
            ("{}", "Malformed request: invoices is required"),
            (r#"{"invoices": {}}"#, "Malformed request: invoices must be a list"),
            (r#"{"invoices": []}"#, "Malformed request: invoices must not be empty"),
            (
                r#"{"invoices": [1]}"#,
                "Malformed request: invoices[0] must be an object",
            ),
            (
                r#"{"invoices": [{"invoice_no": " "}]}"#,
                "Malformed request: invoices[0].invoice_no is required",
            ),
        ] {
            let r = read_sync(body.as_bytes()).err().unwrap();
            assert_eq!(r.body["code"], "21", "{body}");
            assert!(
                r.body["message"].as_str().unwrap().starts_with(message),
                "{body}: {}",
                r.body
            );
        }
        assert_eq!(
            read_sync(br#"{"invoices": [{"invoice_no": 7}]}"#).ok().unwrap()[0].invoice_no,
            "7"
        );
        assert_eq!(
            reference_of(
                "/api/v1/sync",
                br#"{"invoices": [{"invoice_no": "A"}, {"invoice_no": "B"}]}"#
            ),
            Some("A".into())
        );
        assert_eq!(
            reference_of("api/v1/auth/login", br#"{"invoices": [{"invoice_no": "A"}]}"#),
            None
        );
    }

    #[test]
    fn bearer_and_fault_bodies() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "bearer  acc-1 ".parse().unwrap());
        assert_eq!(bearer(&h), Some("acc-1"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert_eq!(fault_body(StatusCode::TOO_MANY_REQUESTS).unwrap()["code"], "29");
        assert_eq!(
            fault_body(StatusCode::BAD_GATEWAY).unwrap()["message"],
            "Internal server error"
        );
        assert_eq!(
            fault_body(StatusCode::SERVICE_UNAVAILABLE).unwrap()["message"],
            "Service unavailable"
        );
        assert_eq!(fault_body(StatusCode::CONFLICT), None);
    }
}
