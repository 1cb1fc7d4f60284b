//! SLO notifications: each evaluation steps every SLO's paging state per
//! severity and routes the resulting page, repeat or RESOLVED to the channel
//! the SLO names for that severity, with the service's recent drift.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::{Notifier, message, sent_topic};
use crate::aws::sns::Message;
use crate::desired::Desired;
use crate::model::alert_channel::{Event, Format};
use crate::model::slo::BurnSeverity;
use crate::slo::Evaluation;
use crate::slo::alerting::AlertState;
use crate::slo::page;

/// How far back drift is named in a page.
pub const CORRELATION_SECONDS: i64 = 3600;

/// A message whose state change is undone if it cannot be published, so the
/// next evaluation decides again instead of losing the page.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub message: Message,
    key: String,
    previous: AlertState,
}

fn state_key(slo: &str, severity: BurnSeverity) -> String {
    let s = match severity {
        BurnSeverity::Page => "page",
        BurnSeverity::Ticket => "ticket",
    };
    format!("{slo}/{s}")
}

impl Notifier {
    /// Steps the paging state of every evaluated SLO; the messages to publish.
    pub fn slo(
        &mut self,
        desired: &Desired,
        topics: &BTreeMap<String, String>,
        evaluations: &[Evaluation],
        instance: &str,
        now: Timestamp,
    ) -> Vec<Unsent> {
        let mut out = Vec::new();
        for e in evaluations {
            let Some(slo) = desired.slos.get(&e.name) else {
                continue;
            };
            let spec = &slo.doc.spec;
            for severity in [BurnSeverity::Page, BurnSeverity::Ticket] {
                let channel = spec
                    .channel(severity)
                    .and_then(|c| desired.channels.get(c).map(|ch| (c, &ch.doc.spec)));
                let repeat = channel.map_or(4 * 3600, |(_, c)| {
                    i64::try_from(c.repeat_interval().as_secs()).unwrap_or(i64::MAX)
                });
                let key = state_key(&e.name, severity);
                let state = self.memory.slo.entry(key.clone()).or_default();
                let previous = state.clone();
                let Some(notice) = state.step(e.condition(severity), now, repeat) else {
                    continue;
                };
                tracing::info!(slo = %e.name, severity = ?severity, notice = ?notice, "SLO alert state changed");
                let firing_since = state.firing_since.or(previous.firing_since);
                let Some((name, channel)) = channel else {
                    continue;
                };
                if !channel.accepts(Event::Slo, severity.severity()) {
                    continue;
                }
                let Some(topic) = sent_topic(topics, name) else {
                    // The topic is still being created: decide again next time.
                    self.memory.slo.insert(key, previous);
                    continue;
                };
                let drift = self.drift_on(desired, e.service.as_deref(), now);
                let p = page::page(e, severity, notice, instance, firing_since, drift, now);
                let body = match channel.format() {
                    Format::Json => p.json(),
                    Format::Text => p.text(),
                };
                out.push(Unsent {
                    message: message(topic, p.subject(), body, "slo", p.severity, instance),
                    key,
                    previous,
                });
            }
        }
        let known: Vec<&String> = desired.slos.keys().collect();
        self.memory.slo.retain(|k, _| {
            known
                .iter()
                .any(|n| k.rsplit_once('/').is_some_and(|(s, _)| s == n.as_str()))
        });
        self.save();
        out
    }

    /// Undoes the state change of a message that could not be published.
    pub fn unsent(&mut self, failed: &Unsent) {
        self.memory
            .slo
            .insert(failed.key.clone(), failed.previous.clone());
        self.save();
    }

    /// Drift on a service (or its Autoscaler) seen in the last hour, oldest first.
    fn drift_on(
        &self,
        desired: &Desired,
        service: Option<&str>,
        now: Timestamp,
    ) -> Vec<super::report::Item> {
        let Some(service) = service else {
            return Vec::new();
        };
        let mut resources = vec![format!("Service/{service}")];
        if let Some((autoscaler, _)) = desired.autoscaler_of(service) {
            resources.push(format!("Autoscaler/{autoscaler}"));
        }
        let mut items: Vec<_> = self
            .memory
            .recent
            .values()
            .filter(|(seen, i)| {
                now.as_second() - seen.as_second() <= CORRELATION_SECONDS
                    && resources.contains(&i.resource)
            })
            .map(|(_, i)| i.clone())
            .collect();
        items.sort_by_key(|i| i.first_seen);
        items
    }
}
