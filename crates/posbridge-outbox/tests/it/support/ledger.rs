//! A vendor imitation for dependent deliveries: it takes sales, returns, voids and
//! payments, keeps every document it applied in order (in memory, and in a file when
//! given, so a worker killed with SIGKILL leaves its record behind), answers a repeat
//! of a key it holds as a duplicate (a re-send is safe), refuses a return, void or
//! payment of a sale it does not hold, and meets faults a script decides.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use posbridge_core::{
    Capabilities, Connector, Disposition, DuplicatePolicy, Error, Operation, Payments, PushReceipt, Result, Return,
    Returns, Sale, SalePayment, SaleRef, Sales, Vendor, Void, Voids,
};

/// What a request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing: applied and answered.
    None,
    /// A 503 before anything is applied.
    Unavailable,
    /// A 429 before anything is applied.
    RateLimited,
    /// Applied, then the connection drops: the worker cannot tell.
    DropAfterApply,
}

type FaultScript = dyn Fn(&str, usize) -> Fault + Send + Sync;

/// One applied document, in the vendor's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `sale`, `return`, `void` or `payment`.
    pub kind: String,
    /// The outbox's key for it (`S-1`, `return:R-1`, `void:S-1`, `payment:P-1`).
    pub key: String,
    /// For a dependent, the sale's POS reference as the vendor found it.
    pub sale: Option<String>,
}

/// The imitation.
pub struct Ledger {
    name: &'static str,
    caps: Capabilities,
    returns: bool,
    needs_vendor_id: bool,
    delay: Duration,
    fault: Box<FaultScript>,
    calls: AtomicUsize,
    file: Option<PathBuf>,
    /// Every application, in order (also those the duplicate check prevented are not here).
    pub applied: Mutex<Vec<Applied>>,
    /// Every request, by key.
    pub requests: Mutex<Vec<String>>,
    /// Dependents refused because the sale was not held yet.
    pub refused_before_sale: AtomicUsize,
    held: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("name", &self.name).finish()
    }
}

impl Ledger {
    /// A vendor named `name` that takes everything (returns only when `returns`),
    /// treats every repeat as a duplicate, and meets no fault.
    pub fn new(name: &'static str, returns: bool) -> Self {
        let mut ops = vec![Operation::PushSale, Operation::VoidSale, Operation::AddPayment];
        if returns {
            ops.push(Operation::PushReturn);
        }
        let mut caps = Capabilities::new(ops);
        caps.sale_duplicates = DuplicatePolicy::Ignored;
        caps.return_duplicates = DuplicatePolicy::Ignored;
        caps.void_duplicates = DuplicatePolicy::Ignored;
        caps.payment_duplicates = DuplicatePolicy::Ignored;
        Self {
            name,
            caps,
            returns,
            needs_vendor_id: false,
            delay: Duration::ZERO,
            fault: Box::new(|_, _| Fault::None),
            calls: AtomicUsize::new(0),
            file: None,
            applied: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            refused_before_sale: AtomicUsize::new(0),
            held: Mutex::new(HashSet::new()),
        }
    }

    /// Dependents must carry the sale's vendor id (`V-` and the sale's reference), as
    /// Asalta needs.
    pub fn needing_vendor_ids(mut self) -> Self {
        self.needs_vendor_id = true;
        self
    }

    /// The duplicate policy of every kind.
    pub fn with_policy(mut self, policy: DuplicatePolicy) -> Self {
        self.caps.sale_duplicates = policy;
        self.caps.return_duplicates = policy;
        self.caps.void_duplicates = policy;
        self.caps.payment_duplicates = policy;
        self
    }

    /// `fault(key, n)` decides what the n-th request (from 0) meets.
    pub fn with_faults(mut self, fault: impl Fn(&str, usize) -> Fault + Send + Sync + 'static) -> Self {
        self.fault = Box::new(fault);
        self
    }

    /// Each request takes this long.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Applications are also appended to `file` (one `kind\tkey\tsale` line each), and
    /// those already there are held.
    pub fn with_file(mut self, file: PathBuf) -> Self {
        for a in read_file(&file) {
            self.held.lock().unwrap().insert(a.key);
        }
        self.file = Some(file);
        self
    }

    /// Holds a sale pushed by other means.
    pub fn hold(&self, key: &str) {
        self.held.lock().unwrap().insert(key.to_owned());
    }

    /// How many requests carried `key`.
    pub fn requested(&self, key: &str) -> usize {
        self.requests.lock().unwrap().iter().filter(|k| *k == key).count()
    }

    /// The keys applied, in order.
    pub fn order(&self) -> Vec<String> {
        self.applied.lock().unwrap().iter().map(|a| a.key.clone()).collect()
    }

    async fn apply(&self, kind: &str, key: String, sale: Option<&SaleRef>) -> Result<PushReceipt> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.requests.lock().unwrap().push(key.clone());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let fault = (self.fault)(&key, n);
        match fault {
            Fault::Unavailable => {
                return Err(Error::Unavailable {
                    vendor: self.name,
                    status: Some(503),
                    message: "maintenance".into(),
                });
            }
            Fault::RateLimited => {
                return Err(Error::RateLimited {
                    vendor: self.name,
                    retry_after: Some(Duration::from_millis(5)),
                });
            }
            Fault::None | Fault::DropAfterApply => {}
        }
        let receipt = PushReceipt {
            reference: key.clone(),
            vendor_id: Some(format!("V-{key}")),
            disposition: Disposition::Created,
            differences: Vec::new(),
        };
        let sale_key = match sale {
            None => None,
            Some(s) => {
                let key = match (s.reference(), s.vendor_id()) {
                    (_, Some(v)) if v.starts_with("V-") => Some(v[2..].to_owned()),
                    (_, Some(v)) => return Err(not_found(self.name, &format!("no sale with id {v}"))),
                    (Some(_), None) if self.needs_vendor_id => {
                        return Err(Error::invalid(
                            "sale.vendor_id",
                            "this vendor needs the sale's vendor id",
                        ));
                    }
                    (Some(r), None) => Some(r.to_owned()),
                    (None, None) => None,
                };
                let Some(key) = key else {
                    return Err(Error::invalid("sale", "names no sale"));
                };
                if !self.held.lock().unwrap().contains(&key) {
                    self.refused_before_sale.fetch_add(1, Ordering::SeqCst);
                    return Err(not_found(self.name, &format!("no sale {key}")));
                }
                Some(key)
            }
        };
        {
            let mut held = self.held.lock().unwrap();
            if held.contains(&key) {
                return Ok(PushReceipt {
                    disposition: Disposition::Duplicate,
                    ..receipt
                });
            }
            held.insert(key.clone());
            let applied = Applied {
                kind: kind.to_owned(),
                key: key.clone(),
                sale: sale_key,
            };
            if let Some(file) = &self.file {
                let line = format!(
                    "{}\t{}\t{}\n",
                    applied.kind,
                    applied.key,
                    applied.sale.as_deref().unwrap_or("")
                );
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
                    .unwrap();
                f.write_all(line.as_bytes()).unwrap();
                f.sync_data().unwrap();
            }
            self.applied.lock().unwrap().push(applied);
        }
        if fault == Fault::DropAfterApply {
            return Err(Error::Uncertain {
                vendor: self.name,
                operation: "push",
                message: "the connection dropped after the request was sent".into(),
                source: None,
            });
        }
        Ok(receipt)
    }
}

fn not_found(vendor: &'static str, message: &str) -> Error {
    Error::NotFound {
        vendor,
        what: message.to_owned(),
    }
}

/// The applications a ledger file holds, in order.
pub fn read_file(file: &std::path::Path) -> Vec<Applied> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let kind = parts.next()?.to_owned();
            let key = parts.next()?.to_owned();
            let sale = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
            Some(Applied { kind, key, sale })
        })
        .collect()
}

/// Checks a vendor's record against what was enqueued: `expected` lists each document
/// key with the sale it depends on (`None` for sales), in enqueue order. Returns
/// (lost, applied twice, out of order).
pub fn audit(applied: &[Applied], expected: &[(String, Option<String>)]) -> (usize, usize, usize) {
    let mut position = std::collections::HashMap::new();
    let mut twice = 0;
    for (i, a) in applied.iter().enumerate() {
        if position.insert(a.key.clone(), i).is_some() {
            twice += 1;
        }
    }
    let lost = expected.iter().filter(|(k, _)| !position.contains_key(k)).count();
    let mut out_of_order = 0;
    // A dependent after its sale, and after every dependent of the same sale enqueued before it.
    let mut last_of_sale: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (key, sale) in expected {
        let (Some(&at), Some(sale)) = (position.get(key), sale.as_deref()) else {
            continue;
        };
        let before = last_of_sale.get(sale).copied().or_else(|| position.get(sale).copied());
        if before.is_none_or(|b| b > at) {
            out_of_order += 1;
        }
        last_of_sale.insert(sale, at);
    }
    (lost, twice, out_of_order)
}

impl Vendor for Ledger {
    fn vendor(&self) -> &'static str {
        self.name
    }
}

#[async_trait]
impl Sales for Ledger {
    async fn push_sale(&self, sale: &Sale) -> Result<PushReceipt> {
        self.apply("sale", sale.reference.clone(), None).await
    }
}

#[async_trait]
impl Returns for Ledger {
    async fn push_return(&self, ret: &Return) -> Result<PushReceipt> {
        self.apply("return", format!("return:{}", ret.reference), Some(&ret.sale))
            .await
    }
}

#[async_trait]
impl Voids for Ledger {
    async fn void_sale(&self, void: &Void) -> Result<PushReceipt> {
        let key = format!("void:{}", void.sale.reference().unwrap_or_default());
        self.apply("void", key, Some(&void.sale)).await
    }
}

#[async_trait]
impl Payments for Ledger {
    async fn add_payment(&self, p: &SalePayment) -> Result<PushReceipt> {
        let key = format!("payment:{}", p.payment.reference.as_deref().unwrap_or_default());
        self.apply("payment", key, Some(&p.sale)).await
    }
}

impl Connector for Ledger {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn sales(&self) -> Option<&dyn Sales> {
        Some(self)
    }
    fn returns(&self) -> Option<&dyn Returns> {
        self.returns.then_some(self as &dyn Returns)
    }
    fn voids(&self) -> Option<&dyn Voids> {
        Some(self)
    }
    fn payments(&self) -> Option<&dyn Payments> {
        Some(self)
    }
}

/// A return of `qty` of `P-1` (at 10.00) from `sale`, refunded in cash.
pub fn ret(reference: &str, sale: &str, qty: u32) -> Return {
    serde_json::from_value(serde_json::json!({
        "reference": reference,
        "sale": {"reference": sale},
        "issued_at": "2026-11-27T10:00:00+08:00",
        "lines": [{"product_code": "P-1", "quantity": qty.to_string(), "unit_price": "10.00"}],
        "refunds": [{"amount": format!("{}.00", qty * 10), "method": "cash"}],
    }))
    .unwrap()
}

/// A void of `sale`.
pub fn void(sale: &str) -> Void {
    Void::of(SaleRef::pos(sale))
}

/// A payment `reference` of 5.00 to `sale`.
pub fn payment(reference: &str, sale: &str) -> SalePayment {
    serde_json::from_value(serde_json::json!({
        "sale": {"reference": sale},
        "payment": {"amount": "5.00", "method": "bank_transfer", "reference": reference},
    }))
    .unwrap()
}
