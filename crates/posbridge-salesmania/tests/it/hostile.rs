#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile responses, table-driven: what the SalesMania connector does when SalesMania
//! (or a proxy in front of it) answers an order, a stock read, or a step of the auth
//! chain before them, with garbage — truncated or mistyped JSON, HTML pages, empty and
//! invalid UTF-8 bodies, 10 MB bodies, a server that stalls after its headers or closes
//! mid-body, redirects to another host, every odd `Retry-After`, and answers that echo
//! a credential.
//!
//! The order `POST` is not idempotent (`docs/vendors/salesmania.md`, decisions 7, 8 and
//! 15): an answer that cannot be read after it was sent is `Uncertain`, settled by
//! reading the reference back — which here never finds it, so the rows stay
//! deterministic. Every row must end in the kind promised; the checks every row passes
//! (never a panic, never a hang, no secret — the password, nor the bearer and team
//! tokens the chain issued — in `Display`/`Debug` or in a body excerpt, short texts, the
//! other host untouched) and the raw front that serves what httpmock cannot are the
//! shared kit's (`posbridge_conformance::kit::hostile`).

use httpmock::HttpMockRequest;
use httpmock::prelude::*;
use posbridge_conformance::kit::hostile::*;
use posbridge_core::{Error, ErrorKind, HttpConfig, Sale, Sales, SecretString, Stock};
use posbridge_salesmania::{Config, SalesMania};
use serde_json::json;

// ------------------------------------------------------------------ the vendor

/// The API user's password (HTTP Basic, on the chain's first step).
const SECRET: &str = "SECRET-PASS-7f3a";
/// The tokens the chain issues.
const BEARER: &str = "SECRET-BEARER-c0de";
const TEAM_TOKEN: &str = "SECRET-TEAM-c0de";

const ORDERS: Target = Target {
    method: "POST",
    path: "/extapi/v1.0/orders",
};
const PRODUCTS: Target = Target {
    method: "GET",
    path: "/extapi/v1.0/products",
};
const BEARER_STEP: Target = Target {
    method: "GET",
    path: "/extapi/v1.0/token",
};
const DATABASES_STEP: Target = Target {
    method: "GET",
    path: "/extapi/v1.0/databases",
};
const TEAM_STEP: Target = Target {
    method: "GET",
    path: "/extapi/v1.0/team_token",
};

#[derive(Debug, Clone, Copy)]
enum Op {
    PushSale,
    StockLevels,
}

fn sale() -> Sale {
    serde_json::from_value(json!({
        "reference": "INV-1", "issued_at": "2026-11-26T03:15:00Z",
        "lines": [{"product_code": "TEA-100", "quantity": "1", "unit_price": "4500"}]
    }))
    .unwrap()
}

impl Vendor for Op {
    type Client = SalesMania;
    const SECRETS: &'static [&'static str] = &[SECRET, BEARER, TEAM_TOKEN];

    fn connector(base_url: &str, http: HttpConfig) -> SalesMania {
        SalesMania::new(
            Config::new("kasir@tokomaju.id", SecretString::from(SECRET), "Toko Maju")
                .with_base_url(base_url)
                .with_walk_in_customer_id(3000)
                .map_product("TEA-100", 501)
                .with_http(http),
        )
        .unwrap()
    }

    async fn call(self, client: &SalesMania) -> Result<String, Error> {
        match self {
            Op::PushSale => client.push_sale(&sale()).await.map(|r| format!("{r:?}")),
            Op::StockLevels => client
                .stock_snapshot()
                .await
                .map(|l| format!("{} stock levels", l.len())),
        }
    }

    /// The chain, the order look-up (never finding the reference), the order and the
    /// products answering as they should, but for `except`.
    async fn mock_the_rest(server: &MockServer, except: Target) {
        let answers = [
            (BEARER_STEP, json!({"token": BEARER, "token_type": "Bearer"})),
            (DATABASES_STEP, json!([{"id": 2981, "name": "Toko Maju"}])),
            (TEAM_STEP, json!({"team_token": TEAM_TOKEN})),
            (ORDERS, json!({})),
            (
                PRODUCTS,
                json!([{"id": 501, "name": "Teh", "ext_product_code": "TEA-100", "qty_on_hand": 10,
                        "product_units": [{"name": "PCS", "price": 4500, "ratio": 1}]}]),
            ),
        ];
        for (target, body) in answers {
            if target.method == except.method && target.path == except.path {
                continue;
            }
            server
                .mock_async(|when, then| {
                    when.method(target.method).path(target.path);
                    then.status(200).json_body(body);
                })
                .await;
        }
        // The look-up before and after the order: SalesMania has no such order.
        server
            .mock_async(|when, then| {
                when.method(GET).path(ORDERS.path).query_param_exists("ext_order_no");
                then.status(200).json_body(json!([]));
            })
            .await;
    }

    /// The team token of the query, else the bearer.
    fn echoed(req: &HttpMockRequest) -> String {
        req.query_params()
            .into_iter()
            .find(|(k, _)| k == "team_token")
            .map(|(_, team)| team)
            .or_else(|| bearer(req))
            .unwrap_or_default()
    }
}

// ------------------------------------------------------------------ the rows

fn order_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSale, ORDERS, serve, expect);
    // Decision 14: a 5xx other than 503 on the POST is Uncertain, never re-sent; a 3xx is not
    // followed (the bearer and team token stay with the configured host).
    let mut rows = transport_rows(Op::PushSale, ORDERS, CallClass::NonIdempotentWrite);
    rows.extend([
        // Decision 15: the answer must be empty or JSON, else Uncertain (and not found
        // when read back).
        p("truncated_json", json(200, r#"{"data": {"id": 90"#), Expect::Err(Uncertain)).hits(1),
        // Documented: any JSON (SalesMania answers `{}`) is a success; the id is learnt
        // by reading back.
        p("number_for_object", json(200, "42"), Expect::Ok),
        p("array_for_object", json(200, "[1, 2, 3]"), Expect::Ok),
        p("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Uncertain)).hits(1),
        // Documented: an empty answer is a success.
        p("empty_200", answer(200, ""), Expect::Ok),
        p("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Uncertain)),
        // SalesMania echoing the tokens it was sent. A refused token (401, or a 4xx
        // naming the team token) redoes the chain once and re-sends (decision 2).
        p(
            "echoes_the_team_token_422",
            echo(
                422,
                r#"{"message": "The given data was invalid.", "errors": {"ext_order_no": ["{echo} is not an order number"]}}"#,
            ),
            Expect::Err(Rejected),
        )
        .hits(1),
        p(
            "echoes_the_team_token_400_naming_it",
            echo(400, r#"{"message": "Team token {echo} expired"}"#),
            Expect::Err(Auth),
        )
        .hits(2),
        p(
            "echoes_the_bearer_401",
            echo(401, r#"{"message": "Unauthenticated: {echo}"}"#),
            Expect::Err(Auth),
        )
        .hits(2),
        p(
            "echoes_the_password_422",
            json(422, r#"{"message": "password SECRET-PASS-7f3a may not be used here"}"#),
            Expect::Err(Rejected),
        ),
        p("huge_error_message_422", json(422, &huge_message(SECRET)), Expect::Err(Rejected)),
        p(
            "huge_validation_details_422",
            json(
                422,
                &(huge_message(SECRET).replacen(
                    "{\"message\": ",
                    r#"{"message": "The given data was invalid.", "errors": {"ext_order_no": "#,
                    1,
                ) + "}"),
            ),
            Expect::Err(Rejected),
        ),
    ]);
    rows
}

fn stock_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let s = |name, serve, expect| Row::new(name, Op::StockLevels, PRODUCTS, serve, expect);
    // A read is retried where it may be: a 502 is seen twice (max_retries = 1).
    let mut rows = transport_rows(Op::StockLevels, PRODUCTS, CallClass::Read);
    rows.extend([
        s(
            "truncated_json",
            json(200, r#"[{"id": 501, "ext_product_code": "TEA-100", "qty_on_hand": 1"#),
            Expect::Err(Decode),
        )
        .hits(1),
        s("number_for_list", json(200, "42"), Expect::Err(Decode)),
        s("number_for_data", json(200, r#"{"data": 42}"#), Expect::Err(Decode)),
        s(
            "object_for_qty_on_hand",
            json(
                200,
                r#"[{"id": 501, "ext_product_code": "TEA-100", "qty_on_hand": {"n": 1}}]"#,
            ),
            Expect::Err(Decode),
        ),
        s("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        s("empty_200", answer(200, ""), Expect::Err(Decode)),
        s("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        s(
            "echoes_the_team_token_401",
            echo(401, r#"{"message": "Team token {echo} expired"}"#),
            Expect::Err(Auth),
        )
        .hits(2),
    ]);
    rows
}

fn chain_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let b = |name, serve, expect| Row::new(name, Op::PushSale, BEARER_STEP, serve, expect);
    let d = |name, serve, expect| Row::new(name, Op::PushSale, DATABASES_STEP, serve, expect);
    let t = |name, serve, expect| Row::new(name, Op::StockLevels, TEAM_STEP, serve, expect);
    vec![
        // Truncated JSON is not a bare token.
        b(
            "bearer_truncated_json",
            json(200, r#"{"token":"abc"#),
            Expect::Err(Decode),
        )
        .hits(1),
        b("bearer_truncated_array", json(200, r#"["abc"#), Expect::Err(Decode)),
        b("bearer_number_for_object", json(200, "42"), Expect::Err(Decode)),
        b(
            "bearer_number_for_the_token",
            json(200, r#"{"token": 42}"#),
            Expect::Err(Decode),
        ),
        b("bearer_html_200", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        // The chain's reads are retried after a 5xx, then reported as an outage.
        b("bearer_html_502", html(502, BAD_GATEWAY_PAGE), Expect::Err(Unavailable)).hits(2),
        b("bearer_empty_200", answer(200, ""), Expect::Err(Decode)),
        b(
            "bearer_invalid_utf8_200",
            answer(200, INVALID_UTF8),
            Expect::Err(Decode),
        ),
        b(
            "bearer_ten_megabytes",
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes")
        .hits(1),
        b(
            "bearer_headers_then_stall",
            Serve::Raw(Raw::HeadersThenStall),
            Expect::Err(Unavailable),
        )
        .timeout_ms(300)
        .hits(2),
        b(
            "bearer_redirect_302_to_another_host",
            Serve::Redirect(302),
            Expect::Err(Redirected),
        )
        .hits(1),
        b(
            "bearer_echoes_the_password_401",
            json(401, r#"{"message": "Password SECRET-PASS-7f3a salah"}"#),
            Expect::Err(Auth),
        )
        .hits(1),
        d(
            "databases_truncated_json",
            json(200, r#"[{"id": 2981, "na"#),
            Expect::Err(Decode),
        )
        .hits(1),
        d("databases_html_200", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        d(
            "databases_object_for_list",
            json(200, r#"{"data": {"id": 2981}}"#),
            Expect::Err(Decode),
        ),
        d(
            "databases_echo_the_bearer_401",
            echo(401, r#"{"message": "Unauthenticated: {echo}"}"#),
            Expect::Err(Auth),
        ),
        t(
            "team_token_truncated_json",
            json(200, r#"{"team_token":"abc"#),
            Expect::Err(Decode),
        )
        .hits(1),
        t("team_token_html_200", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        t(
            "team_token_ten_megabytes",
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes"),
    ]
}

#[tokio::test]
async fn hostile_answers_to_an_order() {
    run_all(order_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_a_stock_read() {
    run_all(stock_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_the_auth_chain() {
    run_all(chain_rows()).await;
}

#[tokio::test]
async fn the_default_cap_stops_a_ten_megabyte_body() {
    assert_eq!(
        Config::new("kasir@tokomaju.id", SecretString::from(SECRET), "Toko Maju")
            .http
            .max_response_bytes,
        HttpConfig::default().max_response_bytes,
        "a SalesMania config starts with the default cap"
    );
    let rows = vec![
        default_cap_row(
            "ten_megabytes_default_cap",
            Op::PushSale,
            ORDERS,
            CallClass::NonIdempotentWrite,
        ),
        default_cap_row("ten_megabytes_default_cap", Op::StockLevels, PRODUCTS, CallClass::Read),
    ];
    run_all(rows).await;
}
