//! The console's pages: the overview, the deliveries, one delivery, and the operator's
//! confirmed actions.

use std::collections::{BTreeMap, BTreeSet};

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use posbridge_outbox::{DeliveryState, DocumentKind, HourlyOutcome, Target};
use serde::{Deserialize, Serialize};

use super::login::{CsrfForm, check_csrf};
use super::session::Session;
use super::{ConsoleError, chart, deliveries_url, layout, when};
use crate::Server;
use crate::views::{DeliveryView, Resolution, excerpt};

/// The states in the order the overview shows them.
const OVERVIEW_STATES: [DeliveryState; 8] = [
    DeliveryState::Pending,
    DeliveryState::Retrying,
    DeliveryState::Delivering,
    DeliveryState::Uncertain,
    DeliveryState::Dead,
    DeliveryState::Blocked,
    DeliveryState::NotOffered,
    DeliveryState::Delivered,
];

/// How many deliveries a page of the list shows.
const PAGE: u32 = 50;

/// How much of an error the list shows.
const LIST_EXCERPT: usize = 80;

const MS_PER_HOUR: i64 = 3_600_000;

/// A target as element ids spell it: `colombo-fake`.
fn slug(t: &Target) -> String {
    format!("{}-{}", t.tenant, t.vendor)
}

/// A state as people read it.
fn label(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::NotOffered => "not offered",
        s => s.as_str(),
    }
}

/// A timestamp `ms` milliseconds from the epoch (the epoch when out of range).
fn at_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What the overview shows of one target.
#[derive(Default)]
struct TargetFigures {
    counts: BTreeMap<DeliveryState, u64>,
    last_success: Option<Timestamp>,
    last_hour: Vec<HourlyOutcome>,
    day: Vec<HourlyOutcome>,
}

/// `GET /console`: every target's counts, last success, error rate and chart.
pub(crate) async fn overview(State(server): State<Server>, session: Session) -> Result<Markup, ConsoleError> {
    let outbox = server.outbox();
    let now_ms = Timestamp::now().as_millisecond();
    let fail = |e| ConsoleError::from(e).within(&session);
    let status = outbox.status().await.map_err(fail)?;
    let last = outbox.last_delivered_at(None).await.map_err(fail)?;
    let last_hour = outbox
        .outcomes_by_hour(at_ms(now_ms - MS_PER_HOUR), None)
        .await
        .map_err(fail)?;
    let day_start = (now_ms.div_euclid(MS_PER_HOUR) - (chart::HOURS as i64 - 1)) * MS_PER_HOUR;
    let day = outbox.outcomes_by_hour(at_ms(day_start), None).await.map_err(fail)?;

    let mut figures: BTreeMap<Target, TargetFigures> = BTreeMap::new();
    for rt in server.inner().tenants.values() {
        for t in &rt.targets {
            figures.entry(t.clone()).or_default();
        }
    }
    for row in status {
        *figures
            .entry(row.target)
            .or_default()
            .counts
            .entry(row.state)
            .or_default() += row.count;
    }
    for (target, at) in last {
        figures.entry(target).or_default().last_success = Some(at);
    }
    for o in last_hour {
        figures.entry(o.target.clone()).or_default().last_hour.push(o);
    }
    for o in day {
        figures.entry(o.target.clone()).or_default().day.push(o);
    }

    let body = html! {
        h1 { "Overview" }
        @if figures.is_empty() {
            p class="empty" { "No targets yet: nothing has been queued and no vendor is configured." }
        }
        div class="cards" {
            @for (target, f) in &figures {
                @let id = slug(target);
                article class="card" id=(format!("target-{id}")) {
                    h2 { (target.tenant) " / " (target.vendor) }
                    ul class="counts" {
                        @for state in OVERVIEW_STATES {
                            @let n = f.counts.get(&state).copied().unwrap_or(0);
                            li class=(format!("count state-{}{}", state.as_str(), if n == 0 { " zero" } else { "" })) {
                                a id=(format!("count-{id}-{}", state.as_str()))
                                    href=(deliveries_url(&[("tenant", &target.tenant), ("vendor", &target.vendor), ("state", state.as_str())])) {
                                    span class="n" { (n) }
                                    span class="what" { (label(state)) }
                                }
                            }
                        }
                    }
                    dl class="facts" {
                        dt { "Last success" }
                        dd id=(format!("last-success-{id}")) {
                            @match f.last_success { Some(t) => (when(t)), None => "never" }
                        }
                        dt { "Errors, last hour" }
                        dd id=(format!("error-rate-{id}")) {
                            @match chart::error_permille(&f.last_hour) {
                                Some(pm) => (chart::percent(pm)),
                                None => "no attempts",
                            }
                        }
                    }
                    figure class="chart-box" {
                        (chart::svg(&format!("chart-{id}"), &chart::buckets(&f.day, now_ms), now_ms))
                        figcaption { "Outcomes per hour, last 24 hours (UTC)" (chart::legend()) }
                    }
                }
            }
        }
    };
    Ok(layout("Overview", Some(&session), body))
}

/// The list's filters, as its GET form sends them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

fn value(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// `GET /console/deliveries`: filtered, a page at a time.
pub(crate) async fn deliveries(
    State(server): State<Server>,
    session: Session,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Markup, ConsoleError> {
    let fail = |e: crate::Problem| ConsoleError::from(e).within(&session);
    let Ok(Query(mut filters)) = filters else {
        return Err(ConsoleError::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The filters are not understood.",
        )
        .within(&session));
    };
    // The GET form sends every field; an empty one means "all".
    for f in [
        &mut filters.tenant,
        &mut filters.vendor,
        &mut filters.state,
        &mut filters.kind,
        &mut filters.reference,
        &mut filters.cursor,
    ] {
        *f = f.take().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    }
    // The API's own query building (scope, parsing of state and kind).
    let params = crate::api::ListParams {
        tenant: filters.tenant.clone(),
        vendor: filters.vendor.clone(),
        state: filters.state.clone(),
        kind: filters.kind.clone(),
        reference: filters.reference.clone(),
        since: None,
        until: None,
        cursor: filters.cursor.clone(),
        limit: Some(PAGE),
    };
    let mut query = crate::api::delivery_query(&session.caller(), &params).map_err(fail)?;
    query.limit = PAGE + 1;
    let mut rows = server.outbox().query(&query).await.map_err(|e| fail(e.into()))?;
    let more = rows.len() > PAGE as usize;
    rows.truncate(PAGE as usize);
    let next = if more {
        rows.last().map(|d| d.id.to_string())
    } else {
        None
    };
    let rows: Vec<DeliveryView> = rows.into_iter().map(DeliveryView::from).collect();

    let tenants: Vec<&str> = server.tenants().collect();
    let vendors: BTreeSet<&str> = server
        .inner()
        .tenants
        .values()
        .flat_map(|t| t.targets.iter().map(|t| t.vendor.as_str()))
        .collect();
    let filter_pairs = |cursor: &str| {
        deliveries_url(&[
            ("tenant", value(&filters.tenant)),
            ("vendor", value(&filters.vendor)),
            ("state", value(&filters.state)),
            ("kind", value(&filters.kind)),
            ("reference", value(&filters.reference)),
            ("cursor", cursor),
        ])
    };

    let body = html! {
        h1 { "Deliveries" }
        form class="filters" method="get" action="/console/deliveries" id="filters" {
            (select("tenant", "Tenant", tenants.iter().copied(), value(&filters.tenant)))
            (select("vendor", "Vendor", vendors.iter().copied(), value(&filters.vendor)))
            (select("state", "State", DeliveryState::ALL.iter().map(|s| s.as_str()), value(&filters.state)))
            (select("kind", "Kind", DocumentKind::ALL.iter().map(|k| k.as_str()), value(&filters.kind)))
            label for="search-reference" {
                "Reference"
                input type="search" name="reference" id="search-reference" value=(value(&filters.reference))
                    placeholder="S-1001";
            }
            button type="submit" id="search" { "Search" }
            a href="/console/deliveries" class="reset" { "Clear" }
        }
        @if rows.is_empty() {
            p class="empty" id="no-deliveries" { "No delivery matches." }
        } @else {
            table class="deliveries" id="deliveries" {
                thead { tr {
                    th { "Id" } th { "Target" } th { "Reference" } th { "Kind" } th { "State" }
                    th class="num" { "Attempts" } th { "Last error" } th { "Updated" }
                } }
                tbody {
                    @for d in &rows {
                        tr id=(format!("delivery-{}", d.id)) {
                            td { a class="delivery-link" href=(format!("/console/deliveries/{}", d.id)) { (d.id) } }
                            td class="target" { (d.tenant) " / " (d.vendor) }
                            td class="reference" { (d.reference) }
                            td { (d.kind.as_str()) }
                            td { (badge(d.state)) }
                            td class="num" { (d.attempts) }
                            td class="error-excerpt" {
                                @if let Some(e) = &d.last_error { (excerpt(e, LIST_EXCERPT)) }
                            }
                            td class="time" { (when(d.updated_at)) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &next {
            p class="pager" { a id="next-page" href=(filter_pairs(next)) { "Next page →" } }
        }
    };
    Ok(layout("Deliveries", Some(&session), body))
}

/// A `<select>` of `options` with an "all" choice, `chosen` selected.
fn select<'a>(name: &str, text: &str, options: impl Iterator<Item = &'a str>, chosen: &str) -> Markup {
    html! {
        label for=(format!("filter-{name}")) {
            (text)
            select name=(name) id=(format!("filter-{name}")) {
                option value="" selected[chosen.is_empty()] { "all" }
                @for o in options {
                    option value=(o) selected[o == chosen] { (o) }
                }
            }
        }
    }
}

/// A state as a coloured label.
fn badge(state: DeliveryState) -> Markup {
    html! { span class=(format!("badge state-{}", state.as_str())) { (label(state)) } }
}

/// What a delivery page says after an action.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
}

fn parse_id(id: &str, session: &Session) -> Result<i64, ConsoleError> {
    id.parse::<i64>().map_err(|_| {
        ConsoleError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("There is no delivery with id `{id}`."),
        )
        .within(session)
    })
}

/// `GET /console/deliveries/{id}`: the delivery, its document, its history and the
/// actions that apply.
pub(crate) async fn delivery(
    State(server): State<Server>,
    session: Session,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Markup, ConsoleError> {
    let id = parse_id(&id, &session)?;
    let detail = crate::api::detail(&server, &session.caller(), id)
        .await
        .map_err(|e| ConsoleError::from(e).within(&session))?;
    let d = &detail.delivery;
    let notice = match done.done.as_deref() {
        Some("retried") => Some("Queued again: a worker will deliver it shortly."),
        Some("delivered") => Some("Marked delivered."),
        Some("resent") => Some("Queued to be sent again."),
        _ => None,
    };
    let document = serde_json::to_string_pretty(&detail.document).unwrap_or_default();
    let body = html! {
        p class="crumbs" { a href="/console/deliveries" { "Deliveries" } " › " (d.id) }
        h1 { "Delivery " (d.id) " " (badge(d.state)) }
        @if let Some(n) = notice {
            p class="notice" id="done" role="status" { (n) }
        }
        div class="actions" id="actions" {
            @for action in Action::ALL {
                @if action.applies_to(d.state) {
                    a class=(format!("button {}", action.class())) id=(format!("action-{}", action.slug()))
                        href=(format!("/console/deliveries/{}/confirm?action={}", d.id, action.slug())) { (action.button()) }
                }
            }
        }
        dl class="fields" id="fields" {
            dt { "State" } dd id="delivery-state" { (d.state.as_str()) }
            dt { "Target" } dd { (d.tenant) " / " (d.vendor) }
            dt { "Reference" } dd id="delivery-reference" { (d.reference) }
            dt { "Kind" } dd { (d.kind.as_str()) }
            @if let Some(s) = &d.sale_reference { dt { "Sale" } dd { (s) } }
            dt { "Attempts" } dd id="delivery-attempts" { (d.attempts) }
            dt { "Revision" } dd { (d.revision) }
            @if matches!(d.state, DeliveryState::Pending | DeliveryState::Retrying) {
                dt { "Next attempt" } dd { (when(d.next_attempt_at)) }
            }
            @if let Some(v) = &d.vendor_id { dt { "Vendor's id" } dd { (v) } }
            @if let Some(v) = &d.disposition { dt { "Vendor did" } dd { (v) } }
            @if let Some(k) = &d.last_error_kind { dt { "Last error kind" } dd { (k) } }
            @if let Some(e) = &d.last_error { dt { "Last error" } dd class="error-text" id="delivery-error" { (e) } }
            dt { "Enqueued" } dd { (when(d.created_at)) }
            dt { "Updated" } dd { (when(d.updated_at)) }
            @if let Some(t) = d.delivered_at { dt { "Delivered" } dd { (when(t)) } }
        }
        h2 { "History" }
        table class="events" id="events" {
            thead { tr {
                th { "From" } th { "To" } th class="num" { "Attempt" } th { "Error kind" } th { "Error" }
                th { "Actor" } th class="num" { "Duration" } th { "At" }
            } }
            tbody {
                @for e in &detail.events {
                    tr {
                        td { @if let Some(f) = e.from { (badge(f)) } @else { "—" } }
                        td { (badge(e.to)) }
                        td class="num" { (e.attempt) }
                        td { @if let Some(k) = &e.error_kind { (k) } }
                        td class="error-text" { @if let Some(x) = &e.error { (x) } }
                        td { @if let Some(a) = &e.actor { (a) } }
                        td class="num" { @if let Some(ms) = e.duration_ms { (ms) " ms" } }
                        td class="time" { (when(e.at)) }
                    }
                }
            }
        }
        h2 { "Document" }
        pre class="document" id="document" { (document) }
    };
    Ok(layout(&format!("Delivery {id}"), Some(&session), body))
}

/// An operator's action on a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Queue a dead delivery again.
    Retry,
    /// The vendor has an uncertain delivery: mark it delivered.
    Delivered,
    /// The vendor does not have an uncertain delivery: send it again.
    Resend,
}

impl Action {
    const ALL: [Self; 3] = [Self::Retry, Self::Delivered, Self::Resend];

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.slug() == s)
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Delivered => "delivered",
            Self::Resend => "resend",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Self::Retry => "primary",
            Self::Delivered => "primary",
            Self::Resend => "secondary",
        }
    }

    fn button(self) -> &'static str {
        match self {
            Self::Retry => "Retry",
            Self::Delivered => "Mark delivered",
            Self::Resend => "Send again",
        }
    }

    fn applies_to(self, state: DeliveryState) -> bool {
        match self {
            Self::Retry => state == DeliveryState::Dead,
            Self::Delivered | Self::Resend => state == DeliveryState::Uncertain,
        }
    }

    fn needs(self) -> &'static str {
        match self {
            Self::Retry => "dead",
            Self::Delivered | Self::Resend => "uncertain",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Self::Retry => {
                "The delivery is queued again, due now, with its attempts reset. A worker sends it to the \
                 vendor again; if the vendor refuses it again it ends dead again."
            }
            Self::Delivered => {
                "Say this only after checking at the vendor that it has the document. The delivery is \
                 marked delivered and never sent again; anything waiting on it goes ahead."
            }
            Self::Resend => {
                "Say this only after checking at the vendor that it does not have the document: sending it \
                 again when the vendor has it books it twice. The delivery is queued to be sent again."
            }
        }
    }

    fn done(self) -> &'static str {
        match self {
            Self::Retry => "retried",
            Self::Delivered => "delivered",
            Self::Resend => "resent",
        }
    }
}

/// What the confirm page asks for.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConfirmQuery {
    #[serde(default)]
    action: String,
}

fn unknown_action(action: &str, session: &Session) -> ConsoleError {
    ConsoleError::new(
        StatusCode::NOT_FOUND,
        "Not found",
        format!("`{action}` is not an action: retry, delivered or resend."),
    )
    .within(session)
}

/// `GET /console/deliveries/{id}/confirm?action=…`: what the action will do, and the
/// form that does it.
pub(crate) async fn confirm(
    State(server): State<Server>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<ConfirmQuery>,
) -> Result<Markup, ConsoleError> {
    let id = parse_id(&id, &session)?;
    let action = Action::parse(&q.action).ok_or_else(|| unknown_action(&q.action, &session))?;
    let d: DeliveryView = crate::api::visible(&server, &session.caller(), id)
        .await
        .map_err(|e| ConsoleError::from(e).within(&session))?
        .into();
    if !action.applies_to(d.state) {
        return Err(ConsoleError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Delivery {id} is {}; {} applies only to {} deliveries.",
                d.state,
                action.button().to_lowercase(),
                action.needs()
            ),
        )
        .within(&session));
    }
    let body = html! {
        p class="crumbs" {
            a href="/console/deliveries" { "Deliveries" } " › "
            a href=(format!("/console/deliveries/{id}")) { (id) } " › confirm"
        }
        h1 { (action.button()) "?" }
        section class="confirm" id="confirm-box" {
            p { "Delivery " strong { (d.id) } " of " strong { (d.reference) } " to " (d.tenant) " / " (d.vendor)
                " is " (badge(d.state)) " after " (d.attempts) " attempt(s)." }
            @if let Some(e) = &d.last_error { p class="error-text" { "Last error: " (e) } }
            p id="confirm-explain" { (action.explain()) }
            form method="post" action=(format!("/console/deliveries/{id}/{}", action.slug())) id="confirm-form" {
                input type="hidden" name="csrf" value=(session.csrf());
                button type="submit" id="confirm" class=(format!("button {}", action.class())) { "Yes: " (action.button().to_lowercase()) }
                " "
                a href=(format!("/console/deliveries/{id}")) id="cancel" { "Cancel" }
            }
        }
    };
    Ok(layout("Confirm", Some(&session), body))
}

/// `POST /console/deliveries/{id}/{action}`: the confirmed action, then back to the
/// delivery.
pub(crate) async fn act(
    State(server): State<Server>,
    session: Session,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    check_csrf(&session, form)?;
    let id = parse_id(&id, &session)?;
    let action = Action::parse(&action).ok_or_else(|| unknown_action(&action, &session))?;
    let caller = session.caller();
    let result = match action {
        Action::Retry => crate::api::retry(&server, &caller, id).await,
        Action::Delivered => crate::api::resolve(&server, &caller, id, Resolution::Delivered).await,
        Action::Resend => crate::api::resolve(&server, &caller, id, Resolution::Resend).await,
    };
    result.map_err(|e| ConsoleError::from(e).within(&session))?;
    tracing::info!(key = %session.key_id, delivery = id, action = action.slug(), "console action");
    Ok(Redirect::to(&format!("/console/deliveries/{id}?done={}", action.done())).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_apply_to_their_states() {
        assert!(Action::Retry.applies_to(DeliveryState::Dead));
        assert!(!Action::Retry.applies_to(DeliveryState::Uncertain));
        assert!(Action::Delivered.applies_to(DeliveryState::Uncertain));
        assert!(Action::Resend.applies_to(DeliveryState::Uncertain));
        assert!(!Action::Resend.applies_to(DeliveryState::Delivered));
        for a in Action::ALL {
            assert_eq!(Action::parse(a.slug()), Some(a));
        }
        assert_eq!(Action::parse("delete"), None);
    }
}
