//! The one error type every posbridge operation returns.
//!
//! Variants are *semantic*: they say what the caller can do next, not which library
//! failed. Every variant names the vendor it came from (`"local"` for checks made
//! before any request), keeps the vendor's own code and message where there is one,
//! and never carries a secret: response excerpts are shortened and redacted by
//! [`excerpt`] before they are stored.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A shareable, cloneable error source.
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in terms a caller can act on.
///
/// `Error` is `Clone` so that one failure of a batch request can be reported against
/// every sale in it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused locally; nothing was sent.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Where in the input the problem is, e.g. `lines[2].total` or `total`.
        field: String,
        /// What is wrong, with the amounts involved where there are any.
        reason: String,
    },

    /// The connector's configuration cannot work (bad URL, missing credential, …);
    /// nothing was sent.
    #[error("configuration error: {reason}")]
    Config {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// The vendor refused our credentials, or they expired and could not be renewed.
    #[error("{vendor}: authentication failed: {message}")]
    Auth {
        /// The vendor that refused.
        vendor: &'static str,
        /// What the vendor said, or what the caller should do (e.g. run a login command).
        message: String,
    },

    /// The vendor understood the request and said no. Retrying the same request will
    /// fail the same way.
    #[error("{vendor}: rejected{}: {message}", fmt_code(.status, .code))]
    Rejected {
        /// The vendor that rejected the request.
        vendor: &'static str,
        /// The HTTP status, when the rejection came with a meaningful one.
        status: Option<u16>,
        /// The vendor's own error code, when it sent one.
        code: Option<String>,
        /// The vendor's own message, redacted of secrets and cut to [`EXCERPT_LEN`] characters.
        message: String,
    },

    /// The thing asked for does not exist at the vendor.
    #[error("{vendor}: not found: {what}")]
    NotFound {
        /// The vendor that answered.
        vendor: &'static str,
        /// What was looked for.
        what: String,
    },

    /// The vendor asked us to slow down. Nothing was applied.
    #[error("{vendor}: rate limited{}", fmt_retry_after(.retry_after))]
    RateLimited {
        /// The vendor that throttled us.
        vendor: &'static str,
        /// How long the vendor asked us to wait, when it said.
        retry_after: Option<Duration>,
    },

    /// The vendor is down or overloaded (5xx, a timeout on a read, a refused
    /// connection). Nothing was applied, or the call is idempotent; retry later.
    #[error("{vendor}: unavailable: {message}")]
    Unavailable {
        /// The vendor that failed.
        vendor: &'static str,
        /// The HTTP status, if a response came.
        status: Option<u16>,
        /// What happened.
        message: String,
    },

    /// A write was sent but its outcome is unknown: the vendor may have applied it.
    /// The request is **not** retried automatically; read back, or re-send only if the
    /// vendor makes the write idempotent.
    #[error("{vendor}: outcome of {operation} is uncertain: {message}")]
    Uncertain {
        /// The vendor the write went to.
        vendor: &'static str,
        /// The operation, e.g. `push_sale`.
        operation: &'static str,
        /// What happened after the request was sent.
        message: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<Source>,
    },

    /// A network failure before a request could be delivered (DNS, connect, TLS).
    #[error("{vendor}: transport error: {message}")]
    Transport {
        /// The vendor we tried to reach.
        vendor: &'static str,
        /// What failed.
        message: String,
        /// The underlying failure.
        #[source]
        source: Option<Source>,
    },

    /// The vendor's response could not be understood.
    #[error("{vendor}: could not decode response: {message} (body starts: {excerpt:?})")]
    Decode {
        /// The vendor that sent it.
        vendor: &'static str,
        /// What was wrong with it.
        message: String,
        /// A short, secret-free excerpt of the body.
        excerpt: String,
    },

    /// The vendor answered a read or an idempotent write with a redirect (HTTP 3xx).
    /// Redirects are never followed (they would carry our credentials to wherever
    /// they point); a redirect usually means the base URL is wrong (`http` for
    /// `https`, a moved endpoint, a login page in front of the API). A redirect
    /// after a write that is not idempotent is [`Error::Uncertain`] instead: a `303`
    /// after a `POST` commonly means "done, look over there".
    #[error(
        "{vendor}: redirected (HTTP {status}) to {}; redirects are not followed: check the base URL",
        .location.as_deref().unwrap_or("an unnamed location")
    )]
    Redirected {
        /// The vendor that answered.
        vendor: &'static str,
        /// The HTTP status (300–399).
        status: u16,
        /// Where the redirect pointed (`Location`), without its query, fragment or
        /// user info (they may carry a credential) and cut short; `None` when the
        /// answer named no location.
        location: Option<String>,
    },

    /// The connector does not offer this operation.
    #[error("{vendor}: {operation} is not supported{}", offers_text(offers))]
    Unsupported {
        /// The vendor.
        vendor: &'static str,
        /// The operation asked for.
        operation: &'static str,
        /// What the vendor does offer (the operations of its
        /// [`Capabilities`](crate::Capabilities)), where the caller knew them; empty
        /// otherwise.
        offers: Vec<&'static str>,
    },
}

fn offers_text(offers: &[&'static str]) -> String {
    if offers.is_empty() {
        String::new()
    } else {
        format!(" (it offers {})", offers.join(", "))
    }
}

fn fmt_code(status: &Option<u16>, code: &Option<String>) -> String {
    match (status, code) {
        (Some(s), Some(c)) => format!(" (HTTP {s}, code {c})"),
        (Some(s), None) => format!(" (HTTP {s})"),
        (None, Some(c)) => format!(" (code {c})"),
        (None, None) => String::new(),
    }
}

fn fmt_retry_after(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", retry after {}s", d.as_secs()),
        None => String::new(),
    }
}

/// The kind of an [`Error`], without its data: handy for matching and for fixtures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::Invalid`].
    Invalid,
    /// See [`Error::Config`].
    Config,
    /// See [`Error::Auth`].
    Auth,
    /// See [`Error::Rejected`].
    Rejected,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::RateLimited`].
    RateLimited,
    /// See [`Error::Unavailable`].
    Unavailable,
    /// See [`Error::Uncertain`].
    Uncertain,
    /// See [`Error::Transport`].
    Transport,
    /// See [`Error::Decode`].
    Decode,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Redirected`].
    Redirected,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Invalid => "invalid",
            Self::Config => "config",
            Self::Auth => "auth",
            Self::Rejected => "rejected",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Uncertain => "uncertain",
            Self::Transport => "transport",
            Self::Decode => "decode",
            Self::Unsupported => "unsupported",
            Self::Redirected => "redirected",
        };
        f.write_str(s)
    }
}

impl Error {
    /// A local validation failure for `field`.
    ///
    /// The field path and the reason are cut to [`FIELD_LEN`] and [`REASON_LEN`]
    /// characters, with the length of what was cut: a reason that quotes the input
    /// (a 5 MB reference, say) stays short. Quote a value with [`quote`] to keep the
    /// rest of the reason whole.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: bounded(field.into(), FIELD_LEN),
            reason: bounded(reason.into(), REASON_LEN),
        }
    }

    /// A configuration error; the reason is cut to [`REASON_LEN`] characters.
    pub fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: bounded(reason.into(), REASON_LEN),
        }
    }

    /// A decode error for a response body; the excerpt is shortened and redacted, and
    /// the message cut to [`MESSAGE_LEN`] characters (it often quotes what the vendor
    /// sent, which may be megabytes).
    pub fn decode(vendor: &'static str, message: impl Into<String>, body: &[u8]) -> Self {
        Self::Decode {
            vendor,
            message: cut(message.into(), MESSAGE_LEN),
            excerpt: excerpt(body),
        }
    }

    /// The data-free kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. } => ErrorKind::Invalid,
            Self::Config { .. } => ErrorKind::Config,
            Self::Auth { .. } => ErrorKind::Auth,
            Self::Rejected { .. } => ErrorKind::Rejected,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::Uncertain { .. } => ErrorKind::Uncertain,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Decode { .. } => ErrorKind::Decode,
            Self::Unsupported { .. } => ErrorKind::Unsupported,
            Self::Redirected { .. } => ErrorKind::Redirected,
        }
    }

    /// Whether the same request may succeed if sent again later, *and* it is safe to
    /// send it again: throttling, an outage, or a failure before anything was
    /// delivered. [`Error::Uncertain`] is deliberately not retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Transport { .. }
        )
    }

    /// How long the vendor asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The vendor's own error code, for [`Error::Rejected`].
    pub fn vendor_code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The vendor's own message, for [`Error::Rejected`] and [`Error::Auth`].
    pub fn vendor_message(&self) -> Option<&str> {
        match self {
            Self::Rejected { message, .. } | Self::Auth { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The vendor this error came from; `None` for local errors.
    pub fn vendor(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { .. } | Self::Config { .. } => None,
            Self::Auth { vendor, .. }
            | Self::Rejected { vendor, .. }
            | Self::NotFound { vendor, .. }
            | Self::RateLimited { vendor, .. }
            | Self::Unavailable { vendor, .. }
            | Self::Uncertain { vendor, .. }
            | Self::Transport { vendor, .. }
            | Self::Decode { vendor, .. }
            | Self::Redirected { vendor, .. }
            | Self::Unsupported { vendor, .. } => Some(vendor),
        }
    }

    /// This error with every occurrence of each of `secrets` (credential *values*)
    /// replaced by `[REDACTED]`, in every text it carries, a posbridge error it wraps
    /// included. [`redact`] finds credentials by their key (`"token": "…"`); this finds
    /// a vendor echoing one in prose (`"invalid token abc123"`); see [`redact_values`].
    #[must_use]
    pub fn redact_secrets(self, secrets: &[&str]) -> Self {
        if !secrets.iter().any(|s| s.chars().count() >= MIN_SECRET_LEN) {
            return self;
        }
        let r = |text: String| redact_values(&text, secrets);
        match self {
            Self::Invalid { field, reason } => Self::Invalid {
                field: r(field),
                reason: r(reason),
            },
            Self::Config { reason } => Self::Config { reason: r(reason) },
            Self::Auth { vendor, message } => Self::Auth {
                vendor,
                message: r(message),
            },
            Self::Rejected {
                vendor,
                status,
                code,
                message,
            } => Self::Rejected {
                vendor,
                status,
                code: code.map(r),
                message: r(message),
            },
            Self::NotFound { vendor, what } => Self::NotFound { vendor, what: r(what) },
            Self::Unavailable {
                vendor,
                status,
                message,
            } => Self::Unavailable {
                vendor,
                status,
                message: r(message),
            },
            Self::Uncertain {
                vendor,
                operation,
                message,
                source,
            } => Self::Uncertain {
                vendor,
                operation,
                message: r(message),
                source: source.map(|s| redact_source(s, secrets)),
            },
            Self::Transport {
                vendor,
                message,
                source,
            } => Self::Transport {
                vendor,
                message: r(message),
                source: source.map(|s| redact_source(s, secrets)),
            },
            Self::Decode {
                vendor,
                message,
                excerpt,
            } => Self::Decode {
                vendor,
                message: r(message),
                excerpt: r(excerpt),
            },
            Self::Redirected {
                vendor,
                status,
                location,
            } => Self::Redirected {
                vendor,
                status,
                location: location.map(r),
            },
            other @ (Self::RateLimited { .. } | Self::Unsupported { .. }) => other,
        }
    }

    /// Turns a failure that happened after a write was sent into [`Error::Uncertain`].
    /// Errors that prove nothing was applied (auth, rejection, throttling, local
    /// checks, connect failures) are returned unchanged.
    pub fn into_uncertain(self, operation: &'static str) -> Self {
        match self {
            Self::Decode {
                vendor,
                message,
                excerpt,
            } => Self::Uncertain {
                vendor,
                operation,
                message: format!(
                    "the vendor accepted the request but its response could not be read ({message}; body starts {excerpt:?})"
                ),
                source: None,
            },
            Self::Unavailable { vendor, message, .. } => Self::Uncertain {
                vendor,
                operation,
                message,
                source: None,
            },
            other => other,
        }
    }
}

/// The vendor code a connector gives an [`Error::Rejected`] that says the document's
/// reference already exists at the vendor. After an [`Error::Uncertain`] push, a
/// re-send refused with this code proves the first push landed.
pub const DUPLICATE_REFERENCE: &str = "duplicate_reference";

/// Longest excerpt of a response body kept in an error, in characters as `Debug`
/// shows them (`"` and `\` count two, a character shown as `\u{…}` counts its
/// escape), so that the excerpt stays short however it is printed.
pub const EXCERPT_LEN: usize = 200;

/// Longest message kept in an [`Error::Decode`], measured like [`EXCERPT_LEN`] (and
/// a `…` mark).
pub const MESSAGE_LEN: usize = 200;

/// Longest field path kept in an [`Error::Invalid`], measured like [`EXCERPT_LEN`].
pub const FIELD_LEN: usize = 120;

/// Longest reason kept in an [`Error::Invalid`] or [`Error::Config`], measured like
/// [`EXCERPT_LEN`]; what is longer is cut and says how long it was.
pub const REASON_LEN: usize = 400;

/// Longest value [`quote`] shows whole, measured like [`EXCERPT_LEN`].
pub const QUOTE_LEN: usize = 60;

/// `value` as an error or log line should quote it: `"INV-1"` when short, and
/// `"AAAA…" (5242880 bytes)` when longer than [`QUOTE_LEN`], so that input echoed
/// back in a message never makes the message long.
///
/// ```
/// use posbridge_core::error::quote;
///
/// assert_eq!(quote("INV-1"), r#""INV-1""#);
/// let long = "A".repeat(5 * 1024 * 1024);
/// let quoted = quote(&long);
/// assert!(quoted.len() < 100, "{quoted}");
/// assert!(quoted.ends_with("(5242880 bytes)"), "{quoted}");
/// ```
pub fn quote(value: &str) -> String {
    match head(value.chars(), QUOTE_LEN) {
        (_, false) => format!("{value:?}"),
        (start, true) => format!("{:?} ({} bytes)", format!("{start}…"), value.len()),
    }
}

/// `text` cut to a [`width`] of `max`; when cut, it says how long the whole was.
fn bounded(text: String, max: usize) -> String {
    match head(text.chars(), max) {
        (_, false) => text,
        (mut out, true) => {
            out.push_str(&format!("… ({} bytes in all)", text.len()));
            out
        }
    }
}

/// How many characters `c` takes in `Debug` output (`"` and `\` two, a character
/// `Debug` escapes as `\u{…}` up to ten, others one). Texts are cut by this measure,
/// so that an error's `Display` and `Debug` stay short whatever a vendor sends.
fn width(c: char) -> usize {
    if c == '\'' { 1 } else { c.escape_debug().count() }
}

/// The longest start of `text` whose [`width`] is at most `max`, and whether
/// anything was left out.
fn head(text: impl Iterator<Item = char>, max: usize) -> (String, bool) {
    let mut out = String::new();
    let mut used = 0;
    for c in text {
        used += width(c);
        if used > max {
            return (out, true);
        }
        out.push(c);
    }
    (out, false)
}

/// `text` cut to a [`width`] of `max`, with a `…` mark when something was cut.
pub(crate) fn cut(text: String, max: usize) -> String {
    match head(text.chars(), max) {
        (_, false) => text,
        (mut out, true) => {
            out.push('…');
            out
        }
    }
}

/// A short, printable, secret-free excerpt of a response body.
///
/// Invalid UTF-8 is replaced, control characters are dropped, values of keys that
/// look like credentials (`token`, `password`, `secret`, `authorization`, …) are
/// replaced by `[REDACTED]`, and the result is cut to [`EXCERPT_LEN`] (as `Debug`
/// shows it).
pub fn excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(EXCERPT_LEN * 4)];
    let text = String::from_utf8_lossy(head);
    let redacted = redact(&text);
    let (mut out, cut) = self::head(redacted.chars().filter(|c| !c.is_control() || *c == ' '), EXCERPT_LEN);
    if body.len() > head.len() || cut {
        out.push('…');
    }
    out
}

/// Where a vendor's error bodies carry its message, and how to read it: what
/// [`vendor_message`] looks for. Built in a `const`, once per vendor:
///
/// ```
/// use posbridge_core::error::{MessageKeys, vendor_message};
///
/// // Laravel: `message`, else `error`, else `msg`, plus the validation details.
/// const MESSAGES: MessageKeys = MessageKeys::new(&["message", "error", "msg"]).details("errors");
///
/// let body = br#"{"message": "The given data was invalid.", "errors": {"unit": ["BOX is unknown"]}}"#;
/// assert_eq!(vendor_message(body, &MESSAGES), "The given data was invalid. (unit: BOX is unknown)");
/// // No message where it is looked for: the body itself, cut short and redacted.
/// assert_eq!(vendor_message(b"<h1>Bad Gateway</h1>", &MESSAGES), "<h1>Bad Gateway</h1>");
/// // Never a credential, wherever the vendor echoes it.
/// assert!(!vendor_message(br#"{"error": "bad token=abc123"}"#, &MESSAGES).contains("abc123"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageKeys {
    keys: &'static [&'static str],
    nested: bool,
    numbers: bool,
    details: Option<&'static str>,
    body: bool,
}

impl MessageKeys {
    /// The message is the first of `keys` whose value is a text that is not blank.
    /// A key is a top-level key of a JSON object (`"message"`), or a JSON pointer
    /// (RFC 6901) when it starts with `/` (`"/response/status/httpMessage"`). Where
    /// none has one, the message is the body itself ([`MessageKeys::without_body`]
    /// says otherwise); `&[]` always takes the body.
    pub const fn new(keys: &'static [&'static str]) -> Self {
        Self {
            keys,
            nested: false,
            numbers: false,
            details: None,
            body: true,
        }
    }

    /// Lists and objects under a key are read too: the texts they hold, at any
    /// depth, joined with `"; "` (`{"errors": {"items": ["Not found"]}}` reads
    /// `Not found`).
    #[must_use]
    pub const fn nested(mut self) -> Self {
        self.nested = true;
        self
    }

    /// Numbers are read as texts too (`{"message": 42}` reads `42`).
    #[must_use]
    pub const fn numbers(mut self) -> Self {
        self.numbers = true;
        self
    }

    /// `key` holds validation details, `{"field": ["problem", …]}` (Laravel's
    /// `errors`); they follow the message: `message (field: problem; other: …)`, or
    /// stand for it when there is none.
    #[must_use]
    pub const fn details(mut self, key: &'static str) -> Self {
        self.details = Some(key);
        self
    }

    /// Where no key has a message, there is none (an empty text) rather than the body.
    #[must_use]
    pub const fn without_body(mut self) -> Self {
        self.body = false;
        self
    }

    /// The message in a JSON document, redacted and cut short like an [`excerpt`];
    /// `None` when none of the keys (nor the details) holds one.
    pub fn message_in(&self, document: &serde_json::Value) -> Option<String> {
        let message = self
            .keys
            .iter()
            .filter_map(|key| match key.strip_prefix('/') {
                Some(_) => document.pointer(key),
                None => document.get(key),
            })
            .find_map(|value| self.text(value));
        let details = self.details.and_then(|key| details(document.get(key)?));
        let text = match (message, details) {
            (Some(m), Some(d)) => format!("{m} ({d})"),
            (Some(m), None) => m,
            (None, Some(d)) => d,
            (None, None) => return None,
        };
        Some(excerpt(text.as_bytes()))
    }

    /// The text of one value, as these keys read it.
    fn text(&self, value: &serde_json::Value) -> Option<String> {
        use serde_json::Value;
        match value {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) if self.numbers => Some(n.to_string()),
            Value::Array(items) if self.nested => joined(items.iter().filter_map(|v| self.text(v))),
            Value::Object(fields) if self.nested => joined(fields.values().filter_map(|v| self.text(v))),
            _ => None,
        }
    }
}

/// The texts joined with `"; "`; `None` when there is none.
fn joined(texts: impl Iterator<Item = String>) -> Option<String> {
    let texts: Vec<String> = texts.collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// Validation details, `{"field": "problem"}` or `{"field": ["problem", …]}`, as
/// `field: problem; other: …`.
fn details(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let fields = value.as_object()?;
    joined(fields.iter().filter_map(|(field, problems)| {
        let text = match problems {
            Value::String(s) => s.trim().to_owned(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; "),
            _ => return None,
        };
        (!text.is_empty()).then(|| format!("{field}: {text}"))
    }))
}

/// The vendor's message in an error body, where `keys` says it is: redacted of
/// credentials and cut short like an [`excerpt`] (a hostile body's message may be
/// megabytes). A body that is not JSON, or has no message there, gives the body
/// itself, excerpted (or an empty text, [`MessageKeys::without_body`]). Total: any
/// bytes give a short text.
pub fn vendor_message(body: &[u8], keys: &MessageKeys) -> String {
    let found = if keys.keys.is_empty() && keys.details.is_none() {
        None
    } else {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|document| keys.message_in(&document))
    };
    match found {
        Some(message) => message,
        None if keys.body => excerpt(body),
        None => String::new(),
    }
}

const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "refresh",
    "access",
    "user-id",
    "partner",
];

/// Replaces the values of credential-like keys in JSON, form or header text with
/// `[REDACTED]`. Works on fragments (a truncated body) as well as whole documents.
pub fn redact(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        // Find the next key that looks like a credential.
        let next = SECRET_KEYS
            .iter()
            .filter_map(|k| lower[i..].find(k).map(|p| (i + p, k.len())))
            .min_by_key(|(p, _)| *p);
        let Some((pos, len)) = next else {
            out.push_str(&text[i..]);
            break;
        };
        // Extend to the end of the key word (e.g. `access_token`).
        let mut key_end = pos + len;
        while key_end < bytes.len() && is_key_char(bytes[key_end]) {
            key_end += 1;
        }
        out.push_str(&text[i..key_end]);
        // Skip the separator: `":`, `=`, `: `, `" : "`.
        let mut j = key_end;
        while j < bytes.len() && matches!(bytes[j], b'"' | b'\'' | b' ' | b':' | b'=') {
            j += 1;
        }
        if j == key_end || j >= bytes.len() {
            i = key_end;
            continue;
        }
        let sep_has_assign = text[key_end..j].contains([':', '=']);
        if !sep_has_assign {
            i = key_end;
            continue;
        }
        out.push_str(&text[key_end..j]);
        // The value runs to the next delimiter.
        let mut k = j;
        while k < bytes.len() && !matches!(bytes[k], b'"' | b'\'' | b'&' | b',' | b'}' | b'\n' | b'\r' | b';') {
            k += 1;
        }
        if k > j {
            out.push_str("[REDACTED]");
        }
        i = k;
    }
    out
}

/// The shortest credential value [`redact_values`] replaces: a shorter one would
/// mangle ordinary text (a status code, a year) and is no credential worth the name.
pub const MIN_SECRET_LEN: usize = 4;

/// Replaces every occurrence of each of `secrets` (credential values, not key names)
/// in `text` with `[REDACTED]`; where [`excerpt`] cut a text short (at a `…`), a
/// secret's beginning left at the cut is replaced too. Values shorter than
/// [`MIN_SECRET_LEN`] characters are left alone.
pub fn redact_values(text: &str, secrets: &[&str]) -> String {
    let secrets: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|s| s.chars().count() >= MIN_SECRET_LEN)
        .collect();
    let mut out = text.to_owned();
    for secret in &secrets {
        if out.contains(secret) {
            out = out.replace(secret, "[REDACTED]");
        }
    }
    if secrets.is_empty() || !out.contains('…') {
        return out;
    }
    let mut parts: Vec<String> = out.split('…').map(str::to_owned).collect();
    let cut = parts.len() - 1;
    for part in &mut parts[..cut] {
        for secret in &secrets {
            // The longest beginning of the secret this part ends with.
            let len = secret
                .char_indices()
                .map(|(i, _)| i)
                .skip(MIN_SECRET_LEN)
                .filter(|&i| part.ends_with(&secret[..i]))
                .last();
            if let Some(len) = len {
                part.truncate(part.len() - len);
                part.push_str("[REDACTED]");
            }
        }
    }
    parts.join("…")
}

/// A wrapped posbridge error, redacted; any other source is kept (posbridge's own
/// sources carry no response text).
fn redact_source(source: Source, secrets: &[&str]) -> Source {
    match source.downcast_ref::<Error>() {
        Some(inner) => Arc::new(inner.clone().redact_secrets(secrets)),
        None => source,
    }
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_stay_short_whatever_the_body() {
        // A message quoting 250 escaped DEL characters (the fuzz target
        // `salesmania_response` found it); bodies of backslashes (`codemax_response`),
        // of characters `Debug` escapes, and of Sinhala text with vowel signs.
        let long = format!("trans_date {:?} is not a date", "\u{7f}".repeat(250));
        let bodies = [
            "\\".repeat(1000),
            "\u{e000}".repeat(1000),
            "\u{dc1}\u{dca}".repeat(1000),
            "\"".repeat(1000),
        ];
        for body in &bodies {
            for message in [long.clone(), body.clone()] {
                let e = Error::decode("salesmania", message, body.as_bytes());
                let Error::Decode { message, excerpt, .. } = &e else {
                    unreachable!()
                };
                assert!(message.ends_with('…') && excerpt.ends_with('…'), "{e}");
                assert!(excerpt.chars().count() <= EXCERPT_LEN + 1);
                assert!(format!("{excerpt:?}").chars().count() <= EXCERPT_LEN + 3);
                assert!(e.to_string().chars().count() < 600, "{e}");
                assert!(format!("{e:?}").chars().count() < 2_000, "{e:?}");
                let u = e.clone().into_uncertain("push_sale");
                assert!(u.to_string().chars().count() < 600, "{u}");
                assert!(format!("{u:?}").chars().count() < 2_000, "{u:?}");
            }
        }
        let Error::Decode { message, excerpt, .. } = Error::decode("v", "short", b"{\"a\":1}") else {
            unreachable!()
        };
        assert_eq!((message.as_str(), excerpt.as_str()), ("short", "{\"a\":1}"));
    }

    #[test]
    fn redacts_json_form_and_header_credentials() {
        let r = redact(r#"{"access_token":"abc123","name":"x"}"#);
        assert!(!r.contains("abc123"), "{r}");
        assert!(r.contains("\"name\":\"x\""), "{r}");
        let r = redact("token=38iGm3yI86Hw&reference_no=S1");
        assert!(!r.contains("38iGm3yI86Hw"), "{r}");
        assert!(r.contains("reference_no=S1"), "{r}");
        let r = redact("Authorization: Bearer sekret\nX: y");
        assert!(!r.contains("sekret"), "{r}");
    }

    #[test]
    fn excerpt_is_short_and_total() {
        let big = vec![b'a'; 10_000];
        let e = excerpt(&big);
        assert!(e.chars().count() <= EXCERPT_LEN + 1);
        let e = excerpt(&[0xff, 0xfe, b'{', 0]);
        assert!(e.contains('{'));
    }

    #[test]
    fn redacts_echoed_credential_values_everywhere() {
        let e = Error::Rejected {
            vendor: "v",
            status: Some(400),
            code: None,
            message: "invalid token s3cr3t-value for user 7".into(),
        }
        .redact_secrets(&["s3cr3t-value", "7"]);
        // Too short to redact: "7".
        assert_eq!(e.vendor_message(), Some("invalid token [REDACTED] for user 7"));
        let inner = Error::Unavailable {
            vendor: "v",
            status: Some(500),
            message: "echo s3cr3t-value".into(),
        };
        let e = Error::Uncertain {
            vendor: "v",
            operation: "push_sale",
            message: format!("payment failed: {inner}"),
            source: Some(Arc::new(inner)),
        }
        .redact_secrets(&["s3cr3t-value"]);
        assert!(!format!("{e} {e:?}").contains("s3cr3t"), "{e:?}");
        // A secret cut by an excerpt leaves no beginning either.
        let cut = excerpt(format!("{} s3cr3t-value", "x".repeat(EXCERPT_LEN - 9)).as_bytes());
        assert!(cut.ends_with("s3cr3t-v…"), "{cut}");
        assert!(redact_values(&cut, &["s3cr3t-value"]).ends_with(" [REDACTED]…"));
        let embedded = format!("could not read it (body starts {cut:?})");
        let clean = redact_values(&embedded, &["s3cr3t-value"]);
        assert!(
            clean.ends_with(" [REDACTED]…\")") && !clean.contains("s3cr3t"),
            "{clean}"
        );
    }

    #[test]
    fn input_quoted_in_an_error_stays_short() {
        let reference = "R".repeat(5 * 1024 * 1024);
        let e = Error::invalid("reference", format!("reference {} is taken", quote(&reference)));
        let text = e.to_string();
        assert!(text.len() < 200, "{} bytes: {text:.300}", text.len());
        assert!(text.contains("(5242880 bytes)") && text.ends_with("is taken"), "{text}");

        // Unquoted, the reason is still cut, and says how long it was.
        let e = Error::invalid(reference.clone(), format!("reference {reference} is taken"));
        let text = e.to_string();
        assert!(text.len() < 1_000, "{} bytes", text.len());
        assert!(text.contains("bytes in all)"), "{text}");
        assert!(format!("{e:?}").len() < 1_000);
        assert!(Error::config(reference).to_string().len() < 1_000);

        assert_eq!(quote("INV-1"), "\"INV-1\"");
        assert_eq!(quote(""), "\"\"");
        let at_the_limit = "é".repeat(QUOTE_LEN);
        assert_eq!(quote(&at_the_limit), format!("{at_the_limit:?}"));
    }

    #[test]
    fn kinds_and_retryability() {
        let e = Error::RateLimited {
            vendor: "v",
            retry_after: Some(Duration::from_secs(3)),
        };
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let u = Error::Unavailable {
            vendor: "v",
            status: Some(502),
            message: "bad gateway".into(),
        }
        .into_uncertain("push_sale");
        assert_eq!(u.kind(), ErrorKind::Uncertain);
        assert!(!u.is_retryable());
    }

    const LARAVEL: MessageKeys = MessageKeys::new(&["message", "error", "msg"]).details("errors");
    const NESTED: MessageKeys = MessageKeys::new(&["message", "error", "msg", "errors", "error_message"]).nested();
    const ENVELOPE: MessageKeys = MessageKeys::new(&["/response/status/httpMessage", "/data/result"])
        .nested()
        .numbers()
        .without_body();

    #[test]
    fn messages_are_read_from_the_first_key_that_has_one() {
        let keys = MessageKeys::new(&["message", "Message", "error_description", "error", "msg"]);
        assert_eq!(vendor_message(br#"{"Message": "nope", "error": true}"#, &keys), "nope");
        // Blank texts and values of other types are passed over.
        assert_eq!(
            vendor_message(
                br#"{"message": "  ", "error": true, "msg": " Order already void "}"#,
                &keys
            ),
            "Order already void"
        );
        assert_eq!(
            vendor_message(br#"{"error_description": "expired", "error": "invalid_grant"}"#, &keys),
            "expired"
        );
        // None of the keys: the body itself; not JSON: the body itself.
        assert_eq!(vendor_message(br#"{"code": 7}"#, &keys), r#"{"code": 7}"#);
        assert_eq!(vendor_message(b"Bad Gateway", &keys), "Bad Gateway");
        assert_eq!(vendor_message(b"", &keys), "");
        // Strings only, unless told otherwise.
        assert_eq!(vendor_message(br#"{"message": ["a"]}"#, &keys), r#"{"message": ["a"]}"#);
        // No keys at all: the body, as `excerpt` shows it.
        assert_eq!(
            vendor_message(br#"{"message": "x"}"#, &MessageKeys::new(&[])),
            r#"{"message": "x"}"#
        );
    }

    #[test]
    fn nested_and_odd_bodies() {
        assert_eq!(
            vendor_message(br#"{"errors": {"items": ["Product Not Found"]}}"#, &NESTED),
            "Product Not Found"
        );
        assert_eq!(
            vendor_message(
                br#"{"error": {"code": {"deep": ["a", {"b": "c"}, 7, null, true]}, "x": " d "}}"#,
                &NESTED
            ),
            "a; c; d"
        );
        assert_eq!(
            vendor_message(br#"{"message": [], "msg": "second"}"#, &NESTED),
            "second"
        );
        // Numbers are read only where the vendor says so.
        assert_eq!(vendor_message(br#"{"message": 42}"#, &NESTED), r#"{"message": 42}"#);
        assert_eq!(
            vendor_message(br#"{"response": {"status": {"httpMessage": 42}}}"#, &ENVELOPE),
            "42"
        );
        // JSON pointers, and no body where none is wanted.
        let answer = br#"{"data": {"result": "Failed"}, "response": {"status": {"code": "1", "httpMessage": ["Product", "not found"]}}}"#;
        assert_eq!(vendor_message(answer, &ENVELOPE), "Product; not found");
        let silent = br#"{"data": {"result": "Failed"}, "response": {"status": {"code": "1", "httpMessage": null}}}"#;
        assert_eq!(vendor_message(silent, &ENVELOPE), "Failed");
        assert_eq!(
            vendor_message(br#"{"data": ["result"], "response": {}}"#, &ENVELOPE),
            ""
        );
        assert_eq!(vendor_message(b"<html>", &ENVELOPE), "");
        // A document that is not an object has no keys.
        assert_eq!(vendor_message(br#"["message", "x"]"#, &LARAVEL), r#"["message", "x"]"#);
        assert_eq!(vendor_message(b"\"message\"", &LARAVEL), "\"message\"");
    }

    #[test]
    fn validation_details_follow_the_message_or_stand_for_it() {
        let body = br#"{"message":"The given data was invalid.","errors":{"ordered_products.0.unit":["Satuan BOX tidak ditemukan"]}}"#;
        assert_eq!(
            vendor_message(body, &LARAVEL),
            "The given data was invalid. (ordered_products.0.unit: Satuan BOX tidak ditemukan)"
        );
        let body = br#"{"errors":{"a":"one","b":["two"," ","three"],"c":7,"d":[]}}"#;
        assert_eq!(vendor_message(body, &LARAVEL), "a: one; b: two; three");
        assert_eq!(
            vendor_message(br#"{"error":"Unauthenticated"}"#, &LARAVEL),
            "Unauthenticated"
        );
        assert_eq!(vendor_message(br#"{"errors": "x"}"#, &LARAVEL), r#"{"errors": "x"}"#);
    }

    #[test]
    fn messages_never_show_a_credential_and_stay_short() {
        assert!(!vendor_message(br#"{"message":"bad team_token=abc123"}"#, &LARAVEL).contains("abc123"));
        let m = vendor_message(br#"{"error": "bad token: access_token=abc123"}"#, &LARAVEL);
        assert!(!m.contains("abc123"), "{m}");
        let huge = format!(r#"{{"message": "{}"}}"#, "x".repeat(5 * 1024 * 1024));
        let m = vendor_message(huge.as_bytes(), &LARAVEL);
        assert!(m.chars().count() <= EXCERPT_LEN + 1 && m.ends_with('…'));
        let document: serde_json::Value = serde_json::json!({"message": "y".repeat(10_000)});
        assert!(LARAVEL.message_in(&document).unwrap().chars().count() <= EXCERPT_LEN + 1);
    }

    proptest::proptest! {
        /// Any bytes give a short message and no panic, with every kind of keys.
        #[test]
        fn vendor_message_is_total_and_short(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            for keys in [LARAVEL, NESTED, ENVELOPE, MessageKeys::new(&[]), MessageKeys::new(&["/", "/0", "//", "/a~1b"])] {
                let m = vendor_message(&body, &keys);
                proptest::prop_assert!(m.chars().count() <= EXCERPT_LEN + 1, "{m:?}");
            }
        }

        /// Any JSON document, however nested, gives a short message and no panic.
        #[test]
        fn nested_documents_are_total(text in "[\\[\\]{}\":, a-z0-9]{0,400}") {
            let _ = vendor_message(text.as_bytes(), &NESTED);
            let _ = vendor_message(text.as_bytes(), &ENVELOPE);
            let _ = vendor_message(text.as_bytes(), &LARAVEL);
        }
    }
}
