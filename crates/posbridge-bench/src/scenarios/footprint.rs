//! Scenario 7, footprint: the crates an application compiles for the facade with one
//! vendor against every vendor of the registry (`cargo tree -e normal`, distinct
//! packages; and with `full`, which adds the outbox), and the release size of
//! `examples/footprint.rs` built against each (`cargo xtask bench` builds both and
//! passes their directory). The one vendor is the lightest: the one whose facade
//! feature alone compiles the fewest crates (the first in the registry on a tie);
//! `posbridge-bench child footprint-vendors` prints it and the whole list, for
//! `cargo xtask bench` to build with. No target: the ratio is reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::Ctx;
use crate::report::Row;

const SCENARIO: &str = "7 footprint";

/// The facade features of every vendor in the registry (each named like its vendor).
fn all_vendors() -> Vec<&'static str> {
    posbridge::vendors().iter().map(|d| d.name()).collect()
}

/// The lightest vendor and its crate count: the fewest crates compiled for the facade
/// with its feature alone (the first in the registry on a tie).
fn lightest() -> Result<(&'static str, usize)> {
    let mut best: Option<(&'static str, usize)> = None;
    for name in all_vendors() {
        let n = crates(name)?;
        if best.is_none_or(|(_, b)| n < b) {
            best = Some((name, n));
        }
    }
    best.context("no vendor in the registry")
}

/// `one`, `two`, … for the table's labels.
fn count_word(n: usize) -> String {
    const WORDS: [&str; 11] = [
        "no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    WORDS.get(n).map_or_else(|| n.to_string(), |w| (*w).to_owned())
}

/// The display name of the vendor named `name`.
fn display_name(name: &str) -> &str {
    posbridge::vendors()
        .iter()
        .find(|d| d.name() == name)
        .map_or(name, |d| d.display_name())
}

/// `child footprint-vendors`: prints `one=NAME` (the lightest vendor) and
/// `all=A,B,…` (every vendor), the facade features `cargo xtask bench` builds
/// `examples/footprint.rs` with.
pub fn child() -> Result<()> {
    let (one, _) = lightest()?;
    println!("one={one}");
    println!("all={}", all_vendors().join(","));
    Ok(())
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Distinct packages `cargo tree -e normal` lists for the facade with `features`.
fn crates(features: &str) -> Result<usize> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root())
        .args([
            "tree",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
            "posbridge",
            "--no-default-features",
            "--features",
            features,
        ])
        .output()
        .context("running cargo tree")?;
    if !out.status.success() {
        bail!("cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let packages: BTreeSet<&str> = text
        .lines()
        .map(|l| l.trim_end_matches(" (*)").trim())
        .filter(|l| !l.is_empty())
        .collect();
    Ok(packages.len())
}

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let smoke = ctx.options.smoke;
    let (name, one) = lightest()?;
    let vendors = all_vendors();
    let all = crates(&vendors.join(","))?;
    let full = crates("full")?;
    let many = format!("{} vendors", count_word(vendors.len()));
    let single = format!("{} only", display_name(name));
    eprintln!("   crates: {one} ({name}), {all} ({many}), {full} (full: vendors and outbox)");
    let mut rows = vec![
        Row::paired(
            SCENARIO,
            &format!("crates compiled: {many} ÷ {single}"),
            "crates",
            &[(all as f64, one as f64)],
            crate::report::Target::None,
            smoke,
        )
        .note(format!(
            "cargo tree -e normal -p posbridge --no-default-features --features …, distinct packages; `full` (with the \
             outbox): {full}"
        )),
    ];
    let sizes = ctx.options.footprint.as_ref().map(|dir| {
        let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len());
        (size("footprint-one"), size("footprint-vendors"))
    });
    rows.push(match sizes {
        Some((Ok(one), Ok(all))) => {
            eprintln!("   release binary: {one} B ({name}), {all} B ({many})");
            Row::paired(
                SCENARIO,
                &format!("release binary: {many} ÷ {single}"),
                "bytes",
                &[(all as f64, one as f64)],
                crate::report::Target::None,
                smoke,
            )
            .note(format!(
                "examples/footprint.rs (posbridge::connect from a JSON config), {} profile, not stripped",
                if cfg!(debug_assertions) {
                    "dev (as `--dev` built it)"
                } else {
                    "release"
                }
            ))
        }
        _ => Row::failed(
            SCENARIO,
            &format!("release binary: {many} ÷ {single}"),
            crate::report::Target::None,
            "the footprint binaries were not built: run `cargo xtask bench` (it builds them), or pass --footprint DIR",
        ),
    });
    Ok(rows)
}
