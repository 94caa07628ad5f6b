//! The client across several calls, which one-operation fixtures cannot show: the
//! auth chain and the catalogue listed once for many concurrent pushes, a wrong
//! password costing one request, the cached catalogue listed again once on a miss,
//! two concurrent pushes of one reference booking one order, and the typed product,
//! visit, team and order-status methods (with the ratio-1 rule checked locally).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use posbridge_core::{
    Connector, Decimal, Disposition, Error, ErrorKind, HttpConfig, IdKind, RetryConfig, Sale, SaleStatus, Sales,
    SecretString,
};
use posbridge_salesmania::{Config, NewVisit, Product, ProductUnit, SalesMania};
use serde_json::{Value, json};

const USER: &str = "kasir@tokomaju.id";
const BASIC: &str = "Basic a2FzaXJAdG9rb21hanUuaWQ6UmFoYXNpYS0xMjM="; // kasir@tokomaju.id:Rahasia-123

fn fast() -> HttpConfig {
    HttpConfig {
        timeout_ms: 5_000,
        retry: RetryConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            jitter: false,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    }
}

fn client(server: &MockServer, password: &str) -> Arc<SalesMania> {
    let config = Config::new(USER, SecretString::from(password), "Toko Maju")
        .with_base_url(server.base_url())
        .with_walk_in_customer_id(3000)
        .with_team_id(24728)
        .with_visit_status("Kunjungan")
        .with_http(fast());
    Arc::new(SalesMania::new(config).unwrap())
}

fn sale(reference: &str, code: &str) -> Sale {
    serde_json::from_value(json!({
        "reference": reference, "issued_at": "2026-11-26T03:15:00Z",
        "lines": [{"product_code": code, "quantity": "1", "unit_price": "4500"}]
    }))
    .unwrap()
}

fn json_response(body: &Value) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

struct Chain {
    token: httpmock::Mock<'static>,
    databases: httpmock::Mock<'static>,
    team: httpmock::Mock<'static>,
}

/// The three steps of the chain; the first answers after `delay` so callers pile up.
async fn chain(server: &'static MockServer, delay: Duration) -> Chain {
    let token = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/token")
                .header("authorization", BASIC);
            then.status(200).delay(delay).json_body(json!({"token": "bearer-1"}));
        })
        .await;
    let databases = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/databases")
                .header("authorization", "Bearer bearer-1");
            then.status(200).json_body(json!([{"id": 2981, "name": "Toko Maju"}]));
        })
        .await;
    let team = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/team_token")
                .query_param("db_id", "2981")
                .header("authorization", "Bearer bearer-1");
            then.status(200).json_body(json!({"team_token": "team-1"}));
        })
        .await;
    Chain { token, databases, team }
}

/// A server that lives for the whole test binary (mocks borrow it).
async fn server() -> &'static MockServer {
    Box::leak(Box::new(MockServer::start_async().await))
}

fn catalogue(extra: &[(&str, u64)]) -> Value {
    let mut products = vec![
        json!({"id": 501, "name": "Teh", "ext_product_code": "TEA-100", "qty_on_hand": 10,
        "product_units": [{"name": "PCS", "price": 4500, "ratio": 1}]}),
    ];
    for (code, id) in extra {
        products.push(
            json!({"id": id, "name": code, "ext_product_code": code, "qty_on_hand": 1,
            "product_units": [{"name": "PCS", "price": 1000, "ratio": 1}]}),
        );
    }
    Value::Array(products)
}

#[tokio::test]
async fn fifty_concurrent_pushes_run_the_chain_and_list_the_catalogue_once() {
    let server = server().await;
    let chain = chain(server, Duration::from_millis(150)).await;
    let products = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/products")
                .query_param("team_token", "team-1")
                .header("authorization", "Bearer bearer-1");
            then.status(200)
                .delay(Duration::from_millis(100))
                .json_body(catalogue(&[]));
        })
        .await;
    let lookups = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/extapi/v1.0/orders")
                .query_param("team_token", "team-1");
            then.status(200).json_body(json!([]));
        })
        .await;
    let posts = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/extapi/v1.0/orders")
                .query_param("team_token", "team-1");
            then.status(200).json_body(json!({}));
        })
        .await;

    let salesmania = client(server, "Rahasia-123");
    let mut tasks = Vec::new();
    for n in 0..50 {
        let c = salesmania.clone();
        tasks.push(tokio::spawn(async move {
            c.push_sale(&sale(&format!("INV-{n}"), "TEA-100")).await
        }));
    }
    for t in tasks {
        let receipt = t.await.unwrap().unwrap();
        assert_eq!(receipt.disposition, Disposition::Accepted);
    }
    assert_eq!(chain.token.calls_async().await, 1, "the chain ran more than once");
    assert_eq!(chain.databases.calls_async().await, 1);
    assert_eq!(chain.team.calls_async().await, 1);
    assert_eq!(
        products.calls_async().await,
        1,
        "the catalogue was listed more than once"
    );
    assert_eq!(posts.calls_async().await, 50);
    assert_eq!(
        lookups.calls_async().await,
        100,
        "one lookup before and one after each order"
    );
}

#[tokio::test]
async fn a_wrong_password_costs_one_request_for_many_concurrent_calls() {
    let server = server().await;
    let token = server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/token");
            then.status(401)
                .delay(Duration::from_millis(200))
                .json_body(json!({"message": "Username atau password salah"}));
        })
        .await;
    let anything_else = server
        .mock_async(|when, then| {
            when.path_excludes("/extapi/v1.0/token");
            then.status(500);
        })
        .await;
    let salesmania = client(server, "salah");
    let mut tasks = Vec::new();
    for n in 0..30 {
        let c = salesmania.clone();
        tasks.push(tokio::spawn(async move {
            c.push_sale(&sale(&format!("INV-{n}"), "TEA-100")).await
        }));
    }
    for t in tasks {
        let e = t.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(e.to_string().contains("check `username` and `password`"), "{e}");
    }
    assert_eq!(token.calls_async().await, 1);
    assert_eq!(anything_else.calls_async().await, 0);
}

#[tokio::test]
async fn the_cached_catalogue_is_listed_again_once_on_a_miss() {
    let server = server().await;
    chain(server, Duration::ZERO).await;
    let listings = Arc::new(AtomicUsize::new(0));
    let counter = listings.clone();
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path("/extapi/v1.0/products")
                .query_param("team_token", "team-1");
            then.respond_with(move |_: &HttpMockRequest| {
                // The product NEW-1 appears in SalesMania after the first listing.
                let extra: &[(&str, u64)] = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    &[]
                } else {
                    &[("NEW-1", 601)]
                };
                json_response(&catalogue(extra))
            });
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/orders");
            then.status(200).json_body(json!([]));
        })
        .await;
    let posts = server
        .mock_async(|when, then| {
            when.method(POST).path("/extapi/v1.0/orders");
            then.status(200).json_body(json!({}));
        })
        .await;
    let new_product = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/extapi/v1.0/orders")
                .body_includes("\"product_id\":601");
            then.status(200).json_body(json!({}));
        })
        .await;

    let salesmania = client(server, "Rahasia-123");
    salesmania.push_sale(&sale("INV-1", "TEA-100")).await.unwrap();
    assert_eq!(listings.load(Ordering::SeqCst), 1);
    // A code the cached catalogue lacks: listed again once, found.
    salesmania.push_sale(&sale("INV-2", "NEW-1")).await.unwrap();
    assert_eq!(listings.load(Ordering::SeqCst), 2);
    // A code SalesMania still lacks after the fresh listing: refused, nothing posted.
    let e = salesmania.push_sale(&sale("INV-3", "GONE-1")).await.unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { field, reason } if field == "lines[0].product_code" && reason.contains("GONE-1")),
        "{e}"
    );
    assert_eq!(listings.load(Ordering::SeqCst), 3);
    assert_eq!(posts.calls_async().await + new_product.calls_async().await, 2);
    // The id map answers from the same cache.
    let ids = salesmania.id_map();
    assert_eq!(
        ids.lookup(IdKind::Product, "NEW-1").await.unwrap().as_deref(),
        Some("601")
    );
    assert_eq!(listings.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn two_concurrent_pushes_of_one_reference_book_one_order() {
    let server = server().await;
    chain(server, Duration::ZERO).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/products");
            then.status(200).json_body(catalogue(&[]));
        })
        .await;
    let posted = Arc::new(AtomicBool::new(false));
    let seen = posted.clone();
    server
        .mock_async(move |when, then| {
            when.method(GET)
                .path("/extapi/v1.0/orders")
                .query_param("ext_order_no", "INV-7");
            then.respond_with(move |_: &HttpMockRequest| {
                json_response(&if seen.load(Ordering::SeqCst) {
                    json!([{"sm_order_id": 9007, "ext_order_id": "INV-7", "sm_status": "Baru"}])
                } else {
                    json!([])
                })
            });
        })
        .await;
    let flag = posted.clone();
    let posts = server
        .mock_async(move |when, then| {
            when.method(POST).path("/extapi/v1.0/orders");
            then.respond_with(move |_: &HttpMockRequest| {
                std::thread::sleep(Duration::from_millis(50));
                flag.store(true, Ordering::SeqCst);
                json_response(&json!({}))
            });
        })
        .await;

    let salesmania = client(server, "Rahasia-123");
    let (first, second) = (sale("INV-7", "TEA-100"), sale("INV-7", "TEA-100"));
    let (a, b) = tokio::join!(salesmania.push_sale(&first), salesmania.push_sale(&second));
    let mut dispositions = vec![a.unwrap().disposition, b.unwrap().disposition];
    dispositions.sort_by_key(|d| format!("{d:?}"));
    assert_eq!(dispositions, vec![Disposition::Created, Disposition::Duplicate]);
    assert_eq!(posts.calls_async().await, 1);
}

#[tokio::test]
async fn a_product_without_a_unit_of_ratio_1_is_refused_locally() {
    let server = server().await;
    let anything = server
        .mock_async(|_when, then| {
            then.status(500);
        })
        .await;
    let salesmania = client(server, "Rahasia-123");
    let boxed_only = Product::new(
        "Teh Celup 25s",
        Decimal::from(40),
        vec![ProductUnit::new("DUS", Decimal::from(216_000), Decimal::from(48))],
    );
    for e in [
        salesmania.create_product(&boxed_only).await.unwrap_err(),
        salesmania.update_product(501, &boxed_only).await.unwrap_err(),
    ] {
        assert!(
            matches!(&e, Error::Invalid { field, reason } if field == "product_units" && reason.contains("ratio 1")),
            "{e}"
        );
    }
    assert_eq!(anything.calls_async().await, 0, "nothing may be sent");
}

#[tokio::test]
async fn typed_products_visits_teams_and_order_statuses() {
    let server = server().await;
    chain(server, Duration::ZERO).await;
    let authed = |when: httpmock::When| {
        when.query_param("team_token", "team-1")
            .header("authorization", "Bearer bearer-1")
    };
    let record = json!({"id": 601, "name": "Teh Celup 25s", "sku": "SW-25", "tags": ["minuman"], "status": true,
        "ext_product_code": "TEA-25", "default_disc": "55.55+3", "qty_on_hand": 40,
        "product_units": [{"name": "PCS", "price": 4500, "ratio": 1}, {"name": "DUS", "price": 216000, "ratio": 48}]});
    let create = server
        .mock_async(|when, then| {
            authed(when.method(POST).path("/extapi/v1.0/products")).json_body(json!({
                "name": "Teh Celup 25s", "sku": "SW-25", "tags": ["minuman"], "status": true,
                "ext_product_code": "TEA-25", "default_disc": "55.55+3", "qty_on_hand": 40,
                "product_units": [{"name": "PCS", "price": 4500, "ratio": 1}, {"name": "DUS", "price": 216000, "ratio": 48}]
            }));
            then.status(201).json_body(json!({"data": record}));
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            authed(when.method(GET).path("/extapi/v1.0/products/601"));
            then.status(200).json_body(record.clone());
        })
        .await;
    let update = server
        .mock_async(|when, then| {
            authed(when.method("PATCH").path("/extapi/v1.0/products/601")).body_includes("\"qty_on_hand\":38");
            then.status(200).json_body(json!({}));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            authed(when.method(DELETE).path("/extapi/v1.0/products/601"));
            then.status(204);
        })
        .await;
    let visits = server
        .mock_async(|when, then| {
            authed(when.method(GET).path("/extapi/v1.0/visits")).query_param("page", "1");
            then.status(200).json_body(json!({"data": [
                {"id": 7001, "date": "2026-11-26 09:00:00", "customer_id": "3001", "team_id": 24728,
                 "visit_status": "Order", "description": null}
            ], "next_page_url": null}));
        })
        .await;
    let add_visit = server
        .mock_async(|when, then| {
            authed(when.method(POST).path("/extapi/v1.0/visits")).json_body(json!({
                "date": "2026-11-27", "customer_id": 3001, "team_id": 24728, "visit_status": "Kunjungan",
                "description": "Tawarkan promo"
            }));
            then.status(200).json_body(json!({"id": 7002}));
        })
        .await;
    let teams = server
        .mock_async(|when, then| {
            authed(when.method(GET).path("/extapi/v1.0/teams")).query_param("page", "1");
            then.status(200)
                .json_body(json!([{"id": 24728, "name": "Tim Bandung"}, {"team_id": "24729"}]));
        })
        .await;
    let status = server
        .mock_async(|when, then| {
            authed(when.method("PATCH").path("/extapi/v1.0/orders/9001"))
                .json_body(json!({"status": "Terkirim", "ext_order_status_name": "delivered"}));
            then.status(200).json_body(json!({}));
        })
        .await;
    let find = server
        .mock_async(|when, then| {
            authed(when.method(GET).path("/extapi/v1.0/orders")).query_param("ext_order_no", "INV-1001");
            // A server that ignores the filter: only the matching entry counts.
            then.status(200).json_body(json!([
                {"sm_order_id": 9000, "ext_order_id": "INV-0999"},
                {"sm_order_id": 9001, "ext_order_id": "INV-1001"}
            ]));
        })
        .await;

    let salesmania = client(server, "Rahasia-123");
    let mut tea = Product::new(
        "Teh Celup 25s",
        Decimal::from(40),
        vec![
            ProductUnit::new("PCS", Decimal::from(4500), Decimal::ONE),
            ProductUnit::new("DUS", Decimal::from(216_000), Decimal::from(48)),
        ],
    );
    tea.sku = Some("SW-25".into());
    tea.tags = vec!["minuman".into()];
    tea.status = Some(true);
    tea.ext_product_code = Some("TEA-25".into());
    tea.default_disc = vec![Decimal::new(5555, 2), Decimal::from(3)];
    let created = salesmania.create_product(&tea).await.unwrap();
    assert_eq!(created.id, Some(601));
    assert_eq!(created.default_disc, tea.default_disc);

    let fetched = salesmania.get_product(601).await.unwrap();
    assert_eq!(fetched, created);

    let mut fewer = fetched.clone();
    fewer.qty_on_hand = Decimal::from(38);
    let updated = salesmania.update_product(601, &fewer).await.unwrap();
    assert_eq!((updated.id, updated.qty_on_hand), (Some(601), Decimal::from(38)));
    salesmania.delete_product(601).await.unwrap();

    let listed = salesmania.list_visits().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].date, Some("2026-11-26".parse().unwrap()));
    assert_eq!(listed[0].customer_id, Some(3001));
    let mut visit = NewVisit::new("2026-11-27".parse().unwrap(), 3001);
    visit.description = Some("Tawarkan promo".into());
    assert_eq!(salesmania.add_visit(&visit).await.unwrap(), Some(7002));

    let all = salesmania.list_teams().await.unwrap();
    assert_eq!(
        all.iter().map(|t| (t.id, t.name.clone())).collect::<Vec<_>>(),
        vec![(24728, Some("Tim Bandung".into())), (24729, None)]
    );

    salesmania
        .set_order_status("9001", SaleStatus::Delivered)
        .await
        .unwrap();
    assert_eq!(
        salesmania.find_order("INV-1001").await.unwrap().as_deref(),
        Some("9001")
    );
    let e = salesmania
        .set_order_status("INV-1001", SaleStatus::Void)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);

    for (mock, n) in [
        (&create, 1),
        (&get, 1),
        (&update, 1),
        (&delete, 1),
        (&visits, 1),
        (&add_visit, 1),
        (&teams, 1),
        (&status, 1),
        (&find, 1),
    ] {
        assert_eq!(mock.calls_async().await, n);
    }
}

#[tokio::test]
async fn checking_credentials_runs_the_chain_and_nothing_else() {
    let server = server().await;
    let chain = chain(server, Duration::ZERO).await;
    let salesmania = client(server, "Rahasia-123");
    let said = salesmania.check_credentials().await.unwrap();
    assert!(
        said.contains("credentials accepted") && said.contains("Toko Maju"),
        "{said}"
    );
    assert_eq!(
        (
            chain.token.calls_async().await,
            chain.databases.calls_async().await,
            chain.team.calls_async().await
        ),
        (1, 1, 1)
    );

    let elsewhere = SalesMania::new(
        Config::new(USER, SecretString::from("Rahasia-123"), 4242)
            .with_base_url(server.base_url())
            .with_http(fast()),
    )
    .unwrap();
    let e = elsewhere.check_credentials().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("2981 \"Toko Maju\""), "{e}");
}
