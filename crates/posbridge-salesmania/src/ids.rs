//! Resolving POS codes to SalesMania ids: an [`IdMap`] that answers from the
//! config's explicit mappings first, then by listing.
//!
//! - **Products** by `ext_product_code`: the whole catalogue is listed once and
//!   cached per client; a code missing from a catalogue listed before the current
//!   call started re-lists it once (single-flight: concurrent callers share one
//!   listing). A code two products share is refused rather than guessed.
//! - **Customers** by `ext_cust_no`: `GET /customers?ext_cust_no=…`, page by page,
//!   every entry matched on its own `ext_cust_no` (see `lookup.rs`); ids found (or
//!   created) are cached per client. A server without that look-up (HTTP 404 or 405)
//!   leaves the explicit mappings and the cache: another code is refused.
//! - Anything else (teams, …): the explicit mappings only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use posbridge_core::{Error, IdKind, IdMap, InMemoryIdMap, Result};

use crate::lookup::{Looked, Lookup};
use crate::map::{self, LineProduct};
use crate::{Api, wire};

#[derive(Debug, Default)]
struct Catalogue {
    /// `ext_product_code` → SalesMania ids; `None` until first listed.
    index: Option<BTreeMap<String, Vec<u64>>>,
    /// Counts listings.
    generation: u64,
}

/// The connector's id map: explicit mappings, then SalesMania's lists.
#[derive(Debug)]
pub(crate) struct Resolver {
    api: Arc<Api>,
    explicit: InMemoryIdMap,
    catalogue: tokio::sync::Mutex<Catalogue>,
    /// Mirrors `Catalogue::generation`, readable without the lock.
    listings: AtomicU64,
    customers: std::sync::Mutex<HashMap<String, u64>>,
}

impl Resolver {
    pub(crate) fn new(api: Arc<Api>, explicit: InMemoryIdMap) -> Self {
        Self {
            api,
            explicit,
            catalogue: tokio::sync::Mutex::new(Catalogue::default()),
            listings: AtomicU64::new(0),
            customers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// An explicit mapping, which must be a SalesMania id (a whole number).
    fn explicit(&self, kind: IdKind, code: &str) -> Result<Option<u64>> {
        match self.explicit.get(kind, code) {
            None => Ok(None),
            Some(id) => id.trim().parse::<u64>().map(Some).map_err(|_| {
                Error::config(format!(
                    "salesmania: id_map maps {kind} {code:?} to {id:?}, which is not a SalesMania id (a whole number)"
                ))
            }),
        }
    }

    /// SalesMania's product id for each line, in order. A code that is not found
    /// (after one fresh listing) is [`Error::Invalid`] naming the line and the code.
    pub(crate) async fn product_ids(&self, lines: &[LineProduct]) -> Result<Vec<u64>> {
        self.try_product_ids(lines).await?.map_err(|u| match u {
            Unresolved::Missing(e) | Unresolved::Ambiguous(e) => e,
        })
    }

    async fn try_product_ids(&self, lines: &[LineProduct]) -> Result<Result<Vec<u64>, Unresolved>> {
        let mut ids: Vec<Option<u64>> = Vec::with_capacity(lines.len());
        for line in lines {
            ids.push(self.explicit(IdKind::Product, &line.code)?);
        }
        if ids.iter().all(Option::is_some) {
            return Ok(Ok(ids.into_iter().flatten().collect()));
        }
        let seen = self.listings.load(Ordering::Acquire);
        let mut catalogue = self.catalogue.lock().await;
        // Listed after this call started (by us, or by a call we waited for).
        let mut fresh = catalogue.generation != seen;
        if catalogue.index.is_none() {
            self.relist(&mut catalogue).await?;
            fresh = true;
        }
        loop {
            match resolve(&catalogue, lines, &ids) {
                Err(Unresolved::Missing(_)) if !fresh => {
                    tracing::debug!(
                        vendor = crate::VENDOR,
                        "a product code is not in the cached catalogue; listing again"
                    );
                    self.relist(&mut catalogue).await?;
                    fresh = true;
                }
                outcome => return Ok(outcome),
            }
        }
    }

    /// SalesMania's id of the one product with `ext_product_code == code`, from a
    /// fresh listing (after a create whose answer did not say the id).
    pub(crate) async fn product_id_fresh(&self, code: &str) -> Result<Option<u64>> {
        let mut catalogue = self.catalogue.lock().await;
        self.relist(&mut catalogue).await?;
        Ok(
            match catalogue.index.as_ref().and_then(|i| i.get(code)).map(Vec::as_slice) {
                Some([one]) => Some(*one),
                _ => None,
            },
        )
    }

    /// Forgets the cached catalogue (after a product was changed or deleted).
    pub(crate) async fn forget_products(&self) {
        self.catalogue.lock().await.index = None;
    }

    async fn relist(&self, catalogue: &mut Catalogue) -> Result<()> {
        let records: Vec<wire::ProductRecord> = self
            .api
            .list_all("resolve_products", wire::PRODUCTS, Ok::<_, String>)
            .await?;
        catalogue.index = Some(map::product_index(&records));
        catalogue.generation += 1;
        self.listings.store(catalogue.generation, Ordering::Release);
        Ok(())
    }

    /// SalesMania's id of the customer whose `ext_cust_no` is `code`, if there is one.
    /// When the server has no look-up by `ext_cust_no`, a code neither mapped nor
    /// cached is [`Error::Invalid`] (`customer.code`): whether the customer exists
    /// cannot be known, and creating it blindly would make a new customer per sale.
    pub(crate) async fn customer_id(&self, code: &str) -> Result<Option<u64>> {
        if let Some(id) = self.explicit(IdKind::Customer, code)? {
            return Ok(Some(id));
        }
        if let Some(id) = self.cached_customer(code) {
            return Ok(Some(id));
        }
        let found = match self.find_customer(code).await? {
            Looked::Found(found) => found,
            Looked::NoMatch => return Ok(None),
            Looked::Absent(status) => {
                return Err(Error::invalid(
                    "customer.code",
                    format!(
                        "SalesMania has no look-up of customers by ext_cust_no (it answered HTTP {status}), so \
                         customer {code:?} cannot be found, and it is not created blindly (that would add a \
                         customer for every sale); map it to its SalesMania id in id_map, or give the sale's \
                         customer its SalesMania id"
                    ),
                ));
            }
        };
        let ids: Vec<u64> = found.iter().filter_map(|c| c.id).collect();
        match ids.as_slice() {
            [] => Ok(None),
            [one] => {
                self.remember_customer(code, *one);
                Ok(Some(*one))
            }
            several => Err(Error::invalid(
                "customer.code",
                format!(
                    "ext_cust_no {code:?} matches several SalesMania customers (ids {}); map it in id_map",
                    join(several)
                ),
            )),
        }
    }

    /// The customers whose `ext_cust_no` is `code`, from the first page that has any
    /// (every entry is matched on its own `ext_cust_no`: the filter is not trusted).
    pub(crate) async fn find_customer(&self, code: &str) -> Result<Looked<Vec<wire::CustomerRecord>>> {
        let code = code.trim();
        self.api
            .find(Lookup::Customers, code, |c: &wire::CustomerRecord| {
                !code.is_empty() && c.ext_cust_no.as_deref().map(str::trim) == Some(code)
            })
            .await
    }

    fn cached_customer(&self, code: &str) -> Option<u64> {
        self.customers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(code)
            .copied()
    }

    pub(crate) fn remember_customer(&self, code: &str, id: u64) {
        self.customers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(code.to_owned(), id);
    }
}

enum Unresolved {
    Missing(Error),
    Ambiguous(Error),
}

fn resolve(catalogue: &Catalogue, lines: &[LineProduct], explicit: &[Option<u64>]) -> Result<Vec<u64>, Unresolved> {
    let empty = BTreeMap::new();
    let index = catalogue.index.as_ref().unwrap_or(&empty);
    let mut out = Vec::with_capacity(lines.len());
    for (line, known) in lines.iter().zip(explicit) {
        if let Some(id) = known {
            out.push(*id);
            continue;
        }
        match index.get(line.code.trim()).map(Vec::as_slice) {
            Some([one]) => out.push(*one),
            Some(several) if several.len() > 1 => {
                return Err(Unresolved::Ambiguous(Error::invalid(
                    line.field,
                    format!(
                        "product code {:?} is the ext_product_code of several SalesMania products (ids {}); map it \
                         in id_map",
                        line.code,
                        join(several)
                    ),
                )));
            }
            _ => {
                return Err(Unresolved::Missing(Error::invalid(
                    line.field,
                    format!(
                        "no SalesMania product has ext_product_code {:?}; add it in SalesMania or map it in id_map",
                        line.code
                    ),
                )));
            }
        }
    }
    Ok(out)
}

fn join(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

#[async_trait]
impl IdMap for Resolver {
    /// Products by `ext_product_code` and customers by `ext_cust_no` (explicit
    /// mappings first); other kinds from the explicit mappings only.
    async fn lookup(&self, kind: IdKind, code: &str) -> Result<Option<String>> {
        let id = match kind {
            IdKind::Product => {
                let line = LineProduct {
                    field: posbridge_core::FieldPath::Name("product_code"),
                    code: code.to_owned(),
                };
                match self.try_product_ids(std::slice::from_ref(&line)).await? {
                    Ok(ids) => ids.first().copied(),
                    Err(Unresolved::Missing(_)) => None,
                    Err(Unresolved::Ambiguous(e)) => return Err(e),
                }
            }
            IdKind::Customer => self.customer_id(code).await?,
            other => self.explicit(other, code)?,
        };
        Ok(id.map(|id| id.to_string()))
    }
}
