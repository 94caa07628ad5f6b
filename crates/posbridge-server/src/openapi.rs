//! The API's OpenAPI 3.1 description, generated from the handlers and their types
//! (utoipa), served at `/openapi.json` and committed as `docs/openapi.json`.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "posbridge",
        description = "The posbridge outbox as a service: enqueue a till's sales, returns, voids and payments for its back-office vendors, follow their deliveries, and read stock and products through. Errors are RFC 9457 problem+json. See docs/serve.md.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    modifiers(&ApiKeyAuth),
    tags(
        (name = "documents", description = "Enqueue documents for delivery"),
        (name = "deliveries", description = "Follow and settle deliveries"),
        (name = "reads", description = "Read a vendor's stock and products through the service"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
    components(schemas(crate::Problem, crate::FieldError)),
)]
struct ApiDoc;

/// Declares the bearer API key.
struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pbk_<id>_<secret>")
                    .description(Some("An API key from `posbridge keys create`."))
                    .build(),
            ),
        );
    }
}

/// The fixed parts, before the handlers add their paths.
pub(crate) fn base() -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api
}

/// The whole description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::api::router(base()).split_for_parts().1
}

/// The description as pretty JSON (what `docs/openapi.json` holds).
pub fn json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// `GET /openapi.json`.
pub(crate) async fn serve() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    let text = JSON.get_or_init(json).clone();
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
