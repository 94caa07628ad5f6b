//! The sandbox's imitation of EAS Pro (feature `sandbox`), as its "jualan" (sales)
//! document, its public payment notes and `docs/vendors/easpro.md` describe it:
//! [`imitation()`] for [`posbridge_sandbox::Sandbox::start`]. An independent
//! implementation of the vendor side: it shares this crate but none of the connector's
//! code (no `wire.rs`, `map.rs` or client), so each checks the other
//! (`tests/sandbox_fixtures.rs`).
//!
//! Routes (under `/easpro/`), both `POST` with a JSON body `{"data": {…}}` and the
//! headers `partner` and `user-id`:
//!
//! | route | does |
//! |---|---|
//! | `eas/api/external/transaction/create` | creates or replaces the bill `billReferenceId` |
//! | `eas/api/external/transaction/payment/create` | creates or replaces the payment `reference` of an existing bill |
//!
//! Every answer is HTTP 200 with EAS Pro's envelope, `{"data": {"result": "Success",
//! "demo": false}, "response": {"date": "2026/11/26 10:15:07", "status": {"code": "0",
//! "httpMessage": "success processed"}}}`; a failure has `"result": "Failed"`, a
//! non-zero `code` and the reason in `httpMessage`:
//!
//! | code | `httpMessage` | when |
//! |---|---|---|
//! | `"401"` | `Invalid partner or user-id` | a `partner` or `user-id` header missing or not the configured one (checked first) |
//! | `"500"` | `<field> is required`, `<field> format is invalid`, … | the body is not `{"data": {…}}` JSON, or a field is missing, of the wrong type or out of range |
//! | `"1"` | `Product not found` | an `invProductId` the sandbox does not know |
//! | `"2"` | `subTotal does not match for products[i] (<invProductId>)` | `subTotal` ≠ round2(`priceSellPerUnit` × `stockToCount` − `discount`) (flat) or round2(`priceSellPerUnit` × `stockToCount` × (1 − `discount`/100)) (percent) |
//! | `"3"` | `value does not match the sum of subTotal and delivery` | `value` ≠ Σ `subTotal` + `delivery` |
//! | `"4"` | `Bill reference not found` | a payment for a `billReferenceId` never received |
//!
//! The codes `401`, `1`, `4` and `500` and their messages are those of the connector's
//! fixtures (which the connector reads as an auth error and as rejections); `2` and `3`
//! fill the gap. Products are checked in order (unknown id, then `subTotal`), then
//! `value`.
//!
//! Then it applies. A bill is an **upsert** by `billReferenceId`: a second push
//! replaces the first, never a duplicate. An `INVOICE` lowers the stock of each
//! product by `stockToCount` (a `QUOTATION` moves none); replacing a bill first gives
//! back what the previous version took, so the stock always reflects the current
//! version of every bill, whatever its `billType` was. A payment is an upsert by its
//! `reference`. A push identical to what is stored changes nothing and is logged as
//! not applied.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use posbridge_core::Decimal;
use posbridge_core::money::round_money;
use posbridge_sandbox::body::{decimal, text};
use posbridge_sandbox::{
    App, Catalogue, DemoProfile, DocKind, Reply, SandboxError, Setup, SharedState as SandboxState, VendorImitation,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::VENDOR;

/// The `partner` header (the partner key EAS Pro's admin issues) the imitation accepts
/// by default.
pub const DEFAULT_PARTNER: &str = "sandbox-partner";

/// The `user-id` header (the merchant's EAS Pro user) the imitation accepts by default.
pub const DEFAULT_USER_ID: &str = "sandbox-user";

/// Its routes, after the prefix.
const ROUTES: &[&str] = &[CREATE_TRANSACTION, CREATE_PAYMENT];

const CREATE_TRANSACTION: &str = "eas/api/external/transaction/create";
const CREATE_PAYMENT: &str = "eas/api/external/transaction/payment/create";

const PARTNER_HEADER: &str = "partner";
const USER_ID_HEADER: &str = "user-id";

/// The codes in `response.status.code`.
mod code {
    pub(super) const SUCCESS: &str = "0";
    pub(super) const AUTH: &str = "401";
    pub(super) const INVALID: &str = "500";
    pub(super) const PRODUCT_NOT_FOUND: &str = "1";
    pub(super) const SUB_TOTAL_MISMATCH: &str = "2";
    pub(super) const VALUE_MISMATCH: &str = "3";
    pub(super) const BILL_NOT_FOUND: &str = "4";
}

const SUCCESS_MESSAGE: &str = "success processed";
const AUTH_MESSAGE: &str = "Invalid partner or user-id";
const PRODUCT_NOT_FOUND_MESSAGE: &str = "Product not found";
const BILL_NOT_FOUND_MESSAGE: &str = "Bill reference not found";

/// `response.date` is written in Malaysia's time (UTC+8, no daylight saving).
const MALAYSIA_OFFSET_SECS: u64 = 8 * 3600;

/// The `invProductId` the sandbox gives the catalogue product `code` unless
/// [`ImitationConfig::products`] gives it another: a UUID-like id (version 8, "custom")
/// derived from the code alone, so it is the same on every run and every machine.
///
/// ```
/// let id = posbridge_easpro::sandbox::easpro_product_id("TEA-100");
/// assert_eq!(id, posbridge_easpro::sandbox::easpro_product_id("TEA-100"));
/// assert_eq!(id.len(), 36);
/// assert_ne!(id, posbridge_easpro::sandbox::easpro_product_id("MUG-1"));
/// ```
pub fn easpro_product_id(code: &str) -> String {
    let high = fnv1a(b"posbridge-sandbox/easpro/a/", code.as_bytes());
    let low = fnv1a(b"posbridge-sandbox/easpro/b/", code.as_bytes());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Every product of `catalogue`, by code, with its derived `invProductId`
/// ([`easpro_product_id`]): the id map (`{"product": {code: invProductId}}`) an EAS Pro
/// connector pointed at a sandbox with that catalogue and the default settings needs.
pub fn easpro_product_ids(catalogue: &Catalogue) -> BTreeMap<String, String> {
    catalogue
        .products
        .iter()
        .map(|p| (p.code.clone(), easpro_product_id(&p.code)))
        .collect()
}

/// The imitation's settings, its section of the sandbox's config (`"easpro": {…}`):
/// the credentials it accepts and the EAS Pro
/// product ids (`invProductId`) of the catalogue's products.
///
/// Every catalogue product is an EAS Pro product. Its `invProductId` is the one
/// `products` gives it, else the one [`easpro_product_id`] derives from its code (a
/// UUID-like id, the same on every run), so a connector's id map can be built from
/// [`easpro_product_ids`] whatever the catalogue. An entry of `products` whose code is
/// not in the catalogue is ignored (its id is then unknown to the sandbox).
///
/// ```
/// use posbridge_easpro::sandbox::{ImitationConfig, easpro_product_ids};
/// use posbridge_sandbox::Catalogue;
///
/// let config = ImitationConfig::default();
/// assert_eq!((config.partner.as_str(), config.user_id.as_str()), ("sandbox-partner", "sandbox-user"));
/// // The connector's id map (POS code → invProductId) for the sample catalogue:
/// let ids = easpro_product_ids(&Catalogue::sample());
/// assert_eq!(config.products[&ids["TEA-100"]], "TEA-100");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImitationConfig {
    /// The only `partner` header accepted; default [`DEFAULT_PARTNER`].
    pub partner: String,
    /// The only `user-id` header accepted; default [`DEFAULT_USER_ID`].
    pub user_id: String,
    /// `invProductId` → catalogue product code. Default: every product of
    /// [`Catalogue::sample()`] under its derived id ([`easpro_product_id`]).
    pub products: BTreeMap<String, String>,
}

impl Default for ImitationConfig {
    fn default() -> Self {
        Self::for_catalogue(&Catalogue::sample())
    }
}

impl ImitationConfig {
    /// The default credentials, and every product of `catalogue` under its derived
    /// `invProductId`.
    pub fn for_catalogue(catalogue: &Catalogue) -> Self {
        Self {
            partner: DEFAULT_PARTNER.to_owned(),
            user_id: DEFAULT_USER_ID.to_owned(),
            products: easpro_product_ids(catalogue)
                .into_iter()
                .map(|(code, id)| (id, code))
                .collect(),
        }
    }
}

/// 64-bit FNV-1a of `prefix` then `data`.
fn fnv1a(prefix: &[u8], data: &[u8]) -> u64 {
    prefix.iter().chain(data).fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The settings in force: the credentials, and `invProductId` → catalogue code for
/// every product the sandbox knows.
#[derive(Debug, Clone)]
struct Settings {
    partner: String,
    user_id: String,
    products: HashMap<String, String>,
}

impl Settings {
    /// Checks `config` and completes its id map: every catalogue product without an
    /// `invProductId` in it gets its derived one; an entry naming a code the catalogue
    /// does not have is dropped.
    fn resolve(config: &ImitationConfig, catalogue: &Catalogue) -> Result<Self, SandboxError> {
        for (name, value) in [("partner", &config.partner), ("user_id", &config.user_id)] {
            if value.trim().is_empty() {
                return Err(SandboxError::InvalidConfig(format!("easpro.{name} is empty")));
            }
            if HeaderValue::from_str(value).is_err() {
                return Err(SandboxError::InvalidConfig(format!(
                    "easpro.{name} has characters a header cannot carry"
                )));
            }
        }
        let codes: HashSet<&str> = catalogue.products.iter().map(|p| p.code.as_str()).collect();
        let mut products = HashMap::new();
        let mut mapped = HashSet::new();
        for (id, product_code) in &config.products {
            if id.trim().is_empty() {
                return Err(SandboxError::InvalidConfig(format!(
                    "easpro.products has an empty invProductId (for {product_code:?})"
                )));
            }
            if !codes.contains(product_code.as_str()) {
                tracing::debug!(inv_product_id = %id, code = %product_code, "EAS Pro product not in the catalogue: ignored");
                continue;
            }
            products.insert(id.clone(), product_code.clone());
            mapped.insert(product_code.as_str());
        }
        for p in &catalogue.products {
            if !mapped.contains(p.code.as_str()) {
                products
                    .entry(easpro_product_id(&p.code))
                    .or_insert_with(|| p.code.clone());
            }
        }
        Ok(Self {
            partner: config.partner.clone(),
            user_id: config.user_id.clone(),
            products,
        })
    }

    /// The id map (`{"product": {code: invProductId}}`) of a connector pointed at the
    /// imitation: one id per catalogue product (the smallest, when several name it).
    fn id_map(&self) -> Value {
        let mut ids: Vec<(&String, &String)> = self.products.iter().collect();
        ids.sort();
        let mut by_code: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, code) in ids {
            by_code.entry(code.as_str()).or_insert(id.as_str());
        }
        json!({ "product": by_code })
    }
}

/// The imitation, for [`posbridge_sandbox::Sandbox::start`].
pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Imitation::default())
}

/// EAS Pro as the sandbox imitates it (see [`imitation()`]).
#[derive(Debug, Default)]
pub struct Imitation {
    running: Option<Arc<Running>>,
}

/// What the handlers share once started.
#[derive(Debug)]
struct Running {
    app: App,
    settings: Settings,
}

impl VendorImitation for Imitation {
    fn name(&self) -> &'static str {
        VENDOR
    }

    fn routes(&self) -> &'static [&'static str] {
        ROUTES
    }

    fn start(&mut self, setup: &Setup<'_>) -> Result<(), SandboxError> {
        let config: ImitationConfig = setup.settings()?;
        self.running = Some(Arc::new(Running {
            app: setup.app.clone(),
            settings: Settings::resolve(&config, setup.catalogue)?,
        }));
        Ok(())
    }

    fn router(&self) -> Router<App> {
        match &self.running {
            Some(running) => router().with_state(running.clone()),
            None => Router::new(),
        }
    }

    /// The reference a request carries, for the log: a bill's `billReferenceId`, a
    /// payment's own `reference`.
    fn reference_of(&self, route: &str, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let body: Value = serde_json::from_slice(body).ok()?;
        let key = if route.trim_matches('/') == CREATE_PAYMENT {
            "reference"
        } else {
            "billReferenceId"
        };
        text(body.get("data")?.get(key)?)
    }

    fn connector_section(&self, vendor_url: &str) -> Value {
        match &self.running {
            Some(r) => json!({
                "base_url": vendor_url,
                "partner": r.settings.partner,
                "user_id": r.settings.user_id,
                "id_map": r.settings.id_map(),
            }),
            None => json!({
                "base_url": vendor_url,
                "partner": DEFAULT_PARTNER,
                "user_id": DEFAULT_USER_ID,
                "id_map": {"product": easpro_product_ids(&Catalogue::sample())},
            }),
        }
    }

    fn demo(&self) -> DemoProfile {
        DemoProfile {
            fault_writes: &[CREATE_TRANSACTION, CREATE_PAYMENT],
            ..DemoProfile::default()
        }
    }
}

fn router() -> Router<Arc<Running>> {
    Router::new()
        .route(&format!("/{CREATE_TRANSACTION}"), post(create_transaction))
        .route(&format!("/{CREATE_PAYMENT}"), post(create_payment))
}

async fn create_transaction(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    let settings = &me.settings;
    answer(
        authorise(settings, &headers)
            .and_then(|()| data(&body))
            .and_then(|data| upsert_bill(&mut me.app.lock(), settings, data)),
    )
}

async fn create_payment(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    answer(
        authorise(&me.settings, &headers)
            .and_then(|()| data(&body))
            .and_then(|data| upsert_payment(&mut me.app.lock(), data)),
    )
}

/// Why EAS Pro refuses a request: a non-zero code and a message.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    code: &'static str,
    message: String,
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure {
        code: code::INVALID,
        message: message.into(),
    }
}

/// The envelope, always with HTTP 200. `Ok(applied)` is a success.
fn answer(outcome: Result<bool, Failure>) -> Reply {
    let (result, status_code, message, applied) = match &outcome {
        Ok(applied) => ("Success", code::SUCCESS, SUCCESS_MESSAGE, *applied),
        Err(f) => ("Failed", f.code, f.message.as_str(), false),
    };
    Reply {
        status: StatusCode::OK,
        body: json!({
            "data": {"result": result, "demo": false},
            "response": {"date": now(), "status": {"code": status_code, "httpMessage": message}}
        }),
        applied,
    }
}

/// Both headers must be the configured ones.
fn authorise(settings: &Settings, headers: &HeaderMap) -> Result<(), Failure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header(PARTNER_HEADER) == Some(settings.partner.as_str())
        && header(USER_ID_HEADER) == Some(settings.user_id.as_str())
    {
        Ok(())
    } else {
        Err(Failure {
            code: code::AUTH,
            message: AUTH_MESSAGE.to_owned(),
        })
    }
}

/// The `data` object of the body.
fn data(body: &[u8]) -> Result<Map<String, Value>, Failure> {
    let body: Value =
        serde_json::from_slice(body).map_err(|_| invalid("Request body must be JSON: {\"data\": {...}}"))?;
    match body {
        Value::Object(mut o) => match o.remove("data") {
            Some(Value::Object(data)) => Ok(data),
            None | Some(Value::Null) => Err(invalid("data is required")),
            Some(_) => Err(invalid("data must be an object")),
        },
        _ => Err(invalid("Request body must be JSON: {\"data\": {...}}")),
    }
}

/// A required, non-blank text field (a JSON number is taken as its text).
fn required_text(fields: &Map<String, Value>, name: &str, label: &str) -> Result<String, Failure> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(invalid(format!("{label} is required"))),
        Some(v) => match text(v) {
            Some(t) if !t.trim().is_empty() => Ok(t),
            Some(_) => Err(invalid(format!("{label} must not be empty"))),
            None => Err(invalid(format!("{label} must be a string"))),
        },
    }
}

/// A required number: a JSON number, or a string holding one.
fn required_number(fields: &Map<String, Value>, name: &str, label: &str) -> Result<Decimal, Failure> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(invalid(format!("{label} is required"))),
        Some(v) => decimal(v).ok_or_else(|| invalid(format!("{label} must be a number"))),
    }
}

/// An optional number, zero when absent.
fn optional_number(fields: &Map<String, Value>, name: &str, label: &str) -> Result<Decimal, Failure> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(Decimal::ZERO),
        Some(_) => required_number(fields, name, label),
    }
}

fn not_negative(d: Decimal, label: &str) -> Result<Decimal, Failure> {
    if d.is_sign_negative() && !d.is_zero() {
        Err(invalid(format!("{label} must not be negative")))
    } else {
        Ok(d)
    }
}

fn positive(d: Decimal, label: &str) -> Result<Decimal, Failure> {
    if d > Decimal::ZERO {
        Ok(d)
    } else {
        Err(invalid(format!("{label} must be greater than 0")))
    }
}

/// One of `options`, exactly (case matters).
fn one_of(fields: &Map<String, Value>, name: &str, label: &str, options: &[&str]) -> Result<String, Failure> {
    let value = required_text(fields, name, label)?;
    if options.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(invalid(format!("{label} must be one of {}", options.join(", "))))
    }
}

/// A date as EAS Pro writes it: `YYYY-MM-DDTHH:MM`, a real day and time.
fn date_time(fields: &Map<String, Value>, name: &str) -> Result<(), Failure> {
    let value = match fields.get(name) {
        None | Some(Value::Null) => return Err(invalid(format!("{name} is required"))),
        Some(Value::String(s)) => s,
        Some(_) => return Err(invalid(format!("{name} format is invalid"))),
    };
    if is_minute_time(value) {
        Ok(())
    } else {
        Err(invalid(format!("{name} format is invalid")))
    }
}

fn is_minute_time(s: &str) -> bool {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return false;
    }
    let number = |range: std::ops::Range<usize>| s.get(range).and_then(|t| t.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute)) = (
        number(0..4),
        number(5..7),
        number(8..10),
        number(11..13),
        number(14..16),
    ) else {
        return false;
    };
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day) && hour < 24 && minute < 60
}

/// The current time in Malaysia, `YYYY/MM/DD HH:MM:SS`.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_add(MALAYSIA_OFFSET_SECS);
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}/{month:02}/{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A bill as it moves stock: catalogue code and quantity per product.
#[derive(Debug)]
struct Bill {
    reference: String,
    invoice: bool,
    lines: Vec<(String, Decimal)>,
}

/// A product entry, as read (before the business rules).
struct Entry {
    id: String,
    qty: Decimal,
    price: Decimal,
    discount: Decimal,
    percent: bool,
    sub_total: Decimal,
}

/// Validates a bill's `data`.
fn read_bill(settings: &Settings, data: &Map<String, Value>) -> Result<Bill, Failure> {
    // Fields, and their types.
    let reference = required_text(data, "billReferenceId", "billReferenceId")?;
    date_time(data, "transactionDate")?;
    let bill_type = one_of(data, "billType", "billType", &["INVOICE", "QUOTATION"])?;
    one_of(data, "billStatus", "billStatus", &["UNPAID", "PAID"])?;
    let value = required_number(data, "value", "value")?;
    let delivery = not_negative(optional_number(data, "delivery", "delivery")?, "delivery")?;
    match data.get("partner") {
        None | Some(Value::Null) => {}
        Some(Value::Object(partner)) => {
            required_text(partner, "type", "partner.type")?;
            required_text(partner, "name", "partner.name")?;
        }
        Some(_) => return Err(invalid("partner must be an object")),
    }
    let raw = match data.get("products") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(invalid("products must be a list")),
    };
    let mut entries = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let label = |f: &str| format!("products[{i}].{f}");
        let Some(p) = p.as_object() else {
            return Err(invalid(format!("products[{i}] must be an object")));
        };
        let id = required_text(p, "invProductId", &label("invProductId"))?;
        let qty = positive(
            required_number(p, "stockToCount", &label("stockToCount"))?,
            &label("stockToCount"),
        )?;
        let price = not_negative(
            required_number(p, "priceSellPerUnit", &label("priceSellPerUnit"))?,
            &label("priceSellPerUnit"),
        )?;
        let discount = not_negative(optional_number(p, "discount", &label("discount"))?, &label("discount"))?;
        let percent = match p.get("discountType") {
            None | Some(Value::Null) => false,
            Some(_) => one_of(p, "discountType", &label("discountType"), &["flat", "percent"])? == "percent",
        };
        if percent && discount > Decimal::ONE_HUNDRED {
            return Err(invalid(format!(
                "{} must be at most 100 for a percent discount",
                label("discount")
            )));
        }
        let sub_total = required_number(p, "subTotal", &label("subTotal"))?;
        entries.push(Entry {
            id,
            qty,
            price,
            discount,
            percent,
            sub_total,
        });
    }

    // The rules, in order.
    let too_large = || invalid("an amount is too large");
    let mut sum = Decimal::ZERO;
    let mut lines = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let Some(product_code) = settings.products.get(&e.id) else {
            return Err(Failure {
                code: code::PRODUCT_NOT_FOUND,
                message: PRODUCT_NOT_FOUND_MESSAGE.to_owned(),
            });
        };
        let gross = e.price.checked_mul(e.qty).ok_or_else(too_large)?;
        let net = if e.percent {
            let keep = Decimal::ONE_HUNDRED.checked_sub(e.discount).ok_or_else(too_large)?;
            gross
                .checked_mul(keep)
                .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                .ok_or_else(too_large)?
        } else {
            gross.checked_sub(e.discount).ok_or_else(too_large)?
        };
        if e.sub_total != round_money(net) {
            return Err(Failure {
                code: code::SUB_TOTAL_MISMATCH,
                message: format!("subTotal does not match for products[{i}] ({})", e.id),
            });
        }
        sum = sum.checked_add(e.sub_total).ok_or_else(too_large)?;
        lines.push((product_code.clone(), e.qty));
    }
    if value != sum.checked_add(delivery).ok_or_else(too_large)? {
        return Err(Failure {
            code: code::VALUE_MISMATCH,
            message: "value does not match the sum of subTotal and delivery".to_owned(),
        });
    }
    Ok(Bill {
        reference,
        invoice: bill_type == "INVOICE",
        lines,
    })
}

/// Validates a bill and stores it, replacing the previous version and its stock
/// movement. `Ok(applied)`.
fn upsert_bill(state: &mut SandboxState, settings: &Settings, data: Map<String, Value>) -> Result<bool, Failure> {
    let bill = read_bill(settings, &data)?;
    let document = Value::Object(data);
    let previous = state.document(VENDOR, DocKind::Sale, &bill.reference);
    if previous == Some(&document) {
        return Ok(false);
    }
    let mut deltas: Vec<(String, Decimal)> = Vec::new();
    if let Some(Value::Object(previous)) = previous {
        // The stored version passed these checks with these settings, so it reads.
        match read_bill(settings, previous) {
            Ok(old) if old.invoice => deltas.extend(old.lines),
            Ok(_) => {}
            Err(f) => tracing::error!(
                reference = %bill.reference,
                "the stored EAS Pro bill no longer reads ({}); its stock is not given back",
                f.message
            ),
        }
    }
    if bill.invoice {
        deltas.extend(bill.lines.iter().map(|(c, q)| (c.clone(), -*q)));
    }
    let deltas: Vec<(&str, Decimal)> = deltas.iter().map(|(c, q)| (c.as_str(), *q)).collect();
    state
        .adjust_stock(&deltas)
        .map_err(|e| invalid(format!("stock out of range ({})", e.0)))?;
    state.store_document(VENDOR, DocKind::Sale, &bill.reference, document);
    Ok(true)
}

/// Validates a payment and stores it under its `reference`. `Ok(applied)`.
fn upsert_payment(state: &mut SandboxState, data: Map<String, Value>) -> Result<bool, Failure> {
    positive(required_number(&data, "amount", "amount")?, "amount")?;
    date_time(&data, "paymentDate")?;
    let reference = required_text(&data, "reference", "reference")?;
    let bill = required_text(&data, "billReferenceId", "billReferenceId")?;
    one_of(
        &data,
        "transactionMethod",
        "transactionMethod",
        &["BANK_TRANSFER", "CHEQUE", "CASH"],
    )?;
    if !state.has_document(VENDOR, DocKind::Sale, &bill) {
        return Err(Failure {
            code: code::BILL_NOT_FOUND,
            message: BILL_NOT_FOUND_MESSAGE.to_owned(),
        });
    }
    let document = Value::Object(data);
    if state.payment(VENDOR, &reference) == Some(&document) {
        return Ok(false);
    }
    state.store_payment(VENDOR, &reference, document);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut config = ImitationConfig::for_catalogue(&Catalogue::sample());
        config.products.insert("AIRPOD".into(), "TEA-100".into());
        Settings::resolve(&config, &Catalogue::sample()).unwrap()
    }

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn bill(products: Value, value: Value) -> Map<String, Value> {
        object(json!({
            "billReferenceId": "B1", "transactionDate": "2026-11-26T10:15", "billType": "INVOICE",
            "billStatus": "UNPAID", "value": value, "products": products
        }))
    }

    fn failure(r: Result<Bill, Failure>) -> (&'static str, String) {
        match r {
            Ok(b) => panic!("accepted: {b:?}"),
            Err(f) => (f.code, f.message),
        }
    }

    #[test]
    fn derived_ids_are_stable_uuid_like_and_distinct() {
        // Pinned: a change would break every id map built from an earlier run.
        assert_eq!(easpro_product_id("TEA-100"), "4031d0fa-c14b-89b2-bc26-9f99b6f64403");
        let ids = easpro_product_ids(&Catalogue::sample());
        let distinct: HashSet<&String> = ids.values().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in ids.values() {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert_eq!(id.as_bytes()[14], b'8', "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{id}");
        }
    }

    #[test]
    fn settings_complete_the_map_and_refuse_empty_credentials() {
        let s = settings();
        assert_eq!(s.products.get("AIRPOD").map(String::as_str), Some("TEA-100"));
        // TEA-100 has a configured id, but the default map also names it: both work.
        assert_eq!(
            s.products.get(&easpro_product_id("TEA-100")).map(String::as_str),
            Some("TEA-100")
        );
        // Only AIRPOD for TEA-100: its derived id is not known; other products are.
        let mut config = ImitationConfig::for_catalogue(&Catalogue::sample());
        config.products = [("AIRPOD".to_owned(), "TEA-100".to_owned()), ("X".into(), "NOPE".into())].into();
        let s = Settings::resolve(&config, &Catalogue::sample()).unwrap();
        assert!(!s.products.contains_key(&easpro_product_id("TEA-100")));
        assert!(!s.products.contains_key("X"));
        assert_eq!(
            s.products.get(&easpro_product_id("MUG-1")).map(String::as_str),
            Some("MUG-1")
        );
        config.partner = " ".into();
        assert!(Settings::resolve(&config, &Catalogue::sample()).is_err());
        config.partner = "p\n".into();
        assert!(Settings::resolve(&config, &Catalogue::sample()).is_err());
    }

    #[test]
    fn dates() {
        for ok in ["2023-05-04T09:43", "2024-02-29T23:59", "2026-12-31T00:00"] {
            assert!(is_minute_time(ok), "{ok}");
        }
        for bad in [
            "2023-05-04 09:43",
            "2023-05-04T09:43:00",
            "2023-02-29T10:00",
            "2023-13-01T10:00",
            "2023-05-04T24:00",
            "2023-05-04T09:60",
            "0000-01-01T00:00",
            "2023-5-4T9:43",
            "２０２３-05-04T09:4",
        ] {
            assert!(!is_minute_time(bad), "{bad}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let n = now();
        assert_eq!(n.len(), 19, "{n}");
        assert_eq!((&n[4..5], &n[7..8], &n[10..11], &n[13..14]), ("/", "/", " ", ":"));
    }

    #[test]
    fn sub_totals_round_once_half_away_from_zero() {
        let s = settings();
        let products = json!([
            {"invProductId": "AIRPOD", "stockToCount": "3", "priceSellPerUnit": "3.335", "discount": "10", "discountType": "percent", "subTotal": 9.0},
            {"invProductId": easpro_product_id("CANDY-1"), "stockToCount": 7, "priceSellPerUnit": 0.145, "subTotal": "1.02"},
            {"invProductId": "AIRPOD", "stockToCount": "10", "priceSellPerUnit": "20", "discount": "20", "discountType": "flat", "subTotal": 180}
        ]);
        let b = read_bill(&s, &bill(products.clone(), json!(190.02))).unwrap();
        assert!(b.invoice);
        assert_eq!(b.lines.len(), 3);
        assert_eq!(b.lines[1], ("CANDY-1".to_owned(), Decimal::from(7)));

        let mut off = products.clone();
        off[0]["subTotal"] = json!("9.01");
        assert_eq!(
            failure(read_bill(&s, &bill(off, json!(190.03)))),
            ("2", "subTotal does not match for products[0] (AIRPOD)".to_owned())
        );
        assert_eq!(
            failure(read_bill(&s, &bill(products, json!(190.03)))),
            ("3", "value does not match the sum of subTotal and delivery".to_owned())
        );
    }

    #[test]
    fn rules_in_order() {
        let s = settings();
        // An unknown product is found before a later subTotal is checked …
        let products = json!([
            {"invProductId": "NOPE", "stockToCount": "1", "priceSellPerUnit": "1", "subTotal": 5},
            {"invProductId": "AIRPOD", "stockToCount": "1", "priceSellPerUnit": "1", "subTotal": 5}
        ]);
        assert_eq!(failure(read_bill(&s, &bill(products, json!(0)))).0, "1");
        // … but a malformed field anywhere comes first.
        let products = json!([
            {"invProductId": "NOPE", "stockToCount": "1", "priceSellPerUnit": "1", "subTotal": 1},
            {"invProductId": "AIRPOD", "stockToCount": "0", "priceSellPerUnit": "1", "subTotal": 0}
        ]);
        assert_eq!(
            failure(read_bill(&s, &bill(products, json!(1)))),
            ("500", "products[1].stockToCount must be greater than 0".to_owned())
        );
        let huge = json!([{"invProductId": "AIRPOD", "stockToCount": "79228162514264337593543950335", "priceSellPerUnit": "79228162514264337593543950335", "subTotal": 1}]);
        assert_eq!(
            failure(read_bill(&s, &bill(huge, json!(1)))),
            ("500", "an amount is too large".to_owned())
        );
        // No products at all is a bill of its delivery.
        let mut b = bill(json!(null), json!("5.00"));
        b.insert("delivery".into(), json!(5));
        assert!(read_bill(&s, &b).unwrap().lines.is_empty());
    }

    #[test]
    fn an_identical_push_is_not_applied_and_a_changed_one_moves_the_difference() {
        let s = settings();
        let mut state = SandboxState::new(Catalogue::sample(), 1, Vec::new());
        let products = json!([{"invProductId": "AIRPOD", "stockToCount": "2", "priceSellPerUnit": "1", "subTotal": 2}]);
        assert_eq!(upsert_bill(&mut state, &s, bill(products.clone(), json!(2))), Ok(true));
        assert_eq!(upsert_bill(&mut state, &s, bill(products, json!(2))), Ok(false));
        assert_eq!(state.product("TEA-100").map(|p| p.stock), Some(Decimal::from(116)));
        let products = json!([{"invProductId": "AIRPOD", "stockToCount": "5", "priceSellPerUnit": "1", "subTotal": 5}]);
        assert_eq!(upsert_bill(&mut state, &s, bill(products.clone(), json!(5))), Ok(true));
        assert_eq!(state.product("TEA-100").map(|p| p.stock), Some(Decimal::from(113)));
        let mut quotation = bill(products, json!(5));
        quotation.insert("billType".into(), json!("QUOTATION"));
        assert_eq!(upsert_bill(&mut state, &s, quotation), Ok(true));
        assert_eq!(state.product("TEA-100").map(|p| p.stock), Some(Decimal::from(118)));
    }
}
