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
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
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
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
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
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
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
    let handle = Sandbox::start(
        SandboxConfig {
            faults,
            seed: 7,
            ..SandboxConfig::default()
        },
        posbridge::sandbox_imitations(),
    )
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
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
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

// ---------------------------------------------------------------------------------
// Issue 17: what a new user met.

/// The longest line the CLI may print for an error, whatever the input.
const MAX_LINE: usize = 1024;

/// Every line of `s` is at most [`MAX_LINE`] bytes.
fn assert_lines_bounded(s: &str) {
    for line in s.lines() {
        assert!(
            line.len() <= MAX_LINE,
            "a line of {} bytes: {}…",
            line.len(),
            line.chars().take(200).collect::<String>()
        );
    }
}

/// A 5 MB value in a sale is refused locally; the error names the field and why, and
/// quotes the value only as a short excerpt with its length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_megabyte_reference_is_refused_with_a_short_message() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("sale.json");
    let reference = "A".repeat(5 * 1024 * 1024);
    std::fs::write(&file, sale_json(&reference, "TEA-100", 1)).unwrap();
    for json in [false, true] {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
            .args(["push", "sale"])
            .arg(&file);
        if json {
            cmd.arg("--json");
        }
        let out = run(cmd).await;
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            stderr.chars().take(500).collect::<String>()
        );
        assert!(stderr.len() < 4096, "stderr is {} bytes", stderr.len());
        assert!(out.stdout.len() < 4096, "stdout is {} bytes", out.stdout.len());
        assert!(
            stderr.contains("reference") && stderr.contains("longer than 200 bytes"),
            "{stderr}"
        );
        assert!(
            stderr.contains("(5242880 bytes)"),
            "the excerpt says how long it was: {stderr}"
        );
        assert_lines_bounded(&stderr);
    }
    assert!(handle.requests().is_empty(), "something was sent");
    handle.shutdown().await;
}

/// A huge value anywhere a parser may quote it (a mistyped number, an unknown field's
/// name, an unknown enum value, the file name) gives a short error that still says
/// where and why.
#[test]
fn huge_values_anywhere_in_the_input_give_short_errors() {
    let home = tempfile::tempdir().unwrap();
    let big = "B".repeat(5 * 1024 * 1024);
    let sale = sale_json("INV-1", "TEA-100", 1);
    // What was wrong, and what the message must still say.
    let cases = [
        (
            "quantity",
            sale.replace("\"quantity\":\"1\"", &format!("\"quantity\":\"{big}\"")),
            "…\" (5242880 bytes), expected a Decimal",
        ),
        (
            "unknown field",
            sale.replace("\"lines\"", &format!("\"{big}\":1,\"lines\"")),
            "…` (5242880 bytes), expected one of `reference`",
        ),
        (
            "kind",
            sale.replace("\"lines\"", &format!("\"kind\":\"{big}\",\"lines\"")),
            "…` (5242880 bytes), expected one of `invoice`",
        ),
        ("issued_at", sale.replace("2026-11-26T10:00:00+05:30", &big), "year"),
        ("line 2", format!("{sale}\n{{\"reference\":\"{big}\n"), "line 2"),
    ];
    for (what, body, says) in cases {
        let file = home.path().join("sales.ndjson");
        std::fs::write(&file, body).unwrap();
        let mut cmd = posbridge(home.path());
        cmd.env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
            .env("POSBRIDGE_CLOUDMA_BASE_URL", "http://127.0.0.1:9/cloudma/")
            .args(["push", "sale"])
            .arg(&file);
        let out = cmd.output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{what}: {}",
            stderr.chars().take(500).collect::<String>()
        );
        assert!(stderr.len() < 4096, "{what}: stderr is {} bytes", stderr.len());
        assert!(
            stderr.contains("invalid sale") && stderr.contains(says),
            "{what}: {stderr}"
        );
        assert_lines_bounded(&stderr);
    }
}

/// A config file with a config for CloudMA at the sandbox, plus `extra`.
fn config_with(dir: &Path, handle: &SandboxHandle, extra: &str) -> PathBuf {
    let path = config_file(dir, handle);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(extra);
    std::fs::write(&path, text).unwrap();
    path
}

/// A misspelt section is an error naming it and the name it was probably meant to be,
/// and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_section_is_an_error_naming_it() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sale.json");
    std::fs::write(&file, sale_json("INV-1", "TEA-100", 1)).unwrap();
    let cases = [
        (
            "\n[cloudmaa]\ntoken = \"x\"\n",
            "cloudmaa",
            Some("did you mean cloudma?"),
        ),
        (
            "\n[tenants.colombo.cloudmaa]\nbase_url = \"x\"\n",
            "tenants.colombo.cloudmaa",
            Some("did you mean cloudma?"),
        ),
        (
            "\n[tenant.colombo.cloudma]\nbase_url = \"x\"\n",
            "tenant",
            Some("did you mean tenants?"),
        ),
        (
            "\n[outbx]\ndatabase = \"sqlite://x.db\"\n",
            "outbx",
            Some("did you mean outbox?"),
        ),
        ("\n[foobar]\nx = 1\n", "foobar", None),
    ];
    for (extra, name, suggestion) in cases {
        let config = config_with(dir.path(), &handle, extra);
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
            .args(["push", "sale", "--vendor", "cloudma"])
            .arg(&file);
        let out = run(cmd).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(&format!("[{name}]")), "{name}: {stderr}");
        match suggestion {
            Some(s) => assert!(stderr.contains(s), "{name}: {stderr}"),
            None => assert!(!stderr.contains("did you mean"), "{name}: {stderr}"),
        }
    }
    assert!(handle.requests().is_empty(), "something was sent");
    handle.shutdown().await;
}

/// A config holding only an unknown section names it (it used to say only that no
/// vendor is configured).
#[test]
fn a_config_with_only_an_unknown_section_names_it() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("posbridge.toml");
    std::fs::write(&config, "[foobar]\nbase_url = \"x\"\n").unwrap();
    let out = posbridge(home.path())
        .env("POSBRIDGE_CONFIG", &config)
        .args(["stock"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[foobar]"), "{stderr}");
}

/// An unknown key inside a vendor section (or one of its subsections) is refused too,
/// and names the key.
#[test]
fn an_unknown_key_in_a_vendor_section_is_an_error_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("posbridge.toml");
    for (body, key) in [
        ("[cloudma]\nbase_url = \"http://127.0.0.1:9/\"\ntokn = \"x\"\n", "tokn"),
        (
            "[cloudma]\nbase_url = \"http://127.0.0.1:9/\"\n[cloudma.http]\ntimeout = 5\n",
            "timeout",
        ),
    ] {
        std::fs::write(&config, body).unwrap();
        let out = posbridge(home.path())
            .env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
            .args(["stock"])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(key) && stderr.contains("[cloudma]"), "{stderr}");
    }
}

/// A config for EAS Pro at the sandbox, with the id map of the sample catalogue.
fn easpro_config(dir: &Path, handle: &SandboxHandle) -> PathBuf {
    let ids = posbridge::easpro::sandbox::easpro_product_ids(&posbridge_sandbox::Catalogue::sample());
    let map = serde_json::json!({ "product": ids });
    std::fs::write(dir.join("easpro-products.json"), map.to_string()).unwrap();
    let path = dir.join("posbridge.toml");
    std::fs::write(
        &path,
        format!(
            "[easpro]\nbase_url = \"{}\"\nid_map_file = \"easpro-products.json\"\n",
            handle.vendor_url("easpro")
        ),
    )
    .unwrap();
    path
}

/// A sale the connector refuses before sending (a void sale, which EAS Pro's API
/// cannot take) is reported `invalid (not sent)` and not counted as sent or rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_refused_before_sending_is_reported_invalid_not_sent() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = easpro_config(dir.path(), &handle);
    let file = dir.path().join("sales.ndjson");
    let void = sale_json("INV-2", "TEA-100", 1).replace("\"lines\"", "\"status\":\"void\",\"lines\"");
    std::fs::write(&file, format!("{}\n{void}\n", sale_json("INV-1", "TEA-100", 1))).unwrap();
    let push = |json: bool| {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_EASPRO_PARTNER", posbridge::easpro::sandbox::DEFAULT_PARTNER)
            .env("POSBRIDGE_EASPRO_USER_ID", posbridge::easpro::sandbox::DEFAULT_USER_ID)
            .args(["push", "sale"])
            .arg(&file);
        if json {
            cmd.arg("--json");
        }
        cmd
    };

    let out = run(push(false)).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let line = stdout.lines().find(|l| l.contains("INV-2")).unwrap_or_default();
    assert!(line.starts_with("invalid (not sent) INV-2"), "{stdout}");
    assert!(
        stdout.contains("easpro: 1 sent, 1 accepted, 0 rejected, 0 uncertain, 0 failed, 1 invalid (not sent)"),
        "{stdout}"
    );
    let sent: Vec<_> = handle
        .requests()
        .into_iter()
        .filter(|r| r.reference.as_deref() == Some("INV-2"))
        .collect();
    assert!(sent.is_empty(), "the invalid sale was sent");

    // Again with --json: the same, and the existing fields keep their names.
    let out = run(push(true)).await;
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let invalid = lines.iter().find(|v| v["reference"] == "INV-2").unwrap();
    assert_eq!(invalid["outcome"], "invalid", "{invalid}");
    assert_eq!(invalid["sent"], false, "{invalid}");
    assert_eq!(invalid["error"]["kind"], "invalid", "{invalid}");
    let counts = &lines.last().unwrap()["summary"]["counts"];
    assert_eq!(counts["invalid"], 1, "{counts}");
    assert_eq!(counts["rejected"], 0, "{counts}");
    assert_eq!(counts["sent"], 1, "{counts}");
    handle.shutdown().await;
}

/// The demo does not count a sale the connector refused locally as sent or rejected.
#[test]
fn the_demo_reports_local_refusals_as_invalid_not_sent() {
    let home = tempfile::tempdir().unwrap();
    let out = posbridge(home.path())
        .args(["demo", "--sales", "3", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    let vendors = report["demo"]["vendors"].as_array().unwrap();
    // EAS Pro and Asalta cannot map a product they do not know: refused before sending.
    let easpro = vendors.iter().find(|v| v["vendor"] == "easpro").unwrap();
    assert_eq!(easpro["invalid"], 1, "{easpro}");
    assert_eq!(easpro["rejected"], 0, "{easpro}");
    assert_eq!(easpro["sent"], 3, "{easpro}");
    // CloudMA refuses it at the vendor: sent and rejected.
    let cloudma = vendors.iter().find(|v| v["vendor"] == "cloudma").unwrap();
    assert_eq!(
        (cloudma["sent"].as_u64(), cloudma["rejected"].as_u64()),
        (Some(4), Some(1)),
        "{cloudma}"
    );
    assert_eq!(cloudma["invalid"], 0, "{cloudma}");
}

/// The outbox's list says a dead delivery the connector refused before sending was
/// never sent, as `push` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_lists_a_local_refusal_as_invalid_not_sent() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = easpro_config(dir.path(), &handle);
    let file = dir.path().join("void.json");
    let void = sale_json("INV-9", "TEA-100", 1).replace("\"lines\"", "\"status\":\"void\",\"lines\"");
    std::fs::write(&file, void).unwrap();
    let db = format!("sqlite://{}", dir.path().join("outbox.db").display());
    let outbox = |args: &[&str]| {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_EASPRO_PARTNER", posbridge::easpro::sandbox::DEFAULT_PARTNER)
            .env("POSBRIDGE_EASPRO_USER_ID", posbridge::easpro::sandbox::DEFAULT_USER_ID)
            .args(["outbox", "--db", &db])
            .args(args);
        cmd
    };
    let out = run(outbox(&["enqueue", file.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(outbox(&["run", "--until-idle"])).await;
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = run(outbox(&["list", "--state", "dead"])).await;
    let stdout = text(&out.stdout);
    let line = stdout.lines().find(|l| l.contains("INV-9")).unwrap_or_default();
    assert!(line.contains("invalid (not sent): invalid status"), "{stdout}");
    assert!(handle.requests().is_empty(), "the invalid sale was sent");
    handle.shutdown().await;
}

/// A config file with the sandbox's own section for `vendor` (flat scalar values).
fn sandbox_vendor_config(dir: &Path, handle: &SandboxHandle, vendor: &str) -> PathBuf {
    let section = handle.connector_section(vendor).unwrap();
    let mut toml = format!("[{vendor}]\n");
    for (k, v) in section.as_object().unwrap() {
        match v {
            serde_json::Value::String(s) => toml.push_str(&format!("{k} = {}\n", serde_json::Value::from(s.clone()))),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => toml.push_str(&format!("{k} = {v}\n")),
            _ => {}
        }
    }
    let path = dir.join("posbridge.toml");
    std::fs::write(&path, toml).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn return_json(reference: &str, sale: &str, total: &str) -> String {
    format!(
        r#"{{"reference":"{reference}","sale":{{"reference":"{sale}"}},"issued_at":"2026-11-27T10:00:00+05:30","lines":[{{"product_code":"TEA-100","quantity":"1","unit_price":"450.00"}}],"total":"{total}"}}"#
    )
}

/// A return to a vendor that takes none is refused before anything is sent, and the
/// error says what the vendor does offer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_to_a_vendor_without_returns_names_what_it_offers_and_sends_nothing() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("returns.ndjson");
    std::fs::write(&file, return_json("RET-1", "INV-1", "450.00")).unwrap();
    let mut cmd = posbridge(dir.path());
    cmd.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
        .args(["push", "return"])
        .arg(&file);
    let out = run(cmd).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("push_return is not supported"), "{stderr}");
    assert!(stderr.contains("it offers") && stderr.contains("push_sale"), "{stderr}");
    assert!(handle.requests().is_empty(), "something was sent");
    handle.shutdown().await;
}

/// Every return is checked before anything is sent: a total off by a cent on the
/// second line of the file stops the whole file, naming the line and the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_that_does_not_reconcile_exits_2_naming_the_line_and_sends_nothing() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &handle);
    let file = dir.path().join("returns.ndjson");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            return_json("RET-1", "INV-1", "450.00"),
            return_json("RET-2", "INV-2", "450.01")
        ),
    )
    .unwrap();
    for args in [vec!["push", "return"], vec!["--json", "push", "return"]] {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_CLOUDMA_TOKEN", TOKEN)
            .args(&args)
            .arg(&file);
        let out = run(cmd).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("line 2") && stderr.contains("total"), "{stderr}");
        assert!(stderr.contains("450.01") && stderr.contains("450.00"), "{stderr}");
    }
    assert!(handle.requests().is_empty(), "something was sent");
    handle.shutdown().await;
}

/// `sales void` by the POS reference at SalesMania: the order is found by its
/// reference, voided, and reads back void; voiding with neither a file nor a sale
/// is a usage error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_is_voided_by_its_pos_reference_and_reads_back_void() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_vendor_config(dir.path(), &handle, "salesmania");
    let cli = |args: &[&str]| {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config).args(args);
        cmd
    };
    let file = dir.path().join("sale.json");
    std::fs::write(&file, sale_json("INV-77", "TEA-100", 2)).unwrap();
    let out = run(cli(&["--json", "push", "sale", file.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let pushed: serde_json::Value = serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    let vendor_id = pushed["vendor_id"].as_str().unwrap().to_owned();

    let out = run(cli(&["sales", "void", "--reason", "rung up twice"])).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--reference"), "{}", text(&out.stderr));

    let out = run(cli(&["--json", "sales", "void", "--reference", "INV-77"])).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let voided: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(voided["outcome"], "accepted", "{voided}");
    assert_eq!(voided["vendor_id"], vendor_id.as_str(), "{voided}");

    let out = run(cli(&["sales", "get", &vendor_id])).await;
    let sale: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sale["status"], "void", "{sale}");
    // SalesMania's API has no list of orders: said, naming what it does offer.
    let out = run(cli(&["sales", "list"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("list_sales is not supported") && stderr.contains("void_sale"),
        "{stderr}"
    );
    handle.shutdown().await;
}

/// `payments add` books a later payment at EAS Pro (after the sale), checked first
/// like any record; `payments delete`, which EAS Pro does not offer, is refused
/// naming what it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_payment_is_booked_and_a_delete_the_vendor_lacks_is_refused() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = easpro_config(dir.path(), &handle);
    let cli = |args: &[&str]| {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_EASPRO_PARTNER", posbridge::easpro::sandbox::DEFAULT_PARTNER)
            .env("POSBRIDGE_EASPRO_USER_ID", posbridge::easpro::sandbox::DEFAULT_USER_ID)
            .args(args);
        cmd
    };
    let sale = dir.path().join("sale.json");
    std::fs::write(&sale, sale_json("INV-500", "TEA-100", 2)).unwrap();
    let out = run(cli(&["push", "sale", sale.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let payments = dir.path().join("payments.ndjson");
    let pay = |reference: &str, amount: &str| {
        format!(
            r#"{{"sale":{{"reference":"INV-500"}},"payment":{{"reference":"{reference}","amount":"{amount}","method":"cash"}}}}"#
        )
    };
    // A payment of zero on line 2 stops the file before anything is sent.
    std::fs::write(&payments, format!("{}\n{}\n", pay("P-1", "400.00"), pay("P-2", "0"))).unwrap();
    let before = handle.requests().len();
    let out = run(cli(&["payments", "add", payments.to_str().unwrap()])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("line 2") && stderr.contains("payment.amount"),
        "{stderr}"
    );
    assert_eq!(handle.requests().len(), before, "something was sent");

    std::fs::write(
        &payments,
        format!("{}\n{}\n", pay("P-1", "400.00"), pay("P-2", "500.00")),
    )
    .unwrap();
    let out = run(cli(&["--json", "payments", "add", payments.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["reference"], "P-1", "{}", lines[0]);
    assert_eq!(lines[0]["outcome"], "accepted", "{}", lines[0]);
    assert_eq!(lines[2]["summary"]["counts"]["accepted"], 2, "{}", lines[2]);
    let held = handle.state().documents["easpro"].payments.clone();
    assert!(held.contains_key("P-1") && held.contains_key("P-2"), "{held:?}");

    let out = run(cli(&["payments", "delete", "P-1"])).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("delete_payment is not supported") && stderr.contains("add_payment"),
        "{stderr}"
    );
    handle.shutdown().await;
}

/// `idmap build` for a vendor without a product list (EAS Pro): the merchant's CSV
/// export against the POS's CSV; matched by code, barcode and name in turn; the
/// unmatched and the ambiguous reported with exit 1; a second run keeps a hand-made
/// entry and adds nothing twice.
#[test]
fn idmap_build_matches_an_exported_catalogue_and_keeps_hand_made_entries() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("posbridge.toml");
    std::fs::write(
        &config,
        "[easpro]\nbase_url = \"http://127.0.0.1:9/\"\nid_map_file = \"maps/easpro.json\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("export.csv"),
        "\u{feff}invProductId,SKU,Name,Barcode\n\
         u-1,TEA-100,\"Tea, Ceylon 100g\",\n\
         u-2,,Milo 1kg,9556001\n\
         u-3,,Sugar 1kg,\n\
         u-4,,SUGAR  1KG,\n\
         u-5,BREAD,Bread,\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pos.csv"),
        "code,name,barcode\nTEA-100,Teh,\nMILO-1KG,Milo,9556001\nSUGAR-1KG,sugar 1kg,\nBREAD,Roti,\nNOPE,Nothing,\n",
    )
    .unwrap();
    let build = || {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config)
            .env("POSBRIDGE_EASPRO_PARTNER", "p")
            .env("POSBRIDGE_EASPRO_USER_ID", "u")
            .args(["--json", "idmap", "build", "--vendor", "easpro"])
            .arg("--vendor-catalogue")
            .arg(dir.path().join("export.csv"))
            .arg("--pos-catalogue")
            .arg(dir.path().join("pos.csv"));
        cmd.output().unwrap()
    };
    let out = build();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["matched"], 3, "{report}");
    assert_eq!(report["matched_by"]["code"], 2, "{report}");
    assert_eq!(report["matched_by"]["barcode"], 1, "{report}");
    assert_eq!(report["unmatched"], serde_json::json!(["NOPE"]), "{report}");
    assert_eq!(report["ambiguous"][0]["code"], "SUGAR-1KG", "{report}");
    assert_eq!(
        report["ambiguous"][0]["ids"],
        serde_json::json!(["u-3", "u-4"]),
        "{report}"
    );
    let file = dir.path().join("maps/easpro.json");
    let map: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        map["product"],
        serde_json::json!({"TEA-100": "u-1", "MILO-1KG": "u-2", "BREAD": "u-5"})
    );

    // A hand-made entry, and another kind, survive the next build.
    std::fs::write(
        &file,
        r#"{"product": {"TEA-100": "u-hand", "SUGAR-1KG": "u-3"}, "customer": {"C-1": "9"}}"#,
    )
    .unwrap();
    let out = build();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(report["kept_hand_made"][0]["code"], "TEA-100", "{report}");
    let map: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(map["product"]["TEA-100"], "u-hand");
    assert_eq!(map["product"]["SUGAR-1KG"], "u-3");
    assert_eq!(map["customer"]["C-1"], "9");
    // The connector reads the map it wrote (EAS Pro's check sends nothing).
    let mut cmd = posbridge(dir.path());
    cmd.env("POSBRIDGE_CONFIG", &config)
        .env("POSBRIDGE_EASPRO_PARTNER", "p")
        .env("POSBRIDGE_EASPRO_USER_ID", "u")
        .args(["check", "--vendor", "easpro"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The catalogue commands against the sandbox's Asalta: products (CSV, one by id),
/// locations, Asalta's own lists, and `idmap build` from a POS catalogue with one
/// product Asalta does not have (reported, exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_commands_read_asalta_and_build_its_id_map() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_vendor_config(dir.path(), &handle, "asalta");
    let cli = |args: &[&str]| {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config).args(args);
        cmd
    };
    let catalogue = handle.state().products;

    let out = run(cli(&["products", "list", "--format", "csv"])).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut rows = stdout.lines();
    assert_eq!(rows.next(), Some("code,name,price,tax %,barcode,active,id"));
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), catalogue.len(), "{stdout}");
    let first = &catalogue[0];
    let row = rows
        .iter()
        .find(|r| r.starts_with(&format!("{},", first.code)))
        .unwrap_or_else(|| panic!("{} not listed: {stdout}", first.code));
    let id = row.rsplit(',').next().unwrap().to_owned();

    let out = run(cli(&["products", "get", &id])).await;
    let product: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(product["code"], first.code.as_str(), "{product}");

    let out = run(cli(&["--json", "locations", "list"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let locations: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !locations.is_empty() && locations.iter().all(|l| l["code"].is_string()),
        "{locations:?}"
    );

    let out = run(cli(&["--json", "asalta", "list", "tax-rates"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rates: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rates.as_array().unwrap().is_empty(), "{rates}");
    let out = run(cli(&["asalta", "list", "promotions"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--warehouse"), "{}", text(&out.stderr));

    // The POS sells three of Asalta's products under the same codes, one by its
    // barcode-less name only, and one Asalta does not have.
    let pos = format!(
        "code,name\n{},x\n{},y\nHOUSE-BLEND,House blend\n",
        catalogue[0].code, catalogue[1].code
    );
    std::fs::write(dir.path().join("pos.csv"), pos).unwrap();
    let map = dir.path().join("asalta-map.json");
    let out = run(cli(&[
        "--json",
        "idmap",
        "build",
        "--pos-catalogue",
        dir.path().join("pos.csv").to_str().unwrap(),
        "--out",
        map.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["matched"], 2, "{report}");
    assert_eq!(report["unmatched"], serde_json::json!(["HOUSE-BLEND"]), "{report}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(written["product"][&first.code], id.as_str(), "{written}");
    handle.shutdown().await;
}

/// SalesMania as the master catalogue's mirror: `products push` creates one product
/// and updates another, `products list` reads them back; its own teams and visits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesmania_products_are_pushed_and_its_teams_and_visits_reached() {
    let handle = Sandbox::start(SandboxConfig::default(), posbridge::sandbox_imitations())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_vendor_config(dir.path(), &handle, "salesmania");
    let cli = |args: &[&str]| {
        let mut cmd = posbridge(dir.path());
        cmd.env("POSBRIDGE_CONFIG", &config).args(args);
        cmd
    };
    let out = run(cli(&["--json", "products", "list"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let before: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let existing = &before[0];
    let mut changed = existing.clone();
    changed["price"] = serde_json::json!("1234.50");
    let new = serde_json::json!({"code": "HOUSE-BLEND", "name": "House blend 250 g", "price": "990.00"});
    let file = dir.path().join("products.ndjson");
    std::fs::write(&file, format!("{new}\n{changed}\n")).unwrap();
    let out = run(cli(&["products", "push", file.to_str().unwrap()])).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("1 created, 1 updated, 0 failed"), "{stdout}");

    let out = run(cli(&["--json", "products", "list"])).await;
    let after: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(after.len(), before.len() + 1);
    let find = |code: &str| after.iter().find(|p| p["code"] == code).unwrap().clone();
    let price = |p: serde_json::Value| p["price"].as_str().unwrap().parse::<posbridge::Decimal>().unwrap();
    assert_eq!(price(find("HOUSE-BLEND")), posbridge::Decimal::new(99000, 2));
    assert_eq!(
        price(find(existing["code"].as_str().unwrap())),
        posbridge::Decimal::new(123450, 2)
    );

    let out = run(cli(&["--json", "salesmania", "teams"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let teams: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!teams.as_array().unwrap().is_empty(), "{teams}");
    let visits = dir.path().join("visits.json");
    std::fs::write(
        &visits,
        r#"{"date": "2026-12-07", "customer_id": 3001, "description": "restock talk"}"#,
    )
    .unwrap();
    let out = run(cli(&["salesmania", "visits", "add", visits.to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let out = run(cli(&["--json", "salesmania", "visits", "list"])).await;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["description"] == "restock talk" && v["customer_id"] == 3001),
        "{listed}"
    );
    handle.shutdown().await;
}
