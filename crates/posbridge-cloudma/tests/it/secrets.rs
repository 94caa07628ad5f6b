//! The token never reaches `Debug` output, errors or logs, even at TRACE level (the
//! capture and the scan are the shared kit's, `posbridge_conformance::kit::secrets`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use httpmock::prelude::*;
use posbridge_cloudma::{CloudMa, Config};
use posbridge_conformance::kit::secrets::{self, TraceLogs};
use posbridge_core::{Purchases, Sale, Sales, SecretString, Stock};

const TOKEN: &str = "38iGm3yI86Hw-very-secret";

fn sale() -> Sale {
    serde_json::from_str(
        r#"{"reference": "INV-9", "issued_at": "2026-11-26T10:00:00+05:30",
            "customer": {"name": "Nimal", "email": "n@example.lk"},
            "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "450"}]}"#,
    )
    .unwrap()
}

#[test]
fn debug_of_every_config_hides_the_token() {
    let config = Config::new(SecretString::from(TOKEN));
    secrets::assert_no_secret(&format!("{config:?}"), &[TOKEN]);
    let from_json: Config =
        serde_json::from_value(serde_json::json!({"token": TOKEN, "base_url": "http://127.0.0.1:1/"})).unwrap();
    secrets::assert_no_secret(&format!("{from_json:?}"), &[TOKEN]);
    let client = CloudMa::new(from_json).unwrap();
    secrets::assert_redacted(&format!("{client:?}"), &[TOKEN]);
}

#[tokio::test]
async fn a_whole_push_at_trace_level_logs_no_token() {
    let logs = TraceLogs::capture();

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/push-sale");
            then.status(201).json_body(serde_json::json!({"data": {"id": 7}}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/sync-stock");
            then.status(500).body("oops");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/push-purchase");
            // A vendor that echoes the credential back in its error.
            then.status(400).body(format!("token={TOKEN}&error=Product+Not+Found"));
        })
        .await;
    let config = Config::new(SecretString::from(TOKEN))
        .with_base_url(server.base_url())
        .with_http(secrets::fast_http());
    let cloudma = CloudMa::new(config).unwrap();

    let receipt = cloudma.push_sale(&sale()).await.unwrap();
    assert_eq!(receipt.vendor_id.as_deref(), Some("7"));
    let stock_error = cloudma.stock_snapshot().await.unwrap_err();
    let purchase: posbridge_core::Purchase = serde_json::from_str(
        r#"{"reference": "GRN-1", "received_at": "2026-11-26T10:00:00+05:30",
            "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_cost": "300"}]}"#,
    )
    .unwrap();
    let purchase_error = cloudma.push_purchase(&purchase).await.unwrap_err();

    logs.assert_nothing_leaked(
        &["push_sale", "stock_levels"],
        &[TOKEN],
        [
            format!("{stock_error} {stock_error:?}"),
            format!("{purchase_error} {purchase_error:?}"),
        ],
    );
}
