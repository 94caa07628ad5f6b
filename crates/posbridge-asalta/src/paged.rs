//! Asalta's paged lists, read lazily and tolerantly.
//!
//! A list answers `{"data": [...], "_meta": {...}}` on some endpoints and
//! `{"data": [...], "_metadata": {...}}` on others, with different field names
//! (`pageCount`/`totalPage`, `totalCount`/`totalRecord`, `perPage`/`pageSize`,
//! `nextPage`), numbers as numbers or strings. [`Page::parse`] reads them all; the
//! stream in `lib.rs` asks for `?page=1`, `?page=2`, … (never following `_links`,
//! which carry the access token in the URL) and stops on the last page. A server
//! that answers a page number other than the one asked for, or the same entries
//! twice in a row, is an error rather than an endless loop.

use serde_json::{Map, Value};

/// The most pages one list may have before the connector gives up.
pub(crate) const MAX_PAGES: u64 = 10_000;

/// One page: its entries and what its metadata says about the next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub entries: Vec<Value>,
    /// The page number the server says this is.
    pub current: Option<u64>,
    /// Whether the metadata says there is a page after this one.
    pub more: bool,
}

fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn field<'a>(meta: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| meta.get(*n))
}

impl Page {
    /// Reads one page's body. `requested` is the page asked for.
    pub(crate) fn parse(body: Value, requested: u64) -> Result<Self, String> {
        let (data, meta) = match body {
            // A bare list: everything there is, on one page.
            Value::Array(entries) => {
                return Ok(Self {
                    entries,
                    current: None,
                    more: false,
                });
            }
            Value::Object(mut o) => {
                let meta = match o.remove("_meta").or_else(|| o.remove("_metadata")) {
                    Some(Value::Object(m)) => Some(m),
                    Some(Value::Null) | None => None,
                    Some(other) => return Err(format!("the page metadata is not an object: {other}")),
                };
                (o.remove("data"), meta)
            }
            other => return Err(format!("expected a list page, got {}", kind(&other))),
        };
        let entries = match data {
            Some(Value::Array(a)) => a,
            Some(Value::Null) => Vec::new(),
            // `data` keyed by id: its values.
            Some(Value::Object(o)) => o.into_iter().map(|(_, v)| v).collect(),
            Some(other) => return Err(format!("`data` is not a list but {}", kind(&other))),
            None => return Err("the page has no `data`".into()),
        };
        let Some(meta) = meta else {
            return Ok(Self {
                entries,
                current: None,
                more: false,
            });
        };
        let current = number(meta.get("currentPage"));
        let page = current.unwrap_or(requested);
        let more = if let Some(next) = meta.get("nextPage") {
            // `nextPage: null` is the last page; a number says there is another.
            !next.is_null() && number(Some(next)).is_some_and(|n| n > page)
        } else if let Some(count) = number(field(&meta, &["pageCount", "totalPage", "totalPages"])) {
            page < count
        } else if let (Some(total), Some(per)) = (
            number(field(&meta, &["totalCount", "totalRecord", "totalRecords"])),
            number(field(&meta, &["perPage", "pageSize"])),
        ) {
            per > 0 && page.saturating_mul(per) < total
        } else {
            false
        };
        let more = more && !entries.is_empty();
        Ok(Self { entries, current, more })
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Tells a server that repeats pages from one that moves on.
#[derive(Debug, Default)]
pub(crate) struct RepeatGuard {
    previous: Option<Vec<Value>>,
}

impl RepeatGuard {
    /// Checks `page` (asked for as `requested`) against the one before.
    pub(crate) fn check(&mut self, page: &Page, requested: u64) -> Result<(), String> {
        if let Some(current) = page.current
            && current != requested
        {
            return Err(format!(
                "asked for page {requested}, the server answered page {current}: it is repeating pages, so the \
                 list stops here rather than loop"
            ));
        }
        if !page.entries.is_empty() && self.previous.as_ref() == Some(&page.entries) {
            return Err(format!(
                "page {requested} repeats the entries of page {}: the server is repeating pages, so the list \
                 stops here rather than loop",
                requested.saturating_sub(1)
            ));
        }
        self.previous = Some(page.entries.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_with_page_count() {
        let p = Page::parse(
            json!({"data": [1, 2], "_meta": {"totalCount": 5, "pageCount": 3, "currentPage": 1, "perPage": 2}}),
            1,
        )
        .unwrap();
        assert!(p.more);
        let p = Page::parse(
            json!({"data": [5], "_meta": {"totalCount": 5, "pageCount": "3", "currentPage": "3", "perPage": 2}}),
            3,
        )
        .unwrap();
        assert!(!p.more);
    }

    #[test]
    fn metadata_with_next_page_or_totals() {
        let p = Page::parse(
            json!({"data": [1], "_metadata": {"currentPage": 1, "nextPage": null}}),
            1,
        )
        .unwrap();
        assert!(!p.more);
        let p = Page::parse(json!({"data": [1], "_metadata": {"currentPage": 4, "nextPage": 5}}), 4).unwrap();
        assert!(p.more);
        let p = Page::parse(
            json!({"data": [1], "_metadata": {"currentPage": 1, "pageSize": 2, "totalRecord": 3}}),
            1,
        )
        .unwrap();
        assert!(p.more);
        let p = Page::parse(
            json!({"data": [1], "_metadata": {"currentPage": 1, "perPage": 2, "pageCount": 2, "totalCount": 155}}),
            1,
        )
        .unwrap();
        assert!(p.more);
    }

    #[test]
    fn bare_lists_and_empty_pages_end_the_list() {
        assert!(!Page::parse(json!([1, 2]), 1).unwrap().more);
        assert!(
            !Page::parse(json!({"data": [], "_meta": {"pageCount": 9}}), 1)
                .unwrap()
                .more
        );
        assert!(Page::parse(json!("nope"), 1).is_err());
        assert!(Page::parse(json!({"items": []}), 1).is_err());
    }

    #[test]
    fn a_repeated_page_is_caught() {
        let mut g = RepeatGuard::default();
        let p1 = Page::parse(json!({"data": [1], "_meta": {"currentPage": 1, "pageCount": 3}}), 1).unwrap();
        g.check(&p1, 1).unwrap();
        let again = Page::parse(json!({"data": [1], "_meta": {"currentPage": 1, "pageCount": 3}}), 2).unwrap();
        assert!(g.check(&again, 2).unwrap_err().contains("repeating"));
        let mut g = RepeatGuard::default();
        g.check(&p1, 1).unwrap();
        let no_meta = Page::parse(json!({"data": [1], "_meta": {"pageCount": 3}}), 2).unwrap();
        assert!(g.check(&no_meta, 2).unwrap_err().contains("repeat"));
    }
}
