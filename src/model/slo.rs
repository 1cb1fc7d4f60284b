//! `ServiceLevelObjective`: an objective over a metric indicator and the
//! multiwindow, multi-burn-rate alerts that page on it (SPEC §2.7).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::alarm::Metric;
use super::alert_channel::Severity;
use super::duration::Duration;
use super::{Cx, Kind, Reference, Spec};

pub const DEFAULT_WINDOW: Duration = Duration::secs(30 * 86_400);
pub const MIN_WINDOW: Duration = Duration::secs(3600);
pub const MAX_WINDOW: Duration = Duration::secs(90 * 86_400);

/// An objective such as "99.9% of requests succeed over 30 days".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SloSpec {
    /// A `Service` document, for context in pages; its scheduled downtime burns no budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ref: Option<String>,
    /// Percentage that must be good, above 0 and below 100, e.g. 99.9.
    pub objective: f64,
    /// Rolling window the objective holds over, 1h to 90d; default `30d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// What is measured: exactly one of `ratio` and `threshold`.
    pub indicator: Indicator,
    /// Where burn-rate alerts go and when they fire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<Alerting>,
}

/// The service level indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Indicator {
    /// Bad (or good) events over total events; exclusive with `threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    /// A period is bad when the metric exceeds `max`; exclusive with `ratio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
}

/// Events counted by two metrics that share a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ratio {
    /// Bad events, e.g. 5xx responses; exclusive with `good`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad: Option<Metric>,
    /// Good events; exclusive with `bad`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<Metric>,
    /// All events, e.g. requests.
    pub total: Metric,
}

/// Bad periods: those in which a metric exceeds a bound (e.g. p95 latency).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Threshold {
    /// The metric, one data point per period.
    pub metric: Metric,
    /// A period whose value is above this is bad.
    pub max: f64,
}

/// Burn-rate alerting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Alerting {
    /// AlertChannel that receives pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// AlertChannel that receives tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Alert rules; default: page on 1h and 5m above 14.4 or 6h and 30m above 6,
    /// ticket on 3d and 6h above 1. An empty list never alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn_rates: Option<Vec<BurnRate>>,
}

/// Alert when the burn rate over both windows is above `factor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BurnRate {
    /// `page` or `ticket`.
    pub severity: BurnSeverity,
    /// The window that shows the budget is really burning, e.g. `1h`.
    pub long_window: Duration,
    /// The window that shows it is still burning, shorter than `longWindow`, e.g. `5m`.
    pub short_window: Duration,
    /// Burn rate both windows must exceed; above 0. 1 spends the budget exactly over the window.
    pub factor: f64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BurnSeverity {
    Ticket,
    Page,
}

impl BurnSeverity {
    pub fn severity(self) -> Severity {
        match self {
            BurnSeverity::Ticket => Severity::Ticket,
            BurnSeverity::Page => Severity::Page,
        }
    }
}

impl BurnRate {
    fn new(severity: BurnSeverity, long: u64, short: u64, factor: f64) -> BurnRate {
        BurnRate {
            severity,
            long_window: Duration::secs(long),
            short_window: Duration::secs(short),
            factor,
        }
    }

    /// The SPEC's defaults (the SRE workbook's multiwindow, multi-burn-rate alerts).
    pub fn defaults() -> Vec<BurnRate> {
        vec![
            BurnRate::new(BurnSeverity::Page, 3600, 300, 14.4),
            BurnRate::new(BurnSeverity::Page, 6 * 3600, 1800, 6.0),
            BurnRate::new(BurnSeverity::Ticket, 3 * 86_400, 6 * 3600, 1.0),
        ]
    }
}

impl Indicator {
    /// Every metric the indicator reads, for batching `GetMetricData`.
    pub fn metrics(&self) -> Vec<&Metric> {
        let ratio = self
            .ratio
            .iter()
            .flat_map(|r| [r.bad.as_ref(), r.good.as_ref(), Some(&r.total)]);
        let threshold = self.threshold.iter().map(|t| Some(&t.metric));
        ratio.chain(threshold).flatten().collect()
    }
}

impl SloSpec {
    pub fn window(&self) -> Duration {
        self.window.unwrap_or(DEFAULT_WINDOW)
    }

    /// The allowed fraction of bad, `1 - objective / 100`; burn rate = bad fraction / this.
    pub fn error_budget(&self) -> f64 {
        1.0 - self.objective / 100.0
    }

    /// The burn-rate rules: the declared ones, or the defaults.
    pub fn burn_rates(&self) -> Vec<BurnRate> {
        match self.alerting.as_ref().and_then(|a| a.burn_rates.as_ref()) {
            Some(rates) => rates.clone(),
            None => BurnRate::defaults(),
        }
    }

    /// The AlertChannel named for `severity`, if any.
    pub fn channel(&self, severity: BurnSeverity) -> Option<&str> {
        let alerting = self.alerting.as_ref()?;
        match severity {
            BurnSeverity::Page => alerting.page.as_deref(),
            BurnSeverity::Ticket => alerting.ticket.as_deref(),
        }
    }
}

impl Spec for SloSpec {
    const KIND: Kind = Kind::ServiceLevelObjective;

    fn validate(&self, cx: &mut Cx<'_>) {
        let objective_ok = self.objective > 0.0 && self.objective < 100.0;
        if !objective_ok {
            cx.error(
                "spec.objective",
                format!(
                    "{} is out of range: expected a percentage above 0 and below 100, e.g. 99.9",
                    self.objective
                ),
            );
        }
        if let Some(window) = self.window {
            cx.range("spec.window", window, MIN_WINDOW, MAX_WINDOW);
        }
        let ind = &self.indicator;
        cx.exactly_one(
            "spec.indicator",
            ("ratio", ind.ratio.is_some()),
            ("threshold", ind.threshold.is_some()),
        );
        if let Some(ratio) = &ind.ratio {
            let at = "spec.indicator.ratio";
            cx.exactly_one(
                at,
                ("bad", ratio.bad.is_some()),
                ("good", ratio.good.is_some()),
            );
            for (name, metric) in [("bad", &ratio.bad), ("good", &ratio.good)] {
                let Some(metric) = metric else { continue };
                metric.validate(cx, &format!("{at}.{name}"));
                if metric.period != ratio.total.period {
                    cx.error(
                        &format!("{at}.total.period"),
                        format!("{} differs from {name}.period ({}): the ratio's metrics share one period", ratio.total.period, metric.period),
                    );
                }
            }
            ratio.total.validate(cx, &format!("{at}.total"));
        }
        if let Some(threshold) = &ind.threshold {
            threshold
                .metric
                .validate(cx, "spec.indicator.threshold.metric");
            if !threshold.max.is_finite() {
                cx.error("spec.indicator.threshold.max", "must be a finite number");
            }
        }
        let Some(alerting) = &self.alerting else {
            return;
        };
        for (field, channel) in [("page", &alerting.page), ("ticket", &alerting.ticket)] {
            if channel.as_ref().is_some_and(|c| c.trim().is_empty()) {
                cx.error(
                    &format!("spec.alerting.{field}"),
                    "must name an AlertChannel",
                );
            }
        }
        let period = ind
            .metrics()
            .iter()
            .map(|m| u64::from(m.period))
            .max()
            .unwrap_or(0);
        for (i, rate) in alerting.burn_rates.iter().flatten().enumerate() {
            let at = format!("spec.alerting.burnRates[{i}]");
            if rate.short_window >= rate.long_window {
                cx.error(
                    &format!("{at}.shortWindow"),
                    format!(
                        "{} must be shorter than longWindow ({})",
                        rate.short_window, rate.long_window
                    ),
                );
            } else if rate.short_window.as_secs() < period {
                cx.error(
                    &format!("{at}.shortWindow"),
                    format!("{} is shorter than the indicator's metric period ({period}s): a window needs a data point", rate.short_window),
                );
            }
            if !(rate.factor > 0.0 && rate.factor.is_finite()) {
                cx.error(
                    &format!("{at}.factor"),
                    format!("{} must be a number above 0", rate.factor),
                );
            } else if objective_ok && rate.factor > 1.0 / self.error_budget() {
                cx.error(
                    &format!("{at}.factor"),
                    format!(
                        "{} can never be reached: with objective {} the burn rate is at most {:.1}",
                        rate.factor,
                        self.objective,
                        1.0 / self.error_budget()
                    ),
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
        let alerting = self.alerting.as_ref();
        let channels = [
            ("page", alerting.and_then(|a| a.page.as_ref())),
            ("ticket", alerting.and_then(|a| a.ticket.as_ref())),
        ]
        .into_iter()
        .filter_map(|(field, name)| {
            name.map(|name| Reference {
                field: format!("spec.alerting.{field}"),
                kind: Kind::AlertChannel,
                name: name.clone(),
            })
        });
        service.chain(channels).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{errors, references, spec};

    const AVAILABILITY: &str = "serviceRef: web\nobjective: 99.9\nindicator:\n  ratio:\n    bad: {namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, statistic: Sum, period: 60}\n    total: {namespace: AWS/ApplicationELB, name: RequestCount, statistic: Sum, period: 60}\nalerting: {page: oncall, ticket: team}\n";

    fn slo(yaml: &str) -> Vec<String> {
        errors::<SloSpec>(yaml)
    }

    #[test]
    fn slo_availability_is_valid_and_uses_default_burn_rates() {
        assert_eq!(slo(AVAILABILITY), Vec::<String>::new());
        let s = spec::<SloSpec>(AVAILABILITY);
        assert_eq!(s.window(), Duration::secs(30 * 86_400));
        assert!((s.error_budget() - 0.001).abs() < 1e-12);
        let rates = s.burn_rates();
        assert_eq!(rates.len(), 3);
        let first = (
            rates[0].long_window.to_string(),
            rates[0].short_window.to_string(),
        );
        assert_eq!(first, ("1h".to_owned(), "5m".to_owned()));
        assert_eq!(s.indicator.metrics().len(), 2);
        assert_eq!(s.channel(BurnSeverity::Page), Some("oncall"));
        assert_eq!(
            references(&s),
            [
                "spec.serviceRef -> Service/web",
                "spec.alerting.page -> AlertChannel/oncall",
                "spec.alerting.ticket -> AlertChannel/team",
            ]
        );
    }

    #[test]
    fn slo_rejects_objectives_outside_zero_to_one_hundred() {
        for bad in ["0", "100", "-1"] {
            let e = slo(&AVAILABILITY.replace("99.9", bad));
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(e[0].starts_with("spec.objective: "), "{e:?}");
        }
    }

    #[test]
    fn slo_rejects_windows_outside_an_hour_to_ninety_days() {
        let e = slo(&format!("{AVAILABILITY}window: 30m\n"));
        assert_eq!(e, ["spec.window: 30m is out of range: expected 1h to 90d"]);
        assert_eq!(
            slo(&format!("{AVAILABILITY}window: 91d\n")),
            ["spec.window: 91d is out of range: expected 1h to 90d"]
        );
    }

    #[test]
    fn a_ratio_metric_without_a_period_reads_one_minute_points() {
        let yaml = "objective: 99.9\nindicator:\n  ratio:\n    bad: {namespace: N, name: E, statistic: Sum}\n    total: {namespace: N, name: R, statistic: Sum}\n";
        assert_eq!(slo(yaml), Vec::<String>::new());
        let s = spec::<SloSpec>(yaml);
        let ratio = s.indicator.ratio.expect("ratio");
        assert_eq!(ratio.total.period, 60);
        assert_eq!(ratio.bad.map(|m| m.period), Some(60));
    }

    #[test]
    fn slo_indicator_needs_exactly_one_shape() {
        let m = "{namespace: N, name: M, statistic: Sum, period: 60}";
        let both = format!(
            "objective: 99\nindicator:\n  ratio: {{good: {m}, bad: {m}, total: {m}}}\n  threshold: {{metric: {m}, max: 1}}\n"
        );
        assert_eq!(
            slo(&both),
            [
                "spec.indicator.threshold: set only one of `ratio` and `threshold`",
                "spec.indicator.ratio.good: set only one of `bad` and `good`",
            ]
        );
        let mixed = "objective: 99\nindicator:\n  ratio:\n    good: {namespace: N, name: M, statistic: Sum, period: 60}\n    total: {namespace: N, name: T, statistic: Sum, period: 300}\n";
        assert_eq!(
            slo(mixed),
            [
                "spec.indicator.ratio.total.period: 300 differs from good.period (60): the ratio's metrics share one period"
            ]
        );
    }

    #[test]
    fn slo_threshold_indicator_checks_its_metric() {
        let e = slo(
            "objective: 99\nindicator:\n  threshold:\n    metric: {namespace: N, name: Latency, extendedStatistic: p95, period: 45}\n    max: 0.5\n",
        );
        assert_eq!(
            e,
            [
                "spec.indicator.threshold.metric.period: 45 is not a valid period: expected 10, 20, 30 or a multiple of 60 seconds"
            ]
        );
    }

    #[test]
    fn slo_checks_burn_rate_windows_and_factors() {
        let e = slo(&AVAILABILITY.replace(
            "alerting: {page: oncall, ticket: team}",
            "alerting:\n  page: oncall\n  burnRates:\n    - {severity: page, longWindow: 5m, shortWindow: 1h, factor: 14.4}\n    - {severity: ticket, longWindow: 1h, shortWindow: 30s, factor: 0}\n    - {severity: page, longWindow: 1h, shortWindow: 5m, factor: 2000}\n",
        ));
        assert_eq!(
            e,
            [
                "spec.alerting.burnRates[0].shortWindow: 1h must be shorter than longWindow (5m)",
                "spec.alerting.burnRates[1].shortWindow: 30s is shorter than the indicator's metric period (60s): a window needs a data point",
                "spec.alerting.burnRates[1].factor: 0 must be a number above 0",
                "spec.alerting.burnRates[2].factor: 2000 can never be reached: with objective 99.9 the burn rate is at most 1000.0",
            ]
        );
    }
}
