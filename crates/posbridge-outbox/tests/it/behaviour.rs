//! The outbox's behaviour, run once on SQLite and once on PostgreSQL: both backends
//! must pass the same suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use posbridge_core::error::DUPLICATE_REFERENCE;
use posbridge_core::{DuplicatePolicy, Error};
use posbridge_outbox::{
    DeliveryState, Enqueued, Outbox, OutboxConfig, OutboxError, Resolution, RunOptions, Target, TargetOptions,
};
use support::{Scripted, created, rejected, sale};

fn fast() -> OutboxConfig {
    OutboxConfig {
        lease: Duration::from_secs(2),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        poll_interval: Duration::from_millis(20),
        max_attempts: 6,
        ..OutboxConfig::default()
    }
}

fn until_idle() -> RunOptions {
    RunOptions {
        concurrency: 8,
        until_idle: true,
        shutdown_grace: Duration::from_secs(5),
    }
}

/// Runs a worker until there is nothing left, failing the test after 30 s.
async fn drain(outbox: &Outbox) -> posbridge_outbox::RunReport {
    tokio::time::timeout(
        Duration::from_secs(30),
        outbox.run(until_idle(), std::future::pending()),
    )
    .await
    .expect("the worker did not go idle within 30 s")
    .unwrap()
}

async fn state_of(outbox: &Outbox, id: i64) -> DeliveryState {
    outbox.get(id).await.unwrap().state
}

async fn enqueue_is_idempotent_and_refuses_changed_content(url: &str) {
    let easpro = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let cloudma = Scripted::accepting("cloudma", DuplicatePolicy::Unknown);
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro)
        .with_target(Target::new("cloudma"), cloudma);
    let both = [Target::new("easpro"), Target::new("cloudma")];

    let first = outbox.enqueue(&sale("S-1", 2), &both).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|r| r.enqueued == Enqueued::New && r.delivery.state == DeliveryState::Pending)
    );

    let again = outbox.enqueue(&sale("S-1", 2), &both).await.unwrap();
    assert!(again.iter().all(|r| r.enqueued == Enqueued::Existing));
    assert_eq!(
        again.iter().map(|r| r.delivery.id).collect::<Vec<_>>(),
        first.iter().map(|r| r.delivery.id).collect::<Vec<_>>()
    );

    // Changed content: refused as a whole while a non-upsert target holds the reference.
    let err = outbox.enqueue(&sale("S-1", 3), &both).await.unwrap_err();
    assert!(
        matches!(&err, OutboxError::Conflict { target, .. } if target.vendor == "cloudma"),
        "{err}"
    );
    let rows = outbox.list(None, 100).await.unwrap();
    assert!(
        rows.iter().all(|d| d.revision == 1),
        "a refused enqueue changed nothing"
    );

    // Only at the upsert vendor: queued again as an update.
    let updated = outbox.enqueue(&sale("S-1", 3), &[Target::new("easpro")]).await.unwrap();
    assert_eq!(updated[0].enqueued, Enqueued::Updated);
    assert_eq!(updated[0].delivery.revision, 2);

    // Refused before anything is written: an invalid sale, an unknown target.
    let mut bad = sale("S-2", 1);
    bad.total = Some("10.01".parse().unwrap());
    assert!(matches!(
        outbox.enqueue(&bad, &both).await,
        Err(OutboxError::Invalid { .. })
    ));
    assert!(matches!(
        outbox.enqueue(&sale("S-3", 1), &[Target::new("nobody")]).await,
        Err(OutboxError::UnknownTarget(_))
    ));
    assert_eq!(outbox.list(None, 100).await.unwrap().len(), 2);
}

async fn delivers_and_records_the_receipt(url: &str) {
    let easpro = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro.clone());
    for i in 0..30 {
        outbox
            .enqueue(&sale(&format!("S-{i}"), 1), &[Target::new("easpro")])
            .await
            .unwrap();
    }
    let report = drain(&outbox).await;
    assert_eq!(report.delivered, 30);
    let rows = outbox.list(Some(DeliveryState::Delivered), 100).await.unwrap();
    assert_eq!(rows.len(), 30);
    for d in &rows {
        assert_eq!(easpro.pushed(&d.reference), 1);
        assert_eq!(d.vendor_id.as_deref(), Some(format!("V-{}", d.reference).as_str()));
        assert_eq!(d.disposition.as_deref(), Some("created"));
        assert_eq!(d.delivered_by.as_deref(), Some(report.worker.as_str()));
        assert_eq!(d.attempts, 1);
        assert!(d.delivered_at.is_some());
    }
}

async fn permanent_rejection_is_dead_with_the_reason_and_can_be_retried(url: &str) {
    let fixed = Arc::new(AtomicBool::new(false));
    let f = fixed.clone();
    let vendor = Scripted::new("cloudma", DuplicatePolicy::Unknown, None, move |s, _| {
        if f.load(Ordering::SeqCst) {
            Ok(created(s))
        } else {
            Err(rejected("cloudma", None, "Product Not Found: P-1"))
        }
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), vendor.clone());
    let id = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("cloudma")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    let report = drain(&outbox).await;
    assert_eq!(report.dead, 1);
    let d = outbox.get(id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Dead);
    assert!(
        d.last_error.as_deref().unwrap().contains("Product Not Found: P-1"),
        "{d:?}"
    );
    assert_eq!(d.last_error_kind.as_deref(), Some("rejected"));
    assert_eq!(vendor.pushed("S-1"), 1, "a permanent rejection is not retried");

    // retry applies to dead deliveries only
    let ok = outbox.get(id).await.unwrap();
    assert_eq!(ok.state, DeliveryState::Dead);
    fixed.store(true, Ordering::SeqCst);
    assert_eq!(outbox.retry_dead(Some(id)).await.unwrap(), 1);
    assert_eq!(state_of(&outbox, id).await, DeliveryState::Pending);
    drain(&outbox).await;
    assert_eq!(state_of(&outbox, id).await, DeliveryState::Delivered);
    assert!(matches!(
        outbox.retry_dead(Some(id)).await,
        Err(OutboxError::WrongState { .. })
    ));
}

async fn transient_failures_back_off_then_deliver(url: &str) {
    let vendor = Scripted::new("cloudma", DuplicatePolicy::Unknown, None, |s, n| match n {
        0 => Err(Error::Unavailable {
            vendor: "cloudma",
            status: Some(503),
            message: "maintenance".into(),
        }),
        1 => Err(Error::RateLimited {
            vendor: "cloudma",
            retry_after: Some(Duration::from_millis(400)),
        }),
        _ => Ok(created(s)),
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), vendor.clone());
    let id = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("cloudma")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    let started = Instant::now();
    let report = drain(&outbox).await;
    assert!(started.elapsed() >= Duration::from_millis(400), "Retry-After honoured");
    assert_eq!(report.retried, 2);
    let d = outbox.get(id).await.unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 3));
    assert_eq!(vendor.pushed("S-1"), 3);
}

async fn gives_up_after_max_attempts(url: &str) {
    let vendor = Scripted::new("cloudma", DuplicatePolicy::Unknown, None, |_, _| {
        Err(Error::Unavailable {
            vendor: "cloudma",
            status: Some(502),
            message: "bad gateway".into(),
        })
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), vendor.clone());
    let id = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("cloudma")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    drain(&outbox).await;
    let d = outbox.get(id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Dead);
    assert_eq!(d.attempts, 6);
    assert!(d.last_error.unwrap().starts_with("gave up after 6 attempts"));
    assert_eq!(vendor.pushed("S-1"), 6);
}

async fn uncertain_waits_for_an_operator_unless_resend_is_safe(url: &str) {
    let uncertain = |vendor: &'static str| Error::Uncertain {
        vendor,
        operation: "push_sale",
        message: "timed out after sending".into(),
        source: None,
    };
    let cloudma = Scripted::new("cloudma", DuplicatePolicy::Unknown, None, move |s, n| {
        if n == 0 {
            Err(uncertain("cloudma"))
        } else {
            Ok(created(s))
        }
    });
    let easpro = Scripted::new("easpro", DuplicatePolicy::Upsert, None, move |s, n| {
        if n == 0 {
            Err(uncertain("easpro"))
        } else {
            Ok(created(s))
        }
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), cloudma.clone())
        .with_target(Target::new("easpro"), easpro.clone());
    let ids: Vec<i64> = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("cloudma"), Target::new("easpro")])
        .await
        .unwrap()
        .iter()
        .map(|r| r.delivery.id)
        .collect();
    let report = drain(&outbox).await;
    assert_eq!((report.uncertain, report.delivered), (1, 1));
    // EAS Pro upserts: re-sent at once, safely.
    let e = outbox.get(ids[1]).await.unwrap();
    assert_eq!((e.state, e.resend, e.attempts), (DeliveryState::Delivered, false, 2));
    assert_eq!(easpro.pushed("S-1"), 2);
    // CloudMA may book it twice: never re-sent without an operator.
    let c = outbox.get(ids[0]).await.unwrap();
    assert_eq!(c.state, DeliveryState::Uncertain);
    assert!(c.last_error.unwrap().contains("timed out after sending"));
    assert_eq!(cloudma.pushed("S-1"), 1);
    assert_eq!(outbox.list(Some(DeliveryState::Uncertain), 10).await.unwrap().len(), 1);

    // The operator checked CloudMA and it is not there: re-send.
    let d = outbox.resolve(ids[0], Resolution::Resend).await.unwrap();
    assert_eq!((d.state, d.resend), (DeliveryState::Pending, true));
    drain(&outbox).await;
    assert_eq!(state_of(&outbox, ids[0]).await, DeliveryState::Delivered);
    assert_eq!(cloudma.pushed("S-1"), 2);
    assert!(matches!(
        outbox.resolve(ids[0], Resolution::Delivered).await,
        Err(OutboxError::WrongState { .. })
    ));
}

async fn operator_can_confirm_an_uncertain_delivery(url: &str) {
    let cloudma = Scripted::new("cloudma", DuplicatePolicy::Unknown, None, |_, _| {
        Err(Error::Uncertain {
            vendor: "cloudma",
            operation: "push_sale",
            message: "connection reset after sending".into(),
            source: None,
        })
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), cloudma.clone());
    let id = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("cloudma")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    drain(&outbox).await;
    let d = outbox.resolve(id, Resolution::Delivered).await.unwrap();
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.delivered_by.as_deref(), Some("operator"));
    assert_eq!(cloudma.pushed("S-1"), 1);
}

async fn a_duplicate_refusal_proves_delivery(url: &str) {
    let codemax = Scripted::new("codemax", DuplicatePolicy::Rejected, None, |_, _| {
        Err(rejected("codemax", Some(DUPLICATE_REFERENCE), "invoice already exists"))
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("codemax"), codemax);
    let id = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("codemax")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    drain(&outbox).await;
    let d = outbox.get(id).await.unwrap();
    assert_eq!(
        (d.state, d.disposition.as_deref()),
        (DeliveryState::Delivered, Some("duplicate"))
    );
}

async fn batching_vendors_get_batches(url: &str) {
    let codemax = Scripted::new("codemax", DuplicatePolicy::Rejected, Some(20), |s, _| Ok(created(s)));
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("codemax"), codemax.clone());
    for i in 0..45 {
        outbox
            .enqueue(&sale(&format!("S-{i:03}"), 1), &[Target::new("codemax")])
            .await
            .unwrap();
    }
    let report = drain(&outbox).await;
    assert_eq!(report.delivered, 45);
    let mut sizes = codemax.requests.lock().unwrap().clone();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![5, 20, 20], "45 sales in 3 requests of at most 20");
}

async fn a_killed_workers_claims_return_when_the_lease_ends(url: &str) {
    // The first worker's vendor never answers: the worker is dropped mid-delivery, as
    // a killed process would be. Its claims are leases that must come back.
    let easpro = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let cloudma = Scripted::accepting("cloudma", DuplicatePolicy::Unknown);
    let config = OutboxConfig {
        lease: Duration::from_millis(600),
        ..fast()
    };
    let outbox = Outbox::open(url, config.clone())
        .await
        .unwrap()
        .with_target_options(Target::new("easpro"), Arc::new(Hanging), three())
        .with_target_options(Target::new("cloudma"), Arc::new(Hanging), three());
    let targets = [Target::new("easpro"), Target::new("cloudma")];
    for i in 0..6 {
        outbox.enqueue(&sale(&format!("S-{i}"), 1), &targets).await.unwrap();
    }
    let crashed = tokio::time::timeout(
        Duration::from_millis(500),
        outbox.run(until_idle(), std::future::pending()),
    );
    assert!(crashed.await.is_err(), "the hanging worker was cut off");
    let claimed = outbox.list(Some(DeliveryState::Delivering), 100).await.unwrap();
    assert_eq!(claimed.len(), 6, "three in flight per target");

    // A new worker, same database, answering vendors.
    let outbox = Outbox::open(url, config)
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro.clone())
        .with_target(Target::new("cloudma"), cloudma.clone());
    let report = drain(&outbox).await;
    assert_eq!(report.swept, 6, "{report:?}");
    for d in outbox.list(None, 100).await.unwrap() {
        let was_claimed = claimed.iter().any(|c| c.id == d.id);
        match (d.target.vendor.as_str(), was_claimed) {
            // EAS Pro upserts: an orphaned claim is simply sent again.
            ("easpro", _) => assert_eq!(d.state, DeliveryState::Delivered, "{d:?}"),
            // CloudMA might have it: an orphaned claim waits for an operator …
            ("cloudma", true) => {
                assert_eq!(d.state, DeliveryState::Uncertain, "{d:?}");
                assert!(d.last_error.unwrap().contains("stopped before recording"));
            }
            // … and the rest are delivered.
            _ => assert_eq!(d.state, DeliveryState::Delivered, "{d:?}"),
        }
    }
}

fn three() -> TargetOptions {
    TargetOptions {
        max_in_flight: Some(3),
        requests_per_second: None,
    }
}

/// A connector that never answers.
#[derive(Debug)]
struct Hanging;

impl posbridge_core::Vendor for Hanging {
    fn vendor(&self) -> &'static str {
        "hanging"
    }
}

#[async_trait::async_trait]
impl posbridge_core::Sales for Hanging {
    async fn push_sale(&self, _: &posbridge_core::Sale) -> posbridge_core::Result<posbridge_core::PushReceipt> {
        std::future::pending().await
    }
}

impl posbridge_core::Connector for Hanging {
    fn capabilities(&self) -> &posbridge_core::Capabilities {
        static CAPS: std::sync::OnceLock<posbridge_core::Capabilities> = std::sync::OnceLock::new();
        CAPS.get_or_init(|| posbridge_core::Capabilities::new([posbridge_core::Operation::PushSale]))
    }
    fn sales(&self) -> Option<&dyn posbridge_core::Sales> {
        Some(self)
    }
}

async fn two_workers_never_deliver_the_same_row(url: &str) {
    let vendor = Scripted::new("easpro", DuplicatePolicy::Upsert, None, |s, _| {
        std::thread::sleep(Duration::from_millis(1));
        Ok(created(s))
    });
    let open = || async {
        Outbox::open(url, fast())
            .await
            .unwrap()
            .with_target(Target::new("easpro"), vendor.clone())
    };
    let (a, b) = (open().await, open().await);
    for i in 0..200 {
        a.enqueue(&sale(&format!("S-{i:03}"), 1), &[Target::new("easpro")])
            .await
            .unwrap();
    }
    let (ra, rb) = tokio::join!(drain(&a), drain(&b));
    assert_eq!(ra.delivered + rb.delivered, 200, "{ra:?} {rb:?}");
    for i in 0..200 {
        assert_eq!(vendor.pushed(&format!("S-{i:03}")), 1);
    }
    let rows = a.list(None, 1000).await.unwrap();
    assert!(
        rows.iter()
            .all(|d| d.attempts == 1 && d.state == DeliveryState::Delivered)
    );
}

async fn shutdown_returns_waiting_claims_untouched(url: &str) {
    let vendor = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let outbox = Outbox::open(url, fast()).await.unwrap().with_target_options(
        Target::new("easpro"),
        vendor.clone(),
        TargetOptions {
            max_in_flight: Some(4),
            requests_per_second: Some(1),
        },
    );
    for i in 0..8 {
        outbox
            .enqueue(&sale(&format!("S-{i}"), 1), &[Target::new("easpro")])
            .await
            .unwrap();
    }
    let report = outbox
        .run(
            RunOptions {
                concurrency: 4,
                until_idle: false,
                shutdown_grace: Duration::from_secs(5),
            },
            tokio::time::sleep(Duration::from_millis(300)),
        )
        .await
        .unwrap();
    // One request per second: one delivered; the claims waiting for the limit gave
    // their rows back untouched.
    assert_eq!(report.delivered, 1, "{report:?}");
    assert!(report.released >= 3, "{report:?}");
    let rows = outbox.list(None, 100).await.unwrap();
    assert_eq!(rows.iter().filter(|d| d.state == DeliveryState::Pending).count(), 7);
    assert!(rows.iter().all(|d| d.state != DeliveryState::Delivering));
    assert!(
        rows.iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .all(|d| d.attempts == 0)
    );
}

async fn status_list_and_purge(url: &str) {
    let vendor = Scripted::new("cloudma", DuplicatePolicy::Unknown, None, |s, _| {
        if s.reference.starts_with("BAD") {
            Err(rejected("cloudma", None, "no"))
        } else {
            Ok(created(s))
        }
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), vendor);
    for r in ["A", "B", "BAD-1"] {
        outbox.enqueue(&sale(r, 1), &[Target::new("cloudma")]).await.unwrap();
    }
    let status = outbox.status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!((status[0].state, status[0].count), (DeliveryState::Pending, 3));
    assert!(status[0].oldest_age_ms.is_some());
    drain(&outbox).await;
    let status = outbox.status().await.unwrap();
    let count = |st| status.iter().find(|r| r.state == st).map_or(0, |r| r.count);
    assert_eq!((count(DeliveryState::Delivered), count(DeliveryState::Dead)), (2, 1));
    assert_eq!(
        outbox.list(Some(DeliveryState::Dead), 10).await.unwrap()[0].reference,
        "BAD-1"
    );

    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600);
    assert_eq!(outbox.purge_delivered_before(past).await.unwrap(), 0);
    let future = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    assert_eq!(outbox.purge_delivered_before(future).await.unwrap(), 2);
    assert_eq!(outbox.list(None, 10).await.unwrap().len(), 1, "dead ones are kept");
}

async fn enqueue_inside_the_callers_transaction(url: &str) {
    let vendor = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), vendor);
    let targets = [Target::new("easpro")];
    macro_rules! in_tx {
        ($pool:expr) => {{
            let pool = $pool.clone();
            // Rolled back: the delivery goes with the caller's own write.
            let mut tx = pool.begin().await.unwrap();
            outbox.enqueue_in(&mut *tx, &sale("TX-1", 1), &targets).await.unwrap();
            tx.rollback().await.unwrap();
            assert!(outbox.list(None, 10).await.unwrap().is_empty());
            // Committed: it is there.
            let mut tx = pool.begin().await.unwrap();
            let r = outbox.enqueue_in(&mut *tx, &sale("TX-1", 1), &targets).await.unwrap();
            assert_eq!(r[0].enqueued, Enqueued::New);
            tx.commit().await.unwrap();
            assert_eq!(outbox.list(None, 10).await.unwrap().len(), 1);
            // Refusals leave the caller's transaction usable and nothing written.
            let mut tx = pool.begin().await.unwrap();
            assert!(
                outbox.enqueue_in(&mut *tx, &sale("TX-1", 5), &targets).await.is_ok(),
                "upsert: update"
            );
            let mut bad = sale("TX-2", 1);
            bad.total = Some("1".parse().unwrap());
            assert!(matches!(
                outbox.enqueue_in(&mut *tx, &bad, &targets).await,
                Err(OutboxError::Invalid { .. })
            ));
            tx.commit().await.unwrap();
        }};
    }
    if let Some(pool) = outbox.sqlite_pool() {
        in_tx!(pool);
        // A connection of the other kind is refused, not misused.
        let mut other = <sqlx::PgConnection as sqlx::Connection>::connect("postgres://127.0.0.1:1/none").await;
        assert!(other.is_err());
        let _ = &mut other;
    } else if let Some(pool) = outbox.postgres_pool() {
        in_tx!(pool);
        let mut lite = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .unwrap();
        assert!(matches!(
            outbox.enqueue_in(&mut lite, &sale("X", 1), &targets).await,
            Err(OutboxError::WrongDatabase { .. })
        ));
    }
    let d = &outbox.list(None, 10).await.unwrap()[0];
    assert_eq!(d.revision, 2);
}

async fn a_till_enqueues_without_credentials(url: &str) {
    // The till knows only the vendors' duplicate policies …
    let till = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_enqueue_target(Target::new("easpro"), DuplicatePolicy::Upsert)
        .with_enqueue_target(Target::new("cloudma"), DuplicatePolicy::Unknown);
    let both = [Target::new("easpro"), Target::new("cloudma")];
    till.enqueue(&sale("T-1", 1), &both).await.unwrap();
    assert!(matches!(
        till.enqueue(&sale("T-1", 2), &both).await,
        Err(OutboxError::Conflict { .. })
    ));
    // … and running it delivers nothing (it has no connector), returning at once.
    let idle = till.run(until_idle(), std::future::pending()).await.unwrap();
    assert_eq!(idle.delivered, 0);
    // The worker holds the credentials.
    let easpro = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let cloudma = Scripted::accepting("cloudma", DuplicatePolicy::Unknown);
    let worker = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro.clone())
        .with_target(Target::new("cloudma"), cloudma.clone());
    assert_eq!(drain(&worker).await.delivered, 2);
    assert_eq!((easpro.pushed("T-1"), cloudma.pushed("T-1")), (1, 1));
}

/// Makes the database refuse (raise an error on) every write of an outcome for which
/// `condition` (SQL over `OLD` and `NEW`, the same in both dialects) holds.
async fn refuse_outcomes_when(outbox: &Outbox, condition: &str) {
    if let Some(pool) = outbox.sqlite_pool() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TRIGGER refuse_outcomes BEFORE UPDATE OF state ON posbridge_outbox_deliveries \
             WHEN {condition} BEGIN SELECT RAISE(ABORT, 'outcome refused by the test'); END"
        )))
        .execute(pool)
        .await
        .unwrap();
    } else if let Some(pool) = outbox.postgres_pool() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE FUNCTION refuse_outcomes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF {condition} THEN RAISE EXCEPTION 'outcome refused by the test'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_outcomes BEFORE UPDATE ON posbridge_outbox_deliveries \
             FOR EACH ROW EXECUTE FUNCTION refuse_outcomes();"
        )))
        .execute(pool)
        .await
        .unwrap();
    }
}

/// A write of outcomes that fails for a moment (on PostgreSQL: a deadlock with the
/// worker's own lease renewal, a dropped connection; on SQLite: a busy database) is
/// written again, not dropped: a dropped outcome left its delivery `delivering` under a
/// lease the worker kept renewing, so `until_idle` never returned (issue 17, item 9).
async fn an_outcome_the_database_refuses_for_a_moment_is_written_again(url: &str) {
    let easpro = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let cloudma = Scripted::accepting("cloudma", DuplicatePolicy::Unknown);
    let config = OutboxConfig {
        lease: Duration::from_secs(5),
        ..fast()
    };
    let outbox = Outbox::open(url, config)
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro.clone())
        .with_target(Target::new("cloudma"), cloudma.clone());
    let both = [Target::new("easpro"), Target::new("cloudma")];
    for i in 0..3 {
        outbox.enqueue(&sale(&format!("S-{i}"), 1), &both).await.unwrap();
    }
    // Every outcome written within 1.5 s of its claim is refused.
    refuse_outcomes_when(
        &outbox,
        "NEW.state = 'delivered' AND NEW.updated_at - OLD.updated_at < 1500",
    )
    .await;
    let report = drain(&outbox).await;
    assert_eq!((report.delivered, report.fenced, report.swept), (6, 0, 0), "{report:?}");
    for d in outbox.list(None, 100).await.unwrap() {
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 1), "{d:?}");
    }
    for i in 0..3 {
        let r = format!("S-{i}");
        assert_eq!((easpro.pushed(&r), cloudma.pushed(&r)), (1, 1), "sent once each");
    }
}

/// An outcome the database will not take for a whole lease is given up, and its lease
/// is no longer renewed: the delivery comes back through the sweep like a crashed
/// worker's (re-sent where that is safe) instead of staying `delivering` for as long as
/// the worker lives.
async fn an_outcome_that_cannot_be_written_lets_its_lease_end(url: &str) {
    let easpro = Scripted::accepting("easpro", DuplicatePolicy::Upsert);
    let config = OutboxConfig {
        lease: Duration::from_secs(1),
        ..fast()
    };
    let outbox = Outbox::open(url, config)
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro.clone());
    for i in 0..3 {
        outbox
            .enqueue(&sale(&format!("S-{i}"), 1), &[Target::new("easpro")])
            .await
            .unwrap();
    }
    // The first attempt's outcome can never be written.
    refuse_outcomes_when(&outbox, "NEW.state = 'delivered' AND OLD.attempts = 1").await;
    let report = drain(&outbox).await;
    assert_eq!((report.delivered, report.swept), (3, 3), "{report:?}");
    for d in outbox.list(None, 100).await.unwrap() {
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 2), "{d:?}");
        assert_eq!(easpro.pushed(&d.reference), 2, "re-sent once, safely (EAS Pro upserts)");
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = crate::support::sqlite();
                    super::$name(&db.url).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::support::postgres().await else { return };
                    super::$name(&db.url).await;
                }
            )*
        }
    };
}

on_both_backends!(
    enqueue_is_idempotent_and_refuses_changed_content,
    delivers_and_records_the_receipt,
    permanent_rejection_is_dead_with_the_reason_and_can_be_retried,
    transient_failures_back_off_then_deliver,
    gives_up_after_max_attempts,
    uncertain_waits_for_an_operator_unless_resend_is_safe,
    operator_can_confirm_an_uncertain_delivery,
    a_duplicate_refusal_proves_delivery,
    batching_vendors_get_batches,
    a_killed_workers_claims_return_when_the_lease_ends,
    two_workers_never_deliver_the_same_row,
    shutdown_returns_waiting_claims_untouched,
    status_list_and_purge,
    enqueue_inside_the_callers_transaction,
    a_till_enqueues_without_credentials,
    an_outcome_the_database_refuses_for_a_moment_is_written_again,
    an_outcome_that_cannot_be_written_lets_its_lease_end,
    a_redirect_is_dead_even_where_a_resend_is_safe,
    the_duplicate_policy_is_read_when_the_outcome_is_classified,
);

async fn a_redirect_is_dead_even_where_a_resend_is_safe(url: &str) {
    // EAS Pro upserts, so an uncertain push would be re-sent; a redirect is a wrong
    // base URL, which no re-send cures.
    let easpro = Scripted::new("easpro", DuplicatePolicy::Upsert, None, |_, _| {
        Err(Error::Redirected {
            vendor: "easpro",
            status: 301,
            location: Some("https://new.example/".into()),
        })
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro.clone());
    let id = outbox.enqueue(&sale("S-1", 1), &[Target::new("easpro")]).await.unwrap()[0]
        .delivery
        .id;
    drain(&outbox).await;
    let d = outbox.get(id).await.unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Dead, 1));
    assert!(d.last_error.unwrap().contains("https://new.example/"));
    assert_eq!(easpro.pushed("S-1"), 1);
}

/// A connector that learns, from its first push, that the vendor cannot detect a
/// repeat after all (SalesMania without its order look-up): its declared policy goes
/// from `Ignored` to `Unknown`, and that push ends uncertain.
#[derive(Debug)]
struct LosesItsDuplicateCheck {
    safe: posbridge_core::Capabilities,
    unsafe_: posbridge_core::Capabilities,
    learnt: std::sync::atomic::AtomicBool,
    pushes: std::sync::atomic::AtomicUsize,
}

impl posbridge_core::Vendor for LosesItsDuplicateCheck {
    fn vendor(&self) -> &'static str {
        "salesmania"
    }
}

#[async_trait::async_trait]
impl posbridge_core::Sales for LosesItsDuplicateCheck {
    async fn push_sale(&self, _sale: &posbridge_core::Sale) -> posbridge_core::Result<posbridge_core::PushReceipt> {
        self.pushes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.learnt.store(true, std::sync::atomic::Ordering::SeqCst);
        Err(Error::Uncertain {
            vendor: "salesmania",
            operation: "push_sale",
            message: "timed out after sending; duplicate safety unknown".into(),
            source: None,
        })
    }
}

impl posbridge_core::Connector for LosesItsDuplicateCheck {
    fn capabilities(&self) -> &posbridge_core::Capabilities {
        if self.learnt.load(std::sync::atomic::Ordering::SeqCst) {
            &self.unsafe_
        } else {
            &self.safe
        }
    }
    fn sales(&self) -> Option<&dyn posbridge_core::Sales> {
        Some(self)
    }
}

async fn the_duplicate_policy_is_read_when_the_outcome_is_classified(url: &str) {
    let caps = |policy| {
        let mut c = posbridge_core::Capabilities::new([posbridge_core::Operation::PushSale]);
        c.sale_duplicates = policy;
        c
    };
    let vendor = Arc::new(LosesItsDuplicateCheck {
        safe: caps(DuplicatePolicy::Ignored),
        unsafe_: caps(DuplicatePolicy::Unknown),
        learnt: false.into(),
        pushes: 0.into(),
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("salesmania"), vendor.clone());
    let id = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("salesmania")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    drain(&outbox).await;
    // Registered as safe to re-send, but by the time the outcome came it was not.
    let d = outbox.get(id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Uncertain);
    assert_eq!(vendor.pushes.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// A connector whose every push waits until the test opens the gate.
#[derive(Debug)]
struct Gated(tokio::sync::watch::Receiver<bool>);

impl posbridge_core::Vendor for Gated {
    fn vendor(&self) -> &'static str {
        "easpro"
    }
}

#[async_trait::async_trait]
impl posbridge_core::Sales for Gated {
    async fn push_sale(&self, sale: &posbridge_core::Sale) -> posbridge_core::Result<posbridge_core::PushReceipt> {
        let mut open = self.0.clone();
        let _ = open.wait_for(|o| *o).await;
        Ok(created(sale))
    }
}

impl posbridge_core::Connector for Gated {
    fn capabilities(&self) -> &posbridge_core::Capabilities {
        static CAPS: std::sync::OnceLock<posbridge_core::Capabilities> = std::sync::OnceLock::new();
        CAPS.get_or_init(|| posbridge_core::Capabilities::new([posbridge_core::Operation::PushSale]))
    }
    fn sales(&self) -> Option<&dyn posbridge_core::Sales> {
        Some(self)
    }
}

/// PostgreSQL: the lease renewal skips a row another transaction holds (the worker's
/// own outcome write, in the field) instead of waiting for it. Waiting let the renewal
/// and the outcome write, each locking several of the worker's rows in its own order,
/// deadlock; PostgreSQL then aborted one of them (issue 17, item 9: the scale-out test's
/// one-process stage, "deadlock detected" in the server log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_heartbeat_does_not_wait_for_a_row_another_transaction_holds() {
    let Some(db) = support::postgres().await else { return };
    let (gate, gated) = tokio::sync::watch::channel(false);
    let config = OutboxConfig {
        lease: Duration::from_secs(6),
        ..fast()
    };
    let outbox = Outbox::open(&db.url, config)
        .await
        .unwrap()
        .with_target(Target::new("easpro"), Arc::new(Gated(gated)));
    let mut ids = Vec::new();
    for i in 0..2 {
        let r = outbox
            .enqueue(&sale(&format!("S-{i}"), 1), &[Target::new("easpro")])
            .await
            .unwrap();
        ids.push(r[0].delivery.id);
    }
    let worker = {
        let outbox = outbox.clone();
        tokio::spawn(async move { outbox.run(until_idle(), std::future::pending()).await })
    };
    let waiting = Instant::now();
    while outbox.list(Some(DeliveryState::Delivering), 10).await.unwrap().len() < 2 {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "the worker claimed nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pool = outbox.postgres_pool().unwrap().clone();
    let lease_of = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (i64,)>("SELECT lease_until FROM posbridge_outbox_deliveries WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
                .0
        }
    };

    // Another transaction holds the first row …
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM posbridge_outbox_deliveries WHERE id = $1 FOR UPDATE")
        .bind(ids[0])
        .execute(&mut *tx)
        .await
        .unwrap();
    let before = lease_of(ids[1]).await;
    // … while the heartbeat (every 2 s) renews the second (the first's lease, 6 s, outlasts this).
    let holding = Instant::now();
    let mut renewed = false;
    while holding.elapsed() < Duration::from_millis(3_500) {
        if lease_of(ids[1]).await > before {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tx.rollback().await.unwrap();
    gate.send(true).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), worker)
        .await
        .expect("the worker did not go idle within 30 s")
        .unwrap()
        .unwrap();
    assert!(
        renewed,
        "the lease renewal waited for a row another transaction held and renewed no other lease"
    );
    assert_eq!((report.delivered, report.fenced, report.swept), (2, 0, 0), "{report:?}");
    for d in outbox.list(None, 10).await.unwrap() {
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 1), "{d:?}");
    }
}
