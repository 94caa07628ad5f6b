//! The CloudMA imitation (`src/sandbox.rs`) against a started sandbox, over loopback
//! HTTP; and the connector against its faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use posbridge_core::{ConnectorConfig, Decimal, ErrorKind, Sale};
use posbridge_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxError};
use sandbox_common::*;
use serde_json::json;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn push_sale_happy_path_books_the_sale_and_lowers_stock() {
    bounded(async {
        let sandbox = start().await;
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1001")).await).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            body,
            json!({"message": "Sale pushed successfully", "data": {"id": 1001}})
        );
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1002")).await).await;
        assert_eq!((status, &body["data"]["id"]), (201, &json!(1002)));

        let state = sandbox.state();
        assert_eq!(state.stock("TEA-100"), Some(dec("114")));
        assert_eq!(state.stock("MUG-1"), Some(dec("21")));
        let doc = &state.documents["cloudma"].sales["INV-1001"];
        assert_eq!(doc["reference_no"], "INV-1001");
        assert_eq!(doc["items"][1]["code"], "MUG-1");
        assert!(doc.get("token").is_none(), "the token is not stored");
        assert!(state.documents["cloudma"].purchases.is_empty());

        let log = sandbox.requests();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (
                log[0].seq,
                log[0].vendor.as_str(),
                log[0].method.as_str(),
                log[0].path.as_str()
            ),
            (1, "cloudma", "POST", "/cloudma/api/push-sale")
        );
        assert_eq!(
            (
                log[0].status,
                log[0].applied,
                log[0].reference.as_deref(),
                log[0].fault.as_deref()
            ),
            (Some(201), true, Some("INV-1001"), None)
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_and_changes_nothing() {
    bounded(async {
        let sandbox = start().await;
        let before = sandbox.state();
        for fields in [
            with(sale_form("INV-1"), "token", "wrong-token"),
            without(sale_form("INV-1"), "token"),
        ] {
            let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
            assert_eq!((status, message(&body)), (401, "Unauthorized"));
        }
        // The token is checked before anything else: even a request missing everything.
        let (status, _) = read(post_form(&sandbox, "api/push-purchase", &vec![]).await).await;
        assert_eq!(status, 401);
        let (status, body) =
            read(post_form(&sandbox, "api/sync-stock", &vec![("token".into(), "x".into())]).await).await;
        assert_eq!((status, message(&body)), (401, "Unauthorized"));
        assert_eq!(sandbox.state(), before);
        assert!(sandbox.requests().iter().all(|r| r.status == Some(401) && !r.applied));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_product_is_product_not_found() {
    bounded(async {
        let sandbox = start().await;
        let fields = with(sale_form("INV-1"), "items[1][code]", "NOT-A-PRODUCT");
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
        assert_eq!((status, message(&body)), (400, "Product Not Found"));
        let fields = with(purchase_form("GRN-1"), "items[0][code]", "");
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &fields).await).await;
        assert_eq!((status, message(&body)), (400, "Product Not Found"));
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("118")));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn item_total_must_be_rounded_qty_times_price_less_discount() {
    bounded(async {
        let sandbox = start().await;
        // A cent off.
        let fields = with(sale_form("INV-1"), "items[1][total]", "1080.01");
        let fields = with(fields, "grand_total", "1980.01");
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
        assert_eq!((status, message(&body)), (400, "Item total does not match for MUG-1"));
        // The discount is part of it.
        let fields = with(sale_form("INV-1"), "items[1][discount]", "0.00");
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
        assert_eq!((status, message(&body)), (400, "Item total does not match for MUG-1"));
        // Purchases use unit_cost.
        let fields = with(purchase_form("GRN-1"), "items[0][unit_cost]", "311.00");
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &fields).await).await;
        assert_eq!((status, message(&body)), (400, "Item total does not match for TEA-100"));
        assert!(sandbox.requests().iter().all(|r| !r.applied));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn grand_total_must_be_the_sum_of_item_totals() {
    bounded(async {
        let sandbox = start().await;
        // The amount paid (grand total − discount + shipping) is not what CloudMA wants.
        let fields = with(sale_form("INV-1"), "grand_total", "2130.00");
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
        assert_eq!(
            (status, message(&body)),
            (400, "grand_total must match the sum of item totals")
        );
        let fields = with(purchase_form("GRN-1"), "grand_total", "22319.99");
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &fields).await).await;
        assert_eq!(
            (status, message(&body)),
            (400, "grand_total must match the sum of item totals")
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn qty_must_be_a_positive_integer() {
    bounded(async {
        let sandbox = start().await;
        for qty in ["1.5", "0", "-1", "two"] {
            let fields = with(sale_form("INV-1"), "items[1][qty]", qty);
            let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
            assert_eq!(
                (status, message(&body)),
                (400, "qty must be a positive integer"),
                "qty {qty}"
            );
        }
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_repeated_reference_is_refused_and_not_booked_twice() {
    bounded(async {
        let sandbox = start().await;
        let (status, _) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1001")).await).await;
        assert_eq!(status, 201);
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1001")).await).await;
        assert_eq!((status, message(&body)), (400, "Duplicate reference_no INV-1001"));
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("116")));

        // Sales and purchases are numbered separately: a purchase may reuse it once.
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &purchase_form("INV-1001")).await).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &purchase_form("INV-1001")).await).await;
        assert_eq!((status, message(&body)), (400, "Duplicate reference_no INV-1001"));
        let log = sandbox.requests();
        assert_eq!(
            log.iter().map(|r| r.applied).collect::<Vec<_>>(),
            [true, false, true, false]
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn purchase_raises_stock() {
    bounded(async {
        let sandbox = start().await;
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &purchase_form("GRN-2001")).await).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body, json!({"message": "Purchase recorded", "purchase_id": 1001}));
        let state = sandbox.state();
        assert_eq!(state.stock("TEA-100"), Some(dec("166")));
        assert_eq!(state.stock("MUG-1"), Some(dec("35")));
        assert_eq!(
            state.documents["cloudma"].purchases["GRN-2001"]["items"][0]["unit_cost"],
            "310.00"
        );
        let (_, body) = read(post_form(&sandbox, "api/push-purchase", &purchase_form("GRN-2002")).await).await;
        assert_eq!(body["purchase_id"], 1002);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn stock_may_go_negative() {
    bounded(async {
        let sandbox = start().await;
        let fields = sale_form("INV-1");
        let fields = with(fields, "items[1][qty]", "30");
        let fields = with(fields, "items[1][total]", "35880.00");
        let fields = with(fields, "items[1][discount]", "120.00");
        let fields = with(fields, "grand_total", "36780.00");
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &fields).await).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(sandbox.state().stock("MUG-1"), Some(dec("-7")));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn sync_stock_lists_every_product_with_qty_as_a_string() {
    bounded(async {
        let sandbox = start().await;
        let token = vec![("token".to_owned(), TOKEN.to_owned())];
        let (status, list) = read(post_form(&sandbox, "api/sync-stock", &token).await).await;
        assert_eq!(status, 200);
        let list = list.as_array().unwrap().clone();
        let catalogue = posbridge_sandbox::Catalogue::sample();
        assert_eq!(list.len(), catalogue.products.len());
        assert!(list.len() >= 25);
        for (item, product) in list.iter().zip(&catalogue.products) {
            assert_eq!(item["code"], product.code.as_str());
            assert_eq!(item["name"], product.name.as_str());
            assert!(item["qty"].is_string(), "{item}");
        }
        assert_eq!(
            list[0],
            json!({"code": "TEA-100", "name": "Ceylon tea 100g", "qty": "118"})
        );
        assert_eq!(list[1], json!({"code": "MUG-1", "name": "Mug", "qty": "23"}));
        assert_eq!(
            list[2],
            json!({"code": "SUGAR-1KG", "name": "Sugar 1kg", "qty": "12.5"})
        );

        read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1")).await).await;
        let (_, list) = read(post_json(&sandbox, "api/sync-stock", &json!({"token": TOKEN})).await).await;
        assert_eq!(list[0]["qty"], "116");
        assert!(
            sandbox
                .requests()
                .iter()
                .filter(|r| r.path.ends_with("sync-stock"))
                .all(|r| !r.applied)
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn json_bodies_with_numbers_or_strings_are_accepted() {
    bounded(async {
        let sandbox = start().await;
        let sale = json!({
            "token": TOKEN, "customer_name": "Nimal Perera", "customer_email": "nimal@example.lk",
            "reference_no": "INV-1001", "shipping_cost": 150.0, "total_discount": 0.0, "grand_total": 1980.0,
            "items": [
                {"code": "TEA-100", "qty": 2, "discount": 0.0, "total": 900.0, "unit_price": 450.0},
                {"code": "MUG-1", "qty": "1", "discount": "120.00", "total": "1080.00", "unit_price": "1200"}
            ]
        });
        let (status, body) = read(post_json(&sandbox, "api/push-sale", &sale).await).await;
        assert_eq!((status, &body["data"]["id"]), (201, &json!(1001)), "{body}");
        assert_eq!(
            sandbox.state().documents["cloudma"].sales["INV-1001"]["items"][0]["qty"],
            2
        );

        let purchase = json!({
            "token": TOKEN, "reference_no": "GRN-1", "grand_total": "20.98",
            "items": [
                {"code": "CANDY-1", "qty": 3, "discount": 0.03, "total": 0.98, "unit_cost": 0.335},
                {"code": "MUG-1", "qty": 1, "total": 20, "unit_cost": 19.995}
            ]
        });
        let (status, body) = read(post_json(&sandbox, "api/push-purchase", &purchase).await).await;
        assert_eq!(status, 201, "{body}");
        // A JSON rule break is refused the same way.
        let mut bad = purchase.clone();
        bad["reference_no"] = json!("GRN-2");
        bad["items"][0]["qty"] = json!(3.0);
        let (status, body) = read(post_json(&sandbox, "api/push-purchase", &bad).await).await;
        assert_eq!((status, message(&body)), (400, "qty must be a positive integer"));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_get_400_never_a_panic() {
    bounded(async {
        let sandbox = start().await;
        let url = format!("{}api/push-sale", sandbox.vendor_url("cloudma"));
        let client = client();
        let raw = |ct: &'static str, body: &'static str| {
            client
                .post(&url)
                .header("content-type", ct)
                .body(body)
                .send()
        };
        for (ct, body, want) in [
            ("application/json", "{", "Malformed request: the body is not valid JSON"),
            ("application/json", "[1, 2]", "Malformed request: the body must be a JSON object"),
            ("text/plain", "token=38iGm3yI86Hw", "Malformed request: unsupported content type text/plain"),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&reference_no=X&grand_total=1",
                "Malformed request: items is required",
            ),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&grand_total=1&items[0][code]=MUG-1",
                "Malformed request: reference_no is required",
            ),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&reference_no=%20&grand_total=1&items[0][code]=MUG-1",
                "Malformed request: reference_no must not be empty",
            ),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&reference_no=X&grand_total=1&items=MUG-1",
                "Malformed request: items must be a list of items",
            ),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&reference_no=X&grand_total=lots&items[0][code]=MUG-1",
                "Malformed request: grand_total must be a number",
            ),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&reference_no=X&grand_total=1&items[0][code]=MUG-1&items[0][unit_price]=1&items[0][total]=1",
                "Malformed request: items[0][qty] is required",
            ),
            (
                "application/x-www-form-urlencoded",
                "token=38iGm3yI86Hw&reference_no=X&grand_total=1&items[0][code]=MUG-1&items[0][qty]=1&items[0][unit_price]=1&items[0][total]=1e99999",
                "Malformed request: items[0][total] must be a number",
            ),
        ] {
            let (status, body) = read(raw(ct, body).await.unwrap()).await;
            assert_eq!(status, 400, "{body}");
            assert!(message(&body).starts_with(want), "{ct} {body}: got {}", message(&body));
        }
        let json_items_empty = json!({"token": TOKEN, "reference_no": "X", "grand_total": 0, "items": []});
        let (status, body) = read(post_json(&sandbox, "api/push-sale", &json_items_empty).await).await;
        assert_eq!((status, message(&body)), (400, "Malformed request: items must not be empty"));

        // Still serving, nothing applied.
        assert!(sandbox.requests().iter().all(|r| !r.applied));
        let (status, _) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1")).await).await;
        assert_eq!(status, 201);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    bounded(async {
        let sandbox = start().await;
        let client = client();
        let r = client
            .post(format!("{}api/push-invoice", sandbox.vendor_url("cloudma")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
        let r = client
            .get(format!("{}api/sync-stock", sandbox.vendor_url("cloudma")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405);
        let r = client
            .post(format!("{}nowhere/api/push-sale", sandbox.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
        // Requests under a vendor's prefix are logged; others are not.
        let log = sandbox.requests();
        assert_eq!(
            log.iter().map(|r| (r.path.as_str(), r.status)).collect::<Vec<_>>(),
            [
                ("/cloudma/api/push-invoice", Some(404)),
                ("/cloudma/api/sync-stock", Some(405))
            ]
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_connector_reports_a_dropped_push_as_uncertain() {
    bounded(async {
        let sandbox = start().await;
        sandbox.set_faults(vec![FaultRule::new(Fault::DropAfterApply, 1.0).for_route("api/push-sale")]);
        let config: posbridge_cloudma::Config = serde_json::from_value(json!({
            "token": TOKEN,
            "base_url": sandbox.vendor_url("cloudma"),
            "http": {"timeout_ms": 5000, "retry": {"max_retries": 2, "min_delay_ms": 1, "max_delay_ms": 5, "jitter": false}}
        }))
        .unwrap();
        let connector = config.connect().unwrap();
        let sale: Sale = serde_json::from_value(json!({
            "reference": "INV-7", "issued_at": "2026-11-26T10:15:00+05:30",
            "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "450.00"}]
        }))
        .unwrap();
        let err = connector.sales().unwrap().push_sale(&sale).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Uncertain, "{err}");
        // Sent once, never again, and booked.
        assert_eq!(sandbox.requests().len(), 1);
        assert!(sandbox.state().documents["cloudma"].sales.contains_key("INV-7"));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn settings_have_defaults_and_refuse_unknown_fields() {
    // Moved from the sandbox's own tests when the settings moved here.
    let config: SandboxConfig = serde_json::from_str("{}").unwrap();
    let settings: posbridge_cloudma::sandbox::ImitationConfig =
        serde_json::from_value(config.vendors.get("cloudma").cloned().unwrap_or(json!({}))).unwrap();
    assert_eq!(settings.token, TOKEN);
    let config: SandboxConfig = serde_json::from_value(json!({
        "seed": 3, "cloudma": {"token": "t"},
        "faults": [{"fault": {"kind": "drop_before_apply"}, "rate": 0.1}]
    }))
    .unwrap();
    let settings: posbridge_cloudma::sandbox::ImitationConfig =
        serde_json::from_value(config.vendors["cloudma"].clone()).unwrap();
    assert_eq!((config.seed, settings.token.as_str(), config.faults.len()), (3, "t", 1));

    // The token configured is the one accepted, and the one a connector is given.
    let sandbox = start_with(SandboxConfig {
        faults: Vec::new(),
        ..config
    })
    .await;
    let (status, _) = read(post_form(&sandbox, "api/sync-stock", &vec![("token".into(), "t".into())]).await).await;
    assert_eq!(status, 200);
    let (status, _) = read(post_form(&sandbox, "api/sync-stock", &vec![("token".into(), TOKEN.into())]).await).await;
    assert_eq!(status, 401);
    assert_eq!(sandbox.connector_section("cloudma").unwrap()["token"], "t");
    sandbox.shutdown().await;

    let wrong = SandboxConfig::default().with_section("cloudma", json!({"tokn": "t"}));
    let err = Sandbox::start(wrong, vec![posbridge_cloudma::sandbox::imitation()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SandboxError::InvalidConfig(m) if m.contains("tokn")),
        "{err}"
    );
}
