//! The look-ups by reference across several calls of one client, which one-operation
//! fixtures cannot show: a server without the order look-up (404/405) is asked once,
//! said once in the log, and the client's duplicate policy becomes unknown; a push
//! whose outcome is uncertain without the look-up is never sent again by the client;
//! a server without the customer look-up is asked once, and mapped or walk-in
//! customers still go through. (The single pushes are fixtures:
//! `push_sale__order_lookup_*`, `push_sale__customer_lookup_*`, `*_filter_is_ignored*`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use posbridge_core::{
    Connector, Disposition, DuplicatePolicy, ErrorKind, HttpConfig, RetryConfig, Sale, Sales, SecretString,
};
use posbridge_salesmania::{Config, SalesMania};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

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

fn client(server: &MockServer) -> SalesMania {
    let config = Config::new("kasir@tokomaju.id", SecretString::from("Rahasia-123"), "Toko Maju")
        .with_base_url(server.base_url())
        .with_walk_in_customer_id(3000)
        .map_product("TEA-100", 501)
        .map_customer("C-MAPPED", 3010)
        .with_http(fast());
    SalesMania::new(config).unwrap()
}

fn sale(reference: &str, customer: Option<&str>) -> Sale {
    let mut sale = json!({
        "reference": reference, "issued_at": "2026-11-26T03:15:00Z",
        "lines": [{"product_code": "TEA-100", "quantity": "1", "unit_price": "4500"}]
    });
    if let Some(code) = customer {
        sale["customer"] = json!({"code": code, "name": "Warung"});
    }
    serde_json::from_value(sale).unwrap()
}

/// The chain, answering as it should.
async fn chain(server: &MockServer) {
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/token");
            then.status(200).json_body(json!({"token": "bearer-1"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/databases");
            then.status(200).json_body(json!([{"id": 2981, "name": "Toko Maju"}]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/team_token");
            then.status(200).json_body(json!({"team_token": "team-1"}));
        })
        .await;
}

/// The WARN lines logged while a test runs (this thread only).
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Warnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }
}

fn capture() -> (Warnings, tracing::subscriber::DefaultGuard) {
    let warnings = Warnings::default();
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    (warnings, guard)
}

#[tokio::test]
async fn an_absent_order_lookup_is_asked_once_said_once_and_makes_duplicates_unknown() {
    let (warnings, _guard) = capture();
    let server = MockServer::start_async().await;
    chain(&server).await;
    let lookups = server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/orders");
            then.status(405).json_body(
                json!({"message": "The GET method is not supported for this route. Supported methods: POST."}),
            );
        })
        .await;
    let posts = server
        .mock_async(|when, then| {
            when.method(POST).path("/extapi/v1.0/orders");
            then.status(200).json_body(json!({}));
        })
        .await;
    let salesmania = client(&server);
    assert_eq!(salesmania.capabilities().sale_duplicates, DuplicatePolicy::Ignored);

    for n in 1..=3 {
        let receipt = salesmania.push_sale(&sale(&format!("INV-{n}"), None)).await.unwrap();
        assert_eq!((receipt.disposition, receipt.vendor_id), (Disposition::Accepted, None));
    }
    assert_eq!(posts.calls_async().await, 3, "every sale is posted");
    assert_eq!(lookups.calls_async().await, 1, "the absent look-up was asked again");
    assert_eq!(salesmania.capabilities().sale_duplicates, DuplicatePolicy::Unknown);
    let e = salesmania.find_order("INV-1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(lookups.calls_async().await, 1);

    let lines = warnings.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    for words in [
        "look-up of orders by ext_order_no",
        "HTTP 405",
        "duplicate safety is unknown",
    ] {
        assert!(lines[0].contains(words), "{words:?} not in {}", lines[0]);
    }
    // A new client asks again.
    let again = client(&server);
    again.push_sale(&sale("INV-4", None)).await.unwrap();
    assert_eq!(lookups.calls_async().await, 2);
}

#[tokio::test]
async fn an_uncertain_push_without_the_lookup_is_not_sent_again_by_the_client() {
    let server = MockServer::start_async().await;
    chain(&server).await;
    let lookups = server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/orders");
            then.status(404).json_body(json!({"message": "Not Found"}));
        })
        .await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/extapi/v1.0/orders")
                .body_includes("\"ext_order_no\":\"INV-1\"");
            then.status(502).body("Bad Gateway");
        })
        .await;
    let others = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/extapi/v1.0/orders")
                .body_includes("\"ext_order_no\":\"INV-2\"");
            then.status(200).json_body(json!({}));
        })
        .await;
    let salesmania = client(&server);

    let e = salesmania.push_sale(&sale("INV-1", None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uncertain, "{e}");
    assert!(e.to_string().contains("duplicate safety unknown"), "{e}");
    assert_eq!(failing.calls_async().await, 1, "the POST was re-sent");

    // Pushed again (an outbox retrying an uncertain delivery): not sent.
    let e = salesmania.push_sale(&sale("INV-1", None)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uncertain, "{e}");
    assert!(e.to_string().contains("not sent"), "{e}");
    assert_eq!(failing.calls_async().await, 1, "an uncertain sale was sent again");

    // Other sales go on.
    let receipt = salesmania.push_sale(&sale("INV-2", None)).await.unwrap();
    assert_eq!(receipt.disposition, Disposition::Accepted);
    assert_eq!(others.calls_async().await, 1);
    assert_eq!(lookups.calls_async().await, 1);
}

#[tokio::test]
async fn an_absent_customer_lookup_is_asked_once_and_mapped_customers_still_go_through() {
    let (warnings, _guard) = capture();
    let server = MockServer::start_async().await;
    chain(&server).await;
    let customer_lookups = server
        .mock_async(|when, then| {
            when.method(GET).path("/extapi/v1.0/customers");
            then.status(405).json_body(json!({"message": "Method Not Allowed"}));
        })
        .await;
    let created = server
        .mock_async(|when, then| {
            when.method(POST).path("/extapi/v1.0/customers");
            then.status(200).json_body(json!({"id": 3099}));
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
    let salesmania = client(&server);

    for (reference, code) in [("INV-1", "C-001"), ("INV-2", "C-002")] {
        let e = salesmania.push_sale(&sale(reference, Some(code))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
        assert!(
            e.to_string().contains("customer.code") && e.to_string().contains(code),
            "{e}"
        );
    }
    assert_eq!(
        customer_lookups.calls_async().await,
        1,
        "the absent look-up was asked again"
    );
    assert_eq!(created.calls_async().await, 0, "a customer was created blindly");
    assert_eq!(posts.calls_async().await, 0);

    // An explicit mapping and the walk-in customer need no look-up.
    for s in [sale("INV-3", Some("C-MAPPED")), sale("INV-4", None)] {
        let receipt = salesmania.push_sale(&s).await.unwrap();
        assert_eq!(receipt.disposition, Disposition::Accepted);
    }
    assert_eq!(posts.calls_async().await, 2, "mapped and walk-in sales are posted");
    // Duplicates are still checked: only the customer look-up is absent.
    assert_eq!(salesmania.capabilities().sale_duplicates, DuplicatePolicy::Ignored);
    let lines = warnings.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    for words in ["look-up of customers by ext_cust_no", "HTTP 405", "id_map"] {
        assert!(lines[0].contains(words), "{words:?} not in {}", lines[0]);
    }
}
