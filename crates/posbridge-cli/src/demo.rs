//! `posbridge demo`: a day of sample sales and a purchase through every vendor in
//! this build, against the sandbox started in-process, then the books checked.
//!
//! It names no vendor: each vendor's imitation says how to reach it
//! (`connector_section`) and how its day goes (`demo()`: what the imitation starts
//! with, which routes `--faults` makes misbehave, whether sales ship or name a
//! customer, whether an uncertain push may be settled by re-sending it).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::anyhow;
use jiff::Timestamp;
use posbridge::{
    Connector, Customer, Decimal, Discount, DuplicatePolicy, Error, ErrorKind, HttpConfig, Payment, PaymentMethod,
    Purchase, PurchaseLine, PushReceipt, RetryConfig, Sale, SaleLine, StockLevel,
};
use posbridge_sandbox::{
    DemoProfile, Fault, FaultRule, Product, Sandbox, SandboxConfig, SandboxHandle, VendorImitation,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

use crate::commands::{Output, table, was_sent};
use crate::config::VendorInfo;
use crate::demo_lifecycle::{self, AfterSale, SETTLE_ATTEMPTS, Settled, settle};
use crate::exit::{CliError, Exit};
use crate::quote::bound_text;

/// Options of the demo.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Sales per vendor.
    pub sales: usize,
    /// Inject faults.
    pub faults: bool,
    /// Seed for the sample data and the faults.
    pub seed: u64,
}

/// A product that is not in the catalogue: every vendor refuses the sale holding it.
const UNKNOWN_PRODUCT: &str = "DISCONTINUED-9";

/// The report of one vendor's day.
#[derive(Debug, Serialize)]
pub struct VendorReport {
    vendor: &'static str,
    /// The sales of the day.
    sales: usize,
    /// The sales a request went out for (not those refused before sending).
    sent: usize,
    accepted: usize,
    /// Refused by the vendor (or, on a re-send, found not booked).
    rejected: usize,
    /// Refused by the connector before sending: nothing went to the vendor.
    invalid: usize,
    uncertain: usize,
    settled_already_booked: usize,
    settled_booked_on_resend: usize,
    unsettled: usize,
    lost: usize,
    duplicated: usize,
    requests: usize,
    faults_met: usize,
    purchase: String,
    stock_source: &'static str,
    rejections: Vec<String>,
    /// Why each `invalid` sale was refused before sending.
    not_sent: Vec<String>,
    /// Returns, voids and later payments, where the vendor offers them.
    after_sale: AfterSale,
    stock: Vec<StockRow>,
    checks: Vec<Check>,
}

#[derive(Debug, Serialize)]
struct StockRow {
    code: String,
    before: Decimal,
    sold: Decimal,
    returned: Decimal,
    voided: Decimal,
    received: Decimal,
    after: Decimal,
    expected: Decimal,
}

#[derive(Debug, Serialize)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
}

/// Faults for `--faults`: about one write in four, and one read in seven, meets a
/// fault, on the routes each imitation offers for it ([`DemoProfile`]).
fn demo_faults(imitations: &[Box<dyn VendorImitation>]) -> Vec<FaultRule> {
    let rule = |vendor: &str, route: &str, fault: Fault, rate: f64| FaultRule {
        vendor: Some(vendor.to_owned()),
        route: Some(route.to_owned()),
        fault,
        rate,
    };
    let mut rules = Vec::new();
    for imitation in imitations {
        let vendor = imitation.name();
        for route in imitation.demo().fault_writes {
            rules.push(rule(vendor, route, Fault::Latency { ms: 20 }, 0.10));
            rules.push(rule(vendor, route, Fault::RateLimit { retry_after_secs: 1 }, 0.03));
            rules.push(rule(vendor, route, Fault::Status { status: 503 }, 0.05));
            rules.push(rule(vendor, route, Fault::Status { status: 500 }, 0.05));
            rules.push(rule(vendor, route, Fault::DropBeforeApply, 0.05));
            rules.push(rule(vendor, route, Fault::DropAfterApply, 0.05));
        }
    }
    for imitation in imitations {
        let vendor = imitation.name();
        for route in imitation.demo().fault_reads {
            rules.push(rule(vendor, route, Fault::Status { status: 502 }, 0.10));
            rules.push(rule(vendor, route, Fault::DropBeforeApply, 0.05));
        }
    }
    rules
}

fn demo_http() -> HttpConfig {
    HttpConfig {
        timeout_ms: 5_000,
        retry: RetryConfig {
            max_retries: 5,
            min_delay_ms: 10,
            max_delay_ms: 200,
            max_retry_after_ms: 2_000,
            jitter: true,
        },
        ..HttpConfig::default()
    }
}

/// The connector of `vendor` pointed at the sandbox, with the credentials and ids its
/// imitation accepts and the demo's HTTP settings; `None` when the sandbox does not
/// imitate that vendor.
pub(crate) fn sandbox_connector(
    vendor: &VendorInfo,
    handle: &SandboxHandle,
) -> Result<Option<Box<dyn Connector>>, CliError> {
    let Some(mut section) = handle.connector_section(vendor.name()) else {
        return Ok(None);
    };
    let setup = |e: Error| CliError::from_posbridge(format!("{}: cannot set up", vendor.name()), e);
    let http = serde_json::to_value(demo_http()).map_err(|e| setup(Error::config(e.to_string())))?;
    if let Some(fields) = section.as_object_mut() {
        fields.insert("http".to_owned(), http);
    }
    vendor.connect(section).map(Some).map_err(setup)
}

/// Starts the sandbox as the demo uses it: every imitation with its demo settings, a
/// well-stocked shop (ten times the sample's stock, so a day of sales never runs a
/// product out at a vendor that refuses to oversell), and with `faults` the demo's
/// faults. `posbridge serve --demo` starts the same.
pub(crate) async fn start_sandbox(seed: u64, faults: bool) -> Result<SandboxHandle, CliError> {
    let mut catalogue = posbridge_sandbox::Catalogue::sample();
    for p in &mut catalogue.products {
        p.stock *= Decimal::TEN;
    }
    let imitations = posbridge::sandbox_imitations();
    let mut config = SandboxConfig {
        catalogue,
        seed,
        faults: if faults { demo_faults(&imitations) } else { Vec::new() },
        ..SandboxConfig::default()
    };
    for imitation in &imitations {
        if let Some(settings) = imitation.demo().settings {
            config.vendors.insert(imitation.name().to_owned(), settings);
        }
    }
    Sandbox::start(config, imitations)
        .await
        .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot start the sandbox: {e}")))
}

/// `posbridge demo`.
pub async fn demo(out: Output, options: DemoOptions) -> Result<Exit, CliError> {
    let handle = start_sandbox(options.seed, options.faults).await?;
    out.human(format!(
        "posbridge demo: {} sales and a purchase per vendor against the sandbox at {}{}",
        options.sales,
        handle.base_url(),
        if options.faults { ", with faults injected" } else { "" }
    ));
    let catalogue = handle.state().products;
    let mut reports = Vec::new();
    let mut exit = Exit::Ok;
    for vendor in posbridge::vendors() {
        let Some(connector) = sandbox_connector(vendor, &handle)? else {
            out.human(format!(
                "\n== {}\nskipped: the sandbox does not imitate {} yet",
                vendor.name(),
                vendor.name()
            ));
            continue;
        };
        let profile = handle.imitation_of(vendor.name()).map(|i| i.demo()).unwrap_or_default();
        let report = run_vendor(
            vendor.name(),
            connector.as_ref(),
            &catalogue,
            options,
            &handle,
            &profile,
        )
        .await?;
        if report.checks.iter().any(|c| !c.ok) {
            exit = Exit::RecordsFailed;
        }
        if !out.json {
            print_report(&report, options.faults);
        }
        reports.push(report);
    }
    handle.shutdown().await;
    out.json(&json!({"demo": {"sales_per_vendor": options.sales, "faults": options.faults, "vendors": reports}}));
    out.human(if exit == Exit::Ok {
        "\nall checks passed"
    } else {
        "\nSOME CHECKS FAILED"
    });
    Ok(exit)
}

/// A day of sales for `vendor`: valid sales over the catalogue, then one holding a
/// product the vendor does not know.
pub(crate) fn sample_sales(
    vendor: &str,
    n: usize,
    seed: u64,
    catalogue: &[Product],
    profile: &DemoProfile,
) -> Vec<Sale> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5a1e);
    let customers = [
        ("C-0001", "Nimal Perera", "nimal@example.lk"),
        ("C-0002", "Siti Aminah", "siti@example.my"),
        ("C-0003", "Tan Wei Ming", "weiming@example.sg"),
        ("C-0004", "Dewi Lestari", "dewi@example.id"),
    ];
    // A vendor whose documents have no shipping field has a day without shipping; one
    // with no customer code to find a POS customer by, a day served at the counter.
    let ships = profile.ships;
    let named_customers = profile.named_customers;
    // Opening at 08:00 in Colombo, sales spread over twelve hours.
    let opening = "2026-11-26T08:00:00+05:30"
        .parse::<Timestamp>()
        .map(|t| t.as_second())
        .unwrap_or_default();
    let step = if n == 0 { 0 } else { 12 * 3_600 / n as i64 };
    let mut sales = Vec::with_capacity(n + 1);
    for i in 0..n {
        let lines_n = rng.random_range(1..=4usize).min(catalogue.len());
        let mut picked = BTreeSet::new();
        let mut lines = Vec::new();
        while lines.len() < lines_n {
            let p = &catalogue[rng.random_range(0..catalogue.len())];
            if !picked.insert(p.code.clone()) {
                continue;
            }
            let discount = match rng.random_range(0..10) {
                0 => Some(Discount::Percent(Decimal::from(10))),
                1 => Some(Discount::Percent(Decimal::from(5))),
                _ => None,
            };
            lines.push(SaleLine {
                product_code: p.code.clone(),
                name: Some(p.name.clone()),
                quantity: Decimal::from(rng.random_range(1..=3)),
                unit: None,
                unit_price: p.price,
                discount,
                tax: None,
                total: None,
                note: None,
            });
        }
        let customer = (rng.random_range(0..3) == 0 && named_customers).then(|| {
            let (code, name, email) = customers[rng.random_range(0..customers.len())];
            Customer {
                code: Some(code.to_owned()),
                name: name.to_owned(),
                email: Some(email.to_owned()),
                ..Customer::default()
            }
        });
        let mut sale = Sale {
            reference: format!("DEMO-{}-{:04}", vendor.to_ascii_uppercase(), i + 1),
            issued_at: Timestamp::from_second(opening + step * i as i64).unwrap_or(Timestamp::UNIX_EPOCH),
            kind: Default::default(),
            status: Default::default(),
            customer,
            lines,
            discount: None,
            shipping: if rng.random_range(0..5) == 0 && ships {
                Decimal::from(150)
            } else {
                Decimal::ZERO
            },
            payments: Vec::new(),
            location: None,
            note: None,
            total: None,
        };
        // The POS states its total, as a real one would; the connector checks it.
        sale.total = sale.reconcile().ok().map(|r| r.amounts().total);
        // A third of the customers pay at the counter; vendors that book payments get them.
        if let (Some(total), true) = (sale.total, rng.random_range(0..3) == 0) {
            sale.payments.push(Payment {
                reference: None,
                amount: total,
                method: PaymentMethod::Cash,
                paid_at: None,
            });
        }
        sales.push(sale);
    }
    if let Some(first) = catalogue.first() {
        sales.push(Sale {
            reference: format!("DEMO-{}-{:04}", vendor.to_ascii_uppercase(), n + 1),
            issued_at: Timestamp::from_second(opening + 12 * 3_600).unwrap_or(Timestamp::UNIX_EPOCH),
            kind: Default::default(),
            status: Default::default(),
            customer: None,
            lines: vec![SaleLine {
                product_code: UNKNOWN_PRODUCT.to_owned(),
                name: Some("A product the back office does not know".to_owned()),
                quantity: Decimal::ONE,
                unit: None,
                unit_price: first.price,
                discount: None,
                tax: None,
                total: None,
                note: None,
            }],
            discount: None,
            shipping: Decimal::ZERO,
            payments: Vec::new(),
            location: None,
            note: None,
            total: None,
        });
    }
    sales
}

fn restock(vendor: &str, catalogue: &[Product]) -> Purchase {
    Purchase {
        reference: format!("DEMO-GRN-{}", vendor.to_ascii_uppercase()),
        received_at: "2026-11-26T20:00:00+05:30".parse().unwrap_or(Timestamp::UNIX_EPOCH),
        supplier: Some("Lanka Wholesale Traders".to_owned()),
        lines: catalogue
            .iter()
            .take(3)
            .map(|p| PurchaseLine {
                product_code: p.code.clone(),
                name: Some(p.name.clone()),
                quantity: Decimal::from(24),
                unit: None,
                unit_cost: (p.price * Decimal::new(6, 1)).round_dp(2),
                discount: None,
                tax: None,
                total: None,
            })
            .collect(),
        discount: None,
        shipping: Decimal::ZERO,
        location: None,
        note: None,
        total: None,
    }
}

/// Reads stock through the vendor's API, retrying the whole read a few times if
/// faults beat the transport's own retries; for a vendor without a stock endpoint,
/// reads what the sandbox holds instead.
async fn read_stock(
    connector: &dyn Connector,
    handle: &SandboxHandle,
) -> Result<(BTreeMap<String, Decimal>, &'static str), Error> {
    let Some(stock) = connector.stock() else {
        let levels = handle.state().products.into_iter().map(|p| (p.code, p.stock)).collect();
        return Ok((levels, "the sandbox's books (this vendor has no stock endpoint)"));
    };
    let mut last = None;
    for _ in 0..SETTLE_ATTEMPTS {
        match stock.stock_snapshot().await {
            Ok(levels) => {
                // A vendor with several warehouses reports a level per location: add them up.
                let mut total: BTreeMap<String, Decimal> = BTreeMap::new();
                for l in levels {
                    let l: StockLevel = l;
                    *total.entry(l.product_code).or_default() += l.quantity;
                }
                return Ok((total, "the vendor's stock endpoint"));
            }
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(Error::config("stock could not be read")))
}

async fn run_vendor(
    vendor: &'static str,
    connector: &dyn Connector,
    catalogue: &[Product],
    options: DemoOptions,
    handle: &SandboxHandle,
    profile: &DemoProfile,
) -> Result<VendorReport, CliError> {
    let fail = |what: &str, e: Error| CliError::from_posbridge(format!("{vendor}: {what}"), e);
    let (before, stock_source) = read_stock(connector, handle)
        .await
        .map_err(|e| fail("reading stock before", e))?;
    let sales = sample_sales(vendor, options.sales, options.seed, catalogue, profile);
    let pusher = connector
        .sales()
        .ok_or_else(|| CliError::new(Exit::Usage, anyhow!("{vendor} takes no sales")))?;

    let mut report = VendorReport {
        vendor,
        sales: sales.len(),
        sent: 0,
        accepted: 0,
        rejected: 0,
        invalid: 0,
        uncertain: 0,
        settled_already_booked: 0,
        settled_booked_on_resend: 0,
        unsettled: 0,
        lost: 0,
        duplicated: 0,
        requests: 0,
        faults_met: 0,
        purchase: String::new(),
        stock_source,
        rejections: Vec::new(),
        not_sent: Vec::new(),
        after_sale: AfterSale::default(),
        stock: Vec::new(),
        checks: Vec::new(),
    };
    let mut booked: BTreeSet<String> = BTreeSet::new();
    // The receipts of sales accepted at once: their vendor ids are what returns, voids
    // and payments refer to.
    let mut receipts: BTreeMap<String, PushReceipt> = BTreeMap::new();
    // Re-sending an uncertain push is safe only where a repeat is recognised: the
    // vendor upserts, ignores or refuses it. A connector may declare `Unknown` for the
    // real server while its imitation refuses a repeated reference recognisably (the
    // profile says so): the demo may settle its pushes too. Otherwise an uncertain push
    // stays uncertain.
    let can_resend =
        connector.capabilities().sale_duplicates != DuplicatePolicy::Unknown || profile.refuses_repeated_reference;
    let outcomes = pusher.push_sales(&sales).await;
    for (sale, outcome) in sales.iter().zip(outcomes) {
        if outcome.as_ref().err().is_none_or(was_sent) {
            report.sent += 1;
        }
        match outcome {
            Ok(receipt) => {
                report.accepted += 1;
                booked.insert(sale.reference.clone());
                receipts.insert(sale.reference.clone(), receipt);
            }
            Err(e) if e.kind() == ErrorKind::Uncertain && !can_resend => {
                report.uncertain += 1;
                report.unsettled += 1;
                report.rejections.push(format!(
                    "{}: uncertain, not re-sent (a repeat would not be recognised): {e}",
                    sale.reference
                ));
            }
            Err(e) if e.kind() == ErrorKind::Uncertain => {
                report.uncertain += 1;
                match settle(|| pusher.push_sale(sale)).await {
                    Settled::AlreadyBooked => {
                        report.settled_already_booked += 1;
                        booked.insert(sale.reference.clone());
                    }
                    Settled::BookedOnResend => {
                        report.settled_booked_on_resend += 1;
                        booked.insert(sale.reference.clone());
                    }
                    Settled::NotBooked(e) => {
                        report.rejected += 1;
                        report.rejections.push(format!("{}: {e}", sale.reference));
                    }
                    Settled::Unsettled(e) => {
                        report.unsettled += 1;
                        report
                            .rejections
                            .push(format!("{}: still uncertain: {e}", sale.reference));
                    }
                }
            }
            Err(e) if !was_sent(&e) => {
                report.invalid += 1;
                report.not_sent.push(bound_text(&format!("{}: {e}", sale.reference)));
            }
            Err(e) => {
                report.rejected += 1;
                report.rejections.push(bound_text(&format!("{}: {e}", sale.reference)));
            }
        }
    }

    let purchase = restock(vendor, catalogue);
    let mut received: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut purchase_booked = false;
    if let Some(purchases) = connector.purchases() {
        let outcome = match purchases.push_purchase(&purchase).await {
            Ok(_) => Ok("accepted"),
            Err(e) if e.kind() == ErrorKind::Uncertain => match settle(|| purchases.push_purchase(&purchase)).await {
                Settled::AlreadyBooked => Ok("accepted (settled: already booked)"),
                Settled::BookedOnResend => Ok("accepted (settled: booked on re-send)"),
                Settled::NotBooked(e) | Settled::Unsettled(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        report.purchase = match outcome {
            Ok(s) => {
                purchase_booked = true;
                format!("{} {s}", purchase.reference)
            }
            Err(e) if !was_sent(&e) => bound_text(&format!("{} invalid (not sent): {e}", purchase.reference)),
            Err(e) => bound_text(&format!("{} not booked: {e}", purchase.reference)),
        };
    } else {
        report.purchase = "not offered by this vendor".to_owned();
    }
    if purchase_booked {
        for l in &purchase.lines {
            *received.entry(l.product_code.clone()).or_default() += l.quantity;
        }
    }

    let with_receipts: Vec<(&Sale, &PushReceipt)> = sales
        .iter()
        .filter_map(|s| receipts.get(&s.reference).map(|r| (s, r)))
        .collect();
    report.after_sale = demo_lifecycle::after_sale(connector, &with_receipts, profile.voids_only).await;

    let mut sold: BTreeMap<String, Decimal> = BTreeMap::new();
    for sale in sales.iter().filter(|s| booked.contains(&s.reference)) {
        for l in &sale.lines {
            *sold.entry(l.product_code.clone()).or_default() += l.quantity;
        }
    }
    for (code, q) in &report.after_sale.sold {
        *sold.entry(code.clone()).or_default() += *q;
    }
    let (after, _) = read_stock(connector, handle)
        .await
        .map_err(|e| fail("reading stock after", e))?;
    let mut mismatches = Vec::new();
    for (code, b) in &before {
        let s = sold.get(code).copied().unwrap_or_default();
        let r = received.get(code).copied().unwrap_or_default();
        let ret = report.after_sale.returned.get(code).copied().unwrap_or_default();
        let v = report.after_sale.voided.get(code).copied().unwrap_or_default();
        let expected = *b - s + ret + v + r;
        let a = after.get(code).copied().unwrap_or_default();
        if a != expected {
            mismatches.push(format!("{code}: after {a}, expected {expected}"));
        }
        if !s.is_zero() || !r.is_zero() {
            report.stock.push(StockRow {
                code: code.clone(),
                before: *b,
                sold: s,
                returned: ret,
                voided: v,
                received: r,
                after: a,
                expected,
            });
        }
    }
    report.checks.push(Check {
        name: "stock after = before - sold + returned + voided + received".to_owned(),
        ok: mismatches.is_empty() && !before.is_empty(),
        detail: if mismatches.is_empty() {
            format!("{} products", before.len())
        } else {
            mismatches.join("; ")
        },
    });

    // What the vendor (the sandbox) really holds, against what posbridge reported.
    let state = handle.state();
    // A vendor that numbers documents itself keeps the POS reference in a field of the
    // document: find it there.
    let sent: BTreeSet<&str> = sales.iter().map(|s| s.reference.as_str()).collect();
    let held_docs: Vec<String> = state
        .documents
        .get(vendor)
        .map(|d| {
            d.sales
                .iter()
                .filter_map(|(key, doc)| {
                    if sent.contains(key.as_str()) {
                        return Some(key.clone());
                    }
                    // e.g. `staff_note: "POS reference DEMO-…-0001"`.
                    doc.as_object()?
                        .values()
                        .filter_map(|v| v.as_str())
                        .find_map(|v| v.split_whitespace().find(|w| sent.contains(w)))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let held: BTreeSet<String> = held_docs.iter().cloned().collect();
    // Two documents at the vendor for one POS sale is a double booking too.
    let held_twice = held_docs.len() - held.len();
    let lost: Vec<&String> = held.symmetric_difference(&booked).collect();
    report.lost = lost.len();
    let log: Vec<_> = handle.requests().into_iter().filter(|r| r.vendor == vendor).collect();
    report.requests = log.len();
    report.faults_met = log.iter().filter(|r| r.fault.is_some()).count();
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    for r in &log {
        // A request may apply several documents (a batch); each is counted.
        for reference in &r.applied_references {
            *applied.entry(reference.clone()).or_default() += 1;
        }
    }
    report.duplicated = applied.values().filter(|n| **n > 1).count() + held_twice;
    report.checks.push(Check {
        name: "the vendor holds exactly the sales reported booked".to_owned(),
        ok: lost.is_empty(),
        detail: if lost.is_empty() {
            format!("{} sales", booked.len())
        } else {
            format!(
                "differ: {}",
                lost.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        },
    });
    report.checks.push(Check {
        name: "no document applied twice".to_owned(),
        ok: report.duplicated == 0,
        detail: format!("{} duplicated", report.duplicated),
    });
    report.checks.push(Check {
        name: "every return, void and payment accounted for".to_owned(),
        ok: report.after_sale.accounted(),
        detail: format!(
            "{} returns, {} voids, {} payments",
            report.after_sale.returns.tried, report.after_sale.voids.tried, report.after_sale.payments.tried
        ),
    });
    report.checks.push(Check {
        name: "every sale accounted for".to_owned(),
        ok: report.accepted
            + report.settled_already_booked
            + report.settled_booked_on_resend
            + report.rejected
            + report.unsettled
            + report.invalid
            == report.sales,
        detail: format!("{} sales, {} sent", report.sales, report.sent),
    });
    Ok(report)
}

fn print_report(r: &VendorReport, faults: bool) {
    outln!("\n== {}", r.vendor);
    let settled = r.settled_already_booked + r.settled_booked_on_resend;
    let mut rows = vec![
        [
            "sales sent".to_owned(),
            r.sent.to_string(),
            if r.invalid > 0 {
                format!("of {}; {} refused before sending", r.sales, r.invalid)
            } else {
                String::new()
            },
        ],
        [
            "accepted".to_owned(),
            (r.accepted + settled).to_string(),
            if settled > 0 {
                format!("{} at once, {settled} after settling an uncertain outcome", r.accepted)
            } else {
                "at once".to_owned()
            },
        ],
        ["rejected".to_owned(), r.rejected.to_string(), r.rejections.join("; ")],
        [
            "invalid (not sent)".to_owned(),
            r.invalid.to_string(),
            r.not_sent.join("; "),
        ],
        [
            "uncertain".to_owned(),
            r.uncertain.to_string(),
            if r.uncertain > 0 {
                format!(
                    "settled by re-sending: {} already booked, {} booked on re-send, {} still uncertain",
                    r.settled_already_booked, r.settled_booked_on_resend, r.unsettled
                )
            } else if faults {
                String::new()
            } else {
                "(run with --faults to see some)".to_owned()
            },
        ],
        [
            "requests".to_owned(),
            r.requests.to_string(),
            if r.faults_met > 0 {
                format!(
                    "{} met an injected fault; retries and settling absorbed them",
                    r.faults_met
                )
            } else {
                String::new()
            },
        ],
        ["lost".to_owned(), r.lost.to_string(), String::new()],
        ["duplicated".to_owned(), r.duplicated.to_string(), String::new()],
        ["purchase".to_owned(), String::new(), r.purchase.clone()],
    ];
    for (name, c) in [
        ("returns", &r.after_sale.returns),
        ("voids", &r.after_sale.voids),
        ("later payments", &r.after_sale.payments),
    ] {
        rows.push(if c.offered {
            [
                name.to_owned(),
                c.accepted.to_string(),
                format!("accepted of {}; {}", c.tried, c.notes.join("; ")),
            ]
        } else {
            [name.to_owned(), String::new(), "not offered by this vendor".to_owned()]
        });
    }
    for row in &mut rows {
        row[2] = row[2].chars().take(110).collect();
    }
    outln!("{}", table(&["", "count", "detail"], &rows, &[false, true, false]));
    outln!();
    outln!("stock read from {}", r.stock_source);
    let stock_rows: Vec<[String; 8]> = r
        .stock
        .iter()
        .map(|s| {
            [
                s.code.clone(),
                s.before.to_string(),
                s.sold.to_string(),
                s.returned.to_string(),
                s.voided.to_string(),
                s.received.to_string(),
                s.after.to_string(),
                if s.after == s.expected {
                    "ok".to_owned()
                } else {
                    format!("expected {}", s.expected)
                },
            ]
        })
        .collect();
    outln!(
        "{}",
        table(
            &[
                "stock (changed)",
                "before",
                "sold",
                "returned",
                "voided",
                "received",
                "after",
                "check"
            ],
            &stock_rows,
            &[false, true, true, true, true, true, true, false]
        )
    );
    outln!();
    for c in &r.checks {
        outln!("[{}] {} ({})", if c.ok { "ok" } else { "FAILED" }, c.name, c.detail);
    }
}
