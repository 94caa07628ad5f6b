//! End to end through the real `posbridge-salesmania` connector: 200 sales (some with
//! `"55.05+3"` cascades, some with an order discount, customers created on first use), stock read back through
//! `Stock::stock_snapshot`, and a re-push of the same 200 references that books no
//! second order — with the sandbox set to book repeats, so only the connector's own
//! look-up prevents them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod sandbox_common;

use std::collections::BTreeMap;

use posbridge_core::{ConnectorConfig, Decimal, Disposition, Sale};
use posbridge_salesmania::sandbox::ImitationConfig as SalesmaniaConfig;
use posbridge_sandbox::SandboxConfig;
use sandbox_common::{bounded, start_with};
use serde_json::json;

const SALES: usize = 200;

fn sale(n: usize) -> Sale {
    let mut lines = vec![
        json!({"product_code": "TEA-100", "quantity": (n % 3 + 1).to_string(), "unit_price": "4500",
                                "discount": if n.is_multiple_of(2) { json!({"cascade": ["55.05", "3"]}) } else { json!(null) }}),
    ];
    if n.is_multiple_of(4) {
        lines.push(json!({"product_code": "SUGAR-1KG", "quantity": "1.5", "unit": "KG", "unit_price": "17500"}));
    }
    if n.is_multiple_of(5) {
        lines.push(
            json!({"product_code": "MUG-1", "quantity": "2", "unit_price": "12000", "discount": {"percent": "10"}}),
        );
    }
    let mut sale = json!({"reference": format!("POS-{n:04}"), "issued_at": "2026-11-26T03:15:00Z", "lines": lines});
    if !n.is_multiple_of(3) {
        sale["customer"] = json!({"code": format!("E-{:02}", n % 10), "name": format!("Pelanggan {}", n % 10)});
    }
    if n.is_multiple_of(7) {
        sale["discount"] = json!({"amount": "500"});
    }
    if let Some(lines) = sale["lines"].as_array_mut() {
        for l in lines {
            if l["discount"].is_null() {
                l.as_object_mut().unwrap().remove("discount");
            }
        }
    }
    serde_json::from_value(sale).unwrap()
}

#[tokio::test]
async fn two_hundred_sales_move_stock_exactly_and_a_repush_books_nothing() {
    bounded(async {
        let config = SandboxConfig::default().with_section(
            "salesmania",
            serde_json::to_value(SalesmaniaConfig {
                refuse_repeated_ext_order_no: false,
                ..SalesmaniaConfig::default()
            })
            .unwrap(),
        );
        let sandbox = start_with(config).await;
        let connector_config: posbridge_salesmania::Config = serde_json::from_value(json!({
            "username": "kasir@tokomaju.id", "password": "Rahasia-123", "database": "Toko Maju",
            "walk_in_customer_id": 3000, "base_url": sandbox.vendor_url("salesmania"),
        }))
        .unwrap();
        let connector = connector_config.connect().unwrap();
        let sales = connector.sales().unwrap();
        let stock = connector.stock().unwrap();
        let before: BTreeMap<String, Decimal> = stock
            .stock_snapshot()
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.product_code, l.quantity))
            .collect();
        let all: Vec<Sale> = (0..SALES).map(sale).collect();
        let mut sold: BTreeMap<String, Decimal> = BTreeMap::new();
        for s in &all {
            let receipt = sales.push_sale(s).await.unwrap();
            assert_eq!(receipt.disposition, Disposition::Created, "{}", s.reference);
            for l in &s.lines {
                *sold.entry(l.product_code.clone()).or_default() += l.quantity;
            }
        }
        let after: BTreeMap<String, Decimal> = stock
            .stock_snapshot()
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.product_code, l.quantity))
            .collect();
        assert_eq!(after.len(), before.len());
        for (code, was) in &before {
            let moved = sold.get(code).copied().unwrap_or_default();
            assert_eq!(after[code], *was - moved, "{code}");
            assert_eq!(sandbox.state().stock(code), Some(*was - moved));
        }
        // The customers were created once each.
        let customers = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/customers") && r.applied)
            .count();
        assert_eq!(customers, 10);

        for s in &all {
            let receipt = sales.push_sale(s).await.unwrap();
            assert_eq!(receipt.disposition, Disposition::Duplicate, "{}", s.reference);
        }
        let log = sandbox.requests();
        let mut booked: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &log {
            for reference in &r.applied_references {
                *booked.entry(reference.as_str()).or_default() += 1;
            }
        }
        assert_eq!(booked.len(), SALES);
        assert!(booked.values().all(|n| *n == 1), "an order was booked twice");
        assert_eq!(
            sandbox.state().stock("TEA-100"),
            Some(before["TEA-100"] - sold["TEA-100"])
        );
        sandbox.shutdown().await;
    })
    .await;
}
