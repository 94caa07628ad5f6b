//! End-to-end tests of the real `posbridge` binary against a sandbox on an ephemeral
//! loopback port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use posbridge_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxHandle};

const TOKEN: &str = "38iGm3yI86Hw";

/// The binary with a clean environment: no user config file, no stray variables.
fn posbridge(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("posbridge").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A config file pointing CloudMA at the sandbox with fast retries (the token comes
/// from the environment).
fn config_file(dir: &Path, handle: &SandboxHandle) -> PathBuf {
    let path = dir.join("posbridge.toml");
    std::fs::write(
        &path,
        format!(
            "[cloudma]\nbase_url = \"{}\"\n\n[cloudma.http]\ntimeout_ms = 5000\n\n[cloudma.http.retry]\n\
             max_retries = 5\nmin_delay_ms = 1\nmax_delay_ms = 10\nmax_retry_after_ms = 2000\n",
            handle.vendor_url("cloudma")
        ),
    )
    .unwrap();
    path
}

fn sale_json(reference: &str, code: &str, qty: u32) -> String {
    format!(
        r#"{{"reference":"{reference}","issued_at":"2026-11-26T10:00:00+05:30","lines":[{{"product_code":"{code}","quantity":"{qty}","unit_price":"450.00"}}]}}"#
    )
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    let out = posbridge(home.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Exit codes"));
    for sub in ["demo", "push", "stock", "check", "sandbox"] {
        let out = posbridge(home.path()).args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub} --help failed");
        assert!(text(&out.stdout).contains("Example"), "{sub} --help has no example");
    }
}

#[test]
fn the_demo_passes() {
    let home = tempfile::tempdir().unwrap();
    let out = posbridge(home.path()).args(["demo", "--sales", "20"]).output().unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("== cloudma"), "{stdout}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn the_demo_with_faults_keeps_the_books_right() {
    let home = tempfile::tempdir().unwrap();
    let out = posbridge(home.path())
        .args(["demo", "--sales", "40", "--faults", "--json"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "demo --faults failed:\n{stdout}\n{}",
        text(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let vendors = report["demo"]["vendors"].as_array().unwrap();
    assert!(vendors.len() >= 3, "{report}");
    for v in vendors {
        assert_eq!(v["lost"], 0, "{v}");
        assert_eq!(v["duplicated"], 0, "{v}");
        let booked = ["accepted", "settled_already_booked", "settled_booked_on_resend"]
            .iter()
            .map(|k| v[k].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(booked, 40, "every valid sale ends booked: {v}");
        assert!(v["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_with_a_wrong_token_exits_3_with_a_clear_message() {
    let handle = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("sale.json");
    std::fs::write(&file, sale_json("INV-1", "TEA-100", 1)).unwrap();
    let mut cmd = posbridge(dir.path());
    cmd.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", "not-the-token")
        .args(["push", "sale"])
        .arg(&file);
    let out = run(cmd).await;
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("authentication failed"), "{all}");
    assert!(
        all.contains("POSBRIDGE_CLOUDMA_TOKEN"),
        "no hint on what to fix:\n{all}"
    );
    assert!(!all.contains("not-the-token"), "the token leaked:\n{all}");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_sale_file_exits_2_naming_the_line_and_field_and_sends_nothing() {
    let handle = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("sales.ndjson");
    let bad = sale_json("INV-2", "TEA-100", 1).replace("\"quantity\"", "\"qty\"");
    std::fs::write(&file, format!("{}\n{bad}\n", sale_json("INV-1", "TEA-100", 1))).unwrap();
    let mut cmd = posbridge(dir.path());
    cmd.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
        .args(["push", "sale"])
        .arg(&file);
    let out = run(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("qty") || stderr.contains("quantity"), "{stderr}");
    assert!(handle.requests().is_empty(), "something was sent");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_total_that_does_not_reconcile_exits_2_naming_the_field() {
    let handle = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("sale.json");
    let sale = sale_json("INV-1", "TEA-100", 2).replace("}]}", "}],\"total\":\"900.01\"}");
    std::fs::write(&file, sale).unwrap();
    let mut cmd = posbridge(dir.path());
    cmd.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
        .args(["push", "sale"])
        .arg(&file);
    let out = run(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("total") && stderr.contains("900.01") && stderr.contains("900.00"),
        "{stderr}"
    );
    assert!(handle.requests().is_empty(), "something was sent");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sales_with_twenty_percent_faults_lose_nothing_and_duplicate_nothing() {
    let rule = |fault: Fault, rate: f64| FaultRule {
        vendor: Some("cloudma".into()),
        route: Some("api/push-sale".into()),
        fault,
        rate,
    };
    // About one request in five meets a fault.
    let faults = vec![
        rule(Fault::RateLimit { retry_after_secs: 0 }, 0.04),
        rule(Fault::Status { status: 503 }, 0.04),
        rule(Fault::Status { status: 500 }, 0.04),
        rule(Fault::DropBeforeApply, 0.04),
        rule(Fault::DropAfterApply, 0.04),
    ];
    let handle = Sandbox::start(SandboxConfig {
        faults,
        seed: 7,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let codes: Vec<String> = handle.state().products.iter().map(|p| p.code.clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("day.ndjson");
    let mut ndjson = String::new();
    let mut references = BTreeSet::new();
    for i in 0..1000 {
        let reference = format!("E2E-{i:05}");
        ndjson.push_str(&sale_json(&reference, &codes[i % codes.len()], 1 + (i % 3) as u32));
        ndjson.push('\n');
        references.insert(reference);
    }
    std::fs::write(&file, ndjson).unwrap();
    let mut cmd = posbridge(dir.path());
    cmd.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
        .args(["push", "sale", "--json"])
        .arg(&file);
    let out = run(cmd).await;
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));

    // Every sale is reported exactly once.
    let mut reported: BTreeMap<String, String> = BTreeMap::new();
    for line in text(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(r) = v["reference"].as_str() {
            let outcome = v["outcome"].as_str().unwrap().to_owned();
            assert!(reported.insert(r.to_owned(), outcome).is_none(), "{r} reported twice");
        }
    }
    assert_eq!(
        reported.keys().cloned().collect::<BTreeSet<_>>(),
        references,
        "a sale was not reported"
    );

    // What the sandbox holds agrees with what was reported: nothing lost.
    let held: BTreeSet<String> = handle.state().documents["cloudma"].sales.keys().cloned().collect();
    for (reference, outcome) in &reported {
        match outcome.as_str() {
            "accepted" => assert!(held.contains(reference), "{reference} reported accepted but not held"),
            "uncertain" => {}
            other => assert!(
                !held.contains(reference),
                "{reference} reported {other} but the vendor holds it"
            ),
        }
    }
    // Nothing applied twice.
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    for r in handle.requests().iter().filter(|r| r.applied) {
        *applied.entry(r.reference.clone().unwrap_or_default()).or_default() += 1;
    }
    assert!(applied.values().all(|n| *n == 1), "a sale was applied twice");
    let uncertain = reported.values().filter(|o| *o == "uncertain").count();
    let accepted = reported.values().filter(|o| *o == "accepted").count();
    let requests = handle.requests();
    let faulted = requests.iter().filter(|r| r.fault.is_some()).count();
    let held_uncertain = reported
        .iter()
        .filter(|(r, o)| *o == "uncertain" && held.contains(*r))
        .count();
    println!(
        "1000 sales: {} requests ({faulted} met a fault); accepted {accepted}, uncertain {uncertain} \
         ({held_uncertain} of them held by the vendor), other {}; held {}; applied twice 0",
        requests.len(),
        reported.len() - accepted - uncertain,
        held.len()
    );
    assert!(
        uncertain > 0 && accepted > 800,
        "accepted {accepted}, uncertain {uncertain}"
    );
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_which_credentials_work() {
    let handle = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let mut good = posbridge(dir.path());
    good.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
        .args(["check", "--json"]);
    let out = run(good).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(line["vendor"], "cloudma");
    assert_eq!(line["ok"], true);

    let mut bad = posbridge(dir.path());
    bad.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", "wrong")
        .args(["check"]);
    let out = run(bad).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("POSBRIDGE_CLOUDMA_TOKEN"),
        "{}",
        text(&out.stdout)
    );
    handle.shutdown().await;
}
