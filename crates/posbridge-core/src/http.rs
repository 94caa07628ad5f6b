//! The shared HTTP transport every connector sends its requests through.
//!
//! A vendor crate declares *what* a call is ([`Request`]: operation, method, path,
//! body, whether it is idempotent) and how the vendor reports errors (a
//! [`ParseError`] function); the [`Transport`] decides *how*: one `reqwest` client
//! per connector, timeouts, a rate limit, retries with exponential backoff and
//! jitter, `Retry-After` honoured and capped, one re-authentication on a refused
//! credential, a capped response size, and a `tracing` span per call.
//!
//! # What is retried
//!
//! | failure | idempotent request | non-idempotent write |
//! |---|---|---|
//! | connect/DNS/TLS failure (nothing delivered) | retried | retried |
//! | 429 | retried after `Retry-After` (if within the cap) | same |
//! | 503 | retried | retried (the server says it did not process it) |
//! | other 5xx, timeout or broken connection after sending | retried | **[`Error::Uncertain`]**, not retried |
//! | 401/403 with a renewable credential | one renewal, one resend | same |
//! | other 4xx | not retried | not retried |
//!
//! Plain `http://` is refused for a host that is not loopback unless
//! [`HttpConfig::allow_insecure_http`] says otherwise, and redirects are not followed,
//! so credentials go only to the configured host, encrypted.
//!
//! No error the transport returns shows a credential a vendor echoed back: the
//! values an [`Auth`] put on the request, and those the connector declared with
//! [`Transport::with_secrets`] (a token sent in the body, a password sent to log in),
//! are replaced by `[REDACTED]` ([`Error::redact_secrets`]).
//!
//! A `Retry-After` longer than [`RetryConfig::max_retry_after_ms`] is not slept on:
//! the call returns [`Error::RateLimited`] at once so the caller (or the outbox) can
//! schedule it.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::{Instrument, field};
use url::Url;

use crate::auth::{Auth, Credentials};
use crate::error::{Error, MessageKeys, Result, Source, excerpt, vendor_message};

/// Retry behaviour of a [`Transport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after the first attempt; `0` disables retries.
    pub max_retries: usize,
    /// The first backoff delay, in milliseconds.
    pub min_delay_ms: u64,
    /// The longest backoff delay, in milliseconds.
    pub max_delay_ms: u64,
    /// The longest `Retry-After` the transport sleeps on, in milliseconds; a longer
    /// one ends the call with [`Error::RateLimited`] at once.
    pub max_retry_after_ms: u64,
    /// Whether backoff delays are randomised (recommended: it spreads retries of many
    /// clients).
    pub jitter: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay_ms: 200,
            max_delay_ms: 5_000,
            max_retry_after_ms: 30_000,
            jitter: true,
        }
    }
}

/// A client-side rate limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per second allowed on average.
    pub per_second: NonZeroU32,
    /// Requests allowed in a burst; `per_second` when absent.
    #[serde(default)]
    pub burst: Option<NonZeroU32>,
}

/// HTTP settings shared by every connector's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whole-request timeout (connect, send, receive), in milliseconds.
    pub timeout_ms: u64,
    /// Connect timeout, in milliseconds.
    pub connect_timeout_ms: u64,
    /// The largest response body read, in bytes; a larger one is a
    /// [`Error::Decode`].
    pub max_response_bytes: usize,
    /// Retry behaviour.
    pub retry: RetryConfig,
    /// Optional client-side rate limit.
    pub rate_limit: Option<RateLimitConfig>,
    /// Allow plain `http://` to a host that is not loopback. Off by default: the
    /// credentials would cross the network in the clear.
    pub allow_insecure_http: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 30_000,
            connect_timeout_ms: 10_000,
            max_response_bytes: 8 * 1024 * 1024,
            retry: RetryConfig::default(),
            rate_limit: None,
            allow_insecure_http: false,
        }
    }
}

/// A rate limiter that several connectors (tenants of one vendor) may share.
pub type RateLimiter = governor::DefaultDirectRateLimiter;

/// A request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/json`.
    Json(Bytes),
    /// `application/x-www-form-urlencoded`.
    Form(Bytes),
}

/// One call a connector wants made.
#[derive(Debug, Clone)]
pub struct Request {
    operation: &'static str,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Body,
    idempotent: bool,
}

impl Request {
    /// A request; `path` is joined to the connector's base URL. GET, HEAD, PUT and
    /// DELETE start idempotent, POST and PATCH do not.
    pub fn new(operation: &'static str, method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE);
        Self {
            operation,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Body::Empty,
            idempotent,
        }
    }

    /// A GET request.
    pub fn get(operation: &'static str, path: impl Into<String>) -> Self {
        Self::new(operation, Method::GET, path)
    }

    /// A POST request.
    pub fn post(operation: &'static str, path: impl Into<String>) -> Self {
        Self::new(operation, Method::POST, path)
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid("body", format!("cannot encode the request as JSON: {e}")))?;
        self.body = Body::Json(bytes.into());
        Ok(self)
    }

    /// Sets a form-encoded body.
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let s = serde_urlencoded_ser(body)?;
        self.body = Body::Form(s.into());
        Ok(self)
    }

    /// Sets a body that is already `application/x-www-form-urlencoded`, for a
    /// connector that writes its form in one pass rather than through serde.
    pub fn form_encoded(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Form(body.into());
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Declares whether sending this request twice has the same effect as once
    /// (an upsert, a read). Only idempotent requests are retried after they may have
    /// reached the vendor.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The operation name, for logs and errors.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// Whether the request is idempotent.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }
}

fn serde_urlencoded_ser<T: Serialize + ?Sized>(body: &T) -> Result<String> {
    serde_urlencoded::to_string(body)
        .map_err(|e| Error::invalid("body", format!("cannot encode the request as a form: {e}")))
}

/// A response the transport read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, at most [`HttpConfig::max_response_bytes`] long.
    pub body: Bytes,
}

impl Response {
    /// A response with `status` and `body` and no headers: what a vendor's parser is
    /// handed in its unit tests and fuzz targets.
    pub fn new(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// Decodes the body as JSON, or fails with a [`Error::Decode`] that carries a
    /// short, redacted excerpt.
    pub fn json<T: DeserializeOwned>(&self, vendor: &'static str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::decode(vendor, e.to_string(), &self.body))
    }

    /// Like [`Response::json`] for the answer to a write: a body that cannot be read
    /// means the write may have been applied, so the error is [`Error::Uncertain`].
    pub fn json_after_write<T: DeserializeOwned>(&self, vendor: &'static str, operation: &'static str) -> Result<T> {
        self.json(vendor).map_err(|e| e.into_uncertain(operation))
    }

    /// The `Retry-After` header as a delay from now (seconds or an HTTP date).
    /// Negative, unparsable or absurd values yield `None`.
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(&self.headers)
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP date. Returns `None` for a value
/// that is missing, malformed, negative, or a date in the past (treated as "now" by
/// the caller's backoff).
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        // Clamp absurd values to a day; the cap decides what to do with them.
        return Some(Duration::from_secs(secs.min(86_400)));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    at.duration_since(SystemTime::now())
        .ok()
        .map(|d| d.min(Duration::from_secs(86_400)))
}

/// How a vendor turns a response into an error: `None` means success. Every vendor
/// crate has one: its own specifics (a status in a 200 body, its codes), ending in
/// [`default_parse_error_with`] (or [`default_parse_error`]).
pub type ParseError = fn(vendor: &'static str, response: &Response) -> Option<Error>;

/// The vendor's code of a rejection, from its message and the body: a duplicate
/// reference, a numbered message, a code field. See [`ErrorDefaults::rejection_code`].
pub type RejectionCode = fn(message: &str, body: &[u8]) -> Option<String>;

/// What a vendor declares about its error answers for [`default_parse_error_with`]:
/// where the message is, and the few words that differ from vendor to vendor. Built
/// in a `const`, once per vendor:
///
/// ```
/// use posbridge_core::error::{DUPLICATE_REFERENCE, MessageKeys};
/// use posbridge_core::http::{ErrorDefaults, Response, default_parse_error_with};
/// use posbridge_core::{Error, ErrorKind, reqwest::StatusCode};
///
/// fn duplicate(message: &str, _body: &[u8]) -> Option<String> {
///     message.contains("already exists").then(|| DUPLICATE_REFERENCE.to_owned())
/// }
///
/// const ERRORS: ErrorDefaults = ErrorDefaults::new(MessageKeys::new(&["message", "error"]))
///     .credential("the API token")
///     .rejection_code(duplicate);
///
/// fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
///     // The vendor's own specifics first (none here), then the shared arms.
///     default_parse_error_with(vendor, response, &ERRORS)
/// }
///
/// let answer = |status: u16, body: &str| Response {
///     status: StatusCode::from_u16(status).unwrap(),
///     headers: Default::default(),
///     body: body.to_owned().into(),
/// };
/// let e = parse_error("v", &answer(409, r#"{"message": "INV-1 already exists"}"#)).unwrap();
/// assert_eq!((e.kind(), e.vendor_code()), (ErrorKind::Rejected, Some(DUPLICATE_REFERENCE)));
/// let e = parse_error("v", &answer(401, "")).unwrap();
/// assert_eq!(e.vendor_message(), Some("the API token was refused (HTTP 401)"));
/// assert!(parse_error("v", &answer(200, "{}")).is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ErrorDefaults {
    messages: MessageKeys,
    credential: Option<&'static str>,
    advice: Option<&'static str>,
    not_found: Option<&'static str>,
    rejection_code: Option<RejectionCode>,
}

impl ErrorDefaults {
    /// The vendor's message is where `messages` says, and nothing else differs.
    pub const fn new(messages: MessageKeys) -> Self {
        Self {
            messages,
            credential: None,
            advice: None,
            not_found: None,
            rejection_code: None,
        }
    }

    /// What the credential is called, for an [`Error::Auth`] whose body says nothing:
    /// `"the API token"` gives `the API token was refused (HTTP 401)` (`HTTP 401`
    /// otherwise).
    #[must_use]
    pub const fn credential(mut self, what: &'static str) -> Self {
        self.credential = Some(what);
        self
    }

    /// What the user should do when the credentials are refused ("run the login
    /// command again"), added to every [`Error::Auth`] after a `; `.
    #[must_use]
    pub const fn advice(mut self, advice: &'static str) -> Self {
        self.advice = Some(advice);
        self
    }

    /// What an [`Error::NotFound`] says when the body says nothing (`resource`
    /// otherwise).
    #[must_use]
    pub const fn not_found(mut self, what: &'static str) -> Self {
        self.not_found = Some(what);
        self
    }

    /// How the vendor's code of an [`Error::Rejected`] is read from its message and
    /// body (none otherwise).
    #[must_use]
    pub const fn rejection_code(mut self, code: RejectionCode) -> Self {
        self.rejection_code = Some(code);
        self
    }

    /// Where the vendor's message is.
    pub const fn messages(&self) -> &MessageKeys {
        &self.messages
    }
}

/// The defaults of [`default_parse_error`]: the message is the body, excerpted.
const BODY_IS_THE_MESSAGE: ErrorDefaults = ErrorDefaults::new(MessageKeys::new(&[]));

/// Maps an HTTP status to an error kind, the way most vendors mean it: 2xx is
/// success; 401/403 [`Error::Auth`]; 404 [`Error::NotFound`]; 408 and 5xx
/// [`Error::Unavailable`]; 429 [`Error::RateLimited`] with its `Retry-After`; other
/// 4xx [`Error::Rejected`] keeping a redacted excerpt of the body as the message.
/// [`default_parse_error_with`] is the same with the vendor's own message keys and
/// words.
pub fn default_parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    default_parse_error_with(vendor, response, &BODY_IS_THE_MESSAGE)
}

/// [`default_parse_error`] as a vendor extends it: the message read where
/// `defaults` says ([`vendor_message`]), redacted and cut short; an
/// [`Error::Auth`] in the vendor's words; an [`Error::Rejected`] with the vendor's
/// code. What every vendor's `parse_error` ends in, after its own specifics.
///
/// | status | error |
/// |---|---|
/// | 2xx | none (success) |
/// | 401, 403 | [`Error::Auth`]: the message, else `HTTP 401` (or the [`ErrorDefaults::credential`] refused); then the [`ErrorDefaults::advice`] |
/// | 404 | [`Error::NotFound`]: the message, else [`ErrorDefaults::not_found`] (`resource`) |
/// | 429 | [`Error::RateLimited`] with its `Retry-After` |
/// | 408, 5xx | [`Error::Unavailable`]: `HTTP 503: message` |
/// | other 4xx | [`Error::Rejected`] with the status, the [`ErrorDefaults::rejection_code`] and the message |
/// | anything else | [`Error::Decode`] |
pub fn default_parse_error_with(vendor: &'static str, response: &Response, defaults: &ErrorDefaults) -> Option<Error> {
    let status = response.status;
    if status.is_success() {
        return None;
    }
    let code = status.as_u16();
    let message = || vendor_message(&response.body, &defaults.messages);
    Some(match code {
        401 | 403 => {
            let message = message();
            let mut message = match (message.is_empty(), defaults.credential) {
                (false, _) => message,
                (true, Some(what)) => format!("{what} was refused (HTTP {code})"),
                (true, None) => format!("HTTP {code}"),
            };
            if let Some(advice) = defaults.advice {
                message = format!("{message}; {advice}");
            }
            Error::Auth { vendor, message }
        }
        404 => {
            let message = message();
            Error::NotFound {
                vendor,
                what: if message.is_empty() {
                    defaults.not_found.unwrap_or("resource").to_owned()
                } else {
                    message
                },
            }
        }
        429 => Error::RateLimited {
            vendor,
            retry_after: response.retry_after(),
        },
        408 | 500..=599 => {
            let message = message();
            Error::Unavailable {
                vendor,
                status: Some(code),
                message: if message.is_empty() {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code}: {message}")
                },
            }
        }
        400..=499 => {
            let message = message();
            Error::Rejected {
                vendor,
                status: Some(code),
                code: defaults.rejection_code.and_then(|f| f(&message, &response.body)),
                message,
            }
        }
        _ => Error::Decode {
            vendor,
            message: format!("unexpected HTTP status {code}"),
            excerpt: excerpt(&response.body),
        },
    })
}

/// The error a response read in full means for `request`, decided as the
/// [`Transport`] decides it, for a connector that must make a call some other way
/// (an OAuth2 token endpoint driven by the `oauth2` crate): a 3xx is never followed
/// ([`Error::Redirected`] for an idempotent request, [`Error::Uncertain`] after a
/// write that is not); otherwise `parse_error` decides, and after a
/// non-idempotent write only a 503 stays retryable (another 5xx is
/// [`Error::Uncertain`]). `None` means success.
pub fn response_error(
    vendor: &'static str,
    request: &Request,
    response: &Response,
    parse_error: ParseError,
) -> Option<Error> {
    if response.status.is_redirection() {
        return Some(redirected(vendor, request, response));
    }
    parse_error(vendor, response).map(|e| classify_for_write(request, e))
}

/// The error for `request` failing in `reqwest` before a whole answer came back,
/// decided as the [`Transport`] decides it, for a connector that must make a call
/// some other way (an OAuth2 token endpoint): a request that cannot be built is
/// [`Error::Config`]; one that could not connect is [`Error::Transport`] (nothing was
/// delivered); a timeout or a broken connection after sending is
/// [`Error::Unavailable`] for an idempotent request and [`Error::Uncertain`] for a
/// write that is not. The URL (it may carry a credential) is left out.
pub fn send_error(vendor: &'static str, request: &Request, e: reqwest::Error) -> Error {
    let e = e.without_url();
    if e.is_builder() {
        return Error::config(format!("{vendor}: cannot build the request: {e}"));
    }
    if e.is_connect() {
        return Error::Transport {
            vendor,
            message: format!("cannot connect: {}", error_chain(&e)),
            source: Some(Arc::new(e) as Source),
        };
    }
    let what = if e.is_timeout() {
        "timed out after the request was sent"
    } else {
        "connection failed after the request was sent"
    };
    after_send_error(vendor, request, what, e)
}

fn after_send_error(vendor: &'static str, request: &Request, what: &str, e: reqwest::Error) -> Error {
    let e = e.without_url();
    let message = format!("{what}: {}", error_chain(&e));
    if request.idempotent {
        Error::Unavailable {
            vendor,
            status: None,
            message,
        }
    } else {
        Error::Uncertain {
            vendor,
            operation: request.operation,
            message,
            source: Some(Arc::new(e) as Source),
        }
    }
}

/// The error for a 3xx answer, which is never followed: [`Error::Uncertain`] after a
/// write that is not idempotent (a `303` after a `POST` commonly means the write was
/// done), [`Error::Redirected`] naming the location otherwise.
fn redirected(vendor: &'static str, request: &Request, response: &Response) -> Error {
    let status = response.status.as_u16();
    let location = redirect_location(&response.headers);
    if request.idempotent {
        return Error::Redirected {
            vendor,
            status,
            location,
        };
    }
    Error::Uncertain {
        vendor,
        operation: request.operation,
        message: format!(
            "the vendor answered HTTP {status} (a redirect to {}) after the request was sent; redirects are not \
             followed, and the write may have been applied",
            location.as_deref().unwrap_or("an unnamed location")
        ),
        source: None,
    }
}

/// A vendor error on a non-idempotent write: only statuses that prove the request
/// was not processed stay retryable.
fn classify_for_write(request: &Request, e: Error) -> Error {
    if request.idempotent {
        return e;
    }
    match e {
        Error::Unavailable { status: Some(503), .. } => e,
        Error::Unavailable { .. } => e.into_uncertain(request.operation),
        other => other,
    }
}

/// The transport of one connector: a base URL, a client, retry and rate-limit
/// settings, and the vendor's error parser.
pub struct Transport {
    vendor: &'static str,
    base_url: Url,
    client: reqwest::Client,
    config: HttpConfig,
    limiter: Option<Arc<RateLimiter>>,
    parse_error: ParseError,
    secrets: Vec<SecretString>,
    /// Request paths already joined to the base URL: a connector uses a handful of
    /// paths, and parsing the joined URL again for every request costs more than
    /// the rest of building the request.
    urls: std::sync::Mutex<std::collections::HashMap<String, Url>>,
}

/// How many joined URLs a transport keeps (paths with ids in them would otherwise
/// grow the cache without end).
const URL_CACHE: usize = 64;

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("vendor", &self.vendor)
            .field("base_url", &self.base_url.as_str())
            .field("config", &self.config)
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

/// Whether `url` points at this machine (`localhost`, 127.0.0.0/8, `::1`).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Builds the `reqwest` client posbridge uses: rustls, the given timeouts, no
/// redirects (a redirect must not carry our credentials to another host).
pub fn build_client(config: &HttpConfig) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(config.timeout_ms))
        .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("posbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

impl Transport {
    /// A transport with its own client. `base_url` is the vendor's root; request
    /// paths are appended to it.
    pub fn new(vendor: &'static str, base_url: &str, config: HttpConfig, parse_error: ParseError) -> Result<Self> {
        let client = build_client(&config)?;
        Self::with_client(vendor, base_url, config, parse_error, client)
    }

    /// A transport over a client shared with other connectors (one connection pool
    /// for many merchants). The client's own timeouts apply.
    pub fn with_client(
        vendor: &'static str,
        base_url: &str,
        config: HttpConfig,
        parse_error: ParseError,
        client: reqwest::Client,
    ) -> Result<Self> {
        let mut base_url = Url::parse(base_url)
            .map_err(|e| Error::config(format!("{vendor}: base URL {base_url:?} is not a URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(Error::config(format!("{vendor}: base URL must be http or https")));
        }
        if base_url.scheme() == "http" && !config.allow_insecure_http && !is_loopback(&base_url) {
            return Err(Error::config(format!(
                "{vendor}: base URL {} is plain http to a host that is not loopback, so credentials would \
                 cross the network in the clear; use https, or set http.allow_insecure_http = true",
                base_url.origin().ascii_serialization()
            )));
        }
        // Keep the base path when joining: make sure it ends with '/'.
        if !base_url.path().ends_with('/') {
            let p = format!("{}/", base_url.path());
            base_url.set_path(&p);
        }
        let limiter = config.rate_limit.as_ref().map(|r| {
            let quota = governor::Quota::per_second(r.per_second).allow_burst(r.burst.unwrap_or(r.per_second));
            Arc::new(governor::RateLimiter::direct(quota))
        });
        Ok(Self {
            vendor,
            base_url,
            client,
            config,
            limiter,
            parse_error,
            secrets: Vec::new(),
            urls: std::sync::Mutex::default(),
        })
    }

    /// Declares credential values no error of this transport may show, should the
    /// vendor echo them back: those the connector sends itself (a token in the body, a
    /// password in a login request). Credentials put on requests by an [`Auth`] need
    /// no declaring.
    pub fn with_secrets<'a>(mut self, secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        self.secrets.extend(secrets.into_iter().cloned());
        self
    }

    /// Shares `limiter` with other transports (one vendor-wide limit).
    pub fn with_rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The vendor name.
    pub fn vendor(&self) -> &'static str {
        self.vendor
    }

    /// The base URL, always ending in `/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The underlying client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` with retries, returning the response of the first attempt the
    /// vendor's [`ParseError`] accepts, or the error of the last one.
    pub async fn send(&self, request: &Request, auth: Option<&dyn Auth>) -> Result<Response> {
        let span = tracing::info_span!(
            "posbridge.call",
            vendor = self.vendor,
            operation = request.operation,
            method = %request.method,
            path = %request.path,
            status = field::Empty,
            attempts = field::Empty,
            elapsed_ms = field::Empty,
        );
        let started = tokio::time::Instant::now();
        let attempts = AtomicU32::new(0);
        let retry = &self.config.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(retry.min_delay_ms))
            .with_max_delay(Duration::from_millis(retry.max_delay_ms.max(retry.min_delay_ms)))
            .with_max_times(retry.max_retries);
        if retry.jitter {
            backoff = backoff.with_jitter();
        }
        let cap = Duration::from_millis(retry.max_retry_after_ms);
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt_with_reauth(request, auth).await
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &Error| e.is_retryable())
        .adjust(move |e: &Error, backoff: Option<Duration>| {
            let backoff = backoff?;
            match e.retry_after() {
                Some(wait) if wait > cap => None,
                Some(wait) => Some(wait.max(backoff)),
                None => Some(backoff),
            }
        })
        .notify(|e: &Error, delay: Duration| {
            tracing::debug!(error = %e, delay_ms = delay.as_millis() as u64, "retrying");
        })
        .instrument(span.clone())
        .await;
        span.record("attempts", attempts.load(Ordering::Relaxed));
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        if let Err(e) = &result {
            span.in_scope(|| tracing::debug!(kind = %e.kind(), "call failed"));
        }
        result
    }

    async fn attempt_with_reauth(&self, request: &Request, auth: Option<&dyn Auth>) -> Result<Response> {
        let reauthed = AtomicBool::new(false);
        loop {
            let credentials = match auth {
                Some(a) => Some(a.credentials().await?),
                None => None,
            };
            // Redacted here, before the retry loop logs it.
            let result = match self.attempt(request, credentials.as_ref()).await {
                Err(e) => Err(self.without_secrets(e, credentials.as_ref())),
                ok => ok,
            };
            match result {
                Err(e @ Error::Auth { .. }) => {
                    if let (Some(a), Some(c)) = (auth, credentials.as_ref())
                        && a.can_renew()
                        && !reauthed.swap(true, Ordering::Relaxed)
                    {
                        tracing::debug!("credential refused; renewing once");
                        a.rejected(c).await;
                        continue;
                    }
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    /// `path` joined to the base URL, parsed once per path.
    fn url(&self, path: &str) -> Result<Url> {
        let mut urls = self.urls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(url) = urls.get(path) {
            return Ok(url.clone());
        }
        let vendor = self.vendor;
        let url = self
            .base_url
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::config(format!("{vendor}: bad request path {path:?}: {e}")))?;
        if urls.len() < URL_CACHE {
            urls.insert(path.to_owned(), url.clone());
        }
        Ok(url)
    }

    async fn attempt(&self, request: &Request, credentials: Option<&Credentials>) -> Result<Response> {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        let vendor = self.vendor;
        let url = self.url(&request.path)?;
        let mut builder = self.client.request(request.method.clone(), url);
        let mut query: Vec<(&str, &str)> = request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut headers = request.headers.clone();
        if let Some(c) = credentials {
            c.apply(&mut headers, &mut query)?;
        }
        if !query.is_empty() {
            builder = builder.query(&query);
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Json(b) => {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                builder.body(b.clone())
            }
            Body::Form(b) => {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                builder.body(b.clone())
            }
        };
        builder = builder.headers(headers);

        let started = tokio::time::Instant::now();
        let sent = builder.send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Err(send_error(vendor, request, e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match self.read_body(response).await {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                let e = Error::Decode {
                    vendor,
                    message: format!("response body exceeds {} bytes", self.config.max_response_bytes),
                    excerpt: String::new(),
                };
                // The vendor answered a write we cannot read: it may have applied it.
                return Err(if request.idempotent {
                    e
                } else {
                    e.into_uncertain(request.operation)
                });
            }
            Err(BodyError::Read(e)) => return Err(after_send_error(vendor, request, "reading the response failed", e)),
        };
        tracing::debug!(
            status = status.as_u16(),
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "response"
        );
        tracing::Span::current().record("status", status.as_u16());
        let response = Response { status, headers, body };
        match response_error(vendor, request, &response, self.parse_error) {
            None => Ok(response),
            Some(e) => Err(e),
        }
    }

    /// `e` without the secrets declared with [`Transport::with_secrets`] nor the values
    /// `credentials` put on the request, should the vendor have echoed them: each
    /// header value (`Bearer abc`) and what follows its scheme (`abc`), each query value.
    fn without_secrets(&self, e: Error, credentials: Option<&Credentials>) -> Error {
        let mut values: Vec<&str> = self.secrets.iter().map(ExposeSecret::expose_secret).collect();
        let mut headers = HeaderMap::new();
        let mut query = Vec::new();
        if let Some(c) = credentials
            && c.apply(&mut headers, &mut query).is_ok()
        {
            values.extend(query.iter().map(|(_, v)| *v));
            for value in headers.values().filter_map(|v| v.to_str().ok()) {
                values.push(value);
                if let Some((_, token)) = value.split_once(' ') {
                    values.push(token.trim());
                }
            }
        }
        e.redact_secrets(&values)
    }

    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, BodyError> {
        let limit = self.config.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(BodyError::TooLarge);
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// Longest redirect location kept in an error, measured like
/// [`crate::error::EXCERPT_LEN`].
const LOCATION_LEN: usize = 120;

/// A redirect's `Location`, fit to be shown: no user info, query or fragment (any of
/// them may carry a credential; a removed query shows as `?…`), redacted, cut to
/// [`LOCATION_LEN`]. `None` when there is no readable `Location`.
fn redirect_location(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(reqwest::header::LOCATION)?;
    let raw = String::from_utf8_lossy(raw.as_bytes());
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let shown = match Url::parse(raw) {
        Ok(mut url) if url.has_host() => {
            let had_query = url.query().is_some();
            // Both only fail for URLs that cannot have them, which `has_host` excludes.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            let mut text = url.to_string();
            if had_query {
                text.push_str("?…");
            }
            text
        }
        _ => {
            let end = raw.find(['?', '#']).unwrap_or(raw.len());
            let mut text = raw[..end].to_owned();
            if raw[end..].starts_with('?') {
                text.push_str("?…");
            }
            text
        }
    };
    let shown = crate::error::redact(&shown);
    let shown: String = shown.chars().filter(|c| !c.is_control()).collect();
    Some(crate::error::cut(shown, LOCATION_LEN))
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The error and its sources on one line. Callers strip the URL first (it may carry a
/// credential in its query).
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_urls_are_cached_and_the_cache_is_bounded() {
        let t = Transport::new(
            "test",
            "http://127.0.0.1:9/base",
            HttpConfig::default(),
            default_parse_error,
        )
        .unwrap();
        assert_eq!(t.url("/a/b").unwrap().as_str(), "http://127.0.0.1:9/base/a/b");
        assert_eq!(t.url("/a/b").unwrap().as_str(), "http://127.0.0.1:9/base/a/b");
        assert_eq!(t.url("c").unwrap().as_str(), "http://127.0.0.1:9/base/c");
        for i in 0..200 {
            assert_eq!(
                t.url(&format!("x/{i}")).unwrap().as_str(),
                format!("http://127.0.0.1:9/base/x/{i}")
            );
        }
        assert_eq!(t.urls.lock().unwrap().len(), URL_CACHE);
    }

    fn retry_after(v: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        parse_retry_after(&h)
    }

    #[test]
    fn errors_lose_the_credentials_a_request_carried() {
        let c = Credentials::new(
            vec![(reqwest::header::AUTHORIZATION, SecretString::from("Bearer tok-abc123"))],
            vec![("team_token".into(), SecretString::from("team-xyz789"))],
            1,
        );
        let e = Error::Auth {
            vendor: "v",
            message: "token tok-abc123 (team team-xyz789) refused".into(),
        };
        let t = Transport::new(
            "test",
            "http://127.0.0.1:1/",
            HttpConfig::default(),
            default_parse_error,
        )
        .unwrap();
        assert_eq!(
            t.without_secrets(e, Some(&c)).vendor_message(),
            Some("token [REDACTED] (team [REDACTED]) refused")
        );
    }

    #[tokio::test]
    async fn errors_lose_the_declared_secrets_the_vendor_echoes() {
        let server = httpmock::MockServer::start_async().await;
        server
            .mock_async(|when, then| {
                when.path("/push");
                then.status(400).body("invalid password hunter2-pass for pos-kl01");
            })
            .await;
        let password = SecretString::from("hunter2-pass");
        let fast = HttpConfig {
            retry: RetryConfig {
                min_delay_ms: 1,
                max_delay_ms: 2,
                ..RetryConfig::default()
            },
            ..HttpConfig::default()
        };
        let t = Transport::new("test", &server.base_url(), fast, default_parse_error)
            .unwrap()
            .with_secrets([&password]);
        let e = t.send(&Request::post("push_sale", "/push"), None).await.unwrap_err();
        assert_eq!(e.vendor_message(), Some("invalid password [REDACTED] for pos-kl01"));
        server
            .mock_async(|when, then| {
                when.path("/stock");
                then.status(500).body("no stock for hunter2-pass");
            })
            .await;
        let e = t.send(&Request::get("stock_levels", "/stock"), None).await.unwrap_err();
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
    }

    #[test]
    fn retry_after_in_every_form_a_server_sends() {
        assert_eq!(retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 7 "), Some(Duration::from_secs(7)));
        // Absurd values are clamped to a day; the transport's cap then decides.
        assert_eq!(retry_after("99999999999"), Some(Duration::from_secs(86_400)));
        // Negative, malformed, or a date in the past: no delay to honour.
        assert_eq!(retry_after("-5"), None);
        assert_eq!(retry_after("soon"), None);
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        // An HTTP date in the future.
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(600));
        let d = retry_after(&later).unwrap();
        assert!(d > Duration::from_secs(590) && d <= Duration::from_secs(600), "{d:?}");
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
    }

    fn answer(status: u16, body: &str) -> Response {
        Response::new(StatusCode::from_u16(status).unwrap(), body.to_owned())
    }

    #[test]
    fn the_default_reads_statuses_the_way_most_vendors_mean_them() {
        use crate::ErrorKind::*;
        let kind = |status, body| default_parse_error("v", &answer(status, body)).map(|e| e.kind());
        assert_eq!(kind(200, "{}"), None);
        assert_eq!(kind(204, ""), None);
        for (status, expected) in [
            (401, Auth),
            (403, Auth),
            (404, NotFound),
            (429, RateLimited),
            (408, Unavailable),
            (500, Unavailable),
            (503, Unavailable),
            (400, Rejected),
            (405, Rejected),
            (422, Rejected),
            (302, Decode),
        ] {
            assert_eq!(kind(status, ""), Some(expected), "HTTP {status}");
        }
        // The body, excerpted, is the message.
        let e = default_parse_error("v", &answer(422, r#"{"message": "no"}"#)).unwrap();
        assert_eq!(e.vendor_message(), Some(r#"{"message": "no"}"#));
        assert_eq!(
            default_parse_error("v", &answer(401, "")).unwrap().vendor_message(),
            Some("HTTP 401")
        );
        let e = default_parse_error("v", &answer(502, "bad gateway")).unwrap();
        assert!(e.to_string().contains("HTTP 502: bad gateway"), "{e}");
        let e = default_parse_error("v", &answer(404, "")).unwrap();
        assert!(e.to_string().ends_with("not found: resource"), "{e}");
    }

    #[test]
    fn a_vendor_extends_the_default_with_its_keys_and_words() {
        fn numbered(message: &str, body: &[u8]) -> Option<String> {
            if message.contains("out of stock") {
                return Some("out_of_stock".into());
            }
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()?
                .get("code")?
                .as_str()
                .map(str::to_owned)
        }
        const ERRORS: ErrorDefaults = ErrorDefaults::new(MessageKeys::new(&["message", "error"]))
            .credential("the access token")
            .advice("run the login again")
            .not_found("the record does not exist")
            .rejection_code(numbered);
        let parse = |status, body| default_parse_error_with("v", &answer(status, body), &ERRORS).unwrap();
        let e = parse(401, "");
        assert_eq!(
            e.vendor_message(),
            Some("the access token was refused (HTTP 401); run the login again")
        );
        let e = parse(403, r#"{"error": "Forbidden"}"#);
        assert_eq!(e.vendor_message(), Some("Forbidden; run the login again"));
        assert!(
            parse(404, "")
                .to_string()
                .ends_with("not found: the record does not exist")
        );
        assert!(
            parse(404, r#"{"message": "Order 9 is gone"}"#)
                .to_string()
                .ends_with("not found: Order 9 is gone")
        );
        let e = parse(400, r#"{"message": "HAT is out of stock"}"#);
        assert_eq!(
            (e.vendor_code(), e.vendor_message()),
            (Some("out_of_stock"), Some("HAT is out of stock"))
        );
        let e = parse(409, r#"{"code": "21", "message": "malformed"}"#);
        assert_eq!((e.vendor_code(), e.vendor_message()), (Some("21"), Some("malformed")));
        assert_eq!(parse(410, "gone").vendor_code(), None);
        let e = parse(500, r#"{"message": "database down"}"#);
        assert!(e.to_string().contains("HTTP 500: database down"), "{e}");
        assert!(default_parse_error_with("v", &answer(201, ""), &ERRORS).is_none());
        assert!(
            ERRORS
                .messages()
                .message_in(&serde_json::json!({"error": "x"}))
                .is_some()
        );
    }

    #[test]
    fn a_response_read_elsewhere_is_classified_as_the_transport_classifies_it() {
        let mut redirect = answer(302, "");
        redirect.headers.insert(
            reqwest::header::LOCATION,
            HeaderValue::from_static("https://login.example/sso?token=abc123#x"),
        );
        let read = Request::post("oauth2_token", "/auth/token").idempotent(true);
        let e = response_error("v", &read, &redirect, default_parse_error).unwrap();
        assert!(
            matches!(&e, Error::Redirected { status: 302, location: Some(l), .. } if l == "https://login.example/sso?…"),
            "{e:?}"
        );
        let write = Request::post("push_sale", "/sales");
        assert_eq!(
            response_error("v", &write, &redirect, default_parse_error)
                .unwrap()
                .kind(),
            crate::ErrorKind::Uncertain
        );
        // After a write that is not idempotent, only a 503 stays retryable.
        let kind = |request: &Request, status| {
            response_error("v", request, &answer(status, ""), default_parse_error).map(|e| e.kind())
        };
        assert_eq!(kind(&write, 502), Some(crate::ErrorKind::Uncertain));
        assert_eq!(kind(&write, 503), Some(crate::ErrorKind::Unavailable));
        assert_eq!(kind(&read, 502), Some(crate::ErrorKind::Unavailable));
        assert_eq!(kind(&write, 422), Some(crate::ErrorKind::Rejected));
        assert_eq!(kind(&read, 200), None);
    }
}
