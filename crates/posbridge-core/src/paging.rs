//! Paged lists, read lazily, bounded, and guarded against a server that repeats
//! itself: the one pager every connector fills one page at a time.
//!
//! A vendor declares *what* a page is: how to fetch page `N` (or the page at a
//! cursor) and read it into its entries and where the next page is ([`Page`]), and
//! optionally which page the server says it answered ([`Page::answered`]) and the
//! bytes it was read from ([`Page::body`]). [`Paging`] decides *how*:
//!
//! - **Lazily**: a page is fetched only when the stream is polled past the previous
//!   one, and only one page is held at a time (with, for the repeat guard, the first
//!   entry and body of the page before), so a list of any length streams in bounded
//!   memory.
//! - **Bounded**: at most [`Paging::max_pages`] pages ([`MAX_PAGES`] by default). A
//!   list whose last allowed page still names a next one ends with an error naming
//!   the list, what was read and the bound ([`Error::Decode`], or the vendor's own,
//!   [`Paging::past_the_bound`]): never an endless loop, never a silent cut.
//! - **Guarded** ([`RepeatGuard`]): a page the server says is another than the one
//!   asked for, or a page with the same entries as the page before, ends the list with
//!   an [`Error::Decode`] saying the server is repeating pages.
//!
//! ```
//! use futures_util::TryStreamExt;
//! use posbridge_core::paging::{Page, Paging};
//!
//! # async fn run() -> posbridge_core::Result<()> {
//! // A vendor's list of 5 entries, 2 a page: `GET /items?page=N`.
//! async fn fetch(page: u32) -> posbridge_core::Result<Page<u32, u32>> {
//!     let entries: Vec<u32> = (1..=5).skip((page as usize - 1) * 2).take(2).collect();
//!     let next = (page * 2 < 5).then_some(page + 1);
//!     Ok(Page::new(entries, next).answered(page))
//! }
//! let all: Vec<u32> = Paging::new("vendor", "GET /items").entries(1, fetch).try_collect().await?;
//! assert_eq!(all, [1, 2, 3, 4, 5]);
//!
//! // The same list bounded to 2 pages: the third is never asked for.
//! let bounded: Result<Vec<u32>, _> =
//!     Paging::new("vendor", "GET /items").max_pages(2).entries(1, fetch).try_collect().await;
//! let e = bounded.unwrap_err();
//! assert!(e.to_string().contains("the bound is 2 pages"), "{e}");
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run()).unwrap();
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::error::{Error, Result};
use crate::traits::BoxStream;

/// The most pages a list is read to by default: a guard against a server that never
/// says the list has ended.
pub const MAX_PAGES: u32 = 10_000;

/// Whether two page bodies hold the same entries however they are written (spacing,
/// key order, metadata): how a vendor lets the [`RepeatGuard`] compare two pages
/// whose first entries and counts match but whose bodies differ.
pub type SameEntries = fn(&[u8], &[u8]) -> bool;

/// One page of a list as the vendor read it: its entries, and the cursor of the
/// next page (`None` on the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C> {
    entries: Vec<T>,
    next: Option<C>,
    answered: Option<C>,
    body: Option<Bytes>,
}

impl<T, C> Page<T, C> {
    /// A page of `entries`, followed by the page at `next` (`None`: the last page).
    pub fn new(entries: Vec<T>, next: Option<C>) -> Self {
        Self {
            entries,
            next,
            answered: None,
            body: None,
        }
    }

    /// The last page of a list.
    pub fn last(entries: Vec<T>) -> Self {
        Self::new(entries, None)
    }

    /// Declares which page the server says this is (a `currentPage` in its
    /// metadata): another page than the one asked for means the server is repeating
    /// pages ([`RepeatGuard`]).
    #[must_use]
    pub fn answered(mut self, cursor: C) -> Self {
        self.answered = Some(cursor);
        self
    }

    /// Declares the bytes the page was read from, so that the [`RepeatGuard`] keeps
    /// the previous page's first entry and body (shared, not copied) rather than a
    /// copy of all its entries. With [`Paging::same_entries`], two bodies written
    /// differently can still be found to hold the same entries.
    #[must_use]
    pub fn body(mut self, body: Bytes) -> Self {
        self.body = Some(body);
        self
    }

    /// The entries.
    pub fn entries(&self) -> &[T] {
        &self.entries
    }

    /// The cursor of the next page, if there is one.
    pub fn next(&self) -> Option<&C> {
        self.next.as_ref()
    }

    /// The entries and the cursor of the next page.
    pub fn into_parts(self) -> (Vec<T>, Option<C>) {
        (self.entries, self.next)
    }
}

/// What was read of a list when its bound stopped it, for [`Paging::past_the_bound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageLimit<'a> {
    /// What the list is, as [`Paging::new`] named it.
    pub list: &'a str,
    /// The pages read (the bound).
    pub pages: u32,
    /// The entries those pages held.
    pub entries: u64,
    /// The bound, [`Paging::max_pages`].
    pub max_pages: u32,
}

type PastTheBound = Arc<dyn Fn(&PageLimit<'_>) -> Error + Send + Sync>;

/// How one list is paged: its name for errors, its bound, and how its pages are
/// compared. Cheap to clone; build one per list read.
#[derive(Clone)]
pub struct Paging {
    vendor: &'static str,
    list: Arc<str>,
    max_pages: u32,
    same_entries: Option<SameEntries>,
    past_the_bound: Option<PastTheBound>,
}

impl fmt::Debug for Paging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paging")
            .field("vendor", &self.vendor)
            .field("list", &self.list)
            .field("max_pages", &self.max_pages)
            .field("same_entries", &self.same_entries.is_some())
            .field("past_the_bound", &self.past_the_bound.is_some())
            .finish()
    }
}

impl Paging {
    /// Paging of the list `list` (what errors call it: `pos/invoices`, `the look-up
    /// of orders by ext_order_no`) of `vendor`, to [`MAX_PAGES`] pages.
    pub fn new(vendor: &'static str, list: impl Into<Arc<str>>) -> Self {
        Self {
            vendor,
            list: list.into(),
            max_pages: MAX_PAGES,
            same_entries: None,
            past_the_bound: None,
        }
    }

    /// Reads at most `max_pages` pages (at least one).
    #[must_use]
    pub fn max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// How two page bodies ([`Page::body`]) are found to hold the same entries
    /// when they are not the same bytes.
    #[must_use]
    pub fn same_entries(mut self, same: SameEntries) -> Self {
        self.same_entries = Some(same);
        self
    }

    /// The error a list ends with when its last allowed page names a next one,
    /// instead of the default [`Error::Decode`] (which names the list, what was read
    /// and the bound).
    #[must_use]
    pub fn past_the_bound(mut self, error: impl Fn(&PageLimit<'_>) -> Error + Send + Sync + 'static) -> Self {
        self.past_the_bound = Some(Arc::new(error));
        self
    }

    /// The list's repeat guard.
    fn guard<T, C>(&self) -> RepeatGuard<T, C> {
        let guard = RepeatGuard::new(self.vendor);
        match self.same_entries {
            Some(same) => guard.same_entries(same),
            None => guard,
        }
    }

    fn limit_error(&self, pages: u32, entries: u64) -> Error {
        let limit = PageLimit {
            list: &self.list,
            pages,
            entries,
            max_pages: self.max_pages,
        };
        match &self.past_the_bound {
            Some(error) => error(&limit),
            None => Error::decode(
                self.vendor,
                format!(
                    "{}: {pages} pages read ({entries} entries) and the server says more follow; the bound is {} \
                     pages, so the list stops here rather than read on",
                    self.list, self.max_pages
                ),
                b"",
            ),
        }
    }

    /// Every page of the list, lazily, starting at `first`: `fetch` is called with
    /// each page's cursor as the stream is polled, and the stream ends after the page
    /// that names no next one, or with the first error (the fetch's, the bound's, the
    /// repeat guard's).
    pub fn pages<'a, T, C, F, Fut>(&self, first: C, fetch: F) -> BoxStream<'a, Result<Vec<T>>>
    where
        T: Clone + PartialEq + Send + 'a,
        C: Clone + PartialEq + fmt::Display + Send + 'a,
        F: FnMut(C) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Page<T, C>>> + Send + 'a,
    {
        struct State<T, C, F> {
            next: Option<C>,
            pages: u32,
            entries: u64,
            guard: RepeatGuard<T, C>,
            fetch: F,
            paging: Paging,
        }
        let state = State {
            next: Some(first),
            pages: 0,
            entries: 0,
            guard: self.guard(),
            fetch,
            paging: self.clone(),
        };
        stream::try_unfold(state, |mut st| async move {
            let Some(cursor) = st.next.take() else {
                return Ok(None);
            };
            if st.pages >= st.paging.max_pages {
                return Err(st.paging.limit_error(st.pages, st.entries));
            }
            let page = (st.fetch)(cursor.clone()).await?;
            st.guard.check(&cursor, &page)?;
            st.pages += 1;
            st.entries = st.entries.saturating_add(page.entries.len() as u64);
            let (entries, next) = page.into_parts();
            st.next = next;
            Ok(Some((entries, st)))
        })
        .boxed()
    }

    /// Every entry of the list, lazily: [`Paging::pages`], flattened.
    pub fn entries<'a, T, C, F, Fut>(&self, first: C, fetch: F) -> BoxStream<'a, Result<T>>
    where
        T: Clone + PartialEq + Send + 'a,
        C: Clone + PartialEq + fmt::Display + Send + 'a,
        F: FnMut(C) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Page<T, C>>> + Send + 'a,
    {
        self.pages(first, fetch)
            .map_ok(|entries| stream::iter(entries.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// Tells a server that repeats pages from one that moves on, page after page of one
/// list (what [`Paging`] runs on every page; public for a reader of single pages, such
/// as a fuzz target).
///
/// A page repeats when the server says it is another page than the one asked for
/// ([`Page::answered`]), or when its entries are those of the page before. Rather
/// than compare every entry of every page, the guard keeps the previous page's first
/// entry, its number of entries and its body ([`Page::body`], shared, not copied):
/// only when the first entries and the counts match are the two pages compared in
/// full, their bodies as bytes, then with [`RepeatGuard::same_entries`]. A page read
/// without its body is kept whole (a copy of its entries) and compared entry by entry.
/// Pages without entries never repeat.
///
/// ```
/// use posbridge_core::paging::{Page, RepeatGuard};
///
/// let mut guard = RepeatGuard::new("vendor");
/// assert!(guard.check(&1, &Page::new(vec!["a", "b"], Some(2))).is_ok());
/// let e = guard.check(&2, &Page::new(vec!["a", "b"], Some(3))).unwrap_err();
/// assert!(e.to_string().contains("repeating pages"), "{e}");
/// ```
#[derive(Debug)]
pub struct RepeatGuard<T, C> {
    vendor: &'static str,
    same_entries: Option<SameEntries>,
    previous: Option<Previous<T, C>>,
}

/// What the guard keeps of the page before.
#[derive(Debug)]
struct Previous<T, C> {
    cursor: C,
    kept: Kept<T>,
}

#[derive(Debug)]
enum Kept<T> {
    /// The first entry, the count and the body.
    Body { first: T, len: usize, body: Bytes },
    /// Every entry (the page came without its body).
    Entries(Vec<T>),
}

impl<T, C> RepeatGuard<T, C> {
    /// A guard for one list of `vendor`'s, before its first page.
    pub fn new(vendor: &'static str) -> Self {
        Self {
            vendor,
            same_entries: None,
            previous: None,
        }
    }

    /// How two bodies that are not the same bytes are found to hold the same
    /// entries; without it, only the same bytes do.
    #[must_use]
    pub fn same_entries(mut self, same: SameEntries) -> Self {
        self.same_entries = Some(same);
        self
    }
}

impl<T: Clone + PartialEq, C: Clone + PartialEq + fmt::Display> RepeatGuard<T, C> {
    /// Checks `page`, read for the cursor `requested`, against the page before, and
    /// remembers it: an [`Error::Decode`] (with an excerpt of its body, if declared)
    /// when the server is repeating pages.
    pub fn check(&mut self, requested: &C, page: &Page<T, C>) -> Result<()> {
        let repeating = |why: String| Error::decode(self.vendor, why, page.body.as_ref().map_or(&[][..], |b| &b[..]));
        if let Some(answered) = &page.answered
            && answered != requested
        {
            return Err(repeating(format!(
                "asked for page {requested}, the server answered page {answered}: it is repeating pages, so the \
                 list stops here rather than loop"
            )));
        }
        if let Some(previous) = &self.previous
            && self.repeats(&previous.kept, page)
        {
            return Err(repeating(format!(
                "page {requested} repeats the entries of page {}: the server is repeating pages, so the list \
                 stops here rather than loop",
                previous.cursor
            )));
        }
        self.previous = page.entries.first().map(|first| Previous {
            cursor: requested.clone(),
            kept: match &page.body {
                Some(body) => Kept::Body {
                    first: first.clone(),
                    len: page.entries.len(),
                    body: body.clone(),
                },
                None => Kept::Entries(page.entries.clone()),
            },
        });
        Ok(())
    }

    /// Whether `page` holds the entries kept of the page before.
    fn repeats(&self, kept: &Kept<T>, page: &Page<T, C>) -> bool {
        match (kept, &page.body) {
            (_, _) if page.entries.is_empty() => false,
            (Kept::Body { first, len, body }, Some(now)) => {
                *len == page.entries.len()
                    && page.entries.first() == Some(first)
                    && (body == now || self.same_entries.is_some_and(|same| same(body, now)))
            }
            (Kept::Entries(entries), _) => *entries == page.entries,
            // A list whose pages come now with, now without their body: only the
            // first entries and counts could be compared, which is not enough.
            (Kept::Body { .. }, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    /// A list of `total` entries, `per` a page, numbered from 1, as a server answers
    /// `?page=N`; counting the fetches.
    fn server(
        total: u32,
        per: u32,
        fetches: &AtomicU32,
    ) -> impl FnMut(u32) -> std::future::Ready<Result<Page<u32, u32>>> {
        move |page| {
            fetches.fetch_add(1, Ordering::Relaxed);
            let start = (page - 1) * per;
            let entries: Vec<u32> = (start + 1..=total.min(start + per)).collect();
            let next = (start + per < total).then_some(page + 1);
            std::future::ready(Ok(Page::new(entries, next).answered(page)))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn reads_every_page_in_order_and_stops_on_the_last() {
        let fetches = AtomicU32::new(0);
        let all: Vec<u32> = block_on(
            Paging::new("v", "items")
                .entries(1, server(7, 3, &fetches))
                .try_collect(),
        )
        .unwrap();
        assert_eq!(all, (1..=7).collect::<Vec<_>>());
        assert_eq!(fetches.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn pages_are_fetched_only_as_the_stream_is_polled() {
        let fetches = AtomicU32::new(0);
        let first_two: Vec<u32> = block_on(
            Paging::new("v", "items")
                .entries(1, server(1_000_000, 2, &fetches))
                .take(2)
                .try_collect(),
        )
        .unwrap();
        assert_eq!(first_two, [1, 2]);
        assert_eq!(fetches.load(Ordering::Relaxed), 1, "one page for two entries");
        let pages: Vec<Vec<u32>> = block_on(
            Paging::new("v", "items")
                .pages(1, server(5, 2, &AtomicU32::new(0)))
                .try_collect(),
        )
        .unwrap();
        assert_eq!(pages, [vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn a_list_past_its_bound_is_an_error_naming_what_was_read_and_the_bound() {
        let fetches = AtomicU32::new(0);
        let mut stream = Paging::new("v", "GET /items")
            .max_pages(3)
            .entries(1, server(100, 4, &fetches));
        let (read, error) = block_on(async {
            let mut read = Vec::new();
            loop {
                match stream.next().await {
                    Some(Ok(entry)) => read.push(entry),
                    Some(Err(e)) => break (read, e),
                    None => panic!("the list ended without its bound's error"),
                }
            }
        });
        assert_eq!(
            read,
            (1..=12).collect::<Vec<_>>(),
            "the pages within the bound are all read"
        );
        assert_eq!(
            fetches.load(Ordering::Relaxed),
            3,
            "no page past the bound is asked for"
        );
        assert_eq!(error.kind(), ErrorKind::Decode);
        let text = error.to_string();
        for words in ["GET /items", "3 pages read", "12 entries", "the bound is 3 pages"] {
            assert!(text.contains(words), "{words:?} in {text}");
        }
        assert!(block_on(stream.next()).is_none(), "the stream ends after its error");
    }

    #[test]
    fn a_list_that_ends_on_its_bound_is_whole_and_the_vendor_may_word_the_bound() {
        let all: Vec<u32> = block_on(
            Paging::new("v", "items")
                .max_pages(3)
                .entries(1, server(12, 4, &AtomicU32::new(0)))
                .try_collect(),
        )
        .unwrap();
        assert_eq!(all.len(), 12);
        let e = block_on(
            Paging::new("v", "the look-up of orders")
                .max_pages(2)
                .past_the_bound(|limit| Error::Rejected {
                    vendor: "v",
                    status: None,
                    code: Some("page_limit".into()),
                    message: format!("{} read its bound of {} pages", limit.list, limit.max_pages),
                })
                .entries(1, server(100, 4, &AtomicU32::new(0)))
                .try_collect::<Vec<u32>>(),
        )
        .unwrap_err();
        assert_eq!(e.vendor_code(), Some("page_limit"));
        assert_eq!(
            e.vendor_message(),
            Some("the look-up of orders read its bound of 2 pages")
        );
        // A bound of zero reads one page: there is always a first page to read.
        assert_eq!(Paging::new("v", "x").max_pages(0).max_pages, 1);
    }

    #[test]
    fn cursors_need_not_be_page_numbers() {
        let fetch = |cursor: String| async move {
            Ok(match cursor.as_str() {
                "start" => Page::new(vec!['a', 'b'], Some("c2".to_owned())),
                "c2" => Page::last(vec!['c']),
                other => panic!("unexpected cursor {other}"),
            })
        };
        let all: Vec<char> = block_on(Paging::new("v", "x").entries("start".to_owned(), fetch).try_collect()).unwrap();
        assert_eq!(all, ['a', 'b', 'c']);
    }

    #[test]
    fn a_fetch_error_ends_the_list() {
        let fetch = |page: u32| async move {
            match page {
                1 => Ok(Page::new(vec![1], Some(2))),
                _ => Err(Error::Unavailable {
                    vendor: "v",
                    status: Some(502),
                    message: "HTTP 502".into(),
                }),
            }
        };
        let mut stream = Paging::new("v", "x").entries(1, fetch);
        block_on(async {
            assert_eq!(stream.next().await.unwrap().unwrap(), 1);
            assert_eq!(stream.next().await.unwrap().unwrap_err().kind(), ErrorKind::Unavailable);
            assert!(stream.next().await.is_none());
        });
    }

    fn repeats<T>(r: Result<T>) -> bool {
        r.is_err_and(|e| e.kind() == ErrorKind::Decode && e.to_string().contains("repeating pages"))
    }

    #[test]
    fn a_server_answering_the_first_page_again_is_caught_not_looped() {
        // The server ignores `?page=` and says there is always a next page.
        let fetches = AtomicU32::new(0);
        let fetch = |_page: u32| {
            fetches.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok(Page::new(vec![1, 2], Some(2))))
        };
        let r = block_on(Paging::new("v", "items").entries(1, fetch).try_collect::<Vec<u32>>());
        assert!(repeats(r));
        assert_eq!(fetches.load(Ordering::Relaxed), 2, "caught on the second page");
        // … or says which page it answered: the first, again.
        let r = block_on(
            Paging::new("v", "items")
                .entries(1, |page: u32| async move {
                    Ok(Page::new(vec![page], Some(page + 1)).answered(1))
                })
                .try_collect::<Vec<u32>>(),
        );
        let e = r.unwrap_err();
        assert!(
            e.to_string().contains("asked for page 2, the server answered page 1"),
            "{e}"
        );
    }

    #[test]
    fn the_guard_compares_pages_by_first_entry_count_and_body() {
        let page = |entries: Vec<u32>, body: &'static str| {
            Page::new(entries, Some(0)).body(Bytes::from_static(body.as_bytes()))
        };
        // The same bytes: a repeat, whatever the page number.
        let mut g = RepeatGuard::new("v");
        g.check(&1, &page(vec![1, 2], "[1, 2]")).unwrap();
        let e = g.check(&2, &page(vec![1, 2], "[1, 2]")).unwrap_err();
        assert!(e.to_string().contains("page 2 repeats the entries of page 1"), "{e}");
        // Other bytes, and no way to compare them as entries: moving on.
        let mut g = RepeatGuard::new("v");
        g.check(&1, &page(vec![1, 2], "[1, 2]")).unwrap();
        g.check(&2, &page(vec![1, 2], "[1,2]")).unwrap();
        // … with the vendor's comparison: the same entries however written.
        fn same(a: &[u8], b: &[u8]) -> bool {
            let strip = |x: &[u8]| {
                x.iter()
                    .filter(|c| !c.is_ascii_whitespace())
                    .copied()
                    .collect::<Vec<u8>>()
            };
            strip(a) == strip(b)
        }
        let mut g = RepeatGuard::new("v").same_entries(same);
        g.check(&1, &page(vec![1, 2], "[1, 2]")).unwrap();
        assert!(repeats(g.check(&2, &page(vec![1, 2], "[1,2]"))));
        // The comparison is asked only when the first entries and the counts match.
        fn never(_: &[u8], _: &[u8]) -> bool {
            panic!("compared pages that differ in their first entry or count")
        }
        let mut g = RepeatGuard::new("v").same_entries(never);
        g.check(&1, &page(vec![1, 2], "a")).unwrap();
        g.check(&2, &page(vec![3, 4], "b")).unwrap();
        g.check(&3, &page(vec![3], "c")).unwrap();
        g.check(&4, &page(vec![], "c")).unwrap();
    }

    #[test]
    fn the_guard_without_bodies_compares_whole_pages() {
        let mut g = RepeatGuard::new("v");
        g.check(&1, &Page::new(vec![1, 2], Some(2))).unwrap();
        // The same first entry but not the rest, or fewer entries: moving on.
        g.check(&2, &Page::new(vec![1, 3], Some(3))).unwrap();
        g.check(&3, &Page::new(vec![1], Some(4))).unwrap();
        assert!(repeats(g.check(&4, &Page::new(vec![1], Some(5)))));
        // Empty pages never repeat, and forget the page before.
        let mut g = RepeatGuard::new("v");
        g.check(&1, &Page::<u32, u32>::new(vec![], Some(2))).unwrap();
        g.check(&2, &Page::<u32, u32>::new(vec![], Some(3))).unwrap();
        g.check(&3, &Page::new(vec![7], Some(4))).unwrap();
        g.check(&4, &Page::new(vec![], Some(5))).unwrap();
        g.check(&5, &Page::new(vec![7], None)).unwrap();
        // A page the server numbers as the one asked for is fine.
        let mut g = RepeatGuard::new("v");
        g.check(&1, &Page::new(vec![1], Some(2)).answered(1)).unwrap();
        assert!(repeats(g.check(&3, &Page::new(vec![2], None).answered(2))));
    }

    proptest! {
        /// Whatever the list's length, page size and bound: the stream gives every
        /// entry of the pages within the bound, in order, asks for no page past it, and
        /// ends with the bound's error exactly when the list goes on past it.
        #[test]
        fn bounded_lists_read_exactly_what_the_bound_allows(total in 0u32..60, per in 1u32..8, bound in 1u32..10) {
            let fetches = AtomicU32::new(0);
            let mut stream = Paging::new("v", "x").max_pages(bound).entries(1, server(total, per, &fetches));
            let (read, error) = block_on(async {
                let mut read = Vec::new();
                while let Some(entry) = stream.next().await {
                    match entry {
                        Ok(e) => read.push(e),
                        Err(e) => return (read, Some(e)),
                    }
                }
                (read, None)
            });
            let pages = total.div_ceil(per).max(1);
            let within = total.min(bound * per);
            prop_assert_eq!(read, (1..=within).collect::<Vec<_>>());
            prop_assert_eq!(fetches.load(Ordering::Relaxed), pages.min(bound));
            prop_assert_eq!(error.is_some(), pages > bound);
        }
    }
}
