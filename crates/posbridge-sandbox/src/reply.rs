//! What a vendor handler answers: a [`Reply`] that says whether the request changed
//! the state, and, for a request that applies several documents, which
//! ([`AppliedReferences`]). The request log reads both off the response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What a vendor handler answers (a JSON body with a status), and whether it changed
/// the state: the log's `applied`.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
    /// Whether the request changed the state (stored or replaced a document, moved
    /// stock). Logins and token refreshes never do.
    pub applied: bool,
}

impl Reply {
    /// A reply that changed nothing: `{"message": …}`.
    pub fn message(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "message": message.into() }),
            applied: false,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        r.extensions_mut().insert(Applied(self.applied));
        r
    }
}

/// Carried on a handler's response (in its extensions) when one request may apply
/// several documents (a batch): the references of those it applied, for the log's
/// `applied_references`. Without it, an applied request applied its `reference`.
#[derive(Debug, Clone)]
pub struct AppliedReferences(pub Vec<String>);

/// Carried on a [`Reply`]'s response so the log knows whether it applied.
#[derive(Debug, Clone, Copy)]
struct Applied(bool);

/// Whether a handler's response says it applied, and what.
pub(crate) fn outcome(response: &Response) -> (bool, Option<Vec<String>>) {
    let applied = response.extensions().get::<Applied>().is_some_and(|a| a.0);
    let references = response.extensions().get::<AppliedReferences>().map(|r| r.0.clone());
    (applied, references)
}

/// `{"message": …}` with `status`.
pub fn json_message(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}
