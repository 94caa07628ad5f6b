//! A short cache for reads through to a vendor (stock, products): a till polling stock
//! every few seconds costs the vendor one read per TTL, not one per till. One read is
//! in flight per key at a time; the others wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;

/// What a cached read holds.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    /// Stock levels.
    Stock(Arc<Vec<posbridge_core::StockLevel>>),
    /// Products, and whether there were more than the cap.
    Products(Arc<Vec<posbridge_core::Product>>, bool),
}

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Timestamp, Cached)>>>;

/// Reads by (tenant, vendor, what).
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    slots: Mutex<HashMap<(String, String, &'static str), Slot>>,
}

impl ReadCache {
    /// The cached value of `key` if younger than `ttl`, else `read`'s (cached when it
    /// succeeds; an error is never cached).
    pub(crate) async fn get_or_read<E, F>(
        &self,
        key: (String, String, &'static str),
        ttl: Duration,
        read: F,
    ) -> Result<(Timestamp, Cached), E>
    where
        F: AsyncFnOnce() -> Result<Cached, E>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            slots.entry(key).or_default().clone()
        };
        let mut guard = slot.lock().await;
        if let Some((at, fetched, value)) = guard.as_ref()
            && at.elapsed() < ttl
        {
            return Ok((*fetched, value.clone()));
        }
        let value = read().await?;
        let fetched = Timestamp::now();
        *guard = Some((Instant::now(), fetched, value.clone()));
        Ok((fetched, value))
    }
}
