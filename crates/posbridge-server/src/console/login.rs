//! Logging in with the operator key, and out.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use governor::clock::{Clock as _, DefaultClock};
use maud::{Markup, html};
use secrecy::SecretString;
use serde::Deserialize;

use super::session::{self, Session};
use super::{ConsoleError, layout};
use crate::Server;
use crate::keys::{Role, describe};

/// The login form's fields.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    key: String,
}

/// What the login page says above its form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginNotice {
    /// Set after a logout.
    #[serde(default)]
    out: Option<String>,
}

/// `GET /console/login`.
pub(crate) async fn form(Query(notice): Query<LoginNotice>) -> Markup {
    let message = notice.out.map(|_| Message::Info("You are logged out."));
    page(message)
}

/// A line above the form.
enum Message {
    Info(&'static str),
    Error(&'static str),
}

fn page(message: Option<Message>) -> Markup {
    layout(
        "Log in",
        None,
        html! {
            section class="login" {
                h1 { "Operator console" }
                @match message {
                    Some(Message::Info(m)) => p class="notice" id="notice" { (m) },
                    Some(Message::Error(m)) => p class="flash-error" id="login-error" role="alert" { (m) },
                    None => {},
                }
                form method="post" action="/console/login" id="login-form" {
                    label for="key" { "Operator key" }
                    // The key is never written back into the page, even after a refusal.
                    input type="password" name="key" id="key" autocomplete="off" required
                        placeholder="pbk_…" spellcheck="false";
                    button type="submit" id="login" { "Log in" }
                }
                p class="hint" { "An operator key comes from " code { "posbridge keys create" } " on the service's host." }
            }
        },
    )
}

/// Whether a form POST comes from this site: without an `Origin` (old browsers, tools)
/// the SameSite cookie is the guard; with one, it must name the host asked.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(Ok(host))) = (origin.to_str(), headers.get(header::HOST).map(|h| h.to_str())) else {
        return false;
    };
    let Some((_, authority)) = origin.split_once("://") else {
        return false;
    };
    authority.eq_ignore_ascii_case(host)
}

/// `POST /console/login`: an operator key starts a session; anything else is refused
/// with the form again.
pub(crate) async fn submit(
    State(server): State<Server>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return ConsoleError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The login form was sent from another site.",
        )
        .into_response();
    }
    let key = match form {
        Ok(Form(f)) => SecretString::from(f.key.trim().to_owned()),
        Err(_) => return refused(StatusCode::BAD_REQUEST, "Enter the operator key."),
    };
    let inner = server.inner();
    let verified = match inner
        .keys
        .verify(&inner.outbox, secrecy::ExposeSecret::expose_secret(&key))
        .await
    {
        Ok(v) => v,
        Err(e) => return ConsoleError::from(crate::Problem::from(e)).into_response(),
    };
    let Some(verified) = verified else {
        tracing::info!(key = %describe(&key), "console login refused: not a valid key");
        // Refused attempts share one budget per presented id, as the API's do.
        if let Err(not_until) = inner.limiter.check_key(&format!("refused:{}", describe(&key))) {
            let wait = not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1);
            return ConsoleError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Too many refused logins; try again in {wait} s."),
            )
            .into_response();
        }
        return refused(StatusCode::UNAUTHORIZED, "That key is not valid (or it was revoked).");
    };
    if verified.role != Role::Operator {
        tracing::info!(key = %verified.id, "console login refused: a tenant's key");
        return refused(
            StatusCode::FORBIDDEN,
            "That is a tenant's API key: the console takes an operator key.",
        );
    }
    let ttl = server.config().session_ttl.as_secs().max(1);
    let expiry = session::now().saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let value = session::cookie_value(&inner.session_key, expiry, &verified.id);
    tracing::info!(key = %verified.id, "console login");
    let mut response = Redirect::to("/console").into_response();
    if let Some(cookie) = session::set_cookie(&value, ttl, server.config().secure_cookies) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn refused(status: StatusCode, message: &'static str) -> Response {
    (status, page(Some(Message::Error(message)))).into_response()
}

/// The CSRF field of a form.
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub(crate) csrf: String,
}

/// Refuses a form without this session's CSRF token.
pub(crate) fn check_csrf(session: &Session, form: Result<Form<CsrfForm>, FormRejection>) -> Result<(), ConsoleError> {
    match form {
        Ok(Form(f)) if session.csrf_matches(&f.csrf) => Ok(()),
        _ => {
            tracing::info!(key = %session.key_id, "console form refused: no valid CSRF token");
            Err(ConsoleError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "This form has expired or did not come from the console. Reload the page and try again.",
            )
            .within(session))
        }
    }
}

/// `POST /console/logout`: ends the session.
pub(crate) async fn logout(
    State(server): State<Server>,
    session: Session,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    check_csrf(&session, form)?;
    tracing::info!(key = %session.key_id, "console logout");
    let mut response = Redirect::to("/console/login?out=1").into_response();
    if let Some(cookie) = session::clear_cookie(server.config().secure_cookies) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_login_from_another_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
