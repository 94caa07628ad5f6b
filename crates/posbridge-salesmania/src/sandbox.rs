//! The sandbox's imitation of SalesMania (feature `sandbox`), as
//! `docs/vendors/salesmania.md` ("What the sandbox must do") decides everything
//! SalesMania's public pages leave out (the chain's paths, the answers' shapes, the
//! errors): [`imitation()`] for [`posbridge_sandbox::Sandbox::start`]. An independent
//! implementation of the vendor side: it shares this crate but none of the connector's
//! code (no `wire.rs`, `map.rs`, types or client), so each checks the other
//! (`tests/sandbox_fixtures.rs`).
//!
//! Routes (under `/salesmania/extapi/v1.0/`), JSON bodies (the content type is not
//! checked):
//!
//! | route | does |
//! |---|---|
//! | `GET token` | `Authorization: Basic` → `{"token", "token_type", "expires_in"}`; 401 `Username atau password salah` |
//! | `GET databases` | Bearer → `[{"id", "name"}]` |
//! | `GET team_token?db_id=` | Bearer → `{"team_token", "expires_in"}`; 404 `Database tidak ditemukan` |
//! | `POST orders` | books an order → `{}` (checks and arithmetic below) |
//! | `GET orders?ext_order_no=` | `[<Ext Order>]` with that `ext_order_no` (`[]` when none) |
//! | `GET`/`PATCH orders/{id}` | the order; `PATCH {"status", "ext_order_status_name"?}` → `{}` |
//! | `GET`/`POST customers`, `GET`/`PATCH`/`DELETE customers/{id}` | customers; `?ext_cust_no=` → a bare array |
//! | `GET`/`POST products`, `GET`/`PATCH`/`DELETE products/{id}` | products; the catalogue's are products `501, 502, …`; an `ext_product_code` another product has is 422 "has already been taken"; deleting a product an order names is 409 `Produk masih dipakai di order` |
//! | `GET`/`POST visits`, `GET teams` | visits, teams |
//!
//! A catalogue product's one unit (ratio 1) is `PCS`, or the name `units` gives it
//! (default: `SUGAR-1KG` → `KG`).
//!
//! Every route after the chain needs `Authorization: Bearer <bearer>` **and**
//! `?team_token=<team token>`, both live: else `401 {"message": "Unauthenticated."}`.
//! Lists without a filter are paged Laravel's way: `?page=N` (default 1) →
//! `{"data", "current_page", "last_page", "per_page", "total", "next_page_url"}`.
//! Validation errors are `422 {"message": "The given data was invalid.", "errors":
//! {"<field>": ["<problem>"]}}`; an unknown id is `404 {"message": "… tidak
//! ditemukan"}`.
//!
//! Orders: each line `qty × price`, less its `item_disc_percent` cascade (`"55.05+3"`:
//! 55.05 %, then 3 % of the rest, exact) or its `item_disc_amount`, rounded once to
//! 2 dp half away from zero; the order total is the sum of lines less `disc_percent`
//! (the same way, rounded once) or `disc_amount`. An order lowers each catalogue
//! product's stock by `qty × unit ratio`; an order booked `Batal` moves nothing, and
//! `PATCH` to `Batal` gives the stock back once: a second `PATCH` to `Batal` is
//! refused (422 `Order sudah dibatalkan`, a duplicate) and moves nothing, any other
//! change of a `Batal` order is 422 too, and an unknown order is 404 `Order tidak
//! ditemukan`. An `ext_order_no` already booked is refused (422 "has already been
//! taken") unless `refuse_repeated_ext_order_no` is off, in which case a second
//! order is booked (which is what a vendor that does not check would do).
//!
//! Its admin route (`/_sandbox/salesmania/…`, [`expire_tokens`] on a handle):
//! `POST expire-tokens` expires every bearer and team token issued so far.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use posbridge_core::Decimal;
use posbridge_core::money::round_money;
use posbridge_sandbox::body::{decimal, text};
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

/// The SalesMania username the imitation accepts by default (the connector's fixtures').
pub const DEFAULT_USERNAME: &str = "kasir@tokomaju.id";

/// The SalesMania password the imitation accepts by default (the connector's fixtures').
pub const DEFAULT_PASSWORD: &str = "Rahasia-123";

/// How long SalesMania bearer and team tokens live by default, in seconds: an hour
/// (SalesMania does not say; the answers carry it as `expires_in`).
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;

/// The SalesMania walk-in customer's id by default.
pub const DEFAULT_WALK_IN_CUSTOMER_ID: u64 = 3000;

/// The imitation's settings, its section of the sandbox's config (`"salesmania": {…}`):
/// the one account it accepts, its databases
/// and teams, how long its tokens live, the walk-in customer, the page size of lists,
/// and what it does with a repeated `ext_order_no`.
///
/// Every catalogue product is a SalesMania product, numbered from 501 in catalogue
/// order ([`salesmania_product_ids`]), with `ext_product_code` = the code,
/// `qty_on_hand` = the shared stock and one unit `PCS` of ratio 1 at the catalogue
/// price.
///
/// ```
/// use posbridge_salesmania::sandbox::ImitationConfig;
///
/// let config = ImitationConfig::default();
/// assert_eq!((config.username.as_str(), config.password.as_str()), ("kasir@tokomaju.id", "Rahasia-123"));
/// assert_eq!(config.databases[&2981], "Toko Maju");
/// assert_eq!((config.token_lifetime_secs, config.walk_in_customer_id), (3600, 3000));
/// let short: ImitationConfig = serde_json::from_str(r#"{"token_lifetime_secs": 2}"#)?;
/// assert_eq!(short.teams[&24728], "Tim Bandung");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImitationConfig {
    /// The only username accepted (HTTP Basic on `GET token`); default
    /// [`DEFAULT_USERNAME`].
    pub username: String,
    /// The only password accepted; default [`DEFAULT_PASSWORD`].
    pub password: String,
    /// The account's databases, id → name; default 2981 "Toko Maju" and 2990
    /// "Gudang Pusat". At least one. Every database sees the same data.
    pub databases: BTreeMap<u64, String>,
    /// The teams, id → name; default 24728 "Tim Bandung". At least one; the first is
    /// an order's team when it names none.
    pub teams: BTreeMap<u64, String>,
    /// How long a bearer or team token lives, in seconds (the answers'
    /// `expires_in`); default [`DEFAULT_TOKEN_LIFETIME_SECS`]. At least 1.
    pub token_lifetime_secs: u64,
    /// The walk-in customer's id (seeded as "Pelanggan Umum"); default
    /// [`DEFAULT_WALK_IN_CUSTOMER_ID`]. Below 3001.
    pub walk_in_customer_id: u64,
    /// Records per page of a paged list; default 25 (so the sample's 30 products
    /// come in two pages). At least 1.
    pub page_size: usize,
    /// Whether `POST orders` refuses an `ext_order_no` already booked (422 "The ext
    /// order no has already been taken.", as `docs/vendors/salesmania.md` lists);
    /// default `true`. `false` books a second order, as a vendor that does not check
    /// would (tests of a connector's own duplicate check use it).
    pub refuse_repeated_ext_order_no: bool,
    /// The name of a catalogue product's one unit (of ratio 1), by product code, for
    /// products not sold by the piece; every other product's unit is `PCS`. Default:
    /// `SUGAR-1KG` → `KG`, as in the connector's fixtures.
    pub units: BTreeMap<String, String>,
}

impl Default for ImitationConfig {
    fn default() -> Self {
        Self {
            username: DEFAULT_USERNAME.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            databases: BTreeMap::from([(2981, "Toko Maju".to_owned()), (2990, "Gudang Pusat".to_owned())]),
            teams: BTreeMap::from([(24728, "Tim Bandung".to_owned())]),
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            walk_in_customer_id: DEFAULT_WALK_IN_CUSTOMER_ID,
            page_size: 25,
            refuse_repeated_ext_order_no: true,
            units: BTreeMap::from([("SUGAR-1KG".to_owned(), "KG".to_owned())]),
        }
    }
}

/// The shared state and SalesMania's ledger, locked together.
type SandboxState<'a> = Locked<'a, Ledger>;

/// Its routes, after the prefix (`{id}` stands for any one segment in fault rules).
const ROUTES: &[&str] = &[
    TOKEN,
    DATABASES,
    TEAM_TOKEN,
    ORDERS,
    "extapi/v1.0/orders/{id}",
    CUSTOMERS,
    "extapi/v1.0/customers/{id}",
    PRODUCTS,
    "extapi/v1.0/products/{id}",
    VISITS,
    TEAMS,
];

const TOKEN: &str = "extapi/v1.0/token";
const DATABASES: &str = "extapi/v1.0/databases";
const TEAM_TOKEN: &str = "extapi/v1.0/team_token";
const ORDERS: &str = "extapi/v1.0/orders";
const CUSTOMERS: &str = "extapi/v1.0/customers";
const PRODUCTS: &str = "extapi/v1.0/products";
const VISITS: &str = "extapi/v1.0/visits";
const TEAMS: &str = "extapi/v1.0/teams";

/// The first id of a catalogue product: the catalogue's products are 501, 502, …
const FIRST_PRODUCT_ID: u64 = 501;
/// The first order id.
const FIRST_ORDER_ID: u64 = 9001;
/// The first id of a customer added through the API (above the seeded ones).
const FIRST_CUSTOMER_ID: u64 = 3001;
/// The first visit id.
const FIRST_VISIT_ID: u64 = 7001;

/// The order statuses SalesMania allows.
const STATUSES: &[&str] = &["Baru", "Diproses", "Terkirim", "Lunas", "Batal"];
const BATAL: &str = "Batal";
/// The refusal of a `PATCH` to `Batal` of an order already `Batal`.
const ALREADY_VOID: &str = "Order sudah dibatalkan";
const LUNAS: &str = "Lunas";

/// Every catalogue product's SalesMania id, by code: `501` for the first product,
/// `502` for the second, … in catalogue order (so the sample catalogue's `TEA-100`,
/// `MUG-1` and `SUGAR-1KG` are `501`, `502`, `503`, as in the connector's fixtures).
pub fn salesmania_product_ids(catalogue: &Catalogue) -> BTreeMap<String, u64> {
    catalogue
        .products
        .iter()
        .zip(FIRST_PRODUCT_ID..)
        .map(|(p, id)| (p.code.clone(), id))
        .collect()
}

/// The settings in force, checked.
#[derive(Debug, Clone)]
struct Settings {
    username: String,
    password: String,
    databases: Vec<(u64, String)>,
    teams: Vec<(u64, String)>,
    lifetime: Duration,
    lifetime_secs: u64,
    walk_in: u64,
    page_size: usize,
    refuse_repeats: bool,
    units: BTreeMap<String, String>,
}

impl Settings {
    /// Checks `config`: non-blank credentials, at least one database and one team, a
    /// token lifetime and a page size of at least 1.
    fn resolve(config: &ImitationConfig) -> Result<Self, SandboxError> {
        let invalid = |what: &str| Err(SandboxError::InvalidConfig(format!("salesmania.{what}")));
        if config.username.trim().is_empty() {
            return invalid("username is empty");
        }
        if config.password.is_empty() {
            return invalid("password is empty");
        }
        if config.databases.is_empty() {
            return invalid("databases is empty: no team token could be issued");
        }
        if config.teams.is_empty() {
            return invalid("teams is empty");
        }
        if config.token_lifetime_secs == 0 {
            return invalid("token_lifetime_secs must be at least 1");
        }
        if config.page_size == 0 {
            return invalid("page_size must be at least 1");
        }
        if config.units.values().any(|u| u.trim().is_empty()) {
            return invalid("units has an empty unit name");
        }
        if config.walk_in_customer_id >= FIRST_CUSTOMER_ID {
            return invalid("walk_in_customer_id must be below 3001 (ids from 3001 are the seeded customers)");
        }
        Ok(Self {
            username: config.username.clone(),
            password: config.password.clone(),
            databases: config.databases.iter().map(|(id, n)| (*id, n.clone())).collect(),
            teams: config.teams.iter().map(|(id, n)| (*id, n.clone())).collect(),
            lifetime: Duration::from_secs(config.token_lifetime_secs),
            lifetime_secs: config.token_lifetime_secs,
            walk_in: config.walk_in_customer_id,
            page_size: config.page_size,
            refuse_repeats: config.refuse_repeated_ext_order_no,
            units: config.units.clone(),
        })
    }

    fn default_team(&self) -> u64 {
        self.teams.first().map_or(0, |t| t.0)
    }
}

/// One unit of a product: its name, price and ratio to the base unit.
#[derive(Debug, Clone, PartialEq)]
struct Unit {
    name: String,
    price: Decimal,
    ratio: Decimal,
}

/// A SalesMania product. A catalogue product's quantity is the shared stock of its
/// catalogue code (`stock_code`); a product added through the API keeps its own.
#[derive(Debug, Clone)]
struct ProductRec {
    name: String,
    description: Value,
    sku: Value,
    tags: Vec<String>,
    status: bool,
    ext_product_code: Value,
    default_disc: String,
    units: Vec<Unit>,
    stock_code: Option<String>,
    own_qty: Decimal,
}

/// An order as booked: its Ext Order record, and the stock it took.
#[derive(Debug, Clone)]
struct OrderRec {
    ext: Map<String, Value>,
    status: String,
    customer_id: u64,
    /// `(product id, base quantity)` per line.
    moves: Vec<(u64, Decimal)>,
    taken: bool,
}

/// SalesMania's state beyond the shared catalogue: tokens, customers, products'
/// SalesMania fields, orders, visits. Part of the sandbox's state, under its one lock.
#[derive(Debug)]
struct Ledger {
    /// Bearer → expiry (`None`: beyond the clock's range).
    bearers: HashMap<String, Option<Instant>>,
    /// Team token → (database id, expiry).
    teams: HashMap<String, (u64, Option<Instant>)>,
    customers: BTreeMap<u64, Map<String, Value>>,
    products: BTreeMap<u64, ProductRec>,
    orders: BTreeMap<u64, OrderRec>,
    /// Order ids by `ext_order_no` (an index over `orders`: the look-up by reference
    /// every push starts with must not scan every order).
    orders_by_ext_no: HashMap<String, Vec<u64>>,
    visits: BTreeMap<u64, Value>,
    next_customer: u64,
    next_product: u64,
    next_order: u64,
    next_visit: u64,
    /// What [`reset`](Self::reset) restores.
    seed_customers: BTreeMap<u64, Map<String, Value>>,
    seed_products: BTreeMap<u64, ProductRec>,
    seed_visits: BTreeMap<u64, Value>,
    /// Tokens issued over the sandbox's life (never reset).
    issued: u64,
    rng: StdRng,
}

fn customer_record(id: u64, fields: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    for key in ["name", "address", "city", "phone", "ext_cust_no"] {
        m.insert(key.into(), Value::Null);
    }
    m.insert("location".into(), Value::Null);
    m.insert("status".into(), json!(true));
    m.insert("tags".into(), json!([]));
    if let Value::Object(f) = fields {
        m.extend(f);
    }
    m
}

impl Ledger {
    /// An empty ledger (what [`Ledger::new`] seeds).
    fn empty(seed: u64) -> Self {
        Self {
            bearers: HashMap::new(),
            teams: HashMap::new(),
            customers: BTreeMap::new(),
            products: BTreeMap::new(),
            orders: BTreeMap::new(),
            orders_by_ext_no: HashMap::new(),
            visits: BTreeMap::new(),
            next_customer: FIRST_CUSTOMER_ID,
            next_product: FIRST_PRODUCT_ID,
            next_order: FIRST_ORDER_ID,
            next_visit: FIRST_VISIT_ID,
            seed_customers: BTreeMap::new(),
            seed_products: BTreeMap::new(),
            seed_visits: BTreeMap::new(),
            issued: 0,
            rng: StdRng::seed_from_u64(seed ^ 0x7361_6c65_736d_616e),
        }
    }

    /// The seeded ledger: the walk-in customer, customers 3001 and 3002, one visit,
    /// and every catalogue product as a SalesMania product.
    fn new(settings: &Settings, catalogue: &Catalogue, seed: u64) -> Self {
        let mut l = Self::empty(seed);
        let team = settings.default_team();
        l.seed_customers.insert(
            settings.walk_in,
            customer_record(
                settings.walk_in,
                json!({"name": "Pelanggan Umum", "ext_cust_no": "WALK-IN"}),
            ),
        );
        l.seed_customers.insert(
            3001,
            customer_record(
                3001,
                json!({"name": "Warung Bu Sri", "address": "Jl. Melati 12", "city": "Bandung",
                       "phone": "081234567890", "ext_cust_no": "C-001",
                       "location": {"lat": -6.9147, "lon": 107.6098}, "tags": ["grosir"]}),
            ),
        );
        l.seed_customers.insert(
            3002,
            customer_record(3002, json!({"name": "Toko Sumber Rejeki", "city": "Cimahi"})),
        );
        for (p, id) in catalogue.products.iter().zip(FIRST_PRODUCT_ID..) {
            l.seed_products.insert(
                id,
                ProductRec {
                    name: p.name.clone(),
                    description: Value::Null,
                    sku: Value::Null,
                    tags: Vec::new(),
                    status: true,
                    ext_product_code: json!(p.code),
                    default_disc: String::new(),
                    units: vec![Unit {
                        name: settings.units.get(&p.code).cloned().unwrap_or_else(|| "PCS".into()),
                        price: p.price,
                        ratio: Decimal::ONE,
                    }],
                    stock_code: Some(p.code.clone()),
                    own_qty: Decimal::ZERO,
                },
            );
        }
        l.seed_visits.insert(
            FIRST_VISIT_ID,
            json!({"id": FIRST_VISIT_ID, "date": "2026-11-26", "customer_id": 3001, "team_id": team,
                   "visit_status": "Order", "description": null}),
        );
        l.reset();
        l
    }

    /// Restores the seeded customers, products and visits, forgets the orders, and
    /// revokes every token.
    fn reset(&mut self) {
        self.customers = self.seed_customers.clone();
        self.products = self.seed_products.clone();
        self.visits = self.seed_visits.clone();
        self.orders.clear();
        self.orders_by_ext_no.clear();
        self.next_customer = self
            .customers
            .keys()
            .max()
            .map_or(FIRST_CUSTOMER_ID, |m| m.saturating_add(1))
            .max(FIRST_CUSTOMER_ID);
        self.next_product = self
            .products
            .keys()
            .max()
            .map_or(FIRST_PRODUCT_ID, |m| m.saturating_add(1));
        self.next_order = FIRST_ORDER_ID;
        self.next_visit = self.visits.keys().max().map_or(FIRST_VISIT_ID, |m| m.saturating_add(1));
        self.bearers.clear();
        self.teams.clear();
    }

    /// Expires every bearer and team token issued so far: the next call with one is
    /// refused (401 `Unauthenticated.`) and clients must run the chain again.
    fn expire_tokens(&mut self, now: Instant) {
        for at in self.bearers.values_mut() {
            *at = Some(now);
        }
        for (_, at) in self.teams.values_mut() {
            *at = Some(now);
        }
    }

    fn token(&mut self, kind: &str) -> String {
        self.issued = self.issued.saturating_add(1);
        format!("{kind}-{}-{:016x}", self.issued, self.rng.random::<u64>())
    }

    fn bearer_ok(&self, bearer: &str, now: Instant) -> bool {
        self.bearers.get(bearer).is_some_and(|at| at.is_none_or(|at| now < at))
    }

    /// The database of a live team token.
    fn team_db(&self, team: &str, now: Instant) -> Option<u64> {
        self.teams
            .get(team)
            .filter(|(_, at)| at.is_none_or(|at| now < at))
            .map(|(db, _)| *db)
    }
}

/// The imitation, for [`posbridge_sandbox::Sandbox::start`].
pub fn imitation() -> Box<dyn VendorImitation> {
    Box::new(Imitation::default())
}

/// Expires every SalesMania bearer and team token `sandbox` issued so far, as if their
/// lifetime had passed, as `POST /_sandbox/salesmania/expire-tokens` does: the next
/// call with one is refused (401 `{"message": "Unauthenticated."}`) and clients must
/// run the chain (token, databases, team token) again. `false` when the sandbox does
/// not imitate SalesMania.
pub fn expire_tokens(sandbox: &SandboxHandle) -> bool {
    let Some(r) = sandbox.imitation::<Imitation>().and_then(|i| i.running.as_ref()) else {
        return false;
    };
    r.lock().ledger.expire_tokens(Instant::now());
    true
}

/// SalesMania as the sandbox imitates it (see [`imitation()`]).
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
        let settings = Settings::resolve(&config)?;
        let ledger = Ledger::new(&settings, setup.catalogue, setup.seed);
        self.running = Some(Arc::new(Running {
            app: setup.app.clone(),
            settings,
            ledger: Mutex::new(ledger),
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
                .route("/expire-tokens", axum::routing::post(admin_expire_tokens))
                .with_state(running.clone()),
            None => Router::new(),
        }
    }

    /// The reference a request carries, for the log: a new order's `ext_order_no`.
    fn reference_of(&self, route: &str, _headers: &HeaderMap, body: &[u8]) -> Option<String> {
        if route.trim_matches('/') != ORDERS {
            return None;
        }
        let body: Value = serde_json::from_slice(body).ok()?;
        text(body.get("ext_order_no")?)
    }

    /// Restores the seeded customers, products and visits, forgets the orders, and
    /// revokes every token.
    fn reset(&self) {
        if let Some(r) = &self.running {
            r.ledger
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .reset();
        }
    }

    fn connector_section(&self, vendor_url: &str) -> Value {
        let defaults = ImitationConfig::default();
        let (username, password, database, walk_in) = match &self.running {
            Some(r) => (
                r.settings.username.clone(),
                r.settings.password.clone(),
                r.settings.databases.first().map(|d| d.1.clone()).unwrap_or_default(),
                r.settings.walk_in,
            ),
            None => (
                defaults.username,
                defaults.password,
                defaults.databases.into_values().next().unwrap_or_default(),
                defaults.walk_in_customer_id,
            ),
        };
        json!({
            "base_url": vendor_url,
            "username": username,
            "password": password,
            "database": database,
            "walk_in_customer_id": walk_in,
        })
    }

    fn demo(&self) -> DemoProfile {
        DemoProfile {
            // The demo's POS sells everything by the piece (the imitation's default
            // sells sugar by the kilogram, as the connector's fixtures do).
            settings: Some(json!({"units": {}})),
            fault_writes: &[ORDERS],
            fault_reads: &[PRODUCTS],
            // SalesMania orders have no shipping field (the connector refuses shipping
            // rather than drop it).
            ships: false,
            ..DemoProfile::default()
        }
    }
}

async fn admin_expire_tokens(State(me): State<Arc<Running>>) -> Response {
    me.lock().ledger.expire_tokens(Instant::now());
    json_message(StatusCode::OK, "SalesMania tokens expired")
}

fn router() -> Router<Arc<Running>> {
    Router::new()
        .route(&format!("/{TOKEN}"), get(bearer_token))
        .route(&format!("/{DATABASES}"), get(databases))
        .route(&format!("/{TEAM_TOKEN}"), get(team_token))
        .route(&format!("/{ORDERS}"), get(list_orders).post(add_order))
        .route(&format!("/{ORDERS}/{{id}}"), get(get_order).patch(patch_order))
        .route(&format!("/{CUSTOMERS}"), get(list_customers).post(add_customer))
        .route(
            &format!("/{CUSTOMERS}/{{id}}"),
            get(get_customer).patch(patch_customer).delete(delete_customer),
        )
        .route(&format!("/{PRODUCTS}"), get(list_products).post(add_product))
        .route(
            &format!("/{PRODUCTS}/{{id}}"),
            get(get_product).patch(patch_product).delete(delete_product),
        )
        .route(&format!("/{VISITS}"), get(list_visits).post(add_visit))
        .route(&format!("/{TEAMS}"), get(list_teams))
}

// ---- answers -------------------------------------------------------------------------

fn ok(body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        body,
        applied: false,
    }
}

fn applied(body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        body,
        applied: true,
    }
}

fn unauthenticated() -> Reply {
    Reply::message(StatusCode::UNAUTHORIZED, "Unauthenticated.")
}

fn not_found(what: &str) -> Reply {
    Reply::message(StatusCode::NOT_FOUND, format!("{what} tidak ditemukan"))
}

/// Validation problems, by field, in the order found.
#[derive(Debug, Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push((field.into(), problem.into()));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_reply(self) -> Reply {
        let mut errors = Map::new();
        for (field, problem) in self.0 {
            if let Value::Array(list) = errors.entry(field).or_insert_with(|| json!([])) {
                list.push(Value::String(problem));
            }
        }
        Reply {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({"message": "The given data was invalid.", "errors": errors}),
            applied: false,
        }
    }
}

fn invalid(field: &str, problem: &str) -> Reply {
    let mut p = Problems::default();
    p.add(field, problem);
    p.into_reply()
}

/// A decimal as a JSON number (an integer when it is one), as the real vendor sends
/// it. The float is only this imitation's wire output, never money posbridge computes
/// with: the connector reads the number back through its shortest text, which gives
/// the same 2-dp amount for every value the sandbox produces.
fn num(d: Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0
        && let Ok(i) = i64::try_from(d.mantissa())
    {
        return json!(i);
    }
    d.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(d.to_string()), Value::Number)
}

/// The body as a JSON object (an empty body is `{}`).
fn object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(Reply::message(
            StatusCode::BAD_REQUEST,
            "The body must be a JSON object.",
        )),
        Err(_) => Err(Reply::message(StatusCode::BAD_REQUEST, "The body is not valid JSON.")),
    }
}

fn query(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The token of `Authorization: <scheme> <token>`.
fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (s, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (s.eq_ignore_ascii_case(scheme) && !token.is_empty()).then_some(token)
}

/// Decodes standard base64 (RFC 4648, padding optional).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
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
    Some(out)
}

/// Checks the Bearer header and the `team_token` parameter; the team token's database.
fn authorised(state: &SandboxState<'_>, headers: &HeaderMap, q: &HashMap<String, String>) -> Result<u64, Reply> {
    let now = Instant::now();
    let ledger = &state.ledger;
    let bearer_ok = authorization(headers, "bearer").is_some_and(|b| ledger.bearer_ok(b, now));
    let db = q.get("team_token").and_then(|t| ledger.team_db(t, now));
    match (bearer_ok, db) {
        (true, Some(db)) => Ok(db),
        _ => Err(unauthenticated()),
    }
}

/// `?page=` (from 1) and the Laravel page of `items`.
fn page(items: Vec<Value>, q: &HashMap<String, String>, per_page: usize, path: &str) -> Value {
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let current = q
        .get("page")
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip(current.saturating_sub(1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let next = (current < last).then(|| format!("/{VENDOR}/{path}?page={}", current.saturating_add(1)));
    json!({"data": data, "current_page": current, "last_page": last, "per_page": per_page,
           "total": total, "next_page_url": next})
}

fn parse_id(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

// ---- the chain -----------------------------------------------------------------------

async fn bearer_token(State(me): State<Arc<Running>>, headers: HeaderMap) -> Reply {
    let settings = &me.settings;
    let decoded = authorization(&headers, "basic")
        .and_then(base64_decode)
        .and_then(|b| String::from_utf8(b).ok());
    let good = decoded
        .as_deref()
        .and_then(|d| d.split_once(':'))
        .is_some_and(|(u, p)| u == settings.username && p == settings.password);
    if !good {
        return Reply::message(StatusCode::UNAUTHORIZED, "Username atau password salah");
    }
    let mut state = me.lock();
    let token = state.ledger.token("smb");
    let expires = Instant::now().checked_add(settings.lifetime);
    state.ledger.bearers.insert(token.clone(), expires);
    ok(json!({"token": token, "token_type": "Bearer", "expires_in": settings.lifetime_secs}))
}

async fn databases(State(me): State<Arc<Running>>, headers: HeaderMap) -> Reply {
    let state = me.lock();
    if !authorization(&headers, "bearer").is_some_and(|b| state.ledger.bearer_ok(b, Instant::now())) {
        return unauthenticated();
    }
    let list: Vec<Value> = me
        .settings
        .databases
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    ok(Value::Array(list))
}

async fn team_token(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let settings = &me.settings;
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if !authorization(&headers, "bearer").is_some_and(|b| state.ledger.bearer_ok(b, Instant::now())) {
        return unauthenticated();
    }
    let Some(db) = q.get("db_id").and_then(|d| parse_id(d)) else {
        return invalid("db_id", "The db id field is required.");
    };
    if !settings.databases.iter().any(|(id, _)| *id == db) {
        return Reply::message(StatusCode::NOT_FOUND, "Database tidak ditemukan");
    }
    let token = state.ledger.token("smt");
    let expires = Instant::now().checked_add(settings.lifetime);
    state.ledger.teams.insert(token.clone(), (db, expires));
    ok(json!({"team_token": token, "expires_in": settings.lifetime_secs}))
}

// ---- orders --------------------------------------------------------------------------

/// Parses a cascade string (`"55.05+3"`) the vendor's way: `+`-separated
/// percentages, each `digits[.digits]` within `0..=100`, spaces around parts allowed.
fn parse_cascade(s: &str) -> Option<Vec<Decimal>> {
    let mut out = Vec::new();
    for part in s.split('+') {
        let part = part.trim();
        let (int, frac) = part.split_once('.').unwrap_or((part, "0"));
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || !digits(frac) {
            return None;
        }
        let p: Decimal = part.parse().ok()?;
        if p > Decimal::ONE_HUNDRED {
            return None;
        }
        out.push(p);
    }
    Some(out)
}

/// `base` less each percentage in turn, exact (not rounded).
fn apply_cascade(base: Decimal, cascade: &[Decimal]) -> Option<Decimal> {
    cascade.iter().try_fold(base, |acc, p| {
        let keep = Decimal::ONE_HUNDRED.checked_sub(*p)?;
        acc.checked_mul(keep)?.checked_div(Decimal::ONE_HUNDRED)
    })
}

/// A discount field pair: the percent string and the amount. At most one may be
/// given (a zero amount or an empty string counts as absent).
enum Disc {
    None,
    Percent(String, Vec<Decimal>),
    Amount(Decimal),
}

fn read_discount(
    fields: &Map<String, Value>,
    percent_key: &str,
    amount_key: &str,
    prefix: &str,
    p: &mut Problems,
) -> Disc {
    let percent = match fields.get(percent_key) {
        None | Some(Value::Null) => None,
        Some(v) => match text(v) {
            Some(s) if s.trim().is_empty() => None,
            Some(s) => match parse_cascade(&s) {
                Some(c) => Some((s, c)),
                None => {
                    p.add(
                        format!("{prefix}{percent_key}"),
                        format!("Format diskon {s} tidak valid (contoh: 55.05+3)"),
                    );
                    return Disc::None;
                }
            },
            None => {
                p.add(format!("{prefix}{percent_key}"), "The field must be a string.");
                return Disc::None;
            }
        },
    };
    let amount = match fields.get(amount_key) {
        None | Some(Value::Null) => None,
        Some(v) => match decimal(v) {
            Some(a) if a < Decimal::ZERO => {
                p.add(format!("{prefix}{amount_key}"), "The field must be at least 0.");
                return Disc::None;
            }
            Some(a) if a.is_zero() => None,
            Some(a) => Some(a),
            None => {
                p.add(format!("{prefix}{amount_key}"), "The field must be a number.");
                return Disc::None;
            }
        },
    };
    match (percent, amount) {
        (Some(_), Some(_)) => {
            p.add(
                format!("{prefix}{percent_key}"),
                format!("Isi salah satu: {percent_key} atau {amount_key}"),
            );
            Disc::None
        }
        (Some((s, c)), None) => Disc::Percent(s, c),
        (None, Some(a)) => Disc::Amount(a),
        (None, None) => Disc::None,
    }
}

/// `base` less the discount, rounded once; `None` when the discount exceeds it or
/// the arithmetic overflows.
fn discounted(base: Decimal, disc: &Disc) -> Option<Decimal> {
    let exact = match disc {
        Disc::None => base,
        Disc::Percent(_, c) => apply_cascade(base, c)?,
        Disc::Amount(a) => base.checked_sub(*a)?,
    };
    (exact >= Decimal::ZERO).then(|| round_money(exact))
}

/// A date `YYYY-MM-DD` (or a date and time starting with one): the date.
fn date_of(v: Option<&Value>) -> Option<String> {
    let s = text(v?)?;
    let d = s.get(..10)?;
    let b = d.as_bytes();
    let ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    ok.then(|| d.to_owned())
}

fn id_field(fields: &Map<String, Value>, key: &str) -> Option<Option<u64>> {
    match fields.get(key) {
        None | Some(Value::Null) => Some(None),
        Some(v) => text(v).and_then(|t| parse_id(&t)).map(Some),
    }
}

fn text_or_empty(fields: &Map<String, Value>, key: &str) -> String {
    fields.get(key).and_then(text).unwrap_or_default()
}

/// A validated order: its Ext Order record, status and stock moves.
struct NewOrder {
    ext_order_no: String,
    ext: Map<String, Value>,
    status: String,
    customer_id: u64,
    moves: Vec<(u64, Decimal)>,
}

fn read_order(
    settings: &Settings,
    state: &SandboxState<'_>,
    db: u64,
    fields: &Map<String, Value>,
) -> Result<NewOrder, Reply> {
    let ledger = &state.ledger;
    let mut p = Problems::default();
    let date = date_of(fields.get("date"));
    if date.is_none() {
        p.add("date", "The date field is required (YYYY-MM-DD).");
    }
    let customer = match id_field(fields, "customer_id") {
        Some(Some(id)) if ledger.customers.contains_key(&id) => ledger.customers.get(&id),
        Some(None) => {
            p.add("customer_id", "The customer id field is required.");
            None
        }
        _ => {
            p.add("customer_id", "Customer tidak ditemukan");
            None
        }
    };
    let team = match id_field(fields, "team_id") {
        Some(None) => settings.default_team(),
        Some(Some(t)) if settings.teams.iter().any(|(id, _)| *id == t) => t,
        _ => {
            p.add("team_id", "Tim tidak ditemukan");
            0
        }
    };
    let status = match fields.get("status") {
        None | Some(Value::Null) => "Baru".to_owned(),
        Some(v) => match text(v).and_then(|s| STATUSES.iter().find(|k| k.eq_ignore_ascii_case(s.trim()))) {
            Some(s) => (*s).to_owned(),
            None => {
                p.add(
                    "status",
                    format!("Status harus salah satu dari: {}", STATUSES.join(", ")),
                );
                String::new()
            }
        },
    };
    let ext_order_no = text_or_empty(fields, "ext_order_no");
    if settings.refuse_repeats && !ext_order_no.is_empty() && ledger.orders_by_ext_no.contains_key(&ext_order_no) {
        p.add("ext_order_no", "The ext order no has already been taken.");
    }
    let lines = match fields.get("ordered_products") {
        Some(Value::Array(a)) if !a.is_empty() => a.as_slice(),
        _ => {
            p.add("ordered_products", "The ordered products field is required.");
            &[]
        }
    };
    let mut out_lines = Vec::with_capacity(lines.len());
    let mut moves = Vec::with_capacity(lines.len());
    let mut subtotal = Decimal::ZERO;
    for (i, line) in lines.iter().enumerate() {
        let at = |f: &str| format!("ordered_products.{i}.{f}");
        let Some(line) = line.as_object() else {
            p.add(format!("ordered_products.{i}"), "The line must be an object.");
            continue;
        };
        let product = match id_field(line, "product_id") {
            Some(Some(id)) => match ledger.products.get(&id) {
                Some(prod) => Some((id, prod)),
                None => {
                    p.add(at("product_id"), "Produk tidak ditemukan");
                    None
                }
            },
            Some(None) => {
                p.add(at("product_id"), "The product id field is required.");
                None
            }
            None => {
                p.add(at("product_id"), "Produk tidak ditemukan");
                None
            }
        };
        let qty = match line.get("qty").and_then(decimal) {
            Some(q) if q > Decimal::ZERO => Some(q),
            _ => {
                p.add(at("qty"), "The qty must be a number greater than 0.");
                None
            }
        };
        let price = match line.get("price").and_then(decimal) {
            Some(x) if x >= Decimal::ZERO => Some(x),
            _ => {
                p.add(at("price"), "The price must be a number of at least 0.");
                None
            }
        };
        let unit = product.and_then(|(_, prod)| {
            let wanted = line.get("unit").and_then(text);
            let found = match &wanted {
                None => prod.units.iter().find(|u| u.ratio == Decimal::ONE),
                Some(w) => prod.units.iter().find(|u| u.name.eq_ignore_ascii_case(w.trim())),
            };
            if found.is_none() {
                p.add(
                    at("unit"),
                    format!("Satuan {} tidak ditemukan untuk produk ini", wanted.unwrap_or_default()),
                );
            }
            found
        });
        let disc = read_discount(line, "item_disc_percent", "item_disc_amount", &at(""), &mut p);
        let (Some((id, prod)), Some(qty), Some(price), Some(unit)) = (product, qty, price, unit) else {
            continue;
        };
        let Some(total) = qty.checked_mul(price).and_then(|gross| discounted(gross, &disc)) else {
            p.add(at("item_disc_amount"), "Diskon melebihi nilai baris");
            continue;
        };
        subtotal = subtotal.checked_add(total).unwrap_or(Decimal::MAX);
        moves.push((id, qty.checked_mul(unit.ratio).unwrap_or(Decimal::MAX)));
        let (pct, amt) = match &disc {
            Disc::Percent(s, _) => (s.clone(), Decimal::ZERO),
            Disc::Amount(a) => (String::new(), *a),
            Disc::None => (String::new(), Decimal::ZERO),
        };
        out_lines.push(json!({
            "ext_product_code": prod.ext_product_code.clone(),
            "ext_product_id": 0,
            "qty": num(qty),
            "price": num(price),
            "item_disc_percent": pct,
            "item_disc_amount": num(amt),
            "unit": {"name": unit.name, "ratio": num(unit.ratio)},
            "description": text_or_empty(line, "description"),
            "sm_product_id": id,
            "ext_order_line_id": line.get("ext_order_line_id").cloned().unwrap_or(Value::Null),
            "total": num(total),
        }));
    }
    let order_disc = read_discount(fields, "disc_percent", "disc_amount", "", &mut p);
    let total = if p.is_empty() {
        match discounted(subtotal, &order_disc) {
            Some(t) => t,
            None => {
                p.add("disc_amount", "Diskon melebihi total order");
                Decimal::ZERO
            }
        }
    } else {
        Decimal::ZERO
    };
    if let Some(v) = fields.get("total_paid").filter(|v| !v.is_null()) {
        match decimal(v) {
            Some(paid) if paid >= Decimal::ZERO && (!p.is_empty() || paid <= total) => {}
            Some(_) => p.add("total_paid", "Total bayar melebihi total order"),
            None => p.add("total_paid", "The total paid must be a number."),
        }
    }
    if !p.is_empty() {
        return Err(p.into_reply());
    }
    let customer_id = customer.and_then(|c| c.get("id")).and_then(Value::as_u64).unwrap_or(0);
    let (disc_percent, disc_amount) = match &order_disc {
        Disc::Percent(s, _) => (s.clone(), Decimal::ZERO),
        Disc::Amount(a) => (String::new(), *a),
        Disc::None => (String::new(), Decimal::ZERO),
    };
    let ext_cust_no = customer
        .and_then(|c| c.get("ext_cust_no"))
        .and_then(text)
        .unwrap_or_default();
    let mut ext = Map::new();
    ext.insert("ext_cust_no".into(), json!(ext_cust_no));
    ext.insert("ext_cust_id".into(), json!(0));
    ext.insert("ext_salesman_number".into(), json!(""));
    ext.insert("ext_order_id".into(), json!(ext_order_no));
    ext.insert("trans_date".into(), json!(date.unwrap_or_default()));
    ext.insert("disc_amount".into(), num(disc_amount));
    ext.insert("disc_percent".into(), json!(disc_percent));
    ext.insert("description".into(), json!(text_or_empty(fields, "description")));
    ext.insert("sm_company_id".into(), json!(db));
    ext.insert("sm_customer_id".into(), json!(customer_id));
    ext.insert("sm_team_id".into(), json!(team));
    ext.insert("sm_status".into(), json!(status));
    ext.insert("ordered_product".into(), Value::Array(out_lines));
    ext.insert("subtotal".into(), num(subtotal));
    ext.insert("total".into(), num(total));
    ext.insert(
        "total_paid".into(),
        fields.get("total_paid").and_then(decimal).map_or(json!(0), num),
    );
    ext.insert(
        "visit_status".into(),
        fields.get("visit_status").cloned().unwrap_or(Value::Null),
    );
    ext.insert(
        "ext_order_status_name".into(),
        json!(text_or_empty(fields, "ext_order_status_name")),
    );
    Ok(NewOrder {
        ext_order_no,
        ext,
        status,
        customer_id,
        moves,
    })
}

/// Moves the stock of `moves` by `sign` (−1 takes, +1 gives back): catalogue
/// products in the shared catalogue, the others in their own record.
fn move_stock(state: &mut SandboxState<'_>, moves: &[(u64, Decimal)], sign: Decimal) -> bool {
    let mut shared: Vec<(String, Decimal)> = Vec::new();
    let mut own: Vec<(u64, Decimal)> = Vec::new();
    for (id, qty) in moves {
        let Some(delta) = qty.checked_mul(sign) else {
            return false;
        };
        match state.ledger.products.get(id).map(|p| p.stock_code.clone()) {
            Some(Some(code)) => shared.push((code, delta)),
            Some(None) => own.push((*id, delta)),
            None => {}
        }
    }
    let refs: Vec<(&str, Decimal)> = shared.iter().map(|(c, d)| (c.as_str(), *d)).collect();
    if state.adjust_stock(&refs).is_err() {
        return false;
    }
    for (id, delta) in own {
        if let Some(p) = state.ledger.products.get_mut(&id) {
            p.own_qty = p.own_qty.checked_add(delta).unwrap_or(p.own_qty);
        }
    }
    true
}

fn order_value(id: u64, o: &OrderRec) -> Value {
    let mut ext = o.ext.clone();
    ext.insert("sm_order_id".into(), json!(id));
    ext.insert("sm_status".into(), json!(o.status));
    Value::Object(ext)
}

async fn add_order(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery, body: Bytes) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    let db = match authorised(&state, &headers, &q) {
        Ok(db) => db,
        Err(r) => return r,
    };
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let order = match read_order(&me.settings, &state, db, &fields) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let take = order.status != BATAL;
    if take && !move_stock(&mut state, &order.moves, Decimal::NEGATIVE_ONE) {
        return invalid("ordered_products", "Jumlah stok di luar jangkauan");
    }
    let id = state.ledger.next_order;
    state.ledger.next_order = id.saturating_add(1);
    let rec = OrderRec {
        ext: order.ext,
        status: order.status,
        customer_id: order.customer_id,
        moves: order.moves,
        taken: take,
    };
    let doc = order_value(id, &rec);
    state.ledger.orders.insert(id, rec);
    state
        .ledger
        .orders_by_ext_no
        .entry(order.ext_order_no.clone())
        .or_default()
        .push(id);
    state.store_document(VENDOR, DocKind::Sale, &order.ext_order_no, doc);
    applied(json!({}))
}

async fn list_orders(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let ledger = &state.ledger;
    match q.get("ext_order_no") {
        Some(no) => ok(Value::Array(
            ledger
                .orders_by_ext_no
                .get(no.as_str())
                .into_iter()
                .flatten()
                .filter_map(|id| Some(order_value(*id, ledger.orders.get(id)?)))
                .collect(),
        )),
        None => ok(page(
            ledger.orders.iter().map(|(id, o)| order_value(*id, o)).collect(),
            &q,
            me.settings.page_size,
            ORDERS,
        )),
    }
}

async fn get_order(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    match parse_id(&id).and_then(|id| Some((id, state.ledger.orders.get(&id)?))) {
        Some((id, o)) => ok(order_value(id, o)),
        None => not_found("Order"),
    }
}

async fn patch_order(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r.into_response();
    }
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some((id, current, taken, moves)) = parse_id(&id).and_then(|id| {
        let o = state.ledger.orders.get(&id)?;
        Some((id, o.status.clone(), o.taken, o.moves.clone()))
    }) else {
        return not_found("Order").into_response();
    };
    let wanted = match fields.get("status").and_then(text) {
        Some(s) => match STATUSES.iter().find(|k| k.eq_ignore_ascii_case(s.trim())) {
            Some(k) => (*k).to_owned(),
            None => {
                return invalid(
                    "status",
                    &format!("Status harus salah satu dari: {}", STATUSES.join(", ")),
                )
                .into_response();
            }
        },
        None => return invalid("status", "The status field is required.").into_response(),
    };
    if wanted == BATAL && current == BATAL {
        // A repeated void: refused (nothing moves), as a duplicate.
        return Reply::message(StatusCode::UNPROCESSABLE_ENTITY, ALREADY_VOID).into_response();
    }
    if wanted == current {
        return ok(json!({})).into_response();
    }
    if wanted == BATAL && current == LUNAS {
        return Reply::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Order yang sudah Lunas tidak dapat dibatalkan",
        )
        .into_response();
    }
    if current == BATAL {
        return Reply::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Order yang sudah Batal tidak dapat diubah",
        )
        .into_response();
    }
    let give_back = wanted == BATAL && taken;
    if give_back && !move_stock(&mut state, &moves, Decimal::ONE) {
        return invalid("status", "Jumlah stok di luar jangkauan").into_response();
    }
    let mut reference = None;
    if let Some(o) = state.ledger.orders.get_mut(&id) {
        o.status = wanted.clone();
        if give_back {
            o.taken = false;
        }
        if let Some(name) = fields.get("ext_order_status_name").and_then(text) {
            o.ext.insert("ext_order_status_name".into(), json!(name));
        }
        let no = o
            .ext
            .get("ext_order_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        reference = Some((no, order_value(id, o)));
    }
    if let Some((no, doc)) = &reference {
        state.store_document(VENDOR, DocKind::Sale, no, doc.clone());
    }
    drop(state);
    let mut response = applied(json!({})).into_response();
    let refs = reference
        .map(|(no, _)| vec![format!("{no}#{wanted}")])
        .unwrap_or_default();
    response.extensions_mut().insert(AppliedReferences(refs));
    response
}

// ---- customers -----------------------------------------------------------------------

const CUSTOMER_TEXT: &[&str] = &["name", "address", "city", "phone", "ext_cust_no"];

/// Checks and copies a customer body's fields onto `record`; `creating` requires a
/// name.
fn apply_customer(
    ledger: &Ledger,
    id: Option<u64>,
    fields: &Map<String, Value>,
    record: &mut Map<String, Value>,
    creating: bool,
) -> Result<(), Reply> {
    let mut p = Problems::default();
    let name = fields.get("name").filter(|v| !v.is_null());
    match name.map(text) {
        None if creating => p.add("name", "The name field is required."),
        Some(Some(n)) if n.trim().is_empty() => p.add("name", "The name field is required."),
        Some(None) => p.add("name", "The name must be a string."),
        _ => {}
    }
    for key in CUSTOMER_TEXT {
        if let Some(v) = fields.get(*key)
            && !v.is_null()
            && text(v).is_none()
        {
            p.add(*key, format!("The {key} must be a string."));
        }
    }
    if let Some(no) = fields.get("ext_cust_no").and_then(text).filter(|n| !n.is_empty())
        && ledger
            .customers
            .iter()
            .any(|(other, c)| Some(*other) != id && c.get("ext_cust_no").and_then(text).as_deref() == Some(no.as_str()))
    {
        p.add("ext_cust_no", "The ext cust no has already been taken.");
    }
    if !p.is_empty() {
        return Err(p.into_reply());
    }
    if let Some(phone) = fields.get("phone").and_then(text)
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')'))
    {
        return Err(Reply::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nomor telepon tidak valid",
        ));
    }
    let tags = match fields.get("tags") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.iter().filter_map(text).collect::<Vec<_>>()),
        Some(Value::String(s)) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => return Err(invalid("tags", "The tags must be a list.")),
    };
    for key in CUSTOMER_TEXT {
        if let Some(v) = fields.get(*key) {
            record.insert(
                (*key).to_owned(),
                v.as_null()
                    .map_or_else(|| text(v).map_or(Value::Null, Value::String), |()| Value::Null),
            );
        }
    }
    if let Some(tags) = tags {
        record.insert("tags".into(), json!(tags));
    }
    for key in ["location", "status"] {
        if let Some(v) = fields.get(key) {
            record.insert(key.into(), v.clone());
        }
    }
    Ok(())
}

async fn list_customers(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let all = state.ledger.customers.values();
    match q.get("ext_cust_no") {
        Some(no) => ok(Value::Array(
            all.filter(|c| c.get("ext_cust_no").and_then(text).as_deref() == Some(no.as_str()))
                .map(|c| Value::Object(c.clone()))
                .collect(),
        )),
        None => ok(page(
            all.map(|c| Value::Object(c.clone())).collect(),
            &q,
            me.settings.page_size,
            CUSTOMERS,
        )),
    }
}

async fn add_customer(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let id = state.ledger.next_customer;
    let mut record = customer_record(id, Value::Null);
    if let Err(r) = apply_customer(&state.ledger, None, &fields, &mut record, true) {
        return r;
    }
    state.ledger.next_customer = id.saturating_add(1);
    state.ledger.customers.insert(id, record.clone());
    applied(Value::Object(record))
}

async fn get_customer(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    match parse_id(&id).and_then(|id| state.ledger.customers.get(&id)) {
        Some(c) => ok(Value::Object(c.clone())),
        None => not_found("Customer"),
    }
}

async fn patch_customer(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some((id, mut record)) = parse_id(&id).and_then(|id| Some((id, state.ledger.customers.get(&id)?.clone())))
    else {
        return not_found("Customer");
    };
    if let Err(r) = apply_customer(&state.ledger, Some(id), &fields, &mut record, false) {
        return r;
    }
    state.ledger.customers.insert(id, record.clone());
    applied(Value::Object(record))
}

async fn delete_customer(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let Some(id) = parse_id(&id).filter(|id| state.ledger.customers.contains_key(id)) else {
        return not_found("Customer");
    };
    if state.ledger.orders.values().any(|o| o.customer_id == id) {
        return Reply::message(StatusCode::CONFLICT, "Customer masih memiliki order");
    }
    state.ledger.customers.remove(&id);
    applied(json!({"message": "Customer berhasil dihapus"}))
}

// ---- products ------------------------------------------------------------------------

fn product_value(state: &SandboxState<'_>, id: u64, p: &ProductRec) -> Value {
    let qty = match &p.stock_code {
        Some(code) => state.product(code).map_or(Decimal::ZERO, |c| c.stock),
        None => p.own_qty,
    };
    let units: Vec<Value> = p
        .units
        .iter()
        .map(|u| json!({"name": u.name, "price": num(u.price), "ratio": num(u.ratio)}))
        .collect();
    json!({"id": id, "name": p.name, "description": p.description, "sku": p.sku, "tags": p.tags,
           "status": p.status, "ext_product_code": p.ext_product_code, "default_disc": p.default_disc,
           "qty_on_hand": num(qty), "product_units": units})
}

/// Checks a product body and applies it to `rec`; `creating` requires every
/// required field. Returns the new `qty_on_hand`, if given.
fn apply_product(fields: &Map<String, Value>, rec: &mut ProductRec, creating: bool) -> Result<Option<Decimal>, Reply> {
    let mut p = Problems::default();
    let name = match fields.get("name").filter(|v| !v.is_null()).map(text) {
        None if creating => {
            p.add("name", "The name field is required.");
            None
        }
        None => None,
        Some(Some(n)) if n.trim().is_empty() => {
            p.add("name", "The name field is required.");
            None
        }
        Some(Some(n)) if n.chars().count() > 200 => {
            p.add("name", "The name may not be greater than 200 characters.");
            None
        }
        Some(Some(n)) => Some(n),
        Some(None) => {
            p.add("name", "The name must be a string.");
            None
        }
    };
    let qty = match fields.get("qty_on_hand").filter(|v| !v.is_null()) {
        None if creating => {
            p.add("qty_on_hand", "The qty on hand field is required.");
            None
        }
        None => None,
        Some(v) => match decimal(v) {
            Some(q) => Some(q),
            None => {
                p.add("qty_on_hand", "The qty on hand must be a number.");
                None
            }
        },
    };
    let units = match fields.get("product_units").filter(|v| !v.is_null()) {
        None if creating => {
            p.add("product_units", "The product units field is required.");
            None
        }
        None => None,
        Some(Value::Array(list)) => {
            let mut units = Vec::new();
            for (i, u) in list.iter().enumerate() {
                let name = u.get("name").and_then(text).filter(|n| !n.trim().is_empty());
                let price = u.get("price").and_then(decimal).filter(|x| *x >= Decimal::ZERO);
                let ratio = u.get("ratio").and_then(decimal).filter(|x| *x > Decimal::ZERO);
                match (name, price, ratio) {
                    (Some(name), Some(price), Some(ratio)) => units.push(Unit { name, price, ratio }),
                    _ => p.add(
                        format!("product_units.{i}"),
                        "Each unit needs a name, a price of at least 0 and a ratio above 0.",
                    ),
                }
            }
            if !units.iter().any(|u| u.ratio == Decimal::ONE) {
                p.add("product_units", "At least one unit must have ratio 1.");
            }
            Some(units)
        }
        Some(_) => {
            p.add("product_units", "The product units must be a list.");
            None
        }
    };
    let default_disc = match fields.get("default_disc").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match text(v) {
            Some(s) if s.trim().is_empty() || parse_cascade(&s).is_some() => Some(s),
            _ => {
                p.add("default_disc", "Format diskon tidak valid (contoh: 55.55+3)");
                None
            }
        },
    };
    if !p.is_empty() {
        return Err(p.into_reply());
    }
    if let Some(n) = name {
        rec.name = n;
    }
    if let Some(u) = units {
        rec.units = u;
    }
    if let Some(d) = default_disc {
        rec.default_disc = d;
    }
    for (key, slot) in [
        ("description", &mut rec.description),
        ("sku", &mut rec.sku),
        ("ext_product_code", &mut rec.ext_product_code),
    ] {
        if let Some(v) = fields.get(key) {
            *slot = v.clone();
        }
    }
    if let Some(Value::Array(tags)) = fields.get("tags") {
        rec.tags = tags.iter().filter_map(text).collect();
    }
    if let Some(Value::Bool(b)) = fields.get("status") {
        rec.status = *b;
    }
    Ok(qty)
}

async fn list_products(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let all: Vec<Value> = state
        .ledger
        .products
        .iter()
        .map(|(id, p)| product_value(&state, *id, p))
        .collect();
    ok(page(all, &q, me.settings.page_size, PRODUCTS))
}

async fn add_product(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut rec = ProductRec {
        name: String::new(),
        description: Value::Null,
        sku: Value::Null,
        tags: Vec::new(),
        status: true,
        ext_product_code: Value::Null,
        default_disc: String::new(),
        units: Vec::new(),
        stock_code: None,
        own_qty: Decimal::ZERO,
    };
    match apply_product(&fields, &mut rec, true) {
        Ok(qty) => rec.own_qty = qty.unwrap_or_default(),
        Err(r) => return r,
    }
    if code_taken(&state, None, &rec) {
        return invalid("ext_product_code", "The ext product code has already been taken.");
    }
    let id = state.ledger.next_product;
    state.ledger.next_product = id.saturating_add(1);
    let value = product_value(&state, id, &rec);
    state.ledger.products.insert(id, rec);
    Reply {
        status: StatusCode::CREATED,
        body: value,
        applied: true,
    }
}

async fn get_product(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    match parse_id(&id).and_then(|id| Some((id, state.ledger.products.get(&id)?))) {
        Some((id, p)) => ok(product_value(&state, id, p)),
        None => not_found("Produk"),
    }
}

async fn patch_product(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some((id, mut rec)) = parse_id(&id).and_then(|id| Some((id, state.ledger.products.get(&id)?.clone()))) else {
        return not_found("Produk");
    };
    let qty = match apply_product(&fields, &mut rec, false) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if code_taken(&state, Some(id), &rec) {
        return invalid("ext_product_code", "The ext product code has already been taken.");
    }
    if let Some(qty) = qty {
        match &rec.stock_code {
            Some(code) => {
                let current = state.product(code).map_or(Decimal::ZERO, |p| p.stock);
                let delta = qty.checked_sub(current).unwrap_or_default();
                if state.adjust_stock(&[(code.as_str(), delta)]).is_err() {
                    return invalid("qty_on_hand", "Jumlah stok di luar jangkauan");
                }
            }
            None => rec.own_qty = qty,
        }
    }
    let value = product_value(&state, id, &rec);
    state.ledger.products.insert(id, rec);
    applied(value)
}

async fn delete_product(
    State(me): State<Arc<Running>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Path(id): Path<String>,
) -> Reply {
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let Some(id) = parse_id(&id).filter(|id| state.ledger.products.contains_key(id)) else {
        return not_found("Produk");
    };
    if state
        .ledger
        .orders
        .values()
        .any(|o| o.moves.iter().any(|(p, _)| *p == id))
    {
        return Reply::message(StatusCode::CONFLICT, "Produk masih dipakai di order");
    }
    state.ledger.products.remove(&id);
    applied(json!({"message": "Produk berhasil dihapus"}))
}

/// Whether another product (not `id`) has `rec`'s `ext_product_code`: SalesMania's
/// order lines are resolved by it, so the sandbox keeps it unique.
fn code_taken(state: &SandboxState<'_>, id: Option<u64>, rec: &ProductRec) -> bool {
    let Some(code) = rec.ext_product_code.as_str().map(str::trim).filter(|c| !c.is_empty()) else {
        return false;
    };
    state
        .ledger
        .products
        .iter()
        .any(|(other, p)| Some(*other) != id && p.ext_product_code.as_str().map(str::trim) == Some(code))
}

// ---- visits and teams ----------------------------------------------------------------

async fn list_visits(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let all = state.ledger.visits.values().cloned().collect();
    ok(page(all, &q, me.settings.page_size, VISITS))
}

async fn add_visit(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery, body: Bytes) -> Reply {
    let settings = &me.settings;
    let q = query(raw.as_deref());
    let mut state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let fields = match object(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut p = Problems::default();
    let date = date_of(fields.get("date"));
    if date.is_none() {
        p.add("date", "The date field is required (YYYY-MM-DD).");
    }
    let customer = match id_field(&fields, "customer_id") {
        Some(Some(id)) if state.ledger.customers.contains_key(&id) => id,
        Some(None) => {
            p.add("customer_id", "The customer id field is required.");
            0
        }
        _ => {
            p.add("customer_id", "Customer tidak ditemukan");
            0
        }
    };
    let team = match id_field(&fields, "team_id") {
        Some(None) => settings.default_team(),
        Some(Some(t)) if settings.teams.iter().any(|(id, _)| *id == t) => t,
        _ => {
            p.add("team_id", "Tim tidak ditemukan");
            0
        }
    };
    if !p.is_empty() {
        return p.into_reply();
    }
    let id = state.ledger.next_visit;
    state.ledger.next_visit = id.saturating_add(1);
    let visit = json!({"id": id, "date": date, "customer_id": customer, "team_id": team,
                       "visit_status": fields.get("visit_status").and_then(text).unwrap_or_else(|| "Kunjungan".into()),
                       "description": fields.get("description").cloned().unwrap_or(Value::Null)});
    state.ledger.visits.insert(id, visit);
    applied(json!({"id": id}))
}

async fn list_teams(State(me): State<Arc<Running>>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw.as_deref());
    let state = me.lock();
    if let Err(r) = authorised(&state, &headers, &q) {
        return r;
    }
    let all = me
        .settings
        .teams
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    ok(page(all, &q, me.settings.page_size, TEAMS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn cascades_parse_the_vendors_way() {
        assert_eq!(parse_cascade("55.05+3"), Some(vec![d("55.05"), d("3")]));
        assert_eq!(parse_cascade(" 5 + 2.5 "), Some(vec![d("5"), d("2.5")]));
        for bad in ["", "+3", "5+", "-5", "1e2", "55,05", ".5", "5.", "100.01", "abc"] {
            assert_eq!(parse_cascade(bad), None, "{bad}");
        }
    }

    #[test]
    fn line_totals_round_once_half_away_from_zero() {
        let c = parse_cascade("55.05+3").unwrap_or_default();
        // 45000 → 20227.50 → 19620.675 → 19620.68
        assert_eq!(
            discounted(d("45000"), &Disc::Percent(String::new(), c)),
            Some(d("19620.68"))
        );
        let c = parse_cascade("5+2.5").unwrap_or_default();
        assert_eq!(
            discounted(d("31620.68"), &Disc::Percent(String::new(), c)),
            Some(d("29288.65"))
        );
        assert_eq!(discounted(d("10"), &Disc::Amount(d("11"))), None);
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(
            base64_decode("a2FzaXJAdG9rb21hanUuaWQ6UmFoYXNpYS0xMjM=").as_deref(),
            Some(&b"kasir@tokomaju.id:Rahasia-123"[..])
        );
        assert_eq!(base64_decode("!!"), None);
    }

    #[test]
    fn numbers_are_exact_for_money() {
        assert_eq!(num(d("4500.00")), json!(4500));
        assert_eq!(num(d("19620.68")), json!(19620.68));
        assert_eq!(num(d("80.5")), json!(80.5));
    }

    #[test]
    fn catalogue_products_are_501_and_up() {
        let ids = salesmania_product_ids(&Catalogue::sample());
        assert_eq!((ids["TEA-100"], ids["MUG-1"], ids["SUGAR-1KG"]), (501, 502, 503));
    }
}
