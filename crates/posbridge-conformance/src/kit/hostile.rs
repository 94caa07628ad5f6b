//! Hostile responses, table-driven: what a connector does when its vendor (or a proxy
//! in front of it) answers with garbage — truncated or mistyped JSON, HTML pages,
//! empty and invalid UTF-8 bodies, 10 MB bodies, a server that stalls after its
//! headers or closes mid-body, redirects to another host, every odd `Retry-After`,
//! and answers that echo a credential.
//!
//! A vendor's `tests/hostile.rs` implements [`Vendor`] on its enum of operations
//! (how to build the client against a base URL, how to call each operation, its
//! secrets, how it echoes a credential, what else must be mocked) and lists its
//! [`Row`]s; [`run_all`] runs them. The transport rows, which end alike for every
//! vendor given the [`CallClass`] of the call (a 502 from a proxy, 10 MB bodies, a
//! stall, redirects, every odd `Retry-After`…), come from [`transport_rows`]; the
//! vendor writes the rest (its bodies, its echoes, its documented exceptions). Every row must end in the kind the vendor's notes
//! promise (never a panic, never a hang), show no secret in `Display`/`Debug` or in a
//! body excerpt, keep its text short, and leave the other host untouched. httpmock
//! serves the answers it can produce; a raw front (a std `TcpListener` forwarding
//! everything else to httpmock) serves what it cannot.
//!
//! ```no_run
//! use httpmock::HttpMockRequest;
//! use posbridge_conformance::kit::hostile::*;
//! use posbridge_core::{Error, ErrorKind, HttpConfig};
//!
//! # struct Client;
//! # impl Client {
//! #     fn new(_base_url: &str, _http: HttpConfig) -> Self { Client }
//! #     async fn stock(&self) -> Result<usize, Error> { Ok(0) }
//! # }
//! const STOCK: Target = Target { method: "GET", path: "/api/stock" };
//!
//! #[derive(Debug, Clone, Copy)]
//! enum Op {
//!     StockLevels,
//! }
//!
//! impl Vendor for Op {
//!     type Client = Client;
//!     const SECRETS: &'static [&'static str] = &["SECRET-TOKEN"];
//!     fn connector(base_url: &str, http: HttpConfig) -> Client {
//!         Client::new(base_url, http)
//!     }
//!     async fn call(self, client: &Client) -> Result<String, Error> {
//!         client.stock().await.map(|n| format!("{n} stock levels"))
//!     }
//!     fn echoed(req: &HttpMockRequest) -> String {
//!         bearer(req).unwrap_or_default()
//!     }
//! }
//!
//! # async fn example() {
//! let mut rows = transport_rows(Op::StockLevels, STOCK, CallClass::Read);
//! rows.push(Row::new("html_200_from_a_proxy", Op::StockLevels, STOCK, html(200, PORTAL_PAGE), Expect::Err(ErrorKind::Decode)));
//! run_all(rows).await;
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use posbridge_core::error::EXCERPT_LEN;
use posbridge_core::{Error, ErrorKind, HttpConfig, RetryConfig};

use super::front::Front;
pub use super::front::{Raw, TEN_MB, Target};

// ------------------------------------------------------------------ the vendor

/// A vendor as the table sees it, implemented by the vendor's enum of the operations
/// its rows call.
pub trait Vendor: fmt::Debug + Copy + Send + 'static {
    /// The vendor's client.
    type Client: Send + Sync + 'static;
    /// Everything that must not show in an error: the credentials the client is
    /// configured with and the tokens the mocked vendor issues.
    const SECRETS: &'static [&'static str];
    /// The client, pointed at `base_url`, with the row's `http` settings.
    fn connector(base_url: &str, http: HttpConfig) -> Self::Client;
    /// Runs the operation; a success is described in a line for the failure report.
    fn call(self, client: &Self::Client) -> impl Future<Output = Result<String, Error>> + Send;
    /// Mocks on `server` everything the operation needs but the endpoint under test
    /// (`except`): auth endpoints, the other calls of the operation. Nothing by default.
    fn mock_the_rest(server: &MockServer, except: Target) -> impl Future<Output = ()> {
        let _ = (server, except);
        async {}
    }
    /// The credential a request carried, as a vendor echoing it would show it (the
    /// text an [`echo`] answer puts where its template says `{echo}`).
    fn echoed(req: &HttpMockRequest) -> String;
}

/// The bearer token of a request's `authorization` header.
pub fn bearer(req: &HttpMockRequest) -> Option<String> {
    header(req, "authorization")?.strip_prefix("Bearer ").map(str::to_owned)
}

/// A request header's value.
pub fn header(req: &HttpMockRequest, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// A field of a form-encoded body, as sent (not decoded).
pub fn form_field(req: &HttpMockRequest, key: &str) -> Option<String> {
    req.body_string()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

// ------------------------------------------------------------------ hostile bodies

/// A captive portal's page, as a hotel Wi-Fi answers any request.
pub const PORTAL_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Hotel Wi-Fi</title><style>body{font-family:sans-serif}</style></head>\n<body><h1>Welcome!</h1><p>Please accept the terms of use to continue browsing. Your session will last 24 hours. Contact the front desk for help.</p><form method=\"post\"><button>Accept</button></form></body></html>\n";
/// A proxy's 502 page.
pub const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n";
/// JSON with bytes that are not UTF-8.
pub const INVALID_UTF8: &[u8] = b"\xff\xfe{\"data\": {\"id\": \"\xc3\x28\xa0\xa1\"}}";
/// A `Retry-After` date in the past.
pub const PAST_DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
/// The `max_response_bytes` of every row but a [`Row::default_cap`] one: 64 KiB.
const ROW_CAP: usize = 64 * 1024;

/// A JSON error whose message is 50 000 characters, `secret` in the middle.
pub fn huge_message(secret: &str) -> String {
    let filler = "x".repeat(25_000);
    format!(r#"{{"message": "{filler} token {secret} {filler}"}}"#)
}

/// A `Retry-After` date an hour from now.
pub fn in_an_hour() -> String {
    let at = posbridge_core::jiff::Timestamp::now() + posbridge_core::jiff::SignedDuration::from_secs(3600);
    at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// What the error of a body over the default `max_response_bytes` says
/// (`exceeds N bytes`), after checking that the default stops a 10 MB body.
pub fn default_cap_text() -> String {
    let default = HttpConfig::default();
    assert!(
        default.max_response_bytes > 0 && default.max_response_bytes < TEN_MB,
        "the default cap ({} bytes) must stop a 10 MB body",
        default.max_response_bytes
    );
    format!("exceeds {} bytes", default.max_response_bytes)
}

// ------------------------------------------------------------------ the rows

/// What the server does at the target.
#[derive(Debug)]
pub enum Serve {
    /// An answer httpmock gives.
    Answer {
        /// The status.
        status: u16,
        /// The headers.
        headers: Vec<(&'static str, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// A JSON answer echoing the credential the request carried (see
    /// [`Vendor::echoed`]) where the template says `{echo}`.
    Echo {
        /// The status.
        status: u16,
        /// The body, with `{echo}` where the credential goes.
        template: &'static str,
    },
    /// A redirect (302, 307) to the same path on another host.
    Redirect(u16),
    /// What httpmock cannot do, done by the raw front.
    Raw(Raw),
}

/// How a row must end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// A success (the vendor documents the answer as one).
    Ok,
    /// An error of this kind.
    Err(ErrorKind),
}

/// An answer with no content type.
pub fn answer(status: u16, body: impl AsRef<[u8]>) -> Serve {
    Serve::Answer {
        status,
        headers: Vec::new(),
        body: body.as_ref().to_vec(),
    }
}

/// An answer labelled `application/json`.
pub fn json(status: u16, body: &str) -> Serve {
    Serve::Answer {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// An answer labelled `text/html`.
pub fn html(status: u16, body: &str) -> Serve {
    Serve::Answer {
        status,
        headers: vec![("content-type", "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// A JSON answer echoing the credential the request carried where `template` says
/// `{echo}`; the row fails if no secret was echoed.
pub fn echo(status: u16, template: &'static str) -> Serve {
    Serve::Echo { status, template }
}

/// A 429 with this `Retry-After` value.
pub fn retry_after(value: &str) -> Serve {
    Serve::Answer {
        status: 429,
        headers: vec![("retry-after", value.to_owned())],
        body: b"{\"message\": \"Too Many Requests\"}".to_vec(),
    }
}

/// One case: an operation, the endpoint that misbehaves, how, and how it must end.
#[derive(Debug)]
pub struct Row<V> {
    name: &'static str,
    op: V,
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

impl<V: Vendor> Row<V> {
    /// A row named `name`: `op` is called, `target` answers as `serve` says, and the
    /// outcome must be `expect`. The client has a 2 s timeout, a 64 KiB cap on
    /// bodies and one retry after 10 ms (`Retry-After` honoured up to 2 s).
    pub fn new(name: &'static str, op: V, target: Target, serve: Serve, expect: Expect) -> Self {
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

    /// The target must have been asked `n` times.
    pub fn hits(mut self, n: usize) -> Self {
        self.hits = Some(n);
        self
    }

    /// The whole-request timeout, instead of 2 s.
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// The default `max_response_bytes`, instead of 64 KiB.
    pub fn default_cap(mut self) -> Self {
        self.default_cap = true;
        self
    }

    /// The error's `retry_after()` must be `expected`, exactly.
    pub fn retry_after(mut self, expected: Option<Duration>) -> Self {
        self.retry_after = Some(expected);
        self
    }

    /// The error's `retry_after()` must be `secs` seconds, give or take 10.
    pub fn retry_after_about(mut self, secs: u64) -> Self {
        self.retry_after_about = Some(secs);
        self
    }

    /// The error's `Display` must contain `text`.
    pub fn contains(mut self, text: &str) -> Self {
        self.contains = Some(text.to_owned());
        self
    }

    /// The call must take at least `d` (and at most 5 s, as every row).
    pub fn at_least(mut self, d: Duration) -> Self {
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
                ROW_CAP
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

// ------------------------------------------------------------------ the transport rows

/// What kind of call a target answers, which alone decides how the
/// [`transport_rows`] must end (`posbridge_core::http`, "What is retried"; a redirect
/// is never followed: it is `Uncertain` after a non-idempotent write, `Redirected`
/// otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallClass {
    /// A write that must not be sent twice (a sale `POST` with no reference key): an
    /// answer that fails after the request was sent — a 5xx, a body that cannot be
    /// read, a redirect — is `Uncertain` and never re-sent (the target is asked once).
    NonIdempotentWrite,
    /// A write that is safe to re-send (an upsert): a retryable failure is retried
    /// (`max_retries` = 1, so the target is asked twice) and then reported as
    /// `Unavailable`; a body that cannot be read is `Decode`; a redirect is
    /// `Redirected`.
    IdempotentWrite,
    /// A read: the outcomes of an [`IdempotentWrite`](CallClass::IdempotentWrite), for
    /// fewer cases — no 307, of the `Retry-After` rows only the absurd and the garbage
    /// one — and the 302 row does not count the target's hits.
    Read,
}

/// The row a 10 MB body gets under the *default* `max_response_bytes` (not the rows'
/// 64 KiB cap) at `target`: stopped, with the error saying the cap
/// ([`default_cap_text`]); `Uncertain` after a non-idempotent write, `Decode` otherwise.
pub fn default_cap_row<V: Vendor>(name: &'static str, op: V, target: Target, class: CallClass) -> Row<V> {
    let kind = match class {
        CallClass::NonIdempotentWrite => ErrorKind::Uncertain,
        CallClass::IdempotentWrite | CallClass::Read => ErrorKind::Decode,
    };
    Row::new(name, op, target, Serve::Raw(Raw::TenMegabytes), Expect::Err(kind))
        .default_cap()
        .contains(&default_cap_text())
}

/// The rows every vendor shares at `target`, whose outcome depends only on `class`:
/// an HTML 502 from a proxy, an empty 500, 10 MB bodies (with and without a length,
/// stopped by the rows' 64 KiB cap), headers then a stall (with a 300 ms timeout), a
/// body shorter than its length, a connection closed mid-chunk, redirects (302, 307)
/// to another host, and the six odd `Retry-After`s (past and future HTTP dates,
/// negative, absurd, garbage, and a short one). The `Retry-After` rows end alike in
/// every class, a 429 being retried whatever the call: a wait within the cap (2 s) is
/// slept on, a longer one ends the call at once (and is capped at a day), one that is
/// past, negative or garbage counts as none (plain backoff).
///
/// A vendor whose answer to one of these cases differs writes that row in its own
/// table instead of calling this. The rows are named without a prefix: a table for a
/// second endpoint of the same operation (an auth step) writes its own.
pub fn transport_rows<V: Vendor>(op: V, target: Target, class: CallClass) -> Vec<Row<V>> {
    use ErrorKind::{Decode, RateLimited, Redirected, Unavailable, Uncertain};
    let row = |name, serve, kind| Row::new(name, op, target, serve, Expect::Err(kind));
    let (outage, unreadable, tries, redirect) = match class {
        CallClass::NonIdempotentWrite => (Uncertain, Uncertain, 1, Uncertain),
        CallClass::IdempotentWrite | CallClass::Read => (Unavailable, Decode, 2, Redirected),
    };
    let too_big = format!("exceeds {ROW_CAP} bytes");
    let mut rows = vec![
        row("html_502_from_a_proxy", html(502, BAD_GATEWAY_PAGE), outage).hits(tries),
        row("empty_500", answer(500, ""), outage).hits(tries),
        row("ten_megabytes", Serve::Raw(Raw::TenMegabytes), unreadable)
            .contains(&too_big)
            .hits(1),
        row(
            "ten_megabytes_streamed_without_length",
            Serve::Raw(Raw::TenMegabytesStreamed),
            unreadable,
        )
        .contains(&too_big),
        row("headers_then_stall", Serve::Raw(Raw::HeadersThenStall), outage)
            .timeout_ms(300)
            .hits(tries),
        row("body_shorter_than_content_length", Serve::Raw(Raw::ShortBody), outage).hits(tries),
        row("connection_closed_mid_chunk", Serve::Raw(Raw::ClosedMidChunk), outage).hits(tries),
    ];
    let redirect_302 = row("redirect_302_to_another_host", Serve::Redirect(302), redirect);
    let absurd = row("retry_after_absurd", retry_after("99999999"), RateLimited)
        .retry_after(Some(Duration::from_secs(86_400)))
        .hits(1);
    let garbage = row("retry_after_garbage", retry_after("soon-ish"), RateLimited)
        .retry_after(None)
        .hits(2);
    if class == CallClass::Read {
        rows.extend([redirect_302, absurd, garbage]);
        return rows;
    }
    rows.extend([
        redirect_302.hits(1),
        row("redirect_307_to_another_host", Serve::Redirect(307), redirect).hits(1),
        row("retry_after_past_http_date", retry_after(PAST_DATE), RateLimited)
            .retry_after(None)
            .hits(2),
        row("retry_after_future_http_date", retry_after(&in_an_hour()), RateLimited)
            .retry_after_about(3600)
            .hits(1),
        row("retry_after_negative", retry_after("-5"), RateLimited)
            .retry_after(None)
            .hits(2),
        absurd,
        garbage,
        row("retry_after_short_is_honoured", retry_after("1"), RateLimited)
            .retry_after(Some(Duration::from_secs(1)))
            .at_least(Duration::from_secs(1))
            .hits(2),
    ]);
    rows
}

// ------------------------------------------------------------------ the run

/// Runs every row, each against its own pair of mock servers, and panics with a
/// report of every row that failed.
pub async fn run_all<V: Vendor>(rows: Vec<Row<V>>) {
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

async fn run<V: Vendor>(row: &Row<V>) -> Result<(), String> {
    let server = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    V::mock_the_rest(&server, row.target).await;
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
                            let credential = V::echoed(req);
                            if V::SECRETS.contains(&credential.as_str()) {
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
        let client = V::connector(&base_url, http);
        op.call(&client).await
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
        problems.extend(check_error(e, row, V::SECRETS));
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
fn check_error<V>(e: &Error, row: &Row<V>, secrets: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let shown = format!("{e}");
    let debug = format!("{e:?}");
    for secret in secrets {
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
        if secrets.iter().any(|s| excerpt.contains(s)) {
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
