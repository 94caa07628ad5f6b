//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;
use posbridge_core::{Documented, Operation, Shape, Via};

use crate::{Config, VENDOR, capabilities};

/// The config section `posbridge config init` writes, uncommented (the CLI comments
/// it out); a test builds a connector from it.
const CONFIG_TEMPLATE: &str = r#"[cloudma]
base_url = "https://testdev.cloudma.app/"   # CloudMA's test server; use yours
# token = "..."                            # better: POSBRIDGE_CLOUDMA_TOKEN
# body = "form"                            # or "json"
# grand_total = "items_sum"                # or "payable"
# walk_in_customer = "Walk-in Customer"

# [cloudma.http]
# timeout_ms = 30000
# [cloudma.http.retry]
# max_retries = 3
# [cloudma.http.rate_limit]
# per_second = 5
"#;

/// This vendor, as the facade's registry, the CLI, the sandbox and the tools see it.
pub const DESCRIPTOR: VendorDescriptor = VendorDescriptor::new(
    VENDOR,
    "CloudMA",
    env!("CARGO_PKG_NAME"),
    capabilities,
    connect_json::<Config>,
)
.with_country("Sri Lanka")
.with_summary(r#"sales, purchases (GRN), stock"#)
.with_secret_fields(&["token"])
.with_config_template(CONFIG_TEMPLATE)
.with_fuzz(crate::fuzzing::fuzz)
.with_bench(crate::bench::HOOK)
.with_documented(DOCUMENTED);

/// Every operation of CloudMA's document (`cloudma.txt`), and what performs it.
const DOCUMENTED: &[Documented] = &[
    Documented::new("POST /api/push-sale", Shape::Write, Via::Operation(Operation::PushSale)),
    Documented::new(
        "POST /api/push-purchase",
        Shape::Write,
        Via::Operation(Operation::PushPurchase),
    ),
    Documented::new(
        "POST /api/sync-stock",
        Shape::List,
        Via::Operation(Operation::StockLevels),
    ),
];
