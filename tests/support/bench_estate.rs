//! The benchmark estate: N services over 3 clusters and 5 task definition
//! families, a tenth of them with an Autoscaler, an Alarm, a Cloud Map service
//! and a Schedule; and the in-memory fakes converged to it. Shared by
//! `tests/estate_bench.rs` and `benches/plan.rs`.

use std::sync::atomic::AtomicBool;

use ecs_operator::aws::Clients;
use ecs_operator::aws::fake::{FakeCloudWatch, FakeDiscovery, FakeEcs, FakeScaling, FakeSns};
use ecs_operator::desired::Desired;
use ecs_operator::load::Source;
use ecs_operator::observe::observe;
use ecs_operator::observed::Memory;
use ecs_operator::plan::{PlanOptions, plan};

pub const CLUSTERS: usize = 3;
pub const FAMILIES: usize = 5;

/// The estate: N services over 3 clusters; a tenth of them with an Autoscaler,
/// a Schedule, an Alarm and a Cloud Map service.
pub fn estate(n: usize, prefix: &str, subnet: &str, sg: &str) -> Vec<(String, String)> {
    let mut docs = vec![format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec: {{topicName: {prefix}-oncall, events: [operator]}}\n"
    )];
    // The services run the revisions of 5 TaskDefinition documents.
    for f in 0..FAMILIES {
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: TaskDefinition\nmetadata: {{name: f{f}}}\nspec:\n  family: {prefix}-f{f}\n  requiresCompatibilities: [FARGATE]\n  networkMode: awsvpc\n  cpu: \"0.25 vCPU\"\n  memory: 512\n  containerDefinitions:\n    - name: app\n      image: repo/app:{f}\n      portMappings: [{{containerPort: 8080}}]\n      environment: [{{name: FAMILY, value: \"{f}\"}}]\n"
        ));
    }
    let tenth: Vec<String> = (0..n).step_by(10).map(|i| format!("s{i}")).collect();
    for i in 0..n {
        let registry = if i % 10 == 0 {
            format!("\n  serviceRegistries: [{{discoveryService: d{i}}}]")
        } else {
            String::new()
        };
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: s{i}}}\nspec:\n  cluster: {prefix}-c{}\n  taskDefinitionRef: f{}\n  desiredCount: 1\n  launchType: FARGATE\n  network: {{subnets: [{subnet}], securityGroups: [{sg}]}}{registry}\n",
            i % CLUSTERS,
            i % FAMILIES
        ));
    }
    for s in &tenth {
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {{name: {s}}}\nspec:\n  serviceRef: {s}\n  minCapacity: 1\n  maxCapacity: 4\n  targetTracking: [{{predefinedMetric: ECSServiceAverageCPUUtilization, targetValue: 70}}]\n"
        ));
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Alarm\nmetadata: {{name: {s}-cpu}}\nspec:\n  alarmName: {prefix}-{s}-cpu\n  serviceRef: {s}\n  metric: {{namespace: AWS/ECS, name: CPUUtilization, statistic: Average, period: 300}}\n  comparison: GreaterThanThreshold\n  threshold: 80\n  evaluationPeriods: 3\n  notify: [oncall]\n"
        ));
        let d = s.replacen('s', "d", 1);
        docs.push(format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: DiscoveryService\nmetadata: {{name: {d}}}\nspec:\n  namespace: {{name: {prefix}-ns, type: HTTP}}\n  serviceName: {prefix}-{d}\n"
        ));
    }
    // One Schedule over every scheduled tenth (always active: no pinning during the run).
    docs.push(format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Schedule\nmetadata: {{name: hours}}\nspec:\n  serviceRefs: [{}]\n  timezone: UTC\n  activeWindows: [{{days: [Mon-Sun], start: \"00:00\", end: \"24:00\"}}]\n",
        tenth.join(", ")
    ));
    // Files of 500 documents, as a team would split a large estate.
    docs.chunks(500)
        .enumerate()
        .map(|(i, chunk)| (format!("estate-{i:03}.yaml"), chunk.join("---\n")))
        .collect()
}

pub type FakeAws = Clients<FakeEcs, FakeScaling, FakeDiscovery, FakeSns, FakeCloudWatch>;

pub fn fakes(prefix: &str) -> FakeAws {
    let ecs = FakeEcs::new();
    for c in 0..CLUSTERS {
        ecs.add_cluster(&format!("{prefix}-c{c}"));
    }
    for f in 0..FAMILIES {
        ecs.register(&format!("{prefix}-f{f}"));
    }
    Clients {
        ecs,
        scaling: FakeScaling::new(),
        discovery: FakeDiscovery::new(),
        sns: FakeSns::new(),
        cloudwatch: FakeCloudWatch::new(),
    }
}

pub fn load(files: Vec<(String, String)>) -> Desired {
    let source = Source {
        files,
        revision: "bench".to_owned(),
    };
    Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
}

pub fn converge(d: &Desired, aws: &FakeAws, at: jiff::Timestamp) {
    for _ in 0..4 {
        let observed = block_on(observe(d, aws, "bench", &mut Memory::default(), at));
        let p = plan(
            d,
            &observed,
            at,
            &PlanOptions {
                instance: "bench".to_owned(),
                ..PlanOptions::default()
            },
        );
        block_on(ecs_operator::apply::apply(
            &p,
            aws,
            &AtomicBool::new(false),
            |_| true,
        ));
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// The plan fixture: 10,000 services (13,006 resources with their 5 TaskDefinitions, Autoscalers,
/// Alarms, Cloud Map services and the channel), converged on the fakes, then
/// 1% of the services drifted.
pub fn plan_fixture() -> (Desired, ecs_operator::observed::Observed, jiff::Timestamp) {
    let at = jiff::Timestamp::now();
    let d = load(estate(10_000, "p", "subnet-1", "sg-1"));
    let aws = fakes("p");
    converge(&d, &aws, at);
    for i in (1..10_000).step_by(100) {
        aws.ecs
            .edit(&format!("p-c{}", i % CLUSTERS), &format!("s{i}"), |s| {
                s.desired_count = 9
            });
    }
    let observed = block_on(observe(&d, &aws, "bench", &mut Memory::default(), at));
    (d, observed, at)
}

pub fn bench_options() -> PlanOptions {
    PlanOptions {
        instance: "bench".to_owned(),
        ..PlanOptions::default()
    }
}
