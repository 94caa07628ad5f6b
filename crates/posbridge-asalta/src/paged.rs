//! Asalta's paged lists, read lazily and tolerantly.
//!
//! A list answers `{"data": [...], "_meta": {...}}` on some endpoints and
//! `{"data": [...], "_metadata": {...}}` on others, with different field names
//! (`pageCount`/`totalPage`, `totalCount`/`totalRecord`, `perPage`/`pageSize`,
//! `nextPage`), numbers as numbers or strings. [`Page::parse`] reads them all; the
//! stream in `lib.rs` (core's pager, [`paging::Paging`]) asks for `?page=1`,
//! `?page=2`, … (never following `_links`, which carry the access token in the URL)
//! and stops on the last page. Each page says which page the server answered and
//! the body it was read from, so that core's repeat guard ([`paging::RepeatGuard`],
//! with [`same_entries`]) ends a list whose server answers a page number other than
//! the one asked for, or the same entries twice in a row, with an error rather than
//! an endless loop.
//!
//! A page is read once, straight into its typed entries ([`page`]); only a page of
//! an unusual shape, or one that does not read that way, is read as a document
//! ([`Page::parse`]) to accept what can be accepted and explain the rest.

use std::fmt;
use std::marker::PhantomData;

use posbridge_core::Result;
use posbridge_core::http::Response;
use posbridge_core::paging;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::{VENDOR, decode};

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
        let (current, more) = progress(meta.as_ref(), requested, !entries.is_empty());
        Ok(Self { entries, current, more })
    }
}

/// What a page's metadata says: the page number the server says this is, and
/// whether there is a page after it (never after a page without entries).
fn progress(meta: Option<&Map<String, Value>>, requested: u64, has_entries: bool) -> (Option<u64>, bool) {
    let Some(meta) = meta else {
        return (None, false);
    };
    let current = number(meta.get("currentPage"));
    let page = current.unwrap_or(requested);
    let more = if let Some(next) = meta.get("nextPage") {
        // `nextPage: null` is the last page; a number says there is another.
        !next.is_null() && number(Some(next)).is_some_and(|n| n > page)
    } else if let Some(count) = number(field(meta, &["pageCount", "totalPage", "totalPages"])) {
        page < count
    } else if let (Some(total), Some(per)) = (
        number(field(meta, &["totalCount", "totalRecord", "totalRecords"])),
        number(field(meta, &["perPage", "pageSize"])),
    ) {
        per > 0 && page.saturating_mul(per) < total
    } else {
        false
    };
    (current, more && has_entries)
}

/// One page read in a single pass straight into its typed entries, for the shape
/// nearly every page has: a bare list, or an object whose `data` is a list (or
/// `null`) with `_meta` / `_metadata` an object (or `null`, or absent). `None` for
/// anything else, including an entry that does not read as `T` and a key given twice:
/// [`read_page`] then reads the page as [`Page::parse`] does, which accepts what it
/// can (`data` keyed by id, a key given twice) and says precisely what is wrong.
struct Typed<T> {
    entries: Vec<T>,
    current: Option<u64>,
    more: bool,
}

/// The page as the single pass reads it.
enum RawPage<T> {
    /// A bare list.
    Bare(Vec<T>),
    /// An object: its `data` (`None` if absent, `Some(None)` if `null`), `_meta`
    /// and `_metadata`.
    Object {
        data: Option<Option<Vec<T>>>,
        meta: Option<Value>,
        metadata: Option<Value>,
    },
}

/// A key of a page object, as the single pass tells them apart.
enum PageKey {
    Data,
    Meta,
    Metadata,
    Other,
}

impl<'de> Deserialize<'de> for PageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = PageKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<PageKey, E> {
                Ok(match v {
                    "data" => PageKey::Data,
                    "_meta" => PageKey::Meta,
                    "_metadata" => PageKey::Metadata,
                    _ => PageKey::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for RawPage<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct PageVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for PageVisitor<T> {
            type Value = RawPage<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list page")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<RawPage<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = seq.next_element()? {
                    entries.push(entry);
                }
                Ok(RawPage::Bare(entries))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawPage<T>, A::Error> {
                fn once<V, E: de::Error>(slot: &mut Option<V>, value: V) -> std::result::Result<(), E> {
                    match slot.replace(value) {
                        None => Ok(()),
                        Some(_) => Err(E::custom("a key given twice")),
                    }
                }
                let (mut data, mut meta, mut metadata) = (None, None, None);
                while let Some(key) = map.next_key()? {
                    match key {
                        PageKey::Data => once(&mut data, map.next_value()?)?,
                        PageKey::Meta => once(&mut meta, map.next_value()?)?,
                        PageKey::Metadata => once(&mut metadata, map.next_value()?)?,
                        PageKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(RawPage::Object { data, meta, metadata })
            }
        }
        d.deserialize_any(PageVisitor(PhantomData))
    }
}

impl<T: DeserializeOwned> Typed<T> {
    /// Reads `body` (page `requested`) in one pass; `None` if it is not the usual shape.
    fn parse(body: &[u8], requested: u64) -> Option<Self> {
        let (entries, meta) = match serde_json::from_slice::<RawPage<T>>(body).ok()? {
            RawPage::Bare(entries) => {
                return Some(Self {
                    entries,
                    current: None,
                    more: false,
                });
            }
            // `_meta` wins over `_metadata` when both are given, even as `null`.
            RawPage::Object { data, meta, metadata } => (data?.unwrap_or_default(), meta.or(metadata)),
        };
        let meta = match meta {
            Some(Value::Object(m)) => Some(m),
            Some(Value::Null) | None => None,
            Some(_) => return None,
        };
        let (current, more) = progress(meta.as_ref(), requested, !entries.is_empty());
        Some(Self { entries, current, more })
    }
}

/// Page `requested` of a list, each entry read as `T`: its entries, the next page if
/// its metadata says there is one, the page number the server says it answered, and
/// its body (for the repeat guard).
///
/// The page is read once, straight into `T`s; only a page of another shape, or one
/// that does not read that way, is read again as a document ([`Page::parse`]), which
/// reads what it can and otherwise gives the error.
pub(crate) fn page<T: DeserializeOwned>(response: &Response, requested: u64) -> Result<paging::Page<T, u64>> {
    // The single pass skips what `T` does not read without checking its text, so a
    // body that is not UTF-8 goes the long way, which refuses it as before.
    let typed = std::str::from_utf8(&response.body)
        .ok()
        .and_then(|body| Typed::<T>::parse(body.as_bytes(), requested));
    let Typed { entries, current, more } = match typed {
        Some(typed) => typed,
        None => {
            let value: Value = response.json(VENDOR)?;
            let page = Page::parse(value, requested).map_err(decode(response))?;
            let entries = page
                .entries
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    serde_json::from_value::<T>(v)
                        .map_err(|e| decode(response)(format!("page {requested}, entry {i}: {e}")))
                })
                .collect::<Result<Vec<T>>>()?;
            Typed {
                entries,
                current: page.current,
                more: page.more,
            }
        }
    };
    let page = paging::Page::new(entries, more.then_some(requested + 1)).body(response.body.clone());
    Ok(match current {
        Some(current) => page.answered(current),
        None => page,
    })
}

/// The entries of page `requested` of a list, each read as `T`, and whether there
/// is a next page, checked by `guard`, the list's (the same for each of its pages):
/// one page at a time, as the pager reads it ([`page`], then the guard).
pub(crate) fn read_page<T>(response: &Response, requested: u64, guard: &mut RepeatGuard<T>) -> Result<(Vec<T>, bool)>
where
    T: DeserializeOwned + Clone + PartialEq,
{
    let page = page::<T>(response, requested)?;
    guard.0.check(&requested, &page)?;
    let (entries, next) = page.into_parts();
    Ok((entries, next.is_some()))
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

/// The repeat guard of one Asalta list, for a reader of single pages ([`read_page`]):
/// core's ([`paging::RepeatGuard`]), comparing pages with [`same_entries`].
#[derive(Debug)]
pub(crate) struct RepeatGuard<T>(paging::RepeatGuard<T, u64>);

impl<T> Default for RepeatGuard<T> {
    fn default() -> Self {
        Self(paging::RepeatGuard::new(VENDOR).same_entries(same_entries))
    }
}

/// Whether two page bodies have the same entries, compared as JSON documents (as
/// [`Page::parse`] reads them); two pages that do not both read that way are only the
/// same when their bodies are (which the guard checks first).
pub(crate) fn same_entries(a: &[u8], b: &[u8]) -> bool {
    let entries = |body: &[u8]| {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        Page::parse(value, 1).ok().map(|p| p.entries)
    };
    match (entries(a), entries(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
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

    fn response(body: Value) -> Response {
        Response {
            status: posbridge_core::reqwest::StatusCode::OK,
            headers: Default::default(),
            body: body.to_string().into_bytes().into(),
        }
    }

    fn read<T: DeserializeOwned + Clone + PartialEq>(
        g: &mut RepeatGuard<T>,
        body: Value,
        requested: u64,
    ) -> Result<(Vec<T>, bool)> {
        read_page(&response(body), requested, g)
    }

    fn repeats<T>(r: Result<T>) -> bool {
        r.is_err_and(|e| e.to_string().contains("repeat"))
    }

    #[test]
    fn a_repeated_page_is_caught() {
        let mut g = RepeatGuard::<Value>::default();
        let p1 = json!({"data": [1], "_meta": {"currentPage": 1, "pageCount": 3}});
        read(&mut g, p1.clone(), 1).unwrap();
        assert!(repeats(read(&mut g, p1.clone(), 2)));
        let mut g = RepeatGuard::<Value>::default();
        read(&mut g, p1.clone(), 1).unwrap();
        let no_meta = json!({"data": [1], "_meta": {"pageCount": 3}});
        assert!(repeats(read(&mut g, no_meta, 2)));
    }

    #[test]
    fn a_repeat_is_the_same_entries_however_written() {
        // Same entries, other spacing, key order and metadata: a repeat.
        let mut g = RepeatGuard::<Value>::default();
        read(
            &mut g,
            json!({"data": [{"id": 1, "n": "a"}, {"id": 2}], "_meta": {"pageCount": 3}}),
            1,
        )
        .unwrap();
        let again = br#"{"_meta": {"pageCount": 3, "perPage": 2}, "data": [ {"n": "a", "id": 1}, {"id": 2} ]}"#;
        let again = Response {
            status: posbridge_core::reqwest::StatusCode::OK,
            headers: Default::default(),
            body: again.to_vec().into(),
        };
        assert!(repeats(read_page(&again, 2, &mut g)));
        // The same first entry but not the rest, or fewer entries: moving on.
        let mut g = RepeatGuard::<Value>::default();
        read(
            &mut g,
            json!({"data": [{"id": 1}, {"id": 2}], "_meta": {"pageCount": 3}}),
            1,
        )
        .unwrap();
        read(
            &mut g,
            json!({"data": [{"id": 1}, {"id": 3}], "_meta": {"pageCount": 3}}),
            2,
        )
        .unwrap();
        read(&mut g, json!({"data": [{"id": 1}], "_meta": {"pageCount": 3}}), 3).unwrap();
        // Empty pages never repeat.
        let mut g = RepeatGuard::<Value>::default();
        read(&mut g, json!({"data": []}), 1).unwrap();
        read(&mut g, json!({"data": []}), 2).unwrap();
    }

    #[test]
    fn typed_entries_are_read_once_or_explained() {
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        struct E {
            id: u64,
        }
        let mut g = RepeatGuard::<E>::default();
        let (entries, more) = read(
            &mut g,
            json!({"data": [{"id": 1}, {"id": 2, "x": [1e300]}], "_links": {}, "_meta": {"pageCount": "2"}}),
            1,
        )
        .unwrap();
        assert_eq!(entries, [E { id: 1 }, E { id: 2 }]);
        assert!(more);
        // `data` keyed by id, a bare list, `null` data, `_meta` over `_metadata`.
        let mut g = RepeatGuard::<E>::default();
        let (entries, more) = read(
            &mut g,
            json!({"data": {"7": {"id": 7}}, "_metadata": {"nextPage": 2}}),
            1,
        )
        .unwrap();
        assert_eq!((entries, more), (vec![E { id: 7 }], true));
        let mut g = RepeatGuard::<E>::default();
        assert_eq!(read(&mut g, json!([{"id": 3}]), 1).unwrap(), (vec![E { id: 3 }], false));
        let mut g = RepeatGuard::<E>::default();
        assert_eq!(
            read(&mut g, json!({"data": null, "_meta": {"pageCount": 3}}), 1).unwrap(),
            (vec![], false)
        );
        let mut g = RepeatGuard::<E>::default();
        let (_, more) = read(
            &mut g,
            json!({"data": [{"id": 1}], "_meta": null, "_metadata": {"pageCount": 3}}),
            1,
        )
        .unwrap();
        assert!(!more);
        // A key given twice: the last one, as a document reads it.
        let twice = Response {
            status: posbridge_core::reqwest::StatusCode::OK,
            headers: Default::default(),
            body: br#"{"data": [{"id": 1}], "data": [{"id": 2, "id": 3}]}"#.to_vec().into(),
        };
        assert_eq!(
            read_page(&twice, 1, &mut RepeatGuard::<E>::default()).unwrap().0,
            [E { id: 3 }]
        );
        // What does not read says which entry.
        let e = read(
            &mut RepeatGuard::<E>::default(),
            json!({"data": [{"id": 1}, {"id": "x"}]}),
            4,
        )
        .unwrap_err();
        assert!(e.to_string().contains("page 4, entry 1"), "{e}");
        for bad in [
            json!({"data": 42}),
            json!({"items": []}),
            json!("nope"),
            json!({"data": [], "_meta": 1}),
        ] {
            assert!(read(&mut RepeatGuard::<E>::default(), bad, 1).is_err());
        }
        // A body that is not UTF-8, even in a field nobody reads, is refused as before.
        let latin1 = Response {
            status: posbridge_core::reqwest::StatusCode::OK,
            headers: Default::default(),
            body: b"{\"data\": [{\"id\": 1, \"note\": \"caf\xe9\"}]}".to_vec().into(),
        };
        assert!(read_page(&latin1, 1, &mut RepeatGuard::<E>::default()).is_err());
        // The page asked for is not the page answered.
        let e = read(
            &mut RepeatGuard::<E>::default(),
            json!({"data": [], "_meta": {"currentPage": 1}}),
            2,
        );
        assert!(repeats(e));
    }
}
