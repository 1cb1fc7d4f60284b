//! Burn-rate arithmetic over period series, pure.
//!
//! Missing data is not an outage. In a ratio, a period without a `total` data
//! point (or with a total of 0) has no events and is left out; a missing `bad`
//! (or `good`) point in a period that has a total counts 0, because CloudWatch
//! publishes no data point for a count of zero (ALB 5xx counts, for one). In a
//! threshold indicator, a period without data is left out. A window with no
//! events at all has no burn rate, and no rule fires on it.

use jiff::Timestamp;

use crate::aws::cloudwatch::Series;

/// Bad and total events (or bad and observed periods) over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counts {
    pub bad: f64,
    pub total: f64,
}

impl Counts {
    /// `(bad / total) / budget`; `None` without events.
    pub fn burn_rate(self, budget: f64) -> Option<f64> {
        (self.total > 0.0 && budget > 0.0).then(|| (self.bad / self.total) / budget)
    }
}

/// The value at `t` of a series sorted by time.
fn value_at(series: &Series, t: Timestamp) -> Option<f64> {
    series
        .binary_search_by_key(&t, |(at, _)| *at)
        .ok()
        .map(|i| series[i].1)
}

/// A ratio over the periods of `total` that start at or after `from` and are
/// not `excluded`. `part` counts bad events, or good ones when `good`.
pub fn ratio(
    part: &Series,
    good: bool,
    total: &Series,
    from: Timestamp,
    excluded: &dyn Fn(Timestamp) -> bool,
) -> Counts {
    let mut c = Counts::default();
    for &(t, n) in total.iter().filter(|(t, _)| *t >= from) {
        if n <= 0.0 || !n.is_finite() || excluded(t) {
            continue;
        }
        let counted = value_at(part, t).filter(|v| v.is_finite()).unwrap_or(0.0);
        let bad = if good { n - counted } else { counted };
        c.bad += bad.clamp(0.0, n);
        c.total += n;
    }
    c
}

/// A threshold indicator: periods with data, and those above `max`.
pub fn threshold(
    values: &Series,
    max: f64,
    from: Timestamp,
    excluded: &dyn Fn(Timestamp) -> bool,
) -> Counts {
    let mut c = Counts::default();
    for &(t, v) in values.iter().filter(|(t, _)| *t >= from) {
        if !v.is_finite() || excluded(t) {
            continue;
        }
        c.total += 1.0;
        if v > max {
            c.bad += 1.0;
        }
    }
    c
}

/// What is left of the error budget: 1 untouched, 0 spent, below 0 overspent.
pub fn budget_remaining(window_burn_rate: Option<f64>) -> Option<f64> {
    window_burn_rate.map(|b| 1.0 - b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + min * 60).expect("valid")
    }

    fn series(points: &[(i64, f64)]) -> Series {
        points.iter().map(|&(m, v)| (t(m), v)).collect()
    }

    const NONE: &dyn Fn(Timestamp) -> bool = &|_| false;

    #[test]
    fn burn_rate_is_the_bad_fraction_over_the_budget() {
        let c = Counts {
            bad: 2.0,
            total: 100.0,
        };
        let rate = c.burn_rate(0.001).expect("events");
        assert!((rate - 20.0).abs() < 1e-9, "{rate}");
        assert_eq!(Counts::default().burn_rate(0.001), None);
    }

    #[test]
    fn ratio_counts_a_missing_bad_point_as_zero_and_skips_periods_without_total() {
        let bad = series(&[(1, 5.0)]);
        let total = series(&[(0, 100.0), (1, 100.0), (3, 0.0)]);
        let c = ratio(&bad, false, &total, t(0), NONE);
        assert_eq!(
            c,
            Counts {
                bad: 5.0,
                total: 200.0
            }
        );
    }

    #[test]
    fn good_ratio_counts_the_rest_as_bad_and_a_missing_good_point_as_all_bad() {
        let good = series(&[(0, 90.0)]);
        let total = series(&[(0, 100.0), (1, 10.0)]);
        let c = ratio(&good, true, &total, t(0), NONE);
        assert_eq!(
            c,
            Counts {
                bad: 20.0,
                total: 110.0
            }
        );
    }

    #[test]
    fn ratio_leaves_out_periods_before_the_window_and_excluded_ones() {
        let bad = series(&[(0, 50.0), (1, 50.0), (2, 1.0)]);
        let total = series(&[(0, 100.0), (1, 100.0), (2, 100.0)]);
        let c = ratio(&bad, false, &total, t(1), &|at| at == t(1));
        assert_eq!(
            c,
            Counts {
                bad: 1.0,
                total: 100.0
            }
        );
    }

    #[test]
    fn threshold_counts_periods_above_max_among_periods_with_data() {
        let p95 = series(&[(0, 0.2), (1, 0.7), (2, 0.5), (3, f64::NAN)]);
        let c = threshold(&p95, 0.5, t(0), NONE);
        assert_eq!(
            c,
            Counts {
                bad: 1.0,
                total: 3.0
            }
        );
    }

    #[test]
    fn budget_remaining_is_one_minus_the_window_burn_rate() {
        assert_eq!(budget_remaining(Some(0.25)), Some(0.75));
        assert_eq!(budget_remaining(Some(1.5)), Some(-0.5));
        assert_eq!(budget_remaining(None), None);
    }
}
