//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;
use posbridge_core::{Documented, Operation, Shape, Via};

use crate::{Config, VENDOR, capabilities};

/// The config section `posbridge config init` writes, uncommented (the CLI comments
/// it out); a test builds a connector from it.
const CONFIG_TEMPLATE: &str = r#"[salesmania]
base_url = "https://api.salesmania.id/"
username = "kasir@example.id"
# password = "..."                         # better: POSBRIDGE_SALESMANIA_PASSWORD
database = "Toko Maju"                    # the database's name or numeric id
walk_in_customer_id = 3000                 # for sales without a customer
utc_offset = "+07:00"                     # WIB; WITA +08:00, WIT +09:00
"#;

/// This vendor, as the facade's registry, the CLI, the sandbox and the tools see it.
pub const DESCRIPTOR: VendorDescriptor = VendorDescriptor::new(
    VENDOR,
    "SalesMania",
    env!("CARGO_PKG_NAME"),
    capabilities,
    connect_json::<Config>,
)
.with_country("Indonesia")
.with_summary(r#"orders with cascading discounts ("55.05+3"), customers, stock from products, visits, teams"#)
.with_secret_fields(&["password"])
.with_config_template(CONFIG_TEMPLATE)
.with_fuzz(crate::fuzzing::fuzz)
.with_bench(crate::bench::HOOK)
.with_documented(DOCUMENTED);

/// Every operation of SalesMania's document (its navigation lists them), and what
/// performs it.
const DOCUMENTED: &[Documented] = &[
    Documented::new("GET /extapi/v1.0/token", Shape::Auth, Via::Authentication),
    Documented::new("GET /extapi/v1.0/databases", Shape::Auth, Via::Authentication),
    Documented::new("GET /extapi/v1.0/team_token", Shape::Auth, Via::Authentication),
    Documented::new(
        "GET /extapi/v1.0/customers",
        Shape::List,
        Via::Operation(Operation::ListCustomers),
    ),
    Documented::new(
        "POST /extapi/v1.0/customers",
        Shape::Write,
        Via::Operation(Operation::CreateCustomer),
    ),
    Documented::new(
        "GET /extapi/v1.0/customers/{id}",
        Shape::Read,
        Via::Operation(Operation::GetCustomer),
    ),
    Documented::new(
        "PATCH /extapi/v1.0/customers/{id}",
        Shape::Write,
        Via::Operation(Operation::UpdateCustomer),
    ),
    Documented::new(
        "DELETE /extapi/v1.0/customers/{id}",
        Shape::Write,
        Via::Operation(Operation::DeleteCustomer),
    ),
    Documented::new(
        "GET /extapi/v1.0/products",
        Shape::List,
        Via::Operation(Operation::ListProducts),
    ),
    Documented::new(
        "POST /extapi/v1.0/products",
        Shape::Write,
        Via::Operation(Operation::CreateProduct),
    ),
    Documented::new(
        "GET /extapi/v1.0/products/{id}",
        Shape::Read,
        Via::Operation(Operation::GetProduct),
    ),
    Documented::new(
        "PATCH /extapi/v1.0/products/{id}",
        Shape::Write,
        Via::Operation(Operation::UpdateProduct),
    ),
    Documented::new(
        "DELETE /extapi/v1.0/products/{id}",
        Shape::Write,
        Via::Operation(Operation::DeleteProduct),
    ),
    Documented::new("GET /extapi/v1.0/visits", Shape::List, Via::Call("visits")),
    Documented::new("POST /extapi/v1.0/visits", Shape::Write, Via::Call("add_visit")),
    Documented::new(
        "POST /extapi/v1.0/orders",
        Shape::Write,
        Via::Operation(Operation::PushSale),
    ),
    Documented::new(
        "GET /extapi/v1.0/orders/{id}",
        Shape::Read,
        Via::Operation(Operation::GetSale),
    ),
    Documented::new(
        "PATCH /extapi/v1.0/orders/{id}",
        Shape::Write,
        Via::Operation(Operation::VoidSale),
    ),
    Documented::new("GET /extapi/v1.0/teams", Shape::List, Via::Call("teams")),
];
