//! `format: chat`: every message in the custom-notification schema of Amazon
//! Q Developer in chat applications (formerly AWS Chatbot). A topic Chatbot
//! reads drops any other shape, so Slack or Teams would show nothing.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::report::{Item, ItemAction};
use crate::slo::alerting::Notice;
use crate::slo::page::Page;

/// The limits the operator keeps to. The custom-notification documentation
/// names the fields but no lengths; Chatbot renders the title as a Slack
/// header block (at most 150 characters) and the description as section text
/// (at most 3,000), so those are the caps, and the lists stay short enough to
/// read in a channel.
pub const TITLE_MAX: usize = 150;
pub const DESCRIPTION_MAX: usize = 3000;
pub const NEXT_STEPS_MAX: usize = 5;
pub const KEYWORDS_MAX: usize = 10;
/// Each next step, keyword and related resource.
pub const ITEM_MAX: usize = 300;

/// One notification, before the limits are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    /// `page`, `ticket` or `info`, or `resolved`: the title's marker.
    pub severity: &'static str,
    /// The one-line summary the other formats lead with.
    pub summary: String,
    /// Markdown: resource, field, actual → desired, action, who changed it.
    pub description: String,
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    /// The same for a page, its repeats and its RESOLVED: they thread together.
    pub thread_id: String,
    /// `drift`, `rollout`, `slo`, `operator`.
    pub event_type: &'static str,
    pub related_resources: Vec<String>,
    pub additional_context: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Notification<'a> {
    version: &'static str,
    source: &'static str,
    content: Content,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    text_type: &'static str,
    title: String,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    next_steps: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    keywords: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata<'a> {
    thread_id: &'a str,
    summary: String,
    event_type: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_resources: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    additional_context: &'a BTreeMap<String, String>,
}

fn marker(severity: &str) -> &'static str {
    match severity {
        "page" => ":rotating_light: [PAGE]",
        "ticket" => ":warning: [TICKET]",
        "resolved" => ":white_check_mark: [RESOLVED]",
        _ => ":information_source: [INFO]",
    }
}

/// At most `max` characters, with `…` when cut (on a character boundary).
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl Chat {
    /// The message body, inside the limits.
    pub fn render(&self) -> String {
        let clip_all = |v: &[String], n: usize| -> Vec<String> {
            v.iter().take(n).map(|s| clip(s, ITEM_MAX)).collect()
        };
        let n = Notification {
            version: "1.0",
            source: "custom",
            content: Content {
                text_type: "client-markdown",
                title: clip(
                    &format!("{} {}", marker(self.severity), self.summary),
                    TITLE_MAX,
                ),
                description: clip(&self.description, DESCRIPTION_MAX),
                next_steps: clip_all(&self.next_steps, NEXT_STEPS_MAX),
                keywords: clip_all(&self.keywords, KEYWORDS_MAX),
            },
            metadata: Metadata {
                thread_id: &self.thread_id,
                summary: clip(&self.summary, ITEM_MAX),
                event_type: self.event_type,
                related_resources: clip_all(&self.related_resources, KEYWORDS_MAX),
                additional_context: &self.additional_context,
            },
        };
        serde_json::to_string_pretty(&n).unwrap_or_default()
    }
}

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn action(a: ItemAction) -> &'static str {
    match a {
        ItemAction::Corrected => "corrected",
        ItemAction::Failed => "failed",
        ItemAction::Reported => "not corrected",
    }
}

/// The drift items as markdown lines, as many as fit; the rest counted.
fn item_lines(items: &[Item], budget: usize, out: &mut String) {
    let mut used = out.chars().count();
    for (i, item) in items.iter().enumerate() {
        let mut line = format!(
            "• *{}* `{}`: {} → {} ({})",
            item.resource,
            item.field,
            clip(&value(&item.actual), 80),
            clip(&value(&item.desired), 80),
            action(item.action)
        );
        if let Some(e) = &item.error {
            let _ = write!(line, ": {}", clip(e, 160));
        }
        if let Some(actor) = &item.changed_by {
            let _ = write!(line, ", changed by {}", clip(&actor.describe(), 200));
        }
        line.push('\n');
        let rest = items.len() - i;
        let tail = format!("…and {rest} more (the full report goes to `format: json` channels)\n");
        if used + line.chars().count() + tail.chars().count() > budget && rest > 1 {
            out.push_str(&tail);
            return;
        }
        used += line.chars().count();
        out.push_str(&line);
    }
}

/// A drift report: one message whatever its size, its first items listed.
pub fn drift(
    summary: &str,
    severity: &'static str,
    instance: &str,
    revision: &str,
    items: &[Item],
) -> Chat {
    let mut description = format!("Instance `{instance}`, desired-state revision `{revision}`\n");
    item_lines(items, DESCRIPTION_MAX, &mut description);
    let resources: Vec<String> = items
        .iter()
        .map(|i| i.arn.clone().unwrap_or_else(|| i.resource.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let failed = items.iter().any(|i| i.action == ItemAction::Failed);
    let mut next_steps = vec![format!(
        "See what still differs: `ecs-operator plan -f <desired> --instance {instance}`"
    )];
    if failed {
        next_steps.push("A write failed: the operator retries with backoff; `/status` shows the error and the next try".to_owned());
    }
    next_steps.push(
        "A change made by hand that should stay belongs in the desired state: commit it there"
            .to_owned(),
    );
    Chat {
        severity,
        summary: summary.to_owned(),
        description,
        next_steps,
        keywords: vec!["drift".to_owned(), instance.to_owned()],
        thread_id: format!("ecs-operator-{instance}-drift"),
        event_type: "drift",
        related_resources: resources,
        additional_context: BTreeMap::from([
            ("instance".to_owned(), instance.to_owned()),
            ("revision".to_owned(), revision.to_owned()),
        ]),
    }
}

/// A rollout page (failed or rolled back) or info (completed), from the JSON body.
pub fn rollout(
    summary: &str,
    severity: &'static str,
    instance: &str,
    body: &serde_json::Value,
) -> Chat {
    let field = |k: &str| body[k].as_str().map(str::to_owned);
    let mut description = String::new();
    for (label, key) in [
        ("Service", "resource"),
        ("Revision", "taskDefinition"),
        ("Deployment", "deployment"),
        ("Rolled back to", "rolledBackTo"),
        ("ECS's reason", "reason"),
        ("The operator", "action"),
    ] {
        if let Some(v) = field(key) {
            let _ = writeln!(description, "*{label}:* {v}");
        }
    }
    let resource = field("resource").unwrap_or_default();
    let next_steps = if severity == "page" {
        vec![
            "Read ECS's reason: task logs, health checks, the deployment alarm that fired"
                .to_owned(),
            "Fix forward with a new revision, or `git revert` the commit".to_owned(),
            format!(
                "If the cause was outside the revision, set a new `ecs-operator/retry-rollout` annotation on {resource}"
            ),
            format!("`ecs-operator plan -f <desired> --instance {instance}` shows the hold"),
        ]
    } else {
        Vec::new()
    };
    Chat {
        severity,
        summary: summary.to_owned(),
        description,
        next_steps,
        keywords: vec!["rollout".to_owned(), instance.to_owned()],
        thread_id: format!(
            "ecs-operator-{instance}-rollout-{resource}-{}",
            field("deployment").unwrap_or_default()
        ),
        event_type: "rollout",
        related_resources: field("arn").into_iter().collect(),
        additional_context: BTreeMap::from([("instance".to_owned(), instance.to_owned())]),
    }
}

/// An SLO page, repeat or RESOLVED: one thread per breach episode.
pub fn slo(p: &Page<'_>) -> Chat {
    let severity = if p.state == Notice::Resolved {
        "resolved"
    } else {
        p.severity
    };
    let mut description = format!(
        "*SLO* {}: {}% over {}{}\n*Error budget left:* {}\n*Burn rates:*",
        p.slo,
        p.objective,
        p.window,
        p.service
            .map(|s| format!(" of Service/{s}"))
            .unwrap_or_default(),
        p.error_budget_remaining
            .map_or("unknown".to_owned(), |b| format!("{:.1}%", b * 100.0)),
    );
    for w in &p.burn_rates {
        let r = w
            .burn_rate
            .map_or("no data".to_owned(), |r| format!("{r:.1}x"));
        let _ = write!(description, " {} {r};", w.window);
    }
    description.push('\n');
    if p.drift.is_empty() {
        description.push_str("No drift on the service in the last hour\n");
    } else {
        description.push_str("*Drift on the service in the last hour:*\n");
        item_lines(&p.drift, DESCRIPTION_MAX, &mut description);
    }
    let next_steps = match p.state {
        Notice::Resolved => Vec::new(),
        _ => vec![
            format!(
                "`ecs-operator slo -f <desired> --instance {}` shows every window",
                p.instance
            ),
            "Look at what changed in the last hour: deploys, the drift above, dependencies"
                .to_owned(),
        ],
    };
    let since = p.firing_since.map_or(String::new(), |t| t.to_string());
    Chat {
        severity,
        summary: p.summary.clone(),
        description,
        next_steps,
        keywords: vec!["slo".to_owned(), p.slo.to_owned(), p.severity.to_owned()],
        thread_id: format!(
            "ecs-operator-{}-slo-{}-{}-{since}",
            p.instance, p.slo, p.severity
        ),
        event_type: "slo",
        related_resources: p
            .service
            .map(|s| format!("Service/{s}"))
            .into_iter()
            .collect(),
        additional_context: BTreeMap::from([
            ("instance".to_owned(), p.instance.to_owned()),
            ("state".to_owned(), format!("{:?}", p.state).to_lowercase()),
        ]),
    }
}

/// The controller's own life (started, stopping) or a rejected revision.
pub fn operator(summary: &str, severity: &'static str, instance: &str, errors: &[String]) -> Chat {
    let mut description = format!("Instance `{instance}`\n");
    let mut next_steps = Vec::new();
    if !errors.is_empty() {
        description.push_str("*Errors:*\n");
        let mut used = description.chars().count();
        for (i, e) in errors.iter().enumerate() {
            let line = format!("• {}\n", clip(e, 300));
            if used + line.chars().count() > DESCRIPTION_MAX - 80 {
                let _ = writeln!(description, "…and {} more", errors.len() - i);
                break;
            }
            used += line.chars().count();
            description.push_str(&line);
        }
        next_steps.push(
            "`ecs-operator validate -f <desired>` shows every error with its file and line"
                .to_owned(),
        );
        next_steps.push(
            "Fix or revert the commit; the last valid revision is still reconciled".to_owned(),
        );
    }
    Chat {
        severity,
        summary: summary.to_owned(),
        description,
        next_steps,
        keywords: vec!["operator".to_owned(), instance.to_owned()],
        thread_id: format!("ecs-operator-{instance}-operator"),
        event_type: "operator",
        related_resources: Vec::new(),
        additional_context: BTreeMap::from([("instance".to_owned(), instance.to_owned())]),
    }
}
