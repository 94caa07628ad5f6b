//! # xtask
//!
//! Project chores, run as `cargo xtask <command>`:
//!
//! - `conformance [--check]`: validates every fixture against the committed JSON
//!   Schema, regenerates `docs/fixture.schema.json` and each vendor's
//!   `tests/it/conformance.rs` (one test per fixture, sorted), runs the conformance
//!   tests and prints the vendor × operation matrix. `--check` writes nothing and
//!   fails when a generated file is stale or a required case is missing.
//! - `deps`: the dependency check alone (see [`deps`]): one semver-major version
//!   each of reqwest, hyper, tokio and rustls in the resolved tree, and every
//!   package's licence satisfiable with permissive licences only.
//! - `fuzz [--seconds N] [--target NAME]`: runs the libFuzzer targets in `fuzz/`
//!   (see [`fuzz`]); it installs nothing.
//! - `new-vendor NAME`: scaffolds a working vendor crate (JSON + bearer token, a push of
//!   sales) from `xtask/templates/vendor/`, its fixtures, sandbox imitation, fuzz entry
//!   and bench hook, and its registry line (see [`scaffold`]).
//! - `scaffold-check`: `new-vendor kedai` in a temporary copy of the workspace, then
//!   conformance, clippy, tests and the demo there.
//! - `test`: the whole gate CI runs, in order: fmt, `deps`, clippy `-D warnings`,
//!   `conformance --check`, every test (cargo-nextest when installed), doc tests, the
//!   benchmark smoke run (`bench --smoke --dev`: one short round of every scenario,
//!   so the benchmarks cannot rot), `cargo doc` without warnings, and the scaffold check
//!   (`new-vendor kedai` in a temporary copy: conformance, clippy, tests, the demo). For the tests it starts a throwaway PostgreSQL
//!   cluster (see [`postgres`]) and passes its URL in `POSBRIDGE_TEST_POSTGRES_URL`,
//!   with `POSBRIDGE_REQUIRE_POSTGRES=1`. Without PostgreSQL server binaries the gate
//!   fails when `CI` is `true`/`1` (or `POSBRIDGE_REQUIRE_POSTGRES=1`), and otherwise
//!   runs the tests without a server and ends with a banner saying the PostgreSQL
//!   tests did not run.
//!
//! The test `generated_files_are_fresh` runs the `--check` logic under plain
//! `cargo test` too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use posbridge::Operation;
use posbridge_conformance::{Case, Fixture};

mod bench;
mod deps;
mod fuzz;
mod postgres;
mod scaffold;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Warnings to print after everything else, the error included.
    let mut epilogue = Vec::new();
    let result = run(&args, &mut epilogue);
    if let Err(e) = &result {
        eprintln!("error: {e:#}");
    }
    for text in &epilogue {
        eprintln!("\n{text}");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

const USAGE: &str = "usage: cargo xtask <command>

commands:
  conformance [--check]   regenerate conformance tests and schema, run them, print the matrix
                          (--check: write nothing; fail on stale files or missing required cases)
  deps                    one major version each of reqwest, hyper, tokio, rustls; permissive licences only
  fuzz [--seconds N] [--target NAME]
                          run the cargo-fuzz targets in fuzz/, N seconds each (default 600); print
                          executions and crashes (needs `cargo install cargo-fuzz`)
  test                    the whole gate: fmt, deps, clippy, conformance --check, tests (with a throwaway
                          PostgreSQL when its server binaries are installed), doc tests, docs
  bench [--smoke] [--dev] the benchmarks against their baselines, one table (docs/benchmarks.md)
  new-vendor NAME         scaffold crates/posbridge-NAME (JSON + bearer, push sales), its fixtures, sandbox
                          imitation, fuzz entry and bench hook, and its registry line
  scaffold-check          new-vendor kedai in a temporary copy of the workspace: conformance, clippy, tests";

/// Runs one command; texts pushed to `epilogue` are printed at the very end.
fn run(args: &[String], epilogue: &mut Vec<String>) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("conformance") => {
            let check = args.iter().any(|a| a == "--check");
            let report = conformance(&root(), check)?;
            say(&report.text);
            if !report.problems.is_empty() {
                bail!(
                    "conformance {}:\n  {}",
                    if check { "check failed" } else { "failed" },
                    report.problems.join("\n  ")
                );
            }
            Ok(())
        }
        Some("deps") => {
            let t = Instant::now();
            deps_step(&root(), &mut Vec::new())?;
            say(&format!("deps: {:.1}s", t.elapsed().as_secs_f32()));
            Ok(())
        }
        Some("test") => test_gate(epilogue),
        Some("fuzz") => fuzz::run(&root(), &args[1..]),
        Some("bench") => bench::run(&root(), &args[1..]),
        Some("new-vendor") => {
            let Some(name) = args.get(1) else {
                bail!("usage: cargo xtask new-vendor NAME\n\n{USAGE}");
            };
            let written = scaffold::new_vendor(&root(), name)?;
            for path in &written {
                say(&format!("wrote {}", path.display()));
            }
            say(&format!(
                "\nposbridge-{name} is in the workspace and the registry. Next:\n  cargo xtask conformance\n  \
                 cargo test -p posbridge-{name} --all-features\n  cargo run -p posbridge-cli -- demo\n\
                 then follow docs/adding-a-connector.md from step 2."
            ));
            Ok(())
        }
        Some("scaffold-check") => {
            let took = scaffold::check_in_copy(&root(), &cargo())?;
            say(&format!(
                "scaffold check: new-vendor kedai built and passed in {:.0}s",
                took.as_secs_f32()
            ));
            Ok(())
        }
        Some("help" | "--help" | "-h") | None => {
            say(USAGE);
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

#[allow(clippy::print_stdout)]
fn say(text: &str) {
    println!("{text}");
}

fn root() -> PathBuf {
    // `cargo run` (which `cargo xtask` is) sets CARGO_MANIFEST_DIR for the program
    // it runs: read it at run time, so that a binary built from another checkout
    // sharing the target directory still works on this one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// One vendor's fixtures.
struct VendorCases {
    vendor: &'static str,
    crate_name: &'static str,
    operations: BTreeSet<Operation>,
    documented: &'static [posbridge::Documented],
    fixtures: Vec<(String, Fixture)>,
}

impl VendorCases {
    fn crate_ident(&self) -> String {
        self.crate_name.replace('-', "_")
    }
}

/// What `conformance` found.
struct Report {
    text: String,
    problems: Vec<String>,
}

fn conformance(root: &Path, check: bool) -> Result<Report> {
    let mut problems = Vec::new();
    let schema_text = posbridge_conformance::schema_json();
    sync_file(
        &root.join("docs/fixture.schema.json"),
        &schema_text,
        check,
        &mut problems,
    )?;
    let readme = root.join("README.md");
    let readme_text = std::fs::read_to_string(&readme).context("reading README.md")?;
    sync_file(&readme, &with_vendor_table(&readme_text)?, check, &mut problems)?;
    let schema: serde_json::Value = serde_json::from_str(&schema_text)?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| anyhow::anyhow!("the fixture schema: {e}"))?;

    let mut vendors = Vec::new();
    for info in posbridge::vendors() {
        let dir = root.join("crates").join(info.crate_name()).join("fixtures");
        let mut fixtures = Vec::new();
        let mut names: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        for path in names {
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let value: serde_json::Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{}/{file}: not JSON: {e}", info.crate_name()));
                    continue;
                }
            };
            let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
            if !errors.is_empty() {
                problems.push(format!(
                    "{}/{file}: does not match docs/fixture.schema.json: {}",
                    info.crate_name(),
                    errors.join("; ")
                ));
                continue;
            }
            let fixture: Fixture = match serde_json::from_value(value) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{}/{file}: {e}", info.crate_name()));
                    continue;
                }
            };
            let stem = file.trim_end_matches(".json").to_owned();
            let prefix = format!("{}__", fixture.operation.as_str());
            if !stem.starts_with(&prefix) {
                problems.push(format!(
                    "{}/{file}: a {} case's file name must start with {prefix}",
                    info.crate_name(),
                    fixture.operation
                ));
            }
            if !stem
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                problems.push(format!(
                    "{}/{file}: file names are lower-case letters, digits and underscores",
                    info.crate_name()
                ));
            }
            if fixture.operation == Operation::Call {
                // A call is valid when the vendor's documented list names it.
                let calls: Vec<&str> = info
                    .documented()
                    .iter()
                    .filter_map(|d| match d.via {
                        posbridge::Via::Call(name) => Some(name),
                        _ => None,
                    })
                    .collect();
                if !fixture.call.as_deref().is_some_and(|c| calls.contains(&c)) {
                    problems.push(format!(
                        "{}/{file}: `call` must name one of the vendor's documented calls ({})",
                        info.crate_name(),
                        calls.join(", ")
                    ));
                }
            } else if !info.capabilities().supports(fixture.operation) {
                problems.push(format!(
                    "{}/{file}: {} is not in the connector's capabilities",
                    info.crate_name(),
                    fixture.operation
                ));
            }
            if let Some(endpoint) = &fixture.endpoint
                && !info.documented().iter().any(|d| d.endpoint == endpoint)
            {
                problems.push(format!(
                    "{}/{file}: endpoint {endpoint:?} is not one of the vendor's documented operations",
                    info.crate_name()
                ));
            }
            fixtures.push((stem, fixture));
        }
        vendors.push(VendorCases {
            vendor: info.name(),
            crate_name: info.crate_name(),
            operations: info.capabilities().operations.clone(),
            documented: info.documented(),
            fixtures,
        });
    }

    for v in &vendors {
        let path = root
            .join("crates")
            .join(v.crate_name)
            .join(conformance_dir(root, v.crate_name))
            .join("conformance.rs");
        let code = rustfmt(root, &generated_tests(v))?;
        sync_file(&path, &code, check, &mut problems)?;
    }

    let results = if check || !problems.is_empty() {
        None
    } else {
        Some(run_conformance_tests(root, &vendors)?)
    };
    let (text, mut matrix_problems) = matrix(&vendors, results.as_ref());
    problems.append(&mut matrix_problems);
    Ok(Report { text, problems })
}

/// Writes `content` to `path`, or in check mode records a problem when it differs.
fn sync_file(path: &Path, content: &str, check: bool, problems: &mut Vec<String>) -> Result<()> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == content {
        return Ok(());
    }
    if check {
        problems.push(format!(
            "{} is stale: run `cargo xtask conformance` and commit the result",
            path.display()
        ));
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}

/// The README's vendor table, between its `<!-- vendors … -->` and `<!-- /vendors -->`
/// markers, written from the descriptors in registry order: a new vendor's row comes
/// from its crate, not from an edit here.
fn with_vendor_table(readme: &str) -> Result<String> {
    const START: &str = "<!-- vendors:";
    const END: &str = "<!-- /vendors -->";
    let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
        bail!("README.md has no `{START} … -->` … `{END}` markers for the vendor table");
    };
    let Some(body) = readme[start..].find('\n').map(|i| start + i + 1) else {
        bail!("README.md: the vendor table marker has no line after it");
    };
    let mut table = String::from(
        "| vendor | country | crate (feature) | offers | returns | voids | later payments | products | locations |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for v in posbridge::vendors() {
        // What the capabilities declare, so the table cannot drift from the code.
        let caps = v.capabilities();
        let products = |caps: &posbridge::Capabilities| {
            use posbridge::Operation::{CreateProduct, DeleteProduct, GetProduct, ListProducts, UpdateProduct};
            match (
                caps.supports(ListProducts),
                [CreateProduct, UpdateProduct, DeleteProduct]
                    .iter()
                    .any(|o| caps.supports(*o)),
            ) {
                (false, false) => "— (no product list in its document)".to_owned(),
                (true, false) if caps.supports(GetProduct) => "read (list, one)".to_owned(),
                (true, false) => "read (list)".to_owned(),
                _ => "read and written".to_owned(),
            }
        };
        let has = |ops: &[posbridge::Operation]| {
            let names: Vec<&str> = ops.iter().filter(|o| caps.supports(**o)).map(|o| o.as_str()).collect();
            if names.is_empty() {
                "—".to_owned()
            } else {
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            }
        };
        let _ = writeln!(
            table,
            "| {} | {} | `{}` (`{}`) | {} | {} | {} | {} | {} | {} |",
            v.display_name(),
            v.country(),
            v.crate_name(),
            v.name(),
            v.summary(),
            has(&[posbridge::Operation::PushReturn]),
            has(&[posbridge::Operation::VoidSale]),
            has(&[posbridge::Operation::AddPayment, posbridge::Operation::DeletePayment]),
            products(&caps),
            has(&[posbridge::Operation::ListLocations]),
        );
    }
    Ok(format!("{}{table}{}", &readme[..body], &readme[end..]))
}

/// Formats generated code with the workspace's rustfmt settings, so that the
/// committed file is exactly what `cargo fmt` would leave.
fn rustfmt(root: &Path, code: &str) -> Result<String> {
    use std::io::Write as _;
    let mut child = Command::new("rustfmt")
        .current_dir(root)
        .args(["--edition", "2024", "--emit", "stdout", "--config-path"])
        .arg(root.join("rustfmt.toml"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(code.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "rustfmt failed on generated code: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn generated_tests(v: &VendorCases) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "//! Generated by `cargo xtask conformance`, do not edit by hand.");
    let _ = writeln!(s, "//!");
    let _ = writeln!(
        s,
        "//! One test per fixture in `crates/{}/fixtures/`, sorted by name.",
        v.crate_name
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "#![allow(non_snake_case)]");
    let _ = writeln!(s);
    let _ = writeln!(s, "use posbridge_conformance::run;");
    let _ = writeln!(s, "use {}::Config;", v.crate_ident());
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "const FIXTURES: &str = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/fixtures\");"
    );
    for (name, _) in &v.fixtures {
        let _ = writeln!(s);
        let _ = writeln!(s, "#[tokio::test]");
        let _ = writeln!(s, "async fn {name}() {{");
        let _ = writeln!(s, "    run::<Config>(FIXTURES, \"{name}.json\").await;");
        let _ = writeln!(s, "}}");
    }
    s
}

/// Where a crate's generated conformance tests live: `tests/it/` when its integration
/// tests are one binary (`tests/it/main.rs`, which declares `mod conformance;`), else
/// `tests/`, a binary of their own.
fn conformance_dir(root: &Path, crate_name: &str) -> &'static str {
    if root.join("crates").join(crate_name).join("tests/it/main.rs").is_file() {
        "tests/it"
    } else {
        "tests"
    }
}

/// Runs each vendor's conformance tests; returns pass/fail per (vendor, fixture).
fn run_conformance_tests(root: &Path, vendors: &[VendorCases]) -> Result<BTreeMap<(String, String), bool>> {
    let mut results = BTreeMap::new();
    for v in vendors.iter().filter(|v| !v.fixtures.is_empty()) {
        // In one binary with the crate's other tests, the conformance module's tests
        // are named `conformance::<fixture>`.
        let (binary, filter) = match conformance_dir(root, v.crate_name) {
            "tests/it" => ("it", "conformance::"),
            _ => ("conformance", ""),
        };
        let out = Command::new(cargo())
            .current_dir(root)
            .args([
                "test",
                "--quiet",
                "-p",
                v.crate_name,
                "--test",
                binary,
                "--",
                filter,
                "--color",
                "never",
            ])
            .output()
            .with_context(|| format!("running {}'s conformance tests", v.crate_name))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // `--quiet` prints failures by name; every fixture not listed as failed passed
        // only if the run reached the summary.
        let failed: BTreeSet<String> = stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix("---- ").and_then(|r| r.split(' ').next()))
            .map(|name| name.strip_prefix("conformance::").unwrap_or(name).to_owned())
            .collect();
        let ran = stdout.contains("test result:");
        for (name, _) in &v.fixtures {
            let passed = ran && !failed.contains(name);
            results.insert((v.vendor.to_owned(), name.clone()), passed);
        }
        if !ran {
            eprintln!("{stderr}");
            bail!("{}'s conformance tests did not run", v.crate_name);
        }
        if !failed.is_empty() {
            eprintln!("{stdout}");
        }
    }
    Ok(results)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn matrix(vendors: &[VendorCases], results: Option<&BTreeMap<(String, String), bool>>) -> (String, Vec<String>) {
    let mut problems = Vec::new();
    let mut rows = vec![[
        "vendor".to_owned(),
        "operation".to_owned(),
        "cases".to_owned(),
        "passed".to_owned(),
        "required cases missing".to_owned(),
    ]];
    for v in vendors {
        for op in &v.operations {
            let cases: Vec<&(String, Fixture)> = v.fixtures.iter().filter(|(_, f)| f.operation == *op).collect();
            let covered: BTreeSet<Case> = cases.iter().flat_map(|(_, f)| f.covers.iter().copied()).collect();
            let missing: Vec<&str> = Case::required_for(*op)
                .iter()
                .filter(|c| !covered.contains(c))
                .map(|c| c.as_str())
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "{} {}: required cases missing: {}",
                    v.vendor,
                    op,
                    missing.join(", ")
                ));
            }
            let passed = match results {
                Some(r) => {
                    let n = cases
                        .iter()
                        .filter(|(name, _)| r.get(&(v.vendor.to_owned(), name.clone())).copied().unwrap_or(false))
                        .count();
                    if n < cases.len() {
                        problems.push(format!(
                            "{} {}: {} of {} cases failed",
                            v.vendor,
                            op,
                            cases.len() - n,
                            cases.len()
                        ));
                    }
                    format!("{n}/{}", cases.len())
                }
                None => "not run".to_owned(),
            };
            rows.push([
                v.vendor.to_owned(),
                op.as_str().to_owned(),
                cases.len().to_string(),
                passed,
                if missing.is_empty() {
                    "-".to_owned()
                } else {
                    missing.join(", ")
                },
            ]);
        }
    }
    let mut text = render(&rows);
    let (documented, mut documented_problems) = documented_matrix(vendors, results);
    let _ = write!(text, "\n{documented}");
    if ENFORCE_DOCUMENTED {
        problems.append(&mut documented_problems);
    }
    (text, problems)
}

/// Whether a documented operation lacking a required case fails `conformance
/// --check`: it does, since every operation of the five documents has its cases.
const ENFORCE_DOCUMENTED: bool = true;

/// A table, columns padded, a rule under the header.
fn render<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for (n, r) in rows.iter().enumerate() {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(text, "{}", line.join("  ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(text, "{}", rule.join("  "));
        }
    }
    text
}

/// The fixtures that exercise a documented operation: those of the operation (or the
/// call) that performs it naming this endpoint, or naming none when it is the first
/// endpoint that operation performs. An authentication endpoint counts only fixtures
/// that name it.
fn documented_cases<'a>(v: &'a VendorCases, row: &posbridge::Documented) -> Vec<&'a (String, Fixture)> {
    use posbridge::Via;
    let first_of_via = v.documented.iter().find(|d| d.via == row.via).map(|d| d.endpoint);
    v.fixtures
        .iter()
        .filter(|(_, f)| {
            let named = f.endpoint.as_deref();
            let same_via = match row.via {
                Via::Operation(op) => f.operation == op,
                Via::Call(name) => f.operation == Operation::Call && f.call.as_deref() == Some(name),
                _ => false,
            };
            match named {
                Some(endpoint) => endpoint == row.endpoint,
                None => same_via && first_of_via == Some(row.endpoint),
            }
        })
        .collect()
}

/// The vendor × documented operation table: every operation of every vendor document,
/// what performs it, and its cases.
fn documented_matrix(
    vendors: &[VendorCases],
    results: Option<&BTreeMap<(String, String), bool>>,
) -> (String, Vec<String>) {
    let mut problems = Vec::new();
    let mut rows = vec![[
        "vendor".to_owned(),
        "documented operation".to_owned(),
        "via".to_owned(),
        "cases".to_owned(),
        "passed".to_owned(),
        "required cases missing".to_owned(),
    ]];
    let (mut total, mut complete) = (0usize, 0usize);
    for v in vendors {
        for row in v.documented {
            total += 1;
            let cases = documented_cases(v, row);
            let covered: BTreeSet<Case> = cases.iter().flat_map(|(_, f)| f.covers.iter().copied()).collect();
            let missing: Vec<&str> = Case::required_for_shape(row.shape)
                .iter()
                .filter(|c| !covered.contains(c))
                .map(|c| c.as_str())
                .collect();
            if missing.is_empty() {
                complete += 1;
            } else {
                problems.push(format!(
                    "{} {}: required cases missing: {}",
                    v.vendor,
                    row.endpoint,
                    missing.join(", ")
                ));
            }
            let passed = match results {
                Some(r) => {
                    let n = cases
                        .iter()
                        .filter(|(name, _)| r.get(&(v.vendor.to_owned(), name.clone())).copied().unwrap_or(false))
                        .count();
                    format!("{n}/{}", cases.len())
                }
                None => "not run".to_owned(),
            };
            rows.push([
                v.vendor.to_owned(),
                row.endpoint.to_owned(),
                row.via.name().to_owned(),
                cases.len().to_string(),
                passed,
                if missing.is_empty() {
                    "-".to_owned()
                } else {
                    missing.join(", ")
                },
            ]);
        }
    }
    let mut text = render(&rows);
    let _ = writeln!(
        text,
        "{complete} of {total} documented operations have every required case"
    );
    (text, problems)
}

/// The dependency check as a gate step: prints what it found, fails on a problem.
fn deps_step(root: &Path, timings: &mut Vec<(String, f32)>) -> Result<()> {
    say("\n== deps: cargo metadata --format-version 1 --all-features --locked");
    let t = Instant::now();
    let outcome = deps::check(root, &cargo())?;
    say(outcome.text.trim_end());
    if !outcome.problems.is_empty() {
        bail!(
            "the dependency check failed:\n  {}\n(`cargo tree -i NAME@VERSION -e normal,build --all-features` shows \
             every path; replace or remove the crate, or record a reasoned exception in xtask/src/deps.rs)",
            outcome.problems.join("\n  ")
        );
    }
    timings.push(("deps".to_owned(), t.elapsed().as_secs_f32()));
    Ok(())
}

/// The whole gate. Pushes the "PostgreSQL tests did not run" banner to `epilogue`
/// when there is no PostgreSQL to run them against.
fn test_gate(epilogue: &mut Vec<String>) -> Result<()> {
    let root = root();
    let started = Instant::now();
    let mut timings = Vec::new();
    // Look for PostgreSQL first, so that CI fails at once rather than after clippy.
    let pg_binaries = postgres::find();
    if pg_binaries.is_none() {
        if postgres::required_by_env() {
            bail!(
                "PostgreSQL server binaries not found; CI requires the PostgreSQL tests; .ci/run installs the \
                 postgresql package (looked in `pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH for \
                 initdb, pg_ctl and postgres)"
            );
        }
        epilogue.push(postgres::not_run_banner());
    }
    let nextest = Command::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    type Step<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, Option<&'a str>)>);
    let steps: Vec<Step<'_>> = vec![
        ("fmt", vec!["fmt", "--all", "--", "--check"], vec![]),
        (
            "clippy",
            vec![
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
            vec![],
        ),
    ];
    // fmt, then the dependency check (quick, and it needs no build), then clippy.
    let (fmt, rest) = steps.split_at(1);
    for (name, args, env) in fmt {
        step(&root, name, args, env, &mut timings)?;
    }
    deps_step(&root, &mut timings)?;
    for (name, args, env) in rest {
        step(&root, name, args, env, &mut timings)?;
    }
    let t = Instant::now();
    let report = conformance(&root, true)?;
    say(&report.text);
    if !report.problems.is_empty() {
        bail!("conformance --check failed:\n  {}", report.problems.join("\n  "));
    }
    timings.push(("conformance --check".to_owned(), t.elapsed().as_secs_f32()));
    let tests: Vec<&str> = if nextest {
        vec!["nextest", "run", "--workspace", "--all-features", "--no-fail-fast"]
    } else {
        vec![
            "test",
            "--workspace",
            "--all-features",
            "--lib",
            "--bins",
            "--tests",
            "--no-fail-fast",
        ]
    };
    // The cluster lives until the tests and doc tests are done; dropping it stops the
    // server and removes its directory, also when a step fails.
    let cluster = match &pg_binaries {
        Some(binaries) => {
            let t = Instant::now();
            let cluster = postgres::Cluster::start(binaries).context("starting a throwaway PostgreSQL cluster")?;
            say(&format!("\n== postgres: {}", cluster.describe()));
            timings.push(("postgres start".to_owned(), t.elapsed().as_secs_f32()));
            Some(cluster)
        }
        None => {
            say("\n== postgres: no server binaries found; the PostgreSQL tests will skip (see the end)");
            None
        }
    };
    let url = cluster.as_ref().map(postgres::Cluster::url);
    // Only our own cluster's URL reaches the tests, never one inherited from the shell.
    let pg_env = [
        (postgres::URL_VAR, url.as_deref()),
        (postgres::REQUIRE_VAR, url.as_ref().map(|_| "1")),
    ];
    step(&root, "tests", &tests, &pg_env, &mut timings)?;
    step(
        &root,
        "doc tests",
        &["test", "--workspace", "--all-features", "--doc"],
        &pg_env,
        &mut timings,
    )?;
    // The API's description must be valid OpenAPI 3.1 under a standard validator (the
    // tests already hold docs/openapi.json equal to what the handlers generate).
    let t = Instant::now();
    say("\n== openapi: python3 -m openapi_spec_validator docs/openapi.json");
    let status = Command::new("python3")
        .current_dir(&root)
        .args(["-m", "openapi_spec_validator", "docs/openapi.json"])
        .status()
        .context("running python3 -m openapi_spec_validator (.ci/run installs it from PyPI)")?;
    if !status.success() {
        bail!("docs/openapi.json is not valid OpenAPI (python3 -m openapi_spec_validator docs/openapi.json)");
    }
    timings.push(("openapi validate".to_owned(), t.elapsed().as_secs_f32()));
    // The benchmarks cannot rot: one short round of each, dev profile, no target judged.
    let t = Instant::now();
    say("\n== bench smoke: cargo xtask bench --smoke --dev");
    bench::smoke_in_gate(&root, url.as_deref()).context("the benchmark smoke run failed")?;
    timings.push(("bench smoke".to_owned(), t.elapsed().as_secs_f32()));
    drop(cluster);
    step(
        &root,
        "docs",
        &["doc", "--workspace", "--all-features", "--no-deps"],
        &[("RUSTDOCFLAGS", Some("-D warnings"))],
        &mut timings,
    )?;
    // A sixth vendor from nothing stays one command away: `new-vendor kedai` in a copy
    // of the workspace must build, pass conformance and appear in the demo.
    say("\n== scaffold check: cargo xtask new-vendor kedai, in a temporary copy");
    let took = scaffold::check_in_copy(&root, &cargo()).context("the scaffold check failed")?;
    timings.push(("scaffold check".to_owned(), took.as_secs_f32()));
    let mut summary = String::from("\nxtask test: all steps passed\n");
    for (name, secs) in &timings {
        let _ = writeln!(summary, "  {name:<20} {secs:>7.1}s");
    }
    let _ = writeln!(summary, "  {:<20} {:>7.1}s", "total", started.elapsed().as_secs_f32());
    say(&summary);
    Ok(())
}

/// Runs `cargo ARGS` as the gate step `name`; `env` sets (`Some`) or removes (`None`)
/// variables.
fn step(
    root: &Path,
    name: &str,
    args: &[&str],
    env: &[(&str, Option<&str>)],
    timings: &mut Vec<(String, f32)>,
) -> Result<()> {
    say(&format!("\n== {name}: cargo {}", args.join(" ")));
    let t = Instant::now();
    let mut command = Command::new(cargo());
    command.current_dir(root).args(args);
    for (key, value) in env {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let status = command
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("step {name} failed: cargo {}", args.join(" "));
    }
    timings.push((name.to_owned(), t.elapsed().as_secs_f32()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test` catches a stale generated file or a missing required case too.
    #[test]
    fn generated_files_are_fresh() {
        let report = conformance(&root(), true).unwrap();
        assert!(report.problems.is_empty(), "{}", report.problems.join("\n"));
    }
}
