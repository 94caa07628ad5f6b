//! A purchase's fields that CloudMA's push-purchase has no parameter for are not
//! dropped without a word: the push logs their names (never their values) at INFO,
//! and the request carries exactly the document's fields
//! (`fixtures/push_purchase__supplier_location_note_and_date_not_sent.json`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use posbridge_cloudma::{CloudMa, Config};
use posbridge_core::{Purchase, Purchases, SecretString};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

#[tokio::test]
async fn a_purchase_push_names_the_fields_cloudma_cannot_take() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(Targets::new().with_target("posbridge_cloudma", LevelFilter::INFO)),
        )
        .try_init()
        .unwrap();

    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/api/push-purchase");
            then.status(201)
                .json_body(serde_json::json!({"message": "Purchase recorded", "purchase_id": 89}));
        })
        .await;
    let cloudma =
        CloudMa::new(Config::new(SecretString::from("38iGm3yI86Hw")).with_base_url(server.base_url())).unwrap();
    let purchase: Purchase = serde_json::from_value(serde_json::json!({
        "reference": "GRN-2002", "received_at": "2026-11-25T09:00:00+05:30",
        "supplier": "Lanka Tea Traders", "location": "COLOMBO-1", "note": "One carton short",
        "lines": [{"product_code": "TEA-100", "quantity": "48", "unit_cost": "310.00"}]
    }))
    .unwrap();
    cloudma.push_purchase(&purchase).await.unwrap();
    mock.assert_async().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains("GRN-2002") && l.contains("INFO"))
        .unwrap_or_else(|| panic!("no INFO line about GRN-2002:\n{logs}"));
    assert!(
        line.contains(r#"["received_at", "supplier", "location", "note"]"#),
        "{line}"
    );
    for value in ["Lanka Tea Traders", "COLOMBO-1", "One carton short"] {
        assert!(!logs.contains(value), "a value was logged: {value}\n{logs}");
    }
}
