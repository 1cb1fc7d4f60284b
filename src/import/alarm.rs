//! A CloudWatch alarm on a service's `ClusterName`/`ServiceName` as the
//! `Alarm` document that declares it: `serviceRef` instead of the two
//! dimensions, `notify` when every action is a topic an AlertChannel document
//! declares (otherwise the actions are left out, so they are left alone).

use std::collections::BTreeMap;

use crate::aws::cloudwatch::{MetricConfig, ObservedAlarm};
use crate::model::alarm::{AlarmSpec, Metric, MetricQuery};

/// Namespaces whose ClusterName/ServiceName dimensions `serviceRef` fills in.
const ECS_NAMESPACES: [&str; 2] = ["AWS/ECS", "ECS/ContainerInsights"];

fn names_service(m: &MetricConfig, cluster: &str, service: &str) -> bool {
    m.dimensions.get("ClusterName").map(String::as_str) == Some(cluster)
        && m.dimensions.get("ServiceName").map(String::as_str) == Some(service)
}

/// Whether the alarm watches the service (and is not Application Auto
/// Scaling's own target tracking alarm).
pub fn watches(a: &ObservedAlarm, cluster: &str, service: &str) -> bool {
    !a.config.name.starts_with("TargetTracking-")
        && (a
            .config
            .metric
            .as_ref()
            .is_some_and(|m| names_service(m, cluster, service))
            || a.config
                .metrics
                .iter()
                .filter_map(|q| q.metric.as_ref())
                .any(|m| names_service(m, cluster, service)))
}

fn metric(m: &MetricConfig, service_ref: bool) -> Option<Metric> {
    let mut dimensions = m.dimensions.clone();
    if service_ref && ECS_NAMESPACES.contains(&m.namespace.as_str()) {
        dimensions.remove("ClusterName");
        dimensions.remove("ServiceName");
    }
    let statistic = serde_json::from_value(serde_json::json!(m.stat)).ok();
    Some(Metric {
        namespace: m.namespace.clone(),
        name: m.name.clone(),
        dimensions,
        extended_statistic: statistic.is_none().then(|| m.stat.clone()),
        statistic,
        period: m.period,
        unit: m.unit.clone(),
    })
}

/// The spec, and whether its actions were left out (topics no AlertChannel
/// document declares). `channels`: AlertChannel document → topic ARN or name.
pub fn spec(
    a: &ObservedAlarm,
    doc_name: &str,
    service_doc: &str,
    channels: &BTreeMap<String, String>,
) -> Option<(AlarmSpec, bool)> {
    let c = &a.config;
    let channel_of = |arn: &String| {
        channels
            .iter()
            .find(|(_, topic)| *topic == arn || arn.rsplit(':').next() == Some(topic.as_str()))
            .map(|(name, _)| name.clone())
    };
    let mut notify: Option<Vec<String>> = None;
    let mut left_out = false;
    if !c.alarm_actions.is_empty() || !c.ok_actions.is_empty() {
        let mapped: Option<Vec<String>> = c.alarm_actions.iter().map(channel_of).collect();
        // `notify` sets both lists: only when they are the same.
        match mapped {
            Some(names) if c.alarm_actions == c.ok_actions => notify = Some(names),
            _ => left_out = true,
        }
    }
    let metrics: Option<Vec<MetricQuery>> = (!c.metrics.is_empty()).then(|| {
        c.metrics
            .iter()
            .map(|q| MetricQuery {
                id: q.id.clone(),
                metric: q.metric.as_ref().and_then(|m| metric(m, true)),
                expression: q.expression.clone(),
                return_data: Some(q.return_data),
            })
            .collect()
    });
    let spec = AlarmSpec {
        alarm_name: (c.name != doc_name).then(|| c.name.clone()),
        description: c.description.clone(),
        service_ref: Some(service_doc.to_owned()),
        metric: c.metric.as_ref().and_then(|m| metric(m, true)),
        metrics,
        comparison: serde_json::from_value(serde_json::json!(c.comparison)).ok()?,
        threshold: c.threshold,
        evaluation_periods: c.evaluation_periods,
        datapoints_to_alarm: (c.datapoints_to_alarm != c.evaluation_periods)
            .then_some(c.datapoints_to_alarm),
        treat_missing_data: serde_json::from_value(serde_json::json!(c.treat_missing_data))
            .ok()
            .filter(|t| *t != crate::model::alarm::TreatMissingData::Missing),
        severity: None,
        notify,
    };
    Some((spec, left_out))
}
