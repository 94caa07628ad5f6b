//! `other`: another vendor beside EAS Pro, of the tests' own, to show that documents
//! are per vendor. `POST /other/sales` with a JSON `{"reference": …}` books a sale.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use posbridge_sandbox::{App, DocKind, Reply, SandboxError, Setup, VendorImitation};
use serde_json::{Value, json};

pub const OTHER: &str = "other";

#[derive(Debug)]
struct Other;

pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Other)
}

impl VendorImitation for Other {
    fn name(&self) -> &'static str {
        OTHER
    }

    fn routes(&self) -> &'static [&'static str] {
        &["sales"]
    }

    fn start(&mut self, _setup: &Setup<'_>) -> Result<(), SandboxError> {
        Ok(())
    }

    fn router(&self) -> Router<App> {
        Router::new().route("/sales", post(book))
    }

    fn reference_of(&self, _route: &str, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let body: Value = serde_json::from_slice(body).ok()?;
        Some(body["reference"].as_str()?.to_owned())
    }

    fn connector_section(&self, vendor_url: &str) -> Value {
        json!({"base_url": vendor_url})
    }
}

async fn book(State(app): State<App>, body: Bytes) -> Reply {
    let Ok(sale) = serde_json::from_slice::<Value>(&body) else {
        return Reply::message(StatusCode::BAD_REQUEST, "not JSON");
    };
    let Some(reference) = sale["reference"].as_str() else {
        return Reply::message(StatusCode::BAD_REQUEST, "no reference");
    };
    app.lock().store_document(OTHER, DocKind::Sale, reference, sale.clone());
    Reply {
        status: StatusCode::CREATED,
        body: json!({}),
        applied: true,
    }
}

/// Books `reference` at the other vendor.
pub async fn book_sale(sandbox: &posbridge_sandbox::SandboxHandle, reference: &str) -> u16 {
    super::client()
        .post(format!("{}sales", sandbox.vendor_url(OTHER)))
        .json(&json!({"reference": reference}))
        .send()
        .await
        .expect("a response")
        .status()
        .as_u16()
}
