//! Scenario 3, batching: 10,000 sales to Codemax, whose connector sends them 20 per
//! request, one request after the other: exactly 500 sync requests (asserted), and
//! sales/s against a raw loop posting the same 500 bodies (recorded by the server).

use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use posbridge_bench::fixture;
use posbridge_core::Sales;

use super::{Ctx, baseline_first, client_headers, rate, raw_post, routes};
use crate::report::{Row, Target};

const SCENARIO: &str = "3 batching";

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let o = ctx.options;
    let n: usize = o.pick(10_000, 1_000);
    let batch = posbridge_codemax::MAX_BATCH;
    let expected = n.div_ceil(batch);
    let codemax = fixture::codemax(&ctx.mini.url("/codemax/"))?;
    let sales = fixture::sales("CMX", n)?;
    let sync = ctx.mini.seen(routes::CODEMAX_SYNC)?;
    let login = ctx.mini.seen(routes::CODEMAX_LOGIN)?;

    let push_all = || async {
        let before = sync.requests.load(Ordering::SeqCst);
        let outcomes = codemax.push_sales(&sales).await;
        let sent = sync.requests.load(Ordering::SeqCst) - before;
        if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
            bail!("a sale was not synced: {e}");
        }
        ensure!(outcomes.len() == n, "{} outcomes for {n} sales", outcomes.len());
        ensure!(
            sent == expected as u64,
            "{n} sales took {sent} sync requests, not {expected}"
        );
        Ok(sent)
    };

    // Record the connector's 500 bodies (and its bearer) for the raw loop.
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
    let url = ctx.mini.url(routes::CODEMAX_SYNC);
    eprintln!(
        "   {n} sales → {sent} sync requests (asserted = {n}/{batch}), {} login(s); bodies {}–{} B",
        login.requests.load(Ordering::SeqCst),
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
    let logins = login.requests.load(Ordering::SeqCst);
    Ok(vec![
        Row::paired(
            SCENARIO,
            &format!("Codemax push_sales of {n} sales"),
            "sales/s",
            &rounds,
            Target::AtLeast(0.90),
            o.smoke,
        )
        .note(format!(
            "{expected} sync requests of {batch} per run, asserted each run; {logins} login request(s) in all"
        )),
    ])
}
