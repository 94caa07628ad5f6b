//! How Asalta reports failure, mapped to posbridge's error kinds.
//!
//! The document gives an HTTP table and two numbered lists of messages (400 and
//! 500) but no error body. The message is read from `message`, `Message`, `error`
//! (when a string), `error_description` or `msg`, else the body's text, and matched
//! against the numbered messages, which get a vendor code:
//!
//! | Asalta | posbridge |
//! |---|---|
//! | 2xx with `"error": true` | [`Error::Rejected`] with the message |
//! | 400 "valid date format" / "Field X is Mandatory" / "valid page" / "paid amount …" | [`Error::Rejected`], codes `date_format`, `mandatory_field`, `invalid_page`, `paid_amount_exceeds_sale` |
//! | 500 bundle messages 1–7 | [`Error::Rejected`] (HTTP 500 kept), codes `not_a_bundle`, `bundle_option_id`, `bundle_items_missing`, `mandatory_field`, `invalid_bundle_item`, `bundle_item_quantity`, `bundle_mismatch` |
//! | 500 "The quantity is out of stock for HAT" | [`Error::Rejected`], code `out_of_stock` |
//! | "Order already void" (a repeated void) | [`Error::Rejected`], code `already_void` |
//! | other 4xx (400, 405, 406, 409, 410, 422 …) | [`Error::Rejected`] (a numbered message gets its code) |
//! | 401, 403 | [`Error::Auth`], saying to run `posbridge auth asalta` |
//! | 404 | [`Error::NotFound`] |
//! | 429 | [`Error::RateLimited`] with `Retry-After` |
//! | other 5xx | [`Error::Unavailable`] (for a non-idempotent write, [`Error::Uncertain`], decided by the transport) |

use posbridge_core::Error;
use posbridge_core::error::{MessageKeys, vendor_message};
use posbridge_core::http::{ErrorDefaults, Response, default_parse_error_with};
use serde_json::Value;

/// What the user is told to do when the token is gone.
pub(crate) const RUN_AUTH: &str = "run `posbridge auth asalta` to authorize posbridge again";

/// The numbered messages, by a lower-case fragment, with the code they get.
const KNOWN: &[(&str, &str)] = &[
    ("out of stock", "out_of_stock"),
    ("valid date format", "date_format"),
    ("is mandatory", "mandatory_field"),
    ("valid page", "invalid_page"),
    ("paid amount must be less than or equal", "paid_amount_exceeds_sale"),
    ("this is not bundle product", "not_a_bundle"),
    ("bundle does not have option id", "bundle_option_id"),
    ("please add bundle items", "bundle_items_missing"),
    ("valid bundle item", "invalid_bundle_item"),
    ("bundle item quantity too large", "bundle_item_quantity"),
    ("bundle item does not match", "bundle_mismatch"),
    // Not in the document's lists: Asalta's refusal of a repeated void (see
    // `docs/vendors/asalta.md`, "Returns, voids and payments").
    ("already void", "already_void"),
];

/// Where Asalta's message is: a JSON field, else the body's text.
pub(crate) const MESSAGES: MessageKeys = MessageKeys::new(&["message", "Message", "error_description", "error", "msg"]);

/// Asalta's messages and words; the rest is the shared default.
const ERRORS: ErrorDefaults = ErrorDefaults::new(MESSAGES)
    .credential("the access token")
    .advice(RUN_AUTH)
    .rejection_code(numbered);

/// The code of a refusal with a numbered message.
fn numbered(message: &str, _body: &[u8]) -> Option<String> {
    known_code(message).map(str::to_owned)
}

/// The code of a numbered message, if `message` is one.
pub(crate) fn known_code(message: &str) -> Option<&'static str> {
    let lower = message.to_lowercase();
    KNOWN.iter().find(|(m, _)| lower.contains(m)).map(|(_, c)| *c)
}

/// Whether a 2xx body may have a top-level key `error`, a cheap and sound pre-check:
/// such a key is spelled `error` in the body, or with one of its letters escaped
/// (`\u0065`, `\u0072`, `\u006f`). Every successful answer goes through
/// [`flagged_error`], so a page of data is not built into a document just to learn
/// that it has no `error`.
fn may_have_error_key(body: &[u8]) -> bool {
    // A body that is not UTF-8 is no JSON document: it has no key at all.
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    if text.contains("error") {
        return true;
    }
    text.contains("\\u")
        && text.match_indices("\\u").any(|(at, _)| {
            let hex = text.get(at + 2..at + 6);
            // An unreadable escape is not ruled out: the full parse decides.
            hex.and_then(|h| u32::from_str_radix(h, 16).ok())
                .is_none_or(|u| matches!(char::from_u32(u), Some('e' | 'r' | 'o')))
        })
}

/// Whether a 2xx body says `"error": true`.
fn flagged_error(body: &[u8]) -> bool {
    if !may_have_error_key(body) {
        return false;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => match o.get("error") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true") || s == "1",
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        },
        _ => false,
    }
}

/// Asalta's error parser: `None` for success.
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    let status = response.status.as_u16();
    match status {
        200..=299 => flagged_error(&response.body).then(|| {
            let message = vendor_message(&response.body, &MESSAGES);
            Error::Rejected {
                vendor,
                status: Some(status),
                code: known_code(&message).map(str::to_owned),
                message,
            }
        }),
        // A numbered message in a 500 is a refusal, not an outage.
        500 => {
            let message = vendor_message(&response.body, &MESSAGES);
            match known_code(&message) {
                Some(code) => Some(Error::Rejected {
                    vendor,
                    status: Some(status),
                    code: Some(code.to_owned()),
                    message,
                }),
                None => default_parse_error_with(vendor, response, &ERRORS),
            }
        }
        _ => default_parse_error_with(vendor, response, &ERRORS),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use posbridge_core::reqwest::StatusCode;

    fn response(status: u16, body: &str) -> Response {
        Response::new(StatusCode::from_u16(status).unwrap(), body.to_owned())
    }

    #[test]
    fn numbered_messages_get_codes() {
        let e = parse_error(
            "asalta",
            &response(
                500,
                r#"{"message":"Error : \"The quantity is out of stock for HAT\"","error":true}"#,
            ),
        )
        .unwrap();
        assert_eq!(e.vendor_code(), Some("out_of_stock"));
        assert!(!e.is_retryable());
        let e = parse_error(
            "asalta",
            &response(400, r#"{"message":"Field customer_id is Mandatory."}"#),
        )
        .unwrap();
        assert_eq!(e.vendor_code(), Some("mandatory_field"));
        assert_eq!(e.vendor_message(), Some("Field customer_id is Mandatory."));
    }

    #[test]
    fn an_unknown_500_is_unavailable_and_401_says_what_to_run() {
        let e = parse_error("asalta", &response(500, "oops")).unwrap();
        assert!(e.is_retryable());
        let e = parse_error("asalta", &response(401, "")).unwrap();
        assert!(e.to_string().contains("posbridge auth asalta"), "{e}");
    }

    #[test]
    fn the_pre_check_sees_every_spelling_of_the_error_key() {
        for body in [
            r#"{"error":true}"#,
            r#"{"\u0065rror":true}"#,
            r#"{"e\u0072ror":true}"#,
            r#"{"err\u006Fr":true}"#,
            r#"{"err\u006fr":"1"}"#,
            r#"{"x":"\u00"}"#,
        ] {
            assert!(may_have_error_key(body.as_bytes()), "{body}");
        }
        assert!(flagged_error(br#"{"\u0065rror":true}"#));
        assert!(flagged_error(br#"{"data":[],"err\u006fr":1}"#));
        for body in [r#"{"data":[{"name":"caf\u00e9"}]}"#, r#"{"errors":[]}"#, "", "[1]"] {
            assert!(!flagged_error(body.as_bytes()), "{body}");
        }
        assert!(!may_have_error_key(br#"{"data":[{"name":"caf\u00e9"}],"_meta":{}}"#));
    }

    #[test]
    fn messages_are_read_from_asalta_s_keys() {
        for (body, message) in [
            (r#"{"message":"Order already void","error":true}"#, "Order already void"),
            (r#"{"Message":"nope"}"#, "nope"),
            (r#"{"error":"invalid_grant","error_description":"expired"}"#, "expired"),
            (r#"{"error":true,"msg":"late"}"#, "late"),
            ("Bad Gateway", "Bad Gateway"),
        ] {
            assert_eq!(vendor_message(body.as_bytes(), &MESSAGES), message, "{body}");
        }
        let e = parse_error(
            "asalta",
            &response(401, r#"{"message":"Unauthorized -- Your API key is wrong"}"#),
        )
        .unwrap();
        assert_eq!(
            e.vendor_message(),
            Some(format!("Unauthorized -- Your API key is wrong; {RUN_AUTH}").as_str())
        );
        let e = parse_error(
            "asalta",
            &response(406, r#"{"message":"Please provide valid page number"}"#),
        )
        .unwrap();
        assert_eq!(
            (e.vendor_code(), e.kind()),
            (Some("invalid_page"), posbridge_core::ErrorKind::Rejected)
        );
    }

    #[test]
    fn a_200_flagged_as_error_is_a_rejection() {
        let e = parse_error("asalta", &response(200, r#"{"Message":"nope","error":true}"#)).unwrap();
        assert_eq!(e.vendor_message(), Some("nope"));
        assert!(parse_error("asalta", &response(200, r#"{"message":"Success","error":false}"#)).is_none());
    }
}
