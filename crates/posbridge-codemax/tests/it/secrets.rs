//! The password, the access tokens and the refresh tokens never reach `Debug`
//! output, errors or logs, even at TRACE level (the capture and the scan are the
//! shared kit's, `posbridge_conformance::kit::secrets`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use httpmock::prelude::*;
use posbridge_codemax::{Codemax, Config};
use posbridge_conformance::kit::secrets::{self, TraceLogs};
use posbridge_core::{Sale, Sales, SecretString};
use serde_json::json;

const PASSWORD: &str = "pw-Very-Secret-9f2c";
const ACCESS_1: &str = "access-token-one-7d41e0";
const REFRESH_1: &str = "refresh-token-one-c88a13";
const ACCESS_2: &str = "access-token-two-5b0f9e";
const REFRESH_2: &str = "refresh-token-two-21d6aa";
const SECRETS: [&str; 5] = [PASSWORD, ACCESS_1, REFRESH_1, ACCESS_2, REFRESH_2];

fn sales() -> Vec<Sale> {
    serde_json::from_value(json!([
        {"reference": "INV-1", "issued_at": "2026-11-26T10:00:00+08:00",
         "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "4.50"}]},
        {"reference": "INV-2", "issued_at": "2026-11-26T10:05:00+08:00", "status": "void",
         "lines": [{"product_code": "MUG-1", "quantity": "1", "unit_price": "12"}]}
    ]))
    .unwrap()
}

#[test]
fn debug_of_every_config_and_client_hides_the_password() {
    let config = Config::new("pos-kl01", SecretString::from(PASSWORD), "KL01");
    secrets::assert_no_secret(&format!("{config:?}"), &SECRETS);
    let from_json: Config = serde_json::from_value(json!({
        "username": "pos-kl01", "password": PASSWORD, "branch_code": "KL01",
        "base_url": "http://127.0.0.1:1/", "utc_offset": "+08:00"
    }))
    .unwrap();
    secrets::assert_no_secret(&format!("{from_json:?}"), &SECRETS);
    let client = Codemax::new(from_json).unwrap();
    secrets::assert_redacted(&format!("{client:?}"), &SECRETS);
}

#[tokio::test]
async fn a_whole_push_with_a_refresh_at_trace_level_logs_no_secret() {
    let logs = TraceLogs::capture();

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/auth/login");
            then.status(200).json_body(json!({
                "code": "00", "access_token": ACCESS_1, "refresh_token": REFRESH_1, "expires_in": 900
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/sync")
                .header("authorization", format!("Bearer {ACCESS_1}"));
            // A vendor that echoes the credential back in its error.
            then.status(401)
                .json_body(json!({"code": "11", "message": "Access token expired", "access_token": ACCESS_1}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/auth/refresh")
                .json_body(json!({"access_token": ACCESS_1, "refresh_token": REFRESH_1}));
            then.status(200).json_body(json!({
                "code": "00", "access_token": ACCESS_2, "refresh_token": REFRESH_2, "expires_in": 900
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/sync")
                .header("authorization", format!("Bearer {ACCESS_2}"));
            then.status(200).json_body(json!({"code": "00", "results": [
                {"invoice_no": "INV-1", "status": "success", "code": "00"},
                {"invoice_no": "INV-2", "status": "failed", "code": "21",
                 "message": format!("bad request refresh_token={REFRESH_2}")}
            ]}));
        })
        .await;

    let config = Config::new("pos-kl01", SecretString::from(PASSWORD), "KL01")
        .with_base_url(server.base_url())
        .with_http(secrets::fast_http());
    let codemax = Codemax::new(config).unwrap();
    let outcomes = codemax.push_sales(&sales()).await;
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    let rejected = outcomes[1].as_ref().unwrap_err();

    // A wrong password, refused by a vendor that echoes it back.
    let refusing = MockServer::start_async().await;
    refusing
        .mock_async(|when, then| {
            when.method(POST).path("/api/v1/auth/login");
            then.status(401)
                .body(format!("password={PASSWORD}&error=Invalid+username+or+password"));
        })
        .await;
    let config = Config::new("pos-kl01", SecretString::from(PASSWORD), "KL01")
        .with_base_url(refusing.base_url())
        .with_http(secrets::fast_http());
    let refused = Codemax::new(config).unwrap().push_sale(&sales()[0]).await.unwrap_err();

    logs.assert_nothing_leaked(
        &["refresh_token", "push_sales"],
        &SECRETS,
        [
            format!("{codemax:?}"),
            format!("{rejected} {rejected:?}"),
            format!("{refused} {refused:?}"),
        ],
    );
}
