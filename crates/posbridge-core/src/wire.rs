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

/// Appends `d` to `out` exactly as its `Display` writes it (`20.00`, `-0.5`,
/// `1000`), without the formatting machinery: request bodies write dozens of
/// amounts each, and `Display` through `fmt::write` cost more than the mapping.
pub fn write_decimal(out: &mut String, d: &Decimal) {
    out.push_str(DecimalText::new(d).as_str());
}

/// A decimal's `Display` text in a buffer on the stack.
struct DecimalText {
    /// Sign, up to 29 digits, a point and up to 28 leading zeros fit in 64 bytes.
    buf: [u8; 64],
    len: usize,
}

impl DecimalText {
    fn new(d: &Decimal) -> Self {
        let scale = d.scale() as usize;
        // Digits of the mantissa, least significant first (at most 29 for 96 bits).
        let mut digits = [b'0'; 32];
        let mut count = 0;
        let mantissa = d.mantissa().unsigned_abs();
        let mut put = |r: u8| {
            if let Some(slot) = digits.get_mut(count) {
                *slot = b'0' + r;
            }
            count += 1;
        };
        // Amounts fit in 64 bits: divide in 64 bits while they do.
        match u64::try_from(mantissa) {
            Ok(mut rest) => {
                while rest > 0 {
                    put((rest % 10) as u8);
                    rest /= 10;
                }
            }
            Err(_) => {
                let mut rest = mantissa;
                while rest > 0 {
                    put((rest % 10) as u8);
                    rest /= 10;
                }
            }
        }
        let mut text = Self { buf: [0; 64], len: 0 };
        let digit = |i: usize| digits.get(i).copied().unwrap_or(b'0');
        if d.is_sign_negative() {
            text.push(b'-');
        }
        if count > scale {
            for i in (scale..count).rev() {
                text.push(digit(i));
            }
        } else {
            text.push(b'0');
        }
        if scale > 0 {
            text.push(b'.');
            for i in (0..scale).rev() {
                text.push(digit(i));
            }
        }
        text
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits, `-` and `.` are ever pushed.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

/// A [`Decimal`] written as a JSON number with its exact digits (`20.00`, not
/// `20.0`), read from a number or a string. Use with `#[serde(with = "...")]`.
pub mod decimal_number {
    use super::*;

    /// Writes the decimal as a raw JSON number. Only for JSON serializers.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        // A whole number is an integer to the serializer: no raw value needed.
        if d.scale() == 0 && !(d.is_zero() && d.is_sign_negative()) {
            return s.serialize_i128(d.mantissa());
        }
        // Otherwise the text is borrowed as a raw value straight from the stack:
        // no allocation (the check that it is JSON is the parse of a short number).
        let text = DecimalText::new(d);
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(text.as_str()).map_err(serde::ser::Error::custom)?;
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
        s.serialize_str(DecimalText::new(d).as_str())
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
    use proptest::prelude::*;
    use rust_decimal_macros::dec;
    use serde::Deserialize;

    #[derive(Serialize)]
    struct Number(#[serde(with = "decimal_number")] Decimal);

    #[derive(Serialize)]
    struct Text(#[serde(with = "decimal_string")] Decimal);

    fn written(d: &Decimal) -> String {
        let mut s = String::new();
        write_decimal(&mut s, d);
        s
    }

    #[test]
    fn write_decimal_is_display() {
        for d in [
            dec!(0),
            dec!(0.00),
            dec!(-0.00),
            -Decimal::ZERO,
            dec!(20.00),
            dec!(-1.50),
            dec!(0.005),
            dec!(-0.0000001),
            dec!(1000),
            dec!(123456789.123456789),
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
        ] {
            assert_eq!(written(&d), d.to_string(), "{d:?}");
            assert_eq!(serde_json::to_string(&Number(d)).unwrap(), d.to_string(), "{d:?}");
        }
    }

    proptest! {
        #[test]
        fn write_decimal_is_display_for_any_decimal(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0u32..=28) {
            let d = Decimal::from_parts(lo, mid, hi, negative, scale);
            prop_assert_eq!(written(&d), d.to_string());
            prop_assert_eq!(serde_json::to_string(&Number(d)).unwrap(), d.to_string());
            prop_assert_eq!(serde_json::to_string(&Text(d)).unwrap(), format!("\"{d}\""));
        }
    }

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
