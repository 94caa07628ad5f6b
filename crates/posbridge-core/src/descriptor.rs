//! How a vendor crate describes itself, once: [`VendorDescriptor`].
//!
//! Each vendor crate exports one `DESCRIPTOR`; the facade's registry lists them, and
//! everything that used to name vendors one by one (the facade's `connect` and
//! `vendors()`, the CLI's config template, `check`, secret variables and `demo`, the
//! fuzz target, the benchmarks through a [`BenchHook`]) reads the descriptors instead.
//! Adding a vendor is a new crate and one registry line.
//!
//! ```
//! use posbridge_core::{Capabilities, ConnectorConfig, Operation, VendorDescriptor};
//! # use posbridge_core::{Connector, Result};
//! # #[derive(serde::Deserialize)]
//! # struct Config;
//! # impl ConnectorConfig for Config {
//! #     fn connect(self) -> Result<Box<dyn Connector>> { Err(posbridge_core::Error::config("example")) }
//! # }
//!
//! fn capabilities() -> Capabilities {
//!     Capabilities::new([Operation::PushSale])
//! }
//!
//! /// What the facade, the CLI and the tools know of this vendor.
//! pub const DESCRIPTOR: VendorDescriptor = VendorDescriptor::new(
//!     "kedai",
//!     "Kedai",
//!     "posbridge-kedai",
//!     capabilities,
//!     posbridge_core::descriptor::connect_json::<Config>,
//! )
//! .with_country("Malaysia")
//! .with_summary("sales")
//! .with_secret_fields(&["token"])
//! .with_config_template("[kedai]\nbase_url = \"https://api.kedai.example/\"\n# token: POSBRIDGE_KEDAI_TOKEN\n");
//!
//! assert_eq!(DESCRIPTOR.name(), "kedai");
//! assert_eq!(DESCRIPTOR.secret_variable("token"), "POSBRIDGE_KEDAI_TOKEN");
//! assert!(DESCRIPTOR.capabilities().supports(Operation::PushSale));
//! ```

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::http::{HttpConfig, Request};
use crate::model::Sale;
use crate::traits::{BoxFuture, Capabilities, Connector, ConnectorConfig};

/// Builds a connector from a JSON value holding the vendor's config (the section of a
/// config file, without the `vendor` tag).
pub type ConnectFn = fn(serde_json::Value) -> Result<Box<dyn Connector>>;

/// Reads fuzz input (see [`crate::fuzzing`]) the way the connector reads the vendor's
/// answers; panics only when a promise is broken (a fuzz target's finding).
pub type FuzzFn = fn(&[u8]);

/// [`ConnectFn`] for any [`ConnectorConfig`]: the value is deserialized (unknown
/// fields refused where the config says so) and connected. No request is sent.
pub fn connect_json<C: ConnectorConfig>(value: serde_json::Value) -> Result<Box<dyn Connector>> {
    let config: C =
        serde_json::from_value(value).map_err(|e| Error::config(format!("the section is not valid: {e}")))?;
    config.connect()
}

/// One vendor as the rest of posbridge sees it: names, what it offers, its config
/// (secret fields, a commented template) and the hooks the tools call.
///
/// Built in a `const` with [`VendorDescriptor::new`] and the chained `with_…` setters, so that
/// a field added later does not break a vendor crate.
#[derive(Clone, Copy)]
pub struct VendorDescriptor {
    name: &'static str,
    display_name: &'static str,
    crate_name: &'static str,
    country: &'static str,
    summary: &'static str,
    capabilities: fn() -> Capabilities,
    connect: ConnectFn,
    secret_fields: &'static [&'static str],
    config_template: &'static str,
    fuzz: Option<FuzzFn>,
    bench: Option<BenchHook>,
    documented: &'static [Documented],
}

/// The shape of a documented operation, which decides the conformance cases it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Shape {
    /// Reads one record.
    Read,
    /// Reads a list (paged or not).
    List,
    /// Writes.
    Write,
    /// Obtains or renews credentials (a login, a token endpoint).
    Auth,
    /// A page the user's browser visits (an OAuth2 authorize page): the connector sends
    /// no request there, only builds the URL, so no HTTP case can show it; the
    /// vendor's own tests cover the URL and its notes say which.
    Browser,
}

/// What performs a documented operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Via {
    /// A capability trait's operation (`push_sale`).
    Operation(crate::traits::Operation),
    /// The vendor's own call of that name, reached through
    /// [`Connector::call`] (`tax_rates`).
    Call(&'static str),
    /// Every authenticated call (a login or token renewal the connector makes on the
    /// way); its fixtures are those of the operations that run it.
    Authentication,
}

impl Via {
    /// The name conformance fixtures use: the operation's, the call's, or `auth`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Operation(op) => op.as_str(),
            Self::Call(name) => name,
            Self::Authentication => "auth",
        }
    }
}

/// One operation of the vendor's own API document: what the conformance matrix has a
/// row for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Documented {
    /// The endpoint as the document names it (`GET /pos/taxrates`).
    pub endpoint: &'static str,
    /// Its shape.
    pub shape: Shape,
    /// What performs it.
    pub via: Via,
}

impl Documented {
    /// A documented operation.
    pub const fn new(endpoint: &'static str, shape: Shape, via: Via) -> Self {
        Self { endpoint, shape, via }
    }
}

impl VendorDescriptor {
    /// A descriptor with the vendor's short name (`cloudma`: the config section, the
    /// `vendor` tag, the path prefix in the sandbox, the feature), its display name
    /// (`CloudMA`), its crate, what it offers and how to connect.
    pub const fn new(
        name: &'static str,
        display_name: &'static str,
        crate_name: &'static str,
        capabilities: fn() -> Capabilities,
        connect: ConnectFn,
    ) -> Self {
        Self {
            name,
            display_name,
            crate_name,
            country: "",
            summary: "",
            capabilities,
            connect,
            secret_fields: &[],
            config_template: "",
            fuzz: None,
            bench: None,
            documented: &[],
        }
    }

    /// Every operation of the vendor's own API document, and what performs each: the
    /// conformance matrix's rows.
    #[must_use]
    pub const fn with_documented(mut self, documented: &'static [Documented]) -> Self {
        self.documented = documented;
        self
    }

    /// The operations of the vendor's own API document.
    pub const fn documented(&self) -> &'static [Documented] {
        self.documented
    }

    /// The country the vendor serves (`Sri Lanka`).
    #[must_use]
    pub const fn with_country(mut self, country: &'static str) -> Self {
        self.country = country;
        self
    }

    /// One line on what the connector offers, for tables and `--help`.
    #[must_use]
    pub const fn with_summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    /// The config fields that hold secrets; a CLI reads each from the environment
    /// variable [`VendorDescriptor::secret_variable`] when set.
    #[must_use]
    pub const fn with_secret_fields(mut self, fields: &'static [&'static str]) -> Self {
        self.secret_fields = fields;
        self
    }

    /// The commented TOML section `posbridge config init` writes for this vendor.
    #[must_use]
    pub const fn with_config_template(mut self, template: &'static str) -> Self {
        self.config_template = template;
        self
    }

    /// The fuzz entry point for the vendor's answers.
    #[must_use]
    pub const fn with_fuzz(mut self, fuzz: FuzzFn) -> Self {
        self.fuzz = Some(fuzz);
        self
    }

    /// What the benchmarks (`posbridge-bench`) need of this vendor.
    #[must_use]
    pub const fn with_bench(mut self, bench: BenchHook) -> Self {
        self.bench = Some(bench);
        self
    }

    /// The short name: config section, `vendor` tag, feature, sandbox prefix.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The name as the vendor writes it.
    pub const fn display_name(&self) -> &'static str {
        self.display_name
    }

    /// The crate implementing it.
    pub const fn crate_name(&self) -> &'static str {
        self.crate_name
    }

    /// The country the vendor serves.
    pub const fn country(&self) -> &'static str {
        self.country
    }

    /// One line on what the connector offers.
    pub const fn summary(&self) -> &'static str {
        self.summary
    }

    /// What the connector offers.
    pub fn capabilities(&self) -> Capabilities {
        (self.capabilities)()
    }

    /// The config fields that hold secrets.
    pub const fn secret_fields(&self) -> &'static [&'static str] {
        self.secret_fields
    }

    /// The environment variable a CLI reads `field` from: `POSBRIDGE_<VENDOR>_<FIELD>`.
    pub fn secret_variable(&self, field: &str) -> String {
        format!("POSBRIDGE_{}_{}", self.name, field).to_ascii_uppercase()
    }

    /// The commented TOML section for a new config file.
    pub const fn config_template(&self) -> &'static str {
        self.config_template
    }

    /// Builds a connector from the vendor's config section. No request is sent.
    pub fn connect(&self, config: serde_json::Value) -> Result<Box<dyn Connector>> {
        (self.connect)(config).map_err(|e| match e {
            Error::Config { reason } => Error::config(format!("[{}]: {reason}", self.name)),
            other => other,
        })
    }

    /// The fuzz entry point, when the vendor has one.
    pub const fn fuzz(&self) -> Option<FuzzFn> {
        self.fuzz
    }

    /// The benchmarks' hook, when the vendor has one.
    pub const fn bench(&self) -> Option<&BenchHook> {
        self.bench.as_ref()
    }
}

impl fmt::Debug for VendorDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorDescriptor")
            .field("name", &self.name)
            .field("crate_name", &self.crate_name)
            .field("country", &self.country)
            .field("secret_fields", &self.secret_fields)
            .finish_non_exhaustive()
    }
}

// ------------------------------------------------------------------ benchmarks

/// Builds a vendor's [`BenchClient`] for a benchmark run.
pub type BenchClientFn = fn(&BenchSetup<'_>) -> Result<Box<dyn BenchClient>>;

/// The mapping benchmark's baseline: serializes a wire value built once, with plain
/// serde, to the bytes of the request body posbridge builds ([`json_baseline`],
/// [`form_baseline`]).
pub type BenchEncode = Box<dyn Fn() -> Result<Vec<u8>> + Send + Sync>;

/// The streaming baseline ([`BenchPaged::raw_count`]): a hand-written loop over every
/// page of the list at a URL with a plain client; how many entries it read.
pub type BenchRawCount = for<'a> fn(&'a reqwest::Client, &'a str) -> BoxFuture<'a, Result<usize>>;

/// The body answering one page of a [`BenchPaged`] list: `(entries, page, pages,
/// per_page)`, the page's prebuilt entries (`None` past the last page), its number
/// (1-based), the number of pages and the entries per page.
pub type BenchPageAnswer = fn(Option<&[u8]>, usize, usize, usize) -> Vec<u8>;

/// What a benchmark run hands a vendor's [`BenchHook`] to build its client with.
#[derive(Debug, Clone)]
pub struct BenchSetup<'a> {
    /// The base URL the connector sends to (the minimal loopback server's
    /// `/<name>/`, or the sandbox's). Nothing is sent until a benchmark calls.
    pub base_url: &'a str,
    /// The product codes of the benchmark sale's lines, in order. A vendor that needs
    /// ids of its own maps each code explicitly (an id derived from its position), so
    /// that mapping a sale sends no request.
    pub products: &'a [String],
    /// The HTTP settings of every benchmarked connector.
    pub http: HttpConfig,
}

/// One vendor's connector as the benchmarks drive it: the vendor crate's bench
/// module holds its concrete client and answers through this object-safe trait, so
/// that `posbridge-bench` names no vendor type.
pub trait BenchClient: Send + Sync {
    /// The connector, for `push_sale`, `push_sales` and the outbox.
    fn connector(&self) -> Arc<dyn Connector>;

    /// posbridge's side of the mapping benchmark: the request `push_sale` would send
    /// first for `sale`, built by the same steps (totals reconciled, the vendor's
    /// rules checked, ids looked up in the explicit map, mapped, encoded). Nothing is
    /// sent.
    fn sale_request<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<Request>>;

    /// The mapping benchmark's baseline for `sale`: the wire value
    /// [`BenchClient::sale_request`] encodes, built once now, and an encoder that
    /// serializes it with plain serde to the same bytes each time it is called.
    fn sale_baseline<'a>(&'a self, sale: &'a Sale) -> BoxFuture<'a, Result<BenchEncode>>;

    /// Reads every entry of the vendor's [`BenchPaged`] list through the connector's
    /// own lazy page stream; how many. `Unsupported` unless the hook has
    /// [`BenchHook::paged`].
    fn count_paged(&self) -> BoxFuture<'_, Result<usize>> {
        let vendor = self.connector().vendor();
        Box::pin(async move {
            Err(Error::Unsupported {
                vendor,
                operation: "count_paged",
                offers: Vec::new(),
            })
        })
    }
}

/// How the minimal loopback server answers a route.
#[derive(Debug, Clone, Copy)]
pub enum BenchAnswer {
    /// The same status and JSON body every time (the vendor's success answer, from
    /// its document).
    Fixed {
        /// The HTTP status.
        status: u16,
        /// The JSON body.
        body: &'static str,
    },
    /// An answer computed from each request's body (one naming what was sent): the
    /// HTTP status and the JSON body.
    Computed(fn(&[u8]) -> (u16, Vec<u8>)),
}

/// A route the minimal loopback server serves for a vendor.
#[derive(Debug, Clone, Copy)]
pub struct BenchRoute {
    /// The path under the vendor's base URL, without a leading `/` (`api/push-sale`).
    pub path: &'static str,
    /// How the route answers.
    pub answer: BenchAnswer,
}

/// A paged list the vendor's connector streams lazily, served by the minimal
/// loopback server from pages built once (the streaming scenario).
#[derive(Debug, Clone, Copy)]
pub struct BenchPaged {
    /// The connector's stream as the table names it (`items()`).
    pub stream: &'static str,
    /// The list's path under the vendor's base URL, without a leading `/`.
    pub path: &'static str,
    /// Entries on each page.
    pub per_page: usize,
    /// The entries of page `index` (0-based) as the JSON array of an answer, shaped as
    /// the vendor's document shows them; `per_page` of them.
    pub entries: fn(index: usize, per_page: usize) -> Vec<u8>,
    /// The page (1-based) a request asks for, from its query string.
    pub requested: fn(query: Option<&str>) -> usize,
    /// The body answering page `page` of `pages` around its prebuilt `entries`
    /// (`None` past the last page), with status 200.
    pub answer: BenchPageAnswer,
    /// The streaming baseline: what a hand-written client does, a plain page loop over
    /// the list at a URL, each page parsed straight into the vendor's typed entries.
    pub raw_count: BenchRawCount,
}

/// What the benchmarks (`posbridge-bench`, `cargo xtask bench`) need of a vendor,
/// declared by the vendor crate's `#[doc(hidden)] pub mod bench` and registered with
/// [`VendorDescriptor::with_bench`]. The bench iterates the registry and picks each
/// scenario's vendors by what their hooks and capabilities declare, never by name.
///
/// Built in a `const` with [`BenchHook::new`] and the `with_…` setters:
///
/// ```
/// use posbridge_core::descriptor::{BenchAnswer, BenchClient, BenchHook, BenchRoute, BenchSetup};
/// # fn client(_: &BenchSetup<'_>) -> posbridge_core::Result<Box<dyn BenchClient>> {
/// #     Err(posbridge_core::Error::config("example"))
/// # }
///
/// const HOOK: BenchHook = BenchHook::new(client).with_push(BenchRoute {
///     path: "api/push-sale",
///     answer: BenchAnswer::Fixed { status: 201, body: r#"{"data":{"id":1}}"# },
/// });
/// assert!(HOOK.push().is_some() && HOOK.login().is_none() && HOOK.paged().is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BenchHook {
    client: BenchClientFn,
    push: Option<BenchRoute>,
    login: Option<BenchRoute>,
    credential_headers: &'static [&'static str],
    credentials_in_body: bool,
    paged: Option<BenchPaged>,
}

impl BenchHook {
    /// A hook building the vendor's [`BenchClient`] with `client`: a connector for
    /// [`BenchSetup::base_url`] with bench credentials (the vendor's documented example
    /// ones where it has them), every bench product mapped, sales without a customer
    /// going to a walk-in customer.
    pub const fn new(client: BenchClientFn) -> Self {
        Self {
            client,
            push: None,
            login: None,
            credential_headers: &[],
            credentials_in_body: false,
            paged: None,
        }
    }

    /// The route `push_sale` and `push_sales` send sales to, and its answer.
    #[must_use]
    pub const fn with_push(mut self, route: BenchRoute) -> Self {
        self.push = Some(route);
        self
    }

    /// A route a push goes through first (a login), and its answer.
    #[must_use]
    pub const fn with_login(mut self, route: BenchRoute) -> Self {
        self.login = Some(route);
        self
    }

    /// The request headers, besides `content-type` and `authorization`, that carry the
    /// credentials (lower case), which a raw baseline replays.
    #[must_use]
    pub const fn with_credential_headers(mut self, headers: &'static [&'static str]) -> Self {
        self.credential_headers = headers;
        self
    }

    /// Says the push request carries its credentials in its body, so that its body
    /// alone, replayed, is accepted (by the sandbox, with the bench credentials).
    #[must_use]
    pub const fn with_credentials_in_body(mut self) -> Self {
        self.credentials_in_body = true;
        self
    }

    /// A paged list the connector streams, for the streaming scenario.
    #[must_use]
    pub const fn with_paged(mut self, paged: BenchPaged) -> Self {
        self.paged = Some(paged);
        self
    }

    /// Builds the vendor's bench client for `setup`. No request is sent.
    pub fn client(&self, setup: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
        (self.client)(setup)
    }

    /// The route pushes go to, when the hook declares one.
    pub const fn push(&self) -> Option<&BenchRoute> {
        self.push.as_ref()
    }

    /// The route a push goes through first, when there is one.
    pub const fn login(&self) -> Option<&BenchRoute> {
        self.login.as_ref()
    }

    /// The headers, besides `content-type` and `authorization`, carrying credentials.
    pub const fn credential_headers(&self) -> &'static [&'static str] {
        self.credential_headers
    }

    /// Whether the push request carries its credentials in its body.
    pub const fn credentials_in_body(&self) -> bool {
        self.credentials_in_body
    }

    /// The paged list for the streaming scenario, when the hook declares one.
    pub const fn paged(&self) -> Option<&BenchPaged> {
        self.paged.as_ref()
    }
}

/// A [`BenchEncode`] writing `wire` as JSON (`serde_json::to_vec`).
pub fn json_baseline<W: Serialize + Send + Sync + 'static>(wire: W) -> BenchEncode {
    Box::new(move || {
        serde_json::to_vec(&wire).map_err(|e| Error::invalid("body", format!("cannot encode the request as JSON: {e}")))
    })
}

/// A [`BenchEncode`] writing `wire` as an `application/x-www-form-urlencoded` form
/// (`serde_urlencoded::to_string`).
pub fn form_baseline<W: Serialize + Send + Sync + 'static>(wire: W) -> BenchEncode {
    Box::new(move || {
        serde_urlencoded::to_string(&wire)
            .map(String::into_bytes)
            .map_err(|e| Error::invalid("body", format!("cannot encode the request as a form: {e}")))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::traits::Operation;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[allow(dead_code)]
        token: String,
    }

    impl ConnectorConfig for Config {
        fn connect(self) -> Result<Box<dyn Connector>> {
            Err(Error::config("offline in this test"))
        }
    }

    const D: VendorDescriptor = VendorDescriptor::new(
        "toy",
        "Toy",
        "posbridge-toy",
        || Capabilities::new([Operation::PushSale]),
        connect_json::<Config>,
    )
    .with_secret_fields(&["token"]);

    #[test]
    fn a_bad_section_is_a_config_error_naming_the_vendor() {
        let e = D.connect(serde_json::json!({"tokn": "x"})).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("[toy]: the section is not valid") && text.contains("tokn"),
            "{text}"
        );
        let e = D.connect(serde_json::json!({"token": "x"})).unwrap_err();
        assert!(e.to_string().contains("[toy]: offline"), "{e}");
        assert_eq!(D.secret_variable("user_id"), "POSBRIDGE_TOY_USER_ID");
        assert!(format!("{D:?}").contains("posbridge-toy"));
    }

    fn no_client(_: &BenchSetup<'_>) -> Result<Box<dyn BenchClient>> {
        Err(Error::config("offline in this test"))
    }

    #[test]
    fn a_bench_hook_is_built_in_a_const_and_read_back() {
        const HOOK: BenchHook = BenchHook::new(no_client)
            .with_login(BenchRoute {
                path: "auth/login",
                answer: BenchAnswer::Fixed {
                    status: 200,
                    body: r#"{"token":"t"}"#,
                },
            })
            .with_push(BenchRoute {
                path: "sync",
                answer: BenchAnswer::Computed(|body| (200, body.to_vec())),
            })
            .with_credential_headers(&["partner"])
            .with_credentials_in_body();
        const WITH: VendorDescriptor = D.with_bench(HOOK);
        assert!(D.bench().is_none());
        let hook = WITH.bench().unwrap();
        assert_eq!(hook.push().unwrap().path, "sync");
        assert_eq!(hook.login().unwrap().path, "auth/login");
        assert_eq!(hook.credential_headers(), ["partner"]);
        assert!(hook.credentials_in_body() && hook.paged().is_none());
        let setup = BenchSetup {
            base_url: "http://127.0.0.1:9/toy/",
            products: &[],
            http: HttpConfig::default(),
        };
        assert!(hook.client(&setup).is_err());
    }

    #[test]
    fn the_baselines_serialize_with_plain_serde() {
        let fields = vec![("a b".to_owned(), "1&2".to_owned()), ("c".to_owned(), "3".to_owned())];
        assert_eq!(form_baseline(fields)().unwrap(), b"a+b=1%262&c=3");
        assert_eq!(json_baseline(serde_json::json!({"n": 1}))().unwrap(), br#"{"n":1}"#);
    }
}
