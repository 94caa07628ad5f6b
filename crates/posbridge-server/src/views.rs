//! The `/v1` wire types: what the API sends and takes besides the library's own
//! documents. They are the API's contract, kept apart from the outbox's structs so
//! that a change inside the library is not a change of `/v1`.

use jiff::Timestamp;
use posbridge_core::{Product, Sale, StockLevel};
use posbridge_outbox::{Delivery, DeliveryEvent, DeliveryState, DocumentKind, Enqueued};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Problem;

/// The longest excerpt of a vendor's reason shown.
pub(crate) const REASON_EXCERPT: usize = 1000;

/// `text` cut to at most `max` characters, marked when cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// One document's delivery to one of the tenant's vendors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The delivery's id (for retry and resolve).
    pub id: i64,
    /// The tenant (merchant).
    pub tenant: String,
    /// The vendor it goes to.
    pub vendor: String,
    /// The document's reference: a sale's POS reference, or `return:R-1`, `void:S-1`,
    /// `payment:P-1`.
    pub reference: String,
    /// `sale`, `return`, `void` or `payment`.
    #[schema(value_type = String, example = "sale")]
    pub kind: DocumentKind,
    /// For a return, void or payment: the POS reference of its sale.
    pub sale_reference: Option<String>,
    /// `pending`, `delivering`, `retrying`, `delivered`, `dead`, `uncertain`, `blocked`
    /// or `not_offered`.
    #[schema(value_type = String, example = "delivered")]
    pub state: DeliveryState,
    /// How many times a worker took it.
    pub attempts: u32,
    /// 1, plus one per update of an upsert vendor's sale.
    pub revision: u32,
    /// When it is next due (pending and retrying).
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// The vendor's id for the record, once delivered.
    pub vendor_id: Option<String>,
    /// What the vendor did: `created`, `updated`, `duplicate`, `accepted`.
    pub disposition: Option<String>,
    /// The last error: the vendor's reason (an excerpt), for dead and uncertain ones.
    pub last_error: Option<String>,
    /// The kind of the last error (`rejected`, `unavailable`, …).
    pub last_error_kind: Option<String>,
    /// When it was enqueued.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// When it was delivered.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            tenant: d.target.tenant,
            vendor: d.target.vendor,
            reference: d.reference,
            kind: d.kind,
            sale_reference: d.sale_reference,
            state: d.state,
            attempts: d.attempts,
            revision: d.revision,
            next_attempt_at: d.next_attempt_at,
            vendor_id: d.vendor_id,
            disposition: d.disposition,
            last_error: d.last_error.map(|e| excerpt(&e, REASON_EXCERPT)),
            last_error_kind: d.last_error_kind,
            created_at: d.created_at,
            updated_at: d.updated_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// One change in a delivery's life: an attempt's outcome, or an operator's action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// The event's id (increasing).
    pub id: i64,
    /// The state before (none when the delivery was created).
    #[schema(value_type = Option<String>)]
    pub from: Option<DeliveryState>,
    /// The state after.
    #[schema(value_type = String)]
    pub to: DeliveryState,
    /// The delivery's attempts at that point.
    pub attempt: u32,
    /// The kind of error, when the change was a failure.
    pub error_kind: Option<String>,
    /// The vendor's reason (an excerpt), when the change was a failure.
    pub error: Option<String>,
    /// What the vendor did, when delivered.
    pub disposition: Option<String>,
    /// The vendor's id, when delivered.
    pub vendor_id: Option<String>,
    /// Who made the change: a worker's id, `operator`, or `enqueue`.
    pub actor: Option<String>,
    /// How long the attempt took, when the change ended one.
    pub duration_ms: Option<u64>,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

impl From<DeliveryEvent> for EventView {
    fn from(e: DeliveryEvent) -> Self {
        Self {
            id: e.id,
            from: e.from,
            to: e.to,
            attempt: e.attempt,
            error_kind: e.error_kind,
            error: e.error.as_deref().map(|x| excerpt(x, REASON_EXCERPT)),
            disposition: e.disposition,
            vendor_id: e.vendor_id,
            actor: e.actor,
            duration_ms: e.duration_ms,
            at: e.at,
        }
    }
}

/// A delivery and what an enqueue did to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnqueuedDelivery {
    /// `new`, `existing` (the same document was already queued: nothing changed) or
    /// `updated` (an upsert vendor's sale changed: queued again).
    #[schema(value_type = String, example = "new")]
    pub enqueued: Enqueued,
    /// The delivery as it now stands.
    pub delivery: DeliveryView,
}

/// What an enqueue did: one delivery per target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnqueueResponse {
    /// The document's reference.
    pub reference: String,
    /// Its deliveries.
    pub deliveries: Vec<EnqueuedDelivery>,
}

/// Several sales in one request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The sales, each enqueued on its own (one refused does not stop the others).
    pub sales: Vec<Sale>,
}

/// The outcome of one sale of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// The sale's reference.
    pub reference: String,
    /// The status a request of this sale alone would have had: 201, 200, 409 or 422.
    pub status: u16,
    /// Its deliveries, when enqueued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<EnqueuedDelivery>>,
    /// Why it was refused, with pointers under `/sales/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// What a batch did, sale by sale in the request's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchResponse {
    /// How many were enqueued (new or updated).
    pub enqueued: usize,
    /// How many were already queued unchanged.
    pub existing: usize,
    /// How many were refused.
    pub refused: usize,
    /// Each sale's outcome.
    pub results: Vec<BatchItem>,
}

/// A page of deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// The deliveries, oldest first.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// One delivery, its document and its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetail {
    /// The delivery.
    pub delivery: DeliveryView,
    /// The document as queued (`{"kind", "document"}`).
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// Its state changes, oldest first: each attempt's outcome and the operator's
    /// actions.
    pub events: Vec<EventView>,
}

/// How an operator settles an uncertain delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The vendor has it: mark it delivered.
    Delivered,
    /// The vendor does not have it: send it again.
    Resend,
}

/// The body of a resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// What the operator found at the vendor.
    #[serde(rename = "as")]
    pub resolution: Resolution,
}

/// Stock levels read from a vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockResponse {
    /// The vendor.
    pub vendor: String,
    /// When the vendor was read (the answer may come from a cache this old).
    #[schema(value_type = String, format = DateTime)]
    pub fetched_at: Timestamp,
    /// The levels.
    pub levels: Vec<StockLevel>,
}

/// Products read from a vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductsResponse {
    /// The vendor.
    pub vendor: String,
    /// When the vendor was read (the answer may come from a cache this old).
    #[schema(value_type = String, format = DateTime)]
    pub fetched_at: Timestamp,
    /// The products.
    pub products: Vec<Product>,
    /// Whether the vendor has more than the cap this service reads.
    pub truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt("abcd", 3), "abc…");
        assert_eq!(excerpt("ééé", 2), "éé…");
    }
}
