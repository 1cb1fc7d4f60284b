//! TaskDefinition documents on the in-memory ECS, which echoes revisions the
//! way real ECS does (sizes in units, defaults filled, its own environment
//! order): steady loops register nothing, a normaliser gap is caught by the
//! self-check and registers exactly once, a failed registration holds only
//! its document and its Services. moto proves the rest (`task_definitions.rs`).

#[path = "support/fakes.rs"]
mod fakes;

use std::sync::atomic::AtomicBool;

use ecs_operator::apply::{Outcome, apply};
use ecs_operator::aws::ErrorKind;
use ecs_operator::observe::observe;
use ecs_operator::observed::Memory;
use ecs_operator::plan::{Action, Plan, PlanOptions, plan};
use fakes::{Aws, block_on, desired, fake, now};

fn task_definition(image: &str) -> String {
    format!(
        r#"apiVersion: ecs-operator/v1alpha1
kind: TaskDefinition
metadata: {{name: web}}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "0.5 vCPU"
  memory: "1 GB"
  containerDefinitions:
    - name: web
      image: {image}
      portMappings: [{{containerPort: 8080}}]
      environment: [{{name: A, value: "1"}}, {{name: B, value: "2"}}]
      healthCheck: {{command: [CMD, /health]}}
"#
    )
}

fn service(name: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  cluster: prod\n  taskDefinitionRef: web\n"
    )
}

/// One controller loop: observe, plan, apply.
fn control_loop(docs: &[String], aws: &Aws, memory: &mut Memory) -> (Plan, Outcome) {
    let d = desired(docs);
    let observed = block_on(observe(&d, aws, "default", memory, now()));
    let p = plan(&d, &observed, now(), &PlanOptions::default());
    let outcome = block_on(apply(&p, aws, &AtomicBool::new(false), |_| true));
    (p, outcome)
}

/// Service/web created on revision 1 of TaskDefinition/web, and what it runs.
fn web_at_v1() -> (Aws, Memory, String) {
    let aws = fake();
    let mut memory = Memory::default();
    let v1 = [task_definition("repo/web:1"), service("web")];
    control_loop(&v1, &aws, &mut memory);
    let running = aws
        .ecs
        .service("prod", "web")
        .expect("created")
        .task_definition;
    (aws, memory, running)
}

fn step(p: &Plan, resource: &str) -> Action {
    p.steps
        .iter()
        .find(|s| s.resource.to_string() == resource)
        .map(|s| s.action)
        .unwrap_or_else(|| panic!("no step for {resource}"))
}

#[test]
fn steady_loops_register_nothing_and_read_one_revision_per_document() {
    let aws = fake();
    let docs = [
        task_definition("repo/web:1"),
        service("web"),
        service("api"),
    ];
    let mut memory = Memory::default();
    control_loop(&docs, &aws, &mut memory);
    assert_eq!(aws.ecs.registrations("web"), 1);
    // The loop after a registration lists the family's revisions once, for retention.
    control_loop(&docs, &aws, &mut memory);
    let writes = aws.ecs.writes();
    let describes = aws.ecs.calls("DescribeTaskDefinition");
    let lists = aws.ecs.calls("ListTaskDefinitions") + aws.ecs.calls("ListTaskDefinitionFamilies");
    for _ in 0..3 {
        let (p, _) = control_loop(&docs, &aws, &mut memory);
        assert!(
            !p.has_ops(),
            "{}",
            ecs_operator::plan::text::render(&p, false)
        );
    }
    assert_eq!(
        aws.ecs.writes(),
        writes,
        "nothing written in 3 steady loops"
    );
    assert_eq!(aws.ecs.calls("DescribeTaskDefinition") - describes, 3);
    assert_eq!(
        aws.ecs.calls("ListTaskDefinitions") + aws.ecs.calls("ListTaskDefinitionFamilies"),
        lists,
        "nothing listed while the family and the desired state stay the same"
    );
}

#[test]
fn a_default_the_normaliser_does_not_know_registers_exactly_once_and_blocks_the_document() {
    let (aws, mut memory, running) = web_at_v1();
    // From now on ECS "adds" a field to each revision.
    aws.ecs.echo_extra_default(|td| {
        for c in &mut td.container_definitions {
            c.start_timeout = Some(0);
        }
    });
    let v2 = [task_definition("repo/web:2"), service("web")];
    let (_, outcome) = control_loop(&v2, &aws, &mut memory);
    let failure = outcome
        .failures()
        .find(|f| f.resource.to_string() == "TaskDefinition/web")
        .and_then(|f| f.error.clone())
        .expect("the self-check fails the registration");
    assert!(
        failure.contains("containerDefinitions[web].startTimeout"),
        "{failure}"
    );
    for _ in 0..5 {
        let (p, _) = control_loop(&v2, &aws, &mut memory);
        assert_eq!(step(&p, "TaskDefinition/web"), Action::Blocked);
        assert_eq!(step(&p, "Service/web"), Action::Blocked);
    }
    assert_eq!(
        aws.ecs.registrations("web"),
        2,
        "one registration for v2, never more"
    );
    let now_running = aws
        .ecs
        .service("prod", "web")
        .expect("service")
        .task_definition;
    assert_eq!(now_running, running, "the service keeps its revision");
}

#[test]
fn a_failed_registration_holds_its_services_and_nothing_else() {
    let (aws, mut memory, running) = web_at_v1();
    aws.ecs.edit("prod", "web", |s| s.desired_count = 5);
    aws.ecs
        .fail_next("RegisterTaskDefinition", ErrorKind::AccessDenied);
    let v2 = [task_definition("repo/web:2"), service("web")];
    let (_, outcome) = control_loop(&v2, &aws, &mut memory);
    let mut failed: Vec<String> = outcome.failures().map(|f| f.resource.to_string()).collect();
    failed.sort();
    assert_eq!(
        failed,
        ["Service/web", "TaskDefinition/web"],
        "the service waited for it"
    );
    assert_eq!(
        aws.ecs
            .service("prod", "web")
            .expect("service")
            .task_definition,
        running
    );
    // The next loop registers and rolls; the drift is corrected with it.
    control_loop(&v2, &aws, &mut memory);
    let live = aws.ecs.service("prod", "web").expect("service");
    assert!(
        live.task_definition.ends_with("web:2"),
        "{}",
        live.task_definition
    );
    assert_eq!(live.desired_count, 1);
}
