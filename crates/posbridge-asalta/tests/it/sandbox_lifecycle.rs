//! The whole life of a sale, through the connector against the sandbox: an order is
//! pushed, partly returned, paid later (and the payment deleted), then voided; the
//! stock comes back once per unit, a return beyond what is left, a repeated void and
//! references to sales or payments Asalta does not hold are typed errors, and a sale
//! with status void is never booked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use posbridge_asalta::sandbox::asalta_item_ids;
use posbridge_core::{
    Connector, ConnectorConfig, Decimal, DuplicatePolicy, Error, ErrorKind, Operation, Return, Sale, SalePayment,
    SaleRef, Void,
};
use posbridge_sandbox::{Catalogue, SandboxHandle};
use sandbox_common::{bounded, mint_token, start};
use serde_json::json;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn connector(s: &SandboxHandle) -> Box<dyn Connector> {
    let tea = asalta_item_ids(&Catalogue::sample())["TEA-100"];
    let config: posbridge_asalta::Config = serde_json::from_value(json!({
        "base_url": s.vendor_url("asalta"), "access_token": mint_token(s),
        "biller": "MAIN", "warehouse": "ADL", "walk_in_customer_id": 1,
        "id_map": {"product": {"TEA-100": tea.to_string()}, "biller": {"MAIN": "35"}, "warehouse": {"ADL": "2"}},
        "http": {"retry": {"max_retries": 1, "min_delay_ms": 1, "max_delay_ms": 2, "jitter": false}}
    }))
    .unwrap();
    config.connect().unwrap()
}

fn order(status: &str) -> Sale {
    serde_json::from_value(json!({
        "reference": "ORD-1", "issued_at": "2026-11-26T10:15:00+08:00", "kind": "order", "status": status,
        "lines": [{"product_code": "TEA-100", "quantity": "3", "unit_price": "450"}]
    }))
    .unwrap()
}

fn ret(reference: &str, sale: &str, quantity: &str) -> Return {
    serde_json::from_value(json!({
        "reference": reference, "sale": {"reference": "ORD-1", "vendor_id": sale},
        "issued_at": "2026-11-27T09:30:00+08:00",
        "lines": [{"product_code": "TEA-100", "quantity": quantity, "unit_price": "450"}],
        "reason": "damaged"
    }))
    .unwrap()
}

fn payment(sale: &str, amount: &str) -> SalePayment {
    serde_json::from_value(json!({
        "sale": {"vendor_id": sale},
        "payment": {"reference": "PAY-1", "amount": amount, "method": "card", "paid_at": "2026-11-28T14:00:00+08:00"}
    }))
    .unwrap()
}

#[tokio::test]
async fn an_order_is_returned_paid_and_voided_with_its_stock_back_once() {
    bounded(async {
        let s = start().await;
        let c = connector(&s);
        let caps = c.capabilities();
        for op in [
            Operation::PushReturn,
            Operation::AddPayment,
            Operation::DeletePayment,
            Operation::VoidSale,
        ] {
            assert!(caps.supports(op), "{op}");
        }
        assert_eq!(caps.duplicates(Operation::VoidSale), DuplicatePolicy::Rejected);
        assert_eq!(caps.duplicates(Operation::PushReturn), DuplicatePolicy::Unknown);
        assert_eq!(caps.duplicates(Operation::AddPayment), DuplicatePolicy::Unknown);
        let stock = || s.state().stock("TEA-100").unwrap();
        let start_stock = stock();

        // A void sale is never booked.
        let e = c.sales().unwrap().push_sale(&order("void")).await.unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "status"), "{e}");
        assert_eq!(stock(), start_stock);

        let pushed = c.sales().unwrap().push_sale(&order("open")).await.unwrap();
        let sale_id = pushed.vendor_id.unwrap();
        assert!(sale_id.starts_with("order:"), "{sale_id}");
        assert_eq!(stock(), start_stock - d("3"));

        // A partial return gives its unit back, once.
        let returns = c.returns().unwrap();
        let r = returns.push_return(&ret("RET-1", &sale_id, "1")).await.unwrap();
        assert_eq!(r.reference, "RET-1");
        assert!(r.vendor_id.as_deref().unwrap().starts_with("return_order:"), "{r:?}");
        assert_eq!(stock(), start_stock - d("2"));
        // More than the sale sold less that return: refused by Asalta, nothing moves.
        let e = returns.push_return(&ret("RET-2", &sale_id, "3")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Rejected, "{e}");
        assert_eq!(stock(), start_stock - d("2"));
        // More than the sale ever sold: refused before it is sent.
        let e = returns.push_return(&ret("RET-3", &sale_id, "4")).await.unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].quantity"),
            "{e}"
        );

        // A later payment, recorded against the sale, then deleted.
        let payments = c.payments().unwrap();
        let p = payments.add_payment(&payment(&sale_id, "100")).await.unwrap();
        let payment_id = p.vendor_id.unwrap();
        assert_eq!(p.reference, "PAY-1");
        let e = payments.add_payment(&payment(&sale_id, "1250.01")).await.unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "payment.amount"),
            "{e}"
        );
        payments.delete_payment(&payment_id).await.unwrap();
        let e = payments.delete_payment(&payment_id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

        // The void gives back what was not returned, once; a repeat is refused.
        let voids = c.voids().unwrap();
        let v = voids
            .void_sale(&Void::of(SaleRef::pos("ORD-1").with_vendor_id(sale_id.as_str())))
            .await
            .unwrap();
        assert_eq!(v.reference, "ORD-1");
        assert_eq!(stock(), start_stock);
        let e = voids
            .void_sale(&Void::of(SaleRef::vendor(sale_id.as_str())))
            .await
            .unwrap_err();
        match &e {
            Error::Rejected { code, .. } => assert_eq!(code.as_deref(), Some("already_void")),
            other => panic!("{other:?}"),
        }
        assert_eq!(stock(), start_stock);
        // Nothing can be returned of, or paid on, a void sale.
        let e = returns.push_return(&ret("RET-4", &sale_id, "1")).await.unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "sale"), "{e}");
        let e = payments.add_payment(&payment(&sale_id, "1")).await.unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "sale"), "{e}");
        assert_eq!(stock(), start_stock);

        // Sales and payments Asalta does not hold.
        let e = voids
            .void_sale(&Void::of(SaleRef::vendor("order:999")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = returns.push_return(&ret("RET-5", "order:999", "1")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        let e = payments.add_payment(&payment("999", "1")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_invoice_is_returned_whole_rather_than_voided() {
    bounded(async {
        let s = start().await;
        let c = connector(&s);
        let stock = || s.state().stock("TEA-100").unwrap();
        let start_stock = stock();
        let mut sale = order("open");
        sale.kind = posbridge_core::SaleKind::Invoice;
        let id = c.sales().unwrap().push_sale(&sale).await.unwrap().vendor_id.unwrap();
        // The invoice's receipt id is a bare number: a void of it is refused, naming the way.
        let e = c
            .voids()
            .unwrap()
            .void_sale(&Void::of(SaleRef::vendor(id.as_str())))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("push_return"), "{e}");
        let r = c.returns().unwrap().push_return(&ret("RET-1", &id, "3")).await.unwrap();
        assert!(r.vendor_id.as_deref().unwrap().starts_with("return_invoice:"), "{r:?}");
        assert_eq!(stock(), start_stock);
        s.shutdown().await;
    })
    .await;
}
