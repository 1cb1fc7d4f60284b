//! `operator` messages: the controller's own life (started, stopping), a
//! rejected revision, a problem of the operator itself.

use std::collections::BTreeMap;

use super::{Notifier, chat, message, report};
use crate::aws::sns::Message;
use crate::desired::Desired;
use crate::model::alert_channel::{Event, Format, Severity};

impl Notifier {
    /// `operator` messages of the controller's own life (started, stopping), at
    /// severity `info`, to every channel that takes them. `None` while a
    /// channel's topic is still being created: the caller tries again next loop.
    pub fn lifecycle(
        &self,
        desired: &Desired,
        topics: &BTreeMap<String, String>,
        instance: &str,
        what: &str,
    ) -> Option<Vec<Message>> {
        let summary = format!("{instance}: operator {what}");
        let mut messages = Vec::new();
        for (name, channel) in &desired.channels {
            let spec = &channel.doc.spec;
            if !spec.accepts(Event::Operator, Severity::Info) {
                continue;
            }
            let topic = topics.get(name).filter(|t| t.starts_with("arn:"))?;
            let body = match spec.format() {
                Format::Json => serde_json::to_string_pretty(&serde_json::json!({
                    "summary": summary,
                    "schema": "ecs-operator/operator-event/v1",
                    "event": "operator",
                    "severity": "info",
                    "instance": instance,
                }))
                .unwrap_or_default(),
                Format::Text => format!("{summary}\n"),
                Format::Chat => chat::operator(&summary, "info", instance, &[]).render(),
            };
            messages.push(message(
                topic,
                report::subject("OPERATOR", &summary),
                body,
                "operator",
                "info",
                instance,
            ));
        }
        Some(messages)
    }

    /// One message per channel that takes `operator` events, once per rejected revision.
    pub fn rejected(
        &mut self,
        desired: &Desired,
        topics: &BTreeMap<String, String>,
        instance: &str,
        revision: &str,
        errors: &[String],
    ) -> Vec<Message> {
        if self.memory.rejected.iter().any(|r| r == revision) {
            return Vec::new();
        }
        self.memory.rejected.push(revision.to_owned());
        let keep = self.memory.rejected.len().saturating_sub(20);
        self.memory.rejected.drain(..keep);
        self.save();
        let summary = format!(
            "{instance}: desired state revision {revision} rejected ({} errors); still reconciling the last valid one",
            errors.len()
        );
        operator_messages(desired, topics, instance, &summary, Some(revision), errors)
    }

    /// A problem of the operator itself (the events queue cannot be read), at
    /// severity `page`, to every channel that takes `operator` events.
    pub fn operator_problem(
        &self,
        desired: &Desired,
        topics: &BTreeMap<String, String>,
        instance: &str,
        problem: &str,
    ) -> Vec<Message> {
        let summary = format!("{instance}: {problem}");
        operator_messages(desired, topics, instance, &summary, None, &[])
    }
}

/// One `operator` message at severity `page` per channel that takes them.
fn operator_messages(
    desired: &Desired,
    topics: &BTreeMap<String, String>,
    instance: &str,
    summary: &str,
    revision: Option<&str>,
    errors: &[String],
) -> Vec<Message> {
    let mut messages = Vec::new();
    for (name, channel) in &desired.channels {
        let spec = &channel.doc.spec;
        let Some(topic) = topics.get(name).filter(|t| t.starts_with("arn:")) else {
            continue;
        };
        if !spec.accepts(Event::Operator, Severity::Page) {
            continue;
        }
        let body = match spec.format() {
            Format::Json => {
                let mut body = serde_json::json!({
                    "summary": summary,
                    "schema": "ecs-operator/operator-event/v1",
                    "event": "operator",
                    "severity": "page",
                    "instance": instance,
                });
                if let Some(r) = revision {
                    body["revision"] = serde_json::json!(r);
                    body["errors"] = serde_json::json!(errors);
                }
                serde_json::to_string_pretty(&body).unwrap_or_default()
            }
            Format::Text if errors.is_empty() => format!("{summary}\n"),
            Format::Text => format!("{summary}\n\n{}\n", errors.join("\n")),
            Format::Chat => chat::operator(summary, "page", instance, errors).render(),
        };
        messages.push(message(
            topic,
            report::subject("OPERATOR", summary),
            body,
            "operator",
            "page",
            instance,
        ));
    }
    messages
}
