//! Authentication components: what a request carries to prove who it is, and how
//! an expiring credential is renewed.
//!
//! - [`StaticAuth`]: fixed headers or query parameters (API keys, partner ids).
//! - [`RefreshableBearer`]: a bearer token from a [`TokenSource`] (a login, a
//!   refresh, an OAuth2 exchange, a chain of calls), renewed shortly before it
//!   expires and when the vendor refuses it, with **single-flight** renewal: however
//!   many calls find the token stale at once, one renewal runs and the others wait for
//!   its result.
//!
//! Every credential is a [`SecretString`]; `Debug` of anything here shows
//! `[REDACTED]`, and the header values are marked sensitive so `reqwest`/`hyper`
//! never log them.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// The credentials to put on one request. Produced by an [`Auth`]; opaque to
/// connectors.
#[derive(Clone)]
pub struct Credentials {
    headers: Vec<(HeaderName, SecretString)>,
    query: Vec<(String, SecretString)>,
    generation: u64,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let params: Vec<_> = self.query.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Credentials")
            .field("headers", &names)
            .field("query", &params)
            .field("values", &"[REDACTED]")
            .field("generation", &self.generation)
            .finish()
    }
}

impl Credentials {
    /// Credentials from headers and query parameters; `generation` identifies the
    /// token they came from (so a refusal renews only that one).
    pub fn new(headers: Vec<(HeaderName, SecretString)>, query: Vec<(String, SecretString)>, generation: u64) -> Self {
        Self {
            headers,
            query,
            generation,
        }
    }

    /// Which token these came from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Writes the credentials into a request's headers and query. Header values are
    /// marked sensitive.
    pub(crate) fn apply<'a>(&'a self, headers: &mut HeaderMap, query: &mut Vec<(&'a str, &'a str)>) -> Result<()> {
        for (name, value) in &self.headers {
            let mut v = HeaderValue::from_str(value.expose_secret())
                .map_err(|_| Error::config(format!("credential for header {name} is not a valid header value")))?;
            v.set_sensitive(true);
            headers.insert(name.clone(), v);
        }
        for (name, value) in &self.query {
            query.push((name.as_str(), value.expose_secret()));
        }
        Ok(())
    }
}

/// Something that authenticates requests.
#[async_trait]
pub trait Auth: Send + Sync + fmt::Debug {
    /// The credentials for the next request (renewing them first if needed).
    async fn credentials(&self) -> Result<Credentials>;

    /// The vendor refused `credentials`: drop them so the next
    /// [`Auth::credentials`] renews. Only meaningful when [`Auth::can_renew`].
    async fn rejected(&self, credentials: &Credentials) {
        let _ = credentials;
    }

    /// Whether a refused credential can be renewed (and so a refused request sent
    /// once more).
    fn can_renew(&self) -> bool {
        false
    }
}

/// Fixed credentials: headers and query parameters that never change.
#[derive(Clone, Default)]
pub struct StaticAuth {
    headers: Vec<(HeaderName, SecretString)>,
    query: Vec<(String, SecretString)>,
}

impl fmt::Debug for StaticAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Credentials::new(self.headers.clone(), self.query.clone(), 0).fmt(f)
    }
}

impl StaticAuth {
    /// No credentials yet; add them with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(token: &SecretString) -> Self {
        Self::new().header(
            AUTHORIZATION,
            &SecretString::from(format!("Bearer {}", token.expose_secret())),
        )
    }

    /// `Authorization: Basic <base64(username:password)>` (RFC 7617).
    pub fn basic(username: &str, password: &SecretString) -> Self {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.expose_secret()));
        Self::new().header(AUTHORIZATION, &SecretString::from(format!("Basic {encoded}")))
    }

    /// Adds a header carrying a secret.
    pub fn header(mut self, name: HeaderName, value: &SecretString) -> Self {
        self.headers.push((name, value.clone()));
        self
    }

    /// Adds a query parameter carrying a secret.
    pub fn query(mut self, name: impl Into<String>, value: &SecretString) -> Self {
        self.query.push((name.into(), value.clone()));
        self
    }
}

#[async_trait]
impl Auth for StaticAuth {
    async fn credentials(&self) -> Result<Credentials> {
        Ok(Credentials::new(self.headers.clone(), self.query.clone(), 0))
    }
}

/// A token as a [`TokenSource`] issues it.
#[derive(Clone)]
pub struct Token {
    /// The access (bearer) token.
    pub access: SecretString,
    /// The refresh token, when the vendor issues one.
    pub refresh: Option<SecretString>,
    /// When the access token stops working, when known.
    pub expires_at: Option<Instant>,
    /// Extra query parameters every request must carry with this token (e.g. a
    /// SalesMania team token).
    pub query: Vec<(String, SecretString)>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access", &"[REDACTED]")
            .field("refresh", &self.refresh.as_ref().map(|_| "[REDACTED]"))
            .field("expires_at", &self.expires_at)
            .field("query", &self.query.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl Token {
    /// An access token that expires `lifetime` from now (or never, when `None`).
    pub fn new(access: SecretString, lifetime: Option<Duration>) -> Self {
        Self {
            access,
            refresh: None,
            expires_at: lifetime.map(|d| Instant::now() + d),
            query: Vec::new(),
        }
    }

    /// Sets the refresh token.
    pub fn with_refresh(mut self, refresh: SecretString) -> Self {
        self.refresh = Some(refresh);
        self
    }

    /// Whether the token expires within `margin` from now.
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at.is_some_and(|at| at <= Instant::now() + margin)
    }
}

/// Where a [`RefreshableBearer`] gets tokens.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// Obtains a token. `previous` is the one being replaced (expired or refused),
    /// if any: use its refresh token, and fall back to a full login when the refresh
    /// is refused. Wrong credentials must end in [`Error::Auth`], not a loop.
    async fn fetch(&self, previous: Option<&Token>) -> Result<Token>;
}

struct State {
    token: Option<Arc<Token>>,
    generation: u64,
    stale: bool,
    /// The outcome of the last fetch, when it failed: callers that waited on that
    /// fetch get its error rather than starting another.
    last_error: Option<(u64, Error)>,
}

/// A bearer token that renews itself through a [`TokenSource`], single-flight.
pub struct RefreshableBearer<S> {
    source: S,
    state: Mutex<State>,
    /// Counts finished fetches; a caller reads it before waiting on the lock, so it
    /// can tell whether a failure it finds happened while it waited.
    completions: AtomicU64,
    refreshes: AtomicU64,
    margin: Duration,
}

impl<S: fmt::Debug> fmt::Debug for RefreshableBearer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshableBearer")
            .field("source", &self.source)
            .field("refreshes", &self.refreshes.load(Ordering::Relaxed))
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> RefreshableBearer<S> {
    /// Renews tokens 30 seconds before they expire.
    pub fn new(source: S) -> Self {
        Self::with_margin(source, Duration::from_secs(30))
    }

    /// Renews tokens `margin` before they expire.
    pub fn with_margin(source: S, margin: Duration) -> Self {
        Self {
            source,
            state: Mutex::new(State {
                token: None,
                generation: 0,
                stale: false,
                last_error: None,
            }),
            completions: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            margin,
        }
    }

    /// Starts with a token obtained elsewhere (e.g. loaded from a token store).
    pub fn with_token(self, token: Token) -> Self {
        if let Ok(mut st) = self.state.try_lock() {
            st.token = Some(Arc::new(token));
            st.generation = 1;
        }
        self
    }

    /// How many tokens have been fetched successfully.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// A current token, fetching one if there is none, it is about to expire, or the
    /// vendor refused it. Concurrent callers share one fetch.
    pub async fn token(&self) -> Result<(Arc<Token>, u64)> {
        let seen = self.completions.load(Ordering::Acquire);
        let mut st = self.state.lock().await;
        if let Some(t) = &st.token
            && !st.stale
            && !t.expires_within(self.margin)
        {
            return Ok((t.clone(), st.generation));
        }
        // A fetch finished while we waited and failed: share its error.
        if let Some((completed, e)) = &st.last_error
            && *completed > seen
        {
            return Err(e.clone());
        }
        let previous = st.token.clone();
        let fetched = self.source.fetch(previous.as_deref()).await;
        let completed = self.completions.fetch_add(1, Ordering::AcqRel) + 1;
        match fetched {
            Ok(t) => {
                let t = Arc::new(t);
                st.token = Some(t.clone());
                st.generation += 1;
                st.stale = false;
                st.last_error = None;
                self.refreshes.fetch_add(1, Ordering::Relaxed);
                Ok((t, st.generation))
            }
            Err(e) => {
                st.last_error = Some((completed, e.clone()));
                Err(e)
            }
        }
    }
}

#[async_trait]
impl<S: TokenSource> Auth for RefreshableBearer<S> {
    async fn credentials(&self) -> Result<Credentials> {
        let (token, generation) = self.token().await?;
        let bearer = SecretString::from(format!("Bearer {}", token.access.expose_secret()));
        Ok(Credentials::new(
            vec![(AUTHORIZATION, bearer)],
            token.query.clone(),
            generation,
        ))
    }

    async fn rejected(&self, credentials: &Credentials) {
        let mut st = self.state.lock().await;
        if st.generation == credentials.generation() {
            st.stale = true;
        }
    }

    fn can_renew(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
        fail: bool,
    }

    #[async_trait]
    impl TokenSource for Arc<Counting> {
        async fn fetch(&self, _previous: Option<&Token>) -> Result<Token> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.fail {
                return Err(Error::Auth {
                    vendor: "test",
                    message: "bad password".into(),
                });
            }
            Ok(Token::new(
                SecretString::from(format!("tok-{n}")),
                Some(Duration::from_secs(900)),
            ))
        }
    }

    #[tokio::test]
    async fn hundred_concurrent_callers_cause_one_refresh() {
        let src = Arc::new(Counting::default());
        let expired = Token {
            access: SecretString::from("old"),
            refresh: None,
            expires_at: Some(Instant::now()),
            query: vec![],
        };
        let auth = Arc::new(RefreshableBearer::new(src.clone()).with_token(expired));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let a = auth.clone();
            tasks.push(tokio::spawn(
                async move { a.credentials().await.map(|c| c.generation()) },
            ));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 2);
        }
        assert_eq!(src.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_refresh_is_shared_not_repeated_by_waiters() {
        let src = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            fail: true,
        });
        let auth = Arc::new(RefreshableBearer::new(src.clone()));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let a = auth.clone();
            tasks.push(tokio::spawn(async move { a.credentials().await }));
        }
        for t in tasks {
            assert!(matches!(t.await.unwrap(), Err(Error::Auth { .. })));
        }
        assert_eq!(src.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn rejection_renews_only_the_refused_generation() {
        let src = Arc::new(Counting::default());
        let auth = RefreshableBearer::new(src.clone());
        let c1 = auth.credentials().await.unwrap();
        auth.rejected(&c1).await;
        let c2 = auth.credentials().await.unwrap();
        assert_eq!(c2.generation(), c1.generation() + 1);
        // A late refusal of the old token does not throw away the new one.
        auth.rejected(&c1).await;
        let c3 = auth.credentials().await.unwrap();
        assert_eq!(c3.generation(), c2.generation());
        assert_eq!(src.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn basic_auth_is_rfc_7617() {
        let c = StaticAuth::basic("Aladdin", &SecretString::from("open sesame"))
            .credentials()
            .await
            .unwrap();
        let mut headers = HeaderMap::new();
        let mut query = Vec::new();
        c.apply(&mut headers, &mut query).unwrap();
        assert_eq!(headers[AUTHORIZATION], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(headers[AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let a = StaticAuth::bearer(&SecretString::from("s3cr3t-value")).query("k", &SecretString::from("q-secret"));
        let d = format!("{a:?}");
        assert!(!d.contains("s3cr3t-value") && !d.contains("q-secret"), "{d}");
        let t = Token::new(SecretString::from("acc-secret"), None).with_refresh(SecretString::from("ref-secret"));
        let d = format!("{t:?}");
        assert!(!d.contains("acc-secret") && !d.contains("ref-secret"), "{d}");
    }
}
