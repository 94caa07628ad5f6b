//! The token never reaches `Debug` output, errors or logs, even at TRACE level.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use posbridge_cloudma::{CloudMa, Config};
use posbridge_core::{HttpConfig, Purchases, RetryConfig, Sale, Sales, SecretString, Stock};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const TOKEN: &str = "38iGm3yI86Hw-very-secret";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
    assert!(!format!("{config:?}").contains(TOKEN));
    let from_json: Config =
        serde_json::from_value(serde_json::json!({"token": TOKEN, "base_url": "http://127.0.0.1:1/"})).unwrap();
    assert!(!format!("{from_json:?}").contains(TOKEN));
    let client = CloudMa::new(from_json).unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

#[tokio::test]
async fn a_whole_push_at_trace_level_logs_no_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    // Everything at TRACE, the client's dependencies (reqwest, hyper, via `log`) included;
    // only the mock server's own logs are left out: it stands in for the vendor, which
    // of course sees the token.
    let filter = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("httpmock", LevelFilter::OFF);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(filter),
        )
        .try_init()
        .unwrap();

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
    let fast = HttpConfig {
        retry: RetryConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    };
    let config = Config::new(SecretString::from(TOKEN))
        .with_base_url(server.base_url())
        .with_http(fast);
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

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("posbridge.call"), "no spans were captured:\n{logs}");
    assert!(logs.contains("push_sale") && logs.contains("stock_levels"), "{logs}");
    for text in [
        logs,
        format!("{stock_error} {stock_error:?}"),
        format!("{purchase_error} {purchase_error:?}"),
    ] {
        assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
    }
}
