//! `plan` over 10,000 services (13,001 resources) with 1% drift, measured by
//! divan: `cargo bench --bench plan` (release). `cargo test` runs it once.

#[path = "../tests/support/bench_estate.rs"]
#[allow(dead_code)] // the estate benchmark uses the rest of it
mod bench_estate;

use std::sync::OnceLock;

use ecs_operator::desired::Desired;
use ecs_operator::observed::Observed;
use ecs_operator::plan::{Action, plan};

fn fixture() -> &'static (Desired, Observed, jiff::Timestamp) {
    static FIXTURE: OnceLock<(Desired, Observed, jiff::Timestamp)> = OnceLock::new();
    FIXTURE.get_or_init(bench_estate::plan_fixture)
}

fn main() {
    let (d, observed, at) = fixture();
    let p = plan(d, observed, *at, &bench_estate::bench_options());
    let drifted = p.steps.iter().filter(|s| s.action.is_change()).count();
    assert_eq!((p.steps.len(), drifted), (13_001, 100));
    assert!(p.steps.iter().all(|s| s.action != Action::Blocked));
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn plan_13k_resources_1pc_drift(bencher: divan::Bencher) {
    let (d, observed, at) = fixture();
    let options = bench_estate::bench_options();
    bencher.bench(|| plan(d, observed, *at, &options));
}
