//! # posbridge
//!
//! Push point-of-sale sales, purchases and customers into the back-office systems
//! merchants use (ERP, retail management, accounting, sales-force apps), and read
//! their stock back, through one typed API.
//!
//! This facade re-exports [`posbridge_core`] (the domain types, traits and errors)
//! and one connector per cargo feature: `asalta`, `cloudma`, `codemax`, `easpro`,
//! `salesmania`; `full` turns them all on. No vendor is on by default, so a library user compiles only
//! the vendors they need.
//!
//! [`connect`] builds a connector from a [`VendorConfig`] chosen at run time (from a
//! config file or the CLI), returning a `Box<dyn Connector>`.
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

/// The Asalta connector.
#[cfg(feature = "asalta")]
pub use posbridge_asalta as asalta;

/// The CloudMA connector.
#[cfg(feature = "cloudma")]
pub use posbridge_cloudma as cloudma;

/// The Codemax POS Live Sync connector.
#[cfg(feature = "codemax")]
pub use posbridge_codemax as codemax;

/// The EAS Pro connector.
#[cfg(feature = "easpro")]
pub use posbridge_easpro as easpro;

/// The durable outbox (feature `outbox`): every sale delivered to every vendor
/// despite faults and crashes. See `docs/outbox.md`.
#[cfg(feature = "outbox")]
pub use posbridge_outbox as outbox;
/// The SalesMania connector.
#[cfg(feature = "salesmania")]
pub use posbridge_salesmania as salesmania;

use serde::Deserialize;

/// The README's example, compiled as a doc test.
#[cfg(all(doctest, feature = "cloudma"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// A connector configuration for any compiled-in vendor, tagged by `vendor`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "vendor", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VendorConfig {
    /// Asalta.
    #[cfg(feature = "asalta")]
    Asalta(Box<posbridge_asalta::Config>),
    /// CloudMA.
    #[cfg(feature = "cloudma")]
    Cloudma(posbridge_cloudma::Config),
    /// Codemax POS Live Sync.
    #[cfg(feature = "codemax")]
    Codemax(posbridge_codemax::Config),
    /// EAS Pro.
    #[cfg(feature = "easpro")]
    Easpro(posbridge_easpro::Config),
    /// SalesMania.
    #[cfg(feature = "salesmania")]
    Salesmania(posbridge_salesmania::Config),
    /// Placeholder so the enum exists when no vendor feature is on; never
    /// deserialized.
    #[doc(hidden)]
    #[serde(skip)]
    None,
}

/// Builds the connector a config describes. No request is sent.
pub fn connect(config: VendorConfig) -> Result<Box<dyn Connector>> {
    match config {
        #[cfg(feature = "asalta")]
        VendorConfig::Asalta(c) => (*c).connect(),
        #[cfg(feature = "cloudma")]
        VendorConfig::Cloudma(c) => c.connect(),
        #[cfg(feature = "codemax")]
        VendorConfig::Codemax(c) => c.connect(),
        #[cfg(feature = "easpro")]
        VendorConfig::Easpro(c) => c.connect(),
        #[cfg(feature = "salesmania")]
        VendorConfig::Salesmania(c) => c.connect(),
        VendorConfig::None => Err(Error::config("no vendor configured")),
    }
}

/// A compiled-in vendor and what it offers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VendorInfo {
    /// The vendor name, as in `VendorConfig`'s `vendor` tag.
    pub name: &'static str,
    /// The crate implementing it.
    pub crate_name: &'static str,
    /// What it offers.
    pub capabilities: Capabilities,
    /// The config fields that hold secrets; a CLI reads each from the environment
    /// variable `POSBRIDGE_<VENDOR>_<FIELD>` when set.
    pub secret_fields: &'static [&'static str],
}

/// The vendors compiled into this build.
#[allow(clippy::vec_init_then_push)] // one push per optional feature
pub fn vendors() -> Vec<VendorInfo> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(feature = "asalta")]
    v.push(VendorInfo {
        name: posbridge_asalta::VENDOR,
        crate_name: "posbridge-asalta",
        capabilities: posbridge_asalta::capabilities(),
        secret_fields: &["client_secret"],
    });
    #[cfg(feature = "cloudma")]
    v.push(VendorInfo {
        name: posbridge_cloudma::VENDOR,
        crate_name: "posbridge-cloudma",
        capabilities: posbridge_cloudma::capabilities(),
        secret_fields: &["token"],
    });
    #[cfg(feature = "codemax")]
    v.push(VendorInfo {
        name: posbridge_codemax::VENDOR,
        crate_name: "posbridge-codemax",
        capabilities: posbridge_codemax::capabilities(),
        secret_fields: &["password"],
    });
    #[cfg(feature = "easpro")]
    v.push(VendorInfo {
        name: posbridge_easpro::VENDOR,
        crate_name: "posbridge-easpro",
        capabilities: posbridge_easpro::capabilities(),
        secret_fields: &["partner", "user_id"],
    });
    #[cfg(feature = "salesmania")]
    v.push(VendorInfo {
        name: posbridge_salesmania::VENDOR,
        crate_name: "posbridge-salesmania",
        capabilities: posbridge_salesmania::capabilities(),
        secret_fields: &["password"],
    });
    v
}
