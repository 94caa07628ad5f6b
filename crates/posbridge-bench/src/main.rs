//! `posbridge-bench`: every macro scenario against its baseline in the same run,
//! alternating the two over several rounds; one table of ratios (posbridge ÷
//! baseline) at the end, also written as JSON. Run it through `cargo xtask bench`
//! (which builds it in release mode, builds the footprint examples, runs the criterion
//! benches and finds a PostgreSQL); `docs/benchmarks.md` describes each scenario.
//!
//! ```text
//! posbridge-bench [--smoke] [--rounds N] [--only 1,3,…] [--json PATH]
//!                 [--criterion DIR] [--footprint DIR] [--postgres-url URL]
//! ```
//!
//! `--smoke` runs one short round of each scenario and judges no target: it fails
//! only when a scenario did not run or produced no number. The binary also runs its
//! own child processes (`posbridge-bench child …`): the streaming scenario's memory
//! measurements and the outbox's PostgreSQL workers.
#![allow(clippy::float_arithmetic, reason = "a benchmark computes rates and ratios")]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command-line report")]

mod report;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::report::{Machine, Report, Row};
use crate::server::ServerThread;

/// What a run was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// One short round of each, no targets judged.
    pub smoke: bool,
    /// Rounds per scenario.
    pub rounds: usize,
    /// Scenarios to run (1–9); all when empty.
    pub only: Vec<u32>,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Criterion's output directory (`target/criterion`), for scenario 2's cross-check.
    pub criterion: Option<PathBuf>,
    /// Where `cargo xtask bench` put the two footprint binaries.
    pub footprint: Option<PathBuf>,
    /// A PostgreSQL server to create databases on (`postgres://…/postgres`).
    pub postgres_url: Option<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            smoke: false,
            rounds: 5,
            only: Vec::new(),
            json: None,
            criterion: None,
            footprint: None,
            postgres_url: None,
        };
        let mut rounds = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--smoke" => o.smoke = true,
                "--rounds" => rounds = Some(value()?.parse().context("--rounds")?),
                "--only" => {
                    o.only = value()?
                        .split(',')
                        .map(|s| s.trim().parse().context("--only takes scenario numbers, e.g. 1,3"))
                        .collect::<Result<_>>()?
                }
                "--json" => o.json = Some(PathBuf::from(value()?)),
                "--criterion" => o.criterion = Some(PathBuf::from(value()?)),
                "--footprint" => o.footprint = Some(PathBuf::from(value()?)),
                "--postgres-url" => o.postgres_url = Some(value()?.clone()),
                "-h" | "--help" => {
                    println!("{}", USAGE);
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other:?}\n{USAGE}"),
            }
        }
        o.rounds = rounds.unwrap_or(if o.smoke { 1 } else { 5 }).max(1);
        Ok(o)
    }

    /// Whether scenario `n` runs.
    pub fn runs(&self, n: u32) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }

    /// `full` in a full run, `smoke` in a smoke run.
    pub fn pick<T>(&self, full: T, smoke: T) -> T {
        if self.smoke { smoke } else { full }
    }
}

const USAGE: &str = "usage: posbridge-bench [--smoke] [--rounds N] [--only 1,3,…] [--json PATH] [--criterion DIR] \
                     [--footprint DIR] [--postgres-url URL]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("child") {
        scenarios::child(&args[1..])
    } else {
        run(&args)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode> {
    let options = Options::parse(args)?;
    let started = Instant::now();
    let mut machine = Machine::probe();
    eprintln!(
        "posbridge-bench: {} mode, {} round(s); {} cores, {}; {}; load {}",
        options.pick("full", "smoke"),
        options.rounds,
        machine.nproc,
        machine.cpu,
        machine.rustc,
        machine.load_start
    );
    let servers = ServerThread::start()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("the client runtime")?;
    let rows: Vec<Row> = rt.block_on(scenarios::run_all(&options, &servers));
    drop(servers);
    machine.load_end = report::load();
    let seconds = started.elapsed().as_secs_f64();

    println!("\n{}", report::table(&rows));
    println!(
        "machine: {} cores, {}; {}; load average {} at the start, {} at the end; {:.0} s",
        machine.nproc, machine.cpu, machine.rustc, machine.load_start, machine.load_end, seconds
    );
    let failures: Vec<&Row> = rows.iter().filter(|r| r.is_failure()).collect();
    let report = Report {
        mode: options.pick("full", "smoke").to_owned(),
        rounds: options.rounds,
        machine,
        seconds,
        rows: rows.clone(),
    };
    if let Some(path) = &options.json {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("report: {}", path.display());
    }
    if failures.is_empty() {
        if options.smoke {
            println!("smoke: every scenario ran and produced numbers (targets are not judged in smoke mode)");
        }
        Ok(ExitCode::SUCCESS)
    } else {
        for r in &failures {
            eprintln!("FAILED: [{}] {}: {}", r.scenario, r.metric, r.note);
        }
        Ok(ExitCode::FAILURE)
    }
}
