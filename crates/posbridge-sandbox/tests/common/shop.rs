//! `shop`: a small imitation of the tests' own, so that the sandbox's machinery (the
//! admin API, faults, the log, shutdown) is tested without any vendor's. Under
//! `/shop/`, every route `POST` with a form or JSON body carrying `token`:
//!
//! | route | does |
//! |---|---|
//! | `api/push-sale` | books `reference_no` as a sale, lowers stock by each `items[i][qty]`: 201 `{"data": {"id": 1001}}` |
//! | `api/push-purchase` | books it as a purchase, raises stock: 201 `{"data": {"id": 1001}}` |
//! | `api/sync-stock` | every product's stock: 200 |
//!
//! A wrong token is 401 `Unauthorized`; a body without a reference or with an unknown
//! product 400; a reference booked before 400 `Duplicate reference_no <ref>`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use posbridge_core::Decimal;
use posbridge_sandbox::body::{self, decimal, text};
use posbridge_sandbox::{App, DocKind, Reply, SandboxError, Setup, VendorImitation};
use serde::Deserialize;
use serde_json::{Value, json};

/// Its path prefix.
pub const SHOP: &str = "shop";

/// The token it accepts by default.
pub const TOKEN: &str = "shop-token";

const PUSH_SALE: &str = "api/push-sale";
const PUSH_PURCHASE: &str = "api/push-purchase";
const SYNC_STOCK: &str = "api/sync-stock";

/// Its section of the sandbox's config.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub token: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token: TOKEN.to_owned(),
        }
    }
}

#[derive(Debug, Default)]
pub struct Shop {
    running: Option<Arc<Running>>,
}

#[derive(Debug)]
struct Running {
    app: App,
    settings: Settings,
}

pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Shop::default())
}

impl VendorImitation for Shop {
    fn name(&self) -> &'static str {
        SHOP
    }

    fn routes(&self) -> &'static [&'static str] {
        &[PUSH_SALE, PUSH_PURCHASE, SYNC_STOCK]
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
            Some(r) => Router::new()
                .route(&format!("/{PUSH_SALE}"), post(push_sale))
                .route(&format!("/{PUSH_PURCHASE}"), post(push_purchase))
                .route(&format!("/{SYNC_STOCK}"), post(sync_stock))
                .with_state(r.clone()),
            None => Router::new(),
        }
    }

    fn reference_of(&self, _route: &str, headers: &HeaderMap, body: &[u8]) -> Option<String> {
        text(body::decode(headers, body).ok()?.get("reference_no")?)
    }

    fn connector_section(&self, vendor_url: &str) -> Value {
        json!({"base_url": vendor_url, "token": TOKEN})
    }
}

fn fields(me: &Running, headers: &HeaderMap, body: &[u8]) -> Result<Value, Reply> {
    let fields =
        body::decode(headers, body).map_err(|e| Reply::message(StatusCode::BAD_REQUEST, format!("Malformed: {e}")))?;
    match fields.get("token") {
        Some(Value::String(t)) if *t == me.settings.token => Ok(fields),
        _ => Err(Reply::message(StatusCode::UNAUTHORIZED, "Unauthorized")),
    }
}

fn book(me: &Running, headers: &HeaderMap, body: &[u8], kind: DocKind) -> Reply {
    let fields = match fields(me, headers, body) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let Some(reference) = fields.get("reference_no").and_then(text) else {
        return Reply::message(StatusCode::BAD_REQUEST, "reference_no is required");
    };
    let sign = match kind {
        DocKind::Sale => Decimal::NEGATIVE_ONE,
        DocKind::Purchase => Decimal::ONE,
    };
    let items = fields
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut deltas = Vec::new();
    for item in &items {
        let (Some(code), Some(qty)) = (item.get("code").and_then(text), item.get("qty").and_then(decimal)) else {
            return Reply::message(StatusCode::BAD_REQUEST, "items need a code and a qty");
        };
        deltas.push((code, qty * sign));
    }
    let mut state = me.app.lock();
    if state.has_document(SHOP, kind, &reference) {
        return Reply::message(StatusCode::BAD_REQUEST, format!("Duplicate reference_no {reference}"));
    }
    let deltas: Vec<(&str, Decimal)> = deltas.iter().map(|(c, q)| (c.as_str(), *q)).collect();
    if state.adjust_stock(&deltas).is_err() {
        return Reply::message(StatusCode::BAD_REQUEST, "Product Not Found");
    }
    let id = state.next_id(SHOP, kind, 1001);
    state.store_document(SHOP, kind, &reference, fields);
    Reply {
        status: StatusCode::CREATED,
        body: json!({"data": {"id": id}}),
        applied: true,
    }
}

async fn push_sale(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    book(&me, &headers, &body, DocKind::Sale)
}

async fn push_purchase(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    book(&me, &headers, &body, DocKind::Purchase)
}

async fn sync_stock(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    if let Err(reply) = fields(&me, &headers, &body) {
        return reply;
    }
    let stock: Vec<Value> = me
        .app
        .lock()
        .products()
        .iter()
        .map(|p| json!({"code": p.code, "qty": p.stock.normalize().to_string()}))
        .collect();
    Reply {
        status: StatusCode::OK,
        body: Value::Array(stock),
        applied: false,
    }
}
