//! Asalta's wire shapes, spelled as Asalta spells them, and its paths.
//!
//! Every record is read tolerantly: ids and amounts arrive as strings or numbers
//! (`"id":"15"`, `"id":7199`), `phone_code` as `65` or `"65"`, missing and `null`
//! fields alike. The public record types here are what the typed vendor methods of
//! [`Asalta`](crate::Asalta) return; fields the document shows but does not explain
//! are kept as [`serde_json::Value`] rather than guessed.

use posbridge_core::Decimal;
use posbridge_core::reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use posbridge_core::wire::{decimal_number, option_decimal_number};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// `/auth`: the OAuth2 authorize endpoint (a browser page).
pub(crate) const AUTHORIZE: &str = "auth";
/// `/auth/token`: the OAuth2 token endpoint.
pub(crate) const TOKEN: &str = "auth/token";

pub(crate) const CATEGORIES: &str = "pos/categories";
pub(crate) const SUBCATEGORIES: &str = "pos/subcategories";
pub(crate) const WAREHOUSES: &str = "pos/warehouses";
pub(crate) const CUSTOMER_GROUPS: &str = "pos/customer_groups";
pub(crate) const BILLERS: &str = "pos/billers";
pub(crate) const CUSTOMERS: &str = "pos/customers";
pub(crate) const LOYALTY: &str = "pos/loyalty";
pub(crate) const ITEMS: &str = "pos/items";
pub(crate) const PROMOTIONS: &str = "pos/promotions";
pub(crate) const TAX_RATES: &str = "pos/taxrates";
pub(crate) const TAX_LINE_ITEMS: &str = "pos/taxlineitems";
pub(crate) const INVOICES: &str = "pos/invoices";
pub(crate) const PAYMENT_METHODS: &str = "pos/payment_methods";
pub(crate) const PAYMENTS: &str = "pos/payments";
pub(crate) const RETURN_INVOICES: &str = "pos/return_invoices";
pub(crate) const ORDERS: &str = "pos/orders";
pub(crate) const RETURN_ORDERS: &str = "pos/return_orders";
pub(crate) const VOID_ORDER: &str = "pos/void_order";
pub(crate) const GIFT_CARDS: &str = "pos/giftcards";
pub(crate) const REPORT_SALES: &str = "report/sales";
pub(crate) const REPORT_INVOICES: &str = "report/invoices";
pub(crate) const REPORT_PAYROLL: &str = "report/payroll";
pub(crate) const REPORT_CLAIMS: &str = "report/claims";
pub(crate) const REPORT_ROSTER: &str = "report/rosterschedule";

/// `Accept: application/json`, the header every Asalta request carries: the one
/// place the connector says which answers it takes. Asalta's document asks for this header on
/// every call ("Accept: application/json", and each sample sends it) and lists 406
/// ("You requested a format that isn't json") for anything else, so without it
/// reqwest's `*/*` would go out. Called by the two paths every byte to Asalta takes:
/// `Api::send` (every `/pos/…` and `/report/…` call) and the OAuth2 adapter
/// (`/auth/token`).
pub(crate) fn accept_json() -> (HeaderName, HeaderValue) {
    (ACCEPT, HeaderValue::from_static("application/json"))
}

/// The page parameter of every list.
pub(crate) const PAGE: &str = "page";
/// The id parameter of every "get one".
pub(crate) const ID: &str = "id";

/// Reads a string, a number or a boolean as text; `null` and `""` as `None`.
pub(crate) mod opt_text {
    use super::*;

    pub(crate) fn serialize<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok((!v.is_empty()).then(|| v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a required id from a string or a number (`"15"` and `15` give `"15"`).
pub(crate) mod id_text {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        opt_text::deserialize(d)?.ok_or_else(|| de::Error::custom("the id is empty"))
    }
}

/// Reads a list, a `null` or a missing field (as empty); an object's values as a list.
pub(crate) mod lenient_list {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
        d: D,
    ) -> Result<Vec<T>, D::Error> {
        let v = Value::deserialize(d)?;
        let items: Vec<Value> = match v {
            Value::Null => Vec::new(),
            Value::Array(a) => a,
            Value::Object(o) => o.into_iter().map(|(_, v)| v).collect(),
            other => return Err(de::Error::custom(format!("expected a list, got {other}"))),
        };
        items
            .into_iter()
            .map(|i| serde_json::from_value(i).map_err(de::Error::custom))
            .collect()
    }
}

// ---------------------------------------------------------------- write answers

/// `{"message":"Success","data":{…},"error":false}`, the answer to every write.
#[derive(Debug, Deserialize)]
pub(crate) struct WriteAnswer {
    /// The record written (`error: true` answers are refused by `parse_error`).
    #[serde(default)]
    pub data: Value,
}

// ---------------------------------------------------------------- records

/// A product category (`/pos/categories`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Category {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The category code.
    #[serde(default, with = "opt_text")]
    pub category_code: Option<String>,
    /// The category name.
    #[serde(default, with = "opt_text")]
    pub category_name: Option<String>,
    /// The image URL.
    #[serde(default, with = "opt_text")]
    pub image: Option<String>,
}

/// A subcategory (`/pos/subcategories`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Subcategory {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The subcategory code.
    #[serde(default, with = "opt_text")]
    pub sub_category_code: Option<String>,
    /// The subcategory name.
    #[serde(default, with = "opt_text")]
    pub sub_category_name: Option<String>,
    /// The parent category's id.
    #[serde(default, with = "opt_text")]
    pub parent_category_id: Option<String>,
    /// The image URL.
    #[serde(default, with = "opt_text")]
    pub image: Option<String>,
}

/// A warehouse (`/pos/warehouses`, and nested in sales).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Warehouse {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The warehouse code (what a POS calls its location).
    #[serde(default, with = "opt_text")]
    pub code: Option<String>,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// `Warehouse`, `Consignment`, …
    #[serde(default, with = "opt_text")]
    pub warehouse_type: Option<String>,
    /// The address (may span lines).
    #[serde(default, with = "opt_text")]
    pub address: Option<String>,
    /// The phone number.
    #[serde(default, with = "opt_text")]
    pub phone: Option<String>,
    /// The email address.
    #[serde(default, with = "opt_text")]
    pub email: Option<String>,
}

/// A customer group (`/pos/customer_groups`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CustomerGroup {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
}

/// A profile block of billers and customers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Profile {
    /// City.
    #[serde(default, with = "opt_text")]
    pub city: Option<String>,
    /// State.
    #[serde(default, with = "opt_text")]
    pub state: Option<String>,
    /// Postal code (a number or a string).
    #[serde(default, with = "opt_text")]
    pub postal_code: Option<String>,
    /// Address.
    #[serde(default, with = "opt_text")]
    pub address: Option<String>,
    /// Country calling code: `65` in one sample, `"65"` in another.
    #[serde(default, with = "opt_text")]
    pub phone_code: Option<String>,
    /// Phone number (a number or a string).
    #[serde(default, with = "opt_text")]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default, with = "opt_text")]
    pub email: Option<String>,
    /// Image URL.
    #[serde(default, with = "opt_text")]
    pub image: Option<String>,
}

/// A biller (`/pos/billers`): the selling entity a sale is issued by.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Biller {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The name (billers have no code: the connector resolves them by name).
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// The group name.
    #[serde(default, with = "opt_text")]
    pub group_name: Option<String>,
    /// Company name and VAT number.
    #[serde(default)]
    pub company_details: Value,
    /// The contact profile.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// The warehouse ids this biller may sell from.
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub allowed_warehouse: Vec<Value>,
}

/// A customer as Asalta stores it (`/pos/customers`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CustomerRecord {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// The customer group id.
    #[serde(default, with = "opt_text")]
    pub customer_group_id: Option<String>,
    /// The customer group name.
    #[serde(default, with = "opt_text")]
    pub customer_group_name: Option<String>,
    /// The contact profile.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// Loyalty points and amount.
    #[serde(default)]
    pub loyalty: Value,
}

/// One loyalty movement (`/pos/loyalty?customer_id=`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct LoyaltyEntry {
    /// The sale or return it came from.
    #[serde(default, with = "opt_text")]
    pub reference_no: Option<String>,
    /// The customer's id.
    #[serde(default, with = "opt_text")]
    pub customer_id: Option<String>,
    /// `earned`, `redeemed`, `returned`, `expired`.
    #[serde(default, with = "opt_text")]
    pub status: Option<String>,
    /// Points (negative when redeemed).
    #[serde(default, with = "option_decimal_number")]
    pub point: Option<Decimal>,
    /// Amount (negative when redeemed).
    #[serde(default, with = "option_decimal_number")]
    pub amount: Option<Decimal>,
    /// When the points expire (`YYYY-MM-DD`).
    #[serde(default, with = "opt_text")]
    pub expired_date: Option<String>,
}

/// An item's stock in one warehouse.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Inventory {
    /// The inventory row id.
    #[serde(default, with = "opt_text")]
    pub id: Option<String>,
    /// The warehouse's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub warehouse_id: String,
    /// The quantity on hand.
    #[serde(with = "decimal_number")]
    pub quantity: Decimal,
    /// The reorder quantity.
    #[serde(default, with = "option_decimal_number")]
    pub reorder_qty: Option<Decimal>,
}

/// An item's tax.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ItemTax {
    /// `0` inclusive, `1` exclusive (as Asalta's POS means it).
    #[serde(default, with = "opt_text")]
    pub tax_method: Option<String>,
    /// The tax rate's id.
    #[serde(default, with = "opt_text")]
    pub id: Option<String>,
    /// The tax code.
    #[serde(default, with = "opt_text")]
    pub code: Option<String>,
    /// The tax name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// The rate.
    #[serde(default, with = "option_decimal_number")]
    pub rate: Option<Decimal>,
    /// `Percentage` or fixed.
    #[serde(default, with = "opt_text")]
    pub r#type: Option<String>,
}

/// An item (`/pos/items`): `standard`, `service`, `bundle` or `digital`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Item {
    /// Asalta's id (what invoices need).
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// The item code (the POS's product code).
    #[serde(default, with = "opt_text")]
    pub code: Option<String>,
    /// `standard`, `service`, `bundle`, `digital` (or `manual` for gift cards).
    #[serde(default, with = "opt_text")]
    pub r#type: Option<String>,
    /// The unit.
    #[serde(default, with = "opt_text")]
    pub unit: Option<String>,
    /// The cost.
    #[serde(default, with = "option_decimal_number")]
    pub cost: Option<Decimal>,
    /// The selling price.
    #[serde(default, with = "option_decimal_number")]
    pub price: Option<Decimal>,
    /// The quantity over all warehouses.
    #[serde(default, with = "option_decimal_number")]
    pub quantity: Option<Decimal>,
    /// The promotional price.
    #[serde(default, with = "option_decimal_number")]
    pub promo_price: Option<Decimal>,
    /// The category (with its sub-category).
    #[serde(default)]
    pub category: Value,
    /// The tax.
    #[serde(default)]
    pub tax: Option<ItemTax>,
    /// Variants (options), as sent.
    #[serde(default)]
    pub variants: Value,
    /// Per-warehouse stock.
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub inventory: Vec<Inventory>,
    /// Bundle definition (mandatory/optional products), as sent.
    #[serde(default)]
    pub bundle: Value,
}

/// A promotion (`/pos/promotions`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Promotion {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The title.
    #[serde(default, with = "opt_text")]
    pub title: Option<String>,
    /// Start, `YYYY-MM-DD HH:MM:SS`.
    #[serde(default, with = "opt_text")]
    pub start_date: Option<String>,
    /// End, `YYYY-MM-DD HH:MM:SS`.
    #[serde(default, with = "opt_text")]
    pub end_date: Option<String>,
    /// The description.
    #[serde(default, with = "opt_text")]
    pub description: Option<String>,
    /// The promotion type as Asalta writes it (see [`Promotion::kind`]).
    #[serde(default, with = "opt_text")]
    pub r#type: Option<String>,
    /// How quantities count.
    #[serde(default, with = "opt_text")]
    pub quantity_by: Option<String>,
    /// How the discount is given.
    #[serde(default, with = "opt_text")]
    pub discount_by: Option<String>,
    /// `All Warehouse` or ids.
    #[serde(default, with = "opt_text")]
    pub warehouse_ids: Option<String>,
    /// Minimum spend.
    #[serde(default, with = "option_decimal_number")]
    pub minimum_spent: Option<Decimal>,
    /// `enable` / `disable`.
    #[serde(default, with = "opt_text")]
    pub status: Option<String>,
    /// Item ids the promotion applies to.
    #[serde(default)]
    pub promotions_items: Value,
    /// Conditions (quantity, discount amount/percent, free items, basket value).
    #[serde(default)]
    pub promotion_conditions: Value,
}

/// The promotion types the document lists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromotionKind {
    /// By items (`By Product`).
    Items,
    /// By category.
    Category,
    /// Basket.
    Basket,
    /// Spent total.
    SpentTotal,
    /// Cheapest item.
    Cheapest,
    /// Outlet based.
    OutletBased,
    /// Customer birthday.
    CustomerBirthday,
    /// Coupon.
    Coupon,
    /// Any other type, as sent.
    Other(String),
}

impl Promotion {
    /// The promotion's type, read tolerantly (case and spacing ignored).
    pub fn kind(&self) -> Option<PromotionKind> {
        let raw = self.r#type.as_deref()?;
        let key: String = raw
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        Some(match key.as_str() {
            "byproduct" | "items" | "item" | "byitem" | "byitems" => PromotionKind::Items,
            "category" | "bycategory" => PromotionKind::Category,
            "basket" | "bybasket" => PromotionKind::Basket,
            "spenttotal" | "byspenttotal" => PromotionKind::SpentTotal,
            "cheapest" | "bycheapest" => PromotionKind::Cheapest,
            "outletbased" | "byoutlet" | "outlet" => PromotionKind::OutletBased,
            "customerbirthdaypromotion" | "customerbirthday" | "birthday" => PromotionKind::CustomerBirthday,
            "coupon" | "bycoupon" => PromotionKind::Coupon,
            _ => PromotionKind::Other(raw.to_owned()),
        })
    }
}

/// A tax rate (`/pos/taxrates`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TaxRate {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The code.
    #[serde(default, with = "opt_text")]
    pub tax_code: Option<String>,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub tax_name: Option<String>,
    /// The rate in percent.
    #[serde(default, with = "option_decimal_number")]
    pub rate: Option<Decimal>,
    /// The country code.
    #[serde(default, with = "opt_text")]
    pub country_code: Option<String>,
    /// `yes` when the rate is split into line items.
    #[serde(default, with = "opt_text")]
    pub line_item: Option<String>,
}

/// A tax rate's line item (`/pos/taxlineitems`), e.g. SGST and CGST.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TaxLineItem {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// The rate in percent.
    #[serde(default, with = "option_decimal_number")]
    pub rate: Option<Decimal>,
}

/// A payment method (`/pos/payment_methods`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PaymentMethodRecord {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// The name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// What `paid_by` must say for this method.
    #[serde(default, with = "opt_text")]
    pub identifier: Option<String>,
    /// Variable charges, e.g. `0.00000%`.
    #[serde(default, with = "opt_text")]
    pub variable_charges: Option<String>,
    /// Fixed charges.
    #[serde(default, with = "option_decimal_number")]
    pub fixed_charges: Option<Decimal>,
    /// `Enable` / `Disable`.
    #[serde(default, with = "opt_text")]
    pub status: Option<String>,
}

/// A payment (`/pos/payments`, and nested in sales).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PaymentRecord {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    #[serde(default, with = "opt_text")]
    pub date: Option<String>,
    /// The sale it pays.
    #[serde(default, with = "opt_text")]
    pub sale_id: Option<String>,
    /// The return it refunds.
    #[serde(default, with = "opt_text")]
    pub return_id: Option<String>,
    /// Asalta's payment reference (`IPAY/…`).
    #[serde(default, with = "opt_text")]
    pub reference_no: Option<String>,
    /// The payment method's identifier.
    #[serde(default, with = "opt_text")]
    pub paid_by: Option<String>,
    /// The amount.
    #[serde(with = "decimal_number")]
    pub amount: Decimal,
    /// Extra charges.
    #[serde(default, with = "option_decimal_number")]
    pub extra_charges: Option<Decimal>,
    /// `received`, `returned`, …
    #[serde(default, with = "opt_text")]
    pub r#type: Option<String>,
    /// A note.
    #[serde(default, with = "opt_text")]
    pub note: Option<String>,
}

/// A new payment (`POST /pos/payments`). `type` is always `sale`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewPayment {
    /// The sale (invoice) it pays.
    pub sale_id: u64,
    /// The amount; at most what is still due on the sale.
    #[serde(with = "decimal_number")]
    pub amount: Decimal,
    /// `YYYY-MM-DD HH:MM:SS` in the merchant's time.
    pub date: String,
    /// A payment method's identifier (`cash`, `CC`, `gift_card`, `other`, `loyalty`, …).
    pub paid_by: String,
    /// Always `sale`.
    pub r#type: &'static str,
    /// A note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Our reference for the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_no: Option<String>,
    /// Extra charges.
    #[serde(skip_serializing_if = "Option::is_none", with = "option_decimal_number")]
    pub extra_charges: Option<Decimal>,
    /// A gift card or card number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no: Option<String>,
}

impl NewPayment {
    /// A payment of `amount` by `paid_by` against sale `sale_id` on `date`
    /// (`YYYY-MM-DD HH:MM:SS`).
    pub fn new(sale_id: u64, amount: Decimal, paid_by: impl Into<String>, date: impl Into<String>) -> Self {
        Self {
            sale_id,
            amount,
            date: date.into(),
            paid_by: paid_by.into(),
            r#type: "sale",
            note: None,
            reference_no: None,
            extra_charges: None,
            no: None,
        }
    }
}

/// Asalta's answer to a new payment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct PaymentReceipt {
    /// The payment's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub payment_id: String,
    /// Asalta's payment reference.
    #[serde(default, with = "opt_text")]
    pub reference_no: Option<String>,
    /// The amount booked.
    #[serde(default, with = "option_decimal_number")]
    pub paid_amount: Option<Decimal>,
    /// The method.
    #[serde(default, with = "opt_text")]
    pub paid_by: Option<String>,
}

/// A warehouse as nested in a sale: an object, or only an id.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum SaleWarehouse {
    Full(Warehouse),
    Id(#[serde(deserialize_with = "id_text::deserialize")] String),
}

/// One line of an invoice, order or return.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SaleItem {
    /// The item's id.
    #[serde(default, with = "opt_text")]
    pub product_id: Option<String>,
    /// The item's code.
    #[serde(default, with = "opt_text")]
    pub product_code: Option<String>,
    /// The item's name.
    #[serde(default, with = "opt_text")]
    pub product_name: Option<String>,
    /// The item's type.
    #[serde(default, with = "opt_text")]
    pub product_type: Option<String>,
    /// Net unit price (before tax).
    #[serde(default, with = "option_decimal_number")]
    pub net_unit_price: Option<Decimal>,
    /// Unit price as charged.
    #[serde(default, with = "option_decimal_number")]
    pub unit_price: Option<Decimal>,
    /// Quantity.
    #[serde(default, with = "option_decimal_number")]
    pub quantity: Option<Decimal>,
    /// The line's tax.
    #[serde(default, with = "option_decimal_number")]
    pub item_tax: Option<Decimal>,
    /// The tax rate as text, e.g. `7.0000%`.
    #[serde(default, with = "opt_text")]
    pub tax: Option<String>,
    /// The line's discount.
    #[serde(default, with = "option_decimal_number")]
    pub item_discount: Option<Decimal>,
    /// The line's subtotal.
    #[serde(default, with = "option_decimal_number")]
    pub subtotal: Option<Decimal>,
    /// A gift card sold on this line.
    #[serde(default)]
    pub gift_card: Option<GiftCard>,
}

/// An invoice, order, or return as Asalta answers it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SaleRecord {
    /// Asalta's id.
    #[serde(deserialize_with = "id_text::deserialize")]
    pub id: String,
    /// `YYYY-MM-DD HH:MM:SS`, merchant time.
    #[serde(default, with = "opt_text")]
    pub date: Option<String>,
    /// Asalta's reference (`SALE/POS/2017/05/6752`).
    #[serde(default, with = "opt_text")]
    pub reference_no: Option<String>,
    /// The customer's id.
    #[serde(default, with = "opt_text")]
    pub customer_id: Option<String>,
    /// The customer's name.
    #[serde(default, with = "opt_text")]
    pub customer: Option<String>,
    /// The biller's id.
    #[serde(default, with = "opt_text")]
    pub biller_id: Option<String>,
    /// The warehouse (an object on invoices and orders).
    #[serde(default)]
    pub(crate) warehouse: Option<SaleWarehouse>,
    /// The warehouse id (on returns).
    #[serde(default, with = "opt_text")]
    pub warehouse_id: Option<String>,
    /// A note.
    #[serde(default, with = "opt_text")]
    pub note: Option<String>,
    /// A staff note (where the connector writes the POS reference).
    #[serde(default, with = "opt_text")]
    pub staff_note: Option<String>,
    /// The sum of lines.
    #[serde(default, with = "option_decimal_number")]
    pub total: Option<Decimal>,
    /// The order discount.
    #[serde(default, with = "option_decimal_number")]
    pub order_discount: Option<Decimal>,
    /// The total tax.
    #[serde(default, with = "option_decimal_number")]
    pub total_tax: Option<Decimal>,
    /// Shipping.
    #[serde(default, with = "option_decimal_number")]
    pub shipping: Option<Decimal>,
    /// The grand total.
    #[serde(default, with = "option_decimal_number")]
    pub grand_total: Option<Decimal>,
    /// `completed`, `pending`, `new`, …
    #[serde(default, with = "opt_text")]
    pub sale_status: Option<String>,
    /// `paid`, `due`, `partial`, …
    #[serde(default, with = "opt_text")]
    pub payment_status: Option<String>,
    /// What has been paid.
    #[serde(default, with = "option_decimal_number")]
    pub paid: Option<Decimal>,
    /// The lines.
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub items: Vec<SaleItem>,
    /// The payments.
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub payments: Vec<PaymentRecord>,
}

impl SaleRecord {
    /// The warehouse's id, wherever this record carries it.
    pub fn warehouse_id(&self) -> Option<&str> {
        match &self.warehouse {
            Some(SaleWarehouse::Full(w)) => Some(w.id.as_str()),
            Some(SaleWarehouse::Id(id)) => Some(id.as_str()),
            None => self.warehouse_id.as_deref(),
        }
    }

    /// The warehouse's code, when the record nests the warehouse.
    pub fn warehouse_code(&self) -> Option<&str> {
        match &self.warehouse {
            Some(SaleWarehouse::Full(w)) => w.code.as_deref(),
            _ => None,
        }
    }
}

/// A gift card, as `/pos/giftcards?card_no=` nests it in the sale that sold it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct GiftCard {
    /// Asalta's id.
    #[serde(default, with = "opt_text")]
    pub id: Option<String>,
    /// The card number.
    #[serde(default, with = "opt_text")]
    pub card_no: Option<String>,
    /// When issued.
    #[serde(default, with = "opt_text")]
    pub date: Option<String>,
    /// The face value.
    #[serde(default, with = "option_decimal_number")]
    pub value: Option<Decimal>,
    /// What is left.
    #[serde(default, with = "option_decimal_number")]
    pub balance: Option<Decimal>,
    /// When it expires.
    #[serde(default, with = "opt_text")]
    pub expiry: Option<String>,
}

// ---------------------------------------------------------------- outgoing sale

/// The body of `POST /pos/invoices`, `/pos/orders`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NewSale {
    pub date: String,
    pub customer_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    pub biller_id: u64,
    pub warehouse_id: u64,
    pub note: String,
    pub staff_note: String,
    pub order_discount_percentage: bool,
    #[serde(with = "decimal_number")]
    pub order_discount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    pub items: Vec<NewSaleItem>,
}

/// The `shipping` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Shipping {
    pub delivery_date: String,
    #[serde(with = "decimal_number")]
    pub delivery_charge: Decimal,
    pub shipping_address: String,
}

/// One entry of `items`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NewSaleItem {
    pub product_id: u64,
    #[serde(with = "decimal_number")]
    pub quantity: Decimal,
    pub discount_percentage: bool,
    #[serde(with = "decimal_number")]
    pub item_discount: Decimal,
}

/// The `option_type` of every customer written: the table says only "Its to be use
/// 'Item' OR 'Service'" (not marked optional), every sample (create and update, curl
/// and PHP) sends `Item`, and a missing field is "Field option_type is Mandatory.".
/// A POS customer says nothing that would choose `Service`.
pub(crate) const CUSTOMER_OPTION_TYPE: &str = "Item";

/// The body of `POST /pos/customers` (a new customer, or an update with `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CustomerBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub name: String,
    /// `Item` or `Service`; always [`CUSTOMER_OPTION_TYPE`].
    pub option_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_group_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_code: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

// ---------------------------------------------------------------- returns

/// A return of an invoice or an order (`POST /pos/return_invoices`,
/// `/pos/return_orders`): the sale it returns, and the lines going back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewReturn {
    /// The invoice or order being returned.
    pub sale_id: u64,
    /// `YYYY-MM-DD HH:MM:SS`, merchant time.
    pub date: String,
    /// The customer's id.
    pub customer_id: u64,
    /// The biller's id.
    pub biller_id: u64,
    /// The warehouse's id.
    pub warehouse_id: u64,
    /// A note.
    pub note: String,
    /// A surcharge kept back.
    #[serde(skip_serializing_if = "Option::is_none", with = "option_decimal_number")]
    pub return_surcharge: Option<Decimal>,
    /// Whether `order_discount` is a percentage.
    pub order_discount_percentage: bool,
    /// The order discount.
    #[serde(with = "decimal_number")]
    pub order_discount: Decimal,
    /// The lines returned.
    pub items: Vec<ReturnItem>,
}

/// One line of a return.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReturnItem {
    /// The item's id.
    pub product_id: u64,
    /// The quantity returned (positive).
    #[serde(with = "decimal_number")]
    pub quantity: Decimal,
    /// Whether `item_discount` is a percentage.
    pub discount_percentage: bool,
    /// The line discount.
    #[serde(with = "decimal_number")]
    pub item_discount: Decimal,
    /// A bundle's chosen items, as Asalta's document shows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_items: Option<Value>,
}

impl ReturnItem {
    /// `quantity` of item `product_id`, without discount.
    pub fn new(product_id: u64, quantity: Decimal) -> Self {
        Self {
            product_id,
            quantity,
            discount_percentage: false,
            item_discount: Decimal::ZERO,
            bundle_items: None,
        }
    }
}

// ---------------------------------------------------------------- reports

/// A report's date range (`startdate`, `enddate`, `YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// The first day.
    pub start: jiff::civil::Date,
    /// The last day.
    pub end: jiff::civil::Date,
}

/// A month (`month`, `year`), for payroll and claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// The year, e.g. 2016.
    pub year: i16,
    /// The month, 1–12.
    pub month: i8,
}

/// One row of the sales report (`/report/sales`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SalesReportRow {
    /// `YYYY-MM-DD HH:MM:SS`.
    #[serde(default, with = "opt_text")]
    pub sale_date: Option<String>,
    /// `Walk-in Customer`, …
    #[serde(default, with = "opt_text")]
    pub customer_type: Option<String>,
    /// The customer's name.
    #[serde(default, with = "opt_text")]
    pub customer_name: Option<String>,
    /// The sale's reference.
    #[serde(default, with = "opt_text")]
    pub reference_no: Option<String>,
    /// The biller's id.
    #[serde(default, with = "opt_text")]
    pub biller_id: Option<String>,
    /// The biller's name.
    #[serde(default, with = "opt_text")]
    pub biller: Option<String>,
    /// Discount.
    #[serde(default, with = "option_decimal_number")]
    pub discount: Option<Decimal>,
    /// Tax.
    #[serde(default, with = "option_decimal_number")]
    pub tax: Option<Decimal>,
    /// Shipping.
    #[serde(default, with = "option_decimal_number")]
    pub shipping_charge: Option<Decimal>,
    /// Total before tax.
    #[serde(default, with = "option_decimal_number")]
    pub total: Option<Decimal>,
    /// Grand total.
    #[serde(default, with = "option_decimal_number")]
    pub grand_total: Option<Decimal>,
    /// Sale status.
    #[serde(default, with = "opt_text")]
    pub status: Option<String>,
    /// Payment status.
    #[serde(default, with = "opt_text")]
    pub payment_status: Option<String>,
    /// Paid.
    #[serde(default, with = "option_decimal_number")]
    pub paid: Option<Decimal>,
    /// Payments (absent on unpaid sales).
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub payment_details: Vec<ReportPayment>,
}

/// A payment in a report.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ReportPayment {
    /// The method.
    #[serde(default, with = "opt_text")]
    pub payment_type: Option<String>,
    /// The payment's reference (sales report).
    #[serde(default, with = "opt_text")]
    pub payment_ref_no: Option<String>,
    /// The amount: `paid_amount`, or the sales report's misspelt `paid_amonut`.
    #[serde(default, alias = "paid_amonut", with = "option_decimal_number")]
    pub paid_amount: Option<Decimal>,
    /// `Partial Amount Paid`, … (CRM report).
    #[serde(default, with = "opt_text")]
    pub paymentdue: Option<String>,
    /// When paid.
    #[serde(default, with = "opt_text")]
    pub paid_date: Option<String>,
}

/// One row of the CRM invoices report (`/report/invoices`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct CrmInvoice {
    /// The invoice number.
    #[serde(default, with = "opt_text")]
    pub invoice_no: Option<String>,
    /// The organization.
    #[serde(default, with = "opt_text")]
    pub organization: Option<String>,
    /// The contact's name.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, with = "opt_text")]
    pub invoice_date: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, with = "opt_text")]
    pub due_date: Option<String>,
    /// The email address.
    #[serde(default, with = "opt_text")]
    pub email: Option<String>,
    /// GST.
    #[serde(default, with = "option_decimal_number")]
    pub gst_amount: Option<Decimal>,
    /// The total.
    #[serde(default, with = "option_decimal_number")]
    pub total_amount: Option<Decimal>,
    /// What is still owed.
    #[serde(default, with = "option_decimal_number")]
    pub outstanding_amount: Option<Decimal>,
    /// Payment terms in days.
    #[serde(default, with = "opt_text")]
    pub terms: Option<String>,
    /// The payments.
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub payment_details: Vec<ReportPayment>,
}

/// The payroll report for one month (`/report/payroll`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Payroll {
    /// `YYYY-MM-DD`.
    #[serde(default, with = "opt_text")]
    pub payslip_date: Option<String>,
    /// Basic salary.
    #[serde(default, with = "option_decimal_number")]
    pub basic_salary: Option<Decimal>,
    /// Gross salary.
    #[serde(default, with = "option_decimal_number")]
    pub gross_salary: Option<Decimal>,
    /// Net pay.
    #[serde(default, with = "option_decimal_number")]
    pub net_pay: Option<Decimal>,
    /// Employer CPF.
    #[serde(default, with = "option_decimal_number")]
    pub employer_cpf: Option<Decimal>,
    /// Employee CPF.
    #[serde(default, with = "option_decimal_number")]
    pub employee_cpf: Option<Decimal>,
}

/// One claim type's total in the claims report (`/report/claims`), whose answer is
/// an object keyed by claim type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ClaimTotal {
    /// The claim type (`Phone`, `Travelling`, …).
    pub claim_type: String,
    /// Its total expense for the month.
    pub total_expense: Decimal,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ClaimEntry {
    #[serde(with = "decimal_number")]
    pub total_expense: Decimal,
}

/// One branch of the roster schedule (`/report/rosterschedule`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RosterBranch {
    /// The branch.
    #[serde(default, with = "opt_text")]
    pub branch: Option<String>,
    /// Who works there when.
    #[serde(default, deserialize_with = "lenient_list::deserialize")]
    pub employees: Vec<RosterShift>,
}

/// One shift in the roster schedule.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RosterShift {
    /// The employee.
    #[serde(default, with = "opt_text")]
    pub name: Option<String>,
    /// The shift.
    #[serde(default, with = "opt_text")]
    pub shift: Option<String>,
    /// The facility.
    #[serde(default, with = "opt_text")]
    pub facility: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, with = "opt_text")]
    pub working_date: Option<String>,
    /// `HH:MM`.
    #[serde(default, with = "opt_text")]
    pub start_time: Option<String>,
    /// `HH:MM`.
    #[serde(default, with = "opt_text")]
    pub end_time: Option<String>,
    /// Hours worked, `HH.MM` (`"04.30"` is four and a half hours).
    #[serde(default, with = "opt_text")]
    pub totaltime: Option<String>,
    /// `Working`, …
    #[serde(default, with = "opt_text")]
    pub status: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn phone_code_as_number_or_string_and_ids_as_numbers() {
        let a: CustomerRecord =
            serde_json::from_str(r#"{"id":5173,"name":"c","profile":{"phone_code":65,"phone":12345678}}"#).unwrap();
        let b: CustomerRecord =
            serde_json::from_str(r#"{"id":"5173","name":"c","profile":{"phone_code":"65","phone":"12345678"}}"#)
                .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.profile.unwrap().phone_code.as_deref(), Some("65"));
    }

    #[test]
    fn report_payment_reads_the_misspelt_amount() {
        let p: ReportPayment = serde_json::from_str(r#"{"paid_amonut":"1400.00"}"#).unwrap();
        assert_eq!(p.paid_amount, Some(Decimal::new(140000, 2)));
    }

    #[test]
    fn promotion_kinds() {
        let p: Promotion = serde_json::from_str(r#"{"id":"10","type":"By Product"}"#).unwrap();
        assert_eq!(p.kind(), Some(PromotionKind::Items));
        let p: Promotion = serde_json::from_str(r#"{"id":"10","type":"Spent Total"}"#).unwrap();
        assert_eq!(p.kind(), Some(PromotionKind::SpentTotal));
    }
}
