#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile responses, table-driven: what the Asalta connector does when Asalta (or a
//! proxy in front of it) answers an invoice, a return, a later payment, a stock read, or the OAuth2 token
//! endpoint (a refresh after a refused bearer), with garbage — truncated or mistyped
//! JSON, HTML pages, empty and invalid UTF-8 bodies, 10 MB bodies, a server that stalls
//! after its headers or closes mid-body, redirects to another host, every odd
//! `Retry-After`, and answers that echo a credential.
//!
//! The invoice `POST` is not idempotent and Asalta has no reference key
//! (`docs/vendors/asalta.md`, Sales and Errors): an answer that is not a JSON object
//! after it was sent is `Uncertain`, never re-sent. Every row must end in the kind
//! promised; the checks every row passes (never a panic, never a hang, no secret — the
//! access, refresh and renewed tokens, the client secret — in `Display`/`Debug` or in a
//! body excerpt, short texts, the other host untouched) and the raw front that serves
//! what httpmock cannot are the shared kit's (`posbridge_conformance::kit::hostile`).

use std::time::Duration;

use httpmock::HttpMockRequest;
use httpmock::prelude::*;
use posbridge_asalta::{Asalta, Config};
use posbridge_conformance::kit::hostile::*;
use posbridge_core::{
    Error, ErrorKind, HttpConfig, IdKind, InMemoryIdMap, Payments, Return, Returns, Sale, SalePayment, Sales,
    SecretString, Stock,
};
use serde_json::json;

// ------------------------------------------------------------------ the vendor

/// The access token the config carries (a static bearer, as from a token store).
const SECRET: &str = "SECRET-TOKEN-7f3a";
const REFRESH: &str = "SECRET-REFRESH-7f3a";
const CLIENT_SECRET: &str = "SECRET-CLIENT-7f3a";
/// The access token a refresh issues.
const ACCESS_2: &str = "SECRET-ACCESS-c0de2";

const INVOICES: Target = Target {
    method: "POST",
    path: "/pos/invoices",
};
const RETURNS: Target = Target {
    method: "POST",
    path: "/pos/return_invoices",
};
const PAYMENTS: Target = Target {
    method: "POST",
    path: "/pos/payments",
};
/// The invoice a return or payment reads first (not under test: always answered).
const SALE_880: &str = "/pos/invoices";
const ITEMS: Target = Target {
    method: "GET",
    path: "/pos/items",
};
const TOKEN: Target = Target {
    method: "POST",
    path: "/auth/token",
};

#[derive(Debug, Clone, Copy)]
enum Op {
    PushSale,
    PushReturn,
    AddPayment,
    StockLevels,
}

fn ret() -> Return {
    serde_json::from_value(json!({
        "reference": "RET-1", "sale": {"vendor_id": "880"}, "issued_at": "2026-11-27T09:30:00+08:00",
        "lines": [{"product_code": "vitadine", "quantity": "1", "unit_price": "100"}]
    }))
    .unwrap()
}

fn payment() -> SalePayment {
    serde_json::from_value(json!({
        "sale": {"vendor_id": "880"},
        "payment": {"reference": "PAY-2", "amount": "50", "method": "cash", "paid_at": "2026-11-28T14:00:00+08:00"}
    }))
    .unwrap()
}

fn sale() -> Sale {
    serde_json::from_value(json!({
        "reference": "INV-1001", "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "vitadine", "quantity": "1", "unit_price": "100"}]
    }))
    .unwrap()
}

impl Vendor for Op {
    type Client = Asalta;
    const SECRETS: &'static [&'static str] = &[SECRET, REFRESH, CLIENT_SECRET, ACCESS_2];

    fn connector(base_url: &str, http: HttpConfig) -> Asalta {
        let ids = InMemoryIdMap::new()
            .with(IdKind::Product, "vitadine", "943")
            .with(IdKind::Biller, "MAIN", "35")
            .with(IdKind::Warehouse, "ADL", "2");
        Asalta::new(
            Config::new()
                .with_base_url(base_url)
                .with_client(
                    "pos-app",
                    SecretString::from(CLIENT_SECRET),
                    "http://127.0.0.1:8765/callback",
                )
                .with_token(SecretString::from(SECRET), Some(SecretString::from(REFRESH)))
                .with_biller_and_warehouse("MAIN", "ADL")
                .with_walk_in_customer_id(1)
                .with_id_map(ids)
                .with_http(http),
        )
        .unwrap()
    }

    async fn call(self, client: &Asalta) -> Result<String, Error> {
        match self {
            Op::PushSale => client.push_sale(&sale()).await.map(|r| format!("{r:?}")),
            Op::PushReturn => client.push_return(&ret()).await.map(|r| format!("{r:?}")),
            Op::AddPayment => client.add_payment(&payment()).await.map(|r| format!("{r:?}")),
            Op::StockLevels => client
                .stock_snapshot()
                .await
                .map(|l| format!("{} stock levels", l.len())),
        }
    }

    /// The invoices, the items (which a push lists for its price check) and the token
    /// endpoint answering as they should, but for `except`. When the token endpoint is
    /// the one under test, the invoice is refused
    /// with the configured token (so that the connector refreshes it) and accepted with
    /// the renewed one.
    async fn mock_the_rest(server: &MockServer, except: Target) {
        let created = json!({"message": "Success", "data": {"id": "1103"}, "error": false});
        if except.path == TOKEN.path {
            server
                .mock_async(|when, then| {
                    when.method(POST)
                        .path(INVOICES.path)
                        .header_not("authorization", format!("Bearer {ACCESS_2}"));
                    then.status(401)
                        .json_body(json!({"message": "Unauthorized -- Your API key is wrong", "error": true}));
                })
                .await;
            server
                .mock_async(|when, then| {
                    when.method(POST)
                        .path(INVOICES.path)
                        .header("authorization", format!("Bearer {ACCESS_2}"));
                    then.status(200).json_body(created);
                })
                .await;
            // The listing the price check compares the sale with, whatever the token.
            server
                .mock_async(|when, then| {
                    when.method(GET).path(ITEMS.path);
                    then.status(200).json_body(json!({
                        "data": [{"id": "943", "code": "vitadine", "name": "Vitadine", "price": "100.0000"}],
                        "_metadata": {"currentPage": 1, "nextPage": null}}));
                })
                .await;
            return;
        }
        server
            .mock_async(|when, then| {
                when.method(POST).path(TOKEN.path);
                then.status(200)
                    .json_body(json!({"access_token": ACCESS_2, "expires_in": 3600}));
            })
            .await;
        if except.path != INVOICES.path {
            server
                .mock_async(|when, then| {
                    when.method(POST).path(INVOICES.path);
                    then.status(200).json_body(created);
                })
                .await;
        }
        server
            .mock_async(|when, then| {
                when.method(GET).path(SALE_880).query_param("id", "880");
                then.status(200).json_body(json!({
                    "id": "880", "customer_id": "1", "warehouse": {"id": "2", "code": "ADL"},
                    "grand_total": "100.0000", "paid": "0.0000", "sale_status": "completed",
                    "items": [{"product_id": "943", "product_code": "vitadine", "quantity": "1.0000"}]}));
            })
            .await;
        if except.path != RETURNS.path {
            server
                .mock_async(|when, then| {
                    when.method(POST).path(RETURNS.path);
                    then.status(200)
                        .json_body(json!({"message": "Success", "data": {"id": "252"}, "error": false}));
                })
                .await;
        }
        if except.path != PAYMENTS.path {
            server
                .mock_async(|when, then| {
                    when.method(POST).path(PAYMENTS.path);
                    then.status(200)
                        .json_body(json!({"message": "Success", "data": {"payment_id": 1043}, "error": false}));
                })
                .await;
        }
        if except.path != ITEMS.path {
            server
                .mock_async(|when, then| {
                    when.method(GET).path(ITEMS.path);
                    then.status(200).json_body(json!({
                        "data": [{"id": "943", "code": "vitadine", "name": "Vitadine", "type": "standard",
                                  "price": "100.0000", "quantity": "5",
                                  "inventory": [{"warehouse_id": "2", "quantity": "5"}]}],
                        "_metadata": {"currentPage": 1, "nextPage": null}}));
                })
                .await;
        }
    }

    /// The bearer, else the refresh token of a token request.
    fn echoed(req: &HttpMockRequest) -> String {
        bearer(req)
            .or_else(|| form_field(req, "refresh_token"))
            .unwrap_or_default()
    }
}

// ------------------------------------------------------------------ the rows

fn invoice_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSale, INVOICES, serve, expect);
    // An invoice is not idempotent: a failure after sending is Uncertain, never re-sent, and
    // a 3xx is not followed (the bearer stays with the configured host).
    let mut rows = transport_rows(Op::PushSale, INVOICES, CallClass::NonIdempotentWrite);
    rows.extend([
        // A write whose answer is not a JSON object is Uncertain (Errors), never re-sent.
        p(
            "truncated_json",
            json(200, r#"{"message": "Success", "data": {"id": "11"#),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p("number_for_object", json(200, "42"), Expect::Err(Uncertain)),
        p(
            "array_for_object",
            json(200, r#"[{"id": "1103"}]"#),
            Expect::Err(Uncertain),
        ),
        p("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Uncertain)).hits(1),
        p("empty_200", answer(200, ""), Expect::Err(Uncertain)),
        p("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Uncertain)),
        // Asalta echoing the bearer it was sent. A 401 refreshes the token once and
        // re-sends (Auth).
        p(
            "echoes_the_bearer_400",
            echo(400, r#"{"message": "invalid token {echo}", "error": true}"#),
            Expect::Err(Rejected),
        ),
        p(
            "echoes_the_bearer_401",
            echo(
                401,
                r#"{"message": "Unauthorized -- token {echo} is wrong", "error": true}"#,
            ),
            Expect::Err(Auth),
        )
        .hits(2),
        p(
            "echoes_the_bearer_in_an_error_200",
            echo(
                200,
                r#"{"message": "token {echo} may not create invoices", "error": true}"#,
            ),
            Expect::Err(Rejected),
        ),
        p(
            "huge_error_message_400",
            json(400, &huge_message(SECRET)),
            Expect::Err(Rejected),
        ),
    ]);
    rows
}

/// A return and a later payment: after the sale is read, each is one `POST` that must
/// not be sent twice (no reference key), like an invoice.
fn after_sale_rows(op: Op, target: Target) -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, op, target, serve, expect);
    let mut rows = transport_rows(op, target, CallClass::NonIdempotentWrite);
    rows.extend([
        p(
            "truncated_json",
            json(200, r#"{"message": "Success", "data": {"id": "25"#),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Uncertain)).hits(1),
        p(
            "data_without_an_id",
            json(200, r#"{"message": "Success", "data": {}, "error": false}"#),
            Expect::Err(Uncertain),
        ),
        p(
            "echoes_the_bearer_in_an_error_200",
            echo(200, r#"{"message": "token {echo} may not do this", "error": true}"#),
            Expect::Err(Rejected),
        ),
        p(
            "huge_error_message_400",
            json(400, &huge_message(SECRET)),
            Expect::Err(Rejected),
        ),
    ]);
    rows
}

fn stock_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let s = |name, serve, expect| Row::new(name, Op::StockLevels, ITEMS, serve, expect);
    // A read is retried where it may be: a 502 is seen twice (max_retries = 1).
    let mut rows = transport_rows(Op::StockLevels, ITEMS, CallClass::Read);
    rows.extend([
        s(
            "truncated_json",
            json(200, r#"{"data": [{"id": "943", "code": "vi"#),
            Expect::Err(Decode),
        )
        .hits(1),
        s("number_for_page", json(200, "42"), Expect::Err(Decode)),
        s("number_for_data", json(200, r#"{"data": 42}"#), Expect::Err(Decode)),
        s(
            "object_for_a_quantity",
            json(
                200,
                r#"{"data": [{"id": "943", "code": "vitadine", "inventory": [{"warehouse_id": "2", "quantity": {"n": 5}}]}]}"#,
            ),
            Expect::Err(Decode),
        ),
        s("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        s("empty_200", answer(200, ""), Expect::Err(Decode)),
        s("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        s(
            "echoes_the_bearer_401",
            echo(
                401,
                r#"{"message": "Unauthorized -- token {echo} is wrong", "error": true}"#,
            ),
            Expect::Err(Auth),
        )
        .hits(2),
    ]);
    rows
}

/// The token endpoint, reached by a refresh after the invoice was refused with the
/// configured token.
fn token_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let t = |name, serve, expect| Row::new(name, Op::PushSale, TOKEN, serve, expect);
    vec![
        t(
            "token_truncated_json",
            json(200, r#"{"access_token":"acc-"#),
            Expect::Err(Decode),
        )
        .hits(1),
        t("token_number_for_object", json(200, "42"), Expect::Err(Decode)),
        t(
            "token_number_for_the_token",
            json(200, r#"{"access_token": 42}"#),
            Expect::Err(Decode),
        ),
        t("token_html_200", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        // A 5xx from the token endpoint is an outage: the transport tries once more.
        t("token_html_502", html(502, BAD_GATEWAY_PAGE), Expect::Err(Unavailable)).hits(2),
        t("token_empty_200", answer(200, ""), Expect::Err(Decode)),
        t("token_invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        t(
            "token_ten_megabytes",
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes")
        .hits(1),
        t(
            "token_ten_megabytes_streamed_without_length",
            Serve::Raw(Raw::TenMegabytesStreamed),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes"),
        // A token answer that never comes was delivered and unanswered: an outage,
        // tried once more, not a transport failure.
        t(
            "token_headers_then_stall",
            Serve::Raw(Raw::HeadersThenStall),
            Expect::Err(Unavailable),
        )
        .timeout_ms(300)
        .hits(2),
        t(
            "token_redirect_302_to_another_host",
            Serve::Redirect(302),
            Expect::Err(Redirected),
        )
        .hits(1),
        t(
            "token_retry_after_absurd",
            retry_after("99999999"),
            Expect::Err(RateLimited),
        )
        .retry_after(Some(Duration::from_secs(86_400)))
        .hits(1),
        t(
            "token_echoes_the_refresh_token_400",
            echo(
                400,
                r#"{"error": "invalid_grant", "error_description": "refresh token {echo} has expired"}"#,
            ),
            Expect::Err(Auth),
        )
        .hits(1),
        t(
            "token_echoes_the_client_secret_401",
            json(
                401,
                r#"{"error": "invalid_client", "error_description": "client pos-app with secret SECRET-CLIENT-7f3a is unknown"}"#,
            ),
            Expect::Err(Auth),
        ),
        t(
            "token_echoes_the_refresh_token_in_a_500",
            echo(500, r#"{"message": "could not refresh {echo}"}"#),
            Expect::Err(Unavailable),
        )
        .hits(2),
        t(
            "token_huge_error_description_400",
            json(
                400,
                &huge_message(SECRET).replacen(
                    "{\"message\": ",
                    r#"{"error": "invalid_grant", "error_description": "#,
                    1,
                ),
            ),
            Expect::Err(Auth),
        ),
    ]
}

#[tokio::test]
async fn hostile_answers_to_an_invoice() {
    run_all(invoice_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_a_return() {
    run_all(after_sale_rows(Op::PushReturn, RETURNS)).await;
}

#[tokio::test]
async fn hostile_answers_to_a_later_payment() {
    run_all(after_sale_rows(Op::AddPayment, PAYMENTS)).await;
}

#[tokio::test]
async fn hostile_answers_to_a_stock_read() {
    run_all(stock_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_a_token_refresh() {
    run_all(token_rows()).await;
}

#[tokio::test]
async fn the_default_cap_stops_a_ten_megabyte_body() {
    assert_eq!(
        Config::new().http.max_response_bytes,
        HttpConfig::default().max_response_bytes,
        "an Asalta config starts with the default cap"
    );
    let rows = vec![
        default_cap_row(
            "ten_megabytes_default_cap",
            Op::PushSale,
            INVOICES,
            CallClass::NonIdempotentWrite,
        ),
        default_cap_row("ten_megabytes_default_cap", Op::StockLevels, ITEMS, CallClass::Read),
        default_cap_row(
            "token_ten_megabytes_default_cap",
            Op::PushSale,
            TOKEN,
            CallClass::IdempotentWrite,
        ),
    ];
    run_all(rows).await;
}
