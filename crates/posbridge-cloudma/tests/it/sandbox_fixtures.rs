//! The sandbox against the CloudMA conformance fixtures, in both directions, so the
//! imitation and the connector cannot drift apart silently.
//!
//! The fixtures script a mock CloudMA: each shows a request the connector sends and an
//! answer it must understand. The "semantic" ones — a single exchange answered 200,
//! 201, 400, 401 or 403 with a JSON body — say what CloudMA does with a request, which
//! is what the sandbox imitates. For each of them:
//!
//! - **fixture → sandbox**: the fixture's request, exactly as listed (method, path
//!   under `/cloudma`, headers, form or JSON body), goes to a fresh sandbox whose token
//!   is `38iGm3yI86Hw`; the sandbox must answer the fixture's status and, for a 4xx,
//!   its message.
//! - **connector → sandbox**: the real `posbridge-cloudma` connector, built from the
//!   fixture's config with `base_url` pointing at a fresh sandbox, runs the fixture's
//!   operation on its input; the outcome must be of the kind the fixture expects (ok,
//!   or the same error kind, and for a rejection the same status, vendor code and
//!   message).
//!
//! Every other fixture is listed in [`EXCLUDED`] with the reason, and the test fails if
//! the set of excluded fixtures changes, so a new fixture is never skipped silently.
//! Where the sandbox deliberately answers differently but in the same class (a 201
//! where the mock says 200, its one 401 message for every bad token), the fixture is
//! listed in [`TOLERATED`], and the test fails if that list is not exactly the set of
//! fixtures that needed it.
//!
//! Stock and the catalogue (both read from sync-stock): the sandbox is seeded with a
//! catalogue made from the stock list the fixture's mock answers (code, name, qty), so
//! the connector's stock levels are compared with the fixture's expected value
//! exactly, and its products by code, name and the `qty` kept in their extras.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use posbridge_conformance::Fixture;
use posbridge_conformance::fixture::{Expect, RequestBody, ResponseBody};
use posbridge_core::{ConnectorConfig, Decimal, Error, Operation, Product, Purchase, Sale, StockLevel};
use posbridge_sandbox::testing::{REPLAY_TIME_LIMIT, bounded_for};
use posbridge_sandbox::{Catalogue, SandboxConfig, SandboxHandle};
use sandbox_common::{client, start_with};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// Fixtures that are not semantic, each with its reason.
const EXCLUDED: &[(&str, &str)] = &[
    ("list_products__item_without_a_code_is_skipped", CODELESS),
    ("list_products__item_without_a_name_is_a_decode_error", NAMELESS),
    ("list_products__malformed_response", NOT_JSON),
    (
        "list_products__rate_limited_long_retry_after",
        "mocked 429: a transport fault (tests/admin_faults.rs)",
    ),
    ("list_products__server_error_then_success", SCRIPTED_RETRY),
    ("push_purchase__malformed_response_is_uncertain", NOT_JSON),
    (
        "push_purchase__rate_limited_long_retry_after",
        "mocked 429: a transport fault (tests/admin_faults.rs)",
    ),
    ("push_purchase__refused_shipping", NOTHING_SENT),
    (
        "push_purchase__server_error_is_uncertain_not_retried",
        "mocked 500: a transport fault (tests/admin_faults.rs)",
    ),
    ("push_sale__malformed_response_is_uncertain", NOT_JSON),
    (
        "push_sale__rate_limited_long_retry_after",
        "mocked 429: a transport fault (tests/admin_faults.rs)",
    ),
    ("push_sale__rate_limited_then_accepted", SCRIPTED_RETRY),
    ("push_sale__refused_fractional_quantity", NOTHING_SENT),
    ("push_sale__refused_totals_mismatch", NOTHING_SENT),
    ("push_sale__refused_void_sale", NOTHING_SENT),
    ("push_sale__rejected_by_failure_flag_in_200", FAILURE_FLAG),
    (
        "push_sale__server_error_is_uncertain_not_retried",
        "mocked 500: a transport fault (tests/admin_faults.rs)",
    ),
    ("stock_levels__malformed_response", NOT_JSON),
    ("stock_levels__non_numeric_quantity_is_a_decode_error", NON_NUMERIC_QTY),
    (
        "stock_levels__rate_limited_long_retry_after",
        "mocked 429: a transport fault (tests/admin_faults.rs)",
    ),
    ("stock_levels__rejected", REFUSED_STOCK),
    ("stock_levels__server_error_then_success", SCRIPTED_RETRY),
];

const NOT_JSON: &str = "the mocked body is not JSON: a broken answer, not a CloudMA decision";
const NOTHING_SENT: &str = "refused locally: nothing reaches the server";
const SCRIPTED_RETRY: &str = "several exchanges: a scripted retry, not one request and its answer";
/// Shapes the sandbox deliberately never produces.
const FAILURE_FLAG: &str = "a 200 with \"success\": false; the sandbox refuses with a 4xx, never with a failure flag";
const NON_NUMERIC_QTY: &str = "a non-numeric qty; the sandbox's stock is always a number";
const NAMELESS: &str = "an item without a name; the sandbox's products always have one";
const CODELESS: &str = "an item without a code; the sandbox's products always have one";
const REFUSED_STOCK: &str =
    "a 400 refusing a well-formed sync-stock request; the sandbox answers every one with a valid token with its stock";

/// Fixtures excluded by hand (the rest of [`EXCLUDED`] follows from the definition).
const SHAPES_NEVER_PRODUCED: &[(&str, &str)] = &[
    ("push_sale__rejected_by_failure_flag_in_200", FAILURE_FLAG),
    ("stock_levels__non_numeric_quantity_is_a_decode_error", NON_NUMERIC_QTY),
    ("list_products__item_without_a_name_is_a_decode_error", NAMELESS),
    ("list_products__item_without_a_code_is_skipped", CODELESS),
    ("stock_levels__rejected", REFUSED_STOCK),
];

/// Semantic fixtures whose mocked answer the sandbox matches only in class.
const TOLERATED: &[(&str, &str)] = &[
    (
        "list_products__invalid_credentials",
        "mock: 401 \"Invalid API token\"; the sandbox's 401 says \"Unauthorized\"",
    ),
    (
        "push_purchase__invalid_credentials",
        "mock: 403 {\"error\": \"Forbidden\"}; the sandbox answers every bad token 401 \"Unauthorized\" (both are auth errors)",
    ),
    (
        "push_purchase__rounding_half_away_from_zero_once_per_line",
        "mock: 200; the sandbox answers every accepted push 201 (both are success)",
    ),
    (
        "push_sale__rounding_half_away_from_zero_once_per_line",
        "mock: 200; the sandbox answers every accepted push 201 (both are success)",
    ),
    (
        "stock_levels__invalid_credentials",
        "mock: 401 \"Invalid API token\"; the sandbox's 401 says \"Unauthorized\"",
    ),
];

/// What a semantic fixture needs from the sandbox before its request.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// The reference must exist: push this fixture's request first.
    PushFirst(&'static str),
    /// A product the request names must be unknown: drop it from the catalogue.
    CatalogueWithout(&'static str),
    /// Seed the catalogue with the stock list the fixture's mock answers.
    CatalogueFromMockedStock,
}

const SETUPS: &[(&str, Setup)] = &[
    (
        "push_sale__rejected_duplicate_reference",
        Setup::PushFirst("push_sale__happy_path"),
    ),
    // The purchase fixture's mock names items.1.code, which is MUG-1; the sale fixture
    // names none, so the same product is dropped.
    ("push_sale__rejected_unknown_product", Setup::CatalogueWithout("MUG-1")),
    (
        "push_purchase__rejected_unknown_product",
        Setup::CatalogueWithout("MUG-1"),
    ),
    ("list_products__happy_path", Setup::CatalogueFromMockedStock),
    ("list_products__wrapped_in_data", Setup::CatalogueFromMockedStock),
    ("stock_levels__happy_path", Setup::CatalogueFromMockedStock),
    (
        "stock_levels__unpaged_list_is_read_whole",
        Setup::CatalogueFromMockedStock,
    ),
    ("stock_levels__wrapped_in_data", Setup::CatalogueFromMockedStock),
];

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

/// `Ok` for a semantic fixture, `Err(reason)` for an excluded one.
fn classify(name: &str, f: &Fixture) -> Result<(), String> {
    if let Some((_, why)) = SHAPES_NEVER_PRODUCED.iter().find(|(n, _)| *n == name) {
        return Err((*why).to_owned());
    }
    match f.exchanges.as_slice() {
        [] => Err(NOTHING_SENT.to_owned()),
        [only] => {
            let status = only.response.status;
            if ![200, 201, 400, 401, 403].contains(&status) {
                return Err(format!("mocked {status}: a transport fault (tests/admin_faults.rs)"));
            }
            if !matches!(only.response.body, Some(ResponseBody::Json(_))) {
                return Err(NOT_JSON.to_owned());
            }
            Ok(())
        }
        _ => Err(SCRIPTED_RETRY.to_owned()),
    }
}

fn semantic() -> BTreeMap<String, Fixture> {
    load_all()
        .into_iter()
        .filter(|(name, f)| classify(name, f).is_ok())
        .collect()
}

fn setup(name: &str) -> Option<Setup> {
    SETUPS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn mocked_json(f: &Fixture) -> &Value {
    match &f.exchanges[0].response.body {
        Some(ResponseBody::Json(v)) => v,
        _ => unreachable!("semantic fixtures have a JSON body"),
    }
}

/// The catalogue the sandbox starts with for `name`.
fn catalogue_for(name: &str, f: &Fixture) -> Catalogue {
    match setup(name) {
        Some(Setup::CatalogueWithout(code)) => {
            let mut c = Catalogue::sample();
            c.products.retain(|p| p.code != code);
            c
        }
        Some(Setup::CatalogueFromMockedStock) => {
            let body = mocked_json(f);
            let list = body.as_array().or_else(|| body["data"].as_array()).unwrap();
            let products = list
                .iter()
                .map(|item| posbridge_sandbox::Product {
                    code: item["code"].as_str().unwrap().to_owned(),
                    name: item["name"].as_str().unwrap_or_default().to_owned(),
                    price: Decimal::ZERO,
                    stock: match &item["qty"] {
                        Value::String(s) => s.parse().unwrap(),
                        other => other.to_string().parse().unwrap(),
                    },
                })
                .collect();
            Catalogue { products }
        }
        _ => Catalogue::sample(),
    }
}

async fn sandbox_for(name: &str, f: &Fixture, all: &BTreeMap<String, Fixture>) -> SandboxHandle {
    let sandbox = start_with(SandboxConfig {
        catalogue: catalogue_for(name, f),
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(sandbox.faults(), vec![]);
    if let Some(Setup::PushFirst(first)) = setup(name) {
        let (status, body) = send(&sandbox, &all[first]).await;
        assert_eq!(status, 201, "{name}: setup push of {first} failed: {body}");
    }
    sandbox
}

/// Sends a fixture's request exactly as it lists it; returns the status and JSON body.
async fn send(sandbox: &SandboxHandle, f: &Fixture) -> (u16, Value) {
    let req = &f.exchanges[0].request;
    let url = format!("{}{}", sandbox.vendor_url("cloudma"), req.path.trim_start_matches('/'));
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut builder = client().request(method, url).query(&req.query);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = match &req.body {
        Some(RequestBody::Form(fields)) => form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish(),
        Some(RequestBody::Json(v)) => v.to_string(),
        Some(RequestBody::Text(t)) => t.clone(),
        None => String::new(),
    };
    let response = builder.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The message of an error body as the fixtures write it: `message`, `error`, or the
/// strings under `errors`.
fn fixture_message(body: &Value) -> Option<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    for key in ["message", "error", "errors"] {
        let mut found = Vec::new();
        if let Some(v) = body.get(key) {
            strings(v, &mut found);
        }
        if !found.is_empty() {
            return Some(found.join("; "));
        }
    }
    None
}

#[test]
fn every_fixture_is_either_checked_or_excluded_with_its_reason() {
    let all = load_all();
    let excluded: BTreeMap<String, String> = all
        .iter()
        .filter_map(|(name, f)| classify(name, f).err().map(|why| (name.clone(), why)))
        .collect();
    let expected: BTreeMap<String, String> = EXCLUDED
        .iter()
        .map(|(n, why)| ((*n).to_owned(), (*why).to_owned()))
        .collect();
    assert_eq!(
        excluded, expected,
        "the excluded fixtures changed: check the new ones against the sandbox, then update EXCLUDED"
    );
    let semantic: BTreeSet<_> = all.keys().filter(|n| !excluded.contains_key(*n)).cloned().collect();
    assert_eq!(semantic.len() + excluded.len(), all.len());
    assert!(semantic.len() >= 10, "{semantic:?}");
    let listed = SETUPS.iter().map(|(n, _)| *n).chain(TOLERATED.iter().map(|(n, _)| *n));
    for name in listed {
        assert!(
            semantic.contains(name),
            "{name} is listed but is not a semantic fixture"
        );
    }
}

#[tokio::test]
async fn fixture_requests_get_the_fixture_answers_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let mut problems = Vec::new();
        let mut tolerated = BTreeSet::new();
        for (name, f) in semantic() {
            let sandbox = sandbox_for(&name, &f, &all).await;
            let (status, body) = send(&sandbox, &f).await;
            let want_status = f.exchanges[0].response.status;
            let want_message = fixture_message(mocked_json(&f));
            let got_message = body["message"].as_str().map(str::to_owned);

            let exact = status == want_status && (status < 400 || got_message == want_message);
            let same_class = |ok: &[u16]| ok.contains(&status) && ok.contains(&want_status);
            if !exact {
                if same_class(&[200, 201]) || same_class(&[401, 403]) {
                    tolerated.insert(name.clone());
                } else {
                    problems.push(format!(
                        "{name}: the fixture's mock answers {want_status} {want_message:?}, the sandbox {status} {body}"
                    ));
                }
            }
            // A bad token never changes anything; an accepted push always does.
            let applied = sandbox.requests().last().map(|r| r.applied);
            let read = matches!(f.operation, Operation::StockLevels | Operation::ListProducts);
            if (200..300).contains(&status) && !read {
                assert_eq!(applied, Some(true), "{name}");
            } else {
                assert_eq!(applied, Some(false), "{name}");
            }
            sandbox.shutdown().await;
        }
        assert!(
            problems.is_empty(),
            "the sandbox and the fixtures disagree:\n{}",
            problems.join("\n")
        );
        let want: BTreeSet<String> = TOLERATED.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(
            tolerated, want,
            "the fixtures the sandbox matches only in class changed"
        );
    })
    .await;
}

/// The connector's config from the fixture's, pointed at the sandbox, with fast
/// timings (as the conformance runner does).
fn connector_config(f: &Fixture, sandbox: &SandboxHandle) -> posbridge_cloudma::Config {
    let mut config = f.config.clone();
    let obj = config.as_object_mut().unwrap();
    obj.insert("base_url".into(), json!(sandbox.vendor_url("cloudma")));
    obj.entry("http").or_insert_with(|| {
        json!({
            "timeout_ms": 5000,
            "retry": {"max_retries": 2, "min_delay_ms": 1, "max_delay_ms": 5, "max_retry_after_ms": 2000, "jitter": false}
        })
    });
    serde_json::from_value(config).unwrap()
}

enum Outcome {
    Receipt(posbridge_core::PushReceipt),
    Stock(Vec<StockLevel>),
    Products(Vec<Product>),
}

/// What the catalogue's products say that the sandbox and a fixture must agree on:
/// code, name, and the quantity kept in `extras` (as a number: the sandbox writes it
/// its own way). The other extras are the mock's own fields.
/// The flag is "active, with no price, tax, unit or id" (CloudMA's document has none).
fn product_essentials(products: &[Product]) -> Vec<(String, String, bool, Option<Decimal>)> {
    products
        .iter()
        .map(|p| {
            let qty = match p.extras.get("qty") {
                Some(Value::String(s)) => s.parse().ok(),
                Some(Value::Number(n)) => n.to_string().parse().ok(),
                _ => None,
            };
            let plain = p.price.is_none() && p.tax.is_none() && p.id.is_none() && p.unit.is_none();
            (p.code.clone(), p.name.clone(), p.active && plain, qty)
        })
        .collect()
}

async fn run(f: &Fixture, sandbox: &SandboxHandle) -> Result<Outcome, Error> {
    let connector = connector_config(f, sandbox).connect().unwrap();
    match f.operation {
        Operation::PushSale => {
            let sale: Sale = serde_json::from_value(f.input.clone()).unwrap();
            Ok(Outcome::Receipt(connector.sales().unwrap().push_sale(&sale).await?))
        }
        Operation::PushPurchase => {
            let purchase: Purchase = serde_json::from_value(f.input.clone()).unwrap();
            Ok(Outcome::Receipt(
                connector.purchases().unwrap().push_purchase(&purchase).await?,
            ))
        }
        Operation::StockLevels => Ok(Outcome::Stock(
            connector.stock().unwrap().stock_levels().try_collect().await?,
        )),
        Operation::ListProducts => Ok(Outcome::Products(
            connector.catalogue().unwrap().products().try_collect().await?,
        )),
        other => panic!("no CloudMA fixture should test {other}"),
    }
}

#[tokio::test]
async fn the_connector_gets_the_fixture_outcomes_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let mut problems = Vec::new();
        for (name, f) in semantic() {
            let sandbox = sandbox_for(&name, &f, &all).await;
            let outcome = run(&f, &sandbox).await;
            let problem = match (&f.expect, outcome) {
                (Expect::Ok(want), Ok(Outcome::Receipt(r))) => {
                    // The id and the disposition are the sandbox's own (1001…, 201 = created).
                    (want["reference"] != json!(r.reference) || r.vendor_id.is_none())
                        .then(|| format!("receipt {r:?}, the fixture expects {want}"))
                }
                (Expect::Ok(want), Ok(Outcome::Stock(levels))) => {
                    let want: Vec<StockLevel> = serde_json::from_value(want.clone()).unwrap();
                    (want != levels).then(|| format!("stock {levels:?}, the fixture expects {want:?}"))
                }
                (Expect::Ok(want), Ok(Outcome::Products(products))) => {
                    let want: Vec<Product> = serde_json::from_value(want.clone()).unwrap();
                    let (want, got) = (product_essentials(&want), product_essentials(&products));
                    (want != got).then(|| format!("products {got:?}, the fixture expects {want:?}"))
                }
                (Expect::Ok(_), Err(e)) => Some(format!("expected success, got {} error: {e}", e.kind())),
                (Expect::Error(want), Ok(_)) => Some(format!("expected a {} error, got success", want.kind)),
                (Expect::Error(want), Err(e)) => {
                    let mut p = Vec::new();
                    if e.kind() != want.kind {
                        p.push(format!("kind {} (expected {}): {e}", e.kind(), want.kind));
                    }
                    if let Error::Rejected { status, .. } = &e {
                        if want.status.is_some() && want.status != *status {
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
                    }
                    (!p.is_empty()).then(|| p.join("; "))
                }
            };
            if let Some(p) = problem {
                problems.push(format!("{name}: {p}"));
            }
            // Exactly one request per case (plus a setup push): nothing was retried.
            let setup_requests = usize::from(matches!(setup(&name), Some(Setup::PushFirst(_))));
            assert_eq!(sandbox.requests().len(), 1 + setup_requests, "{name}");
            sandbox.shutdown().await;
        }
        assert!(
            problems.is_empty(),
            "the connector and the sandbox disagree:\n{}",
            problems.join("\n")
        );
    })
    .await;
}
