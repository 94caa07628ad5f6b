//! Mapping POS codes to the ids a vendor needs.
//!
//! A POS knows its own product codes and customer numbers; some vendors want their
//! own ids instead (numeric product ids, UUIDs). An [`IdMap`] answers "which vendor
//! id is POS product `SKU-1`?". [`InMemoryIdMap`] is filled in code or loaded from a
//! JSON file. [`ListingIdMap`] answers from such a map first, then by listing the
//! vendor's records (products, warehouses, customers …) once, cached, for a vendor
//! that can list them: the vendor says how to list a kind and the key and id of each
//! record ([`IdLister`]); the map decides when to list, shares one listing between
//! concurrent callers, and refuses a key two records share.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What kind of thing an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdKind {
    /// A product (item, SKU).
    Product,
    /// A customer.
    Customer,
    /// A branch, outlet or store.
    Location,
    /// A warehouse.
    Warehouse,
    /// A biller (the selling entity).
    Biller,
    /// A sales team.
    Team,
    /// A salesperson.
    Salesman,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Product => "product",
            Self::Customer => "customer",
            Self::Location => "location",
            Self::Warehouse => "warehouse",
            Self::Biller => "biller",
            Self::Team => "team",
            Self::Salesman => "salesman",
        };
        f.write_str(s)
    }
}

/// Looks up the vendor id for a POS code.
#[async_trait]
pub trait IdMap: Send + Sync + fmt::Debug {
    /// The vendor id of `code`, or `None` when it is not mapped.
    async fn lookup(&self, kind: IdKind, code: &str) -> Result<Option<String>>;

    /// The vendor id of `code`, or [`Error::Invalid`] naming `field` and the code.
    async fn require(&self, kind: IdKind, code: &str, field: &str) -> Result<String> {
        self.lookup(kind, code)
            .await?
            .ok_or_else(|| not_mapped(kind, code, field))
    }
}

/// The error of [`IdMap::require`]: `code` has no vendor id. For a caller that looks
/// up with [`IdMap::lookup`] and names the field only when the id is missing.
pub fn not_mapped(kind: IdKind, code: &str, field: impl Into<String>) -> Error {
    Error::invalid(
        field,
        format!("no vendor id is mapped for {kind} code {code:?}; add it to the id map"),
    )
}

/// An id map held in memory: `{ "product": { "SKU-1": "68668492-…" }, "customer": {…} }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InMemoryIdMap {
    map: BTreeMap<IdKind, BTreeMap<String, String>>,
}

impl InMemoryIdMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a mapping.
    pub fn insert(&mut self, kind: IdKind, code: impl Into<String>, id: impl Into<String>) -> &mut Self {
        self.map.entry(kind).or_default().insert(code.into(), id.into());
        self
    }

    /// Builder form of [`InMemoryIdMap::insert`].
    pub fn with(mut self, kind: IdKind, code: impl Into<String>, id: impl Into<String>) -> Self {
        self.insert(kind, code, id);
        self
    }

    /// Loads a map from a JSON file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read id map {}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| Error::config(format!("id map {} is not valid: {e}", path.display())))
    }

    /// The vendor id of `code`, borrowed and without a future: what
    /// [`IdMap::lookup`] answers, for a connector that holds the map itself.
    pub fn get(&self, kind: IdKind, code: &str) -> Option<&str> {
        self.map.get(&kind).and_then(|m| m.get(code)).map(String::as_str)
    }

    /// The number of mappings.
    pub fn len(&self) -> usize {
        self.map.values().map(BTreeMap::len).sum()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl IdMap for InMemoryIdMap {
    async fn lookup(&self, kind: IdKind, code: &str) -> Result<Option<String>> {
        Ok(self.get(kind, code).map(str::to_owned))
    }
}

/// How the keys of listed records are compared with a POS code. Either way, leading
/// and trailing spaces do not count, and a blank key matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Matching {
    /// Exactly (`TEA-100` is not `tea-100`): codes.
    #[default]
    Exact,
    /// Whatever the case (`Main Warehouse` is `main warehouse`): names, e-mails.
    IgnoreCase,
}

impl Matching {
    fn key(self, raw: &str) -> String {
        match self {
            Self::Exact => raw.trim().to_owned(),
            Self::IgnoreCase => raw.trim().to_lowercase(),
        }
    }
}

/// The records of one kind a vendor listed, by key: what an [`IdLister`] fills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    matching: Matching,
    keys: BTreeMap<String, Vec<String>>,
    fallbacks: BTreeMap<String, Vec<String>>,
}

impl Listed {
    /// An empty listing whose keys compare as `matching` says.
    pub fn new(matching: Matching) -> Self {
        Self {
            matching,
            ..Self::default()
        }
    }

    /// Records that `key` names the record `id`. A blank key is ignored; a key given
    /// for several records makes it ambiguous ([`Resolved::Ambiguous`]); the same
    /// record under the same key twice counts once.
    pub fn add(&mut self, key: &str, id: impl Into<String>) -> &mut Self {
        Self::insert(&mut self.keys, self.matching, key, id.into());
        self
    }

    /// Records that `key` names `id` only where no record has `key` by
    /// [`Listed::add`]: a warehouse's name, for a code that is no warehouse's code.
    /// Several records with the same fallback key make it ambiguous too.
    pub fn add_fallback(&mut self, key: &str, id: impl Into<String>) -> &mut Self {
        Self::insert(&mut self.fallbacks, self.matching, key, id.into());
        self
    }

    fn insert(keys: &mut BTreeMap<String, Vec<String>>, matching: Matching, key: &str, id: String) {
        let key = matching.key(key);
        if key.is_empty() {
            return;
        }
        let ids = keys.entry(key).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// What `code` resolves to in this listing.
    pub fn resolve(&self, code: &str) -> Resolved {
        let key = self.matching.key(code);
        let ids = self.keys.get(&key).or_else(|| self.fallbacks.get(&key));
        match ids.map(Vec::as_slice) {
            None | Some([]) => Resolved::Missing,
            Some([one]) => Resolved::Id(one.clone()),
            Some(several) => Resolved::Ambiguous(several.to_vec()),
        }
    }

    /// The number of keys (fallbacks included).
    pub fn len(&self) -> usize {
        self.keys.len() + self.fallbacks.keys().filter(|k| !self.keys.contains_key(*k)).count()
    }

    /// Whether no record was listed under any key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a code resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The vendor id of the one record the code names (or of its explicit mapping).
    Id(String),
    /// No record has the code, in a listing made after the lookup began.
    Missing,
    /// Several records have the code (their ids): a guess could book a sale against
    /// the wrong one, so it is refused; map the code explicitly.
    Ambiguous(Vec<String>),
}

/// How a vendor lists the records a [`ListingIdMap`] resolves codes with: which kinds
/// it can list, and, for each, every record's key(s) and id.
///
/// ```
/// use async_trait::async_trait;
/// use posbridge_core::idmap::{IdKind, IdLister, IdMap, InMemoryIdMap, Listed, ListingIdMap, Matching};
///
/// #[derive(Debug)]
/// struct Catalogue; // a vendor client, in a real connector
///
/// #[async_trait]
/// impl IdLister for Catalogue {
///     fn vendor(&self) -> &'static str {
///         "Acme"
///     }
///     fn lists(&self, kind: IdKind) -> bool {
///         kind == IdKind::Product
///     }
///     fn matching(&self, _kind: IdKind) -> Matching {
///         Matching::Exact
///     }
///     async fn list(&self, _kind: IdKind, listed: &mut Listed) -> posbridge_core::Result<()> {
///         // `GET /products`, every page: each product's code and id.
///         for (code, id) in [("TEA-100", "501"), ("MUG-1", "502"), ("MUG-1", "503")] {
///             listed.add(code, id);
///         }
///         Ok(())
///     }
/// }
///
/// # async fn run() -> posbridge_core::Result<()> {
/// let ids = ListingIdMap::new(Catalogue, InMemoryIdMap::new().with(IdKind::Product, "MUG-1", "503"));
/// assert_eq!(ids.lookup(IdKind::Product, "TEA-100").await?.as_deref(), Some("501"));
/// // The explicit mapping settles what the listing cannot.
/// assert_eq!(ids.lookup(IdKind::Product, "MUG-1").await?.as_deref(), Some("503"));
/// assert_eq!(ids.lookup(IdKind::Product, "NOPE").await?, None);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
/// ```
#[async_trait]
pub trait IdLister: Send + Sync + fmt::Debug {
    /// The vendor's name as messages write it (`"Asalta"`).
    fn vendor(&self) -> &'static str;

    /// Whether codes of `kind` are resolved by listing; the others come from the
    /// explicit map only.
    fn lists(&self, kind: IdKind) -> bool;

    /// How keys of `kind` compare with codes.
    fn matching(&self, kind: IdKind) -> Matching;

    /// Lists every record of `kind` (every page), adding each one's key(s) and id to
    /// `listed`. Called only for kinds [`IdLister::lists`] names.
    async fn list(&self, kind: IdKind, listed: &mut Listed) -> Result<()>;

    /// Checks an explicit mapping of `code` to `id` (a vendor whose ids are numbers
    /// refuses another one with [`Error::Config`]). Accepts every id by default.
    fn check_explicit(&self, kind: IdKind, code: &str, id: &str) -> Result<()> {
        let _ = (kind, code, id);
        Ok(())
    }

    /// The error of [`IdMap::lookup`] for a code several records share.
    fn ambiguous(&self, kind: IdKind, code: &str, ids: &[String]) -> Error {
        Error::invalid(
            kind.to_string(),
            format!(
                "{kind} {code:?} matches several {} records ({}); map it explicitly in id_map",
                self.vendor(),
                ids.join(", ")
            ),
        )
    }
}

#[async_trait]
impl<L: IdLister + ?Sized> IdLister for Arc<L> {
    fn vendor(&self) -> &'static str {
        (**self).vendor()
    }
    fn lists(&self, kind: IdKind) -> bool {
        (**self).lists(kind)
    }
    fn matching(&self, kind: IdKind) -> Matching {
        (**self).matching(kind)
    }
    async fn list(&self, kind: IdKind, listed: &mut Listed) -> Result<()> {
        (**self).list(kind, listed).await
    }
    fn check_explicit(&self, kind: IdKind, code: &str, id: &str) -> Result<()> {
        (**self).check_explicit(kind, code, id)
    }
    fn ambiguous(&self, kind: IdKind, code: &str, ids: &[String]) -> Error {
        (**self).ambiguous(kind, code, ids)
    }
}

/// The cached listing of one kind.
#[derive(Debug, Default)]
struct Cache {
    /// The listing, once made; held while a listing is made, so that concurrent
    /// callers wait for it rather than list again.
    listed: tokio::sync::Mutex<Option<Arc<Listed>>>,
    /// How many listings were made; readable without waiting for the lock.
    generation: AtomicU64,
}

/// An [`IdMap`] that answers from explicit mappings first, then by listing the
/// vendor's records ([`IdLister`]):
///
/// - **Listed once, cached**: a kind is listed on its first lookup and kept for the
///   life of the map ([`ListingIdMap::forget`] drops it).
/// - **Single flight**: concurrent lookups of a kind share one listing; one that
///   waited for a listing made after it began takes that listing as fresh.
/// - **Fresh on a miss**: a code missing from a listing made before the lookup began
///   lists again, once (a product created since); missing from a fresh listing, it
///   is [`Resolved::Missing`].
/// - **Never a guess**: a key several records share is [`Resolved::Ambiguous`] (for
///   [`IdMap::lookup`], the [`IdLister::ambiguous`] error).
///
/// See [`IdLister`] for an example.
#[derive(Debug)]
pub struct ListingIdMap<L> {
    lister: L,
    explicit: InMemoryIdMap,
    caches: Mutex<HashMap<IdKind, Arc<Cache>>>,
}

impl<L: IdLister> ListingIdMap<L> {
    /// A map answering from `explicit` first, then by listing through `lister`.
    pub fn new(lister: L, explicit: InMemoryIdMap) -> Self {
        Self {
            lister,
            explicit,
            caches: Mutex::default(),
        }
    }

    /// The explicit mappings (unchecked: see [`IdLister::check_explicit`]).
    pub fn explicit(&self) -> &InMemoryIdMap {
        &self.explicit
    }

    /// The lister.
    pub fn lister(&self) -> &L {
        &self.lister
    }

    fn cache(&self, kind: IdKind) -> Arc<Cache> {
        self.caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(kind)
            .or_default()
            .clone()
    }

    /// What `code` resolves to: its explicit mapping, else the listing.
    pub async fn resolve(&self, kind: IdKind, code: &str) -> Result<Resolved> {
        let mut all = self.resolve_all(kind, &[code]).await?;
        Ok(all.pop().unwrap_or(Resolved::Missing))
    }

    /// What each of `codes` resolves to, in order, from one listing: explicit
    /// mappings first; the kind is listed only if a code is not mapped, and listed
    /// again (once) if a code is missing from a listing made before this call began.
    pub async fn resolve_all(&self, kind: IdKind, codes: &[&str]) -> Result<Vec<Resolved>> {
        let mut explicit = Vec::with_capacity(codes.len());
        for code in codes {
            explicit.push(match self.explicit.get(kind, code) {
                Some(id) => {
                    self.lister.check_explicit(kind, code, id)?;
                    Some(Resolved::Id(id.to_owned()))
                }
                None => None,
            });
        }
        if explicit.iter().all(Option::is_some) || !self.lister.lists(kind) {
            return Ok(explicit.into_iter().map(|e| e.unwrap_or(Resolved::Missing)).collect());
        }
        let cache = self.cache(kind);
        let seen = cache.generation.load(Ordering::Acquire);
        let mut slot = cache.listed.lock().await;
        // Listed after this call began (by a caller it waited for): fresh.
        let mut fresh = cache.generation.load(Ordering::Acquire) != seen;
        let mut listed = match slot.as_ref() {
            Some(listed) => listed.clone(),
            None => {
                fresh = true;
                self.list(kind, &cache, &mut slot).await?
            }
        };
        loop {
            let resolved: Vec<Resolved> = codes
                .iter()
                .zip(&explicit)
                .map(|(code, known)| known.clone().unwrap_or_else(|| listed.resolve(code)))
                .collect();
            if fresh || !resolved.contains(&Resolved::Missing) {
                return Ok(resolved);
            }
            tracing::debug!(
                vendor = self.lister.vendor(),
                %kind,
                "a code is not in the cached listing; listing again"
            );
            listed = self.list(kind, &cache, &mut slot).await?;
            fresh = true;
        }
    }

    /// Lists `kind` into `slot` (whose lock the caller holds). A failed listing keeps
    /// the listing before it.
    async fn list(&self, kind: IdKind, cache: &Cache, slot: &mut Option<Arc<Listed>>) -> Result<Arc<Listed>> {
        let mut listed = Listed::new(self.lister.matching(kind));
        self.lister.list(kind, &mut listed).await?;
        let listed = Arc::new(listed);
        *slot = Some(listed.clone());
        cache.generation.fetch_add(1, Ordering::AcqRel);
        Ok(listed)
    }

    /// Lists `kind` again now, whatever is cached, and keeps that listing: for a
    /// caller that must see a record created a moment ago (after a create whose
    /// answer did not say the new id). Concurrent lookups wait for it.
    pub async fn relist(&self, kind: IdKind) -> Result<Arc<Listed>> {
        let cache = self.cache(kind);
        let mut slot = cache.listed.lock().await;
        self.list(kind, &cache, &mut slot).await
    }

    /// Forgets the listing of `kind` (after the vendor's records changed): the next
    /// lookup lists again. Waits for a listing under way.
    pub async fn forget(&self, kind: IdKind) {
        let cache = self.cache(kind);
        *cache.listed.lock().await = None;
    }

    /// Forgets every listing.
    pub async fn forget_all(&self) {
        let caches: Vec<Arc<Cache>> = self
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for cache in caches {
            *cache.listed.lock().await = None;
        }
    }
}

#[async_trait]
impl<L: IdLister> IdMap for ListingIdMap<L> {
    /// The explicit mapping, else the one listed record with `code` as its key; a
    /// code several records share is the lister's [`IdLister::ambiguous`] error.
    async fn lookup(&self, kind: IdKind, code: &str) -> Result<Option<String>> {
        match self.resolve(kind, code).await? {
            Resolved::Id(id) => Ok(Some(id)),
            Resolved::Missing => Ok(None),
            Resolved::Ambiguous(ids) => Err(self.lister.ambiguous(kind, code, &ids)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::ErrorKind;

    /// A vendor whose products are listed from `catalogue` (code, id), which a test
    /// may change between listings; counting the listings, each taking `delay`.
    #[derive(Debug, Default)]
    struct Vendor {
        catalogue: Mutex<Vec<(&'static str, &'static str)>>,
        warehouses: Vec<(&'static str, &'static str, &'static str)>,
        listings: AtomicUsize,
        delay_ms: u64,
        fail: std::sync::atomic::AtomicBool,
    }

    impl Vendor {
        fn with(products: &[(&'static str, &'static str)]) -> Self {
            Self {
                catalogue: Mutex::new(products.to_vec()),
                ..Self::default()
            }
        }

        fn listings(&self) -> usize {
            self.listings.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl IdLister for Vendor {
        fn vendor(&self) -> &'static str {
            "Acme"
        }
        fn lists(&self, kind: IdKind) -> bool {
            matches!(kind, IdKind::Product | IdKind::Warehouse)
        }
        fn matching(&self, kind: IdKind) -> Matching {
            match kind {
                IdKind::Product => Matching::Exact,
                _ => Matching::IgnoreCase,
            }
        }
        async fn list(&self, kind: IdKind, listed: &mut Listed) -> Result<()> {
            self.listings.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(self.delay_ms)).await;
            if self.fail.load(Ordering::SeqCst) {
                return Err(Error::Unavailable {
                    vendor: "acme",
                    status: Some(503),
                    message: "HTTP 503".into(),
                });
            }
            match kind {
                IdKind::Product => {
                    for (code, id) in self.catalogue.lock().unwrap().iter() {
                        listed.add(code, *id);
                    }
                }
                _ => {
                    for (code, _, id) in &self.warehouses {
                        listed.add(code, *id);
                    }
                    for (_, name, id) in &self.warehouses {
                        listed.add_fallback(name, *id);
                    }
                }
            }
            Ok(())
        }
        fn check_explicit(&self, kind: IdKind, code: &str, id: &str) -> Result<()> {
            id.parse::<u64>()
                .map(drop)
                .map_err(|_| Error::config(format!("{kind} {code:?} is mapped to {id:?}, not a number")))
        }
    }

    #[tokio::test]
    async fn looks_up_and_requires() {
        let m: InMemoryIdMap = serde_json::from_str(r#"{"product": {"SKU-1": "uuid-1"}}"#).unwrap();
        assert_eq!(
            m.lookup(IdKind::Product, "SKU-1").await.unwrap().as_deref(),
            Some("uuid-1")
        );
        assert_eq!(m.lookup(IdKind::Customer, "SKU-1").await.unwrap(), None);
        let e = m
            .require(IdKind::Product, "SKU-2", "lines[1].product_code")
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("SKU-2") && e.to_string().contains("lines[1]"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn explicit_mappings_come_first_and_are_checked_without_listing() {
        let ids = ListingIdMap::new(
            Vendor::with(&[("TEA-100", "501")]),
            InMemoryIdMap::new()
                .with(IdKind::Product, "TEA-100", "900")
                .with(IdKind::Customer, "C-1", "7")
                .with(IdKind::Biller, "B", "not-a-number"),
        );
        assert_eq!(
            ids.lookup(IdKind::Product, "TEA-100").await.unwrap().as_deref(),
            Some("900")
        );
        assert_eq!(ids.lookup(IdKind::Customer, "C-1").await.unwrap().as_deref(), Some("7"));
        // A kind that is not listed: the explicit map only.
        assert_eq!(ids.lookup(IdKind::Customer, "C-2").await.unwrap(), None);
        assert_eq!(
            ids.lookup(IdKind::Biller, "B").await.unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(ids.lister().listings(), 0);
        assert_eq!(ids.explicit().len(), 3);
    }

    #[tokio::test]
    async fn a_kind_is_listed_once_and_cached() {
        let ids = ListingIdMap::new(
            Vendor::with(&[("TEA-100", "501"), ("MUG-1", "502")]),
            InMemoryIdMap::new(),
        );
        assert_eq!(
            ids.lookup(IdKind::Product, " TEA-100 ").await.unwrap().as_deref(),
            Some("501")
        );
        assert_eq!(
            ids.lookup(IdKind::Product, "MUG-1").await.unwrap().as_deref(),
            Some("502")
        );
        assert_eq!(ids.lister().listings(), 1);
        // Exact matching: another case is another code (missing: one fresh listing).
        assert_eq!(ids.lookup(IdKind::Product, "tea-100").await.unwrap(), None);
        assert_eq!(ids.lister().listings(), 2);
    }

    #[tokio::test]
    async fn concurrent_lookups_share_one_listing() {
        let vendor = Vendor {
            delay_ms: 50,
            ..Vendor::with(&[("TEA-100", "501"), ("MUG-1", "502")])
        };
        let ids = ListingIdMap::new(vendor, InMemoryIdMap::new());
        let lookups = (0..50).map(|i| {
            let ids = &ids;
            async move {
                let code = if i % 2 == 0 { "TEA-100" } else { "NOT-LISTED" };
                ids.lookup(IdKind::Product, code).await.unwrap()
            }
        });
        let found = futures_util::future::join_all(lookups).await;
        assert_eq!(found.iter().filter(|f| f.as_deref() == Some("501")).count(), 25);
        assert_eq!(found.iter().filter(|f| f.is_none()).count(), 25);
        // Everyone waited for the one listing, made after they began: fresh, so even
        // the missing codes list nothing more.
        assert_eq!(ids.lister().listings(), 1);
    }

    #[tokio::test]
    async fn a_code_missing_from_an_older_listing_lists_again_once() {
        let ids = ListingIdMap::new(Vendor::with(&[("TEA-100", "501")]), InMemoryIdMap::new());
        assert_eq!(ids.lookup(IdKind::Product, "NEW-1").await.unwrap(), None);
        assert_eq!(
            ids.lister().listings(),
            1,
            "missing from a fresh listing: no second one"
        );
        ids.lister().catalogue.lock().unwrap().push(("NEW-1", "777"));
        assert_eq!(
            ids.lookup(IdKind::Product, "NEW-1").await.unwrap().as_deref(),
            Some("777")
        );
        assert_eq!(ids.lister().listings(), 2);
        // Several codes: one listing for all of them, in order.
        let all = ids
            .resolve_all(IdKind::Product, &["NEW-1", "GONE", "TEA-100"])
            .await
            .unwrap();
        assert_eq!(
            all,
            [
                Resolved::Id("777".into()),
                Resolved::Missing,
                Resolved::Id("501".into())
            ]
        );
        assert_eq!(ids.lister().listings(), 3, "one listing again for the missing code");
        // Listed again on demand, whatever is cached.
        ids.lister().catalogue.lock().unwrap().push(("NEW-2", "778"));
        assert_eq!(
            ids.relist(IdKind::Product).await.unwrap().resolve("NEW-2"),
            Resolved::Id("778".into())
        );
        assert_eq!(ids.lister().listings(), 4);
        assert_eq!(
            ids.resolve(IdKind::Product, "NEW-2").await.unwrap(),
            Resolved::Id("778".into())
        );
        assert_eq!(ids.lister().listings(), 4, "the listing made on demand is kept");
        // Forgotten: listed again on the next lookup.
        ids.forget(IdKind::Product).await;
        ids.resolve(IdKind::Product, "TEA-100").await.unwrap();
        assert_eq!(ids.lister().listings(), 5);
        ids.forget_all().await;
        ids.resolve(IdKind::Product, "TEA-100").await.unwrap();
        assert_eq!(ids.lister().listings(), 6);
    }

    #[tokio::test]
    async fn a_failed_listing_keeps_the_one_before() {
        let ids = ListingIdMap::new(Vendor::with(&[("TEA-100", "501")]), InMemoryIdMap::new());
        ids.resolve(IdKind::Product, "TEA-100").await.unwrap();
        ids.lister().fail.store(true, Ordering::SeqCst);
        let e = ids.resolve(IdKind::Product, "NEW-1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(
            ids.resolve(IdKind::Product, "TEA-100").await.unwrap(),
            Resolved::Id("501".into())
        );
    }

    #[tokio::test]
    async fn a_code_two_records_share_is_refused_not_guessed() {
        let ids = ListingIdMap::new(
            Vendor::with(&[
                ("MUG-1", "502"),
                ("MUG-1", "503"),
                ("TEA-100", "501"),
                ("TEA-100", "501"),
            ]),
            InMemoryIdMap::new(),
        );
        assert_eq!(
            ids.resolve(IdKind::Product, "MUG-1").await.unwrap(),
            Resolved::Ambiguous(vec!["502".into(), "503".into()])
        );
        let e = ids.lookup(IdKind::Product, "MUG-1").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
        let text = e.to_string();
        assert!(
            text.contains("\"MUG-1\" matches several Acme records (502, 503)"),
            "{text}"
        );
        // The same record listed twice is one record.
        assert_eq!(
            ids.lookup(IdKind::Product, "TEA-100").await.unwrap().as_deref(),
            Some("501")
        );
        // An explicit mapping settles it.
        let ids = ListingIdMap::new(
            Vendor::with(&[("MUG-1", "502"), ("MUG-1", "503")]),
            InMemoryIdMap::new().with(IdKind::Product, "MUG-1", "503"),
        );
        assert_eq!(
            ids.lookup(IdKind::Product, "MUG-1").await.unwrap().as_deref(),
            Some("503")
        );
    }

    #[tokio::test]
    async fn fallback_keys_count_only_where_no_record_has_the_key() {
        let vendor = Vendor {
            warehouses: vec![
                ("ADL", "Adelphi", "2"),
                ("ORC", "Orchard", "3"),
                // A name that is another warehouse's code: the code wins.
                ("X9", "adl", "4"),
                // Two warehouses named alike, with no such code: ambiguous.
                ("S1", "Store", "5"),
                ("S2", "store ", "6"),
            ],
            ..Vendor::default()
        };
        let ids = ListingIdMap::new(vendor, InMemoryIdMap::new());
        let resolve = |code: &'static str| {
            let ids = &ids;
            async move { ids.resolve(IdKind::Warehouse, code).await.unwrap() }
        };
        assert_eq!(resolve("adl").await, Resolved::Id("2".into()));
        assert_eq!(resolve("Orchard").await, Resolved::Id("3".into()));
        assert_eq!(resolve(" ORCHARD").await, Resolved::Id("3".into()));
        assert_eq!(
            resolve("Store").await,
            Resolved::Ambiguous(vec!["5".into(), "6".into()])
        );
        assert_eq!(resolve("").await, Resolved::Missing);
        let mut listed = Listed::new(Matching::IgnoreCase);
        listed
            .add("A", "1")
            .add_fallback("a", "2")
            .add_fallback("b", "3")
            .add(" ", "4");
        assert_eq!(listed.len(), 2);
        assert!(!listed.is_empty());
    }
}
