//! The back office's catalogue: `products list|get|push`, `locations list` and
//! `idmap build`, which writes the id map the connectors read from the vendor's
//! catalogue and the POS's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use futures_util::StreamExt as _;
use posbridge::{Catalogue, Connector, Error, Location, MatchBy, MatchReport, Operation, Product, match_products};
use serde_json::json;

use crate::commands::{Ctx, Format, csv_line, table};
use crate::config::VendorInfo;
use crate::exit::{CliError, Exit};
use crate::quote::{quote, shorten};
use crate::records;

/// `posbridge products …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ProductsAction {
    /// Every product of the vendor's catalogue, streamed page by page
    #[command(after_help = "Example:\n  posbridge products list --vendor asalta --format csv > products.csv")]
    List {
        /// table, json (one product per line) or csv
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One product by the vendor's id, as JSON
    #[command(after_help = "Example:\n  posbridge products get 501 --vendor salesmania")]
    Get {
        /// The vendor's product id
        id: String,
    },
    /// Create or update products from a file (JSON, a JSON array or NDJSON; `-` for
    /// standard input): a product with an `id` is updated, one without is created
    #[command(after_help = "Example:\n  posbridge products push catalogue.ndjson --vendor salesmania")]
    Push {
        /// The products
        file: PathBuf,
    },
}

fn not_offered(connector: &dyn Connector, info: &VendorInfo, op: Operation) -> CliError {
    CliError::from_posbridge(info.name().to_owned(), connector.unsupported_here(op))
}

fn catalogue<'a>(
    connector: &'a dyn Connector,
    info: &VendorInfo,
    op: Operation,
) -> Result<&'a dyn Catalogue, CliError> {
    match connector.catalogue() {
        Some(c) if connector.capabilities().supports(op) => Ok(c),
        _ => Err(not_offered(connector, info, op)),
    }
}

/// The CSV and table row of a product.
fn product_row(p: &Product) -> [String; 7] {
    [
        p.code.clone(),
        p.name.clone(),
        p.price.map(|d| d.to_string()).unwrap_or_default(),
        p.tax.as_ref().map(|t| t.rate.to_string()).unwrap_or_default(),
        p.barcode.clone().unwrap_or_default(),
        if p.active { "yes" } else { "no" }.to_owned(),
        p.id.clone().unwrap_or_default(),
    ]
}

const PRODUCT_HEADER: [&str; 7] = ["code", "name", "price", "tax %", "barcode", "active", "id"];

/// `posbridge products …`.
pub async fn products(ctx: &Ctx, vendor: Option<&str>, action: &ProductsAction) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    let connector = ctx.connector(&info)?;
    let fail = |what: &str, e: Error| CliError::from_posbridge(format!("{}: {what}", info.name()), e);
    match action {
        ProductsAction::List { format } => {
            let cat = catalogue(connector.as_ref(), &info, Operation::ListProducts)?;
            let format = if ctx.out.json { Format::Json } else { *format };
            let mut stream = cat.products();
            let mut rows = Vec::new();
            if format == Format::Csv {
                outln!("{}", csv_line(&PRODUCT_HEADER.map(str::to_owned)));
            }
            while let Some(p) = stream.next().await {
                let p = p.map_err(|e| fail("listing products", e))?;
                match format {
                    // Streamed: a catalogue of any size prints in bounded memory.
                    Format::Json => outln!("{}", serde_json::to_string(&p).unwrap_or_default()),
                    Format::Csv => outln!("{}", csv_line(&product_row(&p))),
                    Format::Table => rows.push(product_row(&p)),
                }
            }
            if format == Format::Table {
                outln!(
                    "{}",
                    table(&PRODUCT_HEADER, &rows, &[false, false, true, true, false, false, false])
                );
                outln!("{} products", rows.len());
            }
            Ok(Exit::Ok)
        }
        ProductsAction::Get { id } => {
            let cat = catalogue(connector.as_ref(), &info, Operation::GetProduct)?;
            let p = cat
                .get_product(id)
                .await
                .map_err(|e| fail(&format!("reading product {}", shorten(id)), e))?;
            outln!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
            Ok(Exit::Ok)
        }
        ProductsAction::Push { file } => {
            let (source, text) = records::read_source(file)?;
            let records = records::parse::<Product>(&source, &text, "product")?;
            // Everything checked before anything is sent: a code and a name, no code twice.
            let mut seen = BTreeSet::new();
            for r in &records {
                let p = &r.value;
                if p.code.trim().is_empty() || p.name.trim().is_empty() {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow!("{source}, {}: a product needs a code and a name", r.location),
                    )
                    .hint("nothing was sent"));
                }
                if p.price.is_some_and(|d| d.is_sign_negative()) {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow!(
                            "{source}, {}: price {} is negative",
                            r.location,
                            p.price.unwrap_or_default()
                        ),
                    )
                    .hint("nothing was sent"));
                }
                if !seen.insert(p.code.trim().to_owned()) {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow!("{source}, {}: code {} appears twice", r.location, quote(&p.code)),
                    )
                    .hint("nothing was sent"));
                }
            }
            let needs_create = records.iter().any(|r| r.value.id.is_none());
            let needs_update = records.iter().any(|r| r.value.id.is_some());
            if needs_create {
                catalogue(connector.as_ref(), &info, Operation::CreateProduct)?;
            }
            if needs_update {
                catalogue(connector.as_ref(), &info, Operation::UpdateProduct)?;
            }
            let cat = catalogue(connector.as_ref(), &info, Operation::ListProducts)
                .or_else(|_| catalogue(connector.as_ref(), &info, Operation::CreateProduct))?;
            let mut exit = Exit::Ok;
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &records {
                let p = &r.value;
                let (verb, outcome) = match &p.id {
                    Some(id) => ("updated", cat.update_product(id, p).await),
                    None => ("created", cat.create_product(p).await),
                };
                match outcome {
                    Ok(stored) => {
                        *counts.entry(verb).or_default() += 1;
                        ctx.out.json(&json!({"code": p.code, "outcome": verb, "id": stored.id}));
                        ctx.out.human(format!(
                            "{verb:<8} {}  (id {})",
                            shorten(&p.code),
                            stored.id.as_deref().map(shorten).unwrap_or_else(|| "?".to_owned())
                        ));
                    }
                    Err(e @ Error::Auth { .. }) => return Err(fail("pushing products", e)),
                    Err(e) => {
                        *counts.entry("failed").or_default() += 1;
                        exit = exit.worst(match Exit::for_error(&e) {
                            Exit::Usage => Exit::RecordsFailed,
                            other => other,
                        });
                        ctx.out.json(&json!({"code": p.code, "outcome": "failed",
                            "error": {"kind": e.kind(), "message": crate::quote::bound_text(&e.to_string())}}));
                        ctx.out
                            .human(crate::quote::bound_text(&format!("failed   {}  {e}", shorten(&p.code))));
                    }
                }
            }
            ctx.out
                .json(&json!({"summary": {"vendor": info.name(), "counts": counts}}));
            ctx.out.human(format!(
                "\n{}: {} created, {} updated, {} failed",
                info.name(),
                counts.get("created").unwrap_or(&0),
                counts.get("updated").unwrap_or(&0),
                counts.get("failed").unwrap_or(&0)
            ));
            Ok(exit)
        }
    }
}

/// `posbridge locations list`.
pub async fn locations(ctx: &Ctx, vendor: Option<&str>, format: Format) -> Result<Exit, CliError> {
    let info = ctx.select(vendor)?;
    let connector = ctx.connector(&info)?;
    let locations = match connector.locations() {
        Some(l) if connector.capabilities().supports(Operation::ListLocations) => l,
        _ => return Err(not_offered(connector.as_ref(), &info, Operation::ListLocations)),
    };
    let format = if ctx.out.json { Format::Json } else { format };
    let mut stream = locations.locations();
    let mut rows = Vec::new();
    let row = |l: &Location| {
        [
            l.code.clone(),
            l.name.clone().unwrap_or_default(),
            l.kind.clone().unwrap_or_default(),
            l.id.clone().unwrap_or_default(),
        ]
    };
    if format == Format::Csv {
        outln!("{}", csv_line(&["code", "name", "kind", "id"].map(str::to_owned)));
    }
    while let Some(l) = stream.next().await {
        let l = l.map_err(|e| CliError::from_posbridge(format!("{}: listing locations", info.name()), e))?;
        match format {
            Format::Json => outln!("{}", serde_json::to_string(&l).unwrap_or_default()),
            Format::Csv => outln!("{}", csv_line(&row(&l))),
            Format::Table => rows.push(row(&l)),
        }
    }
    if format == Format::Table {
        outln!(
            "{}",
            table(&["code", "name", "kind", "id"], &rows, &[false, false, false, false])
        );
        outln!("{} locations", rows.len());
    }
    Ok(Exit::Ok)
}

/// The options of `posbridge idmap build`.
#[derive(Debug, Clone, clap::Args)]
pub struct IdmapBuild {
    /// The vendor whose ids to map [default: the only one configured]
    #[arg(long)]
    pub vendor: Option<String>,
    /// The POS's products (code, barcode, name): JSON, a JSON array, NDJSON or CSV with
    /// a header row. Without it, every vendor product is mapped under its own code
    #[arg(long, value_name = "FILE")]
    pub pos_catalogue: Option<PathBuf>,
    /// The vendor's catalogue as a file the merchant exported (CSV with a header row
    /// holding `id` and `code`, `barcode`, `name` columns, or JSON products), for
    /// vendors whose API has no product list (EAS Pro)
    #[arg(long, value_name = "FILE")]
    pub vendor_catalogue: Option<PathBuf>,
    /// How to pair products, in order
    #[arg(long = "match", value_delimiter = ',', value_enum, default_values_t = [MatchArg::Code, MatchArg::Barcode, MatchArg::Name])]
    pub order: Vec<MatchArg>,
    /// Where to write the map [default: the vendor's `id_map_file` in the config]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A way to pair products on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MatchArg {
    /// The same product code.
    Code,
    /// The same barcode.
    Barcode,
    /// The same name (spaces and case ignored).
    Name,
}

impl From<MatchArg> for MatchBy {
    fn from(m: MatchArg) -> Self {
        match m {
            MatchArg::Code => MatchBy::Code,
            MatchArg::Barcode => MatchBy::Barcode,
            MatchArg::Name => MatchBy::Name,
        }
    }
}

/// Reads products from JSON/NDJSON, or from CSV with a header row (`code`, `name`,
/// `barcode`, `id`; `sku` is taken for `code`, `product_id`/`uuid` for `id`).
fn read_products(file: &Path) -> Result<(String, Vec<Product>), CliError> {
    let (source, text) = records::read_source(file)?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let records = records::parse::<Product>(&source, trimmed, "product")?;
        return Ok((source, records.into_iter().map(|r| r.value).collect()));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(trimmed.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| {
            CliError::new(
                Exit::Usage,
                anyhow!("{source}: not JSON, and not CSV with a header row: {e}"),
            )
        })?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let code = column(&["code", "sku", "product_code", "item_code"]);
    let name = column(&["name", "product_name", "description"]);
    let barcode = column(&["barcode", "ean", "upc"]);
    let id = column(&["id", "product_id", "uuid", "invproductid"]);
    if code.is_none() && name.is_none() && barcode.is_none() {
        return Err(CliError::new(
            Exit::Usage,
            anyhow!(
                "{source}: the header row names no code, barcode or name column (it has: {})",
                shorten(&header.join(", "))
            ),
        ));
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| CliError::new(Exit::Usage, anyhow!("{source}, row {}: {e}", i + 2)))?;
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let mut p = Product::new(get(code).unwrap_or_default(), get(name).unwrap_or_default());
        p.barcode = get(barcode);
        p.id = get(id);
        out.push(p);
    }
    Ok((source, out))
}

/// `posbridge idmap build`.
pub async fn idmap_build(ctx: &Ctx, args: &IdmapBuild) -> Result<Exit, CliError> {
    let info = ctx.select(args.vendor.as_deref())?;
    let out_file = match &args.out {
        Some(f) => f.clone(),
        None => ctx.settings.id_map_file(&info)?.ok_or_else(|| {
            CliError::new(Exit::Usage, anyhow!("{}: no id_map_file in the config", info.name())).hint(format!(
                "pass --out FILE, or set id_map_file in the [{}] section",
                info.name()
            ))
        })?,
    };
    let vendor_products = match &args.vendor_catalogue {
        Some(file) => read_products(file)?.1,
        None => {
            let connector = ctx.connector_without_id_map(&info)?;
            let cat = catalogue(connector.as_ref(), &info, Operation::ListProducts).map_err(|e| {
                e.hint(format!(
                    "{} has no product list: export its products to CSV (id, code, name) and pass --vendor-catalogue",
                    info.name()
                ))
            })?;
            let mut stream = cat.products();
            let mut all = Vec::new();
            while let Some(p) = stream.next().await {
                all.push(
                    p.map_err(|e| CliError::from_posbridge(format!("{}: reading the catalogue", info.name()), e))?,
                );
            }
            all
        }
    };
    let pos_products = match &args.pos_catalogue {
        Some(file) => read_products(file)?.1,
        None => vendor_products
            .iter()
            .map(|p| Product::new(p.code.clone(), p.name.clone()))
            .collect(),
    };
    let order: Vec<MatchBy> = args.order.iter().copied().map(MatchBy::from).collect();
    let report = match_products(&pos_products, &vendor_products, &order);

    // The map file: every other kind and every hand-made product entry kept as it is.
    let mut doc: serde_json::Map<String, serde_json::Value> = match std::fs::read_to_string(&out_file) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("{} is not a JSON id map: {e}", out_file.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => {
            return Err(CliError::new(
                Exit::Usage,
                anyhow!("cannot read {}: {e}", out_file.display()),
            ));
        }
    };
    let products = doc
        .entry("product")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            CliError::new(
                Exit::Usage,
                anyhow!("{}: `product` is not an object", out_file.display()),
            )
        })?;
    // A product the catalogue could not pair but the file maps by hand is mapped.
    let mut report = report;
    let by_hand: Vec<String> = report
        .unmatched
        .iter()
        .chain(report.ambiguous.iter().map(|a| &a.code))
        .filter(|code| products.contains_key(code.as_str()))
        .cloned()
        .collect();
    report.unmatched.retain(|c| !by_hand.contains(c));
    report.ambiguous.retain(|a| !by_hand.contains(&a.code));
    let (mut added, mut same, mut kept) = (0usize, 0usize, Vec::new());
    for m in &report.matched {
        match products.get(&m.code).and_then(|v| v.as_str()) {
            Some(existing) if existing == m.id => same += 1,
            Some(existing) => kept.push((m.code.clone(), existing.to_owned(), m.id.clone())),
            None => {
                products.insert(m.code.clone(), json!(m.id));
                added += 1;
            }
        }
    }
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    if let Some(dir) = out_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(&out_file, text + "\n")
        .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot write {}: {e}", out_file.display())))?;

    let written = Written {
        added,
        same,
        kept,
        by_hand,
    };
    print_report(ctx, &info, &out_file, &report, &written);
    Ok(if report.unmatched.is_empty() && report.ambiguous.is_empty() {
        Exit::Ok
    } else {
        Exit::RecordsFailed
    })
}

/// What `idmap build` did to the map file.
struct Written {
    /// Entries added.
    added: usize,
    /// Entries that were there with the matched id.
    same: usize,
    /// Entries kept although the catalogue matched another id: (code, kept, matched).
    kept: Vec<(String, String, String)>,
    /// Codes the catalogue could not pair that the file maps by hand.
    by_hand: Vec<String>,
}

fn print_report(ctx: &Ctx, info: &VendorInfo, file: &Path, report: &MatchReport, written: &Written) {
    let Written {
        added,
        same,
        kept,
        by_hand,
    } = written;
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &report.matched {
        *by.entry(m.by.as_str()).or_default() += 1;
    }
    ctx.out.json(&json!({
        "vendor": info.name(),
        "file": file,
        "matched": report.matched.len(),
        "matched_by": by,
        "added": added,
        "unchanged": same,
        "kept_hand_made": kept.iter().map(|(c, e, m)| json!({"code": c, "kept": e, "matched": m})).collect::<Vec<_>>(),
        "mapped_by_hand": by_hand,
        "unmatched": report.unmatched,
        "ambiguous": report.ambiguous,
        "vendor_products_without_id": report.without_id,
    }));
    if ctx.out.json {
        return;
    }
    outln!(
        "{}: {} matched ({}), {} unmatched, {} ambiguous",
        info.name(),
        report.matched.len(),
        by.iter()
            .map(|(k, n)| format!("{n} by {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        report.unmatched.len(),
        report.ambiguous.len()
    );
    outln!(
        "wrote {}: {added} added, {same} already there{}",
        file.display(),
        if kept.is_empty() {
            String::new()
        } else {
            format!(", {} hand-made entries kept", kept.len())
        }
    );
    for (code, existing, matched) in kept {
        outln!(
            "  kept       {}  {} (the catalogue matched {})",
            shorten(code),
            shorten(existing),
            shorten(matched)
        );
    }
    for code in by_hand {
        outln!(
            "  by hand    {}  (the catalogue has no match; the file maps it)",
            shorten(code)
        );
    }
    for code in &report.unmatched {
        outln!("  unmatched  {}", shorten(code));
    }
    for a in &report.ambiguous {
        outln!(
            "  ambiguous  {}  by {}: {}",
            shorten(&a.code),
            a.by.as_str(),
            a.ids.iter().map(|i| shorten(i)).collect::<Vec<_>>().join(", ")
        );
    }
    if !report.without_id.is_empty() {
        outln!(
            "  ({} vendor products have no id and cannot be mapped)",
            report.without_id.len()
        );
    }
    if !report.unmatched.is_empty() || !report.ambiguous.is_empty() {
        outln!(
            "map the rest by hand in {} (entries there are kept on the next build)",
            file.display()
        );
    }
}
