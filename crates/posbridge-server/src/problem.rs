//! Errors as RFC 9457 problem details (`application/problem+json`), and the JSON body
//! extractor that turns a malformed or refused body into one, naming the field.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes_compat::Bytes;
use posbridge_outbox::OutboxError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// axum re-exports the bytes type it reads bodies into.
mod bytes_compat {
    pub(crate) use axum::body::Bytes;
}

/// Where the problem types are explained.
const TYPE_BASE: &str = "https://github.com/posbridge/posbridge/blob/main/docs/serve.md#problem-";

/// An RFC 9457 problem: what went wrong with a request, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (its anchor in docs/serve.md).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, in a sentence a developer can act on.
    pub detail: String,
    /// For a document refused, each field refused, by JSON pointer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before trying again (also sent as `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// One refused field of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// An RFC 6901 JSON pointer into the request body, e.g. `/lines/2/total`.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

impl Problem {
    /// A problem of kind `slug` (its anchor in docs/serve.md).
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("{TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// The request was malformed (not JSON, a bad query string).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail)
    }

    /// A document or parameter was refused; `pointer` says where.
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "Invalid document",
            detail.clone(),
        );
        p.errors.push(FieldError {
            pointer: pointer.into(),
            detail,
        });
        p
    }

    /// No such thing, or not this key's to see (the two are not told apart).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// No key, or a key that is not valid.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "send a valid API key as `Authorization: Bearer pbk_…` (posbridge keys create)",
        )
    }

    /// The key may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// The request conflicts with what is already recorded.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// Too many requests for this key; `after` seconds until the next is taken.
    pub fn rate_limited(after: u64) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("this key's request rate is used up; try again in {after} s"),
        );
        p.retry_after = Some(after);
        p
    }

    /// The service cannot answer now (its database, or a vendor read through).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Unavailable", detail);
        p.retry_after = Some(5);
        p
    }

    /// The status as an axum status code.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(after) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&after.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A library field path (`lines[2].total`) as a JSON pointer (`/lines/2/total`).
pub(crate) fn pointer(field: &str) -> String {
    let mut out = String::new();
    for part in field.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        let name_end = rest.find('[').unwrap_or(rest.len());
        let (name, indexes) = rest.split_at(name_end);
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        rest = indexes;
        while let Some(open) = rest.strip_prefix('[') {
            let Some(close) = open.find(']') else { break };
            out.push('/');
            out.push_str(&open[..close]);
            rest = &open[close + 1..];
        }
    }
    if out.is_empty() { "/".to_owned() } else { out }
}

/// Prefixes every pointer of a problem (an item of a batch: `/sales/3`).
pub(crate) fn under(mut problem: Problem, prefix: &str) -> Problem {
    for e in &mut problem.errors {
        e.pointer = if e.pointer == "/" {
            prefix.to_owned()
        } else {
            format!("{prefix}{}", e.pointer)
        };
    }
    problem
}

impl From<posbridge_core::Error> for Problem {
    /// A library error: a refused document names its field; a vendor's error read
    /// through says what the vendor said (connectors keep secrets out of their errors).
    fn from(e: posbridge_core::Error) -> Self {
        use posbridge_core::Error as E;
        match &e {
            E::Invalid { field, reason } => Problem::invalid(pointer(field), format!("invalid {field}: {reason}")),
            E::Unsupported { .. } => Problem::new(
                StatusCode::NOT_IMPLEMENTED,
                "unsupported",
                "Not offered by the vendor",
                e.to_string(),
            ),
            E::NotFound { .. } => Problem::not_found(e.to_string()),
            E::RateLimited { .. } | E::Unavailable { .. } | E::Transport { .. } => {
                let mut p = Problem::new(
                    StatusCode::BAD_GATEWAY,
                    "vendor-unavailable",
                    "The vendor did not answer",
                    e.to_string(),
                );
                p.retry_after = Some(e.retry_after().map_or(5, |d| d.as_secs().max(1)));
                p
            }
            _ => Problem::new(
                StatusCode::BAD_GATEWAY,
                "vendor-error",
                "The vendor refused or garbled the request",
                e.to_string(),
            ),
        }
    }
}

impl From<OutboxError> for Problem {
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::Invalid { reference, source } => {
                let mut p = Problem::from(source);
                p.detail = format!("{reference}: {}", p.detail);
                p
            }
            OutboxError::ReturnExceedsSale(excess) => {
                let detail = excess.to_string();
                Problem::invalid(pointer(&excess.line), detail)
            }
            e @ OutboxError::Conflict { .. } => Problem::conflict(e.to_string()),
            e @ OutboxError::WrongState { .. } => Problem::conflict(e.to_string()),
            OutboxError::NotFound(id) => Problem::not_found(format!("no delivery with id {id}")),
            e @ (OutboxError::UnknownTarget(_) | OutboxError::NotSales(_) | OutboxError::Config(_)) => {
                Problem::invalid("/", e.to_string())
            }
            e => {
                // The database's own message may name hosts or statements: logged, not sent.
                tracing::error!(error = %e, "outbox failure behind a request");
                Problem::unavailable("the outbox's database did not answer; try again")
            }
        }
    }
}

impl From<crate::ServerError> for Problem {
    fn from(e: crate::ServerError) -> Self {
        match e {
            crate::ServerError::Outbox(e) => e.into(),
            e => {
                tracing::error!(error = %e, "server failure behind a request");
                Problem::unavailable("the service's database did not answer; try again")
            }
        }
    }
}

/// A JSON body, refused as problem+json: 415 without a JSON content type, 413 above
/// the size limit, 400 when not JSON, 422 naming the field a document gets wrong.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "Body too large",
                    "the body is larger than this service takes; send fewer documents per request",
                )
            } else {
                Problem::bad_request(format!("the body could not be read: {rejection}"))
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body, naming the field of a refusal.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_data() {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            Problem::invalid(pointer(&field), format!("{}{}", field_prefix(&field), inner))
        } else {
            Problem::bad_request(format!("the body is not valid JSON: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("{field}: ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_paths_become_json_pointers() {
        assert_eq!(pointer("lines[2].total"), "/lines/2/total");
        assert_eq!(pointer("total"), "/total");
        assert_eq!(pointer("lines[0].discount[1]"), "/lines/0/discount/1");
        assert_eq!(pointer(""), "/");
        assert_eq!(pointer("a/b"), "/a~1b");
    }

    #[test]
    fn a_refused_field_is_named_by_pointer() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Line {
            quantity: u32,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            lines: Vec<Line>,
        }
        let p = parse::<Doc>(br#"{"lines":[{"quantity":1},{"quantity":"x"}]}"#).unwrap_err();
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].pointer, "/lines/1/quantity");
        let p = parse::<Doc>(b"{not json").unwrap_err();
        assert_eq!(p.status, 400);
        let p = parse::<Doc>(br#"{"lines":[]} trailing"#).unwrap_err();
        assert_eq!(p.status, 400);
    }
}
