//! Scenario 6, the sandbox: how many push requests per second the stateful sandbox
//! sustains at concurrency 32 on one vendor's push route (a raw client posting the
//! connector's bodies, each with its own reference, since the sandbox refuses a
//! repeated one). The vendor is the first whose push is one request with a fixed
//! answer and carries its credentials in its body ([`Vendor::single_push`],
//! `BenchHook::credentials_in_body`), so that the body alone is accepted: CloudMA,
//! whose bench token is its document's, which the sandbox accepts. Every other
//! scenario sends to the minimal server, so this is the only one that measures the
//! sandbox. No baseline, no target.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use futures_util::StreamExt;
use posbridge_bench::fixture;
use posbridge_bench::vendors::{self, Vendor};
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
        .spawn(Sandbox::start(config, imitations()))
        .await
        .context("the server runtime")??;
    let (v, push) = vendor()?;
    let vendor_url = sandbox.vendor_url(v.name());
    let url = format!("{vendor_url}{}", push.path);

    // Every request's body, built before the clock starts.
    let client = v.client(&vendor_url)?;
    let mut bodies: Vec<Bytes> = Vec::with_capacity(n * rounds);
    let mut content_type = None;
    for sale in fixture::sales("SBX", n * rounds)? {
        let request = client.sale_request(&sale).await?;
        let (body, kind) = match request.body() {
            Body::Form(b) => (b, "application/x-www-form-urlencoded"),
            Body::Json(b) => (b, "application/json"),
            Body::Empty => continue,
        };
        bodies.push(body.clone());
        content_type = Some(kind);
    }
    ensure!(bodies.len() == n * rounds, "{} push requests without a body", v.name());
    let mut headers = HeaderMap::new();
    if let Some(kind) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    }

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
    let route = push.path.rsplit('/').next().unwrap_or(push.path);
    Ok(vec![
        Row::single(
            SCENARIO,
            &format!("{} {route} route, c={CONCURRENCY}", v.display_name()),
            "req/s",
            &rates,
            o.smoke,
        )
        .note(format!(
            "{n} requests (20-line sales, all accepted) per round, {rounds} round(s); the sandbox holds {} {} sales after",
            documents(&booked, v.name()),
            v.display_name()
        )),
    ])
}

/// The sandbox's imitation of every vendor in the facade's registry.
#[cfg(feature = "vendors")]
fn imitations() -> Vec<Box<dyn posbridge_sandbox::VendorImitation>> {
    posbridge::sandbox_imitations()
}

/// No vendor, no imitation (the scenario then finds no vendor to measure).
#[cfg(not(feature = "vendors"))]
fn imitations() -> Vec<Box<dyn posbridge_sandbox::VendorImitation>> {
    Vec::new()
}

/// The vendor measured, and its push route.
fn vendor() -> Result<(Vendor, &'static posbridge_core::descriptor::BenchRoute)> {
    vendors::all()
        .into_iter()
        .find_map(|v| {
            v.single_push()
                .filter(|_| v.hook.credentials_in_body())
                .map(|push| (v, push))
        })
        .context("no vendor's bench hook declares a one-request push carrying its credentials in its body")
}

fn documents(state: &posbridge_sandbox::StateSnapshot, vendor: &str) -> usize {
    state.documents.get(vendor).map_or(0, |d| d.sales.len())
}
