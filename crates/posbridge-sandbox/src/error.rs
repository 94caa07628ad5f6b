//! Why a sandbox could not start: [`SandboxError`].

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a sandbox could not start or load its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The catalogue file could not be read.
    #[error("cannot read the catalogue file {}: {source}", path.display())]
    CatalogueFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The catalogue file is not a catalogue.
    #[error("the catalogue file {} is not a valid catalogue: {source}", path.display())]
    CatalogueParse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
    /// The catalogue has a product without a code, or a code twice.
    #[error("invalid catalogue: {0}")]
    InvalidCatalogue(String),
    /// A fault rule in the configuration is invalid (see [`FaultRule::validate`](crate::FaultRule::validate)),
    /// or names a vendor or route the sandbox does not imitate.
    #[error("invalid fault rule: {0}")]
    InvalidFault(String),
    /// A vendor's settings are unusable (an unknown field, an empty credential, a zero
    /// token lifetime…), a section names no vendor the sandbox imitates, or two
    /// imitations claim the same path prefix.
    #[error("invalid vendor settings: {0}")]
    InvalidConfig(String),
}
