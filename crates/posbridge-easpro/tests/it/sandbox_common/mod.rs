//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating EAS Pro (with defaults), a client, and EAS Pro requests.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod other;

use std::time::Duration;

use posbridge_easpro::sandbox::{DEFAULT_PARTNER, DEFAULT_USER_ID, easpro_product_id};
pub use posbridge_sandbox::testing::bounded;
use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::{Client, Response};
use serde_json::{Value, json};

pub async fn start() -> SandboxHandle {
    start_with(SandboxConfig::default()).await
}

/// A sandbox imitating EAS Pro, and [`other`] (another vendor, to show that its
/// documents are its own).
pub async fn start_with(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config, vec![posbridge_easpro::sandbox::imitation(), other::imitation()])
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

/// Status and JSON body.
pub async fn read(response: Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

pub const CREATE: &str = "eas/api/external/transaction/create";
pub const PAYMENT: &str = "eas/api/external/transaction/payment/create";

/// A bill of the sample catalogue: 2 × TEA-100 at 450.00 (900.00) and 1 × MUG-1 at
/// 1200.00 less a flat 120.00 (1080.00), delivery 150: value 2130.00. Money as EAS
/// Pro's sample writes it (strings for the line inputs, numbers for the totals).
pub fn bill(reference: &str) -> Value {
    json!({"data": {
        "value": 2130.0,
        "transactionDate": "2026-11-26T10:15",
        "billType": "INVOICE",
        "billStatus": "UNPAID",
        "billReferenceId": reference,
        "delivery": 150.0,
        "partner": {"type": "CUSTOMER", "name": "Adam bin Ismail", "email": "adam@example.my"},
        "products": [
            {"description": "-", "discount": "0.00", "discountType": "flat", "invProductId": easpro_product_id("TEA-100"),
             "name": "Ceylon tea 100g", "priceSellPerUnit": "450.00", "stockToCount": "2", "subTotal": 900.0},
            {"description": "-", "discount": "120.00", "discountType": "flat", "invProductId": easpro_product_id("MUG-1"),
             "name": "Mug", "priceSellPerUnit": "1200.00", "stockToCount": "1", "subTotal": 1080.0}
        ]
    }})
}

/// A cash payment of `amount` for `bill`.
pub fn payment(reference: &str, bill: &str, amount: f64) -> Value {
    json!({"data": {
        "amount": amount, "paymentDate": "2026-11-26T10:20", "reference": reference,
        "billReferenceId": bill, "transactionMethod": "CASH"
    }})
}

/// Posts `body` to `route` with the default `partner` and `user-id`; the HTTP status
/// and the JSON answer.
pub async fn post(sandbox: &SandboxHandle, route: &str, body: &Value) -> (u16, Value) {
    post_as(
        sandbox,
        route,
        &[("partner", DEFAULT_PARTNER), ("user-id", DEFAULT_USER_ID)],
        body.to_string(),
    )
    .await
}

/// Posts a raw body with the given headers.
pub async fn post_as(sandbox: &SandboxHandle, route: &str, headers: &[(&str, &str)], body: String) -> (u16, Value) {
    let mut request = client()
        .post(format!("{}{route}", sandbox.vendor_url("easpro")))
        .header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.body(body).send().await.expect("a response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

/// `response.status.code`.
pub fn code(answer: &Value) -> &str {
    answer["response"]["status"]["code"].as_str().unwrap_or_default()
}

/// `response.status.httpMessage`.
pub fn message(answer: &Value) -> &str {
    answer["response"]["status"]["httpMessage"].as_str().unwrap_or_default()
}

/// Checks the envelope around a code: HTTP 200, `data.result` and `demo`, the date's
/// shape, and the code and message.
pub fn assert_answer(status: u16, answer: &Value, want_code: &str, want_message: &str) {
    assert_eq!(status, 200, "{answer}");
    assert_eq!((code(answer), message(answer)), (want_code, want_message), "{answer}");
    let result = if want_code == "0" { "Success" } else { "Failed" };
    assert_eq!(answer["data"], json!({"result": result, "demo": false}), "{answer}");
    let date = answer["response"]["date"].as_str().unwrap_or_default();
    let shape: String = date.chars().map(|c| if c.is_ascii_digit() { 'd' } else { c }).collect();
    assert_eq!(shape, "dddd/dd/dd dd:dd:dd", "{answer}");
}
