//! Scenario 9, instruction counts: what scenario 2 times, counted by valgrind's
//! callgrind instead — figures that do not swing with the host. Each side runs in a
//! child process (`posbridge-bench child count-mapping VENDOR SIDE N`) under
//! `valgrind --tool=callgrind`, counting only inside the function that maps the sale
//! N times (`--toggle-collect`): the process's start and the case's set-up are not
//! counted. Instructions per sale = that count ÷ N.
//!
//! The counts are also a regression guard: `instructions.json` (beside this crate's
//! `Cargo.toml`) holds the committed counts per build profile, and a count more than
//! [`TOLERANCE_PERCENT`] % above its committed one fails the run — smoke runs
//! included, so `cargo xtask test` catches a slower mapping on any machine. A run
//! with `POSBRIDGE_BENCH_RECORD_INSTRUCTIONS=1` writes the counts it measured as the
//! new baseline of its profile (commit it with the change that explains it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use posbridge_bench::mapping::{Case, vendors};

use super::Ctx;
use crate::report::{Row, Target};

const SCENARIO: &str = "9 instructions";
/// How much a count may grow over its committed baseline before the run fails.
pub const TOLERANCE_PERCENT: u64 = 10;
/// The committed baselines.
const BASELINE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/instructions.json");

/// The build profile the counts belong to (the gate's smoke run is a dev build).
fn profile() -> &'static str {
    if cfg!(debug_assertions) { "dev" } else { "release" }
}

/// Whether valgrind can run here.
fn valgrind() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let o = ctx.options;
    if !valgrind() {
        if std::env::var("POSBRIDGE_REQUIRE_VALGRIND").is_ok_and(|v| v == "1") {
            bail!("valgrind is not installed (POSBRIDGE_REQUIRE_VALGRIND=1; .ci/run installs Debian's valgrind)");
        }
        return Ok(vec![Row::skipped(
            SCENARIO,
            "mapping instructions per sale",
            Target::AtMost(2.0),
            "valgrind is not installed",
        )]);
    }
    let n = o.pick(200, 20);
    let exe = std::env::current_exe().context("this binary's path")?;
    let dir = tempfile::tempdir()?;
    let baselines = read_baselines(Path::new(BASELINE_FILE))?;
    let here = machine();
    // Counts compare only on the machine kind they were recorded on: code that picks
    // its instructions by CPU feature (SIMD string scanning) counts differently
    // elsewhere. A different kind is reported, not judged.
    let recorded = baselines.get(profile());
    let comparable = recorded.is_some_and(|r| r.machine == here);
    let committed = recorded
        .filter(|_| comparable)
        .map(|r| r.counts.clone())
        .unwrap_or_default();
    if let Some(r) = recorded.filter(|_| !comparable) {
        eprintln!(
            "   the committed counts were recorded on `{}`; this is `{here}`: reported, not judged",
            r.machine
        );
    }
    let mut measured = BTreeMap::new();
    let mut rows = Vec::new();
    for v in vendors() {
        let vendor = v.name();
        let mut per_side = BTreeMap::new();
        for side in ["posbridge", "baseline"] {
            let total = count(&exe, dir.path(), vendor, side, n)?;
            ensure!(
                total > 0,
                "{vendor} {side}: callgrind counted nothing in measure_mapping"
            );
            let per_sale = total / n as u64;
            eprintln!("   {vendor:<11} {side:<9} {per_sale:>9} instructions per sale");
            measured.insert(format!("mapping/{vendor}/{side}"), per_sale);
            per_side.insert(side, per_sale);
        }
        let (pb, base) = (per_side["posbridge"], per_side["baseline"]);
        let mut row = Row::paired(
            SCENARIO,
            &format!("{vendor} mapping, instructions per sale"),
            "instr",
            &[(pb as f64, base as f64)],
            Target::AtMost(2.0),
            o.smoke,
        );
        let mut regressions = Vec::new();
        for (side, now) in [("posbridge", pb), ("baseline", base)] {
            let key = format!("mapping/{vendor}/{side}");
            match committed.get(&key) {
                Some(&was) if now.saturating_mul(100) > was.saturating_mul(100 + TOLERANCE_PERCENT) => {
                    regressions.push(format!("{side} {now} > {was} committed + {TOLERANCE_PERCENT} %"))
                }
                Some(&was) => row = row.note(format!("{side} {now} vs {was} committed ({} profile)", profile())),
                None => {
                    row = row.note(format!(
                        "{side}: no committed count for the {} profile on this machine kind",
                        profile()
                    ))
                }
            }
        }
        if regressions.is_empty() {
            rows.push(row);
        } else {
            rows.push(Row::failed(
                SCENARIO,
                &format!("{vendor} mapping, instructions per sale"),
                Target::AtMost(2.0),
                &format!(
                    "instruction count regression: {} (instructions.json; if intended, re-record with \
                     POSBRIDGE_BENCH_RECORD_INSTRUCTIONS=1)",
                    regressions.join("; ")
                ),
            ));
        }
    }
    if std::env::var("POSBRIDGE_BENCH_RECORD_INSTRUCTIONS").is_ok_and(|v| v == "1") {
        let mut all = baselines;
        all.insert(
            profile().to_owned(),
            Recorded {
                machine: here,
                counts: measured,
            },
        );
        let text = serde_json::to_string_pretty(&all)? + "\n";
        std::fs::write(BASELINE_FILE, text).with_context(|| format!("writing {BASELINE_FILE}"))?;
        eprintln!("   recorded the {} profile's counts in {BASELINE_FILE}", profile());
    }
    Ok(rows)
}

/// One profile's committed counts and the machine kind they were recorded on.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Recorded {
    /// The CPU model and valgrind version (see [`machine`]).
    machine: String,
    /// `mapping/<vendor>/<side>` → instructions per sale.
    counts: BTreeMap<String, u64>,
}

/// The committed counts by profile.
type Baselines = BTreeMap<String, Recorded>;

/// The machine kind: the CPU model and the valgrind version.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, m)| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}; {valgrind}")
}

fn read_baselines(path: &Path) -> Result<Baselines> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Baselines::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The instructions the child executes mapping `n` sales on `side`.
fn count(exe: &Path, dir: &Path, vendor: &str, side: &str, n: usize) -> Result<u64> {
    let out: PathBuf = dir.join(format!("callgrind.{vendor}.{side}.{n}"));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--quiet")
        // Only what runs inside the measured function: not the process's start, not
        // the case's set-up.
        .arg("--collect-atstart=no")
        .arg("--toggle-collect=*measure_mapping*")
        .arg(exe)
        .args(["child", "count-mapping", vendor, side, &n.to_string()])
        .status()
        .context("running valgrind")?;
    ensure!(
        status.success(),
        "valgrind --tool=callgrind … child count-mapping {vendor} {side} {n}: {status}"
    );
    let text = std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    total(&text).with_context(|| format!("no `summary:` or `totals:` line in {}", out.display()))
}

/// The total instruction count of a callgrind output file.
fn total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Maps the sale `n` times on `side`: the function callgrind counts.
#[inline(never)]
fn measure_mapping(rt: &tokio::runtime::Runtime, case: &Case, side: &str, n: usize) -> Result<()> {
    for _ in 0..n {
        let body = match side {
            "posbridge" => rt.block_on(case.posbridge())?,
            _ => case.baseline()?,
        };
        std::hint::black_box(body);
    }
    Ok(())
}

/// `child count-mapping VENDOR SIDE N`: builds the vendor's case, then maps the
/// 20-line sale N times on one side inside [`measure_mapping`], the one function
/// callgrind counts.
pub fn child(args: &[String]) -> Result<()> {
    let [vendor, side, n] = args else {
        bail!("usage: child count-mapping VENDOR posbridge|baseline N");
    };
    ensure!(
        matches!(side.as_str(), "posbridge" | "baseline"),
        "side {side:?} is not posbridge or baseline"
    );
    let n: usize = n.parse().context("N")?;
    let v = vendors()
        .into_iter()
        .find(|v| v.name() == vendor)
        .with_context(|| format!("no bench hook for {vendor}"))?;
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let case = rt.block_on(Case::new(&v))?;
    measure_mapping(&rt, &case, side, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_read_from_callgrinds_output() {
        let text = "version: 1\ncmd: x\nevents: Ir\nsummary: 123456\n\nfn=(1) main\n5 7\ntotals: 123456\n";
        assert_eq!(total(text), Some(123_456));
        assert_eq!(total("events: Ir\n"), None);
    }
}
