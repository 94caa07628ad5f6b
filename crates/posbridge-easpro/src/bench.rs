//! What the benchmarks (`posbridge-bench`) need of EAS Pro: [`HOOK`], registered in
//! the crate's `DESCRIPTOR`. Not part of the API: hidden from the docs, and it may
//! change at any time.
//!
//! A push is one request with a fixed success answer and no login, so EAS Pro is in
//! the per-call scenario; its sale upsert is idempotent, so the outbox scenario
//! delivers to it.
#![doc(hidden)]

use std::sync::Arc;

use posbridge_core::descriptor::{
    BenchAnswer, BenchClient, BenchEncode, BenchHook, BenchRoute, BenchSetup, json_baseline,
};
use posbridge_core::{BoxFuture, Connector, Request, Result, Sale, SecretString};

use crate::{Config, EasPro, wire};

/// The bench's `partner` header.
const PARTNER: &str = "bench-partner";
/// The bench's `user-id` header.
const USER_ID: &str = "bench-user";

/// EAS Pro's success answer to a transaction, from its document.
const CREATED: &str = r#"{"data":{"result":"Success","demo":false},"response":{"date":"2026/11/26 10:15:07","status":{"code":"0","httpMessage":"success processed"}}}"#;

/// EAS Pro as the benchmarks see it.
pub const HOOK: BenchHook = BenchHook::new(client)
    .with_push(BenchRoute {
        path: wire::CREATE_TRANSACTION,
        answer: BenchAnswer::Fixed {
            status: 200,
            body: CREATED,
        },
    })
    .with_credential_headers(&[wire::PARTNER_HEADER, wire::USER_ID_HEADER]);

/// The `invProductId` of the bench sale's line `i` (0-based): a UUID-shaped id.
fn product_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{:012}", i + 1)
}

/// An EAS Pro connector with the bench credentials, every bench product mapped.
struct Bench {
    client: Arc<EasPro>,
}

fn client(setup: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
    let mut config = Config::new(SecretString::from(PARTNER), SecretString::from(USER_ID))
        .with_base_url(setup.base_url)
        .with_http(setup.http.clone());
    for (i, code) in setup.products.iter().enumerate() {
        config = config.with_product(code.clone(), product_id(i));
    }
    Ok(Box::new(Bench {
        client: Arc::new(EasPro::new(config)?),
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
}
