//! Schedule evaluation, pure: whether a Schedule is active at an instant, why,
//! and when that next changes (SPEC §2.3).
//!
//! Wall-clock times are read in the Schedule's zone. A local time that does not
//! exist (spring forward) happens at the first instant after the gap; an
//! ambiguous one (fall back) at its first occurrence. Windows that touch or
//! overlap are one active period. A window that starts on a holiday does not
//! open. Overrides win over windows and holidays.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

use crate::model::schedule::ScheduleState;
use crate::model::schedule::calendar::Calendar;

/// The state of a Schedule at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub state: ScheduleState,
    /// Why, for people: the window, the holiday or the override.
    pub reason: String,
    /// The next instant the state changes; `None` if it never does within a year.
    pub next_transition: Option<Timestamp>,
    /// The same instant in the Schedule's zone, e.g. `Mon 2026-11-30 08:00 America/New_York`.
    pub next_local: Option<String>,
}

impl Evaluation {
    pub fn is_active(&self) -> bool {
        self.state == ScheduleState::Active
    }
}

/// How far ahead `next_transition` looks (a year of weeks: long holiday runs fit).
const HORIZON_WEEKS: i64 = 53;

/// Evaluates `calendar` at `t`.
pub fn state_at(calendar: &Calendar, t: Timestamp) -> Evaluation {
    let state = state(calendar, t);
    let next_transition = next_transition(calendar, t, state);
    Evaluation {
        state,
        reason: reason(calendar, t, state),
        next_transition,
        next_local: next_transition.map(|n| local(calendar, n)),
    }
}

/// Every transition in `[from, until)`, with the state it starts.
pub fn transitions(
    calendar: &Calendar,
    from: Timestamp,
    until: Timestamp,
) -> Vec<(Timestamp, ScheduleState)> {
    let mut out = Vec::new();
    let mut at = from;
    let mut current = state(calendar, at);
    while let Some(next) = next_transition(calendar, at, current) {
        if next >= until {
            break;
        }
        current = state(calendar, next);
        out.push((next, current));
        at = next;
    }
    out
}

fn state(calendar: &Calendar, t: Timestamp) -> ScheduleState {
    match calendar.override_at(t) {
        Some(o) => o.state,
        None if in_window(calendar, t, true) => ScheduleState::Active,
        None => ScheduleState::Inactive,
    }
}

fn local_date(tz: &TimeZone, t: Timestamp) -> Date {
    t.to_zoned(tz.clone()).date()
}

/// Whether `t` is inside a window occurrence (one that opened on a holiday
/// counts only when `skip_holidays` is false).
fn in_window(calendar: &Calendar, t: Timestamp, skip_holidays: bool) -> bool {
    let today = local_date(&calendar.timezone, t);
    // An occurrence lasts at most a day, so it started today or yesterday
    // (two days back covers DST-shifted edges).
    periods(calendar, add_days(today, -2), today, skip_holidays)
        .iter()
        .any(|(s, e)| *s <= t && t < *e)
}

/// Window occurrences that start on local dates `from..=to`, as instants.
fn periods(
    calendar: &Calendar,
    from: Date,
    to: Date,
    skip_holidays: bool,
) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut date = from;
    while date <= to {
        let holiday = skip_holidays && calendar.holidays.contains(&date);
        for w in calendar
            .windows
            .iter()
            .filter(|w| w.days.contains(date.weekday()))
        {
            if holiday {
                continue;
            }
            let (start, end) = w.occurrence(date);
            let (start, end) = (
                instant(&calendar.timezone, start),
                instant(&calendar.timezone, end),
            );
            if start < end {
                out.push((start, end));
            }
        }
        date = add_days(date, 1);
    }
    out
}

fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(days.days()).unwrap_or(date)
}

/// A wall-clock time in `tz` as an instant: a time in a gap happens at the
/// first instant after the gap; a time in a fold at its first occurrence.
pub fn instant(tz: &TimeZone, dt: DateTime) -> Timestamp {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    let fallback = || ambiguous.compatible().unwrap_or(Timestamp::UNIX_EPOCH);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            offset.to_timestamp(dt).unwrap_or_else(|_| fallback())
        }
        AmbiguousOffset::Fold { before, .. } => {
            before.to_timestamp(dt).unwrap_or_else(|_| fallback())
        }
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the later offset, the time lands before the transition;
            // the transition itself is the first instant after the gap.
            let inside = after.to_timestamp(dt).unwrap_or_else(|_| fallback());
            tz.following(inside)
                .next()
                .map(|tr| tr.timestamp())
                .unwrap_or_else(fallback)
        }
    }
}

fn next_transition(calendar: &Calendar, t: Timestamp, current: ScheduleState) -> Option<Timestamp> {
    let tz = &calendar.timezone;
    let today = local_date(tz, t);
    let mut after = t;
    for week in 0..HORIZON_WEEKS {
        let first = add_days(today, week * 7 - 2);
        let last = add_days(today, week * 7 + 7);
        let limit = instant(
            tz,
            add_days(last, 1).to_datetime(jiff::civil::Time::midnight()),
        );
        let mut candidates: Vec<Timestamp> = periods(calendar, first, last, true)
            .into_iter()
            .flat_map(|(s, e)| [s, e])
            .chain(calendar.overrides.iter().flat_map(|o| [o.start, o.end]))
            .filter(|c| *c > after && *c <= limit)
            .collect();
        candidates.sort();
        candidates.dedup();
        if let Some(flip) = candidates
            .into_iter()
            .find(|c| state(calendar, *c) != current)
        {
            return Some(flip);
        }
        after = limit;
    }
    None
}

fn reason(calendar: &Calendar, t: Timestamp, state: ScheduleState) -> String {
    if let Some(o) = calendar.override_at(t) {
        return format!("override until {}: {}", local(calendar, o.end), o.reason);
    }
    match state {
        ScheduleState::Active => "inside an active window".to_owned(),
        ScheduleState::Inactive if in_window(calendar, t, false) => {
            format!(
                "holiday {}: the window does not open",
                local_date(&calendar.timezone, t)
            )
        }
        ScheduleState::Inactive => "outside the active windows".to_owned(),
    }
}

/// `Mon 08:00 America/New_York`: an instant as people of that zone say it.
pub fn local(calendar: &Calendar, t: Timestamp) -> String {
    let zoned = t.to_zoned(calendar.timezone.clone());
    let name = calendar.timezone.iana_name().unwrap_or("UTC");
    format!("{} {name}", zoned.strftime("%a %Y-%m-%d %H:%M"))
}

#[cfg(test)]
mod tests;
