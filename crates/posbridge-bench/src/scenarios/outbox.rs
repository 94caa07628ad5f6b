//! Scenario 5, the outbox, delivering to one vendor: the first whose push is one
//! request with a fixed answer ([`Vendor::single_push`]), that takes one sale per
//! request, and whose sale push is idempotent (a re-send is safe, so the outbox
//! claims deliveries ahead) — EAS Pro's upsert.
//!
//! - SQLite: sustained deliveries/s of `Outbox::run` (concurrency 4, until idle) over
//!   pre-enqueued sales to that vendor on the minimal server, against pushing the
//!   same sales directly through the same connector, 4 at a time.
//! - PostgreSQL: deliveries/s with 4 worker processes against 1, when the vendor
//!   takes 10 ms per request. Each run gets a fresh database; the workers are this
//!   binary's `child outbox-worker`, started, opened, and then released together.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;
use posbridge_bench::fixture;
use posbridge_bench::vendors::{self, Vendor};
use posbridge_core::{Connector, Sale, Sales};
use posbridge_outbox::{Outbox, OutboxConfig, RunOptions, Target};
use sqlx::Connection;

use super::{Ctx, baseline_first, rate};
use crate::report::{Row, Target as Goal};
use crate::server::{Answer, MiniServer};

const SCENARIO: &str = "5 outbox";
/// Deliveries in flight per worker, and pushes in flight for the direct baseline
/// (`RunOptions::default().concurrency`).
const CONCURRENCY: usize = 4;
/// What the slow vendor takes per request in the PostgreSQL part.
const VENDOR_DELAY: Duration = Duration::from_millis(10);

fn config() -> OutboxConfig {
    OutboxConfig {
        // Idle workers look again soon, so the end of a run is not a poll away.
        poll_interval: Duration::from_millis(10),
        ..OutboxConfig::default()
    }
}

fn options() -> RunOptions {
    RunOptions {
        concurrency: CONCURRENCY,
        until_idle: true,
        shutdown_grace: Duration::from_secs(30),
    }
}

/// The vendor the outbox delivers to (see the module docs).
fn vendor() -> Result<Vendor> {
    vendors::all()
        .into_iter()
        .find(|v| {
            let c = v.descriptor.capabilities();
            v.single_push().is_some() && c.max_batch.is_none() && c.sale_duplicates.is_idempotent()
        })
        .context("no vendor's bench hook declares a one-request push to a vendor whose sale push is idempotent")
}

fn target(v: &Vendor) -> Target {
    Target::new(v.name())
}

/// The vendor's connector for the server at `base_url`.
fn connector(v: &Vendor, base_url: &str) -> Result<Arc<dyn Connector>> {
    Ok(v.client(base_url)?.connector())
}

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let v = vendor()?;
    let mut rows = vec![sqlite(ctx, &v).await?];
    rows.push(match &ctx.options.postgres_url {
        None => {
            let why = "PostgreSQL part did not run: no PostgreSQL (no POSBRIDGE_TEST_POSTGRES_URL and no server \
                       binaries for a throwaway cluster)";
            eprintln!("   {why}");
            Row::skipped(
                SCENARIO,
                "PostgreSQL 4 worker processes ÷ 1, vendor 10 ms",
                Goal::AtLeast(3.0),
                why,
            )
        }
        Some(url) => postgres(ctx, &v, url).await?,
    });
    Ok(rows)
}

async fn sqlite(ctx: &Ctx<'_>, v: &Vendor) -> Result<Row> {
    let o = ctx.options;
    let n = o.pick(2_000, 200);
    let connector = connector(v, &ctx.mini.url(&v.prefix()))?;
    let direct_sales = connector
        .sales()
        .with_context(|| format!("{} offers no sales", v.name()))?;
    let sales = fixture::sales("OBX", n)?;
    let mut rounds = Vec::new();
    let mut enqueue_rates = Vec::new();
    for round in 0..o.rounds {
        let through_outbox = || async {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
            let outbox = Outbox::open(&url, config())
                .await?
                .with_target(target(v), connector.clone());
            let t = Instant::now();
            for sale in &sales {
                outbox.enqueue(sale, &[target(v)]).await?;
            }
            let enqueued = rate(n, t.elapsed());
            let t = Instant::now();
            let report = outbox.run(options(), std::future::pending()).await?;
            let delivered = rate(n, t.elapsed());
            ensure!(
                report.delivered == n as u64,
                "the outbox delivered {} of {n}: {report:?}",
                report.delivered
            );
            outbox.close().await;
            Ok::<_, anyhow::Error>((delivered, enqueued))
        };
        let direct = || push_directly(direct_sales, &sales);
        let ((outbox, enqueued), direct) = if baseline_first(round) {
            let d = direct().await?;
            (through_outbox().await?, d)
        } else {
            let x = through_outbox().await?;
            (x, direct().await?)
        };
        eprintln!(
            "   SQLite round {}: {outbox:.0} deliveries/s vs {direct:.0} direct pushes/s (enqueue {enqueued:.0}/s)",
            round + 1
        );
        rounds.push((outbox, direct));
        enqueue_rates.push(enqueued);
    }
    let enqueue = crate::report::median(&enqueue_rates).unwrap_or(f64::NAN);
    Ok(Row::paired(
        SCENARIO,
        &format!("SQLite outbox deliveries vs direct push_sale, c={CONCURRENCY}"),
        "sales/s",
        &rounds,
        Goal::AtLeast(0.5),
        o.smoke,
    )
    .note(format!(
        "{n} {} sales per side per round, pre-enqueued (enqueue alone: {enqueue:.0} sales/s)",
        v.display_name()
    )))
}

/// Pushes `sales` through `connector`, [`CONCURRENCY`] at a time; sales/s.
async fn push_directly(connector: &dyn Sales, sales: &[Sale]) -> Result<f64> {
    let t = Instant::now();
    let failures = futures_util::stream::iter(sales)
        .map(|sale| connector.push_sale(sale))
        .buffer_unordered(CONCURRENCY)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    ensure!(failures == 0, "{failures} direct pushes failed");
    Ok(rate(sales.len(), t.elapsed()))
}

async fn postgres(ctx: &Ctx<'_>, v: &Vendor, admin: &str) -> Result<Row> {
    let o = ctx.options;
    let n = o.pick(1_200, 200);
    let push = v.single_push().context("the outbox's vendor has no push route")?;
    let slow = MiniServer::start(
        ctx.servers.handle(),
        vec![(v.route_path(push), Answer::from_hook(&push.answer))],
        Some(VENDOR_DELAY),
    )
    .await?;
    let vendor_url = slow.url(&v.prefix());
    let sales = fixture::sales("PGX", n)?;
    let mut rounds = Vec::new();
    for round in 0..o.rounds.min(3) {
        let (four, one) = if baseline_first(round) {
            let one = pg_run(v, admin, &vendor_url, &sales, 1, round).await?;
            (pg_run(v, admin, &vendor_url, &sales, 4, round).await?, one)
        } else {
            let four = pg_run(v, admin, &vendor_url, &sales, 4, round).await?;
            (four, pg_run(v, admin, &vendor_url, &sales, 1, round).await?)
        };
        eprintln!(
            "   PostgreSQL round {}: 4 workers {four:.0}/s, 1 worker {one:.0}/s = {:.2}x",
            round + 1,
            four / one
        );
        rounds.push((four, one));
    }
    Ok(Row::paired(
        SCENARIO,
        "PostgreSQL 4 worker processes ÷ 1, vendor 10 ms",
        "sales/s",
        &rounds,
        Goal::AtLeast(3.0),
        o.smoke,
    )
    .note(format!(
        "{n} {} sales per run, each run in a fresh database; {CONCURRENCY} in flight per worker process; \
         ideal: 1 worker {:.0}/s, 4 workers {:.0}/s",
        v.display_name(),
        CONCURRENCY as f64 * 1000.0 / VENDOR_DELAY.as_millis() as f64,
        4.0 * CONCURRENCY as f64 * 1000.0 / VENDOR_DELAY.as_millis() as f64
    )))
}

/// A database URL on the same server as `admin`, named `name`.
fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// One run: a fresh database with `sales` enqueued, `workers` worker processes
/// released together; deliveries/s from the release to the last worker's exit.
async fn pg_run(
    v: &Vendor,
    admin: &str,
    vendor_url: &str,
    sales: &[Sale],
    workers: usize,
    round: usize,
) -> Result<f64> {
    let name = format!("posbridge_bench_{}_{round}_{workers}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
        .execute(&mut conn)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let url = database_url(admin, &name);
    let result = async {
        // Migrations and the queue, from this process.
        let outbox = Outbox::open(&url, config())
            .await?
            .with_target(target(v), connector(v, vendor_url)?);
        for sale in sales {
            outbox.enqueue(sale, &[target(v)]).await?;
        }
        outbox.close().await;
        let mut children = Vec::new();
        for _ in 0..workers {
            children.push(Worker::spawn(v, &url, vendor_url)?);
        }
        for c in &mut children {
            c.wait_ready()?;
        }
        let t = Instant::now();
        for c in &mut children {
            c.go()?;
        }
        let mut delivered = 0;
        for c in children {
            delivered += c.finish()?;
        }
        let elapsed = t.elapsed();
        ensure!(
            delivered == sales.len() as u64,
            "{workers} workers delivered {delivered} of {}",
            sales.len()
        );
        Ok(rate(sales.len(), elapsed))
    }
    .await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    conn.close().await.ok();
    result
}

/// A worker process.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(v: &Vendor, db: &str, vendor_url: &str) -> Result<Worker> {
        let exe = std::env::current_exe().context("this binary's path")?;
        let mut child = Command::new(exe)
            .args([
                "child",
                "outbox-worker",
                v.name(),
                db,
                vendor_url,
                &CONCURRENCY.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting a worker process")?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("the worker's stdout")?);
        Ok(Worker { child, stdin, stdout })
    }

    fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line.trim().to_owned())
    }

    fn wait_ready(&mut self) -> Result<()> {
        let line = self.line()?;
        ensure!(line == "ready", "the worker said {line:?} instead of ready");
        Ok(())
    }

    fn go(&mut self) -> Result<()> {
        let stdin = self.stdin.as_mut().context("the worker's stdin")?;
        stdin.write_all(b"go\n")?;
        stdin.flush()?;
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        let line = self.line()?;
        let status = self.child.wait()?;
        ensure!(status.success(), "a worker process failed ({status})");
        line.strip_prefix("delivered=")
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("the worker said {line:?}"))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A worker left behind by an error: end it (our own child, by its id).
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The child: opens the outbox at `DB` with `VENDOR` at `VENDOR_URL`, says `ready`,
/// waits for a line on stdin, runs until idle, prints `delivered=N`.
pub async fn child(args: &[String]) -> Result<()> {
    let [vendor, db, vendor_url, concurrency] = args else {
        bail!("usage: posbridge-bench child outbox-worker VENDOR DB_URL VENDOR_URL CONCURRENCY");
    };
    let v = vendors::named(vendor)?;
    let outbox = Outbox::open(db, config())
        .await?
        .with_target(target(&v), connector(&v, vendor_url)?);
    println!("ready");
    std::io::stdout().flush()?;
    let mut go = String::new();
    std::io::stdin().read_line(&mut go)?;
    let report = outbox
        .run(
            RunOptions {
                concurrency: concurrency.parse()?,
                ..options()
            },
            std::future::pending(),
        )
        .await?;
    println!("delivered={}", report.delivered);
    Ok(())
}
