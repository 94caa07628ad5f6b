//! The real `posbridge-asalta` connector against the sandbox, fixture by fixture
//! (connector direction): built from each fixture's config with `base_url` pointing
//! at a fresh sandbox and an access token minted from it, it runs the fixture's
//! operation on its input, and the outcome must be of the same kind as the fixture's
//! `expect` (success — for a push, with the same disposition — or an error of the
//! same kind).
//!
//! The sandbox's catalogue holds the fixtures' products (`vitadine` at 100, `GLOVES`
//! at 99, `HAT` at 25), so their sales price as in the fixtures (`vitadine` at 105 for the
//! price check's fixtures, as their mocked catalogue has it, and at 3.335 for the
//! rounding push); a product read the
//! fixture expects to find reads the sandbox's `vitadine`; the fixture's explicit
//! `id_map` is rewritten to the sandbox's ids (the fixtures name Asalta's sample ids,
//! 943 and 50). The sandbox is then put in the state the fixture's mock implies
//! ([`prepare`]): a mocked 429 becomes a fault rule on that route; a record the
//! fixture reads, updates or voids is created first; the sale a return or a payment
//! refers to is booked first as the fixture's mocked sale record has it (its lines,
//! what was paid, the order id reached by booking orders up to it), with one `GLOVES`
//! returned first where the fixture's return exceeds what is left; the payment a
//! deletion names is booked first; a mocked 5xx that ends an uncertain write becomes a
//! fault rule on its route; an already void order is voided
//! first; too little `GLOVES` for an out-of-stock push; a page size of 1 for the
//! three-page lists; an expired token means minted tokens, then
//! [`posbridge_asalta::sandbox::expire_tokens`]; invalid credentials keep the fixture's
//! token, which the sandbox never issued.
//!
//! A documented call the fixture expects to succeed reads the sandbox's own records
//! where the fixture names Asalta's sample ids ([`sandbox_input`]); the calls reading
//! sales, payments and returns get an invoice, two orders and a return of each booked
//! first.
//!
//! Fixtures whose mock answers what the sandbox never answers are in [`EXCLUDED`] with
//! the reason; the list is asserted exactly, so a new fixture is never skipped
//! silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::collections::{BTreeMap, BTreeSet};

use posbridge_asalta::sandbox::{ImitationConfig as AsaltaConfig, asalta_item_ids};
use posbridge_conformance::Fixture;
use posbridge_conformance::fixture::{Expect, ResponseBody};
use posbridge_core::{Connector, ConnectorConfig, Error, Operation, Return, Sale, SaleRef, Void};
use posbridge_sandbox::testing::{REPLAY_TIME_LIMIT, bounded_for};
use posbridge_sandbox::{Catalogue, Fault, FaultRule, Product, SandboxConfig, SandboxHandle};
use sandbox_common::{expire_tokens, mint_token, mint_tokens, start_with};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

const BROKEN: &str =
    "a mocked answer that is not what the sandbox ever gives (not JSON, a quantity that is not a number)";
const ONCE: &str = "the mock fails one request and then succeeds: a fault rule cannot fail just the first";
const LOOP: &str = "the mock repeats a page: the sandbox never does";
const VALID_BODY: &str =
    "the mock refuses a body the sandbox finds valid (customer_id is sent; the email is well formed)";
const CARD: &str = "the sale pays with the fixture's gift card number; the sandbox draws its own card numbers";
const DELETE_REFUSED: &str =
    "the mock refuses a payment deletion the sandbox allows (Asalta's document shows no refusal of one)";
const NO_CODE: &str = "the mock lists an item without a code: every item the sandbox lists has one";
const GIFT_CARD: &str = "the mock reads the fixture's gift card number; the sandbox draws its own card numbers";
const VOID_INVOICE: &str =
    "the mock holds a void invoice: Asalta voids orders only, so the sandbox can hold none to return";
const LIST_REFUSED: &str = "the mock refuses with a 400 a list or report the sandbox serves: it refuses only a missing \
                            filter, a page or a date the connector never sends";

/// Fixtures the connector is not run against the sandbox for, and why.
const EXCLUDED: &[(&str, &str)] = &[
    ("create_customer__malformed_response_is_uncertain", BROKEN),
    ("add_payment__malformed_response_is_uncertain", BROKEN),
    ("create_customer__rejected_invalid_email", VALID_BODY),
    ("delete_payment__malformed_response_is_uncertain", BROKEN),
    ("delete_payment__rejected", DELETE_REFUSED),
    ("get_customer__malformed_response", BROKEN),
    ("get_product__malformed_response", BROKEN),
    ("get_product__server_error_then_success", ONCE),
    ("get_customer__server_error_then_success", ONCE),
    ("get_sale__malformed_response", BROKEN),
    ("get_sale__server_error_then_success", ONCE),
    ("list_customers__malformed_response", BROKEN),
    ("list_customers__server_error_then_success", ONCE),
    ("list_locations__malformed_response", BROKEN),
    ("list_locations__server_error_then_success", ONCE),
    ("list_products__item_without_code_is_a_decode_error", NO_CODE),
    ("list_products__malformed_response", BROKEN),
    ("list_products__server_error_then_success", ONCE),
    ("list_sales__malformed_response", BROKEN),
    ("list_sales__page_loop_detected", LOOP),
    ("list_sales__server_error_then_success", ONCE),
    ("push_return__malformed_response_is_uncertain", BROKEN),
    ("push_return__refused_void_sale", VOID_INVOICE),
    ("push_sale__gift_card_payment_redeems_the_card_by_number", CARD),
    ("push_sale__malformed_response_is_uncertain", BROKEN),
    ("push_sale__rejected_mandatory_field", VALID_BODY),
    ("stock_levels__malformed_response", BROKEN),
    ("stock_levels__non_numeric_quantity_is_a_decode_error", BROKEN),
    ("stock_levels__server_error_then_success", ONCE),
    ("update_customer__malformed_response_is_uncertain", BROKEN),
    ("update_customer__server_error_is_retried", ONCE),
    ("void_sale__malformed_response_is_uncertain", BROKEN),
    ("void_sale__server_error_then_success", ONCE),
    ("call__biller__malformed_response", BROKEN),
    ("call__biller__server_error_then_success", ONCE),
    ("call__billers__malformed_response", BROKEN),
    ("call__billers__server_error_then_success", ONCE),
    ("call__categories__malformed_response", BROKEN),
    ("call__categories__server_error_then_success", ONCE),
    ("call__category__malformed_response", BROKEN),
    ("call__category__server_error_then_success", ONCE),
    ("call__claims_report__malformed_response", BROKEN),
    ("call__claims_report__server_error_then_success", ONCE),
    ("call__crm_invoices_report__malformed_response", BROKEN),
    ("call__crm_invoices_report__server_error_then_success", ONCE),
    ("call__customer_group__malformed_response", BROKEN),
    ("call__customer_group__server_error_then_success", ONCE),
    ("call__customer_groups__malformed_response", BROKEN),
    ("call__customer_groups__server_error_then_success", ONCE),
    ("call__gift_card__malformed_response", BROKEN),
    ("call__gift_card__server_error_then_success", ONCE),
    ("call__loyalty__malformed_response", BROKEN),
    ("call__loyalty__server_error_then_success", ONCE),
    ("call__order__malformed_response", BROKEN),
    ("call__order__server_error_then_success", ONCE),
    ("call__orders__malformed_response", BROKEN),
    ("call__orders__server_error_then_success", ONCE),
    ("call__payment__malformed_response", BROKEN),
    ("call__payment__server_error_then_success", ONCE),
    ("call__payment_method__malformed_response", BROKEN),
    ("call__payment_method__server_error_then_success", ONCE),
    ("call__payment_methods__malformed_response", BROKEN),
    ("call__payment_methods__server_error_then_success", ONCE),
    ("call__payments__malformed_response", BROKEN),
    ("call__payments__server_error_then_success", ONCE),
    ("call__payroll_report__malformed_response", BROKEN),
    ("call__payroll_report__server_error_then_success", ONCE),
    ("call__promotion__malformed_response", BROKEN),
    ("call__promotion__server_error_then_success", ONCE),
    ("call__promotions__malformed_response", BROKEN),
    ("call__promotions__server_error_then_success", ONCE),
    ("call__return_invoice__malformed_response", BROKEN),
    ("call__return_invoice__server_error_then_success", ONCE),
    ("call__return_invoices__malformed_response", BROKEN),
    ("call__return_invoices__server_error_then_success", ONCE),
    ("call__return_order__malformed_response", BROKEN),
    ("call__return_order__server_error_then_success", ONCE),
    ("call__return_orders__malformed_response", BROKEN),
    ("call__return_orders__server_error_then_success", ONCE),
    ("call__roster_schedule__malformed_response", BROKEN),
    ("call__roster_schedule__server_error_then_success", ONCE),
    ("call__sales_report__malformed_response", BROKEN),
    ("call__sales_report__server_error_then_success", ONCE),
    ("call__subcategories__malformed_response", BROKEN),
    ("call__subcategories__server_error_then_success", ONCE),
    ("call__subcategories_of__malformed_response", BROKEN),
    ("call__subcategories_of__server_error_then_success", ONCE),
    ("call__subcategory__malformed_response", BROKEN),
    ("call__subcategory__server_error_then_success", ONCE),
    ("call__tax_line_item__malformed_response", BROKEN),
    ("call__tax_line_item__server_error_then_success", ONCE),
    ("call__tax_line_items__malformed_response", BROKEN),
    ("call__tax_line_items__server_error_then_success", ONCE),
    ("call__tax_rate__malformed_response", BROKEN),
    ("call__tax_rate__server_error_then_success", ONCE),
    ("call__tax_rates__malformed_response", BROKEN),
    ("call__tax_rates__server_error_then_success", ONCE),
    ("call__warehouse__malformed_response", BROKEN),
    ("call__warehouse__server_error_then_success", ONCE),
    ("call__gift_card__happy_path", GIFT_CARD),
    ("call__categories__expired_token_refresh_malformed_response", BROKEN),
    ("push_sale__order_malformed_response_is_uncertain", BROKEN),
    ("push_sale__order_rejected_mandatory_field", VALID_BODY),
    ("push_return__order_malformed_response_is_uncertain", BROKEN),
    ("call__categories__rejected", LIST_REFUSED),
    ("call__subcategories__rejected", LIST_REFUSED),
    ("call__subcategories_of__rejected", LIST_REFUSED),
    ("list_locations__rejected", LIST_REFUSED),
    ("call__customer_groups__rejected", LIST_REFUSED),
    ("call__billers__rejected", LIST_REFUSED),
    ("list_customers__rejected", LIST_REFUSED),
    ("call__loyalty__rejected", LIST_REFUSED),
    ("list_products__rejected", LIST_REFUSED),
    ("call__promotions__rejected", LIST_REFUSED),
    ("call__tax_rates__rejected", LIST_REFUSED),
    ("call__tax_line_items__rejected", LIST_REFUSED),
    ("list_sales__rejected", LIST_REFUSED),
    ("call__payment_methods__rejected", LIST_REFUSED),
    ("call__payments__rejected", LIST_REFUSED),
    ("call__return_invoices__rejected", LIST_REFUSED),
    ("call__orders__rejected", LIST_REFUSED),
    ("call__return_orders__rejected", LIST_REFUSED),
    ("call__sales_report__rejected", LIST_REFUSED),
    ("call__crm_invoices_report__rejected", LIST_REFUSED),
    ("call__payroll_report__rejected", LIST_REFUSED),
    ("call__claims_report__rejected", LIST_REFUSED),
    ("call__roster_schedule__rejected", LIST_REFUSED),
    (
        "call__categories__expired_token_refresh_server_error_then_success",
        ONCE,
    ),
];

fn load_all() -> BTreeMap<String, Fixture> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            all.insert(name, Fixture::load(&path).unwrap());
        }
    }
    all
}

/// Whether a fixture's mock gives a successful answer the sandbox never gives: not
/// JSON, or a quantity that is not a number.
fn broken(f: &Fixture) -> bool {
    f.exchanges
        .iter()
        .filter(|e| e.response.status < 300)
        .any(|e| match &e.response.body {
            Some(ResponseBody::Text(t)) => serde_json::from_str::<Value>(t).is_err(),
            Some(ResponseBody::Json(v)) => v.to_string().contains("\"quantity\":\"lots\""),
            None => false,
        })
}

fn product(code: &str, name: &str, price: &str, stock: &str) -> Product {
    Product {
        code: code.into(),
        name: name.into(),
        price: price.parse().unwrap(),
        stock: stock.parse().unwrap(),
    }
}

/// The fixtures' products; `GLOVES` short for the out-of-stock push; `vitadine` at
/// 105 for the price check's fixtures (Asalta's catalogue pricing it above the POS),
/// and at 3.335 for the rounding push (whose POS sells it at that, and whose mocked
/// catalogue prices it alike: every push is price-checked, mapped lines too).
fn catalogue(name: &str) -> Catalogue {
    let gloves = if name.contains("out_of_stock") { "1" } else { "12" };
    let vitadine = if name.contains("catalogue_price") || name.contains("back_office_price") {
        "105"
    } else if name.starts_with("push_sale__rounding") {
        "3.335"
    } else {
        "100"
    };
    Catalogue {
        products: vec![
            product("vitadine", "Vitadine", vitadine, "170"),
            product("GLOVES", "GLOVES", "99", gloves),
            product("HAT", "HAT", "25", "4"),
        ],
    }
}

fn sandbox_config(name: &str, f: &Fixture) -> SandboxConfig {
    let config = SandboxConfig {
        catalogue: catalogue(name),
        ..SandboxConfig::default()
    };
    let mut asalta = AsaltaConfig::default();
    if let Some(id) = f.config["client_id"].as_str() {
        asalta.client_id = id.into();
    }
    if let Some(secret) = f.config["client_secret"].as_str() {
        asalta.client_secret = secret.into();
    }
    if name.contains("three_pages") {
        asalta.page_size = 1;
    }
    if let Some(biller) = f.config["biller"].as_str()
        && f.config["id_map"]["biller"].get(biller).is_none()
    {
        asalta.biller.name = biller.into();
    }
    config.with_section("asalta", serde_json::to_value(asalta).unwrap())
}

fn connector(name: &str, f: &Fixture, s: &SandboxHandle) -> Box<dyn Connector> {
    let mut config = f.config.clone();
    let obj = config.as_object_mut().unwrap();
    obj.insert("base_url".into(), json!(s.vendor_url("asalta")));
    if name.contains("expired_token") {
        let (_, refresh) = mint_tokens(s);
        obj.insert("refresh_token".into(), json!(refresh));
        // `access_token` stays the fixture's, which the sandbox refuses.
    } else if !name.ends_with("invalid_credentials") {
        obj.insert("access_token".into(), json!(mint_token(s)));
    }
    if let Some(Value::Object(map)) = obj.get_mut("id_map") {
        let items = asalta_item_ids(&catalogue(name));
        if let Some(Value::Object(products)) = map.get_mut("product") {
            for (code, id) in products.iter_mut() {
                *id = json!(items[code].to_string());
            }
        }
        if let Some(Value::Object(billers)) = map.get_mut("biller") {
            for id in billers.values_mut() {
                *id = json!("35");
            }
        }
    }
    obj.entry("http").or_insert_with(|| {
        json!({"timeout_ms": 5000,
               "retry": {"max_retries": 2, "min_delay_ms": 1, "max_delay_ms": 5, "max_retry_after_ms": 2000, "jitter": false}})
    });
    let config: posbridge_asalta::Config = serde_json::from_value(config).unwrap();
    config.connect().unwrap()
}

/// What an operation gave: `Ok(disposition)` for a push, `Ok(None)` otherwise. A
/// product read that the fixture expects to find reads the sandbox's first item (the
/// fixtures name Asalta's sample id 952).
async fn run(name: &str, c: &dyn Connector, f: &Fixture) -> Result<Option<String>, Error> {
    let mut f = f.clone();
    if f.operation == Operation::GetProduct && matches!(f.expect, Expect::Ok(_)) {
        f.input["id"] = json!(asalta_item_ids(&catalogue(name))["vitadine"].to_string());
    }
    if f.operation == Operation::Call
        && matches!(f.expect, Expect::Ok(_))
        && let Some(input) = sandbox_input(f.call.as_deref().unwrap_or_default())
    {
        f.input = input;
    }
    let disposition = posbridge_conformance::run_disposition(c, &f).await?;
    Ok(disposition.map(|d| serde_json::to_value(d).unwrap().as_str().unwrap().to_owned()))
}

/// The calls that read sales, payments or returns: [`prepare`] books them first.
const SALE_CALLS: &[&str] = &[
    "payments",
    "payment",
    "return_invoices",
    "return_invoice",
    "orders",
    "order",
    "return_orders",
    "return_order",
];

/// A call's input naming the sandbox's records where the fixture names Asalta's
/// sample ids the sandbox does not hold (its category is 1, its subcategories 2 and
/// 3, its tax rates 1 and 2, the line items 1 and 2 on rate 2; [`prepare`] books payment 901, return
/// invoice 301 and return order 302).
fn sandbox_input(call: &str) -> Option<Value> {
    Some(match call {
        "category" => json!({"id": 1}),
        "subcategory" => json!({"id": 2}),
        "subcategories_of" => json!({"parent_category_id": 1}),
        "tax_rate" => json!({"id": 1}),
        "tax_line_items" => json!({"tax_rate_id": 2}),
        "tax_line_item" => json!({"tax_rate_id": 2, "id": 1}),
        "payment" => json!({"id": 901}),
        "return_invoice" => json!({"id": 301}),
        "return_order" => json!({"id": 302}),
        _ => return None,
    })
}

/// A plain sale of one `vitadine`, as `kind`.
fn one_sale(reference: &str, kind: &str) -> Sale {
    serde_json::from_value(
        json!({"reference": reference, "issued_at": "2026-11-26T10:15:00+08:00", "kind": kind,
                                  "lines": [{"product_code": "vitadine", "quantity": "1", "unit_price": "100"}]}),
    )
    .unwrap()
}

/// Puts the sandbox in the state the fixture's mock implies (see the module doc).
async fn prepare(name: &str, f: &Fixture, s: &SandboxHandle, config: &Value) {
    if name.ends_with("invalid_credentials") || name.contains("not_found") || name == "update_customer__rejected" {
        return;
    }
    // A helper connector with a good token, for the records the fixture needs.
    let mut helper = config.clone();
    helper["access_token"] = json!(mint_token(s));
    helper["base_url"] = json!(s.vendor_url("asalta"));
    helper["biller"] = json!("helper");
    let products: serde_json::Map<String, Value> = asalta_item_ids(&catalogue(name))
        .into_iter()
        .map(|(code, id)| (code, json!(id.to_string())))
        .collect();
    helper["id_map"] = json!({"product": products, "biller": {"helper": "35"}, "warehouse": {"ADL": "2"}});
    helper["warehouse"] = json!("ADL");
    helper["walk_in_customer_id"] = json!(1);
    let helper: posbridge_asalta::Config = serde_json::from_value(helper).unwrap();
    let helper = helper.connect().unwrap();
    let sales = helper.sales().unwrap();
    match f.operation {
        Operation::GetSale | Operation::ListSales => {
            sales.push_sale(&one_sale("PRE-1", "invoice")).await.unwrap();
            sales.push_sale(&one_sale("PRE-2", "order")).await.unwrap();
        }
        Operation::VoidSale => {
            sales.push_sale(&one_sale("PRE-1", "order")).await.unwrap();
            sales.push_sale(&one_sale("PRE-2", "order")).await.unwrap();
            if name.contains("already_void") {
                let void = Void::of(SaleRef::vendor("order:54"));
                helper.voids().unwrap().void_sale(&void).await.unwrap();
            }
        }
        // A fixture refused before anything is sent reads no sale: nothing to book.
        Operation::PushReturn | Operation::AddPayment => {
            if let Some((kind, target, record)) = mocked_sale(f) {
                let mut sale = sale_of(&record, kind);
                for n in 0..5 {
                    let receipt = sales.push_sale(&sale).await.unwrap();
                    let id = receipt.vendor_id.unwrap();
                    if id.trim_start_matches("order:") == target {
                        break;
                    }
                    assert!(n < 4, "{name}: the sandbox never reached sale {target}");
                    sale.reference = format!("{}-{n}", sale.reference);
                }
                if name.contains("earlier_returns") {
                    let vendor_id = if kind == "order" {
                        format!("order:{target}")
                    } else {
                        target.clone()
                    };
                    let earlier: Return = serde_json::from_value(json!({
                        "reference": "PRE-R", "sale": {"vendor_id": vendor_id}, "issued_at": "2026-11-26T11:00:00+08:00",
                        "lines": [{"product_code": "GLOVES", "quantity": "1", "unit_price": "99"}]}))
                    .unwrap();
                    helper.returns().unwrap().push_return(&earlier).await.unwrap();
                }
            }
        }
        Operation::DeletePayment => {
            let mut sale = one_sale("PRE-1", "invoice");
            sale.payments = serde_json::from_value(json!([{"amount": "100", "method": "cash"}])).unwrap();
            sales.push_sale(&sale).await.unwrap();
        }
        // Invoice 880 paid in cash (payment 901), orders 53 and 54, and a return of
        // each of 880 (return invoice 301) and order 54 (return order 302).
        Operation::Call if f.call.as_deref().is_some_and(|c| SALE_CALLS.contains(&c)) => {
            let mut sale = one_sale("PRE-1", "invoice");
            sale.payments = serde_json::from_value(json!([{"amount": "100", "method": "cash"}])).unwrap();
            sales.push_sale(&sale).await.unwrap();
            sales.push_sale(&one_sale("PRE-2", "order")).await.unwrap();
            sales.push_sale(&one_sale("PRE-3", "order")).await.unwrap();
            for (n, target) in [(1, "880"), (2, "order:54")] {
                let ret: Return = serde_json::from_value(json!({
                    "reference": format!("PRE-R{n}"), "sale": {"vendor_id": target},
                    "issued_at": "2026-11-26T11:00:00+08:00",
                    "lines": [{"product_code": "vitadine", "quantity": "1", "unit_price": "100"}]}))
                .unwrap();
                helper.returns().unwrap().push_return(&ret).await.unwrap();
            }
        }
        Operation::GetCustomer | Operation::UpdateCustomer | Operation::ListCustomers => {
            let customers = helper.customers().unwrap();
            for n in ["John", "Mary"] {
                customers
                    .create_customer(&serde_json::from_value(json!({"name": n})).unwrap())
                    .await
                    .unwrap();
            }
        }
        _ => {}
    }
    if name.contains("expired_token") {
        expire_tokens(s);
    }
    // A mocked 429: a rule on that route.
    let mut rules = Vec::new();
    for e in &f.exchanges {
        if e.response.status != 429 {
            continue;
        }
        let retry_after_secs = e
            .response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let route = e.request.path.trim_start_matches('/').to_owned();
        rules.push(
            FaultRule::new(Fault::RateLimit { retry_after_secs }, 1.0)
                .for_vendor("asalta")
                .for_route(route),
        );
    }
    // A mocked 5xx that ends a write the fixture expects uncertain: a rule on that route.
    if let (Some(last), Expect::Error(e)) = (f.exchanges.last(), &f.expect)
        && last.response.status >= 500
        && e.kind == posbridge_core::ErrorKind::Uncertain
    {
        rules.push(
            FaultRule::new(
                Fault::Status {
                    status: last.response.status,
                },
                1.0,
            )
            .for_vendor("asalta")
            .for_route(last.request.path.trim_start_matches('/').to_owned()),
        );
    }
    for r in &rules {
        r.validate().unwrap();
    }
    s.set_faults(rules);
}

/// The sale a return or payment fixture reads first (`GET /pos/invoices?id=` or
/// `/pos/orders?id=` answered 200): its kind, id and mocked record.
fn mocked_sale(f: &Fixture) -> Option<(&'static str, String, Value)> {
    f.exchanges.iter().find_map(|e| {
        let kind = match e.request.path.as_str() {
            "/pos/invoices" => "invoice",
            "/pos/orders" => "order",
            _ => return None,
        };
        if e.response.status != 200 {
            return None;
        }
        let Some(ResponseBody::Json(record)) = &e.response.body else {
            return None;
        };
        Some((kind, e.request.query.get("id")?.clone(), record.clone()))
    })
}

/// A sale with the mocked record's lines (codes and quantities, at the catalogue's
/// prices) and, when the record says something was paid, a cash payment of that much.
fn sale_of(record: &Value, kind: &str) -> Sale {
    let price = |code: &str| match code {
        "vitadine" => "100",
        "GLOVES" => "99",
        _ => "25",
    };
    let lines: Vec<Value> = record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let code = i["product_code"].as_str().unwrap();
            json!({"product_code": code, "quantity": i["quantity"], "unit_price": price(code)})
        })
        .collect();
    let paid: posbridge_core::Decimal = record["paid"].as_str().unwrap_or("0").parse().unwrap();
    let payments = if paid > posbridge_core::Decimal::ZERO {
        json!([{"amount": record["paid"], "method": "cash"}])
    } else {
        json!([])
    };
    serde_json::from_value(
        json!({"reference": "PRE-S", "issued_at": "2026-11-26T10:15:00+08:00", "kind": kind,
                                  "lines": lines, "payments": payments}),
    )
    .unwrap()
}

fn kind(want: &Expect) -> String {
    match want {
        Expect::Ok(v) => format!("ok {}", v.get("disposition").and_then(Value::as_str).unwrap_or("")),
        Expect::Error(e) => format!("error {}", e.kind),
    }
}

#[tokio::test]
async fn the_connector_gets_the_fixture_outcome_kinds_from_the_sandbox() {
    bounded_for(REPLAY_TIME_LIMIT, async {
        let all = load_all();
        let excluded: BTreeMap<&str, &str> = EXCLUDED.iter().copied().collect();
        // The broken-answer fixtures are found by their exchanges, too.
        let found: BTreeSet<&str> = all.iter().filter(|(_, f)| broken(f)).map(|(n, _)| n.as_str()).collect();
        for n in &found {
            assert_eq!(excluded.get(n), Some(&BROKEN), "{n} has a broken mocked answer");
        }
        for (n, why) in EXCLUDED {
            if *why == BROKEN {
                assert!(
                    found.contains(n),
                    "{n} is excluded as broken, but its answers look fine"
                );
            }
        }
        let mut problems = Vec::new();
        let mut checked = 0;
        for (name, f) in &all {
            if excluded.contains_key(name.as_str()) {
                continue;
            }
            let s = start_with(sandbox_config(name, f)).await;
            prepare(name, f, &s, &f.config).await;
            let c = connector(name, f, &s);
            let got = match run(name, c.as_ref(), f).await {
                Ok(d) => format!("ok {}", d.unwrap_or_default()),
                Err(e) => format!("error {} ({e})", e.kind()),
            };
            let want = kind(&f.expect);
            if got.split(" (").next() != Some(want.as_str()) {
                problems.push(format!("{name}: got {got}, the fixture expects {want}"));
            }
            checked += 1;
            s.shutdown().await;
        }
        assert!(
            problems.is_empty(),
            "the connector and the sandbox disagree:\n{}",
            problems.join("\n")
        );
        assert_eq!(checked + EXCLUDED.len(), all.len());
        let names: BTreeSet<&str> = all.keys().map(String::as_str).collect();
        for (n, _) in EXCLUDED {
            assert!(names.contains(n), "{n} is excluded but is not a fixture");
        }
        assert_eq!(checked, 234);
    })
    .await;
}
