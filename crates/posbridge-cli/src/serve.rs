//! `posbridge serve`: the outbox as an HTTP service with an operator console
//! (`posbridge-server`), and `posbridge keys`: its API keys. See `docs/serve.md`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::anyhow;
use posbridge_outbox::{DEFAULT_TENANT, Outbox, OutboxConfig, RunOptions, Target};
use posbridge_server::keys::{self, Role};
use posbridge_server::{Server, ServerConfig, WebhookConfig};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::json;
use tokio::sync::watch;

use crate::commands::{Ctx, Output, table};
use crate::config::ServeSection;
use crate::exit::{CliError, Exit};
use crate::outbox::{
    Opened, Resolved, configured_targets, open, outbox_error, register, settings_for, shutdown_signal,
};

/// How `serve` runs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to bind [default: [serve] bind, else 127.0.0.1]
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Port, 0 for a free one [default: [serve] port, else 8080]
    #[arg(long)]
    port: Option<u16>,
    /// Deliveries in flight at once in this process's workers
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    workers: u32,
    /// Serve the API and console only; `posbridge outbox run` delivers elsewhere
    #[arg(long)]
    no_workers: bool,
    /// Start the vendor sandbox with faults and a day of demo sales, on a fresh outbox
    #[arg(long)]
    demo: bool,
    /// Demo sales per vendor (with --demo)
    #[arg(long, default_value_t = 20)]
    demo_sales: usize,
    /// Seed for the demo's sales and faults (with --demo)
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// On shutdown, how long deliveries in flight get to finish
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    grace_secs: u64,
}

/// `posbridge keys …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeysAction {
    /// Make a key for the tenant in scope (--tenant, else `default`), or an operator key
    #[command(after_help = "The key is printed once; only its hash is kept.\n\nExample:\n  \
        posbridge keys create --tenant colombo --label \"till 3\"\n  posbridge keys create --operator --label ops")]
    Create {
        /// An operator key (the console, metrics, every tenant) instead of a tenant's
        #[arg(long)]
        operator: bool,
        /// Who or what holds it
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Every key (never the secret)
    List,
    /// Revoke a key by its id (every instance stops taking it within seconds)
    #[command(after_help = "Example:\n  posbridge keys revoke 3f9a0c12b7e4")]
    Revoke {
        /// The key's id, as `keys list` shows it
        id: String,
    },
}

/// `posbridge keys`.
pub async fn keys(ctx: &Ctx, db: Option<&str>, action: &KeysAction) -> Result<Exit, CliError> {
    let Opened { outbox, display } = open(ctx, db, 0).await?;
    let result = keys_on(ctx, &outbox, &display, action).await;
    outbox.close().await;
    result
}

async fn keys_on(ctx: &Ctx, outbox: &Outbox, display: &str, action: &KeysAction) -> Result<Exit, CliError> {
    posbridge_server::prepare(outbox)
        .await
        .map_err(|e| server_error(display, e))?;
    match action {
        KeysAction::Create { operator, label } => {
            let role = if *operator {
                Role::Operator
            } else {
                Role::tenant(ctx.settings.tenant().unwrap_or(DEFAULT_TENANT))
            };
            let key = keys::create(outbox, role, label)
                .await
                .map_err(|e| server_error(display, e))?;
            ctx.out
                .json(&json!({"key": key.info, "secret": key.secret.expose_secret()}));
            ctx.out.human(format!(
                "{} key {} ({}) on {display}:\n\n  {}\n\nGive it to its holder now: it is not shown again.",
                key.info.role,
                key.info.id,
                if key.info.label.is_empty() {
                    "no label"
                } else {
                    &key.info.label
                },
                key.secret.expose_secret()
            ));
        }
        KeysAction::List => {
            let all = keys::list(outbox).await.map_err(|e| server_error(display, e))?;
            ctx.out.json(&json!({"keys": all}));
            if !ctx.out.json {
                let rows: Vec<[String; 5]> = all
                    .iter()
                    .map(|k| {
                        [
                            k.id.clone(),
                            k.role.to_string(),
                            k.label.clone(),
                            k.created_at.to_string(),
                            k.revoked_at.map_or_else(String::new, |t| t.to_string()),
                        ]
                    })
                    .collect();
                outln!(
                    "{}",
                    table(&["id", "role", "label", "created", "revoked"], &rows, &[false; 5])
                );
            }
        }
        KeysAction::Revoke { id } => {
            let k = keys::revoke(outbox, id).await.map_err(|e| server_error(display, e))?;
            ctx.out.json(&json!({"revoked": k}));
            ctx.out.human(format!("revoked key {} ({})", k.id, k.role));
        }
    }
    Ok(Exit::Ok)
}

fn server_error(display: &str, e: posbridge_server::ServerError) -> CliError {
    match e {
        posbridge_server::ServerError::Outbox(e) => outbox_error(format!("the outbox at {display}"), e),
        posbridge_server::ServerError::UnknownKey(id) => {
            CliError::new(Exit::Usage, anyhow!("no API key with id {id}")).hint("`posbridge keys list` shows them")
        }
        e @ posbridge_server::ServerError::Config(_) => CliError::new(Exit::Usage, anyhow!("{e}")),
        e => CliError::new(Exit::Unavailable, anyhow!("{e}")),
    }
}

/// The service's settings from `[serve]` and the environment.
fn server_config(section: &ServeSection) -> Result<ServerConfig, CliError> {
    let mut c = ServerConfig::default();
    c.body_limit = section.body_limit.unwrap_or(c.body_limit);
    c.requests_per_minute = section.requests_per_minute.unwrap_or(c.requests_per_minute);
    c.read_cache_ttl = section.read_cache_secs.map_or(c.read_cache_ttl, Duration::from_secs);
    c.batch_limit = section.batch_limit.unwrap_or(c.batch_limit);
    c.session_ttl = section
        .session_hours
        .map_or(c.session_ttl, |h| Duration::from_secs(h.saturating_mul(3600)));
    c.secure_cookies = section.secure_cookies.unwrap_or(false);
    c.session_secret = std::env::var("POSBRIDGE_SESSION_SECRET").ok().map(SecretString::from);
    Ok(c)
}

/// Each `[serve.webhooks.TENANT]`, its secret read from the environment.
fn webhooks(section: &ServeSection) -> Result<Vec<(String, WebhookConfig)>, CliError> {
    let mut out = Vec::new();
    for (tenant, w) in &section.webhooks {
        let var = w.secret_env.clone().unwrap_or_else(|| {
            format!(
                "POSBRIDGE_WEBHOOK_SECRET_{}",
                tenant.to_ascii_uppercase().replace(['-', '.', ' '], "_")
            )
        });
        let secret = std::env::var(&var).map_err(|_| {
            CliError::new(
                Exit::Usage,
                anyhow!("[serve.webhooks.{tenant}] needs its signing secret in {var}"),
            )
            .hint(format!(
                "export {var}=<at least 16 random characters, shared with the receiver>"
            ))
        })?;
        let config = WebhookConfig::new(&w.url, SecretString::from(secret))
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("[serve.webhooks.{tenant}]: {e}")))?;
        out.push((tenant.clone(), config));
    }
    Ok(out)
}

/// Every tenant's configured vendors that take sales: the top level's (tenant
/// `default`, or the `--tenant` in force) and each `[tenants.NAME]`'s.
fn all_targets(ctx: &Ctx) -> Result<Vec<Resolved>, CliError> {
    let section = ctx.settings.outbox_section()?;
    let mut out = configured_targets(ctx, &section)?;
    if ctx.settings.tenant().is_none() {
        for tenant in ctx.settings.tenant_names() {
            let scoped = Ctx {
                settings: settings_for(&ctx.settings, &tenant)?,
                out: ctx.out,
            };
            out.extend(configured_targets(&scoped, &section)?);
        }
    }
    Ok(out)
}

/// `posbridge serve`.
pub async fn serve(ctx: &Ctx, db: Option<&str>, args: &ServeArgs) -> Result<Exit, CliError> {
    let section = ctx.settings.serve_section()?;
    let config = server_config(&section)?;
    let bind = SocketAddr::new(
        args.bind.or(section.bind).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        args.port.or(section.port).unwrap_or(8080),
    );
    // Connections: the workers' deliveries, the API's requests, the leases.
    let extra = if args.no_workers {
        8
    } else {
        args.workers.saturating_add(10)
    };
    let mut demo = None;
    let (outbox, display, targets) = if args.demo {
        let d = Demo::start(ctx.out, db, args).await?;
        let outbox = Outbox::open(&d.url, demo_outbox_config(extra))
            .await
            .map_err(|e| outbox_error("cannot open the demo outbox", e))?;
        let targets = d.targets.clone();
        let display = d.url.clone();
        demo = Some(d);
        (outbox, display, targets)
    } else {
        let targets = all_targets(ctx)?;
        let Opened { outbox, display } = open(ctx, db, extra).await?;
        (outbox, display, targets)
    };
    if targets.is_empty() {
        return Err(
            CliError::new(Exit::Usage, anyhow!("no vendor that takes sales is configured"))
                .hint("configure a vendor (`posbridge config init`), or try `posbridge serve --demo`"),
        );
    }
    let outbox = register(outbox, &targets);
    let mut builder = Server::builder(outbox).config(config);
    for r in &targets {
        builder = builder.target(r.target.clone(), r.connector.clone());
    }
    for (tenant, w) in webhooks(&section)? {
        builder = builder.webhook(tenant, w);
    }
    let server = builder.build().await.map_err(|e| server_error(&display, e))?;
    if let Some(d) = &mut demo {
        d.seed_day(ctx.out, &server).await?;
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot listen on {bind}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot listen on {bind}: {e}")))?;
    let operators = keys::list(server.outbox())
        .await
        .map_err(|e| server_error(&display, e))?
        .iter()
        .filter(|k| k.role == Role::Operator && k.revoked_at.is_none())
        .count();
    ctx.out.json(&json!({
        "listening": format!("http://{local}"),
        "console": format!("http://{local}/console"),
        "database": display,
        "targets": targets.iter().map(|r| r.target.to_string()).collect::<Vec<_>>(),
        "workers": if args.no_workers { 0 } else { args.workers },
        // A demo's own throwaway keys, for scripts that drive the demo.
        "demo_keys": demo.as_ref().map(|d| d.keys.iter().cloned().collect::<std::collections::BTreeMap<_, _>>()),
    }));
    ctx.out.human(format!(
        "posbridge serve: http://{local} (console: http://{local}/console) on {display}\n  targets: {}\n  workers: {}",
        crate::outbox::target_names(&targets),
        if args.no_workers {
            "none (--no-workers)".to_owned()
        } else {
            args.workers.to_string()
        }
    ));
    if operators == 0 && demo.is_none() {
        ctx.out
            .human("  no operator key yet: `posbridge keys create --operator` makes one for the console");
    }
    if let Some(d) = &demo {
        d.print_keys(ctx.out);
    }

    // One shutdown for the HTTP server, the workers and the webhooks.
    let (stop_tx, stop_rx) = watch::channel(false);
    let signal = shutdown_signal(Arc::new(AtomicBool::new(false)), Duration::from_secs(args.grace_secs))?;
    tokio::spawn(async move {
        signal.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let workers = (!args.no_workers).then(|| {
        let outbox = server.outbox().clone();
        let options = RunOptions {
            concurrency: usize::try_from(args.workers).unwrap_or(4),
            until_idle: false,
            shutdown_grace: Duration::from_secs(args.grace_secs),
        };
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move { outbox.run(options, stop).await })
    });
    let hooks = {
        let server = server.clone();
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move { server.run_webhooks(stop).await })
    };
    let http = axum::serve(listener, server.router()).with_graceful_shutdown(stopped(stop_rx.clone()));
    let served = http.await;
    if let Some(w) = workers {
        match w.await {
            Ok(Ok(report)) => tracing::info!(?report, "workers stopped"),
            Ok(Err(e)) => eprintln!("warning: the workers stopped with an error: {e}"),
            Err(e) => eprintln!("warning: the workers' task failed: {e}"),
        }
    }
    match hooks.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: the webhooks stopped with an error: {e}"),
        Err(e) => eprintln!("warning: the webhooks' task failed: {e}"),
    }
    server.outbox().close().await;
    if let Some(d) = demo {
        d.finish().await;
    }
    served.map_err(|e| CliError::new(Exit::Unavailable, anyhow!("the HTTP server failed: {e}")))?;
    Ok(Exit::Ok)
}

/// The demo's outbox retries fast, so a newcomer sees retries settle in seconds.
fn demo_outbox_config(extra: u32) -> OutboxConfig {
    let mut c = OutboxConfig::default();
    c.backoff_base = Duration::from_millis(200);
    c.backoff_max = Duration::from_secs(2);
    c.max_attempts = 4;
    c.max_connections = c.max_connections.saturating_add(extra);
    c
}

/// `serve --demo`: the sandbox with faults, a fresh outbox, a day of sales.
struct Demo {
    handle: posbridge_sandbox::SandboxHandle,
    url: String,
    file: Option<std::path::PathBuf>,
    targets: Vec<Resolved>,
    sales: usize,
    seed: u64,
    keys: Vec<(String, String)>,
}

impl Demo {
    async fn start(out: Output, db: Option<&str>, args: &ServeArgs) -> Result<Self, CliError> {
        let handle = crate::demo::start_sandbox(args.seed, true).await?;
        out.human(format!(
            "posbridge serve --demo: the vendor sandbox (with faults) at {}",
            handle.base_url()
        ));
        let (url, file) = match db {
            Some(url) => (url.to_owned(), None),
            None => {
                let file = std::env::temp_dir().join(format!("posbridge-serve-demo-{}.db", std::process::id()));
                let _ = std::fs::remove_file(&file);
                (format!("sqlite://{}", file.display()), Some(file))
            }
        };
        let mut targets = Vec::new();
        for vendor in posbridge::vendors() {
            let Some(connector) = crate::demo::sandbox_connector(vendor, &handle)? else {
                continue;
            };
            let connector: Arc<dyn posbridge::Connector> = Arc::from(connector);
            if connector.sales().is_none() {
                continue;
            }
            targets.push(Resolved {
                target: Target::new(vendor.name()),
                connector,
                options: posbridge_outbox::TargetOptions::default(),
            });
        }
        Ok(Self {
            handle,
            url,
            file,
            targets,
            sales: args.demo_sales,
            seed: args.seed,
            keys: Vec::new(),
        })
    }

    /// Makes the demo's keys and queues a day of sales for every vendor.
    async fn seed_day(&mut self, out: Output, server: &Server) -> Result<(), CliError> {
        let display = self.url.clone();
        for (role, label) in [
            (Role::Operator, "demo operator"),
            (Role::tenant(DEFAULT_TENANT), "demo till"),
        ] {
            let k = keys::create(server.outbox(), role, label)
                .await
                .map_err(|e| server_error(&display, e))?;
            self.keys.push((label.to_owned(), k.secret.expose_secret().to_owned()));
        }
        let catalogue = self.handle.state().products;
        let mut queued = 0usize;
        for r in &self.targets {
            let profile = self
                .handle
                .imitation_of(&r.target.vendor)
                .map(|i| i.demo())
                .unwrap_or_default();
            let sales = crate::demo::sample_sales(&r.target.vendor, self.sales, self.seed, &catalogue, &profile);
            for sale in &sales {
                server
                    .outbox()
                    .enqueue(sale, std::slice::from_ref(&r.target))
                    .await
                    .map_err(|e| outbox_error(format!("queueing demo sale {}", sale.reference), e))?;
                queued += 1;
            }
        }
        out.human(format!(
            "  queued a day of {queued} demo sales for {} vendors; the workers deliver them through the faults",
            self.targets.len()
        ));
        Ok(())
    }

    fn print_keys(&self, out: Output) {
        out.human("  demo keys (this demo's database only):");
        for (label, key) in &self.keys {
            out.human(format!("    {label:<14} {key}"));
        }
        out.human("  open the console and log in with the operator key; Ctrl-C stops");
    }

    async fn finish(self) {
        if let Some(f) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
        self.handle.shutdown().await;
    }
}
