//! The `/_sandbox/*` routes: look at the state and the request log, reset, and set
//! fault rules. They are never logged and never faulted.
//!
//! | route | does |
//! |---|---|
//! | `GET /_sandbox/state` | [`StateSnapshot`](crate::StateSnapshot) as JSON |
//! | `GET /_sandbox/requests` | the request log, `[RequestRecord]` |
//! | `POST /_sandbox/reset` | restores the catalogue, clears documents and the log, re-seeds |
//! | `GET /_sandbox/faults` | the fault rules, `[FaultRule]` |
//! | `POST /_sandbox/faults` | replaces the fault rules with the JSON array sent (400 if invalid) |
//! | `POST /_sandbox/codemax/expire-access-tokens` | expires every Codemax access token (refresh tokens still work) |
//! | `POST /_sandbox/codemax/revoke-tokens` | revokes every Codemax access and refresh token |
//! | `POST /_sandbox/salesmania/expire-tokens` | expires every SalesMania bearer and team token |
//! | `POST /_sandbox/asalta/expire-tokens` | expires every Asalta access token (refresh tokens still work) |

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

use crate::faults::FaultRule;
use crate::state::App;
use crate::vendors::json_message;

/// The admin routes, under `/_sandbox`.
pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/faults", get(faults).post(set_faults))
        .route(
            "/_sandbox/codemax/expire-access-tokens",
            post(expire_codemax_access_tokens),
        )
        .route("/_sandbox/codemax/revoke-tokens", post(revoke_codemax_tokens))
        .route("/_sandbox/salesmania/expire-tokens", post(expire_salesmania_tokens))
        .route("/_sandbox/asalta/expire-tokens", post(expire_asalta_tokens))
}

async fn state(State(app): State<App>) -> Response {
    Json(app.lock().snapshot()).into_response()
}

async fn requests(State(app): State<App>) -> Response {
    Json(app.lock().requests()).into_response()
}

async fn reset(State(app): State<App>) -> Response {
    app.lock().reset();
    json_message(StatusCode::OK, "Sandbox reset")
}

async fn expire_codemax_access_tokens(State(app): State<App>) -> Response {
    app.lock().codemax.expire_access_tokens(tokio::time::Instant::now());
    json_message(StatusCode::OK, "Codemax access tokens expired")
}

async fn revoke_codemax_tokens(State(app): State<App>) -> Response {
    app.lock().codemax.revoke_tokens();
    json_message(StatusCode::OK, "Codemax tokens revoked")
}

async fn expire_salesmania_tokens(State(app): State<App>) -> Response {
    app.lock().salesmania.expire_tokens(tokio::time::Instant::now());
    json_message(StatusCode::OK, "SalesMania tokens expired")
}

async fn expire_asalta_tokens(State(app): State<App>) -> Response {
    app.lock().asalta.expire_tokens(tokio::time::Instant::now());
    json_message(StatusCode::OK, "Asalta access tokens expired")
}

async fn faults(State(app): State<App>) -> Response {
    Json(app.lock().faults()).into_response()
}

async fn set_faults(State(app): State<App>, body: Bytes) -> Response {
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
        if let Err(e) = rule.validate() {
            return json_message(StatusCode::BAD_REQUEST, &format!("fault rule #{i}: {e}"));
        }
    }
    app.lock().set_faults(rules.clone());
    Json(rules).into_response()
}
