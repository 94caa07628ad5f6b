//! The operator console: server-rendered pages under `/console`.
//!
//! - `GET /console/login`, `POST /console/login` (form field `key`): an operator key
//!   starts a session (a signed cookie naming the key's id, never the key);
//!   `POST /console/logout` ends it.
//! - `GET /console`: per target, the count of deliveries in each state, the last
//!   success, the error rate of the last hour and a chart of the last 24 hours.
//! - `GET /console/deliveries`: deliveries with filters and search by reference, a page
//!   at a time.
//! - `GET /console/deliveries/{id}`: one delivery, its document and its history.
//! - `GET /console/deliveries/{id}/confirm?action=retry|delivered|resend`, then
//!   `POST /console/deliveries/{id}/{action}`: the operator's actions, confirmed first.
//!
//! Every page is rendered by maud (every value escaped), every form carries a CSRF token
//! bound to the session, and every answer carries a strict Content-Security-Policy (no
//! inline script or style: the stylesheet is `/console/assets/console.css`). No page
//! shows a key.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use crate::{Problem, Server};

mod chart;
mod login;
mod pages;
mod session;

use session::Session;

/// The stylesheet, served by the binary.
const CSS: &str = include_str!("../../assets/console.css");

/// The Content-Security-Policy of every console answer.
const CSP: &str = "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   frame-ancestors 'none'; form-action 'self'";

/// The console's routes.
pub(crate) fn router() -> Router<Server> {
    Router::new()
        .route("/console", get(pages::overview))
        .route("/console/", get(pages::overview))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", axum::routing::post(login::logout))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/deliveries", get(pages::deliveries))
        .route("/console/deliveries/{id}", get(pages::delivery))
        .route("/console/deliveries/{id}/confirm", get(pages::confirm))
        .route("/console/deliveries/{id}/{action}", axum::routing::post(pages::act))
        // Not a fallback: the service's other routes keep their own 404.
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::map_response(secure_headers))
}

/// Adds the security headers to every console answer.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn stylesheet() -> Response {
    let mut response = CSS.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}

async fn not_found() -> ConsoleError {
    ConsoleError::new(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no console page at this address.",
    )
}

/// A page's frame: the head, the navigation (with the logout form when logged in), the
/// body.
pub(crate) fn layout(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · posbridge console" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                header class="top" {
                    a class="brand" href="/console" { "posbridge" }
                    @if let Some(s) = session {
                        nav {
                            a href="/console" id="nav-overview" { "Overview" }
                            a href="/console/deliveries" id="nav-deliveries" { "Deliveries" }
                        }
                        form class="logout" method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(s.csrf());
                            span class="who" { "operator key " code { (s.key_id) } }
                            button type="submit" id="logout" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// What a console request can fail with, rendered as a page with its status.
#[derive(Debug)]
pub(crate) struct ConsoleError {
    status: StatusCode,
    title: String,
    detail: String,
    session: Option<Session>,
}

impl ConsoleError {
    /// An error page.
    pub(crate) fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title: title.to_owned(),
            detail: detail.into(),
            session: None,
        }
    }

    /// The page shows the logged-in navigation.
    pub(crate) fn within(mut self, session: &Session) -> Self {
        self.session = Some(session.clone());
        self
    }
}

impl From<Problem> for ConsoleError {
    fn from(p: Problem) -> Self {
        let status = p.status_code();
        let mut detail = p.detail;
        for e in p.errors {
            if e.detail != detail {
                detail.push_str(&format!(" ({}: {})", e.pointer, e.detail));
            }
        }
        Self::new(status, &p.title, detail)
    }
}

impl From<posbridge_outbox::OutboxError> for ConsoleError {
    fn from(e: posbridge_outbox::OutboxError) -> Self {
        Problem::from(e).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let body = html! {
            section class="error" id="error" {
                h1 { (self.status.as_u16()) " · " (self.title) }
                p id="error-detail" { (self.detail) }
                p { a href="/console" { "Back to the overview" } }
            }
        };
        (self.status, layout(&self.title, self.session.as_ref(), body)).into_response()
    }
}

/// `s` escaped for a query string (everything but unreserved characters
/// percent-encoded).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/console/deliveries` with these filters (empty ones left out).
pub(crate) fn deliveries_url(filters: &[(&str, &str)]) -> String {
    let query: Vec<String> = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        "/console/deliveries".to_owned()
    } else {
        format!("/console/deliveries?{}", query.join("&"))
    }
}

/// A time as the console shows it: UTC to the second.
pub(crate) fn when(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("S-1 a&b=c/é"), "S-1%20a%26b%3Dc%2F%C3%A9");
        assert_eq!(
            deliveries_url(&[("tenant", "colombo"), ("vendor", ""), ("state", "dead")]),
            "/console/deliveries?tenant=colombo&state=dead"
        );
        assert_eq!(deliveries_url(&[]), "/console/deliveries");
    }

    #[test]
    fn the_stylesheet_has_no_remote_import() {
        assert!(!CSS.contains("@import") && !CSS.contains("url("));
    }
}
