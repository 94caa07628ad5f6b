//! A durable outbox for posbridge: every sale delivered to every vendor despite
//! faults and crashes.
//!
//! Returns, voids and later payments ride it too ([`Document`],
//! [`Outbox::enqueue_document`]): each is delivered at a target only after the sale it
//! refers to was delivered there, in enqueue order, with the sale's vendor id filled
//! in; behind a dead or uncertain sale it waits [`DeliveryState::Blocked`] until the
//! sale is settled or an operator [releases](Outbox::release) it.
//!
//! A POS records each closed sale here (one *delivery* per target vendor) and goes on
//! selling; workers deliver the queue through the vendors' connectors with back-off,
//! honour rate limits, put permanent rejections in `dead` with the vendor's reason, and
//! report a write the vendor may have applied as `uncertain` instead of re-sending it
//! blindly. Nothing is lost when a worker is killed: its claims are leases that return
//! to the queue when they end.
//!
//! Storage is [sqlx]: **SQLite** (a file, WAL) embedded by default, **PostgreSQL** to
//! let many worker processes on many machines share one queue (`FOR UPDATE SKIP
//! LOCKED`). Both run the same statements; migrations are embedded and run on open.
//! Money is stored exactly: the sale is kept as JSON whose amounts are decimal strings.
//!
//! Every change of a delivery's state is recorded, by the database in the same
//! statement, as a [`DeliveryEvent`] ([`Outbox::events`], [`Outbox::events_after`]);
//! [`Outbox::query`], [`Outbox::status_of`], [`Outbox::outcomes_by_hour`] and
//! [`Outbox::ping`] serve an operator console and readiness checks.
//!
//! The states, the delivery guarantee each vendor gets and how to run workers on
//! several machines are in `docs/outbox.md`.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use posbridge_outbox::{Outbox, OutboxConfig, RunOptions, Target};
//! # async fn example(sale: posbridge_core::Sale, easpro: Arc<dyn posbridge_core::Connector>)
//! #     -> Result<(), posbridge_outbox::OutboxError> {
//! let outbox = Outbox::open("sqlite://outbox.db", OutboxConfig::default())
//!     .await?
//!     .with_target(Target::new("easpro"), easpro);
//!
//! // At the till: record the sale once; delivery happens in the background.
//! outbox.enqueue(&sale, &[Target::new("easpro")]).await?;
//!
//! // In a worker: deliver until told to stop (here: for a minute).
//! let stop = tokio::time::sleep(std::time::Duration::from_secs(60));
//! let report = outbox.run(RunOptions::default(), stop).await?;
//! println!("{} delivered", report.delivered);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use posbridge_core::{Connector, Decimal, DuplicatePolicy, Operation, Return, Sale, SalePayment, SaleRef, Void};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

mod store;
mod worker;

use store::{DeliveryRow, EventRow, QueryArgs, Store};
pub use worker::{RunOptions, RunReport};

mod sealed {
    /// Seals [`super::OutboxConnection`].
    pub trait Sealed {}
    impl Sealed for sqlx::SqliteConnection {}
    impl Sealed for sqlx::PgConnection {}
}

/// A connection [`Outbox::enqueue_in`] can write through: `SqliteConnection` or
/// `PgConnection` (what `&mut *transaction` gives). Sealed.
pub trait OutboxConnection: sealed::Sealed + Send + 'static {}
impl OutboxConnection for sqlx::SqliteConnection {}
impl OutboxConnection for sqlx::PgConnection {}

/// The tenant of a target named without one.
pub const DEFAULT_TENANT: &str = "default";

/// Where a sale goes: one merchant's (tenant's) account at one vendor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The merchant, as the CLI's config names it (`default` when there is one).
    pub tenant: String,
    /// The vendor's short name, as [`posbridge_core::Vendor::vendor`] returns it.
    pub vendor: String,
}

impl Target {
    /// The default tenant's account at `vendor`.
    pub fn new(vendor: impl Into<String>) -> Self {
        Self::for_tenant(DEFAULT_TENANT, vendor)
    }

    /// `tenant`'s account at `vendor`.
    pub fn for_tenant(tenant: impl Into<String>, vendor: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            vendor: vendor.into(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.tenant == DEFAULT_TENANT {
            f.write_str(&self.vendor)
        } else {
            write!(f, "{}/{}", self.tenant, self.vendor)
        }
    }
}

impl FromStr for Target {
    type Err = OutboxError;

    /// Parses `vendor` or `tenant/vendor`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || OutboxError::Config(format!("target `{s}` is not `vendor` or `tenant/vendor`"));
        match s.split_once('/') {
            None if !s.is_empty() => Ok(Self::new(s)),
            Some((t, v)) if !t.is_empty() && !v.is_empty() && !v.contains('/') => Ok(Self::for_tenant(t, v)),
            _ => Err(bad()),
        }
    }
}

/// Where a delivery is in its life. See `docs/outbox.md` for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued, never tried.
    Pending,
    /// Claimed by a worker, under a lease.
    Delivering,
    /// Failed in a way that may pass (5xx, timeout, 429, an expired token); due again later.
    Retrying,
    /// The vendor has it.
    Delivered,
    /// Refused for good (the vendor's reason is kept), or given up after too many attempts.
    Dead,
    /// The vendor may have it and re-sending could book it twice: an operator decides.
    Uncertain,
    /// A return, void or payment whose sale is dead or uncertain at the same target (or
    /// behind an earlier one of the same sale that is blocked or uncertain): it waits,
    /// `last_error` says for what, until the sale is settled or an operator releases it.
    Blocked,
    /// The target does not offer this kind of document (a return to a vendor without
    /// returns): recorded, never sent, not retried.
    NotOffered,
}

impl DeliveryState {
    /// Every state, in life order.
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Delivering,
        Self::Retrying,
        Self::Delivered,
        Self::Dead,
        Self::Uncertain,
        Self::Blocked,
        Self::NotOffered,
    ];

    /// The state's name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Retrying => "retrying",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
            Self::Uncertain => "uncertain",
            Self::Blocked => "blocked",
            Self::NotOffered => "not_offered",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = OutboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| OutboxError::Corrupt(format!("unknown delivery state `{s}`")))
    }
}

/// What kind of document a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A [`Sale`].
    Sale,
    /// A [`Return`] of a sale's goods.
    Return,
    /// A [`Void`] of a sale.
    Void,
    /// A [`SalePayment`]: a payment made after the sale.
    Payment,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Sale, Self::Return, Self::Void, Self::Payment];

    /// The kind's name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Return => "return",
            Self::Void => "void",
            Self::Payment => "payment",
        }
    }

    /// The connector operation that delivers it (whose duplicate policy classifies
    /// its outcomes).
    pub fn operation(self) -> Operation {
        match self {
            Self::Sale => Operation::PushSale,
            Self::Return => Operation::PushReturn,
            Self::Void => Operation::VoidSale,
            Self::Payment => Operation::AddPayment,
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocumentKind {
    type Err = OutboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| OutboxError::Corrupt(format!("unknown document kind `{s}`")))
    }
}

/// A document the outbox delivers: a sale, or what happens to it afterwards.
///
/// As JSON (what `posbridge outbox enqueue` reads): `{"kind": "return", "document":
/// {…the Return…}}`; the kinds are `sale`, `return`, `void` and `payment`.
///
/// A return, void or payment is a *dependent* of the sale its [`SaleRef`] names by POS
/// reference: at each target it is delivered only after that sale's delivery there
/// is delivered (see `docs/outbox.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "document", rename_all = "snake_case")]
pub enum Document {
    /// A sale.
    Sale(Sale),
    /// A return of some or all of a sale's goods.
    Return(Return),
    /// A void of a sale.
    Void(Void),
    /// A payment made after the sale.
    Payment(SalePayment),
}

impl Document {
    /// Its kind.
    pub fn kind(&self) -> DocumentKind {
        match self {
            Self::Sale(_) => DocumentKind::Sale,
            Self::Return(_) => DocumentKind::Return,
            Self::Void(_) => DocumentKind::Void,
            Self::Payment(_) => DocumentKind::Payment,
        }
    }

    /// The sale a dependent refers to (`None` for a sale).
    pub fn sale(&self) -> Option<&SaleRef> {
        match self {
            Self::Sale(_) => None,
            Self::Return(r) => Some(&r.sale),
            Self::Void(v) => Some(&v.sale),
            Self::Payment(p) => Some(&p.sale),
        }
    }

    fn sale_mut(&mut self) -> Option<&mut SaleRef> {
        match self {
            Self::Sale(_) => None,
            Self::Return(r) => Some(&mut r.sale),
            Self::Void(v) => Some(&mut v.sale),
            Self::Payment(p) => Some(&mut p.sale),
        }
    }

    /// The POS reference of the sale a dependent waits for (`None` for a sale, and for
    /// a dependent naming its sale only by vendor id).
    pub fn sale_reference(&self) -> Option<&str> {
        self.sale().and_then(SaleRef::reference)
    }

    /// The delivery's reference, unique per target: a sale's own reference;
    /// `return:` and the return's reference; `void:` and the sale's POS reference (or
    /// `void:vendor-id:` and its vendor id); `payment:` and the payment's reference.
    ///
    /// Checks the document first: a payment without a reference has no key (the outbox
    /// needs one to deliver it once).
    pub fn key(&self) -> Result<String, OutboxError> {
        let invalid = |source| OutboxError::Invalid {
            reference: self.describe(),
            source,
        };
        match self {
            Self::Sale(s) => Ok(s.reference.clone()),
            Self::Return(r) => Ok(format!("return:{}", r.reference.trim())),
            Self::Void(v) => match (v.sale.reference(), v.sale.vendor_id()) {
                (Some(r), _) => Ok(format!("void:{r}")),
                (None, Some(id)) => Ok(format!("void:vendor-id:{id}")),
                (None, None) => {
                    Err(invalid(v.check().err().unwrap_or_else(|| {
                        posbridge_core::Error::invalid("sale", "names no sale")
                    })))
                }
            },
            Self::Payment(p) => p
                .require_reference("the outbox")
                .map(|r| format!("payment:{r}"))
                .map_err(invalid),
        }
    }

    /// Checks the document as a connector would before sending it: a sale or return
    /// reconciles, a void and a payment name a sale.
    pub fn check(&self) -> Result<(), OutboxError> {
        let checked = match self {
            Self::Sale(s) => s.reconcile().map(|_| ()),
            Self::Return(r) => r.reconcile().map(|_| ()),
            Self::Void(v) => v.check(),
            Self::Payment(p) => p.check(),
        };
        checked.map_err(|source| OutboxError::Invalid {
            reference: self.describe(),
            source,
        })?;
        self.key().map(|_| ())
    }

    /// How errors name the document.
    fn describe(&self) -> String {
        match self {
            Self::Sale(s) => s.reference.clone(),
            Self::Return(r) => format!("return {}", r.reference),
            Self::Void(v) => format!("void of {}", v.sale),
            Self::Payment(p) => format!(
                "payment {}to {}",
                p.payment
                    .reference
                    .as_deref()
                    .map(|r| format!("{r} "))
                    .unwrap_or_default(),
                p.sale
            ),
        }
    }

    /// The JSON stored for it: the inner document (a sale's row reads as before).
    fn payload(&self) -> Result<String, OutboxError> {
        let json = match self {
            Self::Sale(s) => serde_json::to_string(s),
            Self::Return(r) => serde_json::to_string(r),
            Self::Void(v) => serde_json::to_string(v),
            Self::Payment(p) => serde_json::to_string(p),
        };
        json.map_err(|e| OutboxError::Corrupt(e.to_string()))
    }

    /// Reads a stored payload of `kind`.
    pub(crate) fn from_stored(kind: DocumentKind, payload: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind {
            DocumentKind::Sale => Self::Sale(serde_json::from_str(payload)?),
            DocumentKind::Return => Self::Return(serde_json::from_str(payload)?),
            DocumentKind::Void => Self::Void(serde_json::from_str(payload)?),
            DocumentKind::Payment => Self::Payment(serde_json::from_str(payload)?),
        })
    }

    /// Fills in the sale's vendor id (from its push receipt) when the document lacks one.
    pub(crate) fn fill_vendor_id(&mut self, vendor_id: &str) {
        if let Some(sale) = self.sale_mut()
            && sale.vendor_id().is_none()
        {
            sale.vendor_id = Some(vendor_id.to_owned());
        }
    }
}

impl From<Sale> for Document {
    fn from(s: Sale) -> Self {
        Self::Sale(s)
    }
}

impl From<Return> for Document {
    fn from(r: Return) -> Self {
        Self::Return(r)
    }
}

impl From<Void> for Document {
    fn from(v: Void) -> Self {
        Self::Void(v)
    }
}

impl From<SalePayment> for Document {
    fn from(p: SalePayment) -> Self {
        Self::Payment(p)
    }
}

/// One document's delivery to one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The row's id, for `resolve` and `retry`.
    pub id: i64,
    /// Where it goes.
    pub target: Target,
    /// The delivery's reference: the sale's POS reference, or for a dependent its key
    /// ([`Document::key`]: `return:R-1`, `void:S-1`, `payment:P-1`).
    pub reference: String,
    /// What it carries.
    pub kind: DocumentKind,
    /// For a return, void or payment: the POS reference of the sale it waits for.
    pub sale_reference: Option<String>,
    /// Where it is.
    pub state: DeliveryState,
    /// How many times a worker has taken it.
    pub attempts: u32,
    /// 1, plus one per update of an upsert vendor's sale.
    pub revision: u32,
    /// Whether an earlier attempt may have reached the vendor (so the next one is a re-send).
    pub resend: bool,
    /// When it is next due (for pending and retrying).
    pub next_attempt_at: Timestamp,
    /// The vendor's id for the record, once delivered (when the vendor returns one).
    pub vendor_id: Option<String>,
    /// What the vendor did: `created`, `updated`, `duplicate`, `accepted`.
    pub disposition: Option<String>,
    /// The worker that delivered it (or `operator`).
    pub delivered_by: Option<String>,
    /// The last error, with the vendor's reason for dead deliveries.
    pub last_error: Option<String>,
    /// The kind of the last error (`rejected`, `unavailable`, …).
    pub last_error_kind: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}

/// What an enqueue did for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enqueued {
    /// A new delivery.
    New,
    /// The same sale was already queued: nothing changed.
    Existing,
    /// The vendor upserts and the sale changed: queued again as an update.
    Updated,
}

/// A delivery and what the enqueue did to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnqueueResult {
    /// What the enqueue did.
    pub enqueued: Enqueued,
    /// The delivery as it now stands.
    pub delivery: Delivery,
}

/// One line of `status`: how many deliveries a target has in a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRow {
    /// The target.
    pub target: Target,
    /// The state.
    pub state: DeliveryState,
    /// How many.
    pub count: u64,
    /// The age of the oldest of them, measured from enqueue.
    pub oldest_age_ms: Option<u64>,
}

/// One change in a delivery's life: its enqueue, an outcome a worker recorded, the
/// sweep settling an orphaned claim, a block or unblock, an operator's retry, release
/// or resolve, an upsert vendor's sale queued again as an update.
///
/// Recorded by the database itself (triggers on the deliveries table) in the statement
/// that makes the change, so no change goes unrecorded and none is recorded that did
/// not commit. A worker's claim (into [`DeliveryState::Delivering`]) is not recorded:
/// the outcome that ends it has `from` `Delivering`. Events outlive a purge of their
/// delivery. See the "Events" section of `docs/outbox.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryEvent {
    /// The event's id, increasing in the order the events were written (a cursor for
    /// [`Outbox::events_after`]).
    pub id: i64,
    /// The delivery it happened to.
    pub delivery_id: i64,
    /// The delivery's target.
    pub target: Target,
    /// The delivery's reference ([`Delivery::reference`]).
    pub reference: String,
    /// What the delivery carries.
    pub kind: DocumentKind,
    /// The state before (`None` for the enqueue).
    pub from: Option<DeliveryState>,
    /// The state after. Equal to `from` only for an update of an upsert vendor's
    /// pending sale.
    pub to: DeliveryState,
    /// The delivery's attempts after the change (the attempt an outcome ends).
    pub attempt: u32,
    /// The kind of the delivery's last error after the change (`rejected`,
    /// `unavailable`, `uncertain`, `blocked`, …).
    pub error_kind: Option<String>,
    /// The delivery's last error after the change (the vendor's reason, why it is blocked).
    pub error: Option<String>,
    /// What the vendor did, once delivered: `created`, `updated`, `duplicate`, `accepted`.
    pub disposition: Option<String>,
    /// The vendor's id for the record, once it gave one.
    pub vendor_id: Option<String>,
    /// Who made the change, where the row tells: `enqueue`, a worker's id (an outcome,
    /// or a claim it gave back), `operator` (retry, release, resolve) or `sweep` (a
    /// worker's sweep: an orphaned claim settled, a dependent blocked or unblocked).
    pub actor: Option<String>,
    /// How long the request of the attempt this outcome ends took (`None` when nothing
    /// was sent, and for changes that end no attempt).
    pub duration_ms: Option<u64>,
    /// When it happened.
    pub at: Timestamp,
}

/// What [`Outbox::query`] lists: deliveries matching every filter given, by id
/// ascending, after a cursor.
///
/// As JSON every field may be left out (`{"tenant": "acme", "limit": 50}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryQuery {
    /// Only this tenant's deliveries.
    pub tenant: Option<String>,
    /// Only deliveries to this vendor.
    pub vendor: Option<String>,
    /// Only deliveries in this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries with this reference, or referring to the sale with this
    /// reference: a sale's reference finds its returns, voids and payments too.
    /// Matched exactly.
    pub reference: Option<String>,
    /// Only deliveries carrying this kind of document.
    pub kind: Option<DocumentKind>,
    /// Only deliveries enqueued at or after this time.
    pub since: Option<Timestamp>,
    /// Only deliveries enqueued before this time.
    pub until: Option<Timestamp>,
    /// The cursor: only deliveries with a greater id (the last id of the previous page).
    pub after: Option<i64>,
    /// At most this many; 0 means [`DEFAULT_LIMIT`].
    pub limit: u32,
}

/// How many rows a listing returns when its limit is 0.
pub const DEFAULT_LIMIT: u32 = 100;

/// How many deliveries of a target reached an outcome in one UTC hour (a bar of the
/// console's chart; see [`Outbox::outcomes_by_hour`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourlyOutcome {
    /// The target.
    pub target: Target,
    /// The start of the UTC hour.
    pub hour: Timestamp,
    /// The outcome: delivered, retrying, dead or uncertain.
    pub outcome: DeliveryState,
    /// How many changes into that state the hour saw (a delivery retried three times
    /// in the hour counts three).
    pub count: u64,
}

/// What an operator says about an uncertain delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The operator checked: the vendor has it.
    Delivered,
    /// The operator checked: the vendor does not have it; send it again.
    Resend,
}

/// Everything the outbox can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The sale failed local validation; nothing was queued.
    #[error("sale {reference} refused at enqueue: {source}")]
    Invalid {
        /// The sale's reference.
        reference: String,
        /// Why.
        #[source]
        source: posbridge_core::Error,
    },
    /// The target is not registered with this outbox.
    #[error("unknown target `{0}`: register its connector with Outbox::with_target")]
    UnknownTarget(Target),
    /// The target's connector cannot take sales.
    #[error("target `{0}` does not take sales")]
    NotSales(Target),
    /// A return gives back more of a product than its sale (held in the outbox) sold,
    /// less the returns already queued for it.
    #[error("{0}")]
    ReturnExceedsSale(Box<ReturnExcess>),
    /// The same reference was queued with different content, at a vendor that does not upsert.
    #[error(
        "{reference} is already queued for {target} with different content, and {target} does not \
         update what it has (duplicate policy {policy:?}); give the changed document a new reference"
    )]
    Conflict {
        /// The target.
        target: Target,
        /// The reference.
        reference: String,
        /// The target's duplicate policy.
        policy: DuplicatePolicy,
    },
    /// No delivery with that id.
    #[error("no delivery with id {0}")]
    NotFound(i64),
    /// The delivery is not in a state the action applies to.
    #[error("delivery {id} is {state}; {action} applies only to {expected} deliveries")]
    WrongState {
        /// The delivery.
        id: i64,
        /// Its state.
        state: DeliveryState,
        /// The action asked for.
        action: &'static str,
        /// The state it needs.
        expected: &'static str,
    },
    /// A caller's connection is not of the outbox's database kind.
    #[error("the outbox is on {outbox}, the connection given is {given}")]
    WrongDatabase {
        /// The outbox's database.
        outbox: &'static str,
        /// The connection's.
        given: &'static str,
    },
    /// Bad configuration (a database URL, a target name).
    #[error("outbox configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("outbox database: {0}")]
    Database(#[from] sqlx::Error),
    /// The embedded migrations failed.
    #[error("outbox migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row could not be read back (edited by hand?).
    #[error("outbox row unreadable: {0}")]
    Corrupt(String),
}

/// Why a return was refused at enqueue: one of its lines gives back more of a product
/// than the sale sold, less the returns already queued for that sale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "return {reference} refused at enqueue: at {line} it gives back {returned} of {product} in all, but sale \
     {sale} sold {sold} and the returns queued before took {earlier} (at most {left} left to return)",
    left = (*sold - *earlier).max(Decimal::ZERO)
)]
pub struct ReturnExcess {
    /// The return's reference.
    pub reference: String,
    /// The sale's POS reference.
    pub sale: String,
    /// The line, as `lines[i]`.
    pub line: String,
    /// Its product code.
    pub product: String,
    /// What the return gives back of the product, up to and including this line.
    pub returned: Decimal,
    /// What the sale sold of the product.
    pub sold: Decimal,
    /// What the returns queued before took of it.
    pub earlier: Decimal,
}

/// How the outbox retries, leases and polls.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// How long a claim lasts without renewal. A worker renews its leases every third
    /// of this; a killed worker's claims return to the queue this long after it died.
    pub lease: Duration,
    /// Attempts after which a delivery that keeps failing transiently goes to `dead`.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt, with full jitter in its upper half.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How often an idle worker looks for due work.
    pub poll_interval: Duration,
    /// Connections in the pool. Workers hold one only for each statement, so a few
    /// serve many deliveries in flight.
    pub max_connections: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            max_attempts: 25,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            poll_interval: Duration::from_millis(250),
            max_connections: 8,
        }
    }
}

/// Per-target protection for the vendor.
#[derive(Debug, Clone, Default)]
pub struct TargetOptions {
    /// At most this many requests in flight to this target from one process
    /// (default: the worker's concurrency).
    pub max_in_flight: Option<usize>,
    /// At most this many requests per second to this target from one process.
    pub requests_per_second: Option<u32>,
}

/// A registered target: its duplicate policy, and the connector and protection a
/// worker delivers with (none for a target registered only to enqueue).
#[derive(Clone)]
pub(crate) struct Registered {
    pub connector: Option<Arc<dyn Connector>>,
    pub policy: DuplicatePolicy,
    pub options: TargetOptions,
}

impl fmt::Debug for Registered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered")
            .field("vendor", &self.connector.as_ref().map(|c| c.vendor()))
            .field("policy", &self.policy)
            .field("options", &self.options)
            .finish()
    }
}

/// The database behind an outbox.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$c` bound to a pooled connection of whichever database.
macro_rules! with_conn {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite(pool) => {
                let mut guard = pool.acquire().await?;
                let $c = &mut *guard;
                $body
            }
            $crate::Db::Postgres(pool) => {
                let mut guard = pool.acquire().await?;
                let $c = &mut *guard;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

/// The outbox: a queue of deliveries in a database, and the connectors that deliver them.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub(crate) db: Db,
    pub(crate) config: OutboxConfig,
    pub(crate) targets: BTreeMap<Target, Registered>,
}

impl Outbox {
    /// Opens (creating if needed) the outbox at `url` and runs its migrations.
    ///
    /// `url` is `sqlite://PATH` (or `sqlite::memory:`, or a plain file path) or
    /// `postgres://…` / `postgresql://…`.
    pub async fn open(url: &str, config: OutboxConfig) -> Result<Self, OutboxError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| OutboxError::Config(e.to_string()))?;
            // No ping before each use: every statement is short and a dead connection
            // surfaces as an error the worker already handles.
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?;
            store::migrator(true).run(&pool).await?;
            Db::Postgres(pool)
        } else {
            let options = if url.starts_with("sqlite:") {
                SqliteConnectOptions::from_str(url).map_err(|e| OutboxError::Config(e.to_string()))?
            } else {
                SqliteConnectOptions::new().filename(url)
            };
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30));
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections.max(1))
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(60))
                .connect_with(options)
                .await?;
            store::migrator(false).run(&pool).await?;
            Db::Sqlite(pool)
        };
        Ok(Self {
            db,
            config,
            targets: BTreeMap::new(),
        })
    }

    /// Registers the connector that delivers to `target`, with default protection.
    pub fn with_target(self, target: Target, connector: Arc<dyn Connector>) -> Self {
        self.with_target_options(target, connector, TargetOptions::default())
    }

    /// Registers the connector that delivers to `target`, with a rate limit or
    /// concurrency cap.
    pub fn with_target_options(
        mut self,
        target: Target,
        connector: Arc<dyn Connector>,
        options: TargetOptions,
    ) -> Self {
        let policy = connector.capabilities().sale_duplicates;
        self.targets.insert(
            target,
            Registered {
                connector: Some(connector),
                policy,
                options,
            },
        );
        self
    }

    /// Registers `target` for enqueueing only, with the vendor's duplicate policy (what
    /// its connector's `capabilities().sale_duplicates` says): a till that only records
    /// sales needs no vendor credentials. Workers skip such targets.
    pub fn with_enqueue_target(mut self, target: Target, policy: DuplicatePolicy) -> Self {
        self.targets.insert(
            target,
            Registered {
                connector: None,
                policy,
                options: TargetOptions::default(),
            },
        );
        self
    }

    /// The registered targets.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.keys()
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// The pool, for callers that keep their own tables in the same SQLite database.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.db {
            Db::Sqlite(p) => Some(p),
            Db::Postgres(_) => None,
        }
    }

    /// The pool, for callers that keep their own tables in the same PostgreSQL database.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Postgres(p) => Some(p),
            Db::Sqlite(_) => None,
        }
    }

    /// Records one delivery of `sale` per target, atomically.
    ///
    /// The sale is checked first ([`Sale::reconcile`]): a sale that fails is refused
    /// here, not later. Enqueuing the same sale again is a no-op that returns the
    /// existing deliveries. The same reference with different content is refused
    /// ([`OutboxError::Conflict`]) unless every target it is already queued for
    /// upserts, in which case it is queued again as an update.
    pub async fn enqueue(&self, sale: &Sale, targets: &[Target]) -> Result<Vec<EnqueueResult>, OutboxError> {
        let plan = self.plan(sale, targets)?;
        match &self.db {
            Db::Sqlite(pool) => {
                // IMMEDIATE takes the write lock up front, so two processes enqueueing at
                // once wait for each other instead of failing on a stale read snapshot.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = enqueue_on(&mut *tx, &plan).await?;
                tx.commit().await?;
                Ok(out)
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let out = enqueue_on(&mut *tx, &plan).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// Like [`Outbox::enqueue`], inside the caller's own transaction (the
    /// transactional-outbox pattern): the deliveries commit or roll back with the
    /// caller's own writes. The connection must be to the database the outbox was
    /// opened on (which has run its migrations).
    ///
    /// ```no_run
    /// # async fn example(outbox: posbridge_outbox::Outbox, sale: posbridge_core::Sale)
    /// #     -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = outbox.sqlite_pool().expect("a SQLite outbox").clone();
    /// let mut tx = pool.begin().await?;
    /// sqlx::query("INSERT INTO my_sales (reference) VALUES ($1)").bind(&sale.reference).execute(&mut *tx).await?;
    /// outbox.enqueue_in(&mut *tx, &sale, &[posbridge_outbox::Target::new("easpro")]).await?;
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn enqueue_in<C: OutboxConnection>(
        &self,
        conn: &mut C,
        sale: &Sale,
        targets: &[Target],
    ) -> Result<Vec<EnqueueResult>, OutboxError> {
        self.enqueue_plan_in(conn, self.plan(sale, targets)).await
    }

    /// Enqueues a plan (or its refusal) through the caller's connection.
    async fn enqueue_plan_in<C: OutboxConnection>(
        &self,
        conn: &mut C,
        plan: Result<Plan, OutboxError>,
    ) -> Result<Vec<EnqueueResult>, OutboxError> {
        let any: &mut dyn std::any::Any = conn;
        let (given, outcome) = if let Some(c) = any.downcast_mut::<sqlx::SqliteConnection>() {
            ("sqlite", self.enqueue_checked(c, plan, "sqlite").await)
        } else if let Some(c) = any.downcast_mut::<sqlx::PgConnection>() {
            ("postgres", self.enqueue_checked(c, plan, "postgres").await)
        } else {
            ("another database", None)
        };
        outcome.unwrap_or(Err(OutboxError::WrongDatabase {
            outbox: self.backend(),
            given,
        }))
    }

    /// Enqueues through `conn` when it is of the outbox's kind; `None` when it is not.
    async fn enqueue_checked<C: Store>(
        &self,
        conn: &mut C,
        plan: Result<Plan, OutboxError>,
        kind: &str,
    ) -> Option<Result<Vec<EnqueueResult>, OutboxError>> {
        if kind != self.backend() {
            return None;
        }
        Some(match plan {
            Ok(plan) => enqueue_on(conn, &plan).await,
            Err(e) => Err(e),
        })
    }

    /// Checks the sale and the targets and serialises the sale once.
    fn plan(&self, sale: &Sale, targets: &[Target]) -> Result<Plan, OutboxError> {
        sale.reconcile().map_err(|source| OutboxError::Invalid {
            reference: sale.reference.clone(),
            source,
        })?;
        let mut resolved = Vec::with_capacity(targets.len());
        for target in targets {
            let registered = self
                .targets
                .get(target)
                .ok_or_else(|| OutboxError::UnknownTarget(target.clone()))?;
            if registered.connector.as_ref().is_some_and(|c| c.sales().is_none()) {
                return Err(OutboxError::NotSales(target.clone()));
            }
            if !resolved.iter().any(|(t, _): &(Target, DuplicatePolicy)| t == target) {
                resolved.push((target.clone(), registered.policy));
            }
        }
        let payload = serde_json::to_string(sale).map_err(|e| OutboxError::Corrupt(e.to_string()))?;
        Ok(Plan {
            reference: sale.reference.clone(),
            kind: DocumentKind::Sale,
            sale_reference: None,
            payload,
            ret: None,
            targets: resolved,
        })
    }

    /// Records one delivery of `document` per target, atomically: a sale like
    /// [`Outbox::enqueue`], or a return, void or payment, delivered at each target
    /// only after the sale it refers to (by POS reference) is delivered there.
    ///
    /// The document is checked first ([`Document::check`]). A return is also refused
    /// ([`OutboxError::ReturnExceedsSale`], naming the line) when, with the returns
    /// already queued for the same sale, it gives back more of a product than the sale
    /// sold — when the outbox holds that sale. A target without the ability (a vendor
    /// without returns) still takes the delivery: a worker records it `not_offered`.
    pub async fn enqueue_document(
        &self,
        document: &Document,
        targets: &[Target],
    ) -> Result<Vec<EnqueueResult>, OutboxError> {
        let plan = self.plan_document(document, targets)?;
        match &self.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = enqueue_on(&mut *tx, &plan).await?;
                tx.commit().await?;
                Ok(out)
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let out = enqueue_on(&mut *tx, &plan).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// Like [`Outbox::enqueue_document`], inside the caller's own transaction (see
    /// [`Outbox::enqueue_in`]).
    pub async fn enqueue_document_in<C: OutboxConnection>(
        &self,
        conn: &mut C,
        document: &Document,
        targets: &[Target],
    ) -> Result<Vec<EnqueueResult>, OutboxError> {
        self.enqueue_plan_in(conn, self.plan_document(document, targets)).await
    }

    /// Releases a blocked delivery on an operator's word: it is queued again, due
    /// now, and no longer waits for its sale (the operator knows the vendor holds the
    /// sale, or wants the document sent regardless). A delivery whose sale is later
    /// delivered, or queued again, is released by the worker without this.
    pub async fn release(&self, id: i64) -> Result<Delivery, OutboxError> {
        let now = now_ms();
        let changed = with_conn!(&self.db, c => c.release_blocked(id, now).await?);
        let after = self.get(id).await?;
        if changed == 0 {
            return Err(OutboxError::WrongState {
                id,
                state: after.state,
                action: "release",
                expected: "blocked",
            });
        }
        Ok(after)
    }

    /// Reads the document a delivery carries (with the sale's vendor id as stored:
    /// the worker fills it in only when it delivers).
    pub async fn document(&self, id: i64) -> Result<Document, OutboxError> {
        let d = self.get(id).await?;
        let payload = with_conn!(&self.db, c => c.payload(id).await?).ok_or(OutboxError::NotFound(id))?;
        Document::from_stored(d.kind, &payload)
            .map_err(|e| OutboxError::Corrupt(format!("delivery {id}: the stored {} cannot be read: {e}", d.kind)))
    }

    /// Checks a document and its targets and serialises it once.
    fn plan_document(&self, document: &Document, targets: &[Target]) -> Result<Plan, OutboxError> {
        if let Document::Sale(sale) = document {
            return self.plan(sale, targets);
        }
        document.check()?;
        let kind = document.kind();
        let mut resolved = Vec::with_capacity(targets.len());
        for target in targets {
            let registered = self
                .targets
                .get(target)
                .ok_or_else(|| OutboxError::UnknownTarget(target.clone()))?;
            let policy = registered.connector.as_ref().map_or(DuplicatePolicy::Unknown, |c| {
                c.capabilities().duplicates(kind.operation())
            });
            if !resolved.iter().any(|(t, _): &(Target, DuplicatePolicy)| t == target) {
                resolved.push((target.clone(), policy));
            }
        }
        Ok(Plan {
            reference: document.key()?,
            kind,
            sale_reference: document.sale_reference().map(str::to_owned),
            payload: document.payload()?,
            ret: match document {
                Document::Return(r) => Some(r.clone()),
                _ => None,
            },
            targets: resolved,
        })
    }

    /// Reads one delivery.
    pub async fn get(&self, id: i64) -> Result<Delivery, OutboxError> {
        let row = with_conn!(&self.db, c => c.get(id).await?);
        row.map(delivery_from_row).transpose()?.ok_or(OutboxError::NotFound(id))
    }

    /// Counts per target and state, with the age of the oldest of each.
    pub async fn status(&self) -> Result<Vec<StatusRow>, OutboxError> {
        self.status_of(None).await
    }

    /// Like [`Outbox::status`], of one tenant's targets only (`None`: every tenant).
    pub async fn status_of(&self, tenant: Option<&str>) -> Result<Vec<StatusRow>, OutboxError> {
        let rows = with_conn!(&self.db, c => c.status(tenant).await?);
        let now = now_ms();
        rows.into_iter()
            .map(|(tenant, vendor, state, count, oldest)| {
                Ok(StatusRow {
                    target: Target { tenant, vendor },
                    state: state.parse()?,
                    count: u64::try_from(count).unwrap_or(0),
                    oldest_age_ms: oldest.map(|o| u64::try_from(now.saturating_sub(o)).unwrap_or(0)),
                })
            })
            .collect()
    }

    /// Lists up to `limit` deliveries, optionally only those in `state`, oldest first.
    pub async fn list(&self, state: Option<DeliveryState>, limit: u32) -> Result<Vec<Delivery>, OutboxError> {
        let state = state.map(DeliveryState::as_str);
        let rows = with_conn!(&self.db, c => c.list(state, i64::from(limit)).await?);
        rows.into_iter().map(delivery_from_row).collect()
    }

    /// Lists the deliveries matching every filter of `q`, by id ascending, at most
    /// `q.limit` of them. Page by passing the last id returned as `q.after`.
    ///
    /// ```no_run
    /// # async fn example(outbox: posbridge_outbox::Outbox) -> Result<(), posbridge_outbox::OutboxError> {
    /// use posbridge_outbox::{DeliveryQuery, DeliveryState};
    /// let mut q = DeliveryQuery { tenant: Some("acme".into()), state: Some(DeliveryState::Dead), limit: 50, ..Default::default() };
    /// loop {
    ///     let page = outbox.query(&q).await?;
    ///     let Some(last) = page.last() else { break };
    ///     q.after = Some(last.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query(&self, q: &DeliveryQuery) -> Result<Vec<Delivery>, OutboxError> {
        let args = QueryArgs {
            tenant: q.tenant.as_deref(),
            vendor: q.vendor.as_deref(),
            state: q.state.map(DeliveryState::as_str),
            reference: q.reference.as_deref(),
            kind: q.kind.map(DocumentKind::as_str),
            since: q.since.map(Timestamp::as_millisecond),
            until: q.until.map(Timestamp::as_millisecond),
            after: q.after.unwrap_or(0),
            limit: limit_or_default(q.limit),
        };
        let rows = with_conn!(&self.db, c => c.query(&args).await?);
        rows.into_iter().map(delivery_from_row).collect()
    }

    /// A delivery's history, oldest first (empty for an id that never existed).
    pub async fn events(&self, delivery_id: i64) -> Result<Vec<DeliveryEvent>, OutboxError> {
        let rows = with_conn!(&self.db, c => c.events(delivery_id).await?);
        rows.into_iter().map(event_from_row).collect()
    }

    /// Up to `limit` events (0 means [`DEFAULT_LIMIT`]) with ids greater than
    /// `after_id`, of one tenant or all, by id ascending: what a webhook dispatcher
    /// reads, passing the last id it sent.
    ///
    /// On PostgreSQL an id is taken when its change is written but seen only once its
    /// transaction commits, so concurrent writers can commit a lower id just after a
    /// higher one was read; a dispatcher that must see every event reads events a
    /// moment old, or reads again from a little before its cursor and skips the ids it
    /// sent (see `docs/outbox.md`). SQLite has one writer at a time: ids commit in order.
    pub async fn events_after(
        &self,
        after_id: i64,
        tenant: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryEvent>, OutboxError> {
        let limit = limit_or_default(limit);
        let rows = with_conn!(&self.db, c => c.events_after(after_id, tenant, limit).await?);
        rows.into_iter().map(event_from_row).collect()
    }

    /// Counts, per target and UTC hour since `since` (of one tenant or all), the
    /// changes into delivered, retrying, dead and uncertain: the console's chart.
    /// Ordered by hour, then target, then outcome; hours without any are left out.
    pub async fn outcomes_by_hour(
        &self,
        since: Timestamp,
        tenant: Option<&str>,
    ) -> Result<Vec<HourlyOutcome>, OutboxError> {
        let since = since.as_millisecond();
        let rows = with_conn!(&self.db, c => c.outcomes_by_hour(since, tenant).await?);
        rows.into_iter()
            .map(|(tenant, vendor, hour, outcome, count)| {
                Ok(HourlyOutcome {
                    target: Target { tenant, vendor },
                    hour: ts(hour)?,
                    outcome: outcome.parse()?,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }

    /// When each target (of one tenant or all) last had a delivery delivered, among
    /// the deliveries still kept (see [`Outbox::purge_delivered_before`]).
    pub async fn last_delivered_at(&self, tenant: Option<&str>) -> Result<Vec<(Target, Timestamp)>, OutboxError> {
        let rows = with_conn!(&self.db, c => c.last_delivered(tenant).await?);
        rows.into_iter()
            .filter_map(|(tenant, vendor, at)| at.map(|at| (Target { tenant, vendor }, at)))
            .map(|(target, at)| Ok((target, ts(at)?)))
            .collect()
    }

    /// Checks that the database answers (a trivial query): a readiness probe.
    pub async fn ping(&self) -> Result<(), OutboxError> {
        with_conn!(&self.db, c => c.ping().await?);
        Ok(())
    }

    /// Whether every migration this build embeds is recorded as applied, successfully,
    /// in the database (false when another process opened it with an older build and
    /// this one has not run its migrations there, or a migration failed half-way).
    pub async fn migrations_current(&self) -> Result<bool, OutboxError> {
        let postgres = matches!(self.db, Db::Postgres(_));
        let applied = with_conn!(&self.db, c => c.applied_migrations().await?);
        Ok(store::migrator(postgres)
            .migrations
            .iter()
            .all(|m| applied.contains(&m.version)))
    }

    /// Queues dead deliveries (all, or the one with `id`) again, due now, with their
    /// attempts reset. Returns how many.
    pub async fn retry_dead(&self, id: Option<i64>) -> Result<u64, OutboxError> {
        if let Some(id) = id {
            let d = self.get(id).await?;
            if d.state != DeliveryState::Dead {
                return Err(OutboxError::WrongState {
                    id,
                    state: d.state,
                    action: "retry",
                    expected: "dead",
                });
            }
        }
        let now = now_ms();
        Ok(with_conn!(&self.db, c => c.requeue("dead", id, false, now).await?))
    }

    /// Settles an uncertain delivery on an operator's word.
    pub async fn resolve(&self, id: i64, resolution: Resolution) -> Result<Delivery, OutboxError> {
        let d = self.get(id).await?;
        if d.state != DeliveryState::Uncertain {
            return Err(OutboxError::WrongState {
                id,
                state: d.state,
                action: "resolve",
                expected: "uncertain",
            });
        }
        let now = now_ms();
        let changed = match resolution {
            Resolution::Delivered => with_conn!(&self.db, c => c.resolve_delivered(id, now).await?),
            Resolution::Resend => with_conn!(&self.db, c => c.requeue("uncertain", Some(id), true, now).await?),
        };
        let after = self.get(id).await?;
        if changed == 0 {
            return Err(OutboxError::WrongState {
                id,
                state: after.state,
                action: "resolve",
                expected: "uncertain",
            });
        }
        Ok(after)
    }

    /// Deletes delivered deliveries delivered before `before`. Returns how many.
    pub async fn purge_delivered_before(&self, before: Timestamp) -> Result<u64, OutboxError> {
        let before = before.as_millisecond();
        Ok(with_conn!(&self.db, c => c.purge_delivered(before).await?))
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// A checked enqueue: the delivery's reference, kind and JSON, the sale a dependent
/// waits for, a return to check against its sale, and each target's policy.
#[derive(Debug)]
struct Plan {
    reference: String,
    kind: DocumentKind,
    sale_reference: Option<String>,
    payload: String,
    ret: Option<Return>,
    targets: Vec<(Target, DuplicatePolicy)>,
}

/// Refuses a return that gives back more of a product than its sale (when the outbox
/// holds it at one of the return's targets) sold, less the returns already queued for
/// it at those targets (other than this one).
async fn check_return<C: Store>(
    conn: &mut C,
    ret: &Return,
    key: &str,
    targets: &[(Target, DuplicatePolicy)],
) -> Result<(), OutboxError> {
    let Some(sale_reference) = ret.sale.reference() else {
        return Ok(());
    };
    let mut payload = None;
    for (t, _) in targets {
        payload = conn.sale_payload(&t.tenant, &t.vendor, sale_reference).await?;
        if payload.is_some() {
            break;
        }
    }
    let Some(payload) = payload else {
        return Ok(());
    };
    let sale: Sale = serde_json::from_str(&payload)
        .map_err(|e| OutboxError::Corrupt(format!("the stored sale {sale_reference} cannot be read: {e}")))?;
    let mut sold: BTreeMap<&str, Decimal> = BTreeMap::new();
    for line in &sale.lines {
        *sold.entry(line.product_code.as_str()).or_default() += line.quantity;
    }
    // One row per target: count each earlier return once.
    let mut earlier_returns: BTreeMap<String, Return> = BTreeMap::new();
    for (t, _) in targets {
        for (reference, payload) in conn.returns_of(&t.tenant, &t.vendor, sale_reference).await? {
            if reference == key || earlier_returns.contains_key(&reference) {
                continue;
            }
            let r: Return = serde_json::from_str(&payload)
                .map_err(|e| OutboxError::Corrupt(format!("the stored {reference} cannot be read: {e}")))?;
            earlier_returns.insert(reference, r);
        }
    }
    let mut earlier: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in earlier_returns.values() {
        for (code, q) in r.quantities() {
            *earlier.entry(code.to_owned()).or_default() += q;
        }
    }
    let mut this: BTreeMap<&str, Decimal> = BTreeMap::new();
    for (i, line) in ret.lines.iter().enumerate() {
        let code = line.product_code.as_str();
        let returned = this.entry(code).or_default();
        *returned += line.quantity;
        let before = earlier.get(code).copied().unwrap_or_default();
        let had = sold.get(code).copied().unwrap_or_default();
        if *returned + before > had {
            return Err(OutboxError::ReturnExceedsSale(Box::new(ReturnExcess {
                reference: ret.reference.clone(),
                sale: sale_reference.to_owned(),
                line: format!("lines[{i}]"),
                product: code.to_owned(),
                returned: *returned,
                sold: had,
                earlier: before,
            })));
        }
    }
    Ok(())
}

/// The enqueue itself, on any connection (the caller's transaction or ours).
async fn enqueue_on<C: Store>(conn: &mut C, plan: &Plan) -> Result<Vec<EnqueueResult>, OutboxError> {
    let now = now_ms();
    if let Some(ret) = &plan.ret {
        check_return(conn, ret, &plan.reference, &plan.targets).await?;
    }
    let reference = plan.reference.as_str();
    // Check every target before writing anything, so a refusal leaves nothing behind
    // even in a caller's transaction that ignores the error.
    let mut existing = Vec::with_capacity(plan.targets.len());
    for (target, policy) in &plan.targets {
        let row = conn.existing(&target.tenant, &target.vendor, reference).await?;
        if let Some((_, payload, _)) = &row
            && payload != &plan.payload
            && *policy != DuplicatePolicy::Upsert
        {
            return Err(OutboxError::Conflict {
                target: target.clone(),
                reference: reference.to_owned(),
                policy: *policy,
            });
        }
        existing.push(row);
    }
    let mut out = Vec::with_capacity(plan.targets.len());
    for ((target, _), row) in plan.targets.iter().zip(existing) {
        let (id, enqueued) = match row {
            Some((id, payload, _)) if payload == plan.payload => (id, Enqueued::Existing),
            Some((id, _, _)) => {
                conn.update_payload(id, &plan.payload, now).await?;
                (id, Enqueued::Updated)
            }
            None => match conn
                .insert(
                    &target.tenant,
                    &target.vendor,
                    reference,
                    plan.kind.as_str(),
                    plan.sale_reference.as_deref(),
                    &plan.payload,
                    now,
                )
                .await?
            {
                Some(id) => (id, Enqueued::New),
                None => {
                    // Another process queued it between our read and our insert.
                    let (id, payload, _) = conn
                        .existing(&target.tenant, &target.vendor, reference)
                        .await?
                        .ok_or_else(|| OutboxError::Corrupt("a conflicting row vanished".into()))?;
                    if payload != plan.payload {
                        return Err(OutboxError::Conflict {
                            target: target.clone(),
                            reference: reference.to_owned(),
                            policy: DuplicatePolicy::Unknown,
                        });
                    }
                    (id, Enqueued::Existing)
                }
            },
        };
        let row = conn
            .get(id)
            .await?
            .ok_or_else(|| OutboxError::Corrupt(format!("delivery {id} vanished")))?;
        out.push(EnqueueResult {
            enqueued,
            delivery: delivery_from_row(row)?,
        });
    }
    Ok(out)
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn ts(ms: i64) -> Result<Timestamp, OutboxError> {
    Timestamp::from_millisecond(ms).map_err(|e| OutboxError::Corrupt(format!("timestamp {ms}: {e}")))
}

/// A listing's limit: `limit`, or [`DEFAULT_LIMIT`] for 0.
fn limit_or_default(limit: u32) -> i64 {
    i64::from(if limit == 0 { DEFAULT_LIMIT } else { limit })
}

fn event_from_row(row: EventRow) -> Result<DeliveryEvent, OutboxError> {
    Ok(DeliveryEvent {
        id: row.id,
        delivery_id: row.delivery_id,
        target: Target {
            tenant: row.tenant,
            vendor: row.vendor,
        },
        reference: row.reference,
        kind: row.kind.parse()?,
        from: row.from_state.map(|s| s.parse()).transpose()?,
        to: row.to_state.parse()?,
        attempt: u32::try_from(row.attempt).unwrap_or(u32::MAX),
        error_kind: row.error_kind,
        error: row.error,
        disposition: row.disposition,
        vendor_id: row.vendor_id,
        actor: row.actor,
        duration_ms: row.duration_ms.map(|d| u64::try_from(d).unwrap_or(0)),
        at: ts(row.at)?,
    })
}

fn delivery_from_row(row: DeliveryRow) -> Result<Delivery, OutboxError> {
    Ok(Delivery {
        id: row.id,
        target: Target {
            tenant: row.tenant,
            vendor: row.vendor,
        },
        reference: row.reference,
        kind: row.kind.parse()?,
        sale_reference: row.sale_reference,
        state: row.state.parse()?,
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        revision: u32::try_from(row.revision).unwrap_or(u32::MAX),
        resend: row.resend != 0,
        next_attempt_at: ts(row.next_attempt_at)?,
        vendor_id: row.vendor_id,
        disposition: row.disposition,
        delivered_by: row.delivered_by,
        last_error: row.last_error,
        last_error_kind: row.last_error_kind,
        created_at: ts(row.created_at)?,
        updated_at: ts(row.updated_at)?,
        delivered_at: row.delivered_at.map(ts).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print() {
        assert_eq!("easpro".parse::<Target>().ok(), Some(Target::new("easpro")));
        assert_eq!(
            "acme/codemax".parse::<Target>().ok(),
            Some(Target::for_tenant("acme", "codemax"))
        );
        for bad in ["", "/x", "x/", "a/b/c"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
        assert_eq!(Target::for_tenant("acme", "codemax").to_string(), "acme/codemax");
        assert_eq!(Target::new("easpro").to_string(), "easpro");
    }

    #[test]
    fn states_round_trip() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>().ok(), Some(s));
        }
        assert!("gone".parse::<DeliveryState>().is_err());
    }
}
