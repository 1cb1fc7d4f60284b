//! The notifier: every loop hands it the plan and what apply did; it decides
//! which drift is new (or due again), routes it to the AlertChannels that
//! accept it, and renders one report per channel (SPEC §4).

pub mod chat;
mod operator;
pub mod report;
pub mod rollout;
mod slo;

pub use slo::Unsent;

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::apply::Outcome;
use crate::aws::sns::{MAX_MESSAGE_BYTES, Message};
use crate::desired::Desired;
use crate::model::alert_channel::{AlertChannelSpec, Event, Format, Severity};
use crate::plan::{Action, Plan};
use report::{Item, ItemAction, Report};

/// Room left under SNS's limit for the envelope SNS itself adds to attributes.
const BODY_LIMIT: usize = MAX_MESSAGE_BYTES - 4096;

/// What was reported, so the same drift is not reported again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    /// Drift key → first seen.
    pub first_seen: BTreeMap<String, Timestamp>,
    /// (channel, drift key) → last sent.
    pub sent: BTreeMap<String, Timestamp>,
    /// Rejected revisions already reported.
    pub rejected: Vec<String>,
    /// `<slo>/<severity>` → its paging state.
    #[serde(default)]
    pub slo: BTreeMap<String, crate::slo::alerting::AlertState>,
    /// Drift key → (last seen, item): drift of the last hour, for SLO pages.
    #[serde(default)]
    pub recent: BTreeMap<String, (Timestamp, Item)>,
    /// Messages whose publish failed, sent again at the next loop.
    #[serde(default)]
    pub outbox: Vec<Message>,
    /// Failed or rolled-back deployments already paged, by deployment → when.
    #[serde(default)]
    pub rollouts_paged: BTreeMap<String, Timestamp>,
    /// Deployments this operator started and follows, by `Service/name`.
    #[serde(default)]
    pub rollouts_started: BTreeMap<String, rollout::Started>,
}

/// What a pass knows about its drift besides the plan (`--events-queue`).
#[derive(Debug, Clone, Default)]
pub struct Causes {
    /// `Kind/name` → who changed it, from a CloudTrail event.
    pub changed_by: BTreeMap<String, crate::events::Actor>,
    /// A targeted pass: the `Kind/name`s its plan covers.
    pub scope: Option<std::collections::BTreeSet<String>>,
}

/// Messages kept for a retry at most; the oldest go first.
const OUTBOX_LIMIT: usize = 100;

/// Routes and deduplicates notifications; optionally remembers across restarts
/// in a small JSON file (`--state-file`).
#[derive(Debug, Default)]
pub struct Notifier {
    pub memory: Memory,
    state_file: Option<PathBuf>,
}

fn severity(s: &str) -> Severity {
    match s {
        "page" => Severity::Page,
        "ticket" => Severity::Ticket,
        _ => Severity::Info,
    }
}

impl Notifier {
    /// A notifier that keeps its memory in `state_file` when given (read now, written after each change).
    pub fn new(state_file: Option<PathBuf>) -> Self {
        let memory = state_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Notifier { memory, state_file }
    }

    fn save(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string(&self.memory).unwrap_or_default();
        // Write then rename: a crash never leaves half a file.
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the notifier state file");
        }
    }

    /// The drift messages of one pass: new drift, and uncorrected drift due
    /// again. `causes`: who changed what, and, for a targeted pass, which
    /// resources the plan covers (drift elsewhere is neither resolved nor
    /// reported by it).
    #[allow(clippy::too_many_arguments)] // the pass's plan, outcome and causes
    pub fn drift(
        &mut self,
        desired: &Desired,
        topics: &BTreeMap<String, String>,
        plan: &Plan,
        outcome: &Outcome,
        dry_run: bool,
        now: Timestamp,
        causes: &Causes,
    ) -> Vec<Message> {
        let items = self.items(plan, outcome, dry_run, now, causes);
        let mut messages = Vec::new();
        for (name, channel) in &desired.channels {
            let spec = &channel.doc.spec;
            let Some(topic) = topics.get(name).filter(|t| t.starts_with("arn:")) else {
                continue;
            };
            let due: Vec<Item> = items
                .iter()
                .filter(|i| {
                    spec.accepts(
                        Event::Drift,
                        severity(report::severity_of(std::slice::from_ref(*i))),
                    )
                })
                .filter(|i| self.due(name, spec, i, now))
                .cloned()
                .collect();
            if due.is_empty() {
                continue;
            }
            for i in &due {
                self.memory.sent.insert(sent_key(name, &key(i)), now);
            }
            messages.extend(render(
                spec,
                topic,
                &plan.instance,
                &plan.revision,
                now,
                due,
            ));
        }
        self.save();
        messages
    }

    /// A message that could not be published: kept (in the state file too)
    /// and sent again before the next loop's messages. A report of corrected
    /// drift cannot be made again later: the drift is gone.
    pub fn outbox(&mut self, failed: Message) {
        self.memory.outbox.push(failed);
        // Bounded: a topic that never takes messages must not grow the file forever.
        let excess = self.memory.outbox.len().saturating_sub(OUTBOX_LIMIT);
        self.memory.outbox.drain(..excess);
        self.save();
    }

    /// The messages waiting to be sent again, oldest first; the outbox is emptied.
    pub fn take_outbox(&mut self) -> Vec<Message> {
        if self.memory.outbox.is_empty() {
            return Vec::new();
        }
        let out = std::mem::take(&mut self.memory.outbox);
        self.save();
        out
    }

    /// Drift items of this loop, with first-seen times; forgets resolved drift.
    fn items(
        &mut self,
        plan: &Plan,
        outcome: &Outcome,
        dry_run: bool,
        now: Timestamp,
        causes: &Causes,
    ) -> Vec<Item> {
        let mut items = Vec::new();
        for step in &plan.steps {
            // A create is a rollout of a new document, not drift; blocked steps are errors.
            if matches!(
                step.action,
                Action::InSync | Action::Create | Action::Blocked
            ) {
                continue;
            }
            let result = outcome.steps.iter().find(|o| o.resource == step.resource);
            let written = !dry_run && step.paused.is_none() && !step.runnable_ops().is_empty();
            let (action, error) = match result.and_then(|r| r.error.clone()) {
                Some(e) => (ItemAction::Failed, Some(e)),
                None if written && result.is_some() => (ItemAction::Corrected, None),
                None => (ItemAction::Reported, None),
            };
            let changes: Vec<(String, serde_json::Value, serde_json::Value)> =
                if step.changes.is_empty() {
                    vec![(
                        step.action.label().to_owned(),
                        serde_json::Value::Null,
                        serde_json::json!(step.target),
                    )]
                } else {
                    step.changes
                        .iter()
                        .map(|c| (c.field.clone(), c.desired.clone(), c.actual.clone()))
                        .collect()
                };
            for (field, desired, actual) in changes {
                items.push(Item {
                    resource: step.resource.to_string(),
                    arn: step.arn.clone(),
                    field,
                    desired,
                    actual,
                    action,
                    error: error.clone(),
                    first_seen: now,
                    revision: plan.revision.clone(),
                    changed_by: causes.changed_by.get(&step.resource.to_string()).cloned(),
                });
            }
        }
        let keys: Vec<String> = items.iter().map(key).collect();
        // A targeted pass saw only its scope: drift elsewhere is not resolved.
        let outside = |k: &str| {
            causes
                .scope
                .as_ref()
                .is_some_and(|scope| !scope.iter().any(|r| k.contains(&format!("{r}\u{1f}"))))
        };
        self.memory
            .first_seen
            .retain(|k, _| keys.contains(k) || outside(k));
        self.memory.sent.retain(|k, _| {
            keys.iter().any(|key| k.ends_with(&format!("\u{1f}{key}"))) || outside(k)
        });
        for item in &mut items {
            item.first_seen = *self.memory.first_seen.entry(key(item)).or_insert(now);
            self.memory.recent.insert(key(item), (now, item.clone()));
        }
        self.memory
            .recent
            .retain(|_, (seen, _)| now.as_second() - seen.as_second() <= slo::CORRELATION_SECONDS);
        items
    }

    /// New drift is due; uncorrected drift is due again after the channel's repeatInterval.
    fn due(&self, channel: &str, spec: &AlertChannelSpec, item: &Item, now: Timestamp) -> bool {
        match self.memory.sent.get(&sent_key(channel, &key(item))) {
            None => true,
            Some(_) if item.action == ItemAction::Corrected => false,
            Some(last) => {
                let waited = now.duration_since(*last).as_secs();
                waited >= i64::try_from(spec.repeat_interval().as_secs()).unwrap_or(i64::MAX)
            }
        }
    }
}

/// The same drift: same resource, field, desired and actual.
fn key(item: &Item) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        item.resource, item.field, item.desired, item.actual
    )
}

/// A channel's topic ARN once it exists (`alertchannel:` while it is being created).
fn sent_topic<'a>(topics: &'a BTreeMap<String, String>, channel: &str) -> Option<&'a str> {
    topics
        .get(channel)
        .filter(|t| t.starts_with("arn:"))
        .map(String::as_str)
}

fn sent_key(channel: &str, key: &str) -> String {
    format!("{channel}\u{1f}{key}")
}

fn render(
    spec: &AlertChannelSpec,
    topic: &str,
    instance: &str,
    revision: &str,
    now: Timestamp,
    items: Vec<Item>,
) -> Vec<Message> {
    let sev = report::severity_of(&items);
    let template = Report {
        summary: report::summary_of(instance, &items),
        schema: report::SCHEMA,
        event: "drift",
        severity: sev,
        instance: instance.to_owned(),
        revision: revision.to_owned(),
        at: now,
        part: 1,
        parts: 1,
        items: Vec::new(),
    };
    let render: fn(&Report) -> String = match spec.format() {
        Format::Json => report::render_json,
        Format::Text => report::render_text,
        // One message whatever the size: its first items, and how many more.
        Format::Chat => {
            let body = chat::drift(&template.summary, sev, instance, revision, &items).render();
            return vec![message(
                topic,
                report::subject("DRIFT", &template.summary),
                body,
                "drift",
                sev,
                instance,
            )];
        }
    };
    report::split(&template, items, render, BODY_LIMIT)
        .into_iter()
        .map(|(r, body)| {
            message(
                topic,
                report::subject("DRIFT", &r.summary),
                body,
                "drift",
                sev,
                instance,
            )
        })
        .collect()
}

pub(crate) fn message(
    topic: &str,
    subject: String,
    body: String,
    event: &str,
    severity: &str,
    instance: &str,
) -> Message {
    Message {
        topic_arn: topic.to_owned(),
        subject,
        body,
        attributes: BTreeMap::from([
            ("event".to_owned(), event.to_owned()),
            ("severity".to_owned(), severity.to_owned()),
            ("instance".to_owned(), instance.to_owned()),
        ]),
    }
}
