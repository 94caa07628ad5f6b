//! What the benchmarks (`posbridge-bench`) need of CloudMA: [`HOOK`], registered in the
//! crate's `DESCRIPTOR`. Not part of the API: hidden from the docs, and it may change
//! at any time.
//!
//! A push is one request with a fixed success answer and no login, so CloudMA is in
//! the per-call scenario; its API token travels in the form body, so the sandbox
//! scenario can replay the bodies alone.
#![doc(hidden)]

use std::sync::Arc;

use posbridge_core::descriptor::{
    BenchAnswer, BenchClient, BenchEncode, BenchHook, BenchRoute, BenchSetup, form_baseline,
};
use posbridge_core::{BoxFuture, Connector, Request, Result, Sale, SecretString};

use crate::{CloudMa, Config, wire};

/// The API token of the benchmarks: the one CloudMA's document gives, which the
/// sandbox (an imitation of the same document) accepts by default.
const TOKEN: &str = "38iGm3yI86Hw";

/// CloudMA's success answer to a push, from its document.
const PUSH_OK: &str = r#"{"message":"Sale pushed successfully","data":{"id":1501}}"#;

/// CloudMA as the benchmarks see it.
pub const HOOK: BenchHook = BenchHook::new(client)
    .with_push(BenchRoute {
        path: wire::PUSH_SALE,
        answer: BenchAnswer::Fixed {
            status: 201,
            body: PUSH_OK,
        },
    })
    .with_credentials_in_body();

/// A CloudMA connector (default form bodies) with the bench token.
struct Bench {
    client: Arc<CloudMa>,
}

fn client(setup: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
    let config = Config::new(SecretString::from(TOKEN))
        .with_base_url(setup.base_url)
        .with_http(setup.http.clone());
    Ok(Box::new(Bench {
        client: Arc::new(CloudMa::new(config)?),
    }))
}

impl BenchClient for Bench {
    fn connector(&self) -> Arc<dyn Connector> {
        self.client.clone()
    }

    fn sale_request<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<Request>> {
        Box::pin(async move { self.client.bench_sale_request(sale) })
    }

    /// The form fields of the push, encoded by `serde_urlencoded`.
    fn sale_baseline<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<BenchEncode>> {
        Box::pin(async move { Ok(form_baseline(self.client.bench_sale_fields(sale)?)) })
    }
}
