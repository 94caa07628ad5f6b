#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile responses, table-driven: what the CloudMA connector does when CloudMA (or a
//! proxy in front of it) answers with garbage — truncated or mistyped JSON, HTML
//! pages, empty and invalid UTF-8 bodies, 10 MB bodies, a server that stalls after
//! its headers or closes mid-body, redirects to another host, every odd `Retry-After`,
//! and answers that echo the token.
//!
//! Every row must end in the kind `docs/vendors/cloudma.md` promises; the checks every
//! row passes (never a panic, never a hang, no secret in `Display`/`Debug` or in a body
//! excerpt, short texts, the other host untouched) and the raw front that serves what
//! httpmock cannot are the shared kit's (`posbridge_conformance::kit::hostile`).

use httpmock::HttpMockRequest;
use posbridge_cloudma::{CloudMa, Config};
use posbridge_conformance::kit::hostile::*;
use posbridge_core::{Error, ErrorKind, HttpConfig, Sale, Sales, SecretString, Stock};

// ------------------------------------------------------------------ the vendor

/// The API token, sent in every request body.
const SECRET: &str = "SECRET-TOKEN-7f3a";

const PUSH: Target = Target {
    method: "POST",
    path: "/api/push-sale",
};
const STOCK: Target = Target {
    method: "POST",
    path: "/api/sync-stock",
};

#[derive(Debug, Clone, Copy)]
enum Op {
    PushSale,
    StockLevels,
}

fn sale() -> Sale {
    serde_json::from_str(
        r#"{"reference": "INV-9", "issued_at": "2026-11-26T10:00:00+05:30",
            "customer": {"name": "Nimal", "email": "n@example.lk"},
            "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "450"}]}"#,
    )
    .unwrap()
}

// CloudMA has no auth endpoint: the token travels in the body. Nothing else to mock
// (the kit's `mock_the_rest` does nothing).
impl Vendor for Op {
    type Client = CloudMa;
    const SECRETS: &'static [&'static str] = &[SECRET];

    fn connector(base_url: &str, http: HttpConfig) -> CloudMa {
        CloudMa::new(
            Config::new(SecretString::from(SECRET))
                .with_base_url(base_url)
                .with_http(http),
        )
        .unwrap()
    }

    async fn call(self, client: &CloudMa) -> Result<String, Error> {
        match self {
            Op::PushSale => client.push_sale(&sale()).await.map(|r| format!("{r:?}")),
            Op::StockLevels => client
                .stock_snapshot()
                .await
                .map(|l| format!("{} stock levels", l.len())),
        }
    }

    /// The `token` form field.
    fn echoed(req: &HttpMockRequest) -> String {
        form_field(req, "token").unwrap_or_default()
    }
}

/// A JSON error naming the token it was sent.
const ECHO: &str = r#"{"message": "invalid token {echo}"}"#;
/// What a PHP back end in debug mode prints: its `$_POST`, token included.
const PRINT_R: &str = "<pre>Array\n(\n    [token] => SECRET-TOKEN-7f3a\n    [customer_name] => Nimal\n    [reference_no] => INV-9\n)\n</pre><b>Warning</b>: Undefined index: items";

// ------------------------------------------------------------------ the rows

fn push_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSale, PUSH, serve, expect);
    // A push is not idempotent: a failure after sending is Uncertain, never re-sent, and a
    // 3xx is not followed (the token stays with the configured host).
    let mut rows = transport_rows(Op::PushSale, PUSH, CallClass::NonIdempotentWrite);
    rows.extend([
        // An answer that cannot be read after the push was sent: it may have been booked.
        p(
            "truncated_json",
            json(200, r#"{"data": {"id": 4"#),
            Expect::Err(Uncertain),
        )
        .hits(1),
        // Documented: any JSON is a success, only an id is looked for (decision 10).
        p("number_for_object", json(200, "42"), Expect::Ok),
        p("array_for_object", json(200, "[1, 2, 3]"), Expect::Ok),
        p("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Uncertain)).hits(1),
        // Documented: "An empty body on a push is a success" (decision 11).
        p("empty_200", answer(200, ""), Expect::Ok),
        p("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Uncertain)),
        // CloudMA echoing the token back.
        p("echoes_the_token_400", echo(400, ECHO), Expect::Err(Rejected)),
        p("echoes_the_token_401", echo(401, ECHO), Expect::Err(Auth)),
        p(
            "php_print_r_of_the_post_200",
            html(200, PRINT_R),
            Expect::Err(Uncertain),
        ),
        p(
            "huge_error_message_400",
            json(400, &huge_message(SECRET)),
            Expect::Err(Rejected),
        ),
        p(
            "success_false_with_a_huge_message_200",
            json(200, &huge_message(SECRET).replacen('{', r#"{"success": false, "#, 1)),
            Expect::Err(Rejected),
        ),
    ]);
    rows
}

fn stock_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let s = |name, serve, expect| Row::new(name, Op::StockLevels, STOCK, serve, expect);
    // A read is retried where it may be: a 502 is seen twice (max_retries = 1).
    let mut rows = transport_rows(Op::StockLevels, STOCK, CallClass::Read);
    rows.extend([
        s(
            "truncated_json",
            json(200, r#"[{"code": "TEA-100", "qty": 1"#),
            Expect::Err(Decode),
        )
        .hits(1),
        s("number_for_list", json(200, "42"), Expect::Err(Decode)),
        s("number_for_data", json(200, r#"{"data": 42}"#), Expect::Err(Decode)),
        s(
            "object_for_qty",
            json(200, r#"[{"code": "TEA-100", "qty": {"n": 1}}]"#),
            Expect::Err(Decode),
        ),
        s("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        s("empty_200", answer(200, ""), Expect::Err(Decode)),
        s("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        s("echoes_the_token_401", echo(401, ECHO), Expect::Err(Auth)),
    ]);
    rows
}

#[tokio::test]
async fn hostile_answers_to_a_push() {
    run_all(push_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_a_stock_read() {
    run_all(stock_rows()).await;
}

#[tokio::test]
async fn the_default_cap_stops_a_ten_megabyte_body() {
    assert_eq!(
        Config::new(SecretString::from(SECRET)).http.max_response_bytes,
        HttpConfig::default().max_response_bytes,
        "a CloudMA config starts with the default cap"
    );
    let rows = vec![
        default_cap_row(
            "ten_megabytes_default_cap",
            Op::PushSale,
            PUSH,
            CallClass::NonIdempotentWrite,
        ),
        default_cap_row("ten_megabytes_default_cap", Op::StockLevels, STOCK, CallClass::Read),
    ];
    run_all(rows).await;
}
