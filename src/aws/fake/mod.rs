//! Stateful in-memory fakes of the AWS traits, with AWS's rules, call counters
//! and chosen failures: fast loop tests without a server.

mod autoscaling;
mod cloudwatch;
mod discovery;
mod dynamodb;
mod ecs;
mod s3;
mod sns;

pub use autoscaling::FakeScaling;
pub use cloudwatch::FakeCloudWatch;
pub use discovery::FakeDiscovery;
pub use dynamodb::{FakeLease, LeaseItem};
pub use ecs::FakeEcs;
pub use s3::FakeS3;
pub use sns::FakeSns;

use std::collections::BTreeMap;

use super::{AwsError, ErrorKind};

/// Call counts and queued failures, shared by every fake.
#[derive(Debug, Default)]
struct Calls {
    counts: BTreeMap<&'static str, u64>,
    failures: BTreeMap<&'static str, Vec<ErrorKind>>,
}

impl Calls {
    fn call(&mut self, service: &'static str, operation: &'static str) -> Result<(), AwsError> {
        *self.counts.entry(operation).or_default() += 1;
        let queued = self.failures.get_mut(operation).filter(|f| !f.is_empty());
        match queued.map(|f| f.remove(0)) {
            Some(kind) => Err(error(service, operation, kind, "injected failure")),
            None => Ok(()),
        }
    }

    fn writes(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(op, _)| crate::metrics::is_write(op))
            .map(|(_, n)| n)
            .sum()
    }
}

fn error(
    service: &'static str,
    operation: &'static str,
    kind: ErrorKind,
    message: &str,
) -> AwsError {
    AwsError {
        service,
        operation,
        kind,
        code: None,
        message: message.to_owned(),
    }
}
