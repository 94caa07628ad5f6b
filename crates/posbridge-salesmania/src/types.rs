//! SalesMania's own records that the posbridge domain has no type for: products
//! (with their units), visits and teams. Used by the typed vendor methods of
//! [`SalesMania`](crate::SalesMania); the wire shapes are in `wire.rs`.

use jiff::civil::Date;
use posbridge_core::Decimal;

/// A SalesMania product: what [`SalesMania::create_product`](crate::SalesMania::create_product)
/// sends and what the product methods read back.
///
/// ```
/// use posbridge_core::Decimal;
/// use posbridge_salesmania::{Product, ProductUnit};
///
/// let mut tea = Product::new("Teh Celup 25s", Decimal::from(40), vec![
///     ProductUnit::new("PCS", Decimal::new(4500, 0), Decimal::ONE),
///     ProductUnit::new("DUS", Decimal::new(216000, 0), Decimal::from(48)),
/// ]);
/// tea.ext_product_code = Some("TEA-100".into());
/// assert!(tea.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Product {
    /// SalesMania's id; `None` on a product not created yet (ignored when sending).
    pub id: Option<u64>,
    /// The name (required, at most 200 characters).
    pub name: String,
    /// A description.
    pub description: Option<String>,
    /// The SKU.
    pub sku: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether the product is active; SalesMania's default when `None`.
    pub status: Option<bool>,
    /// The POS product code: the key the connector resolves order lines by.
    pub ext_product_code: Option<String>,
    /// The default cascading discount, e.g. `[55.55, 3]` for `"55.55+3"`; empty for none.
    pub default_disc: Vec<Decimal>,
    /// Stock on hand, in the unit of ratio 1.
    pub qty_on_hand: Decimal,
    /// The units it is sold in; at least one has ratio 1 (checked locally).
    pub product_units: Vec<ProductUnit>,
}

impl Product {
    /// A product with a name, its stock on hand and its units; every other field empty.
    pub fn new(name: impl Into<String>, qty_on_hand: Decimal, product_units: Vec<ProductUnit>) -> Self {
        Self {
            id: None,
            name: name.into(),
            description: None,
            sku: None,
            tags: Vec::new(),
            status: None,
            ext_product_code: None,
            default_disc: Vec::new(),
            qty_on_hand,
            product_units,
        }
    }

    /// Checks what SalesMania requires of a product before it is sent: a name of at
    /// most 200 characters, at least one unit, **at least one unit of ratio 1**, every
    /// unit named with a positive ratio and a price that is not negative, and a
    /// default discount of percentages within `0..=100`.
    ///
    /// # Errors
    /// [`posbridge_core::Error::Invalid`] naming the field.
    pub fn check(&self) -> posbridge_core::Result<()> {
        crate::map::check_product(self)
    }
}

/// One unit a product is sold in: `PCS` at ratio 1, `DUS` (a box of 48) at ratio 48.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProductUnit {
    /// The unit's name, as order lines name it (`unit`).
    pub name: String,
    /// The price of one of this unit.
    pub price: Decimal,
    /// How many base units (ratio 1) this unit holds.
    pub ratio: Decimal,
}

impl ProductUnit {
    /// A unit.
    pub fn new(name: impl Into<String>, price: Decimal, ratio: Decimal) -> Self {
        Self {
            name: name.into(),
            price,
            ratio,
        }
    }
}

/// A salesperson's visit to a customer, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Visit {
    /// SalesMania's id, when the answer carries one.
    pub id: Option<u64>,
    /// The day of the visit, when the answer carries a readable one.
    pub date: Option<Date>,
    /// The customer visited.
    pub customer_id: Option<u64>,
    /// The team that visited.
    pub team_id: Option<u64>,
    /// The visit status (SalesMania's own list, e.g. `Order`).
    pub visit_status: Option<String>,
    /// A note.
    pub description: Option<String>,
}

/// A visit to record with [`SalesMania::add_visit`](crate::SalesMania::add_visit).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewVisit {
    /// The day of the visit.
    pub date: Date,
    /// The customer visited (SalesMania's id).
    pub customer_id: u64,
    /// The team; the config's `team_id` when `None`, else the API user's team.
    pub team_id: Option<u64>,
    /// The visit status; the config's `visit_status` when `None`, else SalesMania's default.
    pub visit_status: Option<String>,
    /// A note.
    pub description: Option<String>,
}

impl NewVisit {
    /// A visit to `customer_id` on `date`.
    pub fn new(date: Date, customer_id: u64) -> Self {
        Self {
            date,
            customer_id,
            team_id: None,
            visit_status: None,
            description: None,
        }
    }
}

/// A sales team.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Team {
    /// SalesMania's id.
    pub id: u64,
    /// The team's name.
    pub name: Option<String>,
}
