//! Events as EventBridge delivers them to the operator's queue: envelopes
//! sent with SQS SendMessage (moto emits no ECS or CloudTrail events itself,
//! EVENTS-FACTS.md §3), in the shapes of AWS's documentation.

use super::{Moto, block_on, unique};

pub const ALICE: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com";

pub fn sqs(moto: &Moto) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto.sdk_config())
}

/// A fresh events queue: its URL.
pub fn events_queue(moto: &Moto) -> String {
    events_queue_with_visibility(moto, 30)
}

/// A queue whose received messages come back after `seconds` unless deleted.
pub fn events_queue_with_visibility(moto: &Moto, seconds: u32) -> String {
    let out = block_on(
        sqs(moto)
            .create_queue()
            .queue_name(unique("events"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                seconds.to_string(),
            )
            .send(),
    )
    .expect("create queue");
    out.queue_url().expect("url").to_owned()
}

/// Sends each body as one message, 10 a call.
pub fn send(moto: &Moto, url: &str, bodies: &[String]) {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    for batch in bodies.chunks(10) {
        let entries = batch
            .iter()
            .enumerate()
            .map(|(i, b)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(b)
                    .build()
                    .expect("entry")
            })
            .collect();
        let out = block_on(
            sqs(moto)
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send(),
        )
        .expect("send message batch");
        assert!(out.failed().is_empty(), "{:?}", out.failed());
    }
}

/// Messages in the queue, visible or in flight (moto's approximations are exact).
pub fn depth(moto: &Moto, url: &str) -> usize {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = block_on(
        sqs(moto)
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send(),
    )
    .expect("queue attributes");
    let attrs = out.attributes().cloned().unwrap_or_default();
    [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| {
        attrs
            .get(a)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
    })
    .sum()
}

/// "AWS API Call via CloudTrail" for ECS UpdateService by `actor` with `user_agent`.
pub fn update_service(
    id: &str,
    cluster: &str,
    service: &str,
    actor: &str,
    user_agent: &str,
) -> String {
    let now = jiff::Timestamp::now().to_string();
    serde_json::json!({
        "version": "0",
        "id": id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ecs",
        "account": "123456789012",
        "time": now,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:alice@example.com",
                "arn": actor,
                "accountId": "123456789012",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "arn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0a1b",
                        "userName": "AWSReservedSSO_Admin_0a1b"
                    },
                    "attributes": {"creationDate": now, "mfaAuthenticated": "false"}
                }
            },
            "eventTime": now,
            "eventSource": "ecs.amazonaws.com",
            "eventName": "UpdateService",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.9",
            "userAgent": user_agent,
            "requestParameters": {"cluster": cluster, "service": service, "desiredCount": 5},
            "responseElements": null,
            "requestID": unique("req"),
            "eventID": unique("evt"),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012"
        }
    })
    .to_string()
}

/// "ECS Deployment State Change" for a service (no actor: ECS's own event).
pub fn deployment_state_change(
    id: &str,
    cluster: &str,
    service: &str,
    event_name: &str,
    reason: &str,
) -> String {
    serde_json::json!({
        "version": "0",
        "id": id,
        "detail-type": "ECS Deployment State Change",
        "source": "aws.ecs",
        "account": "123456789012",
        "time": jiff::Timestamp::now().to_string(),
        "region": "us-east-1",
        "resources": [format!("arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{service}")],
        "detail": {
            "eventType": if event_name.ends_with("FAILED") { "ERROR" } else { "INFO" },
            "eventName": event_name,
            "clusterArn": format!("arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}"),
            "deploymentId": "ecs-svc/1234567890123456789",
            "updatedAt": jiff::Timestamp::now().to_string(),
            "reason": reason
        }
    })
    .to_string()
}
