//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating CloudMA, a client, and the CloudMA requests the fixtures use.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

pub use posbridge_sandbox::testing::bounded;
use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::{Client, Response};

pub const TOKEN: &str = posbridge_cloudma::sandbox::DEFAULT_TOKEN;

pub async fn start() -> SandboxHandle {
    start_with(SandboxConfig::default()).await
}

pub async fn start_with(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config, vec![posbridge_cloudma::sandbox::imitation()])
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

pub type Fields = Vec<(String, String)>;

/// The sale of the `push_sale__happy_path` fixture, as form fields.
pub fn sale_form(reference: &str) -> Fields {
    [
        ("token", TOKEN),
        ("customer_name", "Nimal Perera"),
        ("customer_email", "nimal@example.lk"),
        ("reference_no", reference),
        ("shipping_cost", "150.00"),
        ("total_discount", "0.00"),
        ("grand_total", "1980.00"),
        ("items[0][code]", "TEA-100"),
        ("items[0][qty]", "2"),
        ("items[0][discount]", "0.00"),
        ("items[0][total]", "900.00"),
        ("items[0][unit_price]", "450.00"),
        ("items[1][code]", "MUG-1"),
        ("items[1][qty]", "1"),
        ("items[1][discount]", "120.00"),
        ("items[1][total]", "1080.00"),
        ("items[1][unit_price]", "1200.00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The purchase of the `push_purchase__happy_path` fixture, as form fields.
pub fn purchase_form(reference: &str) -> Fields {
    [
        ("token", TOKEN),
        ("reference_no", reference),
        ("grand_total", "22320.00"),
        ("items[0][code]", "TEA-100"),
        ("items[0][qty]", "48"),
        ("items[0][discount]", "0.00"),
        ("items[0][total]", "14880.00"),
        ("items[0][unit_cost]", "310.00"),
        ("items[1][code]", "MUG-1"),
        ("items[1][qty]", "12"),
        ("items[1][discount]", "240.00"),
        ("items[1][total]", "7440.00"),
        ("items[1][unit_cost]", "640.00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `fields` with `key` set to `value` (added if absent).
pub fn with(mut fields: Fields, key: &str, value: &str) -> Fields {
    match fields.iter_mut().find(|(k, _)| k == key) {
        Some(f) => f.1 = value.to_owned(),
        None => fields.push((key.to_owned(), value.to_owned())),
    }
    fields
}

/// `fields` without `key`.
pub fn without(mut fields: Fields, key: &str) -> Fields {
    fields.retain(|(k, _)| k != key);
    fields
}

pub async fn post_form(sandbox: &SandboxHandle, route: &str, fields: &Fields) -> Response {
    client()
        .post(format!("{}{route}", sandbox.vendor_url("cloudma")))
        .form(fields)
        .send()
        .await
        .expect("a response")
}

pub async fn post_json(sandbox: &SandboxHandle, route: &str, body: &serde_json::Value) -> Response {
    client()
        .post(format!("{}{route}", sandbox.vendor_url("cloudma")))
        .json(body)
        .send()
        .await
        .expect("a response")
}

/// Status and JSON body.
pub async fn read(response: Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

/// The `message` of a JSON body.
pub fn message(body: &serde_json::Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}
