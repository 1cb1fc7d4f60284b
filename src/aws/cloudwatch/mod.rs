//! CloudWatch: metric alarms (the reconciler), metric data (SLO reads) and the
//! operator's heartbeat metric; the trait they use.

mod metric_data;
mod sdk;

pub use sdk::SdkCloudWatch;

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use super::AwsError;

/// DescribeAlarms takes at most 100 names.
pub const DESCRIBE_ALARMS_BATCH: usize = 100;
/// GetMetricData takes at most 500 queries a call.
pub const METRIC_DATA_QUERIES: usize = 500;
/// GetMetricData returns at most 100,800 data points a call (then paginates).
pub const METRIC_DATA_POINTS: u64 = 100_800;

/// One GetMetricData query: an id (lowercase letter first, then letters,
/// digits and `_`) and the metric, statistic and period it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub id: String,
    pub metric: MetricConfig,
}

/// Data points of one query, oldest first: (period start, value).
pub type Series = Vec<(jiff::Timestamp, f64)>;

/// One metric with its statistic, normalised for comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricConfig {
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
    /// `Average`, `p95`, …: the statistic or the extended statistic.
    pub stat: String,
    pub period: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One entry of a metric-math alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryConfig {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    pub return_data: bool,
}

/// The managed configuration of a metric alarm, normalised (lists sorted, defaults filled).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmConfig {
    pub name: String,
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<QueryConfig>,
    pub comparison: String,
    pub threshold: f64,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

/// A live alarm: its configuration and what the operator never manages but must keep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedAlarm {
    pub arn: String,
    pub config: AlarmConfig,
    pub insufficient_data_actions: Vec<String>,
    pub actions_enabled: bool,
    /// OK, ALARM or INSUFFICIENT_DATA: read, never written.
    #[serde(skip)]
    pub state: Option<String>,
}

/// The CloudWatch calls the reconciler makes.
pub trait CloudWatchApi: Send + Sync {
    /// Metric alarms by name, at most 100; missing ones are left out.
    fn describe_alarms(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<ObservedAlarm>, AwsError>> + Send;

    /// Every metric alarm, every page (100 a page).
    fn list_alarms(&self) -> impl Future<Output = Result<Vec<ObservedAlarm>, AwsError>> + Send;

    fn alarm_tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, AwsError>> + Send;

    /// PutMetricAlarm: an upsert that overwrites the whole configuration.
    /// `keep` carries the live fields the operator does not manage; `tags`
    /// are only honoured by AWS when the alarm is created.
    fn put_alarm(
        &self,
        config: &AlarmConfig,
        keep: Option<&ObservedAlarm>,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    fn tag_alarm(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Deletes alarms by name (at most 100).
    fn delete_alarms(&self, names: &[String]) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// GetMetricData over `[start, end)`, at most 500 queries, every page.
    /// Every query id is in the answer; a metric without data has an empty series.
    fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> impl Future<Output = Result<BTreeMap<String, Series>, AwsError>> + Send;

    /// PutMetricData of one value at `at` (the heartbeat). Not idempotent:
    /// each call adds a data point.
    fn put_metric(
        &self,
        metric: &MetricConfig,
        value: f64,
        at: jiff::Timestamp,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}
