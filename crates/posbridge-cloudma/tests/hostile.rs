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

use std::time::Duration;

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
    vec![
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
        p(
            "html_502_from_a_proxy",
            html(502, BAD_GATEWAY_PAGE),
            Expect::Err(Uncertain),
        )
        .hits(1),
        // Documented: "An empty body on a push is a success" (decision 11).
        p("empty_200", answer(200, ""), Expect::Ok),
        p("empty_500", answer(500, ""), Expect::Err(Uncertain)).hits(1),
        p("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Uncertain)),
        p("ten_megabytes", Serve::Raw(Raw::TenMegabytes), Expect::Err(Uncertain))
            .contains("exceeds 65536 bytes")
            .hits(1),
        p(
            "ten_megabytes_streamed_without_length",
            Serve::Raw(Raw::TenMegabytesStreamed),
            Expect::Err(Uncertain),
        )
        .contains("exceeds 65536 bytes"),
        p(
            "headers_then_stall",
            Serve::Raw(Raw::HeadersThenStall),
            Expect::Err(Uncertain),
        )
        .timeout_ms(300)
        .hits(1),
        p(
            "body_shorter_than_content_length",
            Serve::Raw(Raw::ShortBody),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p(
            "connection_closed_mid_chunk",
            Serve::Raw(Raw::ClosedMidChunk),
            Expect::Err(Uncertain),
        )
        .hits(1),
        // A 3xx is not followed: the token stays with the configured host.
        p(
            "redirect_302_to_another_host",
            Serve::Redirect(302),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p(
            "redirect_307_to_another_host",
            Serve::Redirect(307),
            Expect::Err(Uncertain),
        )
        .hits(1),
        // Retry-After: a wait within the cap is slept on; a longer one ends the call at
        // once; one that is past, negative or garbage counts as none (plain backoff).
        p(
            "retry_after_past_http_date",
            retry_after(PAST_DATE),
            Expect::Err(RateLimited),
        )
        .retry_after(None)
        .hits(2),
        p(
            "retry_after_future_http_date",
            retry_after(&in_an_hour()),
            Expect::Err(RateLimited),
        )
        .retry_after_about(3600)
        .hits(1),
        p("retry_after_negative", retry_after("-5"), Expect::Err(RateLimited))
            .retry_after(None)
            .hits(2),
        p("retry_after_absurd", retry_after("99999999"), Expect::Err(RateLimited))
            .retry_after(Some(Duration::from_secs(86_400)))
            .hits(1),
        p("retry_after_garbage", retry_after("soon-ish"), Expect::Err(RateLimited))
            .retry_after(None)
            .hits(2),
        p(
            "retry_after_short_is_honoured",
            retry_after("1"),
            Expect::Err(RateLimited),
        )
        .retry_after(Some(Duration::from_secs(1)))
        .at_least(Duration::from_secs(1))
        .hits(2),
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
    ]
}

fn stock_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let s = |name, serve, expect| Row::new(name, Op::StockLevels, STOCK, serve, expect);
    vec![
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
        // A read is retried: the 502 is seen twice (max_retries = 1).
        s(
            "html_502_from_a_proxy",
            html(502, BAD_GATEWAY_PAGE),
            Expect::Err(Unavailable),
        )
        .hits(2),
        s("empty_200", answer(200, ""), Expect::Err(Decode)),
        s("empty_500", answer(500, ""), Expect::Err(Unavailable)).hits(2),
        s("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        s("ten_megabytes", Serve::Raw(Raw::TenMegabytes), Expect::Err(Decode))
            .contains("exceeds 65536 bytes")
            .hits(1),
        s(
            "ten_megabytes_streamed_without_length",
            Serve::Raw(Raw::TenMegabytesStreamed),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes"),
        s(
            "headers_then_stall",
            Serve::Raw(Raw::HeadersThenStall),
            Expect::Err(Unavailable),
        )
        .timeout_ms(300)
        .hits(2),
        s(
            "body_shorter_than_content_length",
            Serve::Raw(Raw::ShortBody),
            Expect::Err(Unavailable),
        )
        .hits(2),
        s(
            "connection_closed_mid_chunk",
            Serve::Raw(Raw::ClosedMidChunk),
            Expect::Err(Unavailable),
        )
        .hits(2),
        s(
            "redirect_302_to_another_host",
            Serve::Redirect(302),
            Expect::Err(Redirected),
        ),
        s("retry_after_absurd", retry_after("99999999"), Expect::Err(RateLimited))
            .retry_after(Some(Duration::from_secs(86_400)))
            .hits(1),
        s("retry_after_garbage", retry_after("soon-ish"), Expect::Err(RateLimited))
            .retry_after(None)
            .hits(2),
        s("echoes_the_token_401", echo(401, ECHO), Expect::Err(Auth)),
    ]
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
    let cap = default_cap_text();
    assert_eq!(
        Config::new(SecretString::from(SECRET)).http.max_response_bytes,
        HttpConfig::default().max_response_bytes,
        "a CloudMA config starts with the default cap"
    );
    let rows = vec![
        Row::new(
            "ten_megabytes_default_cap",
            Op::PushSale,
            PUSH,
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(ErrorKind::Uncertain),
        )
        .default_cap()
        .contains(&cap),
        Row::new(
            "ten_megabytes_default_cap",
            Op::StockLevels,
            STOCK,
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(ErrorKind::Decode),
        )
        .default_cap()
        .contains(&cap),
    ];
    run_all(rows).await;
}
