//! `AlertChannel`: an SNS topic people are told through (SPEC §2.6), and the
//! event and severity vocabulary of operator notifications (SPEC §4).

use std::collections::BTreeSet;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::{Cx, Kind, Spec};

pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::secs(4 * 3600);
pub const MIN_REPEAT_INTERVAL: Duration = Duration::secs(60);

/// An SNS topic: an existing one (`topicArn`) or one the operator creates and owns (`topicName`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertChannelSpec {
    /// An existing topic, `arn:aws:sns:<region>:<account>:<name>`; exclusive with `topicName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    /// A topic the operator creates and owns: 1 to 256 letters, digits, `-` and `_`; exclusive with `topicArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    /// Subscriptions of an owned topic (`topicName` only). Absent: left alone; a list: exactly these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<Vec<Subscription>>,
    /// Which operator notifications go here; default all of `drift`, `slo`, `alarm`, `operator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    /// Least severe notification sent here; default `info` (everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<Severity>,
    /// Re-notify an unresolved page this often; default `4h`, at least `1m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<Duration>,
    /// Message body: `json` (default) or `text` for email-only topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
}

/// One SNS subscription.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    /// SNS protocol.
    pub protocol: Protocol,
    /// Where messages go: an address, URL, phone number or ARN, as the protocol needs.
    pub endpoint: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    Email,
    EmailJson,
    Http,
    Https,
    Sqs,
    Lambda,
    Sms,
    Application,
    Firehose,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Email => "email",
            Protocol::EmailJson => "email-json",
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Sqs => "sqs",
            Protocol::Lambda => "lambda",
            Protocol::Sms => "sms",
            Protocol::Application => "application",
            Protocol::Firehose => "firehose",
        }
    }

    /// Whether `endpoint` has the form this protocol needs; `Err` says what was expected.
    pub fn check_endpoint(self, endpoint: &str) -> Result<(), &'static str> {
        let arn_of = |service: &str| {
            let parts: Vec<&str> = endpoint.splitn(6, ':').collect();
            parts.len() == 6 && parts[0] == "arn" && parts[2] == service && !parts[5].is_empty()
        };
        let phone = |d: &str| (8..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit());
        let (ok, expected) = match self {
            Protocol::Email | Protocol::EmailJson => (
                endpoint
                    .split_once('@')
                    .is_some_and(|(u, d)| !u.is_empty() && d.contains('.')),
                "an email address",
            ),
            Protocol::Http => (endpoint.starts_with("http://"), "an `http://` URL"),
            Protocol::Https => (endpoint.starts_with("https://"), "an `https://` URL"),
            Protocol::Sqs => (arn_of("sqs"), "an SQS queue ARN"),
            Protocol::Lambda => (arn_of("lambda"), "a Lambda function ARN"),
            Protocol::Firehose => (arn_of("firehose"), "a Firehose delivery stream ARN"),
            Protocol::Application => (arn_of("sns"), "an SNS platform endpoint ARN"),
            Protocol::Sms => (
                endpoint.strip_prefix('+').is_some_and(phone),
                "an E.164 phone number such as +15555550100",
            ),
        };
        if ok { Ok(()) } else { Err(expected) }
    }
}

/// What an operator notification is about (the SNS message attribute `event`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Drift,
    /// A deployment failed, was rolled back, or completed (SPEC §3.1).
    Rollout,
    Slo,
    Alarm,
    Operator,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::Drift,
        Event::Rollout,
        Event::Slo,
        Event::Alarm,
        Event::Operator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Drift => "drift",
            Event::Rollout => "rollout",
            Event::Slo => "slo",
            Event::Alarm => "alarm",
            Event::Operator => "operator",
        }
    }
}

/// How urgent a notification is, least to most: `info` < `ticket` < `page`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Ticket,
    Page,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Ticket => "ticket",
            Severity::Page => "page",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The versioned JSON report, pretty-printed; its first field is a one-line `summary`.
    #[default]
    Json,
    /// A readable report, for email-only topics.
    Text,
    /// The custom-notification schema of Amazon Q Developer in chat
    /// applications (AWS Chatbot): a topic Chatbot reads drops anything else.
    Chat,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AlertChannelSpec {
    /// Whether the operator creates and owns the topic (`topicName`).
    pub fn owns_topic(&self) -> bool {
        self.topic_name.is_some()
    }

    /// The events sent here; all of them when `events` is absent.
    pub fn events(&self) -> BTreeSet<Event> {
        match &self.events {
            Some(events) => events.iter().copied().collect(),
            None => Event::ALL.into_iter().collect(),
        }
    }

    /// Whether a notification of `event` at `severity` goes to this channel.
    pub fn accepts(&self, event: Event, severity: Severity) -> bool {
        severity >= self.min_severity() && self.events().contains(&event)
    }

    pub fn min_severity(&self) -> Severity {
        self.min_severity.unwrap_or_default()
    }

    pub fn repeat_interval(&self) -> Duration {
        self.repeat_interval.unwrap_or(DEFAULT_REPEAT_INTERVAL)
    }

    pub fn format(&self) -> Format {
        self.format.unwrap_or_default()
    }
}

/// 1 to 256 letters, digits, `-` and `_`.
pub fn valid_topic_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<topic name>`.
pub fn valid_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && valid_topic_name(parts[5])
}

impl Spec for AlertChannelSpec {
    const KIND: Kind = Kind::AlertChannel;

    fn validate(&self, cx: &mut Cx<'_>) {
        cx.exactly_one(
            "spec",
            ("topicArn", self.topic_arn.is_some()),
            ("topicName", self.topic_name.is_some()),
        );
        if let Some(arn) = &self.topic_arn
            && !valid_topic_arn(arn)
        {
            cx.error(
                "spec.topicArn",
                format!("`{arn}` is not an SNS topic ARN: expected `arn:aws:sns:<region>:<account>:<name>`"),
            );
        }
        if let Some(name) = &self.topic_name
            && !valid_topic_name(name)
        {
            let m = format!(
                "`{name}` is not a valid topic name: 1 to 256 letters, digits, `-` and `_`"
            );
            cx.error("spec.topicName", m);
        }
        if let Some(subs) = &self.subscriptions {
            if self.topic_arn.is_some() {
                cx.error(
                    "spec.subscriptions",
                    "subscriptions are reconciled only on a topic the operator owns: use `topicName` or remove them",
                );
            }
            let mut seen = BTreeSet::new();
            for (i, sub) in subs.iter().enumerate() {
                let at = format!("spec.subscriptions[{i}]");
                let (p, e) = (sub.protocol.as_str(), &sub.endpoint);
                if let Err(expected) = sub.protocol.check_endpoint(e) {
                    let m = format!("`{e}` is not valid for protocol `{p}`: expected {expected}");
                    cx.error(&format!("{at}.endpoint"), m);
                }
                if !seen.insert(sub) {
                    cx.error(&at, format!("{p} `{e}` is listed twice"));
                }
            }
        }
        if let Some(events) = &self.events {
            let mut seen = BTreeSet::new();
            for (i, event) in events.iter().enumerate() {
                if !seen.insert(event) {
                    cx.error(
                        &format!("spec.events[{i}]"),
                        format!("`{event}` is listed twice"),
                    );
                }
            }
        }
        if let Some(every) = self.repeat_interval
            && every < MIN_REPEAT_INTERVAL
        {
            cx.error(
                "spec.repeatInterval",
                format!("{every} is too short: expected at least 1m"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{errors, spec};

    fn check(yaml: &str) -> Vec<String> {
        errors::<AlertChannelSpec>(yaml)
    }

    #[test]
    fn alert_channel_defaults_send_everything_as_json_every_four_hours() {
        let c = spec::<AlertChannelSpec>("topicName: oncall\n");
        assert_eq!(check("topicName: oncall\n"), Vec::<String>::new());
        assert!(c.owns_topic());
        assert_eq!(c.events().len(), 5);
        assert_eq!(c.min_severity(), Severity::Info);
        assert_eq!(c.repeat_interval(), Duration::secs(14_400));
        assert_eq!(c.format(), Format::Json);
    }

    #[test]
    fn alert_channel_filters_by_event_and_severity() {
        let c = spec::<AlertChannelSpec>(
            "topicName: oncall\nevents: [slo, alarm]\nminSeverity: ticket\n",
        );
        assert!(c.accepts(Event::Slo, Severity::Page));
        assert!(!c.accepts(Event::Slo, Severity::Info));
        assert!(!c.accepts(Event::Drift, Severity::Page));
    }

    #[test]
    fn alert_channel_needs_exactly_one_topic() {
        assert_eq!(
            check("format: text\n"),
            ["spec: one of `topicArn` or `topicName` is required"]
        );
        let e = check("topicName: a\ntopicArn: arn:aws:sns:us-east-1:123456789012:a\n");
        assert_eq!(
            e,
            ["spec.topicName: set only one of `topicArn` and `topicName`"]
        );
    }

    #[test]
    fn alert_channel_rejects_malformed_topics() {
        let e = check("topicArn: arn:aws:sqs:us-east-1:123456789012:a\n");
        assert_eq!(
            e,
            [
                "spec.topicArn: `arn:aws:sqs:us-east-1:123456789012:a` is not an SNS topic ARN: expected `arn:aws:sns:<region>:<account>:<name>`"
            ]
        );
        let e = check("topicName: on call\n");
        assert_eq!(
            e,
            [
                "spec.topicName: `on call` is not a valid topic name: 1 to 256 letters, digits, `-` and `_`"
            ]
        );
    }

    #[test]
    fn alert_channel_allows_subscriptions_only_on_owned_topics() {
        let e = check(
            "topicArn: arn:aws:sns:us-east-1:123456789012:a\nsubscriptions: [{protocol: email, endpoint: a@example.com}]\n",
        );
        assert_eq!(
            e,
            [
                "spec.subscriptions: subscriptions are reconciled only on a topic the operator owns: use `topicName` or remove them"
            ]
        );
    }

    #[test]
    fn alert_channel_checks_endpoints_against_protocols() {
        let e = check(
            "topicName: t\nsubscriptions:\n  - {protocol: http, endpoint: 'https://x'}\n  - {protocol: https, endpoint: 'https://hooks.example.com/a'}\n  - {protocol: sqs, endpoint: 'arn:aws:sqs:us-east-1:123456789012:q'}\n  - {protocol: email-json, endpoint: nobody}\n  - {protocol: sqs, endpoint: 'arn:aws:sqs:us-east-1:123456789012:q'}\n",
        );
        assert_eq!(
            e,
            [
                "spec.subscriptions[0].endpoint: `https://x` is not valid for protocol `http`: expected an `http://` URL",
                "spec.subscriptions[3].endpoint: `nobody` is not valid for protocol `email-json`: expected an email address",
                "spec.subscriptions[4]: sqs `arn:aws:sqs:us-east-1:123456789012:q` is listed twice",
            ]
        );
    }

    #[test]
    fn alert_channel_rejects_duplicate_events_and_short_repeats() {
        let e = check("topicName: t\nevents: [drift, drift]\nrepeatInterval: 30s\n");
        assert_eq!(
            e,
            [
                "spec.events[1]: `drift` is listed twice",
                "spec.repeatInterval: 30s is too short: expected at least 1m",
            ]
        );
    }
}
