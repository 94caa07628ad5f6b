//! Scenario 2, mapping and validation: a domain [`Sale`] of 20 lines to the bytes of
//! the vendor's request, against serializing a prebuilt wire value to the same bytes.
//!
//! The posbridge side is each connector's `bench_sale_request` (a `#[doc(hidden)]`
//! function that runs the steps of its `push_sale` up to the encoded request and
//! sends nothing): totals reconciled, the vendor's rules checked, ids looked up in
//! the explicit id map, mapped, encoded. The baseline serializes the wire value that
//! very call produced, prebuilt once: `serde_json::to_vec` (JSON vendors) or
//! `serde_urlencoded` (CloudMA's default form body). [`Case::new`] checks that both
//! produce identical bytes.

use anyhow::{Result, bail};
use bytes::Bytes;
use posbridge_core::Sale;
use posbridge_core::http::{Body, Request};
use serde::Serialize;

use crate::fixture;

/// The vendors, in the order the table lists them.
pub const VENDORS: [&str; 5] = ["cloudma", "easpro", "codemax", "salesmania", "asalta"];

/// How a vendor encodes its body, for the table.
pub fn encoding(vendor: &str) -> &'static str {
    if vendor == "cloudma" { "form" } else { "JSON" }
}

enum Connector {
    CloudMa(posbridge_cloudma::CloudMa),
    EasPro(posbridge_easpro::EasPro),
    Codemax(posbridge_codemax::Codemax),
    SalesMania(posbridge_salesmania::SalesMania),
    Asalta(posbridge_asalta::Asalta),
}

type Baseline = Box<dyn Fn() -> Result<Bytes> + Send + Sync>;

/// One vendor's case: its connector, the sale, and the baseline's prebuilt value.
pub struct Case {
    /// The vendor's name.
    pub vendor: &'static str,
    connector: Connector,
    sale: Sale,
    baseline: Baseline,
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

/// The body of a request.
fn body_of(request: &Request) -> Bytes {
    match request.body() {
        Body::Json(b) | Body::Form(b) => b.clone(),
        Body::Empty => Bytes::new(),
    }
}

fn json_baseline<W: Serialize + Send + Sync + 'static>(wire: W) -> Baseline {
    Box::new(move || Ok(Bytes::from(serde_json::to_vec(&wire)?)))
}

/// Codemax sends one sale as a batch of one invoice: `{"invoices": [invoice]}`.
#[derive(Serialize)]
struct Invoices<'a, T> {
    invoices: [&'a T; 1],
}

impl Case {
    /// The case of `vendor` (one of [`VENDORS`]) for the 20-line sale. No request is
    /// sent: the connectors point at a closed loopback port.
    pub async fn new(vendor: &str) -> Result<Case> {
        const NOWHERE: &str = "http://127.0.0.1:9/";
        let sale = fixture::sale("INV-BENCH-1")?;
        let (vendor, connector, request, baseline): (&'static str, Connector, Request, Baseline) = match vendor {
            "cloudma" => {
                let c = fixture::cloudma(NOWHERE)?;
                let request = c.bench_sale_request(&sale)?;
                let fields = c.bench_sale_fields(&sale)?;
                let baseline: Baseline = Box::new(move || Ok(Bytes::from(serde_urlencoded::to_string(&fields)?)));
                ("cloudma", Connector::CloudMa(c), request, baseline)
            }
            "easpro" => {
                let c = fixture::easpro(&format!("{NOWHERE}easpro/"))?;
                let (request, wire) = c.bench_sale_request(&sale).await?;
                ("easpro", Connector::EasPro(c), request, json_baseline(wire))
            }
            "codemax" => {
                let c = fixture::codemax(NOWHERE)?;
                let (request, invoice) = c.bench_sale_request(&sale)?;
                let baseline: Baseline =
                    Box::new(move || Ok(Bytes::from(serde_json::to_vec(&Invoices { invoices: [&invoice] })?)));
                ("codemax", Connector::Codemax(c), request, baseline)
            }
            "salesmania" => {
                let c = fixture::salesmania(NOWHERE)?;
                let (request, wire) = c.bench_sale_request(&sale).await?;
                ("salesmania", Connector::SalesMania(c), request, json_baseline(wire))
            }
            "asalta" => {
                let c = fixture::asalta(NOWHERE)?;
                let (request, wire) = c.bench_sale_request(&sale).await?;
                ("asalta", Connector::Asalta(c), request, json_baseline(wire))
            }
            other => bail!("no mapping case for vendor {other:?}"),
        };
        let body = body_of(&request);
        let case = Case {
            vendor,
            connector,
            sale,
            baseline,
            body,
        };
        let again = case.posbridge().await?;
        let base = case.baseline()?;
        if again != case.body || base != case.body {
            bail!(
                "{vendor}: the baseline does not produce the connector's bytes:\n  posbridge: {}\n  baseline:  {}",
                String::from_utf8_lossy(&case.body),
                String::from_utf8_lossy(&base)
            );
        }
        Ok(case)
    }

    /// posbridge: the sale to the request body (checked, mapped, encoded).
    pub async fn posbridge(&self) -> Result<Bytes> {
        let request = match &self.connector {
            Connector::CloudMa(c) => c.bench_sale_request(&self.sale)?,
            Connector::EasPro(c) => c.bench_sale_request(&self.sale).await?.0,
            Connector::Codemax(c) => c.bench_sale_request(&self.sale)?.0,
            Connector::SalesMania(c) => c.bench_sale_request(&self.sale).await?.0,
            Connector::Asalta(c) => c.bench_sale_request(&self.sale).await?.0,
        };
        Ok(body_of(&request))
    }

    /// The baseline: the prebuilt wire value to the same bytes.
    pub fn baseline(&self) -> Result<Bytes> {
        (self.baseline)()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_vendor_case_builds_identical_bytes() {
        for vendor in VENDORS {
            let case = Case::new(vendor).await.unwrap();
            assert!(case.body.len() > 500, "{vendor}: {} bytes", case.body.len());
        }
    }
}
