//! The sandbox's state: the catalogue and its stock (shared by every vendor), the
//! documents each vendor received, the request log, the fault rules and the seeded
//! random number generator that decides them.
//!
//! All of it sits behind one mutex, so a vendor request validates and applies in one
//! step: nothing else can see half a sale.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use posbridge_core::Decimal;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::SandboxError;
use crate::faults::{self, FaultRule, Plan};
use crate::vendors;

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
    /// stock, prices in rupees. It includes the codes the CloudMA conformance fixtures
    /// use: `TEA-100` ("Ceylon tea 100g", 450.00, 118 in stock), `MUG-1` ("Mug",
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
    /// Sales, by the reference the POS gave them (CloudMA: `reference_no`, EAS Pro:
    /// `billReferenceId`, Codemax: `invoice_no`): the request as parsed, without
    /// credentials (CloudMA: the form without the token; EAS Pro: the `data` object;
    /// Codemax: the invoice object). A vendor that upserts (EAS Pro) keeps the latest
    /// version; Codemax keeps the sale until its void replaces it.
    pub sales: BTreeMap<String, Value>,
    /// Purchases (goods received notes), by reference.
    pub purchases: BTreeMap<String, Value>,
    /// Payments of sales, by the payment's own reference (EAS Pro: `reference`), for
    /// vendors that take payments separately from the sale. Absent from older JSON,
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
    /// The vendor, from the path prefix (`cloudma`).
    pub vendor: String,
    /// The HTTP method.
    pub method: String,
    /// The full path, e.g. `/cloudma/api/push-sale`.
    pub path: String,
    /// The status answered; `None` when the connection was dropped (an injected drop,
    /// or the client went away before the answer).
    pub status: Option<u16>,
    /// The injected fault, if one triggered: `latency`, `rate_limit`, `status_503`,
    /// `drop_before_apply` or `drop_after_apply` (when latency and another fault both
    /// trigger, the other fault's name).
    pub fault: Option<String>,
    /// Whether the request changed the state (stored a document, moved stock); for a
    /// Codemax sync, whether any of its invoices was synced. Logins and token
    /// refreshes are never applied.
    pub applied: bool,
    /// The document reference the body carried, if any: CloudMA's `reference_no`; EAS
    /// Pro's `billReferenceId` for a bill, the payment's own `reference` for a payment;
    /// Codemax: the first invoice's `invoice_no` of a sync (a sync carries up to 20:
    /// see `applied_references`).
    pub reference: Option<String>,
    /// The documents this request applied, by reference, in request order: empty when
    /// nothing was applied; for CloudMA and EAS Pro the request's `reference` when
    /// `applied`; for a Codemax sync every invoice it applied, by `invoice_no`, a void
    /// as `<invoice_no>#void` (the sale and its void are two documents). Counting a
    /// reference over the log tells how many times that document was applied. Absent
    /// from older JSON, where it reads as empty.
    #[serde(default)]
    pub applied_references: Vec<String>,
}

/// The kinds of document a vendor stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    Sale,
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

/// Stock arithmetic overflowed (only with absurd quantities).
#[derive(Debug)]
pub(crate) struct StockOverflow(pub String);

/// The mutable state.
#[derive(Debug)]
pub(crate) struct State {
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
    /// Codemax's sessions and the invoices it synced (what its rules need beyond the
    /// stored documents).
    pub(crate) codemax: vendors::codemax::Ledger,
    /// SalesMania's tokens, customers, products, orders and visits.
    pub(crate) salesmania: vendors::salesmania::Ledger,
    /// Asalta's codes, tokens, customers, side stock, sales, payments, returns and
    /// gift cards.
    pub(crate) asalta: vendors::asalta::Ledger,
}

/// A request under way: its number and the run it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    seq: u64,
    generation: u64,
}

impl State {
    pub(crate) fn new(catalogue: Catalogue, seed: u64, faults: Vec<FaultRule>) -> Self {
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
            codemax: vendors::codemax::Ledger::new(seed),
            salesmania: vendors::salesmania::Ledger::empty(seed),
            asalta: vendors::asalta::Ledger::new(seed),
        };
        s.reset();
        s
    }

    /// Restores the original catalogue, clears documents, ids and the log, revokes
    /// Codemax's tokens, and re-seeds the generator. The fault rules stay.
    pub(crate) fn reset(&mut self) {
        self.products = self.original.products.clone();
        self.index = self
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.code.clone(), i))
            .collect();
        self.documents = vendors::VENDORS
            .iter()
            .map(|v| ((*v).to_owned(), VendorDocuments::default()))
            .collect();
        self.log.clear();
        self.next_seq = 1;
        self.generation = self.generation.wrapping_add(1);
        self.ids.clear();
        self.rng = StdRng::seed_from_u64(self.seed);
        self.codemax.reset();
        self.salesmania.reset();
        self.asalta.reset();
    }

    pub(crate) fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            products: self.products.clone(),
            documents: self.documents.clone(),
        }
    }

    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        self.log.clone()
    }

    pub(crate) fn faults(&self) -> Vec<FaultRule> {
        self.faults.clone()
    }

    pub(crate) fn set_faults(&mut self, faults: Vec<FaultRule>) {
        self.faults = faults;
    }

    /// The products, in catalogue order.
    pub(crate) fn products(&self) -> &[Product] {
        &self.products
    }

    pub(crate) fn product(&self, code: &str) -> Option<&Product> {
        self.index.get(code).and_then(|i| self.products.get(*i))
    }

    /// Moves stock by `delta` per code, all or nothing.
    pub(crate) fn adjust_stock(&mut self, deltas: &[(&str, Decimal)]) -> Result<(), StockOverflow> {
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

    pub(crate) fn has_document(&self, vendor: &str, kind: DocKind, reference: &str) -> bool {
        self.document(vendor, kind, reference).is_some()
    }

    /// The document of `kind` stored under `reference`, if any.
    pub(crate) fn document(&self, vendor: &str, kind: DocKind, reference: &str) -> Option<&Value> {
        self.documents.get(vendor).and_then(|d| match kind {
            DocKind::Sale => d.sales.get(reference),
            DocKind::Purchase => d.purchases.get(reference),
        })
    }

    /// The payment stored under `reference`, if any.
    pub(crate) fn payment(&self, vendor: &str, reference: &str) -> Option<&Value> {
        self.documents.get(vendor).and_then(|d| d.payments.get(reference))
    }

    /// A vendor's documents, to change them.
    pub(crate) fn documents_mut(&mut self, vendor: &str) -> Option<&mut VendorDocuments> {
        self.documents.get_mut(vendor)
    }

    /// Stores (or replaces) the payment under `reference`.
    pub(crate) fn store_payment(&mut self, vendor: &str, reference: &str, payment: Value) {
        self.documents
            .entry(vendor.to_owned())
            .or_default()
            .payments
            .insert(reference.to_owned(), payment);
    }

    /// Stores (or replaces) the document of `kind` under `reference`.
    pub(crate) fn store_document(&mut self, vendor: &str, kind: DocKind, reference: &str, document: Value) {
        let docs = self.documents.entry(vendor.to_owned()).or_default();
        let map = match kind {
            DocKind::Sale => &mut docs.sales,
            DocKind::Purchase => &mut docs.purchases,
        };
        map.insert(reference.to_owned(), document);
    }

    /// The next id a vendor gives a document of `kind`: `first`, `first + 1`, …
    pub(crate) fn next_id(&mut self, vendor: &str, kind: DocKind, first: u64) -> u64 {
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

/// What every handler shares: the state, the vendors' settings and the shutdown
/// signal.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// CloudMA's settings.
    pub(crate) cloudma: crate::CloudmaConfig,
    /// EAS Pro's settings, resolved against the catalogue.
    pub(crate) easpro: vendors::easpro::Settings,
    /// Codemax's settings, checked.
    pub(crate) codemax: vendors::codemax::Settings,
    /// SalesMania's settings, checked.
    pub(crate) salesmania: vendors::salesmania::Settings,
    /// Asalta's settings, checked.
    pub(crate) asalta: vendors::asalta::Settings,
    /// Turns `true` when the sandbox shuts down (or its handle is dropped).
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(
        state: State,
        cloudma: crate::CloudmaConfig,
        easpro: vendors::easpro::Settings,
        codemax: vendors::codemax::Settings,
        salesmania: vendors::salesmania::Settings,
        asalta: vendors::asalta::Settings,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            state: Mutex::new(state),
            cloudma,
            easpro,
            codemax,
            salesmania,
            asalta,
            shutdown,
        }
    }

    /// The state, locked. A poisoned lock (a panic while it was held, which no
    /// request can cause) is taken over rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves when the sandbox is shutting down.
    pub(crate) async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone: that is a shutdown too.
        let _ = rx.wait_for(|down| *down).await;
    }
}

/// The axum state: a cheap handle on [`Shared`].
pub(crate) type App = std::sync::Arc<Shared>;

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
        let mut s = State::new(Catalogue::sample(), 1, Vec::new());
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
        let mut s = State::new(Catalogue::sample(), 1, Vec::new());
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
        let mut s = State::new(Catalogue::sample(), 1, Vec::new());
        assert_eq!(s.next_id("cloudma", DocKind::Sale, 1001), 1001);
        assert_eq!(s.next_id("cloudma", DocKind::Sale, 1001), 1002);
        assert_eq!(s.next_id("cloudma", DocKind::Purchase, 1001), 1001);
        s.reset();
        assert_eq!(s.next_id("cloudma", DocKind::Sale, 1001), 1001);
    }
}
