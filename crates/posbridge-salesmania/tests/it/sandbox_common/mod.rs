//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating SalesMania, and a client.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

pub use posbridge_sandbox::testing::bounded;
use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::{Client, Response};

pub async fn start() -> SandboxHandle {
    start_with(SandboxConfig::default()).await
}

pub async fn start_with(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config, vec![posbridge_salesmania::sandbox::imitation()])
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

/// The `message` of a JSON body.
pub fn message(body: &serde_json::Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}
