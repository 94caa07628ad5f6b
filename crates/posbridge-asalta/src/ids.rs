//! Resolving POS codes to Asalta's numeric ids: core's [`ListingIdMap`], answering
//! from the config's explicit mappings first, then by listing, with [`Api`] saying
//! how Asalta lists:
//!
//! | kind | listed from | matched on |
//! |---|---|---|
//! | product | `/pos/items` | `code` (exact) |
//! | warehouse | `/pos/warehouses` | `code`, then `name` where no warehouse has it as a code (case-insensitive) |
//! | biller | `/pos/billers` | `name` (billers have no code; case-insensitive) |
//! | customer | `/pos/customers` | email, name (case-insensitive; Asalta has no customer code) |
//!
//! Listing the items also keeps each item's price and tax for the price check
//! ([`crate::catalogue::price_check`]); a push whose lines are all mapped explicitly
//! has the items listed here too (`ListingIdMap::relist`), once per client, so that
//! every line is checked.
//!
//! Each list is read once per client and cached; a code missing from a list read
//! before the current lookup re-reads it once (a product created since). Concurrent
//! lookups share one listing. A key two records share is refused rather than
//! guessed. [`ListingIdMap::forget_all`] drops the caches.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use posbridge_core::idmap::{IdLister, Listed, ListingIdMap, Matching};
use posbridge_core::{IdKind, Result};

use crate::{Api, catalogue, map, wire};

/// The connector's id map.
pub(crate) type Resolver = ListingIdMap<Arc<Api>>;

#[async_trait]
impl IdLister for Api {
    fn vendor(&self) -> &'static str {
        "Asalta"
    }

    fn lists(&self, kind: IdKind) -> bool {
        matches!(
            kind,
            IdKind::Product | IdKind::Warehouse | IdKind::Location | IdKind::Biller | IdKind::Customer
        )
    }

    fn matching(&self, kind: IdKind) -> Matching {
        match kind {
            IdKind::Product => Matching::Exact,
            _ => Matching::IgnoreCase,
        }
    }

    async fn list(&self, kind: IdKind, listed: &mut Listed) -> Result<()> {
        match kind {
            IdKind::Product => {
                let mut items = self.pages::<wire::Item>("resolve_products", wire::ITEMS, Vec::new());
                // What the price check compares a sale's lines with (no second listing),
                // kept once the whole listing is read.
                let mut book = catalogue::PriceBook::new();
                while let Some(i) = items.try_next().await? {
                    if let Ok(id) = i.id.trim().parse::<u64>() {
                        book.insert(id, catalogue::priced(&i));
                    }
                    listed.add(i.code.as_deref().unwrap_or_default(), i.id);
                }
                self.keep_prices(book);
            }
            IdKind::Warehouse | IdKind::Location => {
                let mut ws = self.pages::<wire::Warehouse>("resolve_warehouses", wire::WAREHOUSES, Vec::new());
                while let Some(w) = ws.try_next().await? {
                    listed.add(w.code.as_deref().unwrap_or_default(), w.id.clone());
                    // Names only where no code already says it.
                    listed.add_fallback(w.name.as_deref().unwrap_or_default(), w.id);
                }
            }
            IdKind::Biller => {
                let mut bs = self.pages::<wire::Biller>("resolve_billers", wire::BILLERS, Vec::new());
                while let Some(b) = bs.try_next().await? {
                    listed.add(b.name.as_deref().unwrap_or_default(), b.id);
                }
            }
            _ => {
                let mut cs = self.pages::<wire::CustomerRecord>("resolve_customers", wire::CUSTOMERS, Vec::new());
                while let Some(c) = cs.try_next().await? {
                    let email = c.profile.as_ref().and_then(|p| p.email.as_deref());
                    listed.add(email.unwrap_or_default(), c.id.clone());
                    listed.add(c.name.as_deref().unwrap_or_default(), c.id);
                }
            }
        }
        Ok(())
    }

    /// Asalta's ids are whole numbers.
    fn check_explicit(&self, kind: IdKind, _code: &str, id: &str) -> Result<()> {
        map::numeric_id(id, kind).map(drop)
    }
}
