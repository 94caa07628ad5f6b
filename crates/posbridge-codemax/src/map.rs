//! Pure mapping between posbridge's domain types and Codemax's wire shapes. Every
//! decision the Codemax collection leaves open is made here (or in `wire.rs` for
//! names) and written down in `docs/vendors/codemax.md`.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::Offset;
use posbridge_core::error::{DUPLICATE_REFERENCE, excerpt};
use posbridge_core::{Decimal, Disposition, Error, FieldPath, PushReceipt, Result, Sale, SaleKind, SaleStatus, Void};
use serde::Deserialize;
use serde_json::Value;

use crate::{VENDOR, wire};

/// What every invoice of one merchant carries besides the sale itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InvoiceOptions<'a> {
    /// The POS Live Sync username (the login username).
    pub username: &'a str,
    /// The merchant's branch code.
    pub branch_code: &'a str,
    /// The merchant's UTC offset, for the invoice timestamp.
    pub utc_offset: Offset,
}

/// Builds one invoice from a sale: the totals must reconcile (they are checked, not
/// sent), the sale must be an invoice (quotations and orders move no stock), and every
/// quantity must be positive (the API deducts stock; it has no returns).
pub(crate) fn invoice(sale: &Sale, options: &InvoiceOptions<'_>) -> Result<wire::Invoice> {
    let checked = sale.reconcile()?;
    let s = checked.sale();
    if s.kind != SaleKind::Invoice {
        return Err(Error::invalid(
            "kind",
            format!(
                "Codemax syncs invoices (stock that left the shop); a {} moves no stock",
                kind_name(s.kind)
            ),
        ));
    }
    let mut items = Vec::with_capacity(s.lines.len());
    for (i, line) in s.lines.iter().enumerate() {
        items.push(wire::Item {
            item_code: line.product_code.clone(),
            quantity: quantity_deducted(line.quantity, FieldPath::Line(i).child("quantity"))?,
        });
    }
    Ok(wire::Invoice {
        invoice_no: s.reference.clone(),
        timestamp: timestamp(s.issued_at, options.utc_offset),
        branch_code: options.branch_code.to_owned(),
        username: options.username.to_owned(),
        is_void: s.status == SaleStatus::Void,
        items,
    })
}

/// Builds the void record of a sale already synced: its invoice number (the sale's POS
/// reference: Codemax knows invoices by number only, and gives no id of its own),
/// `timestamp` = when it was voided (`voided_at`, else `now`), `is_void: true` and no
/// items (Codemax reverses what it recorded for that number; the void carries no
/// lines). The void is checked before anything is sent.
pub(crate) fn void_invoice(void: &Void, options: &InvoiceOptions<'_>, now: Timestamp) -> Result<wire::Invoice> {
    void.check()?;
    let invoice_no = void.sale.reference().ok_or_else(|| {
        Error::invalid(
            "sale.reference",
            format!(
                "Codemax knows an invoice by its number (the sale's POS reference) only{}: give the sale's reference",
                void.sale
                    .vendor_id()
                    .map(|v| format!(", not by the id {}", posbridge_core::error::quote(v)))
                    .unwrap_or_default()
            ),
        )
    })?;
    Ok(wire::Invoice {
        invoice_no: invoice_no.to_owned(),
        timestamp: timestamp(void.voided_at.unwrap_or(now), options.utc_offset),
        branch_code: options.branch_code.to_owned(),
        username: options.username.to_owned(),
        is_void: true,
        items: Vec::new(),
    })
}

fn kind_name(kind: SaleKind) -> &'static str {
    match kind {
        SaleKind::Quotation => "quotation",
        SaleKind::Order => "order",
        _ => "document that is not an invoice",
    }
}

/// The quantity deducted from stock: positive, exact (never rounded: weighed goods
/// keep their grams), without trailing zeros (`2.000` is sent as `2`).
pub(crate) fn quantity_deducted(quantity: Decimal, field: FieldPath<'_>) -> Result<Decimal> {
    if quantity <= Decimal::ZERO {
        return Err(Error::invalid(
            field.to_string(),
            format!(
                "Codemax deducts sold quantities from stock and has no returns: quantity {quantity} must be positive"
            ),
        ));
    }
    Ok(quantity.normalize())
}

/// An instant as RFC 3339 in the merchant's offset, to the second:
/// `2026-11-26T12:45:00+08:00`.
pub(crate) fn timestamp(at: Timestamp, offset: Offset) -> String {
    let dt = offset.to_datetime(at);
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        abs / 3600,
        abs % 3600 / 60,
    )
}

/// Parses a UTC offset written `+08:00`, `+0800`, `+08`, `-05:30` or `Z`.
pub(crate) fn parse_offset(text: &str) -> std::result::Result<Offset, String> {
    let t = text.trim();
    let bad = || format!("{t:?} is not a UTC offset such as \"+08:00\"");
    if t.eq_ignore_ascii_case("z") {
        return Ok(Offset::UTC);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let shape_ok = match rest.len() {
        2 | 4 => !rest.contains(':'),
        5 => rest.as_bytes().get(2) == Some(&b':'),
        _ => false,
    };
    if !shape_ok || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let hours: i32 = digits.get(..2).and_then(|h| h.parse().ok()).ok_or_else(bad)?;
    let minutes: i32 = match digits.get(2..) {
        Some("") | None => 0,
        Some(m) => m.parse().map_err(|_| bad())?,
    };
    if hours > 18 || minutes > 59 {
        return Err(bad());
    }
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).map_err(|_| bad())
}

/// The top level of any Codemax answer, read tolerantly.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Envelope {
    /// The response code, as text.
    pub code: Option<String>,
    /// The message, redacted of anything that looks like a credential and cut short.
    pub message: Option<String>,
    /// Whether a non-empty per-invoice results list is present.
    pub has_results: bool,
}

/// Reads the envelope of a body; a body that is not a JSON object has none.
pub(crate) fn envelope(body: &[u8]) -> Envelope {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => envelope_of(&v),
        _ => Envelope::default(),
    }
}

/// The envelope of a JSON object.
fn envelope_of(v: &Value) -> Envelope {
    Envelope {
        code: v.get(wire::CODE).and_then(code_text),
        message: wire::MESSAGES.message_in(v),
        has_results: matches!(v.get(wire::RESULTS), Some(Value::Array(a)) if !a.is_empty()),
    }
}

fn code_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The outcome of each invoice of one sync request, in the order of `references`
/// (the invoice numbers sent), from the body of a successful answer.
///
/// With a `results` list, each invoice's own result decides; the list must name
/// every invoice sent exactly once and nothing else. Without one, a success code
/// means every invoice was synced. Anything else — not JSON, no code and no results,
/// a list that does not match, a status we do not know — is `Err` with the reason:
/// the caller reports the whole request as uncertain, never a guess.
pub(crate) fn sync_outcomes(references: &[&str], body: &[u8]) -> std::result::Result<Vec<Result<PushReceipt>>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON ({e})"))?;
    let Value::Object(o) = &v else {
        return Err("the answer is not a JSON object".into());
    };
    let results = match o.get(wire::RESULTS) {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(Value::Array(a)) => Some(a),
        Some(_) => return Err(format!("`{}` is not a list", wire::RESULTS)),
    };
    let Some(results) = results else {
        return match envelope_of(&v).code {
            Some(code) if wire::code::is_success(&code) => Ok(references.iter().map(|r| Ok(receipt(r))).collect()),
            Some(code) => Err(format!("code {code:?} without per-invoice results")),
            None => Err("the answer has neither a code nor per-invoice results".into()),
        };
    };
    let mut read = Vec::with_capacity(results.len());
    for (i, item) in results.iter().enumerate() {
        let r = wire::InvoiceResult::deserialize(item).map_err(|e| format!("result #{i} cannot be read ({e})"))?;
        read.push(r);
    }
    let mut by_invoice: HashMap<&str, &wire::InvoiceResult> = HashMap::with_capacity(read.len());
    for r in &read {
        if let Some(dup) = by_invoice.insert(r.invoice_no.as_str(), r) {
            return Err(format!("invoice {:?} has more than one result", dup.invoice_no));
        }
    }
    let mismatch = || {
        let mut named: Vec<&str> = by_invoice.keys().copied().collect();
        named.sort_unstable();
        format!("the results name {named:?} but the invoices sent were {references:?}")
    };
    if by_invoice.len() != references.len() {
        return Err(mismatch());
    }
    let mut out = Vec::with_capacity(references.len());
    for reference in references {
        let r = by_invoice.get(*reference).ok_or_else(mismatch)?;
        out.push(invoice_outcome(reference, r)?);
    }
    Ok(out)
}

fn receipt(reference: &str) -> PushReceipt {
    PushReceipt {
        reference: reference.to_owned(),
        vendor_id: None,
        disposition: Disposition::Created,
        differences: Vec::new(),
    }
}

fn invoice_outcome(reference: &str, r: &wire::InvoiceResult) -> std::result::Result<Result<PushReceipt>, String> {
    let status = r.status.as_deref().map(|s| s.trim().to_ascii_lowercase());
    let synced = match status.as_deref() {
        Some(s) if wire::STATUS_SUCCESS.contains(&s) => true,
        Some(s) if wire::STATUS_FAILED.contains(&s) => false,
        Some(other) => return Err(format!("invoice {reference:?} has an unknown status {other:?}")),
        None => match &r.code {
            Some(code) => wire::code::is_success(code),
            None => return Err(format!("invoice {reference:?} has neither a status nor a code")),
        },
    };
    if synced {
        return Ok(Ok(receipt(reference)));
    }
    let message = r
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map_or_else(
            || match r.code.as_deref() {
                Some(wire::code::UNKNOWN_INVOICE) => format!("Codemax holds no invoice {reference} to void"),
                _ => "Codemax refused the invoice".to_owned(),
            },
            |m| excerpt(m.as_bytes()),
        );
    let duplicate =
        r.code.as_deref() == Some(wire::code::DUPLICATE_INVOICE) || message.to_ascii_lowercase().contains("duplicate");
    Ok(Err(Error::Rejected {
        vendor: VENDOR,
        status: None,
        code: if duplicate {
            Some(DUPLICATE_REFERENCE.to_owned())
        } else {
            r.code.clone()
        },
        message,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use posbridge_core::ErrorKind;
    use rust_decimal_macros::dec;

    fn sale(json: Value) -> Sale {
        serde_json::from_value(json).unwrap()
    }

    fn options() -> InvoiceOptions<'static> {
        InvoiceOptions {
            username: "pos-kl01",
            branch_code: "KL01",
            utc_offset: parse_offset("+08:00").unwrap(),
        }
    }

    #[test]
    fn maps_a_sale_to_an_invoice_without_money() {
        let s = sale(serde_json::json!({
            "reference": "INV-1", "issued_at": "2026-11-26T10:15:30.250+05:30", "status": "void",
            "lines": [
                {"product_code": "TEA-100", "quantity": "2.000", "unit_price": "4.50"},
                {"product_code": "RICE-5KG", "quantity": "1.25", "unit_price": "4.99"}
            ]
        }));
        let w = invoice(&s, &options()).unwrap();
        assert_eq!(w.timestamp, "2026-11-26T12:45:30+08:00");
        assert!(w.is_void);
        assert_eq!((w.branch_code.as_str(), w.username.as_str()), ("KL01", "pos-kl01"));
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(
            json["items"],
            serde_json::json!([{"item_code": "TEA-100", "quantity": 2}, {"item_code": "RICE-5KG", "quantity": 1.25}])
        );
        assert_eq!(
            serde_json::to_string(&w.items[0]).unwrap(),
            r#"{"item_code":"TEA-100","quantity":2}"#
        );
    }

    #[test]
    fn refuses_returns_quotations_and_bad_totals() {
        let base = serde_json::json!({
            "reference": "INV-1", "issued_at": "2026-11-26T10:15:00Z",
            "lines": [{"product_code": "A", "quantity": "-1", "unit_price": "1"}]
        });
        let e = invoice(&sale(base.clone()), &options()).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, .. } if field == "lines[0].quantity"),
            "{e}"
        );
        let mut q = base.clone();
        q["lines"][0]["quantity"] = "1".into();
        q["kind"] = "quotation".into();
        let e = invoice(&sale(q.clone()), &options()).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "kind"), "{e}");
        q["kind"] = "invoice".into();
        q["total"] = "1.01".into();
        let e = invoice(&sale(q), &options()).unwrap_err();
        assert!(matches!(&e, Error::Invalid { field, .. } if field == "total"), "{e}");
    }

    #[test]
    fn a_void_record_names_the_invoice_and_lists_no_items() {
        let void: Void = serde_json::from_value(serde_json::json!({
            "sale": {"reference": " INV-1 ", "vendor_id": "x"}, "voided_at": "2026-11-27T01:00:00Z"
        }))
        .unwrap();
        let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let w = void_invoice(&void, &options(), now).unwrap();
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({"invoice_no": "INV-1", "timestamp": "2026-11-27T09:00:00+08:00", "branch_code": "KL01",
                "username": "pos-kl01", "is_void": true, "items": []})
        );
        let undated = Void::of(posbridge_core::SaleRef::pos("INV-2"));
        assert_eq!(
            void_invoice(&undated, &options(), now).unwrap().timestamp,
            "2030-01-01T08:00:00+08:00"
        );
        let by_id = Void::of(posbridge_core::SaleRef::vendor("77"));
        let e = void_invoice(&by_id, &options(), now).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { field, reason } if field == "sale.reference" && reason.contains("77")),
            "{e}"
        );
        let nothing = Void::of(posbridge_core::SaleRef::default());
        assert!(matches!(
            void_invoice(&nothing, &options(), now),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn an_unknown_invoice_without_a_message_says_so() {
        let out = sync_outcomes(
            &["A"],
            br#"{"code":"01","results":[{"invoice_no":"A","status":"failed","code":"34"}]}"#,
        )
        .unwrap();
        let e = out[0].as_ref().unwrap_err();
        assert_eq!(
            (e.kind(), e.vendor_code(), e.vendor_message()),
            (
                ErrorKind::Rejected,
                Some("34"),
                Some("Codemax holds no invoice A to void")
            )
        );
    }

    #[test]
    fn formats_timestamps_in_any_offset() {
        let at: Timestamp = "2026-01-01T00:30:00Z".parse().unwrap();
        assert_eq!(
            timestamp(at, parse_offset("-03:30").unwrap()),
            "2025-12-31T21:00:00-03:30"
        );
        assert_eq!(timestamp(at, Offset::UTC), "2026-01-01T00:30:00+00:00");
    }

    #[test]
    fn parses_offsets_strictly() {
        assert_eq!(parse_offset("+08:00").unwrap().seconds(), 8 * 3600);
        assert_eq!(parse_offset("+0800").unwrap().seconds(), 8 * 3600);
        assert_eq!(parse_offset("+08").unwrap().seconds(), 8 * 3600);
        assert_eq!(parse_offset("-05:30").unwrap().seconds(), -(5 * 3600 + 30 * 60));
        assert_eq!(parse_offset("Z").unwrap().seconds(), 0);
        for bad in [
            "08:00",
            "+8:00",
            "+08:0",
            "+0:800",
            "+19:00",
            "+08:60",
            "",
            "+",
            "+ab:cd",
            "+08:00:00",
        ] {
            assert!(parse_offset(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn reads_per_invoice_results_in_any_order_and_tolerantly() {
        let body = br#"{"code": 1, "results": [
            {"invoice_no": 1002, "status": "FAILED", "code": 31, "message": "Item code XYZ not found"},
            {"invoice_no": "1001", "status": "success", "code": "00"},
            {"invoice_no": "1003", "code": "00"},
            {"invoice_no": "1004", "status": "failed", "code": "30", "message": "Invoice already exists"}
        ]}"#;
        let out = sync_outcomes(&["1001", "1002", "1003", "1004"], body).unwrap();
        assert_eq!(out[0].as_ref().unwrap().reference, "1001");
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(
            (e.kind(), e.vendor_code(), e.vendor_message()),
            (ErrorKind::Rejected, Some("31"), Some("Item code XYZ not found"))
        );
        assert!(out[2].is_ok());
        assert_eq!(out[3].as_ref().unwrap_err().vendor_code(), Some(DUPLICATE_REFERENCE));
    }

    #[test]
    fn a_success_code_without_results_accepts_every_invoice() {
        for body in [
            &br#"{"code":"00"}"#[..],
            br#"{"code":0,"results":[]}"#,
            br#"{"code":"00","results":null}"#,
        ] {
            let out = sync_outcomes(&["A", "B"], body).unwrap();
            assert_eq!(out.len(), 2);
            assert!(
                out.iter()
                    .all(|r| r.as_ref().is_ok_and(|r| r.disposition == Disposition::Created))
            );
        }
    }

    #[test]
    fn never_guesses_from_an_answer_that_does_not_match() {
        let cases: [&[u8]; 8] = [
            b"<html>",
            b"",
            b"[]",
            br#"{"message":"ok"}"#,
            br#"{"code":"01"}"#,
            br#"{"code":"00","results":[{"invoice_no":"A","status":"success"}]}"#,
            br#"{"code":"00","results":[{"invoice_no":"A","status":"success"},{"invoice_no":"C","status":"success"}]}"#,
            br#"{"code":"00","results":[{"invoice_no":"A","status":"success"},{"invoice_no":"B","status":"maybe"}]}"#,
        ];
        for body in cases {
            assert!(
                sync_outcomes(&["A", "B"], body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let twice = br#"{"results":[{"invoice_no":"A","status":"success"},{"invoice_no":"A","status":"success"}]}"#;
        assert!(sync_outcomes(&["A", "B"], twice).is_err());
    }

    #[test]
    fn reads_envelopes_and_redacts_messages() {
        let e = envelope(br#"{"code": 10, "message": " Invalid username or password ", "results": []}"#);
        assert_eq!(
            e,
            Envelope {
                code: Some("10".into()),
                message: Some("Invalid username or password".into()),
                has_results: false
            }
        );
        assert_eq!(
            quantity_deducted(dec!(1.2500), FieldPath::Name("q"))
                .unwrap()
                .to_string(),
            "1.25"
        );
    }
}
