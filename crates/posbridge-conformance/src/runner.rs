//! Runs one fixture: a mock server per case that serves the scripted exchanges in
//! order, the connector built from the case's config, the operation, and the
//! comparison of what happened with what the case expects.

use std::collections::BTreeMap;
use std::fmt::{Debug, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use posbridge_core::{
    Connector, ConnectorConfig, Customer, Error, Location, Operation, Product, Purchase, PushReceipt, Return, Sale,
    SalePayment, StockLevel, Void,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::fixture::{Exchange, Expect, ExpectedError, Fixture, RequestBody, ResponseBody};

/// Runs the fixture `file` from `dir` against the connector built by `C`, and panics
/// with a readable report when it does not conform. Generated tests call this; a
/// test's way to fail is to panic.
#[allow(clippy::panic)]
pub async fn run<C: ConnectorConfig>(dir: &str, file: &str) {
    let path = Path::new(dir).join(file);
    let fixture = match Fixture::load(&path) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    if let Err(report) = run_fixture::<C>(&fixture).await {
        panic!("conformance case {file} failed:\n{report}");
    }
}

/// Runs a parsed fixture; `Err` carries a report of every difference found.
pub async fn run_fixture<C: ConnectorConfig>(fixture: &Fixture) -> Result<(), String> {
    let server = MockServer::start_async().await;
    let script = Arc::new(Mutex::new(Script {
        exchanges: fixture.exchanges.clone(),
        next: 0,
        problems: Vec::new(),
    }));
    let s = script.clone();
    server
        .mock_async(move |_when, then| {
            then.respond_with(move |req: &HttpMockRequest| serve(&s, req));
        })
        .await;

    let config = prepare_config(&fixture.config, &server.base_url())?;
    let connector = serde_json::from_value::<C>(config)
        .map_err(|e| format!("the case's config does not deserialize: {e}"))?
        .connect()
        .map_err(|e| format!("the connector could not be built: {e}"))?;

    let outcome = run_case(connector.as_ref(), fixture).await;

    let mut report = String::new();
    if let Err(e) = compare(fixture.operation, &fixture.expect, outcome) {
        let _ = writeln!(report, "- outcome: {e}");
    }
    let script = script.lock().map_err(|_| "mock script lock poisoned".to_string())?;
    for p in &script.problems {
        let _ = writeln!(report, "- {p}");
    }
    if script.next < script.exchanges.len() {
        let missing: Vec<_> = script.exchanges[script.next..]
            .iter()
            .map(|x| format!("{} {}", x.request.method, x.request.path))
            .collect();
        let _ = writeln!(report, "- expected exchanges never happened: {}", missing.join(", "));
    }
    if report.is_empty() { Ok(()) } else { Err(report) }
}

fn prepare_config(config: &Value, base_url: &str) -> Result<Value, String> {
    let mut config = config.clone();
    let obj = config
        .as_object_mut()
        .ok_or("the case's config must be a JSON object")?;
    obj.insert("base_url".into(), Value::String(format!("{base_url}/")));
    obj.entry("http").or_insert_with(|| {
        json!({
            "timeout_ms": 2000,
            "retry": {"max_retries": 2, "min_delay_ms": 1, "max_delay_ms": 5, "max_retry_after_ms": 2000, "jitter": false}
        })
    });
    Ok(config)
}

struct Script {
    exchanges: Vec<Exchange>,
    next: usize,
    problems: Vec<String>,
}

fn serve(script: &Mutex<Script>, req: &HttpMockRequest) -> HttpMockResponse {
    let Ok(mut s) = script.lock() else {
        return HttpMockResponse::builder()
            .status(599)
            .body("mock script lock poisoned")
            .build();
    };
    let i = s.next;
    let Some(exchange) = s.exchanges.get(i).cloned() else {
        let line = format!("unexpected request #{}: {} {}", i + 1, req.method(), req.uri().path());
        s.problems.push(line);
        s.next += 1;
        return HttpMockResponse::builder()
            .status(599)
            .body("conformance mock: unexpected request")
            .build();
    };
    s.next += 1;
    for problem in request_differences(&exchange, req) {
        s.problems.push(format!("request #{}: {problem}", i + 1));
    }
    drop(s);
    let r = &exchange.response;
    if r.delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(r.delay_ms));
    }
    let mut b = HttpMockResponse::builder().status(r.status);
    let mut has_content_type = false;
    for (k, v) in &r.headers {
        has_content_type |= k.eq_ignore_ascii_case("content-type");
        b = b.header(k.as_str(), v.as_str());
    }
    match &r.body {
        Some(ResponseBody::Json(v)) => {
            if !has_content_type {
                b = b.header("content-type", "application/json");
            }
            b = b.body(v.to_string());
        }
        Some(ResponseBody::Text(t)) => b = b.body(t.clone()),
        None => {}
    }
    b.build()
}

fn request_differences(exchange: &Exchange, req: &HttpMockRequest) -> Vec<String> {
    let want = &exchange.request;
    let mut out = Vec::new();
    if !req.method().as_str().eq_ignore_ascii_case(&want.method) {
        out.push(format!("method: expected {}, got {}", want.method, req.method()));
    }
    let uri = req.uri();
    if uri.path() != want.path {
        out.push(format!("path: expected {}, got {}", want.path, uri.path()));
    }
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    if query != want.query {
        out.push(format!("query: expected {:?}, got {:?}", want.query, query));
    }
    let headers = req.headers();
    for (k, v) in &want.headers {
        let got = headers.get(k.as_str()).and_then(|h| h.to_str().ok());
        if got != Some(v.as_str()) {
            out.push(format!("header {k}: expected {v:?}, got {got:?}"));
        }
    }
    let body = req.body_ref();
    match &want.body {
        None if !body.is_empty() => out.push(format!("body: expected none, got {}", String::from_utf8_lossy(body))),
        None => {}
        Some(RequestBody::Json(v)) => match serde_json::from_slice::<Value>(body) {
            Ok(got) if &got == v => {}
            Ok(got) => out.push(format!("JSON body differs:\n  expected {v}\n  got      {got}")),
            Err(e) => out.push(format!("body is not JSON ({e}): {}", String::from_utf8_lossy(body))),
        },
        Some(RequestBody::Form(fields)) => {
            let got: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
            if &got != fields {
                let mut diff = String::new();
                for (k, v) in fields {
                    match got.get(k) {
                        Some(g) if g == v => {}
                        Some(g) => {
                            let _ = write!(diff, "\n  {k}: expected {v:?}, got {g:?}");
                        }
                        None => {
                            let _ = write!(diff, "\n  {k}: missing (expected {v:?})");
                        }
                    }
                }
                for (k, g) in &got {
                    if !fields.contains_key(k) {
                        let _ = write!(diff, "\n  {k}: unexpected field = {g:?}");
                    }
                }
                out.push(format!("form body differs:{diff}"));
            }
        }
        Some(RequestBody::Text(t)) if body != t.as_bytes() => {
            out.push(format!("body: expected {t:?}, got {:?}", String::from_utf8_lossy(body)));
        }
        Some(RequestBody::Text(_)) => {}
    }
    out
}

/// What an operation returned: a JSON rendering of the value, kept typed for
/// comparison by the expected type.
enum Outcome {
    Receipt(PushReceipt),
    Receipts(Vec<Result<PushReceipt, Error>>),
    Stock(Vec<StockLevel>),
    Sale(Sale),
    Sales(Vec<Sale>),
    Customer(Customer),
    Customers(Vec<Customer>),
    Product(Product),
    Products(Vec<Product>),
    Locations(Vec<Location>),
    Value(Value),
    Unit,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ById {
    id: String,
    #[serde(default)]
    customer: Option<Customer>,
    #[serde(default)]
    product: Option<Product>,
}

/// Runs a fixture's operation (or documented call) on its input through `connector`,
/// exactly as a conformance case does: the receipt's disposition for the operations
/// that give a receipt, `None` for the others. What a vendor's sandbox replay compares
/// with the fixture's outcome.
pub async fn run_disposition(
    connector: &dyn Connector,
    fixture: &Fixture,
) -> Result<Option<posbridge_core::Disposition>, Error> {
    Ok(match run_case(connector, fixture).await? {
        Outcome::Receipt(r) => Some(r.disposition),
        _ => None,
    })
}

/// The fixture's operation, or its documented call, on its input.
async fn run_case(connector: &dyn Connector, fixture: &Fixture) -> Result<Outcome, Error> {
    match (fixture.operation, fixture.call.as_deref()) {
        (Operation::Call, Some(name)) => {
            let raw = connector.call(name, &fixture.input).await?;
            // Compared with the expected JSON by value (numbers too: `7.0` and
            // `7.0000` are the same amount).
            let value = serde_json::from_str(raw.get()).map_err(|e| {
                Error::decode(
                    "conformance",
                    format!("the call's answer is not JSON: {e}"),
                    raw.get().as_bytes(),
                )
            })?;
            Ok(Outcome::Value(value))
        }
        (Operation::Call, None) => Err(Error::invalid("fixture.call", "operation `call` needs the call's name")),
        (op, _) => run_operation(connector, op, &fixture.input).await,
    }
}

fn input<T: DeserializeOwned>(input: &Value) -> Result<T, Error> {
    serde_json::from_value(input.clone()).map_err(|e| Error::invalid("fixture.input", e.to_string()))
}

fn missing(connector: &dyn Connector, op: Operation) -> Error {
    connector.unsupported_here(op)
}

async fn run_operation(c: &dyn Connector, op: Operation, raw: &Value) -> Result<Outcome, Error> {
    match op {
        Operation::PushSale => {
            let sales = c.sales().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Receipt(sales.push_sale(&input::<Sale>(raw)?).await?))
        }
        Operation::PushSales => {
            let sales = c.sales().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Receipts(sales.push_sales(&input::<Vec<Sale>>(raw)?).await))
        }
        Operation::GetSale => {
            let sales = c.sales().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Sale(sales.get_sale(&input::<ById>(raw)?.id).await?))
        }
        Operation::ListSales => {
            let sales = c.sales().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Sales(sales.list_sales().try_collect().await?))
        }
        Operation::VoidSale => {
            let voids = c.voids().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Receipt(voids.void_sale(&input::<Void>(raw)?).await?))
        }
        Operation::PushReturn => {
            let returns = c.returns().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Receipt(returns.push_return(&input::<Return>(raw)?).await?))
        }
        Operation::AddPayment => {
            let payments = c.payments().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Receipt(
                payments.add_payment(&input::<SalePayment>(raw)?).await?,
            ))
        }
        Operation::DeletePayment => {
            let payments = c.payments().ok_or_else(|| missing(c, op))?;
            payments.delete_payment(&input::<ById>(raw)?.id).await?;
            Ok(Outcome::Unit)
        }
        Operation::PushPurchase => {
            let p = c.purchases().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Receipt(p.push_purchase(&input::<Purchase>(raw)?).await?))
        }
        Operation::StockLevels => {
            let s = c.stock().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Stock(s.stock_levels().try_collect().await?))
        }
        Operation::ListCustomers => {
            let s = c.customers().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Customers(s.list_customers().try_collect().await?))
        }
        Operation::GetCustomer => {
            let s = c.customers().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Customer(s.get_customer(&input::<ById>(raw)?.id).await?))
        }
        Operation::CreateCustomer => {
            let s = c.customers().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Customer(s.create_customer(&input::<Customer>(raw)?).await?))
        }
        Operation::UpdateCustomer => {
            let s = c.customers().ok_or_else(|| missing(c, op))?;
            let by = input::<ById>(raw)?;
            let customer = by
                .customer
                .ok_or_else(|| Error::invalid("fixture.input.customer", "update_customer needs a customer"))?;
            Ok(Outcome::Customer(s.update_customer(&by.id, &customer).await?))
        }
        Operation::DeleteCustomer => {
            let s = c.customers().ok_or_else(|| missing(c, op))?;
            s.delete_customer(&input::<ById>(raw)?.id).await?;
            Ok(Outcome::Unit)
        }
        Operation::ListProducts => {
            let s = c.catalogue().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Products(s.products().try_collect().await?))
        }
        Operation::GetProduct => {
            let s = c.catalogue().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Product(s.get_product(&input::<ById>(raw)?.id).await?))
        }
        Operation::CreateProduct => {
            let s = c.catalogue().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Product(s.create_product(&input::<Product>(raw)?).await?))
        }
        Operation::UpdateProduct => {
            let s = c.catalogue().ok_or_else(|| missing(c, op))?;
            let by = input::<ById>(raw)?;
            let product = by
                .product
                .ok_or_else(|| Error::invalid("fixture.input.product", "update_product needs a product"))?;
            Ok(Outcome::Product(s.update_product(&by.id, &product).await?))
        }
        Operation::DeleteProduct => {
            let s = c.catalogue().ok_or_else(|| missing(c, op))?;
            s.delete_product(&input::<ById>(raw)?.id).await?;
            Ok(Outcome::Unit)
        }
        Operation::ListLocations => {
            let s = c.locations().ok_or_else(|| missing(c, op))?;
            Ok(Outcome::Locations(s.locations().try_collect().await?))
        }
        other => Err(missing(c, other)),
    }
}

fn compare(op: Operation, expect: &Expect, outcome: Result<Outcome, Error>) -> Result<(), String> {
    match (expect, outcome) {
        (Expect::Ok(want), Ok(got)) => compare_value(op, want, got),
        (Expect::Error(want), Err(got)) => compare_error(want, &got),
        (Expect::Ok(_), Err(e)) => Err(format!("expected success, got error ({}): {e}", e.kind())),
        (Expect::Error(want), Ok(_)) => Err(format!("expected a {} error, got success", want.kind)),
    }
}

fn same<T: DeserializeOwned + PartialEq + Debug>(want: &Value, got: &T) -> Result<(), String> {
    let want: T =
        serde_json::from_value(want.clone()).map_err(|e| format!("the expected value does not deserialize: {e}"))?;
    if &want == got {
        Ok(())
    } else {
        Err(format!("value differs:\n  expected {want:?}\n  got      {got:?}"))
    }
}

fn compare_value(op: Operation, want: &Value, got: Outcome) -> Result<(), String> {
    match got {
        Outcome::Receipt(r) => same(want, &r),
        Outcome::Stock(s) => same(want, &s),
        Outcome::Sale(s) => same(want, &s),
        Outcome::Sales(s) => same(want, &s),
        Outcome::Customer(c) => same(want, &c),
        Outcome::Customers(c) => same(want, &c),
        Outcome::Product(p) => same(want, &p),
        Outcome::Products(p) => same(want, &p),
        Outcome::Locations(l) => same(want, &l),
        Outcome::Value(v) => {
            if want == &v {
                Ok(())
            } else {
                Err(format!("value differs:\n  expected {want}\n  got      {v}"))
            }
        }
        Outcome::Unit => match want {
            Value::Null => Ok(()),
            other => Err(format!("{op} returns nothing, but the case expects {other}")),
        },
        Outcome::Receipts(results) => {
            let wants: Vec<Expect> = serde_json::from_value(want.clone())
                .map_err(|e| format!("push_sales expects a list of {{\"ok\"}}/{{\"error\"}}: {e}"))?;
            if wants.len() != results.len() {
                return Err(format!("expected {} outcomes, got {}", wants.len(), results.len()));
            }
            let mut problems = Vec::new();
            for (i, (w, g)) in wants.iter().zip(results).enumerate() {
                let r = match (w, g) {
                    (Expect::Ok(w), Ok(g)) => same(w, &g),
                    (Expect::Error(w), Err(g)) => compare_error(w, &g),
                    (Expect::Ok(_), Err(e)) => Err(format!("expected success, got {}: {e}", e.kind())),
                    (Expect::Error(w), Ok(_)) => Err(format!("expected a {} error, got success", w.kind)),
                };
                if let Err(e) = r {
                    problems.push(format!("sale #{i}: {e}"));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n"))
            }
        }
    }
}

fn compare_error(want: &ExpectedError, got: &Error) -> Result<(), String> {
    let mut problems = Vec::new();
    if got.kind() != want.kind {
        problems.push(format!("kind: expected {}, got {} ({got})", want.kind, got.kind()));
    }
    if let Some(f) = &want.field {
        match got {
            Error::Invalid { field, .. } if field == f => {}
            other => problems.push(format!("field: expected {f}, got {other}")),
        }
    }
    if let Some(s) = want.status {
        let got_status = match got {
            Error::Rejected { status, .. } | Error::Unavailable { status, .. } => *status,
            _ => None,
        };
        if got_status != Some(s) {
            problems.push(format!("status: expected {s}, got {got_status:?}"));
        }
    }
    if want.vendor_code.is_some() && want.vendor_code.as_deref() != got.vendor_code() {
        problems.push(format!(
            "vendor code: expected {:?}, got {:?}",
            want.vendor_code,
            got.vendor_code()
        ));
    }
    if want.vendor_message.is_some() && want.vendor_message.as_deref() != got.vendor_message() {
        problems.push(format!(
            "vendor message: expected {:?}, got {:?}",
            want.vendor_message,
            got.vendor_message()
        ));
    }
    if let Some(secs) = want.retry_after_secs
        && got.retry_after() != Some(Duration::from_secs(secs))
    {
        problems.push(format!("retry after: expected {secs}s, got {:?}", got.retry_after()));
    }
    let text = got.to_string();
    for needle in &want.message_contains {
        if !text.contains(needle.as_str()) {
            problems.push(format!("message {text:?} does not contain {needle:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
