//! `Alarm`: one CloudWatch metric alarm (SPEC §2.5).

mod metric;

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::alert_channel::Severity;
use super::{Cx, Kind, Reference, Spec};

pub use metric::{Metric, Statistic, UNITS, valid_percentile, valid_period};

/// Longest span an alarm may evaluate: `period * evaluationPeriods`, in seconds.
pub const MAX_EVALUATION_SECONDS: u64 = 7 * 86_400;
/// Most metrics (not expressions) one metric math alarm may read.
pub const MAX_MATH_METRICS: usize = 10;

/// A CloudWatch metric alarm whose actions publish to AlertChannel topics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmSpec {
    /// CloudWatch alarm name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<String>,
    /// Alarm description, up to 1024 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A `Service` document; fills the `ClusterName`/`ServiceName` dimensions of
    /// `AWS/ECS` and `ECS/ContainerInsights` metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ref: Option<String>,
    /// The metric to watch; exclusive with `metrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Metric math: metrics and expressions, exactly one of which returns data; exclusive with `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<MetricQuery>>,
    /// How the value compares to `threshold` to be in ALARM.
    pub comparison: Comparison,
    /// The value compared against.
    pub threshold: f64,
    /// Number of most recent periods evaluated; 1 or more.
    pub evaluation_periods: u32,
    /// Breaching periods among `evaluationPeriods` that raise the alarm; defaults to `evaluationPeriods`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    /// How periods without data count; default `missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
    /// Severity of the alarm's notifications; default `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// AlertChannel names; their topics become the alarm and OK actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Vec<String>>,
}

/// One entry of a metric math alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricQuery {
    /// Short name used in expressions: starts with a lowercase letter, then letters, digits and `_`.
    pub id: String,
    /// A metric to read; exclusive with `expression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// A metric math expression over other ids, e.g. `errors / requests * 100`; exclusive with `metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Whether this entry is the value the alarm compares. Exactly one entry returns data;
    /// defaults to true when the list has a single entry and to false otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    #[default]
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl TreatMissingData {
    pub fn as_str(self) -> &'static str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::NotBreaching => "notBreaching",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::Ignore => "ignore",
        }
    }
}

impl MetricQuery {
    /// Whether this entry returns data, given the number of entries in the list.
    pub fn returns_data(&self, entries: usize) -> bool {
        self.return_data.unwrap_or(entries == 1)
    }
}

impl AlarmSpec {
    pub fn alarm_name<'a>(&'a self, doc_name: &'a str) -> &'a str {
        self.alarm_name.as_deref().unwrap_or(doc_name)
    }

    pub fn datapoints_to_alarm(&self) -> u32 {
        self.datapoints_to_alarm.unwrap_or(self.evaluation_periods)
    }

    pub fn treat_missing_data(&self) -> TreatMissingData {
        self.treat_missing_data.unwrap_or_default()
    }

    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or(Severity::Page)
    }

    pub fn notify(&self) -> &[String] {
        self.notify.as_deref().unwrap_or_default()
    }

    /// Every metric the alarm reads: `metric`, or the metrics of `metrics`.
    pub fn metrics_read(&self) -> Vec<&Metric> {
        let math = self
            .metrics
            .iter()
            .flatten()
            .filter_map(|q| q.metric.as_ref());
        self.metric.iter().chain(math).collect()
    }

    fn validate_math(&self, cx: &mut Cx<'_>, queries: &[MetricQuery]) {
        if queries.is_empty() {
            cx.error(
                "spec.metrics",
                "must list at least one metric or expression",
            );
            return;
        }
        let mut ids = BTreeSet::new();
        for (i, q) in queries.iter().enumerate() {
            let at = format!("spec.metrics[{i}]");
            if !valid_query_id(&q.id) {
                cx.error(
                    &format!("{at}.id"),
                    format!("`{}` is not a valid id: start with a lowercase letter, then letters, digits and `_`", q.id),
                );
            } else if !ids.insert(q.id.as_str()) {
                cx.error(
                    &format!("{at}.id"),
                    format!("id `{}` is used twice: ids must be unique", q.id),
                );
            }
            cx.exactly_one(
                &at,
                ("metric", q.metric.is_some()),
                ("expression", q.expression.is_some()),
            );
            if let Some(m) = &q.metric {
                m.validate(cx, &format!("{at}.metric"));
            }
            if let Some(e) = &q.expression {
                if e.trim().is_empty() {
                    cx.error(&format!("{at}.expression"), "must not be empty");
                }
                cx.range(&format!("{at}.expression"), e.chars().count(), 0, 1024);
            }
        }
        let metrics = queries.iter().filter(|q| q.metric.is_some()).count();
        if metrics > MAX_MATH_METRICS {
            cx.error(
                "spec.metrics",
                format!(
                    "reads {metrics} metrics: a metric math alarm reads at most {MAX_MATH_METRICS}"
                ),
            );
        }
        let returning = queries
            .iter()
            .filter(|q| q.returns_data(queries.len()))
            .count();
        if returning != 1 {
            cx.error(
                "spec.metrics",
                format!("exactly one entry must have `returnData: true`, found {returning}"),
            );
        }
    }
}

fn valid_query_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.len() <= 255
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Spec for AlarmSpec {
    const KIND: Kind = Kind::Alarm;

    fn validate(&self, cx: &mut Cx<'_>) {
        if let Some(name) = &self.alarm_name
            && (name.trim().is_empty()
                || name.chars().count() > 255
                || name.chars().any(char::is_control))
        {
            cx.error(
                "spec.alarmName",
                format!("`{name}` is not a valid alarm name: 1 to 255 printable characters"),
            );
        }
        if let Some(d) = &self.description {
            cx.range("spec.description", d.chars().count(), 0, 1024);
        }
        cx.exactly_one(
            "spec",
            ("metric", self.metric.is_some()),
            ("metrics", self.metrics.is_some()),
        );
        if let Some(m) = &self.metric {
            m.validate(cx, "spec.metric");
        }
        if let Some(queries) = &self.metrics {
            self.validate_math(cx, queries);
        }
        if !self.threshold.is_finite() {
            cx.error("spec.threshold", "must be a finite number");
        }
        if self.evaluation_periods == 0 {
            cx.error(
                "spec.evaluationPeriods",
                "0 is out of range: expected 1 or more",
            );
        } else if let Some(n) = self.datapoints_to_alarm {
            cx.range("spec.datapointsToAlarm", n, 1, self.evaluation_periods);
        }
        let periods = self.metrics_read().into_iter().map(|m| m.period);
        let period = u64::from(periods.filter(|p| valid_period(*p)).max().unwrap_or(0));
        let span = period * u64::from(self.evaluation_periods);
        if span > MAX_EVALUATION_SECONDS {
            let n = self.evaluation_periods;
            cx.error(
                "spec.evaluationPeriods",
                format!("{n} periods of {period}s span {span}s: an alarm evaluates at most 7 days ({MAX_EVALUATION_SECONDS}s)"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, channel) in self.notify().iter().enumerate() {
            if !seen.insert(channel) {
                cx.error(
                    &format!("spec.notify[{i}]"),
                    format!("AlertChannel `{channel}` is listed twice"),
                );
            }
        }
    }

    fn references(&self) -> Vec<Reference> {
        let service = self.service_ref.iter().map(|name| Reference {
            field: "spec.serviceRef".to_owned(),
            kind: Kind::Service,
            name: name.clone(),
        });
        let channels = self.notify().iter().enumerate().map(|(i, name)| Reference {
            field: format!("spec.notify[{i}]"),
            kind: Kind::AlertChannel,
            name: name.clone(),
        });
        service.chain(channels).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{errors, references, spec};

    const BASE: &str =
        "comparison: GreaterThanOrEqualToThreshold\nthreshold: 80\nevaluationPeriods: 3\n";

    fn alarm(extra: &str) -> Vec<String> {
        errors::<AlarmSpec>(&format!("{BASE}{extra}"))
    }

    #[test]
    fn alarm_on_cpu_is_valid_and_applies_defaults() {
        let yaml = format!(
            "{BASE}serviceRef: web\nnotify: [oncall, team]\nmetric: {{namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 60}}\n"
        );
        assert_eq!(errors::<AlarmSpec>(&yaml), Vec::<String>::new());
        let a = spec::<AlarmSpec>(&yaml);
        assert_eq!(a.datapoints_to_alarm(), 3);
        assert_eq!(a.treat_missing_data(), TreatMissingData::Missing);
        assert_eq!(a.severity(), Severity::Page);
        assert_eq!(a.alarm_name("cpu-high"), "cpu-high");
        assert_eq!(
            references(&a),
            [
                "spec.serviceRef -> Service/web",
                "spec.notify[0] -> AlertChannel/oncall",
                "spec.notify[1] -> AlertChannel/team",
            ]
        );
    }

    #[test]
    fn alarm_requires_exactly_one_of_metric_and_metrics() {
        assert_eq!(
            alarm(""),
            ["spec: one of `metric` or `metrics` is required"]
        );
    }

    #[test]
    fn alarm_rejects_both_statistics() {
        let e = alarm(
            "metric: {namespace: N, name: M, statistic: Sum, extendedStatistic: p95, period: 60}\n",
        );
        assert_eq!(
            e,
            ["spec.metric.extendedStatistic: set only one of `statistic` and `extendedStatistic`"]
        );
    }

    #[test]
    fn alarm_rejects_periods_that_are_not_whole_minutes() {
        let e = alarm("metric: {namespace: N, name: M, statistic: Sum, period: 45}\n");
        assert_eq!(
            e,
            [
                "spec.metric.period: 45 is not a valid period: expected 10, 20, 30 or a multiple of 60 seconds"
            ]
        );
    }

    #[test]
    fn alarm_rejects_evaluation_longer_than_seven_days() {
        let e = errors::<AlarmSpec>(
            "comparison: LessThanThreshold\nthreshold: 1\nevaluationPeriods: 8\nmetric: {namespace: N, name: M, statistic: Sum, period: 86400}\n",
        );
        assert_eq!(
            e,
            [
                "spec.evaluationPeriods: 8 periods of 86400s span 691200s: an alarm evaluates at most 7 days (604800s)"
            ]
        );
    }

    #[test]
    fn alarm_rejects_datapoints_above_evaluation_periods() {
        let e = alarm(
            "datapointsToAlarm: 4\nmetric: {namespace: N, name: M, statistic: Sum, period: 60}\n",
        );
        assert_eq!(
            e,
            ["spec.datapointsToAlarm: 4 is out of range: expected 1 to 3"]
        );
    }

    #[test]
    fn alarm_metric_math_needs_one_returned_entry_and_unique_ids() {
        let e = alarm(
            "metrics:\n  - {id: errors, metric: {namespace: N, name: E, statistic: Sum, period: 60}}\n  - {id: errors, expression: 'errors * 100'}\n  - {id: Rate, metric: {namespace: N, name: R, statistic: Sum, period: 60}, expression: x}\n",
        );
        assert_eq!(
            e,
            [
                "spec.metrics[1].id: id `errors` is used twice: ids must be unique",
                "spec.metrics[2].id: `Rate` is not a valid id: start with a lowercase letter, then letters, digits and `_`",
                "spec.metrics[2].expression: set only one of `metric` and `expression`",
                "spec.metrics: exactly one entry must have `returnData: true`, found 0",
            ]
        );
    }

    #[test]
    fn alarm_single_math_entry_returns_data_by_default() {
        let e = alarm(
            "metrics:\n  - {id: m1, metric: {namespace: N, name: M, extendedStatistic: p99, period: 60}}\n",
        );
        assert_eq!(e, Vec::<String>::new());
    }

    #[test]
    fn alarm_rejects_duplicate_notify_entries() {
        let e = alarm(
            "notify: [oncall, oncall]\nmetric: {namespace: N, name: M, statistic: Sum, period: 60}\n",
        );
        assert_eq!(e, ["spec.notify[1]: AlertChannel `oncall` is listed twice"]);
    }
}
