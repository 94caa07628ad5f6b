//! How SalesMania reports failure, mapped to posbridge's error kinds. SalesMania's
//! pages show no error answer; this follows the statuses every Laravel-style API
//! uses, reading the message from `message` (else `error`, `msg`) plus the `errors`
//! details (see `docs/vendors/salesmania.md`).
//!
//! | SalesMania | posbridge |
//! |---|---|
//! | 2xx | success (`{}` for a new order) |
//! | 400, 409, 422 naming the team token | [`Error::Auth`], so the transport redoes the chain once |
//! | 400, 409, 422 | [`Error::Rejected`] with the status and message; a message saying the reference or code already exists gets code `duplicate_reference` |
//! | 401, 403 | [`Error::Auth`] (the chain is redone once, single-flight) |
//! | 404 | [`Error::NotFound`] (on a look-up's first page: the look-up does not exist, see `lookup.rs`) |
//! | 405 | [`Error::Rejected`] with the status (on a look-up's first page: the look-up does not exist) |
//! | 429 | [`Error::RateLimited`] with `Retry-After` |
//! | 5xx | [`Error::Unavailable`] (for a non-idempotent write, [`Error::Uncertain`], decided by the transport) |

use posbridge_core::Error;
use posbridge_core::error::DUPLICATE_REFERENCE;
use posbridge_core::http::{Response, default_parse_error};

use crate::map::vendor_message;

/// Words of a refusal that says the thing already exists.
const DUPLICATE_MARKERS: &[&str] = &[
    "duplicate",
    "already exist",
    "already been taken",
    "sudah ada",
    "sudah digunakan",
    "sudah terdaftar",
];

/// Words of a refusal that is about the team token.
const TEAM_TOKEN_MARKERS: &[&str] = &["team_token", "team token"];

/// SalesMania's error parser: `None` for success.
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    let status = response.status.as_u16();
    match status {
        200..=299 => None,
        400 | 409 | 422 => {
            let message = vendor_message(&response.body);
            let lower = message.to_lowercase();
            if TEAM_TOKEN_MARKERS.iter().any(|m| lower.contains(m)) {
                return Some(Error::Auth { vendor, message });
            }
            let duplicate = DUPLICATE_MARKERS.iter().any(|m| lower.contains(m));
            Some(Error::Rejected {
                vendor,
                status: Some(status),
                code: duplicate.then(|| DUPLICATE_REFERENCE.to_owned()),
                message,
            })
        }
        401 | 403 => {
            let message = vendor_message(&response.body);
            Some(Error::Auth {
                vendor,
                message: if message.is_empty() {
                    format!("HTTP {status}")
                } else {
                    message
                },
            })
        }
        404 => {
            let message = vendor_message(&response.body);
            Some(Error::NotFound {
                vendor,
                what: if message.is_empty() {
                    "the record does not exist".into()
                } else {
                    message
                },
            })
        }
        _ => default_parse_error(vendor, response),
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
    use posbridge_core::reqwest::header::HeaderMap;

    fn parse(status: u16, body: &str) -> Option<Error> {
        let response = Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec().into(),
        };
        parse_error("salesmania", &response)
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
    fn a_refused_team_token_is_an_auth_error_and_a_repeat_a_duplicate() {
        assert_eq!(
            parse(400, r#"{"message":"Team token tidak valid"}"#).unwrap().kind(),
            ErrorKind::Auth
        );
        let e = parse(422, r#"{"message":"ext_order_no INV-1 sudah digunakan"}"#).unwrap();
        assert_eq!(e.vendor_code(), Some(DUPLICATE_REFERENCE));
    }
}
