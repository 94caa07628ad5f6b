#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile responses, table-driven: what the Codemax connector does when Codemax (or
//! a proxy in front of it) answers the sync, or the login before it, with garbage —
//! truncated or mistyped JSON, HTML pages, empty and invalid UTF-8 bodies, 10 MB
//! bodies, a server that stalls after its headers or closes mid-body, redirects to
//! another host, every odd `Retry-After`, and answers that echo a credential.
//!
//! The sync is not idempotent (`docs/vendors/codemax.md`, decision 8): an answer that
//! cannot be read after it was sent is `Uncertain`, and it is never re-sent. Every row
//! must end in the kind promised (never a panic, never a hang), show no secret (the
//! password, nor the tokens the login issued) in `Display`/`Debug` or in a body
//! excerpt, keep its text short, and leave the other host untouched. httpmock serves
//! the answers it can produce; a raw front (a std `TcpListener` forwarding everything
//! else to httpmock) serves what it cannot.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use posbridge_codemax::{Codemax, Config};
use posbridge_core::error::EXCERPT_LEN;
use posbridge_core::{Error, ErrorKind, HttpConfig, RetryConfig, Sale, Sales, SecretString};
use serde_json::{Value, json};

// ------------------------------------------------------------------ the vendor

/// The POS Live Sync password, sent to log in.
const SECRET: &str = "SECRET-PASS-7f3a";
/// The tokens the login and the refresh issue.
const ACCESS: &str = "SECRET-ACCESS-c0de1";
const REFRESH: &str = "SECRET-REFRESH-c0de1";
const ACCESS_2: &str = "SECRET-ACCESS-c0de2";
const REFRESH_2: &str = "SECRET-REFRESH-c0de2";
/// Nothing of these may show in an error.
const SECRETS: &[&str] = &[SECRET, ACCESS, REFRESH, ACCESS_2, REFRESH_2];

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
}

fn connector(base_url: &str, http: HttpConfig) -> Codemax {
    Codemax::new(
        Config::new("pos-kl01", SecretString::from(SECRET), "KL01")
            .with_base_url(base_url)
            .with_http(http),
    )
    .unwrap()
}

fn sale() -> Sale {
    serde_json::from_value(json!({
        "reference": "INV-1", "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": "4.50"}]
    }))
    .unwrap()
}

async fn call(client: &Codemax, op: Op) -> Result<String, Error> {
    match op {
        Op::PushSale => client.push_sale(&sale()).await.map(|r| format!("{r:?}")),
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

/// The credential a request carried, as a vendor echoing it would show it: the
/// bearer token, else the password of a login.
fn echoed(req: &HttpMockRequest) -> String {
    let headers = req.headers();
    if let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return token.to_owned();
    }
    serde_json::from_slice::<Value>(req.body_ref())
        .ok()
        .and_then(|v| v.get("password")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

// ------------------------------------------------------------------ the rows

fn sync_rows() -> Vec<Row> {
    use ErrorKind::*;
    let p = |name, serve, expect| Row::new(name, Op::PushSale, SYNC, serve, expect);
    vec![
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
        // Decision 10: a 5xx other than 503 after sending is Uncertain, never re-sent.
        p(
            "html_502_from_a_proxy",
            html(502, BAD_GATEWAY_PAGE),
            Expect::Err(Uncertain),
        )
        .hits(1),
        p("empty_200", answer(200, ""), Expect::Err(Uncertain)),
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
        // A 3xx is not followed: the bearer stays with the configured host.
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
            json(400, &huge_message()),
            Expect::Err(Rejected),
        ),
        p(
            "huge_message_in_an_invoice_result",
            json(
                200,
                &(huge_message().replacen(
                    "{\"message\"",
                    r#"{"code": "01", "results": [{"invoice_no": "INV-1", "status": "failed", "code": "31", "message""#,
                    1,
                ) + "]}"),
            ),
            Expect::Err(Rejected),
        ),
    ]
}

fn login_rows() -> Vec<Row> {
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

#[tokio::test]
async fn hostile_answers_to_the_login() {
    run_all(login_rows()).await;
}

#[tokio::test]
async fn the_default_cap_stops_a_ten_megabyte_body() {
    let default = HttpConfig::default();
    assert!(
        default.max_response_bytes > 0 && default.max_response_bytes < TEN_MB,
        "the default cap ({} bytes) must stop a 10 MB body",
        default.max_response_bytes
    );
    assert_eq!(
        Config::new("pos-kl01", SecretString::from(SECRET), "KL01")
            .http
            .max_response_bytes,
        default.max_response_bytes,
        "a Codemax config starts with the default cap"
    );
    let cap = format!("exceeds {} bytes", default.max_response_bytes);
    let rows = vec![
        Row::new(
            "ten_megabytes_default_cap",
            Op::PushSale,
            SYNC,
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(ErrorKind::Uncertain),
        )
        .default_cap()
        .contains(&cap),
        Row::new(
            "login_ten_megabytes_default_cap",
            Op::PushSale,
            LOGIN,
            Serve::Raw(Raw::TenMegabytes),
            Expect::Err(ErrorKind::Decode),
        )
        .default_cap()
        .contains(&cap),
    ];
    run_all(rows).await;
}

// =====================================================================================
// The table's machinery, the same in every vendor's `tests/hostile.rs`: the vendor
// section above provides `SECRET`, `SECRETS`, `Op`, `connector`, `call`,
// `mock_the_rest` and `echoed`.
// =====================================================================================

// ------------------------------------------------------------------ hostile bodies

const PORTAL_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Hotel Wi-Fi</title><style>body{font-family:sans-serif}</style></head>\n<body><h1>Welcome!</h1><p>Please accept the terms of use to continue browsing. Your session will last 24 hours. Contact the front desk for help.</p><form method=\"post\"><button>Accept</button></form></body></html>\n";
const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
const INVALID_UTF8: &[u8] = b"\xff\xfe{\"data\": {\"id\": \"\xc3\x28\xa0\xa1\"}}";
const PAST_DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
const TEN_MB: usize = 10 * 1024 * 1024;

/// A JSON error whose message is 50 000 characters, the token in the middle.
fn huge_message() -> String {
    let filler = "x".repeat(25_000);
    format!(r#"{{"message": "{filler} token {SECRET} {filler}"}}"#)
}

fn in_an_hour() -> String {
    let at = posbridge_core::jiff::Timestamp::now() + posbridge_core::jiff::SignedDuration::from_secs(3600);
    at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The 10 MB body, made once for the whole test binary.
fn ten_megabytes() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = Vec::with_capacity(TEN_MB);
        body.extend_from_slice(b"{\"data\": [\"");
        body.resize(TEN_MB, b'a');
        body
    })
}

// ------------------------------------------------------------------ the table's machinery

/// The endpoint that misbehaves.
#[derive(Debug, Clone, Copy)]
struct Target {
    method: &'static str,
    path: &'static str,
}

/// What the server does at the target.
enum Serve {
    /// An answer httpmock gives.
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// A JSON answer echoing the credential the request carried (see `echoed`) where
    /// the template says `{echo}`.
    Echo { status: u16, template: &'static str },
    /// A redirect (302, 307) to the same path on another host.
    Redirect(u16),
    /// What httpmock cannot do, done by the raw front.
    Raw(Raw),
}

#[derive(Debug, Clone, Copy)]
enum Raw {
    /// 200 with `Content-Length: 10485760`, then the 10 MB.
    TenMegabytes,
    /// 200 without a length (the body ends when the connection does), 10 MB streamed.
    TenMegabytesStreamed,
    /// 200 with `Content-Length: 100`, then nothing for 10 s.
    HeadersThenStall,
    /// `Content-Length: 1000`, 38 bytes, then the connection closes.
    ShortBody,
    /// A chunked body whose connection closes after the first chunk.
    ClosedMidChunk,
}

#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(
    dead_code,
    reason = "not every vendor has a hostile answer it documents as a success"
)]
enum Expect {
    Ok,
    Err(ErrorKind),
}

fn answer(status: u16, body: impl AsRef<[u8]>) -> Serve {
    Serve::Answer {
        status,
        headers: Vec::new(),
        body: body.as_ref().to_vec(),
    }
}

fn json(status: u16, body: &str) -> Serve {
    Serve::Answer {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn html(status: u16, body: &str) -> Serve {
    Serve::Answer {
        status,
        headers: vec![("content-type", "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn echo(status: u16, template: &'static str) -> Serve {
    Serve::Echo { status, template }
}

fn retry_after(value: &str) -> Serve {
    Serve::Answer {
        status: 429,
        headers: vec![("retry-after", value.to_owned())],
        body: b"{\"message\": \"Too Many Requests\"}".to_vec(),
    }
}

struct Row {
    name: &'static str,
    op: Op,
    target: Target,
    serve: Serve,
    expect: Expect,
    /// The whole-request timeout (2 s; 300 ms for the stalling server).
    timeout_ms: u64,
    /// The default `max_response_bytes` rather than 64 KiB.
    default_cap: bool,
    /// How many times the target must have been asked.
    hits: Option<usize>,
    /// `Some(expected)`: the error's `retry_after()`, exactly.
    retry_after: Option<Option<Duration>>,
    /// The error's `retry_after()` in seconds, give or take 10 (an HTTP date).
    retry_after_about: Option<u64>,
    /// Text the error's `Display` must contain.
    contains: Option<String>,
    /// The call takes at least this long (a honoured `Retry-After`), and at most `within`.
    at_least: Duration,
    within: Duration,
}

impl Row {
    fn new(name: &'static str, op: Op, target: Target, serve: Serve, expect: Expect) -> Self {
        Self {
            name,
            op,
            target,
            serve,
            expect,
            timeout_ms: 2_000,
            default_cap: false,
            hits: None,
            retry_after: None,
            retry_after_about: None,
            contains: None,
            at_least: Duration::ZERO,
            within: Duration::from_secs(5),
        }
    }

    fn hits(mut self, n: usize) -> Self {
        self.hits = Some(n);
        self
    }

    fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }

    fn default_cap(mut self) -> Self {
        self.default_cap = true;
        self
    }

    fn retry_after(mut self, expected: Option<Duration>) -> Self {
        self.retry_after = Some(expected);
        self
    }

    fn retry_after_about(mut self, secs: u64) -> Self {
        self.retry_after_about = Some(secs);
        self
    }

    fn contains(mut self, text: &str) -> Self {
        self.contains = Some(text.to_owned());
        self
    }

    fn at_least(mut self, d: Duration) -> Self {
        self.at_least = d;
        self
    }

    fn http(&self) -> HttpConfig {
        let default = HttpConfig::default();
        HttpConfig {
            timeout_ms: self.timeout_ms,
            connect_timeout_ms: 1_000,
            max_response_bytes: if self.default_cap {
                default.max_response_bytes
            } else {
                64 * 1024
            },
            retry: RetryConfig {
                max_retries: 1,
                min_delay_ms: 10,
                max_delay_ms: 20,
                max_retry_after_ms: 2_000,
                jitter: false,
            },
            ..default
        }
    }
}

async fn run_all(rows: Vec<Row>) {
    let mut failures = Vec::new();
    for row in &rows {
        if let Err(why) = run(row).await {
            failures.push(format!("{} ({:?}): {why}", row.name, row.op));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

async fn run(row: &Row) -> Result<(), String> {
    let server = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    mock_the_rest(&server, row.target).await;
    let other_host = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("{}");
        })
        .await;
    let mut mock = None;
    let mut front = None;
    let echoes = Arc::new(AtomicUsize::new(0));
    let base_url = match &row.serve {
        Serve::Answer { status, headers, body } => {
            let m = server
                .mock_async(|when, then| {
                    when.method(row.target.method).path(row.target.path);
                    headers
                        .iter()
                        .fold(then.status(*status).body(body), |t, (k, v)| t.header(*k, v.as_str()));
                })
                .await;
            mock = Some(m);
            server.base_url()
        }
        Serve::Echo { status, template } => {
            let (status, template, echoes) = (*status, *template, echoes.clone());
            mock = Some(
                server
                    .mock_async(|when, then| {
                        when.method(row.target.method).path(row.target.path);
                        then.respond_with(move |req: &HttpMockRequest| {
                            let credential = echoed(req);
                            if SECRETS.contains(&credential.as_str()) {
                                echoes.fetch_add(1, Ordering::SeqCst);
                            }
                            HttpMockResponse::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(template.replace("{echo}", &credential))
                                .build()
                        });
                    })
                    .await,
            );
            server.base_url()
        }
        Serve::Redirect(status) => {
            let location = elsewhere.url(row.target.path);
            mock = Some(
                server
                    .mock_async(|when, then| {
                        when.method(row.target.method).path(row.target.path);
                        then.status(*status).header("location", location.as_str());
                    })
                    .await,
            );
            server.base_url()
        }
        Serve::Raw(raw) => {
            let f = Front::start(*server.address(), row.target, *raw);
            let url = f.base_url.clone();
            front = Some(f);
            url
        }
    };

    let (http, op) = (row.http(), row.op);
    let started = Instant::now();
    let task = tokio::spawn(async move {
        let client = connector(&base_url, http);
        call(&client, op).await
    });
    let outcome = match tokio::time::timeout(Duration::from_secs(20), task).await {
        Err(_) => return Err("hung: no outcome after 20 s".into()),
        Ok(Err(join)) => return Err(format!("panicked: {join}")),
        Ok(Ok(outcome)) => outcome,
    };
    let elapsed = started.elapsed();

    let mut problems = Vec::new();
    match (&row.expect, &outcome) {
        (Expect::Ok, Ok(_)) => {}
        (Expect::Err(kind), Err(e)) if e.kind() == *kind => {}
        (expect, got) => problems.push(format!("expected {expect:?}, got {}", short(&format!("{got:?}")))),
    }
    if let Err(e) = &outcome {
        problems.extend(check_error(e, row));
    }
    if elapsed > row.within || elapsed < row.at_least {
        problems.push(format!(
            "took {elapsed:?}, expected between {:?} and {:?}",
            row.at_least, row.within
        ));
    }
    let hits = match (&mock, &front) {
        (Some(m), _) => m.calls_async().await,
        (None, Some(f)) => f.hits.load(Ordering::SeqCst),
        (None, None) => 0,
    };
    if let Some(expected) = row.hits
        && hits != expected
    {
        problems.push(format!("the target was asked {hits} times, expected {expected}"));
    }
    if matches!(row.serve, Serve::Echo { .. }) && echoes.load(Ordering::SeqCst) == 0 {
        problems.push("the server echoed no secret: the row tests nothing".into());
    }
    let elsewhere_hits = other_host.calls_async().await;
    if elsewhere_hits != 0 {
        problems.push(format!("the other host received {elsewhere_hits} requests"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The checks every error passes: no secret anywhere, short texts, the row's extras.
fn check_error(e: &Error, row: &Row) -> Vec<String> {
    let mut problems = Vec::new();
    let shown = format!("{e}");
    let debug = format!("{e:?}");
    for secret in SECRETS {
        if shown.contains(secret) || debug.contains(secret) {
            problems.push(format!("the secret {secret:?} leaked: {}", short(&shown)));
        }
    }
    if shown.chars().count() >= 600 {
        problems.push(format!("Display is {} characters long", shown.chars().count()));
    }
    if debug.chars().count() >= 2_000 {
        problems.push(format!("Debug is {} characters long", debug.chars().count()));
    }
    if let Error::Decode { excerpt, .. } = e {
        if excerpt.chars().count() > EXCERPT_LEN + 1 {
            problems.push(format!("the excerpt is {} characters long", excerpt.chars().count()));
        }
        if SECRETS.iter().any(|s| excerpt.contains(s)) {
            problems.push("the excerpt shows a secret".into());
        }
    }
    if let Some(text) = &row.contains
        && !shown.contains(text.as_str())
    {
        problems.push(format!("{:?} does not say {text:?}", short(&shown)));
    }
    if let Some(expected) = row.retry_after
        && e.retry_after() != expected
    {
        problems.push(format!("retry_after is {:?}, expected {expected:?}", e.retry_after()));
    }
    if let Some(secs) = row.retry_after_about {
        let ok = e.retry_after().is_some_and(|d| d.as_secs().abs_diff(secs) <= 10);
        if !ok {
            problems.push(format!("retry_after is {:?}, expected about {secs} s", e.retry_after()));
        }
    }
    problems
}

/// At most 300 characters of `text`, for failure reports.
fn short(text: &str) -> String {
    let mut out: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// A raw HTTP front: the target misbehaves as told; every other request is forwarded
/// to httpmock (one request per connection).
struct Front {
    base_url: String,
    hits: Arc<AtomicUsize>,
}

impl Front {
    fn start(upstream: SocketAddr, target: Target, raw: Raw) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || serve_connection(conn, upstream, target, raw, &counter));
            }
        });
        Self { base_url, hits }
    }
}

fn serve_connection(mut conn: TcpStream, upstream: SocketAddr, target: Target, raw: Raw, hits: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((head, body)) = read_request(&mut conn) else {
        return;
    };
    let mut request_line = head.split(' ');
    let method = request_line.next().unwrap_or_default();
    let path = request_line
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    if method == target.method && path == target.path {
        hits.fetch_add(1, Ordering::SeqCst);
        misbehave(&mut conn, raw);
    } else {
        forward(&mut conn, upstream, &head, &body);
    }
}

fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Sends the request to httpmock with `connection: close` and relays the answer,
/// also marked `connection: close`.
fn forward(conn: &mut TcpStream, upstream: SocketAddr, head: &str, body: &[u8]) {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = up.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = up.write_all(close_connection(head).as_bytes());
    let _ = up.write_all(body);
    let mut response = Vec::new();
    let _ = up.read_to_end(&mut response);
    let Some(p) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let head = close_connection(&String::from_utf8_lossy(&response[..p + 4]));
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&response[p + 4..]);
}

fn close_connection(head: &str) -> String {
    let mut out: String = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("connection: close\r\n\r\n");
    out
}

fn misbehave(conn: &mut TcpStream, raw: Raw) {
    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n";
    match raw {
        Raw::TenMegabytes => {
            let _ = conn.write_all(format!("{ok}content-length: {TEN_MB}\r\n\r\n").as_bytes());
            let _ = conn.write_all(ten_megabytes());
        }
        Raw::TenMegabytesStreamed => {
            let _ = conn.write_all(format!("{ok}\r\n").as_bytes());
            let _ = conn.write_all(ten_megabytes());
        }
        Raw::HeadersThenStall => {
            let _ = conn.write_all(format!("{ok}content-length: 100\r\n\r\n").as_bytes());
            let _ = conn.flush();
            std::thread::sleep(Duration::from_secs(10));
        }
        Raw::ShortBody => {
            let _ = conn.write_all(format!("{ok}content-length: 1000\r\n\r\n").as_bytes());
            let _ = conn.write_all(br#"{"data": {"id": 42, "status": "boo"#);
        }
        Raw::ClosedMidChunk => {
            let _ = conn.write_all(format!("{ok}transfer-encoding: chunked\r\n\r\n").as_bytes());
            let _ = conn.write_all(b"20\r\n{\"data\": {\"id\": 42, \"status\": \"b\r\n");
        }
    }
    let _ = conn.flush();
}
