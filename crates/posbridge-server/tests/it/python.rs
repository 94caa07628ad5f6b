//! The API driven from outside Rust: `tests/python/client.py`, written with nothing
//! but Python's standard library, posts sales (one twice, one refused) and reads the
//! deliveries back a page at a time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support;

/// The script, beside this crate's Rust tests.
const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client.py");

/// How long the script may take before the test fails.
const BOUND: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_python_till_posts_sales_idempotently_and_pages_its_deliveries_back() {
    let ts = support::start().await;
    // tokio's Command, so that the server keeps answering on this runtime meanwhile.
    let child = tokio::process::Command::new("python3")
        .arg(CLIENT)
        .arg(&ts.url)
        .arg(ts.key("colombo"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `python3` ({e}): this test needs Python 3 on PATH (Debian: apt-get install python3)")
        });
    let output = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{CLIENT} took longer than {BOUND:?}"))
        .expect("the script's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{CLIENT} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the script's summary is not JSON ({e}): {stdout}"));

    // What the server itself holds: the ids the script saw are colombo's deliveries.
    let listed: Value = ts
        .get("/v1/deliveries?limit=1000", ts.key("colombo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let held = listed["deliveries"].as_array().unwrap();
    let repeated: Vec<&Value> = held
        .iter()
        .filter(|d| d["reference"] == "PY-2")
        .map(|d| &d["id"])
        .collect();
    assert_eq!(
        summary,
        json!({
            "references": ["PY-1", "PY-2", "PY-3", "PY-4", "PY-5"],
            "targets": ["fake", "fake2"],
            "deliveries": 10,
            "pages": 5,
            "repeat": {"reference": "PY-2", "status": 200, "delivery_ids": repeated},
            "refused": {"reference": "PY-BAD", "status": 422, "pointer": "/total"},
        }),
        "five sales at colombo's two vendors, paged two at a time; stderr: {stderr}"
    );
    assert_eq!(held.len(), 10, "nothing else was queued: {listed}");
}
