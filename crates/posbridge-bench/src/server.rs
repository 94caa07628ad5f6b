//! The minimal loopback server the macro scenarios send to: it answers at once (or
//! after a fixed delay) with the vendor's success body, keeps no state but counters,
//! and can record what it was sent, so that the baseline replays the connector's
//! very bytes. It runs on its own thread and Tokio runtime, so that the client under
//! test has the other core to itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

/// How a route answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The same status and JSON body every time.
    Fixed(StatusCode, Bytes),
    /// Codemax's sync: `code 00` and a `success` result naming each invoice sent.
    CodemaxSync,
    /// An Asalta list: page `?page=N` of `pages.len()` pages, each `{"data": [...],
    /// "_meta": {...}}` around the prebuilt entries.
    AsaltaPages(Arc<Vec<Bytes>>),
}

/// One route's counters and what it recorded.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests answered.
    pub requests: AtomicU64,
    first: Mutex<Option<Captured>>,
    all: Mutex<Vec<Bytes>>,
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The headers a raw client would send too: `content-type` and the credentials.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Seen {
    /// The first request recorded since [`MiniServer::capture`] was turned on.
    pub fn first(&self) -> Option<Captured> {
        self.first.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every body recorded since [`MiniServer::capture`] was turned on, in order.
    pub fn bodies(&self) -> Vec<Bytes> {
        self.all.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

struct Route {
    answer: Answer,
    seen: Arc<Seen>,
}

struct Shared {
    routes: HashMap<String, Route>,
    delay: Option<Duration>,
    capture: AtomicBool,
}

/// A running minimal server.
pub struct MiniServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MiniServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Headers a replay carries: the body's type and the credentials.
const REPLAYED: &[&str] = &["content-type", "authorization", "partner", "user-id"];

impl MiniServer {
    /// Starts a server with `routes` (path → answer) on `rt`, answering each request
    /// after `delay` when given.
    pub async fn start(
        rt: &tokio::runtime::Handle,
        routes: Vec<(&str, Answer)>,
        delay: Option<Duration>,
    ) -> Result<MiniServer> {
        let shared = Arc::new(Shared {
            routes: routes
                .into_iter()
                .map(|(path, answer)| {
                    (
                        path.to_owned(),
                        Route {
                            answer,
                            seen: Arc::new(Seen::default()),
                        },
                    )
                })
                .collect(),
            delay,
            capture: AtomicBool::new(false),
        });
        let listener = rt
            .spawn(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .await
            .context("the server runtime")?
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(handle).with_state(shared.clone());
        rt.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("minimal server stopped: {e}");
            }
        });
        Ok(MiniServer { addr, shared })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The counters and records of the route at `path`.
    pub fn seen(&self, path: &str) -> Result<Arc<Seen>> {
        self.shared
            .routes
            .get(path)
            .map(|r| r.seen.clone())
            .with_context(|| format!("no route {path}"))
    }

    /// Turns recording on (clearing what was recorded) or off.
    pub fn capture(&self, on: bool) {
        if on {
            for route in self.shared.routes.values() {
                *route.seen.first.lock().unwrap_or_else(PoisonError::into_inner) = None;
                route.seen.all.lock().unwrap_or_else(PoisonError::into_inner).clear();
            }
        }
        self.shared.capture.store(on, Ordering::SeqCst);
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let Some(route) = shared.routes.get(&path) else {
        return (StatusCode::NOT_FOUND, format!("no route {path}")).into_response();
    };
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    route.seen.requests.fetch_add(1, Ordering::Relaxed);
    if shared.capture.load(Ordering::Relaxed) {
        let mut first = route.seen.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            let mut headers = HeaderMap::new();
            for name in REPLAYED {
                if let Some(v) = parts.headers.get(*name) {
                    headers.insert(*name, v.clone());
                }
            }
            *first = Some(Captured {
                headers,
                body: body.clone(),
            });
        }
        drop(first);
        route
            .seen
            .all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(body.clone());
    }
    if let Some(delay) = shared.delay {
        tokio::time::sleep(delay).await;
    }
    let (status, bytes) = match &route.answer {
        Answer::Fixed(status, bytes) => (*status, bytes.clone()),
        Answer::CodemaxSync => codemax_sync(&body),
        Answer::AsaltaPages(pages) => asalta_page(pages, query.as_deref()),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[derive(Deserialize)]
struct SyncBody {
    invoices: Vec<InvoiceNo>,
}

#[derive(Deserialize)]
struct InvoiceNo {
    invoice_no: String,
}

fn codemax_sync(body: &[u8]) -> (StatusCode, Bytes) {
    let Ok(sync) = serde_json::from_slice::<SyncBody>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            Bytes::from_static(br#"{"code":"21","message":"Malformed request"}"#),
        );
    };
    let results: Vec<serde_json::Value> = sync
        .invoices
        .into_iter()
        .map(
            |i| serde_json::json!({"invoice_no": i.invoice_no, "status": "success", "code": "00", "message": "Synced"}),
        )
        .collect();
    let answer = serde_json::json!({"code": "00", "message": "Invoices synced", "results": results});
    (StatusCode::OK, Bytes::from(answer.to_string()))
}

fn asalta_page(pages: &[Bytes], query: Option<&str>) -> (StatusCode, Bytes) {
    let page: usize = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let Some(data) = page.checked_sub(1).and_then(|i| pages.get(i)) else {
        return (StatusCode::OK, Bytes::from_static(br#"{"data":[],"_meta":{}}"#));
    };
    let per_page = 100;
    let meta = format!(
        r#","_meta":{{"totalCount":{},"pageCount":{},"currentPage":{page},"perPage":{per_page}}}}}"#,
        pages.len() * per_page,
        pages.len()
    );
    let mut out = Vec::with_capacity(data.len() + meta.len() + 16);
    out.extend_from_slice(br#"{"data":"#);
    out.extend_from_slice(data);
    out.extend_from_slice(meta.as_bytes());
    (StatusCode::OK, Bytes::from(out))
}

/// A thread running a current-thread Tokio runtime for servers; dropped, it stops.
pub struct ServerThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for ServerThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerThread").finish_non_exhaustive()
    }
}

impl ServerThread {
    /// Starts the thread.
    pub fn start() -> Result<ServerThread> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("the server runtime")?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                let _ = rt.block_on(stopped);
            })
            .context("the server thread")?;
        Ok(ServerThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The runtime's handle, to spawn servers on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
