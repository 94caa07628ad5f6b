//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;
use posbridge_core::{Documented, Operation, Shape, Via};

use crate::{Config, VENDOR, capabilities};

/// The config section `posbridge config init` writes, uncommented (the CLI comments
/// it out); a test builds a connector from it.
const CONFIG_TEMPLATE: &str = r#"[easpro]
base_url = "https://www.eas-pro.my/"
# partner = "..."                          # better: POSBRIDGE_EASPRO_PARTNER
# user_id = "..."                          # better: POSBRIDGE_EASPRO_USER_ID
utc_offset = "+08:00"
# POS product code -> EAS Pro invProductId: {"product": {"SKU-1": "68668492-..."}}
id_map_file = "easpro-products.json"
"#;

/// This vendor, as the facade's registry, the CLI, the sandbox and the tools see it.
pub const DESCRIPTOR: VendorDescriptor = VendorDescriptor::new(
    VENDOR,
    "EAS Pro",
    env!("CARGO_PKG_NAME"),
    capabilities,
    connect_json::<Config>,
)
.with_country("Malaysia")
.with_summary(r#"sales (idempotent upsert) with payments"#)
.with_secret_fields(&["partner", "user_id"])
.with_config_template(CONFIG_TEMPLATE)
.with_fuzz(crate::fuzzing::fuzz)
.with_bench(crate::bench::HOOK)
.with_documented(DOCUMENTED);

/// Every operation of EAS Pro's document and public notes, and what performs it.
const DOCUMENTED: &[Documented] = &[
    Documented::new(
        "POST /eas/api/external/transaction/create",
        Shape::Write,
        Via::Operation(Operation::PushSale),
    ),
    Documented::new(
        "POST /eas/api/external/transaction/payment/create",
        Shape::Write,
        Via::Operation(Operation::AddPayment),
    ),
];
