//! The events queue through the AWS SDK.

use std::sync::Arc;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

use super::{MAX_MESSAGES, QueueApi, Received, WAIT_SECONDS};
use crate::aws::call::{Caller, RetryPolicy};
use crate::aws::{AwsError, ErrorKind};
use crate::metrics::Metrics;

const SQS: &str = "sqs";

#[derive(Clone)]
pub struct SdkQueue {
    client: aws_sdk_sqs::Client,
    calls: Caller,
}

impl SdkQueue {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkQueue {
            client: aws_sdk_sqs::Client::new(config),
            calls: Caller::new(SQS, metrics, retry),
        }
    }
}

impl QueueApi for SdkQueue {
    async fn receive(&self, url: &str) -> Result<Vec<Received>, AwsError> {
        let req = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(MAX_MESSAGES)
            .wait_time_seconds(WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp);
        let out = self
            .calls
            .call(SQS, "ReceiveMessage", || req.clone().send())
            .await?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let sent_at_ms = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .and_then(|t| t.parse().ok());
                Some(Received {
                    receipt: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    sent_at_ms,
                })
            })
            .collect())
    }

    async fn delete(&self, url: &str, receipts: &[String]) -> Result<(), AwsError> {
        let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .build()
                    .ok()
            })
            .collect();
        let req = self
            .client
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries));
        let out = self
            .calls
            .call(SQS, "DeleteMessageBatch", || req.clone().send())
            .await?;
        // A failed entry is received again after its visibility timeout and
        // de-duplicated then: reported, not retried.
        match out.failed().first() {
            None => Ok(()),
            Some(f) => Err(AwsError {
                service: SQS,
                operation: "DeleteMessageBatch",
                kind: ErrorKind::Other,
                code: Some(f.code().to_owned()),
                message: format!(
                    "{} of {} messages not deleted: {}",
                    out.failed().len(),
                    receipts.len(),
                    f.message().unwrap_or_default()
                ),
            }),
        }
    }
}
