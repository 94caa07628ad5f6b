//! Scenario 7, footprint: the crates an application compiles for the facade with one
//! vendor (CloudMA) against all five (`cargo tree -e normal`, distinct packages; and
//! with `full`, which adds the outbox), and the release size of
//! `examples/footprint.rs` built against each (`cargo xtask bench` builds both and
//! passes their directory). No target: the ratio is reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::Ctx;
use crate::report::Row;

const SCENARIO: &str = "7 footprint";
const ONE: &str = "cloudma";
const VENDORS: &str = "asalta,cloudma,codemax,easpro,salesmania";

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
    let one = crates(ONE)?;
    let all = crates(VENDORS)?;
    let full = crates("full")?;
    eprintln!("   crates: {one} (cloudma), {all} (five vendors), {full} (full: vendors and outbox)");
    let mut rows = vec![
        Row::paired(
            SCENARIO,
            "crates compiled: five vendors ÷ CloudMA only",
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
            eprintln!("   release binary: {one} B (cloudma), {all} B (five vendors)");
            Row::paired(
                SCENARIO,
                "release binary: five vendors ÷ CloudMA only",
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
            "release binary: five vendors ÷ CloudMA only",
            crate::report::Target::None,
            "the footprint binaries were not built: run `cargo xtask bench` (it builds them), or pass --footprint DIR",
        ),
    });
    Ok(rows)
}
