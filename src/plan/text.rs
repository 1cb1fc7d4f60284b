//! The plan as a person reads it: one block per resource, `field: actual → desired`.

use std::fmt::Write;

use super::service::rollout::HealthState;
use super::{Action, Plan, Step};

/// Renders the plan; `colour` adds ANSI colours (only on a terminal).
pub fn render(plan: &Plan, colour: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for revision {} (instance {}) at {}\n",
        plan.revision, plan.instance, plan.at
    );
    let mut in_sync = 0;
    for step in &plan.steps {
        match step.action {
            // In sync and nothing to say: counted, not shown. Field-owner and
            // schedule notes are worth a line even when nothing is written.
            Action::InSync if step.paused.is_none() && step.notes.is_empty() && !degraded(step) => {
                in_sync += 1
            }
            Action::InSync if step.paused.is_none() => {
                in_sync += 1;
                let _ = writeln!(out, "  {}  {}  (in sync)", step.resource, step.target);
                health_line(&mut out, step, colour);
                for note in &step.notes {
                    let _ = writeln!(out, "    # {note}");
                }
                out.push('\n');
            }
            _ => render_step(&mut out, step, colour),
        }
    }
    for s in &plan.schedules {
        let state = match s.state {
            crate::model::schedule::ScheduleState::Active => "active",
            crate::model::schedule::ScheduleState::Inactive => "inactive",
        };
        let until = match (&s.next_transition_local, &s.next_transition) {
            (Some(local), Some(utc)) => format!(" until {local} ({utc})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{} Schedule/{}  {state} ({}){until}\n    services: {}\n",
            paint("@", "36", colour),
            s.name,
            s.reason,
            s.services.join(", ")
        );
    }
    if let Some(why) = &plan.refused {
        let _ = writeln!(
            out,
            "{}\n",
            paint(&format!("deletions {why}"), "31", colour)
        );
    }
    let counts = [
        (Action::Create, "to create"),
        (Action::Update, "to update"),
        (Action::Adopt, "to adopt"),
        (Action::Delete, "to delete"),
        (Action::Replace, "to replace"),
        (Action::RequiresReplacement, "requiring replacement"),
        (Action::Orphaned, "orphaned"),
        (Action::Blocked, "blocked"),
    ];
    let mut parts: Vec<String> = counts
        .iter()
        .map(|(a, label)| (plan.count(*a), label))
        .filter(|(n, _)| *n > 0)
        .map(|(n, label)| format!("{n} {label}"))
        .collect();
    parts.push(format!("{in_sync} in sync"));
    let headline = if plan.has_changes() {
        "Plan"
    } else {
        "No changes"
    };
    let _ = writeln!(out, "{headline}: {}.", parts.join(", "));
    out
}

fn render_step(out: &mut String, step: &Step, colour: bool) {
    let code = match step.action {
        Action::Create => "32",
        Action::Update => "33",
        Action::Adopt => "36",
        Action::Delete
        | Action::Orphaned
        | Action::Replace
        | Action::RequiresReplacement
        | Action::Blocked => "31",
        Action::InSync => "2",
    };
    let marker = paint(step.action.marker(), code, colour);
    let mut label = step.action.label().to_owned();
    if let Some(reason) = &step.paused {
        label = format!("{label}; paused: {reason}, nothing is written");
    }
    let _ = writeln!(
        out,
        "{marker} {}  {}  ({label})",
        step.resource, step.target
    );
    for c in &step.changes {
        let by = c
            .decided_by
            .as_ref()
            .map(|d| format!("  [{d}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {}: {} → {}{by}",
            c.field,
            value(&c.actual),
            value(&c.desired)
        );
    }
    health_line(out, step, colour);
    for note in &step.notes {
        let _ = writeln!(out, "    # {note}");
    }
    out.push('\n');
}

fn degraded(step: &Step) -> bool {
    step.health
        .as_ref()
        .is_some_and(|h| h.state == HealthState::Degraded)
}

/// `    health: degraded (rollout of web:43 failed: …) [ecs-svc/1, since …]`
fn health_line(out: &mut String, step: &Step, colour: bool) {
    let Some(h) = &step.health else {
        return;
    };
    let code = match h.state {
        HealthState::Healthy => "32",
        HealthState::Progressing => "33",
        HealthState::Degraded => "31",
    };
    let reason = h
        .reason
        .as_ref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let mut about: Vec<String> = Vec::new();
    about.extend(h.revision.clone());
    about.extend(h.deployment.clone());
    about.extend(h.since.map(|t| format!("since {t}")));
    let about = if about.is_empty() {
        String::new()
    } else {
        format!("  [{}]", about.join(", "))
    };
    let _ = writeln!(
        out,
        "    health: {}{reason}{about}",
        paint(h.state.key(), code, colour)
    );
}

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}
