//! A CloudWatch metric with its statistic and period, as alarms and SLOs read it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Cx;

/// One CloudWatch metric with its aggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metric {
    /// CloudWatch namespace, e.g. `AWS/ECS` or `AWS/ApplicationELB`.
    pub namespace: String,
    /// Metric name, e.g. `CPUUtilization`.
    pub name: String,
    /// Dimensions that identify the metric, at most 30.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// Aggregation of the data points; exclusive with `extendedStatistic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<Statistic>,
    /// A percentile `p0.0` to `p100`, e.g. `p95` or `p99.9`; exclusive with `statistic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    /// Seconds per data point: 10, 20, 30 or a multiple of 60; default 60
    /// (the resolution AWS's own service metrics have).
    #[serde(default = "default_period")]
    pub period: u32,
    /// Unit of the data points to read, e.g. `Percent` or `Milliseconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

fn default_period() -> u32 {
    60
}

/// CloudWatch statistics.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

impl Statistic {
    pub fn as_str(self) -> &'static str {
        match self {
            Statistic::SampleCount => "SampleCount",
            Statistic::Average => "Average",
            Statistic::Sum => "Sum",
            Statistic::Minimum => "Minimum",
            Statistic::Maximum => "Maximum",
        }
    }
}

/// Units CloudWatch accepts (`StandardUnit`).
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

impl Metric {
    /// The statistic as CloudWatch's `Stat` string: `Average`, `p99.9`, …
    pub fn stat(&self) -> &str {
        match (&self.statistic, &self.extended_statistic) {
            (Some(s), _) => s.as_str(),
            (None, Some(p)) => p,
            (None, None) => "",
        }
    }

    /// Checks the metric at `at` (e.g. `spec.metric`); shared with ServiceLevelObjective.
    pub fn validate(&self, cx: &mut Cx<'_>, at: &str) {
        if self.namespace.trim().is_empty() {
            cx.error(&format!("{at}.namespace"), "must not be empty");
        }
        if self.name.trim().is_empty() {
            cx.error(&format!("{at}.name"), "must not be empty");
        }
        cx.range(&format!("{at}.dimensions"), self.dimensions.len(), 0, 30);
        cx.exactly_one(
            at,
            ("statistic", self.statistic.is_some()),
            ("extendedStatistic", self.extended_statistic.is_some()),
        );
        if let Some(p) = &self.extended_statistic
            && !valid_percentile(p)
        {
            cx.error(
                &format!("{at}.extendedStatistic"),
                format!(
                    "`{p}` is not a percentile: expected `p0.0` to `p100`, e.g. `p95` or `p99.9`"
                ),
            );
        }
        if !valid_period(self.period) {
            cx.error(
                &format!("{at}.period"),
                format!(
                    "{} is not a valid period: expected 10, 20, 30 or a multiple of 60 seconds",
                    self.period
                ),
            );
        }
        if let Some(unit) = &self.unit
            && !UNITS.contains(&unit.as_str())
        {
            cx.error(
                &format!("{at}.unit"),
                format!(
                    "`{unit}` is not a CloudWatch unit: expected one of {}",
                    UNITS.join(", ")
                ),
            );
        }
    }
}

/// 10, 20 and 30 seconds (high resolution) or whole minutes.
pub fn valid_period(period: u32) -> bool {
    matches!(period, 10 | 20 | 30) || (period > 0 && period.is_multiple_of(60))
}

/// `p` followed by a number from 0 to 100, e.g. `p95`, `p99.9`, `p0.0`.
pub fn valid_percentile(p: &str) -> bool {
    let Some(n) = p.strip_prefix('p') else {
        return false;
    };
    let (int, frac) = n.split_once('.').unwrap_or((n, "0"));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    digits(int) && digits(frac) && n.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_run_from_p0_to_p100() {
        for p in ["p95", "p99.9", "p0.0", "p100"] {
            assert!(valid_percentile(p), "{p}");
        }
        for p in ["95", "p", "p100.1", "p9x", "p.5", "p5.", "tm99"] {
            assert!(!valid_percentile(p), "{p}");
        }
    }

    #[test]
    fn periods_are_high_resolution_or_whole_minutes() {
        for ok in [10, 20, 30, 60, 300, 86_400] {
            assert!(valid_period(ok), "{ok}");
        }
        for bad in [0, 1, 15, 45, 90] {
            assert!(!valid_period(bad), "{bad}");
        }
    }

    #[test]
    fn stat_is_the_statistic_or_the_percentile() {
        let mut m: Metric =
            serde_saphyr::from_str("{namespace: N, name: M, statistic: SampleCount, period: 60}")
                .expect("valid metric");
        assert_eq!(m.stat(), "SampleCount");
        (m.statistic, m.extended_statistic) = (None, Some("p99.9".into()));
        assert_eq!(m.stat(), "p99.9");
    }
}
