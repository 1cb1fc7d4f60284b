//! `plan` over 10,000 services (13,006 resources) with 1% drift, measured by
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
    assert_eq!((p.steps.len(), drifted), (13_006, 100));
    assert!(p.steps.iter().all(|s| s.action != Action::Blocked));
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn plan_13k_resources_1pc_drift(bencher: divan::Bencher) {
    let (d, observed, at) = fixture();
    let options = bench_estate::bench_options();
    bencher.bench(|| plan(d, observed, *at, &options));
}

/// The phases of `plan`, to see where its time goes.
mod phases {
    use ecs_operator::capacity;
    use ecs_operator::plan::ecs_index::EcsIndex;
    use ecs_operator::plan::{alarm, alert_channel, autoscaler, discovery, service};

    use super::{bench_estate, fixture};

    #[divan::bench(sample_count = 20)]
    fn capacities() -> Vec<capacity::Capacity> {
        let (d, _, at) = fixture();
        let evaluations = capacity::evaluate_schedules(d, *at);
        d.services
            .values()
            .map(|s| capacity::decide_with(d, s, &evaluations))
            .collect()
    }

    #[divan::bench(sample_count = 20)]
    fn services() -> Vec<ecs_operator::plan::Step> {
        let (d, observed, at) = fixture();
        let options = bench_estate::bench_options();
        let evaluations = capacity::evaluate_schedules(d, *at);
        let registries = discovery::registry_arns(d, observed);
        let ecs = EcsIndex::new(d, observed);
        let revisions = ecs_operator::plan::task_definition::plan_all(d, observed, &options).1;
        d.services
            .values()
            .map(|s| {
                let c = capacity::decide_with(d, s, &evaluations);
                let live = ecs.live.get(s.name.as_str()).copied();
                service::plan_service(s, live, &c, &registries, &revisions, observed, &options)
            })
            .collect()
    }

    #[divan::bench(sample_count = 20)]
    fn service_orphans() -> usize {
        let (d, observed, _) = fixture();
        service::orphans(&EcsIndex::new(d, observed), &bench_estate::bench_options()).len()
    }

    #[divan::bench(sample_count = 20)]
    fn autoscalers() -> usize {
        let (d, observed, at) = fixture();
        let options = bench_estate::bench_options();
        let evaluations = capacity::evaluate_schedules(d, *at);
        let ecs = EcsIndex::new(d, observed);
        let mut n = 0;
        for (name, a) in &d.autoscalers {
            let service = &a.doc.spec.service_ref;
            let c = d
                .services
                .get(service)
                .map(|s| capacity::decide_with(d, s, &evaluations));
            let live = ecs.live.get(service.as_str()).copied();
            let step =
                autoscaler::plan_autoscaler(name, a, d, c.as_ref(), live, observed, &options);
            n += step.ops.len();
        }
        n + autoscaler::orphans(d, observed, &options).len()
    }

    #[divan::bench(sample_count = 20)]
    fn discovery_and_channels() -> usize {
        let (d, observed, at) = fixture();
        let options = bench_estate::bench_options();
        discovery::plan_all(d, observed, *at, &options).len()
            + alert_channel::plan_all(d, observed, &options).len()
    }

    #[divan::bench(sample_count = 20)]
    fn alarms() -> usize {
        let (d, observed, _) = fixture();
        let topics = alert_channel::topic_arns(d, observed);
        alarm::plan_all(d, observed, &topics, &bench_estate::bench_options()).len()
    }
}
