//! End to end through the real `posbridge-salesmania` connector: 200 sales (some with
//! `"55.05+3"` cascades, some with an order discount, customers created on first use), stock read back through
//! `Stock::stock_snapshot`, and a re-push of the same 200 references that books no
//! second order — with the sandbox set to book repeats, so only the connector's own
//! look-up prevents them. Then the life of a sale: voids by POS reference and by
//! vendor id give the stock back once, a repeated void is a duplicate, an unknown
//! sale is not found, a sale already void is booked as a `Batal` order that moves no
//! stock, and returns and payments are not offered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::collections::BTreeMap;

use posbridge_core::{
    Connector, ConnectorConfig, Decimal, Disposition, DuplicatePolicy, Error, ErrorKind, Operation, Sale, SaleRef, Void,
};
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

fn tea_sale(reference: &str, quantity: &str, status: &str) -> Sale {
    serde_json::from_value(
        json!({"reference": reference, "issued_at": "2026-11-26T03:15:00Z", "status": status,
        "lines": [{"product_code": "TEA-100", "quantity": quantity, "unit_price": "4500"}]}),
    )
    .unwrap()
}

#[tokio::test]
async fn voids_give_stock_back_once_and_a_void_sale_moves_none() {
    bounded(async {
        let sandbox = start_with(SandboxConfig::default()).await;
        let connector_config: posbridge_salesmania::Config = serde_json::from_value(json!({
            "username": "kasir@tokomaju.id", "password": "Rahasia-123", "database": "Toko Maju",
            "walk_in_customer_id": 3000, "base_url": sandbox.vendor_url("salesmania"),
        }))
        .unwrap();
        let connector = connector_config.connect().unwrap();
        let (sales, voids) = (connector.sales().unwrap(), connector.voids().unwrap());
        let tea = || sandbox.state().stock("TEA-100").unwrap();
        let before = tea();

        let a = sales.push_sale(&tea_sale("V-1", "3", "open")).await.unwrap();
        let b = sales.push_sale(&tea_sale("V-2", "2", "open")).await.unwrap();
        assert_eq!(tea(), before - Decimal::from(5));

        // By POS reference: the order found by ext_order_no, its stock back.
        let r = voids.void_sale(&Void::of(SaleRef::pos("V-1"))).await.unwrap();
        assert_eq!(
            (r.reference.as_str(), r.vendor_id.as_deref(), r.disposition),
            ("V-1", a.vendor_id.as_deref(), Disposition::Updated)
        );
        assert_eq!(tea(), before - Decimal::from(2));
        // Again, by vendor id: a duplicate, nothing moves.
        let again = Void::of(SaleRef::vendor(a.vendor_id.clone().unwrap()));
        assert_eq!(
            voids.void_sale(&again).await.unwrap().disposition,
            Disposition::Duplicate
        );
        assert_eq!(tea(), before - Decimal::from(2));
        // By vendor id, the second sale.
        let r = voids
            .void_sale(&Void::of(SaleRef::vendor(b.vendor_id.clone().unwrap())))
            .await
            .unwrap();
        assert_eq!(
            (r.reference.as_str(), r.disposition),
            (b.vendor_id.as_deref().unwrap(), Disposition::Updated)
        );
        assert_eq!(tea(), before);

        // Sales SalesMania does not hold.
        for unknown in [SaleRef::vendor("9999"), SaleRef::pos("V-404")] {
            let e = voids.void_sale(&Void::of(unknown.clone())).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound, "{unknown}: {e}");
        }
        let e = voids.void_sale(&Void::of(SaleRef::vendor("V-1"))).await.unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "sale.vendor_id"),
            "{e}"
        );

        // A sale already void: a Batal order, no stock taken; voiding it is a duplicate.
        let c = sales.push_sale(&tea_sale("V-3", "4", "void")).await.unwrap();
        assert_eq!(c.disposition, Disposition::Created);
        assert_eq!(tea(), before);
        let read = sales.get_sale(c.vendor_id.as_deref().unwrap()).await.unwrap();
        assert_eq!(read.status, posbridge_core::SaleStatus::Void);
        let r = voids.void_sale(&Void::of(SaleRef::pos("V-3"))).await.unwrap();
        assert_eq!(r.disposition, Disposition::Duplicate);
        assert_eq!(tea(), before);

        // Each order booked once, each void applied once.
        let mut applied: BTreeMap<String, usize> = BTreeMap::new();
        for r in sandbox.requests() {
            for reference in r.applied_references {
                *applied.entry(reference).or_default() += 1;
            }
        }
        let want: BTreeMap<String, usize> = ["V-1", "V-1#Batal", "V-2", "V-2#Batal", "V-3"]
            .into_iter()
            .map(|r| (r.to_owned(), 1))
            .collect();
        assert_eq!(applied, want);
        sandbox.shutdown().await;
    })
    .await;
}

#[test]
fn returns_and_payments_are_not_offered_and_voids_are_safe_to_repeat() {
    let config = posbridge_salesmania::Config::new(
        "kasir@tokomaju.id",
        posbridge_core::SecretString::from("Rahasia-123"),
        "Toko Maju",
    );
    let connector = posbridge_salesmania::SalesMania::new(config).unwrap();
    assert!(connector.voids().is_some());
    assert!(connector.returns().is_none() && connector.payments().is_none());
    let caps = connector.capabilities();
    assert_eq!(caps.void_duplicates, DuplicatePolicy::Ignored);
    assert!(caps.supports(Operation::VoidSale));
    for op in [Operation::PushReturn, Operation::AddPayment, Operation::DeletePayment] {
        assert!(!caps.supports(op), "{op}");
        match connector.unsupported_here(op) {
            Error::Unsupported { operation, offers, .. } => {
                assert_eq!(operation, op.as_str());
                assert!(
                    offers.contains(&"void_sale") && offers.contains(&"push_sale"),
                    "{offers:?}"
                );
            }
            other => panic!("{other}"),
        }
    }
}

#[tokio::test]
async fn documented_calls_add_a_visit_list_it_and_refuse_bad_names_and_input() {
    bounded(async {
        let sandbox = start_with(SandboxConfig::default()).await;
        let connector_config: posbridge_salesmania::Config = serde_json::from_value(json!({
            "username": "kasir@tokomaju.id", "password": "Rahasia-123", "database": "Toko Maju",
            "base_url": sandbox.vendor_url("salesmania"),
        }))
        .unwrap();
        let connector = connector_config.connect().unwrap();
        // What a call answers is JSON text; read it back to look inside.
        let json_of =
            |raw: Box<serde_json::value::RawValue>| serde_json::from_str::<serde_json::Value>(raw.get()).unwrap();

        let before = json_of(connector.call("visits", &json!(null)).await.unwrap());
        let seeded = before.as_array().unwrap().len();
        let input = json!({"date": "2026-11-28", "customer_id": 3001, "description": "Stok teh habis"});
        let id = json_of(connector.call("add_visit", &input).await.unwrap());
        assert!(id.as_u64().is_some(), "{id}");
        let after = json_of(connector.call("visits", &json!(null)).await.unwrap());
        let after = after.as_array().unwrap();
        assert_eq!(after.len(), seeded + 1);
        let added = after.iter().find(|v| v["id"] == id).unwrap();
        assert_eq!(
            (&added["date"], &added["customer_id"], &added["description"]),
            (&json!("2026-11-28"), &json!(3001), &json!("Stok teh habis"))
        );
        let teams = json_of(connector.call("teams", &json!(null)).await.unwrap());
        assert_eq!(teams, json!([{"id": 24728, "name": "Tim Bandung"}]));

        match connector.call("orders", &json!(null)).await.unwrap_err() {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "call");
                assert!(
                    reason.contains("visits, add_visit, teams") && reason.contains("orders"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        for (input, field) in [
            (json!({"customer_id": 3001}), "input.date"),
            (json!({"date": "28/11/2026", "customer_id": 3001}), "input.date"),
            (json!({"date": "2026-11-28"}), "input.customer_id"),
            (
                json!({"date": "2026-11-28", "customer_id": 3001, "team_id": "x"}),
                "input.team_id",
            ),
            (
                json!({"date": "2026-11-28", "customer_id": 3001, "description": 5}),
                "input.description",
            ),
        ] {
            match connector.call("add_visit", &input).await.unwrap_err() {
                Error::Invalid { field: got, .. } => assert_eq!(got, field, "{input}"),
                other => panic!("{input}: {other:?}"),
            }
        }
        // Nothing was posted for the refused input.
        let last = json_of(connector.call("visits", &json!(null)).await.unwrap());
        assert_eq!(last.as_array().unwrap().len(), seeded + 1);
        sandbox.shutdown().await;
    })
    .await;
}
