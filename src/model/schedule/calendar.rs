//! The parsed form of a Schedule: weekday sets, times of day, windows and
//! overrides as values schedule evaluation can compute with.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::ScheduleState;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Days(u8);

impl Days {
    fn bit(day: Weekday) -> u8 {
        1 << day.to_monday_zero_offset()
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Days::bit(day) != 0
    }

    pub fn insert(&mut self, day: Weekday) {
        self.0 |= Days::bit(day);
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Days) -> Days {
        Days(self.0 | other.0)
    }

    /// The days in the set, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        WEEKDAYS.into_iter().filter(move |d| self.contains(*d))
    }

    /// `Mon` … `Sun`, or an inclusive range `Mon-Fri` that may wrap (`Fri-Mon`).
    pub fn parse(entry: &str) -> Result<Days, String> {
        let day = |name: &str| DAY_NAMES.iter().position(|d| *d == name);
        let bad = || {
            format!(
                "`{entry}` is not a day: expected Mon, Tue, Wed, Thu, Fri, Sat or Sun, or a range like Mon-Fri"
            )
        };
        let (first, last) = match entry.split_once('-') {
            Some((a, b)) => (day(a).ok_or_else(bad)?, day(b).ok_or_else(bad)?),
            None => (day(entry).ok_or_else(bad)?, day(entry).ok_or_else(bad)?),
        };
        if first == last && entry.contains('-') {
            return Err(format!(
                "`{entry}` is not a range: write `{}`",
                DAY_NAMES[first]
            ));
        }
        let mut days = Days::default();
        let mut i = first;
        loop {
            days.insert(WEEKDAYS[i]);
            if i == last {
                return Ok(days);
            }
            i = (i + 1) % 7;
        }
    }
}

/// A wall-clock time of day, `00:00` to `24:00` (the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl TimeOfDay {
    /// `HH:MM`, `00:00` to `23:59`, or `24:00` when `end_of_day` is allowed.
    pub fn parse(text: &str, end_of_day: bool) -> Result<TimeOfDay, String> {
        let last = if end_of_day { "24:00" } else { "23:59" };
        let bad = || format!("`{text}` is not a time: expected HH:MM from 00:00 to {last}");
        let b = text.as_bytes();
        if b.len() != 5
            || b[2] != b':'
            || !text
                .chars()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let (hour, minute) = (
            (b[0] - b'0') * 10 + (b[1] - b'0'),
            (b[3] - b'0') * 10 + (b[4] - b'0'),
        );
        match (hour, minute) {
            (24, 0) if end_of_day => Ok(TimeOfDay { hour, minute }),
            (24, 0) => Err(format!(
                "`{text}` is only allowed as an end: a start at midnight is 00:00"
            )),
            (0..=23, 0..=59) => Ok(TimeOfDay { hour, minute }),
            _ => Err(bad()),
        }
    }

    /// Minutes since midnight, 0 to 1440.
    pub fn minutes(self) -> u16 {
        u16::from(self.hour) * 60 + u16::from(self.minute)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// A parsed active window: it opens at `start` on each of `days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub days: Days,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

impl Window {
    /// Whether the window ends on the day after it starts (`end <= start`, or `24:00`).
    pub fn is_overnight(&self) -> bool {
        self.end <= self.start || self.end.minutes() == 1440
    }

    /// Length in minutes, 1 to 1440; `end <= start` wraps past midnight.
    pub fn length_minutes(&self) -> u16 {
        let (s, e) = (self.start.minutes(), self.end.minutes());
        if e > s { e - s } else { e + 1440 - s }
    }

    /// Local wall-clock start and end of the occurrence that starts on `date`.
    /// Mapping them to instants (DST gaps and folds) is up to the evaluator.
    pub fn occurrence(&self, date: Date) -> (DateTime, DateTime) {
        let midnight = date.to_datetime(jiff::civil::Time::midnight());
        let start = midnight.saturating_add(i64::from(self.start.minutes()).minutes());
        (
            start,
            start.saturating_add(i64::from(self.length_minutes()).minutes()),
        )
    }
}

/// A parsed override: `[start, end)` held in `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverridePeriod {
    pub start: Timestamp,
    pub end: Timestamp,
    pub state: ScheduleState,
    pub reason: String,
}

/// A Schedule with every field parsed: what schedule evaluation works on.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// The zone every window time and holiday is read in.
    pub timezone: TimeZone,
    /// Weekly windows; they may touch or overlap (one active period then).
    pub windows: Vec<Window>,
    /// Local dates on which windows do not open (a window open at midnight stays open).
    pub holidays: BTreeSet<Date>,
    /// One-off periods that win over windows and holidays; overlapping ones agree.
    pub overrides: Vec<OverridePeriod>,
    /// Desired count while inactive.
    pub inactive_desired_count: u32,
}

impl Calendar {
    /// The override in force at `t`, if any (overlapping overrides agree on the state).
    pub fn override_at(&self, t: Timestamp) -> Option<&OverridePeriod> {
        self.overrides.iter().find(|o| o.start <= t && t < o.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_ranges_wrap_around_the_week() {
        let days: Vec<Weekday> = Days::parse("Fri-Mon")
            .expect("valid range")
            .iter()
            .collect();
        assert_eq!(
            days,
            [
                Weekday::Monday,
                Weekday::Friday,
                Weekday::Saturday,
                Weekday::Sunday
            ]
        );
        assert_eq!(Days::parse("Wed").expect("valid day").iter().count(), 1);
        assert_eq!(
            Days::parse("Mon-Sun").expect("valid range").iter().count(),
            7
        );
    }

    #[test]
    fn overnight_window_ends_the_next_day() {
        let w = Window {
            days: Days::parse("Fri").expect("valid day"),
            start: TimeOfDay::parse("22:00", false).expect("valid"),
            end: TimeOfDay::parse("06:00", true).expect("valid"),
        };
        assert!(w.is_overnight());
        assert_eq!(w.length_minutes(), 480);
        let (start, end) = w.occurrence(jiff::civil::date(2025, 1, 31));
        assert_eq!(start, jiff::civil::date(2025, 1, 31).at(22, 0, 0, 0));
        assert_eq!(end, jiff::civil::date(2025, 2, 1).at(6, 0, 0, 0));
        let all_day = Window {
            start: TimeOfDay { hour: 0, minute: 0 },
            end: TimeOfDay {
                hour: 24,
                minute: 0,
            },
            ..w
        };
        assert_eq!(all_day.length_minutes(), 1440);
    }

    #[test]
    fn times_of_day_are_hh_mm_with_24_00_only_as_an_end() {
        let t = TimeOfDay::parse("07:45", false).expect("valid");
        assert_eq!((t.minutes(), t.to_string()), (465, "07:45".to_owned()));
        assert_eq!(
            TimeOfDay::parse("24:00", true).map(TimeOfDay::minutes),
            Ok(1440)
        );
        assert!(TimeOfDay::parse("24:00", false).is_err());
        for bad in ["7:45", "07:4", "07-45", "24:01", "+1:00", "0a:00"] {
            assert!(TimeOfDay::parse(bad, true).is_err(), "{bad}");
        }
    }
}
