//! # posbridge (the command line)
//!
//! `posbridge demo` shows every connector working against the built-in sandbox, with
//! no vendor account; `push`, `stock`, `customers` and `check` talk to the vendors in
//! the config file; `outbox` queues sales durably and delivers them with workers;
//! `sandbox` runs the sandbox as a process. See `docs/cli.md`.
//!
//! Exit codes: 0 ok, 1 some records failed (or a demo check failed), 2 usage, config
//! or input error, 3 authentication failed, 4 vendor unavailable.
#![allow(clippy::print_stderr)] // a CLI prints its errors

/// Prints a line on stdout; a closed stdout (`posbridge stock | head`) is not an error
/// worth a panic, so write failures are ignored.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[cfg(feature = "asalta")]
mod asalta;
mod catalogue;
mod commands;
mod config;
mod demo;
mod demo_lifecycle;
mod exit;
mod lifecycle;
mod outbox;
mod quote;
mod records;
#[cfg(feature = "salesmania")]
mod salesmania;
mod serve;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

use crate::commands::{Ctx, CustomersAction, Format, Output, PushKind};
use crate::config::Settings;
use crate::exit::{CliError, Exit};

const EXIT_CODES: &str = "Exit codes: 0 ok, 1 some records failed, 2 usage/config/input error, \
3 authentication failed, 4 vendor unavailable.";

/// Push POS sales, purchases and customers into back-office systems, and read their stock.
#[derive(Debug, Parser)]
#[command(name = "posbridge", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Config file (TOML) [default: CONFIG_DIR/posbridge/config.toml]
    #[arg(long, global = true, env = "POSBRIDGE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Use the sections of this merchant: [tenants.NAME.VENDOR]
    #[arg(long, global = true, value_name = "NAME")]
    tenant: Option<String>,

    /// Machine-readable JSON output
    #[arg(long, global = true)]
    json: bool,

    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a day of sample sales and a purchase through every vendor against the sandbox
    #[command(after_help = "Example:\n  posbridge demo --sales 50\n  posbridge demo --faults --seed 7")]
    Demo {
        /// Sales per vendor
        #[arg(long, default_value_t = 50)]
        sales: usize,
        /// Inject faults (timeouts, 429, 5xx, dropped connections) and show the books stay right
        #[arg(long)]
        faults: bool,
        /// Seed for the sample data and the faults
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Push sales or purchases from a JSON or NDJSON file
    #[command(
        after_help = "Example:\n  posbridge push sale sales.ndjson --vendor cloudma\n  cat sale.json | posbridge push sale -"
    )]
    Push {
        #[command(subcommand)]
        what: PushWhat,
    },
    /// Read sales back, or void them
    #[command(after_help = "Example:\n  posbridge sales list --vendor asalta\n  \
        posbridge sales void --reference INV-1001 --vendor salesmania")]
    Sales {
        /// The vendor [default: the only one configured]
        #[arg(long, global = true)]
        vendor: Option<String>,
        #[command(subcommand)]
        action: lifecycle::SalesAction,
    },
    /// Book payments made after the sale, or delete one
    #[command(after_help = "Example:\n  posbridge payments add pay-2001.json --vendor easpro\n  \
        posbridge payments delete 1043 --vendor asalta")]
    Payments {
        /// The vendor [default: the only one configured]
        #[arg(long, global = true)]
        vendor: Option<String>,
        #[command(subcommand)]
        action: lifecycle::PaymentsAction,
    },
    /// The vendor's products: list, read, create or update
    #[command(
        after_help = "Example:\n  posbridge products list --vendor salesmania --format csv\n  \
        posbridge products push catalogue.ndjson --vendor salesmania"
    )]
    Products {
        /// The vendor [default: the only one configured]
        #[arg(long, global = true)]
        vendor: Option<String>,
        #[command(subcommand)]
        action: catalogue::ProductsAction,
    },
    /// The vendor's locations (warehouses, branches, outlets)
    #[command(after_help = "Example:\n  posbridge locations list --vendor asalta")]
    Locations {
        /// The vendor [default: the only one configured]
        #[arg(long, global = true)]
        vendor: Option<String>,
        #[command(subcommand)]
        action: LocationsAction,
    },
    /// Build the id map a connector reads (POS product code → the vendor's id)
    #[command(
        after_help = "Matches the POS's products with the vendor's catalogue (by code, then barcode, \
        then name, unless --match says otherwise), writes the vendor's id_map_file (hand-made entries already \
        there are kept), and lists what it could not match or found ambiguous. Exit code 1 when anything is \
        unmatched or ambiguous.\n\nExample:\n  posbridge idmap build --vendor asalta --pos-catalogue pos.csv\n  \
        posbridge idmap build --vendor easpro --vendor-catalogue easpro-export.csv --pos-catalogue pos.csv"
    )]
    Idmap {
        #[command(subcommand)]
        action: IdmapAction,
    },
    /// Read stock levels
    #[command(after_help = "Example:\n  posbridge stock --vendor cloudma --format csv > stock.csv")]
    Stock {
        /// The vendor [default: the only one configured]
        #[arg(long)]
        vendor: Option<String>,
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List, read, create, update or delete customers, where the vendor can
    #[command(after_help = "Example:\n  posbridge customers list --vendor salesmania")]
    Customers {
        /// The vendor [default: the only one configured]
        #[arg(long, global = true)]
        vendor: Option<String>,
        #[command(subcommand)]
        action: CustomersAction,
    },
    /// Check that each configured vendor accepts its credentials
    #[command(after_help = "Example:\n  posbridge check\n  posbridge check --vendor cloudma --json")]
    Check {
        /// Only this vendor
        #[arg(long)]
        vendor: Option<String>,
    },
    /// Run the vendor sandbox until Ctrl-C
    #[command(after_help = "Example:\n  posbridge sandbox --port 8080\n  \
        POSBRIDGE_CLOUDMA_BASE_URL=http://127.0.0.1:8080/cloudma/ POSBRIDGE_CLOUDMA_TOKEN=38iGm3yI86Hw posbridge stock")]
    Sandbox {
        /// Port (0 picks a free one)
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind; loopback unless you say otherwise
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        bind: IpAddr,
        /// Product catalogue (JSON) instead of the built-in sample
        #[arg(long, value_name = "FILE")]
        catalogue: Option<PathBuf>,
        /// Fault rules (JSON array), see docs/sandbox.md
        #[arg(long, value_name = "FILE")]
        faults: Option<PathBuf>,
        /// Seed for fault injection
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Authorise posbridge with a vendor that needs a browser sign-in
    #[cfg(feature = "asalta")]
    #[command(after_help = "Example:\n  posbridge auth asalta")]
    Auth {
        #[command(subcommand)]
        vendor: AuthVendor,
    },
    /// Asalta's own commands (reports)
    /// SalesMania's own calls: its sales teams and salespeople's visits
    #[cfg(feature = "salesmania")]
    #[command(after_help = "Example:\n  posbridge salesmania teams\n  posbridge salesmania visits list")]
    Salesmania {
        #[command(subcommand)]
        command: salesmania::SalesManiaCommand,
    },
    #[cfg(feature = "asalta")]
    #[command(after_help = "Example:\n  posbridge asalta report sales --from 2026-11-01 --to 2026-11-26")]
    Asalta {
        #[command(subcommand)]
        command: AsaltaCommand,
    },
    /// The durable outbox: queue sales, deliver them with workers, settle what failed
    #[command(
        after_help = "Where the outbox lives: --db, else POSBRIDGE_OUTBOX_DATABASE, else [outbox] database \
        in the config file, else sqlite://CONFIG_DIR/outbox.db.\n\nExample:\n  \
        posbridge outbox enqueue day.ndjson --to easpro,codemax\n  posbridge outbox run --workers 8\n  \
        posbridge outbox status\n  posbridge outbox list --state dead"
    )]
    Outbox {
        /// The outbox database: sqlite://FILE or postgres://USER@HOST/DB [default: [outbox] database, else
        /// sqlite://CONFIG_DIR/outbox.db]
        #[arg(
            long,
            global = true,
            env = "POSBRIDGE_OUTBOX_DATABASE",
            hide_env_values = true,
            value_name = "URL"
        )]
        db: Option<String>,
        #[command(subcommand)]
        action: outbox::OutboxAction,
    },
    /// Serve the outbox over HTTP: a JSON API for tills in any language, and an operator console
    #[command(
        after_help = "Same config file and outbox as `posbridge outbox`; [serve] sets the address and limits, \
        [serve.webhooks.TENANT] a tenant's webhook. Workers run in-process unless --no-workers. See docs/serve.md.\n\n\
        Example:\n  posbridge serve --demo\n  posbridge serve --port 8080 --workers 8\n  \
        posbridge serve --db postgres://posbridge@db/posbridge --no-workers"
    )]
    Serve {
        /// The outbox database [default: as `posbridge outbox`]
        #[arg(long, env = "POSBRIDGE_OUTBOX_DATABASE", hide_env_values = true, value_name = "URL")]
        db: Option<String>,
        #[command(flatten)]
        args: serve::ServeArgs,
    },
    /// The API keys of `posbridge serve`: create, list, revoke
    #[command(
        after_help = "Example:\n  posbridge keys create --tenant colombo --label \"till 3\"\n  \
        posbridge keys create --operator\n  posbridge keys list\n  posbridge keys revoke 3f9a0c12b7e4"
    )]
    Keys {
        /// The outbox database [default: as `posbridge outbox`]
        #[arg(
            long,
            global = true,
            env = "POSBRIDGE_OUTBOX_DATABASE",
            hide_env_values = true,
            value_name = "URL"
        )]
        db: Option<String>,
        #[command(subcommand)]
        action: serve::KeysAction,
    },
    /// Manage the config file
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `posbridge locations …`.
#[derive(Debug, Subcommand)]
enum LocationsAction {
    /// Every location
    List {
        /// table, json (one per line) or csv
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `posbridge idmap …`.
#[derive(Debug, Subcommand)]
enum IdmapAction {
    /// Match the POS's products with the vendor's catalogue and write the id map
    Build(catalogue::IdmapBuild),
}

#[derive(Debug, Subcommand)]
enum PushWhat {
    /// Push sales (one JSON object, a JSON array, or NDJSON; `-` reads standard input)
    #[command(after_help = "Example:\n  posbridge push sale day.ndjson --vendor cloudma --json")]
    Sale {
        /// The file, or `-`
        file: PathBuf,
        /// The vendor [default: the only one configured]
        #[arg(long)]
        vendor: Option<String>,
    },
    /// Push purchases (goods received notes)
    #[command(after_help = "Example:\n  posbridge push purchase grn-2001.json --vendor cloudma")]
    Purchase {
        /// The file, or `-`
        file: PathBuf,
        /// The vendor [default: the only one configured]
        #[arg(long)]
        vendor: Option<String>,
    },
    /// Push returns (goods brought back from a sale already pushed)
    #[command(after_help = "Example:\n  posbridge push return ret-1001.json --vendor asalta --json")]
    Return {
        /// The file (JSON, a JSON array or NDJSON), or `-`
        file: PathBuf,
        /// The vendor [default: the only one configured]
        #[arg(long)]
        vendor: Option<String>,
    },
}

#[cfg(feature = "asalta")]
#[derive(Debug, Subcommand)]
enum AuthVendor {
    /// Asalta's OAuth2 code flow: prints the authorize URL, receives the redirect on the
    /// loopback redirect_uri, exchanges the code and stores the token in token_file
    #[command(after_help = "Example:\n  posbridge auth asalta --timeout-secs 120")]
    Asalta {
        /// How long to wait for the browser
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
    },
}

#[cfg(feature = "asalta")]
#[derive(Debug, Subcommand)]
enum AsaltaCommand {
    /// Print a report (JSON rows)
    #[command(
        after_help = "Example:\n  posbridge asalta report sales --from 2026-11-01 --to 2026-11-26\n  \
        posbridge asalta report payroll --month 2026-10"
    )]
    Report {
        /// Which report
        #[arg(value_enum)]
        kind: asalta::Report,
        /// First day (YYYY-MM-DD), for sales, crm-invoices and roster
        #[arg(long)]
        from: Option<jiff::civil::Date>,
        /// Last day (YYYY-MM-DD)
        #[arg(long)]
        to: Option<jiff::civil::Date>,
        /// Month (YYYY-MM), for payroll and claims
        #[arg(long)]
        month: Option<String>,
    },
    /// One of Asalta's own lists, as JSON: categories, subcategories, warehouses,
    /// customer groups, billers, tax rates and their line items, payment methods,
    /// promotions, a customer's loyalty
    #[command(after_help = "Example:\n  posbridge asalta list tax-rates\n  \
        posbridge asalta list promotions --warehouse 2\n  posbridge asalta list loyalty --customer 7192")]
    List {
        /// Which list
        #[arg(value_enum)]
        what: asalta::Listing,
        /// The category, for subcategories
        #[arg(long)]
        parent: Option<u64>,
        /// The tax rate, for tax-line-items
        #[arg(long)]
        tax_rate: Option<u64>,
        /// The warehouse, for promotions
        #[arg(long)]
        warehouse: Option<u64>,
        /// The customer, for loyalty
        #[arg(long)]
        customer: Option<u64>,
    },
    /// The sale that sold a gift card, with its value and balance
    #[command(after_help = "Example:\n  posbridge asalta gift-card 3147021291870209")]
    GiftCard {
        /// The card's number
        card_no: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Write a commented config template
    #[command(after_help = "Example:\n  posbridge config init\n  posbridge config init --path ./posbridge.toml")]
    Init {
        /// Where [default: the --config file, else CONFIG_DIR/posbridge/config.toml]
        #[arg(long)]
        path: Option<PathBuf>,
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Print where the config file is looked for
    Path,
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let out = Output { json: cli.json };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Usage.into();
        }
    };
    match runtime.block_on(run(cli, out)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            if out.json {
                outln!("{}", e.to_json());
            }
            eprintln!("{}", e.render());
            e.exit.into()
        }
    }
}

async fn run(cli: Cli, out: Output) -> Result<Exit, CliError> {
    let ctx = || -> Result<Ctx, CliError> {
        Ok(Ctx {
            settings: Settings::load(cli.config.as_deref(), cli.tenant.as_deref())?,
            out,
        })
    };
    match &cli.command {
        Command::Demo { sales, faults, seed } => {
            demo::demo(
                out,
                demo::DemoOptions {
                    sales: *sales,
                    faults: *faults,
                    seed: *seed,
                },
            )
            .await
        }
        Command::Push { what } => match what {
            PushWhat::Sale { file, vendor } => commands::push(&ctx()?, PushKind::Sale, vendor.as_deref(), file).await,
            PushWhat::Purchase { file, vendor } => {
                commands::push(&ctx()?, PushKind::Purchase, vendor.as_deref(), file).await
            }
            PushWhat::Return { file, vendor } => lifecycle::push_returns(&ctx()?, vendor.as_deref(), file).await,
        },
        Command::Products { vendor, action } => catalogue::products(&ctx()?, vendor.as_deref(), action).await,
        Command::Locations { vendor, action } => match action {
            LocationsAction::List { format } => catalogue::locations(&ctx()?, vendor.as_deref(), *format).await,
        },
        Command::Idmap { action } => match action {
            IdmapAction::Build(args) => catalogue::idmap_build(&ctx()?, args).await,
        },
        Command::Sales { vendor, action } => lifecycle::sales(&ctx()?, vendor.as_deref(), action).await,
        Command::Payments { vendor, action } => lifecycle::payments(&ctx()?, vendor.as_deref(), action).await,
        Command::Stock { vendor, format } => commands::stock(&ctx()?, vendor.as_deref(), *format).await,
        Command::Customers { vendor, action } => commands::customers(&ctx()?, vendor.as_deref(), action).await,
        Command::Check { vendor } => commands::check(&ctx()?, vendor.as_deref()).await,
        Command::Outbox { db, action } => outbox::outbox(&ctx()?, db.as_deref(), action).await,
        Command::Serve { db, args } => serve::serve(&ctx()?, db.as_deref(), args).await,
        Command::Keys { db, action } => serve::keys(&ctx()?, db.as_deref(), action).await,
        Command::Sandbox {
            port,
            bind,
            catalogue,
            faults,
            seed,
        } => {
            commands::sandbox(
                out,
                SocketAddr::new(*bind, *port),
                catalogue.as_deref(),
                *seed,
                faults.as_deref(),
            )
            .await
        }
        #[cfg(feature = "asalta")]
        Command::Auth { vendor } => match vendor {
            AuthVendor::Asalta { timeout_secs } => {
                asalta::auth(&ctx()?, std::time::Duration::from_secs(*timeout_secs)).await
            }
        },
        #[cfg(feature = "salesmania")]
        Command::Salesmania { command } => salesmania::salesmania(&ctx()?, command).await,
        #[cfg(feature = "asalta")]
        Command::Asalta { command } => match command {
            AsaltaCommand::Report { kind, from, to, month } => {
                asalta::report(&ctx()?, *kind, *from, *to, month.as_deref()).await
            }
            AsaltaCommand::List {
                what,
                parent,
                tax_rate,
                warehouse,
                customer,
            } => {
                let filter = asalta::ListingFilter {
                    parent: *parent,
                    tax_rate: *tax_rate,
                    warehouse: *warehouse,
                    customer: *customer,
                };
                asalta::list(&ctx()?, *what, filter).await
            }
            AsaltaCommand::GiftCard { card_no } => asalta::gift_card(&ctx()?, card_no).await,
        },
        Command::Config { action } => match action {
            ConfigAction::Init { path, force } => {
                let path = path
                    .clone()
                    .or_else(|| cli.config.clone())
                    .or_else(config::default_path)
                    .ok_or_else(|| CliError::new(Exit::Usage, anyhow::anyhow!("no config directory; pass --path")))?;
                config::init(&path, *force).map_err(|e| CliError::new(Exit::Usage, e))?;
                out.human(format!("wrote {} (mode 600)", path.display()));
                out.json(&serde_json::json!({"written": path}));
                Ok(Exit::Ok)
            }
            ConfigAction::Path => {
                let path = cli.config.clone().or_else(config::default_path);
                out.human(
                    path.as_ref()
                        .map_or("no config directory".to_owned(), |p| p.display().to_string()),
                );
                out.json(&serde_json::json!({"path": path}));
                Ok(Exit::Ok)
            }
        },
    }
}
