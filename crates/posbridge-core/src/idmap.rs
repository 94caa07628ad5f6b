//! Mapping POS codes to the ids a vendor needs.
//!
//! A POS knows its own product codes and customer numbers; some vendors want their
//! own ids instead (numeric product ids, UUIDs). An [`IdMap`] answers "which vendor
//! id is POS product `SKU-1`?". [`InMemoryIdMap`] is filled in code or loaded from a
//! JSON file; vendors that can list their products may add a resolving map later.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
