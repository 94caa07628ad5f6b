//! How CloudMA reports failure, mapped to posbridge's error kinds.
//!
//! | CloudMA | posbridge |
//! |---|---|
//! | 200, 201 | success (a JSON body with `"success": false` or `"status": "error"` is a [`Error::Rejected`]) |
//! | 400 (e.g. "Product Not Found"), 409, 422 | [`Error::Rejected`] keeping CloudMA's message; a duplicate reference gets code `duplicate_reference` |
//! | 401, 403 | [`Error::Auth`] |
//! | 404 | [`Error::NotFound`] |
//! | 429 | [`Error::RateLimited`] with `Retry-After` |
//! | 500 and other 5xx | [`Error::Unavailable`] (for a push: [`Error::Uncertain`], decided by the transport) |

use posbridge_core::Error;
use posbridge_core::http::{Response, default_parse_error};

use crate::map::vendor_message;

pub use posbridge_core::error::DUPLICATE_REFERENCE;

/// CloudMA's error parser: `None` for success.
pub(crate) fn parse_error(vendor: &'static str, response: &Response) -> Option<Error> {
    let status = response.status.as_u16();
    match status {
        200..=299 => None,
        400 | 409 | 422 => {
            let message = vendor_message(&response.body);
            let lower = message.to_ascii_lowercase();
            let duplicate = lower.contains("duplicate") || lower.contains("already exist");
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
                    format!("the API token was refused (HTTP {status})")
                } else {
                    message
                },
            })
        }
        404 => Some(Error::NotFound {
            vendor,
            what: vendor_message(&response.body),
        }),
        _ => default_parse_error(vendor, response),
    }
}
