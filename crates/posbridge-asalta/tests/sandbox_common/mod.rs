//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating Asalta, its tokens, and a client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::Client;

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
    Sandbox::start(config, vec![posbridge_asalta::sandbox::imitation()])
        .await
        .expect("the sandbox starts")
}

/// An access token the sandbox minted without the browser step.
pub fn mint_token(sandbox: &SandboxHandle) -> String {
    posbridge_asalta::sandbox::mint_token(sandbox).expect("the sandbox imitates Asalta")
}

/// An access token and its refresh token, minted without the browser step.
pub fn mint_tokens(sandbox: &SandboxHandle) -> (String, String) {
    posbridge_asalta::sandbox::mint_tokens(sandbox).expect("the sandbox imitates Asalta")
}

/// Expires every access token the sandbox issued.
pub fn expire_tokens(sandbox: &SandboxHandle) {
    assert!(posbridge_asalta::sandbox::expire_tokens(sandbox));
}

pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client")
}
