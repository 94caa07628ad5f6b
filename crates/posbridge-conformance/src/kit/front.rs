//! The raw HTTP front of the [hostile](super::hostile) kit: a std `TcpListener` that
//! misbehaves at the target as told and forwards every other request to httpmock (one
//! request per connection). It serves what httpmock cannot: 10 MB bodies, a stall
//! after the headers, a body shorter than its length, a connection closed mid-chunk.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The size of the [`Raw::TenMegabytes`] bodies.
pub const TEN_MB: usize = 10 * 1024 * 1024;

/// The endpoint that misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its method, as httpmock spells it (`"POST"`).
    pub method: &'static str,
    /// Its path, without the query.
    pub path: &'static str,
}

/// The misbehaviours of the raw front.
#[derive(Debug, Clone, Copy)]
pub enum Raw {
    /// 200 with `Content-Length: 10485760`, then the 10 MB.
    TenMegabytes,
    /// 200 without a length (the body ends when the connection does), 10 MB streamed.
    TenMegabytesStreamed,
    /// 200 with `Content-Length: 100`, then nothing for 10 s.
    HeadersThenStall,
    /// `Content-Length: 1000`, 38 bytes, then the connection closes.
    ShortBody,
    /// A chunked body whose connection closes after the first chunk.
    ClosedMidChunk,
}

/// A running front; its threads live as long as the test binary.
pub(crate) struct Front {
    pub(crate) base_url: String,
    /// How many requests reached the target.
    pub(crate) hits: Arc<AtomicUsize>,
}

impl Front {
    pub(crate) fn start(upstream: SocketAddr, target: Target, raw: Raw) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the raw front");
        let address = listener.local_addr().expect("the raw front's address");
        let base_url = format!("http://{address}/");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || serve_connection(conn, upstream, target, raw, &counter));
            }
        });
        Self { base_url, hits }
    }
}

fn serve_connection(mut conn: TcpStream, upstream: SocketAddr, target: Target, raw: Raw, hits: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((head, body)) = read_request(&mut conn) else {
        return;
    };
    let mut request_line = head.split(' ');
    let method = request_line.next().unwrap_or_default();
    let path = request_line
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    if method == target.method && path == target.path {
        hits.fetch_add(1, Ordering::SeqCst);
        misbehave(&mut conn, raw);
    } else {
        forward(&mut conn, upstream, &head, &body);
    }
}

fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Sends the request to httpmock with `connection: close` and relays the answer,
/// also marked `connection: close`.
fn forward(conn: &mut TcpStream, upstream: SocketAddr, head: &str, body: &[u8]) {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = up.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = up.write_all(close_connection(head).as_bytes());
    let _ = up.write_all(body);
    let mut response = Vec::new();
    let _ = up.read_to_end(&mut response);
    let Some(p) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let head = close_connection(&String::from_utf8_lossy(&response[..p + 4]));
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&response[p + 4..]);
}

fn close_connection(head: &str) -> String {
    let mut out: String = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("connection: close\r\n\r\n");
    out
}

fn misbehave(conn: &mut TcpStream, raw: Raw) {
    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n";
    match raw {
        Raw::TenMegabytes => {
            let _ = conn.write_all(format!("{ok}content-length: {TEN_MB}\r\n\r\n").as_bytes());
            let _ = conn.write_all(ten_megabytes());
        }
        Raw::TenMegabytesStreamed => {
            let _ = conn.write_all(format!("{ok}\r\n").as_bytes());
            let _ = conn.write_all(ten_megabytes());
        }
        Raw::HeadersThenStall => {
            let _ = conn.write_all(format!("{ok}content-length: 100\r\n\r\n").as_bytes());
            let _ = conn.flush();
            std::thread::sleep(Duration::from_secs(10));
        }
        Raw::ShortBody => {
            let _ = conn.write_all(format!("{ok}content-length: 1000\r\n\r\n").as_bytes());
            let _ = conn.write_all(br#"{"data": {"id": 42, "status": "boo"#);
        }
        Raw::ClosedMidChunk => {
            let _ = conn.write_all(format!("{ok}transfer-encoding: chunked\r\n\r\n").as_bytes());
            let _ = conn.write_all(b"20\r\n{\"data\": {\"id\": 42, \"status\": \"b\r\n");
        }
    }
    let _ = conn.flush();
}

/// The 10 MB body, made once for the whole test binary.
fn ten_megabytes() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let mut body = Vec::with_capacity(TEN_MB);
        body.extend_from_slice(b"{\"data\": [\"");
        body.resize(TEN_MB, b'a');
        body
    })
}
