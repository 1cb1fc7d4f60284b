//! GetMetricData and PutMetricData through the SDK: the SLO reads and the heartbeat.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types as sdk;
use aws_smithy_types::DateTime;

use super::sdk::{dimensions, to_i32};
use super::{MetricConfig, MetricQuery, Series};
use crate::aws::call::Caller;
use crate::aws::{AwsError, ErrorKind};

const CW: &str = "cloudwatch";

fn to_datetime(t: jiff::Timestamp) -> DateTime {
    DateTime::from_secs(t.as_second())
}

fn to_timestamp(t: &DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_second(t.secs()).ok()
}

fn metric(m: &MetricConfig) -> sdk::Metric {
    sdk::Metric::builder()
        .namespace(&m.namespace)
        .metric_name(&m.name)
        .set_dimensions(Some(dimensions(&m.dimensions)))
        .build()
}

fn query(q: &MetricQuery) -> sdk::MetricDataQuery {
    let m = &q.metric;
    let stat = sdk::MetricStat::builder()
        .metric(metric(m))
        .period(to_i32(m.period))
        .stat(&m.stat)
        .set_unit(m.unit.as_deref().map(sdk::StandardUnit::from))
        .build();
    sdk::MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(stat)
        .return_data(true)
        .build()
}

pub async fn get(
    client: &aws_sdk_cloudwatch::Client,
    calls: &Caller,
    queries: &[MetricQuery],
    start: jiff::Timestamp,
    end: jiff::Timestamp,
) -> Result<BTreeMap<String, Series>, AwsError> {
    let mut out: BTreeMap<String, Series> =
        queries.iter().map(|q| (q.id.clone(), Vec::new())).collect();
    let mut token = None;
    loop {
        let page = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.iter().map(query).collect()))
            .start_time(to_datetime(start))
            .end_time(to_datetime(end))
            .scan_by(sdk::ScanBy::TimestampAscending)
            .set_next_token(token);
        let page = calls
            .call(CW, "GetMetricData", || page.clone().send())
            .await?;
        for r in page.metric_data_results() {
            let Some(series) = r.id().and_then(|id| out.get_mut(id)) else {
                continue;
            };
            if r.timestamps().len() != r.values().len() {
                return Err(AwsError {
                    service: CW,
                    operation: "GetMetricData",
                    kind: ErrorKind::Other,
                    code: None,
                    message: format!(
                        "query {}: {} timestamps but {} values",
                        r.id().unwrap_or_default(),
                        r.timestamps().len(),
                        r.values().len()
                    ),
                });
            }
            series.extend(
                r.timestamps()
                    .iter()
                    .zip(r.values())
                    .filter_map(|(t, v)| Some((to_timestamp(t)?, *v))),
            );
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    // Pages may split a series anywhere; AWS does not promise order across them.
    for series in out.values_mut() {
        series.sort_by_key(|(t, _)| *t);
    }
    Ok(out)
}

pub async fn put(
    client: &aws_sdk_cloudwatch::Client,
    calls: &Caller,
    m: &MetricConfig,
    value: f64,
    at: jiff::Timestamp,
) -> Result<(), AwsError> {
    let datum = sdk::MetricDatum::builder()
        .metric_name(&m.name)
        .set_dimensions(Some(dimensions(&m.dimensions)))
        .value(value)
        .timestamp(to_datetime(at))
        .set_unit(m.unit.as_deref().map(sdk::StandardUnit::from))
        .build();
    let out = client
        .put_metric_data()
        .namespace(&m.namespace)
        .metric_data(datum);
    calls
        .call(CW, "PutMetricData", || out.clone().send())
        .await?;
    Ok(())
}
