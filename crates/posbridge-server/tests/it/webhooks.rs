//! Webhooks out: a tenant's delivery state changes reach its URL, signed, in order,
//! retried after a failure, durable across a restart of the sender — and never
//! another tenant's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use posbridge_server::webhooks::{self, verify};
use posbridge_server::{ServerConfig, WebhookConfig};
use secrecy::SecretString;
use serde_json::Value;

use crate::support;

const SECRET: &str = "whsec_0123456789abcdef";

/// What the POS's receiver saw: each POST's signature, event id header and body.
#[derive(Default)]
struct Receiver {
    posts: Mutex<Vec<(String, String, Vec<u8>)>>,
    /// Answer 500 to this many posts first.
    fail_first: AtomicUsize,
}

async fn receiver(r: Arc<Receiver>) -> String {
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                };
                r.posts
                    .lock()
                    .unwrap()
                    .push((h("posbridge-signature"), h("posbridge-event-id"), body.to_vec()));
                let failing = r
                    .fail_first
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hooks")
}

/// Runs the sender until the returned sender is dropped or fired.
fn start_sender(server: &posbridge_server::Server) -> tokio::sync::oneshot::Sender<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = server.clone();
    tokio::spawn(async move {
        server
            .run_webhooks(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    tx
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn state_changes_reach_the_tenants_url_signed_in_order_and_retried() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let r = Arc::new(Receiver::default());
    r.fail_first.store(1, Ordering::SeqCst);
    let url = receiver(r.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("outbox.db").display());
    let config = ServerConfig {
        webhook_settle: Duration::ZERO,
        ..ServerConfig::default()
    };
    let hook = WebhookConfig::new(&url, SecretString::from(SECRET)).unwrap();
    let ts = support::start_custom(&db, config, vec![("colombo".to_owned(), hook)]).await;
    let stop = start_sender(&ts.server);
    // The stream starts once the sender has seen the tenant.
    let deadline = Instant::now() + Duration::from_secs(10);
    while webhooks::streams(&ts.server).await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the stream never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Kandy has no webhook: its changes go nowhere.
    let k = ts
        .post("/v1/sales", ts.key("kandy"), &support::sale_json("K-1", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(k.status(), 201);
    support::demo_day(&ts, 10).await;
    // 10 sales × 2 vendors, each queued (pending) and then settled: 40 events, and
    // the first POST (answered 500) sent again.
    wait_for("41 posts", Duration::from_secs(30), || {
        r.posts.lock().unwrap().len() >= 41
    })
    .await;
    // The receiver records a post before it answers; the sender records the answer
    // after: wait for the stream's cursor to catch up before stopping it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while webhooks::streams(&ts.server).await.unwrap()[0].sent < 40 {
        assert!(Instant::now() < deadline, "the stream did not record 40 sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(stop);
    let posts = r.posts.lock().unwrap().clone();
    let now = jiff::Timestamp::now().as_second();
    let mut ids = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (signature, id_header, body) in &posts {
        verify(SECRET.as_bytes(), signature, body, now, 300).unwrap();
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["tenant"], "colombo", "{event}");
        assert_eq!(event["id"].to_string(), *id_header);
        kinds.insert(event["type"].as_str().unwrap().to_owned());
        ids.push(event["id"].as_i64().unwrap());
    }
    assert_eq!(ids[0], ids[1], "the refused first event is sent again before any other");
    let delivered = &ids[1..];
    assert_eq!(delivered.len(), 40, "{ids:?}");
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "in order, once: {ids:?}");
    for kind in [
        "delivery.pending",
        "delivery.delivered",
        "delivery.dead",
        "delivery.uncertain",
    ] {
        assert!(kinds.contains(kind), "{kind} missing: {kinds:?}");
    }
    let stream = webhooks::streams(&ts.server).await.unwrap();
    assert_eq!(stream.len(), 1);
    assert_eq!((stream[0].sent, stream[0].attempts), (40, 0), "{stream:?}");
    assert_eq!(stream[0].last_event_id, *delivered.last().unwrap());

    // A new sender (a restarted instance) carries on from the cursor: only new events.
    let retry = ts
        .post(
            &format!("/v1/deliveries/{}/retry", dead_id(&ts).await),
            ts.key("colombo"),
            &serde_json::json!({}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    let stop = start_sender(&ts.server);
    wait_for("the retry's event", Duration::from_secs(10), || {
        r.posts.lock().unwrap().len() >= 42
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stop);
    let posts = r.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 42, "nothing sent twice after the restart");
    let last: Value = serde_json::from_slice(&posts[41].2).unwrap();
    assert_eq!(last["type"], "delivery.pending");
    assert_eq!(last["delivery"]["from"], "dead");
}

async fn dead_id(ts: &support::TestServer) -> i64 {
    let list: Value = ts
        .get("/v1/deliveries?state=dead&limit=1", ts.key("colombo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["deliveries"][0]["id"].as_i64().unwrap()
}
