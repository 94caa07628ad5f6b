//! What the benchmarks (`posbridge-bench`) need of SalesMania: [`HOOK`], registered in
//! the crate's `DESCRIPTOR`. Not part of the API: hidden from the docs, and it may
//! change at any time.
//!
//! A push goes through SalesMania's auth chain and look-ups by reference, which the
//! minimal server does not imitate: SalesMania is in the mapping scenario only.
#![doc(hidden)]

use std::sync::Arc;

use posbridge_core::descriptor::{BenchClient, BenchEncode, BenchHook, BenchSetup, json_baseline};
use posbridge_core::{BoxFuture, Connector, Request, Result, Sale, SecretString};

use crate::{Config, SalesMania};

/// The bench's walk-in customer id, for sales without a customer.
const WALK_IN_CUSTOMER: u64 = 3000;

/// SalesMania as the benchmarks see it.
pub const HOOK: BenchHook = BenchHook::new(client);

/// The product id of the bench sale's line `i` (0-based).
fn product_id(i: usize) -> u64 {
    900 + u64::try_from(i).unwrap_or(0)
}

/// A SalesMania connector with every bench product mapped explicitly and sales
/// without a customer going to the walk-in customer, so that mapping a sale sends no
/// request.
struct Bench {
    client: Arc<SalesMania>,
}

fn client(setup: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
    let mut config = Config::new("kasir@bench.id", SecretString::from("bench-pass"), "Bench Database")
        .with_base_url(setup.base_url)
        .with_walk_in_customer_id(WALK_IN_CUSTOMER)
        .with_http(setup.http.clone());
    for (i, code) in setup.products.iter().enumerate() {
        config = config.map_product(code.clone(), product_id(i));
    }
    Ok(Box::new(Bench {
        client: Arc::new(SalesMania::new(config)?),
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
