//! In-memory SNS: topics, subscriptions and published messages.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Calls, error};
use crate::aws::sns::{Message, SnsApi, Subscription};
use crate::aws::{AwsError, ErrorKind};

#[derive(Debug, Default)]
struct SnsState {
    topics: BTreeMap<String, BTreeMap<String, String>>,
    subscriptions: BTreeMap<String, Vec<Subscription>>,
    published: Vec<Message>,
    calls: Calls,
}

#[derive(Debug, Default)]
pub struct FakeSns {
    state: Mutex<SnsState>,
}

const SNS: &str = "sns";

impl FakeSns {
    pub fn new() -> Self {
        FakeSns::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut SnsState) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Every message published so far.
    pub fn published(&self) -> Vec<Message> {
        self.with(|s| s.published.clone())
    }

    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.with(|s| s.calls.failures.entry(operation).or_default().push(kind));
    }

    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.calls.counts.get(operation).copied().unwrap_or(0))
    }
}

impl SnsApi for FakeSns {
    async fn list_topics(&self) -> Result<Vec<String>, AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "ListTopics")?;
            Ok(s.topics.keys().cloned().collect())
        })
    }

    async fn topic_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "ListTagsForResource")?;
            s.topics.get(arn).cloned().ok_or_else(|| {
                error(
                    SNS,
                    "ListTagsForResource",
                    ErrorKind::NotFound,
                    "no such topic",
                )
            })
        })
    }

    async fn create_topic(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "CreateTopic")?;
            let arn = format!("arn:aws:sns:us-east-1:123456789012:{name}");
            s.topics
                .entry(arn.clone())
                .or_default()
                .extend(tags.clone());
            Ok(arn)
        })
    }

    async fn tag_topic(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "TagResource")?;
            s.topics
                .entry(arn.to_owned())
                .or_default()
                .extend(tags.clone());
            Ok(())
        })
    }

    async fn delete_topic(&self, arn: &str) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "DeleteTopic")?;
            s.topics.remove(arn);
            s.subscriptions.remove(arn);
            Ok(())
        })
    }

    async fn list_subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "ListSubscriptionsByTopic")?;
            Ok(s.subscriptions.get(topic_arn).cloned().unwrap_or_default())
        })
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "Subscribe")?;
            let subs = s.subscriptions.entry(topic_arn.to_owned()).or_default();
            let arn = format!("{topic_arn}:sub-{}", subs.len());
            subs.push(Subscription {
                arn,
                protocol: protocol.to_owned(),
                endpoint: endpoint.to_owned(),
            });
            Ok(())
        })
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "Unsubscribe")?;
            for subs in s.subscriptions.values_mut() {
                subs.retain(|x| x.arn != subscription_arn);
            }
            Ok(())
        })
    }

    async fn publish(&self, message: &Message) -> Result<(), AwsError> {
        self.with(|s| {
            s.calls.call(SNS, "Publish")?;
            if message.body.len() > crate::aws::sns::MAX_MESSAGE_BYTES
                || message.subject.chars().count() >= 100
            {
                return Err(error(
                    SNS,
                    "Publish",
                    ErrorKind::Invalid,
                    "Message too long",
                ));
            }
            s.published.push(message.clone());
            Ok(())
        })
    }
}
