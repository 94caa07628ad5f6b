//! What the benchmarks (`posbridge-bench`) need of Asalta: [`HOOK`], registered in the
//! crate's `DESCRIPTOR`. Not part of the API: hidden from the docs, and it may change
//! at any time.
//!
//! Asalta serves its items as a paged list that the connector streams lazily
//! ([`Asalta::items`]), so the streaming scenario reads it: the minimal server serves
//! pages built once here, shaped as Asalta's document shows an item, and the baseline
//! is a hand-written page loop parsing each page straight into the public typed
//! [`Item`]s.
#![doc(hidden)]

use std::sync::Arc;

use futures_util::TryStreamExt;
use posbridge_core::descriptor::{BenchClient, BenchEncode, BenchHook, BenchPaged, BenchSetup, json_baseline};
use posbridge_core::{
    BoxFuture, Connector, Error, IdKind, InMemoryIdMap, Request, Result, Sale, SecretString, reqwest,
};
use serde::Deserialize;

use crate::{Asalta, Config, Item, VENDOR, wire};

/// The access token the bench connector starts with (no OAuth2 round trip).
const TOKEN: &str = "bench-asalta-token";

/// The bench's walk-in customer id, for sales without a customer.
const WALK_IN_CUSTOMER: u64 = 3000;

/// Asalta as the benchmarks see it.
pub const HOOK: BenchHook = BenchHook::new(client).with_paged(BenchPaged {
    stream: "items()",
    path: wire::ITEMS,
    per_page: 100,
    entries,
    requested,
    answer,
    raw_count,
});

/// The product id of the bench sale's line `i` (0-based).
fn product_id(i: usize) -> u64 {
    900 + u64::try_from(i).unwrap_or(0)
}

/// An Asalta connector holding an access token, with biller, warehouse and every
/// bench product mapped explicitly, so that mapping a sale sends no request.
struct Bench {
    client: Arc<Asalta>,
}

fn client(setup: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
    let mut ids = InMemoryIdMap::new()
        .with(IdKind::Biller, "Bench Biller", "35")
        .with(IdKind::Warehouse, "ADL", "2");
    for (i, code) in setup.products.iter().enumerate() {
        ids.insert(IdKind::Product, code.clone(), product_id(i).to_string());
    }
    let config = Config::new()
        .with_base_url(setup.base_url)
        .with_token(SecretString::from(TOKEN), None)
        .with_biller_and_warehouse("Bench Biller", "ADL")
        .with_walk_in_customer_id(WALK_IN_CUSTOMER)
        .with_id_map(ids)
        .with_http(setup.http.clone());
    Ok(Box::new(Bench {
        client: Arc::new(Asalta::new(config)?),
    }))
}

impl BenchClient for Bench {
    fn connector(&self) -> Arc<dyn Connector> {
        self.client.clone()
    }

    fn sale_request<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<Request>> {
        Box::pin(async move { Ok(self.client.bench_sale_request(sale).await?.0) })
    }

    fn sale_baseline<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<BenchEncode>> {
        Box::pin(async move { Ok(json_baseline(self.client.bench_sale_request(sale).await?.1)) })
    }

    /// Every item through [`Asalta::items`].
    fn count_paged(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(
            self.client
                .items()
                .try_fold(0usize, |n, _item| async move { Ok(n + 1) }),
        )
    }
}

/// The items of page `index` (0-based), `per_page` of them, shaped as Asalta's
/// document shows an item (tax, variants, two warehouses' inventory).
fn entries(index: usize, per_page: usize) -> Vec<u8> {
    let items: Vec<serde_json::Value> = (0..per_page)
        .map(|i| {
            let id = index * per_page + i + 1;
            serde_json::json!({
                "id": id.to_string(), "name": format!("Bench item {id}"), "code": format!("ITEM-{id:06}"),
                "type": "standard", "barcode_symbology": "code128", "unit": "pcs",
                "cost": "100.0000", "price": format!("{}.5000", 100 + id % 50), "quantity": "280",
                "custom_fields": {"cf1": null},
                "tax": {"tax_method": "0", "id": "3", "code": "GST", "name": "GST @ 7%", "rate": "7.0000", "type": "Percentage"},
                "variants": [], "suppliers": [],
                "inventory": [
                    {"id": format!("{}", 8900 + 2 * id), "warehouse_id": "2", "quantity": "170", "reorder_qty": "0.0000", "rack": null, "area": null},
                    {"id": format!("{}", 8901 + 2 * id), "warehouse_id": 3, "quantity": 110.5, "reorder_qty": "0.0000"}
                ]
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string().into_bytes()
}

/// The page a request asks for: `?page=N`, else 1.
fn requested(query: Option<&str>) -> usize {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
}

/// Page `page` of `pages`: `{"data": [...], "_meta": {...}}` around the prebuilt
/// entries; an empty list past the last page.
fn answer(entries: Option<&[u8]>, page: usize, pages: usize, per_page: usize) -> Vec<u8> {
    let Some(data) = entries else {
        return br#"{"data":[],"_meta":{}}"#.to_vec();
    };
    let meta = format!(
        r#","_meta":{{"totalCount":{},"pageCount":{},"currentPage":{page},"perPage":{per_page}}}}}"#,
        pages * per_page,
        pages
    );
    let mut out = Vec::with_capacity(data.len() + meta.len() + 16);
    out.extend_from_slice(br#"{"data":"#);
    out.extend_from_slice(data);
    out.extend_from_slice(meta.as_bytes());
    out
}

/// A page as the hand-written loop reads it: the typed items, and the page count.
#[derive(Deserialize)]
struct RawPage {
    data: Vec<Item>,
    #[serde(rename = "_meta")]
    meta: RawMeta,
}

#[derive(Deserialize)]
struct RawMeta {
    #[serde(rename = "pageCount")]
    page_count: usize,
}

fn raw_count<'a>(client: &'a reqwest::Client, url: &'a str) -> BoxFuture<'a, Result<usize>> {
    Box::pin(raw_items(client, url))
}

/// Every item at `url` through a plain page loop; how many.
async fn raw_items(client: &reqwest::Client, url: &str) -> Result<usize> {
    let transport = |e: reqwest::Error| Error::Transport {
        vendor: VENDOR,
        message: e.to_string(),
        source: None,
    };
    let mut page = 1usize;
    let mut n = 0;
    loop {
        let response = client
            .get(url)
            .query(&[("page", page)])
            .bearer_auth(TOKEN)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::Unavailable {
                vendor: VENDOR,
                status: Some(status.as_u16()),
                message: format!("HTTP {status}"),
            });
        }
        let body = response.bytes().await.map_err(transport)?;
        let p: RawPage = serde_json::from_slice(&body).map_err(|e| Error::decode(VENDOR, e.to_string(), &body))?;
        n += p.data.len();
        if page >= p.meta.page_count || p.data.is_empty() {
            return Ok(n);
        }
        page += 1;
    }
}
