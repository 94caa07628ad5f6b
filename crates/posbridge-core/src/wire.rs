//! Serde helpers for vendor wire types: money written as exact JSON numbers, and
//! numbers read whether the vendor sends them as numbers or strings.
//!
//! Vendors disagree, and their documents disagree with their servers: the same
//! field may arrive as `12.5`, `"12.5"` or `null`. Wire structs use these helpers
//! so that connectors are tolerant in what they read and exact in what they write.

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use std::fmt;
use std::str::FromStr;

/// A [`Decimal`] written as a JSON number with its exact digits (`20.00`, not
/// `20.0`), read from a number or a string. Use with `#[serde(with = "...")]`.
pub mod decimal_number {
    use super::*;

    /// Writes the decimal as a raw JSON number. Only for JSON serializers.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(d.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }

    /// Reads a number or a numeric string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(LenientDecimal)
    }
}

/// Like [`decimal_number`] for `Option<Decimal>`: `null`, missing (with
/// `#[serde(default)]`) and `""` read as `None`.
pub mod option_decimal_number {
    use super::*;

    /// Writes `Some` as a raw JSON number and `None` as `null`.
    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => decimal_number::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    /// Reads a number, a numeric string, `""` or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        d.deserialize_any(OptionalLenientDecimal)
    }
}

/// A [`Decimal`] written as a string, read from a number or a string.
pub mod decimal_string {
    use super::*;

    /// Writes the decimal as a string.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(d)
    }

    /// Reads a number or a numeric string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(LenientDecimal)
    }
}

/// A string id read from a string or a number (`42` and `"42"` both give `"42"`).
pub mod string_or_number {
    use super::*;

    /// Writes the string.
    pub fn serialize<S: Serializer>(v: &str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    /// Reads a string or a number as a string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

struct LenientDecimal;

impl Visitor<'_> for LenientDecimal {
    type Value = Decimal;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number, as a JSON number or a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        let t = v.trim();
        Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map_err(|_| {
                E::custom(format!(
                    "{:?} is not a decimal number",
                    crate::error::excerpt(v.as_bytes())
                ))
            })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // `f64`'s shortest round-trip text recovers the literal the vendor wrote
        // (`12.1` stays `12.1`), which `from_f64` would not.
        if !v.is_finite() {
            return Err(E::custom("number is not finite"));
        }
        self.visit_str(&v.to_string())
    }
}

struct OptionalLenientDecimal;

impl<'de> Visitor<'de> for OptionalLenientDecimal {
    type Value = Option<Decimal>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number, a numeric string, or null")
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
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        LenientDecimal.visit_str(v).map(Some)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        LenientDecimal.visit_i64(v).map(Some)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        LenientDecimal.visit_u64(v).map(Some)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        LenientDecimal.visit_f64(v).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct W {
        #[serde(with = "decimal_number")]
        n: Decimal,
        #[serde(with = "decimal_string")]
        s: Decimal,
        #[serde(default, with = "option_decimal_number")]
        o: Option<Decimal>,
        #[serde(with = "string_or_number")]
        id: String,
    }

    #[test]
    fn writes_exact_numbers_and_reads_either_form() {
        let w = W {
            n: dec!(20.00),
            s: dec!(0.10),
            o: None,
            id: "7".into(),
        };
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"n":20.00,"s":"0.10","o":null,"id":"7"}"#
        );
        let r: W = serde_json::from_str(r#"{"n":"12.1","s":12.1,"o":"","id":42}"#).unwrap();
        assert_eq!((r.n, r.s, r.o, r.id.as_str()), (dec!(12.1), dec!(12.1), None, "42"));
        let r: W = serde_json::from_str(r#"{"n":1e2,"s":"3","id":"x"}"#).unwrap();
        assert_eq!(r.n, dec!(100));
        assert!(serde_json::from_str::<W>(r#"{"n":"abc","s":"3","id":"x"}"#).is_err());
    }
}
