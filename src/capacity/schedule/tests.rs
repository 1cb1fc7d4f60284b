//! Schedule evaluation: DST in two zones, overnight windows, holidays,
//! overrides, touching windows, day ranges; and properties of transitions.

use jiff::Timestamp;
use proptest::prelude::*;

use super::*;
use crate::model::schedule::ScheduleSpec;

fn calendar(zone: &str, windows: &str, extra: &str) -> Calendar {
    let yaml = format!("serviceRefs: [w]\ntimezone: {zone}\nactiveWindows:\n{windows}{extra}");
    let spec: ScheduleSpec = serde_saphyr::from_str(&yaml).expect("spec parses");
    spec.calendar().expect("calendar")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("RFC 3339 instant")
}

fn active(c: &Calendar, t: &str) -> bool {
    state_at(c, at(t)).is_active()
}

fn next(c: &Calendar, t: &str) -> String {
    state_at(c, at(t))
        .next_transition
        .map(|n| n.to_string())
        .unwrap_or_default()
}

const OFFICE: &str = "  - {days: [Mon-Fri], start: \"08:00\", end: \"18:00\"}\n";

#[test]
fn business_hours_open_on_weekdays_only() {
    let c = calendar("America/New_York", OFFICE, "");
    assert!(active(&c, "2026-11-23T15:00:00Z")); // Mon 10:00 EST
    assert!(!active(&c, "2026-11-28T15:00:00Z")); // Sat
    assert_eq!(next(&c, "2026-11-28T15:00:00Z"), "2026-11-30T13:00:00Z"); // Mon 08:00 EST
    assert_eq!(next(&c, "2026-11-23T15:00:00Z"), "2026-11-23T23:00:00Z"); // Mon 18:00 EST
    assert_eq!(
        state_at(&c, at("2026-11-28T15:00:00Z")).reason,
        "outside the active windows"
    );
}

#[test]
fn new_york_spring_forward_opens_at_the_first_instant_after_the_gap() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    let c = calendar(
        "America/New_York",
        "  - {days: [Sun], start: \"02:30\", end: \"04:00\"}\n",
        "",
    );
    assert_eq!(next(&c, "2026-03-08T05:00:00Z"), "2026-03-08T07:00:00Z"); // 03:00 EDT
    assert!(active(&c, "2026-03-08T07:00:00Z"));
    assert_eq!(next(&c, "2026-03-08T07:00:00Z"), "2026-03-08T08:00:00Z"); // 04:00 EDT
    // A window that ends inside the gap ends at the same first instant after it.
    let ends = calendar(
        "America/New_York",
        "  - {days: [Sun], start: \"01:00\", end: \"02:30\"}\n",
        "",
    );
    assert_eq!(next(&ends, "2026-03-08T06:30:00Z"), "2026-03-08T07:00:00Z");
}

#[test]
fn new_york_fall_back_uses_the_first_occurrence_of_a_repeated_time() {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
    let c = calendar(
        "America/New_York",
        "  - {days: [Sun], start: \"01:30\", end: \"03:00\"}\n",
        "",
    );
    assert_eq!(next(&c, "2026-11-01T04:00:00Z"), "2026-11-01T05:30:00Z"); // first 01:30, EDT
    assert_eq!(next(&c, "2026-11-01T05:30:00Z"), "2026-11-01T08:00:00Z"); // 03:00 EST
}

#[test]
fn london_spring_forward_skips_a_window_inside_the_gap() {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST; 01:00-01:30 does not exist at all.
    let c = calendar(
        "Europe/London",
        "  - {days: [Sun], start: \"01:00\", end: \"01:30\"}\n",
        "",
    );
    assert!(!active(&c, "2026-03-29T01:00:00Z"));
    assert_eq!(next(&c, "2026-03-28T12:00:00Z"), "2026-04-05T00:00:00Z"); // next Sunday 01:00 BST
    // A window touching the gap's end starts exactly at the jump.
    let touching = calendar(
        "Europe/London",
        "  - {days: [Sun], start: \"01:30\", end: \"03:00\"}\n",
        "",
    );
    assert_eq!(
        next(&touching, "2026-03-29T00:00:00Z"),
        "2026-03-29T01:00:00Z"
    );
}

#[test]
fn london_fall_back_ends_at_the_first_occurrence() {
    // 2026-10-25: 02:00 BST falls back to 01:00 GMT; 01:30 happens twice.
    let c = calendar(
        "Europe/London",
        "  - {days: [Sun], start: \"00:30\", end: \"01:30\"}\n",
        "",
    );
    assert_eq!(next(&c, "2026-10-24T22:00:00Z"), "2026-10-24T23:30:00Z"); // 00:30 BST
    assert_eq!(next(&c, "2026-10-24T23:30:00Z"), "2026-10-25T00:30:00Z"); // first 01:30 (BST)
    assert!(!active(&c, "2026-10-25T01:00:00Z")); // the second 01:00-01:30 is outside
}

#[test]
fn overnight_window_runs_into_the_weekend_and_ends_the_next_day() {
    let c = calendar(
        "UTC",
        "  - {days: [Mon-Fri], start: \"22:00\", end: \"06:00\"}\n",
        "",
    );
    assert!(active(&c, "2026-11-28T05:59:00Z")); // Sat early: opened Fri 22:00
    assert!(!active(&c, "2026-11-28T06:00:00Z"));
    assert!(!active(&c, "2026-11-28T23:00:00Z")); // Sat night: no window starts Sat
    assert_eq!(next(&c, "2026-11-28T06:00:00Z"), "2026-11-30T22:00:00Z"); // Mon 22:00
}

#[test]
fn overnight_window_across_a_dst_change_keeps_wall_clock_ends() {
    // Sat 2026-03-07 22:00 EST → Sun 06:00 EDT: 7 hours that night.
    let c = calendar(
        "America/New_York",
        "  - {days: [Sat], start: \"22:00\", end: \"06:00\"}\n",
        "",
    );
    assert_eq!(next(&c, "2026-03-07T12:00:00Z"), "2026-03-08T03:00:00Z");
    assert_eq!(next(&c, "2026-03-08T03:00:00Z"), "2026-03-08T10:00:00Z");
}

#[test]
fn a_window_that_starts_on_a_holiday_does_not_open() {
    let c = calendar("America/New_York", OFFICE, "holidays: [\"2026-12-25\"]\n");
    let christmas = state_at(&c, at("2026-12-25T15:00:00Z"));
    assert!(!christmas.is_active());
    assert_eq!(
        christmas.reason,
        "holiday 2026-12-25: the window does not open"
    );
    assert_eq!(next(&c, "2026-12-24T23:30:00Z"), "2026-12-28T13:00:00Z"); // Mon 08:00
    // An overnight window opened the evening before stays open into the holiday.
    let night = calendar(
        "UTC",
        "  - {days: [Mon-Fri], start: \"22:00\", end: \"06:00\"}\n",
        "holidays: [\"2026-12-25\"]\n",
    );
    assert!(active(&night, "2026-12-25T03:00:00Z"));
    assert!(!active(&night, "2026-12-25T23:00:00Z"));
}

#[test]
fn an_override_that_starts_inside_a_window_and_ends_outside_wins() {
    let extra = "overrides:\n  - {start: \"2026-11-23T17:00:00-05:00\", end: \"2026-11-23T20:00:00-05:00\", state: active, reason: backfill}\n  - {start: \"2026-11-24T10:00:00-05:00\", end: \"2026-11-24T12:00:00-05:00\", state: inactive, reason: maintenance}\n";
    let c = calendar("America/New_York", OFFICE, extra);
    // Mon: the window ends 18:00 but the override keeps it active until 20:00.
    assert_eq!(next(&c, "2026-11-23T15:00:00Z"), "2026-11-24T01:00:00Z");
    let evening = state_at(&c, at("2026-11-24T00:00:00Z"));
    assert!(evening.is_active());
    assert!(evening.reason.contains("backfill"), "{}", evening.reason);
    // Tue: inactive 10:00-12:00 inside the window, active again at 12:00.
    assert!(!active(&c, "2026-11-24T16:00:00Z"));
    assert_eq!(next(&c, "2026-11-24T16:00:00Z"), "2026-11-24T17:00:00Z");
}

#[test]
fn touching_windows_are_one_active_period() {
    let windows = "  - {days: [Mon], start: \"08:00\", end: \"12:00\"}\n  - {days: [Mon], start: \"12:00\", end: \"18:00\"}\n";
    let c = calendar("UTC", windows, "");
    assert_eq!(next(&c, "2026-11-23T09:00:00Z"), "2026-11-23T18:00:00Z");
    assert!(active(&c, "2026-11-23T12:00:00Z"));
}

#[test]
fn transitions_lists_a_week_of_business_hours() {
    let c = calendar("Europe/Berlin", OFFICE, "");
    let week = transitions(&c, at("2026-11-23T00:00:00Z"), at("2026-11-30T00:00:00Z"));
    assert_eq!(week.len(), 10);
    assert_eq!(week[0], (at("2026-11-23T07:00:00Z"), ScheduleState::Active));
    assert_eq!(
        week[1],
        (at("2026-11-23T17:00:00Z"), ScheduleState::Inactive)
    );
}

fn calendars() -> Vec<Calendar> {
    vec![
        calendar(
            "America/New_York",
            OFFICE,
            "holidays: [\"2026-03-09\", \"2026-11-26\"]\n",
        ),
        calendar(
            "Europe/London",
            "  - {days: [Sat-Mon], start: \"22:00\", end: \"01:30\"}\n  - {days: [Sun], start: \"01:00\", end: \"03:00\"}\n",
            "",
        ),
        calendar(
            "Australia/Sydney",
            "  - {days: [Mon-Fri], start: \"02:30\", end: \"02:00\"}\n",
            "overrides:\n  - {start: \"2026-04-05T00:00:00Z\", end: \"2026-04-06T00:00:00Z\", state: inactive, reason: r}\n",
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Between two consecutive transitions the state holds; at each it flips;
    /// transitions strictly increase.
    #[test]
    fn state_is_constant_between_transitions_and_flips_at_each(
        which in 0usize..3,
        start in 1_767_225_600i64..1_798_761_600, // 2026
        probes in prop::collection::vec(0.0f64..1.0, 3),
    ) {
        let c = &calendars()[which];
        let t = Timestamp::from_second(start).expect("instant");
        let first = state_at(c, t);
        let n1 = first.next_transition.expect("weekly windows always change");
        prop_assert!(n1 > t);
        let span = n1.as_second() - t.as_second();
        for p in probes {
            let inside = Timestamp::from_second(t.as_second() + (p * span as f64) as i64).expect("instant");
            prop_assert_eq!(state_at(c, inside).state, first.state, "at {}", inside);
        }
        let second = state_at(c, n1);
        prop_assert_ne!(second.state, first.state);
        let n2 = second.next_transition.expect("changes again");
        prop_assert!(n2 > n1);
    }
}
