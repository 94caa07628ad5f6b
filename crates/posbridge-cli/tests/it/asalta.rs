//! `posbridge auth asalta` end to end: the real binary, the sandbox's OAuth2 code
//! flow, a browser stood in for by an HTTP client, and the stored token then used by
//! another command.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use posbridge::asalta::sandbox::{
    DEFAULT_CLIENT_ID as ASALTA_DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET as ASALTA_DEFAULT_CLIENT_SECRET,
    ImitationConfig as AsaltaConfig,
};
use posbridge_sandbox::{Sandbox, SandboxConfig};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_asalta_stores_a_token_that_the_other_commands_use() {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let asalta = AsaltaConfig {
        redirect_uri: redirect.clone(),
        ..AsaltaConfig::default()
    };
    let handle = Sandbox::start(
        SandboxConfig::default().with_section("asalta", serde_json::to_value(asalta).unwrap()),
        posbridge::sandbox_imitations(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("posbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[asalta]\nbase_url = \"{}\"\nclient_id = \"{ASALTA_DEFAULT_CLIENT_ID}\"\nredirect_uri = \"{redirect}\"\n\
             token_file = \"asalta-token.json\"\n",
            handle.vendor_url("asalta")
        ),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("posbridge");
    let mut child = Command::new(&bin)
        .env_clear()
        .env("HOME", dir.path())
        .env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_ASALTA_CLIENT_SECRET", ASALTA_DEFAULT_CLIENT_SECRET)
        .args(["--json", "auth", "asalta", "--timeout-secs", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let printed: serde_json::Value = serde_json::from_str(first.trim()).unwrap();
    let authorize = printed["authorize_url"].as_str().unwrap().to_owned();

    // The "browser": follow Asalta's redirect back to the CLI's loopback listener.
    let browser = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(&authorize).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    let back = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&redirect), "{back}");
    let page = browser.get(&back).send().await.unwrap();
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap_or_default());

    let status = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let token_file = dir.path().join("asalta-token.json");
    let stored = std::fs::read_to_string(&token_file).unwrap();
    assert!(!stored.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The stored token works for the other commands.
    let stock = tokio::task::spawn_blocking({
        let bin = bin.clone();
        let config = config.clone();
        let home = dir.path().to_path_buf();
        move || {
            Command::new(bin)
                .env_clear()
                .env("HOME", &home)
                .env("POSBRIDGE_CONFIG", &config)
                .env("POSBRIDGE_ASALTA_CLIENT_SECRET", ASALTA_DEFAULT_CLIENT_SECRET)
                .args(["stock", "--vendor", "asalta", "--json"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(stock.status.success(), "{}", String::from_utf8_lossy(&stock.stderr));
    let levels: serde_json::Value = serde_json::from_slice(&stock.stdout).unwrap();
    assert!(!levels.as_array().unwrap().is_empty());

    // And for the reports.
    let report = tokio::task::spawn_blocking({
        let home = dir.path().to_path_buf();
        let config = home.join("posbridge.toml");
        move || {
            Command::new(bin)
                .env_clear()
                .env("HOME", &home)
                .env("POSBRIDGE_CONFIG", &config)
                .env("POSBRIDGE_ASALTA_CLIENT_SECRET", ASALTA_DEFAULT_CLIENT_SECRET)
                .args([
                    "--json",
                    "asalta",
                    "report",
                    "sales",
                    "--from",
                    "2026-11-01",
                    "--to",
                    "2026-11-30",
                ])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert!(rows.is_array(), "{rows}");
    handle.shutdown().await;
}
