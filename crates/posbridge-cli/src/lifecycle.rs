//! The life of a sale after the push: `push return`, `sales get|list|void` and
//! `payments add|delete`. The same input rules as `push sale`: every record is
//! parsed and checked before anything is sent, outcomes print one per record (JSON
//! objects under `--json`), and the exit code is the worst outcome's.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use futures_util::StreamExt as _;
use posbridge::{Connector, Error, Operation, Return, Sale, SalePayment, SaleRef, Sales, Void};
use serde_json::json;

use crate::commands::{Ctx, check_all, json_name, push_each, summarise, table};
use crate::config::VendorInfo;
use crate::exit::{CliError, Exit};
use crate::quote::shorten;
use crate::records::{self, Record};

/// `posbridge sales …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SalesAction {
    /// Show one sale, by the vendor's id, as JSON.
    #[command(after_help = "Example:\n  posbridge sales get order:54 --vendor asalta")]
    Get {
        /// The vendor's id for the sale (as `push sale` printed it).
        id: String,
    },
    /// List the sales the vendor holds.
    #[command(after_help = "Example:\n  posbridge sales list --vendor salesmania --limit 20")]
    List {
        /// Stop after this many sales.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Void sales: every void in FILE (JSON, a JSON array or NDJSON; `-` for standard
    /// input), or one sale named by --reference and/or --vendor-id.
    #[command(
        after_help = "Example:\n  posbridge sales void --reference INV-1001 --vendor salesmania\n  \
        posbridge sales void --vendor-id order:54 --reason \"rung up twice\" --vendor asalta\n  \
        posbridge sales void voids.ndjson --vendor codemax"
    )]
    Void {
        /// Voids, as `{"sale": {"reference": …, "vendor_id": …}, "reason": …}`.
        file: Option<PathBuf>,
        /// The sale's POS reference.
        #[arg(long, conflicts_with = "file")]
        reference: Option<String>,
        /// The vendor's id for the sale (from its push receipt).
        #[arg(long = "vendor-id", conflicts_with = "file")]
        vendor_id: Option<String>,
        /// Why the sale is voided.
        #[arg(long, conflicts_with = "file")]
        reason: Option<String>,
    },
}

/// `posbridge payments …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PaymentsAction {
    /// Book payments against sales already pushed: every payment in FILE (JSON, a
    /// JSON array or NDJSON; `-` for standard input).
    #[command(after_help = "Example:\n  posbridge payments add pay-2001.json --vendor easpro")]
    Add {
        /// Payments, as `{"sale": {"reference": …}, "payment": {"reference": …,
        /// "amount": "…", "method": "cash"}}`.
        file: PathBuf,
    },
    /// Delete a payment by the vendor's id for it, where the vendor allows it.
    #[command(after_help = "Example:\n  posbridge payments delete 1043 --vendor asalta")]
    Delete {
        /// The vendor's id for the payment (as `payments add` printed it).
        id: String,
    },
}

fn not_offered(connector: &dyn Connector, info: &VendorInfo, op: Operation) -> CliError {
    CliError::from_posbridge(info.name().to_owned(), connector.unsupported_here(op))
}

/// The sales capability, when it offers `op` (a read the vendor may not have).
fn offered<'a>(connector: &'a dyn Connector, info: &VendorInfo, op: Operation) -> Result<&'a dyn Sales, CliError> {
    match connector.sales() {
        Some(sales) if connector.capabilities().supports(op) => Ok(sales),
        _ => Err(not_offered(connector, info, op)),
    }
}

/// `posbridge push return FILE`.
pub async fn push_returns(ctx: &Ctx, vendor: Option<&str>, file: &Path) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    let (source, text) = records::read_source(file)?;
    let records: Vec<Record<Return>> = records::parse(&source, &text, "return")?;
    check_all(&source, &records, |r| (r.reference.as_str(), r.reconcile().map(|_| ())))?;
    let connector = ctx.connector(&info)?;
    let returns = connector
        .returns()
        .ok_or_else(|| not_offered(connector.as_ref(), &info, Operation::PushReturn))?;
    let (tally, exit) = push_each(
        ctx,
        &info,
        &records,
        |r| r.reference.as_str(),
        async |r| returns.push_return(r).await,
    )
    .await?;
    summarise(ctx, &info, tally);
    Ok(exit)
}

/// `posbridge sales …`.
pub async fn sales(ctx: &Ctx, vendor: Option<&str>, action: &SalesAction) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    match action {
        SalesAction::Void {
            file,
            reference,
            vendor_id,
            reason,
        } => {
            let (source, records) = match file {
                Some(file) => {
                    let (source, text) = records::read_source(file)?;
                    let records: Vec<Record<Void>> = records::parse(&source, &text, "void")?;
                    (source, records)
                }
                None if reference.is_none() && vendor_id.is_none() => {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow!("say which sale to void: a FILE of voids, --reference or --vendor-id"),
                    ));
                }
                None => {
                    let void = Void {
                        sale: SaleRef {
                            reference: reference.clone(),
                            vendor_id: vendor_id.clone(),
                        },
                        reason: reason.clone(),
                        voided_at: None,
                    };
                    let record = Record {
                        location: "the command line".to_owned(),
                        value: void,
                    };
                    ("arguments".to_owned(), vec![record])
                }
            };
            // A void names its sale by POS reference or vendor id: the same sale twice
            // in one input is refused like a repeated reference.
            let keys: Vec<String> = records.iter().map(|r| r.value.sale.to_string()).collect();
            let keyed: Vec<Record<(String, Void)>> = records
                .into_iter()
                .zip(keys)
                .map(|(r, k)| Record {
                    location: r.location,
                    value: (k, r.value),
                })
                .collect();
            check_all(&source, &keyed, |(k, v)| (k.as_str(), v.check()))?;
            let connector = ctx.connector(&info)?;
            let voids = connector
                .voids()
                .ok_or_else(|| not_offered(connector.as_ref(), &info, Operation::VoidSale))?;
            let (tally, exit) = push_each(
                ctx,
                &info,
                &keyed,
                |(k, _)| k.as_str(),
                async |(_, v)| voids.void_sale(v).await,
            )
            .await?;
            summarise(ctx, &info, tally);
            Ok(exit)
        }
        SalesAction::Get { id } => {
            let connector = ctx.connector(&info)?;
            let sales = offered(connector.as_ref(), &info, Operation::GetSale)?;
            let sale = sales
                .get_sale(id)
                .await
                .map_err(|e| CliError::from_posbridge(format!("{}: reading sale {}", info.name(), shorten(id)), e))?;
            let value = serde_json::to_value(&sale).map_err(|e| CliError::new(Exit::Usage, e.into()))?;
            outln!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            Ok(Exit::Ok)
        }
        SalesAction::List { limit } => {
            let connector = ctx.connector(&info)?;
            let sales = offered(connector.as_ref(), &info, Operation::ListSales)?;
            let mut stream = sales.list_sales();
            let mut rows = Vec::new();
            while let Some(sale) = stream.next().await {
                if limit.is_some_and(|l| rows.len() >= l) {
                    break;
                }
                let sale = sale.map_err(|e| CliError::from_posbridge(format!("{}: listing sales", info.name()), e))?;
                ctx.out.json(&serde_json::to_value(&sale).unwrap_or_default());
                rows.push(sale_row(&sale));
            }
            ctx.out.human(table(
                &["reference", "issued at", "kind", "status", "lines", "total"],
                &rows,
                &[false, false, false, false, true, true],
            ));
            ctx.out.human(format!("{} sales", rows.len()));
            Ok(Exit::Ok)
        }
    }
}

/// One row of `sales list`: the total is the stated one, else the computed one.
fn sale_row(sale: &Sale) -> [String; 6] {
    let total = sale
        .total
        .or_else(|| sale.reconcile().ok().map(|r| r.amounts().total))
        .map(|t| t.to_string())
        .unwrap_or_else(|| "?".to_owned());
    [
        shorten(&sale.reference),
        sale.issued_at.to_string(),
        json_name(&sale.kind),
        json_name(&sale.status),
        sale.lines.len().to_string(),
        total,
    ]
}

/// `posbridge payments …`.
pub async fn payments(ctx: &Ctx, vendor: Option<&str>, action: &PaymentsAction) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    match action {
        PaymentsAction::Add { file } => {
            let (source, text) = records::read_source(file)?;
            let records: Vec<Record<SalePayment>> = records::parse(&source, &text, "payment")?;
            check_all(&source, &records, |p| {
                (p.payment.reference.as_deref().unwrap_or_default(), p.check())
            })?;
            let connector = ctx.connector(&info)?;
            let payments = connector
                .payments()
                .ok_or_else(|| not_offered(connector.as_ref(), &info, Operation::AddPayment))?;
            let labels: Vec<String> = records.iter().map(|r| payment_label(&r.value)).collect();
            let labelled: Vec<Record<(String, SalePayment)>> = records
                .into_iter()
                .zip(labels)
                .map(|(r, l)| Record {
                    location: r.location,
                    value: (l, r.value),
                })
                .collect();
            let (tally, exit) = push_each(
                ctx,
                &info,
                &labelled,
                |(l, _)| l.as_str(),
                async |(_, p)| payments.add_payment(p).await,
            )
            .await?;
            summarise(ctx, &info, tally);
            Ok(exit)
        }
        PaymentsAction::Delete { id } => {
            let connector = ctx.connector(&info)?;
            let payments = match connector.payments() {
                Some(p) if connector.capabilities().supports(Operation::DeletePayment) => p,
                _ => return Err(not_offered(connector.as_ref(), &info, Operation::DeletePayment)),
            };
            payments
                .delete_payment(id)
                .await
                .map_err(|e| delete_error(&info, id, e))?;
            ctx.out.json(&json!({"vendor": info.name(), "deleted": id}));
            ctx.out
                .human(format!("{}: deleted payment {}", info.name(), shorten(id)));
            Ok(Exit::Ok)
        }
    }
}

fn delete_error(info: &VendorInfo, id: &str, e: Error) -> CliError {
    CliError::from_posbridge(format!("{}: deleting payment {}", info.name(), shorten(id)), e)
}

/// How a payment is named in outcomes: its own reference, else its sale's.
fn payment_label(p: &SalePayment) -> String {
    match p.payment.reference.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => r.to_owned(),
        None => format!("payment of {}", p.sale),
    }
}
