//! Runs the planned GetMetricData calls. A failed call marks its queries
//! failed; the SLOs that need them are not evaluated this time, the others are.

use std::collections::BTreeMap;

use crate::aws::cloudwatch::{CloudWatchApi, Series};
use crate::slo::query::Reads;

/// What the calls returned, by query id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readings {
    pub series: BTreeMap<String, Series>,
    /// Query id → the error of its call.
    pub failed: BTreeMap<String, String>,
}

/// Every call of `reads`, one after the other (they are few: see `query`).
pub async fn read<C: CloudWatchApi>(reads: &Reads, cw: &C) -> Readings {
    let mut readings = Readings::default();
    for call in &reads.calls {
        match cw
            .metric_data(&call.queries, call.range.start, call.range.end)
            .await
        {
            Ok(series) => readings.series.extend(series),
            Err(e) => {
                tracing::warn!(error = %e, queries = call.queries.len(), "SLO metrics could not be read");
                for q in &call.queries {
                    readings.failed.insert(q.id.clone(), e.to_string());
                }
            }
        }
    }
    readings
}
