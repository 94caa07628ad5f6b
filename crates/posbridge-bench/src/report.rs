//! Rows of the results table, the table as printed, and the JSON report.

use std::fmt::Write as _;

use serde::Serialize;

/// What a row's ratio must be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Target {
    /// posbridge ÷ baseline at most this (times, latencies, memory).
    AtMost(f64),
    /// posbridge ÷ baseline at least this (rates).
    AtLeast(f64),
    /// Reported, no target.
    None,
}

impl Target {
    fn text(self) -> String {
        match self {
            Target::AtMost(t) => format!("<= {t:.2}x"),
            Target::AtLeast(t) => format!(">= {t:.2}x"),
            Target::None => "-".into(),
        }
    }
}

/// A row's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The median ratio meets the target.
    Pass,
    /// The median ratio misses the target by `by` (a fraction of the target).
    Miss {
        /// How far off, as a fraction of the target (0.04 = 4 %).
        by: f64,
    },
    /// A number without a target.
    Info,
    /// Smoke mode: it ran and produced numbers; targets are not judged.
    Ran,
    /// It did not run, or produced no usable number.
    Failed {
        /// Why.
        reason: String,
    },
    /// It could not run here (no PostgreSQL, say).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl Status {
    fn text(&self) -> String {
        match self {
            Status::Pass => "PASS".into(),
            Status::Miss { by } => format!("MISS by {:.1}%", by * 100.0),
            Status::Info => "info".into(),
            Status::Ran => "ran".into(),
            Status::Failed { .. } => "FAILED".into(),
            Status::Skipped { .. } => "not run".into(),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The scenario, e.g. `1 per-call`.
    pub scenario: String,
    /// What is measured, e.g. `CloudMA push_sale p50, c=1`.
    pub metric: String,
    /// The unit of `posbridge` and `baseline`.
    pub unit: String,
    /// posbridge's value: the median over the rounds.
    pub posbridge: Option<f64>,
    /// The baseline's value: the median over the rounds.
    pub baseline: Option<f64>,
    /// posbridge ÷ baseline, one per round.
    pub ratios: Vec<f64>,
    /// The target on the median ratio.
    pub target: Target,
    /// The verdict.
    pub status: Status,
    /// Anything else worth saying (counts, criterion's numbers, why it was skipped).
    pub note: String,
}

/// `values`' median (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The `p`-th percentile (0–100) of sorted `values`, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

impl Row {
    /// A row of paired measurements, one (posbridge, baseline) pair per round.
    pub fn paired(scenario: &str, metric: &str, unit: &str, rounds: &[(f64, f64)], target: Target, smoke: bool) -> Row {
        let pb: Vec<f64> = rounds.iter().map(|r| r.0).collect();
        let base: Vec<f64> = rounds.iter().map(|r| r.1).collect();
        let ratios: Vec<f64> = rounds.iter().map(|(p, b)| p / b).collect();
        let mut row = Row {
            scenario: scenario.into(),
            metric: metric.into(),
            unit: unit.into(),
            posbridge: median(&pb),
            baseline: median(&base),
            ratios,
            target,
            status: Status::Info,
            note: String::new(),
        };
        row.judge(smoke);
        row
    }

    /// A row with one measured value and no baseline.
    pub fn single(scenario: &str, metric: &str, unit: &str, values: &[f64], smoke: bool) -> Row {
        let mut row = Row {
            scenario: scenario.into(),
            metric: metric.into(),
            unit: unit.into(),
            posbridge: median(values),
            baseline: None,
            ratios: Vec::new(),
            target: Target::None,
            status: Status::Info,
            note: String::new(),
        };
        row.judge(smoke);
        row
    }

    /// A row for a part that did not run.
    pub fn skipped(scenario: &str, metric: &str, target: Target, reason: &str) -> Row {
        Row {
            scenario: scenario.into(),
            metric: metric.into(),
            unit: String::new(),
            posbridge: None,
            baseline: None,
            ratios: Vec::new(),
            target,
            status: Status::Skipped { reason: reason.into() },
            note: reason.into(),
        }
    }

    /// A row for a part that failed.
    pub fn failed(scenario: &str, metric: &str, target: Target, reason: &str) -> Row {
        Row {
            scenario: scenario.into(),
            metric: metric.into(),
            unit: String::new(),
            posbridge: None,
            baseline: None,
            ratios: Vec::new(),
            target,
            status: Status::Failed { reason: reason.into() },
            note: reason.into(),
        }
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Row {
        let note = note.into();
        if !self.note.is_empty() && !note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(&note);
        self
    }

    /// The median ratio.
    pub fn ratio(&self) -> Option<f64> {
        median(&self.ratios)
    }

    fn judge(&mut self, smoke: bool) {
        let usable = |v: Option<f64>| v.is_some_and(|x| x.is_finite() && x > 0.0);
        let numbers_ok = usable(self.posbridge)
            && (self.target == Target::None && self.ratios.is_empty()
                || usable(self.baseline) && self.ratios.iter().all(|r| r.is_finite() && *r > 0.0));
        if !numbers_ok {
            self.status = Status::Failed {
                reason: "no usable number".into(),
            };
            return;
        }
        if smoke {
            self.status = Status::Ran;
            return;
        }
        let Some(ratio) = self.ratio() else {
            self.status = Status::Info;
            return;
        };
        self.status = match self.target {
            Target::AtMost(t) if ratio <= t => Status::Pass,
            Target::AtMost(t) => Status::Miss { by: ratio / t - 1.0 },
            Target::AtLeast(t) if ratio >= t => Status::Pass,
            Target::AtLeast(t) => Status::Miss { by: 1.0 - ratio / t },
            Target::None => Status::Info,
        };
    }

    /// Whether the row failed to produce numbers (smoke mode's only failure).
    pub fn is_failure(&self) -> bool {
        matches!(self.status, Status::Failed { .. })
    }
}

/// A number for the table: three significant figures, more for large values.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("{:.0}", v)
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The table, as printed.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "scenario",
        "metric",
        "unit",
        "posbridge",
        "baseline",
        "ratio min",
        "median",
        "max",
        "target",
        "status",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for r in rows {
        let min = r.ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let max = r.ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (min, med, max) = match r.ratio() {
            Some(m) => (num(min), num(m), num(max)),
            None => ("-".into(), "-".into(), "-".into()),
        };
        lines.push(vec![
            r.scenario.clone(),
            r.metric.clone(),
            r.unit.clone(),
            r.posbridge.map_or("-".into(), num),
            r.baseline.map_or("-".into(), num),
            min,
            med,
            max,
            r.target.text(),
            r.status.text(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = w - c.chars().count();
                // Numbers right-aligned, text left-aligned.
                if (3..=7).contains(&i) && n > 0 {
                    format!("{}{c}", " ".repeat(pad))
                } else {
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    let notes: Vec<&Row> = rows.iter().filter(|r| !r.note.is_empty()).collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for r in notes {
            let _ = writeln!(out, "  [{}] {}: {}", r.scenario, r.metric, r.note);
        }
    }
    out
}

/// The machine a run was taken on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `nproc`.
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The 1-, 5- and 15-minute load averages at the start and at the end.
    pub load_start: String,
    /// Same, at the end.
    pub load_end: String,
}

impl Machine {
    /// What this machine is, now.
    pub fn probe() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let rustc = std::process::Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            rustc,
            load_start: load(),
            load_end: String::new(),
        }
    }
}

/// `/proc/loadavg`'s three averages.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The JSON report (`target/bench/report.json`).
#[derive(Debug, Serialize)]
pub struct Report {
    /// `full` or `smoke`.
    pub mode: String,
    /// Rounds per scenario.
    pub rounds: usize,
    /// The machine.
    pub machine: Machine,
    /// Seconds the run took.
    pub seconds: f64,
    /// The rows, as in the table.
    pub rows: Vec<Row>,
}
