//! What the server's integration tests share: a server on loopback over a SQLite
//! outbox, with keys for an operator and two tenants, a fake vendor, and a faulty
//! demo day.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use posbridge_core::{
    Capabilities, Connector, Disposition, DuplicatePolicy, Error, Operation, PushReceipt, Result, Sale, Sales, Stock,
    StockLevel, Vendor,
};
use posbridge_outbox::{Outbox, OutboxConfig, RunOptions, Target};
use posbridge_server::keys::{self, Role};
use posbridge_server::{Server, ServerConfig};
use secrecy::ExposeSecret;

/// A vendor that books every sale but those whose reference says otherwise:
/// `DEAD-…` is refused (dead), `UNC-…` has an uncertain outcome.
pub struct Fake {
    name: &'static str,
    caps: Capabilities,
    /// Every push, by reference.
    pub pushes: Mutex<Vec<String>>,
    /// How many times its stock was read.
    pub stock_reads: AtomicUsize,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake").field("name", &self.name).finish()
    }
}

impl Fake {
    pub fn new(name: &'static str) -> Arc<Self> {
        let mut caps = Capabilities::new([Operation::PushSale, Operation::StockLevels]);
        caps.sale_duplicates = DuplicatePolicy::Unknown;
        Arc::new(Self {
            name,
            caps,
            pushes: Mutex::new(Vec::new()),
            stock_reads: AtomicUsize::new(0),
        })
    }

    /// How many times `reference` was pushed.
    pub fn pushed(&self, reference: &str) -> usize {
        self.pushes.lock().unwrap().iter().filter(|r| *r == reference).count()
    }
}

impl Vendor for Fake {
    fn vendor(&self) -> &'static str {
        self.name
    }
}

#[async_trait]
impl Sales for Fake {
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        self.pushes.lock().unwrap().push(sale.reference.clone());
        if sale.reference.starts_with("DEAD-") {
            return Err(Error::Rejected {
                vendor: self.name,
                status: Some(400),
                code: Some("E42".into()),
                message: format!("product P-1 is not sold at this outlet ({})", sale.reference),
            });
        }
        if sale.reference.starts_with("UNC-") {
            return Err(Error::Uncertain {
                vendor: self.name,
                operation: "push_sale",
                message: "the connection closed after the request was sent".into(),
                source: None,
            });
        }
        Ok(PushReceipt::new(
            sale.reference.clone(),
            Some(format!("V-{}", sale.reference)),
            Disposition::Created,
        ))
    }
}

impl Stock for Fake {
    fn stock_levels(&self) -> futures_util::stream::BoxStream<'_, Result<StockLevel>> {
        self.stock_reads.fetch_add(1, Ordering::SeqCst);
        let levels = ["P-1", "P-2"].map(|code| {
            Ok(StockLevel {
                product_code: code.to_owned(),
                name: None,
                quantity: rust_decimal::Decimal::new(1250, 2),
                location: None,
            })
        });
        Box::pin(futures_util::stream::iter(levels))
    }
}

impl Connector for Fake {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }
    fn stock(&self) -> Option<&dyn Stock> {
        Some(self)
    }
}

/// A server on loopback.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub server: Server,
    /// The operator's key.
    pub operator_key: String,
    /// One key per tenant (`colombo`, `kandy`).
    pub tenant_keys: BTreeMap<String, String>,
    /// The fake vendors by target.
    pub vendors: BTreeMap<Target, Arc<Fake>>,
    /// An HTTP client.
    pub http: reqwest::Client,
    pub db_url: String,
    _dir: Option<tempfile::TempDir>,
    _task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// The tenant key of `tenant`.
    pub fn key(&self, tenant: &str) -> &str {
        &self.tenant_keys[tenant]
    }

    /// `path` on this server.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A request with `key`.
    pub fn get(&self, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.http.get(self.at(path)).bearer_auth(key)
    }

    /// A JSON POST with `key`.
    pub fn post(&self, path: &str, key: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.http.post(self.at(path)).bearer_auth(key).json(body)
    }
}

/// The targets every test server has: colombo at `fake` and `fake2`, kandy at `fake`.
pub fn targets() -> Vec<Target> {
    vec![
        Target::for_tenant("colombo", "fake"),
        Target::for_tenant("colombo", "fake2"),
        Target::for_tenant("kandy", "fake"),
    ]
}

/// A server over a fresh SQLite outbox.
pub async fn start() -> TestServer {
    start_with(ServerConfig::default()).await
}

/// A server over a fresh SQLite outbox, configured.
pub async fn start_with(config: ServerConfig) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
    let mut ts = start_on(&url, config).await;
    ts._dir = Some(dir);
    ts
}

/// A server over the outbox at `db_url`, making fresh keys.
pub async fn start_on(db_url: &str, config: ServerConfig) -> TestServer {
    start_custom(db_url, config, Vec::new()).await
}

/// A server over the outbox at `db_url` with webhooks, making fresh keys.
pub async fn start_custom(
    db_url: &str,
    config: ServerConfig,
    webhooks: Vec<(String, posbridge_server::WebhookConfig)>,
) -> TestServer {
    let mut outbox = Outbox::open(db_url, OutboxConfig::default()).await.unwrap();
    let mut builder_targets = Vec::new();
    let mut vendors = BTreeMap::new();
    for target in targets() {
        let name: &'static str = if target.vendor == "fake" { "fake" } else { "fake2" };
        let fake = Fake::new(name);
        vendors.insert(target.clone(), fake.clone());
        outbox = outbox.with_target(target.clone(), fake.clone());
        builder_targets.push((target, fake));
    }
    let mut builder = Server::builder(outbox).config(config);
    for (target, fake) in builder_targets {
        builder = builder.target(target, fake);
    }
    for (tenant, w) in webhooks {
        builder = builder.webhook(tenant, w);
    }
    let server = builder.build().await.unwrap();
    let operator = keys::create(server.outbox(), Role::Operator, "ops").await.unwrap();
    let mut tenant_keys = BTreeMap::new();
    for tenant in ["colombo", "kandy"] {
        let k = keys::create(server.outbox(), Role::tenant(tenant), "till")
            .await
            .unwrap();
        tenant_keys.insert(tenant.to_owned(), k.secret.expose_secret().to_owned());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server.router();
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TestServer {
        url: format!("http://{addr}"),
        server,
        operator_key: operator.secret.expose_secret().to_owned(),
        tenant_keys,
        vendors,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        db_url: db_url.to_owned(),
        _dir: None,
        _task: task,
    }
}

/// A valid sale of `qty` × 10.00 as JSON.
pub fn sale_json(reference: &str, qty: u32) -> serde_json::Value {
    serde_json::json!({
        "reference": reference,
        "issued_at": "2026-12-07T10:15:00+05:30",
        "lines": [{"product_code": "P-1", "quantity": qty.to_string(), "unit_price": "10.00"}],
        "total": format!("{}.00", qty * 10),
    })
}

/// A return of one unit of P-1 from `sale`.
pub fn return_json(reference: &str, sale: &str) -> serde_json::Value {
    serde_json::json!({
        "reference": reference,
        "sale": {"reference": sale},
        "issued_at": "2026-12-07T12:00:00+05:30",
        "lines": [{"product_code": "P-1", "quantity": "1", "unit_price": "10.00"}],
        "total": "10.00",
    })
}

/// A void of `sale`.
pub fn void_json(sale: &str) -> serde_json::Value {
    serde_json::json!({"sale": {"reference": sale}, "reason": "keyed twice"})
}

/// A later card payment of 5.00 against `sale`.
pub fn payment_json(reference: &str, sale: &str) -> serde_json::Value {
    serde_json::json!({
        "sale": {"reference": sale},
        "payment": {"reference": reference, "amount": "5.00", "method": "card"},
    })
}

/// The reference of the i-th sale of a demo day: every 7th is refused by the fake
/// vendor (ends dead), every 11th has an uncertain outcome.
pub fn demo_reference(i: usize) -> String {
    if i % 7 == 3 {
        format!("DEAD-{i}")
    } else if i % 11 == 5 {
        format!("UNC-{i}")
    } else {
        format!("S-{i}")
    }
}

/// Posts `n` sales for colombo (to both its vendors) through the API, then runs a
/// worker until nothing is due.
pub async fn demo_day(ts: &TestServer, n: usize) {
    let key = ts.key("colombo").to_owned();
    for i in 0..n {
        let r = ts
            .post("/v1/sales", &key, &sale_json(&demo_reference(i), 1 + (i % 3) as u32))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    run_until_idle(ts).await;
}

/// Runs a worker over the server's outbox until nothing is due.
pub async fn run_until_idle(ts: &TestServer) {
    let options = RunOptions {
        until_idle: true,
        ..RunOptions::default()
    };
    ts.server.outbox().run(options, std::future::pending()).await.unwrap();
}

/// A fresh PostgreSQL database on the cluster `cargo xtask test` started, or `None`
/// (said out loud) when there is none. With `POSBRIDGE_REQUIRE_POSTGRES=1` (CI) a
/// missing cluster fails the test instead.
pub async fn postgres() -> Option<String> {
    use sqlx::Connection as _;
    let Ok(admin) = std::env::var("POSBRIDGE_TEST_POSTGRES_URL") else {
        if std::env::var("POSBRIDGE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("POSBRIDGE_REQUIRE_POSTGRES=1 but POSBRIDGE_TEST_POSTGRES_URL is not set");
        }
        eprintln!("SKIPPED: PostgreSQL not available (set POSBRIDGE_TEST_POSTGRES_URL; `cargo xtask test` does)");
        return None;
    };
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "server_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_millisecond()
    );
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}
