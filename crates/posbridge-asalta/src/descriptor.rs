//! What the rest of posbridge knows of this vendor: [`DESCRIPTOR`](crate::DESCRIPTOR).

use posbridge_core::VendorDescriptor;
use posbridge_core::descriptor::connect_json;

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
        .with_bench(crate::bench::HOOK);
