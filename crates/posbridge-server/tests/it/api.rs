//! The `/v1` API as a till and an operator use it, over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use posbridge_server::ServerConfig;
use serde_json::{Value, json};

use crate::support::{self, TestServer, sale_json};

async fn body(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, ct, value)
}

async fn deliveries(ts: &TestServer, key: &str, query: &str) -> Vec<Value> {
    let (s, _, v) = body(ts.get(&format!("/v1/deliveries{query}"), key).send().await.unwrap()).await;
    assert_eq!(s, 200, "{v}");
    v["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_sale_is_queued_once_and_a_changed_repeat_is_a_conflict() {
    let ts = support::start().await;
    let key = ts.key("colombo").to_owned();
    let (s, _, v) = body(ts.post("/v1/sales", &key, &sale_json("S-1", 2)).send().await.unwrap()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["reference"], "S-1");
    let ds = v["deliveries"].as_array().unwrap();
    assert_eq!(ds.len(), 2, "one per colombo vendor: {v}");
    assert!(
        ds.iter()
            .all(|d| d["enqueued"] == "new" && d["delivery"]["state"] == "pending")
    );

    let (s, _, again) = body(ts.post("/v1/sales", &key, &sale_json("S-1", 2)).send().await.unwrap()).await;
    assert_eq!(s, 200, "{again}");
    assert!(
        again["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["enqueued"] == "existing")
    );
    assert_eq!(
        again["deliveries"][0]["delivery"]["id"],
        v["deliveries"][0]["delivery"]["id"]
    );

    let (s, ct, p) = body(ts.post("/v1/sales", &key, &sale_json("S-1", 3)).send().await.unwrap()).await;
    assert_eq!(s, 409, "{p}");
    assert_eq!(ct, "application/problem+json");
    assert!(p["detail"].as_str().unwrap().contains("S-1"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("different content"), "{p}");
    assert_eq!(deliveries(&ts, &key, "").await.len(), 2);
}

#[tokio::test]
async fn what_the_library_refuses_is_refused_here_naming_the_field_and_nothing_is_queued() {
    let ts = support::start().await;
    let key = ts.key("colombo").to_owned();
    let mut wrong_total = sale_json("S-2", 2);
    wrong_total["total"] = json!("20.01");
    let (s, ct, p) = body(ts.post("/v1/sales", &key, &wrong_total).send().await.unwrap()).await;
    assert_eq!((s, ct.as_str()), (422, "application/problem+json"), "{p}");
    assert_eq!(p["errors"][0]["pointer"], "/total", "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("20.01"),
        "the library's own message: {p}"
    );

    let mut bad_line = sale_json("S-3", 1);
    bad_line["lines"][0]["total"] = json!("5.00");
    let (s, _, p) = body(ts.post("/v1/sales", &key, &bad_line).send().await.unwrap()).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["errors"][0]["pointer"], "/lines/0/total", "{p}");

    let mut unknown = sale_json("S-4", 1);
    unknown["lines"][0]["qty"] = json!(1);
    let (s, _, p) = body(ts.post("/v1/sales", &key, &unknown).send().await.unwrap()).await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["errors"][0]["pointer"], "/lines/0/qty", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("qty"), "{p}");

    let r = ts
        .http
        .post(ts.at("/v1/sales"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"reference\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = ts
        .http
        .post(ts.at("/v1/sales"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body(sale_json("S-5", 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(deliveries(&ts, &key, "").await.is_empty(), "nothing was queued");
}

#[tokio::test]
async fn a_body_above_the_limit_is_413_and_the_limit_is_configurable() {
    let ts = support::start_with(ServerConfig {
        body_limit: 2_000,
        ..ServerConfig::default()
    })
    .await;
    let mut big = sale_json("S-1", 1);
    big["note"] = json!("x".repeat(5_000));
    let (s, ct, p) = body(ts.post("/v1/sales", ts.key("colombo"), &big).send().await.unwrap()).await;
    assert_eq!((s, ct.as_str()), (413, "application/problem+json"), "{p}");
}

#[tokio::test]
async fn keys_are_required_checked_and_revocable() {
    let ts = support::start().await;
    let r = ts.http.get(ts.at("/v1/deliveries")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    for bad in [
        "nonsense",
        "pbk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let r = ts.get("/v1/deliveries", bad).send().await.unwrap();
        assert_eq!(r.status(), 401, "{bad}");
    }
    // A real key's id with another secret.
    let real = ts.key("colombo");
    let forged = format!("{}{}", &real[..17], "B".repeat(43));
    assert_ne!(forged, real);
    assert_eq!(ts.get("/v1/deliveries", &forged).send().await.unwrap().status(), 401);
    // X-Api-Key works too.
    let r = ts
        .http
        .get(ts.at("/v1/deliveries"))
        .header("x-api-key", real)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let new = posbridge_server::keys::create(
        ts.server.outbox(),
        posbridge_server::keys::Role::tenant("colombo"),
        "till 9",
    )
    .await
    .unwrap();
    let listed = posbridge_server::keys::list(ts.server.outbox()).await.unwrap();
    assert_eq!(listed.len(), 4);
    let revoked = posbridge_server::keys::revoke(ts.server.outbox(), &new.info.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    let secret = secrecy::ExposeSecret::expose_secret(&new.secret).to_owned();
    assert_eq!(ts.get("/v1/deliveries", &secret).send().await.unwrap().status(), 401);
    assert!(matches!(
        posbridge_server::keys::revoke(ts.server.outbox(), "ffffffffffff").await,
        Err(posbridge_server::ServerError::UnknownKey(_))
    ));
}

/// Every route a tenant's key can name, with another tenant's delivery or tenant.
#[tokio::test]
async fn a_tenants_key_neither_sees_nor_touches_another_tenants_deliveries_on_any_route() {
    let ts = support::start().await;
    support::demo_day(&ts, 12).await;
    let kandy = ts.key("kandy").to_owned();
    let colombo = ts.key("colombo").to_owned();
    let theirs = deliveries(&ts, &colombo, "").await;
    assert!(!theirs.is_empty());
    let dead = theirs.iter().find(|d| d["state"] == "dead").unwrap()["id"]
        .as_i64()
        .unwrap();
    let uncertain = theirs.iter().find(|d| d["state"] == "uncertain").unwrap()["id"]
        .as_i64()
        .unwrap();

    assert!(deliveries(&ts, &kandy, "").await.is_empty(), "kandy's list is its own");
    for reference in ["S-0", "DEAD-3"] {
        assert!(
            deliveries(&ts, &kandy, &format!("?reference={reference}"))
                .await
                .is_empty()
        );
    }
    let forbidden = ts.get("/v1/deliveries?tenant=colombo", &kandy).send().await.unwrap();
    assert_eq!(forbidden.status(), 403);
    for id in [dead, uncertain] {
        let r = ts.get(&format!("/v1/deliveries/{id}"), &kandy).send().await.unwrap();
        assert_eq!(r.status(), 404, "get {id}");
        let r = ts
            .post(&format!("/v1/deliveries/{id}/retry"), &kandy, &json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "retry {id}");
        let r = ts
            .post(
                &format!("/v1/deliveries/{id}/resolve"),
                &kandy,
                &json!({"as": "delivered"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "resolve {id}");
    }
    for (path, document) in [
        ("/v1/sales?tenant=colombo", sale_json("X-1", 1)),
        ("/v1/returns?tenant=colombo", support::return_json("R-1", "S-0")),
        ("/v1/voids?tenant=colombo", support::void_json("S-0")),
        ("/v1/payments?tenant=colombo", support::payment_json("P-1", "S-0")),
    ] {
        let r = ts.post(path, &kandy, &document).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = ts
        .post(
            "/v1/sales/batch?tenant=colombo",
            &kandy,
            &json!({"sales": [sale_json("X-1", 1)]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    for path in [
        "/v1/stock?vendor=fake&tenant=colombo",
        "/v1/products?vendor=fake&tenant=colombo",
    ] {
        assert_eq!(ts.get(path, &kandy).send().await.unwrap().status(), 403, "{path}");
    }
    assert_eq!(ts.get("/metrics", &kandy).send().await.unwrap().status(), 403);
    // Nothing changed for colombo.
    let after = deliveries(&ts, &colombo, "").await;
    assert_eq!(after, theirs);
}

#[tokio::test]
async fn an_operator_sees_every_tenant_and_names_the_tenant_it_writes_for() {
    let ts = support::start().await;
    let op = ts.operator_key.clone();
    let r = ts.post("/v1/sales", &op, &sale_json("S-1", 1)).send().await.unwrap();
    assert_eq!(r.status(), 422, "an operator must name the tenant");
    let r = ts
        .post("/v1/sales?tenant=kandy", &op, &sale_json("K-1", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = ts
        .post("/v1/sales?tenant=colombo&to=fake2", &op, &sale_json("C-1", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = ts
        .post("/v1/sales?tenant=colombo&to=nope", &op, &sale_json("C-2", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = ts
        .post("/v1/sales?tenant=galle", &op, &sale_json("G-1", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a tenant without vendors");
    let all = deliveries(&ts, &op, "").await;
    assert_eq!(all.len(), 2);
    assert_eq!(deliveries(&ts, &op, "?tenant=kandy").await.len(), 1);
    assert_eq!(deliveries(&ts, ts.key("kandy"), "").await.len(), 1);
}

#[tokio::test]
async fn deliveries_page_by_cursor_filter_and_carry_their_history() {
    let ts = support::start().await;
    support::demo_day(&ts, 23).await;
    let key = ts.key("colombo").to_owned();
    // 23 sales × 2 vendors, paged 10 at a time.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (s, _, v) = body(
            ts.get(&format!("/v1/deliveries?limit=10{cursor}"), &key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        seen.extend(
            v["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 46);
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, seen, "no gap, no repeat, in order");

    let dead = deliveries(&ts, &key, "?state=dead&vendor=fake").await;
    assert_eq!(dead.len(), 3, "DEAD-3, DEAD-10, DEAD-17");
    assert!(dead.iter().all(|d| d["vendor"] == "fake" && d["state"] == "dead"));
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("not sold at this outlet")
    );
    let one = deliveries(&ts, &key, "?reference=S-1").await;
    assert_eq!(one.len(), 2);
    let r = ts.get("/v1/deliveries?state=lost", &key).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = ts.get("/v1/deliveries?since=yesterday", &key).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = ts.get("/v1/deliveries?limit=0", &key).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let future = deliveries(&ts, &key, "?since=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());

    let id = dead[0]["id"].as_i64().unwrap();
    let (s, _, detail) = body(ts.get(&format!("/v1/deliveries/{id}"), &key).send().await.unwrap()).await;
    assert_eq!(s, 200, "{detail}");
    assert_eq!(detail["document"]["kind"], "sale");
    assert_eq!(
        detail["document"]["document"]["reference"],
        detail["delivery"]["reference"]
    );
    let events = detail["events"].as_array().unwrap();
    assert_eq!(events.first().unwrap()["to"], "pending", "{detail}");
    assert_eq!(events.last().unwrap()["to"], "dead", "{detail}");
    assert_eq!(events.last().unwrap()["error_kind"], "rejected");

    // Retry the dead one; resolving it is the wrong state.
    let r = ts
        .post(
            &format!("/v1/deliveries/{id}/resolve"),
            &key,
            &json!({"as": "delivered"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (s, _, v) = body(
        ts.post(&format!("/v1/deliveries/{id}/retry"), &key, &json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("pending")), "{v}");
    let r = ts
        .post(&format!("/v1/deliveries/{id}/retry"), &key, &json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "not dead any more");

    // Resolve an uncertain one each way.
    let unc = deliveries(&ts, &key, "?state=uncertain").await;
    assert_eq!(unc.len(), 4, "UNC-5 and UNC-16 at two vendors: {unc:?}");
    let (a, b) = (unc[0]["id"].as_i64().unwrap(), unc[1]["id"].as_i64().unwrap());
    let (s, _, v) = body(
        ts.post(
            &format!("/v1/deliveries/{a}/resolve"),
            &key,
            &json!({"as": "delivered"}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("delivered")), "{v}");
    let (s, _, v) = body(
        ts.post(&format!("/v1/deliveries/{b}/resolve"), &key, &json!({"as": "resend"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("pending")), "{v}");
    let r = ts
        .post(&format!("/v1/deliveries/{b}/resolve"), &key, &json!({"as": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(ts.get("/v1/deliveries/abc", &key).send().await.unwrap().status(), 404);
    assert_eq!(
        ts.get("/v1/deliveries/999999", &key).send().await.unwrap().status(),
        404
    );
}

#[tokio::test]
async fn a_batch_enqueues_each_sale_on_its_own() {
    let ts = support::start().await;
    let key = ts.key("colombo").to_owned();
    ts.post("/v1/sales", &key, &sale_json("B-0", 1)).send().await.unwrap();
    let mut wrong = sale_json("B-2", 1);
    wrong["total"] = json!("99.00");
    let batch = json!({"sales": [sale_json("B-0", 1), sale_json("B-1", 1), wrong, sale_json("B-3", 2)]});
    let (s, _, v) = body(ts.post("/v1/sales/batch", &key, &batch).send().await.unwrap()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["enqueued"].as_u64(), v["existing"].as_u64(), v["refused"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    let statuses: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 201, 422, 201]);
    assert_eq!(
        v["results"][2]["problem"]["errors"][0]["pointer"], "/sales/2/total",
        "{v}"
    );

    let too_many = json!({"sales": (0..501).map(|i| sale_json(&format!("M-{i}"), 1)).collect::<Vec<_>>()});
    let r = ts.post("/v1/sales/batch", &key, &too_many).send().await.unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn stock_reads_through_to_the_vendor_with_a_short_cache() {
    let ts = support::start().await;
    let key = ts.key("colombo").to_owned();
    for _ in 0..3 {
        let (s, _, v) = body(ts.get("/v1/stock?vendor=fake&codes=P-2", &key).send().await.unwrap()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["levels"].as_array().unwrap().len(), 1);
        assert_eq!(v["levels"][0]["quantity"], "12.50", "money stays a decimal string");
    }
    let fake = &ts.vendors[&posbridge_outbox::Target::for_tenant("colombo", "fake")];
    assert_eq!(
        fake.stock_reads.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one vendor read per TTL"
    );
    let r = ts.get("/v1/stock?vendor=nope", &key).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let (s, _, p) = body(ts.get("/v1/products?vendor=fake", &key).send().await.unwrap()).await;
    assert_eq!(s, 501, "the fake vendor has no catalogue: {p}");
    let r = ts.get("/v1/stock", &key).send().await.unwrap();
    assert_eq!(r.status(), 400, "vendor is required");
}

#[tokio::test]
async fn each_key_has_its_own_request_rate() {
    let ts = support::start_with(ServerConfig {
        requests_per_minute: 3,
        ..ServerConfig::default()
    })
    .await;
    let key = ts.key("colombo").to_owned();
    for _ in 0..3 {
        assert_eq!(ts.get("/v1/deliveries", &key).send().await.unwrap().status(), 200);
    }
    let r = ts.get("/v1/deliveries", &key).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let after: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    assert_eq!(
        ts.get("/v1/deliveries", ts.key("kandy")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let ts = support::start().await;
    support::demo_day(&ts, 8).await;
    assert_eq!(ts.http.get(ts.at("/healthz")).send().await.unwrap().status(), 200);
    let (s, _, v) = body(ts.http.get(ts.at("/readyz")).send().await.unwrap()).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ready")), "{v}");
    let r = ts.get("/metrics", &ts.operator_key).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for needle in [
        "posbridge_deliveries{tenant=\"colombo\",vendor=\"fake\",state=\"dead\"} 1",
        "posbridge_deliveries{tenant=\"colombo\",vendor=\"fake\",state=\"delivered\"} 6",
        "posbridge_ingested_total{kind=\"sale\",status=\"201\"} 8",
        "posbridge_delivery_errors_total{vendor=\"fake\",kind=\"rejected\"} 1",
        "posbridge_http_requests_total{route=\"/v1/sales\",status=\"201\"} 8",
        "posbridge_attempt_duration_seconds_bucket",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    assert!(!text.contains(&ts.operator_key));
}

#[tokio::test]
async fn the_openapi_description_is_served_and_committed() {
    let ts = support::start().await;
    let (s, _, served) = body(ts.http.get(ts.at("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(served["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    for path in [
        "/v1/sales",
        "/v1/sales/batch",
        "/v1/returns",
        "/v1/voids",
        "/v1/payments",
        "/v1/deliveries",
        "/v1/deliveries/{id}",
        "/v1/deliveries/{id}/retry",
        "/v1/deliveries/{id}/resolve",
        "/v1/stock",
        "/v1/products",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path} undocumented");
    }
    assert!(served["components"]["schemas"].get("Sale").is_some());
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let generated = posbridge_server::openapi::json();
    if std::env::var("POSBRIDGE_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(committed_path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `POSBRIDGE_UPDATE_OPENAPI=1 cargo nextest run -p posbridge-server -E 'test(/openapi/)'`"
    );
    assert_eq!(serde_json::from_str::<Value>(&committed).unwrap(), served);
}

#[tokio::test]
async fn the_api_never_logs_or_echoes_a_key() {
    // What the service logs, captured at TRACE for this test's thread.
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || CaptureWriter(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(writer)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let ts = support::start().await;
    let key = ts.key("colombo").to_owned();
    // The secret is what follows `pbk_<id>_` (it may hold `_` itself).
    let secret_part = key.splitn(3, '_').nth(2).unwrap().to_owned();
    assert_eq!(secret_part.len(), 43);
    let mut forged = key.clone();
    forged.replace_range(key.len() - 4.., "AAAA");
    let mut seen = String::new();
    for k in [key.as_str(), forged.as_str(), ts.operator_key.as_str()] {
        for r in [
            ts.get("/v1/deliveries", k).send().await.unwrap(),
            ts.post("/v1/sales", k, &json!({"reference": 1})).send().await.unwrap(),
            ts.get("/metrics", k).send().await.unwrap(),
        ] {
            seen.push_str(&r.text().await.unwrap());
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let logged = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("refused an API key"), "the refusal is logged: {logged}");
    for text in [&seen, &logged] {
        assert!(!text.contains(&secret_part), "a key's secret leaked");
        assert!(!text.contains(ts.operator_key.splitn(3, '_').nth(2).unwrap()));
    }
}

#[derive(Clone)]
struct CaptureWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
