//! The OAuth2 code flow against a mock `/auth/token`, and the typed vendor methods
//! (reports, payments with the local paid-amount check, gift cards, filtered lists).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_util::TryStreamExt;
use httpmock::prelude::*;
use jiff::civil::date;
use posbridge_asalta::{Asalta, Config, CsrfState, DateRange, Month, NewPayment, PromotionKind};
use posbridge_core::{Connector, Error, ErrorKind, ExposeSecret, HttpConfig, RetryConfig, SecretString};
use serde_json::json;

fn fast() -> HttpConfig {
    HttpConfig {
        retry: RetryConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            ..RetryConfig::default()
        },
        ..HttpConfig::default()
    }
}

fn oauth_config(base_url: &str) -> Config {
    Config::new()
        .with_base_url(base_url)
        .with_client(
            "pos-app",
            SecretString::from("cl-secret"),
            "http://127.0.0.1:8765/callback",
        )
        .with_http(fast())
}

fn token_config(base_url: &str) -> Config {
    Config::new()
        .with_base_url(base_url)
        .with_token(SecretString::from("acc-1"), None)
        .with_http(fast())
}

#[test]
fn the_authorize_url_carries_client_redirect_and_state() {
    let asalta = Asalta::new(oauth_config("https://api.asalta.com/")).unwrap();
    let (url, state) = asalta.auth().authorize_url().unwrap();
    assert_eq!(url.path(), "/auth");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "pos-app");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["redirect_uri"], "http://127.0.0.1:8765/callback");
    assert_eq!(q["state"], state.secret());
    assert!(!url.as_str().contains("cl-secret"));
}

#[tokio::test]
async fn the_code_is_exchanged_stored_0600_and_used() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/auth/token")
                .body_includes("grant_type=authorization_code")
                .body_includes("code=Xk2q")
                .body_includes("client_id=pos-app")
                .body_includes("client_secret=cl-secret")
                .body_includes("redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback")
                // As every Asalta call: the document asks for it and lists 406 otherwise.
                .header("accept", "application/json");
            // No token_type, expires_in as a string: Asalta's document shows only access_token.
            then.status(200)
                .json_body(json!({"access_token": "acc-xyz", "refresh_token": "ref-xyz", "expires_in": "3600"}));
        })
        .await;
    let categories = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/pos/categories")
                .query_param("page", "1")
                .header("authorization", "Bearer acc-xyz")
                .header("accept", "application/json");
            then.status(200).json_body(json!({
                "data": [{"id": "1", "category_code": "C-1", "category_name": "Category1", "image": null}],
                "_links": {"self": {"href": "https://api.asalta.com/pos/categories?access_token=XXXXXX&page=1"}},
                "_meta": {"totalCount": 1, "pageCount": 1, "currentPage": 1, "perPage": 20}
            }));
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("asalta-token.json");
    let asalta = Asalta::new(oauth_config(&server.base_url()).with_token_file(&file)).unwrap();
    let (_, state) = asalta.auth().authorize_url().unwrap();
    let redirect = format!("http://127.0.0.1:8765/callback?code=Xk2q&state={}", state.secret());
    let stored = asalta.auth().exchange_redirect(&redirect, &state).await.unwrap();
    assert_eq!(stored.access_token.expose_secret(), "acc-xyz");
    assert!(stored.expires_at.is_some());
    token.assert_async().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let back = asalta.auth().store().load().unwrap().unwrap();
    assert_eq!(back.refresh_token.unwrap().expose_secret(), "ref-xyz");

    let list: Vec<_> = asalta.categories().try_collect().await.unwrap();
    assert_eq!(list[0].category_code.as_deref(), Some("C-1"));
    categories.assert_async().await;
}

#[tokio::test]
async fn an_expired_code_is_a_clear_auth_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/token").body_includes("code=old");
            then.status(400)
                .json_body(json!({"error": "invalid_grant", "error_description": "Authorization code has expired"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/token").body_includes("code=older");
            then.status(400)
                .json_body(json!({"message": "The authorization code has expired"}));
        })
        .await;
    let asalta = Asalta::new(oauth_config(&server.base_url())).unwrap();
    let state = CsrfState::new("s-1");
    for code in ["old", "older"] {
        let e = asalta.auth().exchange_code(code, "s-1", &state).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        let text = e.to_string();
        assert!(text.contains("expired") && text.contains("30 seconds"), "{text}");
        assert!(text.contains("posbridge auth asalta"), "{text}");
    }
    assert!(asalta.auth().store().load().unwrap().is_none());
}

#[tokio::test]
async fn a_state_that_does_not_match_sends_nothing() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/auth/token");
            then.status(200).json_body(json!({"access_token": "acc"}));
        })
        .await;
    let asalta = Asalta::new(oauth_config(&server.base_url())).unwrap();
    let e = asalta
        .auth()
        .exchange_code("Xk2q", "forged", &CsrfState::new("s-1"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Auth { .. }) && e.to_string().contains("CSRF"), "{e}");
    token.assert_calls_async(0).await;
}

#[tokio::test]
async fn without_a_token_calls_say_to_run_the_auth_command() {
    let asalta = Asalta::new(oauth_config("http://127.0.0.1:1/")).unwrap();
    let e = asalta.check_credentials().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.to_string().contains("posbridge auth asalta"), "{e}");
}

#[tokio::test]
async fn reports_are_typed_requests_and_responses() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/report/sales")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body_includes("startdate=2016-03-01")
                .body_includes("enddate=2016-04-30");
            then.status(200).json_body(json!([
                {"sale_date": "2016-04-02 18:36:34", "reference_no": "SALE/POS/2016/04/0076", "grand_total": "1400.00",
                 "paid": "1400.00", "payment_details": [{"payment_type": "cash", "paid_amonut": "1400.00"}]},
                {"sale_date": "2016-03-24 09:30:00", "reference_no": "5555", "grand_total": 3531, "due_date": null}
            ]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/report/claims")
                .body_includes("month=3")
                .body_includes("year=2016");
            then.status(200)
                .json_body(json!({"Phone": {"total_expense": "200.00"}, "Travelling": {"total_expense": "2000.50"}}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/report/payroll");
            then.status(200)
                .json_body(json!({"payslip_date": "2015-07-01", "basic_salary": "49520.00", "net_pay": "48508.50"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/report/rosterschedule");
            then.status(200).json_body(json!([{"branch": "Branch 3", "employees": [
                {"name": "George Smith", "shift": "Shift 6", "working_date": "2016-06-05", "totaltime": "04.30"}]}]));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/report/invoices");
            then.status(200).json_body(json!({"data": [{"invoice_no": "ASALTA2016001TECHNOLOGY", "total_amount": "23232.00",
                "payment_details": [{"payment_type": "Cheque", "paid_amount": "10.00", "paymentdue": "Partial Amount Paid"}]}]}));
        })
        .await;
    let asalta = Asalta::new(token_config(&server.base_url())).unwrap();
    let range = DateRange {
        start: date(2016, 3, 1),
        end: date(2016, 4, 30),
    };
    let rows = asalta.sales_report(range).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].payment_details[0].paid_amount, Some("1400".parse().unwrap()));
    assert_eq!(rows[1].grand_total, Some("3531".parse().unwrap()));
    let claims = asalta.claims_report(Month { year: 2016, month: 3 }).await.unwrap();
    assert_eq!(claims.len(), 2);
    assert!(
        claims
            .iter()
            .any(|c| c.claim_type == "Travelling" && c.total_expense == "2000.5".parse().unwrap())
    );
    let payroll = asalta.payroll_report(Month { year: 2015, month: 7 }).await.unwrap();
    assert_eq!(payroll[0].net_pay, Some("48508.50".parse().unwrap()));
    let roster = asalta.roster_schedule(range).await.unwrap();
    assert_eq!(roster[0].employees[0].name.as_deref(), Some("George Smith"));
    let crm = asalta.crm_invoices_report(range).await.unwrap();
    assert_eq!(crm[0].payment_details[0].paid_amount, Some("10".parse().unwrap()));
    let bad = asalta
        .sales_report(DateRange {
            start: date(2016, 5, 1),
            end: date(2016, 4, 1),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Invalid);
    assert!(asalta.claims_report(Month { year: 2016, month: 13 }).await.is_err());
}

#[tokio::test]
async fn a_payment_above_what_is_due_is_refused_before_it_is_sent() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/pos/invoices").query_param("id", "1182");
            then.status(200).json_body(
                json!({"id": "1182", "grand_total": "100.0000", "paid": "90.8000", "items": [], "payments": []}),
            );
        })
        .await;
    let post = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/pos/payments")
                .json_body(json!({"sale_id": 1182, "amount": 9.20, "date": "2026-11-26 10:15:00", "paid_by": "cash", "type": "sale"}));
            then.status(200).json_body(json!({"message": "Success", "data": {"payment_id": 1043, "reference_no": "IPAY/2017/11/0921", "paid_amount": "9.2", "paid_by": "cash"}, "error": false}));
        })
        .await;
    let asalta = Asalta::new(token_config(&server.base_url())).unwrap();
    let too_much = NewPayment::new(1182, "9.21".parse().unwrap(), "cash", "2026-11-26 10:15:00");
    let e = asalta.create_payment(&too_much).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid);
    assert!(e.to_string().contains("less than or equal"), "{e}");
    post.assert_calls_async(0).await;
    let ok = NewPayment::new(1182, "9.20".parse().unwrap(), "cash", "2026-11-26 10:15:00");
    let receipt = asalta.create_payment(&ok).await.unwrap();
    assert_eq!(receipt.payment_id, "1043");
    post.assert_async().await;
}

#[tokio::test]
async fn vendor_side_paid_amount_refusal_keeps_its_code() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/pos/invoices");
            then.status(200)
                .json_body(json!({"id": "1", "grand_total": "100", "paid": "0"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/pos/payments");
            then.status(400).json_body(
                json!({"message": "Your paid amount must be less than or equal to sales amount.", "error": true}),
            );
        })
        .await;
    let asalta = Asalta::new(token_config(&server.base_url())).unwrap();
    let e = asalta
        .create_payment(&NewPayment::new(
            1,
            "50".parse().unwrap(),
            "cash",
            "2026-11-26 10:15:00",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.vendor_code(), Some("paid_amount_exceeds_sale"), "{e}");
}

#[tokio::test]
async fn filtered_lists_gift_cards_and_promotions() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/pos/subcategories")
                .query_param("parent_category_id", "105")
                .query_param("page", "1");
            then.status(200).json_body(
                json!({"data": [{"id": "106", "sub_category_code": "SC1", "parent_category_id": "105"}],
                "_meta": {"totalCount": 1, "pageCount": 1, "currentPage": 1, "perPage": 20}}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/pos/promotions")
                .query_param("warehouse_id", "2");
            then.status(200).json_body(
                json!({"data": [{"id": "10", "type": "By Product", "minimum_spent": "0.0000"},
                                                        {"id": "11", "type": "Coupon"}],
                "_metadata": {"currentPage": 1, "nextPage": null, "pageSize": 20, "totalRecord": 2}}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/pos/giftcards").query_param("card_no", "4170047658701689");
            then.status(200).json_body(json!({"message": "Success", "data": {"id": "1233", "reference_no": "SALE/POS/2018/01/0129",
                "items": [{"product_code": "4170047658701689", "gift_card": {"card_no": "4170047658701689", "value": "1100.0000", "balance": "1100.0000"}}]},
                "error": false}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/pos/taxlineitems")
                .query_param("tax_rate_id", "2")
                .query_param("id", "1");
            then.status(200)
                .json_body(json!({"id": "1", "name": "SGST", "rate": "10.0000"}));
        })
        .await;
    let asalta = Asalta::new(token_config(&server.base_url())).unwrap();
    let subs: Vec<_> = asalta.subcategories_of(105).try_collect().await.unwrap();
    assert_eq!(subs[0].parent_category_id.as_deref(), Some("105"));
    let promos: Vec<_> = asalta.promotions(2).try_collect().await.unwrap();
    assert_eq!(promos[0].kind(), Some(PromotionKind::Items));
    assert_eq!(promos[1].kind(), Some(PromotionKind::Coupon));
    let card = asalta.gift_card("4170047658701689").await.unwrap();
    let gc = card.items[0].gift_card.as_ref().unwrap();
    assert_eq!(gc.balance, Some("1100".parse().unwrap()));
    assert_eq!(asalta.tax_line_item(2, 1).await.unwrap().name.as_deref(), Some("SGST"));
    assert_eq!(asalta.gift_card("12ab").await.unwrap_err().kind(), ErrorKind::Invalid);
}
