//! Scenario 1, per-call overhead: `push_sale` of the 20-line sale through every vendor
//! whose push is one request with a fixed answer and no login first
//! ([`Vendor::single_push`]) against a raw reqwest POST of the identical bytes
//! (recorded by the server from the connector's own request, headers included) to the
//! same minimal server. p50 and p99 latency at concurrency 1, throughput at
//! concurrency 64.
//!
//! A third side isolates the transport: the connector's request, mapped and encoded
//! once before the clock starts, sent each time by a bare `posbridge_core::Transport`
//! (retries, span, error classification; no mapping, no receipt) with the same
//! credentials headers.

use anyhow::{Context, Result, bail};
use posbridge_bench::fixture;
use posbridge_bench::vendors::{self, Vendor};
use posbridge_core::Sales;
use posbridge_core::http::{Request, Transport, default_parse_error};
use posbridge_core::reqwest::header::CONTENT_TYPE;

use super::{Ctx, baseline_first, client_headers, latencies, raw_post, throughput};
use crate::report::{Row, Target, percentile};

const SCENARIO: &str = "1 per-call";

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let sale = fixture::sale("INV-PERCALL-1")?;
    let picked: Vec<Vendor> = vendors::all()
        .into_iter()
        .filter(|v| v.single_push().is_some())
        .collect();
    if picked.is_empty() {
        bail!("no vendor's bench hook declares a push of one request with a fixed answer");
    }
    for v in picked {
        let prefix = v.prefix();
        let client = v.client(&ctx.mini.url(&prefix))?;
        let prebuilt = client.sale_request(&sale).await?;
        let connector = client.connector();
        let sales = connector
            .sales()
            .with_context(|| format!("{} offers no sales", v.name()))?;
        let route = v.single_push().map(|r| v.route_path(r)).unwrap_or_default();
        rows.extend(vendor(ctx, v.display_name(), sales, &prefix, &route, prebuilt).await?);
    }
    Ok(rows)
}

async fn vendor(
    ctx: &Ctx<'_>,
    name: &str,
    connector: &dyn Sales,
    prefix: &str,
    route: &str,
    prebuilt: Request,
) -> Result<Vec<Row>> {
    let o = ctx.options;
    let sale = fixture::sale("INV-PERCALL-1")?;
    // The connector's request, as the server received it.
    ctx.mini.capture(true);
    connector.push_sale(&sale).await.context("the first push_sale")?;
    ctx.mini.capture(false);
    let captured = ctx.mini.seen(route)?.first().context("nothing recorded")?;
    let headers = client_headers(&captured.headers)?;
    let url = ctx.mini.url(route);
    eprintln!(
        "   {name}: {} body bytes, replayed with {:?}",
        captured.body.len(),
        headers.keys().map(|k| k.as_str()).collect::<Vec<_>>()
    );

    let pb = || async {
        connector.push_sale(&sale).await?;
        Ok(())
    };
    let raw = || raw_post(&ctx.raw, &url, &headers, &captured.body);
    // Transport only: the prebuilt request with the credentials headers the
    // connector's auth adds (the transport sets the content type itself).
    let transport = Transport::new("bench", &ctx.mini.url(prefix), fixture::http(), default_parse_error)?;
    let mut prebuilt = prebuilt;
    for (k, v) in headers.iter().filter(|(k, _)| **k != CONTENT_TYPE) {
        prebuilt = prebuilt.header(k.clone(), v.clone());
    }
    let bare = || async {
        transport.send(&prebuilt, None).await?;
        Ok(())
    };

    let (calls, tasks) = (o.pick(2_000, 200), o.pick(10_000, 1_000));
    // Warm both (connections, allocator, caches).
    latencies(o.pick(300, 50), pb).await?;
    latencies(o.pick(300, 50), raw).await?;
    latencies(o.pick(300, 50), bare).await?;

    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    let mut rps = Vec::new();
    let mut bare_p50 = Vec::new();
    let mut bare_rps = Vec::new();
    for round in 0..o.rounds {
        let (lat_pb, lat_raw) = if baseline_first(round) {
            let r = latencies(calls, raw).await?;
            (latencies(calls, pb).await?, r)
        } else {
            let p = latencies(calls, pb).await?;
            (p, latencies(calls, raw).await?)
        };
        let (thr_pb, thr_raw) = if baseline_first(round) {
            let r = throughput(tasks, 64, raw).await?;
            (throughput(tasks, 64, pb).await?, r)
        } else {
            let p = throughput(tasks, 64, pb).await?;
            (p, throughput(tasks, 64, raw).await?)
        };
        let lat_bare = latencies(calls, bare).await?;
        let thr_bare = throughput(tasks, 64, bare).await?;
        bare_p50.push((percentile(&lat_bare, 50.0), percentile(&lat_raw, 50.0)));
        bare_rps.push((thr_bare, thr_raw));
        let round_p50 = (percentile(&lat_pb, 50.0), percentile(&lat_raw, 50.0));
        eprintln!(
            "   {name} round {}: p50 {:.1} vs {:.1} µs, p99 {:.1} vs {:.1} µs, c=64 {:.0} vs {:.0} req/s; \
             transport only p50 {:.1} µs, c=64 {:.0} req/s",
            round + 1,
            round_p50.0,
            round_p50.1,
            percentile(&lat_pb, 99.0),
            percentile(&lat_raw, 99.0),
            thr_pb,
            thr_raw,
            percentile(&lat_bare, 50.0),
            thr_bare
        );
        p50.push(round_p50);
        p99.push((percentile(&lat_pb, 99.0), percentile(&lat_raw, 99.0)));
        rps.push((thr_pb, thr_raw));
    }
    let smoke = o.smoke;
    Ok(vec![
        Row::paired(
            SCENARIO,
            &format!("{name} push_sale p50, c=1"),
            "µs",
            &p50,
            Target::AtMost(1.10),
            smoke,
        )
        .note(format!(
            "{calls} calls per side per round; {} B body",
            captured.body.len()
        )),
        Row::paired(
            SCENARIO,
            &format!("{name} push_sale p99, c=1"),
            "µs",
            &p99,
            Target::None,
            smoke,
        ),
        Row::paired(
            SCENARIO,
            &format!("{name} push_sale throughput, c=64"),
            "req/s",
            &rps,
            Target::AtLeast(0.90),
            smoke,
        )
        .note(format!("{tasks} calls per side per round")),
        Row::paired(
            SCENARIO,
            &format!("{name} transport only p50, c=1"),
            "µs",
            &bare_p50,
            Target::AtMost(1.10),
            smoke,
        )
        .note("the connector's request, built once, sent by a bare Transport: what the transport alone adds"),
        Row::paired(
            SCENARIO,
            &format!("{name} transport only throughput, c=64"),
            "req/s",
            &bare_rps,
            Target::AtLeast(0.90),
            smoke,
        ),
    ])
}
