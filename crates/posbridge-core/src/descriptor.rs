//! How a vendor crate describes itself, once: [`VendorDescriptor`].
//!
//! Each vendor crate exports one `DESCRIPTOR`; the facade's registry lists them, and
//! everything that used to name vendors one by one (the facade's `connect` and
//! `vendors()`, the CLI's config template, `check`, secret variables and `demo`, the
//! fuzz targets) reads the descriptors instead. Adding a vendor is a new crate and one
//! registry line.
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

use crate::error::{Error, Result};
use crate::traits::{Capabilities, Connector, ConnectorConfig};

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
        }
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
        assert!(text.contains("[toy]: the section is not valid") && text.contains("tokn"), "{text}");
        let e = D.connect(serde_json::json!({"token": "x"})).unwrap_err();
        assert!(e.to_string().contains("[toy]: offline"), "{e}");
        assert_eq!(D.secret_variable("user_id"), "POSBRIDGE_TOY_USER_ID");
        assert!(format!("{D:?}").contains("posbridge-toy"));
    }
}
