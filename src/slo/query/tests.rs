use super::*;
use crate::slo::tests::{SERVICE, at, availability, desired};

fn many(n: usize) -> Desired {
    let docs: String = (0..n)
        .map(|i| availability(&format!("slo-{i}"), 99.9))
        .collect();
    desired(&format!("{SERVICE}{docs}"))
}

fn calls_of(reads: &Reads, res: Resolution) -> Vec<&Call> {
    reads.calls.iter().filter(|c| c.resolution == res).collect()
}

#[test]
fn twenty_slos_are_read_in_one_call_per_resolution() {
    let reads = plan_reads(&many(20), at("2026-12-01T12:00:30Z"));
    let fine = calls_of(&reads, Resolution::Fine);
    let coarse = calls_of(&reads, Resolution::Coarse);
    assert_eq!((fine.len(), coarse.len()), (1, 1), "{:#?}", reads.ranges);
    assert_eq!(fine[0].queries.len(), 40);
    assert_eq!(
        reads.calls.len() as u64,
        minimum_calls(40, 360) + minimum_calls(40, 720)
    );
}

#[test]
fn calls_are_packed_to_the_data_point_limit_and_no_further() {
    let reads = plan_reads(&many(300), at("2026-12-01T12:00:30Z"));
    for c in &reads.calls {
        let span = c.range.end.as_second() - c.range.start.as_second();
        let points: i64 = c
            .queries
            .iter()
            .map(|q| span / i64::from(q.metric.period))
            .sum();
        assert!(c.queries.len() <= METRIC_DATA_QUERIES);
        assert!(points as u64 <= METRIC_DATA_POINTS, "{points}");
    }
    // 600 queries: 360 points each (6 h of minutes), 720 each (30 days of hours).
    let expected = minimum_calls(600, 360) + minimum_calls(600, 720);
    assert_eq!(expected, 3 + 5);
    assert_eq!(reads.calls.len() as u64, expected);
}

#[test]
fn the_fine_range_ends_after_the_current_minute_and_the_coarse_after_the_current_hour() {
    let reads = plan_reads(&many(1), at("2026-12-01T12:34:56Z"));
    let fine = reads.ranges[&Resolution::Fine];
    assert_eq!(
        (fine.start, fine.end),
        (at("2026-12-01T06:35:00Z"), at("2026-12-01T12:35:00Z"))
    );
    let coarse = reads.ranges[&Resolution::Coarse];
    assert_eq!(
        (coarse.start, coarse.end),
        (at("2026-11-01T13:00:00Z"), at("2026-12-01T13:00:00Z"))
    );
}

#[test]
fn threshold_metrics_keep_five_minute_periods_in_the_coarse_range() {
    let slo = "---\napiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: latency}\nspec:\n  objective: 99\n  indicator:\n    threshold:\n      metric: {namespace: AWS/ApplicationELB, name: TargetResponseTime, extendedStatistic: p95, period: 60}\n      max: 0.5\n";
    let reads = plan_reads(
        &desired(&format!("{SERVICE}{slo}")),
        at("2026-12-01T12:00:00Z"),
    );
    let coarse = calls_of(&reads, Resolution::Coarse);
    assert_eq!(coarse[0].queries[0].metric.period, 300);
    assert_eq!(coarse[0].queries[0].metric.stat, "p95");
    let fine = calls_of(&reads, Resolution::Fine);
    assert_eq!(fine[0].queries[0].metric.period, 60);
}

#[test]
fn no_slos_no_calls() {
    let reads = plan_reads(&desired(SERVICE), at("2026-12-01T12:00:00Z"));
    assert!(reads.calls.is_empty());
    assert_eq!(minimum_calls(0, 360), 0);
}
