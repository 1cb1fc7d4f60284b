//! Evaluation on synthetic series: burn rates per window, downtime, missing
//! data, failed reads, threshold indicators.

use jiff::Timestamp;

use super::query::{Reads, Resolution, Role, plan_reads};
use super::read::Readings;
use super::*;
use crate::load::Source;

pub(super) const SERVICE: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec: {cluster: prod, taskDefinition: web}\n";

/// An availability SLO on `web` (bad 5xx over requests, 1-minute sums).
pub(super) fn availability(name: &str, objective: f64) -> String {
    format!(
        "---\napiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {{name: {name}}}\nspec:\n  serviceRef: web\n  objective: {objective}\n  indicator:\n    ratio:\n      bad: {{namespace: App, name: Errors-{name}, statistic: Sum, period: 60}}\n      total: {{namespace: App, name: Requests-{name}, statistic: Sum, period: 60}}\n"
    )
}

pub(super) fn desired(yaml: &str) -> Desired {
    let source = Source {
        files: vec![("slo.yaml".to_owned(), yaml.to_owned())],
        revision: "test".to_owned(),
    };
    Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
}

pub(super) fn at(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

/// Readings with a value in every period of every query: `value(role, period start, period)`.
fn readings(reads: &Reads, value: impl Fn(Role, Timestamp, i64) -> Option<f64>) -> Readings {
    let mut r = Readings::default();
    for ((_, res, role), id) in &reads.ids {
        let range = reads.ranges[res];
        let period = i64::from(reads.periods[id]);
        let mut series = Vec::new();
        let mut t = range.start.as_second();
        while t < range.end.as_second() {
            let start = Timestamp::from_second(t).expect("valid");
            if let Some(v) = value(*role, start, period) {
                series.push((start, v));
            }
            t += period;
        }
        r.series.insert(id.clone(), series);
    }
    r
}

const NOW: &str = "2026-12-01T12:00:30Z";

/// 100 requests a minute; half fail during the last `bad_minutes` minutes.
fn outage(bad_minutes: i64) -> impl Fn(Role, Timestamp, i64) -> Option<f64> {
    let since = at(NOW).as_second() - bad_minutes * 60;
    move |role, t, period| {
        let minutes = period / 60;
        let start = t.as_second();
        let bad_in = (0..minutes)
            .filter(|m| start + m * 60 >= since && start + m * 60 <= at(NOW).as_second())
            .count() as f64;
        match role {
            Role::Total => Some(100.0 * minutes as f64),
            Role::Bad if bad_in > 0.0 => Some(50.0 * bad_in),
            _ => None,
        }
    }
}

fn rate(e: &Evaluation, window: &str) -> Option<f64> {
    let w: Duration = window.parse().expect("duration");
    e.burn_rates[&w]
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 0.01 * b.max(1.0))
}

#[test]
fn a_fast_burn_holds_both_page_rules_and_the_ticket_rule() {
    let d = desired(&format!("{SERVICE}{}", availability("avail", 99.9)));
    let now = at(NOW);
    let reads = plan_reads(&d, now);
    let e = &evaluate(&d, &reads, &readings(&reads, outage(10)), now)[0];
    // 10 bad minutes at 50%: 500 of 6,000 requests in the last hour.
    assert!(close(rate(e, "1h"), 500.0 / 6000.0 / 0.001), "{e:#?}");
    // The last 5 periods include the current, partial one: all bad.
    assert!(close(rate(e, "5m"), 500.0), "{e:#?}");
    assert!(close(rate(e, "30m"), 500.0 / 3000.0 / 0.001), "{e:#?}");
    assert_eq!(e.condition(BurnSeverity::Page), Some(true));
    assert_eq!(e.condition(BurnSeverity::Ticket), Some(true));
    let worst = e.worst_rule(BurnSeverity::Page).expect("a page rule holds");
    assert_eq!(worst.long_window.to_string(), "1h");
    let budget = e.budget_remaining.expect("30 days of traffic");
    assert!(budget < 1.0 && budget > 0.8, "{budget}");
}

#[test]
fn no_traffic_has_no_burn_rate_and_fires_nothing() {
    let d = desired(&format!("{SERVICE}{}", availability("avail", 99.9)));
    let now = at(NOW);
    let reads = plan_reads(&d, now);
    let e = &evaluate(&d, &reads, &Readings::default(), now)[0];
    assert!(e.burn_rates.values().all(Option::is_none), "{e:#?}");
    assert_eq!(e.budget_remaining, None);
    assert_eq!(e.condition(BurnSeverity::Page), Some(false));
    assert_eq!(e.error, None);
}

#[test]
fn a_failed_read_leaves_the_slo_unevaluated() {
    let d = desired(&format!("{SERVICE}{}", availability("avail", 99.9)));
    let now = at(NOW);
    let reads = plan_reads(&d, now);
    let mut r = readings(&reads, outage(10));
    let id = reads.ids[&("avail".to_owned(), Resolution::Fine, Role::Bad)].clone();
    r.failed
        .insert(id, "cloudwatch:GetMetricData: Throttling".to_owned());
    let e = &evaluate(&d, &reads, &r, now)[0];
    assert_eq!(e.condition(BurnSeverity::Page), None);
    assert!(e.error.as_deref().is_some_and(|m| m.contains("Throttling")));
}

#[test]
fn planned_downtime_burns_no_budget() {
    let schedule = "---\napiVersion: ecs-operator/v1alpha1\nkind: Schedule\nmetadata: {name: hours}\nspec:\n  serviceRefs: [web]\n  timezone: UTC\n  activeWindows: [{days: [Mon-Fri], start: \"08:00\", end: \"11:00\"}]\n";
    let d = desired(&format!(
        "{SERVICE}{}{schedule}",
        availability("avail", 99.9)
    ));
    let now = at(NOW);
    let reads = plan_reads(&d, now);
    // Every request of the last hour failed, but the service was scheduled off since 11:00.
    let e = &evaluate(&d, &reads, &readings(&reads, outage(60)), now)[0];
    assert_eq!(rate(e, "1h"), None, "{e:#?}");
    assert_eq!(rate(e, "5m"), None);
    assert_eq!(e.condition(BurnSeverity::Page), Some(false));
    // The 6h window sees the active hours 08:00-11:00 only: no errors then.
    assert_eq!(rate(e, "6h"), Some(0.0));
}

#[test]
fn a_threshold_indicator_counts_the_periods_above_max() {
    let slo = "---\napiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: latency}\nspec:\n  objective: 99\n  indicator:\n    threshold:\n      metric: {namespace: AWS/ApplicationELB, name: TargetResponseTime, extendedStatistic: p95, period: 60}\n      max: 0.5\n";
    let d = desired(&format!("{SERVICE}{slo}"));
    let now = at(NOW);
    let reads = plan_reads(&d, now);
    let since = now.as_second() - 10 * 60;
    let slow = readings(&reads, |_, t, _| {
        Some(if t.as_second() >= since { 0.9 } else { 0.2 })
    });
    let e = &evaluate(&d, &reads, &slow, now)[0];
    // 10 of the last 60 one-minute periods (the current one included) were slow.
    assert!(close(rate(e, "1h"), 10.0 / 60.0 / 0.01), "{e:#?}");
    assert!(close(rate(e, "5m"), 100.0), "{e:#?}");
    assert_eq!(e.condition(BurnSeverity::Page), Some(true));
}
