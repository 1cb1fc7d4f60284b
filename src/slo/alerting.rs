//! The paging state machine of one SLO and severity, pure.
//!
//! ```text
//!            condition holds                 still holds, repeatInterval since the last message
//!   OK ───────────────────────▶ FIRING ──▶ (repeat)
//!    ▲                             │
//!    └──── RESOLVED ◀──────────────┘ condition false for RESOLVE_AFTER evaluations in a row
//! ```
//!
//! Hysteresis: a condition that comes back before `RESOLVE_AFTER` clear
//! evaluations continues the same episode, so a flapping SLO pages once. An
//! evaluation without data (a failed read) changes nothing.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Clear evaluations in a row that end an episode (3 minutes at the default `--slo-interval`).
pub const RESOLVE_AFTER: u32 = 3;

/// Where one SLO and severity stands; kept in the notifier's state file so a
/// restart does not page an episode again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// Start of the current episode; `None` when OK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firing_since: Option<Timestamp>,
    /// Last page or repeat of this episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent: Option<Timestamp>,
    /// Clear evaluations in a row during an episode.
    #[serde(default)]
    pub clear: u32,
}

/// A message the state machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Notice {
    Firing,
    Repeat,
    Resolved,
}

impl AlertState {
    pub fn is_firing(&self) -> bool {
        self.firing_since.is_some()
    }

    /// One evaluation: `condition` is whether a rule of this severity holds,
    /// `None` when it could not be evaluated. `repeat` is in seconds.
    pub fn step(&mut self, condition: Option<bool>, now: Timestamp, repeat: i64) -> Option<Notice> {
        let holds = condition?;
        match (self.is_firing(), holds) {
            (false, false) => None,
            (false, true) => {
                *self = AlertState {
                    firing_since: Some(now),
                    last_sent: Some(now),
                    clear: 0,
                };
                Some(Notice::Firing)
            }
            (true, true) => {
                self.clear = 0;
                let due = self
                    .last_sent
                    .is_none_or(|last| now.as_second() - last.as_second() >= repeat);
                if due {
                    self.last_sent = Some(now);
                    Some(Notice::Repeat)
                } else {
                    None
                }
            }
            (true, false) => {
                self.clear += 1;
                if self.clear >= RESOLVE_AFTER {
                    *self = AlertState::default();
                    Some(Notice::Resolved)
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + min * 60).expect("valid")
    }

    const FOUR_HOURS: i64 = 4 * 3600;

    fn run(conditions: &[Option<bool>]) -> Vec<(i64, Notice)> {
        let mut state = AlertState::default();
        conditions
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let i = i as i64;
                state.step(*c, t(i), FOUR_HOURS).map(|n| (i, n))
            })
            .collect()
    }

    #[test]
    fn a_breach_pages_once_and_resolves_after_three_clear_evaluations() {
        let got = run(&[
            Some(false),
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            Some(false),
            Some(false),
            Some(false),
        ]);
        assert_eq!(got, [(1, Notice::Firing), (6, Notice::Resolved)]);
    }

    #[test]
    fn a_flapping_condition_stays_one_episode() {
        let flapping: Vec<Option<bool>> = (0..40).map(|i| Some(i % 3 != 2)).collect();
        let got = run(&flapping);
        assert_eq!(got, [(0, Notice::Firing)]);
    }

    #[test]
    fn a_long_breach_repeats_after_the_repeat_interval() {
        let mut state = AlertState::default();
        assert_eq!(state.step(Some(true), t(0), 3600), Some(Notice::Firing));
        assert_eq!(state.step(Some(true), t(59), 3600), None);
        assert_eq!(state.step(Some(true), t(60), 3600), Some(Notice::Repeat));
        assert_eq!(state.step(Some(true), t(61), 3600), None);
        assert_eq!(state.last_sent, Some(t(60)));
        assert_eq!(state.firing_since, Some(t(0)));
    }

    #[test]
    fn an_evaluation_without_data_changes_nothing() {
        let got = run(&[Some(true), None, None, None, None, Some(true)]);
        assert_eq!(got, [(0, Notice::Firing)]);
        let mut state = AlertState::default();
        assert_eq!(state.step(None, t(0), FOUR_HOURS), None);
        assert_eq!(state, AlertState::default());
    }

    #[test]
    fn a_restored_state_does_not_page_the_same_episode_again() {
        let mut state = AlertState::default();
        state.step(Some(true), t(0), FOUR_HOURS);
        let saved = serde_json::to_string(&state).expect("serialise");
        let mut restored: AlertState = serde_json::from_str(&saved).expect("parse");
        assert_eq!(restored, state);
        assert_eq!(restored.step(Some(true), t(5), FOUR_HOURS), None);
        assert!(restored.is_firing());
    }
}
