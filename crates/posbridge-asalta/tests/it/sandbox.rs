//! Asalta's rules against a started sandbox, over raw HTTP: the OAuth2 code flow
//! (redirect with state, exchange, expired and reused codes, refresh), the bearer
//! check, paging with both metadata spellings, invoices and orders moving stock,
//! out of stock, void, payments, returns, gift cards and reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::time::Duration;

use posbridge_asalta::sandbox::{
    DEFAULT_CLIENT_ID as ASALTA_DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET as ASALTA_DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI as ASALTA_DEFAULT_REDIRECT_URI, ImitationConfig as AsaltaConfig, asalta_item_ids,
};
use posbridge_core::Decimal;
use posbridge_sandbox::{Catalogue, SandboxConfig, SandboxHandle};
use reqwest::Client;
use sandbox_common::{bounded, expire_tokens, mint_token, start, start_with};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

struct Api {
    c: Client,
    base: String,
    token: String,
}

impl Api {
    fn new(s: &SandboxHandle) -> Self {
        Self {
            c: client(),
            base: s.vendor_url("asalta"),
            token: mint_token(s),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .c
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .c
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn form(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .c
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .form(form)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

fn sale(items: Value) -> Value {
    json!({"date": "2026-11-26 10:15:00", "customer_id": 1, "biller_id": 35, "warehouse_id": 2,
           "note": "", "staff_note": "POS reference INV-1", "order_discount_percentage": false,
           "order_discount": 0, "items": items})
}

fn tea() -> u64 {
    asalta_item_ids(&Catalogue::sample())["TEA-100"]
}

fn mug() -> u64 {
    asalta_item_ids(&Catalogue::sample())["MUG-1"]
}

/// `GET auth` → the code from the redirect.
async fn authorize(c: &Client, base: &str, state: &str) -> String {
    let r = c
        .get(format!("{base}auth"))
        .query(&[
            ("response_type", "code"),
            ("client_id", ASALTA_DEFAULT_CLIENT_ID),
            ("redirect_uri", ASALTA_DEFAULT_REDIRECT_URI),
            ("state", state),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(ASALTA_DEFAULT_REDIRECT_URI), "{location}");
    let url = url::Url::parse(&location).unwrap();
    let pairs: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], state);
    pairs["code"].clone()
}

async fn exchange(c: &Client, base: &str, code: &str) -> (u16, Value) {
    let r = c
        .post(format!("{base}auth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", ASALTA_DEFAULT_REDIRECT_URI),
            ("client_id", ASALTA_DEFAULT_CLIENT_ID),
            ("client_secret", ASALTA_DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn the_code_flow_issues_tokens_and_codes_expire() {
    bounded(async {
        let asalta = AsaltaConfig {
            code_lifetime_secs: 1,
            ..AsaltaConfig::default()
        };
        let config = SandboxConfig::default().with_section("asalta", serde_json::to_value(asalta).unwrap());
        let s = start_with(config).await;
        let c = client();
        let base = s.vendor_url("asalta");

        // Unknown client, other redirect: 400, no redirect.
        for (client_id, redirect) in [
            ("nobody", ASALTA_DEFAULT_REDIRECT_URI),
            (ASALTA_DEFAULT_CLIENT_ID, "http://evil.example/cb"),
        ] {
            let r = c
                .get(format!("{base}auth"))
                .query(&[
                    ("response_type", "code"),
                    ("client_id", client_id),
                    ("redirect_uri", redirect),
                    ("state", "x"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400);
        }

        let code = authorize(&c, &base, "csrf-123").await;
        let (status, token) = exchange(&c, &base, &code).await;
        assert_eq!(status, 200, "{token}");
        assert_eq!(token["expires_in"], 3600);
        assert_eq!(token["token_type"], "Bearer");
        let access = token["access_token"].as_str().unwrap().to_owned();
        let refresh = token["refresh_token"].as_str().unwrap().to_owned();
        // The token works.
        let r = c
            .get(format!("{base}pos/warehouses?page=1"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        // A code is single use.
        let (status, again) = exchange(&c, &base, &code).await;
        assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")));

        // An expired code: invalid_grant.
        let code = authorize(&c, &base, "csrf-456").await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, expired) = exchange(&c, &base, &code).await;
        assert_eq!(status, 400);
        assert_eq!(expired["error"], "invalid_grant");
        assert_eq!(expired["error_description"], "Authorization code has expired");

        // A wrong secret: invalid_client.
        let r = c
            .post(format!("{base}auth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", ASALTA_DEFAULT_CLIENT_ID),
                ("client_secret", "wrong"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

        // Refresh.
        let r = c
            .post(format!("{base}auth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", ASALTA_DEFAULT_CLIENT_ID),
                ("client_secret", ASALTA_DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let renewed: Value = r.json().await.unwrap();
        let access2 = renewed["access_token"].as_str().unwrap();
        assert_ne!(access2, access);
        let r = c
            .get(format!("{base}pos/items?page=1"))
            .bearer_auth(access2)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn every_pos_and_report_call_needs_a_live_bearer() {
    bounded(async {
        let s = start().await;
        let c = client();
        let base = s.vendor_url("asalta");
        for path in ["pos/items?page=1", "pos/customers?page=1", "pos/invoices?id=880"] {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), 401);
            let body: Value = r.json().await.unwrap();
            assert_eq!(
                body,
                json!({"message": "Unauthorized -- Your API key is wrong", "error": true})
            );
            let r = c
                .get(format!("{base}{path}"))
                .bearer_auth("made-up")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
        }
        let r = c
            .post(format!("{base}report/sales"))
            .form(&[("startdate", "2026-11-01"), ("enddate", "2026-11-30")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        // An expired token is refused too.
        let api = Api::new(&s);
        assert_eq!(api.get("pos/items?page=1").await.0, 200);
        expire_tokens(&s);
        assert_eq!(api.get("pos/items?page=1").await.0, 401);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn lists_page_with_the_spelling_of_each_resource() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        // Items: 30 products, 20 a page, `_metadata`.
        let (_, p1) = api.get("pos/items?page=1").await;
        assert_eq!(p1["data"].as_array().unwrap().len(), 20);
        assert_eq!(
            p1["_metadata"],
            json!({"currentPage": 1, "nextPage": 2, "pageSize": 20, "totalRecord": 30})
        );
        assert_eq!(p1["data"][0]["id"], "1001");
        assert_eq!(p1["data"][0]["code"], "TEA-100");
        assert_eq!(p1["data"][0]["price"], "450.0000");
        assert_eq!(
            p1["data"][0]["inventory"][0],
            json!({"warehouse_id": "2", "quantity": "118.0000", "reorder_qty": "0.0000"})
        );
        assert_eq!(p1["data"][0]["inventory"][1]["quantity"], "0.0000");
        let (_, p2) = api.get("pos/items?page=2").await;
        assert_eq!(p2["data"].as_array().unwrap().len(), 10);
        assert_eq!(p2["_metadata"]["nextPage"], Value::Null);
        // Warehouses: `_meta`.
        let (_, w) = api.get("pos/warehouses?page=1").await;
        assert_eq!(
            w["_meta"],
            json!({"totalCount": 2, "pageCount": 1, "currentPage": 1, "perPage": 20})
        );
        assert_eq!(w["data"][0]["code"], "ADL");
        // Billers and customers: `_metadata`.
        let (_, b) = api.get("pos/billers?page=1").await;
        assert_eq!(b["data"][0]["id"], "35");
        assert!(b["_metadata"].is_object());
        let (_, c) = api.get("pos/customers?page=1").await;
        assert_eq!(c["data"][0]["name"], "Walk-in Customer");
        assert!(c["_metadata"].is_object());
        // Orders: `_meta`; payment methods: `_metadata` with the counts.
        let (_, o) = api.get("pos/orders?page=1").await;
        assert_eq!(o["_meta"]["totalCount"], 0);
        let (_, m) = api.get("pos/payment_methods?page=1").await;
        assert_eq!(m["_metadata"]["totalCount"], 6);
        // A bad page; one record; an unknown one.
        assert_eq!(
            api.get("pos/items?page=0").await,
            (400, json!({"message": "Please provide valid page.", "error": true}))
        );
        let (status, one) = api.get(&format!("pos/items?id={}", mug())).await;
        assert_eq!((status, one["code"].as_str()), (200, Some("MUG-1")));
        assert_eq!(api.get("pos/items?id=999999").await.0, 404);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn customers_are_created_updated_and_read() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        let (status, created) = api
            .post(
                "pos/customers",
                &json!({"name": "John", "phone_code": 65, "phone": "12345678", "email": "john@example.sg"}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            created,
            json!({"message": "Success", "data": {"id": 7199, "name": "John"}, "error": false})
        );
        let (status, _) = api
            .post(
                "pos/customers",
                &json!({"id": 7199, "name": "John Tan", "city": "Singapore"}),
            )
            .await;
        assert_eq!(status, 200);
        let (_, one) = api.get("pos/customers?id=7199").await;
        assert_eq!(one["name"], "John Tan");
        assert_eq!(one["profile"]["email"], "john@example.sg");
        assert_eq!(one["profile"]["city"], "Singapore");
        assert_eq!(
            api.post("pos/customers", &json!({"phone": "1"})).await.1["message"],
            "Field name is Mandatory."
        );
        assert_eq!(
            api.post("pos/customers", &json!({"name": "X", "email": "nope"}))
                .await
                .0,
            400
        );
        assert_eq!(
            api.post("pos/customers", &json!({"id": 5, "name": "X"})).await.1["message"],
            "Customer not exist"
        );
        assert_eq!(api.get("pos/customers?id=4").await.0, 404);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn invoices_lower_stock_and_refuse_what_is_not_there() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        let (status, answer) = api
            .post(
                "pos/invoices",
                &sale(
                    json!([{"product_id": tea(), "quantity": 2, "discount_percentage": false, "item_discount": 0},
                             {"product_id": mug(), "quantity": 1, "discount_percentage": true, "item_discount": 10}]),
                ),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["data"]["id"], "880");
        assert_eq!(answer["data"]["grand_total"], "1980.0000"); // 900 + 1200 - 120
        assert_eq!(answer["data"]["reference_no"], "SALE/POS/2026/11/0880");
        assert_eq!(s.state().stock("TEA-100"), Some(d("116")));
        assert_eq!(s.state().stock("MUG-1"), Some(d("22")));
        let (_, item) = api.get(&format!("pos/items?id={}", tea())).await;
        assert_eq!(item["inventory"][0]["quantity"], "116.0000");
        assert!(
            s.state().documents["asalta"]
                .sales
                .contains_key("SALE/POS/2026/11/0880")
        );
        let log = s.requests();
        let last = log.iter().find(|r| r.path == "/asalta/pos/invoices").unwrap();
        assert_eq!(last.reference.as_deref(), Some("INV-1"));
        assert_eq!(last.applied_references, ["SALE/POS/2026/11/0880"]);

        // 23 mugs wanted, 22 left: 500 with the vendor's message; nothing moves.
        let before = s.state();
        let (status, refused) = api
            .post(
                "pos/invoices",
                &sale(json!([{"product_id": tea(), "quantity": 1}, {"product_id": mug(), "quantity": 23}])),
            )
            .await;
        assert_eq!(status, 500);
        assert_eq!(
            refused,
            json!({"message": "Error : \"The quantity is out of stock for Mug\"", "error": true})
        );
        assert_eq!(s.state(), before);
        // The store room holds nothing.
        let mut from_store = sale(json!([{"product_id": tea(), "quantity": 1}]));
        from_store["warehouse_id"] = json!(3);
        assert_eq!(api.post("pos/invoices", &from_store).await.0, 500);

        // Mandatory fields and dates.
        let mut no_customer = sale(json!([{"product_id": tea(), "quantity": 1}]));
        no_customer.as_object_mut().unwrap().remove("customer_id");
        assert_eq!(
            api.post("pos/invoices", &no_customer).await,
            (
                400,
                json!({"message": "Field customer_id is Mandatory.", "error": true})
            )
        );
        let mut bad_date = sale(json!([{"product_id": tea(), "quantity": 1}]));
        bad_date["date"] = json!("26/11/2026");
        assert_eq!(
            api.post("pos/invoices", &bad_date).await.1["message"],
            "Please provide valid date format."
        );
        assert_eq!(s.state().stock("TEA-100"), Some(d("116")));

        // Read back and list.
        let (_, one) = api.get("pos/invoices?id=880").await;
        assert_eq!(one["items"][0]["product_code"], "TEA-100");
        assert_eq!(one["warehouse"]["code"], "ADL");
        assert_eq!(one["payment_status"], "due");
        let (_, list) = api.get("pos/invoices?page=1").await;
        assert_eq!(list["_metadata"]["totalRecord"], 1);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_void_gives_an_orders_stock_back_once() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        let (status, order) = api
            .post("pos/orders", &sale(json!([{"product_id": tea(), "quantity": 5}])))
            .await;
        assert_eq!(status, 200);
        assert_eq!(order["data"]["id"], "53");
        assert_eq!(s.state().stock("TEA-100"), Some(d("113")));
        let (status, voided) = api.get("pos/void_order?id=53").await;
        assert_eq!(
            (status, voided),
            (200, json!({"message": "Successfully void your order", "error": false}))
        );
        assert_eq!(s.state().stock("TEA-100"), Some(d("118")));
        let (status, again) = api.get("pos/void_order?id=53").await;
        assert_eq!((status, again["message"].as_str()), (400, Some("Order already void")));
        assert_eq!(s.state().stock("TEA-100"), Some(d("118")));
        // Invoices are not orders.
        api.post("pos/invoices", &sale(json!([{"product_id": tea(), "quantity": 1}])))
            .await;
        assert_eq!(api.get("pos/void_order?id=880").await.0, 404);
        let (_, one) = api.get("pos/orders?id=53").await;
        assert_eq!(one["sale_status"], "void");
        let voids = s
            .requests()
            .iter()
            .filter(|r| r.applied_references.iter().any(|a| a.ends_with("#void")))
            .count();
        assert_eq!(voids, 1);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn payments_refuse_more_than_is_due() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        api.post("pos/invoices", &sale(json!([{"product_id": tea(), "quantity": 1}]))).await; // 450
        let pay = |amount: &str| json!({"sale_id": 880, "amount": amount, "date": "2026-11-26 10:20:00", "paid_by": "cash", "type": "sale"});
        let (status, first) = api.post("pos/payments", &pay("300")).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first["data"]["paid_amount"], "300.0000");
        let (status, over) = api.post("pos/payments", &pay("150.01")).await;
        assert_eq!(
            (status, over),
            (400, json!({"message": "Your paid amount must be less than or equal to sales amount.", "error": true}))
        );
        assert_eq!(api.post("pos/payments", &pay("150")).await.0, 200);
        let (_, inv) = api.get("pos/invoices?id=880").await;
        assert_eq!(inv["payment_status"], "paid");
        assert_eq!(inv["payments"].as_array().unwrap().len(), 2);
        let (_, list) = api.get("pos/payments?sale_id=880&page=1").await;
        assert_eq!(list["_metadata"]["totalRecord"], 2);
        let id = first["data"]["payment_id"].as_str().unwrap();
        let r = api.c.delete(format!("{}pos/payments?id={id}", api.base)).bearer_auth(&api.token).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"Message": "Successfully removed your payment", "error": false}));
        let (_, inv) = api.get("pos/invoices?id=880").await;
        assert_eq!(inv["payment_status"], "partial");
        assert_eq!(api.post("pos/payments", &pay("300.01")).await.0, 400);
        assert_eq!(api.post("pos/payments", &json!({"sale_id": 999, "amount": 1, "date": "2026-11-26", "paid_by": "cash"})).await.0, 400);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn returns_raise_stock_up_to_what_was_sold() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        api.post("pos/invoices", &sale(json!([{"product_id": tea(), "quantity": 3}])))
            .await;
        assert_eq!(s.state().stock("TEA-100"), Some(d("115")));
        let ret = |q: u32| {
            json!({"sale_id": 880, "date": "2026-11-27 09:00:00", "customer_id": 1, "biller_id": 35,
                                  "warehouse_id": 2, "items": [{"product_id": tea(), "quantity": q}]})
        };
        let (status, r) = api.post("pos/return_invoices", &ret(2)).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["data"]["grand_total"], "900.0000");
        // Asalta books the refund itself, as a `returned` payment of the return's total.
        assert_eq!(r["data"]["payments"][0]["type"], "returned");
        assert_eq!(r["data"]["payments"][0]["amount"], "900.0000");
        let mut no_customer = ret(1);
        no_customer.as_object_mut().unwrap().remove("customer_id");
        assert_eq!(api.post("pos/return_invoices", &no_customer).await.0, 400);
        assert_eq!(s.state().stock("TEA-100"), Some(d("117")));
        assert_eq!(api.post("pos/return_invoices", &ret(2)).await.0, 400);
        let (_, list) = api.get("pos/return_invoices?sale_id=880&page=1").await;
        assert_eq!(list["_metadata"]["totalRecord"], 1);
        assert_eq!(api.post("pos/return_orders", &ret(1)).await.0, 400); // 880 is no order
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn gift_cards_are_sold_and_spent() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        let (status, inv) = api
            .post(
                "pos/invoices",
                &sale(json!([{"product_id": "GIFT_CARD", "quantity": 1, "value": 1100, "amount": 1000}])),
            )
            .await;
        assert_eq!(status, 200, "{inv}");
        let card = inv["data"]["items"][0]["gift_card"]["card_no"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(card.len(), 16);
        assert_eq!(inv["data"]["grand_total"], "1000.0000");
        // The card pays for another sale.
        api.post("pos/invoices", &sale(json!([{"product_id": mug(), "quantity": 1}])))
            .await; // 881: 1200
        let (status, _) = api
            .post(
                "pos/payments",
                &json!({"sale_id": 881, "amount": 1000, "date": "2026-11-26", "paid_by": "gift_card", "no": card}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, g) = api.get(&format!("pos/giftcards?card_no={card}")).await;
        assert_eq!(status, 200);
        assert_eq!(g["message"], "Success");
        assert_eq!(g["data"]["items"][0]["gift_card"]["value"], "1100.0000");
        assert_eq!(g["data"]["items"][0]["gift_card"]["balance"], "100.0000");
        let (status, _) = api
            .post(
                "pos/payments",
                &json!({"sale_id": 881, "amount": 101, "date": "2026-11-26", "paid_by": "gift_card", "no": card}),
            )
            .await;
        assert_eq!(status, 400);
        assert_eq!(api.get("pos/giftcards?card_no=1234").await.0, 404);
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn reports_come_from_the_stored_invoices() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        api.post("pos/invoices", &sale(json!([{"product_id": tea(), "quantity": 2}])))
            .await;
        let mut later = sale(json!([{"product_id": mug(), "quantity": 1}]));
        later["date"] = json!("2026-12-02 09:00:00");
        api.post("pos/invoices", &later).await;
        api.post(
            "pos/payments",
            &json!({"sale_id": 880, "amount": 900, "date": "2026-11-26", "paid_by": "cash"}),
        )
        .await;
        let (status, rows) = api
            .form(
                "report/sales",
                &[("startdate", "2026-11-01"), ("enddate", "2026-11-30")],
            )
            .await;
        assert_eq!(status, 200);
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["grand_total"], "900.0000");
        assert_eq!(rows[0]["payment_status"], "paid");
        assert_eq!(rows[0]["payment_details"][0]["paid_amonut"], "900.0000");
        let (_, crm) = api
            .form(
                "report/invoices",
                &[("startdate", "2026-11-01"), ("enddate", "2026-12-31")],
            )
            .await;
        assert_eq!(crm.as_array().unwrap().len(), 2);
        assert_eq!(crm[1]["outstanding_amount"], "1200.0000");
        let (_, payroll) = api.form("report/payroll", &[("month", "11"), ("year", "2026")]).await;
        assert_eq!(payroll["payslip_date"], "2026-11-28");
        let (_, claims) = api.form("report/claims", &[("month", "11"), ("year", "2026")]).await;
        // As the document's sample: each claim type an object with its total.
        assert_eq!(claims["Transport"]["total_expense"], "86.40");
        let (_, roster) = api
            .form(
                "report/rosterschedule",
                &[("startdate", "2026-11-01"), ("enddate", "2026-11-07")],
            )
            .await;
        assert_eq!(roster[0]["branch"], "Adelphi");
        assert_eq!(
            api.form("report/payroll", &[("month", "13"), ("year", "2026")]).await.0,
            400
        );
        assert_eq!(
            api.form("report/sales", &[("startdate", "2026-11-01")]).await.1["message"],
            "Field enddate is Mandatory."
        );
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn subcategories_loyalty_promotions_and_tax_line_items_answer_as_documented() {
    bounded(async {
        let s = start().await;
        let api = Api::new(&s);
        let (status, all) = api.get("pos/subcategories").await;
        assert_eq!(status, 200);
        assert_eq!(all["data"].as_array().unwrap().len(), 2);
        assert_eq!(all["_meta"]["totalCount"], 2);
        let (_, one) = api.get("pos/subcategories?id=3").await;
        assert_eq!(one["sub_category_code"], "SC2");
        let (_, of) = api.get("pos/subcategories?parent_category_id=1").await;
        assert_eq!(of["data"].as_array().unwrap().len(), 2);
        let (_, none) = api.get("pos/subcategories?parent_category_id=9").await;
        assert!(none["data"].as_array().unwrap().is_empty());
        assert_eq!(api.get("pos/subcategories?id=9").await.0, 404);

        let (status, loyalty) = api.get("pos/loyalty?customer_id=1").await;
        assert_eq!(status, 200);
        assert!(loyalty["data"].as_array().unwrap().is_empty());
        assert_eq!(loyalty["_metadata"]["totalRecord"], 0);
        assert_eq!(api.get("pos/loyalty").await.0, 400);

        let (_, promotions) = api.get("pos/promotions?warehouse_id=2").await;
        assert_eq!(promotions["data"][0]["title"], "Offer 2 for $3.00");
        assert_eq!(promotions["data"][0]["promotions_items"][0], 1001);
        let (_, promotion) = api.get("pos/promotions?id=10").await;
        assert_eq!(promotion["promotion_conditions"][0]["discount_amount"], "3.0000");
        let (status, refused) = api.get("pos/promotions").await;
        assert_eq!(status, 400);
        assert_eq!(refused["message"], "Field warehouse_id is Mandatory.");

        let (_, rates) = api.get("pos/taxrates").await;
        assert_eq!(rates["data"][1]["tax_code"], "gst18");
        assert_eq!(rates["data"][1]["line_item"], "yes");
        let (_, items) = api.get("pos/taxlineitems?tax_rate_id=2").await;
        assert_eq!(items["data"][1]["rate"], "8.0000");
        let (_, item) = api.get("pos/taxlineitems?tax_rate_id=2&id=1").await;
        assert_eq!(item["name"], "SGST");
        assert_eq!(api.get("pos/taxlineitems?tax_rate_id=2&id=3").await.0, 404);
        let (_, other) = api.get("pos/taxlineitems?tax_rate_id=1").await;
        assert!(other["data"].as_array().unwrap().is_empty());
        assert_eq!(api.get("pos/taxlineitems").await.0, 400);
        s.shutdown().await;
    })
    .await;
}
