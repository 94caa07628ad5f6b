//! Scenario 8, `posbridge serve`: what the HTTP front costs a till. 64 clients post
//! sales to the API (`POST /v1/sales`, answered once the deliveries are committed to
//! a SQLite outbox) against 64 tasks calling [`Outbox::enqueue`] in-process on the
//! same kind of outbox: sales/s as a ratio, and the API's p99 latency at c=64. No
//! worker runs: ingest alone is measured. The server runs on its own two-thread
//! runtime, as `posbridge serve` does; the clients on the bench's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use futures_util::StreamExt;
use posbridge_bench::fixture;
use posbridge_bench::vendors::{self, Vendor};
use posbridge_core::{Connector, Sale};
use posbridge_outbox::{Outbox, OutboxConfig, Target};
use posbridge_server::keys::{self, Role};
use posbridge_server::{Server, ServerConfig};
use secrecy::ExposeSecret;

use super::{Ctx, baseline_first, rate};
use crate::report::{Row, Target as Goal, percentile};

const SCENARIO: &str = "8 serve";
/// Clients (and in-process tasks) at once.
const CONCURRENCY: usize = 64;

/// The vendor the sales are queued for: the first with a bench hook (nothing is
/// delivered, so any will do).
fn vendor() -> Result<Vendor> {
    vendors::all().into_iter().next().context("no vendor has a bench hook")
}

async fn outbox(dir: &tempfile::TempDir, target: &Target, connector: Arc<dyn Connector>) -> Result<Outbox> {
    let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
    let config = OutboxConfig {
        max_connections: 16,
        ..OutboxConfig::default()
    };
    Ok(Outbox::open(&url, config).await?.with_target(target.clone(), connector))
}

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let o = ctx.options;
    let n = o.pick(2_000, 200);
    let v = vendor()?;
    let target = Target::new(v.name());
    let connector = v.client(&ctx.mini.url(&v.prefix()))?.connector();
    let background = Background(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("the server's runtime")?,
    ));
    let server_rt = background.handle();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .context("the clients' HTTP client")?;
    let mut rounds = Vec::new();
    let mut p99s = Vec::new();
    for round in 0..o.rounds {
        // Fresh sales per round and side: an enqueue of a sale already queued is a
        // cheaper no-op, which would flatter whichever side came second.
        let api_sales = fixture::sales(&format!("API{round}-"), n)?;
        let local_sales = fixture::sales(&format!("LOC{round}-"), n)?;
        let through_api = async || -> Result<(f64, f64)> {
            let dir = tempfile::tempdir()?;
            let outbox = outbox(&dir, &target, connector.clone()).await?;
            let server = Server::builder(outbox)
                .config(ServerConfig {
                    requests_per_minute: u32::MAX,
                    ..ServerConfig::default()
                })
                .target(target.clone(), connector.clone())
                .build()
                .await?;
            let key = keys::create(server.outbox(), Role::tenant(target.tenant.clone()), "bench").await?;
            let listener = server_rt.spawn(tokio::net::TcpListener::bind("127.0.0.1:0")).await??;
            let url = format!("http://{}/v1/sales", listener.local_addr()?);
            let router = server.router();
            let serving = server_rt.spawn(async move { axum::serve(listener, router).await });
            let secret = key.secret.expose_secret().to_owned();
            let t = Instant::now();
            let latencies: Vec<Result<Duration>> = futures_util::stream::iter(&api_sales)
                .map(|sale| post(&http, &url, &secret, sale))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let took = t.elapsed();
            serving.abort();
            let mut ms: Vec<f64> = latencies
                .into_iter()
                .map(|l| l.map(|d| d.as_secs_f64() * 1000.0))
                .collect::<Result<_>>()?;
            ms.sort_by(f64::total_cmp);
            server.outbox().close().await;
            Ok((rate(n, took), percentile(&ms, 99.0)))
        };
        let in_process = async || -> Result<f64> {
            let dir = tempfile::tempdir()?;
            let outbox = outbox(&dir, &target, connector.clone()).await?;
            let t = Instant::now();
            let failures = futures_util::stream::iter(&local_sales)
                .map(|sale| outbox.enqueue(sale, std::slice::from_ref(&target)))
                .buffer_unordered(CONCURRENCY)
                .filter(|r| std::future::ready(r.is_err()))
                .count()
                .await;
            let took = t.elapsed();
            ensure!(failures == 0, "{failures} in-process enqueues failed");
            outbox.close().await;
            Ok(rate(n, took))
        };
        let ((api, p99), local) = if baseline_first(round) {
            let local = in_process().await?;
            (through_api().await?, local)
        } else {
            let api = through_api().await?;
            (api, in_process().await?)
        };
        eprintln!(
            "   round {}: API {api:.0} sales/s (p99 {p99:.1} ms) vs in-process enqueue {local:.0} sales/s",
            round + 1
        );
        rounds.push((api, local));
        p99s.push(p99);
    }
    Ok(vec![
        Row::paired(
            SCENARIO,
            &format!("API ingest (POST → committed) vs in-process enqueue, c={CONCURRENCY}"),
            "sales/s",
            &rounds,
            Goal::AtLeast(0.70),
            o.smoke,
        )
        .note(format!(
            "{n} sales per side per round, SQLite outbox, one vendor target"
        )),
        Row::single(
            SCENARIO,
            &format!("API ingest p99 latency, c={CONCURRENCY}"),
            "ms",
            &p99s,
            o.smoke,
        ),
    ])
}

/// A runtime dropped from async code: shut down in the background (dropping it
/// in place would block the bench's own runtime).
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Posts one sale; its latency. Anything but 201 is an error.
async fn post(http: &reqwest::Client, url: &str, key: &str, sale: &Sale) -> Result<Duration> {
    let t = Instant::now();
    let r = http.post(url).bearer_auth(key).json(sale).send().await?;
    let status = r.status();
    ensure!(
        status == 201,
        "POST answered {status}: {}",
        r.text().await.unwrap_or_default()
    );
    Ok(t.elapsed())
}
