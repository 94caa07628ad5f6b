//! Scenario 2 under criterion: a 20-line sale to each vendor's request bytes
//! (posbridge) against serializing the prebuilt wire value to the same bytes
//! (baseline). `cargo bench -p posbridge-bench --bench mapping`; `cargo xtask bench`
//! runs it and folds the medians into its table.
#![allow(
    clippy::expect_used,
    reason = "a benchmark that cannot set up has nothing to measure"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use posbridge_bench::mapping::{Case, vendors};

fn mapping(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    for v in vendors() {
        let case = rt.block_on(Case::new(&v)).expect("the mapping case");
        let mut group = c.benchmark_group(format!("mapping_{}", v.name()));
        group.bench_function("posbridge", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(case.posbridge().await.expect("mapped")) })
        });
        group.bench_function("baseline", |b| {
            b.iter(|| black_box(case.baseline().expect("serialized")))
        });
        group.finish();
    }
}

criterion_group!(benches, mapping);
criterion_main!(benches);
