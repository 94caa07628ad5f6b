//! The `/_sandbox/*` routes: look at the state and the request log, reset, and set
//! fault rules. They are never logged and never faulted. An imitation may add routes
//! of its own under `/_sandbox/<vendor>/` ([`VendorImitation::admin_router`](crate::VendorImitation::admin_router)).
//!
//! | route | does |
//! |---|---|
//! | `GET /_sandbox/state` | [`StateSnapshot`](crate::StateSnapshot) as JSON |
//! | `GET /_sandbox/requests` | the request log, `[RequestRecord]` |
//! | `POST /_sandbox/reset` | restores the catalogue, clears documents and the log, resets every imitation, re-seeds |
//! | `GET /_sandbox/faults` | the fault rules, `[FaultRule]` |
//! | `POST /_sandbox/faults` | replaces the fault rules with the JSON array sent (400 if invalid) |

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

use crate::faults::FaultRule;
use crate::reply::json_message;
use crate::serve::{self, Layer};
use crate::state::App;

/// The admin routes, under `/_sandbox`.
pub(crate) fn router(layer: Layer) -> Router<App> {
    Router::new()
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/faults", get(faults).post(set_faults))
        .with_state(layer)
}

async fn state(State(layer): State<Layer>) -> Response {
    Json(layer.app.lock().snapshot()).into_response()
}

async fn requests(State(layer): State<Layer>) -> Response {
    Json(layer.app.lock().requests()).into_response()
}

async fn reset(State(layer): State<Layer>) -> Response {
    serve::reset(&layer.app, &layer.imitations);
    json_message(StatusCode::OK, "Sandbox reset")
}

async fn faults(State(layer): State<Layer>) -> Response {
    Json(layer.app.lock().faults()).into_response()
}

async fn set_faults(State(layer): State<Layer>, body: Bytes) -> Response {
    let rules: Vec<FaultRule> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return json_message(
                StatusCode::BAD_REQUEST,
                &format!("expected a JSON array of fault rules: {e}"),
            );
        }
    };
    for (i, rule) in rules.iter().enumerate() {
        if let Err(e) = layer.imitations.check(rule) {
            return json_message(StatusCode::BAD_REQUEST, &format!("fault rule #{i}: {e}"));
        }
    }
    layer.app.lock().set_faults(rules.clone());
    Json(rules).into_response()
}
