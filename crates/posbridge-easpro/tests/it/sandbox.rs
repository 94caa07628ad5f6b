//! The EAS Pro imitation (`src/sandbox.rs`) against a started sandbox, over loopback
//! HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use posbridge_core::{ConnectorConfig, Decimal, IdKind, InMemoryIdMap, Sale};
use posbridge_easpro::sandbox::{
    DEFAULT_PARTNER as EASPRO_DEFAULT_PARTNER, DEFAULT_USER_ID as EASPRO_DEFAULT_USER_ID, ImitationConfig,
    easpro_product_id, easpro_product_ids,
};
use posbridge_sandbox::{Catalogue, Fault, FaultRule, SandboxConfig};
use sandbox_common::other::{self, OTHER};
use sandbox_common::{
    CREATE, PAYMENT, assert_answer, bill, bounded, client, code, payment, post, post_as, start, start_with,
};
use serde_json::{Value, json};

/// A config with `settings` as EAS Pro's section.
fn with_settings(config: SandboxConfig, settings: &ImitationConfig) -> SandboxConfig {
    config.with_section("easpro", serde_json::to_value(settings).unwrap())
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn happy_path_stores_the_bill_and_lowers_stock() {
    bounded(async {
        let sandbox = start().await;
        let (status, answer) = post(&sandbox, CREATE, &bill("INV-1001")).await;
        assert_answer(status, &answer, "0", "success processed");

        let state = sandbox.state();
        assert_eq!(state.stock("TEA-100"), Some(dec("116")));
        assert_eq!(state.stock("MUG-1"), Some(dec("22")));
        let docs = &state.documents["easpro"];
        assert_eq!(docs.sales.len(), 1);
        assert_eq!(docs.sales["INV-1001"], bill("INV-1001")["data"], "stored as sent");
        assert!(docs.purchases.is_empty() && docs.payments.is_empty());
        assert!(state.documents[OTHER].sales.is_empty());

        let log = sandbox.requests();
        assert_eq!(log.len(), 1);
        let r = &log[0];
        assert_eq!(
            (r.vendor.as_str(), r.method.as_str(), r.path.as_str()),
            ("easpro", "POST", "/easpro/eas/api/external/transaction/create")
        );
        assert_eq!(
            (r.status, r.applied, r.reference.as_deref(), r.fault.as_deref()),
            (Some(200), true, Some("INV-1001"), None)
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_code_401_in_a_200() {
    bounded(async {
        let sandbox = start().await;
        let before = sandbox.state();
        let body = bill("INV-1").to_string();
        for headers in [
            vec![("partner", "wrong-partner"), ("user-id", EASPRO_DEFAULT_USER_ID)],
            vec![("partner", EASPRO_DEFAULT_PARTNER), ("user-id", "someone-else")],
            vec![("partner", EASPRO_DEFAULT_PARTNER)],
            vec![("user-id", EASPRO_DEFAULT_USER_ID)],
            vec![],
            // Header values are compared exactly.
            vec![("partner", "SANDBOX-PARTNER"), ("user-id", EASPRO_DEFAULT_USER_ID)],
        ] {
            for route in [CREATE, PAYMENT] {
                let (status, answer) = post_as(&sandbox, route, &headers, body.clone()).await;
                assert_answer(status, &answer, "401", "Invalid partner or user-id");
            }
        }
        // The headers are checked before the body is read.
        let (status, answer) = post_as(&sandbox, CREATE, &[("partner", "x")], "not json".into()).await;
        assert_answer(status, &answer, "401", "Invalid partner or user-id");
        assert_eq!(sandbox.state(), before);
        assert!(sandbox.requests().iter().all(|r| r.status == Some(200) && !r.applied));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_inv_product_id_is_product_not_found() {
    bounded(async {
        let sandbox = start().await;
        let mut body = bill("INV-1");
        body["data"]["products"][1]["invProductId"] = json!("68668492-e16b-4b5c-82e6-8e5d843ffbdc");
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        assert_answer(status, &answer, "1", "Product not found");
        // A POS product code is not an EAS Pro id.
        body["data"]["products"][1]["invProductId"] = json!("MUG-1");
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        assert_answer(status, &answer, "1", "Product not found");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("118")));
        assert!(sandbox.state().documents["easpro"].sales.is_empty());
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn sub_total_and_value_must_match() {
    bounded(async {
        let sandbox = start().await;
        // A cent off on a line (value adjusted so only the line is wrong).
        let mut body = bill("INV-1");
        body["data"]["products"][1]["subTotal"] = json!(1080.01);
        body["data"]["value"] = json!(2130.01);
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        let want = format!(
            "subTotal does not match for products[1] ({})",
            easpro_product_id("MUG-1")
        );
        assert_answer(status, &answer, "2", &want);

        // The discount is per line, not per unit: 1200 × 1 − 120, not (1200 − 120) × qty.
        let mut body = bill("INV-1");
        body["data"]["products"][1]["stockToCount"] = json!("2");
        body["data"]["products"][1]["subTotal"] = json!(2160.0);
        body["data"]["value"] = json!(3210.0);
        let (_, answer) = post(&sandbox, CREATE, &body).await;
        assert_eq!(code(&answer), "2", "{answer}");

        // A percent discount: 450 × 2 less 10 % = 810.
        let mut body = bill("INV-1");
        body["data"]["products"][0]["discount"] = json!("10");
        body["data"]["products"][0]["discountType"] = json!("percent");
        let (_, answer) = post(&sandbox, CREATE, &body).await;
        assert_eq!(code(&answer), "2", "{answer}");
        body["data"]["products"][0]["subTotal"] = json!(810.0);
        body["data"]["value"] = json!(2040.0);
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        assert_answer(status, &answer, "0", "success processed");

        // value is Σ subTotal + delivery: without the delivery, or a cent off, is refused.
        for value in [json!(1980.0), json!("2130.01"), json!(2129.99)] {
            let mut body = bill("INV-2");
            body["data"]["value"] = value;
            let (status, answer) = post(&sandbox, CREATE, &body).await;
            assert_answer(
                status,
                &answer,
                "3",
                "value does not match the sum of subTotal and delivery",
            );
        }
        let log = sandbox.requests();
        assert_eq!(
            log.iter().map(|r| r.applied).collect::<Vec<_>>(),
            [false, false, false, true, false, false, false]
        );
        assert_eq!(
            sandbox.state().documents["easpro"].sales.keys().collect::<Vec<_>>(),
            ["INV-1"]
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn numbers_may_be_json_numbers_or_strings() {
    bounded(async {
        let sandbox = start().await;
        let mut body = bill("INV-1");
        let data = &mut body["data"];
        data["value"] = json!("2130.00");
        data["delivery"] = json!("150");
        data["products"][0]["stockToCount"] = json!(2);
        data["products"][0]["priceSellPerUnit"] = json!(450);
        data["products"][0]["discount"] = json!(0);
        data["products"][1]["subTotal"] = json!("1080.00");
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        assert_answer(status, &answer, "0", "success processed");
        // Fractional quantities (goods sold by weight) move fractional stock.
        let mut body = bill("INV-2");
        body["data"]["products"][0]["stockToCount"] = json!("0.5");
        body["data"]["products"][0]["subTotal"] = json!(225.0);
        body["data"]["value"] = json!(1455.0);
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        assert_answer(status, &answer, "0", "success processed");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("115.5")));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_quotation_does_not_move_stock() {
    bounded(async {
        let sandbox = start().await;
        let mut body = bill("QT-1");
        body["data"]["billType"] = json!("QUOTATION");
        let (status, answer) = post(&sandbox, CREATE, &body).await;
        assert_answer(status, &answer, "0", "success processed");
        let state = sandbox.state();
        assert_eq!(state.stock("TEA-100"), Some(dec("118")));
        assert_eq!(state.stock("MUG-1"), Some(dec("23")));
        assert_eq!(state.documents["easpro"].sales["QT-1"]["billType"], "QUOTATION");
        assert!(sandbox.requests()[0].applied, "the bill was stored");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_repush_replaces_the_bill_and_moves_only_the_difference() {
    bounded(async {
        let sandbox = start().await;
        let (_, answer) = post(&sandbox, CREATE, &bill("INV-1001")).await;
        assert_eq!(code(&answer), "0");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("116")));

        // The same bill again: accepted, nothing changes, logged as not applied.
        let (_, answer) = post(&sandbox, CREATE, &bill("INV-1001")).await;
        assert_eq!(code(&answer), "0");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("116")));

        // Edited: 5 teas instead of 2, the mug dropped, paid.
        let mut edited = bill("INV-1001");
        let data = &mut edited["data"];
        data["products"][0]["stockToCount"] = json!("5");
        data["products"][0]["subTotal"] = json!(2250.0);
        data["products"].as_array_mut().unwrap().truncate(1);
        data["value"] = json!(2400.0);
        data["billStatus"] = json!("PAID");
        let (status, answer) = post(&sandbox, CREATE, &edited).await;
        assert_answer(status, &answer, "0", "success processed");
        let state = sandbox.state();
        assert_eq!(state.documents["easpro"].sales.len(), 1, "one bill, never a duplicate");
        assert_eq!(state.documents["easpro"].sales["INV-1001"], edited["data"]);
        assert_eq!(state.stock("TEA-100"), Some(dec("113")));
        assert_eq!(state.stock("MUG-1"), Some(dec("23")), "the mug is given back");

        // Becoming a quotation gives everything back; an invoice again takes it again.
        edited["data"]["billType"] = json!("QUOTATION");
        post(&sandbox, CREATE, &edited).await;
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("118")));
        edited["data"]["billType"] = json!("INVOICE");
        post(&sandbox, CREATE, &edited).await;
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("113")));
        // A refused edit leaves the current version alone.
        let mut broken = edited.clone();
        broken["data"]["value"] = json!(1.0);
        let (_, answer) = post(&sandbox, CREATE, &broken).await;
        assert_eq!(code(&answer), "3");
        assert_eq!(sandbox.state().documents["easpro"].sales["INV-1001"], edited["data"]);
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("113")));

        let log = sandbox.requests();
        assert_eq!(
            log.iter().map(|r| r.applied).collect::<Vec<_>>(),
            [true, false, true, true, true, false]
        );
        assert!(log.iter().all(|r| r.reference.as_deref() == Some("INV-1001")));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn payments_upsert_by_reference() {
    bounded(async {
        let sandbox = start().await;
        post(&sandbox, CREATE, &bill("INV-1001")).await;
        let (status, answer) = post(&sandbox, PAYMENT, &payment("PAY-1", "INV-1001", 1000.0)).await;
        assert_answer(status, &answer, "0", "success processed");
        let (_, answer) = post(&sandbox, PAYMENT, &payment("PAY-2", "INV-1001", 500.0)).await;
        assert_eq!(code(&answer), "0");
        // Reusing a reference updates that payment.
        let mut corrected = payment("PAY-1", "INV-1001", 1630.0);
        corrected["data"]["transactionMethod"] = json!("BANK_TRANSFER");
        let (_, answer) = post(&sandbox, PAYMENT, &corrected).await;
        assert_eq!(code(&answer), "0");
        // The same again changes nothing.
        let (_, answer) = post(&sandbox, PAYMENT, &corrected).await;
        assert_eq!(code(&answer), "0");

        let state = sandbox.state();
        let payments = &state.documents["easpro"].payments;
        assert_eq!(payments.len(), 2);
        assert_eq!(payments["PAY-1"], corrected["data"]);
        assert_eq!(payments["PAY-2"]["amount"], 500.0);
        assert_eq!(state.stock("TEA-100"), Some(dec("116")), "payments do not move stock");
        let log: Vec<_> = sandbox
            .requests()
            .into_iter()
            .map(|r| (r.reference, r.applied))
            .collect();
        assert_eq!(
            log,
            [
                (Some("INV-1001".into()), true),
                (Some("PAY-1".into()), true),
                (Some("PAY-2".into()), true),
                (Some("PAY-1".into()), true),
                (Some("PAY-1".into()), false),
            ]
        );

        // Amount as a string, each method.
        for (i, method) in ["BANK_TRANSFER", "CHEQUE", "CASH"].into_iter().enumerate() {
            let mut p = payment(&format!("PAY-M{i}"), "INV-1001", 1.0);
            p["data"]["amount"] = json!("1.00");
            p["data"]["transactionMethod"] = json!(method);
            let (_, answer) = post(&sandbox, PAYMENT, &p).await;
            assert_eq!(code(&answer), "0", "{method}: {answer}");
        }
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_payment_for_an_unknown_bill_is_refused() {
    bounded(async {
        let sandbox = start().await;
        let (status, answer) = post(&sandbox, PAYMENT, &payment("PAY-1", "INV-404", 10.0)).await;
        assert_answer(status, &answer, "4", "Bill reference not found");
        // A bill of the other vendor does not count.
        assert_eq!(other::book_sale(&sandbox, "INV-404").await, 201);
        let (_, answer) = post(&sandbox, PAYMENT, &payment("PAY-1", "INV-404", 10.0)).await;
        assert_eq!(code(&answer), "4");
        assert!(sandbox.state().documents["easpro"].payments.is_empty());
        let log = sandbox.requests();
        assert_eq!((log[0].reference.as_deref(), log[0].applied), (Some("PAY-1"), false));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_get_code_500_never_a_panic() {
    bounded(async {
        let sandbox = start().await;
        let headers = [("partner", EASPRO_DEFAULT_PARTNER), ("user-id", EASPRO_DEFAULT_USER_ID)];
        for (raw, want) in [
            ("{", "Request body must be JSON: {\"data\": {...}}"),
            ("[1]", "Request body must be JSON: {\"data\": {...}}"),
            ("", "Request body must be JSON: {\"data\": {...}}"),
            ("{}", "data is required"),
            (r#"{"data": [1]}"#, "data must be an object"),
            (r#"{"data": {}}"#, "billReferenceId is required"),
        ] {
            let (status, answer) = post_as(&sandbox, CREATE, &headers, raw.into()).await;
            assert_answer(status, &answer, "500", want);
        }

        type Edit = fn(&mut Value);
        let cases: &[(Edit, &str)] = &[
            (
                |d| d["billReferenceId"] = json!(" "),
                "billReferenceId must not be empty",
            ),
            (
                |d| d["billReferenceId"] = json!({"a": 1}),
                "billReferenceId must be a string",
            ),
            (
                |d| d["transactionDate"] = json!("2026-11-26T10:15:00"),
                "transactionDate format is invalid",
            ),
            (
                |d| d["transactionDate"] = json!("26/11/2026 10:15"),
                "transactionDate format is invalid",
            ),
            (
                |d| d["transactionDate"] = json!("2026-02-30T10:15"),
                "transactionDate format is invalid",
            ),
            (
                |d| d["transactionDate"] = json!(20261126),
                "transactionDate format is invalid",
            ),
            (|d| d["transactionDate"] = Value::Null, "transactionDate is required"),
            (
                |d| d["billType"] = json!("invoice"),
                "billType must be one of INVOICE, QUOTATION",
            ),
            (
                |d| d["billType"] = json!("ORDER"),
                "billType must be one of INVOICE, QUOTATION",
            ),
            (
                |d| d["billStatus"] = json!("PARTIAL"),
                "billStatus must be one of UNPAID, PAID",
            ),
            (|d| d["value"] = json!("lots"), "value must be a number"),
            (|d| d["value"] = json!("1e99999"), "value must be a number"),
            (|d| d["delivery"] = json!(-5), "delivery must not be negative"),
            (|d| d["partner"] = json!("Adam"), "partner must be an object"),
            (|d| d["partner"] = json!({"name": "Adam"}), "partner.type is required"),
            (
                |d| d["partner"] = json!({"type": "CUSTOMER", "email": "a@b.my"}),
                "partner.name is required",
            ),
            (|d| d["partner"]["name"] = json!(""), "partner.name must not be empty"),
            (|d| d["products"] = json!({"0": 1}), "products must be a list"),
            (|d| d["products"][1] = json!("MUG-1"), "products[1] must be an object"),
            (
                |d| d["products"][1]["invProductId"] = Value::Null,
                "products[1].invProductId is required",
            ),
            (
                |d| d["products"][0]["stockToCount"] = json!("0"),
                "products[0].stockToCount must be greater than 0",
            ),
            (
                |d| d["products"][0]["stockToCount"] = json!(-2),
                "products[0].stockToCount must be greater than 0",
            ),
            (
                |d| d["products"][0]["priceSellPerUnit"] = json!("-1"),
                "products[0].priceSellPerUnit must not be negative",
            ),
            (
                |d| d["products"][0]["discount"] = json!("-1"),
                "products[0].discount must not be negative",
            ),
            (
                |d| d["products"][0]["discountType"] = json!("amount"),
                "products[0].discountType must be one of flat, percent",
            ),
            (
                |d| {
                    d["products"][0]["discountType"] = json!("percent");
                    d["products"][0]["discount"] = json!("120");
                },
                "products[0].discount must be at most 100 for a percent discount",
            ),
            (
                |d| d["products"][0]["subTotal"] = Value::Null,
                "products[0].subTotal is required",
            ),
        ];
        for (edit, want) in cases {
            let mut body = bill("INV-1");
            edit(&mut body["data"]);
            let (status, answer) = post(&sandbox, CREATE, &body).await;
            assert_answer(status, &answer, "500", want);
        }

        post(&sandbox, CREATE, &bill("INV-1")).await;
        let payment_cases: &[(Edit, &str)] = &[
            (|d| d["amount"] = json!(0), "amount must be greater than 0"),
            (|d| d["amount"] = json!("ten"), "amount must be a number"),
            (
                |d| d["paymentDate"] = json!("2026-11-26"),
                "paymentDate format is invalid",
            ),
            (|d| d["reference"] = Value::Null, "reference is required"),
            (
                |d| d["billReferenceId"] = json!(""),
                "billReferenceId must not be empty",
            ),
            (
                |d| d["transactionMethod"] = json!("CARD"),
                "transactionMethod must be one of BANK_TRANSFER, CHEQUE, CASH",
            ),
        ];
        for (edit, want) in payment_cases {
            let mut body = payment("PAY-1", "INV-1", 10.0);
            edit(&mut body["data"]);
            let (status, answer) = post(&sandbox, PAYMENT, &body).await;
            assert_answer(status, &answer, "500", want);
        }

        // Still serving; only the one good bill applied.
        let log = sandbox.requests();
        assert_eq!(log.iter().filter(|r| r.applied).count(), 1);
        assert!(log.iter().all(|r| r.status == Some(200)));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_plain_http_errors() {
    bounded(async {
        let sandbox = start().await;
        let base = sandbox.vendor_url("easpro");
        let r = client()
            .post(format!("{base}eas/api/external/transaction/delete"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
        let r = client().get(format!("{base}{CREATE}")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 405);
        assert_eq!(sandbox.requests().len(), 2);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn drop_after_apply_on_create_applies_the_bill_but_the_client_sees_an_error() {
    bounded(async {
        let sandbox = start().await;
        let rule = FaultRule::new(Fault::DropAfterApply, 1.0)
            .for_vendor("easpro")
            .for_route(CREATE);
        assert_eq!(sandbox.validate_fault(&rule), Ok(()));
        assert_eq!(
            sandbox.validate_fault(
                &FaultRule::new(Fault::DropAfterApply, 1.0)
                    .for_vendor("easpro")
                    .for_route(format!("/{PAYMENT}/"))
            ),
            Ok(())
        );
        assert!(
            sandbox
                .validate_fault(
                    &FaultRule::new(Fault::DropAfterApply, 1.0)
                        .for_vendor("easpro")
                        .for_route("api/push-sale")
                )
                .is_err()
        );
        sandbox.set_faults(vec![rule]);

        let outcome = match client()
            .post(format!("{}{CREATE}", sandbox.vendor_url("easpro")))
            .header("partner", EASPRO_DEFAULT_PARTNER)
            .header("user-id", EASPRO_DEFAULT_USER_ID)
            .json(&bill("INV-1001"))
            .send()
            .await
        {
            Ok(response) => response.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        };
        assert!(outcome.is_err(), "the client must not get an answer");
        let state = sandbox.state();
        assert!(state.documents["easpro"].sales.contains_key("INV-1001"));
        assert_eq!(state.stock("TEA-100"), Some(dec("116")));

        // The rule is for the create route only: a payment goes through.
        let (_, answer) = post(&sandbox, PAYMENT, &payment("PAY-1", "INV-1001", 10.0)).await;
        assert_eq!(code(&answer), "0");

        // The client sends the bill again: accepted, and nothing is booked twice.
        sandbox.set_faults(vec![]);
        let (status, answer) = post(&sandbox, CREATE, &bill("INV-1001")).await;
        assert_answer(status, &answer, "0", "success processed");
        let state = sandbox.state();
        assert_eq!(state.documents["easpro"].sales.len(), 1);
        assert_eq!(state.stock("TEA-100"), Some(dec("116")));
        let log: Vec<_> = sandbox
            .requests()
            .into_iter()
            .map(|r| (r.status, r.fault, r.applied))
            .collect();
        assert_eq!(
            log,
            [
                (None, Some("drop_after_apply".into()), true),
                (Some(200), None, true),
                (Some(200), None, false),
            ]
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_connector_works_against_the_default_sandbox() {
    bounded(async {
        let sandbox = start().await;
        let mut ids = InMemoryIdMap::new();
        for (code, id) in easpro_product_ids(&Catalogue::sample()) {
            ids.insert(IdKind::Product, code, id);
        }
        let config: posbridge_easpro::Config = serde_json::from_value(json!({
            "partner": EASPRO_DEFAULT_PARTNER,
            "user_id": EASPRO_DEFAULT_USER_ID,
            "base_url": sandbox.vendor_url("easpro"),
            "http": {"timeout_ms": 5000, "retry": {"max_retries": 0}}
        }))
        .unwrap();
        let connector = config.with_id_map(ids).connect().unwrap();
        let sale: Sale = serde_json::from_value(json!({
            "reference": "INV-7", "issued_at": "2026-11-26T10:15:00+08:00",
            "customer": {"name": "Siti Aminah"},
            "lines": [
                {"product_code": "TEA-100", "quantity": "2", "unit_price": "450.00", "discount": {"percent": "10"}},
                {"product_code": "TEA-400", "quantity": "1", "unit_price": "1650.00"}
            ],
            "shipping": "100",
            "payments": [{"amount": "1000.00", "method": "card"}, {"amount": "1560.00", "method": "cash"}]
        }))
        .unwrap();
        let receipt = connector.sales().unwrap().push_sale(&sale).await.unwrap();
        assert_eq!(receipt.reference, "INV-7");

        let state = sandbox.state();
        let docs = &state.documents["easpro"];
        assert_eq!(docs.sales["INV-7"]["billStatus"], "PAID");
        assert_eq!(docs.sales["INV-7"]["value"], 2560.0);
        assert_eq!(docs.payments.keys().collect::<Vec<_>>(), ["INV-7-P1", "INV-7-P2"]);
        assert_eq!(docs.payments["INV-7-P1"]["transactionMethod"], "BANK_TRANSFER");
        assert_eq!(state.stock("TEA-100"), Some(dec("116")));
        let log = sandbox.requests();
        assert_eq!(log.len(), 3);
        assert!(log.iter().all(|r| r.applied && r.status == Some(200)));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn configured_credentials_and_product_ids() {
    bounded(async {
        let catalogue = Catalogue::sample();
        let mut easpro = ImitationConfig::for_catalogue(&catalogue);
        easpro.partner = "pk-1".into();
        easpro.user_id = "u-1".into();
        // TEA-100 under the merchant's own id only; an entry for a product the
        // catalogue lacks is ignored.
        easpro.products.retain(|_, code| code.as_str() != "TEA-100");
        easpro.products.insert("tea-uuid".into(), "TEA-100".into());
        easpro.products.insert("ghost-uuid".into(), "NOT-IN-CATALOGUE".into());
        let sandbox = start_with(with_settings(SandboxConfig::default(), &easpro)).await;
        let mut body = bill("INV-1");
        let creds = [("partner", "pk-1"), ("user-id", "u-1")];
        let (_, answer) = post_as(&sandbox, CREATE, &creds, body.to_string()).await;
        assert_eq!(code(&answer), "1", "the derived TEA-100 id is replaced: {answer}");
        body["data"]["products"][0]["invProductId"] = json!("tea-uuid");
        let (_, answer) = post_as(&sandbox, CREATE, &creds, body.to_string()).await;
        assert_eq!(code(&answer), "0", "{answer}");
        body["data"]["products"][0]["invProductId"] = json!("ghost-uuid");
        let (_, answer) = post_as(&sandbox, CREATE, &creds, body.to_string()).await;
        assert_eq!(code(&answer), "1", "{answer}");
        let (_, answer) = post(&sandbox, CREATE, &bill("INV-2")).await;
        assert_eq!(code(&answer), "401", "the default credentials are replaced");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("116")));
        sandbox.shutdown().await;

        // A custom catalogue: its products get their derived ids even under the
        // default settings (which were made for the sample).
        let mut custom = Catalogue::sample();
        custom.products.retain(|p| p.code == "MUG-1");
        custom.products.push(posbridge_sandbox::Product {
            code: "DURIAN-1".into(),
            name: "Durian".into(),
            price: dec("45.00"),
            stock: dec("3"),
        });
        let sandbox = start_with(SandboxConfig {
            catalogue: custom.clone(),
            ..SandboxConfig::default()
        })
        .await;
        let mut body = bill("INV-3");
        let data = &mut body["data"];
        data["products"][0] = json!({"invProductId": easpro_product_ids(&custom)["DURIAN-1"], "priceSellPerUnit": "45", "stockToCount": "2", "subTotal": 90});
        data["value"] = json!(1320.0);
        let (_, answer) = post(&sandbox, CREATE, &body).await;
        assert_eq!(code(&answer), "0", "{answer}");
        assert_eq!(sandbox.state().stock("DURIAN-1"), Some(dec("1")));
        sandbox.shutdown().await;

        // Unusable settings do not start.
        for broken in [
            json!({"partner": ""}),
            json!({"user_id": "a\nb"}),
            json!({"products": {"": "MUG-1"}}),
        ] {
            let easpro: ImitationConfig = serde_json::from_value(broken.clone()).unwrap();
            let err = posbridge_sandbox::Sandbox::start(
                with_settings(SandboxConfig::default(), &easpro),
                vec![posbridge_easpro::sandbox::imitation()],
            )
            .await
            .unwrap_err();
            assert!(
                matches!(err, posbridge_sandbox::SandboxError::InvalidConfig(_)),
                "{broken}: {err}"
            );
        }
    })
    .await;
}

/// EAS Pro's settings as the sandbox reads them from its section (the defaults
/// without one).
fn settings_of(config: &SandboxConfig) -> ImitationConfig {
    config
        .vendors
        .get("easpro")
        .map_or_else(ImitationConfig::default, |s| serde_json::from_value(s.clone()).unwrap())
}

#[tokio::test]
async fn config_defaults() {
    let config = settings_of(&SandboxConfig::default());
    assert_eq!(config, ImitationConfig::default());
    assert_eq!(
        (config.partner.as_str(), config.user_id.as_str()),
        ("sandbox-partner", "sandbox-user")
    );
    let ids = easpro_product_ids(&Catalogue::sample());
    assert_eq!(ids.len(), Catalogue::sample().products.len());
    assert_eq!(config.products.len(), ids.len());
    for (code, id) in &ids {
        assert_eq!(config.products[id], *code);
    }
    let parsed = settings_of(&serde_json::from_value(json!({"easpro": {"partner": "p"}})).unwrap());
    assert_eq!(
        (parsed.partner.as_str(), parsed.user_id.as_str()),
        ("p", "sandbox-user")
    );
    assert_eq!(parsed.products, config.products);
    assert!(serde_json::from_value::<ImitationConfig>(json!({"token": "x"})).is_err());
    let unknown: SandboxConfig = serde_json::from_value(json!({"easpro": {"token": "x"}})).unwrap();
    let err = posbridge_sandbox::Sandbox::start(unknown, vec![posbridge_easpro::sandbox::imitation()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown field `token`"), "{err}");
    // What a connector pointed at the sandbox is given: the credentials and every
    // catalogue product's id.
    let sandbox = start().await;
    let section = sandbox.connector_section("easpro").unwrap();
    assert_eq!(
        (&section["partner"], &section["user_id"], &section["base_url"]),
        (
            &json!("sandbox-partner"),
            &json!("sandbox-user"),
            &json!(sandbox.vendor_url("easpro"))
        )
    );
    assert_eq!(section["id_map"]["product"], json!(ids));
    sandbox.shutdown().await;
    // JSON written before payments existed still reads.
    let docs: posbridge_sandbox::VendorDocuments =
        serde_json::from_value(json!({"sales": {}, "purchases": {}})).unwrap();
    assert!(docs.payments.is_empty());
}
