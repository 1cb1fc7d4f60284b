//! `ecs-operator slo`: what a person on call reads. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::Timestamp;

use crate::model::slo::BurnSeverity;
use crate::slo::Evaluation;
use crate::slo::alerting::AlertState;

fn rate(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{r:.2}x"),
        None => "-".to_owned(),
    }
}

pub fn render(
    evaluations: &[Evaluation],
    states: &BTreeMap<String, AlertState>,
    at: Timestamp,
    calls: u64,
) -> String {
    let mut out = String::new();
    for e in evaluations {
        let service = e
            .service
            .as_ref()
            .map(|s| format!(", Service/{s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "ServiceLevelObjective/{} ({}% over {}{service})",
            e.name, e.objective, e.window
        );
        if let Some(err) = &e.error {
            let _ = writeln!(out, "  not evaluated: {err}\n");
            continue;
        }
        let budget = e
            .budget_remaining
            .map_or("no data".to_owned(), |b| format!("{:.1}%", b * 100.0));
        let _ = writeln!(out, "  error budget left: {budget}");
        let windows: Vec<String> = e
            .burn_rates
            .iter()
            .map(|(w, r)| format!("{w} {}", rate(*r)))
            .collect();
        let _ = writeln!(out, "  burn rates: {}", windows.join("  "));
        for severity in [BurnSeverity::Page, BurnSeverity::Ticket] {
            let rules: Vec<String> = e
                .rules
                .iter()
                .filter(|r| r.severity == severity)
                .map(|r| {
                    format!(
                        "{}/{} > {}: {} / {}{}",
                        r.long_window,
                        r.short_window,
                        r.factor,
                        rate(r.long_burn_rate),
                        rate(r.short_burn_rate),
                        if r.holds { " (holds)" } else { "" }
                    )
                })
                .collect();
            if rules.is_empty() {
                continue;
            }
            let key = match severity {
                BurnSeverity::Page => "page",
                BurnSeverity::Ticket => "ticket",
            };
            let state = match states.get(&format!("{}/{key}", e.name)) {
                Some(AlertState {
                    firing_since: Some(since),
                    ..
                }) => format!("FIRING since {since}"),
                _ if e.condition(severity) == Some(true) => "would fire".to_owned(),
                _ => "ok".to_owned(),
            };
            let _ = writeln!(out, "  {key:<6} {state:<12} {}", rules.join("; "));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} SLOs at {at}; {calls} GetMetricData call{}",
        evaluations.len(),
        if calls == 1 { "" } else { "s" }
    );
    out
}
