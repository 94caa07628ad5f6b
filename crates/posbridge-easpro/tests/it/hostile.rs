#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile responses, table-driven: what the EAS Pro connector does when EAS Pro (or
//! a proxy in front of it) answers a sale, or a payment after it, with garbage —
//! truncated or mistyped JSON, HTML pages, empty and invalid UTF-8 bodies, 10 MB
//! bodies, a server that stalls after its headers or closes mid-body, redirects to
//! another host, every odd `Retry-After`, and answers that echo a credential.
//!
//! Both writes are upserts (`docs/vendors/easpro.md`, decisions 3 and 21): an
//! unreadable answer is `Decode`, an outage `Unavailable` after the transport retried
//! it, never `Uncertain`. Every row must end in the kind promised; the checks every
//! row passes (never a panic, never a hang, neither the partner key nor the user id in
//! `Display`/`Debug` or in a body excerpt, short texts, the other host untouched) and
//! the raw front that serves what httpmock cannot are the shared kit's
//! (`posbridge_conformance::kit::hostile`).

use httpmock::HttpMockRequest;
use httpmock::prelude::*;
use posbridge_conformance::kit::hostile::*;
use posbridge_core::{Error, ErrorKind, HttpConfig, Payments, Sale, SalePayment, Sales, SecretString};
use posbridge_easpro::{Config, EasPro};
use serde_json::json;

// ------------------------------------------------------------------ the vendor

/// The partner key, sent as the `partner` header.
const SECRET: &str = "SECRET-PARTNER-7f3a";
/// The merchant's user id, sent as the `user-id` header.
const USER_ID: &str = "SECRET-USER-7f3a";

const CREATE: Target = Target {
    method: "POST",
    path: "/eas/api/external/transaction/create",
};
const PAYMENT: Target = Target {
    method: "POST",
    path: "/eas/api/external/transaction/payment/create",
};

#[derive(Debug, Clone, Copy)]
enum Op {
    PushSale,
    PushSaleWithPayment,
    /// A payment after the sale (`Payments::add_payment`).
    AddPayment,
}

fn sale(with_payment: bool) -> Sale {
    let mut sale = json!({
        "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "AIRPOD-1", "quantity": "2", "unit_price": "20.00"}]
    });
    if with_payment {
        sale["payments"] = json!([{"amount": "40.00", "method": "cash"}]);
    }
    serde_json::from_value(sale).unwrap()
}

impl Vendor for Op {
    type Client = EasPro;
    const SECRETS: &'static [&'static str] = &[SECRET, USER_ID];

    fn connector(base_url: &str, http: HttpConfig) -> EasPro {
        EasPro::new(
            Config::new(SecretString::from(SECRET), SecretString::from(USER_ID))
                .with_product("AIRPOD-1", "68668492-e16b-4b5c-82e6-8e5d843ffbdc")
                .with_base_url(base_url)
                .with_http(http),
        )
        .unwrap()
    }

    async fn call(self, client: &EasPro) -> Result<String, Error> {
        if matches!(self, Op::AddPayment) {
            let payment: SalePayment = serde_json::from_value(json!({
                "sale": {"reference": "INV-1001"},
                "payment": {"reference": "PAY-2", "amount": "40.00", "method": "cash",
                            "paid_at": "2026-12-01T10:30:00+08:00"}
            }))
            .unwrap();
            return client.add_payment(&payment).await.map(|r| format!("{r:?}"));
        }
        let with_payment = matches!(self, Op::PushSaleWithPayment);
        client.push_sale(&sale(with_payment)).await.map(|r| format!("{r:?}"))
    }

    /// The sale and the payment endpoints answering as they should, but for `except`.
    async fn mock_the_rest(server: &MockServer, except: Target) {
        for path in [CREATE.path, PAYMENT.path] {
            if path == except.path {
                continue;
            }
            server
                .mock_async(|when, then| {
                    when.method(POST).path(path);
                    then.status(200)
                        .json_body(json!({"data": {"result": "Success", "demo": false},
                        "response": {"date": "2023/05/09 19:44:10",
                                     "status": {"code": "0", "httpMessage": "success processed"}}}));
                })
                .await;
        }
    }

    /// The `partner` header.
    fn echoed(req: &HttpMockRequest) -> String {
        header(req, "partner").unwrap_or_default()
    }
}

// ------------------------------------------------------------------ the rows

fn sale_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSale, CREATE, serve, expect);
    // An upsert is retried after a 5xx (max_retries = 1), then reported as an outage; a 3xx
    // is not followed (the partner key stays with the configured host).
    let mut rows = transport_rows(Op::PushSale, CREATE, CallClass::IdempotentWrite);
    rows.extend([
        // An unreadable 200 is Decode, not Uncertain: re-sending an upsert is safe.
        p(
            "truncated_json",
            json(
                200,
                r#"{"data": {"result": "Success"}, "response": {"status": {"code": "0"#,
            ),
            Expect::Err(Decode),
        )
        .hits(1),
        p("number_for_object", json(200, "42"), Expect::Err(Decode)),
        p(
            "array_for_object",
            json(200, r#"[{"response": {"status": {"code": "0"}}}]"#),
            Expect::Err(Decode),
        ),
        p(
            "number_for_status",
            json(200, r#"{"response": {"status": 42}}"#),
            Expect::Err(Decode),
        ),
        p(
            "object_for_code",
            json(200, r#"{"response": {"status": {"code": {"value": 0}}}}"#),
            Expect::Err(Decode),
        ),
        p("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Decode)).hits(1),
        p("empty_200", answer(200, ""), Expect::Err(Decode)),
        p("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        // EAS Pro echoing the partner key: in its own 200 envelope, and behind real statuses.
        p(
            "echoes_the_partner_key_in_its_envelope",
            echo(
                200,
                r#"{"response": {"status": {"code": "99", "httpMessage": "Invalid partner {echo}"}}}"#,
            ),
            Expect::Err(Auth),
        ),
        p(
            "echoes_the_partner_key_400",
            echo(400, r#"{"message": "unknown partner {echo}"}"#),
            Expect::Err(Rejected),
        ),
        p(
            "echoes_the_partner_key_401",
            echo(401, r#"{"message": "partner {echo} is not registered"}"#),
            Expect::Err(Auth),
        ),
        p(
            "echoes_the_user_id_403",
            json(403, r#"{"message": "user-id SECRET-USER-7f3a is suspended"}"#),
            Expect::Err(Auth),
        ),
        p(
            "huge_error_message_400",
            json(400, &huge_message(SECRET)),
            Expect::Err(Rejected),
        ),
        p(
            "huge_message_in_its_envelope",
            json(
                200,
                &(huge_message(SECRET).replacen(
                    "{\"message\": ",
                    r#"{"response": {"status": {"code": "1", "httpMessage": "#,
                    1,
                ) + "}}"),
            ),
            Expect::Err(Rejected),
        ),
    ]);
    rows
}

fn payment_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSaleWithPayment, PAYMENT, serve, expect);
    vec![
        p(
            "payment_truncated_json",
            json(200, r#"{"response": {"sta"#),
            Expect::Err(Decode),
        )
        .hits(1),
        p(
            "payment_html_200_from_a_proxy",
            html(200, PORTAL_PAGE),
            Expect::Err(Decode),
        )
        .hits(1),
        p(
            "payment_html_502_from_a_proxy",
            html(502, BAD_GATEWAY_PAGE),
            Expect::Err(Unavailable),
        )
        .hits(2),
        p(
            "payment_ten_megabytes",
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes")
        .hits(1),
        p(
            "payment_headers_then_stall",
            Serve::Raw(Raw::HeadersThenStall),
            Expect::Err(Unavailable),
        )
        .timeout_ms(300)
        .hits(2),
        p(
            "payment_echoes_the_partner_key_401",
            echo(401, r#"{"message": "partner {echo} is not registered"}"#),
            Expect::Err(Auth),
        ),
    ]
}

#[tokio::test]
async fn hostile_answers_to_a_sale() {
    run_all(sale_rows()).await;
}

/// A payment after the sale is an upsert by its reference like the sale: the same
/// transport rows as an idempotent write, and an unreadable 200 is `Decode`.
fn later_payment_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::AddPayment, PAYMENT, serve, expect);
    let mut rows = transport_rows(Op::AddPayment, PAYMENT, CallClass::IdempotentWrite);
    rows.extend([
        p(
            "later_payment_truncated_json",
            json(200, r#"{"response": {"status": {"code": "0"#),
            Expect::Err(Decode),
        )
        .hits(1),
        p(
            "later_payment_unknown_bill_in_a_200",
            json(
                200,
                r#"{"data": {"result": "Failed"}, "response": {"status": {"code": "4", "httpMessage": "Bill reference not found"}}}"#,
            ),
            Expect::Err(Rejected),
        )
        .hits(1),
    ]);
    rows
}

#[tokio::test]
async fn hostile_answers_to_a_payment() {
    run_all(payment_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_a_payment_after_the_sale() {
    run_all(later_payment_rows()).await;
}

#[tokio::test]
async fn the_default_cap_stops_a_ten_megabyte_body() {
    assert_eq!(
        Config::new(SecretString::from(SECRET), SecretString::from(USER_ID))
            .http
            .max_response_bytes,
        HttpConfig::default().max_response_bytes,
        "an EAS Pro config starts with the default cap"
    );
    let rows = vec![default_cap_row(
        "ten_megabytes_default_cap",
        Op::PushSale,
        CREATE,
        CallClass::IdempotentWrite,
    )];
    run_all(rows).await;
}
