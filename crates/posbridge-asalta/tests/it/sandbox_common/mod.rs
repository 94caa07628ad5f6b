//! Helpers shared by the tests of the imitation (`tests/sandbox*.rs`): a sandbox
//! imitating Asalta, its tokens, and a client.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

pub use posbridge_sandbox::testing::bounded;
use posbridge_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::Client;

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
