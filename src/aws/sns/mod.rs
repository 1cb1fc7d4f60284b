//! SNS topics, subscriptions and publishing: the trait the reconciler and the notifier use.

mod sdk;

pub use sdk::SdkSns;

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use super::AwsError;

/// SNS's limit on a message body, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// What `SubscriptionArn` says while a subscription waits for confirmation.
pub const PENDING: &str = "PendingConfirmation";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Subscription {
    /// The ARN, or `PendingConfirmation`.
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Message {
    pub topic_arn: String,
    /// At most 100 characters, no line breaks.
    pub subject: String,
    pub body: String,
    /// String attributes, for subscription filter policies.
    pub attributes: BTreeMap<String, String>,
}

/// The SNS calls the operator makes.
pub trait SnsApi: Send + Sync {
    /// Every topic ARN, every page.
    fn list_topics(&self) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;

    fn topic_tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, AwsError>> + Send;

    /// Creates a topic (idempotent on the name); returns its ARN.
    fn create_topic(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, AwsError>> + Send;

    /// Adds or overwrites tags; others are kept.
    fn tag_topic(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    fn delete_topic(&self, arn: &str) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Every subscription of a topic, every page.
    fn list_subscriptions(
        &self,
        topic_arn: &str,
    ) -> impl Future<Output = Result<Vec<Subscription>, AwsError>> + Send;

    fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    fn unsubscribe(
        &self,
        subscription_arn: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Publishes with the String message structure (the only one that carries attributes).
    fn publish(&self, message: &Message) -> impl Future<Output = Result<(), AwsError>> + Send;
}
