//! The scenarios, the harness they share, and the child processes.

mod batching;
mod footprint;
mod instructions;
mod mapping;
mod outbox;
mod per_call;
mod sandbox;
mod serve;
mod streaming;

use std::cell::Cell;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures_util::StreamExt;
use posbridge_bench::vendors;
use posbridge_core::reqwest;

use crate::Options;
use crate::report::Row;
use crate::server::{Answer, MiniServer, ServerThread};

/// What every scenario gets.
pub struct Ctx<'a> {
    /// The run's options.
    pub options: &'a Options,
    /// The thread the servers run on.
    pub servers: &'a ServerThread,
    /// The minimal server answering every vendor at once.
    pub mini: MiniServer,
    /// A client built as the connectors build theirs, for the raw baselines.
    pub raw: reqwest::Client,
}

/// Runs every scenario asked for; a scenario that errors becomes a failed row.
pub async fn run_all(options: &Options, servers: &ServerThread) -> Vec<Row> {
    let ctx = match setup(options, servers).await {
        Ok(ctx) => ctx,
        Err(e) => {
            return vec![Row::failed(
                "-",
                "setup",
                crate::report::Target::None,
                &format!("{e:#}"),
            )];
        }
    };
    let mut rows = Vec::new();
    type Scenario = for<'b> fn(&'b Ctx<'b>) -> futures_util::future::LocalBoxFuture<'b, Result<Vec<Row>>>;
    let scenarios: [(u32, &str, Scenario); 9] = [
        (1, "per-call overhead", |c| Box::pin(per_call::run(c))),
        (2, "mapping and validation", |c| Box::pin(mapping::run(c))),
        (3, "batching", |c| Box::pin(batching::run(c))),
        (4, "streaming", |c| Box::pin(streaming::run(c))),
        (5, "outbox", |c| Box::pin(outbox::run(c))),
        (6, "sandbox", |c| Box::pin(sandbox::run(c))),
        (7, "footprint", |c| Box::pin(footprint::run(c))),
        (8, "serve", |c| Box::pin(serve::run(c))),
        (9, "instructions", |c| Box::pin(instructions::run(c))),
    ];
    for (n, name, scenario) in scenarios {
        if !options.runs(n) {
            continue;
        }
        eprintln!("\n== {n} {name} (load {})", crate::report::load());
        let t = Instant::now();
        match scenario(&ctx).await {
            Ok(mut r) => rows.append(&mut r),
            Err(e) => {
                eprintln!("   failed: {e:#}");
                rows.push(Row::failed(
                    &format!("{n} {name}"),
                    "scenario",
                    crate::report::Target::None,
                    &format!("{e:#}"),
                ));
            }
        }
        eprintln!("   {:.1} s", t.elapsed().as_secs_f64());
    }
    rows
}

/// The minimal server's routes: for each vendor with a bench hook, its push and login
/// routes under `/<name>/`, and its paged list under `/<name>/` (every page) and
/// `/<name>-small/` (the first [`streaming::SMALL_PAGES`] pages).
fn routes(options: &Options) -> Vec<(String, Answer)> {
    let mut routes = Vec::new();
    for v in vendors::all() {
        for route in v.hook.login().into_iter().chain(v.hook.push()) {
            routes.push((v.route_path(route), Answer::from_hook(&route.answer)));
        }
        if let Some(paged) = v.hook.paged() {
            let pages = streaming::pages(paged, options.pick(1_000, 100));
            let small = Arc::new(
                pages
                    .iter()
                    .take(streaming::SMALL_PAGES)
                    .cloned()
                    .collect::<Vec<Bytes>>(),
            );
            routes.push((
                format!("/{}/{}", v.name(), paged.path),
                Answer::Pages(*paged, Arc::new(pages)),
            ));
            routes.push((streaming::small_path(&v, paged), Answer::Pages(*paged, small)));
        }
    }
    routes
}

async fn setup<'a>(options: &'a Options, servers: &'a ServerThread) -> Result<Ctx<'a>> {
    let mini = MiniServer::start(servers.handle(), routes(options), None).await?;
    let raw = posbridge_core::http::build_client(&posbridge_bench::fixture::http())?;
    Ok(Ctx {
        options,
        servers,
        mini,
        raw,
    })
}

/// The child processes: `child stream-rss VENDOR URL ITEMS`, `child outbox-worker
/// VENDOR DB URL C`, `child count-mapping VENDOR SIDE N` (under callgrind) and `child footprint-vendors` (for `cargo xtask bench`, which
/// builds the footprint binaries for the vendors it prints).
pub fn child(args: &[String]) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("the child's runtime")?;
    match args.first().map(String::as_str) {
        Some("stream-rss") => rt.block_on(streaming::child(&args[1..]))?,
        Some("outbox-worker") => rt.block_on(outbox::child(&args[1..]))?,
        Some("footprint-vendors") => footprint::child()?,
        Some("count-mapping") => instructions::child(&args[1..])?,
        other => bail!("unknown child {other:?}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Alternates the two sides: baseline first in even rounds, posbridge first in odd
/// ones, so that a drift in the machine's load does not favour one side.
pub fn baseline_first(round: usize) -> bool {
    round.is_multiple_of(2)
}

/// `n` calls one after the other; each call's latency in µs, sorted.
pub async fn latencies<F, Fut>(n: usize, call: F) -> Result<Vec<f64>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call().await?;
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// `n` calls, `concurrency` in flight at once; calls per second.
pub async fn throughput<F, Fut>(n: usize, concurrency: usize, call: F) -> Result<f64>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let failures = Cell::new(0usize);
    let first_error: Cell<Option<anyhow::Error>> = Cell::new(None);
    let t = Instant::now();
    futures_util::stream::iter(0..n)
        .for_each_concurrent(concurrency, |_| async {
            if let Err(e) = call().await {
                failures.set(failures.get() + 1);
                if let Some(previous) = first_error.replace(None) {
                    first_error.set(Some(previous));
                } else {
                    first_error.set(Some(e));
                }
            }
        })
        .await;
    let elapsed = t.elapsed();
    if let Some(e) = first_error.take() {
        bail!("{} of {n} calls failed; the first: {e:#}", failures.get());
    }
    Ok(rate(n, elapsed))
}

/// `n` per `elapsed`, per second.
pub fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

/// A raw POST of `body` with `headers`: status checked, body read.
pub async fn raw_post(
    client: &reqwest::Client,
    url: &str,
    headers: &reqwest::header::HeaderMap,
    body: &Bytes,
) -> Result<()> {
    let response = client
        .post(url)
        .headers(headers.clone())
        .body(body.clone())
        .send()
        .await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(&bytes));
    }
    Ok(())
}

/// The server's captured headers as the client's header type.
pub fn client_headers(captured: &axum::http::HeaderMap) -> Result<reqwest::header::HeaderMap> {
    let mut out = reqwest::header::HeaderMap::new();
    for (name, value) in captured {
        out.insert(
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes())?,
            reqwest::header::HeaderValue::from_bytes(value.as_bytes())?,
        );
    }
    Ok(out)
}
