//! Token renewal under load: one refresh for many concurrent pushes across an
//! expiry, and one login request for many pushes with a wrong password.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use httpmock::prelude::*;
use posbridge_codemax::{Codemax, Config};
use posbridge_core::{ErrorKind, HttpConfig, RetryConfig, Sale, Sales, SecretString};
use serde_json::json;

fn fast() -> HttpConfig {
    HttpConfig {
        timeout_ms: 5_000,
        retry: RetryConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            jitter: false,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    }
}

fn sale(n: usize) -> Sale {
    serde_json::from_value(json!({
        "reference": format!("INV-{n}"),
        "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "TEA-100", "quantity": "1", "unit_price": "4.50"}]
    }))
    .unwrap()
}

fn client(server: &MockServer, password: &str) -> Arc<Codemax> {
    let config = Config::new("pos-kl01", SecretString::from(password), "KL01")
        .with_base_url(server.base_url())
        .with_http(fast());
    Arc::new(Codemax::new(config).unwrap())
}

#[tokio::test]
async fn a_hundred_concurrent_pushes_across_an_expiry_cause_one_refresh() {
    let server = MockServer::start_async().await;
    // The login answer says the token lives one second.
    let login = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/auth/login")
                .json_body(json!({"username": "pos-kl01", "password": "pw"}));
            then.status(200).json_body(json!({
                "code": "00", "access_token": "acc-1", "refresh_token": "ref-1", "expires_in": 1
            }));
        })
        .await;
    // A slow refresh, so that the pushes really pile up behind it; it must carry
    // both the expired access token and the refresh token.
    let refresh = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/auth/refresh")
                .json_body(json!({"access_token": "acc-1", "refresh_token": "ref-1"}));
            then.status(200).delay(Duration::from_millis(200)).json_body(json!({
                "code": "00", "access_token": "acc-2", "refresh_token": "ref-2", "expires_in": 900
            }));
        })
        .await;
    let sync_old = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/sync")
                .header("authorization", "Bearer acc-1");
            then.status(200)
                .json_body(json!({"code": "00", "message": "Invoices synced"}));
        })
        .await;
    let sync_new = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/sync")
                .header("authorization", "Bearer acc-2");
            then.status(200)
                .json_body(json!({"code": "00", "message": "Invoices synced"}));
        })
        .await;

    let codemax = client(&server, "pw");
    codemax.push_sale(&sale(0)).await.unwrap();
    // Past the renewal point (0.9 s) of the one-second token.
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    let mut tasks = Vec::new();
    for n in 1..=100 {
        let c = codemax.clone();
        tasks.push(tokio::spawn(async move { c.push_sale(&sale(n)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(login.calls_async().await, 1, "logged in more than once");
    assert_eq!(refresh.calls_async().await, 1, "refreshed more than once");
    assert_eq!(
        sync_old.calls_async().await,
        1,
        "the stale token was used after its expiry"
    );
    assert_eq!(sync_new.calls_async().await, 100);
}

#[tokio::test]
async fn a_wrong_password_costs_one_login_request_not_a_storm() {
    let server = MockServer::start_async().await;
    let login = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/auth/login");
            then.status(401)
                .delay(Duration::from_millis(200))
                .json_body(json!({"code": "10", "message": "Invalid username or password"}));
        })
        .await;
    let sync = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/sync");
            then.status(200).json_body(json!({"code": "00"}));
        })
        .await;

    let codemax = client(&server, "wrong");
    // 45 sales in one call (three requests' worth) …
    let sales: Vec<Sale> = (0..45).map(sale).collect();
    let outcomes = codemax.push_sales(&sales).await;
    assert_eq!(outcomes.len(), 45);
    for o in &outcomes {
        let e = o.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(e.to_string().contains("Invalid username or password"), "{e}");
    }
    assert_eq!(login.calls_async().await, 1);

    // … and 50 concurrent pushes share one more login attempt.
    let mut tasks = Vec::new();
    for n in 0..50 {
        let c = codemax.clone();
        tasks.push(tokio::spawn(async move { c.push_sale(&sale(n)).await }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().kind(), ErrorKind::Auth);
    }
    assert_eq!(login.calls_async().await, 2);
    assert_eq!(sync.calls_async().await, 0);
}
