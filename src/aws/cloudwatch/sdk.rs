//! CloudWatch through the AWS SDK (query protocol release, see Cargo.toml).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudwatch::types as sdk;

use super::{
    AlarmConfig, CloudWatchApi, MetricConfig, MetricQuery, ObservedAlarm, QueryConfig, Series,
    metric_data,
};
use crate::aws::AwsError;
use crate::aws::call::{Caller, RetryPolicy};
use crate::metrics::Metrics;

const CW: &str = "cloudwatch";

#[derive(Clone)]
pub struct SdkCloudWatch {
    client: aws_sdk_cloudwatch::Client,
    calls: Caller,
}

impl SdkCloudWatch {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkCloudWatch {
            client: aws_sdk_cloudwatch::Client::new(config),
            calls: Caller::new(CW, metrics, retry),
        }
    }
}

fn to_u32(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

pub(super) fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn is_extended(stat: &str) -> bool {
    !matches!(
        stat,
        "SampleCount" | "Average" | "Sum" | "Minimum" | "Maximum"
    )
}

pub(super) fn dimensions(d: &BTreeMap<String, String>) -> Vec<sdk::Dimension> {
    d.iter()
        .map(|(k, v)| sdk::Dimension::builder().name(k).value(v).build())
        .collect()
}

fn metric_config(
    m: &sdk::Metric,
    stat: &str,
    period: Option<i32>,
    unit: Option<&sdk::StandardUnit>,
) -> MetricConfig {
    MetricConfig {
        namespace: m.namespace().unwrap_or_default().to_owned(),
        name: m.metric_name().unwrap_or_default().to_owned(),
        dimensions: m
            .dimensions()
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        stat: stat.to_owned(),
        period: to_u32(period),
        unit: unit.map(|u| u.as_str().to_owned()),
    }
}

fn observed(a: &sdk::MetricAlarm) -> ObservedAlarm {
    let metric = a.metric_name().map(|name| MetricConfig {
        namespace: a.namespace().unwrap_or_default().to_owned(),
        name: name.to_owned(),
        dimensions: a
            .dimensions()
            .iter()
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_owned(),
                    d.value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        stat: a
            .statistic()
            .map(|s| s.as_str().to_owned())
            .or_else(|| a.extended_statistic().map(str::to_owned))
            .unwrap_or_default(),
        period: to_u32(a.period()),
        unit: a.unit().map(|u| u.as_str().to_owned()),
    });
    let metrics = a
        .metrics()
        .iter()
        .map(|q| QueryConfig {
            id: q.id().unwrap_or_default().to_owned(),
            metric: q.metric_stat().and_then(|s| {
                s.metric()
                    .map(|m| metric_config(m, s.stat().unwrap_or_default(), s.period(), s.unit()))
            }),
            expression: q.expression().map(str::to_owned),
            return_data: q.return_data().unwrap_or(true),
        })
        .collect();
    let mut alarm_actions = a.alarm_actions().to_vec();
    alarm_actions.sort();
    let mut ok_actions = a.ok_actions().to_vec();
    ok_actions.sort();
    let evaluation_periods = to_u32(a.evaluation_periods());
    ObservedAlarm {
        arn: a.alarm_arn().unwrap_or_default().to_owned(),
        config: AlarmConfig {
            name: a.alarm_name().unwrap_or_default().to_owned(),
            description: a.alarm_description().map(str::to_owned),
            metric,
            metrics,
            comparison: a
                .comparison_operator()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            threshold: a.threshold().unwrap_or_default(),
            evaluation_periods,
            datapoints_to_alarm: a
                .datapoints_to_alarm()
                .map_or(evaluation_periods, |d| to_u32(Some(d))),
            treat_missing_data: a.treat_missing_data().unwrap_or("missing").to_owned(),
            alarm_actions,
            ok_actions,
        },
        insufficient_data_actions: a.insufficient_data_actions().to_vec(),
        actions_enabled: a.actions_enabled().unwrap_or(true),
        state: a.state_value().map(|s| s.as_str().to_owned()),
    }
}

impl CloudWatchApi for SdkCloudWatch {
    async fn describe_alarms(&self, names: &[String]) -> Result<Vec<ObservedAlarm>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .alarm_types(sdk::AlarmType::MetricAlarm)
                .max_records(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(CW, "DescribeAlarms", || page.clone().send())
                .await?;
            found.extend(page.metric_alarms().iter().map(observed));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn list_alarms(&self) -> Result<Vec<ObservedAlarm>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_alarms()
                .alarm_types(sdk::AlarmType::MetricAlarm)
                .max_records(100)
                .set_next_token(token);
            let page = self
                .calls
                .call(CW, "DescribeAlarms", || page.clone().send())
                .await?;
            found.extend(
                page.metric_alarms()
                    .iter()
                    .filter(|a| a.alarm_name().is_some() && a.alarm_arn().is_some())
                    .map(observed),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn alarm_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self.client.list_tags_for_resource().resource_arn(arn);
        let out = self
            .calls
            .call(CW, "ListTagsForResource", || out.clone().send())
            .await?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }

    async fn put_alarm(
        &self,
        c: &AlarmConfig,
        keep: Option<&ObservedAlarm>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AwsError> {
        let mut req = self
            .client
            .put_metric_alarm()
            .alarm_name(&c.name)
            .set_alarm_description(c.description.clone())
            .comparison_operator(sdk::ComparisonOperator::from(c.comparison.as_str()))
            .threshold(c.threshold)
            .evaluation_periods(to_i32(c.evaluation_periods))
            .datapoints_to_alarm(to_i32(c.datapoints_to_alarm))
            .treat_missing_data(&c.treat_missing_data)
            .set_alarm_actions(Some(c.alarm_actions.clone()))
            .set_ok_actions(Some(c.ok_actions.clone()));
        if let Some(k) = keep {
            // PutMetricAlarm overwrites everything: send back what is not ours.
            req = req
                .set_insufficient_data_actions(Some(k.insufficient_data_actions.clone()))
                .actions_enabled(k.actions_enabled);
        }
        if let Some(m) = &c.metric {
            req = req
                .namespace(&m.namespace)
                .metric_name(&m.name)
                .set_dimensions(Some(dimensions(&m.dimensions)))
                .period(to_i32(m.period))
                .set_unit(m.unit.as_deref().map(sdk::StandardUnit::from));
            req = if is_extended(&m.stat) {
                req.extended_statistic(&m.stat)
            } else {
                req.statistic(sdk::Statistic::from(m.stat.as_str()))
            };
        }
        for q in &c.metrics {
            let stat = q.metric.as_ref().map(|m| {
                sdk::MetricStat::builder()
                    .metric(
                        sdk::Metric::builder()
                            .namespace(&m.namespace)
                            .metric_name(&m.name)
                            .set_dimensions(Some(dimensions(&m.dimensions)))
                            .build(),
                    )
                    .period(to_i32(m.period))
                    .stat(&m.stat)
                    .set_unit(m.unit.as_deref().map(sdk::StandardUnit::from))
                    .build()
            });
            req = req.metrics(
                sdk::MetricDataQuery::builder()
                    .id(&q.id)
                    .set_metric_stat(stat)
                    .set_expression(q.expression.clone())
                    .return_data(q.return_data)
                    .build(),
            );
        }
        for (k, v) in tags {
            req = req.tags(sdk::Tag::builder().key(k).value(v).build());
        }
        self.calls
            .call(CW, "PutMetricAlarm", || req.clone().send())
            .await?;
        Ok(())
    }

    async fn tag_alarm(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let mut req = self.client.tag_resource().resource_arn(arn);
        for (k, v) in tags {
            req = req.tags(sdk::Tag::builder().key(k).value(v).build());
        }
        self.calls
            .call(CW, "TagResource", || req.clone().send())
            .await?;
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        let out = self
            .client
            .delete_alarms()
            .set_alarm_names(Some(names.to_vec()));
        self.calls
            .call(CW, "DeleteAlarms", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn metric_data(
        &self,
        queries: &[MetricQuery],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<BTreeMap<String, Series>, AwsError> {
        metric_data::get(&self.client, &self.calls, queries, start, end).await
    }

    async fn put_metric(
        &self,
        metric: &MetricConfig,
        value: f64,
        at: jiff::Timestamp,
    ) -> Result<(), AwsError> {
        metric_data::put(&self.client, &self.calls, metric, value, at).await
    }
}
