//! The transport against a loopback mock server: retries, Retry-After, uncertain
//! writes, one renewal on a refused credential, and no secret in the logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use posbridge_core::http::default_parse_error;
use posbridge_core::{
    Auth, Error, ErrorKind, HttpConfig, RefreshableBearer, Request, RetryConfig, SecretString, Token, TokenSource,
    Transport,
};

fn config() -> HttpConfig {
    HttpConfig {
        timeout_ms: 2_000,
        retry: RetryConfig {
            max_retries: 3,
            min_delay_ms: 10,
            max_delay_ms: 50,
            max_retry_after_ms: 5_000,
            jitter: true,
        },
        ..HttpConfig::default()
    }
}

fn transport(server: &MockServer, config: HttpConfig) -> Transport {
    Transport::new("test", &server.base_url(), config, default_parse_error).unwrap()
}

#[tokio::test]
async fn long_retry_after_returns_rate_limited_at_once() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/stock");
            then.status(429).header("Retry-After", "3600");
        })
        .await;
    let t = transport(&server, config());
    let started = Instant::now();
    let e = t.send(&Request::get("stock_levels", "/stock"), None).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "slept on a long Retry-After"
    );
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn short_retry_after_is_honoured_then_succeeds() {
    let server = MockServer::start_async().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/push");
            then.respond_with(move |_req: &HttpMockRequest| {
                if c.fetch_add(1, Ordering::SeqCst) == 0 {
                    HttpMockResponse::builder()
                        .status(429)
                        .header("Retry-After", "1")
                        .build()
                } else {
                    HttpMockResponse::builder().status(201).body("{}").build()
                }
            });
        })
        .await;
    let t = transport(&server, config());
    let started = Instant::now();
    let r = t.send(&Request::post("push_sale", "/push"), None).await.unwrap();
    assert_eq!(r.status.as_u16(), 201);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "did not wait for Retry-After"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_timeout_after_a_write_was_sent_is_uncertain_and_not_retried() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/push");
            then.status(200).delay(Duration::from_millis(1_500));
        })
        .await;
    let t = transport(
        &server,
        HttpConfig {
            timeout_ms: 300,
            ..config()
        },
    );
    let e = t
        .send(
            &Request::post("push_sale", "/push")
                .json(&serde_json::json!({"a": 1}))
                .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uncertain, "{e}");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_idempotent_read_is_retried_after_a_5xx() {
    let server = MockServer::start_async().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    server
        .mock_async(move |when, then| {
            when.method(GET).path("/stock");
            then.respond_with(move |_req: &HttpMockRequest| {
                if c.fetch_add(1, Ordering::SeqCst) == 0 {
                    HttpMockResponse::builder().status(502).build()
                } else {
                    HttpMockResponse::builder().status(200).body("[]").build()
                }
            });
        })
        .await;
    let r = transport(&server, config())
        .send(&Request::get("stock_levels", "/stock"), None)
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_500_on_a_non_idempotent_write_is_uncertain() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/push");
            then.status(500);
        })
        .await;
    let e = transport(&server, config())
        .send(&Request::post("push_sale", "/push"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uncertain);
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_and_retried() {
    // Bind and drop a listener to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Transport::new(
        "test",
        &format!("http://127.0.0.1:{port}/"),
        config(),
        default_parse_error,
    )
    .unwrap();
    let e = t.send(&Request::post("push_sale", "/push"), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
}

#[derive(Debug, Clone)]
struct Login {
    fetches: Arc<AtomicUsize>,
}

#[async_trait]
impl TokenSource for Login {
    async fn fetch(&self, _previous: Option<&Token>) -> posbridge_core::Result<Token> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(Token::new(
            SecretString::from(format!("tok-{n}")),
            Some(Duration::from_secs(900)),
        ))
    }
}

#[tokio::test]
async fn a_401_mid_call_causes_one_refresh_and_one_retry() {
    let server = MockServer::start_async().await;
    let stale = server
        .mock_async(|when, then| {
            when.method(GET).path("/stock").header("authorization", "Bearer tok-0");
            then.status(401);
        })
        .await;
    let fresh = server
        .mock_async(|when, then| {
            when.method(GET).path("/stock").header("authorization", "Bearer tok-1");
            then.status(200).body("[]");
        })
        .await;
    let login = Login {
        fetches: Arc::new(AtomicUsize::new(0)),
    };
    let auth = RefreshableBearer::new(login.clone());
    let t = transport(&server, config());
    let r = t
        .send(&Request::get("stock_levels", "/stock"), Some(&auth as &dyn Auth))
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 200);
    stale.assert_calls_async(1).await;
    fresh.assert_calls_async(1).await;
    assert_eq!(login.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_credential_refused_twice_is_an_auth_error_not_a_loop() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/stock");
            then.status(401).body(r#"{"error":"invalid token"}"#);
        })
        .await;
    let login = Login {
        fetches: Arc::new(AtomicUsize::new(0)),
    };
    let auth = RefreshableBearer::new(login.clone());
    let e = transport(&server, config())
        .send(&Request::get("stock_levels", "/stock"), Some(&auth as &dyn Auth))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Auth { .. }), "{e}");
    m.assert_calls_async(2).await;
    assert_eq!(login.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_oversized_response_is_a_decode_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/big");
            then.status(200).body(vec![b'x'; 64 * 1024]);
        })
        .await;
    let t = transport(
        &server,
        HttpConfig {
            max_response_bytes: 1024,
            ..config()
        },
    );
    let e = t.send(&Request::get("stock_levels", "/big"), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
}

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/stock");
            then.status(200).body("[]");
        })
        .await;
    let t = transport(
        &server,
        HttpConfig {
            rate_limit: Some(posbridge_core::RateLimitConfig {
                per_second: std::num::NonZeroU32::new(10).unwrap(),
                burst: std::num::NonZeroU32::new(1),
            }),
            ..config()
        },
    );
    let started = Instant::now();
    for _ in 0..4 {
        t.send(&Request::get("stock_levels", "/stock"), None).await.unwrap();
    }
    // One token at once, then one every 100 ms: three waits.
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
    m.assert_calls_async(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_calls_with_an_expired_bearer_refresh_once() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(GET).path("/stock").header("authorization", "Bearer tok-0");
            then.status(200).body("[]");
        })
        .await;
    let login = Login {
        fetches: Arc::new(AtomicUsize::new(0)),
    };
    let expired = Token::new(SecretString::from("expired"), Some(Duration::ZERO));
    let auth = Arc::new(RefreshableBearer::new(login.clone()).with_token(expired));
    let t = Arc::new(transport(&server, config()));
    let mut calls = Vec::new();
    for _ in 0..100 {
        let (t, auth) = (t.clone(), auth.clone());
        calls.push(tokio::spawn(async move {
            t.send(
                &Request::get("stock_levels", "/stock"),
                Some(auth.as_ref() as &dyn Auth),
            )
            .await
        }));
    }
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap().status.as_u16(), 200);
    }
    assert_eq!(login.fetches.load(Ordering::SeqCst), 1);
    m.assert_calls_async(100).await;
}

#[tokio::test]
async fn an_oversized_answer_to_a_write_is_uncertain() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/push");
            then.status(200).body(vec![b'x'; 64 * 1024]);
        })
        .await;
    let t = transport(
        &server,
        HttpConfig {
            max_response_bytes: 1024,
            ..config()
        },
    );
    let e = t.send(&Request::post("push_sale", "/push"), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Uncertain, "{e}");
}

#[test]
fn plain_http_is_refused_off_loopback_unless_allowed() {
    let make = |url: &str, allow: bool| {
        Transport::new(
            "test",
            url,
            HttpConfig {
                allow_insecure_http: allow,
                ..HttpConfig::default()
            },
            default_parse_error,
        )
    };
    let e = make("http://erp.example.com/api/", false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("allow_insecure_http"), "{e}");
    assert!(make("http://erp.example.com/api/", true).is_ok());
    assert!(make("https://erp.example.com/api/", false).is_ok());
    for loopback in ["http://127.0.0.1:8080/", "http://localhost/", "http://[::1]:9/"] {
        assert!(make(loopback, false).is_ok(), "{loopback}");
    }
}

/// A server that answers every request to `path` with `status` and `location`.
async fn redirecting<'a>(
    server: &'a MockServer,
    path: &str,
    status: u16,
    location: Option<&str>,
) -> httpmock::Mock<'a> {
    let location = location.map(str::to_owned);
    server
        .mock_async(move |when, then| {
            when.path(path);
            let then = then.status(status);
            if let Some(l) = &location {
                then.header("Location", l.as_str());
            }
        })
        .await
}

#[tokio::test]
async fn a_redirect_after_a_write_that_is_not_idempotent_is_uncertain() {
    for status in [301, 302, 303, 307, 308] {
        let server = MockServer::start_async().await;
        let m = redirecting(
            &server,
            "/push",
            status,
            Some("https://user:pw@elsewhere.example/sales/42?token=SECRET-in-query#frag"),
        )
        .await;
        let t = transport(&server, config());
        let e = t.send(&Request::post("push_sale", "/push"), None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Uncertain, "HTTP {status}: {e}");
        let text = e.to_string();
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains("https://elsewhere.example/sales/42?…"), "{text}");
        for secret in ["SECRET-in-query", "user:pw", "pw@", "frag"] {
            assert!(!text.contains(secret), "{secret} in {text}");
            assert!(!format!("{e:?}").contains(secret), "{secret} in {e:?}");
        }
        // Never re-sent, never followed.
        m.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn a_redirect_after_a_read_or_an_idempotent_write_names_its_location() {
    for (request, status) in [
        (Request::get("stock_levels", "/stock"), 301),
        (Request::get("stock_levels", "/stock"), 302),
        (Request::post("push_sale", "/stock").idempotent(true), 303),
        (Request::post("push_sale", "/stock").idempotent(true), 308),
    ] {
        let server = MockServer::start_async().await;
        let m = redirecting(&server, "/stock", status, Some("/login?next=%2Fstock&api_key=abc")).await;
        let t = transport(&server, config());
        let e = t.send(&request, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Redirected, "{e}");
        assert!(!e.is_retryable(), "a redirect is not retried: {e}");
        match &e {
            Error::Redirected {
                vendor,
                status: s,
                location,
            } => {
                assert_eq!((*vendor, *s), ("test", status));
                assert_eq!(location.as_deref(), Some("/login?…"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!e.to_string().contains("abc"), "{e}");
        m.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn a_redirect_without_a_location_still_says_what_happened() {
    let server = MockServer::start_async().await;
    let _m = redirecting(&server, "/stock", 302, None).await;
    let t = transport(&server, config());
    let e = t.send(&Request::get("stock_levels", "/stock"), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Redirected);
    assert!(e.to_string().contains("an unnamed location"), "{e}");
    let huge = format!("https://elsewhere.example/{}", "a".repeat(10_000));
    let server = MockServer::start_async().await;
    let _m = redirecting(&server, "/stock", 302, Some(&huge)).await;
    let e = transport(&server, config())
        .send(&Request::get("stock_levels", "/stock"), None)
        .await
        .unwrap_err();
    assert!(e.to_string().len() < 400, "{e}");
}
