//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;

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
.with_bench(crate::bench::HOOK);
