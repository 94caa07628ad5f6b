//! What the outbox's integration tests share: a database of each kind, a scripted
//! connector, sample sales.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use posbridge_core::{
    Capabilities, Connector, Disposition, DuplicatePolicy, Error, Operation, PushReceipt, Result, Sale, Sales, Vendor,
};
use sqlx::Connection;

pub mod ledger;

/// A database the outbox can open, removed (or left to the temp dir) afterwards.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite file.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
    TestDb { url, _dir: Some(dir) }
}

/// A fresh PostgreSQL database on the cluster `cargo xtask test` started, or `None`
/// (said out loud) when there is none. With `POSBRIDGE_REQUIRE_POSTGRES=1` (CI) a
/// missing cluster fails the test instead.
pub async fn postgres() -> Option<TestDb> {
    let Ok(admin) = std::env::var("POSBRIDGE_TEST_POSTGRES_URL") else {
        if std::env::var("POSBRIDGE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("POSBRIDGE_REQUIRE_POSTGRES=1 but POSBRIDGE_TEST_POSTGRES_URL is not set");
        }
        eprintln!("SKIPPED: PostgreSQL not available (set POSBRIDGE_TEST_POSTGRES_URL; `cargo xtask test` does)");
        return None;
    };
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "outbox_{}_{}_{}",
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
    Some(TestDb {
        url: format!("{base}/{name}"),
        _dir: None,
    })
}

/// A valid sale of `qty` × 10.00.
pub fn sale(reference: &str, qty: u32) -> Sale {
    serde_json::from_value(serde_json::json!({
        "reference": reference,
        "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "P-1", "quantity": qty.to_string(), "unit_price": "10.00"}],
        "total": format!("{}.00", qty * 10),
    }))
    .unwrap()
}

type Script = dyn Fn(&Sale, usize) -> Result<PushReceipt> + Send + Sync;

/// A connector whose every push answers what a script says, counting what it saw.
pub struct Scripted {
    name: &'static str,
    caps: Capabilities,
    script: Box<Script>,
    /// Every push, by reference, in order.
    pub pushes: Mutex<Vec<String>>,
    /// The size of every request (1 per push_sale, the batch size per push_sales).
    pub requests: Mutex<Vec<usize>>,
    calls: AtomicUsize,
}

impl std::fmt::Debug for Scripted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripted").field("name", &self.name).finish()
    }
}

impl Scripted {
    /// `script(sale, n)` answers the n-th push (from 0) of any sale.
    pub fn new(
        name: &'static str,
        policy: DuplicatePolicy,
        max_batch: Option<usize>,
        script: impl Fn(&Sale, usize) -> Result<PushReceipt> + Send + Sync + 'static,
    ) -> Arc<Self> {
        let mut caps = Capabilities::new([Operation::PushSale]);
        caps.sale_duplicates = policy;
        caps.max_batch = max_batch;
        Arc::new(Self {
            name,
            caps,
            script: Box::new(script),
            pushes: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
        })
    }

    /// Accepts everything.
    pub fn accepting(name: &'static str, policy: DuplicatePolicy) -> Arc<Self> {
        Self::new(name, policy, None, |s, _| Ok(created(s)))
    }

    /// How many times `reference` was pushed.
    pub fn pushed(&self, reference: &str) -> usize {
        self.pushes.lock().unwrap().iter().filter(|r| *r == reference).count()
    }

    fn answer(&self, sale: &Sale) -> Result<PushReceipt> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.pushes.lock().unwrap().push(sale.reference.clone());
        (self.script)(sale, n)
    }
}

/// A receipt for a new record.
pub fn created(sale: &Sale) -> PushReceipt {
    PushReceipt {
        reference: sale.reference.clone(),
        vendor_id: Some(format!("V-{}", sale.reference)),
        disposition: Disposition::Created,
        differences: Vec::new(),
    }
}

impl Vendor for Scripted {
    fn vendor(&self) -> &'static str {
        self.name
    }
}

#[async_trait]
impl Sales for Scripted {
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        self.requests.lock().unwrap().push(1);
        self.answer(sale)
    }

    async fn push_sales(&self, sales: &[Sale]) -> Vec<Result<PushReceipt>> {
        self.requests.lock().unwrap().push(sales.len());
        sales.iter().map(|s| self.answer(s)).collect()
    }
}

impl Connector for Scripted {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }
}

/// The errors the scripts use.
pub fn rejected(vendor: &'static str, code: Option<&str>, message: &str) -> Error {
    Error::Rejected {
        vendor,
        status: Some(400),
        code: code.map(str::to_owned),
        message: message.to_owned(),
    }
}
