//! 100,000 items streamed through the real `posbridge-asalta` connector's item
//! stream (`Asalta::items`, `GET /pos/items?page=n`) from a sandbox seeded with a
//! 100,000-product catalogue, 1,000 items a page (the sandbox's `page_size`: Asalta
//! lets no client choose it, and the connector sends none), counting the items
//! without keeping them. The process's peak resident memory (`VmHWM`) may grow by at
//! most [`BOUND_MIB`] while streaming: the connector holds one page at a time, and
//! the sandbox builds only the page asked for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use posbridge_sandbox::{Catalogue, Product, Sandbox, SandboxConfig};

const ITEMS: usize = 100_000;
const PAGE_SIZE: usize = 1_000;
/// The most the peak resident memory may grow while streaming, in MiB.
const BOUND_MIB: u64 = 64;

/// `VmHWM` (peak) and `VmRSS` (now) of this process, in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_items_stream_in_bounded_memory() {
    let products = (0..ITEMS)
        .map(|i| Product {
            code: format!("SKU-{i:06}"),
            name: format!("Streamed product {i}"),
            price: "12.50".parse().unwrap(),
            stock: (i % 97).into(),
        })
        .collect();
    let config = SandboxConfig {
        catalogue: Catalogue { products },
        ..SandboxConfig::default()
    }
    .with_section("asalta", serde_json::json!({"page_size": PAGE_SIZE}));
    let sandbox = Sandbox::start(config, vec![posbridge_asalta::sandbox::imitation()])
        .await
        .unwrap();
    let mut asalta = posbridge_asalta::Config::new().with_base_url(sandbox.vendor_url("asalta"));
    asalta.access_token = Some(posbridge_asalta::sandbox::mint_token(&sandbox).unwrap().into());
    let client = posbridge_asalta::Asalta::new(asalta).unwrap();

    let started = Instant::now();
    let (peak_before, rss_before) = memory();
    let mut count = 0usize;
    let mut stock_units = 0u64;
    let mut items = client.items();
    while let Some(item) = items.next().await {
        let item = item.unwrap();
        count += 1;
        stock_units += item.inventory.len() as u64;
    }
    drop(items);
    let (peak_after, rss_after) = memory();
    let elapsed = started.elapsed();
    let growth_mib = peak_after.saturating_sub(peak_before) / 1024;
    println!(
        "streamed {count} items ({} pages) in {elapsed:.1?}: peak RSS {} -> {} MiB (growth {growth_mib} MiB, bound {BOUND_MIB} MiB), RSS {} -> {} MiB",
        ITEMS / PAGE_SIZE,
        peak_before / 1024,
        peak_after / 1024,
        rss_before / 1024,
        rss_after / 1024,
    );
    assert_eq!(count, ITEMS);
    assert_eq!(stock_units, 2 * ITEMS as u64, "two warehouses per item");
    assert!(
        growth_mib < BOUND_MIB,
        "peak memory grew by {growth_mib} MiB while streaming, above the {BOUND_MIB} MiB bound"
    );
    assert!(elapsed < Duration::from_secs(60), "streaming took {elapsed:?}");
    sandbox.shutdown().await;
}
