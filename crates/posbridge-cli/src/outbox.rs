//! `posbridge outbox …`: queue sales in the durable outbox (`posbridge-outbox`), run
//! workers that deliver them to the vendors, and see and settle what failed.
//!
//! Where the outbox lives: `--db URL`, else `POSBRIDGE_OUTBOX_DATABASE`, else
//! `[outbox] database` in the config file (a relative SQLite path is relative to the
//! file), else `sqlite://<config dir>/outbox.db`. The targets' connectors are built
//! from the config file and the environment exactly as `push` builds them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use jiff::Timestamp;
use posbridge::{Connector, Return, Sale, SalePayment, Void};
use posbridge_outbox::{
    DEFAULT_TENANT, Delivery, DeliveryState, Document, EnqueueResult, Enqueued, Outbox, OutboxConfig, OutboxConnection,
    OutboxError, Resolution, RunOptions, Target, TargetOptions,
};
use serde_json::json;

use crate::commands::{Ctx, check_all, table};
use crate::config::{OutboxSection, Settings};
use crate::exit::{CliError, Exit};
use crate::quote::{quote, shorten};
use crate::records::{self, Record};

/// The states a delivery is still being worked on in.
const OPEN: [DeliveryState; 3] = [
    DeliveryState::Pending,
    DeliveryState::Delivering,
    DeliveryState::Retrying,
];

/// `posbridge outbox …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OutboxAction {
    /// Queue sales for delivery (one JSON object, a JSON array, or NDJSON; `-` reads standard input)
    #[command(
        after_help = "Every sale is parsed and checked (totals to the cent) before anything is queued, and \
        the whole file is queued in one transaction: a bad sale, or a reference already queued with different \
        content at a vendor that does not update sales, queues nothing (exit code 2). Queueing the same sale \
        again changes nothing.\n\nExample:\n  posbridge outbox enqueue day.ndjson\n  \
        posbridge outbox enqueue sale.json --to easpro,colombo/codemax --json"
    )]
    Enqueue {
        /// The file, or `-`
        file: PathBuf,
        /// What the file holds: sales, or returns, voids or payments of sales (each is
        /// delivered at a target only after its sale was delivered there)
        #[arg(long, value_enum, default_value_t = KindArg::Sale)]
        kind: KindArg,
        /// Where to deliver: VENDOR or TENANT/VENDOR, comma-separated [default: every configured vendor that takes
        /// sales]
        #[arg(long, value_delimiter = ',', value_name = "TARGETS")]
        to: Vec<String>,
    },
    /// Deliver queued sales until Ctrl-C or SIGTERM (or, with --until-idle, until nothing is left to do)
    #[command(
        after_help = "On Ctrl-C or SIGTERM no new delivery starts; those in flight get --grace-secs to \
        finish, claims not yet sent go back to the queue; a second Ctrl-C stops at once (the claims come back \
        when their lease ends). Several workers, on one machine or many (PostgreSQL), may run against one \
        outbox.\n\nExit codes: 0 ok; 1 with --until-idle when dead or uncertain deliveries are left for these \
        targets; 2 configuration; 4 the outbox database is unreachable.\n\nExample:\n  \
        posbridge outbox run --workers 8\n  posbridge outbox run --until-idle --json"
    )]
    Run {
        /// Deliveries in flight at once in this process
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
        workers: u32,
        /// Stop once nothing is pending, retrying or being delivered for these targets
        #[arg(long)]
        until_idle: bool,
        /// Only these targets (VENDOR or TENANT/VENDOR, comma-separated) [default: every configured vendor that
        /// takes sales, and every other target with sales waiting]
        #[arg(long, value_delimiter = ',', value_name = "TARGETS")]
        to: Vec<String>,
        /// On Ctrl-C or SIGTERM, how long in-flight deliveries get to finish
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        grace_secs: u64,
    },
    /// Send a blocked return, void or payment without waiting for its sale (once you have
    /// checked that the vendor holds the sale)
    #[command(
        after_help = "A return, void or payment waits in `blocked` while its sale is dead or \
        uncertain at the same target; `posbridge outbox list --state blocked` says for what. It follows \
        by itself once the sale is settled (`retry`, `resolve`); `release` sends it now.\n\nExample:\n  \
        posbridge outbox release 57"
    )]
    Release {
        /// The delivery's id (`posbridge outbox list --state blocked`)
        id: i64,
    },
    /// Counts per target and state, and the age of the oldest sale not yet delivered
    #[command(after_help = "Example:\n  posbridge outbox status\n  posbridge outbox status --json")]
    Status,
    /// List deliveries, oldest first: id, target, reference, attempts, last error
    #[command(after_help = "Example:\n  posbridge outbox list --state dead\n  \
        posbridge outbox list --state uncertain --limit 500 --json")]
    List {
        /// Only deliveries in this state
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Queue dead deliveries again (all of them, or one), with their attempts reset
    #[command(after_help = "Example:\n  posbridge outbox retry --id 42\n  posbridge outbox retry")]
    Retry {
        /// Only this delivery
        #[arg(long)]
        id: Option<i64>,
    },
    /// Settle an uncertain delivery once you have checked at the vendor
    #[command(
        group(clap::ArgGroup::new("resolution").required(true).args(["delivered", "resend"])),
        after_help = "Example:\n  posbridge outbox resolve 42 --delivered   # the vendor has it\n  \
            posbridge outbox resolve 43 --resend      # the vendor does not have it: send it again"
    )]
    Resolve {
        /// The delivery's id (`posbridge outbox list --state uncertain`)
        id: i64,
        /// The vendor has the sale: mark it delivered
        #[arg(long)]
        delivered: bool,
        /// The vendor does not have the sale: queue it to be sent again
        #[arg(long)]
        resend: bool,
    },
    /// Delete delivered deliveries delivered before a time
    #[command(after_help = "Example:\n  posbridge outbox purge --delivered-before 7d\n  \
        posbridge outbox purge --delivered-before 2026-11-01T00:00:00+08:00")]
    Purge {
        /// An RFC 3339 timestamp, or a duration back from now: 7d, 24h, 90m, 1d12h (s, m, h, d, w)
        #[arg(long, value_name = "WHEN")]
        delivered_before: String,
    },
}

/// A delivery state on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    /// Queued, never tried.
    Pending,
    /// Claimed by a worker.
    Delivering,
    /// Failed in a way that may pass; due again later.
    Retrying,
    /// The vendor has it.
    Delivered,
    /// Refused for good, or given up.
    Dead,
    /// The vendor may have it: an operator decides.
    Uncertain,
    /// A return, void or payment waiting for its dead or uncertain sale.
    Blocked,
    /// The target does not take this kind of document.
    NotOffered,
}

/// What `outbox enqueue` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// Sales.
    Sale,
    /// Returns of sales' goods.
    Return,
    /// Voids of sales.
    Void,
    /// Payments made after the sale.
    Payment,
}

impl KindArg {
    fn name(self) -> &'static str {
        match self {
            Self::Sale => "sale",
            Self::Return => "return",
            Self::Void => "void",
            Self::Payment => "payment",
        }
    }
}

impl From<StateArg> for DeliveryState {
    fn from(s: StateArg) -> Self {
        match s {
            StateArg::Pending => DeliveryState::Pending,
            StateArg::Delivering => DeliveryState::Delivering,
            StateArg::Retrying => DeliveryState::Retrying,
            StateArg::Delivered => DeliveryState::Delivered,
            StateArg::Dead => DeliveryState::Dead,
            StateArg::Uncertain => DeliveryState::Uncertain,
            StateArg::Blocked => DeliveryState::Blocked,
            StateArg::NotOffered => DeliveryState::NotOffered,
        }
    }
}

/// `posbridge outbox …`, with `--db` (already merged with `POSBRIDGE_OUTBOX_DATABASE`).
pub async fn outbox(ctx: &Ctx, db: Option<&str>, action: &OutboxAction) -> Result<Exit, CliError> {
    match action {
        OutboxAction::Enqueue { file, to, kind } => enqueue(ctx, db, file, *kind, to).await,
        OutboxAction::Release { id } => release(ctx, db, *id).await,
        OutboxAction::Run {
            workers,
            until_idle,
            to,
            grace_secs,
        } => {
            run(
                ctx,
                db,
                RunArgs {
                    workers: *workers,
                    until_idle: *until_idle,
                    grace: Duration::from_secs(*grace_secs),
                },
                to,
            )
            .await
        }
        OutboxAction::Status => status(ctx, db).await,
        OutboxAction::List { state, limit } => list(ctx, db, state.map(DeliveryState::from), *limit).await,
        OutboxAction::Retry { id } => retry(ctx, db, *id).await,
        OutboxAction::Resolve { id, delivered, resend } => {
            let resolution = match (delivered, resend) {
                (true, false) => Resolution::Delivered,
                (false, true) => Resolution::Resend,
                _ => {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow!("say either --delivered or --resend"),
                    ));
                }
            };
            resolve(ctx, db, *id, resolution).await
        }
        OutboxAction::Purge { delivered_before } => purge(ctx, db, delivered_before).await,
    }
}

// ---------------------------------------------------------------------------------
// Opening the outbox

/// An open outbox and how to name its database to a human (password hidden).
pub(crate) struct Opened {
    pub(crate) outbox: Outbox,
    pub(crate) display: String,
}

/// Opens the outbox, with `extra_connections` more database connections than the
/// configured pool (a worker needs one per delivery in flight, plus its own).
pub(crate) async fn open(ctx: &Ctx, db: Option<&str>, extra_connections: u32) -> Result<Opened, CliError> {
    let section = ctx.settings.outbox_section()?;
    let url = database_url(&ctx.settings, &section, db)?;
    let display = redact(&url);
    let config = outbox_config(&section, extra_connections)?;
    let outbox = Outbox::open(&url, config)
        .await
        .map_err(|e| hide_password(&url, outbox_error(format!("cannot open the outbox at {display}"), e)))?;
    Ok(Opened { outbox, display })
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Where the outbox lives: `--db`/`POSBRIDGE_OUTBOX_DATABASE` as given (a relative
/// SQLite path is relative to the working directory), else `[outbox] database` (a
/// relative SQLite path is relative to the config file), else `outbox.db` in the
/// config directory.
fn database_url(settings: &Settings, section: &OutboxSection, given: Option<&str>) -> Result<String, CliError> {
    if let Some(url) = given.map(str::trim).filter(|u| !u.is_empty()) {
        return sqlite_location(url, None);
    }
    match &section.database {
        Some(url) => sqlite_location(url, settings.file_dir()),
        None => {
            let dir = settings.config_dir().ok_or_else(|| {
                CliError::new(Exit::Usage, anyhow!("no config directory to keep the outbox in"))
                    .hint("pass --db sqlite://FILE (or postgres://…), or set POSBRIDGE_OUTBOX_DATABASE")
            })?;
            sqlite_location("sqlite://outbox.db", Some(&dir))
        }
    }
}

/// A SQLite location with its relative path resolved against `dir` and its directory
/// created; anything else (PostgreSQL, `sqlite::memory:`) as it is.
fn sqlite_location(url: &str, dir: Option<&Path>) -> Result<String, CliError> {
    if is_postgres(url) {
        return Ok(url.to_owned());
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if rest.starts_with(":memory:") {
        return Ok(url.to_owned());
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(
            CliError::new(Exit::Usage, anyhow!("outbox database {} names no file", quote(url)))
                .hint("use sqlite://FILE or postgres://USER@HOST/DATABASE"),
        );
    }
    let path = PathBuf::from(path);
    let path = match dir {
        Some(d) if path.is_relative() => d.join(path),
        _ => path,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            CliError::new(
                Exit::Usage,
                anyhow!(
                    "cannot create {} for the outbox: {e}",
                    shorten(&parent.display().to_string())
                ),
            )
        })?;
    }
    Ok(match query {
        Some(q) => format!("sqlite://{}?{q}", path.display()),
        None => path.display().to_string(),
    })
}

/// The database as shown to people: a PostgreSQL password replaced by `***`.
fn redact(url: &str) -> String {
    if is_postgres(url) {
        if let Ok(mut u) = url::Url::parse(url)
            && u.password().is_some()
        {
            let _ = u.set_password(Some("***"));
            return u.to_string();
        }
        return url.to_owned();
    }
    if url.starts_with("sqlite:") {
        url.to_owned()
    } else {
        format!("sqlite://{url}")
    }
}

/// Rewrites an error so that no part of it shows the database password.
fn hide_password(url: &str, e: CliError) -> CliError {
    let password = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
        .filter(|p| !p.is_empty());
    let Some(password) = password else {
        return e;
    };
    let text = e.error.chain().map(ToString::to_string).collect::<Vec<_>>();
    if !text.iter().any(|t| t.contains(&password)) {
        return e;
    }
    let mut chain = text.into_iter().rev().map(|t| t.replace(&password, "***"));
    let mut error = anyhow!(chain.next().unwrap_or_default());
    for outer in chain {
        error = error.context(outer);
    }
    CliError {
        exit: e.exit,
        error,
        hint: e.hint,
    }
}

/// `[outbox]` as the outbox's config.
fn outbox_config(section: &OutboxSection, extra_connections: u32) -> Result<OutboxConfig, CliError> {
    let bad = |what: &str| CliError::new(Exit::Usage, anyhow!("[outbox] {what}"));
    if section.lease_secs == Some(0) {
        return Err(bad("lease_secs must be at least 1"));
    }
    if section.max_attempts == Some(0) {
        return Err(bad("max_attempts must be at least 1"));
    }
    if section.max_connections == Some(0) {
        return Err(bad("max_connections must be at least 1"));
    }
    let mut c = OutboxConfig::default();
    c.backoff_base = section.backoff_base_ms.map_or(c.backoff_base, Duration::from_millis);
    c.backoff_max = section.backoff_max_ms.map_or(c.backoff_max, Duration::from_millis);
    if c.backoff_max < c.backoff_base {
        return Err(bad("backoff_max_ms must not be below backoff_base_ms"));
    }
    c.lease = section.lease_secs.map_or(c.lease, Duration::from_secs);
    c.max_attempts = section.max_attempts.unwrap_or(c.max_attempts);
    c.poll_interval = section
        .poll_interval_ms
        .map_or(c.poll_interval, |ms| Duration::from_millis(ms.max(10)));
    c.max_connections = section
        .max_connections
        .unwrap_or(c.max_connections)
        .saturating_add(extra_connections);
    Ok(c)
}

/// An outbox error with what we were doing, and the exit code and hint for it.
pub(crate) fn outbox_error(context: impl Into<String>, e: OutboxError) -> CliError {
    let context = context.into();
    let (exit, hint) = match &e {
        OutboxError::Database(_) => (
            Exit::Unavailable,
            Some(
                "check that the outbox database is reachable and writable (--db, POSBRIDGE_OUTBOX_DATABASE or [outbox] database)",
            ),
        ),
        OutboxError::Conflict { .. } => (
            Exit::Usage,
            Some("a changed sale needs a new reference (only a vendor that updates sales takes a change)"),
        ),
        OutboxError::NotFound(_) => (Exit::Usage, Some("`posbridge outbox list` shows the ids")),
        OutboxError::WrongState { .. } => (Exit::Usage, Some("`posbridge outbox list` shows each delivery's state")),
        OutboxError::UnknownTarget(_) | OutboxError::NotSales(_) => (Exit::Usage, None),
        _ => (Exit::Usage, None),
    };
    if let OutboxError::Invalid { reference, source } = e {
        return CliError::from_posbridge(format!("{context}: sale {reference}"), source);
    }
    let mut err = CliError::new(exit, anyhow::Error::new(e).context(context));
    err.hint = hint.map(str::to_owned);
    err
}

// ---------------------------------------------------------------------------------
// Targets

/// A target with the connector that delivers to it.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub(crate) target: Target,
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) options: TargetOptions,
}

/// The tenant a bare `VENDOR` means: the `--tenant` in force, else the default.
fn scope_tenant(settings: &Settings) -> &str {
    settings.tenant().unwrap_or(DEFAULT_TENANT)
}

/// `VENDOR` (of the tenant in scope) or `TENANT/VENDOR`.
fn parse_target(text: &str, scope: &str) -> Result<Target, CliError> {
    let text = text.trim();
    let target = if text.contains('/') {
        text.parse::<Target>()
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("{}", crate::quote::shorten_quoted(&e.to_string()))))?
    } else if text.is_empty() {
        return Err(CliError::new(Exit::Usage, anyhow!("an empty target in --to")));
    } else {
        Target::for_tenant(scope, text)
    };
    Ok(target)
}

/// The config sections a target's connector is built from: the top level for the
/// default tenant, `[tenants.NAME]` for another.
pub(crate) fn settings_for(settings: &Settings, tenant: &str) -> Result<Settings, CliError> {
    if tenant == DEFAULT_TENANT {
        settings.for_tenant(None)
    } else {
        settings.for_tenant(Some(tenant))
    }
}

/// Builds `target`'s connector from the config and the environment, as `push` does.
/// `None` when the vendor takes no sales and `require_sales` is off.
fn connect_target(
    ctx: &Ctx,
    section: &OutboxSection,
    target: &Target,
    require_sales: bool,
) -> Result<Option<Resolved>, CliError> {
    let all = posbridge::vendors().to_vec();
    let names: Vec<&str> = all.iter().map(|v| v.name()).collect();
    let Some(info) = all.iter().find(|v| v.name() == target.vendor) else {
        return Err(CliError::new(
            Exit::Usage,
            anyhow!(
                "target {}: unknown vendor {}{}",
                shorten(&target.to_string()),
                quote(&target.vendor),
                crate::config::did_you_mean(&target.vendor, &names)
            ),
        )
        .hint(format!("vendors in this build: {}", names.join(", "))));
    };
    let settings = settings_for(&ctx.settings, &target.tenant)?;
    let config = settings.vendor_config(info)?;
    let connector: Arc<dyn Connector> = posbridge::connect(config)
        .map(Arc::from)
        .map_err(|e| CliError::from_posbridge(format!("{target}: cannot set up"), e))?;
    if connector.sales().is_none() {
        if require_sales {
            return Err(CliError::new(
                Exit::Usage,
                anyhow!("{target}: {} does not take sales", info.name()),
            ));
        }
        return Ok(None);
    }
    let per_target = section
        .targets
        .get(&target.to_string())
        .or_else(|| section.targets.get(&format!("{}/{}", target.tenant, target.vendor)))
        .or_else(|| section.targets.get(&target.vendor))
        .copied()
        .unwrap_or_default();
    Ok(Some(Resolved {
        target: target.clone(),
        connector,
        options: TargetOptions {
            max_in_flight: per_target.max_in_flight.filter(|n| *n > 0),
            requests_per_second: per_target.requests_per_second.filter(|n| *n > 0),
        },
    }))
}

/// The targets named with `--to`.
fn named_targets(ctx: &Ctx, section: &OutboxSection, to: &[String]) -> Result<Vec<Resolved>, CliError> {
    let scope = scope_tenant(&ctx.settings).to_owned();
    let mut out: Vec<Resolved> = Vec::new();
    for text in to {
        let target = parse_target(text, &scope)?;
        if out.iter().any(|r| r.target == target) {
            continue;
        }
        if let Some(r) = connect_target(ctx, section, &target, true)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Every configured vendor (of the tenant in scope) that takes sales.
pub(crate) fn configured_targets(ctx: &Ctx, section: &OutboxSection) -> Result<Vec<Resolved>, CliError> {
    let scope = scope_tenant(&ctx.settings).to_owned();
    let mut out = Vec::new();
    for info in ctx.configured() {
        let target = Target::for_tenant(scope.clone(), info.name());
        if let Some(r) = connect_target(ctx, section, &target, false)? {
            out.push(r);
        }
    }
    Ok(out)
}

fn no_targets() -> CliError {
    CliError::new(Exit::Usage, anyhow!("no vendor that takes sales is configured"))
        .hint("name the targets with --to VENDOR[,TENANT/VENDOR…], or configure a vendor (`posbridge config init`)")
}

pub(crate) fn register(outbox: Outbox, targets: &[Resolved]) -> Outbox {
    targets.iter().fold(outbox, |o, r| {
        o.with_target_options(r.target.clone(), r.connector.clone(), r.options.clone())
    })
}

pub(crate) fn target_names(targets: &[Resolved]) -> String {
    targets
        .iter()
        .map(|r| r.target.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------
// enqueue

/// What queueing the whole file came to.
enum Batch {
    /// Every sale queued: its reference and what happened at each target.
    Queued(Vec<(String, Vec<EnqueueResult>)>),
    /// Some sales conflict with what is queued (where, reference, why); nothing queued.
    Conflicts(Vec<(String, String, OutboxError)>),
}

/// Reads `text` as documents of `kind`, each checked (a sale or return reconciled to
/// the cent) and keyed by its delivery reference, before anything is queued.
fn read_documents(source: &str, text: &str, kind: KindArg) -> Result<Vec<Record<(String, Document)>>, CliError> {
    fn wrap<T>(records: Vec<Record<T>>, as_document: fn(T) -> Document) -> Vec<Record<Document>> {
        records
            .into_iter()
            .map(|r| Record {
                location: r.location,
                value: as_document(r.value),
            })
            .collect()
    }
    let documents = match kind {
        KindArg::Sale => wrap(records::parse::<Sale>(source, text, "sale")?, Document::Sale),
        KindArg::Return => wrap(records::parse::<Return>(source, text, "return")?, Document::Return),
        KindArg::Void => wrap(records::parse::<Void>(source, text, "void")?, Document::Void),
        KindArg::Payment => wrap(
            records::parse::<SalePayment>(source, text, "payment")?,
            Document::Payment,
        ),
    };
    let mut keyed = Vec::with_capacity(documents.len());
    for r in documents {
        let key = r.value.key().map_err(|e| {
            outbox_error(format!("{source}, {}", r.location), e)
                .hint(format!("fix the record at {}; nothing was queued", r.location))
        })?;
        keyed.push(Record {
            location: r.location,
            value: (key, r.value),
        });
    }
    check_all(source, &keyed, |(key, d)| {
        (
            key.as_str(),
            match d {
                Document::Sale(s) => s.reconcile().map(|_| ()),
                Document::Return(r) => r.reconcile().map(|_| ()),
                Document::Void(v) => v.check(),
                Document::Payment(p) => p.check(),
            },
        )
    })?;
    Ok(keyed)
}

async fn enqueue(ctx: &Ctx, db: Option<&str>, file: &Path, kind: KindArg, to: &[String]) -> Result<Exit, CliError> {
    let (source, text) = records::read_source(file)?;
    let records = read_documents(&source, &text, kind)?;
    let section = ctx.settings.outbox_section()?;
    let targets = if to.is_empty() {
        configured_targets(ctx, &section)?
    } else {
        named_targets(ctx, &section, to)?
    };
    if targets.is_empty() {
        return Err(no_targets());
    }
    let Opened { outbox, display } = open(ctx, db, 0).await?;
    let outbox = register(outbox, &targets);
    let names: Vec<Target> = targets.iter().map(|r| r.target.clone()).collect();
    let batch = enqueue_all(&outbox, &records, &names).await;
    outbox.close().await;
    let queued = match batch? {
        Batch::Queued(queued) => queued,
        Batch::Conflicts(conflicts) => return Err(conflict_error(ctx, &source, records.len(), conflicts)),
    };

    let mut counts: BTreeMap<&'static str, usize> = [("new", 0), ("existing", 0), ("updated", 0)].into();
    for (reference, results) in &queued {
        let kinds: BTreeSet<&str> = results.iter().map(|r| enqueued_name(r.enqueued)).collect();
        for r in results {
            *counts.entry(enqueued_name(r.enqueued)).or_default() += 1;
        }
        ctx.out.json(&json!({
            "reference": reference,
            "targets": results.iter().map(|r| json!({
                "target": r.delivery.target.to_string(),
                "enqueued": enqueued_name(r.enqueued),
                "id": r.delivery.id,
                "state": r.delivery.state,
                "revision": r.delivery.revision,
            })).collect::<Vec<_>>(),
        }));
        if !ctx.out.json {
            let detail = results
                .iter()
                .map(|r| {
                    let mut s = format!("{} #{}", r.delivery.target, r.delivery.id);
                    if kinds.len() > 1 {
                        s.push(' ');
                        s.push_str(enqueued_name(r.enqueued));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", ");
            let kind = if kinds.len() == 1 {
                kinds.first().copied().unwrap_or("")
            } else {
                "mixed"
            };
            ctx.out.human(format!("{kind:<9} {reference}  {detail}"));
        }
    }
    ctx.out.json(&json!({"summary": {
        "kind": kind.name(),
        "documents": queued.len(),
        "sales": queued.len(),
        "targets": names.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "deliveries": counts,
        "database": display,
    }}));
    ctx.out.human(format!(
        "\n{} {}s for {}: {} new, {} existing, {} updated deliveries in {display}",
        queued.len(),
        kind.name(),
        target_names(&targets),
        counts["new"],
        counts["existing"],
        counts["updated"],
    ));
    Ok(Exit::Ok)
}

fn enqueued_name(e: Enqueued) -> &'static str {
    match e {
        Enqueued::New => "new",
        Enqueued::Existing => "existing",
        Enqueued::Updated => "updated",
    }
}

/// Queues every record in one transaction: all of them, or (on a conflict) none.
async fn enqueue_all(
    outbox: &Outbox,
    records: &[Record<(String, Document)>],
    targets: &[Target],
) -> Result<Batch, CliError> {
    let db = |e| outbox_error("queueing the sales", OutboxError::from(e));
    if let Some(pool) = outbox.sqlite_pool() {
        // IMMEDIATE: take the write lock now, so a worker writing meanwhile makes us
        // wait rather than fail on a stale snapshot.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let batch = enqueue_each(outbox, &mut *tx, records, targets).await?;
        if matches!(batch, Batch::Queued(_)) {
            tx.commit().await.map_err(db)?;
        }
        Ok(batch)
    } else if let Some(pool) = outbox.postgres_pool() {
        let mut tx = pool.begin().await.map_err(db)?;
        let batch = enqueue_each(outbox, &mut *tx, records, targets).await?;
        if matches!(batch, Batch::Queued(_)) {
            tx.commit().await.map_err(db)?;
        }
        Ok(batch)
    } else {
        Err(CliError::new(
            Exit::Usage,
            anyhow!("the outbox is on an unknown kind of database"),
        ))
    }
}

async fn enqueue_each<C: OutboxConnection>(
    outbox: &Outbox,
    conn: &mut C,
    records: &[Record<(String, Document)>],
    targets: &[Target],
) -> Result<Batch, CliError> {
    let mut queued = Vec::with_capacity(records.len());
    let mut conflicts = Vec::new();
    for r in records {
        let (key, document) = &r.value;
        match outbox.enqueue_document_in(conn, document, targets).await {
            Ok(results) => queued.push((key.clone(), results)),
            Err(e @ OutboxError::Conflict { .. }) => {
                conflicts.push((r.location.clone(), key.clone(), e));
            }
            Err(e) => {
                return Err(outbox_error(
                    format!("{}: queueing {} {}", r.location, document.kind(), shorten(key)),
                    e,
                )
                .hint(format!("fix the record at {}; nothing was queued", r.location)));
            }
        }
    }
    Ok(if conflicts.is_empty() {
        Batch::Queued(queued)
    } else {
        Batch::Conflicts(conflicts)
    })
}

fn conflict_error(ctx: &Ctx, source: &str, total: usize, conflicts: Vec<(String, String, OutboxError)>) -> CliError {
    const SHOWN: usize = 10;
    let n = conflicts.len();
    let mut lines = Vec::new();
    for (i, (location, reference, e)) in conflicts.into_iter().enumerate() {
        ctx.out.json(&json!({
            "reference": reference,
            "outcome": "conflict",
            "error": {"kind": "conflict", "message": e.to_string(), "location": location},
        }));
        if i < SHOWN {
            lines.push(format!("  {location} ({reference}): {e}"));
        }
    }
    if n > SHOWN {
        lines.push(format!("  … and {} more", n - SHOWN));
    }
    CliError::new(
        Exit::Usage,
        anyhow!(
            "{source}: {n} of {total} sales conflict with what the outbox already holds; nothing was queued\n{}",
            lines.join("\n")
        ),
    )
    .hint("a changed sale needs a new reference (only a vendor that updates sales, such as EAS Pro, takes a change to a queued one)")
}

// ---------------------------------------------------------------------------------
// run

/// The options of `outbox run`.
#[derive(Debug, Clone, Copy)]
struct RunArgs {
    workers: u32,
    until_idle: bool,
    grace: Duration,
}

async fn run(ctx: &Ctx, db: Option<&str>, args: RunArgs, to: &[String]) -> Result<Exit, CliError> {
    let section = ctx.settings.outbox_section()?;
    // One connection per delivery in flight, one to claim and one to renew leases.
    let Opened { outbox, display } = open(ctx, db, args.workers.saturating_add(2)).await?;
    let targets = if to.is_empty() {
        default_run_targets(ctx, &section, &outbox).await?
    } else {
        named_targets(ctx, &section, to)?
    };
    if targets.is_empty() {
        return Err(no_targets());
    }
    let outbox = register(outbox, &targets);
    ctx.out.human(format!(
        "outbox worker: {} at once for {} on {display}; {}",
        args.workers,
        target_names(&targets),
        if args.until_idle {
            "until nothing is left to do"
        } else {
            "Ctrl-C or SIGTERM stops it"
        }
    ));

    let signalled = Arc::new(AtomicBool::new(false));
    let shutdown = shutdown_signal(signalled.clone(), args.grace)?;
    let started = Instant::now();
    let report = outbox
        .run(
            RunOptions {
                concurrency: usize::try_from(args.workers).unwrap_or(1),
                until_idle: args.until_idle,
                shutdown_grace: args.grace,
            },
            shutdown,
        )
        .await
        .map_err(|e| outbox_error("the outbox worker stopped", e));
    let elapsed = started.elapsed();
    let interrupted = signalled.load(Ordering::SeqCst);
    let rows = match report {
        Ok(_) => outbox.status().await.map_err(|e| outbox_error("reading the outbox", e)),
        Err(_) => Ok(Vec::new()),
    };
    outbox.close().await;
    let report = report?;
    let rows = rows?;

    let mine: BTreeSet<&Target> = targets.iter().map(|r| &r.target).collect();
    let mut outstanding: BTreeMap<&'static str, u64> =
        [("dead", 0), ("uncertain", 0), ("waiting", 0), ("blocked", 0)].into();
    for r in rows.iter().filter(|r| mine.contains(&r.target)) {
        let key = match r.state {
            DeliveryState::Dead => "dead",
            DeliveryState::Uncertain => "uncertain",
            DeliveryState::Blocked => "blocked",
            s if OPEN.contains(&s) => "waiting",
            _ => continue,
        };
        *outstanding.entry(key).or_default() += r.count;
    }
    let stopped = if interrupted {
        "signal"
    } else if args.until_idle {
        "idle"
    } else {
        "done"
    };
    let mut run_json = serde_json::to_value(&report).unwrap_or_default();
    if let Some(o) = run_json.as_object_mut() {
        o.insert(
            "elapsed_ms".into(),
            json!(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
        );
        o.insert("stopped".into(), json!(stopped));
    }
    ctx.out.json(&json!({
        "run": run_json,
        "targets": targets.iter().map(|r| r.target.to_string()).collect::<Vec<_>>(),
        "outstanding": outstanding,
        "database": display,
    }));
    if !ctx.out.json {
        let rows = [
            ("delivered", report.delivered, "the vendor took it (or already had it)"),
            (
                "retried",
                report.retried,
                "failed in a way that may pass; due again later",
            ),
            ("dead", report.dead, "refused for good, or given up"),
            (
                "uncertain",
                report.uncertain,
                "the vendor may have it: check, then `outbox resolve`",
            ),
            ("released", report.released, "claims given back untouched at shutdown"),
            (
                "fenced",
                report.fenced,
                "outcomes not recorded: the claim had passed to another worker",
            ),
            (
                "swept",
                report.swept,
                "left by a worker that died; queued again or marked uncertain",
            ),
        ]
        .map(|(name, n, what)| [name.to_owned(), n.to_string(), what.to_owned()]);
        outln!(
            "\nworker {} stopped ({stopped}) after {:.1}s",
            report.worker,
            elapsed.as_secs_f64()
        );
        outln!("{}", table(&["", "count", ""], &rows, &[false, true, false]));
        outln!(
            "\nin the outbox for these targets: {} waiting, {} dead, {} uncertain, {} blocked",
            outstanding["waiting"],
            outstanding["dead"],
            outstanding["uncertain"],
            outstanding["blocked"]
        );
        if outstanding["blocked"] > 0 {
            outln!(
                "blocked: returns, voids or payments behind a dead or uncertain sale (`posbridge outbox list \
                 --state blocked`); settle the sale, or `posbridge outbox release ID`"
            );
        }
        if outstanding["dead"] > 0 {
            outln!("dead: `posbridge outbox list --state dead` shows why; `posbridge outbox retry` queues them again");
        }
        if outstanding["uncertain"] > 0 {
            outln!(
                "uncertain: check at the vendor, then `posbridge outbox resolve ID --delivered` or `--resend` \
                 (`posbridge outbox list --state uncertain`)"
            );
        }
    }
    let failed = outstanding["dead"] + outstanding["uncertain"] + outstanding["blocked"] > 0;
    Ok(if args.until_idle && !interrupted && failed {
        Exit::RecordsFailed
    } else {
        Exit::Ok
    })
}

/// With no `--to`: every configured vendor that takes sales, and every other target
/// with sales waiting in the outbox (a target that cannot be set up is skipped with a
/// warning).
async fn default_run_targets(ctx: &Ctx, section: &OutboxSection, outbox: &Outbox) -> Result<Vec<Resolved>, CliError> {
    let mut out = configured_targets(ctx, section)?;
    let rows = outbox
        .status()
        .await
        .map_err(|e| outbox_error("reading the outbox", e))?;
    let waiting: BTreeMap<&Target, u64> =
        rows.iter()
            .filter(|r| OPEN.contains(&r.state) && r.count > 0)
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry(&r.target).or_default() += r.count;
                m
            });
    for (target, n) in waiting {
        if out.iter().any(|r| &r.target == target) {
            continue;
        }
        match connect_target(ctx, section, target, true) {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(e) => eprintln!(
                "warning: {n} sales wait for {target}, which is skipped:\n{}",
                e.render()
            ),
        }
    }
    Ok(out)
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM, noting it in `flag`. After it, a second
/// Ctrl-C or SIGTERM ends the process at once.
pub(crate) fn shutdown_signal(
    flag: Arc<AtomicBool>,
    grace: Duration,
) -> Result<impl Future<Output = ()> + Send + 'static, CliError> {
    let signals = Signals::new()?;
    Ok(async move {
        let mut signals = signals;
        let name = signals.next().await;
        flag.store(true, Ordering::SeqCst);
        eprintln!(
            "{name}: stopping; deliveries in flight get up to {}s to finish, the rest go back to the queue \
             (press Ctrl-C again to stop at once)",
            grace.as_secs()
        );
        tokio::spawn(async move {
            let name = signals.next().await;
            eprintln!("{name} again: stopping at once; claims in flight come back when their lease ends");
            std::process::exit(130);
        });
    })
}

/// Ctrl-C and, on Unix, SIGTERM.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, CliError> {
        Ok(Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot listen for SIGTERM: {e}")))?,
        })
    }

    /// The next signal's name.
    async fn next(&mut self) -> &'static str {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                // No Ctrl-C to wait for: never stop on it.
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        {
            let term = async {
                if self.term.recv().await.is_none() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = ctrl_c => "Ctrl-C",
                () = term => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            ctrl_c.await;
            "Ctrl-C"
        }
    }
}

// ---------------------------------------------------------------------------------
// status, list, retry, resolve, purge

async fn status(ctx: &Ctx, db: Option<&str>) -> Result<Exit, CliError> {
    let Opened { outbox, display } = open(ctx, db, 0).await?;
    let rows = outbox.status().await;
    outbox.close().await;
    let rows = rows.map_err(|e| outbox_error("reading the outbox", e))?;

    #[derive(Default)]
    struct PerTarget {
        counts: BTreeMap<DeliveryState, u64>,
        oldest_waiting_ms: Option<u64>,
    }
    let mut by_target: BTreeMap<Target, PerTarget> = BTreeMap::new();
    let mut totals: BTreeMap<DeliveryState, u64> = DeliveryState::ALL.iter().map(|s| (*s, 0)).collect();
    for r in rows {
        let entry = by_target.entry(r.target.clone()).or_default();
        *entry.counts.entry(r.state).or_default() += r.count;
        *totals.entry(r.state).or_default() += r.count;
        if OPEN.contains(&r.state) && r.count > 0 {
            entry.oldest_waiting_ms = entry.oldest_waiting_ms.max(r.oldest_age_ms);
        }
    }
    let counts_json = |counts: &BTreeMap<DeliveryState, u64>| {
        DeliveryState::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), json!(counts.get(s).copied().unwrap_or(0))))
            .collect::<serde_json::Map<_, _>>()
    };
    let oldest_overall = by_target.values().filter_map(|t| t.oldest_waiting_ms).max();
    ctx.out.json(&json!({
        "database": display,
        "targets": by_target.iter().map(|(t, p)| json!({
            "target": t.to_string(),
            "tenant": t.tenant,
            "vendor": t.vendor,
            "counts": counts_json(&p.counts),
            "total": p.counts.values().sum::<u64>(),
            "oldest_pending_age_ms": p.oldest_waiting_ms,
        })).collect::<Vec<_>>(),
        "totals": counts_json(&totals),
        "oldest_pending_age_ms": oldest_overall,
    }));
    if ctx.out.json {
        return Ok(Exit::Ok);
    }
    if by_target.is_empty() {
        outln!("the outbox at {display} is empty");
        return Ok(Exit::Ok);
    }
    outln!("outbox at {display}\n");
    let rows: Vec<[String; 10]> = by_target
        .iter()
        .map(|(t, p)| {
            let n = |s: DeliveryState| p.counts.get(&s).copied().unwrap_or(0).to_string();
            [
                t.to_string(),
                n(DeliveryState::Pending),
                n(DeliveryState::Delivering),
                n(DeliveryState::Retrying),
                n(DeliveryState::Delivered),
                n(DeliveryState::Dead),
                n(DeliveryState::Uncertain),
                n(DeliveryState::Blocked),
                n(DeliveryState::NotOffered),
                p.oldest_waiting_ms.map_or_else(|| "-".to_owned(), age),
            ]
        })
        .collect();
    outln!(
        "{}",
        table(
            &[
                "target",
                "pending",
                "delivering",
                "retrying",
                "delivered",
                "dead",
                "uncertain",
                "blocked",
                "not offered",
                "oldest waiting"
            ],
            &rows,
            &[false, true, true, true, true, true, true, true, true, true]
        )
    );
    let dead = totals[&DeliveryState::Dead];
    let uncertain = totals[&DeliveryState::Uncertain];
    let blocked = totals[&DeliveryState::Blocked];
    if blocked > 0 {
        outln!(
            "\n{blocked} blocked behind a dead or uncertain sale: `posbridge outbox list --state blocked` says which; \
             they follow once the sale is settled, or `posbridge outbox release ID` sends one now"
        );
    }
    if dead > 0 {
        outln!(
            "\n{dead} dead: `posbridge outbox list --state dead` shows why; `posbridge outbox retry` queues them again"
        );
    }
    if uncertain > 0 {
        outln!(
            "\n{uncertain} uncertain: check at the vendor, then `posbridge outbox resolve ID --delivered` or `--resend`"
        );
    }
    Ok(Exit::Ok)
}

/// An age in milliseconds as people read it: `45s`, `12m 5s`, `3h 20m`, `2d 4h`.
fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m {}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d {}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// A delivery as `list --json` prints it: the target as `vendor` or `tenant/vendor`.
fn delivery_json(d: &Delivery) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("target".into(), json!(d.target.to_string()));
        o.insert("tenant".into(), json!(d.target.tenant));
        o.insert("vendor".into(), json!(d.target.vendor));
    }
    v
}

async fn list(ctx: &Ctx, db: Option<&str>, state: Option<DeliveryState>, limit: u32) -> Result<Exit, CliError> {
    let Opened { outbox, .. } = open(ctx, db, 0).await?;
    let rows = outbox.list(state, limit).await;
    outbox.close().await;
    let rows = rows.map_err(|e| outbox_error("reading the outbox", e))?;
    for d in &rows {
        ctx.out.json(&delivery_json(d));
    }
    if ctx.out.json {
        return Ok(Exit::Ok);
    }
    if rows.is_empty() {
        outln!(
            "no deliveries{}",
            state.map(|s| format!(" in state {s}")).unwrap_or_default()
        );
        return Ok(Exit::Ok);
    }
    let table_rows: Vec<[String; 6]> = rows
        .iter()
        .map(|d| {
            let detail = match d.state {
                DeliveryState::Delivered => format!(
                    "{} by {}",
                    d.disposition.as_deref().unwrap_or("delivered"),
                    d.delivered_by.as_deref().unwrap_or("?")
                ),
                // Refused by the connector before sending: say so, as `push` does.
                _ if d.last_error_kind.as_deref() == Some("invalid") => {
                    format!("invalid (not sent): {}", d.last_error.as_deref().unwrap_or_default())
                }
                _ => d.last_error.clone().unwrap_or_default(),
            };
            let detail: String = detail.chars().take(160).collect();
            [
                d.id.to_string(),
                d.target.to_string(),
                d.reference.clone(),
                d.state.to_string(),
                d.attempts.to_string(),
                detail,
            ]
        })
        .collect();
    outln!(
        "{}",
        table(
            &["id", "target", "reference", "state", "attempts", "last error"],
            &table_rows,
            &[true, false, false, false, true, false]
        )
    );
    if rows.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
        outln!("(the first {limit}; --limit shows more, --json the whole messages)");
    }
    Ok(Exit::Ok)
}

async fn release(ctx: &Ctx, db: Option<&str>, id: i64) -> Result<Exit, CliError> {
    let Opened { outbox, .. } = open(ctx, db, 0).await?;
    let released = outbox.release(id).await;
    outbox.close().await;
    let d = released.map_err(|e| outbox_error(format!("releasing delivery {id}"), e))?;
    ctx.out.json(&delivery_json(&d));
    ctx.out.human(format!(
        "released #{} ({} {} at {}): it is {} and goes without waiting for its sale",
        d.id, d.kind, d.reference, d.target, d.state
    ));
    Ok(Exit::Ok)
}

async fn retry(ctx: &Ctx, db: Option<&str>, id: Option<i64>) -> Result<Exit, CliError> {
    let Opened { outbox, .. } = open(ctx, db, 0).await?;
    let n = outbox.retry_dead(id).await;
    outbox.close().await;
    let n = n.map_err(|e| outbox_error("queueing dead deliveries again", e))?;
    ctx.out.json(&json!({"requeued": n, "id": id}));
    ctx.out.human(match (id, n) {
        (Some(id), _) => format!("delivery {id} queued again; `posbridge outbox run` delivers it"),
        (None, 0) => "no dead deliveries".to_owned(),
        (None, n) => format!("{n} dead deliveries queued again; `posbridge outbox run` delivers them"),
    });
    Ok(Exit::Ok)
}

async fn resolve(ctx: &Ctx, db: Option<&str>, id: i64, resolution: Resolution) -> Result<Exit, CliError> {
    let Opened { outbox, .. } = open(ctx, db, 0).await?;
    let d = outbox.resolve(id, resolution).await;
    outbox.close().await;
    let d = d.map_err(|e| outbox_error(format!("resolving delivery {id}"), e))?;
    ctx.out.json(&json!({"resolved": delivery_json(&d)}));
    ctx.out.human(match resolution {
        Resolution::Delivered => format!("delivery {id} ({} {}) marked delivered", d.target, d.reference),
        Resolution::Resend => format!(
            "delivery {id} ({} {}) queued to be sent again; `posbridge outbox run` sends it",
            d.target, d.reference
        ),
    });
    Ok(Exit::Ok)
}

async fn purge(ctx: &Ctx, db: Option<&str>, before: &str) -> Result<Exit, CliError> {
    let before = parse_before(before, Timestamp::now())?;
    let Opened { outbox, .. } = open(ctx, db, 0).await?;
    let n = outbox.purge_delivered_before(before).await;
    outbox.close().await;
    let n = n.map_err(|e| outbox_error("purging delivered deliveries", e))?;
    ctx.out.json(&json!({"purged": n, "delivered_before": before}));
    ctx.out
        .human(format!("{n} delivered deliveries purged (delivered before {before})"));
    Ok(Exit::Ok)
}

/// `--delivered-before`: an RFC 3339 timestamp, or a duration back from `now` (`7d`,
/// `24h`, `90m`, `1d12h`; units s, m, h, d, w).
fn parse_before(text: &str, now: Timestamp) -> Result<Timestamp, CliError> {
    let text = text.trim();
    let bad = || {
        CliError::new(
            Exit::Usage,
            anyhow!(
                "--delivered-before {} is neither an RFC 3339 timestamp nor a duration",
                quote(text)
            ),
        )
        .hint("e.g. 2026-11-01T00:00:00+08:00, or 7d, 24h, 90m, 1d12h (units s, m, h, d, w)")
    };
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    let mut secs: i64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        secs = n.checked_mul(unit).and_then(|s| secs.checked_add(s)).ok_or_else(bad)?;
        any = true;
    }
    if !any || !digits.is_empty() {
        return Err(bad());
    }
    now.as_second()
        .checked_sub(secs)
        .and_then(|s| Timestamp::from_second(s).ok())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_takes_timestamps_and_durations() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let at = |s: &str| parse_before(s, now).map(|t| t.to_string()).map_err(|e| e.render());
        assert_eq!(at("7d").unwrap(), "2026-11-19T12:00:00Z");
        assert_eq!(at("24h").unwrap(), "2026-11-25T12:00:00Z");
        assert_eq!(at("1d12h").unwrap(), "2026-11-25T00:00:00Z");
        assert_eq!(at("90m").unwrap(), "2026-11-26T10:30:00Z");
        assert_eq!(at("0s").unwrap(), "2026-11-26T12:00:00Z");
        assert_eq!(at("2026-11-01T08:00:00+08:00").unwrap(), "2026-11-01T00:00:00Z");
        for bad in ["", "7", "d", "7x", "yesterday", "-7d", "99999999999999999w"] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sqlite_paths_resolve_against_the_config_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sub = d.join("sub");
        assert_eq!(
            sqlite_location("sqlite://outbox.db", Some(d)).unwrap(),
            d.join("outbox.db").display().to_string()
        );
        assert_eq!(
            sqlite_location("sqlite:q/outbox.db?mode=rwc", Some(&sub)).unwrap(),
            format!("sqlite://{}?mode=rwc", sub.join("q/outbox.db").display())
        );
        assert!(sub.join("q").is_dir(), "the directory is created");
        let abs = d.join("abs.db").display().to_string();
        assert_eq!(sqlite_location(&format!("sqlite://{abs}"), Some(&sub)).unwrap(), abs);
        assert_eq!(sqlite_location("sqlite::memory:", Some(d)).unwrap(), "sqlite::memory:");
        let pg = "postgres://u:p@127.0.0.1:5432/x";
        assert_eq!(sqlite_location(pg, Some(d)).unwrap(), pg);
        assert!(sqlite_location("sqlite://", Some(d)).is_err());
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgres://bob:s3cret@db.example:5432/pos"),
            "postgres://bob:***@db.example:5432/pos"
        );
        assert_eq!(redact("postgres://bob@db.example/pos"), "postgres://bob@db.example/pos");
        assert_eq!(redact("/tmp/x.db"), "sqlite:///tmp/x.db");
        let e = CliError::new(Exit::Unavailable, anyhow!("inner s3cret").context("outer s3cret"));
        let e = hide_password("postgres://bob:s3cret@db/pos", e);
        assert!(!e.render().contains("s3cret"), "{}", e.render());
        assert!(
            e.render().contains("outer ***") && e.render().contains("inner ***"),
            "{}",
            e.render()
        );
    }

    #[test]
    fn targets_default_to_the_tenant_in_scope() {
        assert_eq!(parse_target("easpro", "default").unwrap(), Target::new("easpro"));
        assert_eq!(
            parse_target("easpro", "colombo").unwrap(),
            Target::for_tenant("colombo", "easpro")
        );
        assert_eq!(
            parse_target(" acme/codemax ", "colombo").unwrap(),
            Target::for_tenant("acme", "codemax")
        );
        assert!(parse_target("a/b/c", "default").is_err());
        assert!(parse_target("", "default").is_err());
    }

    #[test]
    fn the_outbox_section_maps_onto_the_config() {
        let section: OutboxSection = toml::from_str(
            "database = \"sqlite://x.db\"\nlease_secs = 2\nmax_attempts = 5\nbackoff_base_ms = 50\n\
             backoff_max_ms = 1000\npoll_interval_ms = 20\n[targets.codemax]\nrequests_per_second = 5\n",
        )
        .unwrap();
        let c = outbox_config(&section, 6).unwrap();
        assert_eq!(c.lease, Duration::from_secs(2));
        assert_eq!(c.max_attempts, 5);
        assert_eq!(c.backoff_base, Duration::from_millis(50));
        assert_eq!(c.backoff_max, Duration::from_secs(1));
        assert_eq!(c.poll_interval, Duration::from_millis(20));
        assert_eq!(c.max_connections, OutboxConfig::default().max_connections + 6);
        assert_eq!(section.targets["codemax"].requests_per_second, Some(5));
        let zero: OutboxSection = toml::from_str("lease_secs = 0").unwrap();
        assert!(outbox_config(&zero, 0).is_err());
        assert!(
            toml::from_str::<OutboxSection>("lease = 2").is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(age(4_500), "4s");
        assert_eq!(age(725_000), "12m 5s");
        assert_eq!(age(12_000_000), "3h 20m");
        assert_eq!(age(187_200_000), "2d 4h");
    }
}
