//! Each delivery's history (`posbridge_outbox_events`, written by triggers) and the
//! read side the server uses: filtered listing with a cursor, per-tenant status, the
//! hourly outcome chart, readiness. Run on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use posbridge_core::{DuplicatePolicy, Error};
use posbridge_outbox::{
    DeliveryEvent, DeliveryQuery, DeliveryState, DocumentKind, Enqueued, Outbox, OutboxConfig, Resolution, RunOptions,
    Target,
};
use support::ledger::void;
use support::{Scripted, created, rejected, sale};

use DeliveryState::{Dead, Delivered, Delivering, NotOffered, Pending, Retrying, Uncertain};

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

/// Runs a worker until there is nothing left, failing the test after 30 s.
async fn drain(outbox: &Outbox) -> posbridge_outbox::RunReport {
    let options = RunOptions {
        concurrency: 4,
        until_idle: true,
        shutdown_grace: Duration::from_secs(5),
    };
    tokio::time::timeout(Duration::from_secs(30), outbox.run(options, std::future::pending()))
        .await
        .expect("the worker did not go idle within 30 s")
        .unwrap()
}

/// A connector answering per reference: `script(reference, n)` for the n-th push of
/// that reference (from 0).
fn per_reference(
    name: &'static str,
    policy: DuplicatePolicy,
    script: impl Fn(&str, usize) -> Option<Error> + Send + Sync + 'static,
) -> Arc<Scripted> {
    let seen: Mutex<HashMap<String, usize>> = Mutex::new(HashMap::new());
    Scripted::new(name, policy, None, move |s, _| {
        let n = {
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(s.reference.clone()).or_default();
            *n += 1;
            *n - 1
        };
        match script(&s.reference, n) {
            Some(e) => Err(e),
            None => Ok(created(s)),
        }
    })
}

fn unavailable(vendor: &'static str) -> Error {
    Error::Unavailable {
        vendor,
        status: Some(503),
        message: "try later".into(),
    }
}

/// `(from, to, attempt, actor)` of each event.
fn steps(events: &[DeliveryEvent]) -> Vec<(Option<DeliveryState>, DeliveryState, u32, Option<String>)> {
    events
        .iter()
        .map(|e| (e.from, e.to, e.attempt, e.actor.clone()))
        .collect()
}

fn s(actor: &str) -> Option<String> {
    Some(actor.to_owned())
}

async fn a_delivery_a_dead_a_retry_and_a_resolve_are_recorded_in_order(url: &str) {
    let easpro = per_reference("easpro", DuplicatePolicy::Upsert, |reference, n| match (reference, n) {
        ("S-DEAD", 0) => Some(rejected("easpro", None, "unknown product P-1")),
        ("S-FLAKY", 0) => Some(unavailable("easpro")),
        _ => None,
    });
    let cloudma = per_reference("cloudma", DuplicatePolicy::Unknown, |_, _| {
        Some(Error::Uncertain {
            vendor: "cloudma",
            operation: "push_sale",
            message: "connection reset after sending".into(),
            source: None,
        })
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro)
        .with_target(Target::new("cloudma"), cloudma);
    let mut ids = BTreeMap::new();
    for (reference, target) in [
        ("S-OK", "easpro"),
        ("S-DEAD", "easpro"),
        ("S-FLAKY", "easpro"),
        ("S-UNC", "cloudma"),
    ] {
        let r = outbox
            .enqueue(&sale(reference, 1), &[Target::new(target)])
            .await
            .unwrap();
        ids.insert(reference, r[0].delivery.id);
    }
    let first = drain(&outbox).await.worker;
    assert_eq!(outbox.retry_dead(Some(ids["S-DEAD"])).await.unwrap(), 1);
    let second = drain(&outbox).await.worker;
    outbox.resolve(ids["S-UNC"], Resolution::Delivered).await.unwrap();

    let ok = outbox.events(ids["S-OK"]).await.unwrap();
    assert_eq!(
        steps(&ok),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Delivering), Delivered, 1, Some(first.clone()))
        ]
    );
    assert_eq!(ok[1].disposition.as_deref(), Some("created"));
    assert_eq!(ok[1].vendor_id.as_deref(), Some("V-S-OK"));
    assert!(ok[1].duration_ms.is_some(), "an outcome records its request's duration");
    assert_eq!(ok[0].duration_ms, None);
    assert!(ok.iter().all(|e| e.delivery_id == ids["S-OK"]
        && e.reference == "S-OK"
        && e.kind == DocumentKind::Sale
        && e.target == Target::new("easpro")));
    assert!(ok[0].at <= ok[1].at && ok[0].id < ok[1].id);

    let dead = outbox.events(ids["S-DEAD"]).await.unwrap();
    assert_eq!(
        steps(&dead),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Delivering), Dead, 1, Some(first.clone())),
            (Some(Dead), Pending, 0, s("operator")),
            (Some(Delivering), Delivered, 1, Some(second.clone())),
        ]
    );
    assert_eq!(dead[1].error_kind.as_deref(), Some("rejected"));
    assert!(
        dead[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("unknown product P-1")),
        "{dead:?}"
    );

    let flaky = outbox.events(ids["S-FLAKY"]).await.unwrap();
    assert_eq!(
        steps(&flaky),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Delivering), Retrying, 1, Some(first.clone())),
            (Some(Delivering), Delivered, 2, Some(first.clone())),
        ]
    );
    assert!(flaky[1].error_kind.is_some() && flaky[1].error.is_some());

    let unc = outbox.events(ids["S-UNC"]).await.unwrap();
    assert_eq!(
        steps(&unc),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Delivering), Uncertain, 1, Some(first.clone())),
            (Some(Uncertain), Delivered, 1, s("operator")),
        ]
    );

    // The whole stream, by id: the same twelve events, each once.
    let all = outbox.events_after(0, None, 100).await.unwrap();
    assert_eq!(all.len(), ok.len() + dead.len() + flaky.len() + unc.len());
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    let tail = outbox.events_after(all[9].id, None, 100).await.unwrap();
    assert_eq!(tail, all[10..]);
}

async fn blocking_and_an_operators_release_are_recorded(url: &str) {
    let easpro = per_reference("easpro", DuplicatePolicy::Upsert, |reference, _| {
        (reference == "S-1").then(|| rejected("easpro", None, "unknown product P-1"))
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro);
    outbox.enqueue(&sale("S-1", 1), &[Target::new("easpro")]).await.unwrap();
    let id = outbox
        .enqueue_document(&void("S-1").into(), &[Target::new("easpro")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    drain(&outbox).await;
    outbox.release(id).await.unwrap();
    let worker = drain(&outbox).await.worker;

    let events = outbox.events(id).await.unwrap();
    assert_eq!(
        steps(&events),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Pending), DeliveryState::Blocked, 0, s("sweep")),
            (Some(DeliveryState::Blocked), Pending, 0, s("operator")),
            (Some(Delivering), NotOffered, 1, Some(worker)),
        ]
    );
    assert_eq!(events[1].error_kind.as_deref(), Some("blocked"));
    assert!(
        events[1].error.as_deref().is_some_and(|e| e.contains("S-1")),
        "{events:?}"
    );
    assert_eq!(events[3].duration_ms, None, "nothing was sent");
}

async fn the_sweep_of_an_orphaned_claim_is_recorded(url: &str) {
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(
            Target::new("easpro"),
            Scripted::accepting("easpro", DuplicatePolicy::Upsert),
        )
        .with_target(
            Target::new("cloudma"),
            Scripted::accepting("cloudma", DuplicatePolicy::Unknown),
        );
    let safe = outbox.enqueue(&sale("S-1", 1), &[Target::new("easpro")]).await.unwrap()[0]
        .delivery
        .id;
    let unsafe_ = outbox
        .enqueue(&sale("S-1", 1), &[Target::new("cloudma")])
        .await
        .unwrap()[0]
        .delivery
        .id;
    // A worker that died holding both claims, its leases long over.
    let orphan = "UPDATE posbridge_outbox_deliveries SET state = 'delivering', attempts = 1, \
                  lease_owner = 'dead-worker', lease_until = 1";
    if let Some(pool) = outbox.sqlite_pool() {
        sqlx::query(orphan).execute(pool).await.unwrap();
    } else if let Some(pool) = outbox.postgres_pool() {
        sqlx::query(orphan).execute(pool).await.unwrap();
    }
    let worker = drain(&outbox).await.worker;

    assert_eq!(
        steps(&outbox.events(safe).await.unwrap()),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Delivering), Retrying, 1, s("sweep")),
            (Some(Delivering), Delivered, 2, Some(worker)),
        ]
    );
    let settled = outbox.events(unsafe_).await.unwrap();
    assert_eq!(
        steps(&settled),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Delivering), Uncertain, 1, s("sweep")),
        ]
    );
    assert_eq!(settled[1].error_kind.as_deref(), Some("uncertain"));
}

async fn a_rolled_back_enqueue_leaves_no_event(url: &str) {
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_enqueue_target(Target::new("easpro"), DuplicatePolicy::Upsert);
    let targets = [Target::new("easpro")];
    if let Some(pool) = outbox.sqlite_pool() {
        let mut tx = pool.begin().await.unwrap();
        outbox.enqueue_in(&mut *tx, &sale("S-1", 1), &targets).await.unwrap();
        tx.rollback().await.unwrap();
    } else if let Some(pool) = outbox.postgres_pool() {
        let mut tx = pool.begin().await.unwrap();
        outbox.enqueue_in(&mut *tx, &sale("S-1", 1), &targets).await.unwrap();
        tx.rollback().await.unwrap();
    }
    assert!(outbox.events_after(0, None, 10).await.unwrap().is_empty());
    outbox.enqueue(&sale("S-1", 1), &targets).await.unwrap();
    assert_eq!(outbox.events_after(0, None, 10).await.unwrap().len(), 1);
}

async fn an_upsert_update_is_recorded_even_when_the_state_stays(url: &str) {
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_enqueue_target(Target::new("easpro"), DuplicatePolicy::Upsert);
    let id = outbox.enqueue(&sale("S-1", 1), &[Target::new("easpro")]).await.unwrap()[0]
        .delivery
        .id;
    // The same sale again changes nothing and records nothing.
    outbox.enqueue(&sale("S-1", 1), &[Target::new("easpro")]).await.unwrap();
    let updated = outbox.enqueue(&sale("S-1", 2), &[Target::new("easpro")]).await.unwrap();
    assert_eq!(updated[0].enqueued, Enqueued::Updated);
    assert_eq!(
        steps(&outbox.events(id).await.unwrap()),
        [
            (None, Pending, 0, s("enqueue")),
            (Some(Pending), Pending, 0, s("enqueue"))
        ]
    );
}

async fn the_cursor_pages_without_gaps_or_repeats(url: &str) {
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_enqueue_target(Target::new("easpro"), DuplicatePolicy::Upsert);
    let mut enqueued = BTreeSet::new();
    for i in 0..25 {
        let r = outbox
            .enqueue(&sale(&format!("S-{i:02}"), 1), &[Target::new("easpro")])
            .await
            .unwrap();
        enqueued.insert(r[0].delivery.id);
    }

    let mut q = DeliveryQuery {
        limit: 10,
        ..DeliveryQuery::default()
    };
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = outbox.query(&q).await.unwrap();
        sizes.push(page.len());
        let Some(last) = page.last() else { break };
        q.after = Some(last.id);
        seen.extend(page.iter().map(|d| d.id));
    }
    assert_eq!(sizes, [10, 10, 5, 0]);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ascending, no repeats: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), enqueued);

    let mut after = 0;
    let mut events = Vec::new();
    loop {
        let page = outbox.events_after(after, None, 10).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 10);
        after = last.id;
        events.extend(page.into_iter().map(|e| e.delivery_id));
    }
    assert_eq!(events.into_iter().collect::<BTreeSet<_>>(), enqueued);
}

async fn every_filter_narrows_the_listing_and_tenants_stay_apart(url: &str) {
    let acme_easpro = Target::for_tenant("acme", "easpro");
    let acme_cloudma = Target::for_tenant("acme", "cloudma");
    let bravo_easpro = Target::for_tenant("bravo", "easpro");
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(
            acme_easpro.clone(),
            Scripted::accepting("easpro", DuplicatePolicy::Upsert),
        )
        .with_enqueue_target(acme_cloudma.clone(), DuplicatePolicy::Unknown)
        .with_enqueue_target(bravo_easpro.clone(), DuplicatePolicy::Upsert);

    let all_three = [acme_easpro.clone(), acme_cloudma.clone(), bravo_easpro.clone()];
    outbox.enqueue(&sale("S-1", 1), &all_three).await.unwrap();
    outbox
        .enqueue_document(&void("S-1").into(), std::slice::from_ref(&acme_easpro))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let later = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(30)).await;
    outbox.enqueue(&sale("S-2", 1), &all_three).await.unwrap();
    // acme/easpro delivers both sales; its connector takes no voids.
    drain(&outbox).await;

    let list = |q: DeliveryQuery| {
        let outbox = outbox.clone();
        async move {
            outbox
                .query(&DeliveryQuery { limit: 100, ..q })
                .await
                .unwrap()
                .into_iter()
                .map(|d| (d.target.to_string(), d.reference, d.state))
                .collect::<Vec<_>>()
        }
    };
    let row = |t: &Target, r: &str, st| (t.to_string(), r.to_owned(), st);

    assert_eq!(list(DeliveryQuery::default()).await.len(), 7);
    assert_eq!(
        list(DeliveryQuery {
            tenant: Some("bravo".into()),
            ..Default::default()
        })
        .await,
        [row(&bravo_easpro, "S-1", Pending), row(&bravo_easpro, "S-2", Pending)]
    );
    assert_eq!(
        list(DeliveryQuery {
            tenant: Some("acme".into()),
            vendor: Some("cloudma".into()),
            ..Default::default()
        })
        .await,
        [row(&acme_cloudma, "S-1", Pending), row(&acme_cloudma, "S-2", Pending)]
    );
    assert_eq!(
        list(DeliveryQuery {
            vendor: Some("easpro".into()),
            state: Some(Delivered),
            ..Default::default()
        })
        .await,
        [row(&acme_easpro, "S-1", Delivered), row(&acme_easpro, "S-2", Delivered)]
    );
    // A sale's reference finds its dependents too; a dependent's own key finds it alone.
    assert_eq!(
        list(DeliveryQuery {
            tenant: Some("acme".into()),
            reference: Some("S-1".into()),
            ..Default::default()
        })
        .await,
        [
            row(&acme_easpro, "S-1", Delivered),
            row(&acme_cloudma, "S-1", Pending),
            row(&acme_easpro, "void:S-1", NotOffered),
        ]
    );
    assert_eq!(
        list(DeliveryQuery {
            reference: Some("void:S-1".into()),
            ..Default::default()
        })
        .await,
        [row(&acme_easpro, "void:S-1", NotOffered)]
    );
    assert_eq!(
        list(DeliveryQuery {
            kind: Some(DocumentKind::Void),
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    let since = list(DeliveryQuery {
        since: Some(later),
        ..Default::default()
    })
    .await;
    assert_eq!(since.len(), 3);
    assert!(since.iter().all(|(_, r, _)| r == "S-2"), "{since:?}");
    let until = list(DeliveryQuery {
        until: Some(later),
        ..Default::default()
    })
    .await;
    assert_eq!(until.len(), 4);
    assert!(until.iter().all(|(_, r, _)| r != "S-2"), "{until:?}");

    // No read filtered to a tenant shows another tenant's rows.
    for tenant in ["acme", "bravo"] {
        let deliveries = outbox
            .query(&DeliveryQuery {
                tenant: Some(tenant.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(!deliveries.is_empty() && deliveries.iter().all(|d| d.target.tenant == tenant));
        let events = outbox.events_after(0, Some(tenant), 100).await.unwrap();
        assert!(!events.is_empty() && events.iter().all(|e| e.target.tenant == tenant));
        let status = outbox.status_of(Some(tenant)).await.unwrap();
        assert!(!status.is_empty() && status.iter().all(|r| r.target.tenant == tenant));
        let chart = outbox
            .outcomes_by_hour(Timestamp::now() - SignedDuration::from_hours(1), Some(tenant))
            .await
            .unwrap();
        assert!(chart.iter().all(|h| h.target.tenant == tenant));
        let last = outbox.last_delivered_at(Some(tenant)).await.unwrap();
        assert!(last.iter().all(|(t, _)| t.tenant == tenant));
    }
    let nobody = DeliveryQuery {
        tenant: Some("nobody".into()),
        ..Default::default()
    };
    assert!(outbox.query(&nobody).await.unwrap().is_empty());
    assert_eq!(
        outbox.status().await.unwrap().len(),
        4,
        "acme/easpro delivered + not_offered, 2 pending"
    );
    let last = outbox.last_delivered_at(None).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].0, acme_easpro);
}

async fn outcomes_are_counted_per_target_and_hour(url: &str) {
    let easpro = per_reference("easpro", DuplicatePolicy::Upsert, |reference, n| match (reference, n) {
        ("S-DEAD", _) => Some(rejected("easpro", None, "no")),
        ("S-FLAKY", 0 | 1) => Some(unavailable("easpro")),
        _ => None,
    });
    let outbox = Outbox::open(url, fast())
        .await
        .unwrap()
        .with_target(Target::new("easpro"), easpro);
    let started = Timestamp::now();
    for reference in ["S-1", "S-2", "S-DEAD", "S-FLAKY"] {
        outbox
            .enqueue(&sale(reference, 1), &[Target::new("easpro")])
            .await
            .unwrap();
    }
    drain(&outbox).await;

    let chart = outbox
        .outcomes_by_hour(started - SignedDuration::from_hours(1), None)
        .await
        .unwrap();
    let mut totals: BTreeMap<DeliveryState, u64> = BTreeMap::new();
    for bar in &chart {
        assert_eq!(bar.target, Target::new("easpro"));
        assert_eq!(bar.hour.as_millisecond() % 3_600_000, 0, "{bar:?}");
        assert!(bar.hour <= Timestamp::now());
        *totals.entry(bar.outcome).or_default() += bar.count;
    }
    assert_eq!(totals, BTreeMap::from([(Delivered, 3), (Retrying, 2), (Dead, 1)]));
    let future = outbox
        .outcomes_by_hour(Timestamp::now() + SignedDuration::from_hours(2), None)
        .await
        .unwrap();
    assert!(future.is_empty(), "{future:?}");
}

async fn migrations_are_current_after_open_and_the_database_answers(url: &str) {
    let outbox = Outbox::open(url, fast()).await.unwrap();
    outbox.ping().await.unwrap();
    assert!(outbox.migrations_current().await.unwrap());
    let forget = "DELETE FROM posbridge_outbox_migrations WHERE version = 4";
    if let Some(pool) = outbox.sqlite_pool() {
        sqlx::query(forget).execute(pool).await.unwrap();
    } else if let Some(pool) = outbox.postgres_pool() {
        sqlx::query(forget).execute(pool).await.unwrap();
    }
    assert!(!outbox.migrations_current().await.unwrap());
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
    a_delivery_a_dead_a_retry_and_a_resolve_are_recorded_in_order,
    blocking_and_an_operators_release_are_recorded,
    the_sweep_of_an_orphaned_claim_is_recorded,
    a_rolled_back_enqueue_leaves_no_event,
    an_upsert_update_is_recorded_even_when_the_state_stays,
    the_cursor_pages_without_gaps_or_repeats,
    every_filter_narrows_the_listing_and_tenants_stay_apart,
    outcomes_are_counted_per_target_and_hour,
    migrations_are_current_after_open_and_the_database_answers,
);
