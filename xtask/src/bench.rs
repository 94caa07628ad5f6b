//! `cargo xtask bench [--smoke] [-- ARGS…]`: posbridge's benchmarks (see
//! `docs/benchmarks.md`).
//!
//! 1. Builds `crates/posbridge-bench` in release mode: the `posbridge-bench` binary,
//!    and `examples/footprint.rs` twice, without the bench crate's default features
//!    (the facade with the lightest vendor alone, then with every vendor of the
//!    registry, as `posbridge-bench child footprint-vendors` names them), each copied
//!    to `target/bench/footprint/`.
//! 2. Runs the criterion micro benchmarks (`cargo bench -p posbridge-bench --bench
//!    mapping`); with `--smoke`, once each (`-- --test`), to prove they still run.
//! 3. Finds a PostgreSQL for the outbox's scale-out scenario: the server at
//!    `POSBRIDGE_TEST_POSTGRES_URL` when set, else a throwaway cluster (see
//!    [`crate::postgres`]) when the server binaries are installed, else none (that
//!    part then reports it did not run).
//! 4. Runs the binary, which prints the table and writes `target/bench/report.json`.
//!
//! `--smoke` runs one short round of each scenario and judges no target: it fails
//! only when a scenario did not run or produced no number. `--dev` builds with the
//! dev profile instead of release (the figures mean nothing then; it is how `cargo
//! xtask test` runs the smoke, reusing what the tests built). Anything after `--`
//! goes to the binary (`-- --only 1,3`, `-- --rounds 7`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::postgres;

/// The benchmark crate.
const PACKAGE: &str = "posbridge-bench";

/// The footprint builds' facade features, from the bench binary's `child
/// footprint-vendors` (`one=NAME`, `all=A,B,…`): `(name the binary is kept as,
/// --features value)`, one vendor's feature, then every vendor's.
fn footprints(binary: &Path, root: &Path) -> Result<Vec<(&'static str, String)>> {
    let out = Command::new(binary)
        .current_dir(root)
        .env("CARGO", cargo())
        .args(["child", "footprint-vendors"])
        .output()
        .with_context(|| format!("running {} child footprint-vendors", binary.display()))?;
    if !out.status.success() {
        bail!(
            "{} child footprint-vendors failed: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .with_context(|| format!("child footprint-vendors printed no {key:?}: {text:?}"))
    };
    let features = |names: &str| {
        names
            .split(',')
            .map(|n| format!("posbridge/{}", n.trim()))
            .collect::<Vec<_>>()
            .join(",")
    };
    Ok(vec![
        ("footprint-one", features(value("one=")?)),
        ("footprint-vendors", features(value("all=")?)),
    ])
}

#[allow(clippy::print_stdout)]
fn say(text: &str) {
    println!("{text}");
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Where cargo puts what it builds.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
}

/// Runs `cargo ARGS` in `root`, failing when it fails.
fn cargo_step(root: &Path, args: &[&str], timings: &mut Vec<(String, f32)>) -> Result<()> {
    say(&format!("\n== cargo {}", args.join(" ")));
    let t = Instant::now();
    let status = Command::new(cargo())
        .current_dir(root)
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    timings.push((
        args.iter().take(2).copied().collect::<Vec<_>>().join(" "),
        t.elapsed().as_secs_f32(),
    ));
    Ok(())
}

/// `cargo xtask bench`, with the arguments after `bench`.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    run_with(root, args, None)
}

/// The smoke run of the test gate: dev profile, one short round of every scenario,
/// against the gate's PostgreSQL when there is one.
pub fn smoke_in_gate(root: &Path, postgres_url: Option<&str>) -> Result<()> {
    run_with(root, &["--smoke".to_owned(), "--dev".to_owned()], postgres_url)
}

fn run_with(root: &Path, args: &[String], gate_postgres: Option<&str>) -> Result<()> {
    let (ours, passed) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let mut smoke = false;
    let mut dev = false;
    for a in ours {
        match a.as_str() {
            "--smoke" => smoke = true,
            "--dev" => dev = true,
            other => {
                bail!("unknown argument {other:?}: cargo xtask bench [--smoke] [--dev] [-- ARGS for posbridge-bench]")
            }
        }
    }
    // The dev build uses the features the test gate builds with, so that it reuses
    // its artifacts.
    let (profile_flags, profile_dir): (&[&str], &str) = if dev {
        (&["--all-features"], "debug")
    } else {
        (&["--release"], "release")
    };
    let started = Instant::now();
    let mut timings = Vec::new();
    let target = target_dir(root);
    let out = target.join("bench");
    let footprint_dir = out.join("footprint");
    std::fs::create_dir_all(&footprint_dir).with_context(|| format!("creating {}", footprint_dir.display()))?;

    // 1. Build.
    cargo_step(
        root,
        &[&["build", "-p", PACKAGE, "--bin", PACKAGE], profile_flags].concat(),
        &mut timings,
    )?;
    let binary = target.join(profile_dir).join(PACKAGE);
    for (name, features) in footprints(&binary, root)? {
        let release: &[&str] = if dev { &[] } else { &["--release"] };
        cargo_step(
            root,
            &[
                &[
                    "build",
                    "-p",
                    PACKAGE,
                    "--example",
                    "footprint",
                    "--no-default-features",
                    "--features",
                    features.as_str(),
                ],
                release,
            ]
            .concat(),
            &mut timings,
        )?;
        let built = target.join(profile_dir).join("examples/footprint");
        let kept = footprint_dir.join(name);
        std::fs::copy(&built, &kept).with_context(|| format!("copying {} to {}", built.display(), kept.display()))?;
    }
    let bench_profile: &[&str] = if dev {
        &["--profile", "dev", "--all-features"]
    } else {
        &[]
    };
    cargo_step(
        root,
        &[
            &["bench", "-p", PACKAGE, "--bench", "mapping", "--no-run"],
            bench_profile,
        ]
        .concat(),
        &mut timings,
    )?;
    let built = started.elapsed().as_secs_f32();

    // 2. The criterion micro benchmarks (scenario 2), unless `-- --only` leaves it out.
    let runs_mapping = match passed.iter().position(|a| a == "--only") {
        Some(i) => passed
            .get(i + 1)
            .is_some_and(|list| list.split(',').any(|n| n.trim() == "2")),
        None => true,
    };
    let criterion_args: &[&str] = if smoke {
        &["--", "--test"]
    } else {
        &["--", "--warm-up-time", "1", "--measurement-time", "3"]
    };
    if runs_mapping {
        let command = [
            &["bench", "-p", PACKAGE, "--bench", "mapping"],
            bench_profile,
            criterion_args,
        ]
        .concat();
        cargo_step(root, &command, &mut timings)?;
    }

    // 3. PostgreSQL, for the outbox's scale-out scenario.
    let mut cluster = None;
    let from_env = std::env::var(postgres::URL_VAR).ok();
    let postgres_url = match gate_postgres.map(str::to_owned).or(from_env) {
        Some(url) if !url.trim().is_empty() => {
            say(&format!("\n== postgres: {}", redact(&url)));
            Some(url)
        }
        _ => match postgres::find() {
            Some(binaries) => {
                let c = postgres::Cluster::start(&binaries).context("starting a throwaway PostgreSQL cluster")?;
                say(&format!("\n== postgres: {}", c.describe()));
                let url = c.url();
                cluster = Some(c);
                Some(url)
            }
            None => {
                say(
                    "\n== postgres: no POSBRIDGE_TEST_POSTGRES_URL and no PostgreSQL server binaries: the outbox's \
                     PostgreSQL scenario will not run (sudo apt-get install postgresql)",
                );
                None
            }
        },
    };

    // 4. The macro scenarios, and the table.
    let report = out.join("report.json");
    let mut command = Command::new(&binary);
    command
        .current_dir(root)
        .env("CARGO", cargo())
        .arg("--json")
        .arg(&report)
        .arg("--footprint")
        .arg(&footprint_dir);
    if smoke {
        command.arg("--smoke");
    } else {
        command.arg("--criterion").arg(target.join("criterion"));
    }
    if let Some(url) = &postgres_url {
        command.arg("--postgres-url").arg(url);
    }
    command.args(passed);
    say(&format!(
        "\n== {} {}",
        binary.display(),
        if smoke { "--smoke" } else { "" }
    ));
    let t = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    timings.push(("posbridge-bench".to_owned(), t.elapsed().as_secs_f32()));
    drop(cluster);
    let mut summary = format!("\nxtask bench: built in {built:.1}s\n");
    for (name, secs) in &timings {
        summary.push_str(&format!("  {name:<20} {secs:>7.1}s\n"));
    }
    summary.push_str(&format!("  {:<20} {:>7.1}s", "total", started.elapsed().as_secs_f32()));
    say(&summary);
    if !status.success() {
        bail!(
            "posbridge-bench failed ({status}){}",
            if smoke {
                ": a scenario did not run or produced no number (see FAILED above)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// A URL without its password, for the log.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redact("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(redact("postgres://u@h:5/db"), "postgres://u@h:5/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
