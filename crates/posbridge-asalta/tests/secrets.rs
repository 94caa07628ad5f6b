//! No client secret, access token or refresh token reaches `Debug` output, errors or
//! logs, even at TRACE level, through a whole push with a token refresh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use posbridge_asalta::{Asalta, Config};
use posbridge_core::{HttpConfig, InMemoryIdMap, RetryConfig, Sale, Sales, SecretString};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const CLIENT_SECRET: &str = "cl-S3cret-very-secret";
const OLD_ACCESS: &str = "acc-old-very-secret";
const NEW_ACCESS: &str = "acc-new-very-secret";
const REFRESH: &str = "ref-very-secret";

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

fn config(base_url: &str) -> Config {
    let ids = InMemoryIdMap::new()
        .with(posbridge_core::IdKind::Product, "vitadine", "943")
        .with(posbridge_core::IdKind::Biller, "MAIN", "35")
        .with(posbridge_core::IdKind::Warehouse, "ADL", "2");
    Config::new()
        .with_base_url(base_url)
        .with_client(
            "pos-app",
            SecretString::from(CLIENT_SECRET),
            "http://127.0.0.1:8765/callback",
        )
        .with_token(SecretString::from(OLD_ACCESS), Some(SecretString::from(REFRESH)))
        .with_biller_and_warehouse("MAIN", "ADL")
        .with_walk_in_customer_id(1)
        .with_id_map(ids)
        .with_http(HttpConfig {
            retry: RetryConfig {
                min_delay_ms: 1,
                max_delay_ms: 5,
                ..RetryConfig::default()
            },
            ..HttpConfig::default()
        })
}

#[test]
fn debug_of_config_and_client_hides_every_secret() {
    let config = config("http://127.0.0.1:1/");
    let client = Asalta::new(config.clone()).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{:?}", client.auth()),
    ] {
        for secret in [CLIENT_SECRET, OLD_ACCESS, REFRESH] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("REDACTED"), "{text}");
    }
    let from_json: Config = serde_json::from_value(serde_json::json!({
        "client_secret": CLIENT_SECRET, "access_token": OLD_ACCESS, "refresh_token": REFRESH
    }))
    .unwrap();
    let text = format!("{from_json:?}");
    assert!(!text.contains(CLIENT_SECRET) && !text.contains(OLD_ACCESS) && !text.contains(REFRESH));
}

#[tokio::test]
async fn a_whole_push_with_a_refresh_at_trace_level_logs_no_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
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
            when.method(POST)
                .path("/pos/invoices")
                .header("authorization", format!("Bearer {OLD_ACCESS}"));
            then.status(401)
                .json_body(serde_json::json!({"message": format!("token {OLD_ACCESS} expired"), "error": true}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/token");
            then.status(200)
                .json_body(serde_json::json!({"access_token": NEW_ACCESS, "token_type": "Bearer", "expires_in": 3600}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/pos/invoices")
                .header("authorization", format!("Bearer {NEW_ACCESS}"));
            then.status(200)
                .json_body(serde_json::json!({"message": "Success", "data": {"id": "1103"}, "error": false}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/pos/items");
            // A vendor that echoes the credential back in its error.
            then.status(400)
                .json_body(serde_json::json!({"message": format!("bad access_token={NEW_ACCESS}")}));
        })
        .await;

    let asalta = Asalta::new(config(&server.base_url())).unwrap();
    let sale: Sale = serde_json::from_str(
        r#"{"reference": "INV-9", "issued_at": "2026-11-26T10:00:00+08:00",
            "lines": [{"product_code": "vitadine", "quantity": "1", "unit_price": "100"}]}"#,
    )
    .unwrap();
    let receipt = asalta.push_sale(&sale).await.unwrap();
    assert_eq!(receipt.vendor_id.as_deref(), Some("1103"));
    let item_error = asalta.item(1).await.unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("posbridge.call"), "no spans were captured:\n{logs}");
    for text in [logs, format!("{item_error} {item_error:?}")] {
        for secret in [CLIENT_SECRET, OLD_ACCESS, NEW_ACCESS, REFRESH] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
}
