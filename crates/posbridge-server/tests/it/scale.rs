//! Several `serve` instances share one PostgreSQL queue behind a load balancer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use posbridge_outbox::RunOptions;
use posbridge_server::ServerConfig;
use serde_json::Value;

use crate::support::{self, sale_json};

#[tokio::test]
async fn two_instances_share_one_postgresql_queue() {
    let Some(url) = support::postgres().await else { return };
    let a = support::start_on(&url, ServerConfig::default()).await;
    let b = support::start_on(&url, ServerConfig::default()).await;
    // A key made through one instance works on the other: keys live in the database.
    let key = a.key("colombo").to_owned();
    for i in 0..40 {
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let sale = sale_json(&format!("LB-{i}"), 1 + (i % 3));
        let r = first.post("/v1/sales", &key, &sale).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        // The same sale through the other instance is the same deliveries.
        let again = second.post("/v1/sales", &key, &sale).send().await.unwrap();
        assert_eq!(again.status(), 200);
    }
    for (ts, k) in [(&a, b.key("colombo")), (&b, a.key("colombo"))] {
        let list: Value = ts
            .get("/v1/deliveries?limit=1000", k)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["deliveries"].as_array().unwrap().len(), 80);
    }
    // Both instances' workers deliver from the one queue: each sale once per vendor.
    let options = RunOptions {
        until_idle: true,
        ..RunOptions::default()
    };
    let (ra, rb) = tokio::join!(
        a.server.outbox().run(options.clone(), std::future::pending()),
        b.server.outbox().run(options, std::future::pending()),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.delivered + rb.delivered, 80, "{ra:?} {rb:?}");
    for target in support::targets().into_iter().filter(|t| t.tenant == "colombo") {
        for i in 0..40 {
            let reference = format!("LB-{i}");
            let pushed = a.vendors[&target].pushed(&reference) + b.vendors[&target].pushed(&reference);
            assert_eq!(pushed, 1, "{target} {reference}");
        }
    }
    let detail: Value = b
        .get("/v1/deliveries?state=delivered&limit=1000", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["deliveries"].as_array().unwrap().len(), 80);
}
