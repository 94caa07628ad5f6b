//! What every vendor imitation shares: the catalogue and its stock, the documents
//! each vendor received, the request log, the fault rules and the seeded random number
//! generator that decides them ([`SharedState`]).
//!
//! All of it sits behind one mutex ([`Shared::lock`]), so a vendor request validates
//! and applies in one step: nothing else can see half a sale. A vendor's own state (its
//! sessions, tokens, records beyond the documents) is its imitation's business, kept in
//! a mutex of its own that is always locked after this one ([`Shared::lock_with`]).
//! Nothing here names a vendor.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use posbridge_core::Decimal;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::SandboxError;
use crate::faults::{self, FaultRule, Plan};

/// One product of the catalogue: what every vendor imitation sells and stocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The product code (SKU) the POS sends, e.g. `TEA-100`.
    pub code: String,
    /// The product's name, e.g. `Ceylon tea 100g`.
    pub name: String,
    /// The selling price. The sandbox does not check sale prices against it (a POS
    /// may sell at any price); it is there for vendors whose APIs report it.
    pub price: Decimal,
    /// Quantity on hand; a sale lowers it, a purchase raises it. It may go negative
    /// (shops oversell).
    pub stock: Decimal,
}

/// The products the sandbox knows, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// The products, in the order stock lists report them.
    pub products: Vec<Product>,
}

impl Default for Catalogue {
    fn default() -> Self {
        Self::sample()
    }
}

/// `(code, name, price, stock)` rows of the sample catalogue.
const SAMPLE: &[(&str, &str, &str, &str)] = &[
    ("TEA-100", "Ceylon tea 100g", "450.00", "118"),
    ("MUG-1", "Mug", "1200.00", "23"),
    ("SUGAR-1KG", "Sugar 1kg", "330.00", "12.5"),
    ("CANDY-1", "Milk toffee", "10.00", "500"),
    ("TEA-400", "Ceylon tea 400g", "1650.00", "40"),
    ("RICE-SAMBA-5KG", "Samba rice 5kg", "1450.00", "35"),
    ("RICE-NADU-5KG", "Nadu rice 5kg", "1100.00", "42"),
    ("DHAL-1KG", "Red dhal 1kg", "395.00", "60"),
    ("FLOUR-1KG", "Wheat flour 1kg", "210.00", "80"),
    ("COCO-OIL-1L", "Coconut oil 1L", "780.00", "30"),
    ("COCO-MILK-400", "Coconut milk powder 400g", "620.00", "25"),
    ("MILK-PWD-400", "Full cream milk powder 400g", "1090.00", "48"),
    ("CURRY-PWD-100", "Roasted curry powder 100g", "240.00", "64"),
    ("CHILLI-PWD-100", "Chilli powder 100g", "190.00", "70"),
    ("CINNAMON-50", "Ceylon cinnamon sticks 50g", "350.00", "36"),
    ("KITHUL-750", "Kithul treacle 750ml", "1350.00", "12"),
    ("SAMBOL-200", "Seeni sambol 200g", "420.00", "18"),
    ("BISCUIT-MARIE", "Marie biscuits 400g", "330.00", "90"),
    ("KOPI-200", "Kopi-O coffee powder 200g", "560.00", "22"),
    ("MILO-1KG", "Malted chocolate drink 1kg", "2450.00", "15"),
    ("MAGGI-CURRY-5", "Instant curry noodles 5-pack", "650.00", "55"),
    ("KAYA-400", "Kaya coconut jam 400g", "890.00", "20"),
    ("SAMBAL-BELACAN", "Sambal belacan 180g", "540.00", "16"),
    ("SOAP-BAR", "Sandalwood soap bar", "160.00", "120"),
    ("TOOTHPASTE-120", "Herbal toothpaste 120g", "295.00", "44"),
    ("BATTERY-AA4", "AA batteries 4-pack", "680.00", "33"),
    ("BULB-LED-9W", "LED bulb 9W", "750.00", "27"),
    ("EGG-10", "Eggs, tray of 10", "520.00", "40"),
    ("BREAD-450", "Sandwich bread 450g", "180.00", "24"),
    ("WATER-1.5L", "Mineral water 1.5L", "130.00", "200"),
];

impl Catalogue {
    /// The built-in sample: 30 products a Sri Lankan or Malaysian grocery might
    /// stock, prices in rupees. It includes the codes the vendors' conformance
    /// fixtures use: `TEA-100` ("Ceylon tea 100g", 450.00, 118 in stock), `MUG-1` ("Mug",
    /// 1200.00, 23), `SUGAR-1KG` ("Sugar 1kg", 12.5) and `CANDY-1`.
    pub fn sample() -> Self {
        let products = SAMPLE
            .iter()
            .filter_map(|(code, name, price, stock)| {
                Some(Product {
                    code: (*code).to_owned(),
                    name: (*name).to_owned(),
                    price: price.parse().ok()?,
                    stock: stock.parse().ok()?,
                })
            })
            .collect();
        Self { products }
    }

    /// Reads a catalogue from a JSON file: `{"products": [{"code", "name", "price",
    /// "stock"}, …]}` or just the array. Prices and stock may be numbers or strings.
    pub fn from_json_file(path: &Path) -> Result<Self, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::CatalogueFile {
            path: path.to_owned(),
            source,
        })?;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Wrapped(Catalogue),
            Bare(Vec<Product>),
        }
        let catalogue = match serde_json::from_str::<Either>(&text) {
            Ok(Either::Wrapped(c)) => c,
            Ok(Either::Bare(products)) => Catalogue { products },
            Err(_) => {
                // Report the error of the documented shape, not serde's "did not match
                // any variant".
                serde_json::from_str::<Catalogue>(&text).map_err(|source| SandboxError::CatalogueParse {
                    path: path.to_owned(),
                    source,
                })?
            }
        };
        catalogue.validate()?;
        Ok(catalogue)
    }

    /// Checks that every product has a code and that no code repeats.
    pub(crate) fn validate(&self) -> Result<(), SandboxError> {
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.products.iter().enumerate() {
            if p.code.trim().is_empty() {
                return Err(SandboxError::InvalidCatalogue(format!("product #{i} has no code")));
            }
            if !seen.insert(p.code.as_str()) {
                return Err(SandboxError::InvalidCatalogue(format!(
                    "product code {:?} appears more than once",
                    p.code
                )));
            }
        }
        Ok(())
    }
}

/// The documents one vendor imitation received, by reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VendorDocuments {
    /// Sales, by the reference the POS gave them (the vendor's own reference field):
    /// the request as parsed, without credentials. A vendor that upserts keeps the
    /// latest version; what replaces what is each imitation's rule (see
    /// `docs/sandbox.md`).
    pub sales: BTreeMap<String, Value>,
    /// Purchases (goods received notes), by reference.
    pub purchases: BTreeMap<String, Value>,
    /// Payments of sales, by the payment's own reference, for vendors that take
    /// payments separately from the sale. Absent from older JSON,
    /// where it reads as empty.
    #[serde(default)]
    pub payments: BTreeMap<String, Value>,
}

/// What the sandbox holds now: the same data as `GET /_sandbox/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// The catalogue with current stock, in catalogue order.
    pub products: Vec<Product>,
    /// The documents received, by vendor (every vendor the sandbox imitates has an
    /// entry, empty until it receives something).
    pub documents: BTreeMap<String, VendorDocuments>,
}

impl StateSnapshot {
    /// The product with `code`, if the catalogue has it.
    pub fn product(&self, code: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.code == code)
    }

    /// The current stock of `code`, if the catalogue has it.
    pub fn stock(&self, code: &str) -> Option<Decimal> {
        self.product(code).map(|p| p.stock)
    }
}

/// One request a vendor route received, as the log keeps it (`GET /_sandbox/requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The request's number, from 1, in order of arrival.
    pub seq: u64,
    /// The vendor, from the path prefix.
    pub vendor: String,
    /// The HTTP method.
    pub method: String,
    /// The full path, e.g. `/<vendor>/api/push-sale`.
    pub path: String,
    /// The status answered; `None` when the connection was dropped (an injected drop,
    /// or the client went away before the answer).
    pub status: Option<u16>,
    /// The injected fault, if one triggered: `latency`, `rate_limit`, `status_503`,
    /// `drop_before_apply` or `drop_after_apply` (when latency and another fault both
    /// trigger, the other fault's name).
    pub fault: Option<String>,
    /// Whether the request changed the state (stored a document, moved stock); for a
    /// batch, whether any of its documents was applied. Logins and token refreshes are
    /// never applied.
    pub applied: bool,
    /// The document reference the body carried, if any, as the vendor's imitation reads
    /// it ([`VendorImitation::reference_of`](crate::VendorImitation::reference_of)); for
    /// a batch, its first document's (see `applied_references`).
    pub reference: Option<String>,
    /// The documents this request applied, by reference, in request order: empty when
    /// nothing was applied; the request's `reference` when `applied`, unless the
    /// handler said which ([`AppliedReferences`](crate::AppliedReferences): every
    /// document of a batch it applied, a void as `<reference>#void`). Counting a
    /// reference over the log tells how many times that document was applied. Absent
    /// from older JSON, where it reads as empty.
    #[serde(default)]
    pub applied_references: Vec<String>,
}

/// The kinds of document a vendor stores, besides payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A sale (an invoice, an order, a bill).
    Sale,
    /// A purchase (a goods received note).
    Purchase,
}

impl DocKind {
    fn as_str(self) -> &'static str {
        match self {
            DocKind::Sale => "sale",
            DocKind::Purchase => "purchase",
        }
    }
}

/// Stock could not be moved: an unknown product code, or arithmetic that overflowed
/// (only with absurd quantities). Says which.
#[derive(Debug)]
pub struct StockOverflow(pub String);

/// The state every vendor imitation shares: the catalogue with its stock, the
/// documents by vendor, the ids given out, and (the sandbox's own business) the request
/// log and the fault rules. A vendor handler gets it locked ([`Shared::lock`]).
#[derive(Debug)]
pub struct SharedState {
    original: Catalogue,
    products: Vec<Product>,
    index: HashMap<String, usize>,
    documents: BTreeMap<String, VendorDocuments>,
    log: Vec<RequestRecord>,
    next_seq: u64,
    /// Bumped by every reset, so requests in flight across a reset are not logged
    /// into the new run.
    generation: u64,
    ids: HashMap<String, u64>,
    seed: u64,
    rng: StdRng,
    faults: Vec<FaultRule>,
    /// The vendors imitated, by path prefix: each has an entry in the documents.
    vendors: Vec<String>,
}

/// A request under way: its number and the run it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    seq: u64,
    generation: u64,
}

impl SharedState {
    /// The state of a sandbox with `catalogue`, whose fault generator is seeded with
    /// `seed`, with `faults` in force: what a vendor module's unit tests run their
    /// handlers' logic against.
    pub fn new(catalogue: Catalogue, seed: u64, faults: Vec<FaultRule>) -> Self {
        let mut s = Self {
            products: Vec::new(),
            index: HashMap::new(),
            original: catalogue,
            documents: BTreeMap::new(),
            log: Vec::new(),
            next_seq: 1,
            generation: 0,
            ids: HashMap::new(),
            seed,
            rng: StdRng::seed_from_u64(seed),
            faults,
            vendors: Vec::new(),
        };
        s.reset();
        s
    }

    /// The same, with an (empty) entry in the documents for each of `vendors`.
    pub(crate) fn with_vendors(mut self, vendors: Vec<String>) -> Self {
        self.vendors = vendors;
        self.reset();
        self
    }

    /// Restores the original catalogue, clears documents, ids and the log, and
    /// re-seeds the generator. The fault rules stay. (The vendors' own state is reset
    /// by their imitations.)
    pub(crate) fn reset(&mut self) {
        self.products = self.original.products.clone();
        self.index = self
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.code.clone(), i))
            .collect();
        self.documents = self
            .vendors
            .iter()
            .map(|v| (v.clone(), VendorDocuments::default()))
            .collect();
        self.log.clear();
        self.next_seq = 1;
        self.generation = self.generation.wrapping_add(1);
        self.ids.clear();
        self.rng = StdRng::seed_from_u64(self.seed);
    }

    /// The products and the documents now (what `GET /_sandbox/state` shows).
    pub fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            products: self.products.clone(),
            documents: self.documents.clone(),
        }
    }

    /// The request log (what `GET /_sandbox/requests` shows).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.log.clone()
    }

    pub(crate) fn faults(&self) -> Vec<FaultRule> {
        self.faults.clone()
    }

    pub(crate) fn set_faults(&mut self, faults: Vec<FaultRule>) {
        self.faults = faults;
    }

    /// The products, in catalogue order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The product with `code`, if the catalogue has it.
    pub fn product(&self, code: &str) -> Option<&Product> {
        self.index.get(code).and_then(|i| self.products.get(*i))
    }

    /// Moves stock by `delta` per code, all or nothing: an unknown code, or a stock out
    /// of range, moves none.
    pub fn adjust_stock(&mut self, deltas: &[(&str, Decimal)]) -> Result<(), StockOverflow> {
        let mut next: HashMap<usize, Decimal> = HashMap::new();
        for (code, delta) in deltas {
            let Some(&i) = self.index.get(*code) else {
                return Err(StockOverflow(format!("unknown product {code}")));
            };
            let current = match next.get(&i) {
                Some(d) => *d,
                None => self.products.get(i).map_or(Decimal::ZERO, |p| p.stock),
            };
            let updated = current
                .checked_add(*delta)
                .ok_or_else(|| StockOverflow(format!("stock of {code} out of range")))?;
            next.insert(i, updated);
        }
        for (i, stock) in next {
            if let Some(p) = self.products.get_mut(i) {
                p.stock = stock;
            }
        }
        Ok(())
    }

    /// Whether `vendor` holds a document of `kind` under `reference`.
    pub fn has_document(&self, vendor: &str, kind: DocKind, reference: &str) -> bool {
        self.document(vendor, kind, reference).is_some()
    }

    /// The document of `kind` stored under `reference`, if any.
    pub fn document(&self, vendor: &str, kind: DocKind, reference: &str) -> Option<&Value> {
        self.documents.get(vendor).and_then(|d| match kind {
            DocKind::Sale => d.sales.get(reference),
            DocKind::Purchase => d.purchases.get(reference),
        })
    }

    /// The payment stored under `reference`, if any.
    pub fn payment(&self, vendor: &str, reference: &str) -> Option<&Value> {
        self.documents.get(vendor).and_then(|d| d.payments.get(reference))
    }

    /// A vendor's documents, to change them (`None` for a vendor that has none: one
    /// the sandbox does not imitate, and that stored nothing).
    pub fn documents_mut(&mut self, vendor: &str) -> Option<&mut VendorDocuments> {
        self.documents.get_mut(vendor)
    }

    /// Stores (or replaces) the payment under `reference`.
    pub fn store_payment(&mut self, vendor: &str, reference: &str, payment: Value) {
        self.documents
            .entry(vendor.to_owned())
            .or_default()
            .payments
            .insert(reference.to_owned(), payment);
    }

    /// Stores (or replaces) the document of `kind` under `reference`.
    pub fn store_document(&mut self, vendor: &str, kind: DocKind, reference: &str, document: Value) {
        let docs = self.documents.entry(vendor.to_owned()).or_default();
        let map = match kind {
            DocKind::Sale => &mut docs.sales,
            DocKind::Purchase => &mut docs.purchases,
        };
        map.insert(reference.to_owned(), document);
    }

    /// The next id a vendor gives a document of `kind`: `first`, `first + 1`, …
    pub fn next_id(&mut self, vendor: &str, kind: DocKind, first: u64) -> u64 {
        let next = self.ids.entry(format!("{vendor}/{}", kind.as_str())).or_insert(first);
        let id = *next;
        *next = next.saturating_add(1);
        id
    }

    /// Numbers a new request and decides its faults, in one step (so the generator
    /// is drawn in the order requests arrive).
    pub(crate) fn begin(&mut self, vendor: &str, route: &str) -> (Ticket, Plan) {
        let ticket = Ticket {
            seq: self.next_seq,
            generation: self.generation,
        };
        self.next_seq = self.next_seq.saturating_add(1);
        let plan = faults::plan(&self.faults, &mut self.rng, vendor, route);
        (ticket, plan)
    }

    /// Logs a finished request (unless a reset happened since it began).
    pub(crate) fn finish(&mut self, ticket: Ticket, record: RequestRecord) {
        if ticket.generation != self.generation {
            return;
        }
        let record = RequestRecord {
            seq: ticket.seq,
            ..record
        };
        // Requests finish out of order when they sleep; keep the log in arrival order.
        let at = self.log.partition_point(|r| r.seq < record.seq);
        self.log.insert(at, record);
    }
}

/// What every handler shares: the state behind its one lock, and the shutdown signal.
/// Handlers get it as [`App`].
#[derive(Debug)]
pub struct Shared {
    state: Mutex<SharedState>,
    /// Turns `true` when the sandbox shuts down (or its handle is dropped).
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(state: SharedState, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            state: Mutex::new(state),
            shutdown,
        }
    }

    /// The state, locked. A poisoned lock (a panic while it was held, which no
    /// request can cause) is taken over rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, SharedState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state and a vendor's own `ledger`, both locked, always in that order (so two
    /// requests never wait for each other crosswise): what a handler that needs both
    /// validates and applies under.
    pub fn lock_with<'a, L>(&'a self, ledger: &'a Mutex<L>) -> Locked<'a, L> {
        let state = self.lock();
        Locked::new(state, ledger.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Resolves when the sandbox is shutting down.
    pub(crate) async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone: that is a shutdown too.
        let _ = rx.wait_for(|down| *down).await;
    }
}

/// The axum state of every route: a cheap handle on [`Shared`].
pub type App = std::sync::Arc<Shared>;

/// The shared state and one vendor's ledger, both locked ([`Shared::lock_with`]): the
/// state through `Deref` (`locked.adjust_stock(…)`), the ledger as `locked.ledger`.
pub struct Locked<'a, L> {
    state: MutexGuard<'a, SharedState>,
    /// The vendor's own state.
    pub ledger: MutexGuard<'a, L>,
}

impl<'a, L> Locked<'a, L> {
    /// Both, already locked (the state first). [`Shared::lock_with`] is how a handler
    /// gets one; a unit test may lock two mutexes of its own.
    pub fn new(state: MutexGuard<'a, SharedState>, ledger: MutexGuard<'a, L>) -> Self {
        Self { state, ledger }
    }
}

impl<L> Deref for Locked<'_, L> {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.state
    }
}

impl<L> DerefMut for Locked<'_, L> {
    fn deref_mut(&mut self) -> &mut SharedState {
        &mut self.state
    }
}

impl<L: fmt::Debug> fmt::Debug for Locked<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked")
            .field("state", &*self.state)
            .field("ledger", &*self.ledger)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str) -> RequestRecord {
        RequestRecord {
            seq: 0,
            vendor: "cloudma".into(),
            method: "POST".into(),
            path: path.into(),
            status: Some(200),
            fault: None,
            applied: false,
            reference: None,
            applied_references: Vec::new(),
        }
    }

    #[test]
    fn the_sample_parses_completely() {
        let c = Catalogue::sample();
        assert_eq!(c.products.len(), SAMPLE.len());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn stock_moves_all_or_nothing() {
        let mut s = SharedState::new(Catalogue::sample(), 1, Vec::new());
        let one = Decimal::ONE;
        assert!(
            s.adjust_stock(&[("TEA-100", -one), ("TEA-100", -one), ("MUG-1", one)])
                .is_ok()
        );
        assert_eq!(s.product("TEA-100").map(|p| p.stock), Some(Decimal::from(116)));
        assert_eq!(s.product("MUG-1").map(|p| p.stock), Some(Decimal::from(24)));
        let before = s.snapshot();
        assert!(s.adjust_stock(&[("TEA-100", -one), ("MUG-1", Decimal::MAX)]).is_err());
        assert!(s.adjust_stock(&[("TEA-100", -one), ("NOPE", one)]).is_err());
        assert_eq!(s.snapshot(), before);
    }

    #[test]
    fn the_log_keeps_arrival_order_and_forgets_requests_from_before_a_reset() {
        let mut s = SharedState::new(Catalogue::sample(), 1, Vec::new());
        let (first, _) = s.begin("cloudma", "a");
        let (second, _) = s.begin("cloudma", "b");
        s.finish(second, record("/b"));
        s.finish(first, record("/a"));
        let log = s.requests();
        assert_eq!(
            log.iter().map(|r| (r.seq, r.path.as_str())).collect::<Vec<_>>(),
            [(1, "/a"), (2, "/b")]
        );
        let (stale, _) = s.begin("cloudma", "c");
        s.reset();
        s.finish(stale, record("/c"));
        assert!(s.requests().is_empty());
        let (fresh, _) = s.begin("cloudma", "d");
        s.finish(fresh, record("/d"));
        assert_eq!(s.requests()[0].seq, 1);
    }

    #[test]
    fn ids_count_per_vendor_and_kind() {
        let mut s = SharedState::new(Catalogue::sample(), 1, Vec::new());
        assert_eq!(s.next_id("cloudma", DocKind::Sale, 1001), 1001);
        assert_eq!(s.next_id("cloudma", DocKind::Sale, 1001), 1002);
        assert_eq!(s.next_id("cloudma", DocKind::Purchase, 1001), 1001);
        s.reset();
        assert_eq!(s.next_id("cloudma", DocKind::Sale, 1001), 1001);
    }
}
