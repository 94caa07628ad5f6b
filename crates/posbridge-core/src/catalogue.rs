//! What the back office knows before the first sale: its products (codes, ids,
//! prices, taxes) and its locations (warehouses, branches, outlets).
//!
//! [`Catalogue`] reads the products as a stream (pages followed lazily, so memory
//! stays bounded however large the catalogue) and, where the vendor allows it, writes
//! them; [`Locations`] lists the locations. A connector declares both in its
//! [`Capabilities`](crate::Capabilities) and exposes them through
//! [`Connector::catalogue`](crate::Connector::catalogue) and
//! [`Connector::locations`](crate::Connector::locations).
//!
//! ```
//! use posbridge_core::{Product, Decimal};
//!
//! let p: Product = serde_json::from_value(serde_json::json!({
//!     "code": "TEA-100", "name": "Ceylon tea 100 g", "price": "450.00",
//!     "tax": {"rate": "9", "inclusive": true, "code": "SR"}, "id": "68668492"
//! }))?;
//! assert_eq!(p.price, Some(Decimal::new(45000, 2)));
//! assert!(p.active);
//! # Ok::<(), serde_json::Error>(())
//! ```

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::money::Tax;
use crate::traits::{BoxStream, Operation, Vendor};

fn yes() -> bool {
    true
}

/// A product as the back office holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    /// The product code (SKU) a POS sells it under; what an [`IdMap`](crate::IdMap)
    /// maps.
    pub code: String,
    /// The barcode (EAN/UPC), when the vendor keeps one.
    #[serde(default)]
    pub barcode: Option<String>,
    /// The name.
    pub name: String,
    /// The unit it is sold in (`PCS`, `KG`).
    #[serde(default)]
    pub unit: Option<String>,
    /// The selling price of one unit, when the vendor keeps one.
    #[serde(default)]
    pub price: Option<Decimal>,
    /// The tax on it.
    #[serde(default)]
    pub tax: Option<Tax>,
    /// The category, by name.
    #[serde(default)]
    pub category: Option<String>,
    /// Whether it is sold (an inactive product is kept but not sold).
    #[serde(default = "yes")]
    pub active: bool,
    /// The vendor's id for it; `None` for a product not yet created.
    #[serde(default)]
    pub id: Option<String>,
    /// What else the vendor said about it, as it said it (fields posbridge does not
    /// model, kept rather than dropped).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extras: serde_json::Map<String, serde_json::Value>,
}

impl Product {
    /// A product with a code and a name, active, nothing else known.
    pub fn new(code: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            barcode: None,
            name: name.into(),
            unit: None,
            price: None,
            tax: None,
            category: None,
            active: true,
            id: None,
            extras: serde_json::Map::new(),
        }
    }
}

/// A place stock is kept or sales are made: a warehouse, branch or outlet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    /// The code a POS names it by (a sale's `location`).
    pub code: String,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// What kind of place the vendor says it is (`Warehouse`, `Consignment`, `Branch`).
    #[serde(default)]
    pub kind: Option<String>,
    /// The vendor's id for it.
    #[serde(default)]
    pub id: Option<String>,
}

/// Reading (and, where the vendor allows it, writing) the back office's products.
#[async_trait::async_trait]
pub trait Catalogue: Vendor {
    /// Streams every product, page by page.
    fn products(&self) -> BoxStream<'_, Result<Product>>;

    /// Reads one product by the vendor's id.
    async fn get_product(&self, vendor_id: &str) -> Result<Product> {
        let _ = vendor_id;
        Err(self.unsupported(Operation::GetProduct))
    }

    /// Creates a product; returns it as the vendor stored it (with its id).
    async fn create_product(&self, product: &Product) -> Result<Product> {
        let _ = product;
        Err(self.unsupported(Operation::CreateProduct))
    }

    /// Updates a product by the vendor's id.
    async fn update_product(&self, vendor_id: &str, product: &Product) -> Result<Product> {
        let _ = (vendor_id, product);
        Err(self.unsupported(Operation::UpdateProduct))
    }

    /// Deletes a product by the vendor's id.
    async fn delete_product(&self, vendor_id: &str) -> Result<()> {
        let _ = vendor_id;
        Err(self.unsupported(Operation::DeleteProduct))
    }
}

/// Listing the back office's locations.
#[async_trait::async_trait]
pub trait Locations: Vendor {
    /// Streams every location.
    fn locations(&self) -> BoxStream<'_, Result<Location>>;
}

/// A way [`match_products`] pairs a POS product with one of the vendor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchBy {
    /// The same product code (exactly, after trimming).
    Code,
    /// The same barcode (exactly, after trimming).
    Barcode,
    /// The same name (trimmed, spaces collapsed, case ignored).
    Name,
}

impl MatchBy {
    /// The default order: code, then barcode, then name.
    pub const DEFAULT: [MatchBy; 3] = [MatchBy::Code, MatchBy::Barcode, MatchBy::Name];

    /// The name, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Barcode => "barcode",
            Self::Name => "name",
        }
    }

    fn key(self, p: &Product) -> Option<String> {
        let clean = |s: &str| {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        };
        match self {
            Self::Code => clean(&p.code),
            Self::Barcode => p.barcode.as_deref().and_then(clean),
            Self::Name => clean(&p.name).map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()),
        }
    }
}

/// A POS product paired with the vendor's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    /// The POS product code.
    pub code: String,
    /// The vendor's id for it.
    pub id: String,
    /// How they were paired.
    pub by: MatchBy,
}

/// A POS product that several of the vendor's products match the same way: not
/// mapped, for a person to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ambiguous {
    /// The POS product code.
    pub code: String,
    /// The way that found several.
    pub by: MatchBy,
    /// The vendor ids it found.
    pub ids: Vec<String>,
}

/// What [`match_products`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchReport {
    /// Paired, in POS order.
    pub matched: Vec<Matched>,
    /// POS product codes nothing matched.
    pub unmatched: Vec<String>,
    /// POS products several vendor products matched.
    pub ambiguous: Vec<Ambiguous>,
    /// Vendor products without an id (not yet created, or the vendor sent none):
    /// their codes; they cannot be mapped.
    pub without_id: Vec<String>,
}

/// Pairs each POS product with the vendor product it is, trying `order` in turn (by
/// code, then barcode, then name, by default): the first way that finds exactly one
/// vendor product wins; one that finds several makes the product ambiguous (a later
/// way is not tried: a guess would map a sale to the wrong product).
///
/// ```
/// use posbridge_core::catalogue::{match_products, MatchBy, Product};
///
/// let mut tea = Product::new("T-100", "Ceylon Tea 100g");
/// tea.id = Some("501".into());
/// let pos = [Product::new("TEA-100", "ceylon  tea 100g")];
/// let report = match_products(&pos, &[tea], &MatchBy::DEFAULT);
/// assert_eq!(report.matched[0].id, "501");
/// assert_eq!(report.matched[0].by, MatchBy::Name);
/// ```
pub fn match_products(pos: &[Product], vendor: &[Product], order: &[MatchBy]) -> MatchReport {
    use std::collections::BTreeMap;
    let mut report = MatchReport::default();
    let mut indexes: BTreeMap<MatchBy, BTreeMap<String, Vec<&str>>> = BTreeMap::new();
    for v in vendor {
        let Some(id) = v.id.as_deref().filter(|id| !id.trim().is_empty()) else {
            report.without_id.push(v.code.clone());
            continue;
        };
        for by in order {
            if let Some(key) = by.key(v) {
                let ids = indexes.entry(*by).or_default().entry(key).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    'pos: for p in pos {
        for by in order {
            let Some(key) = by.key(p) else { continue };
            match indexes.get(by).and_then(|i| i.get(&key)).map(Vec::as_slice) {
                Some([id]) => {
                    report.matched.push(Matched {
                        code: p.code.clone(),
                        id: (*id).to_owned(),
                        by: *by,
                    });
                    continue 'pos;
                }
                Some(ids) if ids.len() > 1 => {
                    report.ambiguous.push(Ambiguous {
                        code: p.code.clone(),
                        by: *by,
                        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
                    });
                    continue 'pos;
                }
                _ => {}
            }
        }
        report.unmatched.push(p.code.clone());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vendor(code: &str, barcode: Option<&str>, name: &str, id: Option<&str>) -> Product {
        let mut p = Product::new(code, name);
        p.barcode = barcode.map(str::to_owned);
        p.id = id.map(str::to_owned);
        p
    }

    #[test]
    fn matching_tries_code_then_barcode_then_name_and_never_guesses() {
        let vendors = [
            vendor("TEA-100", None, "Tea", Some("1")),
            vendor("X-2", Some("955001"), "Milo 1kg", Some("2")),
            vendor("X-3", None, "Sugar 1kg", Some("3")),
            vendor("X-4", None, "Sugar 1KG", Some("4")),
            vendor("X-5", None, "Bread", None),
        ];
        let mut milo = Product::new("MILO-1KG", "Milo");
        milo.barcode = Some(" 955001 ".into());
        let pos = [
            Product::new("TEA-100", "Anything"),
            milo,
            Product::new("SUGAR-1KG", "sugar 1kg"),
            Product::new("BREAD", "Bread"),
            Product::new("NOPE", "Nothing like it"),
        ];
        let r = match_products(&pos, &vendors, &MatchBy::DEFAULT);
        assert_eq!(
            r.matched,
            vec![
                Matched {
                    code: "TEA-100".into(),
                    id: "1".into(),
                    by: MatchBy::Code
                },
                Matched {
                    code: "MILO-1KG".into(),
                    id: "2".into(),
                    by: MatchBy::Barcode
                },
            ]
        );
        assert_eq!(r.ambiguous.len(), 1);
        assert_eq!(r.ambiguous[0].code, "SUGAR-1KG");
        assert_eq!(r.ambiguous[0].ids, vec!["3".to_owned(), "4".to_owned()]);
        assert_eq!(r.unmatched, vec!["BREAD".to_owned(), "NOPE".to_owned()]);
        assert_eq!(r.without_id, vec!["X-5".to_owned()]);
        // Name first: the tea no longer matches by name ("Anything").
        let r = match_products(&pos[..1], &vendors, &[MatchBy::Name]);
        assert_eq!(r.unmatched, vec!["TEA-100".to_owned()]);
    }

    #[test]
    fn a_product_keeps_the_vendors_extras_and_refuses_unknown_fields() {
        let p: Product = serde_json::from_value(serde_json::json!({
            "code": "A", "name": "a", "active": false, "extras": {"bundle": true}
        }))
        .unwrap();
        assert!(!p.active);
        assert_eq!(p.extras["bundle"], true);
        assert!(
            serde_json::from_value::<Product>(serde_json::json!({"code": "A", "name": "a", "prise": "1"})).is_err()
        );
        let back = serde_json::to_value(Product::new("B", "b")).unwrap();
        assert!(back.get("extras").is_none(), "{back}");
    }

    #[test]
    fn a_tax_code_is_optional_and_survives_a_round_trip() {
        let t: Tax = serde_json::from_value(serde_json::json!({"rate": "7", "code": "GST7"})).unwrap();
        assert_eq!(t.code.as_deref(), Some("GST7"));
        assert!(!t.inclusive);
        let plain = serde_json::to_value(Tax::new(Decimal::ONE, true)).unwrap();
        assert!(plain.get("code").is_none(), "{plain}");
    }
}
