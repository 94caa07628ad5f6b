//! Asalta's own commands: `posbridge auth asalta` (the OAuth2 code flow through a
//! loopback redirect) and `posbridge asalta report …`.

use std::time::Duration;

use anyhow::anyhow;
use posbridge::Error;
use posbridge::asalta::{Asalta, DateRange, Month};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::commands::{Ctx, Output};
use crate::exit::{CliError, Exit};

/// The Asalta config and client from the settings.
fn client(ctx: &Ctx) -> Result<(Asalta, posbridge::asalta::Config), CliError> {
    let info = posbridge::vendor("asalta")
        .ok_or_else(|| CliError::new(Exit::Usage, anyhow!("this build has no Asalta connector")))?;
    let config: posbridge::asalta::Config = ctx
        .settings
        .vendor_config(&info)?
        .parse()
        .map_err(|e| CliError::from_posbridge("asalta: cannot set up", e))?;
    let asalta = Asalta::new(config.clone()).map_err(|e| CliError::from_posbridge("asalta: cannot set up", e))?;
    Ok((asalta, config))
}

/// `posbridge auth asalta`: prints the authorize URL, waits on the loopback redirect
/// URI for Asalta's redirect, exchanges the code (it lives 30 seconds) and stores the
/// token in the configured `token_file` (mode 600).
pub async fn auth(ctx: &Ctx, timeout: Duration) -> Result<Exit, CliError> {
    let (asalta, config) = client(ctx)?;
    let token_file = config.token_file.clone().ok_or_else(|| {
        CliError::new(Exit::Usage, anyhow!("asalta: no token_file configured"))
            .hint("add token_file = \"asalta-token.json\" to the [asalta] section: the token is kept there")
    })?;
    let redirect = config.redirect_uri.clone().ok_or_else(|| {
        CliError::new(Exit::Usage, anyhow!("asalta: no redirect_uri configured"))
            .hint("add redirect_uri = \"http://127.0.0.1:8765/callback\" (registered with Asalta) to [asalta]")
    })?;
    let redirect = url::Url::parse(&redirect).map_err(|e| {
        CliError::new(
            Exit::Usage,
            anyhow!(
                "asalta: redirect_uri {} is not a URL: {e}",
                crate::quote::quote(&redirect)
            ),
        )
    })?;
    let loopback = matches!(redirect.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if redirect.scheme() != "http" || !loopback {
        return Err(CliError::new(
            Exit::Usage,
            anyhow!("asalta: redirect_uri must be an http:// loopback address this command can listen on"),
        ));
    }
    let port = redirect.port_or_known_default().unwrap_or(80);
    let host = if redirect.host_str() == Some("[::1]") {
        "::1"
    } else {
        "127.0.0.1"
    };
    let listener = TcpListener::bind((host, port)).await.map_err(|e| {
        CliError::new(
            Exit::Usage,
            anyhow!("cannot listen on {host}:{port} for the redirect: {e}"),
        )
    })?;

    let (url, state) = asalta
        .auth()
        .authorize_url()
        .map_err(|e| CliError::from_posbridge("asalta: cannot build the authorize URL", e))?;
    ctx.out
        .json(&json!({"authorize_url": url.as_str(), "redirect_uri": redirect.as_str()}));
    ctx.out.human(format!(
        "Open this address in a browser, sign in to Asalta and allow posbridge:\n\n  {url}\n\n\
         Waiting for Asalta to send you back to {redirect} (up to {}s)…",
        timeout.as_secs()
    ));

    let outcome = tokio::time::timeout(timeout, receive(&listener, redirect.path(), &asalta, &state))
        .await
        .map_err(|_| {
            CliError::new(
                Exit::Auth,
                anyhow!("asalta: no redirect arrived within {}s", timeout.as_secs()),
            )
            .hint("run `posbridge auth asalta` again and approve posbridge in the browser")
        })?;
    outcome.map_err(|e| {
        CliError::from_posbridge("asalta: authorisation failed", e).hint("run `posbridge auth asalta` again")
    })?;
    ctx.out.human(format!(
        "Asalta authorised; the token is stored in {} (mode 600).",
        token_file.display()
    ));
    ctx.out.json(&json!({"authorised": true, "token_file": token_file}));
    Ok(Exit::Ok)
}

/// Serves the loopback redirect until the request for `path` arrives, exchanges its
/// code, and answers the browser.
async fn receive(
    listener: &TcpListener,
    path: &str,
    asalta: &Asalta,
    state: &posbridge::asalta::CsrfState,
) -> Result<(), Error> {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let mut buf = vec![0u8; 16 * 1024];
        let mut len = 0;
        // Read the request head (a browser's GET has no body).
        while len < buf.len() {
            match stream.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    len += n;
                    if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
        let head = String::from_utf8_lossy(&buf[..len]);
        let target = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("");
        let full = format!("http://127.0.0.1{target}");
        let on_path = url::Url::parse(&full).map(|u| u.path() == path).unwrap_or(false);
        if !on_path {
            // A favicon or a stray request: answer and keep waiting.
            let _ = stream
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            continue;
        }
        let result = asalta.auth().exchange_redirect(&full, state).await;
        let page = match &result {
            Ok(_) => "<h1>posbridge is authorised</h1><p>You can close this tab.</p>".to_owned(),
            Err(e) => format!(
                "<h1>posbridge was not authorised</h1><p>{}</p>",
                html_escape(&e.to_string())
            ),
        };
        let status = if result.is_ok() { "200 OK" } else { "400 Bad Request" };
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
        return result.map(|_| ());
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The reports `posbridge asalta report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Report {
    /// Sales between --from and --to.
    Sales,
    /// CRM invoices between --from and --to.
    CrmInvoices,
    /// The roster schedule between --from and --to.
    Roster,
    /// Payroll for --month.
    Payroll,
    /// Claims for --month.
    Claims,
}

/// `posbridge asalta report KIND`.
pub async fn report(
    ctx: &Ctx,
    kind: Report,
    from: Option<jiff::civil::Date>,
    to: Option<jiff::civil::Date>,
    month: Option<&str>,
) -> Result<Exit, CliError> {
    let (asalta, _) = client(ctx)?;
    let range = || -> Result<DateRange, CliError> {
        match (from, to) {
            (Some(start), Some(end)) if start <= end => Ok(DateRange { start, end }),
            (Some(_), Some(_)) => Err(CliError::new(Exit::Usage, anyhow!("--from is after --to"))),
            _ => Err(CliError::new(
                Exit::Usage,
                anyhow!("this report needs --from and --to (YYYY-MM-DD)"),
            )),
        }
    };
    let month = || -> Result<Month, CliError> {
        let m = month.ok_or_else(|| CliError::new(Exit::Usage, anyhow!("this report needs --month YYYY-MM")))?;
        let (y, mo) = m
            .split_once('-')
            .and_then(|(y, mo)| Some((y.parse::<i16>().ok()?, mo.parse::<i8>().ok()?)))
            .filter(|(_, mo)| (1..=12).contains(mo))
            .ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    anyhow!("--month {} is not YYYY-MM", crate::quote::quote(m)),
                )
            })?;
        Ok(Month { year: y, month: mo })
    };
    let fail = |e: Error| CliError::from_posbridge("asalta: report", e);
    let rows = match kind {
        Report::Sales => serde_json::to_value(asalta.sales_report(range()?).await.map_err(fail)?),
        Report::CrmInvoices => serde_json::to_value(asalta.crm_invoices_report(range()?).await.map_err(fail)?),
        Report::Roster => serde_json::to_value(asalta.roster_schedule(range()?).await.map_err(fail)?),
        Report::Payroll => serde_json::to_value(asalta.payroll_report(month()?).await.map_err(fail)?),
        Report::Claims => serde_json::to_value(asalta.claims_report(month()?).await.map_err(fail)?),
    }
    .map_err(|e| CliError::new(Exit::Usage, e.into()))?;
    let count = rows.as_array().map_or(0, Vec::len);
    print_report(ctx.out, &rows, count);
    Ok(Exit::Ok)
}

fn print_report(out: Output, rows: &serde_json::Value, count: usize) {
    if out.json {
        out.json(rows);
    } else {
        outln!("{}", serde_json::to_string_pretty(rows).unwrap_or_default());
        outln!("{count} rows");
    }
}

/// What `posbridge asalta list` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Listing {
    /// Product categories.
    Categories,
    /// Subcategories (of one category with --parent).
    Subcategories,
    /// Warehouses.
    Warehouses,
    /// Customer groups.
    CustomerGroups,
    /// Billers.
    Billers,
    /// Tax rates.
    TaxRates,
    /// The line items of one tax rate (--tax-rate).
    TaxLineItems,
    /// Payment methods.
    PaymentMethods,
    /// The promotions of one warehouse (--warehouse).
    Promotions,
    /// One customer's loyalty entries (--customer).
    Loyalty,
}

/// The ids `asalta list` filters by.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListingFilter {
    /// `--parent`: the category of subcategories.
    pub parent: Option<u64>,
    /// `--tax-rate`: the tax rate of line items.
    pub tax_rate: Option<u64>,
    /// `--warehouse`: the warehouse of promotions.
    pub warehouse: Option<u64>,
    /// `--customer`: the customer of loyalty entries.
    pub customer: Option<u64>,
}

/// Collects a stream of Asalta records as JSON values, failing on the first error.
async fn collect<T: serde::Serialize>(
    stream: posbridge::BoxStream<'_, posbridge::Result<T>>,
    what: &str,
) -> Result<Vec<serde_json::Value>, CliError> {
    use futures_util::StreamExt as _;
    let mut stream = stream;
    let mut out = Vec::new();
    while let Some(r) = stream.next().await {
        let r = r.map_err(|e| CliError::from_posbridge(format!("asalta: listing {what}"), e))?;
        out.push(serde_json::to_value(r).map_err(|e| CliError::new(Exit::Usage, e.into()))?);
    }
    Ok(out)
}

/// `posbridge asalta list WHAT`: Asalta's own lists, as JSON.
pub async fn list(ctx: &Ctx, what: Listing, filter: ListingFilter) -> Result<Exit, CliError> {
    let (asalta, _) = client(ctx)?;
    let need =
        |v: Option<u64>, flag: &str| v.ok_or_else(|| CliError::new(Exit::Usage, anyhow!("this list needs {flag} ID")));
    let rows = match what {
        Listing::Categories => collect(asalta.categories(), "categories").await?,
        Listing::Subcategories => match filter.parent {
            Some(parent) => collect(asalta.subcategories_of(parent), "subcategories").await?,
            None => collect(asalta.subcategories(), "subcategories").await?,
        },
        Listing::Warehouses => collect(asalta.warehouses(), "warehouses").await?,
        Listing::CustomerGroups => collect(asalta.customer_groups(), "customer groups").await?,
        Listing::Billers => collect(asalta.billers(), "billers").await?,
        Listing::TaxRates => collect(asalta.tax_rates(), "tax rates").await?,
        Listing::TaxLineItems => {
            collect(
                asalta.tax_line_items(need(filter.tax_rate, "--tax-rate")?),
                "tax line items",
            )
            .await?
        }
        Listing::PaymentMethods => collect(asalta.payment_methods(), "payment methods").await?,
        Listing::Promotions => collect(asalta.promotions(need(filter.warehouse, "--warehouse")?), "promotions").await?,
        Listing::Loyalty => collect(asalta.loyalty(need(filter.customer, "--customer")?), "loyalty").await?,
    };
    let count = rows.len();
    print_report(ctx.out, &serde_json::Value::Array(rows), count);
    Ok(Exit::Ok)
}

/// `posbridge asalta gift-card NO`: the sale that sold a gift card, with its value and
/// balance.
pub async fn gift_card(ctx: &Ctx, card_no: &str) -> Result<Exit, CliError> {
    let (asalta, _) = client(ctx)?;
    let sale = asalta
        .gift_card(card_no)
        .await
        .map_err(|e| CliError::from_posbridge("asalta: reading a gift card", e))?;
    let value = serde_json::to_value(sale).map_err(|e| CliError::new(Exit::Usage, e.into()))?;
    if ctx.out.json {
        ctx.out.json(&value);
    } else {
        outln!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    Ok(Exit::Ok)
}
