//! EAS Pro's request and response shapes, with field names exactly as EAS Pro spells
//! them. Nothing outside this file names an EAS Pro field, header or path.
//!
//! What EAS Pro's sample sends as strings (`discount`, `priceSellPerUnit`,
//! `stockToCount`) is written as a string, what it sends as numbers (`value`,
//! `subTotal`, `delivery`) as an exact JSON number; every field is read from either.

use posbridge_core::Decimal;
use posbridge_core::error::MessageKeys;
use posbridge_core::wire::{decimal_number, decimal_string, string_or_number};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Path of "Merekod jualan (tambah baru & edit)": create or update a sale, relative to
/// the base URL.
pub(crate) const CREATE_TRANSACTION: &str = "eas/api/external/transaction/create";
/// Path of the payment endpoint (create or update a payment of a sale).
pub(crate) const CREATE_PAYMENT: &str = "eas/api/external/transaction/payment/create";

/// The header carrying the partner key EAS Pro's admin issues.
pub(crate) const PARTNER_HEADER: &str = "partner";
/// The header carrying the merchant's user id.
pub(crate) const USER_ID_HEADER: &str = "user-id";

/// The code `response.status.code` carries on success.
pub(crate) const SUCCESS_CODE: &str = "0";

/// Keys under `data` that may carry the id EAS Pro gave a record. The document shows
/// none; these are looked for in case a server sends one.
pub(crate) const ID_KEYS: &[&str] = &["id", "transactionId", "billId", "invoiceId", "paymentId"];
/// The key under `data` that says the account is a demo account.
pub(crate) const DEMO: &str = "demo";
/// Where a refusal's message is: `response.status.httpMessage` (a text, a number, a
/// list or an object of them, joined), else `data.result` (EAS Pro's result word,
/// `"Failed"`); never the whole body.
pub(crate) const MESSAGES: MessageKeys = MessageKeys::new(&["/response/status/httpMessage", "/data/result"])
    .nested()
    .numbers()
    .without_body();

/// Every request body: `{"data": …}`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Body<T> {
    pub data: T,
}

/// `billType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum BillType {
    #[serde(rename = "INVOICE")]
    Invoice,
    #[serde(rename = "QUOTATION")]
    Quotation,
}

/// `billStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum BillStatus {
    #[serde(rename = "UNPAID")]
    Unpaid,
    #[serde(rename = "PAID")]
    Paid,
}

/// `discountType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum DiscountType {
    #[serde(rename = "flat")]
    Flat,
    #[serde(rename = "percent")]
    Percent,
}

/// `transactionMethod` of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TransactionMethod {
    #[serde(rename = "BANK_TRANSFER")]
    BankTransfer,
    #[serde(rename = "CHEQUE")]
    Cheque,
    #[serde(rename = "CASH")]
    Cash,
}

/// The `partner` object: the customer. `type` and `name` are mandatory when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Partner {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "email", default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "telNo", default, skip_serializing_if = "Option::is_none")]
    pub tel_no: Option<String>,
    #[serde(rename = "address", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// The fields of the `partner` object, as EAS Pro may name them in a message.
pub(crate) const PARTNER_FIELDS: &[&str] = &["type", "name", "email", "telNo", "address"];

/// The only `partner.type` a sale sends.
pub(crate) const PARTNER_TYPE_CUSTOMER: &str = "CUSTOMER";

/// One entry of `products`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Product {
    #[serde(rename = "description")]
    pub description: String,
    #[serde(rename = "discount", with = "decimal_string")]
    pub discount: Decimal,
    #[serde(rename = "discountType")]
    pub discount_type: DiscountType,
    #[serde(rename = "invProductId")]
    pub inv_product_id: String,
    #[serde(rename = "name")]
    pub name: String,
    #[serde(rename = "priceSellPerUnit", with = "decimal_string")]
    pub price_sell_per_unit: Decimal,
    #[serde(rename = "stockToCount", with = "decimal_string")]
    pub stock_to_count: Decimal,
    #[serde(rename = "subTotal", with = "decimal_number")]
    pub sub_total: Decimal,
}

/// The `data` of `POST eas/api/external/transaction/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Transaction {
    #[serde(rename = "value", with = "decimal_number")]
    pub value: Decimal,
    #[serde(rename = "transactionDate")]
    pub transaction_date: String,
    #[serde(rename = "billType")]
    pub bill_type: BillType,
    #[serde(rename = "billStatus")]
    pub bill_status: BillStatus,
    #[serde(rename = "billReferenceId")]
    pub bill_reference_id: String,
    #[serde(rename = "delivery", with = "decimal_number")]
    pub delivery: Decimal,
    #[serde(rename = "partner", default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<Partner>,
    #[serde(rename = "products")]
    pub products: Vec<Product>,
}

/// The `data` of `POST eas/api/external/transaction/payment/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Payment {
    #[serde(rename = "amount", with = "decimal_number")]
    pub amount: Decimal,
    #[serde(rename = "paymentDate")]
    pub payment_date: String,
    #[serde(rename = "reference")]
    pub reference: String,
    #[serde(rename = "billReferenceId")]
    pub bill_reference_id: String,
    #[serde(rename = "transactionMethod")]
    pub transaction_method: TransactionMethod,
}

/// Every answer: `{"data": {...}, "response": {"date": …, "status": {"code": "0",
/// "httpMessage": "success processed"}}}`, always with HTTP 200.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Answer {
    #[serde(rename = "data", default)]
    pub data: Option<Value>,
    #[serde(rename = "response")]
    pub response: AnswerResponse,
}

/// `response` of an answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AnswerResponse {
    #[serde(rename = "status")]
    pub status: AnswerStatus,
}

/// `response.status` of an answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AnswerStatus {
    /// `"0"` on success; read from a string or a number.
    #[serde(rename = "code", with = "string_or_number")]
    pub code: String,
    // `httpMessage` (`"success processed"`, or `null`, or a list) is read only on a
    // refusal, where [`MESSAGES`] says.
}
