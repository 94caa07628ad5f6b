//! Resolving POS codes to Asalta's numeric ids: an [`IdMap`] that answers from the
//! config's explicit mappings first, then by listing.
//!
//! | kind | listed from | matched on |
//! |---|---|---|
//! | product | `/pos/items` | `code` (exact) |
//! | warehouse | `/pos/warehouses` | `code`, then `name` (case-insensitive) |
//! | biller | `/pos/billers` | `name` (billers have no code; case-insensitive) |
//! | customer | `/pos/customers` | email, then name (case-insensitive; Asalta has no customer code) |
//!
//! Each list is read once per client and cached; a code missing from a list read
//! before the current lookup re-reads it once (a product created since). Listing
//! holds a lock, so concurrent lookups share one listing. A key two records share is
//! refused rather than guessed. [`Resolver::refresh`] drops the caches.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use posbridge_core::{Error, IdKind, IdMap, InMemoryIdMap, Result};

use crate::{Api, map, wire};

type Index = BTreeMap<String, Vec<String>>;

/// The connector's id map.
#[derive(Debug)]
pub(crate) struct Resolver {
    api: Arc<Api>,
    explicit: InMemoryIdMap,
    lists: tokio::sync::Mutex<HashMap<IdKind, Arc<Index>>>,
}

fn key(kind: IdKind, raw: &str) -> String {
    match kind {
        IdKind::Product => raw.trim().to_owned(),
        _ => raw.trim().to_lowercase(),
    }
}

fn push(index: &mut Index, kind: IdKind, raw: Option<&str>, id: &str) {
    if let Some(raw) = raw.filter(|r| !r.trim().is_empty()) {
        let ids = index.entry(key(kind, raw)).or_default();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_owned());
        }
    }
}

impl Resolver {
    /// The explicit mapping of `code`, if any: no future, no listing.
    pub(crate) fn explicit(&self, kind: IdKind, code: &str) -> Option<&str> {
        self.explicit.get(kind, code)
    }

    pub(crate) fn new(api: Arc<Api>, explicit: InMemoryIdMap) -> Self {
        Self {
            api,
            explicit,
            lists: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Drops every cached list: the next lookup lists again.
    pub(crate) async fn refresh(&self) {
        self.lists.lock().await.clear();
    }

    async fn list(&self, kind: IdKind) -> Result<Index> {
        let mut index = Index::new();
        match kind {
            IdKind::Product => {
                let items: Vec<wire::Item> = self.api.list_all("resolve_products", wire::ITEMS, Vec::new()).await?;
                for i in &items {
                    push(&mut index, kind, i.code.as_deref(), &i.id);
                }
            }
            IdKind::Warehouse | IdKind::Location => {
                let ws: Vec<wire::Warehouse> = self
                    .api
                    .list_all("resolve_warehouses", wire::WAREHOUSES, Vec::new())
                    .await?;
                for w in &ws {
                    push(&mut index, kind, w.code.as_deref(), &w.id);
                }
                // Names only where no code already says it.
                for w in &ws {
                    if let Some(n) = w.name.as_deref()
                        && !index.contains_key(&key(kind, n))
                    {
                        push(&mut index, kind, Some(n), &w.id);
                    }
                }
            }
            IdKind::Biller => {
                let bs: Vec<wire::Biller> = self.api.list_all("resolve_billers", wire::BILLERS, Vec::new()).await?;
                for b in &bs {
                    push(&mut index, kind, b.name.as_deref(), &b.id);
                }
            }
            IdKind::Customer => {
                let cs: Vec<wire::CustomerRecord> = self
                    .api
                    .list_all("resolve_customers", wire::CUSTOMERS, Vec::new())
                    .await?;
                for c in &cs {
                    let email = c.profile.as_ref().and_then(|p| p.email.as_deref());
                    push(&mut index, kind, email, &c.id);
                    push(&mut index, kind, c.name.as_deref(), &c.id);
                }
            }
            _ => {}
        }
        Ok(index)
    }

    fn answer(index: &Index, kind: IdKind, code: &str) -> Result<Option<String>> {
        match index.get(&key(kind, code)).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([one]) => Ok(Some(one.clone())),
            Some(many) => Err(Error::invalid(
                kind.to_string(),
                format!(
                    "{kind} {code:?} matches several Asalta records ({}); map it explicitly in id_map",
                    many.join(", ")
                ),
            )),
        }
    }
}

#[async_trait]
impl IdMap for Resolver {
    async fn lookup(&self, kind: IdKind, code: &str) -> Result<Option<String>> {
        if let Some(id) = self.explicit.lookup(kind, code).await? {
            map::numeric_id(&id, kind)?;
            return Ok(Some(id));
        }
        if !matches!(
            kind,
            IdKind::Product | IdKind::Warehouse | IdKind::Location | IdKind::Biller | IdKind::Customer
        ) {
            return Ok(None);
        }
        let mut lists = self.lists.lock().await;
        let (index, fresh) = match lists.get(&kind) {
            Some(i) => (i.clone(), false),
            None => {
                let i = Arc::new(self.list(kind).await?);
                lists.insert(kind, i.clone());
                (i, true)
            }
        };
        match Self::answer(&index, kind, code)? {
            Some(id) => Ok(Some(id)),
            None if fresh => Ok(None),
            None => {
                let i = Arc::new(self.list(kind).await?);
                lists.insert(kind, i.clone());
                Self::answer(&i, kind, code)
            }
        }
    }
}
