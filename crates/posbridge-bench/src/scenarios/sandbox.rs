//! Scenario 6, the sandbox: how many CloudMA push-sale requests per second the
//! stateful sandbox sustains at concurrency 32 (a raw client posting the connector's
//! form bodies, each with its own reference, since the sandbox refuses a repeated
//! one). Every other scenario sends to the minimal server, so this is the only one
//! that measures the sandbox. No baseline, no target.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use futures_util::StreamExt;
use posbridge_bench::fixture;
use posbridge_core::Decimal;
use posbridge_core::http::Body;
use posbridge_core::reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use posbridge_sandbox::{Catalogue, Product, Sandbox, SandboxConfig};

use super::{Ctx, rate, raw_post};
use crate::report::Row;

const SCENARIO: &str = "6 sandbox";
const CONCURRENCY: usize = 32;

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let o = ctx.options;
    let n = o.pick(5_000, 500);
    let rounds = o.pick(o.rounds.min(3), 1);
    let catalogue = Catalogue {
        products: (0..fixture::LINES)
            .map(|i| Product {
                code: fixture::product_code(i),
                name: format!("Benchmark product {}", i + 1),
                price: Decimal::ONE_HUNDRED,
                stock: Decimal::from(1_000_000_000u64),
            })
            .collect(),
    };
    let config = SandboxConfig {
        catalogue,
        ..SandboxConfig::default()
    };
    let sandbox = ctx
        .servers
        .handle()
        .spawn(Sandbox::start(config))
        .await
        .context("the server runtime")??;
    let url = format!("{}api/push-sale", sandbox.vendor_url("cloudma"));

    // Every request's body, built before the clock starts.
    let cloudma = fixture::cloudma(&sandbox.vendor_url("cloudma"))?;
    let mut bodies: Vec<Bytes> = Vec::with_capacity(n * rounds);
    for sale in fixture::sales("SBX", n * rounds)? {
        let request = cloudma.bench_sale_request(&sale)?;
        if let Body::Form(b) = request.body() {
            bodies.push(b.clone());
        }
    }
    ensure!(bodies.len() == n * rounds, "CloudMA bodies are not forms");
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );

    let mut rates = Vec::new();
    for (round, chunk) in bodies.chunks(n).enumerate() {
        let t = Instant::now();
        let failures: Vec<anyhow::Error> = futures_util::stream::iter(chunk)
            .map(|body| raw_post(&ctx.raw, &url, &headers, body))
            .buffer_unordered(CONCURRENCY)
            .filter_map(|r| std::future::ready(r.err()))
            .collect()
            .await;
        let elapsed = t.elapsed();
        if let Some(e) = failures.first() {
            anyhow::bail!("{} of {n} sandbox requests failed; the first: {e:#}", failures.len());
        }
        let r = rate(n, elapsed);
        eprintln!("   round {}: {r:.0} requests/s", round + 1);
        rates.push(r);
    }
    let booked = sandbox.state();
    drop(sandbox);
    Ok(vec![
        Row::single(
            SCENARIO,
            &format!("CloudMA push-sale route, c={CONCURRENCY}"),
            "req/s",
            &rates,
            o.smoke,
        )
        .note(format!(
            "{n} requests (20-line sales, all 201) per round, {rounds} round(s); the sandbox holds {} CloudMA sales after",
            documents(&booked)
        )),
    ])
}

fn documents(state: &posbridge_sandbox::StateSnapshot) -> usize {
    state.documents.get("cloudma").map_or(0, |d| d.sales.len())
}
