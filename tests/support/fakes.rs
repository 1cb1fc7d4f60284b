//! The in-memory AWS of the loop tests: every fake behind the `Aws` traits,
//! a desired state from YAML, and one runtime per call.
#![allow(dead_code)] // each loop test uses a different part of it

use ecs_operator::aws::Clients;
use ecs_operator::aws::fake::{FakeCloudWatch, FakeDiscovery, FakeEcs, FakeScaling, FakeSns};
use ecs_operator::desired::Desired;
use ecs_operator::load::Source;

pub type Aws = Clients<FakeEcs, FakeScaling, FakeDiscovery, FakeSns, FakeCloudWatch>;

pub fn desired(docs: &[String]) -> Desired {
    let source = Source {
        files: vec![("desired.yaml".to_owned(), docs.join("---\n"))],
        revision: "test".to_owned(),
    };
    Desired::from_source(&source).unwrap_or_else(|d| panic!("invalid fixture:\n{d}"))
}

pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).expect("instant")
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A cluster `prod` and a task definition family `app` (revision 1).
pub fn fake() -> Aws {
    let ecs = FakeEcs::new();
    ecs.add_cluster("prod").register("app");
    Clients {
        ecs,
        scaling: FakeScaling::new(),
        discovery: FakeDiscovery::new(),
        sns: FakeSns::new(),
        cloudwatch: FakeCloudWatch::new(),
    }
}

/// Polls `check` until it holds or `deadline` passes (no sleeps as synchronisation).
pub fn poll(deadline: std::time::Duration, what: &str, mut check: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + deadline;
    while std::time::Instant::now() < end {
        if check() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("timed out waiting until {what}");
}
