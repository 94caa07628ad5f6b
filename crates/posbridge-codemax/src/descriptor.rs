//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;
use posbridge_core::{Documented, Operation, Shape, Via};

use crate::{Config, VENDOR, capabilities};

/// The config section `posbridge config init` writes, uncommented (the CLI comments
/// it out); a test builds a connector from it.
const CONFIG_TEMPLATE: &str = r#"[codemax]
base_url = "https://possync.c-mx.co/"      # staging: https://possync-staging.c-mx.co/
base_path = "/api/v1"
username = "your-pos-live-sync-user"
# password = "..."                         # better: POSBRIDGE_CODEMAX_PASSWORD
branch_code = "HQ"
utc_offset = "+08:00"
"#;

/// This vendor, as the facade's registry, the CLI, the sandbox and the tools see it.
pub const DESCRIPTOR: VendorDescriptor = VendorDescriptor::new(
    VENDOR,
    "Codemax POS Live Sync",
    env!("CARGO_PKG_NAME"),
    capabilities,
    connect_json::<Config>,
)
.with_country("Malaysia")
.with_summary(r#"invoices in batches of 20, login + token refresh"#)
.with_secret_fields(&["password"])
.with_config_template(CONFIG_TEMPLATE)
.with_fuzz(crate::fuzzing::fuzz)
.with_bench(crate::bench::HOOK)
.with_documented(DOCUMENTED);

/// Every operation of Codemax's collection (the Authentication, Sync Invoices and
/// Refresh Authentication APIs), and what performs it.
const DOCUMENTED: &[Documented] = &[
    Documented::new("POST /api/v1/auth/login", Shape::Auth, Via::Authentication),
    Documented::new("POST /api/v1/sync", Shape::Write, Via::Operation(Operation::PushSales)),
    Documented::new("POST /api/v1/auth/refresh", Shape::Auth, Via::Authentication),
];
