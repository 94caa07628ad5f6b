//! SalesMania's request and response shapes: every path, query parameter and field
//! name the connector uses, and only here.
//!
//! SalesMania's public pages show one endpoint in full (`POST /extapi/v1.0/orders`),
//! the path of the team token (`/extapi/v1.0/team_token`), the bodies of a new
//! customer and a new product, and the schema of an order as read back ("Ext Order").
//! Every other path, and every answer's shape, is **our choice**, following the
//! visible pattern `/extapi/v1.0/<resource>[/{id}]`; each is documented with its
//! reason in `docs/vendors/salesmania.md`. When the real ones are known, this file
//! (and the fixtures that spell them) is what changes.
//!
//! Reading is tolerant: ids and amounts may come as numbers or strings, `null` is
//! the same as missing, lists may be bare arrays or wrapped in `{"data": [...]}`.
//! Writing is exact: money and quantities are JSON numbers with their exact digits.

use posbridge_core::error::MessageKeys;
use std::fmt;

use posbridge_core::Decimal;
use posbridge_core::wire::{decimal_number, option_decimal_number};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---- paths ------------------------------------------------------------------------

/// Bearer token from Basic Auth (our choice: not shown publicly).
pub(crate) const BEARER_TOKEN: &str = "/extapi/v1.0/token";
/// List of the account's databases (our choice: not shown publicly).
pub(crate) const DATABASES: &str = "/extapi/v1.0/databases";
/// Team token for a selected database (public).
pub(crate) const TEAM_TOKEN: &str = "/extapi/v1.0/team_token";
/// Customers (public for `POST`; `/{id}` our choice).
pub(crate) const CUSTOMERS: &str = "/extapi/v1.0/customers";
/// Products (public for `POST`; `/{id}` our choice).
pub(crate) const PRODUCTS: &str = "/extapi/v1.0/products";
/// Orders (public for `POST`; `/{id}` and the list by `ext_order_no` our choice).
pub(crate) const ORDERS: &str = "/extapi/v1.0/orders";
/// Visits (our choice).
pub(crate) const VISITS: &str = "/extapi/v1.0/visits";
/// Teams (our choice).
pub(crate) const TEAMS: &str = "/extapi/v1.0/teams";

/// `collection/{id}`.
pub(crate) fn by_id(collection: &str, id: u64) -> String {
    format!("{collection}/{id}")
}

// ---- query parameters ---------------------------------------------------------------

/// The team token every call after the chain carries (public).
pub(crate) const TEAM_TOKEN_PARAM: &str = "team_token";
/// Which database a team token is asked for (our choice: the sample team token's
/// payload calls it `db_id`).
pub(crate) const DB_ID_PARAM: &str = "db_id";
/// The page of a list, from 1 (our choice).
pub(crate) const PAGE_PARAM: &str = "page";
/// Orders filtered by the POS reference (our choice: the body field's name).
pub(crate) const EXT_ORDER_NO_PARAM: &str = "ext_order_no";
/// Customers filtered by the POS customer code (our choice: the body field's name).
pub(crate) const EXT_CUST_NO_PARAM: &str = "ext_cust_no";

// ---- envelopes ----------------------------------------------------------------------

/// The key a list or a record may be wrapped in.
pub(crate) const DATA: &str = "data";
/// Laravel-style paging: a non-null URL means there is another page.
pub(crate) const NEXT_PAGE_URL: &str = "next_page_url";
/// Laravel-style paging: the current and the last page, at the top or under `meta`.
pub(crate) const CURRENT_PAGE: &str = "current_page";
/// See [`CURRENT_PAGE`].
pub(crate) const LAST_PAGE: &str = "last_page";
/// See [`CURRENT_PAGE`].
pub(crate) const META: &str = "meta";
/// Where a refusal's message is: `message`, else `error`, else `msg`, followed by
/// Laravel-style validation details, `errors: {"field": ["problem", …]}`.
pub(crate) const MESSAGES: MessageKeys = MessageKeys::new(&["message", "error", "msg"]).details("errors");

// ---- the auth chain ----------------------------------------------------------------

/// Keys of the bearer answer that may hold the token, in order of preference.
pub(crate) const BEARER_KEYS: &[&str] = &["token", "access_token", "bearer_token"];
/// Keys of the team-token answer that may hold the token, in order of preference.
pub(crate) const TEAM_TOKEN_KEYS: &[&str] = &["team_token", "token"];
/// Seconds a token lives, when an answer says (optional).
pub(crate) const EXPIRES_IN: &str = "expires_in";

/// One database of the account.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Database {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub db_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub db_name: Option<String>,
}

impl Database {
    pub(crate) fn id(&self) -> Option<u64> {
        self.id.or(self.db_id)
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref().or(self.db_name.as_deref())
    }
}

// ---- orders ------------------------------------------------------------------------

/// The order statuses SalesMania allows (public).
pub(crate) mod status {
    pub(crate) const BARU: &str = "Baru";
    pub(crate) const DIPROSES: &str = "Diproses";
    pub(crate) const TERKIRIM: &str = "Terkirim";
    pub(crate) const LUNAS: &str = "Lunas";
    pub(crate) const BATAL: &str = "Batal";
}

/// `POST /extapi/v1.0/orders` (public). The answer is `{}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct NewOrder {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub customer_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub ordered_products: Vec<OrderedProduct>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disc_percent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "option_decimal_number")]
    pub disc_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", with = "option_decimal_number")]
    pub total_paid: Option<Decimal>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit_status: Option<String>,
    pub ext_order_no: String,
    pub ext_order_status_name: &'static str,
}

/// One line of a new order (public).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OrderedProduct {
    pub product_id: u64,
    #[serde(with = "decimal_number")]
    pub qty: Decimal,
    pub unit: String,
    #[serde(with = "decimal_number")]
    pub price: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_disc_percent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "option_decimal_number")]
    pub item_disc_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub ext_order_line_id: u64,
}

/// `PATCH /extapi/v1.0/orders/{id}` (the method is public, the body our choice).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct OrderStatusUpdate {
    pub status: &'static str,
    pub ext_order_status_name: &'static str,
}

/// An order as read back: SalesMania's "Ext Order" schema (public), plus the
/// spellings of the request (`ext_order_no`, `date`, `status`, `ordered_products`,
/// `customer_id`, `id`) in case the answer echoes those instead.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct ExtOrder {
    #[serde(default, deserialize_with = "opt_text")]
    pub ext_order_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub ext_order_no: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub ext_cust_no: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub trans_date: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub date: Option<String>,
    #[serde(default, with = "option_decimal_number")]
    pub disc_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_text")]
    pub disc_percent: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub sm_customer_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub customer_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub sm_order_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub sm_status: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ordered_product: Vec<ExtOrderProduct>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ordered_products: Vec<ExtOrderProduct>,
}

impl ExtOrder {
    /// The POS reference.
    pub(crate) fn reference(&self) -> Option<&str> {
        self.ext_order_id
            .as_deref()
            .or(self.ext_order_no.as_deref())
            .filter(|r| !r.trim().is_empty())
    }

    /// Whether this order was booked under the POS `reference`: its `ext_order_no`
    /// (the field the order was posted with) or its `ext_order_id` (the Ext Order
    /// schema's name for it) is `reference`, surrounding spaces ignored (Laravel trims
    /// what it stores). Either field may be the one the server fills, so both are read.
    pub(crate) fn has_reference(&self, reference: &str) -> bool {
        let reference = reference.trim();
        !reference.is_empty()
            && [&self.ext_order_no, &self.ext_order_id]
                .into_iter()
                .any(|field| field.as_deref().map(str::trim) == Some(reference))
    }

    /// SalesMania's order id.
    pub(crate) fn order_id(&self) -> Option<u64> {
        self.sm_order_id.or(self.id)
    }

    /// The lines, under whichever name they came.
    pub(crate) fn lines(&self) -> &[ExtOrderProduct] {
        if self.ordered_product.is_empty() {
            &self.ordered_products
        } else {
            &self.ordered_product
        }
    }
}

/// One line of an order as read back (public schema, tolerant).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct ExtOrderProduct {
    #[serde(default, deserialize_with = "opt_text")]
    pub ext_product_code: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub sm_product_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub product_id: Option<u64>,
    #[serde(default, with = "option_decimal_number")]
    pub qty: Option<Decimal>,
    #[serde(default, with = "option_decimal_number")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_text")]
    pub item_disc_percent: Option<String>,
    #[serde(default, with = "option_decimal_number")]
    pub item_disc_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_unit")]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
}

// ---- customers ---------------------------------------------------------------------

/// `POST /extapi/v1.0/customers` (public) and `PATCH /extapi/v1.0/customers/{id}`.
/// `location` and `status` are never sent: the domain has neither.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CustomerBody {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_cust_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// A customer as read back (tolerant; `email` read when present).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct CustomerRecord {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub ext_cust_no: Option<String>,
    #[serde(default, deserialize_with = "tags")]
    pub tags: Vec<String>,
}

// ---- products ----------------------------------------------------------------------

/// `POST /extapi/v1.0/products` (public) and `PATCH /extapi/v1.0/products/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ProductBody {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext_product_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_disc: Option<String>,
    /// Required by a `POST`; a catalogue update (`PATCH`) leaves it out, so that the
    /// stock SalesMania counts is not overwritten by a catalogue write.
    #[serde(skip_serializing_if = "Option::is_none", with = "option_decimal_number")]
    pub qty_on_hand: Option<Decimal>,
    pub product_units: Vec<UnitBody>,
}

/// One unit of a product (public): at least one has ratio 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UnitBody {
    pub name: String,
    #[serde(with = "decimal_number")]
    pub price: Decimal,
    #[serde(with = "decimal_number")]
    pub ratio: Decimal,
}

/// A product as read back (tolerant).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct ProductRecord {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "tags")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub status: Option<bool>,
    #[serde(default, deserialize_with = "opt_text")]
    pub ext_product_code: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub default_disc: Option<String>,
    #[serde(default, with = "option_decimal_number")]
    pub qty_on_hand: Option<Decimal>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub product_units: Vec<UnitRecord>,
}

/// A unit as read back.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct UnitRecord {
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, with = "option_decimal_number")]
    pub price: Option<Decimal>,
    #[serde(default, with = "option_decimal_number")]
    pub ratio: Option<Decimal>,
}

// ---- visits and teams --------------------------------------------------------------

/// `POST /extapi/v1.0/visits` (our choice, after the order's own fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VisitBody {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub customer_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A visit as read back (tolerant).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct VisitRecord {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "opt_id")]
    pub customer_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub team_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub visit_status: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub description: Option<String>,
}

/// A team as read back (tolerant).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TeamRecord {
    #[serde(default, deserialize_with = "opt_id")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "opt_id")]
    pub team_id: Option<u64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
}

// ---- tolerant readers --------------------------------------------------------------

/// An id from a whole number or a numeric string; `null`, missing and `""` are `None`.
pub(crate) fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole-number id, as a number or a string, or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("id {v} is negative")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            let text = v.to_string();
            // `f64`'s plain text of a tiny or huge number runs to hundreds of digits
            // (`-0.000…0983`): the message shows such a one in scientific notation.
            text.parse::<u64>().map(Some).map_err(|_| {
                let shown = if text.len() <= 40 {
                    text.clone()
                } else {
                    format!("{v:e}")
                };
                E::custom(format!("id {shown} is not a whole number"))
            })
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<u64>()
                .map(Some)
                .map_err(|_| E::custom(format!("id {:?} is not a whole number", excerpt(t))))
        }
    }
    d.deserialize_any(V)
}

/// Text from a string or a number; `null` and missing are `None`.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => {
            return Err(de::Error::custom(format!("expected text, got {}", kind_of(&other))));
        }
    })
}

/// A flag from `true`/`false`, `1`/`0`, or `"true"`, `"1"`, `"active"`, `"aktif"`
/// (and their opposites); `null` and missing are `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Number(n)) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "true" | "1" | "active" | "aktif" | "yes" | "y" => Some(true),
            "false" | "0" | "inactive" | "nonaktif" | "tidak aktif" | "no" | "n" => Some(false),
            other => return Err(de::Error::custom(format!("{:?} is not a flag", excerpt(other)))),
        },
        Some(other) => return Err(de::Error::custom(format!("expected a flag, got {}", kind_of(&other)))),
    })
}

/// A unit name from `"PCS"` or `{"name": "PCS", "ratio": 1}`.
pub(crate) fn opt_unit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => match o.get("name") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        Some(other) => return Err(de::Error::custom(format!("expected a unit, got {}", kind_of(&other)))),
    })
}

/// Tags from a list of strings (or of `{"name": …}` objects), or one comma-separated
/// string; `null` and missing are empty.
pub(crate) fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(|s| s.trim().to_owned()),
        _ => None,
    };
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(text).filter(|t| !t.is_empty()).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(other) => return Err(de::Error::custom(format!("expected tags, got {}", kind_of(&other)))),
    })
}

/// `T::default()` for `null` or missing.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn a_new_order_is_written_as_the_document_shows() {
        let order = NewOrder {
            date: "2024-01-01".into(),
            customer_id: 7,
            team_id: None,
            description: None,
            ordered_products: vec![OrderedProduct {
                product_id: 501,
                qty: dec!(2),
                unit: "PCS".into(),
                price: dec!(4.50),
                item_disc_percent: Some("55.05+3".into()),
                item_disc_amount: None,
                description: None,
                ext_order_line_id: 1,
            }],
            disc_percent: None,
            disc_amount: Some(dec!(1.00)),
            total_paid: None,
            status: status::BARU,
            visit_status: None,
            ext_order_no: "INV-1".into(),
            ext_order_status_name: "open",
        };
        assert_eq!(
            serde_json::to_string(&order).unwrap(),
            r#"{"date":"2024-01-01","customer_id":7,"ordered_products":[{"product_id":501,"qty":2,"unit":"PCS","price":4.50,"item_disc_percent":"55.05+3","ext_order_line_id":1}],"disc_amount":1.00,"status":"Baru","ext_order_no":"INV-1","ext_order_status_name":"open"}"#
        );
    }

    #[test]
    fn reads_the_ext_order_schema_tolerantly() {
        let o: ExtOrder = serde_json::from_value(json!({
            "ext_cust_no": "C-1", "ext_cust_id": 0, "ext_order_id": "INV-1", "trans_date": "2025-01-01",
            "disc_amount": "0", "disc_percent": null, "sm_order_id": "9001", "sm_status": "Baru",
            "ordered_product": [{"ext_product_code": "A", "qty": "2", "price": 4.5,
                                "unit": {"name": "PCS", "ratio": 1}, "sm_product_id": 501}],
            "something_new": {"x": 1}
        }))
        .unwrap();
        assert_eq!(o.reference(), Some("INV-1"));
        assert_eq!(o.order_id(), Some(9001));
        assert_eq!(o.lines()[0].unit.as_deref(), Some("PCS"));
        assert_eq!(o.lines()[0].qty, Some(dec!(2)));
        let both: ExtOrder = serde_json::from_value(json!({"id": 1, "sm_order_id": 2, "ext_order_no": "R"})).unwrap();
        assert_eq!((both.order_id(), both.reference()), (Some(2), Some("R")));
    }

    #[test]
    fn ids_flags_and_tags_are_read_tolerantly() {
        let c: CustomerRecord =
            serde_json::from_value(json!({"id": "12", "name": "Budi", "tags": "vip, grosir", "ext_cust_no": 55}))
                .unwrap();
        assert_eq!(
            (c.id, c.tags.len(), c.ext_cust_no.as_deref()),
            (Some(12), 2, Some("55"))
        );
        let p: ProductRecord = serde_json::from_value(json!({"id": 1, "status": 1, "tags": [{"name": "a"}, "b"],
            "product_units": null, "qty_on_hand": "12.5"}))
        .unwrap();
        assert_eq!(
            (p.status, p.tags.len(), p.qty_on_hand),
            (Some(true), 2, Some(dec!(12.5)))
        );
        assert!(serde_json::from_value::<CustomerRecord>(json!({"id": "abc"})).is_err());
        assert!(serde_json::from_value::<CustomerRecord>(json!({"id": -1})).is_err());
    }
}
