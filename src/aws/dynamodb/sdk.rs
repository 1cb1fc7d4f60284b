//! The lease item through the AWS SDK: one conditional UpdateItem per call.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{Acquired, EXPIRES_AT, HOLDER, KEY, LeaseApi, VERSION};
use crate::aws::call::{Caller, RetryPolicy};
use crate::aws::{AwsError, ErrorKind};
use crate::metrics::Metrics;

const DYNAMODB: &str = "dynamodb";

/// `name` is a DynamoDB reserved word; the others get placeholders for symmetry.
/// DynamoDB refuses a placeholder the expressions do not use, so each call lists its own.
const ACQUIRE_NAMES: [(&str, &str); 4] = [
    ("#n", KEY),
    ("#h", HOLDER),
    ("#e", EXPIRES_AT),
    ("#v", VERSION),
];
const RELEASE_NAMES: [(&str, &str); 2] = [("#h", HOLDER), ("#e", EXPIRES_AT)];

#[derive(Clone)]
pub struct SdkLease {
    client: aws_sdk_dynamodb::Client,
    calls: Caller,
}

impl SdkLease {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        SdkLease {
            client: aws_sdk_dynamodb::Client::new(config),
            calls: Caller::new(DYNAMODB, metrics, retry),
        }
    }

    fn update(&self, table: &str, name: &str, names: &[(&str, &str)]) -> UpdateItem {
        let mut req = self
            .client
            .update_item()
            .table_name(table)
            .key(KEY, AttributeValue::S(name.to_owned()));
        for (placeholder, attribute) in names {
            req = req.expression_attribute_names(*placeholder, *attribute);
        }
        req
    }
}

type UpdateItem = aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn invalid_answer(message: &str) -> AwsError {
    AwsError {
        service: DYNAMODB,
        operation: "UpdateItem",
        kind: ErrorKind::Other,
        code: None,
        message: message.to_owned(),
    }
}

fn read_number(item: &HashMap<String, AttributeValue>, key: &str) -> Option<i64> {
    item.get(key)?.as_n().ok()?.parse().ok()
}

/// Who holds the lease, from the item a failed condition returned (ALL_OLD).
fn taken(item: Option<&HashMap<String, AttributeValue>>) -> Result<Acquired, AwsError> {
    let item = item.ok_or_else(|| {
        invalid_answer(
            "ConditionalCheckFailed without the item (ReturnValuesOnConditionCheckFailure=ALL_OLD)",
        )
    })?;
    Ok(Acquired::Taken {
        holder: item
            .get(HOLDER)
            .and_then(|h| h.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        expires_at_ms: read_number(item, EXPIRES_AT).unwrap_or_default(),
    })
}

impl LeaseApi for SdkLease {
    async fn acquire(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<Acquired, AwsError> {
        let out = self
            .update(table, name, &ACQUIRE_NAMES)
            .update_expression("SET #h = :me, #e = :expires ADD #v :one")
            .condition_expression("attribute_not_exists(#n) OR #e < :now OR #h = :me")
            .expression_attribute_values(":me", AttributeValue::S(holder.to_owned()))
            .expression_attribute_values(":expires", number(expires_at_ms))
            .expression_attribute_values(":now", number(now_ms))
            .expression_attribute_values(":one", number(1))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        // Someone else holds it: an answer, not a failure (nor a retry).
        let out = self
            .calls
            .call(DYNAMODB, "UpdateItem", || {
                let req = out.clone();
                async move {
                    match req.send().await {
                        Ok(o) => Ok(Ok(o)),
                        Err(e) => match e.as_service_error() {
                            Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                                Ok(Err(c.item().cloned()))
                            }
                            _ => Err(e),
                        },
                    }
                }
            })
            .await?;
        let out = match out {
            Ok(out) => out,
            Err(item) => return taken(item.as_ref()),
        };
        let version = out
            .attributes()
            .and_then(|a| read_number(a, VERSION))
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| {
                invalid_answer("UpdateItem returned no version (ReturnValues=UPDATED_NEW)")
            })?;
        Ok(Acquired::Held { version })
    }

    async fn release(&self, table: &str, name: &str, holder: &str) -> Result<(), AwsError> {
        let out = self
            .update(table, name, &RELEASE_NAMES)
            .update_expression("SET #e = :zero REMOVE #h")
            .condition_expression("#h = :me")
            .expression_attribute_values(":me", AttributeValue::S(holder.to_owned()))
            .expression_attribute_values(":zero", number(0));
        // Someone else holds it, or nobody: nothing to give up.
        self.calls
            .call(DYNAMODB, "UpdateItem", || {
                let req = out.clone();
                async move {
                    match req.send().await {
                        Ok(_) => Ok(()),
                        Err(e)
                            if e.as_service_error().is_some_and(
                                UpdateItemError::is_conditional_check_failed_exception,
                            ) =>
                        {
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
            })
            .await
    }
}
