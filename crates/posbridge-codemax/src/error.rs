//! How Codemax reports failure, mapped to posbridge's error kinds. The codes are the
//! ones `wire.rs` chose (see `docs/vendors/codemax.md`).
//!
//! | Codemax | posbridge |
//! |---|---|
//! | 2xx with per-invoice `results`, or with a success code (`"00"`), or without a code | success: the body is read per invoice (`map::sync_outcomes`) or as a token |
//! | 2xx with an auth code (`10`, `11`, `12`) and no results | [`Error::Auth`] (so the transport renews the token once) |
//! | 2xx with a request-refused code (`20`, `21`) and no results | [`Error::Rejected`] of the whole request, keeping code and message |
//! | 2xx with any other code and no results | left to the caller: for a sync, [`Error::Uncertain`] (`map::sync_outcomes`) |
//! | 400, 409, 422 and other 4xx (e.g. `20` too many invoices, `21` malformed request) | [`Error::Rejected`] with the status, code and message |
//! | 401, 403 (`10`, `11`, `12`) | [`Error::Auth`] |
//! | 404 | [`Error::NotFound`] |
//! | 429 | [`Error::RateLimited`] with `Retry-After` |
//! | 5xx | [`Error::Unavailable`]; for a sync, [`Error::Uncertain`] (decided by the transport) except 503 |

use posbridge_core::Error;
use posbridge_core::http::{ErrorDefaults, Response, default_parse_error_with};

use crate::map::envelope;
use crate::wire;

/// The code of a refused request: the envelope's.
fn envelope_code(_message: &str, body: &[u8]) -> Option<String> {
    envelope(body).code
}

/// Codemax's messages and codes; the rest is the shared default.
const ERRORS: ErrorDefaults = ErrorDefaults::new(wire::MESSAGES).rejection_code(envelope_code);

/// Codemax's error parser: `None` for success.
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    if response.status.is_success() {
        let env = envelope(&response.body);
        let code = env.code?;
        if env.has_results || wire::code::is_success(&code) {
            return None;
        }
        let message = || {
            env.message
                .clone()
                .unwrap_or_else(|| format!("Codemax answered code {code}"))
        };
        if wire::code::AUTH.contains(&code.as_str()) {
            return Some(Error::Auth {
                vendor,
                message: message(),
            });
        }
        if wire::code::REQUEST_REFUSED.contains(&code.as_str()) {
            return Some(Error::Rejected {
                vendor,
                status: None,
                message: message(),
                code: Some(code),
            });
        }
        // Any other code: the caller reads the body (and, for a sync without
        // per-invoice results, reports the outcome as uncertain).
        return None;
    }
    default_parse_error_with(vendor, response, &ERRORS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::ErrorKind;
    use posbridge_core::reqwest::StatusCode;

    fn parse(status: u16, body: &str) -> Option<Error> {
        parse_error(
            "codemax",
            &Response::new(StatusCode::from_u16(status).unwrap(), body.to_owned()),
        )
    }

    #[test]
    fn success_is_success_whatever_the_results_say() {
        assert!(parse(200, r#"{"code":"00"}"#).is_none());
        assert!(parse(200, r#"{"code":"01","results":[{"invoice_no":"A","status":"failed"}]}"#).is_none());
        assert!(
            parse(200, "<html>").is_none(),
            "unreadable bodies are the caller's to judge"
        );
    }

    #[test]
    fn codes_in_a_200_are_understood() {
        let e = parse(200, r#"{"code":"11","message":"Access token expired"}"#).unwrap();
        assert_eq!(
            (e.kind(), e.vendor_message()),
            (ErrorKind::Auth, Some("Access token expired"))
        );
        let e = parse(200, r#"{"code":20,"message":"Too many invoices"}"#).unwrap();
        assert_eq!((e.kind(), e.vendor_code()), (ErrorKind::Rejected, Some("20")));
        assert!(parse(200, r#"{"code":"01","message":"1 of 2 invoices failed"}"#).is_none());
    }

    #[test]
    fn statuses_map_to_kinds() {
        let e = parse(400, r#"{"code":"20","message":"Maximum 20 invoices per request"}"#).unwrap();
        assert_eq!(
            (e.kind(), e.vendor_code(), e.vendor_message()),
            (ErrorKind::Rejected, Some("20"), Some("Maximum 20 invoices per request"))
        );
        assert_eq!(parse(401, "").unwrap().vendor_message(), Some("HTTP 401"));
        assert_eq!(
            parse(401, r#"{"code":"10","message":"Invalid username or password"}"#)
                .unwrap()
                .kind(),
            ErrorKind::Auth
        );
        assert_eq!(parse(429, "").unwrap().kind(), ErrorKind::RateLimited);
        assert_eq!(parse(500, "").unwrap().kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn messages_are_redacted_or_the_body() {
        use posbridge_core::error::vendor_message;
        let m = vendor_message(br#"{"error": "bad token: access_token=abc123"}"#, &wire::MESSAGES);
        assert!(!m.contains("abc123"), "{m}");
        assert_eq!(vendor_message(b"Bad Gateway", &wire::MESSAGES), "Bad Gateway");
        assert_eq!(
            parse(502, "Bad Gateway").unwrap().to_string(),
            "codemax: unavailable: HTTP 502: Bad Gateway"
        );
    }
}
