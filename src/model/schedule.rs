//! `Schedule`: business-hours capacity of services (SPEC §2.3), and its parsed
//! form, `Calendar`, which schedule evaluation works on.

pub mod calendar;

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind, Reference, Spec};

pub use calendar::{Calendar, Days, OverridePeriod, TimeOfDay, Window};

/// Active windows in a time zone, with holidays and explicit overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Names of the `Service` documents whose capacity this schedule decides; at least one.
    pub service_refs: Vec<String>,
    /// IANA time zone the windows and holidays are written in, e.g. `America/New_York`.
    pub timezone: String,
    /// When the services are active; at least one window. Windows that touch or overlap are one period.
    pub active_windows: Vec<ActiveWindow>,
    /// Local dates `YYYY-MM-DD`; a window that starts on a holiday does not open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holidays: Option<Vec<String>>,
    /// Desired count outside the active windows; default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_desired_count: Option<u32>,
    /// Explicit periods that win over windows and holidays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<Vec<Override>>,
}

/// A weekly window of wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActiveWindow {
    /// Days the window starts on: `Mon` … `Sun` or ranges such as `Mon-Fri` or `Fri-Mon`.
    pub days: Vec<String>,
    /// Local start, `HH:MM` from `00:00` to `23:59`.
    pub start: String,
    /// Local end, `HH:MM` up to `24:00`; an end before the start ends the next day.
    pub end: String,
}

/// A one-off period that forces the services active or inactive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Override {
    /// RFC 3339 instant the override begins, e.g. `2025-03-09T20:00:00-05:00`.
    pub start: String,
    /// RFC 3339 instant the override ends (exclusive); after `start`.
    pub end: String,
    /// The state the services are held in.
    pub state: ScheduleState,
    /// Why, e.g. "keep workers up tonight for the backfill".
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleState {
    Active,
    Inactive,
}

impl ScheduleSpec {
    pub fn inactive_desired_count(&self) -> u32 {
        self.inactive_desired_count.unwrap_or(0)
    }

    /// The parsed schedule, or the first problem `validate` would report.
    pub fn calendar(&self) -> Result<Calendar, String> {
        let mut problems = Vec::new();
        let calendar = self.parse(&mut problems);
        match (calendar, problems.into_iter().next()) {
            (Some(c), None) => Ok(c),
            (_, Some((field, message))) => Err(format!("{field}: {message}")),
            (None, None) => Err("spec: the schedule does not parse".to_owned()),
        }
    }

    /// Parses every field, pushing `(field, message)` for each problem.
    fn parse(&self, problems: &mut Vec<(String, String)>) -> Option<Calendar> {
        let mut fail = |field: String, message: String| problems.push((field, message));
        let timezone = TimeZone::get(&self.timezone)
            .map_err(|_| {
                let m = format!(
                    "`{}` is not an IANA time zone: expected e.g. America/New_York or UTC",
                    self.timezone
                );
                fail("spec.timezone".into(), m);
            })
            .ok();
        if self.active_windows.is_empty() {
            fail(
                "spec.activeWindows".into(),
                "must list at least one window".into(),
            );
        }
        let mut windows = Vec::new();
        for (i, w) in self.active_windows.iter().enumerate() {
            let at = format!("spec.activeWindows[{i}]");
            let mut days = Days::default();
            if w.days.is_empty() {
                fail(
                    format!("{at}.days"),
                    "must list at least one day, e.g. [Mon-Fri]".into(),
                );
            }
            for (j, entry) in w.days.iter().enumerate() {
                match Days::parse(entry) {
                    Ok(d) => days = days.union(d),
                    Err(m) => fail(format!("{at}.days[{j}]"), m),
                }
            }
            let start =
                TimeOfDay::parse(&w.start, false).map_err(|m| fail(format!("{at}.start"), m));
            let end = TimeOfDay::parse(&w.end, true).map_err(|m| fail(format!("{at}.end"), m));
            if let (Ok(start), Ok(end)) = (start, end) {
                if start == end {
                    let m = format!(
                        "must differ from start ({start}): for a whole day use 00:00 to 24:00"
                    );
                    fail(format!("{at}.end"), m);
                } else if !days.is_empty() {
                    windows.push(Window { days, start, end });
                }
            }
        }
        let mut holidays = BTreeSet::new();
        for (i, text) in self.holidays.iter().flatten().enumerate() {
            match text.parse::<Date>() {
                Ok(d) if text.len() == 10 => {
                    holidays.insert(d);
                }
                _ => fail(
                    format!("spec.holidays[{i}]"),
                    format!("`{text}` is not a date: expected YYYY-MM-DD"),
                ),
            }
        }
        let mut overrides: Vec<OverridePeriod> = Vec::new();
        for (i, o) in self.overrides.iter().flatten().enumerate() {
            let at = format!("spec.overrides[{i}]");
            let instant = |field: &str, text: &str| {
                text.parse::<Timestamp>().map_err(|_| {
                    (
                        format!("{at}.{field}"),
                        format!("`{text}` is not an RFC 3339 time: expected e.g. 2025-03-09T20:00:00-05:00"),
                    )
                })
            };
            let (start, end) = (instant("start", &o.start), instant("end", &o.end));
            if o.reason.trim().is_empty() {
                fail(
                    format!("{at}.reason"),
                    "must say why, e.g. \"keep workers up for the backfill\"".into(),
                );
            }
            let (start, end) = match (start, end) {
                (Ok(s), Ok(e)) => (s, e),
                (s, e) => {
                    s.err()
                        .into_iter()
                        .chain(e.err())
                        .for_each(|(f, m)| fail(f, m));
                    continue;
                }
            };
            if end <= start {
                fail(
                    format!("{at}.end"),
                    format!("must be after start ({})", o.start),
                );
                continue;
            }
            if let Some(j) = overrides
                .iter()
                .position(|p| p.state != o.state && p.start < end && start < p.end)
            {
                let m = format!(
                    "overlaps spec.overrides[{j}] with the opposite state: overlapping overrides must agree"
                );
                fail(at, m);
            }
            overrides.push(OverridePeriod {
                start,
                end,
                state: o.state,
                reason: o.reason.clone(),
            });
        }
        let ok = problems.is_empty();
        timezone.filter(|_| ok).map(|timezone| Calendar {
            timezone,
            windows,
            holidays,
            overrides,
            inactive_desired_count: self.inactive_desired_count(),
        })
    }
}

impl Spec for ScheduleSpec {
    const KIND: Kind = Kind::Schedule;

    fn validate(&self, cx: &mut Cx<'_>) {
        if self.service_refs.is_empty() {
            cx.error("spec.serviceRefs", "must name at least one Service");
        }
        let mut seen = BTreeSet::new();
        for (i, name) in self.service_refs.iter().enumerate() {
            if !seen.insert(name) {
                cx.error(
                    &format!("spec.serviceRefs[{i}]"),
                    format!("Service `{name}` is listed twice"),
                );
            }
        }
        let mut problems = Vec::new();
        self.parse(&mut problems);
        for (field, message) in problems {
            cx.error(&field, message);
        }
    }

    fn references(&self) -> Vec<Reference> {
        self.service_refs
            .iter()
            .enumerate()
            .map(|(i, name)| Reference {
                field: format!("spec.serviceRefs[{i}]"),
                kind: Kind::Service,
                name: name.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{errors, references, spec};
    use jiff::civil::Weekday;

    const OFFICE: &str = "serviceRefs: [web, worker]\ntimezone: America/New_York\nactiveWindows:\n  - {days: [Mon-Fri], start: '08:00', end: '18:00'}\n";

    fn schedule(extra: &str) -> Vec<String> {
        errors::<ScheduleSpec>(&format!("{OFFICE}{extra}"))
    }

    #[test]
    fn schedule_business_hours_parse_into_a_calendar() {
        let s = spec::<ScheduleSpec>(&format!("{OFFICE}holidays: ['2025-12-25']\n"));
        let c = s.calendar().expect("valid schedule");
        let w = c.windows[0];
        assert!(w.days.contains(Weekday::Monday) && w.days.contains(Weekday::Friday));
        assert!(!w.days.contains(Weekday::Saturday));
        assert_eq!((w.start.hour, w.start.minute, w.end.hour), (8, 0, 18));
        assert!(!w.is_overnight());
        assert_eq!(c.inactive_desired_count, 0);
        assert!(c.holidays.contains(&jiff::civil::date(2025, 12, 25)));
        assert_eq!(c.timezone.iana_name(), Some("America/New_York"));
        assert_eq!(
            references(&s),
            [
                "spec.serviceRefs[0] -> Service/web",
                "spec.serviceRefs[1] -> Service/worker"
            ]
        );
    }

    #[test]
    fn schedule_reads_unquoted_times_and_dates_as_text() {
        let s = spec::<ScheduleSpec>(
            "serviceRefs: [web]\ntimezone: UTC\nactiveWindows: [{days: [Sat], start: 08:00, end: 24:00}]\nholidays: [2025-12-25]\n",
        );
        assert_eq!(
            (
                s.active_windows[0].start.as_str(),
                s.active_windows[0].end.as_str()
            ),
            ("08:00", "24:00")
        );
        assert!(s.calendar().is_ok());
    }

    #[test]
    fn schedule_rejects_unknown_timezones() {
        let e = errors::<ScheduleSpec>(&OFFICE.replace("America/New_York", "Mars/Olympus"));
        assert_eq!(
            e,
            [
                "spec.timezone: `Mars/Olympus` is not an IANA time zone: expected e.g. America/New_York or UTC"
            ]
        );
    }

    #[test]
    fn schedule_rejects_bad_days_and_times() {
        let e = schedule(
            "  - {days: [Monday, Mon-Mon], start: '8:00', end: '23:60'}\n  - {days: [], start: '24:00', end: '24:00'}\n  - {days: [Sat], start: '09:30', end: '09:30'}\n",
        );
        assert_eq!(
            e,
            [
                "spec.activeWindows[1].days[0]: `Monday` is not a day: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun, or a range like Mon-Fri",
                "spec.activeWindows[1].days[1]: `Mon-Mon` is not a range: write `Mon`",
                "spec.activeWindows[1].start: `8:00` is not a time: expected HH:MM from 00:00 to 23:59",
                "spec.activeWindows[1].end: `23:60` is not a time: expected HH:MM from 00:00 to 24:00",
                "spec.activeWindows[2].days: must list at least one day, e.g. [Mon-Fri]",
                "spec.activeWindows[2].start: `24:00` is only allowed as an end: a start at midnight is 00:00",
                "spec.activeWindows[3].end: must differ from start (09:30): for a whole day use 00:00 to 24:00",
            ]
        );
    }

    #[test]
    fn schedule_needs_unique_services_and_a_window() {
        let e = errors::<ScheduleSpec>("serviceRefs: []\ntimezone: UTC\nactiveWindows: []\n");
        assert_eq!(
            e,
            [
                "spec.serviceRefs: must name at least one Service",
                "spec.activeWindows: must list at least one window",
            ]
        );
        let e = errors::<ScheduleSpec>(&OFFICE.replace("worker", "web"));
        assert_eq!(e, ["spec.serviceRefs[1]: Service `web` is listed twice"]);
    }

    #[test]
    fn schedule_rejects_impossible_holidays() {
        let e = schedule("holidays: ['2025-02-30', '2025-2-3', '2025-12-25']\n");
        assert_eq!(
            e,
            [
                "spec.holidays[0]: `2025-02-30` is not a date: expected YYYY-MM-DD",
                "spec.holidays[1]: `2025-2-3` is not a date: expected YYYY-MM-DD",
            ]
        );
    }

    #[test]
    fn schedule_checks_overrides() {
        let e = schedule(concat!(
            "overrides:\n",
            "  - {start: '2025-03-09T20:00:00-05:00', end: '2025-03-10T06:00:00-05:00', state: active, reason: backfill}\n",
            "  - {start: tonight, end: '2025-03-10T06:00:00Z', state: active, reason: x}\n",
            "  - {start: '2025-03-10T06:00:00Z', end: '2025-03-10T05:00:00Z', state: inactive, reason: ' '}\n",
            "  - {start: '2025-03-10T00:00:00Z', end: '2025-03-10T02:00:00Z', state: inactive, reason: freeze}\n",
        ));
        assert_eq!(
            e,
            [
                "spec.overrides[1].start: `tonight` is not an RFC 3339 time: expected e.g. 2025-03-09T20:00:00-05:00",
                "spec.overrides[2].reason: must say why, e.g. \"keep workers up for the backfill\"",
                "spec.overrides[2].end: must be after start (2025-03-10T06:00:00Z)",
                "spec.overrides[3]: overlaps spec.overrides[0] with the opposite state: overlapping overrides must agree",
            ]
        );
    }

    #[test]
    fn schedule_override_in_force_is_found_by_instant() {
        let s = spec::<ScheduleSpec>(&format!(
            "{OFFICE}inactiveDesiredCount: 1\noverrides: [{{start: '2025-03-09T20:00:00Z', end: '2025-03-10T06:00:00Z', state: active, reason: backfill}}]\n"
        ));
        let c = s.calendar().expect("valid schedule");
        assert_eq!(c.inactive_desired_count, 1);
        let at = |t: &str| {
            c.override_at(t.parse().expect("valid instant"))
                .map(|o| o.state)
        };
        assert_eq!(at("2025-03-09T20:00:00Z"), Some(ScheduleState::Active));
        assert_eq!(at("2025-03-10T06:00:00Z"), None);
    }
}
