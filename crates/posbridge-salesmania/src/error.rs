//! How SalesMania reports failure, mapped to posbridge's error kinds. SalesMania's
//! pages show no error answer; this follows the statuses every Laravel-style API
//! uses, reading the message from `message` (else `error`, `msg`) plus the `errors`
//! details (see `docs/vendors/salesmania.md`).
//!
//! | SalesMania | posbridge |
//! |---|---|
//! | 2xx | success (`{}` for a new order) |
//! | 400, 409, 422 naming the team token | [`Error::Auth`], so the transport redoes the chain once |
//! | 400, 409, 422 and other 4xx | [`Error::Rejected`] with the status and message; a message saying the reference or code already exists (or the order is already cancelled) gets code `duplicate_reference` |
//! | 401, 403 | [`Error::Auth`] (the chain is redone once, single-flight) |
//! | 404 | [`Error::NotFound`] (on a look-up's first page: the look-up does not exist, see `lookup.rs`) |
//! | 405 | [`Error::Rejected`] with the status (on a look-up's first page: the look-up does not exist) |
//! | 429 | [`Error::RateLimited`] with `Retry-After` |
//! | 5xx | [`Error::Unavailable`] (for a non-idempotent write, [`Error::Uncertain`], decided by the transport) |

use posbridge_core::Error;
use posbridge_core::error::DUPLICATE_REFERENCE;
use posbridge_core::http::{ErrorDefaults, Response, default_parse_error_with};

use crate::wire;

/// Words of a refusal that says the thing already exists.
const DUPLICATE_MARKERS: &[&str] = &[
    "duplicate",
    "already exist",
    "already been taken",
    "sudah ada",
    "sudah digunakan",
    "sudah terdaftar",
    // An order already Batal, voided again (the sandbox's wording, and English).
    "sudah dibatalkan",
    "already cancel",
];

/// Words of a refusal that is about the team token.
const TEAM_TOKEN_MARKERS: &[&str] = &["team_token", "team token"];

/// A refusal whose message says the reference or code already exists.
fn duplicate(message: &str, _body: &[u8]) -> Option<String> {
    let lower = message.to_lowercase();
    DUPLICATE_MARKERS
        .iter()
        .any(|m| lower.contains(m))
        .then(|| DUPLICATE_REFERENCE.to_owned())
}

/// SalesMania's messages and words; the rest is the shared default.
const ERRORS: ErrorDefaults = ErrorDefaults::new(wire::MESSAGES)
    .not_found("the record does not exist")
    .rejection_code(duplicate);

/// SalesMania's error parser: `None` for success.
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    match default_parse_error_with(vendor, response, &ERRORS)? {
        // A refusal about the team token: an auth error, so that the chain is redone.
        Error::Rejected {
            status: Some(400 | 409 | 422),
            message,
            ..
        } if TEAM_TOKEN_MARKERS.iter().any(|m| message.to_lowercase().contains(m)) => {
            Some(Error::Auth { vendor, message })
        }
        other => Some(other),
    }
}

/// The status of a failure that says a look-up's endpoint does not exist: 404 (no
/// such route: a list that exists answers a filter that matches nothing with `[]`,
/// never 404) or 405 (the path exists, but not for `GET`: Laravel's answer for a
/// route declared for `POST` only). `None` for every other failure, which keeps its
/// meaning (a 5xx is an outage, a 422 a refusal, …).
pub(crate) fn absent_endpoint(e: &Error) -> Option<u16> {
    match e {
        Error::NotFound { .. } => Some(404),
        Error::Rejected { status: Some(405), .. } => Some(405),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::ErrorKind;
    use posbridge_core::reqwest::StatusCode;

    fn parse(status: u16, body: &str) -> Option<Error> {
        parse_error(
            "salesmania",
            &Response::new(StatusCode::from_u16(status).unwrap(), body.to_owned()),
        )
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert!(parse(200, "{}").is_none());
        assert!(parse(201, "").is_none());
        let e = parse(
            422,
            r#"{"message":"The given data was invalid.","errors":{"customer_id":["Customer tidak ditemukan"]}}"#,
        )
        .unwrap();
        assert_eq!(
            (e.kind(), e.vendor_message()),
            (
                ErrorKind::Rejected,
                Some("The given data was invalid. (customer_id: Customer tidak ditemukan)")
            )
        );
        assert_eq!(parse(401, "").unwrap().vendor_message(), Some("HTTP 401"));
        assert_eq!(
            parse(403, r#"{"message":"Forbidden"}"#).unwrap().kind(),
            ErrorKind::Auth
        );
        assert_eq!(parse(404, "").unwrap().kind(), ErrorKind::NotFound);
        assert_eq!(parse(429, "").unwrap().kind(), ErrorKind::RateLimited);
        assert_eq!(parse(500, "").unwrap().kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn only_404_and_405_say_an_endpoint_is_absent() {
        assert_eq!(absent_endpoint(&parse(404, "").unwrap()), Some(404));
        assert_eq!(
            absent_endpoint(&parse(404, r#"{"message":"Not Found"}"#).unwrap()),
            Some(404)
        );
        assert_eq!(
            absent_endpoint(&parse(405, r#"{"message":"The GET method is not supported for this route."}"#).unwrap()),
            Some(405)
        );
        for status in [400, 401, 403, 410, 422, 429, 500, 501, 502, 503] {
            assert_eq!(absent_endpoint(&parse(status, "").unwrap()), None, "HTTP {status}");
        }
    }

    #[test]
    fn messages_carry_the_details_and_no_credential() {
        use posbridge_core::error::vendor_message;
        assert_eq!(
            vendor_message(br#"{"message":"The given data was invalid.","errors":{"ordered_products.0.unit":["Satuan BOX tidak ditemukan"]}}"#, &wire::MESSAGES),
            "The given data was invalid. (ordered_products.0.unit: Satuan BOX tidak ditemukan)"
        );
        assert_eq!(
            vendor_message(br#"{"error":"Unauthenticated"}"#, &wire::MESSAGES),
            "Unauthenticated"
        );
        assert!(!vendor_message(br#"{"message":"bad team_token=abc123"}"#, &wire::MESSAGES).contains("abc123"));
        assert_eq!(vendor_message(b"<html>", &wire::MESSAGES), "<html>");
        assert_eq!(
            parse(404, r#"{"message":"Customer tidak ditemukan"}"#)
                .unwrap()
                .to_string(),
            "salesmania: not found: Customer tidak ditemukan"
        );
        assert_eq!(
            parse(404, "").unwrap().to_string(),
            "salesmania: not found: the record does not exist"
        );
    }

    #[test]
    fn a_refused_team_token_is_an_auth_error_and_a_repeat_a_duplicate() {
        assert_eq!(
            parse(400, r#"{"message":"Team token tidak valid"}"#).unwrap().kind(),
            ErrorKind::Auth
        );
        let e = parse(422, r#"{"message":"ext_order_no INV-1 sudah digunakan"}"#).unwrap();
        assert_eq!(e.vendor_code(), Some(DUPLICATE_REFERENCE));
        // A repeated void, in the sandbox's words and in English.
        for message in ["Order sudah dibatalkan", "Order is already cancelled"] {
            let e = parse(422, &format!(r#"{{"message":"{message}"}}"#)).unwrap();
            assert_eq!(e.vendor_code(), Some(DUPLICATE_REFERENCE), "{message}");
        }
        // Any other refusal of a status change is not a duplicate.
        let e = parse(422, r#"{"message":"Order yang sudah Lunas tidak dapat dibatalkan"}"#).unwrap();
        assert_eq!(e.vendor_code(), None);
    }
}
