//! Scenario 2, mapping and validation: a domain [`Sale`] of 20 lines to the bytes of
//! the vendor's request, against serializing a prebuilt wire value to the same bytes.
//!
//! Both sides come from the vendor's bench hook ([`BenchClient`]): the posbridge side
//! is its `sale_request` (the connector's `#[doc(hidden)]` `bench_sale_request`, which
//! runs the steps of its `push_sale` up to the encoded request and sends nothing:
//! totals reconciled, the vendor's rules checked, ids looked up in the explicit id
//! map, mapped, encoded). The baseline serializes the wire value that very call
//! produced, prebuilt once, with plain serde: `serde_json::to_vec` (JSON bodies) or
//! `serde_urlencoded` (form bodies). [`Case::new`] checks that both produce identical
//! bytes.

use anyhow::{Result, bail};
use bytes::Bytes;
use posbridge_core::Sale;
use posbridge_core::descriptor::{BenchClient, BenchEncode};
use posbridge_core::http::{Body, Request};

use crate::fixture;
use crate::vendors::{self, Vendor};

/// The vendors of the mapping scenario, in the order the table lists them: every
/// vendor with a bench hook, in the registry's order.
pub fn vendors() -> Vec<Vendor> {
    vendors::all()
}

/// One vendor's case: its bench client, the sale, and the baseline's prebuilt value.
pub struct Case {
    /// The vendor's short name.
    pub vendor: &'static str,
    client: Box<dyn BenchClient>,
    sale: Sale,
    baseline: BenchEncode,
    /// How the body is encoded, for the table: `form` or `JSON`.
    pub encoding: &'static str,
    /// The request body both sides produce.
    pub body: Bytes,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("vendor", &self.vendor)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// The body of a request, and how it is encoded.
fn body_of(request: &Request) -> (Bytes, &'static str) {
    match request.body() {
        Body::Json(b) => (b.clone(), "JSON"),
        Body::Form(b) => (b.clone(), "form"),
        Body::Empty => (Bytes::new(), "empty"),
    }
}

impl Case {
    /// The case of `vendor` for the 20-line sale. No request is sent: the connector
    /// points at a closed loopback port.
    pub async fn new(vendor: &Vendor) -> Result<Case> {
        let nowhere = format!("http://127.0.0.1:9/{}/", vendor.name());
        let sale = fixture::sale("INV-BENCH-1")?;
        let client = vendor.client(&nowhere)?;
        let request = client.sale_request(&sale).await?;
        let baseline = client.sale_baseline(&sale).await?;
        let (body, encoding) = body_of(&request);
        let case = Case {
            vendor: vendor.name(),
            client,
            sale,
            baseline,
            encoding,
            body,
        };
        let again = case.posbridge().await?;
        let base = case.baseline()?;
        if again != case.body || base != case.body {
            bail!(
                "{}: the baseline does not produce the connector's bytes:\n  posbridge: {}\n  baseline:  {}",
                case.vendor,
                String::from_utf8_lossy(&case.body),
                String::from_utf8_lossy(&base)
            );
        }
        Ok(case)
    }

    /// posbridge: the sale to the request body (checked, mapped, encoded).
    pub async fn posbridge(&self) -> Result<Bytes> {
        let request = self.client.sale_request(&self.sale).await?;
        Ok(body_of(&request).0)
    }

    /// The baseline: the prebuilt wire value to the same bytes.
    pub fn baseline(&self) -> Result<Bytes> {
        Ok(Bytes::from((self.baseline)()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_vendor_case_builds_identical_bytes() {
        let vendors = vendors();
        assert!(!vendors.is_empty(), "no vendor with a bench hook");
        for vendor in vendors {
            let case = Case::new(&vendor).await.unwrap();
            assert!(case.body.len() > 500, "{}: {} bytes", case.vendor, case.body.len());
        }
    }
}
