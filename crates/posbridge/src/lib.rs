//! # posbridge
//!
//! Push point-of-sale sales, purchases and customers into the back-office systems
//! merchants use (ERP, retail management, accounting, sales-force apps), and read
//! their stock back, through one typed API.
//!
//! This facade re-exports [`posbridge_core`] (the domain types, traits and errors)
//! and one connector per cargo feature, each a module named like the feature (the
//! list is [`vendors()`], built from the registry in `src/registry.rs`); `full` turns
//! them all on. No vendor is on by default, so a library user compiles only the
//! vendors they need. The `sandbox` feature adds [`sandbox`] (a local server imitating
//! the vendors) and `sandbox_imitations()`, the imitation of every vendor compiled in,
//! from the same registry line.
//!
//! [`connect`] builds a connector from a [`VendorConfig`] chosen at run time (from a
//! config file or the CLI), returning a `Box<dyn Connector>`; each vendor describes
//! itself once in a [`VendorDescriptor`] (names, capabilities, secret fields, config
//! template), which is all the CLI and the tools know of it.
//!
//! ```
//! # #[cfg(feature = "cloudma")]
//! # {
//! use posbridge::{Connector, Operation, VendorConfig};
//!
//! let config: VendorConfig = serde_json::from_str(r#"{
//!     "vendor": "cloudma",
//!     "base_url": "https://testdev.cloudma.app/",
//!     "token": "38iGm3yI86Hw"
//! }"#)?;
//! let connector = posbridge::connect(config)?;
//! assert_eq!(connector.vendor(), "cloudma");
//! assert!(connector.capabilities().supports(Operation::PushSale));
//! // The token never shows in Debug output.
//! assert!(!format!("{connector:?}").contains("38iGm3yI86Hw"));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub use posbridge_core::*;

/// The durable outbox (feature `outbox`): every sale delivered to every vendor
/// despite faults and crashes. See `docs/outbox.md`.
#[cfg(feature = "outbox")]
pub use posbridge_outbox as outbox;

/// The sandbox (feature `sandbox`): a local server imitating the vendors, with
/// [`sandbox_imitations()`] for every vendor compiled in. See `docs/sandbox.md`.
#[cfg(feature = "sandbox")]
pub use posbridge_sandbox as sandbox;

mod registry;
pub use registry::*;

use std::fmt;

use serde::Deserialize;

/// The README's example, compiled as a doc test.
#[cfg(all(doctest, feature = "cloudma"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// A connector configuration for any compiled-in vendor: its name (`vendor`) and its
/// section, as a config file holds it (`{"vendor": "cloudma", "token": "…"}`).
///
/// The section is checked when [`connect`] builds the connector (unknown fields, a
/// missing credential). `Debug` shows the vendor and the section's field names, never
/// a value: a section holds secrets.
#[derive(Clone, Deserialize)]
pub struct VendorConfig {
    vendor: String,
    #[serde(flatten)]
    section: serde_json::Map<String, serde_json::Value>,
}

impl VendorConfig {
    /// The config of `vendor` with `section` (a JSON object; anything else is refused
    /// by [`connect`]).
    pub fn new(vendor: impl Into<String>, section: serde_json::Value) -> Self {
        let section = match section {
            serde_json::Value::Object(map) => map,
            other => {
                let mut map = serde_json::Map::new();
                map.insert(String::new(), other);
                map
            }
        };
        Self {
            vendor: vendor.into(),
            section,
        }
    }

    /// The vendor's short name, as the `vendor` tag gave it.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// The section read as a vendor crate's typed config (`posbridge::asalta::Config`),
    /// for the vendor-only calls a `Box<dyn Connector>` does not offer.
    pub fn parse<C: serde::de::DeserializeOwned>(&self) -> Result<C> {
        serde_json::from_value(serde_json::Value::Object(self.section.clone())).map_err(|e| {
            Error::config(format!(
                "{}: the vendor section is not valid: {e}",
                error::quote(&self.vendor)
            ))
        })
    }
}

impl fmt::Debug for VendorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VendorConfig")
            .field("vendor", &self.vendor)
            .field("fields", &self.section.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Builds the connector a config describes. No request is sent. A vendor that is not
/// compiled in (or does not exist) is an [`Error::Config`] naming the ones that are.
pub fn connect(config: VendorConfig) -> Result<Box<dyn Connector>> {
    let descriptor = vendor(&config.vendor).ok_or_else(|| {
        let known: Vec<&str> = vendors().iter().map(|v| v.name()).collect();
        Error::config(format!(
            "no vendor {} in this build (compiled in: {})",
            error::quote(&config.vendor),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
    })?;
    descriptor.connect(serde_json::Value::Object(config.section))
}

/// The vendors compiled into this build, in registry order.
pub fn vendors() -> &'static [&'static VendorDescriptor] {
    registry::VENDORS
}

/// The compiled-in vendor named `name`, if there is one.
pub fn vendor(name: &str) -> Option<&'static VendorDescriptor> {
    vendors().iter().copied().find(|v| v.name() == name)
}
