//! The shared test kits (cargo feature `kits`): the behaviours every vendor connector
//! must show, written once and called by a short table in each vendor crate (STYLE.md,
//! convention 13), in the manner of OpenDAL's behaviour tests and object_store's
//! integration module.
//!
//! - [`hostile`]: answers no vendor should send — truncated or mistyped JSON, HTML
//!   pages, empty and invalid UTF-8 bodies, 10 MB bodies, a server that stalls or
//!   closes mid-body, redirects to another host, every odd `Retry-After`, and answers
//!   that echo a credential. The kit owns the row types, the raw TCP front that serves
//!   what httpmock cannot, the common bodies and every check; a vendor's
//!   `tests/hostile.rs` implements [`hostile::Vendor`] and lists its rows.
//! - [`no_panic`]: any bytes as an answer, decoded the way the connector decodes it,
//!   end in a value or an error that keeps its promises; a vendor's
//!   `tests/no_panic.rs` names its field names, its fuzz target's body and a test per
//!   answer it reads.
//! - [`secrets`]: no credential in `Debug`, in an error, or in any log line at TRACE;
//!   a vendor's `tests/secrets.rs` runs its own scenario under [`secrets::TraceLogs`]
//!   and asks the kit to scan what came out.
//!
//! A test fails by panicking, so the kits panic with a readable report.

pub mod hostile;
pub mod no_panic;
pub mod secrets;

mod front;
