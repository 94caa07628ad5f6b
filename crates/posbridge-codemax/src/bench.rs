//! What the benchmarks (`posbridge-bench`) need of Codemax: [`HOOK`], registered in the
//! crate's `DESCRIPTOR`. Not part of the API: hidden from the docs, and it may change
//! at any time.
//!
//! Codemax takes sales in batches (`Capabilities::max_batch`), so the batching
//! scenario sends to it: a login first, then sync requests the minimal server answers
//! with one `success` result per invoice sent.
#![doc(hidden)]

use std::sync::Arc;

use posbridge_core::descriptor::{
    BenchAnswer, BenchClient, BenchEncode, BenchHook, BenchRoute, BenchSetup, json_baseline,
};
use posbridge_core::{BoxFuture, Connector, Request, Result, Sale, SecretString};
use serde::{Deserialize, Serialize};

use crate::{Codemax, Config};

/// The bench's POS Live Sync username.
const USERNAME: &str = "pos-bench";
/// The bench's password.
const PASSWORD: &str = "bench-pass";
/// The bench's branch code.
const BRANCH: &str = "KL01";

/// Codemax's answer to a login.
const LOGIN_OK: &str = r#"{"code":"00","message":"Login successful","access_token":"acc-bench","refresh_token":"ref-bench","expires_in":3600}"#;

/// Codemax as the benchmarks see it. The paths are the default `base_path`
/// (`/api/v1`) and the sync and login paths under it.
pub const HOOK: BenchHook = BenchHook::new(client)
    .with_login(BenchRoute {
        path: "api/v1/auth/login",
        answer: BenchAnswer::Fixed {
            status: 200,
            body: LOGIN_OK,
        },
    })
    .with_push(BenchRoute {
        path: "api/v1/sync",
        answer: BenchAnswer::Computed(sync_answer),
    });

/// A sync request's invoices, as far as the answer needs them.
#[derive(Deserialize)]
struct SyncBody {
    invoices: Vec<InvoiceNo>,
}

#[derive(Deserialize)]
struct InvoiceNo {
    invoice_no: String,
}

/// The answer to a sync: `code 00` and a `success` result naming each invoice sent.
fn sync_answer(body: &[u8]) -> (u16, Vec<u8>) {
    let Ok(sync) = serde_json::from_slice::<SyncBody>(body) else {
        return (400, br#"{"code":"21","message":"Malformed request"}"#.to_vec());
    };
    let results: Vec<serde_json::Value> = sync
        .invoices
        .into_iter()
        .map(
            |i| serde_json::json!({"invoice_no": i.invoice_no, "status": "success", "code": "00", "message": "Synced"}),
        )
        .collect();
    let answer = serde_json::json!({"code": "00", "message": "Invoices synced", "results": results});
    (200, answer.to_string().into_bytes())
}

/// One sale's sync body: a batch of one invoice.
#[derive(Serialize)]
struct Invoices<T> {
    invoices: [T; 1],
}

/// A Codemax connector with the bench credentials (API under `/api/v1`).
struct Bench {
    client: Arc<Codemax>,
}

fn client(setup: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
    let config = Config::new(USERNAME, SecretString::from(PASSWORD), BRANCH)
        .with_base_url(setup.base_url)
        .with_http(setup.http.clone());
    Ok(Box::new(Bench {
        client: Arc::new(Codemax::new(config)?),
    }))
}

impl BenchClient for Bench {
    fn connector(&self) -> Arc<dyn Connector> {
        self.client.clone()
    }

    fn sale_request<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<Request>> {
        Box::pin(async move { Ok(self.client.bench_sale_request(sale)?.0) })
    }

    /// The invoice, written as a sync body of one (`{"invoices": [invoice]}`).
    fn sale_baseline<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<BenchEncode>> {
        Box::pin(async move {
            let (_, invoice) = self.client.bench_sale_request(sale)?;
            Ok(json_baseline(Invoices { invoices: [invoice] }))
        })
    }
}
