//! The SalesMania imitation's rules, over HTTP: the auth chain, expired tokens, orders
//! with cascading discounts and their stock, voids, customers, products and paging.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use posbridge_core::Decimal;
use posbridge_salesmania::sandbox::ImitationConfig as SalesmaniaConfig;
use posbridge_sandbox::{SandboxConfig, SandboxHandle};
use reqwest::Method;
use sandbox_common::{bounded, client, start_with};
use serde_json::{Value, json};

const BASIC: &str = "Basic a2FzaXJAdG9rb21hanUuaWQ6UmFoYXNpYS0xMjM=";

fn url(s: &SandboxHandle, path: &str) -> String {
    format!("{}extapi/v1.0/{path}", s.vendor_url("salesmania"))
}

/// Runs the chain: `(bearer, team token)`.
async fn chain(s: &SandboxHandle) -> (String, String) {
    let c = client();
    let r = c
        .get(url(s, "token"))
        .header("authorization", BASIC)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bearer = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let r = c
        .get(url(s, "team_token?db_id=2981"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let team = r.json::<Value>().await.unwrap()["team_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (bearer, team)
}

async fn call(
    s: &SandboxHandle,
    auth: &(String, String),
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut req = client()
        .request(method, format!("{}{sep}team_token={}", url(s, path), auth.1))
        .bearer_auth(&auth.0);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn stock(s: &SandboxHandle, code: &str) -> Decimal {
    s.state().stock(code).unwrap()
}

fn dec(v: &str) -> Decimal {
    v.parse().unwrap()
}

#[tokio::test]
async fn the_chain_refuses_a_wrong_password_and_gives_a_team_token() {
    bounded(async {
        let s = start_with(SandboxConfig::default()).await;
        let c = client();
        let r = c
            .get(url(&s, "token"))
            .basic_auth("kasir@tokomaju.id", Some("salah"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"message": "Username atau password salah"})
        );
        let r = c
            .get(url(&s, "token"))
            .header("authorization", BASIC)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            (body["token_type"].clone(), body["expires_in"].clone()),
            (json!("Bearer"), json!(3600))
        );
        let bearer = body["token"].as_str().unwrap();
        let dbs: Value = c
            .get(url(&s, "databases"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            dbs,
            json!([{"id": 2981, "name": "Toko Maju"}, {"id": 2990, "name": "Gudang Pusat"}])
        );
        let r = c.get(url(&s, "databases")).bearer_auth("nope").send().await.unwrap();
        assert_eq!(r.status(), 401);
        let r = c
            .get(url(&s, "team_token?db_id=1"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.json::<Value>().await.unwrap()["message"], "Database tidak ditemukan");
        let auth = chain(&s).await;
        let (status, teams) = call(&s, &auth, Method::GET, "teams", None).await;
        assert_eq!(
            (status, teams["data"].clone()),
            (200, json!([{"id": 24728, "name": "Tim Bandung"}]))
        );
        // The team token is required after the chain.
        let r = c.get(url(&s, "teams")).bearer_auth(&auth.0).send().await.unwrap();
        assert_eq!(r.status(), 401);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn expired_tokens_are_unauthenticated() {
    bounded(async {
        let config = SandboxConfig::default().with_section(
            "salesmania",
            serde_json::to_value(SalesmaniaConfig {
                token_lifetime_secs: 1,
                ..SalesmaniaConfig::default()
            })
            .unwrap(),
        );
        let s = start_with(config).await;
        let auth = chain(&s).await;
        assert_eq!(call(&s, &auth, Method::GET, "teams", None).await.0, 200);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let (status, body) = call(&s, &auth, Method::GET, "teams", None).await;
        assert_eq!((status, body), (401, json!({"message": "Unauthenticated."})));
        // And by the admin route, without waiting.
        let auth = chain(&s).await;
        let r = client()
            .post(format!("{}_sandbox/salesmania/expire-tokens", s.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(call(&s, &auth, Method::GET, "products", None).await.0, 401);
        let auth = chain(&s).await;
        assert!(posbridge_salesmania::sandbox::expire_tokens(&s));
        assert_eq!(call(&s, &auth, Method::GET, "customers", None).await.0, 401);
        s.shutdown().await;
    })
    .await;
}

fn cascade_order(no: &str) -> Value {
    json!({"date": "2026-11-26", "customer_id": 3000,
           "ordered_products": [
               {"product_id": 501, "qty": 10, "unit": "PCS", "price": 4500, "item_disc_percent": "55.05+3", "ext_order_line_id": 1},
               {"product_id": 502, "qty": 1, "unit": "PCS", "price": 12000, "ext_order_line_id": 2}],
           "disc_percent": "5+2.5", "status": "Baru", "ext_order_no": no, "ext_order_status_name": "open"})
}

#[tokio::test]
async fn a_cascade_order_gets_the_vendors_totals_moves_stock_and_voids_once() {
    bounded(async {
        let s = start_with(SandboxConfig::default()).await;
        let auth = chain(&s).await;
        let (tea, mug) = (stock(&s, "TEA-100"), stock(&s, "MUG-1"));
        let (status, body) = call(&s, &auth, Method::POST, "orders", Some(cascade_order("INV-1005"))).await;
        assert_eq!((status, body), (200, json!({})));
        assert_eq!(stock(&s, "TEA-100"), tea - dec("10"));
        assert_eq!(stock(&s, "MUG-1"), mug - dec("1"));

        let (status, list) = call(&s, &auth, Method::GET, "orders?ext_order_no=INV-1005", None).await;
        assert_eq!(status, 200);
        let order = &list[0];
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(order["sm_order_id"], 9001);
        assert_eq!(order["ext_order_id"], "INV-1005");
        assert_eq!(order["sm_status"], "Baru");
        assert_eq!(order["sm_company_id"], 2981);
        assert_eq!(order["sm_team_id"], 24728);
        assert_eq!(order["ordered_product"][0]["ext_product_code"], "TEA-100");
        assert_eq!(order["ordered_product"][0]["item_disc_percent"], "55.05+3");
        // 45000 → 20227.50 → 19620.675 → 19620.68; (19620.68 + 12000) less 5 %, 2.5 % → 29288.65
        assert_eq!(order["ordered_product"][0]["total"], json!(19620.68));
        assert_eq!(order["subtotal"], json!(31620.68));
        assert_eq!(order["total"], json!(29288.65));
        let (_, none) = call(&s, &auth, Method::GET, "orders?ext_order_no=INV-9", None).await;
        assert_eq!(none, json!([]));

        // A repeat is refused by default, and books nothing.
        let (status, body) = call(&s, &auth, Method::POST, "orders", Some(cascade_order("INV-1005"))).await;
        assert_eq!(status, 422);
        assert_eq!(
            body["errors"]["ext_order_no"][0],
            "The ext order no has already been taken."
        );
        assert_eq!(stock(&s, "TEA-100"), tea - dec("10"));

        // Validation.
        let mut bad = cascade_order("INV-2");
        bad["ordered_products"][0]["unit"] = json!("BOX");
        bad["ordered_products"][1]["item_disc_amount"] = json!(5);
        bad["ordered_products"][1]["item_disc_percent"] = json!("5");
        bad["customer_id"] = json!(1);
        let (status, body) = call(&s, &auth, Method::POST, "orders", Some(bad)).await;
        assert_eq!(status, 422);
        assert_eq!(body["message"], "The given data was invalid.");
        assert_eq!(
            body["errors"]["ordered_products.0.unit"][0],
            "Satuan BOX tidak ditemukan untuk produk ini"
        );
        assert!(body["errors"]["ordered_products.1.item_disc_percent"].is_array());
        assert!(body["errors"]["customer_id"].is_array());
        let mut bad = cascade_order("INV-3");
        bad["status"] = json!("Dikemas");
        bad["ordered_products"][0]["qty"] = json!(0);
        let (status, body) = call(&s, &auth, Method::POST, "orders", Some(bad)).await;
        assert_eq!(status, 422);
        assert!(body["errors"]["status"].is_array() && body["errors"]["ordered_products.0.qty"].is_array());

        // Void gives the stock back once; a repeated void is refused as a duplicate
        // and moves nothing.
        let void = json!({"status": "Batal", "ext_order_status_name": "void"});
        let (status, body) = call(&s, &auth, Method::PATCH, "orders/9001", Some(void.clone())).await;
        assert_eq!((status, body), (200, json!({})));
        assert_eq!((stock(&s, "TEA-100"), stock(&s, "MUG-1")), (tea, mug));
        let (status, body) = call(&s, &auth, Method::PATCH, "orders/9001", Some(void.clone())).await;
        assert_eq!((status, body), (422, json!({"message": "Order sudah dibatalkan"})));
        assert_eq!((stock(&s, "TEA-100"), stock(&s, "MUG-1")), (tea, mug));
        assert_eq!(
            call(&s, &auth, Method::PATCH, "orders/9999", Some(void.clone())).await,
            (404, json!({"message": "Order tidak ditemukan"}))
        );
        let (_, order) = call(&s, &auth, Method::GET, "orders/9001", None).await;
        assert_eq!(order["sm_status"], "Batal");
        assert_eq!(
            call(&s, &auth, Method::GET, "orders/9999", None).await,
            (404, json!({"message": "Order tidak ditemukan"}))
        );
        let (status, _) = call(
            &s,
            &auth,
            Method::PATCH,
            "orders/9001",
            Some(json!({"status": "Dikemas"})),
        )
        .await;
        assert_eq!(status, 422);

        // A paid order cannot be voided.
        let mut paid = cascade_order("INV-4");
        paid["status"] = json!("Lunas");
        assert_eq!(call(&s, &auth, Method::POST, "orders", Some(paid)).await.0, 200);
        let (status, body) = call(&s, &auth, Method::PATCH, "orders/9002", Some(void)).await;
        assert_eq!(
            (status, body["message"].clone()),
            (422, json!("Order yang sudah Lunas tidak dapat dibatalkan"))
        );

        let log = s.requests();
        let booked: Vec<&String> = log.iter().flat_map(|r| &r.applied_references).collect();
        assert_eq!(booked, ["INV-1005", "INV-1005#Batal", "INV-4"]);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_repeat_is_booked_twice_when_the_vendor_does_not_check() {
    bounded(async {
        let config = SandboxConfig::default().with_section(
            "salesmania",
            serde_json::to_value(SalesmaniaConfig {
                refuse_repeated_ext_order_no: false,
                ..SalesmaniaConfig::default()
            })
            .unwrap(),
        );
        let s = start_with(config).await;
        let auth = chain(&s).await;
        let tea = stock(&s, "TEA-100");
        for _ in 0..2 {
            assert_eq!(
                call(&s, &auth, Method::POST, "orders", Some(cascade_order("INV-7")))
                    .await
                    .0,
                200
            );
        }
        assert_eq!(stock(&s, "TEA-100"), tea - dec("20"));
        let (_, list) = call(&s, &auth, Method::GET, "orders?ext_order_no=INV-7", None).await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        let count = s
            .requests()
            .iter()
            .flat_map(|r| r.applied_references.clone())
            .filter(|r| r == "INV-7")
            .count();
        assert_eq!(count, 2);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn customers_crud_with_lookups() {
    bounded(async {
        let s = start_with(SandboxConfig::default()).await;
        let auth = chain(&s).await;
        let (_, found) = call(&s, &auth, Method::GET, "customers?ext_cust_no=C-001", None).await;
        assert_eq!(found[0]["id"], 3001);
        assert_eq!(found[0]["name"], "Warung Bu Sri");
        let (status, missing) = call(&s, &auth, Method::POST, "customers", Some(json!({"city": "Bandung"}))).await;
        assert_eq!(status, 422);
        assert_eq!(missing["errors"]["name"][0], "The name field is required.");
        let new = json!({"name": "Toko Berkah Jaya", "address": "Jl. Asia Afrika 8", "city": "Bandung",
                         "phone": "0227654321", "ext_cust_no": "C-077", "tags": ["baru"]});
        let (status, created) = call(&s, &auth, Method::POST, "customers", Some(new.clone())).await;
        assert_eq!(status, 200);
        let id = created["id"].as_u64().unwrap();
        assert_eq!(id, 3003);
        assert_eq!(created["tags"], json!(["baru"]));
        let (status, dup) = call(&s, &auth, Method::POST, "customers", Some(new)).await;
        assert_eq!(
            (status, dup["errors"]["ext_cust_no"][0].clone()),
            (422, json!("The ext cust no has already been taken."))
        );
        let (status, updated) = call(
            &s,
            &auth,
            Method::PATCH,
            &format!("customers/{id}"),
            Some(json!({"address": "Jl. Asia Afrika 10", "tags": []})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (
                updated["address"].clone(),
                updated["city"].clone(),
                updated["tags"].clone()
            ),
            (json!("Jl. Asia Afrika 10"), json!("Bandung"), json!([]))
        );
        let (status, body) = call(
            &s,
            &auth,
            Method::PATCH,
            &format!("customers/{id}"),
            Some(json!({"phone": "abc"})),
        )
        .await;
        assert_eq!((status, body), (422, json!({"message": "Nomor telepon tidak valid"})));
        let (_, page) = call(&s, &auth, Method::GET, "customers?page=1", None).await;
        assert_eq!(page["total"], 4);
        // A customer with orders cannot be deleted.
        let mut order = cascade_order("INV-C");
        order["customer_id"] = json!(3001);
        assert_eq!(call(&s, &auth, Method::POST, "orders", Some(order)).await.0, 200);
        let (status, body) = call(&s, &auth, Method::DELETE, "customers/3001", None).await;
        assert_eq!(
            (status, body),
            (409, json!({"message": "Customer masih memiliki order"}))
        );
        assert_eq!(
            call(&s, &auth, Method::DELETE, &format!("customers/{id}"), None)
                .await
                .0,
            200
        );
        assert_eq!(
            call(&s, &auth, Method::GET, &format!("customers/{id}"), None).await,
            (404, json!({"message": "Customer tidak ditemukan"}))
        );
        assert_eq!(
            call(&s, &auth, Method::DELETE, &format!("customers/{id}"), None)
                .await
                .0,
            404
        );
        assert_eq!(call(&s, &auth, Method::GET, "customers/abc", None).await.0, 404);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn products_are_the_catalogue_paged_with_the_shared_stock() {
    bounded(async {
        let s = start_with(SandboxConfig::default()).await;
        let auth = chain(&s).await;
        let (_, first) = call(&s, &auth, Method::GET, "products?page=1", None).await;
        assert_eq!((first["current_page"].clone(), first["last_page"].clone(), first["total"].clone()), (json!(1), json!(2), json!(30)));
        assert!(first["next_page_url"].is_string());
        assert_eq!(first["data"].as_array().unwrap().len(), 25);
        let tea = &first["data"][0];
        assert_eq!((tea["id"].clone(), tea["ext_product_code"].clone(), tea["qty_on_hand"].clone()), (json!(501), json!("TEA-100"), json!(118)));
        assert_eq!(tea["product_units"], json!([{"name": "PCS", "price": 450, "ratio": 1}]));
        let (_, second) = call(&s, &auth, Method::GET, "products?page=2", None).await;
        assert_eq!(second["data"].as_array().unwrap().len(), 5);
        assert!(second["next_page_url"].is_null());

        let mut order = cascade_order("INV-P");
        order["ordered_products"][0]["qty"] = json!(2.5);
        assert_eq!(call(&s, &auth, Method::POST, "orders", Some(order)).await.0, 200);
        let (_, tea) = call(&s, &auth, Method::GET, "products/501", None).await;
        assert_eq!(tea["qty_on_hand"], json!(115.5));

        // A product added through the API keeps its own stock; a unit of ratio 1 is required.
        let bad = json!({"name": "Kopi", "qty_on_hand": 5, "product_units": [{"name": "DUS", "price": 1000, "ratio": 12}]});
        let (status, body) = call(&s, &auth, Method::POST, "products", Some(bad)).await;
        assert_eq!(status, 422);
        assert!(body["errors"]["product_units"].is_array());
        let good = json!({"name": "Kopi Bubuk", "ext_product_code": "KOPI-1", "qty_on_hand": 5,
                          "product_units": [{"name": "PCS", "price": 1000, "ratio": 1}, {"name": "DUS", "price": 11000, "ratio": 12}]});
        let (status, body) = call(&s, &auth, Method::POST, "products", Some(good)).await;
        assert_eq!((status, body["id"].clone()), (201, json!(531)));
        let order = json!({"date": "2026-11-26", "customer_id": 3000, "ext_order_no": "INV-K",
                           "ordered_products": [{"product_id": 531, "qty": 1, "unit": "dus", "price": 11000}]});
        assert_eq!(call(&s, &auth, Method::POST, "orders", Some(order)).await.0, 200);
        let (_, kopi) = call(&s, &auth, Method::GET, "products/531", None).await;
        assert_eq!(kopi["qty_on_hand"], json!(-7));
        let (status, patched) = call(&s, &auth, Method::PATCH, "products/502", Some(json!({"qty_on_hand": 40}))).await;
        assert_eq!((status, patched["qty_on_hand"].clone()), (200, json!(40)));
        assert_eq!(stock(&s, "MUG-1"), dec("40"));
        // A product an order names is not deleted; one no order names is.
        let (status, body) = call(&s, &auth, Method::DELETE, "products/531", None).await;
        assert_eq!((status, body["message"].clone()), (409, json!("Produk masih dipakai di order")));
        let spare = json!({"name": "Kopi Susu", "ext_product_code": "KOPI-2", "qty_on_hand": 0,
                           "product_units": [{"name": "PCS", "price": 1500, "ratio": 1}]});
        let (status, body) = call(&s, &auth, Method::POST, "products", Some(spare.clone())).await;
        assert_eq!((status, body["id"].clone()), (201, json!(532)));
        // An ext_product_code is unique, on create and on update.
        let (status, body) = call(&s, &auth, Method::POST, "products", Some(spare)).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["errors"]["ext_product_code"].is_array(), "{body}");
        let taken = json!({"ext_product_code": "TEA-100"});
        assert_eq!(call(&s, &auth, Method::PATCH, "products/532", Some(taken)).await.0, 422);
        assert_eq!(call(&s, &auth, Method::DELETE, "products/532", None).await.0, 200);
        assert_eq!(call(&s, &auth, Method::GET, "products/532", None).await.0, 404);

        let (_, visits) = call(&s, &auth, Method::GET, "visits", None).await;
        assert_eq!(visits["data"][0]["id"], 7001);
        let (status, added) = call(&s, &auth, Method::POST, "visits", Some(json!({"date": "2026-11-27", "customer_id": 3001}))).await;
        assert_eq!((status, added), (200, json!({"id": 7002})));
        s.reset();
        assert_eq!(stock(&s, "MUG-1"), dec("23"));
        s.shutdown().await;
    })
    .await;
}
