//! No client secret, access token or refresh token reaches `Debug` output, errors or
//! logs, even at TRACE level, through a whole push with a token refresh (the capture
//! and the scan are the shared kit's, `posbridge_conformance::kit::secrets`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use httpmock::prelude::*;
use posbridge_asalta::{Asalta, Config};
use posbridge_conformance::kit::secrets::{self, TraceLogs};
use posbridge_core::{InMemoryIdMap, Sale, Sales, SecretString};

const CLIENT_SECRET: &str = "cl-S3cret-very-secret";
const OLD_ACCESS: &str = "acc-old-very-secret";
const NEW_ACCESS: &str = "acc-new-very-secret";
const REFRESH: &str = "ref-very-secret";

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
        .with_http(secrets::fast_http())
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
        secrets::assert_redacted(&text, &[CLIENT_SECRET, OLD_ACCESS, REFRESH]);
    }
    let from_json: Config = serde_json::from_value(serde_json::json!({
        "client_secret": CLIENT_SECRET, "access_token": OLD_ACCESS, "refresh_token": REFRESH
    }))
    .unwrap();
    secrets::assert_no_secret(&format!("{from_json:?}"), &[CLIENT_SECRET, OLD_ACCESS, REFRESH]);
}

#[tokio::test]
async fn a_whole_push_with_a_refresh_at_trace_level_logs_no_secret() {
    let logs = TraceLogs::capture();

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
            // The listing the price check compares the sale with (its product is mapped).
            when.method(GET).path("/pos/items").query_param("page", "1");
            then.status(200).json_body(serde_json::json!({
                "data": [{"id": "943", "code": "vitadine", "name": "Vitadine", "price": "100.0000"}],
                "_metadata": {"currentPage": 1, "nextPage": null}}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/pos/items").query_param("id", "1");
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

    logs.assert_nothing_leaked(
        &[],
        &[CLIENT_SECRET, OLD_ACCESS, NEW_ACCESS, REFRESH],
        [format!("{item_error} {item_error:?}")],
    );
}
