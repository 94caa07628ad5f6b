//! The operator console over HTTP, as a browser without JavaScript would use it:
//! login and its refusals, the session cookie and its forgeries, CSRF, the pages, the
//! confirmed actions, and that no page ever shows a key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use posbridge_outbox::{DeliveryQuery, DeliveryState, Target};
use posbridge_server::ServerConfig;
use posbridge_server::keys::{self, Role};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use secrecy::ExposeSecret as _;

use crate::support::{self, TestServer};

/// A page as fetched.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

async fn page(resp: reqwest::Response) -> Page {
    Page {
        status: resp.status(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

/// GET `path` with the `Cookie` header `cookie` (if any).
async fn get(ts: &TestServer, path: &str, cookie: Option<&str>) -> Page {
    let mut req = ts.http.get(ts.at(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    page(req.send().await.unwrap()).await
}

/// POST a form to `path` with the `Cookie` header `cookie` (if any).
async fn post(ts: &TestServer, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Page {
    let mut req = ts.http.post(ts.at(path)).form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    page(req.send().await.unwrap()).await
}

/// The `name=value` of the session cookie a response set, and the whole header.
fn session_cookie(p: &Page) -> Option<(String, String)> {
    p.headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("posbridge_session="))
        .map(|v| (v.split(';').next().unwrap().trim().to_owned(), v.to_owned()))
}

/// Logs in with the operator key: the `Cookie` header of the session.
async fn login(ts: &TestServer) -> String {
    let p = post(ts, "/console/login", None, &[("key", &ts.operator_key)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), "/console");
    session_cookie(&p).expect("a session cookie").0
}

/// The CSRF token of the first form of a page.
fn csrf(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn one(ts: &TestServer, tenant: &str, vendor: &str, reference: &str) -> posbridge_outbox::Delivery {
    let found = ts
        .server
        .outbox()
        .query(&DeliveryQuery {
            tenant: Some(tenant.into()),
            vendor: Some(vendor.into()),
            reference: Some(reference.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

/// The secret parts of every key the test server made.
fn secrets(ts: &TestServer) -> Vec<String> {
    let mut all = vec![ts.operator_key.clone()];
    all.extend(ts.tenant_keys.values().cloned());
    // The secret part alone (after `pbk_<id>_`) must not appear either.
    let parts: Vec<String> = all
        .iter()
        .map(|k| k.splitn(3, '_').nth(2).unwrap().to_owned())
        .collect();
    all.extend(parts);
    all
}

fn assert_no_secret(ts: &TestServer, what: &str, p: &Page) {
    for s in secrets(ts) {
        assert!(!p.body.contains(&s), "{what} shows a key");
        for (name, v) in &p.headers {
            assert!(
                !v.to_str().unwrap_or("").contains(&s),
                "{what}'s header {name} holds a key"
            );
        }
    }
}

fn assert_secure_headers(what: &str, p: &Page) {
    let h = |n: &str| p.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(
        h("content-security-policy"),
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
         form-action 'self'",
        "{what}"
    );
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "same-origin", "{what}");
    assert_eq!(h("cache-control"), "no-store", "{what}");
}

#[tokio::test]
async fn login_refuses_a_wrong_key() {
    let ts = support::start().await;
    let mut wrong = ts.operator_key.clone();
    wrong.pop();
    wrong.push(if ts.operator_key.ends_with('A') { 'B' } else { 'A' });
    for key in [wrong.as_str(), "", "not a key"] {
        let p = post(&ts, "/console/login", None, &[("key", key)]).await;
        assert!(
            p.status == StatusCode::UNAUTHORIZED || p.status == StatusCode::BAD_REQUEST,
            "{key}: {}",
            p.status
        );
        assert!(session_cookie(&p).is_none());
        assert!(p.body.contains("id=\"login-error\""), "{}", p.body);
        if key.len() > 20 {
            assert!(!p.body.contains(key), "the key is not written back");
        }
    }
}

#[tokio::test]
async fn login_refuses_a_tenant_key_saying_why() {
    let ts = support::start().await;
    let p = post(&ts, "/console/login", None, &[("key", ts.key("colombo"))]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(session_cookie(&p).is_none());
    assert!(
        p.body.contains("tenant&#39;s API key") || p.body.contains("tenant's API key"),
        "{}",
        p.body
    );
    assert_no_secret(&ts, "the refused login", &p);
}

#[tokio::test]
async fn login_refuses_a_form_from_another_origin() {
    let ts = support::start().await;
    let p = page(
        ts.http
            .post(ts.at("/console/login"))
            .header("origin", "https://evil.example")
            .form(&[("key", ts.operator_key.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(session_cookie(&p).is_none());
}

#[tokio::test]
async fn the_operator_key_logs_in_with_a_strict_cookie_and_out_again() {
    let ts = support::start().await;
    let form = get(&ts, "/console/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="key""#));
    assert_secure_headers("the login page", &form);

    let p = post(&ts, "/console/login", None, &[("key", &ts.operator_key)]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/console");
    let (cookie, header) = session_cookie(&p).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age="] {
        assert!(header.contains(attribute), "{header}");
    }
    assert!(!header.contains("Secure"), "not asked for: {header}");
    assert_no_secret(&ts, "the login answer", &p);

    let overview = get(&ts, "/console", Some(&cookie)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("Overview"));
    assert_secure_headers("the overview", &overview);

    let token = csrf(&overview.body);
    let out = post(&ts, "/console/logout", Some(&cookie), &[("csrf", &token)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let (cleared, header) = session_cookie(&out).expect("a cleared cookie");
    assert_eq!(cleared, "posbridge_session=");
    assert!(header.contains("Max-Age=0"), "{header}");
}

#[tokio::test]
async fn secure_cookies_are_marked_secure_when_configured() {
    let ts = support::start_with(ServerConfig {
        secure_cookies: true,
        ..ServerConfig::default()
    })
    .await;
    let p = post(&ts, "/console/login", None, &[("key", &ts.operator_key)]).await;
    let (_, header) = session_cookie(&p).expect("a session cookie");
    assert!(header.contains("; Secure"), "{header}");
}

#[tokio::test]
async fn pages_send_a_visitor_without_a_session_to_login() {
    let ts = support::start().await;
    for path in [
        "/console",
        "/console/deliveries",
        "/console/deliveries?state=dead",
        "/console/deliveries/1",
        "/console/deliveries/1/confirm?action=retry",
    ] {
        let p = get(&ts, path, None).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(p.location(), "/console/login", "{path}");
        assert_secure_headers(path, &p);
    }
    let p = post(&ts, "/console/deliveries/1/retry", None, &[("csrf", "x")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/console/login");
}

#[tokio::test]
async fn a_forged_or_expired_cookie_is_refused() {
    let ts = support::start_with(ServerConfig {
        session_ttl: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    let cookie = login(&ts).await;
    assert_eq!(get(&ts, "/console", Some(&cookie)).await.status, StatusCode::OK);

    let value = cookie.strip_prefix("posbridge_session=").unwrap();
    let mut parts: Vec<String> = value.split('.').map(str::to_owned).collect();
    assert_eq!(parts.len(), 3, "{value}");
    assert!(!ts.operator_key.contains(&parts[2]) && ts.operator_key.contains(&parts[1]));
    let forged_expiry = format!("posbridge_session={}.{}.{}", u64::MAX / 4, parts[1], parts[2]);
    let mut flipped = parts[2].clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    parts[2] = String::from_utf8(flipped).unwrap();
    let forged_mac = format!("posbridge_session={}", parts.join("."));
    let other_key = format!("posbridge_session={}.0123456789ab.{}", parts[0], parts[2]);
    for forged in [
        forged_expiry,
        forged_mac,
        other_key,
        "posbridge_session=".into(),
        "posbridge_session=a.b.c".into(),
    ] {
        let p = get(&ts, "/console", Some(&forged)).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{forged}");
        assert_eq!(p.location(), "/console/login");
    }

    // The genuine cookie, once its second is past.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let p = get(&ts, "/console", Some(&cookie)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "an expired session");
    assert_eq!(p.location(), "/console/login");
}

#[tokio::test]
async fn revoking_the_operator_key_ends_its_sessions() {
    let ts = support::start().await;
    let cookie = login(&ts).await;
    assert_eq!(get(&ts, "/console", Some(&cookie)).await.status, StatusCode::OK);
    let id = ts.operator_key.split('_').nth(1).unwrap();
    keys::revoke(ts.server.outbox(), id).await.unwrap();
    let p = get(&ts, "/console", Some(&cookie)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), "/console/login");
}

#[tokio::test]
async fn a_post_without_the_sessions_csrf_token_is_forbidden() {
    let ts = support::start().await;
    support::demo_day(&ts, 12).await;
    let dead = one(&ts, "colombo", "fake", "DEAD-3").await;
    assert_eq!(dead.state, DeliveryState::Dead);
    let cookie = login(&ts).await;
    let second = keys::create(ts.server.outbox(), Role::Operator, "second operator")
        .await
        .unwrap();
    let other = post(&ts, "/console/login", None, &[("key", second.secret.expose_secret())]).await;
    let other = session_cookie(&other).expect("a second session").0;
    let other_token = csrf(&get(&ts, "/console", Some(&other)).await.body);
    let mine = csrf(&get(&ts, "/console", Some(&cookie)).await.body);
    assert_ne!(mine, other_token, "tokens are per session");

    let path = format!("/console/deliveries/{}/retry", dead.id);
    for form in [
        vec![],
        vec![("csrf", "")],
        vec![("csrf", "00")],
        vec![("csrf", other_token.as_str())],
    ] {
        let p = post(&ts, &path, Some(&cookie), &form).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{form:?}");
        assert_secure_headers("a refused post", &p);
    }
    let p = post(&ts, "/console/logout", Some(&cookie), &[("csrf", "nope")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert_eq!(
        one(&ts, "colombo", "fake", "DEAD-3").await.state,
        DeliveryState::Dead,
        "nothing was done"
    );
}

#[tokio::test]
async fn a_dead_delivery_is_retried_through_the_confirm_step() {
    let ts = support::start().await;
    support::demo_day(&ts, 12).await;
    let cookie = login(&ts).await;
    let dead = one(&ts, "colombo", "fake", "DEAD-3").await;
    assert_eq!(dead.state, DeliveryState::Dead);

    let detail = get(&ts, &format!("/console/deliveries/{}", dead.id), Some(&cookie)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(
        detail.body.contains("product P-1 is not sold at this outlet"),
        "the vendor's reason"
    );
    let confirm_link = format!("/console/deliveries/{}/confirm?action=retry", dead.id);
    assert!(detail.body.contains(&confirm_link), "{}", detail.body);
    assert!(!detail.body.contains("action=delivered"), "no resolve for a dead one");

    let confirm = get(&ts, &confirm_link, Some(&cookie)).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm
            .body
            .contains(&format!(r#"action="/console/deliveries/{}/retry""#, dead.id))
    );
    let token = csrf(&confirm.body);
    let done = post(
        &ts,
        &format!("/console/deliveries/{}/retry", dead.id),
        Some(&cookie),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("/console/deliveries/{}?done=retried", dead.id));
    let after = one(&ts, "colombo", "fake", "DEAD-3").await;
    assert!(
        matches!(after.state, DeliveryState::Pending | DeliveryState::Retrying),
        "{after:?}"
    );
    let shown = get(&ts, done.location(), Some(&cookie)).await;
    assert!(shown.body.contains(r#"id="done""#));

    // Retrying it again is a conflict, told as a page.
    let again = post(
        &ts,
        &format!("/console/deliveries/{}/retry", dead.id),
        Some(&cookie),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("applies only to dead"), "{}", again.body);
    let confirm_again = get(&ts, &confirm_link, Some(&cookie)).await;
    assert_eq!(confirm_again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_uncertain_delivery_is_resolved_through_the_confirm_step() {
    let ts = support::start().await;
    support::demo_day(&ts, 17).await;
    let cookie = login(&ts).await;
    let delivered = one(&ts, "colombo", "fake", "UNC-5").await;
    let resend = one(&ts, "colombo", "fake", "UNC-16").await;
    assert_eq!(delivered.state, DeliveryState::Uncertain);
    assert_eq!(resend.state, DeliveryState::Uncertain);

    let detail = get(&ts, &format!("/console/deliveries/{}", delivered.id), Some(&cookie)).await;
    assert!(detail.body.contains("action=delivered") && detail.body.contains("action=resend"));
    assert!(!detail.body.contains("action=retry"));

    for (d, action, done, expect) in [
        (&delivered, "delivered", "delivered", DeliveryState::Delivered),
        (&resend, "resend", "resent", DeliveryState::Pending),
    ] {
        // (A re-send is queued due now: pending until a worker takes it.)
        let confirm = get(
            &ts,
            &format!("/console/deliveries/{}/confirm?action={action}", d.id),
            Some(&cookie),
        )
        .await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
        let token = csrf(&confirm.body);
        let p = post(
            &ts,
            &format!("/console/deliveries/{}/{action}", d.id),
            Some(&cookie),
            &[("csrf", &token)],
        )
        .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(p.location(), format!("/console/deliveries/{}?done={done}", d.id));
        assert_eq!(one(&ts, "colombo", "fake", &d.reference).await.state, expect);
    }
}

#[tokio::test]
async fn unknown_deliveries_and_actions_are_readable_errors() {
    let ts = support::start().await;
    let cookie = login(&ts).await;
    for (path, status) in [
        ("/console/deliveries/999999", StatusCode::NOT_FOUND),
        ("/console/deliveries/abc", StatusCode::NOT_FOUND),
        ("/console/deliveries/999999/confirm?action=retry", StatusCode::NOT_FOUND),
        ("/console/deliveries/1/confirm?action=delete", StatusCode::NOT_FOUND),
        ("/console/deliveries?state=lost", StatusCode::UNPROCESSABLE_ENTITY),
        ("/console/nothing-here", StatusCode::NOT_FOUND),
    ] {
        let p = get(&ts, path, Some(&cookie)).await;
        assert_eq!(p.status, status, "{path}: {}", p.body);
        assert!(p.body.contains(r#"id="error-detail""#), "{path}");
        assert_secure_headers(path, &p);
    }
    let token = csrf(&get(&ts, "/console", Some(&cookie)).await.body);
    let p = post(
        &ts,
        "/console/deliveries/999999/retry",
        Some(&cookie),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_overview_counts_what_the_outbox_holds_and_links_to_the_list() {
    let ts = support::start().await;
    support::demo_day(&ts, 23).await;
    let cookie = login(&ts).await;
    let p = get(&ts, "/console", Some(&cookie)).await;
    assert_eq!(p.status, StatusCode::OK);
    let status = ts.server.outbox().status().await.unwrap();
    for target in support::targets() {
        for state in DeliveryState::ALL {
            let n: u64 = status
                .iter()
                .filter(|r| r.target == target && r.state == state)
                .map(|r| r.count)
                .sum();
            let id = format!(r#"id="count-{}-{}-{}""#, target.tenant, target.vendor, state.as_str());
            let at = p.body.find(&id).unwrap_or_else(|| panic!("{id} missing"));
            let shown = &p.body[at..];
            let n_at = shown.find(r#"<span class="n">"#).unwrap() + r#"<span class="n">"#.len();
            let shown: String = shown[n_at..].chars().take_while(char::is_ascii_digit).collect();
            assert_eq!(shown, n.to_string(), "{id}");
        }
    }
    let colombo_fake = Target::for_tenant("colombo", "fake");
    let dead = status
        .iter()
        .find(|r| r.target == colombo_fake && r.state == DeliveryState::Dead)
        .map(|r| r.count);
    assert_eq!(dead, Some(3), "DEAD-3, DEAD-10, DEAD-17");
    assert!(
        p.body
            .contains(r#"href="/console/deliveries?tenant=colombo&amp;vendor=fake&amp;state=dead""#)
    );
    assert!(p.body.contains(r#"id="chart-colombo-fake""#) && p.body.contains("<svg"));
    assert!(p.body.contains(r#"id="error-rate-colombo-fake""#));
    assert!(p.body.contains(r#"id="last-success-colombo-fake""#));

    let list = get(
        &ts,
        "/console/deliveries?tenant=colombo&vendor=fake&state=dead",
        Some(&cookie),
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.matches("class=\"delivery-link\"").count(), 3);
    assert!(list.body.contains("DEAD-10"));
}

#[tokio::test]
async fn the_list_searches_by_reference_and_pages_with_a_cursor() {
    let ts = support::start().await;
    support::demo_day(&ts, 60).await;
    let cookie = login(&ts).await;
    let found = get(&ts, "/console/deliveries?reference=+S-42+", Some(&cookie)).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(
        found.body.matches("class=\"delivery-link\"").count(),
        2,
        "colombo's two vendors"
    );
    assert!(found.body.contains(">S-42<"));
    // As the search form sends it: every field, the unused ones empty.
    let form = get(
        &ts,
        "/console/deliveries?tenant=&vendor=&state=&kind=&reference=S-42",
        Some(&cookie),
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.body.matches("class=\"delivery-link\"").count(), 2, "{}", form.body);

    // 120 deliveries: three pages of 50.
    let first = get(&ts, "/console/deliveries", Some(&cookie)).await;
    assert_eq!(first.body.matches("class=\"delivery-link\"").count(), 50);
    let at = first.body.find(r#"id="next-page" href=""#).expect("a next page") + r#"id="next-page" href=""#.len();
    let next = first.body[at..].split('"').next().unwrap().replace("&amp;", "&");
    let second = get(&ts, &next, Some(&cookie)).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body.matches("class=\"delivery-link\"").count(), 50);
    assert!(second.body.contains("id=\"next-page\""));
}

#[tokio::test]
async fn no_console_page_shows_a_key() {
    let ts = support::start().await;
    support::demo_day(&ts, 12).await;
    // Refusals first: a tenant key and a wrong key given to the login form.
    for key in [
        ts.key("colombo").to_owned(),
        ts.key("kandy").to_owned(),
        format!("{}x", ts.operator_key),
    ] {
        let p = post(&ts, "/console/login", None, &[("key", &key)]).await;
        assert_no_secret(&ts, "a refused login", &p);
    }
    let login_answer = post(&ts, "/console/login", None, &[("key", &ts.operator_key)]).await;
    assert_no_secret(&ts, "the login answer", &login_answer);
    let cookie = session_cookie(&login_answer).unwrap().0;
    let dead = one(&ts, "colombo", "fake", "DEAD-3").await;
    let uncertain = one(&ts, "colombo", "fake", "UNC-5").await;
    for path in [
        "/console/login".to_owned(),
        "/console".to_owned(),
        "/console/deliveries".to_owned(),
        "/console/deliveries?tenant=colombo&state=dead".to_owned(),
        format!("/console/deliveries/{}", dead.id),
        format!("/console/deliveries/{}", uncertain.id),
        format!("/console/deliveries/{}/confirm?action=retry", dead.id),
        format!("/console/deliveries/{}/confirm?action=resend", uncertain.id),
        "/console/deliveries/424242".to_owned(),
        "/console/assets/console.css".to_owned(),
    ] {
        let p = get(&ts, &path, Some(&cookie)).await;
        assert!(
            p.status.is_success() || p.status == StatusCode::NOT_FOUND,
            "{path}: {}",
            p.status
        );
        assert_no_secret(&ts, &path, &p);
    }
}

#[tokio::test]
async fn the_stylesheet_is_served_as_css() {
    let ts = support::start().await;
    let p = get(&ts, "/console/assets/console.css", None).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(p.body.contains("ul.counts"));
    assert_secure_headers("the stylesheet", &p);
}
