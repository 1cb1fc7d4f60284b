use super::*;
use crate::model::testing::{errors, has_error_at, spec};

const FARGATE: &str = r#"
requiresCompatibilities: [FARGATE]
networkMode: awsvpc
cpu: "0.25 vCPU"
memory: 512
containerDefinitions:
  - name: web
    image: repo/web:1.4
    portMappings: [{containerPort: 8080}]
    environment: [{name: A, value: "1"}]
    secrets: [{name: S, valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/s"}]
"#;

#[test]
fn a_fargate_task_of_a_quarter_vcpu_and_512_mib_is_valid() {
    assert_eq!(errors::<TaskDefinitionSpec>(FARGATE), Vec::<String>::new());
}

#[test]
fn fargate_refuses_a_size_pair_it_does_not_run() {
    let e = errors::<TaskDefinitionSpec>(&FARGATE.replace("memory: 512", "memory: \"4 GB\""));
    assert!(has_error_at(&e, "spec.memory"), "{e:?}");
}

#[test]
fn fargate_needs_awsvpc() {
    let e = errors::<TaskDefinitionSpec>(&FARGATE.replace("awsvpc", "bridge"));
    assert!(has_error_at(&e, "spec.networkMode"), "{e:?}");
}

#[test]
fn duplicate_container_environment_and_secret_names_are_errors() {
    let yaml = r#"
containerDefinitions:
  - name: web
    image: a:1
    environment: [{name: A, value: "1"}, {name: A, value: "2"}]
    secrets: [{name: S, valueFrom: x}, {name: S, valueFrom: y}]
  - name: web
    image: b:1
"#;
    let e = errors::<TaskDefinitionSpec>(yaml);
    assert!(
        has_error_at(&e, "spec.containerDefinitions[1].name"),
        "{e:?}"
    );
    assert!(
        has_error_at(&e, "spec.containerDefinitions[0].environment[1].name"),
        "{e:?}"
    );
    assert!(
        has_error_at(&e, "spec.containerDefinitions[0].secrets[1].name"),
        "{e:?}"
    );
}

#[test]
fn a_task_needs_an_essential_container() {
    let yaml = "containerDefinitions: [{name: web, image: a:1, essential: false}]";
    let e = errors::<TaskDefinitionSpec>(yaml);
    assert!(has_error_at(&e, "spec.containerDefinitions"), "{e:?}");
}

#[test]
fn depends_on_names_a_container_of_the_task() {
    let yaml = r#"
containerDefinitions:
  - name: web
    image: a:1
    dependsOn: [{containerName: migrate, condition: SUCCESS}]
"#;
    let e = errors::<TaskDefinitionSpec>(yaml);
    assert!(
        has_error_at(
            &e,
            "spec.containerDefinitions[0].dependsOn[0].containerName"
        ),
        "{e:?}"
    );
}

#[test]
fn reserved_tag_keys_are_refused() {
    let yaml = "containerDefinitions: [{name: web, image: a:1}]\ntags: {\"aws:x\": y}";
    let e = errors::<TaskDefinitionSpec>(yaml);
    assert!(has_error_at(&e, "spec.tags.aws:x"), "{e:?}");
}

#[test]
fn a_task_definition_over_64_kib_is_refused() {
    let big = "x".repeat(70 * 1024);
    let yaml = format!(
        "containerDefinitions: [{{name: web, image: a:1, environment: [{{name: BIG, value: {big}}}]}}]"
    );
    let e = errors::<TaskDefinitionSpec>(&yaml);
    assert!(has_error_at(&e, "spec"), "{e:?}");
}

#[test]
fn units_of_task_size_are_understood() {
    let s: TaskDefinitionSpec = spec(FARGATE);
    assert_eq!(s.cpu.and_then(|c| c.cpu_units()), Some(256));
    assert_eq!(TaskSize::Text("2 GB".into()).mib(), Some(2048));
    assert_eq!(TaskSize::Text("1 vCPU".into()).cpu_units(), Some(1024));
    assert_eq!(TaskSize::Text("lots".into()).mib(), None);
}

#[test]
fn images_without_a_tag_or_on_latest_are_warned_about() {
    assert!(image_warning("repo/web").is_some());
    assert!(image_warning("repo/web:latest").is_some());
    assert!(image_warning("registry:5000/web").is_some());
    assert!(image_warning("registry:5000/web:3f9c2e1").is_none());
    assert!(image_warning("repo/web@sha256:abcd").is_none());
}
