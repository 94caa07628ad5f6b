//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating SalesMania, and a client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::{Client, Response};

/// Runs a test body with a time limit, so a hung server fails the test instead of the run.
pub async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(15), f)
        .await
        .expect("the test took longer than 15 s")
}

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
