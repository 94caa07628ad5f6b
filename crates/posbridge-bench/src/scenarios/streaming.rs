//! Scenario 4, streaming: Asalta's items, 100 per page, read through the connector's
//! lazy page stream (`Asalta::items`) against a raw reqwest loop over the same pages
//! parsing each page straight into the same typed `Item`s; and the peak memory (RSS
//! high-water mark, `VmHWM`) of a child process streaming 100,000 items against one
//! streaming 1,000.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use futures_util::TryStreamExt;
use posbridge_bench::fixture;
use posbridge_core::reqwest;
use serde::Deserialize;

use super::{Ctx, baseline_first, rate, routes};
use crate::report::{Row, Target};

const SCENARIO: &str = "4 streaming";
/// Items per page.
pub const PER_PAGE: usize = 100;

/// The `data` arrays of `n` pages of [`PER_PAGE`] items each, shaped as Asalta's
/// document shows an item (tax, variants, per-warehouse inventory).
pub fn pages(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|p| {
            let items: Vec<serde_json::Value> = (0..PER_PAGE)
                .map(|i| {
                    let id = p * PER_PAGE + i + 1;
                    serde_json::json!({
                        "id": id.to_string(), "name": format!("Bench item {id}"), "code": format!("ITEM-{id:06}"),
                        "type": "standard", "barcode_symbology": "code128", "unit": "pcs",
                        "cost": "100.0000", "price": format!("{}.5000", 100 + id % 50), "quantity": "280",
                        "custom_fields": {"cf1": null},
                        "tax": {"tax_method": "0", "id": "3", "code": "GST", "name": "GST @ 7%", "rate": "7.0000", "type": "Percentage"},
                        "variants": [], "suppliers": [],
                        "inventory": [
                            {"id": format!("{}", 8900 + 2 * id), "warehouse_id": "2", "quantity": "170", "reorder_qty": "0.0000", "rack": null, "area": null},
                            {"id": format!("{}", 8901 + 2 * id), "warehouse_id": 3, "quantity": 110.5, "reorder_qty": "0.0000"}
                        ]
                    })
                })
                .collect();
            Bytes::from(serde_json::Value::Array(items).to_string())
        })
        .collect()
}

/// A page as the raw loop reads it: the typed items, and the page count.
#[derive(Deserialize)]
struct RawPage {
    data: Vec<posbridge_asalta::Item>,
    #[serde(rename = "_meta")]
    meta: RawMeta,
}

#[derive(Deserialize)]
struct RawMeta {
    #[serde(rename = "pageCount")]
    page_count: usize,
}

/// Every item through the connector's stream; how many.
async fn stream_items(asalta: &posbridge_asalta::Asalta) -> Result<usize> {
    let n = asalta
        .items()
        .try_fold(0usize, |n, _item| async move { Ok(n + 1) })
        .await?;
    Ok(n)
}

/// Every item through a raw page loop; how many.
async fn raw_items(client: &reqwest::Client, url: &str) -> Result<usize> {
    let mut page = 1usize;
    let mut n = 0;
    loop {
        let response = client
            .get(url)
            .query(&[("page", page)])
            .bearer_auth(fixture::ASALTA_TOKEN)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("HTTP {}", response.status());
        }
        let body = response.bytes().await?;
        let p: RawPage = serde_json::from_slice(&body)?;
        n += p.data.len();
        if page >= p.meta.page_count || p.data.is_empty() {
            return Ok(n);
        }
        page += 1;
    }
}

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let o = ctx.options;
    let total_pages = o.pick(1_000, 100);
    let expected = total_pages * PER_PAGE;
    let base = ctx.mini.url("/asalta/");
    let url = ctx.mini.url(routes::ASALTA_ITEMS);
    let asalta = fixture::asalta(&base)?;
    ensure!(
        stream_items(&asalta).await? == expected,
        "the stream did not yield {expected} items"
    );
    ensure!(
        raw_items(&ctx.raw, &url).await? == expected,
        "the raw loop did not read {expected} items"
    );

    let mut rounds = Vec::new();
    for round in 0..o.rounds {
        let time_pb = || async {
            let t = Instant::now();
            let n = stream_items(&asalta).await?;
            ensure!(n == expected, "{n} items, expected {expected}");
            Ok(rate(n, t.elapsed()))
        };
        let time_raw = || async {
            let t = Instant::now();
            let n = raw_items(&ctx.raw, &url).await?;
            ensure!(n == expected, "{n} items, expected {expected}");
            Ok(rate(n, t.elapsed()))
        };
        let (pb, raw) = if baseline_first(round) {
            let r = time_raw().await?;
            (time_pb().await?, r)
        } else {
            let p = time_pb().await?;
            (p, time_raw().await?)
        };
        eprintln!("   round {}: {pb:.0} vs {raw:.0} items/s", round + 1);
        rounds.push((pb, raw));
    }
    let mut rows = vec![
        Row::paired(
            SCENARIO,
            &format!("Asalta items() over {total_pages} pages of {PER_PAGE}"),
            "items/s",
            &rounds,
            Target::AtLeast(0.90),
            o.smoke,
        )
        .note(format!("{expected} items per side per round")),
    ];

    // Peak memory: a child process per measurement (the high-water mark never drops).
    let small_base = ctx.mini.url("/asalta-small/");
    let small = 10 * PER_PAGE;
    let mut memory = Vec::new();
    for round in 0..o.rounds.min(3) {
        let (large_kb, small_kb) = if baseline_first(round) {
            let s = child_hwm(&small_base, small)?;
            (child_hwm(&base, expected)?, s)
        } else {
            let l = child_hwm(&base, expected)?;
            (l, child_hwm(&small_base, small)?)
        };
        eprintln!(
            "   memory round {}: VmHWM {large_kb} kB at {expected} items, {small_kb} kB at {small}",
            round + 1
        );
        memory.push((large_kb as f64 / 1024.0, small_kb as f64 / 1024.0));
    }
    rows.push(
        Row::paired(
            SCENARIO,
            &format!("peak RSS at {expected} items ÷ at {small}"),
            "MiB",
            &memory,
            Target::AtMost(1.5),
            o.smoke,
        )
        .note("VmHWM of a child process streaming through the connector; baseline column = the smaller stream"),
    );
    Ok(rows)
}

/// Runs `posbridge-bench child stream-rss BASE ITEMS`; its `VmHWM` in kB.
fn child_hwm(base_url: &str, items: usize) -> Result<u64> {
    let exe = std::env::current_exe().context("this binary's path")?;
    let out = Command::new(exe)
        .args(["child", "stream-rss", base_url, &items.to_string()])
        .output()
        .context("running the streaming child")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "the streaming child failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("hwm_kb="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("the streaming child said {stdout:?}"))
}

/// The child: streams every item from `BASE`, checks the count, prints `VmHWM`.
pub async fn child(args: &[String]) -> Result<()> {
    let [base, items] = args else {
        bail!("usage: posbridge-bench child stream-rss BASE_URL ITEMS");
    };
    let expected: usize = items.parse()?;
    let n = stream_items(&fixture::asalta(base)?).await?;
    ensure!(n == expected, "streamed {n} items, expected {expected}");
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmHWM in /proc/self/status")?;
    println!("items={n} hwm_kb={hwm}");
    Ok(())
}
