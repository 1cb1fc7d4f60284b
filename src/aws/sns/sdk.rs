//! SNS through the AWS SDK.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_sns::types as sdk;

use super::{Message, SnsApi, Subscription};
use crate::aws::AwsError;
use crate::aws::call::{Caller, RetryPolicy};
use crate::metrics::Metrics;

const SNS: &str = "sns";

#[derive(Clone)]
pub struct SdkSns {
    client: aws_sdk_sns::Client,
    calls: Caller,
}

impl SdkSns {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkSns {
            client: aws_sdk_sns::Client::new(config),
            calls: Caller::new(SNS, metrics, retry),
        }
    }
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Option<Vec<sdk::Tag>> {
    let tags: Vec<sdk::Tag> = tags
        .iter()
        .filter_map(|(k, v)| sdk::Tag::builder().key(k).value(v).build().ok())
        .collect();
    (!tags.is_empty()).then_some(tags)
}

impl SnsApi for SdkSns {
    async fn list_topics(&self) -> Result<Vec<String>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self.client.list_topics().set_next_token(token);
            let page = self
                .calls
                .call(SNS, "ListTopics", || page.clone().send())
                .await?;
            found.extend(
                page.topics()
                    .iter()
                    .filter_map(|t| t.topic_arn().map(str::to_owned)),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn topic_tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self.client.list_tags_for_resource().resource_arn(arn);
        let out = self
            .calls
            .call(SNS, "ListTagsForResource", || out.clone().send())
            .await?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn create_topic(
        &self,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .create_topic()
            .name(name)
            .set_tags(sdk_tags(tags));
        let out = self
            .calls
            .call(SNS, "CreateTopic", || out.clone().send())
            .await?;
        Ok(out.topic_arn().unwrap_or_default().to_owned())
    }

    async fn tag_topic(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let out = self
            .client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(sdk_tags(tags));
        self.calls
            .call(SNS, "TagResource", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn delete_topic(&self, arn: &str) -> Result<(), AwsError> {
        let out = self.client.delete_topic().topic_arn(arn);
        self.calls
            .call(SNS, "DeleteTopic", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn list_subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_subscriptions_by_topic()
                .topic_arn(topic_arn)
                .set_next_token(token);
            let page = self
                .calls
                .call(SNS, "ListSubscriptionsByTopic", || page.clone().send())
                .await?;
            found.extend(page.subscriptions().iter().map(|s| Subscription {
                arn: s.subscription_arn().unwrap_or_default().to_owned(),
                protocol: s.protocol().unwrap_or_default().to_owned(),
                endpoint: s.endpoint().unwrap_or_default().to_owned(),
            }));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        let out = self
            .client
            .subscribe()
            .topic_arn(topic_arn)
            .protocol(protocol)
            .endpoint(endpoint);
        self.calls
            .call(SNS, "Subscribe", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), AwsError> {
        let out = self.client.unsubscribe().subscription_arn(subscription_arn);
        self.calls
            .call(SNS, "Unsubscribe", || out.clone().send())
            .await?;
        Ok(())
    }

    async fn publish(&self, message: &Message) -> Result<(), AwsError> {
        let mut req = self
            .client
            .publish()
            .topic_arn(&message.topic_arn)
            .subject(&message.subject)
            .message(&message.body);
        for (k, v) in &message.attributes {
            if let Ok(value) = sdk::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
            {
                req = req.message_attributes(k, value);
            }
        }
        self.calls
            .call(SNS, "Publish", || req.clone().send())
            .await?;
        Ok(())
    }
}
