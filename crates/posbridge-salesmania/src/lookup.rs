//! The look-ups by a POS key that SalesMania's document does not show: orders by
//! `ext_order_no` (before a push: is the reference booked already? after it: the new
//! order's id) and customers by `ext_cust_no` (a sale's customer). Neither the filter
//! nor the endpoint is documented, so neither is trusted (decision 19 of
//! `docs/vendors/salesmania.md`):
//!
//! - **The filter**: every entry of every page is matched on the field itself. A
//!   server that ignores the filter answers its whole list; the look-up then pages
//!   through it with the crate's one pager ([`Api::pages`]) until a page has a match
//!   or the list ends.
//! - **The bound**: at most `lookup_max_pages` pages (config, default
//!   [`DEFAULT_LOOKUP_MAX_PAGES`](crate::DEFAULT_LOOKUP_MAX_PAGES)). A list that goes
//!   on is [`Error::Rejected`] with code [`LOOKUP_PAGE_LIMIT`] naming the look-up and
//!   the bound: nothing is written on a guess.
//! - **The endpoint**: a 404 or a 405 on the first page (see
//!   [`error::absent_endpoint`]) means this server has no such look-up
//!   ([`Looked::Absent`]). The client remembers it for its life (the look-up is not
//!   asked again for every sale) and says so once in the log, at WARN. What a sale
//!   then does is its caller's decision: `SalesMania::push` posts the order without
//!   the duplicate check; `Resolver::customer_id` refuses a customer it cannot find.

use std::fmt;
use std::sync::atomic::{AtomicU16, Ordering};

use futures_util::StreamExt;
use posbridge_core::{Error, Result};
use serde::de::DeserializeOwned;

use crate::{Api, LOOKUP_PAGE_LIMIT, Listing, VENDOR, error, wire};

/// A look-up by a POS key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// `GET /extapi/v1.0/orders?ext_order_no=…`.
    Orders,
    /// `GET /extapi/v1.0/customers?ext_cust_no=…`.
    Customers,
}

impl Lookup {
    /// The operation name in logs.
    pub(crate) fn operation(self) -> &'static str {
        match self {
            Self::Orders => "find_order",
            Self::Customers => "resolve_customer",
        }
    }

    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::Orders => wire::ORDERS,
            Self::Customers => wire::CUSTOMERS,
        }
    }

    /// The filter's query parameter (and the field every entry is matched on).
    pub(crate) fn param(self) -> &'static str {
        match self {
            Self::Orders => wire::EXT_ORDER_NO_PARAM,
            Self::Customers => wire::EXT_CUST_NO_PARAM,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Orders => 0,
            Self::Customers => 1,
        }
    }

    /// What a sale does without this look-up, for the one warning.
    fn consequence(self) -> &'static str {
        match self {
            Self::Orders => {
                "sales are pushed without the duplicate check from now on: their duplicate safety is unknown (a \
                 repeated reference may be booked twice), and a push that fails after sending is uncertain and \
                 is not sent again by this client"
            }
            Self::Customers => {
                "a sale's customer is found only by id_map, by its SalesMania id or among the customers this \
                 client created; a sale with another customer code is refused (creating a customer for every \
                 sale would duplicate customers)"
            }
        }
    }
}

impl fmt::Display for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Orders => "orders",
            Self::Customers => "customers",
        };
        write!(
            f,
            "the look-up of {what} by {param} (GET {path}?{param}=…)",
            param = self.param(),
            path = self.path()
        )
    }
}

/// What a look-up found.
#[derive(Debug)]
pub(crate) enum Looked<T> {
    /// The entries that match, from the first page that has any.
    Found(T),
    /// No entry matches, the list read to its end.
    NoMatch,
    /// This server has no such look-up: it answered this status (404 or 405), now
    /// or earlier in this client's life.
    Absent(u16),
}

/// The look-ups this client found absent, with the status that said so (`0`: not
/// found absent). Per client: a new client asks again.
#[derive(Debug, Default)]
pub(crate) struct Absences([AtomicU16; 2]);

impl Absences {
    /// The status that said `lookup` is absent, if one did.
    pub(crate) fn status(&self, lookup: Lookup) -> Option<u16> {
        let status = self.0[lookup.index()].load(Ordering::Acquire);
        (status != 0).then_some(status)
    }

    /// Remembers that `lookup` is absent; the first time, says so in the log.
    fn record(&self, lookup: Lookup, status: u16) {
        if self.0[lookup.index()].swap(status, Ordering::AcqRel) == 0 {
            tracing::warn!(
                vendor = VENDOR,
                operation = lookup.operation(),
                status,
                "{lookup} does not exist on this SalesMania server (it answered HTTP {status}); {}",
                lookup.consequence()
            );
        }
    }
}

/// The error past a look-up's bound: the list went on for `max_pages` pages without a
/// match. Not retryable: the list only grows.
pub(crate) fn page_limit(lookup: Lookup, max_pages: u32) -> Error {
    let fix = match lookup {
        Lookup::Orders => {
            "raise `lookup_max_pages` in the SalesMania config (every push then reads up to that many pages)"
        }
        Lookup::Customers => {
            "map the customer's code to its SalesMania id in id_map, or raise `lookup_max_pages` in the SalesMania \
             config"
        }
    };
    Error::Rejected {
        vendor: VENDOR,
        status: None,
        code: Some(LOOKUP_PAGE_LIMIT.to_owned()),
        message: format!(
            "{lookup} read its bound of {max_pages} pages without a match, and the list goes on (the server seems \
             to ignore the filter); nothing was written: {fix}"
        ),
    }
}

impl Api {
    /// Looks `value` up: page after page of `GET path?param=value&page=N`, keeping the
    /// entries for which `matches` holds, until a page has some or the list ends.
    pub(crate) async fn find<T>(
        &self,
        lookup: Lookup,
        value: &str,
        matches: impl Fn(&T) -> bool,
    ) -> Result<Looked<Vec<T>>>
    where
        T: DeserializeOwned + Clone + PartialEq + Send + 'static,
    {
        if let Some(status) = self.absences.status(lookup) {
            return Ok(Looked::Absent(status));
        }
        // The chain on its own first, so that none of its failures (an unknown
        // database answers 404) is ever taken for the look-up's.
        self.auth.token().await?;
        let listing = Listing::lookup(lookup, value, self.lookup_max_pages);
        let mut pages = self.pages(listing, Ok::<T, String>);
        let mut first = true;
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    // Only the first page can say the endpoint does not exist: a later
                    // page's 404 comes from an endpoint that answered.
                    if first && let Some(status) = error::absent_endpoint(&e) {
                        self.absences.record(lookup, status);
                        return Ok(Looked::Absent(status));
                    }
                    return Err(e);
                }
            };
            first = false;
            let found: Vec<T> = page.into_iter().filter(|entry| matches(entry)).collect();
            if !found.is_empty() {
                return Ok(Looked::Found(found));
            }
        }
        Ok(Looked::NoMatch)
    }
}
