//! How EAS Pro reports failure, mapped to posbridge's error kinds.
//!
//! EAS Pro answers **every** request with HTTP 200 and puts the outcome in the body:
//! `{"data": {...}, "response": {"date": "…", "status": {"code": "0", "httpMessage":
//! "success processed"}}}`.
//!
//! | EAS Pro | posbridge |
//! |---|---|
//! | 200, `response.status.code` `"0"` (or `0`) | success |
//! | 200, code `401`/`403`, or a message about the credentials (unauthorised, forbidden, `user-id`, an invalid partner key …) | [`Error::Auth`] keeping `httpMessage` |
//! | 200, any other code | [`Error::Rejected`] with status 200, the code, and `httpMessage` |
//! | 200 without that envelope (HTML, `{}`, not JSON) | [`Error::Decode`] with a short, redacted excerpt |
//! | anything else (a proxy's 429, 502, 503, a timeout …) | as usual ([`default_parse_error`]): `RateLimited`, `Unavailable` (retried: every EAS Pro write is an upsert), `Auth` for 401/403 … |

use posbridge_core::Error;
use posbridge_core::error::vendor_message;
use posbridge_core::http::{Response, default_parse_error};

use crate::wire;

/// Words that, in EAS Pro's message, mean our credentials were refused.
const AUTH_WORDS: &[&str] = &[
    "unauthori",
    "unauthenticated",
    "not authenticated",
    "authentication",
    "forbidden",
    "access denied",
    "permission denied",
    "user-id",
    "user id",
    "userid",
];

/// Phrases about the `partner` *header* (the partner key), as opposed to the `partner`
/// *object* (the customer), which shares its name.
const PARTNER_KEY_WORDS: &[&str] = &[
    "invalid partner",
    "unknown partner",
    "partner not found",
    "partner key",
    "partner header",
    "partner id",
    "partner is not registered",
    "partner not registered",
];

/// Codes that mean the credentials were refused, should EAS Pro use HTTP-like codes.
const AUTH_CODES: &[&str] = &["401", "403"];

/// Whether a non-success code and message say the credentials were refused.
pub(crate) fn is_auth_failure(code: &str, message: &str) -> bool {
    if AUTH_CODES.contains(&code) {
        return true;
    }
    let lower = message.to_lowercase();
    if AUTH_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // "invalid partner" is the partner key unless the message names a field of the
    // customer object (`partner.name is mandatory`, "invalid partner email").
    let about_customer = wire::PARTNER_FIELDS.iter().any(|f| lower.contains(&f.to_lowercase()));
    !about_customer && PARTNER_KEY_WORDS.iter().any(|w| lower.contains(w))
}

fn is_success_code(code: &str) -> bool {
    let code = code.trim();
    code == wire::SUCCESS_CODE || code.parse::<i64>() == Ok(0)
}

/// EAS Pro's error parser: `None` for success.
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    let status = response.status.as_u16();
    if !response.status.is_success() {
        return default_parse_error(vendor, response);
    }
    let answer: wire::Answer = match serde_json::from_slice(&response.body) {
        Ok(a) => a,
        Err(e) => {
            return Some(Error::decode(
                vendor,
                format!("the answer is not EAS Pro's {{\"response\": {{\"status\": {{\"code\"}}}}}} envelope: {e}"),
                &response.body,
            ));
        }
    };
    let code = answer.response.status.code.trim().to_owned();
    if is_success_code(&code) {
        return None;
    }
    // Redacted and cut short like any excerpt: a hostile answer's message may be megabytes.
    let message = vendor_message(&response.body, &wire::MESSAGES);
    if is_auth_failure(&code, &message) {
        return Some(Error::Auth {
            vendor,
            message: if message.is_empty() {
                format!("the partner and user-id headers were refused (code {code})")
            } else {
                message
            },
        });
    }
    Some(Error::Rejected {
        vendor,
        status: Some(status),
        message: if message.is_empty() {
            format!("EAS Pro refused the request with code {code}")
        } else {
            message
        },
        code: Some(code),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::ErrorKind;
    use posbridge_core::reqwest::StatusCode;

    fn answer(status: u16, body: &str) -> Option<Error> {
        parse_error(
            "easpro",
            &Response::new(StatusCode::from_u16(status).unwrap(), body.to_owned()),
        )
    }

    #[test]
    fn code_zero_is_success_as_string_or_number() {
        let ok = r#"{"data":{"result":"Success","demo":false},"response":{"date":"2023/05/09 19:44:10","status":{"code":"0","httpMessage":"success processed"}}}"#;
        assert!(answer(200, ok).is_none());
        assert!(answer(200, r#"{"response":{"status":{"code":0}}}"#).is_none());
    }

    #[test]
    fn other_codes_are_rejections_or_auth() {
        let e = answer(
            200,
            r#"{"response":{"status":{"code":"1","httpMessage":"Product not found"}}}"#,
        )
        .unwrap();
        assert!(
            matches!(&e, Error::Rejected { status: Some(200), code: Some(c), message, .. } if c == "1" && message == "Product not found"),
            "{e:?}"
        );
        let e = answer(200, r#"{"response":{"status":{"code":7,"httpMessage":null}}}"#).unwrap();
        assert_eq!(e.vendor_code(), Some("7"));
        let e = answer(
            200,
            r#"{"response":{"status":{"code":"99","httpMessage":"Invalid partner"}}}"#,
        )
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::Auth);
        let e = answer(200, r#"{"response":{"status":{"code":"401"}}}"#).unwrap();
        assert_eq!(e.kind(), ErrorKind::Auth);
        let e = answer(
            200,
            r#"{"response":{"status":{"code":"2","httpMessage":"User-id not recognised"}}}"#,
        )
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::Auth);
        // The customer object is also called partner: its validation is a rejection.
        let e = answer(
            200,
            r#"{"response":{"status":{"code":"3","httpMessage":"Invalid partner name"}}}"#,
        )
        .unwrap();
        assert_eq!(e.kind(), ErrorKind::Rejected);
    }

    #[test]
    fn the_message_is_the_http_message_else_the_result() {
        let e = answer(
            200,
            r#"{"response":{"status":{"code":"5","httpMessage":["Product", {"x": "not found"}]}}}"#,
        )
        .unwrap();
        assert_eq!(e.vendor_message(), Some("Product; not found"));
        let e = answer(
            200,
            r#"{"data":{"result":"Failed"},"response":{"status":{"code":"5","httpMessage":" "}}}"#,
        )
        .unwrap();
        assert_eq!(e.vendor_message(), Some("Failed"));
        let e = answer(200, r#"{"data":["Failed"],"response":{"status":{"code":"5"}}}"#).unwrap();
        assert_eq!(e.vendor_message(), Some("EAS Pro refused the request with code 5"));
        assert_eq!(vendor_message(br#"["a", "b"]"#, &wire::MESSAGES), "");
        assert_eq!(
            vendor_message(br#"{"response":{"status":{"httpMessage":["a","b"]}}}"#, &wire::MESSAGES),
            "a; b"
        );
    }

    #[test]
    fn bodies_without_the_envelope_are_decode_errors() {
        for body in ["<html>Bad gateway</html>", "{}", r#"{"data":{"result":"Success"}}"#, ""] {
            assert_eq!(answer(200, body).unwrap().kind(), ErrorKind::Decode, "{body}");
        }
    }

    #[test]
    fn real_statuses_map_as_usual() {
        assert_eq!(answer(429, "").unwrap().kind(), ErrorKind::RateLimited);
        assert_eq!(answer(502, "").unwrap().kind(), ErrorKind::Unavailable);
        assert_eq!(answer(401, "").unwrap().kind(), ErrorKind::Auth);
    }
}
