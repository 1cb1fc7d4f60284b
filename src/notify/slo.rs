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
        let before = self.memory.slo.clone();
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
                    Format::Chat => super::chat::slo(&p).render(),
                };
                out.push(Unsent {
                    message: message(topic, p.subject(), body, "slo", p.severity, instance),
                    key,
                    previous,
                });
            }
        }
        self.memory.slo.retain(|k, _| {
            k.rsplit_once('/')
                .is_some_and(|(slo, _)| desired.slos.contains_key(slo))
        });
        // Most evaluations change nothing: the file is written only when something did.
        if self.memory.slo != before {
            self.save();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Source;
    use crate::model::duration::Duration;
    use crate::notify::report::{Item, ItemAction};
    use crate::slo::RuleResult;

    const DOCS: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec: {cluster: prod, taskDefinition: web}\n---\napiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: oncall}\nspec: {topicName: oncall, repeatInterval: 1h}\n---\napiVersion: ecs-operator/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: avail}\nspec:\n  serviceRef: web\n  objective: 99.9\n  indicator:\n    ratio:\n      bad: {namespace: App, name: Errors, statistic: Sum, period: 60}\n      total: {namespace: App, name: Requests, statistic: Sum, period: 60}\n  alerting: {page: oncall}\n";

    fn desired(docs: &str) -> Desired {
        let source = Source {
            files: vec![("d.yaml".to_owned(), docs.to_owned())],
            revision: "r1".to_owned(),
        };
        Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
    }

    fn topics() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "oncall".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:oncall".to_owned(),
        )])
    }

    fn t(min: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + min * 60).expect("valid")
    }

    fn evaluation(holds: bool) -> Evaluation {
        let rate = if holds { 20.0 } else { 0.5 };
        Evaluation {
            name: "avail".to_owned(),
            service: Some("web".to_owned()),
            objective: 99.9,
            window: Duration::secs(30 * 86_400),
            burn_rates: BTreeMap::from([
                (Duration::secs(300), Some(rate)),
                (Duration::secs(3600), Some(rate)),
            ]),
            budget_remaining: Some(0.75),
            rules: vec![RuleResult {
                severity: BurnSeverity::Page,
                long_window: Duration::secs(3600),
                short_window: Duration::secs(300),
                factor: 14.4,
                long_burn_rate: Some(rate),
                short_burn_rate: Some(rate),
                holds,
            }],
            error: None,
        }
    }

    fn subjects(n: &mut Notifier, d: &Desired, holds: bool, at: Timestamp) -> Vec<String> {
        n.slo(d, &topics(), &[evaluation(holds)], "prod", at)
            .into_iter()
            .map(|u| u.message.subject)
            .collect()
    }

    #[test]
    fn a_breach_pages_the_page_channel_once_repeats_after_its_interval_and_resolves_once() {
        let d = desired(DOCS);
        let mut n = Notifier::default();
        let first = n.slo(&d, &topics(), &[evaluation(true)], "prod", t(0));
        assert_eq!(first.len(), 1);
        let m = &first[0].message;
        assert_eq!(
            m.subject,
            "[PAGE] SLO avail burning 20.0x (1h/5m); error budget left 75.0%"
        );
        assert_eq!(m.attributes["event"], "slo");
        assert_eq!(m.attributes["severity"], "page");
        let body: serde_json::Value = serde_json::from_str(&m.body).expect("json");
        assert_eq!(body["schema"], "ecs-operator/slo-page/v1");
        assert_eq!(body["state"], "firing");
        assert_eq!(body["objective"], 99.9);
        assert_eq!(body["burnRates"][1]["window"], "1h");
        assert_eq!(body["burnRates"][1]["burnRate"], 20.0);
        assert!(subjects(&mut n, &d, true, t(30)).is_empty());
        assert_eq!(
            subjects(&mut n, &d, true, t(60)),
            ["[PAGE] SLO avail still burning 20.0x (1h/5m); error budget left 75.0%"]
        );
        let mut resolved = Vec::new();
        for i in 61..70 {
            resolved.extend(subjects(&mut n, &d, false, t(i)));
        }
        assert_eq!(
            resolved,
            [
                "[RESOLVED] SLO avail page: burn rates back under their thresholds; error budget left 75.0%"
            ]
        );
    }

    #[test]
    fn a_page_names_the_drift_seen_on_its_service_in_the_last_hour() {
        let d = desired(DOCS);
        let mut n = Notifier::default();
        let item = |resource: &str| Item {
            resource: resource.to_owned(),
            arn: None,
            field: "desiredCount".to_owned(),
            desired: serde_json::json!(2),
            actual: serde_json::json!(7),
            action: ItemAction::Corrected,
            error: None,
            first_seen: t(0),
            revision: "r1".to_owned(),
            changed_by: None,
        };
        n.memory
            .recent
            .insert("a".to_owned(), (t(0), item("Service/web")));
        n.memory
            .recent
            .insert("b".to_owned(), (t(0), item("Service/other")));
        n.memory
            .recent
            .insert("c".to_owned(), (t(-90), item("Service/web")));
        let out = n.slo(&d, &topics(), &[evaluation(true)], "prod", t(10));
        let body: serde_json::Value = serde_json::from_str(&out[0].message.body).expect("json");
        let drift = body["drift"].as_array().expect("drift list");
        assert_eq!(drift.len(), 1, "{body:#}");
        assert_eq!(drift[0]["resource"], "Service/web");
        assert_eq!(drift[0]["action"], "corrected");
    }

    #[test]
    fn a_restart_with_the_state_file_does_not_page_the_same_episode_again() {
        let d = desired(DOCS);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let mut n = Notifier::new(Some(path.clone()));
        assert_eq!(subjects(&mut n, &d, true, t(0)).len(), 1);
        let mut restarted = Notifier::new(Some(path));
        assert!(subjects(&mut restarted, &d, true, t(1)).is_empty());
        assert!(restarted.memory.slo["avail/page"].is_firing());
    }

    #[test]
    fn a_page_that_could_not_be_published_is_decided_again() {
        let d = desired(DOCS);
        let mut n = Notifier::default();
        let out = n.slo(&d, &topics(), &[evaluation(true)], "prod", t(0));
        n.unsent(&out[0]);
        assert_eq!(subjects(&mut n, &d, true, t(1)).len(), 1);
    }

    #[test]
    fn a_channel_that_does_not_take_slo_events_gets_nothing_but_the_state_still_moves() {
        let d = desired(&DOCS.replace(
            "spec: {topicName: oncall, repeatInterval: 1h}",
            "spec: {topicName: oncall, events: [drift]}",
        ));
        let mut n = Notifier::default();
        assert!(subjects(&mut n, &d, true, t(0)).is_empty());
        assert!(n.memory.slo["avail/page"].is_firing());
    }

    #[test]
    fn a_channel_whose_topic_is_being_created_is_paged_once_it_exists() {
        let d = desired(DOCS);
        let mut n = Notifier::default();
        let pending = BTreeMap::from([("oncall".to_owned(), "alertchannel:oncall".to_owned())]);
        assert!(
            n.slo(&d, &pending, &[evaluation(true)], "prod", t(0))
                .is_empty()
        );
        assert_eq!(subjects(&mut n, &d, true, t(1)).len(), 1);
    }
}
