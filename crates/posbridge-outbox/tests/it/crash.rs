//! The crash test for dependent deliveries: a worker process delivering sales with
//! their returns, payments and voids is killed with SIGKILL five times mid-run; then a
//! last worker finishes. The vendor's record (a file the imitation appends to before it
//! answers, so it survives the kills) must show every document applied (0 lost), none
//! applied twice, and every return, payment and void after its sale and after the
//! dependents of the same sale enqueued before it (0 out of order).
//!
//! The worker is this test binary run again (`crash_child_worker`, ignored unless
//! started by the test with its environment set).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use posbridge_outbox::{DeliveryState, Document, Outbox, OutboxConfig, RunOptions, Target};
use support::ledger::{Fault, Ledger, audit, payment, read_file, ret, void};

const CHILD_DB: &str = "POSBRIDGE_OUTBOX_CRASH_DB";
const CHILD_LEDGER: &str = "POSBRIDGE_OUTBOX_CRASH_LEDGER";
const SALES: usize = 300;
const KILLS: usize = 5;

fn config() -> OutboxConfig {
    OutboxConfig {
        lease: Duration::from_secs(1),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        poll_interval: Duration::from_millis(10),
        max_attempts: 50,
        ..OutboxConfig::default()
    }
}

/// The worker the crash test starts and kills: delivers until idle. Run by the
/// harness itself (without the crash test's variables), the same worker on an empty
/// outbox must find nothing to do and stop at once.
#[test]
fn crash_child_worker() {
    let child = (std::env::var(CHILD_DB), std::env::var(CHILD_LEDGER));
    let scratch = tempfile::tempdir().unwrap();
    let (url, ledger, alone) = match child {
        (Ok(url), Ok(ledger)) => (url, ledger, false),
        _ => (
            format!("sqlite://{}", scratch.path().join("empty.db").display()),
            scratch.path().join("ledger.jsonl").display().to_string(),
            true,
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // One request in ten meets a 503 before anything is applied; one in ten is
        // applied and then its connection drops.
        let vendor = Ledger::new("salesmania", true)
            .with_file(ledger.into())
            .with_delay(Duration::from_millis(2))
            .with_faults(|_, n| match n % 10 {
                3 => Fault::Unavailable,
                7 => Fault::DropAfterApply,
                _ => Fault::None,
            });
        let outbox = Outbox::open(&url, config())
            .await
            .unwrap()
            .with_target(Target::new("salesmania"), Arc::new(vendor));
        let options = RunOptions {
            concurrency: 8,
            until_idle: true,
            shutdown_grace: Duration::from_secs(5),
        };
        let report = outbox.run(options, std::future::pending()).await.unwrap();
        if alone {
            assert_eq!(
                (report.delivered, report.dead, report.uncertain, report.swept),
                (0, 0, 0, 0),
                "an empty outbox has nothing to deliver"
            );
        }
    });
}

/// The child test's name as the harness knows it: its module path without the crate
/// (so the test still finds it should this file become a module of a larger binary).
fn child_test_name() -> String {
    match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::crash_child_worker"),
        None => "crash_child_worker".to_owned(),
    }
}

/// A worker process, killed (SIGKILL) and reaped when dropped.
struct Worker(Child);

impl Worker {
    fn start(url: &str, ledger: &Path, log: &Path) -> Self {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &child_test_name(), "--nocapture", "--test-threads", "1"])
            .env(CHILD_DB, url)
            .env(CHILD_LEDGER, ledger)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Self(child)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_lose_no_dependent_and_deliver_none_twice_or_out_of_order() {
    let db = support::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("vendor.tsv");
    let outbox = Outbox::open(&db.url, config())
        .await
        .unwrap()
        .with_enqueue_target(Target::new("salesmania"), posbridge_core::DuplicatePolicy::Ignored);
    let target = [Target::new("salesmania")];
    let mut expected = Vec::new();
    for i in 0..SALES {
        let s = format!("S-{i:04}");
        let mut docs: Vec<(String, Document)> = vec![
            (s.clone(), Document::Sale(support::sale(&s, 2))),
            (format!("return:R-{i:04}"), ret(&format!("R-{i:04}"), &s, 1).into()),
            (format!("payment:P-{i:04}"), payment(&format!("P-{i:04}"), &s).into()),
        ];
        if i % 3 == 0 {
            docs.push((format!("void:{s}"), void(&s).into()));
        }
        for (key, doc) in docs {
            outbox.enqueue_document(&doc, &target).await.unwrap();
            expected.push((key, doc.sale_reference().map(str::to_owned)));
        }
    }

    let started = Instant::now();
    let mut applied_at_kill = Vec::new();
    for kill in 0..KILLS {
        let log = dir.path().join(format!("killed-{kill}.log"));
        let mut worker = Worker::start(&db.url, &ledger, &log);
        // Killed once the vendor holds the next sixth of the documents: mid-run, every time.
        let threshold = expected.len() * (kill + 1) / (KILLS + 1);
        let deadline = Instant::now() + Duration::from_secs(60);
        while read_file(&ledger).len() < threshold {
            if let Ok(Some(status)) = worker.0.try_wait() {
                panic!(
                    "worker {kill} ended by itself ({status}) before it was killed: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "worker {kill} made no progress in 60 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        worker.kill();
        applied_at_kill.push(read_file(&ledger).len());
    }
    let log = dir.path().join("last.log");
    let mut last = Worker::start(&db.url, &ledger, &log);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = last.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the last worker did not finish within 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    let applied = read_file(&ledger);
    let (lost, twice, out_of_order) = audit(&applied, &expected);
    let rows = outbox.list(None, 10_000).await.unwrap();
    let not_delivered: Vec<_> = rows.iter().filter(|d| d.state != DeliveryState::Delivered).collect();
    let resent = rows.iter().filter(|d| d.attempts > 1).count();
    let dependents_resent = rows
        .iter()
        .filter(|d| d.attempts > 1 && d.sale_reference.is_some())
        .count();
    eprintln!(
        "crash test (dependents): {} documents ({SALES} sales with returns, payments, voids), {KILLS} SIGKILLs \
         (applied at each kill: {applied_at_kill:?}) in {:.1?}; {} deliveries ({} of them dependents) \
         attempted more than once (a crash, a 503, a dropped connection); lost {lost}, applied twice {twice}, out of order {out_of_order}",
        expected.len(),
        started.elapsed(),
        resent,
        dependents_resent,
    );
    assert!(
        applied_at_kill[0] > 0 && applied_at_kill[0] < expected.len(),
        "the first kill came mid-run: {applied_at_kill:?}"
    );
    assert_eq!(
        (lost, twice, out_of_order),
        (0, 0, 0),
        "lost, applied twice, out of order"
    );
    assert!(not_delivered.is_empty(), "{not_delivered:?}");
    assert_eq!(applied.len(), expected.len());
}
