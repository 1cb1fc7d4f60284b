//! Planned downtime: the spans in which a Schedule holds a service inactive,
//! left out of its SLO (planned downtime burns no budget). Pure.

use jiff::Timestamp;

use crate::capacity::schedule::{state_at, transitions};
use crate::model::schedule::ScheduleState;
use crate::model::schedule::calendar::Calendar;

/// Inactive spans `[from, until)`, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Downtime(Vec<(Timestamp, Timestamp)>);

impl Downtime {
    /// The inactive spans of `calendar` within `[from, until)`.
    pub fn of(calendar: &Calendar, from: Timestamp, until: Timestamp) -> Downtime {
        let mut spans = Vec::new();
        let mut inactive_since =
            (state_at(calendar, from).state == ScheduleState::Inactive).then_some(from);
        for (t, state) in transitions(calendar, from, until) {
            match (state, inactive_since) {
                (ScheduleState::Inactive, None) => inactive_since = Some(t),
                (ScheduleState::Active, Some(start)) => {
                    spans.push((start, t));
                    inactive_since = None;
                }
                _ => {}
            }
        }
        if let Some(start) = inactive_since {
            spans.push((start, until));
        }
        Downtime(spans)
    }

    /// Whether a period starting at `t` is planned downtime.
    pub fn contains(&self, t: Timestamp) -> bool {
        let i = self.0.partition_point(|(start, _)| *start <= t);
        i > 0 && t < self.0[i - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::ScheduleSpec;

    fn calendar() -> Calendar {
        let spec: ScheduleSpec = serde_saphyr::from_str(
            "serviceRefs: [worker]\ntimezone: UTC\nactiveWindows: [{days: [Mon-Fri], start: \"08:00\", end: \"18:00\"}]\n",
        )
        .expect("schedule");
        spec.calendar().expect("calendar")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn downtime_is_the_time_outside_the_active_windows() {
        // Tuesday 2026-12-01 00:00 UTC to Wednesday 12:00.
        let d = Downtime::of(
            &calendar(),
            at("2026-12-01T00:00:00Z"),
            at("2026-12-02T12:00:00Z"),
        );
        assert!(d.contains(at("2026-12-01T07:59:00Z")));
        assert!(!d.contains(at("2026-12-01T08:00:00Z")));
        assert!(!d.contains(at("2026-12-01T17:59:00Z")));
        assert!(d.contains(at("2026-12-01T18:00:00Z")));
        assert!(d.contains(at("2026-12-02T03:00:00Z")));
        assert!(!d.contains(at("2026-12-02T09:00:00Z")));
    }

    #[test]
    fn no_schedule_means_no_downtime() {
        assert!(!Downtime::default().contains(at("2026-12-01T03:00:00Z")));
    }
}
