//! The catalogue, the locations and the price check through the connector against
//! the sandbox: every sample product is listed with its price and id and reads back
//! alike by id, the warehouses are listed as locations, and a sale priced other than
//! Asalta's catalogue is refused (nothing booked) or, where the back office's price
//! wins, booked with its differences on the receipt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use futures_util::TryStreamExt;
use posbridge_asalta::sandbox::asalta_item_ids;
use posbridge_core::{Connector, ConnectorConfig, Decimal, Error, Location, Operation, Product, Sale, StockLevel};
use posbridge_sandbox::{Catalogue, SandboxHandle};
use sandbox_common::{bounded, mint_token, start};
use serde_json::json;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Products resolved by listing (no `id_map.product`), so the price check knows them.
fn connector(s: &SandboxHandle, price_source: &str) -> Box<dyn Connector> {
    let config: posbridge_asalta::Config = serde_json::from_value(json!({
        "base_url": s.vendor_url("asalta"), "access_token": mint_token(s),
        "biller": "MAIN", "warehouse": "ADL", "walk_in_customer_id": 1, "price_source": price_source,
        "id_map": {"biller": {"MAIN": "35"}, "warehouse": {"ADL": "2"}},
        "http": {"retry": {"max_retries": 1, "min_delay_ms": 1, "max_delay_ms": 2, "jitter": false}}
    }))
    .unwrap();
    config.connect().unwrap()
}

fn tea_sale(unit_price: &str) -> Sale {
    serde_json::from_value(json!({
        "reference": "INV-T", "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": "TEA-100", "quantity": "2", "unit_price": unit_price}]
    }))
    .unwrap()
}

async fn tea_stock(c: &dyn Connector) -> Decimal {
    let levels: Vec<StockLevel> = c.stock().unwrap().stock_levels().try_collect().await.unwrap();
    levels
        .iter()
        .filter(|l| l.product_code == "TEA-100")
        .map(|l| l.quantity)
        .sum()
}

#[tokio::test]
async fn the_catalogue_and_the_warehouses_are_read_through_the_connector() {
    bounded(async {
        let s = start().await;
        let c = connector(&s, "pos");
        for op in [Operation::ListProducts, Operation::GetProduct, Operation::ListLocations] {
            assert!(c.capabilities().supports(op), "{op:?}");
        }
        assert!(!c.capabilities().supports(Operation::CreateProduct));
        let catalogue = c.catalogue().unwrap();
        let products: Vec<Product> = catalogue.products().try_collect().await.unwrap();
        let sample = Catalogue::sample();
        let ids = asalta_item_ids(&sample);
        assert_eq!(products.len(), sample.products.len());
        for p in &sample.products {
            let got = products.iter().find(|g| g.code == p.code).unwrap();
            assert_eq!(got.price, Some(p.price), "{}", p.code);
            assert_eq!(got.id.as_deref(), Some(ids[&p.code].to_string().as_str()));
            assert!(!got.extras.contains_key("inventory"), "{}", p.code);
        }
        let tea = products.iter().find(|p| p.code == "TEA-100").unwrap();
        assert_eq!(&catalogue.get_product(tea.id.as_deref().unwrap()).await.unwrap(), tea);
        let e = catalogue.get_product("999999").await.unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        let e = catalogue.create_product(tea).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e}");
        let locations: Vec<Location> = c.locations().unwrap().locations().try_collect().await.unwrap();
        let adl = locations.iter().find(|l| l.code == "ADL").unwrap();
        assert_eq!(adl.id.as_deref(), Some("2"));
        s.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_sale_priced_other_than_the_catalogue_is_refused_or_reported() {
    bounded(async {
        let s = start().await;
        let pos = connector(&s, "pos");
        let before = tea_stock(pos.as_ref()).await;
        let e = pos.sales().unwrap().push_sale(&tea_sale("440")).await.unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, reason } if field == "lines[0].unit_price"
                && reason.contains("440") && reason.contains("450")),
            "{e}"
        );
        assert_eq!(tea_stock(pos.as_ref()).await, before, "nothing was booked");
        let ok = pos.sales().unwrap().push_sale(&tea_sale("450")).await.unwrap();
        assert!(ok.differences.is_empty(), "{ok:?}");

        let back = connector(&s, "back_office");
        let receipt = back.sales().unwrap().push_sale(&tea_sale("440")).await.unwrap();
        let got: Vec<(&str, Decimal, Decimal)> = receipt
            .differences
            .iter()
            .map(|d| (d.field.as_str(), d.sent, d.booked))
            .collect();
        assert_eq!(
            got,
            [
                ("lines[0].unit_price", d("440"), d("450")),
                ("lines[0].total", d("880"), d("900")),
                ("total", d("880"), d("900")),
            ]
        );
        assert_eq!(tea_stock(back.as_ref()).await, before - d("4"));
        s.shutdown().await;
    })
    .await;
}
