//! The sandbox's imitation of CloudMA (feature `sandbox`), as `docs/vendors/cloudma.md`
//! decides the parts its document leaves open: [`imitation()`] for
//! [`posbridge_sandbox::Sandbox::start`]. An independent implementation of the vendor
//! side: it shares this crate but none of the connector's code (no `wire.rs`, `map.rs`
//! or client), so each checks the other (`tests/sandbox_fixtures.rs`).
//!
//! Routes (under `/cloudma/`), all `POST`, form (PHP bracket notation) or JSON:
//!
//! | route | success |
//! |---|---|
//! | `api/push-sale` | 201 `{"message": "Sale pushed successfully", "data": {"id": 1001}}` |
//! | `api/push-purchase` | 201 `{"message": "Purchase recorded", "purchase_id": 1001}` |
//! | `api/sync-stock` | 200 `[{"code": "TEA-100", "name": "Ceylon tea 100g", "qty": "118"}, …]` |
//!
//! Checks, in order, each answered with a JSON `{"message": …}`:
//! 1. a body that cannot be read at all (bad JSON, unknown content type): 400
//!    `Malformed request: …`;
//! 2. `token` missing or wrong: 401 `Unauthorized`;
//! 3. a required field missing or not a number: 400 `Malformed request: …`;
//! 4. per item, in order: an unknown `code` is 400 `Product Not Found`; a `qty` that
//!    is not a positive integer is 400 `qty must be a positive integer`; a `total`
//!    other than `round2(qty × unit_price) − discount` (to the cent) is 400
//!    `Item total does not match for <code>`;
//! 5. `grand_total` other than the sum of item totals: 400
//!    `grand_total must match the sum of item totals`;
//! 6. a `reference_no` already received (sales and purchases separately): 400
//!    `Duplicate reference_no <ref>`.
//!
//! Then it applies: stock moves by each `qty`, the request (without the token) is
//! stored under its reference, and the document gets the next id (from 1001; sales
//! and purchases count separately).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use posbridge_core::Decimal;
use posbridge_core::money::round_money;
use posbridge_sandbox::body::{self, decimal, text};
use posbridge_sandbox::{
    App, DemoProfile, DocKind, Reply, SandboxError, Setup, SharedState as SandboxState, VendorImitation,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::VENDOR;

/// The API token CloudMA's document gives, which the imitation accepts by default.
pub const DEFAULT_TOKEN: &str = "38iGm3yI86Hw";

/// Its routes, after the prefix.
const ROUTES: &[&str] = &[PUSH_SALE, PUSH_PURCHASE, SYNC_STOCK];

const PUSH_SALE: &str = "api/push-sale";
const PUSH_PURCHASE: &str = "api/push-purchase";
const SYNC_STOCK: &str = "api/sync-stock";

/// The first id given to a sale, and to a purchase.
const FIRST_ID: u64 = 1001;

/// The imitation, for [`posbridge_sandbox::Sandbox::start`].
pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Imitation::default())
}

/// The imitation's settings: its section of the sandbox's config (`"cloudma": {…}`).
///
/// ```
/// use posbridge_cloudma::sandbox::ImitationConfig;
///
/// assert_eq!(ImitationConfig::default().token, "38iGm3yI86Hw");
/// assert!(serde_json::from_str::<ImitationConfig>(r#"{"tokn": "x"}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImitationConfig {
    /// The only API token accepted; default [`DEFAULT_TOKEN`], the one in CloudMA's
    /// document.
    pub token: String,
}

impl Default for ImitationConfig {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_owned(),
        }
    }
}

/// CloudMA as the sandbox imitates it (see [`imitation()`]).
#[derive(Debug, Default)]
pub struct Imitation {
    running: Option<Arc<Running>>,
}

/// What the handlers share once started.
#[derive(Debug)]
struct Running {
    app: App,
    settings: ImitationConfig,
}

impl VendorImitation for Imitation {
    fn name(&self) -> &'static str {
        VENDOR
    }

    fn routes(&self) -> &'static [&'static str] {
        ROUTES
    }

    fn start(&mut self, setup: &Setup<'_>) -> Result<(), SandboxError> {
        self.running = Some(Arc::new(Running {
            app: setup.app.clone(),
            settings: setup.settings()?,
        }));
        Ok(())
    }

    fn router(&self) -> Router<App> {
        match &self.running {
            Some(running) => router().with_state(running.clone()),
            None => Router::new(),
        }
    }

    fn reference_of(&self, _route: &str, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let fields = body::decode(headers, body).ok()?;
        text(fields.get("reference_no")?)
    }

    fn connector_section(&self, vendor_url: &str) -> Value {
        let token = self
            .running
            .as_ref()
            .map_or(DEFAULT_TOKEN, |r| r.settings.token.as_str());
        json!({"base_url": vendor_url, "token": token})
    }

    fn demo(&self) -> DemoProfile {
        DemoProfile {
            fault_writes: &[PUSH_SALE, PUSH_PURCHASE],
            fault_reads: &[SYNC_STOCK],
            // CloudMA's own duplicate policy is unknown, but the imitation refuses a
            // repeated reference_no as docs/vendors/cloudma.md assumes.
            refuses_repeated_reference: true,
            ..DemoProfile::default()
        }
    }
}

fn router() -> Router<Arc<Running>> {
    Router::new()
        .route(&format!("/{PUSH_SALE}"), post(push_sale))
        .route(&format!("/{PUSH_PURCHASE}"), post(push_purchase))
        .route(&format!("/{SYNC_STOCK}"), post(sync_stock))
}

async fn push_sale(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    match authorise(&me.settings.token, &headers, &body) {
        Ok(fields) => push(&mut me.app.lock(), DocKind::Sale, fields),
        Err(reply) => reply,
    }
}

async fn push_purchase(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    match authorise(&me.settings.token, &headers, &body) {
        Ok(fields) => push(&mut me.app.lock(), DocKind::Purchase, fields),
        Err(reply) => reply,
    }
}

async fn sync_stock(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    match authorise(&me.settings.token, &headers, &body) {
        Ok(_) => stock(&me.app.lock()),
        Err(reply) => reply,
    }
}

fn malformed(what: impl std::fmt::Display) -> Reply {
    Reply::message(StatusCode::BAD_REQUEST, format!("Malformed request: {what}"))
}

fn refused(message: impl Into<String>) -> Reply {
    Reply::message(StatusCode::BAD_REQUEST, message)
}

/// Reads the body and checks the token.
fn authorise(token: &str, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Reply> {
    let fields = match body::decode(headers, body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(malformed("the body must be an object")),
        Err(e) => return Err(malformed(e)),
    };
    match fields.get("token") {
        Some(Value::String(t)) if t == token => Ok(fields),
        _ => Err(Reply::message(StatusCode::UNAUTHORIZED, "Unauthorized")),
    }
}

/// A positive integer: a JSON integer, or a string of digits.
fn positive_integer(v: &Value) -> Option<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }?;
    (n > 0).then_some(n)
}

/// A required money field.
fn money(fields: &Map<String, Value>, name: &str, label: &str) -> Result<Decimal, Reply> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(malformed(format!("{label} is required"))),
        Some(v) => decimal(v).ok_or_else(|| malformed(format!("{label} must be a number"))),
    }
}

/// An optional money field (absent is zero).
fn optional_money(fields: &Map<String, Value>, name: &str, label: &str) -> Result<Decimal, Reply> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(Decimal::ZERO),
        Some(v) => decimal(v).ok_or_else(|| malformed(format!("{label} must be a number"))),
    }
}

/// One item, as read (before the business rules).
struct Item<'a> {
    code: String,
    qty: &'a Value,
    unit: Decimal,
    discount: Decimal,
    total: Decimal,
}

/// Validates and applies a push-sale or push-purchase.
fn push(state: &mut SandboxState, kind: DocKind, fields: Map<String, Value>) -> Reply {
    match try_push(state, kind, fields) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn try_push(state: &mut SandboxState, kind: DocKind, mut fields: Map<String, Value>) -> Result<Reply, Reply> {
    let unit_field = match kind {
        DocKind::Sale => "unit_price",
        DocKind::Purchase => "unit_cost",
    };

    // Required fields, and their types.
    let reference = match fields.get("reference_no").and_then(text) {
        Some(r) if !r.trim().is_empty() => r,
        Some(_) => return Err(malformed("reference_no must not be empty")),
        None => return Err(malformed("reference_no is required")),
    };
    let grand_total = money(&fields, "grand_total", "grand_total")?;
    if kind == DocKind::Sale {
        optional_money(&fields, "shipping_cost", "shipping_cost")?;
        optional_money(&fields, "total_discount", "total_discount")?;
    }
    let raw_items = match fields.get("items") {
        Some(Value::Array(a)) if a.is_empty() => return Err(malformed("items must not be empty")),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(malformed("items must be a list of items")),
        None => return Err(malformed("items is required")),
    };
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, raw) in raw_items.iter().enumerate() {
        let Some(item) = raw.as_object() else {
            return Err(malformed(format!("items[{i}] must be an object")));
        };
        let label = |f: &str| format!("items[{i}][{f}]");
        let code = match item.get("code").map(text) {
            Some(Some(c)) => c,
            Some(None) => return Err(malformed(format!("{} must be a string", label("code")))),
            None => return Err(malformed(format!("{} is required", label("code")))),
        };
        let Some(qty) = item.get("qty").filter(|q| !q.is_null()) else {
            return Err(malformed(format!("{} is required", label("qty"))));
        };
        items.push(Item {
            code,
            qty,
            unit: money(item, unit_field, &label(unit_field))?,
            discount: optional_money(item, "discount", &label("discount"))?,
            total: money(item, "total", &label("total"))?,
        });
    }

    // The rules, in order.
    let too_large = || malformed("an amount is too large");
    let mut sum = Decimal::ZERO;
    let mut deltas = Vec::with_capacity(items.len());
    for item in &items {
        if state.product(&item.code).is_none() {
            return Err(refused("Product Not Found"));
        }
        let Some(qty) = positive_integer(item.qty) else {
            return Err(refused("qty must be a positive integer"));
        };
        let qty = Decimal::from(qty);
        let gross = qty.checked_mul(item.unit).ok_or_else(too_large)?;
        let expected = round_money(gross).checked_sub(item.discount).ok_or_else(too_large)?;
        if round_money(item.total) != round_money(expected) {
            return Err(refused(format!("Item total does not match for {}", item.code)));
        }
        sum = sum.checked_add(item.total).ok_or_else(too_large)?;
        let delta = match kind {
            DocKind::Sale => -qty,
            DocKind::Purchase => qty,
        };
        deltas.push((item.code.as_str(), delta));
    }
    if round_money(grand_total) != round_money(sum) {
        return Err(refused("grand_total must match the sum of item totals"));
    }
    if state.has_document(VENDOR, kind, &reference) {
        return Err(refused(format!("Duplicate reference_no {reference}")));
    }

    // Apply.
    state
        .adjust_stock(&deltas)
        .map_err(|e| malformed(format!("stock out of range ({})", e.0)))?;
    let id = state.next_id(VENDOR, kind, FIRST_ID);
    fields.remove("token");
    state.store_document(VENDOR, kind, &reference, Value::Object(fields));
    let body = match kind {
        DocKind::Sale => json!({"message": "Sale pushed successfully", "data": {"id": id}}),
        DocKind::Purchase => json!({"message": "Purchase recorded", "purchase_id": id}),
    };
    Ok(Reply {
        status: StatusCode::CREATED,
        body,
        applied: true,
    })
}

/// Every product with its stock as a string, in catalogue order.
fn stock(state: &SandboxState) -> Reply {
    let list: Vec<Value> = state
        .products()
        .iter()
        .map(|p| json!({"code": p.code, "name": p.name, "qty": p.stock.normalize().to_string()}))
        .collect();
    Reply {
        status: StatusCode::OK,
        body: Value::Array(list),
        applied: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posbridge_sandbox::Catalogue;

    fn state() -> SandboxState {
        SandboxState::new(Catalogue::sample(), 42, Vec::new())
    }

    fn sale(items: Value, grand_total: &str) -> Map<String, Value> {
        match json!({"token": "t", "reference_no": "S1", "grand_total": grand_total, "items": items}) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn message(r: &Reply) -> &str {
        r.body["message"].as_str().unwrap_or("")
    }

    #[test]
    fn numbers_in_every_spelling() {
        assert_eq!(decimal(&json!("150.00")), Some(Decimal::new(15000, 2)));
        assert_eq!(decimal(&json!(150.0)), Some(Decimal::new(150, 0)));
        assert_eq!(decimal(&json!("1.5e2")), Some(Decimal::new(150, 0)));
        for bad in [
            json!(""),
            json!("abc"),
            json!("1e999"),
            json!("9".repeat(80)),
            json!(null),
            json!([1]),
        ] {
            assert_eq!(decimal(&bad), None, "{bad}");
        }
        assert_eq!(positive_integer(&json!(2)), Some(2));
        assert_eq!(positive_integer(&json!("2")), Some(2));
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("1.5"),
            json!("0"),
            json!(" 2"),
            json!("99999999999999999999999"),
        ] {
            assert_eq!(positive_integer(&bad), None, "{bad}");
        }
    }

    #[test]
    fn rounds_once_per_line_half_away_from_zero() {
        let mut s = state();
        let items = json!([
            {"code": "TEA-100", "qty": "3", "unit_price": "3.335", "discount": "1.01", "total": "9.00"},
            {"code": "CANDY-1", "qty": "7", "unit_price": "0.145", "discount": "0.00", "total": "1.02"}
        ]);
        let r = push(&mut s, DocKind::Sale, sale(items, "10.02"));
        assert_eq!((r.status, r.applied), (StatusCode::CREATED, true), "{:?}", r.body);
        assert_eq!(r.body["data"]["id"], json!(1001));
    }

    #[test]
    fn rules_in_order() {
        let mut s = state();
        let unknown_then_bad_qty = json!([{"code": "NOPE", "qty": "0", "unit_price": "1", "total": "1"}]);
        let r = push(&mut s, DocKind::Sale, sale(unknown_then_bad_qty, "1"));
        assert_eq!(message(&r), "Product Not Found");
        let bad_qty = json!([{"code": "MUG-1", "qty": "1.5", "unit_price": "1", "total": "1"}]);
        assert_eq!(
            message(&push(&mut s, DocKind::Sale, sale(bad_qty, "1"))),
            "qty must be a positive integer"
        );
        let missing_total_later = json!([{"code": "NOPE", "qty": "1", "unit_price": "1", "total": "1"}, {"code": "MUG-1", "qty": "1", "unit_price": "1"}]);
        assert_eq!(
            message(&push(&mut s, DocKind::Sale, sale(missing_total_later, "1"))),
            "Malformed request: items[1][total] is required"
        );
        let huge = json!([{"code": "MUG-1", "qty": "18446744073709551615", "unit_price": "79228162514264337593543950335", "total": "1"}]);
        assert_eq!(
            message(&push(&mut s, DocKind::Sale, sale(huge, "1"))),
            "Malformed request: an amount is too large"
        );
        assert_eq!(s.requests().len(), 0);
        assert_eq!(s.snapshot(), state().snapshot());
    }
}
