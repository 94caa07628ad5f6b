//! Scenario 4, streaming: for each vendor whose bench hook declares a paged list
//! ([`BenchPaged`]: Asalta's items, 100 per page), the list read through the
//! connector's lazy page stream against a raw reqwest loop over the same pages
//! parsing each page straight into the same typed entries (both from the hook); and
//! the peak memory (RSS high-water mark, `VmHWM`) of a child process streaming
//! 100,000 entries against one streaming 1,000.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use posbridge_bench::vendors::{self, Vendor};
use posbridge_core::descriptor::{BenchClient, BenchPaged};

use super::{Ctx, baseline_first, rate};
use crate::report::{Row, Target};

const SCENARIO: &str = "4 streaming";
/// Pages of the small list the memory measurement compares against.
pub const SMALL_PAGES: usize = 10;

/// The entries of `n` pages, built once by the vendor's hook.
pub fn pages(paged: &BenchPaged, n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|p| Bytes::from((paged.entries)(p, paged.per_page)))
        .collect()
}

/// The small list's path on the minimal server: `/<name>-small/<path>`.
pub fn small_path(v: &Vendor, paged: &BenchPaged) -> String {
    format!("/{}-small/{}", v.name(), paged.path)
}

/// Every entry through the connector's stream; how many.
async fn stream_entries(client: &dyn BenchClient) -> Result<usize> {
    Ok(client.count_paged().await?)
}

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for v in vendors::all() {
        if let Some(paged) = v.hook.paged() {
            rows.extend(vendor(ctx, &v, paged).await?);
        }
    }
    if rows.is_empty() {
        bail!("no vendor's bench hook declares a paged list");
    }
    Ok(rows)
}

async fn vendor(ctx: &Ctx<'_>, v: &Vendor, paged: &BenchPaged) -> Result<Vec<Row>> {
    let o = ctx.options;
    let per_page = paged.per_page;
    let total_pages = o.pick(1_000, 100);
    let expected = total_pages * per_page;
    let base = ctx.mini.url(&v.prefix());
    let url = ctx.mini.url(&format!("/{}/{}", v.name(), paged.path));
    let client = v.client(&base)?;
    ensure!(
        stream_entries(client.as_ref()).await? == expected,
        "the stream did not yield {expected} entries"
    );
    ensure!(
        (paged.raw_count)(&ctx.raw, &url).await? == expected,
        "the raw loop did not read {expected} entries"
    );

    let mut rounds = Vec::new();
    for round in 0..o.rounds {
        let time_pb = || async {
            let t = Instant::now();
            let n = stream_entries(client.as_ref()).await?;
            ensure!(n == expected, "{n} entries, expected {expected}");
            Ok(rate(n, t.elapsed()))
        };
        let time_raw = || async {
            let t = Instant::now();
            let n = (paged.raw_count)(&ctx.raw, &url).await?;
            ensure!(n == expected, "{n} entries, expected {expected}");
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
            &format!(
                "{} {} over {total_pages} pages of {per_page}",
                v.display_name(),
                paged.stream
            ),
            "items/s",
            &rounds,
            Target::AtLeast(0.90),
            o.smoke,
        )
        .note(format!("{expected} items per side per round")),
    ];

    // Peak memory: a child process per measurement (the high-water mark never drops).
    let small_base = ctx.mini.url(&format!("/{}-small/", v.name()));
    let small = SMALL_PAGES * per_page;
    let mut memory = Vec::new();
    for round in 0..o.rounds.min(3) {
        let (large_kb, small_kb) = if baseline_first(round) {
            let s = child_hwm(v, &small_base, small)?;
            (child_hwm(v, &base, expected)?, s)
        } else {
            let l = child_hwm(v, &base, expected)?;
            (l, child_hwm(v, &small_base, small)?)
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
        .note(format!(
            "VmHWM of a child process streaming through the {} connector; baseline column = the smaller stream",
            v.display_name()
        )),
    );
    Ok(rows)
}

/// Runs `posbridge-bench child stream-rss VENDOR BASE ITEMS`; its `VmHWM` in kB.
fn child_hwm(v: &Vendor, base_url: &str, items: usize) -> Result<u64> {
    let exe = std::env::current_exe().context("this binary's path")?;
    let out = Command::new(exe)
        .args(["child", "stream-rss", v.name(), base_url, &items.to_string()])
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

/// The child: streams every entry of `VENDOR`'s list from `BASE`, checks the count,
/// prints `VmHWM`.
pub async fn child(args: &[String]) -> Result<()> {
    let [vendor, base, items] = args else {
        bail!("usage: posbridge-bench child stream-rss VENDOR BASE_URL ITEMS");
    };
    let expected: usize = items.parse()?;
    let client = vendors::named(vendor)?.client(base)?;
    let n = stream_entries(client.as_ref()).await?;
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
