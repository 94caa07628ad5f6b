//! The Codemax imitation (`src/sandbox.rs`) against a started sandbox, over loopback HTTP: the token
//! lifecycle (login, expiry, refresh with rotation) and the sync's rules (at most 20
//! invoices, each judged on its own, duplicates, voids, stock).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::sandbox_common;

use std::time::Duration;

use posbridge_codemax::sandbox::{
    DEFAULT_PASSWORD as CODEMAX_DEFAULT_PASSWORD, DEFAULT_USERNAME as CODEMAX_DEFAULT_USERNAME,
    ImitationConfig as CodemaxConfig,
};
use posbridge_core::Decimal;
use posbridge_sandbox::{Fault, FaultRule, Sandbox, SandboxConfig, SandboxError, SandboxHandle};
use sandbox_common::{LOGIN, REFRESH, SYNC, invoice, login, post, results, sync, tokens};
use sandbox_common::{bounded, client, start, start_with};
use serde_json::{Value, json};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn expired() -> Value {
    json!({"code": "11", "message": "Access token expired"})
}

fn refresh_refused() -> Value {
    json!({"code": "12", "message": "Refresh token expired"})
}

fn short_lived(secs: u64) -> SandboxConfig {
    SandboxConfig::default().with_section(
        "codemax",
        serde_json::to_value(CodemaxConfig {
            token_lifetime_secs: secs,
            ..CodemaxConfig::default()
        })
        .unwrap(),
    )
}

async fn refresh(sandbox: &SandboxHandle, access: &str, refresh: &str) -> (u16, Value) {
    post(
        sandbox,
        REFRESH,
        None,
        &json!({"access_token": access, "refresh_token": refresh}),
    )
    .await
}

fn one(number: &str) -> Vec<Value> {
    vec![invoice(number, false, &[("TEA-100", json!(1))])]
}

#[tokio::test]
async fn login_issues_a_fresh_pair_and_refuses_a_wrong_password() {
    bounded(async {
        let sandbox = start().await;
        let body = json!({"username": CODEMAX_DEFAULT_USERNAME, "password": CODEMAX_DEFAULT_PASSWORD});
        let (status, first) = post(&sandbox, LOGIN, None, &body).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(
            (&first["code"], &first["message"], &first["expires_in"]),
            (&json!("00"), &json!("Login successful"), &json!(900))
        );
        let (access, refresh_token) = tokens(&first);
        assert!(access.len() > 16 && refresh_token.len() > 16 && access != refresh_token);
        let (_, second) = post(&sandbox, LOGIN, None, &body).await;
        let (access2, refresh2) = tokens(&second);
        assert!(access2 != access && refresh2 != refresh_token, "a fresh pair per login");
        // Both sessions work.
        for token in [&access, &access2] {
            let (status, answer) = sync(&sandbox, token, one(&format!("S-{token}"))).await;
            assert_eq!((status, &answer["code"]), (200, &json!("00")), "{answer}");
        }

        let refused = json!({"code": "10", "message": "Invalid username or password"});
        for wrong in [
            json!({"username": CODEMAX_DEFAULT_USERNAME, "password": "nope"}),
            json!({"username": "someone", "password": CODEMAX_DEFAULT_PASSWORD}),
        ] {
            assert_eq!(post(&sandbox, LOGIN, None, &wrong).await, (401, refused.clone()));
        }
        for (malformed, message) in [
            (
                json!({"username": CODEMAX_DEFAULT_USERNAME}),
                "Malformed request: password is required",
            ),
            (json!([1]), "Malformed request: the body must be a JSON object"),
        ] {
            let (status, answer) = post(&sandbox, LOGIN, None, &malformed).await;
            assert_eq!(
                (status, &answer["code"], &answer["message"]),
                (400, &json!("21"), &json!(message))
            );
        }
        // Logins are logged, never applied.
        assert!(
            sandbox
                .requests()
                .iter()
                .filter(|r| r.path.ends_with(LOGIN))
                .all(|r| !r.applied)
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_sync_with_a_valid_token_deducts_stock_per_item() {
    bounded(async {
        let sandbox = start().await;
        let (access, _) = login(&sandbox).await;
        let invoices = vec![
            invoice(
                "INV-1",
                false,
                &[("TEA-100", json!(2)), ("MUG-1", json!("1")), ("TEA-100", json!(0.5))],
            ),
            invoice("INV-2", false, &[("SUGAR-1KG", json!("1.25"))]),
        ];
        let (status, answer) = sync(&sandbox, &access, invoices.clone()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer,
            json!({"code": "00", "message": "Invoices synced", "results": [
                {"invoice_no": "INV-1", "status": "success", "code": "00", "message": "Synced"},
                {"invoice_no": "INV-2", "status": "success", "code": "00", "message": "Synced"}
            ]})
        );
        let state = sandbox.state();
        assert_eq!(state.stock("TEA-100"), Some(dec("115.5")));
        assert_eq!(state.stock("MUG-1"), Some(dec("22")));
        assert_eq!(state.stock("SUGAR-1KG"), Some(dec("11.25")));
        let docs = &state.documents["codemax"];
        assert_eq!(docs.sales.len(), 2);
        assert_eq!(docs.sales["INV-1"], invoices[0], "stored as sent");
        assert_eq!(docs.sales["INV-2"], invoices[1]);

        let log = sandbox.requests();
        let r = log.last().unwrap();
        assert_eq!(
            (
                r.vendor.as_str(),
                r.path.as_str(),
                r.status,
                r.applied,
                r.reference.as_deref()
            ),
            ("codemax", "/codemax/api/v1/sync", Some(200), true, Some("INV-1"))
        );
        assert_eq!(r.applied_references, ["INV-1", "INV-2"]);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_expired_missing_or_unknown_access_token_is_refused_with_code_11() {
    bounded(async {
        let sandbox = start_with(short_lived(1)).await;
        let (status, answer) = post(
            &sandbox,
            LOGIN,
            None,
            &json!({"username": CODEMAX_DEFAULT_USERNAME, "password": CODEMAX_DEFAULT_PASSWORD}),
        )
        .await;
        assert_eq!((status, &answer["expires_in"]), (200, &json!(1)));
        let (access, refresh_token) = tokens(&answer);
        assert_eq!(sync(&sandbox, &access, one("INV-1")).await.0, 200);

        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let before = sandbox.state();
        assert_eq!(sync(&sandbox, &access, one("INV-2")).await, (401, expired()));
        assert_eq!(sync(&sandbox, "acc-0-forged", one("INV-2")).await, (401, expired()));
        let (status, answer) = post(&sandbox, SYNC, None, &json!({"invoices": one("INV-2")})).await;
        assert_eq!((status, answer), (401, expired()));
        let basic = client()
            .post(format!("{}{SYNC}", sandbox.vendor_url("codemax")))
            .basic_auth(CODEMAX_DEFAULT_USERNAME, Some(CODEMAX_DEFAULT_PASSWORD))
            .json(&json!({"invoices": one("INV-2")}))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status().as_u16(), 401);
        // The token is checked before the body: a malformed body with a bad token is 11.
        assert_eq!(
            post(&sandbox, SYNC, Some(&access), &json!({"nope": 1})).await,
            (401, expired())
        );
        assert_eq!(sandbox.state(), before, "nothing applied");

        // The expired access token still refreshes, with its refresh token.
        let (status, answer) = refresh(&sandbox, &access, &refresh_token).await;
        assert_eq!((status, &answer["message"]), (200, &json!("Token refreshed")));
        let (fresh, _) = tokens(&answer);
        assert_eq!(sync(&sandbox, &fresh, one("INV-2")).await.0, 200);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_refuses_old_or_mismatched_tokens() {
    bounded(async {
        let sandbox = start().await;
        let (a1, r1) = login(&sandbox).await;
        let (a2, r2) = login(&sandbox).await;

        // A mismatched pair (two sessions' tokens) is refused, and revokes nothing.
        assert_eq!(refresh(&sandbox, &a1, &r2).await, (401, refresh_refused()));
        assert_eq!(refresh(&sandbox, &a2, &r1).await, (401, refresh_refused()));
        assert_eq!(refresh(&sandbox, &r1, &a1).await, (401, refresh_refused()));
        assert_eq!(sync(&sandbox, &a1, one("INV-1")).await.0, 200);

        let (status, answer) = refresh(&sandbox, &a1, &r1).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!((&answer["code"], &answer["expires_in"]), (&json!("00"), &json!(900)));
        let (a3, r3) = tokens(&answer);
        assert!(a3 != a1 && r3 != r1 && a3 != a2);
        // Rotation: the old refresh token works once, the old access token is revoked.
        assert_eq!(refresh(&sandbox, &a1, &r1).await, (401, refresh_refused()));
        assert_eq!(refresh(&sandbox, &a3, &r1).await, (401, refresh_refused()));
        assert_eq!(sync(&sandbox, &a1, one("INV-2")).await, (401, expired()));
        assert_eq!(sync(&sandbox, &a3, one("INV-2")).await.0, 200);
        // The other session is untouched, and the new pair rotates again.
        assert_eq!(sync(&sandbox, &a2, one("INV-3")).await.0, 200);
        let (status, answer) = refresh(&sandbox, &a3, &r3).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            post(&sandbox, REFRESH, None, &json!({"refresh_token": r3})).await.1["code"],
            "21"
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn more_than_twenty_invoices_are_refused_whole_with_code_20() {
    bounded(async {
        let sandbox = start().await;
        let (access, _) = login(&sandbox).await;
        let before = sandbox.state();
        let twenty_one: Vec<Value> = (1..=21).flat_map(|n| one(&format!("INV-{n}"))).collect();
        let (status, answer) = sync(&sandbox, &access, twenty_one.clone()).await;
        assert_eq!(
            (status, answer),
            (400, json!({"code": "20", "message": "Maximum 20 invoices per request"}))
        );
        assert_eq!(sandbox.state(), before, "nothing applied");
        let r = sandbox.requests().pop().unwrap();
        assert_eq!((r.status, r.applied, r.applied_references.len()), (Some(400), false, 0));

        // Twenty are fine.
        let (status, answer) = sync(&sandbox, &access, twenty_one[..20].to_vec()).await;
        assert_eq!((status, &answer["code"]), (200, &json!("00")));
        assert_eq!(results(&answer).len(), 20);
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("98")));

        for (body, message) in [
            (json!({}), "Malformed request: invoices is required"),
            (json!({"invoices": []}), "Malformed request: invoices must not be empty"),
            (
                json!({"invoices": "INV-1"}),
                "Malformed request: invoices must be a list",
            ),
            (
                json!({"invoices": [invoice("INV-99", false, &[("TEA-100", json!(1))]), {"items": []}]}),
                "Malformed request: invoices[1].invoice_no is required",
            ),
        ] {
            let (status, answer) = post(&sandbox, SYNC, Some(&access), &body).await;
            assert_eq!((status, answer), (400, json!({"code": "21", "message": message})));
        }
        assert!(!sandbox.state().documents["codemax"].sales.contains_key("INV-99"));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn each_invoice_is_judged_on_its_own() {
    bounded(async {
        let sandbox = start().await;
        let (access, _) = login(&sandbox).await;
        let mut other_branch = invoice("INV-3", false, &[("MUG-1", json!(1))]);
        other_branch["branch_code"] = json!("PG02");
        let no_items = invoice("INV-4", false, &[]);
        let invoices = vec![
            invoice("INV-1", false, &[("TEA-100", json!(2))]),
            invoice("INV-2", false, &[("TEA-100", json!(1)), ("AIRPOD", json!(1))]),
            other_branch,
            no_items,
            invoice("INV-5", false, &[("MUG-1", json!(-1))]),
            invoice("INV-6", false, &[("MUG-1", json!(3))]),
        ];
        let (status, answer) = sync(&sandbox, &access, invoices).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            (&answer["code"], &answer["message"]),
            (&json!("01"), &json!("4 of 6 invoices failed"))
        );
        let r = |n: &str, s: &str, c: &str, m: &str| (n.to_owned(), s.to_owned(), c.to_owned(), m.to_owned());
        assert_eq!(
            results(&answer),
            [
                r("INV-1", "success", "00", "Synced"),
                r("INV-2", "failed", "31", "Item code AIRPOD not found"),
                r("INV-3", "failed", "32", "Branch code PG02 not found"),
                r("INV-4", "failed", "33", "Invalid invoice: items must not be empty"),
                r(
                    "INV-5",
                    "failed",
                    "33",
                    "Invalid invoice: items[0].quantity must be greater than 0"
                ),
                r("INV-6", "success", "00", "Synced"),
            ]
        );
        let state = sandbox.state();
        assert_eq!(
            state.stock("TEA-100"),
            Some(dec("116")),
            "INV-2's TEA-100 was not taken"
        );
        assert_eq!(state.stock("MUG-1"), Some(dec("20")));
        let held: Vec<&String> = state.documents["codemax"].sales.keys().collect();
        assert_eq!(held, ["INV-1", "INV-6"]);
        let log = sandbox.requests();
        let rec = log.last().unwrap();
        assert_eq!(
            (rec.applied, rec.applied_references.clone()),
            (true, vec!["INV-1".to_owned(), "INV-6".to_owned()])
        );

        // All failed: still a 200 with code 01, and nothing applied.
        let (status, answer) = sync(&sandbox, &access, vec![invoice("INV-7", false, &[("NOPE", json!(1))])]).await;
        assert_eq!(
            (status, &answer["code"], &answer["message"]),
            (200, &json!("01"), &json!("1 of 1 invoices failed"))
        );
        assert!(!sandbox.requests().last().unwrap().applied);

        // A configured second branch is known.
        sandbox.shutdown().await;
        let sandbox = start_with(
            SandboxConfig::default().with_section(
                "codemax",
                serde_json::to_value(CodemaxConfig {
                    branches: vec!["KL01".into(), "PG02".into()],
                    ..CodemaxConfig::default()
                })
                .unwrap(),
            ),
        )
        .await;
        let (access, _) = login(&sandbox).await;
        let mut penang = invoice("INV-3", false, &[("MUG-1", json!(1))]);
        penang["branch_code"] = json!("PG02");
        assert_eq!(sync(&sandbox, &access, vec![penang]).await.1["code"], "00");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_repeated_invoice_number_is_a_duplicate_with_code_30() {
    bounded(async {
        let sandbox = start().await;
        let (access, _) = login(&sandbox).await;
        assert_eq!(sync(&sandbox, &access, one("INV-1")).await.1["code"], "00");
        let (status, answer) = sync(&sandbox, &access, [one("INV-1"), one("INV-2"), one("INV-2")].concat()).await;
        assert_eq!((status, &answer["code"]), (200, &json!("01")));
        let r = |n: &str, s: &str, c: &str, m: &str| (n.to_owned(), s.to_owned(), c.to_owned(), m.to_owned());
        assert_eq!(
            results(&answer),
            [
                r("INV-1", "failed", "30", "Duplicate invoice number INV-1"),
                r("INV-2", "success", "00", "Synced"),
                r("INV-2", "failed", "30", "Duplicate invoice number INV-2"),
            ]
        );
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("116")), "each applied once");
        // Numbers may be JSON numbers; they are echoed as sent and compared as text.
        let mut numbered = invoice("1001", false, &[("TEA-100", json!(1))]);
        numbered["invoice_no"] = json!(1001);
        let (_, answer) = sync(
            &sandbox,
            &access,
            vec![numbered, invoice("1001", false, &[("TEA-100", json!(1))])],
        )
        .await;
        assert_eq!(answer["results"][0]["invoice_no"], json!(1001));
        assert_eq!(answer["results"][1]["code"], "30");
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_void_puts_the_stock_back_once() {
    bounded(async {
        let sandbox = start().await;
        let (access, _) = login(&sandbox).await;
        let items = [("TEA-100", json!(3)), ("MUG-1", json!(1))];
        assert_eq!(
            sync(&sandbox, &access, vec![invoice("INV-1", false, &items)]).await.1["code"],
            "00"
        );
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("115")));

        let void = invoice("INV-1", true, &items);
        let (_, answer) = sync(&sandbox, &access, vec![void.clone()]).await;
        assert_eq!(answer["results"][0]["status"], "success", "{answer}");
        let state = sandbox.state();
        assert_eq!(
            (state.stock("TEA-100"), state.stock("MUG-1")),
            (Some(dec("118")), Some(dec("23")))
        );
        assert_eq!(
            state.documents["codemax"].sales["INV-1"], void,
            "the void replaces the sale"
        );
        assert_eq!(sandbox.requests().last().unwrap().applied_references, ["INV-1#void"]);

        // Once: a second void is a duplicate, and a re-sent sale too.
        for again in [void.clone(), invoice("INV-1", false, &items)] {
            let (_, answer) = sync(&sandbox, &access, vec![again]).await;
            assert_eq!(answer["results"][0]["code"], "30", "{answer}");
        }
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("118")));

        // A void of a number never synced is refused (code 34) and moves nothing; its
        // sale can still come, and then a void that lists no items (as
        // `Voids::void_sale` sends it) gives the sale's stock back.
        let (_, answer) = sync(&sandbox, &access, vec![invoice("INV-2", true, &items)]).await;
        assert_eq!(answer["code"], "01");
        assert_eq!(answer["results"][0]["code"], "34", "{answer}");
        assert_eq!(answer["results"][0]["message"], "Invoice number INV-2 not found");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("118")));
        let (_, answer) = sync(&sandbox, &access, vec![invoice("INV-2", false, &items)]).await;
        assert_eq!(answer["code"], "00");
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("115")));
        let (_, answer) = sync(&sandbox, &access, vec![invoice("INV-2", true, &[])]).await;
        assert_eq!(answer["code"], "00", "{answer}");
        let state = sandbox.state();
        assert_eq!(state.stock("TEA-100"), Some(dec("118")));
        assert_eq!(state.documents["codemax"].sales["INV-2"]["is_void"], json!(true));
        let applied: Vec<Vec<String>> = sandbox
            .requests()
            .iter()
            .filter(|r| r.applied)
            .map(|r| r.applied_references.clone())
            .collect();
        assert_eq!(
            applied,
            [vec!["INV-1"], vec!["INV-1#void"], vec!["INV-2"], vec!["INV-2#void"]]
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn faults_apply_to_codemax_routes_in_its_shape() {
    bounded(async {
        let sandbox = start().await;
        let admin = format!("{}_sandbox/faults", sandbox.base_url());
        let rules = json!([
            {"vendor": "codemax", "route": "api/v1/auth/refresh", "fault": {"kind": "status", "status": 503}, "rate": 1.0},
            {"vendor": "codemax", "route": "api/v1/sync", "fault": {"kind": "rate_limit", "retry_after_secs": 7}, "rate": 1.0},
            {"vendor": "codemax", "route": "api/v1/auth/login", "fault": {"kind": "latency", "ms": 1}, "rate": 1.0}
        ]);
        let response = client().post(&admin).json(&rules).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let bad = json!([{"vendor": "codemax", "route": "api/v1/nope", "fault": {"kind": "drop_after_apply"}, "rate": 1.0}]);
        let response = client().post(&admin).json(&bad).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);

        let (access, refresh_token) = login(&sandbox).await;
        let response = client()
            .post(format!("{}{SYNC}", sandbox.vendor_url("codemax")))
            .bearer_auth(&access)
            .json(&json!({"invoices": one("INV-1")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"code": "29", "message": "Too many requests"})
        );
        assert_eq!(
            refresh(&sandbox, &access, &refresh_token).await,
            (503, json!({"code": "99", "message": "Service unavailable"}))
        );
        let log = sandbox.requests();
        let faults: Vec<Option<&str>> = log.iter().map(|r| r.fault.as_deref()).collect();
        assert_eq!(faults, [Some("latency"), Some("rate_limit"), Some("status_503")]);
        assert!(log.iter().all(|r| !r.applied));
        assert!(sandbox.state().documents["codemax"].sales.is_empty());
        // The refresh was not applied: the pair still works.
        sandbox.set_faults(vec![
            FaultRule::new(Fault::DropAfterApply, 1.0)
                .for_vendor("codemax")
                .for_route("api/v1/sync"),
        ]);
        let (status, answer) = refresh(&sandbox, &access, &refresh_token).await;
        assert_eq!(status, 200, "{answer}");
        let (fresh, _) = tokens(&answer);
        let dropped = client()
            .post(format!("{}{SYNC}", sandbox.vendor_url("codemax")))
            .bearer_auth(&fresh)
            .json(&json!({ "invoices": ([one("INV-1"), one("INV-2")].concat()) }))
            .send()
            .await;
        assert!(dropped.is_err() || dropped.unwrap().bytes().await.is_err());
        let r = sandbox.requests().pop().unwrap();
        assert_eq!(
            (r.status, r.fault.as_deref(), r.applied),
            (None, Some("drop_after_apply"), true)
        );
        assert_eq!(r.applied_references, ["INV-1", "INV-2"]);
        assert_eq!(sandbox.state().documents["codemax"].sales.len(), 2);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn tokens_can_be_expired_or_revoked_through_the_admin_api_and_reset() {
    bounded(async {
        let sandbox = start().await;
        let admin = |what: &str| format!("{}_sandbox/codemax/{what}", sandbox.base_url());
        let (access, refresh_token) = login(&sandbox).await;
        let response = client().post(admin("expire-access-tokens")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(sync(&sandbox, &access, one("INV-1")).await, (401, expired()));
        let (status, answer) = refresh(&sandbox, &access, &refresh_token).await;
        assert_eq!(status, 200, "{answer}");
        let (access, refresh_token) = tokens(&answer);
        assert_eq!(sync(&sandbox, &access, one("INV-1")).await.0, 200);

        let response = client().post(admin("revoke-tokens")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(sync(&sandbox, &access, one("INV-2")).await, (401, expired()));
        assert_eq!(
            refresh(&sandbox, &access, &refresh_token).await,
            (401, refresh_refused())
        );

        // The handle does the same; reset revokes too, and forgets the invoices.
        let (access, refresh_token) = login(&sandbox).await;
        assert!(posbridge_codemax::sandbox::expire_access_tokens(&sandbox));
        assert_eq!(sync(&sandbox, &access, one("INV-2")).await, (401, expired()));
        let (_, answer) = refresh(&sandbox, &access, &refresh_token).await;
        let (access, refresh_token) = tokens(&answer);
        assert!(posbridge_codemax::sandbox::revoke_tokens(&sandbox));
        assert_eq!(
            refresh(&sandbox, &access, &refresh_token).await,
            (401, refresh_refused())
        );
        let (access, _) = login(&sandbox).await;
        sandbox.reset();
        assert_eq!(sync(&sandbox, &access, one("INV-1")).await, (401, expired()));
        let (access, _) = login(&sandbox).await;
        assert_eq!(
            sync(&sandbox, &access, one("INV-1")).await.1["code"],
            "00",
            "forgotten by the reset"
        );
        assert_eq!(sandbox.state().stock("TEA-100"), Some(dec("117")));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn unusable_settings_do_not_start() {
    for codemax in [
        CodemaxConfig {
            branches: Vec::new(),
            ..CodemaxConfig::default()
        },
        CodemaxConfig {
            token_lifetime_secs: 0,
            ..CodemaxConfig::default()
        },
        CodemaxConfig {
            username: " ".into(),
            ..CodemaxConfig::default()
        },
    ] {
        let err = Sandbox::start(
            SandboxConfig::default().with_section("codemax", serde_json::to_value(codemax).unwrap()),
            vec![posbridge_codemax::sandbox::imitation()],
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, SandboxError::InvalidConfig(m) if m.starts_with("codemax.")),
            "{err}"
        );
    }
    let config: SandboxConfig =
        serde_json::from_str(r#"{"codemax": {"username": "pos-kl01", "branches": ["KL01", "PG02"]}}"#).unwrap();
    let codemax: CodemaxConfig = serde_json::from_value(config.vendors["codemax"].clone()).unwrap();
    assert_eq!(codemax.password, CODEMAX_DEFAULT_PASSWORD);
    assert_eq!(codemax.token_lifetime_secs, 900);
    assert!(serde_json::from_str::<CodemaxConfig>(r#"{"branch": "KL01"}"#).is_err());
    let unknown: SandboxConfig = serde_json::from_str(r#"{"codemax": {"branch": "KL01"}}"#).unwrap();
    let err = Sandbox::start(unknown, vec![posbridge_codemax::sandbox::imitation()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SandboxError::InvalidConfig(m) if m.contains("branch")),
        "{err}"
    );
    // A connector pointed at the sandbox gets the account and the first branch.
    let sandbox = start_with(config).await;
    let section = sandbox.connector_section("codemax").unwrap();
    assert_eq!(
        (&section["username"], &section["password"], &section["branch_code"]),
        (&json!("pos-kl01"), &json!(CODEMAX_DEFAULT_PASSWORD), &json!("KL01"))
    );
    sandbox.shutdown().await;
}
