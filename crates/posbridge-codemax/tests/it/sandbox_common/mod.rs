//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating Codemax, a client, and Codemax requests.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use posbridge_codemax::sandbox::{DEFAULT_PASSWORD, DEFAULT_USERNAME};
pub use posbridge_sandbox::testing::bounded;
use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::Client;
use serde_json::{Value, json};

pub async fn start() -> SandboxHandle {
    start_with(SandboxConfig::default()).await
}

pub async fn start_with(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config, vec![posbridge_codemax::sandbox::imitation()])
        .await
        .expect("the sandbox starts")
}

pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client")
}

pub const LOGIN: &str = "api/v1/auth/login";
pub const REFRESH: &str = "api/v1/auth/refresh";
pub const SYNC: &str = "api/v1/sync";

/// Posts `body` as JSON to `route`, with `Authorization: Bearer <bearer>` when given;
/// the HTTP status and the JSON answer.
pub async fn post(sandbox: &SandboxHandle, route: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = client()
        .post(format!("{}{route}", sandbox.vendor_url("codemax")))
        .json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// Logs in with the default credentials: `(access, refresh)`.
pub async fn login(sandbox: &SandboxHandle) -> (String, String) {
    let (status, answer) = post(
        sandbox,
        LOGIN,
        None,
        &json!({"username": DEFAULT_USERNAME, "password": DEFAULT_PASSWORD}),
    )
    .await;
    assert_eq!((status, &answer["code"]), (200, &json!("00")), "{answer}");
    tokens(&answer)
}

/// The `(access_token, refresh_token)` of a login or refresh answer.
pub fn tokens(answer: &Value) -> (String, String) {
    (
        answer["access_token"].as_str().expect("an access token").to_owned(),
        answer["refresh_token"].as_str().expect("a refresh token").to_owned(),
    )
}

/// An invoice of the default branch and user, with `(item_code, quantity)` items.
pub fn invoice(number: &str, is_void: bool, items: &[(&str, Value)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(code, quantity)| json!({"item_code": code, "quantity": quantity}))
        .collect();
    json!({
        "invoice_no": number,
        "timestamp": "2026-11-26T10:15:00+08:00",
        "branch_code": "KL01",
        "username": DEFAULT_USERNAME,
        "is_void": is_void,
        "items": items
    })
}

/// Syncs `invoices` with `token`.
pub async fn sync(sandbox: &SandboxHandle, token: &str, invoices: Vec<Value>) -> (u16, Value) {
    post(sandbox, SYNC, Some(token), &json!({ "invoices": invoices })).await
}

/// `(invoice_no, status, code, message)` of each result, as text.
pub fn results(answer: &Value) -> Vec<(String, String, String, String)> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let s = |k: &str| match &r[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (s("invoice_no"), s("status"), s("code"), s("message"))
        })
        .collect()
}
