//! The commands other than `demo`: push, stock, customers, check, sandbox, config.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use futures_util::StreamExt as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use posbridge::{Connector, Customer, Error, Purchase, PushReceipt, Sale, StockLevel};

use serde_json::json;

use crate::config::{Settings, VendorInfo, did_you_mean};
use crate::exit::{CliError, Exit, hint_for};
use crate::quote::{bound_text, quote, shorten};
use crate::records::{self, Record};

/// Where output goes, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Machine-readable JSON (one document, or one object per line for records).
    pub json: bool,
}

impl Output {
    /// Prints a line of human output (suppressed under `--json`).
    pub fn human(&self, line: impl std::fmt::Display) {
        if !self.json {
            outln!("{line}");
        }
    }

    /// Prints a JSON value on one line (only under `--json`).
    pub fn json(&self, value: &serde_json::Value) {
        if self.json {
            outln!("{value}");
        }
    }
}

/// What every command gets.
#[derive(Debug)]
pub struct Ctx {
    /// The configuration.
    pub settings: Settings,
    /// The output mode.
    pub out: Output,
}

impl Ctx {
    /// The vendor to use: the one named, or the only one configured.
    pub fn select(&self, vendor: Option<&str>) -> Result<VendorInfo, CliError> {
        let all = posbridge::vendors().to_vec();
        let names: Vec<&str> = all.iter().map(|v| v.name()).collect();
        if let Some(name) = vendor {
            return all.into_iter().find(|v| v.name() == name).ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    anyhow!("unknown vendor {}{}", quote(name), did_you_mean(name, &names)),
                )
                .hint(format!("vendors in this build: {}", names.join(", ")))
            });
        }
        let mut configured: Vec<VendorInfo> = all.into_iter().filter(|v| self.settings.is_configured(v)).collect();
        match configured.len() {
            1 => Ok(configured.remove(0)),
            0 => Err(CliError::new(Exit::Usage, anyhow!("no vendor is configured")).hint(
                "run `posbridge config init`, or set a vendor's variables \
                 (POSBRIDGE_<VENDOR>_BASE_URL and its secrets, e.g. POSBRIDGE_<VENDOR>_TOKEN)",
            )),
            _ => {
                Err(CliError::new(Exit::Usage, anyhow!("several vendors are configured"))
                    .hint("choose one with --vendor"))
            }
        }
    }

    /// The configured vendors (for `check`).
    pub fn configured(&self) -> Vec<VendorInfo> {
        posbridge::vendors()
            .to_vec()
            .into_iter()
            .filter(|v| self.settings.is_configured(v))
            .collect()
    }

    /// Builds the connector of `vendor` without its `id_map_file` (for `idmap build`,
    /// which writes it).
    pub fn connector_without_id_map(&self, vendor: &VendorInfo) -> Result<Box<dyn Connector>, CliError> {
        let config = self.settings.vendor_config_with(vendor, false)?;
        posbridge::connect(config).map_err(|e| CliError::from_posbridge(format!("{}: cannot set up", vendor.name()), e))
    }

    /// Builds the connector of `vendor`.
    pub fn connector(&self, vendor: &VendorInfo) -> Result<Box<dyn Connector>, CliError> {
        let config = self.settings.vendor_config(vendor)?;
        posbridge::connect(config).map_err(|e| CliError::from_posbridge(format!("{}: cannot set up", vendor.name()), e))
    }
}

pub(crate) fn unsupported(vendor: &str, what: &str) -> CliError {
    CliError::new(Exit::Usage, anyhow!("{vendor} does not offer {what}"))
}

/// Tallies of a bulk push. `sent` counts the records a request went out for; the
/// others were refused by the connector before sending (`invalid`, or `failed` for a
/// connector that cannot do it at all).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Records a request went out for.
    pub sent: usize,
    /// Accepted by the vendor.
    pub accepted: usize,
    /// Refused by the vendor.
    pub rejected: usize,
    /// May or may not have been applied.
    pub uncertain: usize,
    /// Failed otherwise (auth, unavailable, …): not applied.
    pub failed: usize,
    /// Refused by the connector before sending (error kind `invalid`): not sent.
    pub invalid: usize,
}

impl Tally {
    /// Every record with an outcome, sent or not.
    pub fn done(&self) -> usize {
        self.accepted + self.rejected + self.uncertain + self.failed + self.invalid
    }
}

/// Whether a request went out for a record that ended in `e`: not when the connector
/// refused it locally (`invalid`), lacks the configuration for it or cannot do it.
pub fn was_sent(e: &Error) -> bool {
    !matches!(
        e.kind(),
        posbridge::ErrorKind::Invalid | posbridge::ErrorKind::Config | posbridge::ErrorKind::Unsupported
    )
}

/// The outcome of one record as printed: `sent` says whether a request went out for it.
pub fn outcome_json(vendor: &str, reference: &str, outcome: &Result<PushReceipt, Error>) -> serde_json::Value {
    match outcome {
        Ok(r) => json!({
            "vendor": vendor, "reference": reference, "outcome": "accepted", "sent": true,
            "vendor_id": r.vendor_id, "disposition": r.disposition,
        }),
        Err(e) => json!({
            "vendor": vendor, "reference": reference, "outcome": outcome_name(e), "sent": was_sent(e),
            "error": {
                "kind": e.kind(), "message": bound_text(&e.to_string()), "vendor_code": e.vendor_code(),
                "hint": hint_for(e),
            },
        }),
    }
}

/// `rejected` (by the vendor), `invalid` (refused before sending), `uncertain` or
/// `failed`.
pub fn outcome_name(e: &Error) -> &'static str {
    match e.kind() {
        posbridge::ErrorKind::Rejected | posbridge::ErrorKind::NotFound => "rejected",
        posbridge::ErrorKind::Invalid => "invalid",
        posbridge::ErrorKind::Uncertain => "uncertain",
        _ => "failed",
    }
}

/// A record's result line: `accepted`, `rejected`, `uncertain`, `failed`, or with
/// ` (not sent)` when no request went out for it (`invalid (not sent)`).
fn human_outcome(vendor: &str, reference: &str, outcome: &Result<PushReceipt, Error>) -> String {
    let reference = shorten(reference);
    match outcome {
        Ok(r) => match &r.vendor_id {
            Some(id) => format!("accepted   {reference}  ({vendor} id {})", shorten(id)),
            None => format!("accepted   {reference}"),
        },
        Err(e) => {
            let mut label = outcome_name(e).to_owned();
            if !was_sent(e) {
                label.push_str(" (not sent)");
            }
            bound_text(&format!("{label:<10} {reference}  {e}"))
        }
    }
}

fn progress(n: usize, out: Output) -> ProgressBar {
    if out.json || n < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(n as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({eta})") {
        pb.set_style(style);
    }
    pb
}

/// What to push.
#[derive(Debug, Clone, Copy)]
pub enum PushKind {
    /// Sales.
    Sale,
    /// Purchases.
    Purchase,
}

/// `posbridge push sale|purchase FILE`.
pub async fn push(ctx: &Ctx, kind: PushKind, vendor: Option<&str>, file: &Path) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    let (source, text) = records::read_source(file)?;
    let connector = ctx.connector(&info)?;
    let (tally, exit) = match kind {
        PushKind::Sale => {
            let records: Vec<Record<Sale>> = records::parse(&source, &text, "sale")?;
            check_all(&source, &records, |s| (s.reference.as_str(), s.reconcile().map(|_| ())))?;
            let sales = connector.sales().ok_or_else(|| unsupported(info.name(), "sales"))?;
            let batch = connector.capabilities().max_batch.unwrap_or(1).max(1);
            let pb = progress(records.len(), ctx.out);
            let mut tally = Tally::default();
            let mut exit = Exit::Ok;
            for chunk in records.chunks(batch) {
                let docs: Vec<Sale> = chunk.iter().map(|r| r.value.clone()).collect();
                let outcomes = sales.push_sales(&docs).await;
                let mut refused = None;
                for (doc, outcome) in docs.iter().zip(outcomes) {
                    exit = exit.worst(record(ctx.out, &pb, info.name(), &doc.reference, &outcome, &mut tally));
                    if let Err(e @ Error::Auth { .. }) = outcome {
                        refused = Some(e);
                    }
                }
                if let Some(e) = refused {
                    pb.finish_and_clear();
                    return Err(stopped_on_auth(ctx, &info, records.len() - tally.done(), e));
                }
            }
            pb.finish_and_clear();
            (tally, exit)
        }
        PushKind::Purchase => {
            let records: Vec<Record<Purchase>> = records::parse(&source, &text, "purchase")?;
            check_all(&source, &records, |p| (p.reference.as_str(), p.reconcile().map(|_| ())))?;
            let purchases = connector
                .purchases()
                .ok_or_else(|| unsupported(info.name(), "purchases"))?;
            push_each(
                ctx,
                &info,
                &records,
                |p| p.reference.as_str(),
                async |p| purchases.push_purchase(p).await,
            )
            .await?
        }
    };
    summarise(ctx, &info, tally);
    Ok(exit)
}

/// Sends `records` one by one through `send`, printing each outcome (with a progress
/// bar on a terminal) and tallying them; stops at the first authentication failure,
/// since every later record would be refused the same way.
pub(crate) async fn push_each<T>(
    ctx: &Ctx,
    info: &VendorInfo,
    records: &[Record<T>],
    reference: impl Fn(&T) -> &str,
    send: impl AsyncFn(&T) -> posbridge::Result<PushReceipt>,
) -> Result<(Tally, Exit), CliError> {
    let pb = progress(records.len(), ctx.out);
    let mut tally = Tally::default();
    let mut exit = Exit::Ok;
    for r in records {
        let outcome = send(&r.value).await;
        exit = exit.worst(record(
            ctx.out,
            &pb,
            info.name(),
            reference(&r.value),
            &outcome,
            &mut tally,
        ));
        if let Err(e @ Error::Auth { .. }) = outcome {
            pb.finish_and_clear();
            return Err(stopped_on_auth(ctx, info, records.len() - tally.done(), e));
        }
    }
    pb.finish_and_clear();
    Ok((tally, exit))
}

/// The closing summary of a bulk push: counts (JSON and human), and the warning
/// about uncertain records.
pub(crate) fn summarise(ctx: &Ctx, info: &VendorInfo, tally: Tally) {
    ctx.out
        .json(&json!({"summary": {"vendor": info.name(), "counts": tally}}));
    ctx.out.human(format!(
        "\n{}: {} sent, {} accepted, {} rejected, {} uncertain, {} failed, {} invalid (not sent)",
        info.name(),
        tally.sent,
        tally.accepted,
        tally.rejected,
        tally.uncertain,
        tally.failed,
        tally.invalid
    ));
    if tally.uncertain > 0 {
        ctx.out
            .human("uncertain records may have been applied: check at the vendor before sending them again");
    }
}

/// Every later record would be refused the same way: stop, and say how to fix it.
fn stopped_on_auth(ctx: &Ctx, info: &VendorInfo, not_sent: usize, e: Error) -> CliError {
    CliError::from_posbridge(format!("{}: stopped, {not_sent} records not sent", info.name()), e)
        .hint(ctx.settings.credentials_hint(info))
}

/// Checks every record (and that no reference appears twice) before anything is
/// sent or queued.
pub(crate) fn check_all<T>(
    source: &str,
    records: &[Record<T>],
    check: impl Fn(&T) -> (&str, posbridge::Result<()>),
) -> Result<(), CliError> {
    let mut seen = std::collections::BTreeSet::new();
    for r in records {
        let (reference, result) = check(&r.value);
        if let Err(e) = result {
            return Err(
                CliError::from_posbridge(format!("{source}, {} ({})", r.location, shorten(reference)), e)
                    .hint(format!("fix the record at {}; nothing was sent", r.location)),
            );
        }
        if !reference.is_empty() && !seen.insert(reference.to_owned()) {
            return Err(CliError::new(
                Exit::Usage,
                anyhow!(
                    "{source}, {}: reference {} appears twice in the input",
                    r.location,
                    quote(reference)
                ),
            )
            .hint("each record needs its own reference; nothing was sent"));
        }
    }
    Ok(())
}

fn record(
    out: Output,
    pb: &ProgressBar,
    vendor: &str,
    reference: &str,
    outcome: &Result<PushReceipt, Error>,
    tally: &mut Tally,
) -> Exit {
    let exit = match outcome {
        Ok(_) => {
            tally.sent += 1;
            tally.accepted += 1;
            Exit::Ok
        }
        Err(e) => {
            if was_sent(e) {
                tally.sent += 1;
            }
            match outcome_name(e) {
                "rejected" => tally.rejected += 1,
                "invalid" => tally.invalid += 1,
                "uncertain" => tally.uncertain += 1,
                _ => tally.failed += 1,
            }
            match Exit::for_error(e) {
                Exit::Usage => Exit::RecordsFailed,
                other => other,
            }
        }
    };
    if out.json {
        out.json(&outcome_json(vendor, reference, outcome));
    } else if pb.is_hidden() {
        out.human(human_outcome(vendor, reference, outcome));
    } else {
        pb.println(human_outcome(vendor, reference, outcome));
    }
    pb.inc(1);
    exit
}

/// Output formats of `stock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// A JSON array.
    Json,
    /// Comma-separated values with a header.
    Csv,
}

/// `posbridge stock`.
pub async fn stock(ctx: &Ctx, vendor: Option<&str>, format: Format) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    let connector = ctx.connector(&info)?;
    let stock = connector
        .stock()
        .ok_or_else(|| unsupported(info.name(), "stock levels"))?;
    let levels = stock
        .stock_snapshot()
        .await
        .map_err(|e| CliError::from_posbridge(format!("{}: reading stock", info.name()), e))?;
    let format = if ctx.out.json { Format::Json } else { format };
    outln!("{}", render_stock(&levels, format));
    Ok(Exit::Ok)
}

/// Renders stock levels.
pub fn render_stock(levels: &[StockLevel], format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(levels).unwrap_or_default(),
        Format::Csv => {
            let mut s = String::from("product_code,name,quantity,location");
            for l in levels {
                s.push('\n');
                s.push_str(&csv_line(&[
                    l.product_code.clone(),
                    l.name.clone().unwrap_or_default(),
                    l.quantity.to_string(),
                    l.location.clone().unwrap_or_default(),
                ]));
            }
            s
        }
        Format::Table => {
            let rows: Vec<[String; 3]> = levels
                .iter()
                .map(|l| {
                    [
                        l.product_code.clone(),
                        l.name.clone().unwrap_or_default(),
                        l.quantity.to_string(),
                    ]
                })
                .collect();
            table(&["code", "name", "quantity"], &rows, &[false, false, true])
        }
    }
}

/// One CSV record (RFC 4180 quoting, by the `csv` crate), without its line end.
pub(crate) fn csv_line(fields: &[String]) -> String {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = w.write_record(fields);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches(['\r', '\n'])
        .to_owned()
}

/// A value's JSON name (`invoice`, `void`, `order`): the string it serializes to, else
/// its JSON text.
pub(crate) fn json_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// A plain text table; `right` marks right-aligned (numeric) columns.
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]], right: &[bool; N]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let fmt_row = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if right[i] {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        parts.join("  ").trim_end().to_owned()
    };
    let mut out = vec![fmt_row(header.to_vec())];
    out.push(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    for r in rows {
        out.push(fmt_row(r.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

/// `posbridge customers …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CustomersAction {
    /// List every customer.
    List,
    /// Show one customer by the vendor's id.
    Get {
        /// The vendor's customer id.
        id: String,
    },
    /// Create a customer from a JSON file (`-` for standard input).
    Create {
        /// The customer, as JSON.
        file: PathBuf,
    },
    /// Update a customer by the vendor's id from a JSON file.
    Update {
        /// The vendor's customer id.
        id: String,
        /// The customer, as JSON.
        file: PathBuf,
    },
    /// Delete a customer by the vendor's id.
    Delete {
        /// The vendor's customer id.
        id: String,
    },
}

/// `posbridge customers`.
pub async fn customers(ctx: &Ctx, vendor: Option<&str>, action: &CustomersAction) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    let connector = ctx.connector(&info)?;
    let customers = connector
        .customers()
        .ok_or_else(|| unsupported(info.name(), "customers"))?;
    let fail = |what: &str, e: Error| CliError::from_posbridge(format!("{}: {what}", info.name()), e);
    let read_one = |file: &Path| -> Result<Customer, CliError> {
        let (source, text) = records::read_source(file)?;
        let mut recs = records::parse::<Customer>(&source, &text, "customer")?;
        match recs.len() {
            1 => Ok(recs.remove(0).value),
            n => Err(CliError::new(
                Exit::Usage,
                anyhow!("{source}: expected one customer, found {n}"),
            )),
        }
    };
    let value = match action {
        CustomersAction::List => {
            let mut list = Vec::new();
            let mut stream = customers.list_customers();
            while let Some(c) = stream.next().await {
                list.push(c.map_err(|e| fail("listing customers", e))?);
            }
            serde_json::to_value(list)
        }
        CustomersAction::Get { id } => serde_json::to_value(
            customers
                .get_customer(id)
                .await
                .map_err(|e| fail("reading a customer", e))?,
        ),
        CustomersAction::Create { file } => {
            let c = read_one(file)?;
            serde_json::to_value(
                customers
                    .create_customer(&c)
                    .await
                    .map_err(|e| fail("creating a customer", e))?,
            )
        }
        CustomersAction::Update { id, file } => {
            let c = read_one(file)?;
            serde_json::to_value(
                customers
                    .update_customer(id, &c)
                    .await
                    .map_err(|e| fail("updating a customer", e))?,
            )
        }
        CustomersAction::Delete { id } => {
            customers
                .delete_customer(id)
                .await
                .map_err(|e| fail("deleting a customer", e))?;
            Ok(json!({"deleted": id}))
        }
    }
    .map_err(|e| CliError::new(Exit::Usage, e.into()))?;
    outln!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    Ok(Exit::Ok)
}

/// `posbridge check`: one cheap authenticated read per configured vendor.
pub async fn check(ctx: &Ctx, vendor: Option<&str>) -> Result<Exit, CliError> {
    let vendors = match vendor {
        Some(_) => vec![ctx.select(vendor)?],
        None => ctx.configured(),
    };
    if vendors.is_empty() {
        return Err(ctx
            .select(None)
            .err()
            .unwrap_or_else(|| CliError::new(Exit::Usage, anyhow!("no vendor"))));
    }
    let mut exit = Exit::Ok;
    for info in vendors {
        let result = async {
            let connector = ctx.connector(&info)?;
            connector.check_credentials().await.map_err(|e| {
                CliError::from_posbridge(format!("{}: check", info.name()), e)
                    .hint(ctx.settings.credentials_hint(&info))
            })
        }
        .await;
        match result {
            Ok(msg) => {
                ctx.out.human(format!("{:<12} ok: {msg}", info.name()));
                ctx.out
                    .json(&json!({"vendor": info.name(), "ok": true, "message": msg}));
            }
            Err(e) => {
                exit = exit.worst(e.exit);
                ctx.out.human(format!("{:<12} FAILED\n{}", info.name(), e.render()));
                ctx.out
                    .json(&json!({"vendor": info.name(), "ok": false, "error": e.to_json()["error"]}));
            }
        }
    }
    Ok(exit)
}

/// `posbridge sandbox`.
pub async fn sandbox(
    out: Output,
    bind: SocketAddr,
    catalogue: Option<&Path>,
    seed: u64,
    faults: Option<&Path>,
) -> Result<Exit, CliError> {
    let mut config = posbridge_sandbox::SandboxConfig {
        bind,
        seed,
        ..Default::default()
    };
    if let Some(p) = catalogue {
        config.catalogue = posbridge_sandbox::Catalogue::from_json_file(p).map_err(|e| {
            CliError::new(
                Exit::Usage,
                anyhow!("catalogue {}: {e}", shorten(&p.display().to_string())),
            )
        })?;
    }
    if let Some(p) = faults {
        let (source, text) = records::read_source(p)?;
        config.faults = serde_json::from_str(&text)
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("{source}: not a list of fault rules: {e}")))?;
    }
    let handle = posbridge_sandbox::Sandbox::start(config, posbridge::sandbox_imitations())
        .await
        .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot start the sandbox: {e}")))?;
    // Each vendor's URL, and the section of a connector pointed at it (the credentials
    // and ids its imitation accepts).
    let vendors: Vec<serde_json::Value> = handle
        .vendors()
        .into_iter()
        .map(|v| json!({"vendor": v, "base_url": handle.vendor_url(v), "config": handle.connector_section(v)}))
        .collect();
    out.json(&json!({"base_url": handle.base_url(), "vendors": vendors}));
    out.human(format!("posbridge sandbox listening on {}", handle.base_url()));
    for v in handle.vendors() {
        out.human(format!("  {:<12} {}", v, handle.vendor_url(v)));
    }
    out.human(format!(
        "  admin        {}_sandbox/state, /_sandbox/requests, /_sandbox/reset, /_sandbox/faults",
        handle.base_url()
    ));
    out.human("press Ctrl-C to stop");
    handle
        .shutdown_on(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    out.human("sandbox stopped");
    Ok(Exit::Ok)
}

#[cfg(test)]
mod csv_tests {
    use super::*;

    #[test]
    fn stock_csv_quotes_what_needs_quoting() {
        let level: StockLevel = serde_json::from_value(json!({
            "product_code": "TEA-100", "name": "Tea, \"Ceylon\"\r\n100g", "quantity": "12.50", "location": "KL"
        }))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let csv = render_stock(&[level], Format::Csv);
        assert_eq!(
            csv,
            "product_code,name,quantity,location\nTEA-100,\"Tea, \"\"Ceylon\"\"\r\n100g\",12.50,KL"
        );
        assert_eq!(json_name(&posbridge::SaleKind::Order), "order");
    }
}
