//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;
use posbridge_core::{Documented, Operation, Shape, Via};

use crate::{Config, VENDOR, capabilities};

/// The config section `posbridge config init` writes, uncommented (the CLI comments
/// it out); a test builds a connector from it.
const CONFIG_TEMPLATE: &str = r#"[asalta]
base_url = "https://api.asalta.com/"        # your Asalta server
client_id = "your-oauth-client-id"
# client_secret = "..."                    # better: POSBRIDGE_ASALTA_CLIENT_SECRET
redirect_uri = "http://127.0.0.1:8765/callback"
token_file = "asalta-token.json"           # kept with mode 600
utc_offset = "+08:00"
"#;

/// This vendor, as the facade's registry, the CLI, the sandbox and the tools see it.
pub const DESCRIPTOR: VendorDescriptor =
    VendorDescriptor::new(VENDOR, "Asalta", env!("CARGO_PKG_NAME"), capabilities, connect_json::<Config>)
        .with_country("Singapore")
        .with_summary(r#"OAuth2 code flow, invoices/orders, paged streams, stock per warehouse, customers, the rest of the POS API and the reports as typed methods"#)
        .with_secret_fields(&["client_secret"])
        .with_config_template(CONFIG_TEMPLATE)
        .with_fuzz(crate::fuzzing::fuzz)
        .with_bench(crate::bench::HOOK)
.with_documented(DOCUMENTED);

/// Every operation of Asalta's document (`asalta.txt`), and what performs it: a
/// capability operation, or one of the connector's own calls
/// ([`Connector::call`](posbridge_core::Connector::call) names them as here).
const DOCUMENTED: &[Documented] = &[
    Documented::new("GET /auth", Shape::Browser, Via::Authentication),
    Documented::new("POST /auth/token", Shape::Auth, Via::Authentication),
    Documented::new("GET /pos/categories", Shape::List, Via::Call("categories")),
    Documented::new("GET /pos/categories?id", Shape::Read, Via::Call("category")),
    Documented::new("GET /pos/subcategories", Shape::List, Via::Call("subcategories")),
    Documented::new("GET /pos/subcategories?id", Shape::Read, Via::Call("subcategory")),
    Documented::new(
        "GET /pos/subcategories?parent_category_id",
        Shape::List,
        Via::Call("subcategories_of"),
    ),
    Documented::new(
        "GET /pos/warehouses",
        Shape::List,
        Via::Operation(Operation::ListLocations),
    ),
    Documented::new("GET /pos/warehouses?id", Shape::Read, Via::Call("warehouse")),
    Documented::new("GET /pos/customer_groups", Shape::List, Via::Call("customer_groups")),
    Documented::new("GET /pos/customer_groups?id", Shape::Read, Via::Call("customer_group")),
    Documented::new("GET /pos/billers", Shape::List, Via::Call("billers")),
    Documented::new("GET /pos/billers?id", Shape::Read, Via::Call("biller")),
    Documented::new(
        "GET /pos/customers",
        Shape::List,
        Via::Operation(Operation::ListCustomers),
    ),
    Documented::new(
        "GET /pos/customers?id",
        Shape::Read,
        Via::Operation(Operation::GetCustomer),
    ),
    Documented::new(
        "POST /pos/customers",
        Shape::Write,
        Via::Operation(Operation::CreateCustomer),
    ),
    Documented::new(
        "POST /pos/customers (with id)",
        Shape::Write,
        Via::Operation(Operation::UpdateCustomer),
    ),
    Documented::new("GET /pos/loyalty?customer_id", Shape::List, Via::Call("loyalty")),
    Documented::new("GET /pos/items", Shape::List, Via::Operation(Operation::ListProducts)),
    Documented::new("GET /pos/items?id", Shape::Read, Via::Operation(Operation::GetProduct)),
    Documented::new("GET /pos/promotions?warehouse_id", Shape::List, Via::Call("promotions")),
    Documented::new("GET /pos/promotions?id", Shape::Read, Via::Call("promotion")),
    Documented::new("GET /pos/taxrates", Shape::List, Via::Call("tax_rates")),
    Documented::new("GET /pos/taxrates?id", Shape::Read, Via::Call("tax_rate")),
    Documented::new(
        "GET /pos/taxlineitems?tax_rate_id",
        Shape::List,
        Via::Call("tax_line_items"),
    ),
    Documented::new(
        "GET /pos/taxlineitems?tax_rate_id&id",
        Shape::Read,
        Via::Call("tax_line_item"),
    ),
    Documented::new("GET /pos/invoices", Shape::List, Via::Operation(Operation::ListSales)),
    Documented::new("GET /pos/invoices?id", Shape::Read, Via::Operation(Operation::GetSale)),
    Documented::new("POST /pos/invoices", Shape::Write, Via::Operation(Operation::PushSale)),
    Documented::new("GET /pos/payment_methods", Shape::List, Via::Call("payment_methods")),
    Documented::new("GET /pos/payment_methods?id", Shape::Read, Via::Call("payment_method")),
    Documented::new("GET /pos/payments?sale_id", Shape::List, Via::Call("payments")),
    Documented::new("GET /pos/payments?id", Shape::Read, Via::Call("payment")),
    Documented::new(
        "POST /pos/payments",
        Shape::Write,
        Via::Operation(Operation::AddPayment),
    ),
    Documented::new(
        "DELETE /pos/payments?id",
        Shape::Write,
        Via::Operation(Operation::DeletePayment),
    ),
    Documented::new(
        "GET /pos/return_invoices?sale_id",
        Shape::List,
        Via::Call("return_invoices"),
    ),
    Documented::new("GET /pos/return_invoices?id", Shape::Read, Via::Call("return_invoice")),
    Documented::new(
        "POST /pos/return_invoices",
        Shape::Write,
        Via::Operation(Operation::PushReturn),
    ),
    Documented::new("GET /pos/orders", Shape::List, Via::Call("orders")),
    Documented::new("GET /pos/orders?id", Shape::Read, Via::Call("order")),
    Documented::new("POST /pos/orders", Shape::Write, Via::Operation(Operation::PushSale)),
    Documented::new(
        "GET /pos/return_orders?sale_id",
        Shape::List,
        Via::Call("return_orders"),
    ),
    Documented::new("GET /pos/return_orders?id", Shape::Read, Via::Call("return_order")),
    Documented::new(
        "POST /pos/return_orders",
        Shape::Write,
        Via::Operation(Operation::PushReturn),
    ),
    Documented::new(
        "GET /pos/void_order?id",
        Shape::Write,
        Via::Operation(Operation::VoidSale),
    ),
    Documented::new("GET /pos/giftcards?card_no", Shape::Read, Via::Call("gift_card")),
    Documented::new("POST /report/sales", Shape::Read, Via::Call("sales_report")),
    Documented::new("POST /report/invoices", Shape::Read, Via::Call("crm_invoices_report")),
    Documented::new("POST /report/payroll", Shape::Read, Via::Call("payroll_report")),
    Documented::new("POST /report/claims", Shape::Read, Via::Call("claims_report")),
    Documented::new("POST /report/rosterschedule", Shape::Read, Via::Call("roster_schedule")),
];
