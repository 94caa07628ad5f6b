//! The admin API, fault injection (deterministic for a seed), dropped connections as a
//! client sees them, start-up errors and graceful shutdown, against the tests' own
//! imitation ([`common::shop`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use posbridge_core::Decimal;
use posbridge_sandbox::{
    Catalogue, Fault, FaultRule, RequestRecord, Sandbox, SandboxConfig, SandboxError, StateSnapshot,
};
use serde_json::json;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn admin_get<T: serde::de::DeserializeOwned>(sandbox: &posbridge_sandbox::SandboxHandle, path: &str) -> T {
    let r = client()
        .get(format!("{}_sandbox/{path}", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

async fn admin_post(sandbox: &posbridge_sandbox::SandboxHandle, path: &str, body: &str) -> (u16, serde_json::Value) {
    let r = client()
        .post(format!("{}_sandbox/{path}", sandbox.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    read(r).await
}

#[tokio::test]
async fn admin_state_requests_and_reset() {
    bounded(async {
        let sandbox = start().await;
        let initial: StateSnapshot = admin_get(&sandbox, "state").await;
        assert_eq!(initial, sandbox.state());
        assert_eq!(initial.products, Catalogue::sample().products);
        assert_eq!(
            initial.documents.keys().collect::<Vec<_>>(),
            [SHOP],
            "every vendor imitated has an entry"
        );

        read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1001")).await).await;
        read(post_form(&sandbox, "api/push-purchase", &purchase_form("GRN-1")).await).await;
        let state: StateSnapshot = admin_get(&sandbox, "state").await;
        assert_eq!(state, sandbox.state());
        assert_eq!(state.stock("TEA-100"), Some(dec("164")));
        assert!(state.documents[SHOP].sales.contains_key("INV-1001"));
        assert!(state.documents[SHOP].purchases.contains_key("GRN-1"));

        let log: Vec<RequestRecord> = admin_get(&sandbox, "requests").await;
        assert_eq!(log, sandbox.requests());
        assert_eq!(log.len(), 2, "admin requests are not logged");
        assert_eq!(
            log.iter().map(|r| (r.seq, r.reference.clone())).collect::<Vec<_>>(),
            [(1, Some("INV-1001".into())), (2, Some("GRN-1".into()))]
        );

        let (status, body) = admin_post(&sandbox, "reset", "").await;
        assert_eq!((status, message(&body)), (200, "Sandbox reset"));
        assert_eq!(sandbox.state(), initial);
        assert!(sandbox.requests().is_empty());
        // Ids start over, and the reference may be used again.
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1001")).await).await;
        assert_eq!((status, &body["data"]["id"]), (201, &json!(1001)));
        assert_eq!(sandbox.requests()[0].seq, 1);

        sandbox.reset();
        assert_eq!(sandbox.state(), initial);
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn admin_faults_replace_and_list_rules() {
    bounded(async {
        let sandbox = start().await;
        let rules: Vec<FaultRule> = admin_get(&sandbox, "faults").await;
        assert!(rules.is_empty());
        let body = r#"[
            {"vendor": "shop", "route": "api/push-sale", "fault": {"kind": "status", "status": 503}, "rate": 0.5},
            {"fault": {"kind": "latency", "ms": 5}, "rate": 1}
        ]"#;
        let (status, echoed) = admin_post(&sandbox, "faults", body).await;
        assert_eq!(status, 200, "{echoed}");
        let want = vec![
            FaultRule::new(Fault::Status { status: 503 }, 0.5)
                .for_vendor(SHOP)
                .for_route("api/push-sale"),
            FaultRule::new(Fault::Latency { ms: 5 }, 1.0),
        ];
        assert_eq!(serde_json::from_value::<Vec<FaultRule>>(echoed).unwrap(), want);
        assert_eq!(admin_get::<Vec<FaultRule>>(&sandbox, "faults").await, want);
        assert_eq!(sandbox.faults(), want);

        for (bad, why) in [
            ("not json", "expected a JSON array"),
            (
                r#"{"fault": {"kind": "drop_after_apply"}, "rate": 1}"#,
                "expected a JSON array",
            ),
            (
                r#"[{"fault": {"kind": "explode"}, "rate": 1}]"#,
                "expected a JSON array",
            ),
            (r#"[{"fault": {"kind": "drop_after_apply"}, "rate": 2}]"#, "rate"),
            (r#"[{"fault": {"kind": "status", "status": 200}, "rate": 1}]"#, "status"),
            (
                r#"[{"vendor": "shopp", "fault": {"kind": "drop_after_apply"}, "rate": 1}]"#,
                "unknown vendor",
            ),
            (
                r#"[{"route": "api/push-sales", "fault": {"kind": "drop_after_apply"}, "rate": 1}]"#,
                "unknown route",
            ),
        ] {
            let (status, body) = admin_post(&sandbox, "faults", bad).await;
            assert_eq!(status, 400, "{bad}");
            assert!(message(&body).contains(why), "{bad}: {body}");
        }
        // A refused update leaves the rules alone.
        assert_eq!(sandbox.faults(), want);
        let (status, _) = admin_post(&sandbox, "faults", "[]").await;
        assert_eq!(status, 200);
        assert!(sandbox.faults().is_empty());
        let r = client()
            .get(format!("{}_sandbox/nothing", sandbox.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404);
        sandbox.shutdown().await;
    })
    .await;
}

/// The fault names and statuses the log shows after `n` pushes of distinct sales.
async fn fault_pattern(
    sandbox: &posbridge_sandbox::SandboxHandle,
    n: usize,
) -> Vec<(Option<String>, Option<u16>, bool)> {
    let client = client();
    for i in 0..n {
        // Drops make the client see an error; that is expected here.
        if let Ok(response) = client
            .post(format!("{}api/push-sale", sandbox.vendor_url(SHOP)))
            .form(&sale_form(&format!("INV-{i}")))
            .send()
            .await
        {
            let _ = response.bytes().await;
        }
    }
    sandbox
        .requests()
        .into_iter()
        .map(|r| (r.fault, r.status, r.applied))
        .collect()
}

#[tokio::test]
async fn faults_repeat_for_the_same_seed_and_requests() {
    bounded(async {
        let config = SandboxConfig {
            faults: vec![
                FaultRule::new(Fault::Latency { ms: 1 }, 0.3),
                FaultRule::new(Fault::Status { status: 503 }, 0.25),
                FaultRule::new(Fault::RateLimit { retry_after_secs: 1 }, 0.25),
                FaultRule::new(Fault::DropAfterApply, 0.2).for_route("api/push-sale"),
            ],
            seed: 7,
            ..SandboxConfig::default()
        };
        let sandbox = start_with(config.clone()).await;
        let first = fault_pattern(&sandbox, 24).await;
        sandbox.reset();
        let second = fault_pattern(&sandbox, 24).await;
        assert_eq!(first, second);

        // A second sandbox with the same seed agrees too.
        let other = start_with(config).await;
        assert_eq!(fault_pattern(&other, 24).await, first);

        // The pattern is a mix, and each outcome is consistent with its fault.
        let names: Vec<_> = first.iter().map(|(f, _, _)| f.as_deref()).collect();
        for want in [None, Some("status_503"), Some("rate_limit"), Some("drop_after_apply")] {
            assert!(names.contains(&want), "{want:?} never happened in {first:?}");
        }
        for (fault, status, applied) in &first {
            match fault.as_deref() {
                None | Some("latency") => assert_eq!((*status, *applied), (Some(201), true)),
                Some("status_503") => assert_eq!((*status, *applied), (Some(503), false)),
                Some("rate_limit") => assert_eq!((*status, *applied), (Some(429), false)),
                Some("drop_after_apply") => assert_eq!((*status, *applied), (None, true)),
                other => panic!("unexpected fault {other:?}"),
            }
        }
        sandbox.shutdown().await;
        other.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn drop_after_apply_books_the_sale_but_the_client_sees_an_error() {
    bounded(async {
        let sandbox = start().await;
        sandbox.set_faults(vec![
            FaultRule::new(Fault::DropAfterApply, 1.0)
                .for_vendor(SHOP)
                .for_route("api/push-sale"),
        ]);
        let outcome = match client()
            .post(format!("{}api/push-sale", sandbox.vendor_url(SHOP)))
            .form(&sale_form("INV-1001"))
            .send()
            .await
        {
            Ok(response) => response.bytes().await.map(|_| ()),
            Err(e) => Err(e),
        };
        assert!(outcome.is_err(), "the client must not get an answer");

        let state = sandbox.state();
        assert!(state.documents[SHOP].sales.contains_key("INV-1001"));
        assert_eq!(state.stock("TEA-100"), Some(dec("116")));
        let log = sandbox.requests();
        assert_eq!(
            (
                log[0].status,
                log[0].fault.as_deref(),
                log[0].applied,
                log[0].reference.as_deref()
            ),
            (None, Some("drop_after_apply"), true, Some("INV-1001"))
        );

        // The rule is for push-sale only; the retry that follows learns the truth.
        sandbox.set_faults(vec![]);
        let (status, body) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1001")).await).await;
        assert_eq!((status, message(&body)), (400, "Duplicate reference_no INV-1001"));
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn drop_before_apply_changes_nothing_and_the_client_sees_an_error() {
    bounded(async {
        let sandbox = start().await;
        let before = sandbox.state();
        sandbox.set_faults(vec![FaultRule::new(Fault::DropBeforeApply, 1.0)]);
        for route in ["api/push-sale", "api/sync-stock"] {
            let outcome = match client()
                .post(format!("{}{route}", sandbox.vendor_url(SHOP)))
                .form(&sale_form("INV-1001"))
                .send()
                .await
            {
                Ok(response) => response.bytes().await.map(|_| ()),
                Err(e) => Err(e),
            };
            assert!(outcome.is_err(), "{route}: the client must not get an answer");
        }
        assert_eq!(sandbox.state(), before);
        let log = sandbox.requests();
        assert_eq!(log.len(), 2);
        assert!(
            log.iter()
                .all(|r| r.status.is_none() && !r.applied && r.fault.as_deref() == Some("drop_before_apply"))
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rate_limit_carries_retry_after_and_changes_nothing() {
    bounded(async {
        let sandbox = start().await;
        sandbox.set_faults(vec![FaultRule::new(Fault::RateLimit { retry_after_secs: 7 }, 1.0)]);
        let response = post_form(&sandbox, "api/push-sale", &sale_form("INV-1")).await;
        assert_eq!(response.headers()["retry-after"], "7");
        let (status, body) = read(response).await;
        assert_eq!((status, message(&body)), (429, "Too Many Requests"));
        assert!(sandbox.state().documents[SHOP].sales.is_empty());
        let log = sandbox.requests();
        assert_eq!(
            (log[0].status, log[0].fault.as_deref(), log[0].applied),
            (Some(429), Some("rate_limit"), false)
        );
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn status_and_latency_faults() {
    bounded(async {
        let sandbox = start().await;
        sandbox.set_faults(vec![
            FaultRule::new(Fault::Latency { ms: 150 }, 1.0).for_route("api/sync-stock"),
            FaultRule::new(Fault::Status { status: 502 }, 1.0).for_route("api/push-purchase"),
        ]);
        let (status, body) = read(post_form(&sandbox, "api/push-purchase", &purchase_form("GRN-1")).await).await;
        assert_eq!((status, message(&body)), (502, "Injected fault"));
        let started = Instant::now();
        let (status, _) =
            read(post_form(&sandbox, "api/sync-stock", &vec![("token".into(), TOKEN.into())]).await).await;
        assert_eq!(status, 200);
        assert!(started.elapsed() >= Duration::from_millis(150));
        let (status, _) = read(post_form(&sandbox, "api/push-sale", &sale_form("INV-1")).await).await;
        assert_eq!(status, 201);
        let faults: Vec<_> = sandbox.requests().into_iter().map(|r| r.fault).collect();
        assert_eq!(faults, [Some("status_502".into()), Some("latency".into()), None]);
        assert!(sandbox.state().documents[SHOP].purchases.is_empty());
        sandbox.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests_and_returns() {
    bounded(async {
        let sandbox = start().await;
        let addr = sandbox.addr();
        // A request stuck in a long latency fault: shutdown cuts the wait short and the
        // request still gets its answer.
        sandbox.set_faults(vec![
            FaultRule::new(Fault::Latency { ms: 60_000 }, 1.0).for_route("api/sync-stock"),
        ]);
        let url = format!("{}api/sync-stock", sandbox.vendor_url(SHOP));
        let in_flight = tokio::spawn(async move {
            client()
                .post(url)
                .form(&[("token", TOKEN)])
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
        // Wait until it has arrived. It is logged only when it finishes, but it took a
        // number: a quick request numbered beyond the quick ones logged proves it.
        let quick = client();
        loop {
            quick
                .post(format!("{}api/push-purchase", sandbox.vendor_url(SHOP)))
                .send()
                .await
                .unwrap();
            let log = sandbox.requests();
            if log.last().is_some_and(|r| r.seq > log.len() as u64) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!in_flight.is_finished());
        let started = Instant::now();
        sandbox.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(in_flight.await.unwrap().unwrap(), 200);
        // Nothing listens any more.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn shutdown_on_a_signal_and_on_drop() {
    bounded(async {
        let sandbox = start().await;
        let addr = sandbox.addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(sandbox.shutdown_on(async {
            let _ = stopped.await;
        }));
        let r = client()
            .post(format!("http://{addr}/shop/api/sync-stock"))
            .form(&[("token", TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        stop.send(()).unwrap();
        running.await.unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());

        let dropped = start().await;
        let addr = dropped.addr();
        drop(dropped);
        let mut closed = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(closed, "dropping the handle stops the server");
    })
    .await;
}

#[tokio::test]
async fn start_up_errors() {
    bounded(async {
        let running = start().await;
        let taken = SandboxConfig {
            bind: running.addr(),
            ..SandboxConfig::default()
        };
        assert!(matches!(
            Sandbox::start(taken, vec![shop::imitation()]).await,
            Err(SandboxError::Bind { .. })
        ));

        let bad_fault = SandboxConfig {
            faults: vec![FaultRule::new(Fault::Status { status: 503 }, 1.5)],
            ..SandboxConfig::default()
        };
        assert!(matches!(
            Sandbox::start(bad_fault, vec![shop::imitation()]).await,
            Err(SandboxError::InvalidFault(_))
        ));
        // A rule for a vendor or a route the sandbox does not imitate.
        for rule in [
            FaultRule::new(Fault::DropAfterApply, 0.5).for_vendor("shopp"),
            FaultRule::new(Fault::DropAfterApply, 0.5).for_route("api/push-sales"),
        ] {
            let config = SandboxConfig {
                faults: vec![rule],
                ..SandboxConfig::default()
            };
            let err = Sandbox::start(config, vec![shop::imitation()]).await.unwrap_err();
            assert!(matches!(err, SandboxError::InvalidFault(_)), "{err}");
        }

        let mut twice = Catalogue::sample();
        twice.products.push(twice.products[0].clone());
        let dup = SandboxConfig {
            catalogue: twice,
            ..SandboxConfig::default()
        };
        assert!(matches!(
            Sandbox::start(dup, vec![shop::imitation()]).await,
            Err(SandboxError::InvalidCatalogue(_))
        ));

        // A section naming no vendor imitated (a misspelt key of the config lands
        // there too), a section its imitation refuses, two imitations of one vendor.
        for (config, imitations, why) in [
            (
                serde_json::from_str::<SandboxConfig>(r#"{"sede": 1}"#).unwrap(),
                vec![shop::imitation()],
                "sede",
            ),
            (
                SandboxConfig::default().with_section("shopp", json!({"token": "t"})),
                vec![shop::imitation()],
                "shopp",
            ),
            (
                SandboxConfig::default().with_section(SHOP, json!({"tokn": "t"})),
                vec![shop::imitation()],
                "tokn",
            ),
            (
                SandboxConfig::default(),
                vec![shop::imitation(), shop::imitation()],
                "two imitations",
            ),
        ] {
            let err = Sandbox::start(config, imitations).await.unwrap_err();
            assert!(matches!(err, SandboxError::InvalidConfig(_)), "{err}");
            assert!(err.to_string().contains(why), "{err}");
        }
        running.shutdown().await;
    })
    .await;
}

#[test]
fn catalogue_files_and_config_defaults() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("posbridge-sandbox-catalogue");
    std::fs::create_dir_all(&dir).unwrap();

    let wrapped = dir.join("wrapped.json");
    std::fs::write(
        &wrapped,
        r#"{"products": [{"code": "A", "name": "Tea", "price": 1.5, "stock": "10"}]}"#,
    )
    .unwrap();
    let c = Catalogue::from_json_file(&wrapped).unwrap();
    assert_eq!((c.products[0].price, c.products[0].stock), (dec("1.5"), dec("10")));

    let bare = dir.join("bare.json");
    std::fs::write(&bare, r#"[{"code": "A", "name": "Tea", "price": "1.50", "stock": 2}]"#).unwrap();
    assert_eq!(Catalogue::from_json_file(&bare).unwrap().products.len(), 1);

    let broken = dir.join("broken.json");
    std::fs::write(&broken, r#"{"products": [{"code": "A"}]}"#).unwrap();
    let err = Catalogue::from_json_file(&broken).unwrap_err();
    assert!(matches!(err, SandboxError::CatalogueParse { .. }), "{err}");
    assert!(err.to_string().contains("missing field"), "{err}");

    let dup = dir.join("dup.json");
    std::fs::write(
        &dup,
        r#"[{"code": "A", "name": "x", "price": 1, "stock": 1}, {"code": "A", "name": "y", "price": 1, "stock": 1}]"#,
    )
    .unwrap();
    assert!(matches!(
        Catalogue::from_json_file(&dup),
        Err(SandboxError::InvalidCatalogue(_))
    ));
    assert!(matches!(
        Catalogue::from_json_file(&dir.join("missing.json")),
        Err(SandboxError::CatalogueFile { .. })
    ));

    let config: SandboxConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config.bind.to_string(), "127.0.0.1:0");
    assert_eq!(
        (config.seed, config.vendors.len()),
        (42, 0),
        "no section: every imitation's defaults"
    );
    assert_eq!(config.catalogue, Catalogue::sample());
    assert!(config.faults.is_empty());
    let config: SandboxConfig = serde_json::from_value(json!({
        "seed": 3, "shop": {"token": "t"},
        "faults": [{"fault": {"kind": "drop_before_apply"}, "rate": 0.1}]
    }))
    .unwrap();
    assert_eq!(
        (config.seed, config.vendors[SHOP]["token"].as_str(), config.faults.len()),
        (3, Some("t"), 1)
    );
    // A misspelt key is refused when the sandbox starts (see `start_up_errors`).
    let misspelt: SandboxConfig = serde_json::from_str(r#"{"sede": 1}"#).unwrap();
    assert_eq!(misspelt.vendors["sede"], json!(1));

    let sample = Catalogue::sample();
    assert!((25..=40).contains(&sample.products.len()));
    for code in ["TEA-100", "MUG-1", "CANDY-1", "SUGAR-1KG"] {
        assert!(sample.products.iter().any(|p| p.code == code), "{code}");
    }
    let tea = &sample.products[0];
    assert_eq!(
        (tea.code.as_str(), tea.name.as_str(), tea.price, tea.stock),
        ("TEA-100", "Ceylon tea 100g", dec("450.00"), dec("118"))
    );
    let mug = sample.products.iter().find(|p| p.code == "MUG-1").unwrap();
    assert_eq!(
        (mug.name.as_str(), mug.price, mug.stock),
        ("Mug", dec("1200.00"), dec("23"))
    );
}
