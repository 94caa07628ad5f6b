//! Asalta's OAuth2 authorization-code flow, the token store, and the
//! [`TokenSource`] the connector's [`RefreshableBearer`](posbridge_core::RefreshableBearer)
//! renews through.
//!
//! The flow (`posbridge auth asalta` drives it):
//! 1. [`AsaltaAuth::authorize_url`] gives the `/auth` URL to open and a
//!    [`CsrfState`] to keep;
//! 2. Asalta redirects to the redirect URI with `code` and `state`;
//!    [`AsaltaAuth::exchange_code`] (or [`AsaltaAuth::exchange_redirect`]) checks the
//!    state, exchanges the code at `/auth/token` within its 30 seconds, and saves the
//!    token in the [`TokenStore`];
//! 3. every later call reads the store; an expired or refused token is refreshed
//!    where Asalta gave a refresh token, and otherwise the call fails with
//!    [`Error::Auth`] saying to run `posbridge auth asalta`.
//!
//! The `oauth2` crate builds and parses the OAuth2 messages; its HTTP goes through
//! our own `reqwest` client ([`Transport::client`](posbridge_core::Transport::client)),
//! not its bundled one.

use std::fmt;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, RedirectUrl, RefreshToken,
    RequestTokenError, TokenResponse, TokenUrl,
};
use posbridge_core::error::vendor_message;
use posbridge_core::http::{ErrorDefaults, Request, Response, default_parse_error_with, response_error, send_error};
use posbridge_core::reqwest;
use posbridge_core::{Error, ExposeSecret, Result, SecretString, Token, TokenSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::VENDOR;
use crate::error::RUN_AUTH;
use crate::wire;

/// How long Asalta's authorization codes live.
pub const CODE_LIFETIME: Duration = Duration::from_secs(30);

/// How close to its expiry a stored token counts as expired.
const MARGIN: Duration = Duration::from_secs(30);

/// An access token with its refresh token and expiry, as a [`TokenStore`] keeps it.
/// `Debug` never shows the tokens.
#[derive(Clone)]
pub struct StoredToken {
    /// The bearer token.
    pub access_token: SecretString,
    /// The refresh token, when Asalta issued one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, when Asalta said.
    pub expires_at: Option<Timestamp>,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &"[REDACTED]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[REDACTED]"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl StoredToken {
    /// A token without refresh token or known expiry.
    pub fn new(access_token: SecretString) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: None,
        }
    }

    /// Whether it expires within `margin` from now.
    pub fn expires_within(&self, margin: Duration) -> bool {
        let margin = SignedDuration::try_from(margin).unwrap_or(SignedDuration::MAX);
        self.expires_at
            .is_some_and(|at| at.duration_since(Timestamp::now()) <= margin)
    }

    fn to_token(&self) -> Token {
        let lifetime = self.expires_at.map(|at| {
            let left = at.duration_since(Timestamp::now());
            Duration::try_from(left).unwrap_or(Duration::ZERO)
        });
        let mut t = Token::new(self.access_token.clone(), lifetime);
        t.refresh = self.refresh_token.clone();
        t
    }
}

/// The file form of a [`StoredToken`].
#[derive(Serialize, Deserialize)]
struct TokenFile {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
}

/// Where tokens are kept between runs.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored token, if any.
    fn load(&self) -> Result<Option<StoredToken>>;
    /// Replaces the stored token.
    fn save(&self, token: &StoredToken) -> Result<()>;
}

/// A token store in memory (tests, or a config that carries the token).
#[derive(Default)]
pub struct InMemoryTokenStore {
    token: Mutex<Option<StoredToken>>,
}

impl fmt::Debug for InMemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.token.lock().map(|t| t.is_some()).unwrap_or(false);
        f.debug_struct("InMemoryTokenStore")
            .field("holds_token", &held)
            .finish()
    }
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `token`.
    pub fn with_token(token: StoredToken) -> Self {
        Self {
            token: Mutex::new(Some(token)),
        }
    }
}

impl TokenStore for InMemoryTokenStore {
    fn load(&self) -> Result<Option<StoredToken>> {
        Ok(self.token.lock().map_err(|_| poisoned())?.clone())
    }

    fn save(&self, token: &StoredToken) -> Result<()> {
        *self.token.lock().map_err(|_| poisoned())? = Some(token.clone());
        Ok(())
    }
}

fn poisoned() -> Error {
    Error::config("asalta: the token store's lock is poisoned")
}

/// A token store in a JSON file, written atomically (a temporary file renamed over
/// it) and readable by its owner only (mode `0600` on Unix). What the CLI uses.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<StoredToken>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::config(format!(
                    "asalta: cannot read the token file {}: {e}",
                    self.path.display()
                )));
            }
        };
        let file: TokenFile = serde_json::from_str(&text).map_err(|e| {
            Error::config(format!(
                "asalta: the token file {} is not valid ({e}); {RUN_AUTH}",
                self.path.display()
            ))
        })?;
        Ok(Some(StoredToken {
            access_token: SecretString::from(file.access_token),
            refresh_token: file.refresh_token.map(SecretString::from),
            expires_at: file.expires_at,
        }))
    }

    fn save(&self, token: &StoredToken) -> Result<()> {
        let file = TokenFile {
            access_token: token.access_token.expose_secret().to_owned(),
            refresh_token: token.refresh_token.as_ref().map(|r| r.expose_secret().to_owned()),
            expires_at: token.expires_at,
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::config(format!("asalta: cannot encode the token: {e}")))?;
        let fail = |what: &str, e: std::io::Error| {
            Error::config(format!(
                "asalta: cannot {what} the token file {}: {e}",
                self.path.display()
            ))
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| fail("create the folder of", e))?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let written = options.open(&tmp).and_then(|mut f| {
            f.write_all(&bytes)?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("write", e));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).map_err(|e| fail("protect", e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail("replace", e)
        })
    }
}

/// The `state` sent with the authorize URL, to check against the one that comes
/// back (CSRF protection). `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfState(String);

impl fmt::Debug for CsrfState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfState([REDACTED])")
    }
}

impl CsrfState {
    /// A state from its text (as kept between the two steps, e.g. by a CLI).
    pub fn new(state: impl Into<String>) -> Self {
        Self(state.into())
    }

    /// The text to keep.
    pub fn secret(&self) -> &str {
        &self.0
    }

    fn matches(&self, returned: &str) -> bool {
        // Constant-time enough: compare every byte.
        let (a, b) = (self.0.as_bytes(), returned.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Why the token endpoint call failed below OAuth2.
#[derive(Debug)]
pub(crate) enum HttpFailure {
    Send(reqwest::Error),
    /// An answer that is not OAuth2's to read, classified as core classifies every
    /// call's ([`token_parse_error`]).
    Classified(Error),
    /// The answer is longer than the connector's `http.max_response_bytes`.
    TooLarge(usize),
    Build(String),
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(e) => write!(f, "{e}"),
            Self::Classified(e) => write!(f, "{e}"),
            Self::TooLarge(limit) => write!(f, "response body exceeds {limit} bytes"),
            Self::Build(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for HttpFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Send(e) => Some(e),
            Self::Classified(e) => Some(e),
            _ => None,
        }
    }
}

/// The token request, as core's classification sees it: a code exchange or a refresh
/// changes nothing when repeated after a failure, so it is read and classified like
/// an idempotent call.
fn token_request() -> Request {
    Request::post("oauth2_token", wire::TOKEN).idempotent(true)
}

/// The token endpoint's failures in the shared default's words: a redirect, a 429,
/// a 5xx. Asalta's own: any other 4xx (the caller lets the `oauth2` crate read those
/// in OAuth2's words) refuses the grant, which [`token_from`] words for the grant.
fn token_parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    const ERRORS: ErrorDefaults = ErrorDefaults::new(crate::error::MESSAGES);
    match response.status.as_u16() {
        status @ 400..=499 if status != 429 => Some(Error::Auth {
            vendor,
            message: format!(
                "HTTP {status}: {}",
                vendor_message(&response.body, &crate::error::MESSAGES)
            ),
        }),
        _ => match default_parse_error_with(vendor, response, &ERRORS)? {
            Error::Unavailable {
                vendor,
                status,
                message,
            } => Some(Error::Unavailable {
                vendor,
                status,
                message: format!("the token endpoint answered {message}"),
            }),
            other => Some(other),
        },
    }
}

/// `oauth2`'s HTTP client interface over our `reqwest` client. It also makes
/// Asalta's token answer standard: a missing `token_type` is `bearer`, an
/// `expires_in` sent as a string is read as a number; a redirect, 429, 5xx and 4xx
/// answers without an OAuth2 `error` field become [`HttpFailure::Classified`]. Like
/// the transport, it reads at most `max_response_bytes` of an answer.
#[derive(Debug, Clone)]
pub(crate) struct OAuthHttp {
    client: reqwest::Client,
    max_response_bytes: usize,
}

impl OAuthHttp {
    /// The whole body, unless it is longer than the cap.
    async fn read_body(&self, mut response: reqwest::Response) -> std::result::Result<Vec<u8>, HttpFailure> {
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(HttpFailure::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| HttpFailure::Send(e.without_url()))? {
            if body.len() + chunk.len() > limit {
                return Err(HttpFailure::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = HttpFailure;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<oauth2::HttpResponse, HttpFailure>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = reqwest::Request::try_from(request).map_err(|e| HttpFailure::Send(e.without_url()))?;
            // Like every Asalta call (the `oauth2` crate sets it too; this does not
            // depend on that).
            let (name, value) = wire::accept_json();
            request.headers_mut().insert(name, value);
            let response = self
                .client
                .execute(request)
                .await
                .map_err(|e| HttpFailure::Send(e.without_url()))?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = self.read_body(response).await?;
            token_endpoint_answer(status, headers, body)
        })
    }
}

/// What the `oauth2` crate is handed for the token endpoint's answer (status, headers
/// and the body read in full): a success, or a 4xx with an OAuth2 `error` field.
/// Any other answer is classified as core's transport classifies every call's
/// ([`response_error`]: a redirect is [`Error::Redirected`], a 429
/// [`Error::RateLimited`], a 5xx [`Error::Unavailable`]) with the token endpoint's
/// own words ([`token_parse_error`]), as [`HttpFailure::Classified`]. A successful
/// JSON object gets the `token_type` Asalta leaves out and a numeric `expires_in`.
pub(crate) fn token_endpoint_answer(
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Vec<u8>,
) -> std::result::Result<oauth2::HttpResponse, HttpFailure> {
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let code = status.as_u16();
    let standard_error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .is_some_and(Value::is_string);
    let for_oauth2 = status.is_success() || (standard_error && (400..500).contains(&code) && code != 429);
    if !for_oauth2 {
        let response = Response {
            status,
            headers: headers.clone(),
            body: body.clone().into(),
        };
        if let Some(e) = response_error(VENDOR, &token_request(), &response, token_parse_error) {
            return Err(HttpFailure::Classified(e));
        }
    }
    let body = match parsed {
        Some(Value::Object(mut o)) if status.is_success() => {
            if !o.contains_key("token_type") {
                o.insert("token_type".into(), Value::String("bearer".into()));
            }
            if let Some(Value::String(s)) = o.get("expires_in")
                && let Ok(n) = s.trim().parse::<u64>()
            {
                o.insert("expires_in".into(), Value::from(n));
            }
            serde_json::to_vec(&Value::Object(o)).map_err(|e| HttpFailure::Build(e.to_string()))?
        }
        _ => body,
    };
    let mut builder = http::Response::builder().status(status);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
        h.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        h.remove(http::header::CONTENT_LENGTH);
    }
    builder.body(body).map_err(|e| HttpFailure::Build(e.to_string()))
}

/// Asalta's OAuth2 client: the authorize URL, the code exchange, the refresh, and
/// the token store they write to. `Debug` shows no secret.
pub struct AsaltaAuth {
    http: OAuthHttp,
    base_url: Url,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    redirect_uri: Option<String>,
    store: Arc<dyn TokenStore>,
}

impl fmt::Debug for AsaltaAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsaltaAuth")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[REDACTED]"))
            .field("redirect_uri", &self.redirect_uri)
            .field("store", &self.store)
            .finish()
    }
}

/// The pieces of an OAuth2 client, as the config gives them.
pub(crate) struct OAuthSettings {
    pub base_url: Url,
    /// The longest token answer read (the connector's `http.max_response_bytes`).
    pub max_response_bytes: usize,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub redirect_uri: Option<String>,
    pub store: Arc<dyn TokenStore>,
}

type Configured = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    oauth2::StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

impl AsaltaAuth {
    pub(crate) fn new(client: reqwest::Client, settings: OAuthSettings) -> Self {
        Self {
            http: OAuthHttp {
                client,
                max_response_bytes: settings.max_response_bytes,
            },
            base_url: settings.base_url,
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            redirect_uri: settings.redirect_uri,
            store: settings.store,
        }
    }

    /// The token store.
    pub fn store(&self) -> &dyn TokenStore {
        self.store.as_ref()
    }

    /// A token endpoint error without the credentials the request carried (the
    /// client secret, and the code or refresh token `grant`), should Asalta echo them.
    fn scrub(&self, e: Error, grant: &str) -> Error {
        let secret = self.client_secret.as_ref().map_or("", |s| s.expose_secret());
        e.redact_secrets(&[secret, grant])
    }

    fn endpoint(&self, path: &str) -> Result<Url> {
        self.base_url
            .join(path)
            .map_err(|e| Error::config(format!("asalta: bad base_url for {path}: {e}")))
    }

    fn client(&self, need_redirect: bool) -> Result<Configured> {
        let id = self
            .client_id
            .clone()
            .ok_or_else(|| Error::config("asalta: client_id is not configured (it is needed for the OAuth2 flow)"))?;
        let mut client = BasicClient::new(ClientId::new(id))
            .set_auth_uri(AuthUrl::from_url(self.endpoint(wire::AUTHORIZE)?))
            .set_token_uri(TokenUrl::from_url(self.endpoint(wire::TOKEN)?))
            // Asalta reads client_id and client_secret from the request body.
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        match &self.redirect_uri {
            Some(r) => {
                let url = Url::parse(r).map_err(|e| Error::config(format!("asalta: bad redirect_uri {r:?}: {e}")))?;
                client = client.set_redirect_uri(RedirectUrl::from_url(url));
            }
            None if need_redirect => {
                return Err(Error::config("asalta: redirect_uri is not configured"));
            }
            None => {}
        }
        Ok(client)
    }

    /// The URL to send the user to (`/auth`), and the state to check on return.
    ///
    /// ```no_run
    /// # fn run(asalta: posbridge_asalta::Asalta) -> posbridge_core::Result<()> {
    /// let (url, state) = asalta.auth().authorize_url()?;
    /// println!("open {url}");
    /// # let _ = state; Ok(()) }
    /// ```
    pub fn authorize_url(&self) -> Result<(Url, CsrfState)> {
        let client = self.client(true)?;
        let (url, state) = client.authorize_url(CsrfToken::new_random).url();
        Ok((url, CsrfState(state.secret().to_owned())))
    }

    /// Checks the returned `state`, exchanges `code` at `/auth/token`, saves the token
    /// in the store and returns it. A state that does not match is refused before
    /// anything is sent; a code Asalta refuses (they live 30 seconds) is an
    /// [`Error::Auth`] saying to start again.
    ///
    /// ```no_run
    /// # async fn run(asalta: posbridge_asalta::Asalta, state: posbridge_asalta::CsrfState) -> posbridge_core::Result<()> {
    /// asalta.auth().exchange_code("Xk2q", "state-from-the-redirect", &state).await?;
    /// # Ok(()) }
    /// ```
    pub async fn exchange_code(&self, code: &str, returned_state: &str, expected: &CsrfState) -> Result<StoredToken> {
        if !expected.matches(returned_state) {
            return Err(Error::Auth {
                vendor: VENDOR,
                message: format!(
                    "the state returned with the authorization code does not match the one sent (possible CSRF); \
                     nothing was exchanged; {RUN_AUTH}"
                ),
            });
        }
        let code = code.trim();
        if code.is_empty() {
            return Err(Error::invalid("code", "the authorization code is empty"));
        }
        let client = self.client(true)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(&self.http)
            .await;
        let token = token_from(answer, Grant::Code).map_err(|e| self.scrub(e, code))?;
        self.store.save(&token)?;
        Ok(token)
    }

    /// Like [`AsaltaAuth::exchange_code`], reading `code` and `state` (or Asalta's
    /// `error`) from the URL Asalta redirected to.
    ///
    /// ```no_run
    /// # async fn run(asalta: posbridge_asalta::Asalta, state: posbridge_asalta::CsrfState) -> posbridge_core::Result<()> {
    /// asalta.auth().exchange_redirect("http://127.0.0.1:8765/callback?code=Xk2q&state=abc", &state).await?;
    /// # Ok(()) }
    /// ```
    pub async fn exchange_redirect(&self, redirect: &str, expected: &CsrfState) -> Result<StoredToken> {
        let url = Url::parse(redirect).map_err(|e| Error::invalid("redirect", format!("not a URL: {e}")))?;
        let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        if let Some(error) = param("error") {
            return Err(Error::Auth {
                vendor: VENDOR,
                message: format!("Asalta did not authorize posbridge ({error}); {RUN_AUTH}"),
            });
        }
        let code = param("code").ok_or_else(|| Error::invalid("redirect", "the URL has no `code`"))?;
        let state = param("state").unwrap_or_default();
        self.exchange_code(&code, &state, expected).await
    }

    /// Exchanges a refresh token for a new token and saves it.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<StoredToken> {
        let client = self.client(false)?;
        let answer = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.expose_secret().to_owned()))
            .request_async(&self.http)
            .await;
        let mut token = token_from(answer, Grant::Refresh).map_err(|e| self.scrub(e, refresh_token.expose_secret()))?;
        // Asalta may not rotate refresh tokens: keep the one we had.
        if token.refresh_token.is_none() {
            token.refresh_token = Some(refresh_token.clone());
        }
        self.store.save(&token)?;
        Ok(token)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Grant {
    Code,
    Refresh,
}

pub(crate) fn token_from(
    answer: std::result::Result<
        oauth2::basic::BasicTokenResponse,
        RequestTokenError<HttpFailure, oauth2::basic::BasicErrorResponse>,
    >,
    grant: Grant,
) -> Result<StoredToken> {
    let refused = |detail: String| {
        let message = match grant {
            Grant::Code => format!(
                "Asalta refused the authorization code ({detail}); codes live {} seconds, so finish the \
                 authorization promptly; {RUN_AUTH}",
                CODE_LIFETIME.as_secs()
            ),
            Grant::Refresh => format!("Asalta refused the refresh token ({detail}); {RUN_AUTH}"),
        };
        Error::Auth {
            vendor: VENDOR,
            message,
        }
    };
    match answer {
        Ok(r) => {
            let expires_at = r
                .expires_in()
                .and_then(|d| SignedDuration::try_from(d).ok())
                .and_then(|d| Timestamp::now().checked_add(d).ok());
            Ok(StoredToken {
                access_token: SecretString::from(r.access_token().secret().to_owned()),
                refresh_token: r.refresh_token().map(|t| SecretString::from(t.secret().to_owned())),
                expires_at,
            })
        }
        Err(RequestTokenError::ServerResponse(e)) => {
            let detail = match e.error_description() {
                Some(d) => format!("{}: {}", e.error(), posbridge_core::error::excerpt(d.as_bytes())),
                None => e.error().to_string(),
            };
            match e.error() {
                BasicErrorResponseType::InvalidRequest | BasicErrorResponseType::UnsupportedGrantType => {
                    Err(Error::Rejected {
                        vendor: VENDOR,
                        status: Some(400),
                        code: Some(e.error().to_string()),
                        message: detail,
                    })
                }
                _ => Err(refused(detail)),
            }
        }
        Err(RequestTokenError::Request(HttpFailure::Classified(e))) => Err(match e {
            Error::Auth { message, .. } => refused(message),
            other => other,
        }),
        Err(RequestTokenError::Request(HttpFailure::TooLarge(limit))) => Err(Error::Decode {
            vendor: VENDOR,
            message: format!("the token answer's response body exceeds {limit} bytes"),
            excerpt: String::new(),
        }),
        // Not connected (a transport failure), or sent but the answer timed out or
        // broke off: an outage, as the transport decides for an idempotent call (a
        // refresh or a code exchange that failed is tried again).
        Err(RequestTokenError::Request(HttpFailure::Send(e))) => Err(send_error(VENDOR, &token_request(), e)),
        Err(RequestTokenError::Request(e)) => Err(Error::Transport {
            vendor: VENDOR,
            message: format!("the token endpoint could not be reached: {e}"),
            source: Some(Arc::new(e)),
        }),
        Err(RequestTokenError::Parse(e, body)) => Err(Error::decode(
            VENDOR,
            format!("the token answer is not an OAuth2 token: {e}"),
            &body,
        )),
        Err(RequestTokenError::Other(m)) => Err(Error::decode(VENDOR, m, b"")),
    }
}

/// The connector's [`TokenSource`]: the stored token, refreshed when it expires or
/// is refused and Asalta gave a refresh token; otherwise an [`Error::Auth`] saying to
/// run `posbridge auth asalta`.
#[derive(Debug, Clone)]
pub(crate) struct AsaltaTokens {
    pub auth: Arc<AsaltaAuth>,
}

#[async_trait]
impl TokenSource for AsaltaTokens {
    async fn fetch(&self, previous: Option<&Token>) -> Result<Token> {
        let stored = self.auth.store.load()?;
        let refresh = match previous {
            Some(prev) => {
                // `posbridge auth asalta` may have stored a new token meanwhile.
                if let Some(s) = &stored
                    && s.access_token.expose_secret() != prev.access.expose_secret()
                    && !s.expires_within(MARGIN)
                {
                    return Ok(s.to_token());
                }
                prev.refresh.clone().or_else(|| stored.and_then(|s| s.refresh_token))
            }
            None => match stored {
                None => {
                    return Err(Error::Auth {
                        vendor: VENDOR,
                        message: format!("posbridge holds no Asalta token; {RUN_AUTH}"),
                    });
                }
                Some(s) if !s.expires_within(MARGIN) => return Ok(s.to_token()),
                Some(s) => s.refresh_token,
            },
        };
        match refresh {
            Some(r) => Ok(self.auth.refresh(&r).await?.to_token()),
            None => Err(Error::Auth {
                vendor: VENDOR,
                message: format!(
                    "the Asalta access token has expired or was revoked, and there is no refresh token; {RUN_AUTH}"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn file_store_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens").join("asalta.json");
        let store = FileTokenStore::new(&path);
        assert!(store.load().unwrap().is_none());
        let token = StoredToken {
            access_token: SecretString::from("acc-1"),
            refresh_token: Some(SecretString::from("ref-1")),
            expires_at: Some(Timestamp::from_second(2_000_000_000).unwrap()),
        };
        store.save(&token).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.access_token.expose_secret(), "acc-1");
        assert_eq!(back.refresh_token.as_ref().unwrap().expose_secret(), "ref-1");
        assert_eq!(back.expires_at, token.expires_at);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(!format!("{back:?}").contains("acc-1"));
    }

    #[test]
    fn state_is_compared_whole() {
        let s = CsrfState::new("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abd") && !s.matches("ab") && !s.matches(""));
        assert!(!format!("{s:?}").contains("abc"));
    }
}
