//! 2,000 sales through the real EAS Pro connector while a fifth of the requests to
//! `transaction/create` are applied and then lose their answer (`drop_after_apply`).
//!
//! The connector marks the push idempotent (EAS Pro upserts by `billReferenceId`), so
//! it sends the sale again after a dropped answer; the sandbox replaces the bill with
//! the identical one, which changes nothing. In the end every sale is booked exactly
//! once: 2,000 bills, each reference applied by exactly one request, and the stock
//! lowered once per invoice line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use crate::sandbox_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use posbridge_core::{Decimal, IdKind, InMemoryIdMap, Sale, Sales};
use posbridge_easpro::EasPro;
use posbridge_easpro::sandbox::{
    DEFAULT_PARTNER as EASPRO_DEFAULT_PARTNER, DEFAULT_USER_ID as EASPRO_DEFAULT_USER_ID, easpro_product_ids,
};
use posbridge_sandbox::{Catalogue, Fault, FaultRule, SandboxConfig};
use sandbox_common::{CREATE, start_with};
use serde_json::json;

const SALES: usize = 2_000;
const CONCURRENCY: usize = 8;

/// Sale `i`: one to three lines of the sample catalogue at its prices, a percent
/// discount on every fourth, a quotation every tenth (which moves no stock).
fn sale(i: usize, catalogue: &Catalogue) -> (Sale, bool, Vec<(String, Decimal)>) {
    let n = catalogue.products.len();
    let quotation = i % 10 == 9;
    let mut lines = Vec::new();
    let mut moves = Vec::new();
    for k in 0..=(i % 3) {
        let product = &catalogue.products[(i * 7 + k * 11) % n];
        let qty = 1 + (i + k) % 3;
        let mut line =
            json!({"product_code": product.code, "quantity": qty.to_string(), "unit_price": product.price.to_string()});
        if i.is_multiple_of(4) {
            line["discount"] = json!({"percent": "5"});
        }
        lines.push(line);
        moves.push((product.code.clone(), Decimal::from(qty)));
    }
    let mut sale = json!({
        "reference": format!("INV-{i:05}"),
        "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": lines,
    });
    if quotation {
        sale["kind"] = json!("quotation");
    }
    (serde_json::from_value(sale).unwrap(), !quotation, moves)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_sales_through_dropped_answers_are_booked_once_each() {
    tokio::time::timeout(Duration::from_secs(120), run())
        .await
        .expect("the run took longer than 120 s");
}

async fn run() {
    let started = Instant::now();
    let catalogue = Catalogue::sample();
    let sandbox = start_with(SandboxConfig {
        faults: vec![
            FaultRule::new(Fault::DropAfterApply, 0.2)
                .for_vendor("easpro")
                .for_route(CREATE),
        ],
        ..SandboxConfig::default()
    })
    .await;

    let mut ids = InMemoryIdMap::new();
    for (code, id) in easpro_product_ids(&catalogue) {
        ids.insert(IdKind::Product, code, id);
    }
    let config: posbridge_easpro::Config = serde_json::from_value(json!({
        "partner": EASPRO_DEFAULT_PARTNER,
        "user_id": EASPRO_DEFAULT_USER_ID,
        "base_url": sandbox.vendor_url("easpro"),
        "http": {
            "timeout_ms": 5000,
            "retry": {"max_retries": 12, "min_delay_ms": 1, "max_delay_ms": 4, "max_retry_after_ms": 1000, "jitter": false}
        }
    }))
    .unwrap();
    let easpro = Arc::new(EasPro::new(config.with_id_map(ids)).unwrap());

    let sales: Vec<_> = (0..SALES).map(|i| sale(i, &catalogue)).collect();
    let outcomes: Vec<_> = futures_util::stream::iter(sales.iter().map(|(s, _, _)| {
        let easpro = easpro.clone();
        async move { (s.reference.clone(), easpro.push_sale(s).await) }
    }))
    .buffer_unordered(CONCURRENCY)
    .collect()
    .await;
    let pushed = started.elapsed();

    // Every push succeeded, possibly after re-sending.
    let failed: Vec<_> = outcomes
        .iter()
        .filter_map(|(r, o)| o.as_ref().err().map(|e| format!("{r}: {e}")))
        .collect();
    assert!(failed.is_empty(), "{} pushes failed: {failed:?}", failed.len());
    for (reference, outcome) in &outcomes {
        assert_eq!(&outcome.as_ref().unwrap().reference, reference);
    }

    let log = sandbox.requests();
    let state = sandbox.state();
    let requests = log.len();
    let drops = log
        .iter()
        .filter(|r| r.fault.as_deref() == Some("drop_after_apply"))
        .count();
    let applied = log.iter().filter(|r| r.applied).count();
    let bills = state.documents["easpro"].sales.len();
    println!(
        "EAS Pro under 20 % drop_after_apply: pushes {SALES}, requests {requests}, drops {drops}, applied {applied}, \
         bills {bills}; {:.1} s pushing, concurrency {CONCURRENCY}",
        pushed.as_secs_f32()
    );

    // Exactly one bill per sale, each applied by exactly one request.
    assert_eq!(bills, SALES);
    assert_eq!(applied, SALES);
    let mut per_reference: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &log {
        assert_eq!(r.path, format!("/easpro/{CREATE}"));
        let entry = per_reference
            .entry(r.reference.as_deref().expect("every request names its bill"))
            .or_default();
        entry.0 += 1;
        entry.1 += usize::from(r.applied);
    }
    assert_eq!(per_reference.len(), SALES);
    for (reference, (sent, applied)) in &per_reference {
        assert_eq!(
            *applied, 1,
            "{reference} was applied by {applied} of its {sent} requests"
        );
        assert!(state.documents["easpro"].sales.contains_key(*reference), "{reference}");
    }
    // Each dropped answer cost exactly one more request, and nothing else was retried.
    assert_eq!(requests, SALES + drops);
    assert!(
        (requests * 15 / 100..=requests * 25 / 100).contains(&drops),
        "{drops} drops in {requests} requests is not about a fifth"
    );
    assert!(
        log.iter()
            .all(|r| (r.status == Some(200)) != (r.fault.as_deref() == Some("drop_after_apply")))
    );

    // The stock moved once per invoice line.
    let mut want: BTreeMap<String, Decimal> = catalogue.products.iter().map(|p| (p.code.clone(), p.stock)).collect();
    for (_, invoice, moves) in &sales {
        if *invoice {
            for (code, qty) in moves {
                *want.get_mut(code).unwrap() -= *qty;
            }
        }
    }
    for (code, stock) in want {
        assert_eq!(state.stock(&code), Some(stock), "{code}");
    }
    sandbox.shutdown().await;
}
