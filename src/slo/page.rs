//! SLO pages, repeats and RESOLVED messages: subject and body (JSON
//! `ecs-operator/slo-page/v1` or text), with the drift seen on the service. Pure.

use std::fmt::Write;

use jiff::Timestamp;
use serde::Serialize;

use crate::model::duration::Duration;
use crate::model::slo::BurnSeverity;
use crate::notify::report::{self, Item};
use crate::slo::Evaluation;
use crate::slo::alerting::Notice;

pub const SCHEMA: &str = "ecs-operator/slo-page/v1";

/// One SLO message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<'a> {
    /// One line a person can read: the first field on purpose.
    pub summary: String,
    pub schema: &'static str,
    pub event: &'static str,
    pub severity: &'static str,
    /// `firing`, `repeat` or `resolved`.
    pub state: Notice,
    pub instance: &'a str,
    pub slo: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'a str>,
    pub objective: f64,
    pub window: Duration,
    pub error_budget_remaining: Option<f64>,
    pub burn_rates: Vec<WindowRate>,
    pub rules: &'a [crate::slo::RuleResult],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firing_since: Option<Timestamp>,
    pub at: Timestamp,
    /// Drift detected or corrected on the SLO's service in the last hour.
    pub drift: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowRate {
    pub window: Duration,
    #[serde(rename = "burnRate")]
    pub burn_rate: Option<f64>,
}

fn severity_key(s: BurnSeverity) -> &'static str {
    match s {
        BurnSeverity::Page => "page",
        BurnSeverity::Ticket => "ticket",
    }
}

fn rate(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) => format!("{r:.1}x"),
        None => "no data".to_owned(),
    }
}

/// The message for `notice` on `evaluation` at `severity`.
pub fn page<'a>(
    evaluation: &'a Evaluation,
    severity: BurnSeverity,
    notice: Notice,
    instance: &'a str,
    firing_since: Option<Timestamp>,
    drift: Vec<Item>,
    at: Timestamp,
) -> Page<'a> {
    let worst = evaluation.worst_rule(severity);
    let how = worst.map_or(String::new(), |r| {
        format!(
            " burning {} ({}/{})",
            rate(r.long_burn_rate),
            r.long_window,
            r.short_window
        )
    });
    let budget = evaluation
        .budget_remaining
        .map_or("unknown".to_owned(), |b| format!("{:.1}%", b * 100.0));
    let summary = match notice {
        Notice::Firing => format!("SLO {}{how}", evaluation.name),
        Notice::Repeat => format!("SLO {} still{how}", evaluation.name),
        Notice::Resolved => format!(
            "SLO {} {}: burn rates back under their thresholds",
            evaluation.name,
            severity_key(severity)
        ),
    };
    let summary = format!("{summary}; error budget left {budget}");
    Page {
        summary,
        schema: SCHEMA,
        event: "slo",
        severity: severity_key(severity),
        state: notice,
        instance,
        slo: &evaluation.name,
        service: evaluation.service.as_deref(),
        objective: evaluation.objective,
        window: evaluation.window,
        error_budget_remaining: evaluation.budget_remaining,
        burn_rates: evaluation
            .burn_rates
            .iter()
            .map(|(w, r)| WindowRate {
                window: *w,
                burn_rate: *r,
            })
            .collect(),
        rules: &evaluation.rules,
        firing_since,
        at,
        drift,
    }
}

impl Page<'_> {
    /// `[PAGE] SLO web-availability burning 14.4x (1h/5m); …`, under 100 characters.
    pub fn subject(&self) -> String {
        let tag = match (self.state, self.severity) {
            (Notice::Resolved, _) => "RESOLVED",
            (_, "page") => "PAGE",
            _ => "TICKET",
        };
        report::subject(tag, &self.summary)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.summary);
        let service = self
            .service
            .map(|s| format!(" of Service/{s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "objective {}% over {}{service}; {} at {}\n",
            self.objective, self.window, self.severity, self.at
        );
        let _ = writeln!(out, "burn rates:");
        for w in &self.burn_rates {
            let _ = writeln!(out, "  {:>4}  {}", w.window.to_string(), rate(w.burn_rate));
        }
        let _ = writeln!(out, "rules:");
        for r in self.rules {
            let _ = writeln!(
                out,
                "  {} {}/{} > {}: {} / {}{}",
                severity_key(r.severity),
                r.long_window,
                r.short_window,
                r.factor,
                rate(r.long_burn_rate),
                rate(r.short_burn_rate),
                if r.holds { "  FIRING" } else { "" }
            );
        }
        if self.drift.is_empty() {
            let _ = writeln!(out, "\nno drift on the service in the last hour");
        } else {
            let _ = writeln!(out, "\ndrift on the service in the last hour:");
            for i in &self.drift {
                let _ = writeln!(
                    out,
                    "  {} {}: {} → {} ({:?}, first seen {})",
                    i.resource, i.field, i.actual, i.desired, i.action, i.first_seen
                );
            }
        }
        out
    }
}
