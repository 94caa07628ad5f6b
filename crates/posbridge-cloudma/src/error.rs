//! How CloudMA reports failure, mapped to posbridge's error kinds.
//!
//! | CloudMA | posbridge |
//! |---|---|
//! | 200, 201 | success (a JSON body with `"success": false` or `"status": "error"` is a [`Error::Rejected`]) |
//! | 400 (e.g. "Product Not Found"), 409, 422, other 4xx | [`Error::Rejected`] keeping CloudMA's message; a duplicate reference gets code `duplicate_reference` |
//! | 401, 403 | [`Error::Auth`] ("the API token was refused" when CloudMA says nothing) |
//! | 404 | [`Error::NotFound`] |
//! | 429 | [`Error::RateLimited`] with `Retry-After` |
//! | 500 and other 5xx | [`Error::Unavailable`] (for a push: [`Error::Uncertain`], decided by the transport) |
//!
//! The message is read from `message`, `error`, `msg`, `errors` or `error_message`
//! (lists and objects of texts joined), else the body's text ([`wire::MESSAGES`]).

use posbridge_core::Error;
use posbridge_core::http::{ErrorDefaults, Response, default_parse_error_with};

use crate::wire;

pub use posbridge_core::error::DUPLICATE_REFERENCE;

/// A refusal whose message says the reference already exists.
fn duplicate(message: &str, _body: &[u8]) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    (lower.contains("duplicate") || lower.contains("already exist")).then(|| DUPLICATE_REFERENCE.to_owned())
}

/// CloudMA's messages and words; the rest is the shared default.
const ERRORS: ErrorDefaults = ErrorDefaults::new(wire::MESSAGES)
    .credential("the API token")
    .rejection_code(duplicate);

/// CloudMA's error parser: `None` for success. CloudMA has no specifics beyond its
/// message keys and words: a `"success": false` in a 200 is read with the answer
/// (`map::receipt`).
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    default_parse_error_with(vendor, response, &ERRORS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::ErrorKind;
    use posbridge_core::error::vendor_message;
    use posbridge_core::reqwest::StatusCode;

    fn parse(status: u16, body: &str) -> Option<Error> {
        parse_error(
            "cloudma",
            &Response::new(StatusCode::from_u16(status).unwrap(), body.to_owned()),
        )
    }

    #[test]
    fn finds_messages() {
        assert_eq!(
            vendor_message(br#"{"message":"Product Not Found"}"#, &wire::MESSAGES),
            "Product Not Found"
        );
        assert_eq!(
            vendor_message(br#"{"errors":{"items":["Product Not Found"]}}"#, &wire::MESSAGES),
            "Product Not Found"
        );
        assert_eq!(
            vendor_message(b"Product Not Found", &wire::MESSAGES),
            "Product Not Found"
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert!(parse(200, "{}").is_none());
        let e = parse(400, r#"{"message":"Duplicate reference_no INV-1001"}"#).unwrap();
        assert_eq!(
            (e.kind(), e.vendor_code(), e.vendor_message()),
            (
                ErrorKind::Rejected,
                Some(DUPLICATE_REFERENCE),
                Some("Duplicate reference_no INV-1001")
            )
        );
        let e = parse(422, r#"{"errors":{"items.1.code":["Product Not Found"]}}"#).unwrap();
        assert_eq!((e.vendor_code(), e.vendor_message()), (None, Some("Product Not Found")));
        assert_eq!(
            parse(401, "").unwrap().vendor_message(),
            Some("the API token was refused (HTTP 401)")
        );
        assert_eq!(
            parse(403, r#"{"error":"Forbidden"}"#).unwrap().vendor_message(),
            Some("Forbidden")
        );
        assert_eq!(parse(404, "").unwrap().kind(), ErrorKind::NotFound);
        assert_eq!(parse(429, "").unwrap().kind(), ErrorKind::RateLimited);
        assert_eq!(parse(500, "").unwrap().kind(), ErrorKind::Unavailable);
    }
}
