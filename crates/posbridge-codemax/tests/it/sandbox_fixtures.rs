//! The sandbox against the Codemax conformance fixtures, in both directions, so the
//! imitation and the connector cannot drift apart silently.
//!
//! The fixtures script a mock Codemax: each lists the requests the connector sends and
//! the answers it must understand. The sandbox for a fixture accepts the fixture's
//! `username` and `password` (for a fixture about a wrong password, the password of
//! [`CREDENTIALS_FROM`]), knows its `branch_code` as its one branch, and has the sample
//! catalogue plus every item code the fixture's invoices name (100 in stock each),
//! minus the codes the mock reports "not found". The sandbox issues its own tokens, so
//! answers are compared **by class**, and the tokens the mock issued are replaced by
//! the sandbox's wherever a later request carries them (Bearer header, refresh body).
//!
//! - **fixture → sandbox**: the fixture's requests go in order to a fresh sandbox
//!   (paths under `/codemax`; a custom `base_path` is replaced by `/api/v1`, the only
//!   one the sandbox serves). Before each request the sandbox is put in the state the
//!   mocked answer implies ([`prepare`]): a 401 code `11` to a sync → the access tokens
//!   are expired; a 401 code `12` to a refresh → the tokens are revoked; a 429 or 5xx
//!   → a fault rule for that route only (the injected answer is in Codemax's shape);
//!   a 400 code `20` to fewer than 21 invoices → the request is padded to 21. A mocked
//!   per-invoice duplicate (`30`) is synced once before the fixture starts, and so is
//!   the sale of every void the mock accepts or refuses as a duplicate (a void of a
//!   number never synced is refused with `34`) ([`prerequisites`]). The
//!   answer must then be of the same class: the same HTTP status, the same `code`
//!   (compared as numbers: `"01"` = `1`), a `Retry-After` if the mock has one, tokens
//!   if the mock issued some, and for a sync the same verdict per invoice (success, or
//!   failure with the same code and message).
//! - **connector → sandbox**: the real `posbridge-codemax` connector, built from the
//!   fixture's config with `base_url` pointing at a fresh sandbox, runs the fixture's
//!   operation on its input (a push, or a `Voids::void_sale`); the outcome must be the one the fixture expects (kind,
//!   status, vendor code and message, retry-after, as the conformance runner checks),
//!   and the requests it made must be the fixture's, in order (path and status). A
//!   mocked 429/5xx becomes a fault rule on that route from the start; a mocked 401
//!   code `11` to a sync means the connector first pushes a warm-up sale (so it holds
//!   a token), then the sandbox expires the access tokens (or revokes them all, when
//!   the mock also refuses the refresh), and the requests after the warm-up are
//!   compared with the fixture's after its login.
//!
//! After either, the state must hold what was accepted: each synced invoice stored as
//! sent (a void replacing its sale), and the stock of every product moved by the
//! invoices that stand.
//!
//! Fixtures whose mock gives an answer the sandbox never gives are listed in
//! [`EXCLUDED`] with the reason; semantic fixtures whose mock refuses what a stateful,
//! rule-following vendor accepts (or scripts a failure for one request only) are
//! checked raw only ([`CONNECTOR_EXCLUDED`]), and the connector test fails unless
//! exactly those disagree. Both lists are asserted exactly, so a new fixture is never
//! skipped silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use posbridge_codemax::sandbox::ImitationConfig as CodemaxConfig;
use posbridge_conformance::Fixture;
use posbridge_conformance::fixture::{Exchange, Expect, ExpectedError, ExpectedRequest, RequestBody, ResponseBody};
use posbridge_core::{ConnectorConfig, Decimal, Error, Operation, PushReceipt, Sale, Void};
use posbridge_sandbox::testing::{REPLAY_TIME_LIMIT, bounded_for};
use posbridge_sandbox::{Catalogue, Fault, FaultRule, Product, SandboxConfig, SandboxHandle};
use sandbox_common::{client, start_with};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// The base path the sandbox serves.
const BASE_PATH: &str = "/api/v1";

/// Fixtures checked in neither direction, each with its reason (derived by
/// [`classify`], asserted to be exactly these).
const EXCLUDED: &[(&str, &str)] = &[
    ("void_sale__malformed_response", NOT_JSON),
    ("void_sale__refused_vendor_id_only", NOTHING_SENT),
    ("push_sale__malformed_response_is_uncertain", NOT_JSON),
    ("push_sale__login_malformed_answer_sends_nothing", NOT_JSON),
    ("push_sale__refresh_malformed_answer_logs_in_again", NOT_JSON),
    (
        "push_sale__refresh_refused_and_login_refused_is_an_auth_error",
        PASSWORD_CHANGED,
    ),
    ("push_sale__refused_quotation", NOTHING_SENT),
    ("push_sale__refused_return_quantity", NOTHING_SENT),
    ("push_sale__results_naming_another_invoice_are_uncertain", WRONG_RESULTS),
    ("push_sales__malformed_response_is_uncertain", NOT_JSON),
    ("push_sales__partial_code_without_results_is_uncertain", NO_RESULTS),
    ("push_sales__twenty_one_sales_go_in_requests_of_20_and_1", INCONSISTENT),
];

const PASSWORD_CHANGED: &str = "the mock accepts the password at one login and refuses it at a later one: the \
     sandbox's password does not change while it runs";
const NOTHING_SENT: &str = "refused locally: nothing reaches the server";
const NOT_JSON: &str = "a mocked body that is not JSON: a broken answer, which the sandbox never gives";
const WRONG_RESULTS: &str =
    "the mocked results name other invoices than those sent: a broken answer, which the sandbox never gives";
const NO_RESULTS: &str =
    "a mocked sync answer with a failure code and no per-invoice results: the sandbox always lists every invoice";
const INCONSISTENT: &str = "the mock accepts an item code in one request and reports it not found in a later one: no \
     stateful vendor answers both (batching in requests of 20 is checked by tests/codemax_tokens.rs: 10,000 sales in \
     500 syncs)";

/// Semantic fixtures checked raw only, each with its reason.
const CONNECTOR_EXCLUDED: &[(&str, &str)] = &[
    (
        "push_sale__login_server_error_then_success",
        "the mock fails the first login only (500, then 200); a fault rule applies to every matching request, so the \
         connector's retry meets the 500 again (checked raw: the rule is set for the first login only)",
    ),
    (
        "push_sale__service_unavailable_is_retried_then_accepted",
        "the mock fails the first sync only (503, then 200); a fault rule applies to every matching request, so the \
         connector's retry meets the 503 again (checked raw: the rule is set for the first sync only)",
    ),
    (
        "push_sale__token_refused_after_renewal_is_an_auth_error",
        "the mock refuses the access token it has just issued by refresh; the sandbox accepts a fresh token (checked \
         raw: the access tokens are expired again before the second sync)",
    ),
    (
        "push_sales__batch_too_large_is_rejected_for_each_invoice",
        "the mock refuses 2 invoices as too many; the connector never sends more than 20 (checked raw: the request \
         is padded to 21 invoices)",
    ),
    (
        "push_sales__uncertain_request_does_not_stop_the_next",
        "the mock fails the first of two syncs only (500, then 200); a fault rule applies to both (checked raw: the \
         rule is set for the first sync only)",
    ),
];

/// The fixture whose credentials are the right ones.
const CREDENTIALS_FROM: &str = "push_sale__happy_path";

/// Stock of each item code the sample catalogue lacks.
const FIXTURE_STOCK: i64 = 100;

fn load_all() -> BTreeMap<String, Fixture> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        out.insert(name, Fixture::load(&path).unwrap());
    }
    assert!(out.len() >= 20, "fixtures not found in {FIXTURES}");
    out
}

// ---------------------------------------------------------------------------------
// Reading fixtures

/// A code or number as text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A response code for comparison: digits as a number (`"01"` = `1`), else the text.
fn code_of(v: &Value) -> Option<String> {
    let t = text(v)?;
    Some(match t.parse::<u64>() {
        Ok(n) => n.to_string(),
        Err(_) => t,
    })
}

fn json_body(e: &Exchange) -> Option<&Value> {
    match &e.response.body {
        Some(ResponseBody::Json(v)) => Some(v),
        _ => None,
    }
}

fn request_json(req: &ExpectedRequest) -> Option<&Value> {
    match &req.body {
        Some(RequestBody::Json(v)) => Some(v),
        _ => None,
    }
}

/// The base path a fixture's config sets (`/api/v1` by default), as the connector
/// normalises it.
fn base_path(f: &Fixture) -> String {
    let p = f.config["base_path"]
        .as_str()
        .unwrap_or(BASE_PATH)
        .trim()
        .trim_end_matches('/');
    if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

/// The route of a request (`api/v1/sync`), its fixture base path replaced by the
/// sandbox's.
fn route(f: &Fixture, req: &ExpectedRequest) -> String {
    let rest = req.path.strip_prefix(&base_path(f)).unwrap_or(&req.path);
    format!("{}{rest}", BASE_PATH.trim_start_matches('/'))
}

fn is_route(f: &Fixture, e: &Exchange, suffix: &str) -> bool {
    route(f, &e.request) == format!("api/v1/{suffix}")
}

fn is_sync(f: &Fixture, e: &Exchange) -> bool {
    is_route(f, e, "sync")
}

/// The invoices a sync request carries.
fn invoices(req: &ExpectedRequest) -> Vec<Value> {
    request_json(req)
        .and_then(|b| b["invoices"].as_array())
        .cloned()
        .unwrap_or_default()
}

fn invoice_no(invoice: &Value) -> String {
    text(&invoice["invoice_no"]).unwrap_or_default()
}

/// What an answer says of one invoice: synced, or failed with a code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Synced,
    Failed(Option<String>, Option<String>),
}

/// The verdict of each invoice of a 200 sync answer, by invoice number; `None` when
/// the answer does not say (no results and no success code).
fn verdicts(sent: &[Value], answer: &Value) -> Option<BTreeMap<String, Verdict>> {
    match answer["results"].as_array().filter(|a| !a.is_empty()) {
        Some(results) => Some(
            results
                .iter()
                .map(|r| {
                    let status = r["status"].as_str().map(str::to_ascii_lowercase);
                    let code = code_of(&r["code"]);
                    let synced = match status.as_deref() {
                        Some("success" | "ok" | "synced") => true,
                        Some(_) => false,
                        None => code.as_deref() == Some("0"),
                    };
                    let verdict = if synced {
                        Verdict::Synced
                    } else {
                        Verdict::Failed(code, r["message"].as_str().map(str::to_owned))
                    };
                    (text(&r["invoice_no"]).unwrap_or_default(), verdict)
                })
                .collect(),
        ),
        None if code_of(&answer["code"]).as_deref() == Some("0") => {
            Some(sent.iter().map(|i| (invoice_no(i), Verdict::Synced)).collect())
        }
        None => None,
    }
}

/// The item codes a mocked sync reports not found (`Item code X not found`).
fn not_found(f: &Fixture) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in f.exchanges.iter().filter(|e| is_sync(f, e)) {
        let Some(answer) = json_body(e) else { continue };
        for v in verdicts(&invoices(&e.request), answer)
            .unwrap_or_default()
            .into_values()
        {
            if let Verdict::Failed(Some(code), Some(message)) = v
                && code == "31"
                && let Some(item) = message
                    .strip_prefix("Item code ")
                    .and_then(|m| m.strip_suffix(" not found"))
            {
                out.insert(item.to_owned());
            }
        }
    }
    out
}

/// The sale a void needs synced before it: the void's number, not void, with the
/// void's items, or one `TEA-100` (a sample catalogue item) when the void lists none
/// (as `Voids::void_sale` sends it).
fn sale_before(void: &Value) -> Value {
    let mut sale = void.clone();
    sale["is_void"] = json!(false);
    if sale["items"].as_array().is_none_or(Vec::is_empty) {
        sale["items"] = json!([{"item_code": "TEA-100", "quantity": 1}]);
    }
    sale
}

/// What must be synced before the fixture starts, in order: each invoice a mocked
/// sync refuses as a duplicate (`30`; for a void, its sale first), and the sale of
/// each void the mock accepts (a void of a number never synced is refused, `34`).
fn prerequisites(f: &Fixture) -> Vec<Value> {
    let mut out = Vec::new();
    for e in f.exchanges.iter().filter(|e| is_sync(f, e) && e.response.status == 200) {
        let Some(answer) = json_body(e) else { continue };
        let sent = invoices(&e.request);
        let verdicts = verdicts(&sent, answer).unwrap_or_default();
        for invoice in &sent {
            let is_void = invoice["is_void"] == json!(true);
            match verdicts.get(&invoice_no(invoice)) {
                Some(Verdict::Failed(Some(code), _)) if code == "30" => {
                    if is_void {
                        out.push(sale_before(invoice));
                    }
                    out.push(invoice.clone());
                }
                Some(Verdict::Synced) if is_void => out.push(sale_before(invoice)),
                _ => {}
            }
        }
    }
    out
}

/// `Ok` for a semantic fixture, `Err(reason)` for an excluded one.
fn classify(f: &Fixture) -> Result<(), String> {
    if f.exchanges.is_empty() {
        return Err(NOTHING_SENT.to_owned());
    }
    let logins: Vec<u16> = f
        .exchanges
        .iter()
        .filter(|e| is_route(f, e, "auth/login"))
        .map(|e| e.response.status)
        .collect();
    let accepted = logins.iter().position(|s| *s == 200);
    let refused = logins.iter().rposition(|s| *s == 401);
    if matches!((accepted, refused), (Some(a), Some(r)) if a < r) {
        return Err(PASSWORD_CHANGED.to_owned());
    }
    let mut accepted_items = BTreeSet::new();
    for e in &f.exchanges {
        let Some(answer) = json_body(e) else {
            return Err(NOT_JSON.to_owned());
        };
        if !is_sync(f, e) || e.response.status != 200 {
            continue;
        }
        let sent = invoices(&e.request);
        let Some(verdicts) = verdicts(&sent, answer) else {
            return Err(NO_RESULTS.to_owned());
        };
        let numbers: BTreeSet<String> = sent.iter().map(invoice_no).collect();
        if verdicts.keys().cloned().collect::<BTreeSet<_>>() != numbers || verdicts.len() != sent.len() {
            return Err(WRONG_RESULTS.to_owned());
        }
        for invoice in sent
            .iter()
            .filter(|i| verdicts.get(&invoice_no(i)) == Some(&Verdict::Synced))
        {
            for item in invoice["items"].as_array().into_iter().flatten() {
                accepted_items.insert(text(&item["item_code"]).unwrap_or_default());
            }
        }
    }
    if !not_found(f).is_disjoint(&accepted_items) {
        return Err(INCONSISTENT.to_owned());
    }
    Ok(())
}

fn semantic(all: &BTreeMap<String, Fixture>) -> BTreeMap<String, Fixture> {
    all.iter()
        .filter(|(_, f)| classify(f).is_ok())
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect()
}

/// Whether the mock refuses the login (401, code 10): the fixture's password is wrong.
fn wrong_password(f: &Fixture) -> bool {
    f.exchanges.iter().any(|e| {
        is_route(f, e, "auth/login")
            && e.response.status == 401
            && json_body(e).and_then(|b| code_of(&b["code"])).as_deref() == Some("10")
    })
}

/// Whether the mock answers `status` with `code` to a request to `suffix`.
fn mocked(f: &Fixture, suffix: &str, status: u16, code: &str) -> bool {
    f.exchanges.iter().any(|e| {
        is_route(f, e, suffix)
            && e.response.status == status
            && json_body(e).and_then(|b| code_of(&b["code"])).as_deref() == Some(code)
    })
}

/// The fault rule reproducing a mocked 429 or 5xx, for that route only.
fn fault_for(f: &Fixture, e: &Exchange) -> Option<FaultRule> {
    let status = e.response.status;
    let fault = match status {
        429 => Fault::RateLimit {
            retry_after_secs: e
                .response
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1),
        },
        500..=599 => Fault::Status { status },
        _ => return None,
    };
    Some(
        FaultRule::new(fault, 1.0)
            .for_vendor("codemax")
            .for_route(route(f, &e.request)),
    )
}

// ---------------------------------------------------------------------------------
// The sandbox for a fixture

fn sandbox_config(f: &Fixture, all: &BTreeMap<String, Fixture>) -> SandboxConfig {
    let mut catalogue = Catalogue::sample();
    let missing = not_found(f);
    catalogue.products.retain(|p| !missing.contains(&p.code));
    let mut codes = BTreeSet::new();
    for e in f.exchanges.iter().filter(|e| is_sync(f, e)) {
        for invoice in invoices(&e.request) {
            for item in invoice["items"].as_array().into_iter().flatten() {
                codes.insert(text(&item["item_code"]).unwrap());
            }
        }
    }
    for code in codes {
        if !missing.contains(&code) && !catalogue.products.iter().any(|p| p.code == code) {
            catalogue.products.push(Product {
                code: code.clone(),
                name: code,
                price: Decimal::ZERO,
                stock: Decimal::from(FIXTURE_STOCK),
            });
        }
    }
    let credentials = if wrong_password(f) { &all[CREDENTIALS_FROM] } else { f };
    SandboxConfig {
        catalogue,
        ..SandboxConfig::default()
    }
    .with_section(
        "codemax",
        serde_json::to_value(CodemaxConfig {
            username: f.config["username"].as_str().unwrap().to_owned(),
            password: credentials.config["password"].as_str().unwrap().to_owned(),
            branches: vec![f.config["branch_code"].as_str().unwrap().to_owned()],
            ..CodemaxConfig::default()
        })
        .unwrap(),
    )
}

/// A fresh sandbox for `f`, with its [`prerequisites`] synced already; the invoices
/// synced.
async fn sandbox_for(name: &str, f: &Fixture, all: &BTreeMap<String, Fixture>) -> (SandboxHandle, Vec<Value>) {
    let sandbox = start_with(sandbox_config(f, all)).await;
    assert_eq!(sandbox.faults(), vec![]);
    let first = prerequisites(f);
    if !first.is_empty() {
        let password = settings(&sandbox_config(f, all)).password;
        let login = json!({"username": f.config["username"], "password": password});
        let (status, answer) = post(&sandbox, "api/v1/auth/login", None, &login).await;
        assert_eq!(status, 200, "{name}: setup login: {answer}");
        let token = answer["access_token"].as_str().unwrap().to_owned();
        let (status, answer) = post(&sandbox, "api/v1/sync", Some(&token), &json!({ "invoices": first })).await;
        assert_eq!(
            (status, &answer["code"]),
            (200, &json!("00")),
            "{name}: setup sync: {answer}"
        );
    }
    (sandbox, first)
}

async fn post(sandbox: &SandboxHandle, route: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = client()
        .post(format!("{}{route}", sandbox.vendor_url("codemax")))
        .json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Checks the state: every invoice in `accepted` (in the order applied) is stored as
/// sent (a void replacing its sale; a sale after its void leaving the void), and the
/// stock of every product moved by the invoices that stand.
fn check_state(name: &str, sandbox: &SandboxHandle, initial: &Catalogue, accepted: &[Value]) {
    #[derive(Default)]
    struct Record {
        sale: Option<Vec<(String, Decimal)>>,
        voided: bool,
        taken: bool,
    }
    let mut stock: BTreeMap<String, Decimal> = initial.products.iter().map(|p| (p.code.clone(), p.stock)).collect();
    let mut documents: BTreeMap<String, Value> = BTreeMap::new();
    let mut records: HashMap<String, Record> = HashMap::new();
    for invoice in accepted {
        let number = invoice_no(invoice);
        let items: Vec<(String, Decimal)> = invoice["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    text(&i["item_code"]).unwrap(),
                    text(&i["quantity"]).unwrap().parse().unwrap(),
                )
            })
            .collect();
        let r = records.entry(number.clone()).or_default();
        if invoice["is_void"] == json!(true) {
            if r.taken
                && let Some(sale) = &r.sale
            {
                for (code, qty) in sale {
                    *stock.get_mut(code).unwrap() += *qty;
                }
            }
            r.voided = true;
            r.taken = false;
            documents.insert(number, invoice.clone());
        } else {
            if !r.voided {
                for (code, qty) in &items {
                    *stock.get_mut(code).unwrap() -= *qty;
                }
                r.taken = true;
                documents.insert(number, invoice.clone());
            }
            r.sale = Some(items);
        }
    }
    let state = sandbox.state();
    assert_eq!(state.documents["codemax"].sales, documents, "{name}: documents");
    for (code, want) in stock {
        assert_eq!(state.stock(&code), Some(want), "{name}: stock of {code}");
    }
}

// ---------------------------------------------------------------------------------
// fixture → sandbox

/// Puts the sandbox in the state the mocked answer to `e` implies, and returns the
/// request to send (padded to 21 invoices for a mocked "too many").
fn prepare(sandbox: &SandboxHandle, f: &Fixture, e: &Exchange) -> ExpectedRequest {
    sandbox.set_faults(fault_for(f, e).into_iter().collect());
    let code = json_body(e).and_then(|b| code_of(&b["code"]));
    let mut request = e.request.clone();
    match (e.response.status, code.as_deref()) {
        (401, Some("11")) if is_sync(f, e) => expire(sandbox),
        (401, Some("12")) if is_route(f, e, "auth/refresh") => revoke(sandbox),
        (400, Some("20")) if is_sync(f, e) => {
            if let Some(RequestBody::Json(body)) = request.body.as_mut()
                && let Some(list) = body["invoices"].as_array_mut()
                && let Some(model) = list.first().cloned()
            {
                let mut k = 0;
                while list.len() <= 20 {
                    k += 1;
                    let mut pad = model.clone();
                    pad["invoice_no"] = json!(format!("{}-PAD-{k}", invoice_no(&model)));
                    list.push(pad);
                }
            }
        }
        _ => {}
    }
    request
}

/// Sends a fixture request to the sandbox: its route under `/codemax`, the mock's
/// tokens replaced by the sandbox's (`tokens`); the status, `Retry-After` and JSON.
async fn send(
    sandbox: &SandboxHandle,
    f: &Fixture,
    req: &ExpectedRequest,
    tokens: &HashMap<String, String>,
) -> (u16, Option<String>, Value) {
    let url = format!("{}{}", sandbox.vendor_url("codemax"), route(f, req));
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut builder = client().request(method, url).query(&req.query);
    for (k, v) in &req.headers {
        let value = match v.strip_prefix("Bearer ") {
            Some(t) if k.eq_ignore_ascii_case("authorization") => {
                format!("Bearer {}", tokens.get(t).map_or(t, String::as_str))
            }
            _ => v.clone(),
        };
        builder = builder.header(k.as_str(), value);
    }
    let body = match &req.body {
        Some(RequestBody::Json(v)) => {
            let mut v = v.clone();
            for key in ["access_token", "refresh_token"] {
                if let Some(t) = v.get(key).and_then(Value::as_str)
                    && let Some(mapped) = tokens.get(t)
                {
                    v[key] = json!(mapped);
                }
            }
            v.to_string()
        }
        Some(RequestBody::Text(t)) => t.clone(),
        Some(RequestBody::Form(_)) => panic!("Codemax fixtures send JSON"),
        None => String::new(),
    };
    let response = builder.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

/// What differs between the mocked answer and the sandbox's, by class.
fn differences(
    f: &Fixture,
    e: &Exchange,
    sent: &ExpectedRequest,
    (status, retry_after, answer): (u16, Option<String>, &Value),
) -> Vec<String> {
    let mock = json_body(e).cloned().unwrap_or(Value::Null);
    let mut p = Vec::new();
    if status != e.response.status {
        p.push(format!("status {status} (mock {})", e.response.status));
    }
    if code_of(&answer["code"]) != code_of(&mock["code"]) {
        p.push(format!("code {} (mock {})", answer["code"], mock["code"]));
    }
    let mock_retry = e
        .response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .map(|(_, v)| v.clone());
    if mock_retry.is_some() && mock_retry != retry_after {
        p.push(format!("retry-after {retry_after:?} (mock {mock_retry:?})"));
    }
    for key in ["access_token", "refresh_token"] {
        let issued = answer[key].as_str().is_some_and(|t| !t.is_empty());
        if mock.get(key).is_some() != issued {
            p.push(format!("{key} {} (mock {})", answer[key], mock[key]));
        }
    }
    if mock.get("expires_in").is_some() && answer["expires_in"].as_u64().is_none_or(|s| s == 0) {
        p.push(format!("expires_in {}", answer["expires_in"]));
    }
    if is_sync(f, e) && e.response.status == 200 {
        let want = verdicts(&invoices(&e.request), &mock).unwrap_or_default();
        let got = verdicts(&invoices(sent), answer).unwrap_or_default();
        if want != got {
            p.push(format!("per invoice {got:?} (mock {want:?})"));
        }
    }
    p
}

#[test]
fn every_fixture_is_either_checked_or_excluded_with_its_reason() {
    let all = load_all();
    let excluded: BTreeMap<String, String> = all
        .iter()
        .filter_map(|(name, f)| classify(f).err().map(|why| (name.clone(), why)))
        .collect();
    let expected: BTreeMap<String, String> = EXCLUDED
        .iter()
        .map(|(n, why)| ((*n).to_owned(), (*why).to_owned()))
        .collect();
    assert_eq!(
        excluded, expected,
        "the excluded fixtures changed: check the new ones against the sandbox, then update EXCLUDED"
    );
    let semantic = semantic(&all);
    assert_eq!(semantic.len() + excluded.len(), all.len());
    assert!(semantic.len() >= 20, "{:?}", semantic.keys());
    for (name, _) in CONNECTOR_EXCLUDED {
        assert!(
            semantic.contains_key(*name),
            "{name} is listed but is not a semantic fixture"
        );
    }

    // The credentials: every login sends the fixture's config, and the only fixtures
    // whose login the mock refuses are those with a password other than the right one.
    let right = &all[CREDENTIALS_FROM].config;
    for (name, f) in &semantic {
        for e in f.exchanges.iter().filter(|e| is_route(f, e, "auth/login")) {
            let body = request_json(&e.request).unwrap();
            assert_eq!(
                (&body["username"], &body["password"]),
                (&f.config["username"], &f.config["password"]),
                "{name}"
            );
        }
        assert_eq!(wrong_password(f), f.config["password"] != right["password"], "{name}");
    }
}

#[tokio::test]
async fn fixture_requests_get_answers_of_the_same_class_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let mut problems = Vec::new();
        let mut checked = 0;
        for (name, f) in semantic(&all) {
            let initial = sandbox_config(&f, &all).catalogue;
            let (sandbox, mut accepted) = sandbox_for(&name, &f, &all).await;
            let setup_requests = sandbox.requests().len();
            let mut tokens: HashMap<String, String> = HashMap::new();
            for (i, e) in f.exchanges.iter().enumerate() {
                let request = prepare(&sandbox, &f, e);
                let (status, retry_after, answer) = send(&sandbox, &f, &request, &tokens).await;
                for p in differences(&f, e, &request, (status, retry_after, &answer)) {
                    problems.push(format!("{name} #{i} {}: {p}", e.request.path));
                }
                // The mock's tokens stand for the sandbox's from now on.
                if let Some(mock) = json_body(e) {
                    for key in ["access_token", "refresh_token"] {
                        if let (Some(m), Some(s)) = (mock[key].as_str(), answer[key].as_str()) {
                            tokens.insert(m.to_owned(), s.to_owned());
                        }
                    }
                }
                // The log says what was applied, invoice by invoice.
                let mut synced = Vec::new();
                if is_sync(&f, e) && status == 200 {
                    let sent = invoices(&request);
                    let verdicts = verdicts(&sent, &answer).unwrap();
                    for invoice in sent {
                        if verdicts.get(&invoice_no(&invoice)) == Some(&Verdict::Synced) {
                            let suffix = if invoice["is_void"] == json!(true) { "#void" } else { "" };
                            synced.push(format!("{}{suffix}", invoice_no(&invoice)));
                            accepted.push(invoice);
                        }
                    }
                }
                let log = sandbox.requests();
                let last = log.last().unwrap();
                assert_eq!(
                    (last.applied, &last.applied_references),
                    (!synced.is_empty(), &synced),
                    "{name} #{i}: {answer}"
                );
            }
            sandbox.set_faults(Vec::new());
            assert_eq!(sandbox.requests().len(), setup_requests + f.exchanges.len(), "{name}");
            check_state(&name, &sandbox, &initial, &accepted);
            sandbox.shutdown().await;
            checked += 1;
        }
        assert!(
            problems.is_empty(),
            "the sandbox and the fixtures disagree:\n{}",
            problems.join("\n")
        );
        assert_eq!(checked, all.len() - EXCLUDED.len());
    })
    .await;
}

// ---------------------------------------------------------------------------------
// connector → sandbox

/// The connector's config from the fixture's, pointed at the sandbox (its one base
/// path), with fast timings (as the conformance runner sets them).
fn connector_config(f: &Fixture, sandbox: &SandboxHandle) -> posbridge_codemax::Config {
    let mut config = f.config.clone();
    let obj = config.as_object_mut().unwrap();
    obj.insert("base_url".into(), json!(sandbox.vendor_url("codemax")));
    if obj.contains_key("base_path") {
        obj.insert("base_path".into(), json!(BASE_PATH));
    }
    obj.entry("http").or_insert_with(|| {
        json!({
            "timeout_ms": 5000,
            "retry": {"max_retries": 2, "min_delay_ms": 1, "max_delay_ms": 5, "max_retry_after_ms": 2000, "jitter": false}
        })
    });
    serde_json::from_value(config).unwrap()
}

/// What is wrong with `got` against `want`, as the conformance runner compares.
fn error_disagreement(want: &ExpectedError, got: &Error) -> Option<String> {
    let mut p = Vec::new();
    if got.kind() != want.kind {
        p.push(format!("kind {} (expected {}): {got}", got.kind(), want.kind));
    }
    if let Some(f) = &want.field {
        match got {
            Error::Invalid { field, .. } if field == f => {}
            other => p.push(format!("field: expected {f}, got {other}")),
        }
    }
    if let Some(s) = want.status {
        let status = match got {
            Error::Rejected { status, .. } | Error::Unavailable { status, .. } => *status,
            _ => None,
        };
        if status != Some(s) {
            p.push(format!("status {status:?} (expected {s})"));
        }
    }
    if want.vendor_code.is_some() && want.vendor_code.as_deref() != got.vendor_code() {
        p.push(format!(
            "code {:?} (expected {:?})",
            got.vendor_code(),
            want.vendor_code
        ));
    }
    if want.vendor_message.is_some() && want.vendor_message.as_deref() != got.vendor_message() {
        p.push(format!(
            "message {:?} (expected {:?})",
            got.vendor_message(),
            want.vendor_message
        ));
    }
    if let Some(secs) = want.retry_after_secs
        && got.retry_after() != Some(Duration::from_secs(secs))
    {
        p.push(format!("retry after {:?} (expected {secs}s)", got.retry_after()));
    }
    let text = got.to_string();
    for part in &want.message_contains {
        if !text.contains(part.as_str()) {
            p.push(format!("message {text:?} lacks {part:?}"));
        }
    }
    (!p.is_empty()).then(|| p.join("; "))
}

fn disagreement(want: &Expect, got: &Result<PushReceipt, Error>) -> Option<String> {
    match (want, got) {
        (Expect::Ok(w), Ok(r)) => {
            let w: PushReceipt = serde_json::from_value(w.clone()).unwrap();
            (&w != r).then(|| format!("receipt {r:?} (expected {w:?})"))
        }
        (Expect::Ok(_), Err(e)) => Some(format!("expected success, got {} error: {e}", e.kind())),
        (Expect::Error(w), Ok(r)) => Some(format!("expected a {} error, got success {r:?}", w.kind)),
        (Expect::Error(w), Err(e)) => error_disagreement(w, e),
    }
}

/// The sales of the fixture's input, and the outcome expected for each.
fn inputs(f: &Fixture) -> (Vec<Sale>, Vec<Expect>) {
    match f.operation {
        Operation::PushSale => (
            vec![serde_json::from_value(f.input.clone()).unwrap()],
            vec![f.expect.clone()],
        ),
        Operation::PushSales => {
            let sales: Vec<Sale> = serde_json::from_value(f.input.clone()).unwrap();
            let expects = match &f.expect {
                Expect::Ok(list) => serde_json::from_value(list.clone()).unwrap(),
                Expect::Error(_) => panic!("push_sales expects a list"),
            };
            (sales, expects)
        }
        Operation::VoidSale => (Vec::new(), vec![f.expect.clone()]),
        other => panic!("Codemax fixtures push or void sales, not {other}"),
    }
}

/// `(route, status)` of each request, as the sandbox logs them.
fn sequence(log: &[posbridge_sandbox::RequestRecord]) -> Vec<(String, Option<u16>)> {
    log.iter()
        .map(|r| (r.path.trim_start_matches("/codemax/").to_owned(), r.status))
        .collect()
}

#[tokio::test]
async fn the_connector_gets_the_fixture_outcomes_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let mut problems = Vec::new();
        let mut disagreeing = BTreeSet::new();
        let mut agreeing = 0;
        for (name, f) in semantic(&all) {
            let initial = sandbox_config(&f, &all).catalogue;
            let (sandbox, mut accepted) = sandbox_for(&name, &f, &all).await;
            let connector = connector_config(&f, &sandbox).connect().unwrap();
            let sales = connector.sales().unwrap();
            let (input, expects) = inputs(&f);
            // The invoice number of each outcome.
            let void: Option<Void> =
                (f.operation == Operation::VoidSale).then(|| serde_json::from_value(f.input.clone()).unwrap());
            let numbers: Vec<String> = match &void {
                Some(v) => vec![v.sale.reference().unwrap().to_owned()],
                None => input.iter().map(|s| s.reference.clone()).collect(),
            };
            // The invoices the connector sends, as the fixture lists them.
            let listed: HashMap<String, Value> = f
                .exchanges
                .iter()
                .filter(|e| is_sync(&f, e))
                .flat_map(|e| invoices(&e.request))
                .map(|i| (invoice_no(&i), i))
                .collect();

            // A token the sandbox then expires or revokes: a warm-up push first.
            let mut skip = 0;
            if mocked(&f, "sync", 401, "11") {
                let mut warm_up = input[0].clone();
                warm_up.reference = "WARM-UP-1".into();
                sales.push_sale(&warm_up).await.unwrap();
                let mut invoice = listed[&input[0].reference].clone();
                invoice["invoice_no"] = json!("WARM-UP-1");
                accepted.push(invoice);
                if mocked(&f, "auth/refresh", 401, "12") {
                    revoke(&sandbox);
                } else {
                    expire(&sandbox);
                }
                skip = 1;
            }
            // Mocked 429/5xx: a rule on that route from the start.
            let rules: BTreeMap<String, FaultRule> = f
                .exchanges
                .iter()
                .filter_map(|e| fault_for(&f, e).map(|r| (route(&f, &e.request), r)))
                .rev()
                .collect();
            sandbox.set_faults(rules.into_values().collect());
            let before = sandbox.requests().len();

            let outcomes = match (&void, f.operation) {
                (Some(v), _) => vec![connector.voids().unwrap().void_sale(v).await],
                (None, Operation::PushSale) => vec![sales.push_sale(&input[0]).await],
                (None, _) => sales.push_sales(&input).await,
            };
            let mut p = Vec::new();
            for (i, (want, got)) in expects.iter().zip(&outcomes).enumerate() {
                if let Some(d) = disagreement(want, got) {
                    p.push(format!("sale #{i}: {d}"));
                }
            }
            if outcomes.len() != expects.len() {
                p.push(format!("{} outcomes (expected {})", outcomes.len(), expects.len()));
            }
            let log = sandbox.requests();
            let made = sequence(&log[before..]);
            let want: Vec<(String, Option<u16>)> = f.exchanges[skip..]
                .iter()
                .map(|e| (route(&f, &e.request), Some(e.response.status)))
                .collect();
            if made != want {
                p.push(format!("requests {made:?} (the fixture's {want:?})"));
            }
            if !p.is_empty() {
                disagreeing.insert(name.clone());
                if !CONNECTOR_EXCLUDED.iter().any(|(n, _)| *n == name) {
                    problems.push(format!("{name}: {}", p.join("; ")));
                }
                sandbox.shutdown().await;
                continue;
            }
            for (number, outcome) in numbers.iter().zip(&outcomes) {
                if outcome.is_ok() {
                    accepted.push(listed[number].clone());
                }
            }
            sandbox.set_faults(Vec::new());
            check_state(&name, &sandbox, &initial, &accepted);
            sandbox.shutdown().await;
            agreeing += 1;
        }
        assert_eq!(agreeing, all.len() - EXCLUDED.len() - CONNECTOR_EXCLUDED.len());
        assert!(
            problems.is_empty(),
            "the connector and the sandbox disagree:\n{}",
            problems.join("\n")
        );
        let want: BTreeSet<String> = CONNECTOR_EXCLUDED.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(
            disagreeing, want,
            "the fixtures checked raw only must be exactly those whose mock the sandbox cannot agree with"
        );
    })
    .await;
}

/// Expires the sandbox's Codemax access tokens.
fn expire(sandbox: &SandboxHandle) {
    assert!(posbridge_codemax::sandbox::expire_access_tokens(sandbox));
}

/// Revokes the sandbox's Codemax tokens.
fn revoke(sandbox: &SandboxHandle) {
    assert!(posbridge_codemax::sandbox::revoke_tokens(sandbox));
}

/// The Codemax settings a sandbox config carries.
fn settings(config: &SandboxConfig) -> CodemaxConfig {
    serde_json::from_value(config.vendors["codemax"].clone()).unwrap()
}
