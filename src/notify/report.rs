//! Messages people receive: the versioned JSON drift report (one-line summary
//! first) or readable text, subjects SNS accepts, and splitting of reports over
//! SNS's size limit into numbered parts (never truncated).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "ecs-operator/drift-report/v1";

/// What became of one drifted field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemAction {
    Corrected,
    /// Observed and reported, not written (dry-run, paused, needs replacement, orphaned).
    Reported,
    Failed,
}

/// One drifted field of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// `Kind/name`.
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub field: String,
    pub desired: serde_json::Value,
    pub actual: serde_json::Value,
    pub action: ItemAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub first_seen: jiff::Timestamp,
    pub revision: String,
    /// Who made the change, when a CloudTrail event named it (`--events-queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<crate::events::Actor>,
}

/// A drift report (or one numbered part of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// One line a person can read: the first field on purpose.
    pub summary: String,
    pub schema: &'static str,
    pub event: &'static str,
    pub severity: &'static str,
    pub instance: String,
    pub revision: String,
    pub at: jiff::Timestamp,
    pub part: usize,
    pub parts: usize,
    pub items: Vec<Item>,
}

/// `2 resources drifted: 1 corrected, 1 failed`.
pub fn summary_of(instance: &str, items: &[Item]) -> String {
    let mut resources: Vec<&str> = items.iter().map(|i| i.resource.as_str()).collect();
    resources.sort_unstable();
    resources.dedup();
    let count = |a: ItemAction| items.iter().filter(|i| i.action == a).count();
    let mut parts = Vec::new();
    for (a, word) in [
        (ItemAction::Corrected, "corrected"),
        (ItemAction::Failed, "failed"),
        (ItemAction::Reported, "not corrected"),
    ] {
        let n = count(a);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let noun = if resources.len() == 1 {
        "resource"
    } else {
        "resources"
    };
    format!(
        "{instance}: {} {noun} drifted ({})",
        resources.len(),
        parts.join(", ")
    )
}

/// The severity of a set of items: the worst one.
pub fn severity_of(items: &[Item]) -> &'static str {
    if items.iter().any(|i| i.action == ItemAction::Failed) {
        "page"
    } else if items.iter().any(|i| i.action == ItemAction::Reported) {
        "ticket"
    } else {
        "info"
    }
}

/// A subject SNS accepts: one line, under 100 characters.
pub fn subject(tag: &str, text: &str) -> String {
    let line: String = format!("[{tag}] {text}")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.chars().count() <= 99 {
        return line;
    }
    let mut cut: String = line.chars().take(98).collect();
    cut.push('…');
    cut
}

pub fn render_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}

pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.summary);
    let part = if report.parts > 1 {
        format!(", part {} of {}", report.part, report.parts)
    } else {
        String::new()
    };
    let _ = writeln!(out, "revision {} at {}{part}\n", report.revision, report.at);
    let mut last = "";
    for item in &report.items {
        if item.resource != last {
            let arn = item
                .arn
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            let _ = writeln!(out, "{}{arn}", item.resource);
            if let Some(actor) = &item.changed_by {
                let _ = writeln!(out, "  changed by {}", actor.describe());
            }
            last = &item.resource;
        }
        let action = match (&item.action, &item.error) {
            (ItemAction::Failed, Some(e)) => format!("failed: {e}"),
            (ItemAction::Corrected, _) => "corrected".to_owned(),
            (ItemAction::Failed, None) => "failed".to_owned(),
            (ItemAction::Reported, _) => "not corrected".to_owned(),
        };
        let _ = writeln!(
            out,
            "  {}: {} → {}  [{action}, first seen {}]",
            item.field,
            value(&item.actual),
            value(&item.desired),
            item.first_seen
        );
    }
    out
}

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Splits `items` into reports whose rendered body fits `limit` bytes. An item
/// too large on its own gets its values shortened with a visible marker.
pub fn split(
    template: &Report,
    items: Vec<Item>,
    render: fn(&Report) -> String,
    limit: usize,
) -> Vec<(Report, String)> {
    let with = |items: Vec<Item>| {
        let mut r = template.clone();
        r.items = items;
        // Room for the part numbers and the summary's "(part i of n)".
        r.part = 9999;
        r.parts = 9999;
        r.summary.push_str(" (part 9999 of 9999)");
        r
    };
    let base = render(&with(Vec::new())).len();
    // Each item's share of the body, measured once: packing stays linear.
    let mut groups: Vec<Vec<Item>> = vec![Vec::new()];
    let mut size = base;
    for item in items {
        let mut cost = render(&with(vec![item.clone()])).len().saturating_sub(base);
        let item = if base + cost > limit {
            let short = shorten(item, limit / 4);
            cost = render(&with(vec![short.clone()]))
                .len()
                .saturating_sub(base);
            short
        } else {
            item
        };
        let last = groups.last_mut().expect("groups is never empty");
        if !last.is_empty() && size + cost + 8 > limit {
            groups.push(Vec::new());
            size = base;
        }
        size += cost + 8;
        groups.last_mut().expect("groups is never empty").push(item);
    }
    let parts = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, items)| {
            let mut report = template.clone();
            report.part = i + 1;
            report.parts = parts;
            if parts > 1 {
                report.summary = format!("{} (part {} of {parts})", template.summary, i + 1);
            }
            report.items = items;
            let body = render(&report);
            (report, body)
        })
        .collect()
}

fn shorten(mut item: Item, max: usize) -> Item {
    for v in [&mut item.desired, &mut item.actual] {
        let text = v.to_string();
        if text.len() > max {
            let keep: String = text.chars().take(max).collect();
            *v = serde_json::Value::String(format!(
                "{keep}… [{} more bytes not shown]",
                text.len() - keep.len()
            ));
        }
    }
    item
}

#[cfg(test)]
mod tests;
