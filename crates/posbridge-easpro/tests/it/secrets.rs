//! The partner key and the user id never reach `Debug` output, errors or logs, even
//! at TRACE level (the capture and the scan are the shared kit's,
//! `posbridge_conformance::kit::secrets`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use httpmock::prelude::*;
use posbridge_conformance::kit::secrets::{self, TraceLogs};
use posbridge_core::{Sale, Sales, SecretString};
use posbridge_easpro::{Config, EasPro};

const PARTNER: &str = "pk-5f1c2a9e-very-secret";
const USER_ID: &str = "u-7c41d0-also-secret";

fn sale(reference: &str) -> Sale {
    serde_json::from_value(serde_json::json!({
        "reference": reference, "issued_at": "2026-11-26T10:00:00+08:00",
        "customer": {"name": "Adam", "email": "adam@example.my"},
        "lines": [{"product_code": "AIRPOD-1", "quantity": "2", "unit_price": "20"}],
        "payments": [{"amount": "40", "method": "cash"}]
    }))
    .unwrap()
}

fn ok_body() -> serde_json::Value {
    serde_json::json!({
        "data": {"result": "Success", "demo": false},
        "response": {"date": "2026/11/26 10:00:01", "status": {"code": "0", "httpMessage": "success processed"}}
    })
}

#[test]
fn debug_of_every_config_and_client_hides_both_credentials() {
    let config = Config::new(SecretString::from(PARTNER), SecretString::from(USER_ID));
    secrets::assert_no_secret(&format!("{config:?}"), &[PARTNER, USER_ID]);
    let from_json: Config = serde_json::from_value(serde_json::json!({
        "partner": PARTNER, "user_id": USER_ID, "base_url": "http://127.0.0.1:1/"
    }))
    .unwrap();
    secrets::assert_no_secret(&format!("{from_json:?}"), &[PARTNER, USER_ID]);
    let client = EasPro::new(from_json).unwrap();
    secrets::assert_redacted(&format!("{client:?}"), &[PARTNER, USER_ID]);
}

#[test]
fn empty_or_unsendable_credentials_are_config_errors() {
    let empty = Config::new(SecretString::from(" "), SecretString::from(USER_ID));
    let e = EasPro::new(empty).unwrap_err();
    assert_eq!(e.kind(), posbridge_core::ErrorKind::Config, "{e}");
    let newline = Config::new(SecretString::from(PARTNER), SecretString::from(format!("{USER_ID}\n")));
    let e = EasPro::new(newline).unwrap_err();
    assert_eq!(e.kind(), posbridge_core::ErrorKind::Config, "{e}");
    assert!(!e.to_string().contains(USER_ID), "{e}");
}

#[tokio::test]
async fn a_whole_push_at_trace_level_logs_neither_credential() {
    let logs = TraceLogs::capture();

    let server = MockServer::start_async().await;
    let sale_mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/eas/api/external/transaction/create")
                .header("partner", PARTNER)
                .header("user-id", USER_ID)
                .body_includes("\"INV-9\"");
            then.status(200).json_body(ok_body());
        })
        .await;
    let payment_mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/eas/api/external/transaction/payment/create")
                .header("partner", PARTNER)
                .header("user-id", USER_ID);
            then.status(200).json_body(ok_body());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/eas/api/external/transaction/create")
                .body_includes("\"INV-10\"");
            // A vendor that echoes the credentials back in its error.
            then.status(200).json_body(serde_json::json!({
                "response": {"status": {"code": "401", "httpMessage": format!("partner={PARTNER}; user-id={USER_ID}")}}
            }));
        })
        .await;
    let config = Config::new(SecretString::from(PARTNER), SecretString::from(USER_ID))
        .with_base_url(server.base_url())
        .with_product("AIRPOD-1", "68668492-e16b-4b5c-82e6-8e5d843ffbdc")
        .with_http(secrets::fast_http());
    let easpro = EasPro::new(config).unwrap();

    let receipt = easpro.push_sale(&sale("INV-9")).await.unwrap();
    assert_eq!(receipt.reference, "INV-9");
    sale_mock.assert_async().await;
    payment_mock.assert_async().await;
    let auth_error = easpro.push_sale(&sale("INV-10")).await.unwrap_err();
    assert_eq!(auth_error.kind(), posbridge_core::ErrorKind::Auth, "{auth_error}");

    logs.assert_nothing_leaked(
        &["push_sale", "push_payment"],
        &[PARTNER, USER_ID],
        [format!("{auth_error} {auth_error:?}")],
    );
}
