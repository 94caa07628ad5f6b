//! The minimal loopback server the macro scenarios send to: it answers at once (or
//! after a fixed delay) with the vendor's success body (each route and answer comes
//! from a vendor's bench hook), keeps no state but counters, and can record what it
//! was sent, so that the baseline replays the connector's very bytes. It runs on its
//! own thread and Tokio runtime, so that the client under test has the other core to
//! itself.

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
use posbridge_core::descriptor::{BenchAnswer, BenchPaged};

/// How a route answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The same status and JSON body every time.
    Fixed(StatusCode, Bytes),
    /// Computed from each request's body by the vendor's hook.
    Computed(fn(&[u8]) -> (u16, Vec<u8>)),
    /// A paged list: the page the request asks for, of `pages.len()` pages, each
    /// answered by the vendor's hook around the prebuilt entries.
    Pages(BenchPaged, Arc<Vec<Bytes>>),
}

impl Answer {
    /// The answer a vendor's hook declares for a route.
    pub fn from_hook(answer: &BenchAnswer) -> Answer {
        match *answer {
            BenchAnswer::Fixed { status, body } => Answer::Fixed(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Bytes::from_static(body.as_bytes()),
            ),
            BenchAnswer::Computed(f) => Answer::Computed(f),
        }
    }
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
    replayed: Vec<&'static str>,
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

/// Headers a replay carries: the body's type and the credentials (`authorization`,
/// and those the vendors' hooks name).
fn replayed() -> Vec<&'static str> {
    let mut names = vec!["content-type", "authorization"];
    for v in posbridge_bench::vendors::all() {
        names.extend(v.hook.credential_headers());
    }
    names
}

impl MiniServer {
    /// Starts a server with `routes` (path → answer) on `rt`, answering each request
    /// after `delay` when given.
    pub async fn start(
        rt: &tokio::runtime::Handle,
        routes: Vec<(String, Answer)>,
        delay: Option<Duration>,
    ) -> Result<MiniServer> {
        let shared = Arc::new(Shared {
            routes: routes
                .into_iter()
                .map(|(path, answer)| {
                    (
                        path,
                        Route {
                            answer,
                            seen: Arc::new(Seen::default()),
                        },
                    )
                })
                .collect(),
            delay,
            capture: AtomicBool::new(false),
            replayed: replayed(),
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
            for name in &shared.replayed {
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
        Answer::Computed(answer) => {
            let (status, bytes) = answer(&body);
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Bytes::from(bytes),
            )
        }
        Answer::Pages(paged, pages) => (StatusCode::OK, page(paged, pages, query.as_deref())),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The page a request asks for, answered by the vendor's hook.
fn page(paged: &BenchPaged, pages: &[Bytes], query: Option<&str>) -> Bytes {
    let page = (paged.requested)(query);
    let entries = page.checked_sub(1).and_then(|i| pages.get(i)).map(|b| &b[..]);
    Bytes::from((paged.answer)(entries, page, pages.len(), paged.per_page))
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
