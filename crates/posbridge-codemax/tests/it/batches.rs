//! `push_sales` with sales refused locally spread over several requests: the valid
//! ones still go 20 per request, one request after the other, and every outcome lands
//! at its own sale's position (the next batch is mapped while one is on the wire).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use httpmock::prelude::*;
use posbridge_codemax::{Codemax, Config};
use posbridge_core::{ErrorKind, HttpConfig, RetryConfig, Sale, Sales, SecretString};
use serde_json::json;

fn sale(reference: &str, quantity: &str) -> Sale {
    serde_json::from_value(json!({
        "reference": reference,
        "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "TEA-100", "quantity": quantity, "unit_price": "4.50"}]
    }))
    .unwrap()
}

#[tokio::test]
async fn refused_sales_keep_their_places_and_the_rest_go_twenty_at_a_time() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/auth/login");
            then.status(200).json_body(json!({
                "code": "00", "access_token": "acc", "refresh_token": "ref", "expires_in": 3600
            }));
        })
        .await;
    let sync = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/sync");
            then.status(200).json_body(json!({"code": "00"}));
        })
        .await;
    let config = Config::new("pos-kl01", SecretString::from("pw"), "KL01")
        .with_base_url(server.base_url())
        .with_http(HttpConfig {
            retry: RetryConfig {
                min_delay_ms: 1,
                max_delay_ms: 5,
                ..RetryConfig::default()
            },
            ..HttpConfig::default()
        });
    let codemax = Codemax::new(config).unwrap();

    // 45 sales: #3 and #30 have a negative quantity, #40 repeats #5's invoice number.
    let sales: Vec<Sale> = (0..45)
        .map(|i| match i {
            3 | 30 => sale(&format!("INV-{i}"), "-1"),
            40 => sale("INV-5", "1"),
            _ => sale(&format!("INV-{i}"), "1"),
        })
        .collect();
    let outcomes = codemax.push_sales(&sales).await;

    assert_eq!(outcomes.len(), 45);
    for (i, outcome) in outcomes.iter().enumerate() {
        match (i, outcome) {
            (3 | 30 | 40, Err(e)) => assert_eq!(e.kind(), ErrorKind::Invalid, "sale {i}: {e}"),
            (3 | 30 | 40, Ok(r)) => panic!("sale {i} was sent: {r:?}"),
            (_, Ok(receipt)) => assert_eq!(receipt.reference, sales[i].reference, "sale {i}"),
            (_, Err(e)) => panic!("sale {i} failed: {e}"),
        }
    }
    // 42 valid sales: 20 + 20 + 2.
    assert_eq!(sync.calls_async().await, 3);
}
