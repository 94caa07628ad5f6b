//! Scenario 2, mapping and validation (see `posbridge_bench::mapping`): µs per sale,
//! posbridge against serializing the prebuilt wire value, alternating batches; and
//! criterion's medians for the same two functions when `cargo xtask bench` ran them.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use posbridge_bench::mapping::{Case, vendors};

use super::{Ctx, baseline_first};
use crate::report::{Row, Target};

const SCENARIO: &str = "2 mapping";

pub async fn run(ctx: &Ctx<'_>) -> Result<Vec<Row>> {
    let o = ctx.options;
    let iterations = o.pick(3_000, 200);
    let mut rows = Vec::new();
    for v in vendors() {
        let case = Case::new(&v).await?;
        let vendor = case.vendor;
        // Warm.
        for _ in 0..iterations / 4 {
            black_box(case.posbridge().await?);
            black_box(case.baseline()?);
        }
        let mut rounds = Vec::new();
        for round in 0..o.rounds {
            let (pb, base) = if baseline_first(round) {
                let b = time_baseline(&case, iterations)?;
                (time_posbridge(&case, iterations).await?, b)
            } else {
                let p = time_posbridge(&case, iterations).await?;
                (p, time_baseline(&case, iterations)?)
            };
            rounds.push((pb, base));
        }
        let mut row = Row::paired(
            SCENARIO,
            &format!("{vendor} sale → {} bytes", case.encoding),
            "µs/sale",
            &rounds,
            Target::AtMost(2.0),
            o.smoke,
        )
        .note(format!(
            "{} B body; {iterations} sales per side per round",
            case.body.len()
        ));
        if let Some(dir) = &o.criterion {
            row = row.note(criterion_note(dir, vendor));
        }
        rows.push(row);
    }
    Ok(rows)
}

async fn time_posbridge(case: &Case, n: usize) -> Result<f64> {
    let t = Instant::now();
    for _ in 0..n {
        black_box(case.posbridge().await?);
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / n as f64)
}

fn time_baseline(case: &Case, n: usize) -> Result<f64> {
    let t = Instant::now();
    for _ in 0..n {
        black_box(case.baseline()?);
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// criterion's median estimate of `mapping_<vendor>/<function>`, in µs.
fn criterion_median(dir: &Path, vendor: &str, function: &str) -> Option<f64> {
    let path = dir
        .join(format!("mapping_{vendor}"))
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64().map(|ns| ns / 1000.0)
}

fn criterion_note(dir: &Path, vendor: &str) -> String {
    match (
        criterion_median(dir, vendor, "posbridge"),
        criterion_median(dir, vendor, "baseline"),
    ) {
        (Some(p), Some(b)) => format!("criterion medians {p:.2} vs {b:.2} µs = {:.2}x", p / b),
        _ => "criterion: no estimates (not run)".into(),
    }
}
