//! `cargo xtask fuzz [--seconds N] [--target NAME]`: runs the libFuzzer targets in
//! `fuzz/` (a cargo-fuzz package of its own, outside the workspace) one after the
//! other, each for `N` seconds (default 600), and prints a table of target,
//! executions, time and crashes. The targets are the `[[bin]]` sections of
//! `fuzz/Cargo.toml` (no list here): `vendor_response` covers every vendor in the
//! registry through the fuzz entry its descriptor declares, so a new vendor needs no
//! new target.
//!
//! It installs nothing: without `cargo fuzz` it says how to install it
//! (`cargo install cargo-fuzz`). cargo-fuzz needs nightly compiler flags; on the
//! stable toolchain they are allowed with `RUSTC_BOOTSTRAP=1`, which this sets for
//! the cargo-fuzz commands only.
//!
//! `cargo fuzz build` builds every target (AddressSanitizer, debug assertions), then
//! each target's binary runs as `cargo fuzz run` would run it, with
//! `-max_total_time=N -rss_limit_mb=2048 -timeout=10`, in libFuzzer's fork mode
//! (`-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1`): a crash, hang or
//! out-of-memory is saved in `fuzz/artifacts/<target>/` and counted, and the run goes
//! on for its whole time. (Run directly, the binary also spares cargo-fuzz's rebuild
//! of every target without instrumentation to print a crash's `Debug` form.)
//!
//! Each target starts from the seeds committed in `fuzz/corpus/<target>` (real
//! answers from the vendors' conformance fixtures) and writes what it learns to
//! `fuzz/target/corpus/<target>` (ignored by git), so the committed corpus stays
//! seeds only. The log of each run is kept in `fuzz/target/logs/<target>.log`. The
//! command fails, after the table, when any target saved a crashing input.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Seconds each target runs for when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 600;
/// Seconds one input may take before libFuzzer calls it a hang.
const HANG_SECONDS: u64 = 10;
/// libFuzzer's memory limit.
const RSS_LIMIT_MB: u64 = 2048;

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    seconds: u64,
    targets: Vec<String>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
        targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next().cloned());
        match flag {
            "--seconds" => {
                let v = value().context("--seconds needs a number")?;
                options.seconds = v
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .with_context(|| format!("--seconds {v:?} is not a positive whole number"))?;
            }
            "--target" => options.targets.push(value().context("--target needs a target name")?),
            other => bail!("unknown option {other:?} for `cargo xtask fuzz` (--seconds N, --target NAME)"),
        }
    }
    Ok(options)
}

/// One target's figures.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    target: String,
    executions: Option<u64>,
    seconds: u64,
    crashes: Vec<PathBuf>,
    failed: bool,
}

/// Runs the command.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let options = parse_args(args)?;
    let fuzz_dir = root.join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        bail!("{} has no cargo-fuzz package", fuzz_dir.display());
    }
    let installed = cargo_fuzz(root)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        bail!(
            "`cargo fuzz` is not installed; install it with `cargo install cargo-fuzz` and run this again \
             (nothing is installed for you)"
        );
    }
    let all = list_targets(&fuzz_dir)?;
    let targets = if options.targets.is_empty() {
        all
    } else {
        for t in &options.targets {
            if !all.contains(t) {
                bail!("no fuzz target {t:?}; the targets are: {}", all.join(", "));
            }
        }
        options.targets.clone()
    };

    say(&format!("building {} fuzz target(s)", targets.len()));
    let mut build = cargo_fuzz(root);
    build.args(["build", "--fuzz-dir"]).arg(&fuzz_dir);
    if targets.len() == 1 {
        build.args(&targets);
    }
    let status = build.status().context("running `cargo fuzz build`")?;
    if !status.success() {
        bail!("`cargo fuzz build` failed");
    }

    let logs = fuzz_dir.join("target/logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut outcomes = Vec::new();
    for target in &targets {
        outcomes.push(run_target(root, &fuzz_dir, &logs, target, options.seconds)?);
    }
    say(&table(&outcomes));
    let bad: Vec<&Outcome> = outcomes.iter().filter(|o| o.failed || !o.crashes.is_empty()).collect();
    if !bad.is_empty() {
        let mut lines = Vec::new();
        for o in bad {
            if o.crashes.is_empty() {
                lines.push(format!(
                    "{}: failed without saving an input; see fuzz/target/logs/{}.log",
                    o.target, o.target
                ));
            }
            for c in &o.crashes {
                lines.push(format!(
                    "{}: {} (replay: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz {} {})",
                    o.target,
                    c.display(),
                    o.target,
                    c.display()
                ));
            }
        }
        bail!("fuzzing found problems:\n  {}", lines.join("\n  "));
    }
    Ok(())
}

fn cargo_fuzz(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root).env("RUSTC_BOOTSTRAP", "1").arg("fuzz");
    c
}

/// The host's target triple, under which cargo-fuzz puts the binaries.
fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running `rustc -vV`")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .context("`rustc -vV` names no host")
}

/// The fuzz targets: the `[[bin]]` names of `fuzz/Cargo.toml`, in its order.
fn list_targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let targets = bin_names(&text);
    if targets.is_empty() {
        bail!("{} declares no fuzz target (`[[bin]]`)", manifest.display());
    }
    Ok(targets)
}

/// The `name` of each `[[bin]]` section of a manifest (cargo-fuzz writes one per
/// target, `name = "…"` on its own line).
fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if !in_bin {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name"
            && let Some(name) = value
                .trim()
                .strip_prefix('"')
                .and_then(|v| v.split_once('"'))
                .map(|(n, _)| n)
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// The files libFuzzer saves for a problem (crashes, hangs, leaks, out-of-memory).
fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| ["crash-", "timeout-", "oom-", "leak-"].iter().any(|k| n.starts_with(k)))
        })
        .collect();
    found.sort();
    found
}

fn run_target(root: &Path, fuzz_dir: &Path, logs: &Path, target: &str, seconds: u64) -> Result<Outcome> {
    let grown = fuzz_dir.join("target/corpus").join(target);
    let seeds = fuzz_dir.join("corpus").join(target);
    std::fs::create_dir_all(&grown).with_context(|| format!("creating {}", grown.display()))?;
    let artifact_dir = fuzz_dir.join("artifacts").join(target);
    let before = artifacts(&artifact_dir);
    let log_path = logs.join(format!("{target}.log"));
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    say(&format!(
        "fuzzing {target} for {seconds} s (log: {})",
        log_path.display()
    ));
    std::fs::create_dir_all(&artifact_dir).with_context(|| format!("creating {}", artifact_dir.display()))?;
    let binary = fuzz_dir
        .join("target")
        .join(host_triple()?)
        .join("release")
        .join(target);
    let started = Instant::now();
    let mut command = Command::new(&binary);
    command
        .current_dir(root)
        .env("ASAN_OPTIONS", "detect_odr_violation=0")
        .arg(format!("-artifact_prefix={}/", artifact_dir.display()))
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-timeout={HANG_SECONDS}"))
        .args([
            "-print_final_stats=1",
            "-fork=1",
            "-ignore_crashes=1",
            "-ignore_timeouts=1",
            "-ignore_ooms=1",
        ])
        .arg(&grown);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    let status = command
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    // libFuzzer's own count of seconds fuzzed, else the wall time (with the build).
    let elapsed = fuzz_seconds(&text).unwrap_or_else(|| started.elapsed().as_secs());
    let crashes: Vec<PathBuf> = artifacts(&artifact_dir)
        .into_iter()
        .filter(|p| !before.contains(p))
        .map(|p| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p))
        .collect();
    Ok(Outcome {
        target: target.to_owned(),
        executions: executions(&text),
        seconds: elapsed,
        crashes,
        failed: !status.success(),
    })
}

/// The number of inputs run, from libFuzzer's output: its final statistics, else its
/// last status line (`#123456`, a tab, `pulse …`).
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().rev().find_map(|l| {
        l.trim()
            .strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|l| {
            let rest = l.strip_prefix('#')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() || !rest[digits.len()..].starts_with(['\t', ' ', ':']) {
                return None;
            }
            digits.parse().ok()
        })
    })
}

/// The seconds libFuzzer says it ran (`INFO: exiting: 0 time: 601s` in fork mode,
/// `Done 123 runs in 601 second(s)` otherwise).
fn fuzz_seconds(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|l| {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("INFO: exiting: ") {
            // Fork mode: `INFO: exiting: 0 time: 601s`.
            let (_, time) = rest.split_once("time: ")?;
            return time.trim().trim_end_matches('s').parse().ok();
        }
        let rest = l.strip_prefix("Done ")?;
        let (_, after) = rest.split_once(" runs in ")?;
        after.split_whitespace().next()?.parse().ok()
    })
}

fn table(outcomes: &[Outcome]) -> String {
    let mut rows = vec![[
        "target".to_owned(),
        "executions".to_owned(),
        "time".to_owned(),
        "crashes".to_owned(),
    ]];
    for o in outcomes {
        let crashes = if o.failed && o.crashes.is_empty() {
            "failed (see log)".to_owned()
        } else {
            o.crashes.len().to_string()
        };
        rows.push([
            o.target.clone(),
            o.executions.map_or_else(|| "?".to_owned(), |n| n.to_string()),
            format!("{} s", o.seconds),
            crashes,
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

#[allow(clippy::print_stdout)]
fn say(text: &str) {
    println!("{text}");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_seconds_and_targets() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Options {
                seconds: 600,
                targets: vec![]
            }
        );
        let o = parse_args(&args(&["--seconds", "30", "--target", "fixture", "--target=sale_file"])).unwrap();
        assert_eq!(o.seconds, 30);
        assert_eq!(o.targets, ["fixture", "sale_file"]);
        assert!(parse_args(&args(&["--seconds", "0"])).is_err());
        assert!(parse_args(&args(&["--seconds"])).is_err());
        assert!(parse_args(&args(&["--jobs", "2"])).is_err());
    }

    #[test]
    fn lists_the_targets_of_the_fuzz_manifest() {
        let manifest = "[package]\nname = \"posbridge-fuzz\"\n\n[dependencies]\nname = \"x\"\n\n[[bin]]\n\
                        name = \"fixture\"\npath = \"fuzz_targets/fixture.rs\"\n\n[[bin]]\nname = \"vendor_response\" \
                        # every vendor\ntest = false\n";
        assert_eq!(bin_names(manifest), ["fixture", "vendor_response"]);
        // The real one: every target's source exists, and no vendor has a target of
        // its own (the vendors are fuzzed through the registry).
        let fuzz_dir = crate::root().join("fuzz");
        let targets = list_targets(&fuzz_dir).unwrap();
        assert!(targets.contains(&"vendor_response".to_owned()), "{targets:?}");
        for t in &targets {
            assert!(fuzz_dir.join(format!("fuzz_targets/{t}.rs")).is_file(), "{t}");
        }
        for d in posbridge::vendors() {
            assert!(
                !targets.iter().any(|t| t.contains(d.name())),
                "a fuzz target names {}: {targets:?}",
                d.name()
            );
        }
    }

    #[test]
    fn counts_executions_from_libfuzzer_output() {
        let log = "#2\tINITED cov: 10\n#524288\tpulse  cov: 490 ft: 2338\nDone 10734449 runs in 601 second(s)\n\
                   stat::number_of_executed_units: 10734449\nstat::peak_rss_mb: 500\n";
        assert_eq!(executions(log), Some(10_734_449));
        assert_eq!(fuzz_seconds(log), Some(601));
        assert_eq!(fuzz_seconds("#1024\tNEW cov: 12"), None);
        let fork = "#2150: cov: 5476 ft: 13148 corp: 1826 exec/s: 449 oom/timeout/crash: 0/0/0 time: 17s job: 2\n\
                    #8563: cov: 5476 ft: 13148 corp: 1826 exec/s: 890 oom/timeout/crash: 0/0/1 time: 28s job: 4\n\
                    INFO: fuzzed for 28 seconds, wrapping up soon\nINFO: exiting: 0 time: 28s\n";
        assert_eq!(executions(fork), Some(8563));
        assert_eq!(fuzz_seconds(fork), Some(28));
        assert_eq!(
            executions("#2\tINITED cov: 10\n#1024\tNEW cov: 12\n==1== ERROR: deadly signal\n"),
            Some(1024)
        );
        assert_eq!(executions("error: could not compile"), None);
    }

    #[test]
    fn prints_a_table() {
        let t = table(&[Outcome {
            target: "fixture".into(),
            executions: Some(12),
            seconds: 600,
            crashes: vec![],
            failed: false,
        }]);
        assert_eq!(t.lines().next().unwrap(), "target   executions   time  crashes");
        assert_eq!(t.lines().nth(2).unwrap(), "fixture          12  600 s        0");
    }
}
