//! The password, the Basic credentials, the bearer token and the team token never
//! reach `Debug` output, errors or logs, even at TRACE level and even when the vendor
//! echoes them back (the capture and the scan are the shared kit's,
//! `posbridge_conformance::kit::secrets`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use posbridge_conformance::kit::secrets::{self, TraceLogs};
use posbridge_core::{Sale, Sales, SecretString};
use posbridge_salesmania::{Config, SalesMania};
use serde_json::json;

const USER: &str = "kasir@tokomaju.id";
const PASSWORD: &str = "pw-Very-Secret-4e1b";
const BEARER: &str = "bearer-token-2f8c91d7";
const TEAM: &str = "eyJkYl9pZCI6Mjk4MSwidGVhbV9pZCI6MjQ3Mjh9.team-sig-7a3e";

fn basic() -> String {
    // base64("kasir@tokomaju.id:pw-Very-Secret-4e1b")
    "a2FzaXJAdG9rb21hanUuaWQ6cHctVmVyeS1TZWNyZXQtNGUxYg==".to_owned()
}

fn secrets() -> [String; 5] {
    [
        PASSWORD.to_owned(),
        BEARER.to_owned(),
        TEAM.to_owned(),
        basic(),
        // The team token's signature alone.
        "team-sig-7a3e".to_owned(),
    ]
}

fn sale() -> Sale {
    serde_json::from_value(json!({
        "reference": "INV-1", "issued_at": "2026-11-26T03:15:00Z",
        "customer": {"code": "C-001", "name": "Warung Bu Sri"},
        "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "4500"}]
    }))
    .unwrap()
}

#[test]
fn debug_of_every_config_and_client_hides_the_password() {
    let config = Config::new(USER, SecretString::from(PASSWORD), "Toko Maju");
    secrets::assert_no_secret(&format!("{config:?}"), &secrets());
    let from_json: Config = serde_json::from_value(json!({
        "username": USER, "password": PASSWORD, "database": 2981,
        "base_url": "http://127.0.0.1:1/"
    }))
    .unwrap();
    secrets::assert_no_secret(&format!("{from_json:?}"), &secrets());
    let client = SalesMania::new(from_json).unwrap();
    secrets::assert_redacted(&format!("{client:?}"), &secrets());
}

#[tokio::test]
async fn a_whole_push_with_a_renewed_chain_at_trace_level_logs_no_secret() {
    let logs = TraceLogs::capture();

    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/token")
                .header("authorization", format!("Basic {}", basic()));
            then.status(200)
                .json_body(json!({"token": BEARER, "token_type": "Bearer"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/databases")
                .header("authorization", format!("Bearer {BEARER}"));
            then.status(200).json_body(json!([{"id": 2981, "name": "Toko Maju"}]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/team_token")
                .header("authorization", format!("Bearer {BEARER}"));
            then.status(200).json_body(json!({"team_token": TEAM}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/products")
                .query_param("team_token", TEAM);
            then.status(200)
                .json_body(json!([{"id": 501, "name": "Teh", "ext_product_code": "TEA-100",
                "qty_on_hand": 3, "product_units": [{"name": "PCS", "price": 4500, "ratio": 1}]}]));
        })
        .await;
    // A customer lookup refused with the tokens echoed back.
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/customers")
                .query_param("team_token", TEAM);
            then.status(422).json_body(json!({
                "message": format!("team_token={TEAM} is not valid for bearer {BEARER}"),
                "team_token": TEAM, "token": BEARER
            }));
        })
        .await;
    let refused = SalesMania::new(
        Config::new(USER, SecretString::from(PASSWORD), "Toko Maju")
            .with_base_url(server.base_url())
            .with_http(secrets::fast_http()),
    )
    .unwrap();
    let echoed = refused.push_sale(&sale()).await.unwrap_err();
    // A 4xx naming the team token renews the chain once, then gives up.
    assert_eq!(token.calls_async().await, 2);

    // A push that goes through, with the order refused once as expired.
    let server = MockServer::start_async().await;
    for (path, body) in [
        ("/extapi/v1.0/token", json!({"access_token": BEARER})),
        (
            "/extapi/v1.0/databases",
            json!({"data": [{"db_id": 2981, "db_name": "Toko Maju"}]}),
        ),
        ("/extapi/v1.0/team_token", json!({"data": {"team_token": TEAM}})),
    ] {
        server
            .mock_async(|when, then| {
                when.method(GET).path(path);
                then.status(200).json_body(body);
            })
            .await;
    }
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/products");
            then.status(200)
                .json_body(json!([{"id": 501, "name": "Teh", "ext_product_code": "TEA-100",
                "qty_on_hand": 3, "product_units": [{"name": "PCS", "price": 4500, "ratio": 1}]}]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/customers");
            then.status(200)
                .json_body(json!([{"id": 3001, "name": "Warung Bu Sri", "ext_cust_no": "C-001"}]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/orders");
            then.status(200).json_body(json!([]));
        })
        .await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let count = attempts.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/extapi/v1.0/orders");
            then.respond_with(move |_: &HttpMockRequest| {
                let first = count.fetch_add(1, Ordering::SeqCst) == 0;
                let (status, body) = if first {
                    (
                        401,
                        json!({"message": "Team token expired", "team_token": TEAM}).to_string(),
                    )
                } else {
                    (200, "{}".to_owned())
                };
                HttpMockResponse::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(body)
                    .build()
            });
        })
        .await;
    let salesmania = SalesMania::new(
        Config::new(USER, SecretString::from(PASSWORD), "Toko Maju")
            .with_base_url(server.base_url())
            .with_http(secrets::fast_http()),
    )
    .unwrap();
    let receipt = salesmania.push_sale(&sale()).await.unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);

    // A wrong password, refused by a vendor that echoes it back.
    let refusing = MockServer::start_async().await;
    refusing
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/token");
            then.status(401)
                .body(format!("password={PASSWORD}&error=Username+atau+password+salah"));
        })
        .await;
    let wrong = SalesMania::new(
        Config::new(USER, SecretString::from(PASSWORD), "Toko Maju")
            .with_base_url(refusing.base_url())
            .with_http(secrets::fast_http()),
    )
    .unwrap()
    .push_sale(&sale())
    .await
    .unwrap_err();

    // A token answer with the token under a key the connector does not know.
    let odd = MockServer::start_async().await;
    odd.mock_async(|when, then| {
        when.method(GET).path("/extapi/v1.0/token");
        then.status(200).json_body(json!({"jwt": BEARER}));
    })
    .await;
    let undecodable = SalesMania::new(
        Config::new(USER, SecretString::from(PASSWORD), "Toko Maju")
            .with_base_url(odd.base_url())
            .with_http(secrets::fast_http()),
    )
    .unwrap()
    .push_sale(&sale())
    .await
    .unwrap_err();

    logs.assert_nothing_leaked(
        &["auth_team_token", "push_sale"],
        &secrets(),
        [
            format!("{salesmania:?} {receipt:?}"),
            format!("{echoed} {echoed:?}"),
            format!("{wrong} {wrong:?}"),
            format!("{undecodable} {undecodable:?}"),
        ],
    );
}
