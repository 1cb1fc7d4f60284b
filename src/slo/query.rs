//! Which metric data the SLOs need, packed into as few GetMetricData calls as
//! the limits allow (500 queries, 100,800 data points a call). Pure.
//!
//! One call shares one time range, and 30 days at one-minute resolution is
//! 43,200 points a metric, so reads use two ranges: *fine* (the last 6 hours
//! at each metric's period, at least 60 s) for windows up to 6 h, and *coarse*
//! (the longest window, in hours) for the rest. Ratio metrics are sums, so an
//! hour's sum is exact; threshold metrics keep 5-minute periods in the coarse
//! range (CloudWatch keeps one-minute data 15 days), 1 h beyond 63 days.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::aws::cloudwatch::{METRIC_DATA_POINTS, METRIC_DATA_QUERIES, MetricConfig, MetricQuery};
use crate::desired::Desired;
use crate::model::alarm::Metric;
use crate::model::slo::SloSpec;

/// Windows up to this long are read at the metric's own period.
pub const FINE_SPAN: i64 = 6 * 3600;
const MINUTE: i64 = 60;
const HOUR: i64 = 3600;

/// The two time ranges of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    Fine,
    Coarse,
}

/// `[start, end)` of one resolution; `end` is past `now`, so the current
/// (partial) period is read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// What an indicator metric is in its SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Bad,
    Good,
    Total,
    Value,
}

impl Role {
    fn key(self) -> &'static str {
        match self {
            Role::Bad => "bad",
            Role::Good => "good",
            Role::Total => "total",
            Role::Value => "value",
        }
    }
}

/// One GetMetricData call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub resolution: Resolution,
    pub range: Range,
    pub queries: Vec<MetricQuery>,
}

/// Every read of one evaluation, and where each SLO's series are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reads {
    pub calls: Vec<Call>,
    pub ranges: BTreeMap<Resolution, Range>,
    /// (SLO, resolution, role) → query id.
    pub ids: BTreeMap<(String, Resolution, Role), String>,
    /// Query id → period in seconds.
    pub periods: BTreeMap<String, u32>,
}

/// Which resolution a window of `secs` is computed at.
pub fn resolution_of(secs: i64) -> Resolution {
    if secs <= FINE_SPAN {
        Resolution::Fine
    } else {
        Resolution::Coarse
    }
}

/// Every window an SLO needs: its rules' windows and the objective's window.
pub fn windows(spec: &SloSpec) -> Vec<i64> {
    let mut w: Vec<i64> = spec
        .burn_rates()
        .iter()
        .flat_map(|r| [r.long_window, r.short_window])
        .chain([spec.window()])
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

fn roles(spec: &SloSpec) -> Vec<(Role, &Metric)> {
    let ind = &spec.indicator;
    let mut out = Vec::new();
    if let Some(r) = &ind.ratio {
        out.extend(r.bad.as_ref().map(|m| (Role::Bad, m)));
        out.extend(r.good.as_ref().map(|m| (Role::Good, m)));
        out.push((Role::Total, &r.total));
    }
    if let Some(t) = &ind.threshold {
        out.push((Role::Value, &t.metric));
    }
    out
}

fn ceil_to(secs: i64, step: i64) -> i64 {
    secs.div_euclid(step) * step + if secs.rem_euclid(step) == 0 { 0 } else { step }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The period a metric is read at in `resolution`, over a range of `span` seconds.
fn period(metric: &Metric, role: Role, resolution: Resolution, span: i64) -> u32 {
    let fine = metric.period.max(60);
    match (resolution, role) {
        (Resolution::Fine, _) => fine,
        (Resolution::Coarse, Role::Value) if span <= 63 * 86_400 => fine.max(300),
        (Resolution::Coarse, _) => fine.max(3600),
    }
}

/// The reads the SLOs of `desired` need at `now`.
pub fn plan_reads(desired: &Desired, now: Timestamp) -> Reads {
    let mut reads = Reads::default();
    let mut span: BTreeMap<Resolution, i64> = BTreeMap::new();
    for slo in desired.slos.values() {
        for w in windows(&slo.doc.spec) {
            let s = span.entry(resolution_of(w)).or_default();
            *s = (*s).max(w);
        }
    }
    let now = now.as_second();
    for (&res, &longest) in &span {
        let step = if res == Resolution::Fine {
            MINUTE
        } else {
            HOUR
        };
        // The current period is included: `end` is the next boundary.
        let end = now.div_euclid(step) * step + step;
        let span = ceil_to(longest, HOUR);
        reads.ranges.insert(
            res,
            Range {
                start: at(end - span),
                end: at(end),
            },
        );
    }
    let mut pending: BTreeMap<Resolution, Vec<(MetricQuery, u64)>> = BTreeMap::new();
    for (i, (name, slo)) in desired.slos.iter().enumerate() {
        let spec = &slo.doc.spec;
        let service = spec
            .service_ref
            .as_ref()
            .and_then(|s| desired.services.get(s))
            .map(|s| (s.cluster.as_str(), s.service_name.as_str()));
        let needed: Vec<Resolution> = {
            let mut r: Vec<Resolution> = windows(spec).into_iter().map(resolution_of).collect();
            r.dedup();
            r
        };
        for res in needed {
            let Some(range) = reads.ranges.get(&res) else {
                continue;
            };
            let span = range.end.as_second() - range.start.as_second();
            for (role, m) in roles(spec) {
                let id = format!(
                    "{}{i}_{}",
                    if res == Resolution::Fine { "f" } else { "c" },
                    role.key()
                );
                let p = period(m, role, res, span);
                let metric = MetricConfig {
                    period: p,
                    ..crate::plan::alarm::metric(m, service)
                };
                let points = u64::try_from(span / i64::from(p)).unwrap_or(u64::MAX);
                reads.ids.insert((name.clone(), res, role), id.clone());
                reads.periods.insert(id.clone(), p);
                pending
                    .entry(res)
                    .or_default()
                    .push((MetricQuery { id, metric }, points));
            }
        }
    }
    for (res, queries) in pending {
        let range = reads.ranges[&res];
        for batch in pack(queries) {
            reads.calls.push(Call {
                resolution: res,
                range,
                queries: batch,
            });
        }
    }
    reads
}

/// Greedy packing in order: a call takes queries while both limits allow.
fn pack(queries: Vec<(MetricQuery, u64)>) -> Vec<Vec<MetricQuery>> {
    let mut calls: Vec<Vec<MetricQuery>> = Vec::new();
    let mut points = 0;
    for (q, n) in queries {
        let full = calls
            .last()
            .is_none_or(|c| c.len() >= METRIC_DATA_QUERIES || points + n > METRIC_DATA_POINTS);
        if full {
            calls.push(Vec::new());
            points = 0;
        }
        points += n;
        calls.last_mut().expect("a call was just pushed").push(q);
    }
    calls
}

/// The fewest calls the limits allow for `queries` queries of `points` points each.
pub fn minimum_calls(queries: u64, points: u64) -> u64 {
    if queries == 0 {
        return 0;
    }
    let per_call = (METRIC_DATA_POINTS / points.max(1)).clamp(1, METRIC_DATA_QUERIES as u64);
    queries.div_ceil(per_call)
}

#[cfg(test)]
mod tests;
