//! The sale every scenario sends, and connectors configured for a loopback server.

use anyhow::{Context, Result};
use posbridge_core::{HttpConfig, IdKind, InMemoryIdMap, RetryConfig, Sale, SecretString};

/// Lines in the benchmark sale.
pub const LINES: usize = 20;

/// CloudMA's API token, as the minimal server and the sandbox accept it.
pub const CLOUDMA_TOKEN: &str = posbridge_sandbox::CLOUDMA_DEFAULT_TOKEN;
/// EAS Pro's `partner` header.
pub const EASPRO_PARTNER: &str = "bench-partner";
/// EAS Pro's `user-id` header.
pub const EASPRO_USER_ID: &str = "bench-user";
/// Codemax's POS Live Sync username.
pub const CODEMAX_USERNAME: &str = "pos-bench";
/// Codemax's password.
pub const CODEMAX_PASSWORD: &str = "bench-pass";
/// Codemax's branch code.
pub const CODEMAX_BRANCH: &str = "KL01";
/// The Asalta access token the connector starts with (no OAuth2 round trip).
pub const ASALTA_TOKEN: &str = "bench-asalta-token";
/// The SalesMania and Asalta walk-in customer id.
pub const WALK_IN_CUSTOMER: u64 = 3000;

/// The product code of line `i` (0-based): `BENCH-01` … `BENCH-20`.
pub fn product_code(i: usize) -> String {
    format!("BENCH-{:02}", i + 1)
}

/// EAS Pro's `invProductId` for line `i`: a UUID-shaped id.
pub fn easpro_product_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{:012}", i + 1)
}

/// The numeric id SalesMania and Asalta know line `i`'s product by.
pub fn numeric_product_id(i: usize) -> u64 {
    900 + u64::try_from(i).unwrap_or(0)
}

/// A 20-line invoice that every vendor takes: whole quantities (CloudMA), no
/// shipping (SalesMania), no discount on the whole sale (EAS Pro), no customer (each
/// vendor's walk-in), prices in tenths so that percentage discounts land on cents
/// (SalesMania checks its own arithmetic to the cent); a percentage discount on every
/// third line and a flat one on every fifth.
pub fn sale(reference: &str) -> Result<Sale> {
    let lines: Vec<serde_json::Value> = (0..LINES)
        .map(|i| {
            let mut line = serde_json::json!({
                "product_code": product_code(i),
                "name": format!("Benchmark product {}", i + 1),
                "quantity": (1 + i % 4).to_string(),
                "unit_price": format!("{}.{}0", 10 + 7 * i, i % 10),
            });
            if i % 3 == 0 {
                line["discount"] = serde_json::json!({"percent": "10"});
            } else if i % 5 == 0 {
                line["discount"] = serde_json::json!({"amount": "1.00"});
            }
            line
        })
        .collect();
    let sale: Sale = serde_json::from_value(serde_json::json!({
        "reference": reference,
        "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": lines,
        "note": "posbridge benchmark",
    }))
    .context("building the benchmark sale")?;
    sale.reconcile().context("the benchmark sale does not reconcile")?;
    Ok(sale)
}

/// `n` sales `{prefix}-000001`, `{prefix}-000002`, …
pub fn sales(prefix: &str, n: usize) -> Result<Vec<Sale>> {
    let template = sale(&format!("{prefix}-000000"))?;
    Ok((1..=n)
        .map(|i| {
            let mut s = template.clone();
            s.reference = format!("{prefix}-{i:06}");
            s
        })
        .collect())
}

/// The HTTP settings of every benchmarked connector: the defaults (timeouts,
/// retries) but quicker backoff, should a loopback request ever fail.
pub fn http() -> HttpConfig {
    HttpConfig {
        retry: RetryConfig {
            min_delay_ms: 5,
            max_delay_ms: 50,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    }
}

/// A CloudMA connector for the server at `base_url` (default form bodies).
pub fn cloudma(base_url: &str) -> Result<posbridge_cloudma::CloudMa> {
    let config = posbridge_cloudma::Config::new(SecretString::from(CLOUDMA_TOKEN))
        .with_base_url(base_url)
        .with_http(http());
    Ok(posbridge_cloudma::CloudMa::new(config)?)
}

/// An EAS Pro connector for the server at `base_url`, every benchmark product mapped.
pub fn easpro(base_url: &str) -> Result<posbridge_easpro::EasPro> {
    let mut config =
        posbridge_easpro::Config::new(SecretString::from(EASPRO_PARTNER), SecretString::from(EASPRO_USER_ID))
            .with_base_url(base_url)
            .with_http(http());
    for i in 0..LINES {
        config = config.with_product(product_code(i), easpro_product_id(i));
    }
    Ok(posbridge_easpro::EasPro::new(config)?)
}

/// A Codemax connector for the server at `base_url` (API under `/api/v1`).
pub fn codemax(base_url: &str) -> Result<posbridge_codemax::Codemax> {
    let config = posbridge_codemax::Config::new(CODEMAX_USERNAME, SecretString::from(CODEMAX_PASSWORD), CODEMAX_BRANCH)
        .with_base_url(base_url)
        .with_http(http());
    Ok(posbridge_codemax::Codemax::new(config)?)
}

/// A SalesMania connector for the server at `base_url`, every benchmark product
/// mapped explicitly and sales without a customer going to the walk-in customer, so
/// that mapping a sale sends no request.
pub fn salesmania(base_url: &str) -> Result<posbridge_salesmania::SalesMania> {
    let mut config =
        posbridge_salesmania::Config::new("kasir@bench.id", SecretString::from("bench-pass"), "Bench Database")
            .with_base_url(base_url)
            .with_walk_in_customer_id(WALK_IN_CUSTOMER)
            .with_http(http());
    for i in 0..LINES {
        config = config.map_product(product_code(i), numeric_product_id(i));
    }
    Ok(posbridge_salesmania::SalesMania::new(config)?)
}

/// An Asalta connector for the server at `base_url`, holding an access token, with
/// biller, warehouse and every benchmark product mapped explicitly.
pub fn asalta(base_url: &str) -> Result<posbridge_asalta::Asalta> {
    let mut ids = InMemoryIdMap::new()
        .with(IdKind::Biller, "Bench Biller", "35")
        .with(IdKind::Warehouse, "ADL", "2");
    for i in 0..LINES {
        ids.insert(IdKind::Product, product_code(i), numeric_product_id(i).to_string());
    }
    let config = posbridge_asalta::Config::new()
        .with_base_url(base_url)
        .with_token(SecretString::from(ASALTA_TOKEN), None)
        .with_biller_and_warehouse("Bench Biller", "ADL")
        .with_walk_in_customer_id(WALK_IN_CUSTOMER)
        .with_id_map(ids)
        .with_http(http());
    Ok(posbridge_asalta::Asalta::new(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sale_has_twenty_lines_and_reconciles() {
        let s = sale("INV-1").unwrap();
        assert_eq!(s.lines.len(), LINES);
        let many = sales("B", 3).unwrap();
        assert_eq!(many[2].reference, "B-000003");
    }
}
