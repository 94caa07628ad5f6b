//! Request bodies as PHP back ends read them: `application/x-www-form-urlencoded`
//! with bracket notation (`items[0][code]=TEA-100`) parsed into nested arrays, or
//! `application/json`. Both become one [`Value`] tree (form leaves are strings), so a
//! vendor module validates one shape. [`text`] and [`decimal`] read its leaves, which
//! may be strings or JSON numbers.

use axum::http::{HeaderMap, header};
use posbridge_core::Decimal;
use serde_json::{Map, Value};

/// How deep a form field name may nest (`a[b][c]` is 3). PHP's default is 64; real
/// requests use 3.
const MAX_DEPTH: usize = 16;

/// The body as a tree: a JSON object, or the form fields nested by their brackets.
/// `Err` says why the body cannot be read at all.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match content_type.as_deref() {
        Some("application/json") => json(body),
        Some(ct) if ct.ends_with("+json") => json(body),
        Some("application/x-www-form-urlencoded") => php_form(body),
        None if body.iter().all(u8::is_ascii_whitespace) => Ok(Value::Object(Map::new())),
        None => Err("no content type (send application/x-www-form-urlencoded or application/json)".into()),
        Some(other) => Err(format!(
            "unsupported content type {other} (send application/x-www-form-urlencoded or application/json)"
        )),
    }
}

fn json(body: &[u8]) -> Result<Value, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the body must be a JSON object".into()),
        Err(e) => Err(format!("the body is not valid JSON ({e})")),
    }
}

/// One segment of a bracketed name: `items[0][code]` is `items`, `0`, `code`;
/// `items[]` appends.
#[derive(Debug, PartialEq)]
enum Seg<'a> {
    Key(&'a str),
    Append,
}

/// Splits a field name PHP-style. A name whose brackets do not close is taken
/// literally.
fn segments(name: &str) -> Vec<Seg<'_>> {
    let Some(open) = name.find('[') else {
        return vec![Seg::Key(name)];
    };
    if open == 0 {
        return vec![Seg::Key(name)];
    }
    let mut out = vec![Seg::Key(&name[..open])];
    let mut rest = &name[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return vec![Seg::Key(name)];
        };
        let key = &inner[..close];
        out.push(if key.is_empty() { Seg::Append } else { Seg::Key(key) });
        rest = &inner[close + 1..];
    }
    // PHP ignores anything after the last closing bracket.
    out
}

/// Parses a form body with PHP bracket notation into nested objects; objects whose
/// keys are all array indexes become arrays, in index order. A repeated field keeps
/// its last value, as PHP does.
pub fn php_form(body: &[u8]) -> Result<Value, String> {
    let mut root = Map::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        let segs = segments(&name);
        if segs.len() > MAX_DEPTH {
            return Err(format!("field {name} nests deeper than {MAX_DEPTH} levels"));
        }
        insert(&mut root, &segs, value.into_owned());
    }
    Ok(arrays(Value::Object(root)))
}

fn insert(map: &mut Map<String, Value>, segs: &[Seg<'_>], value: String) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let key = match first {
        Seg::Key(k) => (*k).to_owned(),
        Seg::Append => map
            .keys()
            .filter_map(|k| index(k))
            .max()
            .map_or(0, |m| m.saturating_add(1))
            .to_string(),
    };
    if rest.is_empty() {
        map.insert(key, Value::String(value));
        return;
    }
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert(inner, rest, value);
    }
}

/// `Some(n)` when `k` is an array index as PHP writes it (`0`, `12`, not `01`).
fn index(k: &str) -> Option<u64> {
    if k.is_empty() || (k.len() > 1 && k.starts_with('0')) || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    k.parse().ok()
}

fn arrays(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let all_indexes = !map.is_empty() && map.keys().all(|k| index(k).is_some());
            if all_indexes {
                let mut items: Vec<(u64, Value)> = map
                    .into_iter()
                    .filter_map(|(k, v)| Some((index(&k)?, arrays(v))))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// A string field; a JSON number is taken as its text.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A decimal: a JSON number, or a string holding one (`"150.00"`, `"1.5e2"`).
pub fn decimal(v: &Value) -> Option<Decimal> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if s.is_empty() {
        return None;
    }
    if s.contains(['e', 'E']) {
        Decimal::from_scientific(&s).ok()
    } else {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn form(s: &str) -> Value {
        php_form(s.as_bytes()).unwrap()
    }

    #[test]
    fn nests_brackets_into_arrays() {
        let v = form(
            "token=t&reference_no=INV-1&items%5B1%5D%5Bcode%5D=B&items[0][code]=A&items[0][qty]=2&items[10][code]=C",
        );
        assert_eq!(
            v,
            json!({"token": "t", "reference_no": "INV-1", "items": [{"code": "A", "qty": "2"}, {"code": "B"}, {"code": "C"}]})
        );
    }

    #[test]
    fn odd_names_do_not_panic() {
        let v = form("a[]=1&a[]=2&b[x=1&[c]=2&d[0]=1&d=flat&e=1&e[k]=2&f[01]=z&g[]");
        assert_eq!(v["a"], json!(["1", "2"]));
        assert_eq!(v["b[x"], json!("1"));
        assert_eq!(v["[c]"], json!("2"));
        assert_eq!(v["d"], json!("flat"));
        assert_eq!(v["e"], json!({"k": "2"}));
        assert_eq!(v["f"], json!({"01": "z"}));
        assert_eq!(v["g"], json!([""]));
        let deep = format!("a{}=1", "[x]".repeat(40));
        assert!(php_form(deep.as_bytes()).is_err());
        assert!(php_form(&[0xff, 0xfe, b'=', 0x80]).is_ok());
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(decode(&h, b"").unwrap(), json!({}));
        assert!(decode(&h, b"token=x").is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert_eq!(decode(&h, br#"{"token": 1}"#).unwrap(), json!({"token": 1}));
        assert!(decode(&h, b"[1]").is_err());
        assert!(decode(&h, b"{").is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded"),
        );
        assert_eq!(decode(&h, b"token=x").unwrap(), json!({"token": "x"}));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(decode(&h, b"token=x").unwrap_err().contains("text/plain"));
    }
}
