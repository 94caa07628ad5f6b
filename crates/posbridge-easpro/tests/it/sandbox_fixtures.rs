//! The sandbox against the EAS Pro conformance fixtures, in both directions, so the
//! imitation and the connector cannot drift apart silently.
//!
//! The fixtures script a mock EAS Pro: each lists the requests the connector sends and
//! the answers it must understand. The "semantic" ones — every exchange answered HTTP
//! 200 with EAS Pro's envelope, without delay — say what EAS Pro does with a request,
//! which is what the sandbox imitates. The sandbox for a fixture accepts the `partner`
//! and `user-id` the fixtures send (those of `push_sale__happy_path`'s request), knows
//! the `invProductId`s of the fixture's `id_map` as catalogue products (added to the
//! sample catalogue, 100 in stock each), and has no faults. For each semantic fixture:
//!
//! - **fixture → sandbox**: the fixture's requests, exactly as listed (method, path
//!   under `/easpro`, headers, JSON body), go in order to a fresh sandbox; each answer
//!   must be the mocked one — HTTP 200, the same `data` and the same
//!   `response.status` (code compared as text), all but `response.date`.
//! - **connector → sandbox**: the real `posbridge-easpro` connector, built from the
//!   fixture's config with `base_url` pointing at a fresh sandbox, pushes the fixture's
//!   sale (or adds its payment); the outcome must be what the fixture expects (the receipt's fields, or the
//!   error's kind, status, vendor code and message), with exactly as many requests as
//!   the fixture lists.
//!
//! After either, the state must hold what was accepted: each accepted bill and payment
//! stored as sent, and the stock of every product lowered by the current version of
//! every `INVOICE` (never twice for a replaced bill).
//!
//! Some fixtures need the sandbox prepared ([`SETUPS`]). Fixtures that are not semantic
//! are listed in [`EXCLUDED`] with the reason; semantic fixtures whose mock refuses
//! what a stateful, rule-following vendor accepts are checked raw only
//! ([`CONNECTOR_EXCLUDED`]), and the connector test fails unless exactly those still
//! disagree. Both lists are asserted exactly, so a new fixture is never skipped
//! silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::collections::{BTreeMap, BTreeSet};

use posbridge_conformance::Fixture;
use posbridge_conformance::fixture::{Exchange, Expect, ExpectedRequest, RequestBody, ResponseBody};
use posbridge_core::{ConnectorConfig, Decimal, Error, Operation, Sale, SalePayment};
use posbridge_easpro::sandbox::ImitationConfig;
use posbridge_sandbox::testing::{REPLAY_TIME_LIMIT, bounded_for};
use posbridge_sandbox::{Catalogue, Product, SandboxConfig, SandboxHandle};
use sandbox_common::{client, start_with};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

const PAYMENT_PATH: &str = "/eas/api/external/transaction/payment/create";

/// Fixtures that are not semantic, each with its reason.
const EXCLUDED: &[(&str, &str)] = &[
    ("add_payment__malformed_response", NOT_ENVELOPE),
    ("add_payment__rate_limited", MOCKED_429),
    ("add_payment__refused_gift_card", NOTHING_SENT),
    ("add_payment__refused_vendor_id_only", NOTHING_SENT),
    ("add_payment__refused_without_payment_reference", NOTHING_SENT),
    ("add_payment__rounding", NOTHING_SENT),
    ("add_payment__server_error", MOCKED_500),
    ("push_sale__envelope_missing_is_a_decode_error", NOT_ENVELOPE),
    ("push_sale__malformed_response", NOT_ENVELOPE),
    ("push_sale__rate_limited_long_retry_after", MOCKED_429),
    ("push_sale__rate_limited_then_accepted", MOCKED_429),
    ("push_sale__refused_missing_product_mapping", NOTHING_SENT),
    ("push_sale__refused_order_discount", NOTHING_SENT),
    ("push_sale__refused_tax_added_on_top", NOTHING_SENT),
    ("push_sale__refused_totals_mismatch", NOTHING_SENT),
    ("push_sale__refused_unsupported_payment_method", NOTHING_SENT),
    ("push_sale__refused_void_sale", NOTHING_SENT),
    ("push_sale__server_error_then_success", MOCKED_500),
    ("push_sale__timeout_then_success", DELAYED),
];

const NOTHING_SENT: &str = "refused locally: nothing reaches the server";
const NOT_ENVELOPE: &str = "the mocked 200 is not EAS Pro's envelope: a broken answer, which the sandbox never gives";
const MOCKED_429: &str =
    "mocked 429: a proxy's transport fault, not an EAS Pro answer (fault injection: tests/admin_faults.rs)";
const MOCKED_500: &str =
    "mocked 500: a proxy's transport fault, not an EAS Pro answer (fault injection: tests/admin_faults.rs)";
const DELAYED: &str = "a delayed answer: a transport fault (retries after a lost answer: tests/easpro_faults.rs)";

/// Semantic fixtures checked raw only, each with its reason.
const CONNECTOR_EXCLUDED: &[(&str, &str)] = &[
    (
        "add_payment__rejected",
        "the mock refuses a valid paymentDate; the connector only sends valid ones (the refusal itself is checked \
         raw, with the date broken)",
    ),
    (
        "push_sale__payment_rejected_after_sale_accepted",
        "the mock refuses the payment of the bill it has just accepted; the sandbox keeps the bill, so the connector's \
         push succeeds (the refusal itself is checked raw: the payment alone, to a sandbox without the bill)",
    ),
    (
        "push_sale__rejected_numeric_code_in_200",
        "the mock refuses a valid transactionDate; the connector only sends valid ones (the refusal itself is \
         checked raw, with the date broken)",
    ),
];

/// What a semantic fixture needs from the sandbox.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// The bill exists already: that fixture's requests are sent first (raw and
    /// connector).
    PushFirst(&'static str),
    /// The sandbox does not know the `invProductId` of this POS product (the mock
    /// names none; the second line's is dropped).
    ProductUnknown(&'static str),
    /// Raw: only the payment is sent, to a sandbox without its bill.
    PaymentAlone,
    /// Raw: the request's `transactionDate` is broken before it is sent.
    BrokenTransactionDate,
    /// Raw: the payment's `paymentDate` is broken before it is sent.
    BrokenPaymentDate,
}

const SETUPS: &[(&str, Setup)] = &[
    (
        "push_sale__repush_same_reference_is_an_upsert",
        Setup::PushFirst("push_sale__happy_path"),
    ),
    ("push_sale__rejected_unknown_product", Setup::ProductUnknown("CASE-2")),
    ("push_sale__payment_rejected_after_sale_accepted", Setup::PaymentAlone),
    ("push_sale__rejected_numeric_code_in_200", Setup::BrokenTransactionDate),
    // A payment after the sale needs its bill (INV-1001) in EAS Pro first.
    ("add_payment__happy_path", Setup::PushFirst("push_sale__happy_path")),
    (
        "add_payment__card_is_a_bank_transfer_and_cents_are_written",
        Setup::PushFirst("push_sale__happy_path"),
    ),
    ("add_payment__rejected", Setup::BrokenPaymentDate),
];

/// The fixture whose request carries the credentials the sandbox accepts.
const CREDENTIALS_FROM: &str = "push_sale__happy_path";
/// The fixtures that send other credentials.
const WRONG_CREDENTIALS: &[&str] = &["add_payment__invalid_credentials", "push_sale__invalid_credentials"];

/// Stock of each fixture product when the sandbox starts.
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

fn mocked_json(e: &Exchange) -> Option<&Value> {
    match &e.response.body {
        Some(ResponseBody::Json(v)) => Some(v),
        _ => None,
    }
}

/// `Ok` for a semantic fixture, `Err(reason)` for an excluded one.
fn classify(f: &Fixture) -> Result<(), String> {
    if f.exchanges.is_empty() {
        return Err(NOTHING_SENT.to_owned());
    }
    for e in &f.exchanges {
        match e.response.status {
            200 => {}
            429 => return Err(MOCKED_429.to_owned()),
            500 => return Err(MOCKED_500.to_owned()),
            other => return Err(format!("mocked {other}: a transport fault, not an EAS Pro answer")),
        }
        if e.response.delay_ms > 0 {
            return Err(DELAYED.to_owned());
        }
        let has_envelope = mocked_json(e).is_some_and(|v| v.pointer("/response/status/code").is_some());
        if !has_envelope {
            return Err(NOT_ENVELOPE.to_owned());
        }
    }
    Ok(())
}

fn semantic(all: &BTreeMap<String, Fixture>) -> BTreeMap<String, Fixture> {
    all.iter()
        .filter(|(_, f)| classify(f).is_ok())
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect()
}

fn setup(name: &str) -> Option<Setup> {
    SETUPS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn header<'a>(req: &'a ExpectedRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The `partner` and `user-id` the sandbox accepts.
fn credentials(all: &BTreeMap<String, Fixture>) -> (String, String) {
    let req = &all[CREDENTIALS_FROM].exchanges[0].request;
    (
        header(req, "partner").unwrap().to_owned(),
        header(req, "user-id").unwrap().to_owned(),
    )
}

/// The fixture's id map: POS code → `invProductId`.
fn id_map(f: &Fixture) -> BTreeMap<String, String> {
    serde_json::from_value(f.config["id_map"]["product"].clone()).unwrap()
}

fn sandbox_config(name: &str, f: &Fixture, all: &BTreeMap<String, Fixture>) -> SandboxConfig {
    let mut catalogue = Catalogue::sample();
    let mut products = BTreeMap::new();
    for (code, id) in id_map(f) {
        catalogue.products.push(Product {
            code: code.clone(),
            name: code.clone(),
            price: Decimal::ZERO,
            stock: Decimal::from(FIXTURE_STOCK),
        });
        if !matches!(setup(name), Some(Setup::ProductUnknown(c)) if c == code) {
            products.insert(id, code);
        }
    }
    let (partner, user_id) = credentials(all);
    let settings = ImitationConfig {
        partner,
        user_id,
        products,
    };
    SandboxConfig {
        catalogue,
        ..SandboxConfig::default()
    }
    .with_section("easpro", serde_json::to_value(settings).unwrap())
}

async fn sandbox_for(name: &str, f: &Fixture, all: &BTreeMap<String, Fixture>) -> SandboxHandle {
    let sandbox = start_with(sandbox_config(name, f, all)).await;
    assert_eq!(sandbox.faults(), vec![]);
    if let Some(Setup::PushFirst(first)) = setup(name) {
        for e in &all[first].exchanges {
            let (status, answer) = send(&sandbox, &e.request).await;
            assert_eq!(
                (status, &answer["response"]["status"]["code"]),
                (200, &json!("0")),
                "{name}: setup push of {first} failed: {answer}"
            );
        }
    }
    sandbox
}

/// Sends a request exactly as the fixture lists it; the status and the JSON answer.
async fn send(sandbox: &SandboxHandle, req: &ExpectedRequest) -> (u16, Value) {
    let url = format!("{}{}", sandbox.vendor_url("easpro"), req.path.trim_start_matches('/'));
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut builder = client().request(method, url).query(&req.query);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = match &req.body {
        Some(RequestBody::Json(v)) => v.to_string(),
        Some(RequestBody::Text(t)) => t.clone(),
        Some(RequestBody::Form(_)) => panic!("EAS Pro fixtures send JSON"),
        None => String::new(),
    };
    let response = builder.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An answer without `response.date`, its code as text.
fn comparable(answer: &Value) -> Value {
    let mut v = answer.clone();
    if let Some(response) = v.get_mut("response").and_then(Value::as_object_mut) {
        response.remove("date");
    }
    if let Some(code) = v.pointer_mut("/response/status/code")
        && let Value::Number(n) = code
    {
        *code = Value::String(n.to_string());
    }
    v
}

/// Checks the state after a case: every bill and payment accepted (`sent`, the
/// requests answered code "0", in order) is stored as sent (its last version), and the
/// stock of each fixture product is what the current `INVOICE`s leave.
fn check_state(name: &str, f: &Fixture, sandbox: &SandboxHandle, sent: &[Value]) {
    let state = sandbox.state();
    let docs = &state.documents["easpro"];
    let mut bills = BTreeMap::new();
    let mut payments = BTreeMap::new();
    for data in sent {
        if let Some(reference) = data.get("reference") {
            payments.insert(reference.as_str().unwrap().to_owned(), data.clone());
        } else {
            bills.insert(data["billReferenceId"].as_str().unwrap().to_owned(), data.clone());
        }
    }
    for (reference, data) in &bills {
        assert_eq!(docs.sales.get(reference), Some(data), "{name}: bill {reference}");
    }
    for (reference, data) in &payments {
        assert_eq!(docs.payments.get(reference), Some(data), "{name}: payment {reference}");
    }
    assert_eq!(docs.sales.len(), bills.len(), "{name}: {:?}", docs.sales.keys());
    assert_eq!(docs.payments.len(), payments.len(), "{name}");

    let code_of: BTreeMap<String, String> = id_map(f).into_iter().map(|(code, id)| (id, code)).collect();
    let mut want: BTreeMap<String, Decimal> = id_map(f)
        .into_keys()
        .map(|code| (code, Decimal::from(FIXTURE_STOCK)))
        .collect();
    for bill in docs.sales.values().filter(|b| b["billType"] == "INVOICE") {
        for p in bill["products"].as_array().unwrap() {
            let code = &code_of[p["invProductId"].as_str().unwrap()];
            let qty: Decimal = match &p["stockToCount"] {
                Value::String(s) => s.parse().unwrap(),
                other => other.to_string().parse().unwrap(),
            };
            *want.get_mut(code).unwrap() -= qty;
        }
    }
    for (code, stock) in want {
        assert_eq!(state.stock(&code), Some(stock), "{name}: stock of {code}");
    }
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
    assert!(semantic.len() >= 10, "{:?}", semantic.keys());
    let listed = SETUPS
        .iter()
        .map(|(n, _)| *n)
        .chain(CONNECTOR_EXCLUDED.iter().map(|(n, _)| *n))
        .chain([CREDENTIALS_FROM])
        .chain(WRONG_CREDENTIALS.iter().copied());
    for name in listed {
        assert!(
            semantic.contains_key(name),
            "{name} is listed but is not a semantic fixture"
        );
    }
    for (name, s) in SETUPS {
        if let Setup::PushFirst(first) = s {
            assert!(semantic.contains_key(*first), "{name}: {first}");
        }
    }

    // The credentials: every semantic fixture sends the same ones (those in its
    // config), except the one about wrong credentials.
    let (partner, user_id) = credentials(&all);
    for (name, f) in &semantic {
        for e in &f.exchanges {
            let sent = (header(&e.request, "partner"), header(&e.request, "user-id"));
            let configured = (f.config["partner"].as_str(), f.config["user_id"].as_str());
            assert_eq!(sent, configured, "{name}");
            if WRONG_CREDENTIALS.contains(&name.as_str()) {
                assert_ne!(sent, (Some(partner.as_str()), Some(user_id.as_str())), "{name}");
            } else {
                assert_eq!(sent, (Some(partner.as_str()), Some(user_id.as_str())), "{name}");
            }
        }
    }
}

#[tokio::test]
async fn fixture_requests_get_the_fixture_answers_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let mut problems = Vec::new();
        let mut checked = 0;
        for (name, f) in semantic(&all) {
            let sandbox = sandbox_for(&name, &f, &all).await;
            let setup_requests = sandbox.requests().len();
            let mut sent = Vec::new();
            if let Some(Setup::PushFirst(first)) = setup(&name) {
                for e in &all[first].exchanges {
                    if let Some(RequestBody::Json(body)) = &e.request.body {
                        sent.push(body["data"].clone());
                    }
                }
            }
            let exchanges: Vec<&Exchange> = match setup(&name) {
                Some(Setup::PaymentAlone) => f.exchanges.iter().filter(|e| e.request.path == PAYMENT_PATH).collect(),
                _ => f.exchanges.iter().collect(),
            };
            assert!(!exchanges.is_empty(), "{name}");
            for (i, e) in exchanges.iter().enumerate() {
                let mut request = e.request.clone();
                match (setup(&name), request.body.as_mut()) {
                    (Some(Setup::BrokenTransactionDate), Some(RequestBody::Json(body))) => {
                        body["data"]["transactionDate"] = json!("26/11/2026 10:15");
                    }
                    (Some(Setup::BrokenPaymentDate), Some(RequestBody::Json(body))) => {
                        body["data"]["paymentDate"] = json!("01/12/2026 10:30");
                    }
                    _ => {}
                }
                let (status, answer) = send(&sandbox, &request).await;
                let want = mocked_json(e).map(comparable);
                if status != 200 || Some(comparable(&answer)) != want {
                    problems.push(format!(
                        "{name} #{i}: the fixture's mock answers {}, the sandbox {status} {}",
                        want.unwrap_or_default(),
                        comparable(&answer)
                    ));
                }
                assert!(answer["response"]["status"]["code"].is_string(), "{name}: {answer}");
                assert!(answer["response"]["date"].is_string(), "{name}: {answer}");
                let accepted = answer["response"]["status"]["code"] == "0";
                let log = sandbox.requests();
                let last = log.last().unwrap();
                assert_eq!(last.applied, accepted, "{name} #{i}: {answer}");
                if accepted && let Some(RequestBody::Json(body)) = &request.body {
                    sent.push(body["data"].clone());
                }
            }
            assert_eq!(sandbox.requests().len(), setup_requests + exchanges.len(), "{name}");
            check_state(&name, &f, &sandbox, &sent);
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

/// The connector's config from the fixture's, pointed at the sandbox, with fast
/// timings (as the conformance runner does).
fn connector_config(f: &Fixture, sandbox: &SandboxHandle) -> posbridge_easpro::Config {
    let mut config = f.config.clone();
    let obj = config.as_object_mut().unwrap();
    obj.insert("base_url".into(), json!(sandbox.vendor_url("easpro")));
    obj.entry("http").or_insert_with(|| {
        json!({
            "timeout_ms": 5000,
            "retry": {"max_retries": 2, "min_delay_ms": 1, "max_delay_ms": 5, "max_retry_after_ms": 2000, "jitter": false}
        })
    });
    serde_json::from_value(config).unwrap()
}

/// What is wrong with `outcome` against the fixture's expectation, if anything.
fn disagreement(expect: &Expect, outcome: Result<posbridge_core::PushReceipt, Error>) -> Option<String> {
    match (expect, outcome) {
        (Expect::Ok(want), Ok(receipt)) => {
            let got = serde_json::to_value(&receipt).unwrap();
            let wrong: Vec<String> = want
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| got.get(k.as_str()) != Some(v))
                .map(|(k, v)| format!("{k} {} (expected {v})", got[k.as_str()]))
                .collect();
            (!wrong.is_empty()).then(|| wrong.join("; "))
        }
        (Expect::Ok(_), Err(e)) => Some(format!("expected success, got {} error: {e}", e.kind())),
        (Expect::Error(want), Ok(r)) => Some(format!("expected a {} error, got success {r:?}", want.kind)),
        (Expect::Error(want), Err(e)) => {
            let mut p = Vec::new();
            if e.kind() != want.kind {
                p.push(format!("kind {} (expected {}): {e}", e.kind(), want.kind));
            }
            if let Error::Rejected { status, .. } = &e
                && want.status.is_some()
                && want.status != *status
            {
                p.push(format!("status {status:?} (expected {:?})", want.status));
            }
            if want.vendor_message.is_some() && want.vendor_message.as_deref() != e.vendor_message() {
                p.push(format!(
                    "message {:?} (expected {:?})",
                    e.vendor_message(),
                    want.vendor_message
                ));
            }
            if want.vendor_code.is_some() && want.vendor_code.as_deref() != e.vendor_code() {
                p.push(format!("code {:?} (expected {:?})", e.vendor_code(), want.vendor_code));
            }
            for part in &want.message_contains {
                if !e.to_string().contains(part.as_str()) {
                    p.push(format!("message {e} lacks {part:?}"));
                }
            }
            (!p.is_empty()).then(|| p.join("; "))
        }
    }
}

#[tokio::test]
async fn the_connector_gets_the_fixture_outcomes_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let mut problems = Vec::new();
        let mut disagreeing = BTreeSet::new();
        for (name, f) in semantic(&all) {
            let sandbox = sandbox_for(&name, &f, &all).await;
            let setup_requests = sandbox.requests().len();
            let connector = connector_config(&f, &sandbox).connect().unwrap();
            let outcome = match f.operation {
                Operation::PushSale => {
                    let sale: Sale = serde_json::from_value(f.input.clone()).unwrap();
                    connector.sales().unwrap().push_sale(&sale).await
                }
                Operation::AddPayment => {
                    let payment: SalePayment = serde_json::from_value(f.input.clone()).unwrap();
                    connector.payments().unwrap().add_payment(&payment).await
                }
                other => panic!("{name}: no EAS Pro fixture should be about {other:?}"),
            };
            let ok = outcome.is_ok();
            if let Some(p) = disagreement(&f.expect, outcome) {
                disagreeing.insert(name.clone());
                if !CONNECTOR_EXCLUDED.iter().any(|(n, _)| *n == name) {
                    problems.push(format!("{name}: {p}"));
                }
                sandbox.shutdown().await;
                continue;
            }
            // The connector sent what the fixture lists: nothing retried, nothing more.
            let log = sandbox.requests();
            assert_eq!(log.len(), setup_requests + f.exchanges.len(), "{name}: {log:?}");
            if ok {
                let mut sent = Vec::new();
                if let Some(Setup::PushFirst(first)) = setup(&name) {
                    sent.extend(all[first].exchanges.iter().filter_map(|e| match &e.request.body {
                        Some(RequestBody::Json(b)) => Some(b["data"].clone()),
                        _ => None,
                    }));
                }
                sent.extend(f.exchanges.iter().filter_map(|e| match &e.request.body {
                    Some(RequestBody::Json(b)) => Some(b["data"].clone()),
                    _ => None,
                }));
                check_state(&name, &f, &sandbox, &sent);
            } else {
                assert!(log.iter().skip(setup_requests).all(|r| !r.applied), "{name}");
            }
            sandbox.shutdown().await;
        }
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
