//! Codemax POS Live Sync's request and response shapes: every path, field name and
//! response code the connector uses, and only here.
//!
//! Codemax's public collection names its three APIs and lists what an invoice
//! carries, in prose, but shows no field name, no login or refresh path and no
//! response code. Everything below is therefore **our choice**, documented with its
//! reason in `docs/vendors/codemax.md`; when the real names are known, this file is
//! the one to change.

use posbridge_core::error::MessageKeys;
use posbridge_core::{Decimal, SecretString};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Sync Invoices API, appended to the configured base path (`/api/v1`): the one path
/// the collection's links show.
pub(crate) const SYNC_PATH: &str = "/sync";
/// Authentication API (our choice).
pub(crate) const LOGIN_PATH: &str = "/auth/login";
/// Refresh Authentication API (our choice).
pub(crate) const REFRESH_PATH: &str = "/auth/refresh";

/// The most invoices one sync request may carry, from the collection's prose.
pub(crate) const MAX_INVOICES_PER_SYNC: usize = 20;

/// Top-level and per-invoice field carrying a response code.
pub(crate) const CODE: &str = "code";
/// Fields that may carry a human-readable message, in order of preference.
pub(crate) const MESSAGES: MessageKeys = MessageKeys::new(&["message", "error", "msg"]);
/// Field of the sync answer carrying one result per invoice.
pub(crate) const RESULTS: &str = "results";

/// Response codes (our choice; the collection's table is an image nobody could read).
pub(crate) mod code {
    // "01" (processed, some invoices failed) needs no constant: whenever `results`
    // is present, the per-invoice results decide, whatever the top-level code.
    /// Invalid username or password (login).
    pub(crate) const INVALID_CREDENTIALS: &str = "10";
    /// Access token invalid or expired (sync).
    pub(crate) const TOKEN_EXPIRED: &str = "11";
    /// Refresh refused: the token pair is invalid, expired or already used.
    pub(crate) const REFRESH_REFUSED: &str = "12";
    /// More invoices than the API takes in one request (HTTP 400).
    pub(crate) const TOO_MANY_INVOICES: &str = "20";
    /// The request is malformed: not JSON, a required field missing (HTTP 400).
    pub(crate) const MALFORMED_REQUEST: &str = "21";
    /// Per invoice: the invoice number was synced before (with the same void status:
    /// a sale twice, or a void twice).
    pub(crate) const DUPLICATE_INVOICE: &str = "30";
    /// Per invoice: a void of an invoice number Codemax never synced as a sale. Read
    /// like any other per-invoice failure (a rejection keeping this code).
    pub(crate) const UNKNOWN_INVOICE: &str = "34";

    /// Codes that mean "your credentials are no good", whatever the HTTP status.
    pub(crate) const AUTH: &[&str] = &[INVALID_CREDENTIALS, TOKEN_EXPIRED, REFRESH_REFUSED];
    /// Codes that mean "the whole request was refused, nothing applied", whatever
    /// the HTTP status.
    pub(crate) const REQUEST_REFUSED: &[&str] = &[TOO_MANY_INVOICES, MALFORMED_REQUEST];

    /// Whether `code` means success: `"00"`, and tolerantly `"0"` or `0`.
    pub(crate) fn is_success(code: &str) -> bool {
        let c = code.trim();
        !c.is_empty() && c.bytes().all(|b| b == b'0')
    }
}

/// Per-invoice `status` values read as success (case-insensitive).
pub(crate) const STATUS_SUCCESS: &[&str] = &["success", "ok", "synced"];
/// Per-invoice `status` values read as failure (case-insensitive).
pub(crate) const STATUS_FAILED: &[&str] = &["failed", "fail", "failure", "error", "rejected"];

/// `POST {base_path}/auth/login`. Not `Debug`: it carries the password.
#[derive(Serialize)]
pub(crate) struct Login<'a> {
    pub username: &'a str,
    pub password: &'a str,
}

/// `POST {base_path}/auth/refresh`: the expired access token and the refresh token,
/// as the collection says. Not `Debug`: it carries both.
#[derive(Serialize)]
pub(crate) struct Refresh<'a> {
    pub access_token: &'a str,
    pub refresh_token: &'a str,
}

/// The answer to a login or a refresh. Unknown fields are ignored; `code` and
/// `expires_in` may be numbers or strings.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default, deserialize_with = "option_code")]
    pub code: Option<String>,
    #[serde(default)]
    pub access_token: Option<SecretString>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Seconds the access token lives.
    #[serde(default, with = "posbridge_core::wire::option_decimal_number")]
    pub expires_in: Option<Decimal>,
}

/// `POST {base_path}/sync`: at most [`MAX_INVOICES_PER_SYNC`] invoices.
#[derive(Debug, Serialize)]
pub(crate) struct SyncInvoices<'a> {
    pub invoices: Vec<&'a Invoice>,
}

/// One invoice, with what the collection's prose lists: invoice number, timestamp,
/// branch code, POS Live Sync username, items (item code, quantity deducted) and void
/// status. No money: the integration is for inventory tracking.
///
/// A **void record** (`Voids::void_sale`) is the same shape: the invoice number of the
/// invoice already synced, `timestamp` = when it was voided, the branch and username,
/// `is_void: true` and `items: []` — Codemax reverses what it recorded for that number,
/// so the void lists no items of its own (the POS's void carries none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Invoice {
    pub invoice_no: String,
    /// RFC 3339 with the merchant's offset, e.g. `2026-11-26T12:45:00+08:00`.
    pub timestamp: String,
    pub branch_code: String,
    pub username: String,
    pub is_void: bool,
    pub items: Vec<Item>,
}

/// One item of an invoice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Item {
    pub item_code: String,
    /// The quantity deducted from stock, as an exact JSON number.
    #[serde(with = "posbridge_core::wire::decimal_number")]
    pub quantity: Decimal,
}

/// One entry of the sync answer's `results`. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct InvoiceResult {
    #[serde(with = "posbridge_core::wire::string_or_number")]
    pub invoice_no: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "option_code")]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// A response code as text, from a string or a number; `null` and missing are `None`.
pub(crate) fn option_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a response code (string or number) or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.trim().to_owned()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_any(V)
}
