//! How often the price check lists the items (`GET /pos/items`), counted on a mock
//! Asalta: once per client, whether the id resolver listed them to resolve a product
//! code or the first push listed them because `id_map` mapped every product; never
//! per push or per line, and again only after `refresh_ids`. (A fixture pushes once,
//! so it cannot show "once".)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use httpmock::prelude::*;
use posbridge_asalta::{Asalta, Config, PriceSource};
use posbridge_core::{ErrorKind, IdKind, InMemoryIdMap, Sale, Sales, SecretString};
use serde_json::json;

/// A client whose biller and warehouse are mapped, and whose products are mapped
/// when `mapped` (else resolved by listing the items).
fn client(server: &MockServer, mapped: bool, source: PriceSource) -> Asalta {
    let mut ids = InMemoryIdMap::new()
        .with(IdKind::Biller, "MAIN", "35")
        .with(IdKind::Warehouse, "ADL", "2");
    if mapped {
        ids = ids
            .with(IdKind::Product, "vitadine", "943")
            .with(IdKind::Product, "GLOVES", "50");
    }
    Asalta::new(
        Config::new()
            .with_base_url(server.base_url())
            .with_token(SecretString::from("acc-1"), None)
            .with_biller_and_warehouse("MAIN", "ADL")
            .with_walk_in_customer_id(1)
            .with_id_map(ids)
            .with_price_source(source)
            .with_http(posbridge_conformance::kit::secrets::fast_http()),
    )
    .unwrap()
}

/// The items, `vitadine` at `vitadine`, `GLOVES` at 99, `HAT` at 25 (the listing answering
/// after `delay`), and the invoices, each answered `1103`.
async fn mock<'a>(server: &'a MockServer, vitadine: &str, delay: Duration) -> (httpmock::Mock<'a>, httpmock::Mock<'a>) {
    let items = server
        .mock_async(|when, then| {
            when.method(GET).path("/pos/items").query_param("page", "1");
            then.status(200).delay(delay).json_body(json!({
                "data": [
                    {"id": "943", "code": "vitadine", "name": "Vitadine", "type": "standard", "price": vitadine},
                    {"id": "50", "code": "GLOVES", "name": "GLOVES", "type": "standard", "price": "99.0000"},
                    {"id": "46", "code": "HAT", "name": "HAT", "type": "standard", "price": "25.0000"}
                ],
                "_metadata": {"currentPage": 1, "nextPage": null, "pageSize": 3, "totalRecord": 3}}));
        })
        .await;
    let invoices = server
        .mock_async(|when, then| {
            when.method(POST).path("/pos/invoices");
            then.status(200)
                .json_body(json!({"message": "Success", "data": {"id": "1103"}, "error": false}));
        })
        .await;
    (items, invoices)
}

/// A sale of `code` at `price`.
fn sale(reference: &str, code: &str, price: &str) -> Sale {
    serde_json::from_value(json!({
        "reference": reference, "issued_at": "2026-11-26T10:15:00+08:00",
        "lines": [{"product_code": code, "quantity": "1", "unit_price": price}]
    }))
    .unwrap()
}

#[tokio::test]
async fn mapped_products_are_listed_once_for_every_push_of_a_client() {
    let server = MockServer::start_async().await;
    let (items, invoices) = mock(&server, "100.0000", Duration::ZERO).await;
    let asalta = client(&server, true, PriceSource::Pos);
    asalta.push_sale(&sale("INV-1", "vitadine", "100")).await.unwrap();
    asalta.push_sale(&sale("INV-2", "GLOVES", "99")).await.unwrap();
    // The second push is checked against the first listing: a price that differs is
    // refused, with no listing and nothing written.
    let e = asalta.push_sale(&sale("INV-3", "GLOVES", "98")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    assert!(e.to_string().contains("99.0000 in Asalta's catalogue"), "{e}");
    assert_eq!(items.calls_async().await, 1);
    assert_eq!(invoices.calls_async().await, 2);
    // A code id_map does not map (HAT) is resolved from that same listing, and its
    // line checked against it, still without a second listing.
    let id = asalta.id_map().lookup(IdKind::Product, "HAT").await.unwrap();
    assert_eq!(id.as_deref(), Some("46"));
    asalta.push_sale(&sale("INV-4", "HAT", "25")).await.unwrap();
    let e = asalta.push_sale(&sale("INV-5", "HAT", "24")).await.unwrap_err();
    assert!(e.to_string().contains("25.0000 in Asalta's catalogue"), "{e}");
    assert_eq!(items.calls_async().await, 1);
    assert_eq!(invoices.calls_async().await, 3);
}

#[tokio::test]
async fn the_resolvers_listing_is_the_price_checks_and_is_not_made_again() {
    let server = MockServer::start_async().await;
    let (items, invoices) = mock(&server, "105.0000", Duration::ZERO).await;
    let asalta = client(&server, false, PriceSource::BackOffice);
    let first = asalta.push_sale(&sale("INV-1", "vitadine", "100")).await.unwrap();
    let second = asalta.push_sale(&sale("INV-2", "vitadine", "100")).await.unwrap();
    for receipt in [&first, &second] {
        let fields: Vec<_> = receipt.differences.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["lines[0].unit_price", "lines[0].total", "total"]);
    }
    assert_eq!(items.calls_async().await, 1);
    assert_eq!(invoices.calls_async().await, 2);
}

#[tokio::test]
async fn concurrent_first_pushes_share_one_listing_and_refresh_ids_lists_again() {
    let server = MockServer::start_async().await;
    let (items, invoices) = mock(&server, "100.0000", Duration::from_millis(200)).await;
    let asalta = client(&server, true, PriceSource::Pos);
    let (first, second) = (sale("INV-1", "vitadine", "100"), sale("INV-2", "GLOVES", "99"));
    let (a, b) = tokio::join!(asalta.push_sale(&first), asalta.push_sale(&second));
    a.unwrap();
    b.unwrap();
    assert_eq!(items.calls_async().await, 1);
    assert_eq!(invoices.calls_async().await, 2);
    asalta.refresh_ids().await;
    asalta.push_sale(&sale("INV-3", "vitadine", "100")).await.unwrap();
    assert_eq!(items.calls_async().await, 2);
    assert_eq!(invoices.calls_async().await, 3);
}

#[tokio::test]
async fn a_mapped_item_the_listing_lacks_is_pushed_unchecked_without_listing_again() {
    let server = MockServer::start_async().await;
    let (items, invoices) = mock(&server, "100.0000", Duration::ZERO).await;
    let ids = InMemoryIdMap::new()
        .with(IdKind::Biller, "MAIN", "35")
        .with(IdKind::Warehouse, "ADL", "2")
        .with(IdKind::Product, "CAP", "47");
    let asalta = Asalta::new(
        Config::new()
            .with_base_url(server.base_url())
            .with_token(SecretString::from("acc-1"), None)
            .with_biller_and_warehouse("MAIN", "ADL")
            .with_walk_in_customer_id(1)
            .with_id_map(ids)
            .with_http(posbridge_conformance::kit::secrets::fast_http()),
    )
    .unwrap();
    for reference in ["INV-1", "INV-2"] {
        let receipt = asalta.push_sale(&sale(reference, "CAP", "12")).await.unwrap();
        assert!(receipt.differences.is_empty());
    }
    assert_eq!(items.calls_async().await, 1);
    assert_eq!(invoices.calls_async().await, 2);
}
