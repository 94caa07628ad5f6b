//! No secret reaches the terminal or the logs: the demo runs every vendor at TRACE
//! (reqwest, hyper and the sandbox included) with faults on, and everything it prints
//! and logs is searched for every credential the run used — the configured ones and
//! every token the vendors issued during the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

/// The credentials the demo configures (the sandbox's accounts).
const CONFIGURED: &[(&str, &str)] = &[
    ("cloudma token", posbridge::cloudma::sandbox::DEFAULT_TOKEN),
    ("easpro partner key", posbridge::easpro::sandbox::DEFAULT_PARTNER),
    ("easpro user id", posbridge::easpro::sandbox::DEFAULT_USER_ID),
    ("codemax password", posbridge::codemax::sandbox::DEFAULT_PASSWORD),
    ("salesmania password", posbridge::salesmania::sandbox::DEFAULT_PASSWORD),
    (
        "asalta client secret",
        posbridge::asalta::sandbox::DEFAULT_CLIENT_SECRET,
    ),
];

/// The shapes of the tokens the sandbox issues during a run: a prefix, then what
/// follows it (`n` = decimal digits, `-`, `h16`/`h32` = that many hex digits).
const ISSUED: &[(&str, &str, &[Part])] = &[
    (
        "codemax access token",
        "acc-",
        &[Part::Digits, Part::Dash, Part::Hex(16)],
    ),
    (
        "codemax refresh token",
        "ref-",
        &[Part::Digits, Part::Dash, Part::Hex(16)],
    ),
    ("salesmania bearer", "smb-", &[Part::Digits, Part::Dash, Part::Hex(16)]),
    (
        "salesmania team token",
        "smt-",
        &[Part::Digits, Part::Dash, Part::Hex(16)],
    ),
    ("asalta access token", "asa-at-", &[Part::Hex(32)]),
    ("asalta refresh token", "asa-rt-", &[Part::Hex(32)]),
];

#[derive(Debug, Clone, Copy)]
enum Part {
    Digits,
    Dash,
    Hex(usize),
}

/// Whether `rest` starts with the shape `parts`.
fn shaped(rest: &[u8], parts: &[Part]) -> bool {
    let mut i = 0;
    for part in parts {
        match part {
            Part::Digits => {
                let n = rest[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                if n == 0 {
                    return false;
                }
                i += n;
            }
            Part::Dash => {
                if rest.get(i) != Some(&b'-') {
                    return false;
                }
                i += 1;
            }
            Part::Hex(n) => {
                if rest.len() < i + n || !rest[i..i + n].iter().all(u8::is_ascii_hexdigit) {
                    return false;
                }
                i += n;
            }
        }
    }
    true
}

/// Every place in `text` where a secret shows, as (what, an excerpt).
fn leaks(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let excerpt = |at: usize| {
        let start = text[..at].char_indices().rev().nth(40).map_or(0, |(i, _)| i);
        text[start..].chars().take(120).collect::<String>()
    };
    for (what, secret) in CONFIGURED {
        for (at, _) in text.match_indices(secret) {
            found.push(((*what).to_owned(), excerpt(at)));
        }
    }
    for (what, prefix, parts) in ISSUED {
        for (at, _) in text.match_indices(prefix) {
            if shaped(&text.as_bytes()[at + prefix.len()..], parts) {
                found.push(((*what).to_owned(), excerpt(at)));
            }
        }
    }
    found
}

#[test]
fn the_scanner_finds_what_it_looks_for() {
    let planted = format!(
        "x {} y acc-12-00112233445566ff z smt-3-abcdefabcdefabcd asa-rt-{} Bearer asa-at-{}",
        posbridge::codemax::sandbox::DEFAULT_PASSWORD,
        "0".repeat(32),
        "f".repeat(32)
    );
    let kinds: Vec<String> = leaks(&planted).into_iter().map(|(w, _)| w).collect();
    assert_eq!(
        kinds,
        [
            "codemax password",
            "codemax access token",
            "salesmania team token",
            "asalta access token",
            "asalta refresh token"
        ]
    );
    assert!(leaks("acc-x ref-1-short smb-- asa-at-zz [REDACTED]").is_empty());
}

#[test]
fn the_demo_at_trace_with_faults_prints_and_logs_no_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_posbridge"))
        .args(["-vvv", "demo", "--faults"])
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .env_remove("POSBRIDGE_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the demo failed:\n{stdout}\n{}",
        &stderr[stderr.len().saturating_sub(4000)..]
    );
    // The run really was at TRACE and really talked to every vendor.
    assert!(
        stderr.lines().count() > 1_000,
        "only {} log lines",
        stderr.lines().count()
    );
    assert!(stderr.contains("TRACE"), "no TRACE lines");
    for vendor in ["cloudma", "easpro", "codemax", "salesmania", "asalta"] {
        assert!(
            stdout.contains(&format!("== {vendor}")),
            "{vendor} missing from the demo"
        );
    }
    let found: Vec<_> = leaks(&stdout).into_iter().chain(leaks(&stderr)).collect();
    eprintln!(
        "secret scan: {} bytes of output and {} log lines searched for {} configured secrets and {} token shapes: {} hits",
        stdout.len() + stderr.len(),
        stderr.lines().count(),
        CONFIGURED.len(),
        ISSUED.len(),
        found.len()
    );
    assert!(found.is_empty(), "secrets in the output: {found:#?}");
}

#[cfg(unix)]
#[test]
fn a_config_holding_secrets_readable_by_others_is_warned_about_and_never_echoed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let token = "tok-CONFIG-SECRET-9b1e";
    std::fs::write(
        &path,
        format!("[cloudma]\nbase_url = \"http://127.0.0.1:9/cloudma/\"\ntoken = \"{token}\"\n"),
    )
    .unwrap();
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_posbridge"))
            .args([
                "--config",
                path.to_str().unwrap(),
                "-vvv",
                "stock",
                "--vendor",
                "cloudma",
            ])
            .env("RUST_LOG", "trace")
            .env_remove("POSBRIDGE_CLOUDMA_TOKEN")
            .output()
            .unwrap()
    };
    for (mode, warned) in [(0o644, true), (0o640, true), (0o600, false)] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "nothing listens on port 9");
        assert_eq!(
            stderr.contains("readable by other users"),
            warned,
            "mode {mode:o}:\n{stderr}"
        );
        assert!(
            !stderr.contains(token) && !stdout.contains(token),
            "mode {mode:o}: the token was printed"
        );
    }
}
