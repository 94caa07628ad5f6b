//! The sandbox's imitation of Asalta (feature `sandbox`), as `docs/vendors/asalta.md`
//! ("What the sandbox module must imitate") and Asalta's developer console document
//! decide: [`imitation()`] for [`posbridge_sandbox::Sandbox::start`]. An independent
//! implementation of the vendor side: it shares this crate but none of the connector's
//! code (no `wire.rs`, `map.rs`, auth or client), so each checks the other
//! (`tests/sandbox_fixtures.rs`).
//!
//! Routes (under `/asalta/`):
//!
//! | route | does |
//! |---|---|
//! | `GET auth?response_type=code&client_id&redirect_uri&state` | 302 to `redirect_uri?code=…&state=…`; 400 for an unknown client or another redirect |
//! | `POST auth/token` (form or JSON) | `authorization_code` (single use, lives `code_lifetime_secs`) or `refresh_token` → `{access_token, refresh_token, expires_in, token_type}` |
//! | `GET pos/warehouses`, `customer_groups`, `categories`, `subcategories` (`?parent_category_id=` filters), `taxrates`, `taxlineitems?tax_rate_id=` | `_meta` lists |
//! | `GET pos/loyalty?customer_id=` | an empty `_metadata` list (no loyalty is kept) |
//! | `GET pos/promotions?warehouse_id=` | a `_metadata` list of one promotion (`?id=10` reads it) |
//! | `GET pos/billers`, `customers`, `items`, `invoices`, `payments?sale_id`, `return_invoices?sale_id`, `return_orders?sale_id` | `_metadata` lists |
//! | `GET pos/orders` | `_meta` list; `GET pos/payment_methods`: `_metadata` with `perPage`/`pageCount`/`totalCount` |
//! | `GET pos/<list>?id=` | the bare record; 404 when unknown |
//! | `POST pos/customers` | creates, or updates with `id` |
//! | `POST pos/invoices`, `pos/orders` | books a sale, lowers stock in its warehouse |
//! | `GET pos/void_order?id=` | voids an order, gives back the stock not yet returned, once; 400 "Order already void" on a repeat; 404 for an id that is no order |
//! | `POST pos/payments`, `DELETE pos/payments?id=` | books (at most what is due, on an invoice or order that is not void; 400 "Sale not exist" else) or removes a payment (404 when unknown) |
//! | `POST pos/return_invoices`, `pos/return_orders` | books a return of the sale `sale_id` names (an invoice, an order; 400 "Sale not exist" else, "Sale is void" for a void one), raises stock once per unit returned, refuses (400) more than the sale sold less earlier returns; the answer carries Asalta's `returned` refund payment of the return's total |
//! | `GET pos/giftcards?card_no=` | the sale that sold the card |
//! | `POST report/sales`, `report/invoices`, `report/payroll`, `report/claims`, `report/rosterschedule` | reports |
//!
//! Every `pos/` and `report/` route needs `Authorization: Bearer <access token>`,
//! live; else 401 `{"message": "Unauthorized -- Your API key is wrong", "error": true}`.
//! Errors are `{"message": …, "error": true}` with Asalta's numbered messages.
//!
//! Without the browser step: [`mint_token`] / [`mint_tokens`] on a handle. Its admin
//! route (`/_sandbox/asalta/…`, [`expire_tokens`] on a handle): `POST expire-tokens`
//! expires every access token issued so far (refresh tokens still work).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use posbridge_core::Decimal;
use posbridge_core::money::round_money;
use posbridge_sandbox::body::{decimal, decode, text};
use posbridge_sandbox::{
    App, AppliedReferences, Catalogue, DemoProfile, DocKind, Locked, Reply, SandboxError, SandboxHandle, Setup,
    VendorImitation, json_message,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::VENDOR;

/// The OAuth2 client id the imitation accepts by default.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-asalta-client";

/// The OAuth2 client secret the imitation accepts by default.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-asalta-secret";

/// The redirect URI registered for the imitation's client by default (where
/// `GET /asalta/auth` sends the browser back with the code).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// The imitation's settings, its section of the sandbox's config (`"asalta": {…}`):
/// the one OAuth2 client it knows, how long codes
/// and tokens live, the page size of lists, its warehouses and its biller.
///
/// Every catalogue product is an Asalta `standard` item, numbered from 1001 in
/// catalogue order ([`asalta_item_ids`]), at the catalogue price, without tax. Its
/// stock in the **first** warehouse is the shared catalogue stock (what every
/// vendor's sales lower); the other warehouses start empty and hold their own stock
/// (raised by returns to them). The customer `1` "Walk-in Customer" is seeded.
///
/// ```
/// use posbridge_asalta::sandbox::ImitationConfig;
///
/// let config = ImitationConfig::default();
/// assert_eq!((config.code_lifetime_secs, config.token_lifetime_secs, config.page_size), (30, 3600, 20));
/// assert_eq!(config.warehouses[0].code, "ADL");
/// let short: ImitationConfig = serde_json::from_str(r#"{"code_lifetime_secs": 1, "page_size": 1000}"#)?;
/// assert_eq!(short.client_id, "sandbox-asalta-client");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImitationConfig {
    /// The only OAuth2 client id accepted; default [`DEFAULT_CLIENT_ID`].
    pub client_id: String,
    /// Its secret; default [`DEFAULT_CLIENT_SECRET`].
    pub client_secret: String,
    /// Its registered redirect URI (absolute); default [`DEFAULT_REDIRECT_URI`].
    pub redirect_uri: String,
    /// How long an authorization code lives, in seconds; default 30 (Asalta's
    /// document). At least 1.
    pub code_lifetime_secs: u64,
    /// How long an access token lives, in seconds (the token answer's `expires_in`);
    /// default 3600. At least 1.
    pub token_lifetime_secs: u64,
    /// Records per page of a list; default 20 (the document's `perPage`). At least 1.
    /// Clients cannot choose it.
    pub page_size: usize,
    /// The warehouses; the first holds the shared catalogue stock. Default: 2 `ADL`
    /// "Adelphi" (the main outlet) and 3 `STORE` "Store room". At least one; distinct
    /// ids.
    pub warehouses: Vec<Warehouse>,
    /// The one biller; default 35 "Sandbox Biller".
    pub biller: Biller,
}

/// A warehouse of the imitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warehouse {
    /// Its id.
    pub id: u64,
    /// Its code (what a POS calls its location).
    pub code: String,
    /// Its name.
    pub name: String,
}

/// The imitation's biller (the selling entity sales are issued by).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Biller {
    /// Its id.
    pub id: u64,
    /// Its name (billers have no code).
    pub name: String,
}

impl Default for Biller {
    fn default() -> Self {
        Self {
            id: 35,
            name: "Sandbox Biller".to_owned(),
        }
    }
}

impl Default for ImitationConfig {
    fn default() -> Self {
        Self {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            redirect_uri: DEFAULT_REDIRECT_URI.to_owned(),
            code_lifetime_secs: 30,
            token_lifetime_secs: 3600,
            page_size: 20,
            warehouses: vec![
                Warehouse {
                    id: 2,
                    code: "ADL".to_owned(),
                    name: "Adelphi".to_owned(),
                },
                Warehouse {
                    id: 3,
                    code: "STORE".to_owned(),
                    name: "Store room".to_owned(),
                },
            ],
            biller: Biller::default(),
        }
    }
}

/// The shared state and Asalta's ledger, locked together.
type SandboxState<'a> = Locked<'a, Ledger>;

const AUTH: &str = "auth";
const TOKEN: &str = "auth/token";
const CATEGORIES: &str = "pos/categories";
const SUBCATEGORIES: &str = "pos/subcategories";
const LOYALTY: &str = "pos/loyalty";
const PROMOTIONS: &str = "pos/promotions";
const TAX_LINE_ITEMS: &str = "pos/taxlineitems";
const WAREHOUSES: &str = "pos/warehouses";
const CUSTOMER_GROUPS: &str = "pos/customer_groups";
const BILLERS: &str = "pos/billers";
const CUSTOMERS: &str = "pos/customers";
const ITEMS: &str = "pos/items";
const TAX_RATES: &str = "pos/taxrates";
const INVOICES: &str = "pos/invoices";
const PAYMENT_METHODS: &str = "pos/payment_methods";
const PAYMENTS: &str = "pos/payments";
const RETURN_INVOICES: &str = "pos/return_invoices";
const ORDERS: &str = "pos/orders";
const RETURN_ORDERS: &str = "pos/return_orders";
const VOID_ORDER: &str = "pos/void_order";
const GIFT_CARDS: &str = "pos/giftcards";
const REPORT_SALES: &str = "report/sales";
const REPORT_INVOICES: &str = "report/invoices";
const REPORT_PAYROLL: &str = "report/payroll";
const REPORT_CLAIMS: &str = "report/claims";
const REPORT_ROSTER: &str = "report/rosterschedule";

/// Its routes, after the prefix.
const ROUTES: &[&str] = &[
    AUTH,
    TOKEN,
    CATEGORIES,
    SUBCATEGORIES,
    LOYALTY,
    PROMOTIONS,
    TAX_LINE_ITEMS,
    WAREHOUSES,
    CUSTOMER_GROUPS,
    BILLERS,
    CUSTOMERS,
    ITEMS,
    TAX_RATES,
    INVOICES,
    PAYMENT_METHODS,
    PAYMENTS,
    RETURN_INVOICES,
    ORDERS,
    RETURN_ORDERS,
    VOID_ORDER,
    GIFT_CARDS,
    REPORT_SALES,
    REPORT_INVOICES,
    REPORT_PAYROLL,
    REPORT_CLAIMS,
    REPORT_ROSTER,
];

/// The first catalogue item's id: the catalogue's items are 1001, 1002, …
const FIRST_ITEM_ID: u64 = 1001;
/// The first invoice id (the document's sample invoice is 880).
const FIRST_INVOICE_ID: u64 = 880;
/// The first order id (the document's sample orders are 53 and 54).
const FIRST_ORDER_ID: u64 = 53;
/// The first id of a customer created through the API (the document's sample).
const FIRST_CUSTOMER_ID: u64 = 7199;
/// The walk-in customer's id (as in the document's samples).
const WALK_IN_CUSTOMER_ID: u64 = 1;
/// The first payment id.
const FIRST_PAYMENT_ID: u64 = 901;
/// The first return id.
const FIRST_RETURN_ID: u64 = 301;
/// The first gift card id.
const FIRST_GIFT_CARD_ID: u64 = 112;

const UNAUTHORIZED: &str = "Unauthorized -- Your API key is wrong";
const BAD_DATE: &str = "Please provide valid date format.";
const BAD_PAGE: &str = "Please provide valid page.";
const PAID_TOO_MUCH: &str = "Your paid amount must be less than or equal to sales amount.";

/// Every catalogue product's Asalta item id, by code: `1001` for the first product,
/// `1002` for the second, … in catalogue order.
pub fn asalta_item_ids(catalogue: &Catalogue) -> BTreeMap<String, u64> {
    catalogue
        .products
        .iter()
        .zip(FIRST_ITEM_ID..)
        .map(|(p, id)| (p.code.clone(), id))
        .collect()
}

/// The settings in force, checked.
#[derive(Debug, Clone)]
struct Settings {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    code_lifetime: Duration,
    token_lifetime: Duration,
    token_lifetime_secs: u64,
    page_size: usize,
    /// `(id, code, name)`; the first holds the shared catalogue stock.
    warehouses: Vec<(u64, String, String)>,
    biller: (u64, String),
}

impl Settings {
    /// Checks `config`: non-blank client, a redirect URI that parses, lifetimes and a
    /// page size of at least 1, at least one warehouse, distinct warehouse ids.
    fn resolve(config: &ImitationConfig) -> Result<Self, SandboxError> {
        let bad = |m: &str| Err(SandboxError::InvalidConfig(format!("asalta: {m}")));
        if config.client_id.trim().is_empty() || config.client_secret.trim().is_empty() {
            return bad("client_id and client_secret must not be empty");
        }
        if url::Url::parse(&config.redirect_uri).is_err() {
            return bad("redirect_uri is not an absolute URL");
        }
        if config.code_lifetime_secs == 0 || config.token_lifetime_secs == 0 {
            return bad("code_lifetime_secs and token_lifetime_secs must be at least 1");
        }
        if config.page_size == 0 {
            return bad("page_size must be at least 1");
        }
        if config.warehouses.is_empty() {
            return bad("at least one warehouse is needed");
        }
        let ids: HashSet<u64> = config.warehouses.iter().map(|w| w.id).collect();
        if ids.len() != config.warehouses.len() {
            return bad("warehouse ids must be distinct");
        }
        if config.biller.name.trim().is_empty() {
            return bad("the biller needs a name");
        }
        Ok(Self {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uri: config.redirect_uri.clone(),
            code_lifetime: Duration::from_secs(config.code_lifetime_secs),
            token_lifetime: Duration::from_secs(config.token_lifetime_secs),
            token_lifetime_secs: config.token_lifetime_secs,
            page_size: config.page_size,
            warehouses: config
                .warehouses
                .iter()
                .map(|w| (w.id, w.code.clone(), w.name.clone()))
                .collect(),
            biller: (config.biller.id, config.biller.name.clone()),
        })
    }

    /// How long an access token lives.
    fn token_lifetime(&self) -> Duration {
        self.token_lifetime
    }

    fn main_warehouse(&self) -> u64 {
        self.warehouses.first().map_or(0, |w| w.0)
    }

    fn warehouse(&self, id: u64) -> Option<&(u64, String, String)> {
        self.warehouses.iter().find(|w| w.0 == id)
    }
}

/// Invoice or order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invoice,
    Order,
}

/// One line as booked.
#[derive(Debug, Clone)]
struct Line {
    /// The catalogue index; `None` for a gift card line.
    product: Option<usize>,
    quantity: Decimal,
    record: Value,
}

/// A booked invoice or order.
#[derive(Debug, Clone)]
struct SaleRec {
    date: String,
    reference_no: String,
    customer_id: u64,
    warehouse_id: u64,
    lines: Vec<Line>,
    grand_total: Decimal,
    total: Decimal,
    order_discount: Decimal,
    shipping: Decimal,
    note: String,
    staff_note: String,
    void: bool,
    /// Quantities returned so far, by catalogue index.
    returned: HashMap<usize, Decimal>,
}

/// A payment.
#[derive(Debug, Clone)]
struct PayRec {
    sale_id: u64,
    amount: Decimal,
    record: Value,
}

/// A return.
#[derive(Debug, Clone)]
struct ReturnRec {
    kind: Kind,
    sale_id: u64,
    record: Value,
}

/// A gift card sold on an invoice line.
#[derive(Debug, Clone)]
struct GiftCard {
    kind: Kind,
    sale_id: u64,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
struct Code {
    redirect_uri: String,
    expires: Option<Instant>,
}

/// Asalta's state beyond the catalogue: codes and tokens, customers, stock outside
/// the main warehouse, sales, payments, returns and gift cards.
#[derive(Debug)]
struct Ledger {
    seed: u64,
    rng: StdRng,
    codes: HashMap<String, Code>,
    access: HashMap<String, Option<Instant>>,
    refresh: HashSet<String>,
    customers: BTreeMap<u64, Map<String, Value>>,
    next_customer: u64,
    /// Stock outside the main warehouse, by (catalogue index, warehouse id).
    side_stock: HashMap<(usize, u64), Decimal>,
    invoices: BTreeMap<u64, SaleRec>,
    orders: BTreeMap<u64, SaleRec>,
    payments: BTreeMap<u64, PayRec>,
    returns: BTreeMap<u64, ReturnRec>,
    gift_cards: BTreeMap<String, GiftCard>,
    next_invoice: u64,
    next_order: u64,
    next_payment: u64,
    next_return: u64,
    next_gift_card: u64,
}

impl Ledger {
    /// A ledger with the walk-in customer only.
    fn new(seed: u64) -> Self {
        let mut l = Self {
            seed,
            rng: StdRng::seed_from_u64(seed ^ 0xa5a1_7a00),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashSet::new(),
            customers: BTreeMap::new(),
            next_customer: FIRST_CUSTOMER_ID,
            side_stock: HashMap::new(),
            invoices: BTreeMap::new(),
            orders: BTreeMap::new(),
            payments: BTreeMap::new(),
            returns: BTreeMap::new(),
            gift_cards: BTreeMap::new(),
            next_invoice: FIRST_INVOICE_ID,
            next_order: FIRST_ORDER_ID,
            next_payment: FIRST_PAYMENT_ID,
            next_return: FIRST_RETURN_ID,
            next_gift_card: FIRST_GIFT_CARD_ID,
        };
        l.reset();
        l
    }

    /// Back to the start: no codes or tokens, the walk-in customer only, nothing booked.
    fn reset(&mut self) {
        *self = Self {
            seed: self.seed,
            rng: StdRng::seed_from_u64(self.seed ^ 0xa5a1_7a00),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashSet::new(),
            customers: BTreeMap::new(),
            next_customer: FIRST_CUSTOMER_ID,
            side_stock: HashMap::new(),
            invoices: BTreeMap::new(),
            orders: BTreeMap::new(),
            payments: BTreeMap::new(),
            returns: BTreeMap::new(),
            gift_cards: BTreeMap::new(),
            next_invoice: FIRST_INVOICE_ID,
            next_order: FIRST_ORDER_ID,
            next_payment: FIRST_PAYMENT_ID,
            next_return: FIRST_RETURN_ID,
            next_gift_card: FIRST_GIFT_CARD_ID,
        };
        let mut walk_in = Map::new();
        walk_in.insert("name".into(), json!("Walk-in Customer"));
        self.customers
            .insert(WALK_IN_CUSTOMER_ID, customer_record(WALK_IN_CUSTOMER_ID, &walk_in));
    }

    fn random(&mut self, prefix: &str) -> String {
        let n: u128 = self.rng.random();
        format!("{prefix}{n:032x}")
    }

    /// Issues an access token (and its refresh token) living `lifetime`.
    fn issue(&mut self, lifetime: Duration) -> (String, String) {
        let access = self.random("asa-at-");
        let refresh = self.random("asa-rt-");
        self.access.insert(access.clone(), Instant::now().checked_add(lifetime));
        self.refresh.insert(refresh.clone());
        (access, refresh)
    }

    /// Expires every access token issued so far; refresh tokens still work.
    fn expire_tokens(&mut self, now: Instant) {
        for expiry in self.access.values_mut() {
            *expiry = Some(now);
        }
    }

    fn access_ok(&self, token: &str, now: Instant) -> bool {
        self.access.get(token).is_some_and(|e| e.is_none_or(|at| now < at))
    }
}

/// The imitation, for [`posbridge_sandbox::Sandbox::start`].
pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Imitation::default())
}

/// An Asalta access token, live for `token_lifetime_secs`, issued by `sandbox` without
/// the browser step of the code flow (for demos and tests: a connector's
/// `access_token`); `None` when the sandbox does not imitate Asalta.
pub fn mint_token(sandbox: &SandboxHandle) -> Option<String> {
    mint_tokens(sandbox).map(|(access, _)| access)
}

/// An Asalta access token and its refresh token, issued by `sandbox` without the
/// browser step (for tests of token renewal: the refresh token works at
/// `POST /asalta/auth/token`); `None` when the sandbox does not imitate Asalta.
pub fn mint_tokens(sandbox: &SandboxHandle) -> Option<(String, String)> {
    running(sandbox).map(|r| r.mint())
}

/// Expires every Asalta access token `sandbox` issued so far, as if its lifetime had
/// passed, as `POST /_sandbox/asalta/expire-tokens` does: the next call with one is
/// refused (401), while its refresh token still works. `false` when the sandbox does
/// not imitate Asalta.
pub fn expire_tokens(sandbox: &SandboxHandle) -> bool {
    running(sandbox).is_some_and(|r| {
        r.lock().ledger.expire_tokens(Instant::now());
        true
    })
}

fn running(sandbox: &SandboxHandle) -> Option<&Arc<Running>> {
    sandbox.imitation::<Imitation>()?.running.as_ref()
}

/// Asalta as the sandbox imitates it (see [`imitation()`]).
#[derive(Debug, Default)]
pub struct Imitation {
    running: Option<Arc<Running>>,
}

/// What the handlers share once started.
#[derive(Debug)]
struct Running {
    app: App,
    settings: Settings,
    ledger: Mutex<Ledger>,
}

impl Running {
    /// The shared state and the ledger, locked.
    fn lock(&self) -> SandboxState<'_> {
        self.app.lock_with(&self.ledger)
    }

    /// A new access token and its refresh token.
    fn mint(&self) -> (String, String) {
        let lifetime = self.settings.token_lifetime();
        self.lock().ledger.issue(lifetime)
    }
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
            settings: Settings::resolve(&config)?,
            ledger: Mutex::new(Ledger::new(setup.seed)),
        }));
        Ok(())
    }

    fn router(&self) -> Router<App> {
        match &self.running {
            Some(running) => router().with_state(running.clone()),
            None => Router::new(),
        }
    }

    fn admin_router(&self) -> Router<App> {
        match &self.running {
            Some(running) => Router::new()
                .route("/expire-tokens", post(admin_expire_tokens))
                .with_state(running.clone()),
            None => Router::new(),
        }
    }

    /// The reference a request carries, for the log: the POS reference the connector
    /// writes into a sale's `staff_note` (`POS reference INV-1`) or a return's `note`,
    /// else a payment's `reference_no`.
    fn reference_of(&self, route: &str, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        let route = route.trim_matches('/');
        if route == RETURN_INVOICES || route == RETURN_ORDERS {
            // The connector writes a return's POS reference into its `note`
            // (`POS reference R-1: reason`).
            let body: Value = serde_json::from_slice(body).ok()?;
            let note = body.get("note").and_then(text)?;
            let rest = note.strip_prefix("POS reference ")?;
            let r = rest.split(": ").next().unwrap_or(rest).trim();
            return (!r.is_empty()).then(|| r.to_owned());
        }
        if route != INVOICES && route != ORDERS && route != PAYMENTS {
            return None;
        }
        let body: Value = serde_json::from_slice(body).ok()?;
        if let Some(note) = body.get("staff_note").and_then(text)
            && let Some(r) = note.strip_prefix("POS reference ")
        {
            return Some(r.trim().to_owned());
        }
        body.get("reference_no").and_then(text).filter(|r| !r.is_empty())
    }

    /// Back to the start: no codes or tokens, the walk-in customer only, nothing
    /// booked.
    fn reset(&self) {
        if let Some(r) = &self.running {
            r.ledger
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .reset();
        }
    }

    /// A connector with the imitation's client, an access token minted without the
    /// browser step, its biller and its first warehouse, and the walk-in customer.
    fn connector_section(&self, vendor_url: &str) -> Value {
        let Some(r) = &self.running else {
            return json!({
                "base_url": vendor_url,
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "redirect_uri": DEFAULT_REDIRECT_URI,
            });
        };
        let s = &r.settings;
        let (access, _) = r.mint();
        json!({
            "base_url": vendor_url,
            "client_id": s.client_id,
            "client_secret": s.client_secret,
            "redirect_uri": s.redirect_uri,
            "access_token": access,
            "biller": s.biller.1,
            "warehouse": s.warehouses.first().map(|w| w.1.clone()).unwrap_or_default(),
            "walk_in_customer_id": WALK_IN_CUSTOMER_ID,
        })
    }

    fn demo(&self) -> DemoProfile {
        DemoProfile {
            // Not its invoices: an uncertain Asalta push cannot be settled (a repeat is
            // not recognisable), so the books could not be checked to the unit.
            fault_reads: &[ITEMS],
            // No customer code to find a POS customer by: the day is served at the
            // counter (walk-in).
            named_customers: false,
            // Asalta voids orders, not invoices: the demo books an order to void.
            voids_only: Some(posbridge_core::SaleKind::Order),
            ..DemoProfile::default()
        }
    }
}

async fn admin_expire_tokens(State(me): State<Arc<Running>>) -> Response {
    me.lock().ledger.expire_tokens(Instant::now());
    json_message(StatusCode::OK, "Asalta access tokens expired")
}

fn router() -> Router<Arc<Running>> {
    Router::new()
        .route(&format!("/{AUTH}"), get(authorize))
        .route(&format!("/{TOKEN}"), post(token))
        .route(&format!("/{CATEGORIES}"), get(categories))
        .route(&format!("/{SUBCATEGORIES}"), get(subcategories))
        .route(&format!("/{LOYALTY}"), get(loyalty))
        .route(&format!("/{PROMOTIONS}"), get(promotions))
        .route(&format!("/{TAX_LINE_ITEMS}"), get(tax_line_items))
        .route(&format!("/{WAREHOUSES}"), get(warehouses))
        .route(&format!("/{CUSTOMER_GROUPS}"), get(customer_groups))
        .route(&format!("/{BILLERS}"), get(billers))
        .route(&format!("/{CUSTOMERS}"), get(customers).post(save_customer))
        .route(&format!("/{ITEMS}"), get(items))
        .route(&format!("/{TAX_RATES}"), get(tax_rates))
        .route(&format!("/{PAYMENT_METHODS}"), get(payment_methods))
        .route(&format!("/{INVOICES}"), get(invoices).post(add_invoice))
        .route(&format!("/{ORDERS}"), get(orders).post(add_order))
        .route(&format!("/{VOID_ORDER}"), get(void_order))
        .route(
            &format!("/{PAYMENTS}"),
            get(payments).post(add_payment).delete(delete_payment),
        )
        .route(
            &format!("/{RETURN_INVOICES}"),
            get(return_invoices).post(add_return_invoice),
        )
        .route(&format!("/{RETURN_ORDERS}"), get(return_orders).post(add_return_order))
        .route(&format!("/{GIFT_CARDS}"), get(gift_card))
        .route(&format!("/{REPORT_SALES}"), post(report_sales))
        .route(&format!("/{REPORT_INVOICES}"), post(report_invoices))
        .route(&format!("/{REPORT_PAYROLL}"), post(report_payroll))
        .route(&format!("/{REPORT_CLAIMS}"), post(report_claims))
        .route(&format!("/{REPORT_ROSTER}"), post(report_roster))
}

// ---- answers -------------------------------------------------------------------------

fn ok(body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        body,
        applied: false,
    }
}

/// `{"message", "error": true}` with `status`.
fn error(status: StatusCode, message: impl Into<String>) -> Reply {
    Reply {
        status,
        body: json!({"message": message.into(), "error": true}),
        applied: false,
    }
}

fn mandatory(field: &str) -> Reply {
    error(StatusCode::BAD_REQUEST, format!("Field {field} is Mandatory."))
}

fn not_found() -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "Not Found -- The specified record could not be found.",
    )
}

/// `{"message": "Success", "data": …, "error": false}`, applied, logging `references`.
fn success(data: Value, references: Vec<String>) -> Response {
    let mut r = Reply {
        status: StatusCode::OK,
        body: json!({"message": "Success", "data": data, "error": false}),
        applied: true,
    }
    .into_response();
    r.extensions_mut().insert(AppliedReferences(references));
    r
}

/// An OAuth2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// An amount as Asalta writes it: a string with 4 decimals (`"100.0000"`).
fn money(d: Decimal) -> Value {
    let mut d = d;
    d.rescale(4);
    Value::String(d.to_string())
}

fn query(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks the Bearer token.
fn authorised(state: &SandboxState<'_>, headers: &HeaderMap) -> Result<(), Reply> {
    if bearer(headers).is_some_and(|t| state.ledger.access_ok(t, Instant::now())) {
        Ok(())
    } else {
        Err(error(StatusCode::UNAUTHORIZED, UNAUTHORIZED))
    }
}

fn parse_id(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

/// A whole-number id from a JSON number or string.
fn id_of(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_id(s),
        _ => None,
    }
}

/// Whether a JSON value is missing or blank.
fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
        _ => false,
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` with plausible fields.
fn valid_date(s: &str) -> bool {
    let s = s.trim();
    let (day, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let nums = |part: &str, sep: char, lens: &[usize]| -> Option<Vec<u32>> {
        let fields: Vec<&str> = part.split(sep).collect();
        if fields.len() != lens.len() {
            return None;
        }
        fields
            .iter()
            .zip(lens)
            .map(|(f, l)| {
                (f.len() == *l && f.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| f.parse().ok())
                    .flatten()
            })
            .collect()
    };
    let Some(d) = nums(day, '-', &[4, 2, 2]) else {
        return false;
    };
    let date_ok = matches!(d.as_slice(), [_, m, dd] if (1..=12).contains(m) && (1..=31).contains(dd));
    let time_ok = match time {
        None => true,
        Some(t) => {
            nums(t, ':', &[2, 2, 2]).is_some_and(|t| matches!(t.as_slice(), [h, m, s] if *h < 24 && *m < 60 && *s < 60))
        }
    };
    date_ok && time_ok
}

/// `?page=` (from 1): `Err` for one that is not a whole number from 1.
fn page_of(q: &HashMap<String, String>) -> Result<usize, Reply> {
    match q.get("page") {
        None => Ok(1),
        Some(p) => p
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, BAD_PAGE)),
    }
}

/// Which metadata a list carries.
#[derive(Debug, Clone, Copy)]
enum Meta {
    /// `_meta`: `totalCount`, `pageCount`, `currentPage`, `perPage`.
    Short,
    /// `_metadata`: `currentPage`, `nextPage` (null on the last), `pageSize`,
    /// `totalRecord`.
    Metadata,
    /// `_metadata` with `_meta`'s fields (payment methods).
    MetadataCounts,
}

/// The page `page` (from 1) of a list of `total` entries, built by `entry` from each
/// index on the page only (a 100,000-item list builds 20 entries per page).
fn paged(total: usize, page: usize, per: usize, meta: Meta, entry: impl Fn(usize) -> Value) -> Value {
    let pages = total.div_ceil(per);
    let start = page.saturating_sub(1).saturating_mul(per);
    let data: Vec<Value> = (start..total.min(start.saturating_add(per))).map(entry).collect();
    match meta {
        Meta::Short => json!({"data": data, "_meta": {"totalCount": total, "pageCount": pages,
                                                     "currentPage": page, "perPage": per}}),
        Meta::Metadata => {
            let next = (page < pages).then(|| page.saturating_add(1));
            json!({"data": data, "_metadata": {"currentPage": page, "nextPage": next,
                                               "pageSize": per, "totalRecord": total}})
        }
        Meta::MetadataCounts => json!({"data": data, "_metadata": {"totalCount": total, "pageCount": pages,
                                                                   "currentPage": page, "perPage": per}}),
    }
}

/// A list of ready records: `?id=` gives one (404 when unknown), else `?page=`.
fn list_or_one(q: &HashMap<String, String>, records: Vec<(u64, Value)>, per: usize, meta: Meta) -> Reply {
    if let Some(id) = q.get("id") {
        let Some(id) = parse_id(id) else {
            return not_found();
        };
        return records
            .into_iter()
            .find(|(i, _)| *i == id)
            .map_or_else(not_found, |(_, v)| ok(v));
    }
    let page = match page_of(q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    ok(paged(records.len(), page, per, meta, |i| {
        records.get(i).map(|(_, v)| v.clone()).unwrap_or(Value::Null)
    }))
}

/// Runs `f` on the locked state after the bearer check, with the query.
fn guarded(me: &Running, headers: &HeaderMap, f: impl FnOnce(&mut SandboxState<'_>) -> Reply) -> Reply {
    let mut state = me.lock();
    if let Err(r) = authorised(&state, headers) {
        return r;
    }
    f(&mut state)
}

// ---- OAuth2 --------------------------------------------------------------------------

async fn authorize(State(me): State<Arc<Running>>, RawQuery(raw): RawQuery) -> Response {
    let settings = &me.settings;
    let q = query(raw.as_deref());
    if q.get("response_type").map(String::as_str) != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    if q.get("client_id") != Some(&settings.client_id) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "Unknown client");
    }
    let redirect = q
        .get("redirect_uri")
        .cloned()
        .unwrap_or_else(|| settings.redirect_uri.clone());
    if redirect != settings.redirect_uri {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The redirect URI does not match the client's",
        );
    }
    let Ok(mut location) = url::Url::parse(&redirect) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Invalid redirect URI");
    };
    let code = {
        let mut state = me.lock();
        let code = state.ledger.random("");
        let expires = Instant::now().checked_add(settings.code_lifetime);
        state.ledger.codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect,
                expires,
            },
        );
        code
    };
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(s) = q.get("state") {
            pairs.append_pair("state", s);
        }
    }
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = header::HeaderValue::from_str(location.as_str()) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn token(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    let settings = &me.settings;
    let Ok(form) = decode(&headers, &body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "The body cannot be read");
    };
    let field = |k: &str| form.get(k).and_then(text).unwrap_or_default();
    // Client credentials in the body, or as HTTP Basic.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").map(str::to_owned));
    let (client_id, client_secret) = match basic.as_deref().and_then(basic_pair) {
        Some(pair) if field("client_id").is_empty() => pair,
        _ => (field("client_id"), field("client_secret")),
    };
    if client_id != settings.client_id || client_secret != settings.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let now = Instant::now();
    let mut state = me.lock();
    match field("grant_type").as_str() {
        "authorization_code" => {
            let code = field("code");
            let Some(stored) = state.ledger.codes.remove(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code has expired",
                );
            };
            if stored.expires.is_some_and(|at| now >= at) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code has expired",
                );
            }
            let redirect = field("redirect_uri");
            if !redirect.is_empty() && redirect != stored.redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The redirect URI does not match the authorization request",
                );
            }
        }
        "refresh_token" => {
            let refresh = field("refresh_token");
            if !state.ledger.refresh.remove(&refresh) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid refresh token");
            }
        }
        "" => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            );
        }
    }
    let (access, refresh) = state.ledger.issue(settings.token_lifetime);
    (
        StatusCode::OK,
        axum::Json(json!({"access_token": access, "refresh_token": refresh,
                          "expires_in": settings.token_lifetime_secs, "token_type": "Bearer"})),
    )
        .into_response()
}

/// `user:password` from base64.
fn basic_pair(b64: &str) -> Option<(String, String)> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in b64.trim().trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    let s = String::from_utf8(out).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

// ---- reference data ------------------------------------------------------------------

async fn categories(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let records = vec![(
            1,
            json!({"id": "1", "category_code": "GEN", "category_name": "General", "image": null}),
        )];
        list_or_one(&q, records, me.settings.page_size, Meta::Short)
    })
}

/// Two subcategories of the one category (`GEN`, id 1), as the document's sample has
/// them; `?parent_category_id=` filters (an unknown parent lists none).
async fn subcategories(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let mut records = vec![
            (
                2,
                json!({"id": "2", "sub_category_code": "SC1", "sub_category_name": "Sub category 1",
                       "parent_category_id": "1", "image": null}),
            ),
            (
                3,
                json!({"id": "3", "sub_category_code": "SC2", "sub_category_name": "Sub category 2",
                       "parent_category_id": "1", "image": null}),
            ),
        ];
        if let Some(parent) = q.get("parent_category_id") {
            records.retain(|(_, v)| v["parent_category_id"].as_str() == Some(parent.as_str()));
        }
        list_or_one(&q, records, me.settings.page_size, Meta::Short)
    })
}

/// A customer's loyalty movements: the sandbox keeps no loyalty points, so every
/// customer's list is empty (`customer_id` is required, as the document has it).
async fn loyalty(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        if q.get("customer_id").and_then(|c| parse_id(c)).is_none() {
            return mandatory("customer_id");
        }
        let page = match page_of(&q) {
            Ok(p) => p,
            Err(r) => return r,
        };
        ok(paged(0, page, me.settings.page_size, Meta::Metadata, |_| Value::Null))
    })
}

/// One promotion for every warehouse (the document's "Offer 2 for $3.00" on the
/// first catalogue item); `?warehouse_id=` is required for the list, `?id=` reads one.
async fn promotions(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        if !q.contains_key("id") && q.get("warehouse_id").and_then(|w| parse_id(w)).is_none() {
            return mandatory("warehouse_id");
        }
        let records = vec![(
            10,
            json!({"id": "10", "title": "Offer 2 for $3.00", "start_date": "2016-08-01 00:00:00",
                   "end_date": "2030-12-31 00:00:00", "description": "", "type": "By Product",
                   "quantity_by": "Individual product Qty", "discount_by": "By Price",
                   "warehouse_ids": "All Warehouse", "minimum_spent": "0.0000",
                   "category_discount_percent": "0.0000", "warehouse_discount_percent": "0.0000",
                   "exclude_bundle": "0", "status": "enable", "promotions_items": [FIRST_ITEM_ID],
                   "free_items": [],
                   "promotion_conditions": [{"quantity": "2.0000", "discount_amount": "3.0000",
                                             "discount_percent": null, "provide_free_item": "0",
                                             "free_item_qty": "0.0000", "cheapest_item_qty": null,
                                             "basket_value": null}],
                   "promotion_categories": [], "promotions_items_with_discount": []}),
        )];
        list_or_one(&q, records, me.settings.page_size, Meta::Metadata)
    })
}

/// The line items of tax rate 2 (`GST 18%`, `line_item` yes): SGST 10 % and CGST 8 %,
/// as the document's sample; another tax rate has none; `?tax_rate_id=` is required.
async fn tax_line_items(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let Some(rate) = q.get("tax_rate_id").and_then(|r| parse_id(r)) else {
            return mandatory("tax_rate_id");
        };
        let records = if rate == 2 {
            vec![
                (1, json!({"id": "1", "name": "SGST", "rate": "10.0000"})),
                (2, json!({"id": "2", "name": "CGST", "rate": "8.0000"})),
            ]
        } else {
            Vec::new()
        };
        list_or_one(&q, records, me.settings.page_size, Meta::Short)
    })
}

fn warehouse_value(w: &(u64, String, String)) -> Value {
    json!({"id": w.0.to_string(), "code": w.1, "name": w.2, "warehouse_type": "Warehouse",
           "address": "", "phone": "", "email": "", "allow_discount": "yes", "status": "active"})
}

async fn warehouses(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let records = me
            .settings
            .warehouses
            .iter()
            .map(|w| (w.0, warehouse_value(w)))
            .collect();
        list_or_one(&q, records, me.settings.page_size, Meta::Short)
    })
}

async fn customer_groups(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let records = vec![(1, json!({"id": "1", "name": "General"}))];
        list_or_one(&q, records, me.settings.page_size, Meta::Short)
    })
}

async fn billers(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let (id, name) = &me.settings.biller;
        let allowed: Vec<String> = me.settings.warehouses.iter().map(|w| w.0.to_string()).collect();
        let records = vec![(
            *id,
            json!({"id": id.to_string(), "name": name, "group_name": "biller",
                   "company_details": {"company_name": name, "vat_no": ""},
                   "profile": {"phone_code": "65", "phone": "65432130", "email": null},
                   "allowed_warehouse": allowed}),
        )];
        list_or_one(&q, records, me.settings.page_size, Meta::Metadata)
    })
}

async fn tax_rates(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        // The document's two sample rates: no tax, and 18 % split into line items.
        let records = vec![
            (
                1,
                json!({"id": "1", "tax_code": "NT", "tax_name": "No Tax", "rate": "0.0000",
                       "country_code": "SG", "line_item": "no"}),
            ),
            (
                2,
                json!({"id": "2", "tax_code": "gst18", "tax_name": "GST 18%", "rate": "18.0000",
                       "country_code": "SG", "line_item": "yes"}),
            ),
        ];
        list_or_one(&q, records, me.settings.page_size, Meta::Short)
    })
}

async fn payment_methods(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |_| {
        let records = ["cash", "CC", "Cheque", "gift_card", "other", "loyalty"]
            .iter()
            .zip(1u64..)
            .map(|(m, id)| (id, json!({"id": id.to_string(), "name": m, "identifier": m})))
            .collect();
        list_or_one(&q, records, me.settings.page_size, Meta::MetadataCounts)
    })
}

// ---- items ---------------------------------------------------------------------------

/// The stock of catalogue product `index` in warehouse `wh`.
fn stock_in(state: &SandboxState<'_>, settings: &Settings, index: usize, wh: u64) -> Decimal {
    if wh == settings.main_warehouse() {
        state.products().get(index).map_or(Decimal::ZERO, |p| p.stock)
    } else {
        state.ledger.side_stock.get(&(index, wh)).copied().unwrap_or_default()
    }
}

fn item_value(state: &SandboxState<'_>, settings: &Settings, index: usize) -> Value {
    let Some(p) = state.products().get(index) else {
        return Value::Null;
    };
    let id = FIRST_ITEM_ID.saturating_add(index as u64);
    let mut total = Decimal::ZERO;
    let inventory: Vec<Value> = settings
        .warehouses
        .iter()
        .map(|w| {
            let q = stock_in(state, settings, index, w.0);
            total = total.checked_add(q).unwrap_or(total);
            json!({"warehouse_id": w.0.to_string(), "quantity": money(q), "reorder_qty": "0.0000"})
        })
        .collect();
    json!({"id": id.to_string(), "code": p.code, "name": p.name, "type": "standard", "unit": "pcs",
           "cost": money(Decimal::ZERO), "price": money(p.price), "quantity": money(total),
           "promo_price": null, "category": {"id": "1", "name": "General"},
           "tax": {"tax_method": "0", "id": "1", "code": "NT", "name": "No Tax", "rate": "0.0000",
                   "type": "Percentage"},
           "inventory": inventory})
}

/// The catalogue index of item `id`.
fn item_index(state: &SandboxState<'_>, id: u64) -> Option<usize> {
    let i = usize::try_from(id.checked_sub(FIRST_ITEM_ID)?).ok()?;
    (i < state.products().len()).then_some(i)
}

async fn items(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let settings = &me.settings;
    guarded(&me, &headers, |state| {
        if let Some(id) = q.get("id") {
            return parse_id(id)
                .and_then(|id| item_index(state, id))
                .map_or_else(not_found, |i| ok(item_value(state, settings, i)));
        }
        let page = match page_of(&q) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let total = state.products().len();
        ok(paged(total, page, settings.page_size, Meta::Metadata, |i| {
            item_value(state, settings, i)
        }))
    })
}

// ---- customers -----------------------------------------------------------------------

const CUSTOMER_FIELDS: &[&str] = &[
    "city",
    "state",
    "postal_code",
    "address",
    "phone_code",
    "phone",
    "email",
];

fn customer_record(id: u64, fields: &Map<String, Value>) -> Map<String, Value> {
    let mut profile = Map::new();
    for f in CUSTOMER_FIELDS {
        profile.insert((*f).to_owned(), fields.get(*f).cloned().unwrap_or(Value::Null));
    }
    profile.insert("image".into(), Value::Null);
    let mut record = Map::new();
    record.insert("id".into(), json!(id.to_string()));
    record.insert("name".into(), fields.get("name").cloned().unwrap_or(Value::Null));
    record.insert(
        "customer_group_id".into(),
        fields.get("customer_group_id").cloned().unwrap_or(json!("1")),
    );
    record.insert("customer_group_name".into(), json!("General"));
    record.insert("profile".into(), Value::Object(profile));
    record.insert("loyalty".into(), json!({"points": "0", "amount": "0.0000"}));
    record
}

async fn customers(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |state| {
        let records = state
            .ledger
            .customers
            .iter()
            .map(|(id, c)| (*id, Value::Object(c.clone())))
            .collect();
        list_or_one(&q, records, me.settings.page_size, Meta::Metadata)
    })
}

fn valid_email(e: &str) -> bool {
    let e = e.trim();
    match e.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    }
}

async fn save_customer(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers) {
        return r.into_response();
    }
    let fields = match decode(&headers, &body) {
        Ok(Value::Object(o)) => o,
        _ => return error(StatusCode::BAD_REQUEST, "The body must be a JSON object.").into_response(),
    };
    if blank(fields.get("name")) {
        return mandatory("name").into_response();
    }
    if let Some(email) = fields.get("email").and_then(text)
        && !email.trim().is_empty()
        && !valid_email(&email)
    {
        return error(StatusCode::BAD_REQUEST, "Please provide valid email address.").into_response();
    }
    let ledger = &mut state.ledger;
    let id = match fields.get("id") {
        None | Some(Value::Null) => {
            let id = ledger.next_customer;
            ledger.next_customer = id.saturating_add(1);
            ledger.customers.insert(id, customer_record(id, &fields));
            id
        }
        Some(v) => {
            let Some(id) = id_of(Some(v)).filter(|id| ledger.customers.contains_key(id)) else {
                return error(StatusCode::BAD_REQUEST, "Customer not exist").into_response();
            };
            if let Some(existing) = ledger.customers.get_mut(&id) {
                // Only the fields sent change.
                if let Some(n) = fields.get("name") {
                    existing.insert("name".into(), n.clone());
                }
                if let Some(g) = fields.get("customer_group_id") {
                    existing.insert("customer_group_id".into(), g.clone());
                }
                if let Some(Value::Object(profile)) = existing.get_mut("profile") {
                    for f in CUSTOMER_FIELDS {
                        if let Some(v) = fields.get(*f) {
                            profile.insert((*f).to_owned(), v.clone());
                        }
                    }
                }
            }
            id
        }
    };
    let name = fields.get("name").cloned().unwrap_or(Value::Null);
    success(json!({"id": id, "name": name}), vec![format!("customer/{id}")])
}

// ---- sales ---------------------------------------------------------------------------

fn sales(ledger: &Ledger, kind: Kind) -> &BTreeMap<u64, SaleRec> {
    match kind {
        Kind::Invoice => &ledger.invoices,
        Kind::Order => &ledger.orders,
    }
}

fn sales_mut(ledger: &mut Ledger, kind: Kind) -> &mut BTreeMap<u64, SaleRec> {
    match kind {
        Kind::Invoice => &mut ledger.invoices,
        Kind::Order => &mut ledger.orders,
    }
}

/// What has been paid on sale `id` (payments are booked against invoices and orders
/// alike, by id; an invoice and an order never share an id while fewer than 827
/// orders exist, and the sandbox looks invoices up first).
fn paid_on(ledger: &Ledger, id: u64) -> Decimal {
    ledger
        .payments
        .values()
        .filter(|p| p.sale_id == id)
        .fold(Decimal::ZERO, |a, p| a.checked_add(p.amount).unwrap_or(a))
}

fn sale_value(state: &SandboxState<'_>, settings: &Settings, id: u64, rec: &SaleRec) -> Value {
    let ledger = &state.ledger;
    let paid = paid_on(ledger, id);
    let payment_status = if paid.is_zero() {
        "due"
    } else if paid >= rec.grand_total {
        "paid"
    } else {
        "partial"
    };
    let customer = ledger
        .customers
        .get(&rec.customer_id)
        .and_then(|c| c.get("name").cloned())
        .unwrap_or(Value::Null);
    let warehouse = settings
        .warehouse(rec.warehouse_id)
        .map_or_else(|| json!(rec.warehouse_id.to_string()), warehouse_value);
    let payments: Vec<Value> = ledger
        .payments
        .values()
        .filter(|p| p.sale_id == id)
        .map(|p| p.record.clone())
        .collect();
    let items: Vec<Value> = rec.lines.iter().map(|l| l.record.clone()).collect();
    json!({"id": id.to_string(), "date": rec.date, "reference_no": rec.reference_no,
           "customer_id": rec.customer_id.to_string(), "customer": customer,
           "biller_id": settings.biller.0.to_string(), "biller": settings.biller.1,
           "warehouse": warehouse, "note": rec.note, "staff_note": rec.staff_note,
           "total": money(rec.total), "product_discount": money(Decimal::ZERO),
           "order_discount": money(rec.order_discount), "product_tax": money(Decimal::ZERO),
           "total_tax": money(Decimal::ZERO), "shipping": money(rec.shipping),
           "grand_total": money(rec.grand_total),
           "sale_status": if rec.void { "void" } else { "completed" },
           "payment_status": payment_status, "paid": money(paid),
           "items": items, "payments": payments})
}

fn list_sales(me: &Running, headers: &HeaderMap, raw: Option<&str>, kind: Kind) -> Reply {
    let q = query(raw);
    let settings = &me.settings;
    let meta = match kind {
        Kind::Invoice => Meta::Metadata,
        Kind::Order => Meta::Short,
    };
    guarded(me, headers, |state| {
        let all = sales(&state.ledger, kind);
        if let Some(id) = q.get("id") {
            return parse_id(id)
                .and_then(|id| all.get(&id).map(|r| (id, r)))
                .map_or_else(not_found, |(id, r)| ok(sale_value(state, settings, id, r)));
        }
        let page = match page_of(&q) {
            Ok(p) => p,
            Err(r) => return r,
        };
        let ids: Vec<u64> = all.keys().copied().collect();
        ok(paged(ids.len(), page, settings.page_size, meta, |i| {
            ids.get(i)
                .and_then(|id| all.get(id).map(|r| sale_value(state, settings, *id, r)))
                .unwrap_or(Value::Null)
        }))
    })
}

async fn invoices(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    list_sales(&me, &headers, raw.as_deref(), Kind::Invoice)
}

async fn orders(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    list_sales(&me, &headers, raw.as_deref(), Kind::Order)
}

async fn add_invoice(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    add_sale(&me, &headers, &body, Kind::Invoice)
}

async fn add_order(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    add_sale(&me, &headers, &body, Kind::Order)
}

/// A discount: an amount, or a percentage of `base`, rounded to 2 dp.
fn discount_of(value: Option<&Value>, percentage: bool, base: Decimal) -> Option<Decimal> {
    if blank(value) {
        return Some(Decimal::ZERO);
    }
    let d = value.and_then(decimal)?;
    if d.is_sign_negative() {
        return None;
    }
    if percentage {
        Some(round_money(base.checked_mul(d)?.checked_div(Decimal::ONE_HUNDRED)?))
    } else {
        Some(d)
    }
}

/// A line being booked: its catalogue index (or a gift card), quantity and record.
struct NewLine {
    product: Option<usize>,
    quantity: Decimal,
    subtotal: Decimal,
    record: Value,
    gift_card: Option<(String, Decimal)>,
}

fn read_line(
    state: &mut SandboxState<'_>,
    i: usize,
    line: &Value,
    warehouse: u64,
    date: &str,
) -> Result<NewLine, Reply> {
    let field = |k: &str| format!("items[{i}][{k}]");
    if blank(line.get("product_id")) {
        return Err(mandatory(&field("product_id")));
    }
    if blank(line.get("quantity")) {
        return Err(mandatory(&field("quantity")));
    }
    let quantity = line
        .get("quantity")
        .and_then(decimal)
        .filter(|q| *q > Decimal::ZERO)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("Invalid quantity for item {i}.")))?;
    let percentage = truthy(line.get("discount_percentage"));
    let gift = line
        .get("product_id")
        .and_then(text)
        .is_some_and(|p| p.eq_ignore_ascii_case("GIFT_CARD"));
    if gift {
        if blank(line.get("value")) {
            return Err(mandatory(&field("value")));
        }
        if blank(line.get("amount")) {
            return Err(mandatory(&field("amount")));
        }
        let (Some(value), Some(amount)) = (
            line.get("value").and_then(decimal).filter(|v| *v > Decimal::ZERO),
            line.get("amount").and_then(decimal).filter(|v| !v.is_sign_negative()),
        ) else {
            return Err(error(StatusCode::BAD_REQUEST, "Invalid gift card value or amount."));
        };
        let card_no = loop {
            let n: u64 = state
                .ledger
                .rng
                .random_range(1_000_000_000_000_000..10_000_000_000_000_000);
            let c = n.to_string();
            if !state.ledger.gift_cards.contains_key(&c) {
                break c;
            }
        };
        let subtotal = round_money(amount.checked_mul(quantity).unwrap_or(amount));
        let card_id = state.ledger.next_gift_card;
        state.ledger.next_gift_card = card_id.saturating_add(1);
        let record = json!({"product_id": "GIFT_CARD", "product_code": card_no, "product_name": "Gift Card",
                            "product_type": "manual", "net_unit_price": money(amount),
                            "unit_price": money(amount), "quantity": money(quantity),
                            "warehouse_id": warehouse.to_string(), "item_tax": money(Decimal::ZERO),
                            "tax_rate_id": "0", "tax": "", "discount": "0",
                            "item_discount": money(Decimal::ZERO), "subtotal": money(subtotal),
                            "gift_card": {"id": card_id.to_string(), "card_no": card_no, "date": date,
                                          "value": money(value), "balance": money(value), "expiry": null}});
        return Ok(NewLine {
            product: None,
            quantity,
            subtotal,
            record,
            gift_card: Some((card_no, value)),
        });
    }
    let Some(index) = id_of(line.get("product_id")).and_then(|id| item_index(state, id)) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("Product not exist for item {i}."),
        ));
    };
    let Some(p) = state.products().get(index) else {
        return Err(not_found());
    };
    let gross = round_money(p.price.checked_mul(quantity).ok_or_else(overflow)?);
    let discount = discount_of(line.get("item_discount"), percentage, gross)
        .filter(|d| *d <= gross)
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("Invalid discount for item {i}.")))?;
    let subtotal = gross.checked_sub(discount).ok_or_else(overflow)?;
    let id = FIRST_ITEM_ID.saturating_add(index as u64);
    let record = json!({"product_id": id.to_string(), "product_code": p.code, "product_name": p.name,
                        "product_type": "standard", "option_id": null, "net_unit_price": money(p.price),
                        "unit_price": money(p.price), "quantity": money(quantity),
                        "warehouse_id": warehouse.to_string(), "item_tax": money(Decimal::ZERO),
                        "tax_rate_id": "1", "tax": "0.0000%", "discount": money(discount),
                        "item_discount": money(discount), "subtotal": money(subtotal)});
    Ok(NewLine {
        product: Some(index),
        quantity,
        subtotal,
        record,
        gift_card: None,
    })
}

fn overflow() -> Reply {
    error(StatusCode::BAD_REQUEST, "Amount out of range.")
}

/// Moves stock of catalogue product `index` in warehouse `wh` by `delta`.
fn move_stock(state: &mut SandboxState<'_>, settings: &Settings, moves: &[(usize, u64, Decimal)]) -> Result<(), Reply> {
    let main = settings.main_warehouse();
    let codes: Vec<(String, Decimal)> = moves
        .iter()
        .filter(|(_, wh, _)| *wh == main)
        .filter_map(|(i, _, d)| state.products().get(*i).map(|p| (p.code.clone(), *d)))
        .collect();
    let deltas: Vec<(&str, Decimal)> = codes.iter().map(|(c, d)| (c.as_str(), *d)).collect();
    state.adjust_stock(&deltas).map_err(|_| overflow())?;
    for (i, wh, d) in moves.iter().filter(|(_, wh, _)| *wh != main) {
        let slot = state.ledger.side_stock.entry((*i, *wh)).or_default();
        *slot = slot.checked_add(*d).unwrap_or(*slot);
    }
    Ok(())
}

fn add_sale(me: &Running, headers: &HeaderMap, body: &[u8], kind: Kind) -> Response {
    let settings = &me.settings;
    let mut state = me.lock();
    if let Err(r) = authorised(&state, headers) {
        return r.into_response();
    }
    match book_sale(&mut state, settings, body, kind) {
        Ok((data, reference)) => success(data, vec![reference]),
        Err(r) => r.into_response(),
    }
}

fn book_sale(
    state: &mut SandboxState<'_>,
    settings: &Settings,
    body: &[u8],
    kind: Kind,
) -> Result<(Value, String), Reply> {
    let Ok(Value::Object(b)) = serde_json::from_slice::<Value>(body) else {
        return Err(error(StatusCode::BAD_REQUEST, "The body must be a JSON object."));
    };
    for f in ["date", "customer_id", "biller_id", "warehouse_id", "items"] {
        if blank(b.get(f)) {
            return Err(mandatory(f));
        }
    }
    let date = b.get("date").and_then(text).unwrap_or_default();
    if !valid_date(&date) {
        return Err(error(StatusCode::BAD_REQUEST, BAD_DATE));
    }
    let date = if date.trim().len() == 10 {
        format!("{} 00:00:00", date.trim())
    } else {
        date.trim().to_owned()
    };
    let customer_id = id_of(b.get("customer_id"))
        .filter(|id| state.ledger.customers.contains_key(id))
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "Customer not exist"))?;
    if id_of(b.get("biller_id")) != Some(settings.biller.0) {
        return Err(error(StatusCode::BAD_REQUEST, "Biller not exist"));
    }
    let warehouse_id = id_of(b.get("warehouse_id"))
        .filter(|id| settings.warehouse(*id).is_some())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "Warehouse not exist"))?;
    let Some(Value::Array(raw_lines)) = b.get("items") else {
        return Err(mandatory("items"));
    };
    // Read every line first (a gift card line draws its number), then check stock.
    let mut lines = Vec::with_capacity(raw_lines.len());
    let rng_before = state.ledger.rng.clone();
    let next_card_before = state.ledger.next_gift_card;
    for (i, l) in raw_lines.iter().enumerate() {
        match read_line(state, i, l, warehouse_id, &date) {
            Ok(line) => lines.push(line),
            Err(r) => {
                state.ledger.rng = rng_before;
                state.ledger.next_gift_card = next_card_before;
                return Err(r);
            }
        }
    }
    let restore = |state: &mut SandboxState<'_>| {
        state.ledger.rng = rng_before.clone();
        state.ledger.next_gift_card = next_card_before;
    };
    let mut wanted: BTreeMap<usize, Decimal> = BTreeMap::new();
    for l in &lines {
        if let Some(i) = l.product {
            let w = wanted.entry(i).or_default();
            *w = w.checked_add(l.quantity).unwrap_or(*w);
        }
    }
    for (i, q) in &wanted {
        if stock_in(state, settings, *i, warehouse_id) < *q {
            restore(state);
            let name = state.products().get(*i).map(|p| p.name.clone()).unwrap_or_default();
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Error : \"The quantity is out of stock for {name}\""),
            ));
        }
    }
    let total = lines
        .iter()
        .try_fold(Decimal::ZERO, |a, l| a.checked_add(l.subtotal))
        .ok_or_else(overflow)?;
    let order_discount = discount_of(
        b.get("order_discount"),
        truthy(b.get("order_discount_percentage")),
        total,
    )
    .filter(|d| *d <= total);
    let Some(order_discount) = order_discount else {
        restore(state);
        return Err(error(StatusCode::BAD_REQUEST, "Invalid order discount."));
    };
    let shipping = match b.get("shipping") {
        None | Some(Value::Null) => Decimal::ZERO,
        Some(s) => match s.get("delivery_charge").and_then(decimal) {
            Some(d) if !d.is_sign_negative() => d,
            _ => {
                restore(state);
                return Err(mandatory("delivery_charge"));
            }
        },
    };
    let grand_total = total
        .checked_sub(order_discount)
        .and_then(|t| t.checked_add(shipping))
        .ok_or_else(overflow)?;
    let moves: Vec<(usize, u64, Decimal)> = wanted.iter().map(|(i, q)| (*i, warehouse_id, -*q)).collect();
    move_stock(state, settings, &moves)?;
    let ledger = &mut state.ledger;
    let id = match kind {
        Kind::Invoice => &mut ledger.next_invoice,
        Kind::Order => &mut ledger.next_order,
    };
    let sale_id = *id;
    *id = sale_id.saturating_add(1);
    let (year, month) = (date.get(0..4).unwrap_or("0000"), date.get(5..7).unwrap_or("00"));
    let prefix = match kind {
        Kind::Invoice => "SALE",
        Kind::Order => "ORDER",
    };
    let reference_no = format!("{prefix}/POS/{year}/{month}/{sale_id:04}");
    for l in &lines {
        if let Some((card, _)) = &l.gift_card {
            ledger.gift_cards.insert(card.clone(), GiftCard { kind, sale_id });
        }
    }
    let rec = SaleRec {
        date,
        reference_no: reference_no.clone(),
        customer_id,
        warehouse_id,
        lines: lines
            .into_iter()
            .map(|l| Line {
                product: l.product,
                quantity: l.quantity,
                record: l.record,
            })
            .collect(),
        grand_total,
        total,
        order_discount,
        shipping,
        note: b.get("note").and_then(text).unwrap_or_default(),
        staff_note: b.get("staff_note").and_then(text).unwrap_or_default(),
        void: false,
        returned: HashMap::new(),
    };
    sales_mut(ledger, kind).insert(sale_id, rec.clone());
    let value = sale_value(state, settings, sale_id, &rec);
    state.store_document(VENDOR, DocKind::Sale, &reference_no, value.clone());
    Ok((value, reference_no))
}

async fn void_order(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let settings = &me.settings;
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers) {
        return r.into_response();
    }
    let Some(id) = q.get("id").and_then(|i| parse_id(i)) else {
        return mandatory("id").into_response();
    };
    let Some(rec) = state.ledger.orders.get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Order not found").into_response();
    };
    if rec.void {
        return error(StatusCode::BAD_REQUEST, "Order already void").into_response();
    }
    let mut back: BTreeMap<usize, Decimal> = BTreeMap::new();
    for l in &rec.lines {
        if let Some(i) = l.product {
            let returned = rec.returned.get(&i).copied().unwrap_or_default();
            let b = back.entry(i).or_insert(-returned);
            *b = b.checked_add(l.quantity).unwrap_or(*b);
        }
    }
    let moves: Vec<(usize, u64, Decimal)> = back
        .into_iter()
        .filter(|(_, q)| *q > Decimal::ZERO)
        .map(|(i, q)| (i, rec.warehouse_id, q))
        .collect();
    if let Err(r) = move_stock(&mut state, settings, &moves) {
        return r.into_response();
    }
    if let Some(o) = state.ledger.orders.get_mut(&id) {
        o.void = true;
    }
    if let Some(o) = state.ledger.orders.get(&id).cloned() {
        let value = sale_value(&state, settings, id, &o);
        state.store_document(VENDOR, DocKind::Sale, &o.reference_no, value);
    }
    let mut r = Reply {
        status: StatusCode::OK,
        body: json!({"message": "Successfully void your order", "error": false}),
        applied: true,
    }
    .into_response();
    r.extensions_mut()
        .insert(AppliedReferences(vec![format!("{}#void", rec.reference_no)]));
    r
}

// ---- payments ------------------------------------------------------------------------

/// The sale a payment names: an invoice, else an order.
fn sale_for_payment(ledger: &Ledger, id: u64) -> Option<(Kind, &SaleRec)> {
    ledger
        .invoices
        .get(&id)
        .map(|r| (Kind::Invoice, r))
        .or_else(|| ledger.orders.get(&id).map(|r| (Kind::Order, r)))
}

async fn payments(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    guarded(&me, &headers, |state| {
        if !q.contains_key("id") && !q.contains_key("sale_id") {
            return mandatory("sale_id");
        }
        let sale = q.get("sale_id").and_then(|s| parse_id(s));
        let records = state
            .ledger
            .payments
            .iter()
            .filter(|(_, p)| sale.is_none_or(|s| p.sale_id == s))
            .map(|(id, p)| (*id, p.record.clone()))
            .collect();
        list_or_one(&q, records, me.settings.page_size, Meta::Metadata)
    })
}

async fn add_payment(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers) {
        return r.into_response();
    }
    let Ok(Value::Object(b)) = decode(&headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "The body must be a JSON object.").into_response();
    };
    for f in ["sale_id", "amount", "date", "paid_by"] {
        if blank(b.get(f)) {
            return mandatory(f).into_response();
        }
    }
    let date = b.get("date").and_then(text).unwrap_or_default();
    if !valid_date(&date) {
        return error(StatusCode::BAD_REQUEST, BAD_DATE).into_response();
    }
    let Some(amount) = b.get("amount").and_then(decimal).filter(|a| *a > Decimal::ZERO) else {
        return error(StatusCode::BAD_REQUEST, "Invalid amount.").into_response();
    };
    let Some(sale_id) = id_of(b.get("sale_id")) else {
        return error(StatusCode::BAD_REQUEST, "Sale not exist").into_response();
    };
    let ledger = &state.ledger;
    let Some((_, sale)) = sale_for_payment(ledger, sale_id) else {
        return error(StatusCode::BAD_REQUEST, "Sale not exist").into_response();
    };
    if sale.void {
        return error(StatusCode::BAD_REQUEST, "Sale is void").into_response();
    }
    let due = sale
        .grand_total
        .checked_sub(paid_on(ledger, sale_id))
        .unwrap_or(Decimal::ZERO);
    if amount > due {
        return error(StatusCode::BAD_REQUEST, PAID_TOO_MUCH).into_response();
    }
    let paid_by = b.get("paid_by").and_then(text).unwrap_or_default();
    // A gift card payment needs a card with that much balance.
    if paid_by == "gift_card" {
        let card = b.get("no").and_then(text).unwrap_or_default();
        let balance = gift_card_balance(&state, card.trim());
        match balance {
            None => return error(StatusCode::BAD_REQUEST, "Gift card not exist").into_response(),
            Some(bal) if bal < amount => {
                return error(StatusCode::BAD_REQUEST, "Gift card balance is insufficient").into_response();
            }
            Some(_) => {}
        }
    }
    let ledger = &mut state.ledger;
    let id = ledger.next_payment;
    ledger.next_payment = id.saturating_add(1);
    let reference_no = format!(
        "IPAY/{}/{}/{id:04}",
        date.get(0..4).unwrap_or("0000"),
        date.get(5..7).unwrap_or("00")
    );
    let record = json!({"id": id.to_string(), "date": date.trim(), "sale_id": sale_id.to_string(),
                        "return_id": null, "reference_no": reference_no, "paid_by": paid_by,
                        "amount": money(amount), "extra_charges": money(Decimal::ZERO),
                        "type": "received", "note": b.get("note").and_then(text).unwrap_or_default(),
                        "no": b.get("no").and_then(text),
                        "pos_reference": b.get("reference_no").and_then(text)});
    ledger.payments.insert(
        id,
        PayRec {
            sale_id,
            amount,
            record: record.clone(),
        },
    );
    state.store_payment(VENDOR, &reference_no, record);
    success(
        json!({"payment_id": id.to_string(), "reference_no": reference_no, "paid_amount": money(amount),
               "paid_by": paid_by}),
        vec![reference_no.clone()],
    )
}

async fn delete_payment(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers) {
        return r.into_response();
    }
    let Some(id) = q.get("id").and_then(|i| parse_id(i)) else {
        return mandatory("id").into_response();
    };
    let Some(p) = state.ledger.payments.remove(&id) else {
        return error(StatusCode::NOT_FOUND, "Payment not found").into_response();
    };
    if let Some(r) = p.record.get("reference_no").and_then(text)
        && let Some(docs) = state.documents_mut(VENDOR)
    {
        docs.payments.remove(&r);
    }
    let mut r = Reply {
        status: StatusCode::OK,
        body: json!({"Message": "Successfully removed your payment", "error": false}),
        applied: true,
    }
    .into_response();
    r.extensions_mut()
        .insert(AppliedReferences(vec![format!("payment/{id}#delete")]));
    r
}

// ---- returns -------------------------------------------------------------------------

fn list_returns(me: &Running, headers: &HeaderMap, raw: Option<&str>, kind: Kind) -> Reply {
    let q = query(raw);
    guarded(me, headers, |state| {
        if !q.contains_key("id") && !q.contains_key("sale_id") {
            return mandatory("sale_id");
        }
        let sale = q.get("sale_id").and_then(|s| parse_id(s));
        let records = state
            .ledger
            .returns
            .iter()
            .filter(|(_, r)| r.kind == kind && sale.is_none_or(|s| r.sale_id == s))
            .map(|(id, r)| (*id, r.record.clone()))
            .collect();
        list_or_one(&q, records, me.settings.page_size, Meta::Metadata)
    })
}

async fn return_invoices(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    list_returns(&me, &headers, raw.as_deref(), Kind::Invoice)
}

async fn return_orders(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    list_returns(&me, &headers, raw.as_deref(), Kind::Order)
}

async fn add_return_invoice(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    add_return(&me, &headers, &body, Kind::Invoice)
}

async fn add_return_order(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Response {
    add_return(&me, &headers, &body, Kind::Order)
}

fn add_return(me: &Running, headers: &HeaderMap, body: &[u8], kind: Kind) -> Response {
    let settings = &me.settings;
    let mut state = me.lock();
    if let Err(r) = authorised(&state, headers) {
        return r.into_response();
    }
    match book_return(&mut state, settings, body, kind) {
        Ok((data, reference)) => success(data, vec![reference]),
        Err(r) => r.into_response(),
    }
}

fn book_return(
    state: &mut SandboxState<'_>,
    settings: &Settings,
    body: &[u8],
    kind: Kind,
) -> Result<(Value, String), Reply> {
    let Ok(Value::Object(b)) = serde_json::from_slice::<Value>(body) else {
        return Err(error(StatusCode::BAD_REQUEST, "The body must be a JSON object."));
    };
    // The document's required fields (customer, biller and warehouse are checked for
    // presence only: the stock goes back to the sale's warehouse).
    for f in ["date", "sale_id", "customer_id", "biller_id", "warehouse_id", "items"] {
        if blank(b.get(f)) {
            return Err(mandatory(f));
        }
    }
    let date = b.get("date").and_then(text).unwrap_or_default();
    if !valid_date(&date) {
        return Err(error(StatusCode::BAD_REQUEST, BAD_DATE));
    }
    let sale_id = id_of(b.get("sale_id")).ok_or_else(|| error(StatusCode::BAD_REQUEST, "Sale not exist"))?;
    let Some(sale) = sales(&state.ledger, kind).get(&sale_id).cloned() else {
        return Err(error(StatusCode::BAD_REQUEST, "Sale not exist"));
    };
    if sale.void {
        return Err(error(StatusCode::BAD_REQUEST, "Sale is void"));
    }
    let Some(Value::Array(raw_lines)) = b.get("items") else {
        return Err(mandatory("items"));
    };
    let mut sold: BTreeMap<usize, (Decimal, Decimal)> = BTreeMap::new(); // qty sold, unit price
    for l in &sale.lines {
        if let Some(i) = l.product {
            let unit = l.record.get("unit_price").and_then(decimal).unwrap_or_default();
            let e = sold.entry(i).or_insert((Decimal::ZERO, unit));
            e.0 = e.0.checked_add(l.quantity).unwrap_or(e.0);
        }
    }
    let mut back: BTreeMap<usize, Decimal> = BTreeMap::new();
    let mut records = Vec::new();
    let mut total = Decimal::ZERO;
    for (i, l) in raw_lines.iter().enumerate() {
        if blank(l.get("product_id")) {
            return Err(mandatory(&format!("items[{i}][product_id]")));
        }
        let Some(index) = id_of(l.get("product_id")).and_then(|id| item_index(state, id)) else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("Product not exist for item {i}."),
            ));
        };
        let Some(quantity) = l.get("quantity").and_then(decimal).filter(|q| *q > Decimal::ZERO) else {
            return Err(mandatory(&format!("items[{i}][quantity]")));
        };
        let Some((sold_qty, unit)) = sold.get(&index).copied() else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("Item {i} was not sold on this sale."),
            ));
        };
        let b = back.entry(index).or_default();
        *b = b.checked_add(quantity).ok_or_else(overflow)?;
        let already = sale.returned.get(&index).copied().unwrap_or_default();
        if already.checked_add(*b).is_none_or(|q| q > sold_qty) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Return quantity must be less than or equal to the sold quantity.",
            ));
        }
        let subtotal = round_money(unit.checked_mul(quantity).ok_or_else(overflow)?);
        total = total.checked_add(subtotal).ok_or_else(overflow)?;
        let p = state.products().get(index);
        records.push(
            json!({"product_id": FIRST_ITEM_ID.saturating_add(index as u64).to_string(),
                            "product_code": p.map(|p| p.code.clone()), "product_name": p.map(|p| p.name.clone()),
                            "product_type": "standard", "unit_price": money(unit),
                            "quantity": money(quantity), "subtotal": money(subtotal)}),
        );
    }
    let moves: Vec<(usize, u64, Decimal)> = back.iter().map(|(i, q)| (*i, sale.warehouse_id, *q)).collect();
    move_stock(state, settings, &moves)?;
    if let Some(s) = sales_mut(&mut state.ledger, kind).get_mut(&sale_id) {
        for (i, q) in &back {
            let r = s.returned.entry(*i).or_default();
            *r = r.checked_add(*q).unwrap_or(*r);
        }
    }
    let ledger = &mut state.ledger;
    let id = ledger.next_return;
    ledger.next_return = id.saturating_add(1);
    let prefix = match kind {
        Kind::Invoice => "RETURNSL",
        Kind::Order => "RETURNOR",
    };
    let reference_no = format!(
        "{prefix}/{}/{}/{id:04}",
        date.get(0..4).unwrap_or("0000"),
        date.get(5..7).unwrap_or("00")
    );
    // Asalta books the refund itself: a `returned` payment of the return's total (the
    // document's sample answer), kept on the return only (not against the sale's due).
    let refund_id = ledger.next_payment;
    ledger.next_payment = refund_id.saturating_add(1);
    let refund = json!({"id": refund_id.to_string(), "date": date.trim(), "reference_no": format!(
                            "IPAY/{}/{}/{refund_id:04}", date.get(0..4).unwrap_or("0000"), date.get(5..7).unwrap_or("00")),
                        "paid_by": "Cash", "amount": money(total), "extra_charges": money(Decimal::ZERO),
                        "type": "returned", "note": null});
    let record = json!({"id": id.to_string(), "date": date.trim(), "reference_no": reference_no,
                        "payments": [refund],
                        "sale_id": sale_id.to_string(), "sale_reference_no": sale.reference_no,
                        "customer_id": sale.customer_id.to_string(),
                        "biller_id": settings.biller.0.to_string(),
                        "warehouse_id": sale.warehouse_id.to_string(),
                        "note": b.get("note").and_then(text).unwrap_or_default(),
                        "total": money(total), "grand_total": money(total),
                        "items": records});
    ledger.returns.insert(
        id,
        ReturnRec {
            kind,
            sale_id,
            record: record.clone(),
        },
    );
    state.store_document(VENDOR, DocKind::Sale, &reference_no, record.clone());
    Ok((record, reference_no))
}

// ---- gift cards ----------------------------------------------------------------------

/// A card's balance: its value less what `gift_card` payments with its number took.
fn gift_card_balance(state: &SandboxState<'_>, card_no: &str) -> Option<Decimal> {
    let card = state.ledger.gift_cards.get(card_no)?;
    let sale = sales(&state.ledger, card.kind).get(&card.sale_id)?;
    let value = sale
        .lines
        .iter()
        .filter(|l| l.record.get("product_code").and_then(text).as_deref() == Some(card_no))
        .find_map(|l| l.record.get("gift_card").and_then(|g| g.get("value")).and_then(decimal))?;
    let spent = state
        .ledger
        .payments
        .values()
        .filter(|p| {
            p.record.get("paid_by").and_then(Value::as_str) == Some("gift_card")
                && p.record.get("no").and_then(text).as_deref() == Some(card_no)
        })
        .fold(Decimal::ZERO, |a, p| a.checked_add(p.amount).unwrap_or(a));
    value.checked_sub(spent)
}

async fn gift_card(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let settings = &me.settings;
    guarded(&me, &headers, |state| {
        let Some(card_no) = q.get("card_no").map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()) else {
            return mandatory("card_no");
        };
        let Some(card) = state.ledger.gift_cards.get(&card_no).cloned() else {
            return not_found();
        };
        let Some(rec) = sales(&state.ledger, card.kind).get(&card.sale_id) else {
            return not_found();
        };
        let mut value = sale_value(state, settings, card.sale_id, rec);
        let balance = gift_card_balance(state, &card_no);
        if let Some(Value::Array(items)) = value.get_mut("items") {
            items.retain(|i| i.get("gift_card").is_some());
            for i in items.iter_mut() {
                if i.get("product_code").and_then(text).as_deref() == Some(card_no.as_str())
                    && let (Some(Value::Object(g)), Some(b)) = (i.get_mut("gift_card"), balance)
                {
                    g.insert("balance".into(), money(b));
                }
            }
        }
        ok(json!({"message": "Success", "data": value, "error": false}))
    })
}

// ---- reports -------------------------------------------------------------------------

/// The form's `startdate`/`enddate` (`YYYY-MM-DD`).
fn range(headers: &HeaderMap, body: &[u8]) -> Result<(String, String), Reply> {
    let form = decode(headers, body).map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
    let get = |k: &str| {
        form.get(k)
            .and_then(text)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let (start, end) = (get("startdate"), get("enddate"));
    for (f, v) in [("startdate", &start), ("enddate", &end)] {
        if v.is_empty() {
            return Err(mandatory(f));
        }
        if v.len() != 10 || !valid_date(v) {
            return Err(error(StatusCode::BAD_REQUEST, BAD_DATE));
        }
    }
    Ok((start, end))
}

/// The form's `month`/`year`.
fn month(headers: &HeaderMap, body: &[u8]) -> Result<(u32, u32), Reply> {
    let form = decode(headers, body).map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
    let get = |k: &str| {
        form.get(k)
            .and_then(text)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let (m, y) = (get("month"), get("year"));
    if m.is_empty() {
        return Err(mandatory("month"));
    }
    if y.is_empty() {
        return Err(mandatory("year"));
    }
    match (m.parse::<u32>(), y.parse::<u32>()) {
        (Ok(m), Ok(y)) if (1..=12).contains(&m) && (1900..=9999).contains(&y) => Ok((m, y)),
        _ => Err(error(StatusCode::BAD_REQUEST, BAD_DATE)),
    }
}

/// The invoices dated within `start..=end` (by day).
fn invoices_between<'a>(
    state: &'a SandboxState<'_>,
    start: &'a str,
    end: &'a str,
) -> impl Iterator<Item = (u64, &'a SaleRec)> {
    state.ledger.invoices.iter().filter_map(move |(id, r)| {
        let day = r.date.get(0..10).unwrap_or("");
        (day >= start && day <= end).then_some((*id, r))
    })
}

fn report_payments(state: &SandboxState<'_>, id: u64) -> Vec<Value> {
    state
        .ledger
        .payments
        .values()
        .filter(|p| p.sale_id == id)
        .map(|p| {
            json!({"paid_by": p.record.get("paid_by"), "paid_amonut": money(p.amount),
                   "date": p.record.get("date"), "reference_no": p.record.get("reference_no")})
        })
        .collect()
}

async fn report_sales(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    let settings = &me.settings;
    guarded(&me, &headers, |state| {
        let (start, end) = match range(&headers, &body) {
            Ok(r) => r,
            Err(r) => return r,
        };
        let rows: Vec<Value> = invoices_between(state, &start, &end)
            .map(|(id, r)| {
                let paid = paid_on(&state.ledger, id);
                let customer = state.ledger.customers.get(&r.customer_id).and_then(|c| c.get("name").cloned());
                json!({"sale_date": r.date, "customer_type": if r.customer_id == WALK_IN_CUSTOMER_ID { "walk-in" } else { "member" },
                       "customer_name": customer, "reference_no": r.reference_no,
                       "biller_id": settings.biller.0.to_string(), "biller": settings.biller.1,
                       "discount": money(r.order_discount), "tax": money(Decimal::ZERO),
                       "shipping_charge": money(r.shipping), "total": money(r.total),
                       "grand_total": money(r.grand_total),
                       "status": if r.void { "void" } else { "completed" },
                       "payment_status": if paid.is_zero() { "due" } else if paid >= r.grand_total { "paid" } else { "partial" },
                       "paid": money(paid), "payment_details": report_payments(state, id)})
            })
            .collect();
        ok(Value::Array(rows))
    })
}

async fn report_invoices(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    guarded(&me, &headers, |state| {
        let (start, end) = match range(&headers, &body) {
            Ok(r) => r,
            Err(r) => return r,
        };
        let rows: Vec<Value> = invoices_between(state, &start, &end)
            .map(|(id, r)| {
                let paid = paid_on(&state.ledger, id);
                let customer = state.ledger.customers.get(&r.customer_id);
                let name = customer.and_then(|c| c.get("name").cloned());
                let email = customer
                    .and_then(|c| c.get("profile"))
                    .and_then(|p| p.get("email"))
                    .cloned();
                let outstanding = r.grand_total.checked_sub(paid).unwrap_or_default();
                json!({"invoice_no": r.reference_no, "organization": me.settings.biller.1, "name": name,
                       "invoice_date": r.date.get(0..10), "due_date": r.date.get(0..10), "email": email,
                       "gst_amount": money(Decimal::ZERO), "total_amount": money(r.grand_total),
                       "outstanding_amount": money(outstanding), "terms": "Due on receipt",
                       "payment_details": report_payments(state, id)})
            })
            .collect();
        ok(Value::Array(rows))
    })
}

async fn report_payroll(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    guarded(&me, &headers, |_| {
        let (m, y) = match month(&headers, &body) {
            Ok(r) => r,
            Err(r) => return r,
        };
        ok(
            json!({"payslip_date": format!("{y:04}-{m:02}-28"), "basic_salary": "3200.00",
                  "gross_salary": "3450.00", "net_pay": "2760.00", "employer_cpf": "586.50",
                  "employee_cpf": "690.00"}),
        )
    })
}

async fn report_claims(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    guarded(&me, &headers, |_| {
        if let Err(r) = month(&headers, &body) {
            return r;
        }
        // As the document's sample: an object of claim types, each an object.
        ok(json!({"Transport": {"total_expense": "86.40"},
                  "Medical": {"total_expense": "45.00"},
                  "Meals": {"total_expense": "32.50"}}))
    })
}

async fn report_roster(State(me): State<Arc<Running>>, headers: HeaderMap, body: Bytes) -> Reply {
    let settings = &me.settings;
    guarded(&me, &headers, |_| {
        if let Err(r) = range(&headers, &body) {
            return r;
        }
        let rows: Vec<Value> = settings
            .warehouses
            .iter()
            .map(|w| {
                json!({"branch": w.2, "employees": [
                    {"name": "Tan Mei Ling", "shift": "Morning (09:00-15:00)"},
                    {"name": "Muhammad Hafiz", "shift": "Evening (15:00-22:00)"}]})
            })
            .collect();
        ok(Value::Array(rows))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked() {
        assert!(valid_date("2026-11-26 10:15:00"));
        assert!(valid_date("2026-11-26"));
        assert!(!valid_date("26-11-2026"));
        assert!(!valid_date("2026-13-01"));
        assert!(!valid_date("2026-11-26 25:00:00"));
        assert!(!valid_date(""));
    }

    #[test]
    fn pages_carry_either_metadata() {
        let p = paged(45, 3, 20, Meta::Metadata, |i| json!(i));
        assert_eq!(p["data"].as_array().map(Vec::len), Some(5));
        assert_eq!(p["_metadata"]["nextPage"], Value::Null);
        let p = paged(45, 1, 20, Meta::Short, |i| json!(i));
        assert_eq!(p["_meta"]["pageCount"], 3);
        assert_eq!(p["data"][0], 0);
        let p = paged(45, 9, 20, Meta::Metadata, |i| json!(i));
        assert_eq!(p["data"], json!([]));
    }

    #[test]
    fn money_has_four_decimals() {
        assert_eq!(money(Decimal::from(100)), json!("100.0000"));
        assert_eq!(money("278.2".parse().unwrap_or_default()), json!("278.2000"));
    }

    #[test]
    fn item_ids_follow_the_catalogue() {
        let ids = asalta_item_ids(&Catalogue::sample());
        assert_eq!(ids["TEA-100"], 1001);
        assert_eq!(ids["MUG-1"], 1002);
    }

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(basic_pair("YTpi"), Some(("a".into(), "b".into())));
        assert_eq!(basic_pair("!!"), None);
    }
}
