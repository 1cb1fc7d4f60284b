//! The events queue of `run --events-queue`: long-polled receives and batched
//! deletes. Only the lease holder calls it (a standby would hide messages).

mod sdk;

pub use sdk::SdkQueue;

use std::future::Future;

use super::AwsError;

/// ReceiveMessage's maximum batch.
pub const MAX_MESSAGES: i32 = 10;
/// ReceiveMessage's longest wait; under the SDK's 30 s attempt timeout.
pub const WAIT_SECONDS: i32 = 20;

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub receipt: String,
    pub body: String,
    /// When SQS accepted it (Unix ms): the age of the oldest unprocessed event.
    pub sent_at_ms: Option<i64>,
}

/// The SQS calls of the intake.
pub trait QueueApi: Send + Sync + 'static {
    /// Up to `MAX_MESSAGES`, waiting up to `WAIT_SECONDS` for the first.
    fn receive(&self, url: &str) -> impl Future<Output = Result<Vec<Received>, AwsError>> + Send;

    /// Deletes up to 10 received messages by receipt handle.
    fn delete(
        &self,
        url: &str,
        receipts: &[String],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}
