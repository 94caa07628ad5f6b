//! The SQL behind the outbox: one set of statements for SQLite and PostgreSQL.
//!
//! Every statement is written once, in the dialect both databases accept (`$1`
//! placeholders, `RETURNING`, `ON CONFLICT`), and compiled twice by [`impl_store!`],
//! once per connection type. The only difference is how rows are picked: PostgreSQL
//! locks them with `FOR UPDATE SKIP LOCKED`, so many workers on many machines never
//! pick the same row, and the lease renewal and the sweep never wait for a row an
//! outcome write holds (waiting let them deadlock with it); SQLite has one writer at a
//! time, so the same statements without the clause are already exclusive.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{PgConnection, SqlStr, SqliteConnection};

/// The columns a [`crate::Delivery`] is read from, in the order of [`DeliveryRow`].
macro_rules! delivery_columns {
    () => {
        "id, tenant, vendor, reference, state, attempts, revision, resend, next_attempt_at, vendor_id, \
         disposition, delivered_by, last_error, last_error_kind, created_at, updated_at, delivered_at, kind, sale_reference"
    };
}

/// A delivery row as the database returns it.
#[derive(Debug)]
pub(crate) struct DeliveryRow {
    pub id: i64,
    pub tenant: String,
    pub vendor: String,
    pub reference: String,
    pub state: String,
    pub attempts: i64,
    pub revision: i64,
    pub resend: i64,
    pub next_attempt_at: i64,
    pub vendor_id: Option<String>,
    pub disposition: Option<String>,
    pub delivered_by: Option<String>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
    pub kind: String,
    pub sale_reference: Option<String>,
}

/// The columns a [`crate::DeliveryEvent`] is read from, in the order of [`EventRow`].
macro_rules! event_columns {
    () => {
        "id, delivery_id, tenant, vendor, reference, kind, from_state, to_state, attempt, error_kind, error, \
         disposition, vendor_id, actor, duration_ms, at"
    };
}

/// An event row as the database returns it.
#[derive(Debug)]
pub(crate) struct EventRow {
    pub id: i64,
    pub delivery_id: i64,
    pub tenant: String,
    pub vendor: String,
    pub reference: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub attempt: i64,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub disposition: Option<String>,
    pub vendor_id: Option<String>,
    pub actor: Option<String>,
    pub duration_ms: Option<i64>,
    pub at: i64,
}

/// The filters of [`Store::query`], as bound: every value a parameter, `None` for
/// "any".
#[derive(Debug, Default)]
pub(crate) struct QueryArgs<'a> {
    pub tenant: Option<&'a str>,
    pub vendor: Option<&'a str>,
    pub state: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub after: i64,
    pub limit: i64,
}

/// One bar of the hourly outcome chart: tenant, vendor, hour (Unix ms), state, count.
pub(crate) type HourlyDbRow = (String, String, i64, String, i64);

/// A row a worker claimed: what it needs to deliver it and to record the outcome:
/// id, reference, payload, attempts, resend, kind and the referenced sale's reference.
pub(crate) type ClaimedRow = (i64, String, String, i64, i64, String, Option<String>);

/// A dependent delivery to block: its id, and the reference, state, last error and
/// kind of the delivery it waits for.
pub(crate) type BlockRow = (i64, String, String, Option<String>, String);

/// The existing row for a (tenant, vendor, reference), when enqueueing.
pub(crate) type ExistingRow = (i64, String, String);

/// What a worker writes when a delivery ends (or is rescheduled).
#[derive(Debug, Clone)]
pub(crate) struct Completion {
    pub state: &'static str,
    pub next_attempt_at: i64,
    pub resend: bool,
    pub vendor_id: Option<String>,
    pub disposition: Option<String>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub delivered_at: Option<i64>,
}

/// One outcome to record: the claim it ends (id and attempt), what to write, and how
/// long the attempt's request took (`None` when nothing was sent).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub id: i64,
    pub attempt: i64,
    pub reference: String,
    pub completion: Completion,
    pub duration_ms: Option<i64>,
}

/// The most outcomes [`Store::complete_many`] writes in one statement (11 parameters
/// each, well under SQLite's and PostgreSQL's limits).
pub(crate) const MAX_COMPLETIONS: usize = 64;

/// The parameters each outcome binds in [`complete_sql`].
const PER_COMPLETION: usize = 11;

/// The statement recording `n` outcomes: `$1` is the time, `$2` the owner, then eleven
/// parameters per outcome, joined to the rows as a `VALUES` list (whose columns both
/// databases name `column1`, `column2`, …). Built once per size, so the prepared
/// statement caches see at most [`MAX_COMPLETIONS`] texts.
fn complete_sql(n: usize) -> Arc<str> {
    static SQL: OnceLock<Vec<Arc<str>>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=MAX_COMPLETIONS)
            .map(|n| {
                let mut values = String::new();
                for i in 0..n {
                    let p = 3 + i * PER_COMPLETION;
                    if i > 0 {
                        values.push_str(", ");
                    }
                    values.push('(');
                    for k in 0..PER_COMPLETION {
                        if k > 0 {
                            values.push_str(", ");
                        }
                        values.push_str(&format!("${}", p + k));
                    }
                    values.push(')');
                }
                Arc::from(format!(
                    "UPDATE posbridge_outbox_deliveries SET state = v.column3, next_attempt_at = v.column4, \
                     resend = v.column5, vendor_id = COALESCE(v.column6, vendor_id), \
                     disposition = COALESCE(v.column7, disposition), last_error = v.column8, \
                     last_error_kind = v.column9, delivered_at = v.column10, last_attempt_ms = v.column11, \
                     delivered_by = CASE WHEN v.column3 = 'delivered' THEN lease_owner ELSE delivered_by END, \
                     lease_owner = NULL, lease_until = NULL, updated_at = $1 \
                     FROM (VALUES {values}) AS v \
                     WHERE posbridge_outbox_deliveries.id = v.column1 AND lease_owner = $2 \
                     AND attempts = v.column2 AND state = 'delivering' RETURNING id"
                ))
            })
            .collect()
    });
    all[n.clamp(1, MAX_COMPLETIONS) - 1].clone()
}

/// The most leases [`Store::extend_leases`] renews in one statement.
pub(crate) const MAX_RENEWALS: usize = 128;

/// The statement renewing the leases of `n` deliveries (`$1` the owner, `$2` the new
/// end, then one id each), with `lock` the backend's row-locking clause. `n` is rounded
/// up to a power of two (the caller repeats an id to fill the list), so the prepared
/// statement caches see a handful of texts. Built per renewal: it runs every third of a
/// lease, not per delivery.
fn renew_sql(n: usize, lock: &str) -> String {
    let ids: Vec<String> = (0..renew_slots(n)).map(|i| format!("${}", i + 3)).collect();
    format!(
        "UPDATE posbridge_outbox_deliveries SET lease_until = $2 WHERE id IN \
         (SELECT id FROM posbridge_outbox_deliveries WHERE lease_owner = $1 AND state = 'delivering' \
         AND id IN ({}){lock})",
        ids.join(", ")
    )
}

/// How many ids the renewal statement for `n` leases binds: `n` rounded up to a power
/// of two, at most [`MAX_RENEWALS`].
fn renew_slots(n: usize) -> usize {
    n.clamp(1, MAX_RENEWALS).next_power_of_two()
}

/// The counts behind `status`.
pub(crate) type StatusDbRow = (String, String, String, i64, Option<i64>);

/// The embedded migrations of one backend, recorded in their own table so they never
/// mix with the application's own sqlx migrations in a shared database.
pub(crate) fn migrator(postgres: bool) -> Migrator {
    let (deliveries, claim_index, documents, events) = if postgres {
        (
            include_str!("../migrations/postgres/0001_deliveries.sql"),
            include_str!("../migrations/postgres/0002_claim_index.sql"),
            include_str!("../migrations/postgres/0003_documents.sql"),
            include_str!("../migrations/postgres/0004_events.sql"),
        )
    } else {
        (
            include_str!("../migrations/sqlite/0001_deliveries.sql"),
            include_str!("../migrations/sqlite/0002_claim_index.sql"),
            include_str!("../migrations/sqlite/0003_documents.sql"),
            include_str!("../migrations/sqlite/0004_events.sql"),
        )
    };
    let migration = |version, name, sql| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            SqlStr::from_static(sql),
            false,
        )
    };
    Migrator {
        migrations: Cow::Owned(vec![
            migration(1, "deliveries", deliveries),
            migration(2, "claim index", claim_index),
            migration(3, "documents", documents),
            migration(4, "events", events),
        ]),
        table_name: Cow::Borrowed("posbridge_outbox_migrations"),
        ..Migrator::DEFAULT
    }
}

/// The statements the outbox runs, implemented for each connection type.
pub(crate) trait Store: Send {
    /// The rows already queued for a reference at a target.
    fn existing(
        &mut self,
        tenant: &str,
        vendor: &str,
        reference: &str,
    ) -> impl Future<Output = sqlx::Result<Option<ExistingRow>>> + Send;

    /// Inserts a new pending delivery of a document of `kind` (referring to the sale
    /// `sale_reference`, for a dependent); `None` when a concurrent enqueue won.
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        tenant: &str,
        vendor: &str,
        reference: &str,
        kind: &str,
        sale_reference: Option<&str>,
        payload: &str,
        now: i64,
    ) -> impl Future<Output = sqlx::Result<Option<i64>>> + Send;

    /// The stored sale with this POS reference at a target.
    fn sale_payload(
        &mut self,
        tenant: &str,
        vendor: &str,
        reference: &str,
    ) -> impl Future<Output = sqlx::Result<Option<String>>> + Send;

    /// The returns queued for the sale `sale_reference` at a target: reference and payload.
    fn returns_of(
        &mut self,
        tenant: &str,
        vendor: &str,
        sale_reference: &str,
    ) -> impl Future<Output = sqlx::Result<Vec<(String, String)>>> + Send;

    /// The vendor id the sale's delivery at a target recorded (`None` when there is no
    /// such delivery; `Some(None)` when it recorded none).
    fn sale_vendor_id(
        &mut self,
        tenant: &str,
        vendor: &str,
        sale_reference: &str,
    ) -> impl Future<Output = sqlx::Result<Option<Option<String>>>> + Send;

    /// A target's waiting dependents whose sale is dead or uncertain there, and those
    /// behind an earlier dependent of the same sale that is blocked or uncertain.
    fn to_block(&mut self, tenant: &str, vendor: &str) -> impl Future<Output = sqlx::Result<Vec<BlockRow>>> + Send;

    /// Blocks one waiting dependent with the reason.
    fn block(&mut self, id: i64, reason: &str, now: i64) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Queues again a target's blocked dependents whose cause has gone (the sale was
    /// delivered, or queued again, by an operator).
    fn unblock(&mut self, tenant: &str, vendor: &str, now: i64) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// An operator's release of a blocked delivery: pending, due now, no longer waiting
    /// for its sale.
    fn release_blocked(&mut self, id: i64, now: i64) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Replaces the payload of a delivery (an upsert vendor's update) and queues it again.
    fn update_payload(&mut self, id: i64, payload: &str, now: i64) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// The stored document of one delivery.
    fn payload(&mut self, id: i64) -> impl Future<Output = sqlx::Result<Option<String>>> + Send;

    /// Reads one delivery.
    fn get(&mut self, id: i64) -> impl Future<Output = sqlx::Result<Option<DeliveryRow>>> + Send;

    /// Claims up to `limit` due deliveries of a target for `owner` until `lease_until`.
    fn claim(
        &mut self,
        tenant: &str,
        vendor: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> impl Future<Output = sqlx::Result<Vec<ClaimedRow>>> + Send;

    /// Moves a target's deliveries of `kind` whose lease ran out to `state`, skipping
    /// (on PostgreSQL) rows another statement has locked: an outcome being written.
    #[allow(clippy::too_many_arguments)]
    fn sweep_expired(
        &mut self,
        tenant: &str,
        vendor: &str,
        kind: &str,
        state: &str,
        now: i64,
        reason: &str,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Extends the leases of the deliveries `ids` that `owner` still holds, skipping (on
    /// PostgreSQL) any row another statement has locked — an outcome write of the same
    /// worker, which settles it — instead of waiting for it.
    fn extend_leases(
        &mut self,
        owner: &str,
        ids: &[i64],
        lease_until: i64,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Records outcomes, [`MAX_COMPLETIONS`] per statement, each fenced by
    /// owner and attempt so a stale worker writes nothing. Returns the ids written.
    fn complete_many(
        &mut self,
        owner: &str,
        outcomes: &[Outcome],
        now: i64,
    ) -> impl Future<Output = sqlx::Result<Vec<i64>>> + Send;

    /// Gives a claim back untouched (shutdown before anything was sent).
    fn release(
        &mut self,
        id: i64,
        owner: &str,
        attempt: i64,
        now: i64,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Counts per target and state, with the oldest creation time, of one tenant or all.
    fn status(&mut self, tenant: Option<&str>) -> impl Future<Output = sqlx::Result<Vec<StatusDbRow>>> + Send;

    /// Lists deliveries matching every filter given, by id, after a cursor.
    fn query(&mut self, q: &QueryArgs<'_>) -> impl Future<Output = sqlx::Result<Vec<DeliveryRow>>> + Send;

    /// One delivery's events, oldest first.
    fn events(&mut self, delivery_id: i64) -> impl Future<Output = sqlx::Result<Vec<EventRow>>> + Send;

    /// Up to `limit` events with ids above `after` (of one tenant or all), by id.
    fn events_after(
        &mut self,
        after: i64,
        tenant: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = sqlx::Result<Vec<EventRow>>> + Send;

    /// Counts the outcome events (into delivered, retrying, dead, uncertain) since a
    /// time, per target, UTC hour and state.
    fn outcomes_by_hour(
        &mut self,
        since: i64,
        tenant: Option<&str>,
    ) -> impl Future<Output = sqlx::Result<Vec<HourlyDbRow>>> + Send;

    /// The latest delivery time per target (of one tenant or all).
    fn last_delivered(
        &mut self,
        tenant: Option<&str>,
    ) -> impl Future<Output = sqlx::Result<Vec<(String, String, Option<i64>)>>> + Send;

    /// A trivial statement: the database answers.
    fn ping(&mut self) -> impl Future<Output = sqlx::Result<()>> + Send;

    /// The versions of the outbox's migrations recorded as applied successfully.
    fn applied_migrations(&mut self) -> impl Future<Output = sqlx::Result<Vec<i64>>> + Send;

    /// Lists deliveries, optionally in one state, oldest first.
    fn list(&mut self, state: Option<&str>, limit: i64) -> impl Future<Output = sqlx::Result<Vec<DeliveryRow>>> + Send;

    /// Counts a target's deliveries still to be worked on (pending, retrying, delivering).
    fn open_count(&mut self, tenant: &str, vendor: &str) -> impl Future<Output = sqlx::Result<i64>> + Send;

    /// Queues deliveries in `from_state` (optionally one id) again, due now.
    fn requeue(
        &mut self,
        from_state: &str,
        id: Option<i64>,
        resend: bool,
        now: i64,
    ) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Marks an uncertain delivery delivered on an operator's word.
    fn resolve_delivered(&mut self, id: i64, now: i64) -> impl Future<Output = sqlx::Result<u64>> + Send;

    /// Deletes delivered rows delivered before `before`.
    fn purge_delivered(&mut self, before: i64) -> impl Future<Output = sqlx::Result<u64>> + Send;
}

/// Implements [`Store`] for a connection type; `$lock` is the clause that
/// locks claimed rows (empty for SQLite).
macro_rules! impl_store {
    ($conn:ty, $row:ty, $lock:literal) => {
        impl<'r> sqlx::FromRow<'r, $row> for DeliveryRow {
            fn from_row(row: &'r $row) -> sqlx::Result<Self> {
                use sqlx::Row;
                Ok(Self {
                    id: row.try_get("id")?,
                    tenant: row.try_get("tenant")?,
                    vendor: row.try_get("vendor")?,
                    reference: row.try_get("reference")?,
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    revision: row.try_get("revision")?,
                    resend: row.try_get("resend")?,
                    next_attempt_at: row.try_get("next_attempt_at")?,
                    vendor_id: row.try_get("vendor_id")?,
                    disposition: row.try_get("disposition")?,
                    delivered_by: row.try_get("delivered_by")?,
                    last_error: row.try_get("last_error")?,
                    last_error_kind: row.try_get("last_error_kind")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    delivered_at: row.try_get("delivered_at")?,
                    kind: row.try_get("kind")?,
                    sale_reference: row.try_get("sale_reference")?,
                })
            }
        }

        impl<'r> sqlx::FromRow<'r, $row> for EventRow {
            fn from_row(row: &'r $row) -> sqlx::Result<Self> {
                use sqlx::Row;
                Ok(Self {
                    id: row.try_get("id")?,
                    delivery_id: row.try_get("delivery_id")?,
                    tenant: row.try_get("tenant")?,
                    vendor: row.try_get("vendor")?,
                    reference: row.try_get("reference")?,
                    kind: row.try_get("kind")?,
                    from_state: row.try_get("from_state")?,
                    to_state: row.try_get("to_state")?,
                    attempt: row.try_get("attempt")?,
                    error_kind: row.try_get("error_kind")?,
                    error: row.try_get("error")?,
                    disposition: row.try_get("disposition")?,
                    vendor_id: row.try_get("vendor_id")?,
                    actor: row.try_get("actor")?,
                    duration_ms: row.try_get("duration_ms")?,
                    at: row.try_get("at")?,
                })
            }
        }

        impl Store for $conn {
            async fn existing(
                &mut self,
                tenant: &str,
                vendor: &str,
                reference: &str,
            ) -> sqlx::Result<Option<ExistingRow>> {
                sqlx::query_as(
                    "SELECT id, payload, state FROM posbridge_outbox_deliveries \
                     WHERE tenant = $1 AND vendor = $2 AND reference = $3",
                )
                .bind(tenant)
                .bind(vendor)
                .bind(reference)
                .fetch_optional(&mut *self)
                .await
            }

            async fn insert(
                &mut self,
                tenant: &str,
                vendor: &str,
                reference: &str,
                kind: &str,
                sale_reference: Option<&str>,
                payload: &str,
                now: i64,
            ) -> sqlx::Result<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "INSERT INTO posbridge_outbox_deliveries \
                     (tenant, vendor, reference, payload, state, next_attempt_at, created_at, updated_at, kind, \
                     sale_reference) \
                     VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5, $6, $7) \
                     ON CONFLICT (tenant, vendor, reference) DO NOTHING RETURNING id",
                )
                .bind(tenant)
                .bind(vendor)
                .bind(reference)
                .bind(payload)
                .bind(now)
                .bind(kind)
                .bind(sale_reference)
                .fetch_optional(&mut *self)
                .await?;
                Ok(row.map(|r| r.0))
            }

            async fn sale_payload(&mut self, tenant: &str, vendor: &str, reference: &str) -> sqlx::Result<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT payload FROM posbridge_outbox_deliveries \
                     WHERE tenant = $1 AND vendor = $2 AND reference = $3 AND kind = 'sale'",
                )
                .bind(tenant)
                .bind(vendor)
                .bind(reference)
                .fetch_optional(&mut *self)
                .await?;
                Ok(row.map(|r| r.0))
            }

            async fn returns_of(
                &mut self,
                tenant: &str,
                vendor: &str,
                sale_reference: &str,
            ) -> sqlx::Result<Vec<(String, String)>> {
                sqlx::query_as(
                    "SELECT reference, payload FROM posbridge_outbox_deliveries \
                     WHERE tenant = $1 AND vendor = $2 AND sale_reference = $3 AND kind = 'return' ORDER BY id",
                )
                .bind(tenant)
                .bind(vendor)
                .bind(sale_reference)
                .fetch_all(&mut *self)
                .await
            }

            async fn sale_vendor_id(
                &mut self,
                tenant: &str,
                vendor: &str,
                sale_reference: &str,
            ) -> sqlx::Result<Option<Option<String>>> {
                let row: Option<(Option<String>,)> = sqlx::query_as(
                    "SELECT vendor_id FROM posbridge_outbox_deliveries \
                     WHERE tenant = $1 AND vendor = $2 AND reference = $3 AND kind = 'sale'",
                )
                .bind(tenant)
                .bind(vendor)
                .bind(sale_reference)
                .fetch_optional(&mut *self)
                .await?;
                Ok(row.map(|r| r.0))
            }

            async fn to_block(&mut self, tenant: &str, vendor: &str) -> sqlx::Result<Vec<BlockRow>> {
                let mut rows: Vec<BlockRow> = sqlx::query_as(
                    "SELECT d.id, s.reference, s.state, s.last_error, s.kind FROM posbridge_outbox_deliveries d \
                     JOIN posbridge_outbox_deliveries s ON s.tenant = d.tenant AND s.vendor = d.vendor \
                     AND s.reference = d.sale_reference AND s.kind = 'sale' \
                     WHERE d.tenant = $1 AND d.vendor = $2 AND d.sale_reference IS NOT NULL \
                     AND d.released_at IS NULL AND d.state IN ('pending', 'retrying') \
                     AND s.state IN ('dead', 'uncertain') ORDER BY d.id",
                )
                .bind(tenant)
                .bind(vendor)
                .fetch_all(&mut *self)
                .await?;
                let behind: Vec<BlockRow> = sqlx::query_as(
                    "SELECT d.id, e.reference, e.state, e.last_error, e.kind FROM posbridge_outbox_deliveries d \
                     JOIN posbridge_outbox_deliveries e ON e.tenant = d.tenant AND e.vendor = d.vendor \
                     AND e.sale_reference = d.sale_reference AND e.id < d.id \
                     WHERE d.tenant = $1 AND d.vendor = $2 AND d.sale_reference IS NOT NULL \
                     AND d.released_at IS NULL AND d.state IN ('pending', 'retrying') \
                     AND e.state IN ('blocked', 'uncertain') ORDER BY d.id, e.id",
                )
                .bind(tenant)
                .bind(vendor)
                .fetch_all(&mut *self)
                .await?;
                for row in behind {
                    if !rows.iter().any(|r| r.0 == row.0) {
                        rows.push(row);
                    }
                }
                Ok(rows)
            }

            async fn block(&mut self, id: i64, reason: &str, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET state = 'blocked', last_error = $2, \
                     last_error_kind = 'blocked', updated_at = $3 \
                     WHERE id = $1 AND state IN ('pending', 'retrying') AND released_at IS NULL",
                )
                .bind(id)
                .bind(reason)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn unblock(&mut self, tenant: &str, vendor: &str, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET state = 'pending', next_attempt_at = $3, \
                     last_error = NULL, last_error_kind = NULL, updated_at = $3 \
                     WHERE tenant = $1 AND vendor = $2 AND state = 'blocked' AND released_at IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM posbridge_outbox_deliveries s \
                       WHERE s.tenant = posbridge_outbox_deliveries.tenant AND s.vendor = posbridge_outbox_deliveries.vendor \
                       AND s.reference = posbridge_outbox_deliveries.sale_reference AND s.kind = 'sale' \
                       AND s.state IN ('dead', 'uncertain')) \
                     AND NOT EXISTS (SELECT 1 FROM posbridge_outbox_deliveries e \
                       WHERE e.tenant = posbridge_outbox_deliveries.tenant AND e.vendor = posbridge_outbox_deliveries.vendor \
                       AND e.sale_reference = posbridge_outbox_deliveries.sale_reference \
                       AND e.id < posbridge_outbox_deliveries.id AND e.state IN ('blocked', 'uncertain'))",
                )
                .bind(tenant)
                .bind(vendor)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn release_blocked(&mut self, id: i64, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET state = 'pending', next_attempt_at = $2, \
                     released_at = $2, last_error = NULL, last_error_kind = NULL, updated_at = $2 \
                     WHERE id = $1 AND state = 'blocked'",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn update_payload(&mut self, id: i64, payload: &str, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET payload = $2, revision = revision + 1, \
                     state = 'pending', attempts = 0, next_attempt_at = $3, lease_owner = NULL, lease_until = NULL, \
                     last_error = NULL, last_error_kind = NULL, delivered_at = NULL, last_attempt_ms = NULL, \
                     updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(payload)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn payload(&mut self, id: i64) -> sqlx::Result<Option<String>> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT payload FROM posbridge_outbox_deliveries WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *self)
                        .await?;
                Ok(row.map(|r| r.0))
            }

            async fn get(&mut self, id: i64) -> sqlx::Result<Option<DeliveryRow>> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM posbridge_outbox_deliveries WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *self)
                .await
            }

            async fn claim(
                &mut self,
                tenant: &str,
                vendor: &str,
                owner: &str,
                now: i64,
                lease_until: i64,
                limit: i64,
            ) -> sqlx::Result<Vec<ClaimedRow>> {
                let mut rows: Vec<ClaimedRow> = sqlx::query_as(concat!(
                    "UPDATE posbridge_outbox_deliveries SET state = 'delivering', attempts = attempts + 1, \
                     lease_owner = $3, lease_until = $5, updated_at = $4 \
                     WHERE id IN (SELECT d.id FROM posbridge_outbox_deliveries d \
                     WHERE d.tenant = $1 AND d.vendor = $2 AND d.state IN ('pending', 'retrying') \
                     AND d.next_attempt_at <= $4 \
                     AND (d.sale_reference IS NULL OR d.released_at IS NOT NULL OR ( \
                       NOT EXISTS (SELECT 1 FROM posbridge_outbox_deliveries s \
                         WHERE s.tenant = d.tenant AND s.vendor = d.vendor AND s.reference = d.sale_reference \
                         AND s.kind = 'sale' AND s.state <> 'delivered') \
                       AND NOT EXISTS (SELECT 1 FROM posbridge_outbox_deliveries e \
                         WHERE e.tenant = d.tenant AND e.vendor = d.vendor AND e.sale_reference = d.sale_reference \
                         AND e.id < d.id AND e.state NOT IN ('delivered', 'dead', 'not_offered')))) \
                     ORDER BY d.next_attempt_at, d.id LIMIT $6",
                    $lock,
                    ") RETURNING id, reference, payload, attempts, resend, kind, sale_reference"
                ))
                .bind(tenant)
                .bind(vendor)
                .bind(owner)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&mut *self)
                .await?;
                rows.sort_by_key(|r| r.0);
                Ok(rows)
            }

            async fn sweep_expired(
                &mut self,
                tenant: &str,
                vendor: &str,
                kind: &str,
                state: &str,
                now: i64,
                reason: &str,
            ) -> sqlx::Result<u64> {
                let done = sqlx::query(concat!(
                    "UPDATE posbridge_outbox_deliveries SET state = $3, resend = 1, lease_owner = NULL, \
                     lease_until = NULL, next_attempt_at = $4, updated_at = $4, last_error = $5, \
                     last_error_kind = 'uncertain', last_attempt_ms = NULL \
                     WHERE id IN (SELECT id FROM posbridge_outbox_deliveries \
                     WHERE tenant = $1 AND vendor = $2 AND state = 'delivering' AND lease_until < $4 AND kind = $6",
                    $lock,
                    ")"
                ))
                .bind(tenant)
                .bind(vendor)
                .bind(state)
                .bind(now)
                .bind(reason)
                .bind(kind)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn extend_leases(&mut self, owner: &str, ids: &[i64], lease_until: i64) -> sqlx::Result<u64> {
                let mut renewed = 0;
                for chunk in ids.chunks(MAX_RENEWALS) {
                    let Some(&last) = chunk.last() else { continue };
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(renew_sql(chunk.len(), $lock)))
                        .bind(owner)
                        .bind(lease_until);
                    for id in chunk.iter().chain(std::iter::repeat(&last)).take(renew_slots(chunk.len())) {
                        q = q.bind(*id);
                    }
                    renewed += q.execute(&mut *self).await?.rows_affected();
                }
                Ok(renewed)
            }

            async fn complete_many(&mut self, owner: &str, outcomes: &[Outcome], now: i64) -> sqlx::Result<Vec<i64>> {
                let mut written = Vec::with_capacity(outcomes.len());
                for chunk in outcomes.chunks(MAX_COMPLETIONS) {
                let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(complete_sql(chunk.len())))
                    .bind(now)
                    .bind(owner);
                for o in chunk {
                    let c = &o.completion;
                    q = q
                        .bind(o.id)
                        .bind(o.attempt)
                        .bind(c.state)
                        .bind(c.next_attempt_at)
                        .bind(i64::from(c.resend))
                        .bind(c.vendor_id.as_deref())
                        .bind(c.disposition.as_deref())
                        .bind(c.last_error.as_deref())
                        .bind(c.last_error_kind.as_deref())
                        .bind(c.delivered_at)
                        .bind(o.duration_ms);
                }
                let rows = q.fetch_all(&mut *self).await?;
                written.extend(rows.into_iter().map(|r| r.0));
                }
                Ok(written)
            }

            async fn release(&mut self, id: i64, owner: &str, attempt: i64, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET \
                     state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END, attempts = attempts - 1, \
                     lease_owner = NULL, lease_until = NULL, last_attempt_ms = NULL, updated_at = $4 \
                     WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'delivering'",
                )
                .bind(id)
                .bind(owner)
                .bind(attempt)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn status(&mut self, tenant: Option<&str>) -> sqlx::Result<Vec<StatusDbRow>> {
                sqlx::query_as(
                    "SELECT tenant, vendor, state, COUNT(*), MIN(created_at) FROM posbridge_outbox_deliveries \
                     WHERE ($1 IS NULL OR tenant = $1) \
                     GROUP BY tenant, vendor, state ORDER BY tenant, vendor, state",
                )
                .bind(tenant)
                .fetch_all(&mut *self)
                .await
            }

            async fn query(&mut self, q: &QueryArgs<'_>) -> sqlx::Result<Vec<DeliveryRow>> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM posbridge_outbox_deliveries WHERE id > $1 \
                     AND ($2 IS NULL OR tenant = $2) AND ($3 IS NULL OR vendor = $3) \
                     AND ($4 IS NULL OR state = $4) \
                     AND ($5 IS NULL OR reference = $5 OR sale_reference = $5) \
                     AND ($6 IS NULL OR kind = $6) \
                     AND ($7 IS NULL OR created_at >= $7) AND ($8 IS NULL OR created_at < $8) \
                     ORDER BY id LIMIT $9"
                ))
                .bind(q.after)
                .bind(q.tenant)
                .bind(q.vendor)
                .bind(q.state)
                .bind(q.reference)
                .bind(q.kind)
                .bind(q.since)
                .bind(q.until)
                .bind(q.limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn events(&mut self, delivery_id: i64) -> sqlx::Result<Vec<EventRow>> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    event_columns!(),
                    " FROM posbridge_outbox_events WHERE delivery_id = $1 ORDER BY id"
                ))
                .bind(delivery_id)
                .fetch_all(&mut *self)
                .await
            }

            async fn events_after(&mut self, after: i64, tenant: Option<&str>, limit: i64) -> sqlx::Result<Vec<EventRow>> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    event_columns!(),
                    " FROM posbridge_outbox_events WHERE id > $1 AND ($2 IS NULL OR tenant = $2) ORDER BY id LIMIT $3"
                ))
                .bind(after)
                .bind(tenant)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn outcomes_by_hour(&mut self, since: i64, tenant: Option<&str>) -> sqlx::Result<Vec<HourlyDbRow>> {
                sqlx::query_as(
                    "SELECT tenant, vendor, at - at % 3600000, to_state, COUNT(*) FROM posbridge_outbox_events \
                     WHERE at >= $1 AND ($2 IS NULL OR tenant = $2) \
                     AND to_state IN ('delivered', 'retrying', 'dead', 'uncertain') \
                     GROUP BY tenant, vendor, at - at % 3600000, to_state \
                     ORDER BY 3, 1, 2, 4",
                )
                .bind(since)
                .bind(tenant)
                .fetch_all(&mut *self)
                .await
            }

            async fn last_delivered(&mut self, tenant: Option<&str>) -> sqlx::Result<Vec<(String, String, Option<i64>)>> {
                sqlx::query_as(
                    "SELECT tenant, vendor, MAX(delivered_at) FROM posbridge_outbox_deliveries \
                     WHERE delivered_at IS NOT NULL AND ($1 IS NULL OR tenant = $1) \
                     GROUP BY tenant, vendor ORDER BY tenant, vendor",
                )
                .bind(tenant)
                .fetch_all(&mut *self)
                .await
            }

            async fn ping(&mut self) -> sqlx::Result<()> {
                sqlx::query("SELECT 1").execute(&mut *self).await.map(|_| ())
            }

            async fn applied_migrations(&mut self) -> sqlx::Result<Vec<i64>> {
                let rows: Vec<(i64,)> =
                    sqlx::query_as("SELECT version FROM posbridge_outbox_migrations WHERE success ORDER BY version")
                        .fetch_all(&mut *self)
                        .await?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }

            async fn list(&mut self, state: Option<&str>, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
                sqlx::query_as(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM posbridge_outbox_deliveries WHERE ($1 IS NULL OR state = $1) ORDER BY id LIMIT $2"
                ))
                .bind(state)
                .bind(limit)
                .fetch_all(&mut *self)
                .await
            }

            async fn open_count(&mut self, tenant: &str, vendor: &str) -> sqlx::Result<i64> {
                let row: (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM posbridge_outbox_deliveries WHERE tenant = $1 AND vendor = $2 \
                     AND state IN ('pending', 'retrying', 'delivering')",
                )
                .bind(tenant)
                .bind(vendor)
                .fetch_one(&mut *self)
                .await?;
                Ok(row.0)
            }

            async fn requeue(&mut self, from_state: &str, id: Option<i64>, resend: bool, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3, \
                     resend = CASE WHEN $4 = 1 THEN 1 ELSE resend END, updated_at = $3 \
                     WHERE state = $1 AND ($2 IS NULL OR id = $2)",
                )
                .bind(from_state)
                .bind(id)
                .bind(now)
                .bind(i64::from(resend))
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn resolve_delivered(&mut self, id: i64, now: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "UPDATE posbridge_outbox_deliveries SET state = 'delivered', delivered_at = $2, \
                     delivered_by = 'operator', disposition = COALESCE(disposition, 'accepted'), updated_at = $2 \
                     WHERE id = $1 AND state = 'uncertain'",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }

            async fn purge_delivered(&mut self, before: i64) -> sqlx::Result<u64> {
                let done = sqlx::query(
                    "DELETE FROM posbridge_outbox_deliveries WHERE state = 'delivered' AND delivered_at < $1",
                )
                .bind(before)
                .execute(&mut *self)
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

impl_store!(SqliteConnection, sqlx::sqlite::SqliteRow, "");
impl_store!(PgConnection, sqlx::postgres::PgRow, " FOR UPDATE SKIP LOCKED");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_use_a_few_statement_texts() {
        assert_eq!(renew_slots(0), 1);
        assert_eq!(renew_slots(3), 4);
        assert_eq!(renew_slots(128), 128);
        assert_eq!(renew_slots(1000), 128);
        let pg = renew_sql(5, " FOR UPDATE SKIP LOCKED");
        assert!(
            pg.contains("$10)") && !pg.contains("$11") && pg.ends_with("FOR UPDATE SKIP LOCKED)"),
            "{pg}"
        );
        let lite = renew_sql(1, "");
        assert!(lite.contains("IN ($3))") && !lite.contains("SKIP"), "{lite}");
        assert_eq!(renew_sql(MAX_RENEWALS, "").matches('$').count(), MAX_RENEWALS + 2);
    }

    #[test]
    fn delivery_columns_match_the_row_type() {
        assert_eq!(delivery_columns!().split(',').count(), 19);
        assert_eq!(event_columns!().split(',').count(), 16);
    }

    #[test]
    fn outcomes_bind_eleven_parameters_each() {
        let sql = complete_sql(2);
        assert!(sql.contains("$24)") && !sql.contains("$25"), "{sql}");
    }

    #[test]
    fn both_migrations_are_embedded_under_their_own_table() {
        for pg in [false, true] {
            let m = migrator(pg);
            assert_eq!(m.table_name, "posbridge_outbox_migrations");
            assert_eq!(m.migrations.len(), 4);
        }
    }
}
