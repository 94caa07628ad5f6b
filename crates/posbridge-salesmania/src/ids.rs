//! Resolving POS codes to SalesMania ids: an [`IdMap`] that answers from the
//! config's explicit mappings first, then by listing.
//!
//! - **Products** by `ext_product_code`: the whole catalogue is listed once and
//!   cached per client; a code missing from a catalogue listed before the current
//!   call started re-lists it once (single-flight: concurrent callers share one
//!   listing). A code two products share is refused rather than guessed. Core's
//!   [`ListingIdMap`] does all of it; [`Catalogue`] says how SalesMania lists.
//! - **Customers** by `ext_cust_no`: `GET /customers?ext_cust_no=…`, page by page,
//!   every entry matched on its own `ext_cust_no` (see `lookup.rs`); ids found (or
//!   created) are cached per client. A server without that look-up (HTTP 404 or 405)
//!   leaves the explicit mappings and the cache: another code is refused.
//! - Anything else (teams, …): the explicit mappings only.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use posbridge_core::idmap::{IdLister, Listed, ListingIdMap, Matching, Resolved};
use posbridge_core::{Error, FieldPath, IdKind, IdMap, InMemoryIdMap, Result};

use crate::lookup::{Looked, Lookup};
use crate::map::LineProduct;
use crate::{Api, Listing, wire};

/// SalesMania's catalogue, listed by `ext_product_code` for the id map.
#[derive(Debug)]
struct Catalogue(Arc<Api>);

#[async_trait]
impl IdLister for Catalogue {
    fn vendor(&self) -> &'static str {
        "SalesMania"
    }

    fn lists(&self, kind: IdKind) -> bool {
        kind == IdKind::Product
    }

    fn matching(&self, _kind: IdKind) -> Matching {
        Matching::Exact
    }

    async fn list(&self, _kind: IdKind, listed: &mut Listed) -> Result<()> {
        let mut pages = self.0.pages(
            Listing::all("resolve_products", wire::PRODUCTS),
            Ok::<wire::ProductRecord, String>,
        );
        while let Some(page) = pages.try_next().await? {
            for r in &page {
                if let (Some(code), Some(id)) = (r.ext_product_code.as_deref(), r.id) {
                    listed.add(code, id.to_string());
                }
            }
        }
        Ok(())
    }

    fn check_explicit(&self, kind: IdKind, code: &str, id: &str) -> Result<()> {
        explicit_id(kind, code, id).map(drop)
    }

    fn ambiguous(&self, _kind: IdKind, code: &str, ids: &[String]) -> Error {
        several_products(FieldPath::Name("product_code"), code, ids)
    }
}

/// An explicit mapping, which must be a SalesMania id (a whole number).
fn explicit_id(kind: IdKind, code: &str, id: &str) -> Result<u64> {
    id.trim().parse::<u64>().map_err(|_| {
        Error::config(format!(
            "salesmania: id_map maps {kind} {code:?} to {id:?}, which is not a SalesMania id (a whole number)"
        ))
    })
}

fn several_products(field: FieldPath<'_>, code: &str, ids: &[String]) -> Error {
    Error::invalid(
        field,
        format!(
            "product code {code:?} is the ext_product_code of several SalesMania products (ids {}); map it in id_map",
            ids.join(", ")
        ),
    )
}

/// The connector's id map: explicit mappings, then SalesMania's lists.
#[derive(Debug)]
pub(crate) struct Resolver {
    api: Arc<Api>,
    /// The explicit mappings, then the catalogue (listed once, shared by concurrent
    /// callers, listed again once on a miss).
    ids: ListingIdMap<Catalogue>,
    customers: std::sync::Mutex<HashMap<String, u64>>,
}

impl Resolver {
    pub(crate) fn new(api: Arc<Api>, explicit: InMemoryIdMap) -> Self {
        Self {
            ids: ListingIdMap::new(Catalogue(api.clone()), explicit),
            api,
            customers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// An explicit mapping, which must be a SalesMania id (a whole number).
    fn explicit(&self, kind: IdKind, code: &str) -> Result<Option<u64>> {
        self.ids
            .explicit()
            .get(kind, code)
            .map(|id| explicit_id(kind, code, id))
            .transpose()
    }

    /// SalesMania's product id for each line, in order. A code that is not found
    /// (after one fresh listing) is [`Error::Invalid`] naming the line and the code.
    pub(crate) async fn product_ids(&self, lines: &[LineProduct]) -> Result<Vec<u64>> {
        let codes: Vec<&str> = lines.iter().map(|l| l.code.as_str()).collect();
        let resolved = self.ids.resolve_all(IdKind::Product, &codes).await?;
        lines
            .iter()
            .zip(resolved)
            .map(|(line, resolved)| match resolved {
                Resolved::Id(id) => explicit_id(IdKind::Product, &line.code, &id),
                Resolved::Ambiguous(ids) => Err(several_products(line.field, &line.code, &ids)),
                Resolved::Missing => Err(Error::invalid(
                    line.field,
                    format!(
                        "no SalesMania product has ext_product_code {:?}; add it in SalesMania or map it in id_map",
                        line.code
                    ),
                )),
            })
            .collect()
    }

    /// SalesMania's id of the one product with `ext_product_code == code`, from a
    /// fresh listing (after a create whose answer did not say the id).
    pub(crate) async fn product_id_fresh(&self, code: &str) -> Result<Option<u64>> {
        Ok(match self.ids.relist(IdKind::Product).await?.resolve(code) {
            Resolved::Id(id) => id.parse().ok(),
            Resolved::Missing | Resolved::Ambiguous(_) => None,
        })
    }

    /// Forgets the cached catalogue (after a product was changed or deleted).
    pub(crate) async fn forget_products(&self) {
        self.ids.forget(IdKind::Product).await;
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

fn join(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

#[async_trait]
impl IdMap for Resolver {
    /// Products by `ext_product_code` and customers by `ext_cust_no` (explicit
    /// mappings first); other kinds from the explicit mappings only.
    async fn lookup(&self, kind: IdKind, code: &str) -> Result<Option<String>> {
        let id = match kind {
            IdKind::Product => match self.ids.lookup(kind, code).await? {
                Some(id) => Some(explicit_id(kind, code, &id)?),
                None => None,
            },
            IdKind::Customer => self.customer_id(code).await?,
            other => self.explicit(other, code)?,
        };
        Ok(id.map(|id| id.to_string()))
    }
}
