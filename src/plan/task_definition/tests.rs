use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::aws::ecs::ObservedService;
use crate::load::Source;
use crate::observed::ActiveRevision;
use crate::plan::{INSTANCE_TAG, OWNER_TAG, Plan, plan};

const DOCS: &str = r#"apiVersion: ecs-operator/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "0.25 vCPU"
  memory: 512
  containerDefinitions:
    - name: web
      image: repo/web:1.4
      portMappings: [{containerPort: 8080}]
      environment: [{name: A, value: "1"}, {name: B, value: "2"}]
  tags: {team: core}
---
apiVersion: ecs-operator/v1alpha1
kind: Service
metadata: {name: web}
spec:
  cluster: prod
  taskDefinitionRef: web
"#;

const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";

fn desired(yaml: &str) -> Desired {
    let source = Source {
        files: vec![("d.yaml".to_owned(), yaml.to_owned())],
        revision: "r1".to_owned(),
    };
    Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
}

/// Revision `n` of the family as ECS stores the document `yaml` declares:
/// sizes in units, defaults filled, environment in another order.
fn revision(yaml: &str, n: u32, tags: BTreeMap<String, String>) -> ObservedTaskDefinition {
    let d = desired(yaml);
    let mut content = register_content(&d.task_definitions["web"].doc.spec, "web");
    content.cpu = Some(crate::model::task_definition::TaskSize::Text("256".into()));
    content.memory = Some(crate::model::task_definition::TaskSize::Text("512".into()));
    for c in &mut content.container_definitions {
        c.essential = Some(true);
        c.cpu = Some(0);
        c.mount_points = Some(vec![]);
        for p in c.port_mappings.iter_mut().flatten() {
            p.host_port = Some(p.container_port);
            p.protocol = Some("tcp".into());
        }
        if let Some(env) = &mut c.environment {
            env.reverse();
        }
    }
    ObservedTaskDefinition {
        arn: format!("{ARN}:{n}"),
        family: "web".into(),
        revision: n,
        status: "ACTIVE".into(),
        content,
        tags,
    }
}

/// The tags this instance gives the revisions of `yaml`'s document.
fn ours(yaml: &str) -> BTreeMap<String, String> {
    let d = desired(yaml);
    let spec = &d.task_definitions["web"].doc.spec;
    let hash = normalise::content_hash(&normalise::of_document(spec, "web"));
    BTreeMap::from([
        (INSTANCE_TAG.into(), "default".into()),
        (OWNER_TAG.into(), "TaskDefinition/web".into()),
        (CONTENT_TAG.into(), hash),
        ("team".into(), "core".into()),
    ])
}

fn observed(latest: Option<ObservedTaskDefinition>, running: &str) -> Observed {
    let mut o = Observed::default();
    o.listed_clusters.insert("prod".into());
    o.revisions.insert("web".into(), Ok(latest));
    let live = ObservedService {
        arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/web".into(),
        cluster: "prod".into(),
        name: "web".into(),
        status: "ACTIVE".into(),
        desired_count: 1,
        task_definition: running.to_owned(),
        tags: BTreeMap::from([
            (INSTANCE_TAG.into(), "default".into()),
            (OWNER_TAG.into(), "Service/web".into()),
        ]),
        ..ObservedService::default()
    };
    o.services.insert(("prod".into(), "web".into()), live);
    o
}

fn plan_of(yaml: &str, o: &Observed, options: &PlanOptions) -> Plan {
    plan(&desired(yaml), o, jiff::Timestamp::UNIX_EPOCH, options)
}

fn step(p: &Plan, kind: Kind) -> &Step {
    p.steps
        .iter()
        .find(|s| s.resource.kind == kind)
        .expect("the plan has a step of the kind")
}

fn registrations(p: &Plan) -> usize {
    let ops = p.steps.iter().flat_map(|s| &s.ops);
    ops.filter(|o| matches!(o, Op::RegisterTaskDefinition { .. }))
        .count()
}

#[test]
fn a_family_in_sync_with_its_document_plans_nothing() {
    let o = observed(Some(revision(DOCS, 3, ours(DOCS))), &format!("{ARN}:3"));
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    assert!(!p.has_ops(), "{:#?}", p.steps);
    assert_eq!(step(&p, Kind::TaskDefinition).action, Action::InSync);
}

#[test]
fn a_missing_family_is_registered_and_the_service_waits_for_it() {
    let o = observed(
        None,
        "arn:aws:ecs:us-east-1:123456789012:task-definition/old:1",
    );
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(td.action, Action::Create);
    assert_eq!(registrations(&p), 1);
    let svc = step(&p, Kind::Service);
    assert_eq!(
        svc.depends_on,
        vec![DocRef::new(Kind::TaskDefinition, "web")]
    );
    let Some(Op::UpdateService(u)) = svc.ops.last() else {
        panic!("the service rolls: {:#?}", svc.ops)
    };
    assert_eq!(
        u.task_definition.as_deref(),
        Some(pending_arn("web").as_str())
    );
}

#[test]
fn a_new_image_is_one_registration_shown_as_a_field_diff() {
    let o = observed(Some(revision(DOCS, 3, ours(DOCS))), &format!("{ARN}:3"));
    let changed = DOCS.replace("repo/web:1.4", "repo/web:1.5");
    let p = plan_of(&changed, &o, &PlanOptions::default());
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(td.action, Action::Update);
    assert_eq!(registrations(&p), 1);
    let fields: Vec<String> = td
        .changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, c.actual, c.desired))
        .collect();
    assert_eq!(
        fields,
        ["containerDefinitions[web].image: \"repo/web:1.4\" → \"repo/web:1.5\""]
    );
    assert!(
        step(&p, Kind::Service)
            .ops
            .iter()
            .any(|o| matches!(o, Op::UpdateService(_)))
    );
}

#[test]
fn a_change_of_tags_alone_tags_the_revision_and_registers_nothing() {
    let o = observed(Some(revision(DOCS, 3, ours(DOCS))), &format!("{ARN}:3"));
    let retagged = DOCS.replace("tags: {team: core}", "tags: {team: web}");
    let p = plan_of(&retagged, &o, &PlanOptions::default());
    assert_eq!(registrations(&p), 0);
    let td = step(&p, Kind::TaskDefinition);
    assert!(
        matches!(td.ops.as_slice(), [Op::TagTaskDefinition { .. }]),
        "{:#?}",
        td.ops
    );
    assert!(step(&p, Kind::Service).ops.is_empty());
}

#[test]
fn an_unowned_family_equal_to_its_document_is_adopted_by_tagging() {
    let o = observed(
        Some(revision(DOCS, 3, BTreeMap::new())),
        &format!("{ARN}:3"),
    );
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(td.action, Action::Adopt);
    assert_eq!(registrations(&p), 0);
    assert!(matches!(td.ops.as_slice(), [Op::TagTaskDefinition { .. }]));
}

#[test]
fn a_revision_registered_over_ours_by_hand_is_drift_and_the_document_is_registered_again() {
    let hand = DOCS.replace("repo/web:1.4", "repo/web:hotfix");
    let mut o = observed(
        Some(revision(&hand, 4, BTreeMap::new())),
        &format!("{ARN}:4"),
    );
    o.foreign_latest.insert("web".into());
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(td.action, Action::Update);
    assert_eq!(registrations(&p), 1);
    assert!(
        td.notes.iter().any(|n| n.contains("someone else")),
        "{:?}",
        td.notes
    );
}

#[test]
fn another_instances_family_is_left_alone_and_its_services_blocked() {
    let mut tags = ours(DOCS);
    tags.insert(INSTANCE_TAG.into(), "staging".into());
    let changed = DOCS.replace("repo/web:1.4", "repo/web:1.5");
    let o = observed(Some(revision(DOCS, 3, tags)), &format!("{ARN}:3"));
    let p = plan_of(&changed, &o, &PlanOptions::default());
    assert_eq!(step(&p, Kind::TaskDefinition).action, Action::Blocked);
    assert_eq!(step(&p, Kind::Service).action, Action::Blocked);
    assert!(!p.has_ops());
}

#[test]
fn a_revision_registered_from_the_document_that_differs_blocks_it_instead_of_registering() {
    // ECS added a field the normaliser does not know: the content tag says the
    // revision came from this very document.
    let mut gap = revision(DOCS, 3, ours(DOCS));
    gap.content.container_definitions[0].start_timeout = Some(0);
    let o = observed(Some(gap), &format!("{ARN}:2"));
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(td.action, Action::Blocked);
    assert!(
        td.notes[0].contains("containerDefinitions[web].startTimeout"),
        "{}",
        td.notes[0]
    );
    assert_eq!(registrations(&p), 0);
    assert_eq!(step(&p, Kind::Service).action, Action::Blocked);
}

fn active(n: u32, tags: &BTreeMap<String, String>) -> Vec<ActiveRevision> {
    (1..=n)
        .map(|r| ActiveRevision {
            arn: format!("{ARN}:{r}"),
            revision: r,
            tags: Some(tags.clone()),
        })
        .collect()
}

#[test]
fn retention_deregisters_the_oldest_unused_revision_past_keep_one_a_loop() {
    let tags = ours(DOCS);
    let mut o = observed(Some(revision(DOCS, 7, tags.clone())), &format!("{ARN}:7"));
    o.active_revisions.insert("web".into(), active(7, &tags));
    o.running_task_definitions = Some(BTreeSet::new());
    // :1 still runs in a deployment of another service.
    let mut other = o.services[&("prod".to_owned(), "web".to_owned())].clone();
    other.name = "batch".into();
    other.task_definition = format!("{ARN}:1");
    o.services.insert(("prod".into(), "batch".into()), other);
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(
        td.ops,
        vec![Op::DeregisterTaskDefinition {
            arn: format!("{ARN}:2")
        }]
    );
    assert_eq!(
        td.action,
        Action::InSync,
        "retention is housekeeping, not drift"
    );
}

#[test]
fn retention_keeps_revisions_it_did_not_register() {
    let tags = ours(DOCS);
    let mut o = observed(Some(revision(DOCS, 7, tags.clone())), &format!("{ARN}:7"));
    o.active_revisions
        .insert("web".into(), active(7, &BTreeMap::new()));
    let p = plan_of(DOCS, &o, &PlanOptions::default());
    assert!(!p.has_ops(), "{:#?}", p.steps);
}

#[test]
fn a_family_whose_document_is_gone_is_orphaned_and_pruned_when_unused() {
    let service_only = DOCS
        .split("---\n")
        .nth(1)
        .expect("two documents")
        .replace("taskDefinitionRef: web", "taskDefinition: other");
    let tags = ours(DOCS);
    let mut o = observed(
        None,
        "arn:aws:ecs:us-east-1:123456789012:task-definition/other:1",
    );
    o.task_definitions.insert(
        "other".into(),
        Ok("arn:aws:ecs:us-east-1:123456789012:task-definition/other:1".into()),
    );
    o.undeclared_families = Some(BTreeMap::from([(
        "web".to_owned(),
        revision(DOCS, 3, tags.clone()),
    )]));
    o.active_revisions.insert("web".into(), active(3, &tags));
    o.running_task_definitions = Some(BTreeSet::new());
    let p = plan_of(&service_only, &o, &PlanOptions::default());
    assert_eq!(step(&p, Kind::TaskDefinition).action, Action::Orphaned);
    assert!(!p.has_ops());
    let prune = PlanOptions {
        prune: true,
        ..PlanOptions::default()
    };
    let p = plan_of(&service_only, &o, &prune);
    let td = step(&p, Kind::TaskDefinition);
    assert_eq!(td.action, Action::Delete);
    assert_eq!(td.ops.len(), 3);
}

#[test]
fn a_paused_document_holds_its_services_instead_of_naming_an_unregistered_revision() {
    let paused = DOCS.replacen(
        "metadata: {name: web}",
        "metadata: {name: web, annotations: {ecs-operator/paused: \"true\"}}",
        1,
    );
    let o = observed(None, &format!("{ARN}:1"));
    let p = plan_of(&paused, &o, &PlanOptions::default());
    assert_eq!(step(&p, Kind::Service).action, Action::Blocked);
    assert!(!p.has_ops());
}
