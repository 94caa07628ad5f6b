#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile responses, table-driven: what the Codemax connector does when Codemax (or
//! a proxy in front of it) answers the sync, or the login before it, with garbage —
//! truncated or mistyped JSON, HTML pages, empty and invalid UTF-8 bodies, 10 MB
//! bodies, a server that stalls after its headers or closes mid-body, redirects to
//! another host, every odd `Retry-After`, and answers that echo a credential.
//!
//! The sync is not idempotent (`docs/vendors/codemax.md`, decision 8): an answer that
//! cannot be read after it was sent is `Uncertain`, and it is never re-sent. Every row
//! must end in the kind promised; the checks every row passes (never a panic, never a
//! hang, no secret — the password, nor the tokens the login issued — in
//! `Display`/`Debug` or in a body excerpt, short texts, the other host untouched) and
//! the raw front that serves what httpmock cannot are the shared kit's
//! (`posbridge_conformance::kit::hostile`).

use std::time::Duration;

use httpmock::HttpMockRequest;
use httpmock::prelude::*;
use posbridge_codemax::{Codemax, Config};
use posbridge_conformance::kit::hostile::*;
use posbridge_core::{Error, ErrorKind, HttpConfig, Sale, SaleRef, Sales, SecretString, Void, Voids};
use serde_json::{Value, json};

// ------------------------------------------------------------------ the vendor

/// The POS Live Sync password, sent to log in.
const SECRET: &str = "SECRET-PASS-7f3a";
/// The tokens the login and the refresh issue.
const ACCESS: &str = "SECRET-ACCESS-c0de1";
const REFRESH: &str = "SECRET-REFRESH-c0de1";
const ACCESS_2: &str = "SECRET-ACCESS-c0de2";
const REFRESH_2: &str = "SECRET-REFRESH-c0de2";

const SYNC: Target = Target {
    method: "POST",
    path: "/api/v1/sync",
};
const LOGIN: Target = Target {
    method: "POST",
    path: "/api/v1/auth/login",
};
const REFRESH_PATH: &str = "/api/v1/auth/refresh";

#[derive(Debug, Clone, Copy)]
enum Op {
    PushSale,
    /// `Voids::void_sale` of INV-1: the same sync, with the void record.
    VoidSale,
}

fn sale() -> Sale {
    serde_json::from_value(json!({
        "reference": "INV-1", "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "4.50"}]
    }))
    .unwrap()
}

impl Vendor for Op {
    type Client = Codemax;
    const SECRETS: &'static [&'static str] = &[SECRET, ACCESS, REFRESH, ACCESS_2, REFRESH_2];

    fn connector(base_url: &str, http: HttpConfig) -> Codemax {
        Codemax::new(
            Config::new("pos-kl01", SecretString::from(SECRET), "KL01")
                .with_base_url(base_url)
                .with_http(http),
        )
        .unwrap()
    }

    async fn call(self, client: &Codemax) -> Result<String, Error> {
        match self {
            Op::PushSale => client.push_sale(&sale()).await.map(|r| format!("{r:?}")),
            Op::VoidSale => client
                .void_sale(&Void::of(SaleRef::pos("INV-1")))
                .await
                .map(|r| format!("{r:?}")),
        }
    }

    /// The login, the refresh and the sync answering as they should, but for `except`.
    async fn mock_the_rest(server: &MockServer, except: Target) {
        let token = |access: &str, refresh: &str| {
            json!({"code": "00", "message": "Login successful", "access_token": access,
                   "refresh_token": refresh, "expires_in": 900})
        };
        if except.path != LOGIN.path {
            server
                .mock_async(|when, then| {
                    when.method(POST).path(LOGIN.path);
                    then.status(200).json_body(token(ACCESS, REFRESH));
                })
                .await;
        }
        server
            .mock_async(|when, then| {
                when.method(POST).path(REFRESH_PATH);
                then.status(200).json_body(token(ACCESS_2, REFRESH_2));
            })
            .await;
        if except.path != SYNC.path {
            server
                .mock_async(|when, then| {
                    when.method(POST).path(SYNC.path);
                    then.status(200)
                        .json_body(json!({"code": "00", "message": "Invoices synced",
                        "results": [{"invoice_no": "INV-1", "status": "success", "code": "00"}]}));
                })
                .await;
        }
    }

    /// The bearer token, else the password of a login.
    fn echoed(req: &HttpMockRequest) -> String {
        bearer(req)
            .or_else(|| {
                serde_json::from_slice::<Value>(req.body_ref())
                    .ok()
                    .and_then(|v| v.get("password")?.as_str().map(str::to_owned))
            })
            .unwrap_or_default()
    }
}

// ------------------------------------------------------------------ the rows

fn sync_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSale, SYNC, serve, expect);
    // Decision 10: a 5xx other than 503 after sending is Uncertain, never re-sent; a 3xx is
    // not followed (the bearer stays with the configured host).
    let mut rows = transport_rows(Op::PushSale, SYNC, CallClass::NonIdempotentWrite);
    rows.extend([
        // Decision 9: anything but a readable answer after sending is Uncertain.
        p(
            "truncated_json",
            json(200, r#"{"code": "00", "results": [{"invoice_no": "INV-1"#),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p("number_for_object", json(200, "42"), Expect::Err(Uncertain)),
        p(
            "array_for_object",
            json(200, r#"[{"invoice_no": "INV-1", "status": "success"}]"#),
            Expect::Err(Uncertain),
        ),
        p(
            "number_for_results",
            json(200, r#"{"code": "00", "results": 42}"#),
            Expect::Err(Uncertain),
        ),
        p(
            "number_for_a_result",
            json(200, r#"{"code": "00", "results": [7]}"#),
            Expect::Err(Uncertain),
        ),
        p("html_200_from_a_proxy", html(200, PORTAL_PAGE), Expect::Err(Uncertain)).hits(1),
        p("empty_200", answer(200, ""), Expect::Err(Uncertain)),
        p("invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Uncertain)),
        // Codemax echoing the bearer it was sent; a 401 renews the token once and re-sends.
        p(
            "echoes_the_bearer_400",
            echo(
                400,
                r#"{"code": "21", "message": "malformed request with token {echo}"}"#,
            ),
            Expect::Err(Rejected),
        ),
        p(
            "echoes_the_bearer_401",
            echo(401, r#"{"code": "11", "message": "Access token {echo} expired"}"#),
            Expect::Err(Auth),
        )
        .hits(2),
        p(
            "echoes_the_password_400",
            json(
                400,
                r#"{"code": "21", "message": "user pos-kl01 password SECRET-PASS-7f3a is locked"}"#,
            ),
            Expect::Err(Rejected),
        ),
        p(
            "huge_error_message_400",
            json(400, &huge_message(SECRET)),
            Expect::Err(Rejected),
        ),
        p(
            "huge_message_in_an_invoice_result",
            json(
                200,
                &(huge_message(SECRET).replacen(
                    "{\"message\"",
                    r#"{"code": "01", "results": [{"invoice_no": "INV-1", "status": "failed", "code": "31", "message""#,
                    1,
                ) + "]}"),
            ),
            Expect::Err(Rejected),
        ),
    ]);
    rows
}

fn login_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let a = |name, serve, expect| Row::new(name, Op::PushSale, LOGIN, serve, expect);
    vec![
        a(
            "login_truncated_json",
            json(200, r#"{"code": "00", "access_token": "acc-"#),
            Expect::Err(Decode),
        )
        .hits(1),
        a("login_number_for_object", json(200, "42"), Expect::Err(Decode)),
        a(
            "login_number_for_the_token",
            json(200, r#"{"code": "00", "access_token": 42}"#),
            Expect::Err(Decode),
        ),
        a("login_html_200", html(200, PORTAL_PAGE), Expect::Err(Decode)),
        // Logging in is idempotent: a 5xx is retried, then reported as such.
        a("login_html_502", html(502, BAD_GATEWAY_PAGE), Expect::Err(Unavailable)).hits(2),
        a("login_empty_200", answer(200, ""), Expect::Err(Decode)),
        a("login_invalid_utf8_200", answer(200, INVALID_UTF8), Expect::Err(Decode)),
        a(
            "login_ten_megabytes",
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(Decode),
        )
        .contains("exceeds 65536 bytes")
        .hits(1),
        a(
            "login_headers_then_stall",
            Serve::Raw(Raw::HeadersThenStall),
            Expect::Err(Unavailable),
        )
        .timeout_ms(300)
        .hits(2),
        a(
            "login_redirect_302_to_another_host",
            Serve::Redirect(302),
            Expect::Err(Redirected),
        )
        .hits(1),
        a(
            "login_retry_after_absurd",
            retry_after("99999999"),
            Expect::Err(RateLimited),
        )
        .retry_after(Some(Duration::from_secs(86_400)))
        .hits(1),
        a(
            "login_echoes_the_password_401",
            echo(401, r#"{"code": "10", "message": "Invalid password {echo}"}"#),
            Expect::Err(Auth),
        )
        .hits(1),
    ]
}

#[tokio::test]
async fn hostile_answers_to_a_sync() {
    run_all(sync_rows()).await;
}

/// A void is the same sync (decision 8 and "Returns, voids and payments"): not
/// idempotent, so the same transport rows, and an unreadable answer is `Uncertain`.
fn void_rows() -> Vec<Row<Op>> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::VoidSale, SYNC, serve, expect);
    let mut rows = transport_rows(Op::VoidSale, SYNC, CallClass::NonIdempotentWrite);
    rows.extend([
        p(
            "void_truncated_json",
            json(200, r#"{"code": "00", "results": [{"invoice_no": "INV-1"#),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p(
            "void_of_an_unknown_invoice",
            json(
                200,
                r#"{"code": "01", "results": [{"invoice_no": "INV-1", "status": "failed", "code": "34"}]}"#,
            ),
            Expect::Err(Rejected),
        )
        .hits(1),
    ]);
    rows
}

#[tokio::test]
async fn hostile_answers_to_a_void() {
    run_all(void_rows()).await;
}

#[tokio::test]
async fn hostile_answers_to_the_login() {
    run_all(login_rows()).await;
}

#[tokio::test]
async fn the_default_cap_stops_a_ten_megabyte_body() {
    assert_eq!(
        Config::new("pos-kl01", SecretString::from(SECRET), "KL01")
            .http
            .max_response_bytes,
        HttpConfig::default().max_response_bytes,
        "a Codemax config starts with the default cap"
    );
    let rows = vec![
        default_cap_row(
            "ten_megabytes_default_cap",
            Op::PushSale,
            SYNC,
            CallClass::NonIdempotentWrite,
        ),
        default_cap_row(
            "login_ten_megabytes_default_cap",
            Op::PushSale,
            LOGIN,
            CallClass::IdempotentWrite,
        ),
    ];
    run_all(rows).await;
}
