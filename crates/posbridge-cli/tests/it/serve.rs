//! `posbridge serve` end to end: the real binary over a SQLite outbox, its workers
//! delivering to the sandbox (a separate process, with faults), tills posting over
//! HTTP — and the server SIGKILLed mid-load.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::outbox::{Applied, Proc, SandboxProc, Setup, count, last_json, references, sales, text};

/// A free loopback port (bound, then released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Waits until `url`/readyz answers 200.
async fn ready(http: &reqwest::Client, url: &str, limit: Duration, what: &str, server: &mut Proc) {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("{what} exited ({status}) before it was ready");
        }
        assert!(Instant::now() < deadline, "{what} not ready within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What one till's post came to.
#[derive(Debug, Default)]
struct Tally {
    created: AtomicUsize,
    existing: AtomicUsize,
    /// Attempts that met a dead or restarting server (refused, reset, 5xx) and were
    /// sent again: safe, since a post is idempotent by reference.
    resent: AtomicUsize,
}

/// 10,000 sales posted by 32 tills at once while workers deliver through a faulty
/// sandbox, the server SIGKILLed twice: every sale the API acknowledged is delivered
/// exactly once at every vendor (none lost, none applied twice).
#[test]
fn serve_takes_10000_sales_at_concurrency_32_through_two_sigkills() {
    // POSBRIDGE_SERVE_LOAD_SALES makes a quicker local run.
    let sales_n: usize = std::env::var("POSBRIDGE_SERVE_LOAD_SALES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    const TILLS: usize = 32;
    let kill_at = [sales_n * 3 / 10, sales_n * 65 / 100];
    let started = Instant::now();
    let limit = Duration::from_secs(420);
    let dir = tempfile::tempdir().unwrap();
    // One write in twenty answers 503, one in fifty is applied and its answer lost.
    let faults = json!([
        {"route": null, "vendor": null, "fault": {"kind": "status", "status": 503}, "rate": 0.05},
        {"route": null, "vendor": null, "fault": {"kind": "drop_after_apply"}, "rate": 0.02},
    ]);
    let sandbox = SandboxProc::start(dir.path(), Some(faults));
    // One key for all 32 tills: its rate limit must not be what is measured.
    let s = Setup::new(
        &sandbox,
        dir,
        &["easpro", "salesmania", "codemax"],
        "[serve]\nrequests_per_minute = 6000000\n",
    );
    let out = s.run(&["--json", "keys", "create", "--label", "load"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let key = last_json(&out)["secret"].as_str().unwrap().to_owned();
    let port = free_port().to_string();
    let url = format!("http://127.0.0.1:{port}");
    let serve = |n: usize| {
        s.spawn(
            &["serve", "--port", &port, "--workers", "8"],
            &format!("serve-{n}"),
            &[],
        )
    };
    let day = Arc::new(sales("LOAD", sales_n, 9));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut server = serve(0);
    let http = client();
    rt.block_on(ready(&http, &url, Duration::from_secs(60), "serve", &mut server));

    let tally = Arc::new(Tally::default());
    let next = Arc::new(AtomicUsize::new(0));
    let tills: Vec<_> = (0..TILLS)
        .map(|_| {
            let (day, tally, next, http, url, key) = (
                day.clone(),
                tally.clone(),
                next.clone(),
                http.clone(),
                url.clone(),
                key.clone(),
            );
            rt.spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(sale) = day.get(i) else { return };
                    loop {
                        let r = http
                            .post(format!("{url}/v1/sales"))
                            .bearer_auth(&key)
                            .json(sale)
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == 201 => {
                                tally.created.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            Ok(r) if r.status() == 200 => {
                                tally.existing.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            Ok(r) if r.status().is_server_error() || r.status() == 429 => {}
                            Ok(r) => {
                                let status = r.status();
                                panic!("sale {i}: {status} {}", r.text().await.unwrap_or_default())
                            }
                            Err(_) => {}
                        }
                        tally.resent.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();

    // Two SIGKILLs mid-load; a new server takes the same port at once.
    let acked = || tally.created.load(Ordering::SeqCst) + tally.existing.load(Ordering::SeqCst);
    let mut kills = Vec::new();
    for (n, at) in kill_at.into_iter().enumerate() {
        while acked() < at {
            if started.elapsed() > limit {
                let (_, stderr) = s.output_of(&format!("serve-{n}"));
                panic!("out of time at {} acknowledged; the server said: {stderr}", acked());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        let killed_at = (acked(), started.elapsed());
        server = serve(n + 1);
        let back = Instant::now();
        rt.block_on(ready(
            &http,
            &url,
            Duration::from_secs(60),
            "serve after a kill",
            &mut server,
        ));
        kills.push(format!(
            "at {} acknowledged ({:.1} s; answering again after {} ms)",
            killed_at.0,
            killed_at.1.as_secs_f64(),
            back.elapsed().as_millis()
        ));
    }
    for t in tills {
        rt.block_on(t).unwrap();
    }
    let ingest = started.elapsed();
    assert_eq!(acked(), sales_n);

    // The last server's workers deliver the rest.
    let mut last = None;
    loop {
        let st = s.status(&[]);
        let open: u64 = ["easpro", "salesmania", "codemax"]
            .iter()
            .flat_map(|t| ["pending", "retrying", "delivering", "blocked"].map(|state| count(&st, t, state)))
            .sum();
        if open == 0 {
            last = Some(st);
            break;
        }
        if started.elapsed() > limit {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let st = last.unwrap_or_else(|| panic!("deliveries still open after {limit:?}: {:?}", s.status(&[])));
    let elapsed = started.elapsed();
    server.kill();

    let log = sandbox.requests();
    let all = references(&day);
    let mut figures = BTreeMap::new();
    for vendor in ["easpro", "salesmania", "codemax"] {
        let delivered = count(&st, vendor, "delivered");
        let uncertain = count(&st, vendor, "uncertain");
        let dead = count(&st, vendor, "dead");
        assert_eq!(dead, 0, "{vendor}: {st:?}");
        assert_eq!(
            delivered + uncertain,
            sales_n as u64,
            "{vendor}: every acknowledged sale: {st:?}"
        );
        let applied = Applied::of(&log, vendor);
        let held = sandbox.held(vendor);
        let lost = all.difference(&held).count();
        assert!(
            lost as u64 <= uncertain,
            "{vendor}: {lost} acknowledged sales not held, but only {uncertain} uncertain"
        );
        assert_eq!(applied.duplicates(), 0, "{vendor} applied a sale twice");
        figures.insert(vendor, json!({"delivered": delivered, "uncertain": uncertain, "applied_twice": applied.duplicates(), "lost": lost}));
    }
    let (stdout, _) = s.output_of("serve-2");
    eprintln!(
        "SERVE LOAD: {sales_n} sales posted by {TILLS} tills: {} created, {} already queued on a re-send, {} attempts \
         re-sent after a refused or reset connection; SIGKILLs {}; all acknowledged in {:.1} s ({} sales/s); \
         all settled in {:.1} s; per vendor {}",
        tally.created.load(Ordering::SeqCst),
        tally.existing.load(Ordering::SeqCst),
        tally.resent.load(Ordering::SeqCst),
        kills.join(", "),
        ingest.as_secs_f64(),
        sales_n as u128 * 1000 / ingest.as_millis().max(1),
        elapsed.as_secs_f64(),
        serde_json::to_value(&figures).unwrap(),
    );
    assert!(stdout.contains("posbridge serve"), "{stdout}");
}

/// `posbridge serve --demo` starts the sandbox with faults and a day of sales: a
/// newcomer sees delivered and dead deliveries at once, and the console answers.
#[test]
fn serve_demo_shows_real_states_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let url = format!("http://127.0.0.1:{port}");
    let out = std::fs::File::create(dir.path().join("demo.stdout")).unwrap();
    let err = std::fs::File::create(dir.path().join("demo.stderr")).unwrap();
    let mut server = Proc(
        std::process::Command::new(crate::outbox::BIN)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .args(["--json", "serve", "--demo", "--demo-sales", "8", "--port", &port])
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = client();
    rt.block_on(ready(&http, &url, Duration::from_secs(60), "serve --demo", &mut server));
    let stdout = std::fs::read_to_string(dir.path().join("demo.stdout")).unwrap();
    let started: Value = stdout
        .lines()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(|v| v.get("listening").is_some())
        })
        .unwrap_or_else(|| panic!("no start line: {stdout}"));
    assert_eq!(started["listening"], url);
    let key = started["demo_keys"]["demo till"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(90);
    let states = loop {
        let body: Value = rt.block_on(async {
            http.get(format!("{url}/v1/deliveries?limit=1000"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        for d in body["deliveries"].as_array().unwrap() {
            *states.entry(d["state"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        let settled =
            !states.contains_key("pending") && !states.contains_key("retrying") && !states.contains_key("delivering");
        if settled && !states.is_empty() {
            break states;
        }
        assert!(Instant::now() < deadline, "the demo day did not settle: {states:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(states.get("delivered").copied().unwrap_or(0) > 0, "{states:?}");
    assert!(
        states.get("dead").copied().unwrap_or(0) > 0,
        "each vendor's day ends with a refused sale: {states:?}"
    );
    let login = rt.block_on(async { http.get(format!("{url}/console/login")).send().await.unwrap() });
    assert_eq!(login.status(), 200);
    eprintln!("SERVE DEMO: {states:?}");
    server.kill();
}
