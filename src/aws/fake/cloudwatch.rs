//! In-memory CloudWatch: alarm configurations with tags, and metric data
//! points aggregated per period as GetMetricData does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Calls, error};
use crate::aws::cloudwatch::{
    AlarmConfig, CloudWatchApi, METRIC_DATA_POINTS, METRIC_DATA_QUERIES, MetricConfig, MetricQuery,
    ObservedAlarm, Series,
};
use crate::aws::{AwsError, ErrorKind};

#[derive(Debug, Default)]
struct CwState {
    alarms: BTreeMap<String, ObservedAlarm>,
    /// (namespace, name, dimensions) → raw data points.
    points: BTreeMap<MetricKey, Vec<(jiff::Timestamp, f64)>>,
    tags: BTreeMap<String, BTreeMap<String, String>>,
    calls: Calls,
}

#[derive(Debug, Default)]
pub struct FakeCloudWatch {
    state: Mutex<CwState>,
}

const CW: &str = "cloudwatch";

type MetricKey = (String, String, BTreeMap<String, String>);

fn metric_key(m: &MetricConfig) -> MetricKey {
    (m.namespace.clone(), m.name.clone(), m.dimensions.clone())
}

/// One statistic over the values of a period, as CloudWatch computes it
/// (percentiles by nearest rank).
fn statistic(stat: &str, values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    match stat {
        "Sum" => Some(values.iter().sum()),
        "SampleCount" => Some(n),
        "Average" => Some(values.iter().sum::<f64>() / n),
        "Minimum" => values.iter().copied().reduce(f64::min),
        "Maximum" => values.iter().copied().reduce(f64::max),
        p => {
            let pct: f64 = p.strip_prefix('p')?.parse().ok()?;
            values.sort_by(f64::total_cmp);
            let rank = ((pct / 100.0) * n).ceil().max(1.0) as usize;
            values.get(rank - 1).copied()
        }
    }
}

impl FakeCloudWatch {
    pub fn new() -> Self {
        FakeCloudWatch::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut CwState) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn alarm(&self, name: &str) -> Option<AlarmConfig> {
        self.with(|s| s.alarms.get(name).map(|a| a.config.clone()))
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.calls.counts.get(operation).copied().unwrap_or(0))
    }

    /// Adds raw data points to a metric, as PutMetricData would.
    pub fn put_points(&self, metric: &MetricConfig, points: &[(jiff::Timestamp, f64)]) {
        self.with(|s| {
            s.points
                .entry(metric_key(metric))
                .or_default()
                .extend_from_slice(points)
        });
    }

    /// Raw data points of a metric.
    pub fn points(&self, metric: &MetricConfig) -> Vec<(jiff::Timestamp, f64)> {
        self.with(|s| {
            s.points
                .get(&metric_key(metric))
                .cloned()
                .unwrap_or_default()
        })
    }

    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.with(|s| s.calls.failures.entry(operation).or_default().push(kind));
    }
}

impl CloudWatchApi for FakeCloudWatch {
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<ObservedAlarm>, AwsError> {
        self.with(|s| {
            s.calls.call(CW, "DescribeAlarms")?;
            if names.len() > 100 {
                return Err(error(
                    CW,
                    "DescribeAlarms",
                    ErrorKind::Invalid,
                    "at most 100 names",
                ));
            }
            Ok(names
                .iter()
                .filter_map(|n| s.alarms.get(n).cloned())
                .collect())
        })
    }

    async fn list_alarms(&self) -> Result<Vec<ObservedAlarm>, AwsError> {
        self.with(|s| {
            s.calls.call(CW, "DescribeAlarms")?;
            Ok(s.alarms.values().cloned().collect())
        })
    }

    async fn alarm_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.with(|s| {
            s.calls.call(CW, "ListTagsForResource")?;
            Ok(s.tags.get(arn).cloned().unwrap_or_default())
        })
    }

    async fn put_alarm(
        &self,
        config: &AlarmConfig,
        keep: Option<&ObservedAlarm>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(CW, "PutMetricAlarm")?;
            let arn = format!(
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
                config.name
            );
            let is_new = !s.alarms.contains_key(&config.name);
            s.alarms.insert(
                config.name.clone(),
                ObservedAlarm {
                    arn: arn.clone(),
                    config: config.clone(),
                    insufficient_data_actions: keep
                        .map(|k| k.insufficient_data_actions.clone())
                        .unwrap_or_default(),
                    actions_enabled: keep.is_none_or(|k| k.actions_enabled),
                    state: Some("OK".to_owned()),
                },
            );
            if is_new {
                s.tags.insert(arn, tags.clone());
            }
            Ok(())
        })
    }

    async fn tag_alarm(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(CW, "TagResource")?;
            s.tags
                .entry(arn.to_owned())
                .or_default()
                .extend(tags.clone());
            Ok(())
        })
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(CW, "DeleteAlarms")?;
            for n in names {
                s.alarms.remove(n);
            }
            Ok(())
        })
    }

    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<BTreeMap<String, Series>, AwsError> {
        self.with(|s| {
            s.calls.call(CW, "GetMetricData")?;
            let span = end.as_second() - start.as_second();
            let points: i64 = queries
                .iter()
                .map(|q| span / i64::from(q.metric.period.max(1)))
                .sum();
            if queries.len() > METRIC_DATA_QUERIES || points > METRIC_DATA_POINTS as i64 {
                return Err(error(
                    CW,
                    "GetMetricData",
                    ErrorKind::Invalid,
                    "more than 500 queries or 100,800 data points in one call",
                ));
            }
            let mut out = BTreeMap::new();
            for q in queries {
                let period = i64::from(q.metric.period.max(1));
                let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                for (t, v) in s.points.get(&metric_key(&q.metric)).into_iter().flatten() {
                    let (t, first) = (t.as_second(), start.as_second());
                    if t >= first && t < end.as_second() {
                        let bucket = first + (t - first) / period * period;
                        buckets.entry(bucket).or_default().push(*v);
                    }
                }
                // Buckets start at StartTime, as moto's and CloudWatch's do for aligned starts.
                let series: Series = buckets
                    .into_iter()
                    .filter_map(|(b, mut values)| {
                        let t = jiff::Timestamp::from_second(b).ok()?;
                        Some((t, statistic(&q.metric.stat, &mut values)?))
                    })
                    .collect();
                out.insert(q.id.clone(), series);
            }
            Ok(out)
        })
    }

    async fn put_metric(
        &self,
        metric: &MetricConfig,
        value: f64,
        at: jiff::Timestamp,
    ) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(CW, "PutMetricData")?;
            s.points
                .entry(metric_key(metric))
                .or_default()
                .push((at, value));
            Ok(())
        })
    }
}
