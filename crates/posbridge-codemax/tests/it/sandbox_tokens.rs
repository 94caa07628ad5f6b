//! The Codemax imitation with the real connector (`posbridge_codemax::Codemax`) under
//! load: token renewal across a real expiry, and 10,000 sales in batches of 20.
//!
//! - With two-second tokens, 100 pushes started together after the token expired
//!   share **one** refresh request (the connector's renewal is single-flight, and the
//!   sandbox rotates the pair, so a second refresh with the old pair would be refused).
//! - 10,000 valid sales through `push_sales` make exactly 500 sync requests of 20
//!   invoices, one login and no refresh, and move the stock by exactly the quantities
//!   sold; every invoice is applied by exactly one request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use crate::sandbox_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use posbridge_codemax::sandbox::{
    DEFAULT_BRANCH as CODEMAX_DEFAULT_BRANCH, DEFAULT_PASSWORD as CODEMAX_DEFAULT_PASSWORD,
    DEFAULT_USERNAME as CODEMAX_DEFAULT_USERNAME, ImitationConfig as CodemaxConfig,
};
use posbridge_codemax::{Codemax, Config};
use posbridge_core::{Decimal, HttpConfig, RetryConfig, Sale, Sales, SecretString};
use posbridge_sandbox::{Catalogue, RequestRecord, SandboxConfig, SandboxHandle};
use sandbox_common::start_with;
use sandbox_common::{LOGIN, REFRESH, SYNC};
use serde_json::json;

fn fast() -> HttpConfig {
    HttpConfig {
        timeout_ms: 10_000,
        retry: RetryConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            jitter: false,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    }
}

/// The connector with the sandbox's default account, pointed at it.
fn connector(sandbox: &SandboxHandle) -> Arc<Codemax> {
    let config = Config::new(
        CODEMAX_DEFAULT_USERNAME,
        SecretString::from(CODEMAX_DEFAULT_PASSWORD),
        CODEMAX_DEFAULT_BRANCH,
    )
    .with_base_url(sandbox.vendor_url("codemax"))
    .with_http(fast());
    Arc::new(Codemax::new(config).unwrap())
}

/// Sale `i`: one to three lines of the sample catalogue at its prices, whole
/// quantities; with what it takes from stock.
fn sale(i: usize, catalogue: &Catalogue) -> (Sale, Vec<(String, Decimal)>) {
    let n = catalogue.products.len();
    let mut lines = Vec::new();
    let mut moves = Vec::new();
    for k in 0..=(i % 3) {
        let product = &catalogue.products[(i * 7 + k * 11) % n];
        let qty = 1 + (i + k) % 3;
        lines.push(
            json!({"product_code": product.code, "quantity": qty.to_string(), "unit_price": product.price.to_string()}),
        );
        moves.push((product.code.clone(), Decimal::from(qty)));
    }
    let sale = json!({"reference": format!("INV-{i:05}"), "issued_at": "2026-11-26T10:15:00+08:00", "lines": lines});
    (serde_json::from_value(sale).unwrap(), moves)
}

fn count(log: &[RequestRecord], route: &str) -> usize {
    log.iter().filter(|r| r.path == format!("/codemax/{route}")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_pushes_across_an_expiry_make_one_refresh() {
    sandbox_common::bounded(async {
        let sandbox = start_with(
            SandboxConfig::default().with_section(
                "codemax",
                serde_json::to_value(CodemaxConfig {
                    token_lifetime_secs: 2,
                    ..CodemaxConfig::default()
                })
                .unwrap(),
            ),
        )
        .await;
        let catalogue = Catalogue::sample();
        let codemax = connector(&sandbox);
        let (first, _) = sale(0, &catalogue);
        codemax.push_sale(&first).await.unwrap();
        // Past the token's expiry (2 s) and so past the connector's renewal point (1.8 s).
        tokio::time::sleep(Duration::from_millis(2_100)).await;

        let mut tasks = Vec::new();
        for i in 1..=100 {
            let c = codemax.clone();
            let (s, _) = sale(i, &catalogue);
            tasks.push(tokio::spawn(async move { c.push_sale(&s).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }

        let log = sandbox.requests();
        let (logins, refreshes, syncs) = (count(&log, LOGIN), count(&log, REFRESH), count(&log, SYNC));
        println!("codemax: 101 pushes across a token expiry: {logins} login, {refreshes} refresh, {syncs} syncs");
        assert_eq!((logins, refreshes, syncs), (1, 1, 101), "{log:?}");
        assert!(log.iter().all(|r| r.status == Some(200)), "nothing refused: {log:?}");
        // The refresh came before every sync that followed the expiry.
        let refresh_at = log.iter().position(|r| r.path.ends_with(REFRESH)).unwrap();
        assert_eq!(refresh_at, 2, "login, the first sync, then the refresh");
        assert_eq!(sandbox.state().documents["codemax"].sales.len(), 101);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_sales_make_five_hundred_syncs_and_move_stock_exactly() {
    const SALES: usize = 10_000;
    tokio::time::timeout(Duration::from_secs(60), async {
        let sandbox = start_with(SandboxConfig::default()).await;
        let catalogue = Catalogue::sample();
        let mut sold: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut sales = Vec::with_capacity(SALES);
        for i in 0..SALES {
            let (s, moves) = sale(i, &catalogue);
            for (code, qty) in moves {
                *sold.entry(code).or_default() += qty;
            }
            sales.push(s);
        }
        let codemax = connector(&sandbox);
        let started = Instant::now();
        let outcomes = codemax.push_sales(&sales).await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(outcomes.len(), SALES);
        for (sale, outcome) in sales.iter().zip(&outcomes) {
            let receipt = outcome.as_ref().unwrap_or_else(|e| panic!("{}: {e}", sale.reference));
            assert_eq!(receipt.reference, sale.reference);
        }

        let log = sandbox.requests();
        let (logins, refreshes, syncs) = (count(&log, LOGIN), count(&log, REFRESH), count(&log, SYNC));
        println!(
            "codemax: {SALES} sales, {syncs} sync requests, {logins} login and {refreshes} refresh requests, {secs:.2} s"
        );
        assert_eq!((logins, refreshes, syncs), (1, 0, SALES / 20));
        let mut applied: BTreeMap<&str, usize> = BTreeMap::new();
        for r in log.iter().filter(|r| r.path.ends_with(SYNC)) {
            assert_eq!((r.status, r.applied, r.applied_references.len()), (Some(200), true, 20));
            for reference in &r.applied_references {
                *applied.entry(reference.as_str()).or_default() += 1;
            }
        }
        assert_eq!(applied.len(), SALES);
        assert!(applied.values().all(|n| *n == 1), "an invoice applied twice");

        let state = sandbox.state();
        assert_eq!(state.documents["codemax"].sales.len(), SALES);
        for product in &catalogue.products {
            let moved = sold.get(&product.code).copied().unwrap_or_default();
            assert_eq!(
                state.stock(&product.code),
                Some(product.stock - moved),
                "stock of {}",
                product.code
            );
        }
        let total: Decimal = sold.values().copied().sum();
        println!("codemax: stock moved by {total} units over {} products", sold.len());
        sandbox.shutdown().await;
    })
    .await
    .expect("10,000 sales took longer than 60 s");
}
