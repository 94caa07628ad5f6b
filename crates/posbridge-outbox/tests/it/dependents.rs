//! Returns, voids and later payments through the outbox (issue 19), run once on SQLite
//! and once on PostgreSQL: a dependent is delivered only after its sale at the same
//! target, in enqueue order, with the sale's vendor id filled in; it waits `blocked`
//! behind a dead or uncertain sale until settled or released; a target without the
//! ability records it `not_offered`; a return beyond its sale is refused at enqueue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use posbridge_core::{DuplicatePolicy, Error, SaleRef};
use posbridge_outbox::{
    DeliveryState, Document, DocumentKind, Enqueued, Outbox, OutboxConfig, OutboxError, Resolution, RunOptions, Target,
};
use support::ledger::{Fault, Ledger, audit, payment, ret, void};
use support::sale;

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

async fn drain(outbox: &Outbox) -> posbridge_outbox::RunReport {
    let options = RunOptions {
        concurrency: 8,
        until_idle: true,
        shutdown_grace: Duration::from_secs(5),
    };
    tokio::time::timeout(Duration::from_secs(30), outbox.run(options, std::future::pending()))
        .await
        .expect("the worker did not go idle within 30 s")
        .unwrap()
}

async fn enqueue(outbox: &Outbox, doc: impl Into<Document>, target: &str) -> i64 {
    let r = outbox
        .enqueue_document(&doc.into(), &[Target::new(target)])
        .await
        .unwrap();
    r[0].delivery.id
}

async fn dependents_follow_their_sale_in_order_with_its_vendor_id(url: &str) {
    // The sale fails twice (503) before the vendor takes it; the vendor needs the
    // sale's vendor id on every dependent.
    let flaky = Arc::new(AtomicBool::new(true));
    let f = flaky.clone();
    let vendor = Arc::new(
        Ledger::new("asalta", true)
            .needing_vendor_ids()
            .with_faults(move |key, _| {
                if key == "S-1" && f.load(Ordering::SeqCst) {
                    Fault::Unavailable
                } else {
                    Fault::None
                }
            }),
    );
    let config = OutboxConfig {
        max_attempts: 100,
        ..fast()
    };
    let outbox = Outbox::open(url, config)
        .await
        .unwrap()
        .with_target(Target::new("asalta"), vendor.clone());
    let sale_id = enqueue(&outbox, sale("S-1", 3), "asalta").await;
    let ids = [
        enqueue(&outbox, ret("R-1", "S-1", 1), "asalta").await,
        enqueue(&outbox, payment("P-1", "S-1"), "asalta").await,
        enqueue(&outbox, ret("R-2", "S-1", 1), "asalta").await,
        enqueue(&outbox, void("S-1"), "asalta").await,
    ];
    // A payment to a sale pushed before the outbox existed (the vendor holds it): sent at once.
    vendor.hold("OLD-1");
    let old = outbox
        .enqueue_document(
            &Document::Payment(
                serde_json::from_value(serde_json::json!({
                    "sale": {"reference": "OLD-1", "vendor_id": "V-OLD-1"},
                    "payment": {"amount": "5.00", "method": "cash", "reference": "P-OLD"}
                }))
                .unwrap(),
            ),
            &[Target::new("asalta")],
        )
        .await
        .unwrap()[0]
        .delivery
        .clone();
    assert_eq!(old.kind, DocumentKind::Payment);
    assert_eq!(old.reference, "payment:P-OLD");
    assert_eq!(old.sale_reference.as_deref(), Some("OLD-1"));

    // A first run: the sale keeps failing, so nothing of it goes out but the old payment.
    let stop = tokio::time::sleep(Duration::from_millis(600));
    outbox
        .run(
            RunOptions {
                concurrency: 8,
                until_idle: false,
                shutdown_grace: Duration::from_secs(5),
            },
            stop,
        )
        .await
        .unwrap();
    assert!(vendor.requested("S-1") >= 2, "the sale was tried and failed");
    assert_eq!(vendor.order(), ["payment:P-OLD"], "no dependent went before its sale");
    assert_eq!(outbox.get(sale_id).await.unwrap().state, DeliveryState::Retrying);
    for id in ids {
        let d = outbox.get(id).await.unwrap();
        assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 0), "{d:?}");
    }

    flaky.store(false, Ordering::SeqCst);
    drain(&outbox).await;
    assert_eq!(
        vendor.order(),
        [
            "payment:P-OLD",
            "S-1",
            "return:R-1",
            "payment:P-1",
            "return:R-2",
            "void:S-1"
        ],
        "the sale first, then its dependents in enqueue order"
    );
    assert_eq!(vendor.refused_before_sale.load(Ordering::SeqCst), 0);
    for id in ids {
        let d = outbox.get(id).await.unwrap();
        assert_eq!((d.state, d.attempts), (DeliveryState::Delivered, 1), "{d:?}");
        assert_eq!(d.sale_reference.as_deref(), Some("S-1"));
        // The vendor's id for the return/void/payment, from its receipt.
        assert_eq!(d.vendor_id.as_deref(), Some(format!("V-{}", d.reference).as_str()));
    }
    // The vendor id was filled in at delivery, not stored in the queued document.
    let stored = outbox.document(ids[0]).await.unwrap();
    assert_eq!(stored.sale(), Some(&SaleRef::pos("S-1")));
}

async fn a_dependent_waits_blocked_behind_a_dead_sale_until_released(url: &str) {
    let refuse = Arc::new(AtomicBool::new(true));
    let r = refuse.clone();
    // The sale is refused for good; the vendor-side fix comes later.
    let vendor = Arc::new(Ledger::new("asalta", true).with_faults(move |key, _| {
        if key == "S-1" && r.load(Ordering::SeqCst) {
            Fault::Unavailable
        } else {
            Fault::None
        }
    }));
    let config = OutboxConfig {
        max_attempts: 1,
        ..fast()
    };
    let outbox = Outbox::open(url, config)
        .await
        .unwrap()
        .with_target(Target::new("asalta"), vendor.clone());
    let sale_id = enqueue(&outbox, sale("S-1", 3), "asalta").await;
    let ret_id = enqueue(&outbox, ret("R-1", "S-1", 1), "asalta").await;
    let pay_id = enqueue(&outbox, payment("P-1", "S-1"), "asalta").await;
    let report = drain(&outbox).await;
    assert_eq!((report.dead, report.blocked), (1, 2), "{report:?}");
    assert_eq!(outbox.get(sale_id).await.unwrap().state, DeliveryState::Dead);
    let r = outbox.get(ret_id).await.unwrap();
    assert_eq!(r.state, DeliveryState::Blocked);
    let why = r.last_error.unwrap();
    assert!(why.contains("its sale S-1") && why.contains("dead"), "{why}");
    assert_eq!(r.last_error_kind.as_deref(), Some("blocked"));
    let p = outbox.get(pay_id).await.unwrap();
    assert_eq!(p.state, DeliveryState::Blocked);
    assert_eq!(vendor.requested("return:R-1") + vendor.requested("payment:P-1"), 0);
    let blocked = outbox.list(Some(DeliveryState::Blocked), 10).await.unwrap();
    assert_eq!(blocked.len(), 2);
    let counted: u64 = outbox
        .status()
        .await
        .unwrap()
        .iter()
        .filter(|s| s.state == DeliveryState::Blocked)
        .map(|s| s.count)
        .sum();
    assert_eq!(counted, 2);

    // The operator pushed the sale by hand and releases the return: it goes.
    vendor.hold("S-1");
    assert!(matches!(
        outbox.release(sale_id).await,
        Err(OutboxError::WrongState { action: "release", .. })
    ));
    let released = outbox.release(ret_id).await.unwrap();
    assert_eq!(released.state, DeliveryState::Pending);
    drain(&outbox).await;
    assert_eq!(outbox.get(ret_id).await.unwrap().state, DeliveryState::Delivered);
    // The payment still waits for the dead sale …
    assert_eq!(outbox.get(pay_id).await.unwrap().state, DeliveryState::Blocked);
    // … until the sale is retried and delivered: then it follows by itself.
    refuse.store(false, Ordering::SeqCst);
    assert_eq!(outbox.retry_dead(Some(sale_id)).await.unwrap(), 1);
    drain(&outbox).await;
    let s = outbox.get(sale_id).await.unwrap();
    assert_eq!(
        (s.state, s.disposition.as_deref()),
        (DeliveryState::Delivered, Some("duplicate"))
    );
    assert_eq!(outbox.get(pay_id).await.unwrap().state, DeliveryState::Delivered);
    assert_eq!(vendor.order(), ["return:R-1", "payment:P-1"]);
}

async fn a_dependent_of_an_uncertain_sale_follows_the_operators_word(url: &str) {
    // A vendor where a re-send is unsafe: the sale's dropped connection leaves it uncertain.
    let vendor = Arc::new(
        Ledger::new("cloudma", true)
            .with_policy(DuplicatePolicy::Unknown)
            .with_faults(|key, _| {
                if key == "S-1" {
                    Fault::DropAfterApply
                } else {
                    Fault::None
                }
            }),
    );
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), vendor.clone());
    let sale_id = enqueue(&outbox, sale("S-1", 3), "cloudma").await;
    let void_id = enqueue(&outbox, void("S-1"), "cloudma").await;
    let report = drain(&outbox).await;
    assert_eq!((report.uncertain, report.blocked), (1, 1), "{report:?}");
    let v = outbox.get(void_id).await.unwrap();
    assert_eq!(v.state, DeliveryState::Blocked);
    assert!(v.last_error.as_deref().unwrap().contains("uncertain"), "{v:?}");
    // The operator checked: the vendor has the sale. The void then goes by itself.
    outbox.resolve(sale_id, Resolution::Delivered).await.unwrap();
    drain(&outbox).await;
    assert_eq!(outbox.get(void_id).await.unwrap().state, DeliveryState::Delivered);
    assert_eq!(vendor.order(), ["S-1", "void:S-1"]);
}

async fn a_dependent_waits_behind_an_uncertain_one_enqueued_before_it(url: &str) {
    let vendor = Arc::new(
        Ledger::new("cloudma", true)
            .with_policy(DuplicatePolicy::Unknown)
            .with_faults(|key, _| {
                if key == "return:R-1" {
                    Fault::DropAfterApply
                } else {
                    Fault::None
                }
            }),
    );
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("cloudma"), vendor.clone());
    enqueue(&outbox, sale("S-1", 3), "cloudma").await;
    let ret_id = enqueue(&outbox, ret("R-1", "S-1", 1), "cloudma").await;
    let void_id = enqueue(&outbox, void("S-1"), "cloudma").await;
    let report = drain(&outbox).await;
    assert_eq!(
        (report.delivered, report.uncertain, report.blocked),
        (1, 1, 1),
        "{report:?}"
    );
    let v = outbox.get(void_id).await.unwrap();
    assert_eq!(v.state, DeliveryState::Blocked);
    let why = v.last_error.unwrap();
    assert!(why.contains("return:R-1") && why.contains("uncertain"), "{why}");
    // Re-sent on the operator's word (the vendor answers it holds it): the void follows.
    outbox.resolve(ret_id, Resolution::Resend).await.unwrap();
    drain(&outbox).await;
    assert_eq!(
        outbox.get(ret_id).await.unwrap().disposition.as_deref(),
        Some("duplicate")
    );
    assert_eq!(outbox.get(void_id).await.unwrap().state, DeliveryState::Delivered);
    assert_eq!(vendor.order(), ["S-1", "return:R-1", "void:S-1"]);
}

async fn a_target_without_returns_records_them_not_offered(url: &str) {
    let vendor = Arc::new(Ledger::new("codemax", false));
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("codemax"), vendor.clone());
    enqueue(&outbox, sale("S-1", 3), "codemax").await;
    let ret_id = enqueue(&outbox, ret("R-1", "S-1", 1), "codemax").await;
    let void_id = enqueue(&outbox, void("S-1"), "codemax").await;
    let report = drain(&outbox).await;
    assert_eq!(
        (report.delivered, report.not_offered, report.dead),
        (2, 1, 0),
        "{report:?}"
    );
    let r = outbox.get(ret_id).await.unwrap();
    assert_eq!((r.state, r.attempts), (DeliveryState::NotOffered, 1), "{r:?}");
    assert_eq!(r.last_error_kind.as_deref(), Some("unsupported"));
    assert!(r.last_error.as_deref().unwrap().contains("codemax"), "{r:?}");
    assert_eq!(vendor.requested("return:R-1"), 0);
    // Not offered is final: a later run leaves it alone, and the void behind it went.
    assert_eq!(outbox.get(void_id).await.unwrap().state, DeliveryState::Delivered);
    let again = drain(&outbox).await;
    assert_eq!(again.not_offered, 0);
    assert_eq!(outbox.get(ret_id).await.unwrap().attempts, 1);
}

async fn a_return_beyond_its_sale_is_refused_naming_the_line(url: &str) {
    let vendor = Arc::new(Ledger::new("asalta", true));
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("asalta"), vendor)
        .with_enqueue_target(Target::new("easpro"), DuplicatePolicy::Upsert);
    let both = [Target::new("asalta"), Target::new("easpro")];
    outbox.enqueue(&sale("S-1", 3), &both).await.unwrap();
    let first = outbox
        .enqueue_document(&ret("R-1", "S-1", 2).into(), &both)
        .await
        .unwrap();
    assert!(first.iter().all(|r| r.enqueued == Enqueued::New));
    // The same return again is not counted twice.
    let again = outbox
        .enqueue_document(&ret("R-1", "S-1", 2).into(), &both)
        .await
        .unwrap();
    assert!(again.iter().all(|r| r.enqueued == Enqueued::Existing));
    // 3 sold, 2 returned: one more, split over two lines, overflows at the second.
    let mut two_lines = ret("R-2", "S-1", 1);
    two_lines.lines.push(two_lines.lines[0].clone());
    two_lines.refunds.clear();
    let err = outbox.enqueue_document(&two_lines.into(), &both).await.unwrap_err();
    let OutboxError::ReturnExceedsSale(excess) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (excess.line.as_str(), excess.product.as_str(), excess.sale.as_str()),
        ("lines[1]", "P-1", "S-1")
    );
    assert_eq!(
        (excess.returned, excess.sold, excess.earlier),
        (2.into(), 3.into(), 2.into())
    );
    let text = err.to_string();
    assert!(
        text.contains("lines[1]") && text.contains("R-2") && text.contains("at most 1"),
        "{text}"
    );
    // A product the sale never had.
    let mut other = ret("R-3", "S-1", 1);
    other.lines[0].product_code = "P-9".into();
    assert!(matches!(
        outbox.enqueue_document(&other.into(), &both).await,
        Err(OutboxError::ReturnExceedsSale(e)) if e.line == "lines[0]" && e.sold.is_zero()
    ));
    // What is left can be returned; a sale the outbox does not hold is not checked.
    outbox
        .enqueue_document(&ret("R-4", "S-1", 1).into(), &both)
        .await
        .unwrap();
    outbox
        .enqueue_document(&ret("R-5", "ELSEWHERE-1", 50).into(), &both)
        .await
        .unwrap();
    // Invalid documents are refused before anything is written.
    let mut bad = ret("R-6", "S-9", 1);
    bad.total = Some("10.01".parse().unwrap());
    assert!(matches!(
        outbox.enqueue_document(&bad.into(), &both).await,
        Err(OutboxError::Invalid { .. })
    ));
    let mut nameless = payment("P-1", "S-1");
    nameless.payment.reference = None;
    let err = outbox.enqueue_document(&nameless.into(), &both).await.unwrap_err();
    assert!(
        matches!(&err, OutboxError::Invalid { source: Error::Invalid { field, .. }, .. } if field == "payment.reference"),
        "{err}"
    );
    let nowhere = Document::Void(posbridge_core::Void::of(SaleRef::default()));
    assert!(matches!(
        outbox.enqueue_document(&nowhere, &both).await,
        Err(OutboxError::Invalid { .. })
    ));
    let rows = outbox.list(None, 100).await.unwrap();
    assert_eq!(rows.len(), 2 * 4, "{rows:?}");
}

async fn rows_from_before_the_migration_read_as_sales(url: &str) {
    let vendor = Arc::new(Ledger::new("easpro", true));
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), vendor.clone());
    // A row as the first migration wrote it: no kind, no sale reference.
    let payload = serde_json::to_string(&sale("OLD-1", 1)).unwrap();
    let insert = "INSERT INTO posbridge_outbox_deliveries \
                  (tenant, vendor, reference, payload, state, next_attempt_at, created_at, updated_at) \
                  VALUES ('default', 'easpro', 'OLD-1', $1, 'pending', 0, 0, 0)";
    if let Some(pool) = outbox.sqlite_pool() {
        sqlx::query(insert).bind(&payload).execute(pool).await.unwrap();
    } else {
        let pool = outbox.postgres_pool().unwrap();
        sqlx::query(insert).bind(&payload).execute(pool).await.unwrap();
    }
    let rows = outbox.list(None, 10).await.unwrap();
    assert_eq!(
        (rows[0].kind, rows[0].sale_reference.as_deref()),
        (DocumentKind::Sale, None)
    );
    assert_eq!(
        outbox.document(rows[0].id).await.unwrap(),
        Document::Sale(sale("OLD-1", 1))
    );
    enqueue(&outbox, void("OLD-1"), "easpro").await;
    drain(&outbox).await;
    assert_eq!(vendor.order(), ["OLD-1", "void:OLD-1"]);
}

async fn many_dependents_under_faults_keep_their_order(url: &str) {
    let vendor = Arc::new(Ledger::new("salesmania", true).with_faults(|_, n| match n % 5 {
        1 => Fault::Unavailable,
        2 => Fault::DropAfterApply,
        3 if n % 3 == 0 => Fault::RateLimited,
        _ => Fault::None,
    }));
    let outbox = Outbox::open(
        url,
        OutboxConfig {
            max_attempts: 30,
            ..fast()
        },
    )
    .await
    .unwrap()
    .with_target(Target::new("salesmania"), vendor.clone());
    let mut expected = Vec::new();
    for i in 0..40 {
        let s = format!("S-{i}");
        enqueue(&outbox, sale(&s, 2), "salesmania").await;
        expected.push((s.clone(), None));
        enqueue(&outbox, ret(&format!("R-{i}"), &s, 1), "salesmania").await;
        expected.push((format!("return:R-{i}"), Some(s.clone())));
        enqueue(&outbox, payment(&format!("P-{i}"), &s), "salesmania").await;
        expected.push((format!("payment:P-{i}"), Some(s.clone())));
        if i % 2 == 0 {
            enqueue(&outbox, void(&s), "salesmania").await;
            expected.push((format!("void:{s}"), Some(s.clone())));
        }
    }
    drain(&outbox).await;
    let applied = vendor.applied.lock().unwrap().clone();
    assert_eq!(audit(&applied, &expected), (0, 0, 0), "lost, twice, out of order");
    assert_eq!(vendor.refused_before_sale.load(Ordering::SeqCst), 0);
    for d in outbox.list(None, 1000).await.unwrap() {
        assert_eq!(d.state, DeliveryState::Delivered, "{d:?}");
    }
}

/// An outbox created by the previous release (migrations 1 and 2, a queued sale) is
/// upgraded on open: its sale reads as a sale and is delivered before a void enqueued
/// after the upgrade.
async fn an_outbox_of_the_previous_release_is_upgraded_on_open(url: &str) {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    use std::borrow::Cow;
    let postgres = url.starts_with("postgres");
    let old = |version, name, sqlite: &'static str, pg: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            sqlx::SqlStr::from_static(if postgres { pg } else { sqlite }),
            false,
        )
    };
    let previous = Migrator {
        migrations: Cow::Owned(vec![
            old(
                1,
                "deliveries",
                include_str!("../../migrations/sqlite/0001_deliveries.sql"),
                include_str!("../../migrations/postgres/0001_deliveries.sql"),
            ),
            old(
                2,
                "claim index",
                include_str!("../../migrations/sqlite/0002_claim_index.sql"),
                include_str!("../../migrations/postgres/0002_claim_index.sql"),
            ),
        ]),
        table_name: Cow::Borrowed("posbridge_outbox_migrations"),
        ..Migrator::DEFAULT
    };
    let payload = serde_json::to_string(&sale("OLD-1", 1)).unwrap();
    let insert = "INSERT INTO posbridge_outbox_deliveries \
                  (tenant, vendor, reference, payload, state, next_attempt_at, created_at, updated_at) \
                  VALUES ('default', 'easpro', 'OLD-1', $1, 'pending', 0, 0, 0)";
    if postgres {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        previous.run(&pool).await.unwrap();
        sqlx::query(insert).bind(&payload).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        previous.run(&pool).await.unwrap();
        sqlx::query(insert).bind(&payload).execute(&pool).await.unwrap();
        pool.close().await;
    }

    let vendor = Arc::new(Ledger::new("easpro", true));
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), vendor.clone());
    let rows = outbox.list(None, 10).await.unwrap();
    assert_eq!(
        (rows.len(), rows[0].kind, rows[0].sale_reference.as_deref()),
        (1, DocumentKind::Sale, None)
    );
    assert_eq!(
        outbox.document(rows[0].id).await.unwrap(),
        Document::Sale(sale("OLD-1", 1))
    );
    enqueue(&outbox, void("OLD-1"), "easpro").await;
    drain(&outbox).await;
    assert_eq!(vendor.order(), ["OLD-1", "void:OLD-1"]);
}

#[test]
fn the_audit_counts_what_it_claims() {
    use support::ledger::Applied;
    let a = |kind: &str, key: &str, sale: Option<&str>| Applied {
        kind: kind.into(),
        key: key.into(),
        sale: sale.map(str::to_owned),
    };
    let expected: Vec<(String, Option<String>)> = vec![
        ("S-1".into(), None),
        ("return:R-1".into(), Some("S-1".into())),
        ("void:S-1".into(), Some("S-1".into())),
        ("S-2".into(), None),
    ];
    let good = [
        a("sale", "S-1", None),
        a("return", "return:R-1", Some("S-1")),
        a("void", "void:S-1", Some("S-1")),
        a("sale", "S-2", None),
    ];
    assert_eq!(audit(&good, &expected), (0, 0, 0));
    // The void before the return, the return twice, S-2 missing.
    let bad = [
        a("sale", "S-1", None),
        a("void", "void:S-1", Some("S-1")),
        a("return", "return:R-1", Some("S-1")),
        a("return", "return:R-1", Some("S-1")),
    ];
    assert_eq!(audit(&bad, &expected), (1, 1, 1));
    // A dependent before its sale.
    let early = [
        a("return", "return:R-1", Some("S-1")),
        a("sale", "S-1", None),
        a("void", "void:S-1", Some("S-1")),
        a("sale", "S-2", None),
    ];
    assert_eq!(audit(&early, &expected), (0, 0, 1));
}

#[test]
fn documents_are_tagged_json() {
    let doc = Document::Void(void("S-1"));
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "void", "document": {"sale": {"reference": "S-1", "vendor_id": null}, "reason": null, "voided_at": null}})
    );
    assert_eq!(serde_json::from_value::<Document>(json).unwrap(), doc);
    let back: Document = serde_json::from_value(serde_json::json!({
        "kind": "payment",
        "document": {"sale": {"vendor_id": "54"}, "payment": {"amount": "5", "method": "cash", "reference": "P"}}
    }))
    .unwrap();
    assert_eq!(back.key().unwrap(), "payment:P");
    assert_eq!(back.sale_reference(), None);
    assert_eq!(
        Document::Void(posbridge_core::Void::of(SaleRef::vendor("54")))
            .key()
            .unwrap(),
        "void:vendor-id:54"
    );
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
    dependents_follow_their_sale_in_order_with_its_vendor_id,
    a_dependent_waits_blocked_behind_a_dead_sale_until_released,
    a_dependent_of_an_uncertain_sale_follows_the_operators_word,
    a_dependent_waits_behind_an_uncertain_one_enqueued_before_it,
    a_target_without_returns_records_them_not_offered,
    a_return_beyond_its_sale_is_refused_naming_the_line,
    rows_from_before_the_migration_read_as_sales,
    an_outbox_of_the_previous_release_is_upgraded_on_open,
    many_dependents_under_faults_keep_their_order,
);
