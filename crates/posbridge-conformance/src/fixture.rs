//! The fixture format: one JSON file per conformance case.
//!
//! The JSON Schema of this format is generated from these types by
//! `cargo xtask conformance` and committed as `docs/fixture.schema.json`.

use std::collections::BTreeMap;
use std::path::Path;

use posbridge_core::{ErrorKind, Operation};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One conformance case: an operation on a connector built from `config`, the exact
/// HTTP exchanges it must make (each exactly once, in order, and no other), and the
/// outcome it must return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What the case shows, in a sentence.
    pub description: String,
    /// The trait operation under test (`call`: a documented call of the vendor's own,
    /// named by `call`).
    pub operation: Operation,
    /// For `operation: "call"`: the name of the vendor's documented call
    /// ([`Connector::call`](posbridge_core::Connector::call)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The documented endpoint this case exercises (`POST /pos/orders`), where the
    /// operation performs several (Asalta's `push_sale` books invoices and orders);
    /// without it, the first documented endpoint the operation performs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The required cases this fixture covers (see `docs/fixtures.md`).
    #[serde(default)]
    pub covers: Vec<Case>,
    /// The vendor's connector configuration. The runner sets `base_url` to its mock
    /// server, and `http` to fast test timings unless the case sets it.
    pub config: Value,
    /// The operation's input: a `Sale` for `push_sale`, a list of sales for
    /// `push_sales`, a `Purchase` for `push_purchase`, `{"id": …}` for reads by id,
    /// a `Customer` for `create_customer`, `{"id": …, "customer": …}` for
    /// `update_customer`, nothing for lists.
    #[serde(default)]
    pub input: Value,
    /// The HTTP exchanges expected, in order.
    #[serde(default)]
    pub exchanges: Vec<Exchange>,
    /// The expected outcome.
    pub expect: Expect,
}

impl Fixture {
    /// Reads and parses a fixture file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{} is not a valid fixture: {e}", path.display()))
    }
}

/// The required behaviours every connector demonstrates, per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// The operation succeeds.
    HappyPath,
    /// The vendor refuses the credentials: an `auth` error.
    InvalidCredentials,
    /// The vendor refuses the request: a `rejected` error that keeps its message.
    Rejected,
    /// A 429 with `Retry-After`.
    RateLimited,
    /// A 5xx, then success on the retry (reads and idempotent writes).
    ServerErrorThenSuccess,
    /// A response body that cannot be decoded.
    MalformedResponse,
    /// Amounts that exercise the rounding rule.
    Rounding,
    /// A 5xx answer to a write after the sale: retried to success where repeating
    /// it is safe (the vendor upserts or refuses a repeat), else reported
    /// `uncertain` and not re-sent.
    ServerError,
    /// The document refers to a sale (or payment) the vendor does not hold: a typed
    /// error (`not_found` or the vendor's rejection), never a silent success.
    UnknownSale,
    /// A list read over more than one page (or, for an unpaged list, a list of several
    /// entries read whole).
    Paging,
}

impl Case {
    /// The cases required of a documented operation of `shape`: a read's, with paging
    /// for a list; a write's (the customer writes'); a login's or token renewal's
    /// (its refusal, a throttled and a garbled answer, besides success); none of a page
    /// only the user's browser visits.
    pub fn required_for_shape(shape: posbridge_core::Shape) -> &'static [Case] {
        use posbridge_core::Shape;
        match shape {
            Shape::List => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::ServerErrorThenSuccess,
                Case::MalformedResponse,
                Case::Paging,
            ],
            Shape::Write => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::ServerError,
                Case::MalformedResponse,
            ],
            Shape::Auth => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::RateLimited,
                Case::ServerErrorThenSuccess,
                Case::MalformedResponse,
            ],
            // No request of the connector's goes there: nothing a fixture can show.
            Shape::Browser => &[],
            _ => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::ServerErrorThenSuccess,
                Case::MalformedResponse,
            ],
        }
    }

    /// The cases required of an operation.
    pub fn required_for(op: Operation) -> &'static [Case] {
        match op {
            Operation::PushSale | Operation::PushSales | Operation::PushPurchase => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::MalformedResponse,
                Case::Rounding,
            ],
            Operation::PushReturn | Operation::AddPayment => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::ServerError,
                Case::MalformedResponse,
                Case::Rounding,
                Case::UnknownSale,
            ],
            Operation::VoidSale | Operation::DeletePayment => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::ServerError,
                Case::MalformedResponse,
                Case::UnknownSale,
            ],
            Operation::CreateCustomer
            | Operation::UpdateCustomer
            | Operation::DeleteCustomer
            | Operation::CreateProduct
            | Operation::UpdateProduct
            | Operation::DeleteProduct => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::Rejected,
                Case::RateLimited,
                Case::MalformedResponse,
            ],
            _ => &[
                Case::HappyPath,
                Case::InvalidCredentials,
                Case::RateLimited,
                Case::ServerErrorThenSuccess,
                Case::MalformedResponse,
            ],
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Case::HappyPath => "happy_path",
            Case::InvalidCredentials => "invalid_credentials",
            Case::Rejected => "rejected",
            Case::RateLimited => "rate_limited",
            Case::ServerErrorThenSuccess => "server_error_then_success",
            Case::MalformedResponse => "malformed_response",
            Case::Rounding => "rounding",
            Case::ServerError => "server_error",
            Case::UnknownSale => "unknown_sale",
            Case::Paging => "paging",
        }
    }
}

/// One request the connector must send, and the response it gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// What the request must be.
    pub request: ExpectedRequest,
    /// What the mock server answers.
    pub response: MockResponse,
}

/// A request as the vendor must receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRequest {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query parameters, exactly (absent means none).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Headers that must be present with these values (names are case-insensitive;
    /// other headers are allowed).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body, exactly (absent means empty).
    #[serde(default)]
    pub body: Option<RequestBody>,
}

/// An expected request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestBody {
    /// A JSON document, compared as JSON (numbers by value, key order ignored).
    Json(Value),
    /// Form fields, compared as a map (every field, nothing else).
    Form(BTreeMap<String, String>),
    /// Raw text, exactly.
    Text(String),
}

/// What the mock server answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body (absent means empty).
    #[serde(default)]
    pub body: Option<ResponseBody>,
    /// Milliseconds to wait before answering (to provoke timeouts).
    #[serde(default)]
    pub delay_ms: u64,
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ResponseBody {
    /// A JSON document (sent with `content-type: application/json` unless the
    /// headers say otherwise).
    Json(Value),
    /// Raw text, sent as is: use it for malformed bodies.
    Text(String),
}

/// The outcome the operation must return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expect {
    /// Success with this value: a `PushReceipt`, a list of `StockLevel`s, … as JSON;
    /// compared as the domain type, so decimals compare by value (`"10.5"` equals
    /// `"10.50"`). For `push_sales`, a list of `{"ok": …}` / `{"error": …}`.
    Ok(Value),
    /// Failure with this error.
    Error(ExpectedError),
}

/// An expected error: its kind, and whichever details the case pins down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// The error kind.
    pub kind: ErrorKind,
    /// For `invalid`: the field named.
    #[serde(default)]
    pub field: Option<String>,
    /// For `rejected`: the HTTP status.
    #[serde(default)]
    pub status: Option<u16>,
    /// For `rejected`: the vendor's code.
    #[serde(default)]
    pub vendor_code: Option<String>,
    /// For `rejected` and `auth`: the vendor's message, exactly.
    #[serde(default)]
    pub vendor_message: Option<String>,
    /// For `rate_limited`: the `Retry-After` in seconds.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Text the error's message must contain.
    #[serde(default)]
    pub message_contains: Vec<String>,
}
