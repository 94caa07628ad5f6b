//! Workers: claim due deliveries under a lease, push them through the connectors,
//! record what happened.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use posbridge_core::error::DUPLICATE_REFERENCE;
use posbridge_core::{Connector, DuplicatePolicy, ErrorKind, Operation, PushReceipt};
use serde::{Deserialize, Serialize};
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::store::Store;
use crate::store::{ClaimedRow, Completion, MAX_COMPLETIONS, Outcome};
use crate::{Db, Document, DocumentKind, Outbox, OutboxConfig, OutboxError, Target, now_ms, with_conn};

/// Deliveries a worker keeps claimed ahead, per request it may have in flight to a
/// target where a re-send is safe, so a finished request is followed at once by the
/// next without a claim in between (see [`TargetRt::ahead`]).
const AHEAD_PER_SLOT: usize = 4;
/// The most deliveries claimed ahead for one target.
const MAX_AHEAD: usize = 64;

/// The first pause before a failed outcome write is tried again; doubled per failure,
/// up to [`RECORD_RETRY_MAX`].
const RECORD_RETRY_FIRST: Duration = Duration::from_millis(20);
/// The longest pause between tries of an outcome write.
const RECORD_RETRY_MAX: Duration = Duration::from_secs(1);

/// What the sweep records on a delivery whose worker vanished mid-flight.
const ORPHANED: &str = "the worker delivering it stopped before recording the outcome; the vendor may have it";

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Deliveries in flight at once in this process (a batch counts as one).
    pub concurrency: usize,
    /// Return once no delivery of the registered targets is pending, retrying or
    /// delivering (instead of waiting for more work until shutdown).
    pub until_idle: bool,
    /// On shutdown, how long in-flight deliveries get to finish. Those still running
    /// then are abandoned; their leases end and the sweep settles them.
    pub shutdown_grace: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            until_idle: false,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What one [`Outbox::run`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// This worker's id, as recorded in `delivered_by`.
    pub worker: String,
    /// Deliveries the vendor took (including ones it already had).
    pub delivered: u64,
    /// Deliveries rescheduled after a failure that may pass.
    pub retried: u64,
    /// Deliveries refused for good.
    pub dead: u64,
    /// Deliveries the vendor may have, left for an operator.
    pub uncertain: u64,
    /// Claims given back untouched at shutdown.
    pub released: u64,
    /// Outcomes not recorded because the lease had passed to another worker.
    pub fenced: u64,
    /// Orphaned deliveries (their worker died) put back in the queue or marked uncertain.
    pub swept: u64,
    /// Returns, voids and payments recorded as not offered by their target.
    #[serde(default)]
    pub not_offered: u64,
    /// Returns, voids and payments blocked because their sale is dead or uncertain.
    #[serde(default)]
    pub blocked: u64,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
    uncertain: AtomicU64,
    released: AtomicU64,
    fenced: AtomicU64,
    swept: AtomicU64,
    not_offered: AtomicU64,
    blocked: AtomicU64,
}

/// A registered target as a worker runs it.
struct TargetRt {
    target: Target,
    connector: Arc<dyn Connector>,
    batch: usize,
    in_flight: Arc<Semaphore>,
    /// How many deliveries beyond those it can send at once the worker keeps claimed
    /// (leased and renewed like the rest). Only where a re-send is safe and the vendor
    /// takes one sale per request: should the worker die, its claims held ahead go back
    /// to the queue (`retrying`), never to `uncertain`, and a batching vendor's claim
    /// already takes many deliveries at once.
    ahead: usize,
    limiter: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<Instant>>,
}

impl TargetRt {
    /// What a repeated document of `kind` does at this target, read now: a connector
    /// may learn during the run that its vendor cannot detect a repeat (SalesMania
    /// without its order look-up), and an outcome is classified by what holds when it
    /// comes.
    ///
    /// A kind the target does not take is never sent there (its delivery ends
    /// `not_offered` without a request), so taking one again after a crash is safe.
    fn policy(&self, kind: DocumentKind) -> DuplicatePolicy {
        let offered = match kind {
            DocumentKind::Sale => self.connector.sales().is_some(),
            DocumentKind::Return => self.connector.returns().is_some(),
            DocumentKind::Void => self.connector.voids().is_some(),
            DocumentKind::Payment => self.connector.payments().is_some(),
        };
        if !offered {
            return DuplicatePolicy::Ignored;
        }
        self.connector.capabilities().duplicates(kind.operation())
    }

    fn paused(&self) -> Option<Instant> {
        let guard = self.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        guard.filter(|until| *until > Instant::now())
    }

    fn pause(&self, until: Instant) {
        let mut guard = self.paused_until.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none_or(|current| current < until) {
            *guard = Some(until);
        }
    }
}

/// Runs `$body` with `$c` bound to the connection the worker writes through: on SQLite
/// one connection held for the run, taken in turn, so the worker's own claims and
/// outcome writes never contend for SQLite's single write lock (which waits by
/// sleeping) and run on one connection thread; on PostgreSQL a pooled connection.
macro_rules! with_writer {
    ($ctx:expr, $c:ident => $body:expr) => {
        match &$ctx.writer {
            Some(conn) => {
                let mut guard = conn.lock().await;
                let $c = &mut **guard;
                $body
            }
            None => with_conn!(&$ctx.db, $c => $body),
        }
    };
}

/// What every delivery task shares.
struct Ctx {
    db: Db,
    /// On SQLite, the worker's writing connection (see [`with_writer!`]).
    writer: Option<tokio::sync::Mutex<PoolConnection<Sqlite>>>,
    config: OutboxConfig,
    owner: String,
    counters: Counters,
    jitter: RandomState,
    /// Outcomes to the recorder.
    outcomes: mpsc::UnboundedSender<ToRecorder>,
    /// The deliveries this worker has claimed and still works on (held ahead, in
    /// flight, or with an outcome not yet written): the only leases the heartbeat
    /// renews. A claim it lets go of without writing an outcome (an outcome write
    /// given up, a delivery task that panicked) is dropped from here, so its lease
    /// ends and the sweep settles it, as after a crash, instead of being renewed for
    /// as long as the worker lives.
    held: Mutex<HashSet<i64>>,
}

impl Ctx {
    /// Notes claims the worker now holds.
    fn hold(&self, ids: impl IntoIterator<Item = i64>) {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).extend(ids);
    }

    /// Notes claims the worker no longer holds: their outcome is written, they were
    /// given back, or they are left to the sweep.
    fn unhold(&self, ids: impl IntoIterator<Item = i64>) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            held.remove(&id);
        }
    }

    /// The claims the worker holds now.
    fn holding(&self) -> Vec<i64> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.iter().copied().collect()
    }
}

/// What the recorder is told.
enum ToRecorder {
    /// Write this outcome.
    Outcome(Outcome),
    /// Answer once every outcome sent before this one is written (or failed).
    Flush(oneshot::Sender<()>),
}

/// A claim a delivery task holds: what it needs to record the outcome.
#[derive(Debug)]
struct Held {
    id: i64,
    reference: String,
    attempt: i64,
    resend: bool,
    kind: String,
    sale_reference: Option<String>,
    /// How long the attempt's request took, once it was sent.
    duration_ms: Option<i64>,
}

impl Outbox {
    /// Delivers due deliveries of the registered targets until `shutdown` completes
    /// (or, with [`RunOptions::until_idle`], until there is nothing left to do).
    ///
    /// On shutdown no new delivery is claimed; in-flight ones finish within
    /// [`RunOptions::shutdown_grace`], and claims still waiting for a rate limit are
    /// given back untouched. Many workers, in one process or many, may run against
    /// one database.
    pub async fn run(
        &self,
        options: RunOptions,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<RunReport, OutboxError> {
        let concurrency = options.concurrency.max(1);
        let (outcomes, outcomes_rx) = mpsc::unbounded_channel();
        let writer = match &self.db {
            Db::Sqlite(pool) => Some(tokio::sync::Mutex::new(pool.acquire().await?)),
            Db::Postgres(_) => None,
        };
        let ctx = Arc::new(Ctx {
            db: self.db.clone(),
            writer,
            config: self.config.clone(),
            owner: worker_id(),
            counters: Counters::default(),
            jitter: RandomState::new(),
            outcomes,
            held: Mutex::new(HashSet::new()),
        });
        let targets: Vec<Arc<TargetRt>> = self
            .targets
            .iter()
            .filter_map(|(target, reg)| Some((target, reg, reg.connector.clone()?)))
            .map(|(target, reg, connector)| {
                let (policy, batch) = {
                    let caps = connector.capabilities();
                    (caps.sale_duplicates, caps.max_batch.unwrap_or(1).max(1))
                };
                let limiter = reg
                    .options
                    .requests_per_second
                    .and_then(NonZeroU32::new)
                    .map(|rps| RateLimiter::direct(Quota::per_second(rps)));
                let slots = reg.options.max_in_flight.unwrap_or(concurrency).max(1);
                // Claimed ahead only where every kind the target takes is safe to send
                // again: a crash must leave in `uncertain` only what was really sent.
                let dependents_safe = [
                    (connector.returns().is_some(), Operation::PushReturn),
                    (connector.voids().is_some(), Operation::VoidSale),
                    (connector.payments().is_some(), Operation::AddPayment),
                ]
                .into_iter()
                .all(|(offered, op)| !offered || connector.capabilities().duplicates(op).is_idempotent());
                let ahead = if policy.is_idempotent() && dependents_safe && batch == 1 {
                    slots.saturating_mul(AHEAD_PER_SLOT).min(MAX_AHEAD)
                } else {
                    0
                };
                Arc::new(TargetRt {
                    target: target.clone(),
                    connector,
                    batch,
                    in_flight: Arc::new(Semaphore::new(slots)),
                    ahead,
                    limiter,
                    paused_until: Mutex::new(None),
                })
            })
            .collect();
        tracing::info!(worker = %ctx.owner, concurrency, targets = targets.len(), "outbox worker started");

        let global = Arc::new(Semaphore::new(concurrency));
        let (stop_tx, stop_rx) = watch::channel(false);
        // Aborted when this future ends or is dropped, so a cancelled run stops renewing.
        let heartbeat = AbortOnDrop(tokio::spawn(heartbeat(ctx.clone(), stop_rx.clone())));
        let recorder = AbortOnDrop(tokio::spawn(recorder(ctx.clone(), outcomes_rx)));
        let mut tasks: JoinSet<()> = JoinSet::new();
        // Per target, the deliveries claimed but not yet handed to a delivery task, and
        // whether a claim is running (claims run beside the deliveries, so deliveries
        // held ahead start while the next claim waits for the database).
        let mut queues: Vec<VecDeque<ClaimedRow>> = targets.iter().map(|_| VecDeque::new()).collect();
        let mut claiming = vec![false; targets.len()];
        // Until when a target whose last claim found fewer due deliveries than it asked
        // for is not asked again (unless the run goes idle-checking sooner).
        let mut dry_until: Vec<Option<Instant>> = vec![None; targets.len()];
        let mut claims: JoinSet<ClaimDone> = JoinSet::new();
        let sweep_every = (ctx.config.lease / 4).max(Duration::from_millis(100));
        let wait = ctx.config.poll_interval.min(sweep_every);
        let mut next_sweep = Instant::now();
        let shutdown = shutdown.fuse();
        futures_util::pin_mut!(shutdown);

        let result: Result<(), OutboxError> = async {
            loop {
                if Instant::now() >= next_sweep {
                    for t in &targets {
                        sweep(&ctx, t).await?;
                    }
                    next_sweep = Instant::now() + sweep_every;
                }
                let now = Instant::now();
                for (i, t) in targets.iter().enumerate() {
                    if t.paused().is_some() {
                        continue;
                    }
                    start(&ctx, t, &mut queues[i], &global, &mut tasks, &stop_rx);
                    if claiming[i] || dry_until[i].is_some_and(|until| until > now) {
                        continue;
                    }
                    // Claim what the free slots can take now, plus the look-ahead once
                    // the deliveries held ahead fall below half of it.
                    let queued = queues[i].len();
                    let free = global.available_permits().min(t.in_flight.available_permits());
                    let needed = free.saturating_mul(t.batch);
                    if queued >= needed && queued >= t.ahead.div_ceil(2) {
                        continue;
                    }
                    let want = needed.saturating_add(t.ahead).saturating_sub(queued);
                    if want == 0 {
                        continue;
                    }
                    claiming[i] = true;
                    let (ctx, t) = (ctx.clone(), t.clone());
                    claims.spawn(async move { (i, want, claim(&ctx, &t, want).await) });
                }
                while let Some(done) = tasks.try_join_next() {
                    report_join(done);
                }
                if (&mut shutdown).now_or_never().is_some() {
                    return Ok(());
                }
                if options.until_idle
                    && tasks.is_empty()
                    && claims.is_empty()
                    && queues.iter().all(VecDeque::is_empty)
                    && flush(&ctx).await
                    && idle(&ctx, &targets).await?
                {
                    return Ok(());
                }
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    Some(done) = tasks.join_next(), if !tasks.is_empty() => report_join(done),
                    Some(done) = claims.join_next(), if !claims.is_empty() => {
                        let (i, rows, asked) = claimed(done)?;
                        claiming[i] = false;
                        dry_until[i] = (rows.len() < asked).then(|| Instant::now() + wait);
                        queues[i].extend(rows);
                    }
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        .await;

        // Stop: claims not yet started, and those waiting for a rate limit, give their
        // rows back; the rest finish.
        let _ = stop_tx.send(true);
        while let Some(done) = claims.join_next().await {
            if let Ok((i, rows, _)) = claimed(done) {
                queues[i].extend(rows);
            }
        }
        for row in queues.iter_mut().flat_map(|q| q.drain(..)) {
            release(&ctx, &held(row).0).await;
        }
        let drained = tokio::time::timeout(options.shutdown_grace, async {
            while let Some(done) = tasks.join_next().await {
                report_join(done);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                worker = %ctx.owner,
                abandoned = tasks.len(),
                "deliveries still in flight after the shutdown grace; their leases will end and the sweep settles them"
            );
            tasks.abort_all();
        }
        // Every outcome the finished deliveries reported is written before the run ends.
        flush(&ctx).await;
        drop(recorder);
        drop(heartbeat);
        result?;

        let c = &ctx.counters;
        let report = RunReport {
            worker: ctx.owner.clone(),
            delivered: c.delivered.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            dead: c.dead.load(Ordering::Relaxed),
            uncertain: c.uncertain.load(Ordering::Relaxed),
            released: c.released.load(Ordering::Relaxed),
            fenced: c.fenced.load(Ordering::Relaxed),
            swept: c.swept.load(Ordering::Relaxed),
            not_offered: c.not_offered.load(Ordering::Relaxed),
            blocked: c.blocked.load(Ordering::Relaxed),
        };
        tracing::info!(worker = %report.worker, delivered = report.delivered, dead = report.dead,
            uncertain = report.uncertain, "outbox worker stopped");
        Ok(report)
    }
}

/// Hands claimed deliveries of `t` to new delivery tasks while both the worker and the
/// target have a slot free: one task per delivery, or per batch for a batching vendor.
fn start(
    ctx: &Arc<Ctx>,
    t: &Arc<TargetRt>,
    queue: &mut VecDeque<ClaimedRow>,
    global: &Arc<Semaphore>,
    tasks: &mut JoinSet<()>,
    stop: &watch::Receiver<bool>,
) {
    while !queue.is_empty() {
        let Ok(g) = global.clone().try_acquire_owned() else {
            return;
        };
        let Ok(p) = t.in_flight.clone().try_acquire_owned() else {
            return;
        };
        let rows: Vec<ClaimedRow> = queue.drain(..queue.len().min(t.batch)).collect();
        let ids = rows.iter().map(|r| r.0).collect();
        let (ctx, t, stop) = (ctx.clone(), t.clone(), stop.clone());
        tasks.spawn(async move {
            let mut unfinished = Unfinished { ctx: &ctx, ids };
            deliver(&ctx, &t, rows, stop).await;
            unfinished.ids.clear();
            drop((g, p));
        });
    }
}

/// A delivery task's claims while it runs: should the task end without handing their
/// outcomes to the recorder (it panicked), the worker stops renewing their leases, so
/// the sweep settles them once the leases end.
struct Unfinished<'a> {
    ctx: &'a Ctx,
    ids: Vec<i64>,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.ctx.unhold(self.ids.drain(..));
    }
}

/// Claims up to `want` due deliveries of `t` for this worker.
async fn claim(ctx: &Ctx, t: &TargetRt, want: usize) -> Result<Vec<ClaimedRow>, OutboxError> {
    let limit = i64::try_from(want).unwrap_or(i64::MAX);
    let now = now_ms();
    let lease_until = now.saturating_add(duration_ms(ctx.config.lease));
    let rows = with_writer!(ctx, c => c
        .claim(&t.target.tenant, &t.target.vendor, &ctx.owner, now, lease_until, limit)
        .await?);
    ctx.hold(rows.iter().map(|r| r.0));
    Ok(rows)
}

/// What a claim task ends with: the target's index, how many deliveries it asked for,
/// and the rows it got.
type ClaimDone = (usize, usize, Result<Vec<ClaimedRow>, OutboxError>);

/// A finished claim task: the target's index, its rows and how many were asked for.
fn claimed(done: Result<ClaimDone, tokio::task::JoinError>) -> Result<(usize, Vec<ClaimedRow>, usize), OutboxError> {
    let (i, asked, rows) = done.map_err(|e| OutboxError::Config(format!("a claim task failed: {e}")))?;
    Ok((i, rows?, asked))
}

/// Splits a claimed row into the claim and the stored document.
fn held(row: ClaimedRow) -> (Held, String) {
    let (id, reference, payload, attempt, resend, kind, sale_reference) = row;
    (
        Held {
            id,
            reference,
            attempt,
            resend: resend != 0,
            kind,
            sale_reference,
            duration_ms: None,
        },
        payload,
    )
}

/// Waits until every outcome reported so far is written; false if the recorder is gone.
async fn flush(ctx: &Ctx) -> bool {
    let (tx, rx) = oneshot::channel();
    ctx.outcomes.send(ToRecorder::Flush(tx)).is_ok() && rx.await.is_ok()
}

/// Writes the outcomes the delivery tasks report, all that arrived while the last
/// write ran in one statement (each still fenced by owner and attempt), and counts
/// them once written: an outcome is reported only once it is committed.
async fn recorder(ctx: Arc<Ctx>, mut rx: mpsc::UnboundedReceiver<ToRecorder>) {
    let mut batch: Vec<Outcome> = Vec::with_capacity(MAX_COMPLETIONS);
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                ToRecorder::Outcome(o) => batch.push(o),
                ToRecorder::Flush(ack) => flushes.push(ack),
            }
            next = if batch.len() < MAX_COMPLETIONS {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        write_outcomes(&ctx, &mut batch).await;
        for ack in flushes.drain(..) {
            let _ = ack.send(());
        }
    }
}

/// Writes a batch of outcomes and counts what was written.
///
/// A write that fails is tried again, for up to one lease (the worker still holds
/// those claims and renews them meanwhile): a failure of a moment — a deadlock, a
/// dropped connection, a busy SQLite file — must not lose an outcome, which would leave
/// its delivery `delivering` until the lease ends and have it sent again.
async fn write_outcomes(ctx: &Ctx, batch: &mut Vec<Outcome>) {
    if batch.is_empty() {
        return;
    }
    match write_fenced(ctx, batch).await {
        Ok(written) => settle(ctx, batch.drain(..), &written),
        Err(e) => write_again(ctx, std::mem::take(batch), e).await,
    }
}

/// One statement recording `batch` (fenced: only rows this worker still holds at
/// that attempt are written); the ids written.
async fn write_fenced(ctx: &Ctx, batch: &[Outcome]) -> Result<Vec<i64>, OutboxError> {
    let now = now_ms();
    Ok(with_writer!(ctx, c => c.complete_many(&ctx.owner, batch, now).await?))
}

/// Tries a failed write of outcomes again, pausing longer each time, until it is
/// written or a lease has passed. Once the database has refused a statement (rather
/// than not answering), the outcomes are written one per statement, so that one it
/// cannot take holds back no other. An outcome still not written is given up: the
/// worker stops renewing its lease, and the sweep settles it when the lease ends, as
/// it would after a crash.
async fn write_again(ctx: &Ctx, batch: Vec<Outcome>, failed: OutboxError) {
    let give_up_at = Instant::now() + ctx.config.lease;
    let mut pause = RECORD_RETRY_FIRST;
    let mut groups = VecDeque::from([(batch, Some(failed))]);
    while let Some((group, mut failed)) = groups.pop_front() {
        loop {
            let error = match failed.take() {
                Some(e) => e,
                None => match write_fenced(ctx, &group).await {
                    Ok(written) => {
                        settle(ctx, group, &written);
                        break;
                    }
                    Err(e) => e,
                },
            };
            if group.len() > 1 && matches!(error, OutboxError::Database(sqlx::Error::Database(_))) {
                for o in group.into_iter().rev() {
                    groups.push_front((vec![o], None));
                }
                break;
            }
            if Instant::now() + pause > give_up_at {
                for o in &group {
                    tracing::error!(id = o.id, reference = %o.reference, error = %error,
                        "could not record a delivery outcome; given up: its lease is no longer renewed, \
                         and the sweep settles it when the lease ends");
                }
                ctx.unhold(group.iter().map(|o| o.id));
                break;
            }
            tracing::warn!(outcomes = group.len(), error = %error, retry_in = ?pause,
                "could not record delivery outcomes; trying again");
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2).min(RECORD_RETRY_MAX);
        }
    }
}

/// Counts written outcomes (those not written lost their lease to another worker) and
/// lets go of their claims.
fn settle(ctx: &Ctx, outcomes: impl IntoIterator<Item = Outcome>, written: &[i64]) {
    for o in outcomes {
        ctx.unhold([o.id]);
        let counter = if !written.contains(&o.id) {
            tracing::warn!(id = o.id, reference = %o.reference, "lease lost before the outcome was recorded");
            &ctx.counters.fenced
        } else {
            match o.completion.state {
                "delivered" => &ctx.counters.delivered,
                "dead" => {
                    tracing::warn!(id = o.id, reference = %o.reference, reason = ?o.completion.last_error,
                        "delivery dead");
                    &ctx.counters.dead
                }
                "uncertain" => {
                    tracing::warn!(id = o.id, reference = %o.reference, reason = ?o.completion.last_error,
                        "delivery uncertain");
                    &ctx.counters.uncertain
                }
                "not_offered" => {
                    tracing::info!(id = o.id, reference = %o.reference, reason = ?o.completion.last_error,
                        "not offered at its target");
                    &ctx.counters.not_offered
                }
                _ => &ctx.counters.retried,
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn report_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done
        && e.is_panic()
    {
        // A connector panicked: its rows stay claimed, no longer renewed (see
        // `Unfinished`), until the lease ends; then the sweep settles them like a
        // crashed worker's.
        tracing::error!(error = %e, "a delivery task panicked");
    }
}

/// Whether the registered targets have nothing left to work on.
async fn idle(ctx: &Ctx, targets: &[Arc<TargetRt>]) -> Result<bool, OutboxError> {
    for t in targets {
        let open = with_conn!(&ctx.db, c => c.open_count(&t.target.tenant, &t.target.vendor).await?);
        if open > 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Settles a target's deliveries whose worker died mid-flight: back in the queue
/// where a re-send is safe, uncertain where it is not.
///
/// Then blocks the returns, voids and payments waiting for a sale that is dead or
/// uncertain there (or behind an earlier one of the same sale that is blocked or
/// uncertain), saying why, and queues again those whose cause has gone.
async fn sweep(ctx: &Ctx, t: &TargetRt) -> Result<(), OutboxError> {
    for kind in DocumentKind::ALL {
        let state = if t.policy(kind).is_idempotent() {
            "retrying"
        } else {
            "uncertain"
        };
        let now = now_ms();
        let swept = with_writer!(ctx, c => c
            .sweep_expired(&t.target.tenant, &t.target.vendor, kind.as_str(), state, now, ORPHANED)
            .await?);
        if swept > 0 {
            tracing::warn!(target = %t.target, swept, kind = %kind, to = state, "orphaned deliveries settled");
            ctx.counters.swept.fetch_add(swept, Ordering::Relaxed);
        }
    }
    let now = now_ms();
    let (blocked, unblocked) = with_writer!(ctx, c => {
        let unblocked = c.unblock(&t.target.tenant, &t.target.vendor, now).await?;
        let mut blocked = 0;
        for (id, reference, state, last_error, kind) in c.to_block(&t.target.tenant, &t.target.vendor).await? {
            let what = if kind != "sale" {
                format!("{reference}, enqueued before it for the same sale,")
            } else {
                format!("its sale {reference}")
            };
            let reason = format!(
                "waits for {what} which is {state} at {}{}: settle that (outbox retry / resolve) and this \
                 follows, or release this delivery to send it regardless",
                t.target,
                last_error.map(|e| format!(" ({e})")).unwrap_or_default()
            );
            blocked += c.block(id, &reason, now).await?;
        }
        (blocked, unblocked)
    });
    if blocked > 0 {
        tracing::warn!(target = %t.target, blocked, "deliveries blocked behind a dead or uncertain sale");
        ctx.counters.blocked.fetch_add(blocked, Ordering::Relaxed);
    }
    if unblocked > 0 {
        tracing::info!(target = %t.target, unblocked, "blocked deliveries queued again: their sale was settled");
    }
    Ok(())
}

/// Renews, every third of the lease until stopped, the leases of the claims this
/// worker still holds ([`Ctx::held`]).
async fn heartbeat(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let every = (ctx.config.lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::select! {
            () = stopped(&mut stop) => return,
            () = tokio::time::sleep(every) => {}
        }
        let ids = ctx.holding();
        if ids.is_empty() {
            continue;
        }
        let until = now_ms().saturating_add(duration_ms(ctx.config.lease));
        let renewed: Result<u64, OutboxError> =
            async { Ok(with_writer!(ctx, c => c.extend_leases(&ctx.owner, &ids, until).await?)) }.await;
        if let Err(e) = renewed {
            tracing::warn!(error = %e, "lease renewal failed; will try again");
        }
    }
}

/// Delivers one unit (one document, or one batch of sales for a batching vendor) and
/// hands each outcome to the recorder.
async fn deliver(ctx: &Ctx, t: &TargetRt, rows: Vec<ClaimedRow>, mut stop: watch::Receiver<bool>) {
    let mut sales = Vec::with_capacity(rows.len());
    let mut live = Vec::with_capacity(rows.len());
    let mut dependents = Vec::new();
    for row in rows {
        let (claim, payload) = held(row);
        let kind = match claim.kind.parse::<DocumentKind>() {
            Ok(kind) => kind,
            Err(e) => {
                let c = ctx.dead(format!("the stored delivery cannot be read: {e}"), "invalid");
                record(ctx, claim, c);
                continue;
            }
        };
        match Document::from_stored(kind, &payload) {
            Ok(Document::Sale(sale)) => {
                sales.push(sale);
                live.push(claim);
            }
            Ok(document) => dependents.push((claim, document)),
            Err(e) => {
                let c = ctx.dead(format!("the stored {kind} cannot be read: {e}"), "invalid");
                record(ctx, claim, c);
            }
        }
    }
    if live.is_empty() && dependents.is_empty() {
        return;
    }

    // Wait for the target's rate limit or pause, giving the claims back on shutdown.
    loop {
        let pause = t.paused();
        let ready = async {
            if let Some(until) = pause {
                tokio::time::sleep_until(until).await;
            } else if let Some(limiter) = &t.limiter {
                limiter.until_ready().await;
            }
        };
        tokio::select! {
            biased;
            () = stopped(&mut stop) => {
                for claim in live.iter().chain(dependents.iter().map(|(c, _)| c)) {
                    release(ctx, claim).await;
                }
                return;
            }
            () = ready => {}
        }
        if pause.is_none() {
            break;
        }
    }

    for (claim, document) in dependents {
        deliver_dependent(ctx, t, claim, document).await;
    }
    if live.is_empty() {
        return;
    }
    let Some(api) = t.connector.sales() else {
        for claim in live {
            let c = ctx.dead(format!("{} does not take sales", t.target), "unsupported");
            record(ctx, claim, c);
        }
        return;
    };
    let started = Instant::now();
    let results = if t.batch > 1 {
        api.push_sales(&sales).await
    } else {
        let mut out = Vec::with_capacity(sales.len());
        for sale in &sales {
            out.push(api.push_sale(sale).await);
        }
        out
    };
    // A batch's deliveries share its request, and so its duration.
    let took = duration_ms(started.elapsed());
    let mut results = results.into_iter();
    let policy = t.policy(DocumentKind::Sale);
    for mut claim in live {
        claim.duration_ms = Some(took);
        let result = results.next().unwrap_or_else(|| {
            Err(posbridge_core::Error::Uncertain {
                vendor: t.connector.vendor(),
                operation: "push_sales",
                message: "the connector returned fewer outcomes than sales sent".into(),
                source: None,
            })
        });
        let completion = ctx.classify(t, policy, &claim, result);
        record(ctx, claim, completion);
    }
}

/// Delivers one return, void or payment: with its sale's vendor id filled in from the
/// sale's delivery at the same target, through the connector's ability, or recorded
/// `not_offered` where the connector has none.
async fn deliver_dependent(ctx: &Ctx, t: &TargetRt, mut claim: Held, mut document: Document) {
    let kind = document.kind();
    if let Some(sale_reference) = claim.sale_reference.as_deref()
        && document.sale().is_some_and(|s| s.vendor_id().is_none())
    {
        let found: Result<Option<Option<String>>, OutboxError> = async {
            Ok(with_conn!(&ctx.db, c => c
                .sale_vendor_id(&t.target.tenant, &t.target.vendor, sale_reference)
                .await?))
        }
        .await;
        match found {
            Ok(Some(Some(vendor_id))) => document.fill_vendor_id(&vendor_id),
            Ok(_) => {}
            Err(e) => {
                // Nothing was sent: try again later.
                let c = ctx.classify(
                    t,
                    DuplicatePolicy::Upsert,
                    &claim,
                    Err(posbridge_core::Error::Unavailable {
                        vendor: t.connector.vendor(),
                        status: None,
                        message: format!("reading the sale's vendor id from the outbox: {e}"),
                    }),
                );
                record(ctx, claim, c);
                return;
            }
        }
    }
    let connector = &t.connector;
    let started = Instant::now();
    let result = match &document {
        Document::Return(r) => match connector.returns() {
            Some(api) => Some(api.push_return(r).await),
            None => None,
        },
        Document::Void(v) => match connector.voids() {
            Some(api) => Some(api.void_sale(v).await),
            None => None,
        },
        Document::Payment(p) => match connector.payments() {
            Some(api) => Some(api.add_payment(p).await),
            None => None,
        },
        Document::Sale(_) => None,
    };
    let completion = match result {
        Some(result) => {
            claim.duration_ms = Some(duration_ms(started.elapsed()));
            ctx.classify(t, t.policy(kind), &claim, result)
        }
        None => ctx.not_offered(connector.unsupported_here(kind.operation()).to_string()),
    };
    record(ctx, claim, completion);
}

impl Ctx {
    fn not_offered(&self, reason: String) -> Completion {
        Completion {
            state: "not_offered",
            next_attempt_at: now_ms(),
            resend: false,
            vendor_id: None,
            disposition: None,
            last_error: Some(reason),
            last_error_kind: Some("unsupported".to_owned()),
            delivered_at: None,
        }
    }

    fn dead(&self, reason: String, kind: &str) -> Completion {
        Completion {
            state: "dead",
            next_attempt_at: now_ms(),
            resend: false,
            vendor_id: None,
            disposition: None,
            last_error: Some(reason),
            last_error_kind: Some(kind.to_owned()),
            delivered_at: None,
        }
    }

    fn delivered(receipt: Option<&PushReceipt>, disposition: &str) -> Completion {
        let now = now_ms();
        Completion {
            state: "delivered",
            next_attempt_at: now,
            resend: false,
            vendor_id: receipt.and_then(|r| r.vendor_id.clone()),
            disposition: Some(disposition.to_owned()),
            last_error: None,
            last_error_kind: None,
            delivered_at: Some(now),
        }
    }

    /// The retry delay after `attempts` attempts: base × 2^(attempts−1), capped, with
    /// jitter over its upper half so a burst of failures does not come back at once.
    fn backoff(&self, id: i64, attempts: i64) -> Duration {
        let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .config
            .backoff_base
            .saturating_mul(1u32 << shift)
            .min(self.config.backoff_max);
        let mut h = self.jitter.build_hasher();
        h.write_i64(id);
        h.write_i64(attempts);
        h.write_i64(now_ms());
        let half = full / 2;
        let extra_ms = h.finish() % (duration_ms(half).unsigned_abs().max(1));
        half + Duration::from_millis(extra_ms)
    }

    /// Turns a connector outcome into what the row records.
    fn classify(
        &self,
        t: &TargetRt,
        policy: DuplicatePolicy,
        claim: &Held,
        result: posbridge_core::Result<PushReceipt>,
    ) -> Completion {
        let (id, attempts) = (claim.id, claim.attempt);
        let err = match result {
            Ok(receipt) => {
                let disposition = serde_json::to_value(receipt.disposition)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "accepted".to_owned());
                return Self::delivered(Some(&receipt), &disposition);
            }
            Err(e) => e,
        };
        let kind = err.kind();
        let text = err.to_string();
        let retry = |delay: Duration, resend: bool| {
            if attempts >= i64::from(self.config.max_attempts) {
                return self.dead(
                    format!("gave up after {attempts} attempts; last: {text}"),
                    &kind.to_string(),
                );
            }
            Completion {
                state: "retrying",
                next_attempt_at: now_ms().saturating_add(duration_ms(delay)),
                resend,
                vendor_id: None,
                disposition: None,
                last_error: Some(text.clone()),
                last_error_kind: Some(kind.to_string()),
                delivered_at: None,
            }
        };
        match (&err, kind) {
            // The vendor refuses a reference it already holds: it has this sale.
            (posbridge_core::Error::Rejected { code: Some(code), .. }, _) if code == DUPLICATE_REFERENCE => {
                Self::delivered(None, "duplicate")
            }
            // A redirect is a wrong base URL or a login page in front of the API: no
            // re-send cures it, even where a re-send would be safe.
            (
                _,
                ErrorKind::Invalid
                | ErrorKind::Rejected
                | ErrorKind::NotFound
                | ErrorKind::Unsupported
                | ErrorKind::Redirected,
            ) => self.dead(text.clone(), &kind.to_string()),
            (_, ErrorKind::Uncertain | ErrorKind::Decode) => {
                if policy.is_idempotent() {
                    retry(self.backoff(id, attempts), true)
                } else {
                    Completion {
                        state: "uncertain",
                        next_attempt_at: now_ms(),
                        resend: true,
                        vendor_id: None,
                        disposition: None,
                        last_error: Some(text.clone()),
                        last_error_kind: Some(kind.to_string()),
                        delivered_at: None,
                    }
                }
            }
            (_, ErrorKind::RateLimited) => {
                let delay = err.retry_after().unwrap_or_default().max(self.backoff(id, attempts));
                t.pause(Instant::now() + delay);
                retry(delay, claim.resend)
            }
            _ => retry(self.backoff(id, attempts), claim.resend),
        }
    }
}

/// Hands an outcome to the recorder, which writes it fenced: nothing is written if the
/// lease passed to another worker.
fn record(ctx: &Ctx, claim: Held, completion: Completion) {
    let outcome = Outcome {
        id: claim.id,
        attempt: claim.attempt,
        reference: claim.reference,
        completion,
        duration_ms: claim.duration_ms,
    };
    if let Err(mpsc::error::SendError(ToRecorder::Outcome(o))) = ctx.outcomes.send(ToRecorder::Outcome(outcome)) {
        // Only when the run is gone; the row stays claimed and the sweep settles it.
        tracing::error!(id = o.id, reference = %o.reference, "could not record a delivery outcome: the worker stopped");
    }
}

/// Gives a claim back untouched.
async fn release(ctx: &Ctx, claim: &Held) {
    let released: Result<u64, OutboxError> = async {
        let now = now_ms();
        Ok(with_writer!(ctx, c => c.release(claim.id, &ctx.owner, claim.attempt, now).await?))
    }
    .await;
    ctx.unhold([claim.id]);
    match released {
        Ok(n) if n > 0 => {
            ctx.counters.released.fetch_add(1, Ordering::Relaxed);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(id = claim.id, error = %e, "could not give a claim back; its lease will end"),
    }
}

/// Completes once the run is told to stop (or the run is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A worker id unique across machines and restarts: host, process id and a random part.
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = RandomState::new().build_hasher().finish() as u32;
    format!("{host}-{}-{random:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx {
            db: Db::Sqlite(sqlx::SqlitePool::connect_lazy("sqlite::memory:").unwrap_or_else(|e| panic!("{e}"))),
            writer: None,
            config: OutboxConfig {
                backoff_base: Duration::from_millis(100),
                backoff_max: Duration::from_secs(10),
                ..OutboxConfig::default()
            },
            owner: "w".into(),
            counters: Counters::default(),
            jitter: RandomState::new(),
            outcomes: mpsc::unbounded_channel().0,
            held: Mutex::new(HashSet::new()),
        }
    }

    #[tokio::test]
    async fn backoff_doubles_within_jitter_and_is_capped() {
        let c = ctx();
        for attempts in 1..=12i64 {
            let full = Duration::from_millis(100)
                .saturating_mul(1 << (attempts - 1))
                .min(Duration::from_secs(10));
            for _ in 0..50 {
                let d = c.backoff(7, attempts);
                assert!(d >= full / 2 && d <= full, "attempt {attempts}: {d:?} vs {full:?}");
            }
        }
        assert!(c.backoff(1, i64::MAX) <= Duration::from_secs(10));
        assert!(c.backoff(1, -5) <= Duration::from_millis(100));
    }

    #[test]
    fn worker_ids_differ() {
        assert_ne!(worker_id(), worker_id());
    }
}
