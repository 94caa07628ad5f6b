//! Scenario 3, batching: 10,000 sales to each vendor that takes sales in batches
//! (`Capabilities::max_batch`, 20 per request for the one there is), sent one request
//! after the other: exactly `n / max_batch` push requests (asserted), and sales/s
//! against a raw loop posting the same bodies (recorded by the server).

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use posbridge_bench::fixture;
use posbridge_bench::vendors::{self, Vendor};

use super::{Ctx, baseline_first, client_headers, rate, raw_post};
use crate::report::{Row, Target};

const SCENARIO: &str = "3 batching";

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for v in vendors::all() {
        if let (Some(batch), Some(_)) = (v.descriptor.capabilities().max_batch, v.hook.push()) {
            rows.push(vendor(ctx, &v, batch).await?);
        }
    }
    if rows.is_empty() {
        bail!("no vendor takes sales in batches (Capabilities::max_batch) with a push route in its bench hook");
    }
    Ok(rows)
}

async fn vendor(ctx: &Ctx<'_>, v: &Vendor, batch: usize) -> Result<Row> {
    let o = ctx.options;
    let n: usize = o.pick(10_000, 1_000);
    let expected = n.div_ceil(batch);
    let client = v.client(&ctx.mini.url(&v.prefix()))?;
    let connector = client.connector();
    let sales_api = connector
        .sales()
        .with_context(|| format!("{} offers no sales", v.name()))?;
    let sales = fixture::sales("BAT", n)?;
    let push_path = v.hook.push().map(|r| v.route_path(r)).unwrap_or_default();
    let sync = ctx.mini.seen(&push_path)?;
    let logins = || {
        v.hook
            .login()
            .and_then(|r| ctx.mini.seen(&v.route_path(r)).ok())
            .map_or(0, |seen| seen.requests.load(Ordering::SeqCst))
    };

    let push_all = || async {
        let before = sync.requests.load(Ordering::SeqCst);
        let outcomes = sales_api.push_sales(&sales).await;
        let sent = sync.requests.load(Ordering::SeqCst) - before;
        if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
            bail!("a sale was not synced: {e}");
        }
        ensure!(outcomes.len() == n, "{} outcomes for {n} sales", outcomes.len());
        ensure!(
            sent == expected as u64,
            "{n} sales took {sent} push requests, not {expected}"
        );
        Ok(sent)
    };

    // Record the connector's bodies (and its credentials) for the raw loop.
    ctx.mini.capture(true);
    let sent = push_all().await?;
    ctx.mini.capture(false);
    let bodies = sync.bodies();
    ensure!(
        bodies.len() == expected,
        "recorded {} bodies, expected {expected}",
        bodies.len()
    );
    let headers = client_headers(&sync.first().context("nothing recorded")?.headers)?;
    let url = ctx.mini.url(&push_path);
    eprintln!(
        "   {}: {n} sales → {sent} push requests (asserted = {n}/{batch}), {} login(s); bodies {}–{} B",
        v.display_name(),
        logins(),
        bodies.iter().map(|b| b.len()).min().unwrap_or(0),
        bodies.iter().map(|b| b.len()).max().unwrap_or(0)
    );

    let raw_all = || async {
        for body in &bodies {
            raw_post(&ctx.raw, &url, &headers, body).await?;
        }
        Ok::<_, anyhow::Error>(())
    };
    let mut rounds = Vec::new();
    for round in 0..o.rounds {
        let time_pb = || async {
            let t = Instant::now();
            push_all().await?;
            Ok::<_, anyhow::Error>(rate(n, t.elapsed()))
        };
        let time_raw = || async {
            let t = Instant::now();
            raw_all().await?;
            Ok::<_, anyhow::Error>(rate(n, t.elapsed()))
        };
        let (pb, raw) = if baseline_first(round) {
            let r = time_raw().await?;
            (time_pb().await?, r)
        } else {
            let p = time_pb().await?;
            (p, time_raw().await?)
        };
        eprintln!("   round {}: {pb:.0} vs {raw:.0} sales/s", round + 1);
        rounds.push((pb, raw));
    }
    let logins = logins();
    Ok(Row::paired(
        SCENARIO,
        &format!("{} push_sales of {n} sales", v.display_name()),
        "sales/s",
        &rounds,
        Target::AtLeast(0.90),
        o.smoke,
    )
    .note(format!(
        "{expected} push requests of {batch} per run, asserted each run; {logins} login request(s) in all"
    )))
}
