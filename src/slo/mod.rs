//! ServiceLevelObjective evaluation (SPEC §2.7): which metrics to read
//! (`query`), what they cost (`read`), burn rates over each window (`burn`,
//! here), the paging state machine (`alerting`) and the messages (`page`).
//!
//! ```text
//! Desired ─▶ query::plan_reads(now) ─▶ read (GetMetricData) ─▶ evaluate(now) ─▶ alerting ─▶ page ─▶ SNS
//!             pure                        I/O                    pure            pure        pure
//! ```

pub mod alerting;
pub mod burn;
mod downtime;
pub mod page;
pub mod query;
pub mod read;
pub mod text;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::desired::Desired;
use crate::model::duration::Duration;
use crate::model::slo::{BurnSeverity, SloSpec};
use burn::Counts;
use downtime::Downtime;
use query::{Reads, Resolution, Role};
use read::Readings;

/// One burn-rate rule, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    pub severity: BurnSeverity,
    pub long_window: Duration,
    pub short_window: Duration,
    pub factor: f64,
    pub long_burn_rate: Option<f64>,
    pub short_burn_rate: Option<f64>,
    /// Both windows above `factor`.
    pub holds: bool,
}

/// One SLO at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub objective: f64,
    pub window: Duration,
    /// Burn rate per window (`None`: no events in it).
    pub burn_rates: BTreeMap<Duration, Option<f64>>,
    /// Error budget left over `window`: 1 untouched, 0 spent, below 0 overspent.
    pub budget_remaining: Option<f64>,
    pub rules: Vec<RuleResult>,
    /// Why it could not be evaluated (a failed read); no state changes then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Evaluation {
    /// Whether a rule of `severity` holds; `None` when the SLO could not be read.
    pub fn condition(&self, severity: BurnSeverity) -> Option<bool> {
        if self.error.is_some() {
            return None;
        }
        Some(self.rules.iter().any(|r| r.severity == severity && r.holds))
    }

    /// The rule to name in a message: the holding one of `severity` that burns fastest.
    pub fn worst_rule(&self, severity: BurnSeverity) -> Option<&RuleResult> {
        self.rules
            .iter()
            .filter(|r| r.severity == severity && r.holds)
            .max_by(|a, b| {
                let key = |r: &RuleResult| r.short_burn_rate.unwrap_or(0.0) / r.factor;
                key(a).total_cmp(&key(b))
            })
    }
}

/// Evaluates every SLO of `desired` on what was read. Pure.
pub fn evaluate(
    desired: &Desired,
    reads: &Reads,
    readings: &Readings,
    now: Timestamp,
) -> Vec<Evaluation> {
    let earliest = reads.ranges.values().map(|r| r.start).min().unwrap_or(now);
    let latest = reads.ranges.values().map(|r| r.end).max().unwrap_or(now);
    desired
        .slos
        .iter()
        .map(|(name, slo)| {
            let spec = &slo.doc.spec;
            let downtime = spec
                .service_ref
                .as_ref()
                .and_then(|s| desired.schedule_of(s))
                .and_then(|(_, schedule)| schedule.calendar().ok())
                .map(|c| Downtime::of(&c, earliest, latest))
                .unwrap_or_default();
            evaluate_one(name, spec, reads, readings, &downtime)
        })
        .collect()
}

fn evaluate_one(
    name: &str,
    spec: &SloSpec,
    reads: &Reads,
    readings: &Readings,
    downtime: &Downtime,
) -> Evaluation {
    let series_of = |res: Resolution,
                     role: Role|
     -> Result<Option<(&crate::aws::cloudwatch::Series, u32)>, String> {
        let Some(id) = reads.ids.get(&(name.to_owned(), res, role)) else {
            return Ok(None);
        };
        if let Some(e) = readings.failed.get(id) {
            return Err(e.clone());
        }
        let period = reads.periods.get(id).copied().unwrap_or(60);
        Ok(readings.series.get(id).map(|s| (s, period)))
    };
    let excluded = |t: Timestamp| downtime.contains(t);
    let mut error = None;
    let mut counts = |secs: i64| -> Option<Counts> {
        let res = query::resolution_of(secs);
        let range = reads.ranges.get(&res)?;
        let from_for = |period: u32| {
            let p = i64::from(period.max(1));
            let periods = secs.div_euclid(p) + i64::from(secs.rem_euclid(p) != 0);
            Timestamp::from_second(range.end.as_second() - periods * p).unwrap_or(range.start)
        };
        let result = if let Some(ratio) = &spec.indicator.ratio {
            let good = ratio.good.is_some();
            let part = series_of(res, if good { Role::Good } else { Role::Bad });
            let total = series_of(res, Role::Total);
            match (part, total) {
                (Ok(part), Ok(Some((total, period)))) => {
                    let empty = Vec::new();
                    let part = part.map_or(&empty, |(s, _)| s);
                    Ok(burn::ratio(part, good, total, from_for(period), &excluded))
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
                (Ok(_), Ok(None)) => Ok(Counts::default()),
            }
        } else if let Some(threshold) = &spec.indicator.threshold {
            match series_of(res, Role::Value) {
                Ok(Some((values, period))) => Ok(burn::threshold(
                    values,
                    threshold.max,
                    from_for(period),
                    &excluded,
                )),
                Ok(None) => Ok(Counts::default()),
                Err(e) => Err(e),
            }
        } else {
            Ok(Counts::default())
        };
        match result {
            Ok(c) => Some(c),
            Err(e) => {
                error = Some(e);
                None
            }
        }
    };
    let budget = spec.error_budget();
    let mut burn_rates = BTreeMap::new();
    for secs in query::windows(spec) {
        let rate = counts(secs).and_then(|c| c.burn_rate(budget));
        burn_rates.insert(Duration::secs(u64::try_from(secs).unwrap_or(0)), rate);
    }
    let rate_of = |d: Duration| burn_rates.get(&d).copied().flatten();
    let rules = spec
        .burn_rates()
        .into_iter()
        .map(|r| {
            let (long, short) = (rate_of(r.long_window), rate_of(r.short_window));
            RuleResult {
                severity: r.severity,
                long_window: r.long_window,
                short_window: r.short_window,
                factor: r.factor,
                long_burn_rate: long,
                short_burn_rate: short,
                holds: long.is_some_and(|l| l > r.factor) && short.is_some_and(|s| s > r.factor),
            }
        })
        .collect();
    Evaluation {
        name: name.to_owned(),
        service: spec.service_ref.clone(),
        objective: spec.objective,
        window: spec.window(),
        budget_remaining: burn::budget_remaining(rate_of(spec.window())),
        burn_rates,
        rules,
        error,
    }
}

#[cfg(test)]
mod tests;
