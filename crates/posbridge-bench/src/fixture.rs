//! The sale every scenario sends, and the HTTP settings of every benchmarked
//! connector. Each vendor's connector, credentials and id map come from its bench hook
//! (see [`crate::vendors`]).

use anyhow::{Context, Result};
use posbridge_core::{HttpConfig, RetryConfig, Sale};

/// Lines in the benchmark sale.
pub const LINES: usize = 20;

/// The product code of line `i` (0-based): `BENCH-01` … `BENCH-20`.
pub fn product_code(i: usize) -> String {
    format!("BENCH-{:02}", i + 1)
}

/// The product codes of the benchmark sale's lines, in order.
pub fn products() -> Vec<String> {
    (0..LINES).map(product_code).collect()
}

/// A 20-line invoice that every vendor takes: whole quantities, no shipping, no
/// discount on the whole sale, no customer (each vendor's walk-in), prices in tenths
/// so that percentage discounts land on cents (for a vendor that checks its own
/// arithmetic to the cent); a percentage discount on every third line and a flat one
/// on every fifth.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sale_has_twenty_lines_and_reconciles() {
        let s = sale("INV-1").unwrap();
        assert_eq!(s.lines.len(), LINES);
        let many = sales("B", 3).unwrap();
        assert_eq!(many[2].reference, "B-000003");
        assert_eq!(products()[19], "BENCH-20");
    }
}
