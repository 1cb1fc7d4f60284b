//! Pure tests of Service planning.

use super::*;
use crate::aws::ecs::ObservedService;
use crate::desired::Desired;
use crate::load::Source;

fn desired(yaml: &str) -> Desired {
    let source = Source {
        files: vec![("d.yaml".to_owned(), yaml.to_owned())],
        revision: "r1".to_owned(),
    };
    Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"))
}

const WEB: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec:\n  cluster: prod\n  taskDefinition: web\n  desiredCount: 2\n";
const TD: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:3";

fn observed(live: Option<ObservedService>) -> Observed {
    let mut o = Observed::default();
    o.listed_clusters.insert("prod".to_owned());
    o.task_definitions
        .insert("web".to_owned(), Ok(TD.to_owned()));
    if let Some(s) = live {
        o.services.insert(("prod".to_owned(), s.name.clone()), s);
    }
    o
}

fn live(desired_count: u32) -> ObservedService {
    ObservedService {
        arn: "arn:aws:ecs:us-east-1:1:service/prod/web".to_owned(),
        cluster: "prod".to_owned(),
        name: "web".to_owned(),
        status: "ACTIVE".to_owned(),
        desired_count,
        running_count: desired_count,
        task_definition: TD.to_owned(),
        launch_type: Some("FARGATE".to_owned()),
        capacity_provider_strategy: Vec::new(),
        platform_version: None,
        network: None,
        load_balancers: Vec::new(),
        service_registries: Vec::new(),
        deployment: None,
        health_check_grace_period_seconds: None,
        enable_execute_command: false,
        propagate_tags: None,
        tags: ownership_tags("default", &DocRef::new(Kind::Service, "web")),
        deployments: Vec::new(),
    }
}

fn step(yaml: &str, live: Option<ObservedService>) -> Step {
    step_in(yaml, &observed(live))
}

/// The step of Service/web against `observed`.
fn step_in(yaml: &str, observed: &Observed) -> Step {
    let d = desired(yaml);
    let ds = &d.services["web"];
    let capacity = crate::capacity::decide(&d, ds, jiff::Timestamp::UNIX_EPOCH);
    plan_service(
        ds,
        observed.service("prod", "web"),
        &capacity,
        &BTreeMap::new(),
        &BTreeMap::new(),
        observed,
        &PlanOptions::default(),
    )
}

#[test]
fn a_missing_service_is_created_with_ownership_tags() {
    let s = step(WEB, None);
    assert_eq!(s.action, Action::Create);
    let Some(Op::CreateService(c)) = s.ops.first() else {
        panic!("{s:?}")
    };
    assert_eq!(c.task_definition, TD);
    assert_eq!(c.desired_count, 2);
    assert_eq!(
        c.tags.get(OWNER_TAG).map(String::as_str),
        Some("Service/web")
    );
}

#[test]
fn an_equal_service_is_in_sync_and_sends_nothing() {
    let s = step(WEB, Some(live(2)));
    assert_eq!(s.action, Action::InSync);
    assert!(s.ops.is_empty());
}

#[test]
fn desired_count_drift_is_one_update_with_actual_and_desired() {
    let s = step(WEB, Some(live(7)));
    assert_eq!(s.action, Action::Update);
    assert_eq!(s.changes[0].field, "desiredCount");
    assert_eq!(
        (s.changes[0].actual.clone(), s.changes[0].desired.clone()),
        (json!(7), json!(2))
    );
    assert_eq!(s.ops.len(), 1);
}

#[test]
fn desired_count_is_not_drift_when_an_autoscaler_owns_it() {
    let yaml = format!(
        "{WEB}---\napiVersion: ecs-operator/v1alpha1\nkind: Autoscaler\nmetadata: {{name: web}}\nspec: {{serviceRef: web, minCapacity: 1, maxCapacity: 10}}\n"
    );
    let s = step(&yaml, Some(live(7)));
    assert_eq!(s.action, Action::InSync);
    assert!(
        s.notes
            .iter()
            .any(|n| n
                .contains("owned by Application Auto Scaling within [1, 10] of Autoscaler/web")),
        "{:?}",
        s.notes
    );
    // Outside the bounds it is still not written; the plan says what App Auto Scaling does.
    let s = step(&yaml, Some(live(0)));
    assert_eq!(s.action, Action::InSync);
    assert!(
        s.notes.iter().any(|n| n.contains(
            "desiredCount 0 is outside [1, 10] of Autoscaler/web: Application Auto Scaling moves it to 1"
        )),
        "{:?}",
        s.notes
    );
}

#[test]
fn a_capacity_provider_strategy_replaces_the_launch_type_in_place() {
    let yaml = format!(
        "{WEB}  capacityProviderStrategy: [{{capacityProvider: FARGATE_SPOT, weight: 1}}]\n"
    );
    let s = step(&yaml, Some(live(2)));
    assert_eq!(s.action, Action::Update);
    let Some(Op::UpdateService(u)) = s.ops.first() else {
        panic!("{s:?}")
    };
    assert_eq!(u.capacity_provider_strategy.as_ref().map(Vec::len), Some(1));
}

#[test]
fn an_untagged_service_is_adopted() {
    let mut l = live(2);
    l.tags.clear();
    let s = step(WEB, Some(l));
    assert_eq!(s.action, Action::Adopt);
    assert!(matches!(&s.ops[..], [Op::TagService { .. }]));
}

#[test]
fn unmanaged_fields_are_never_compared() {
    let mut l = live(2);
    l.health_check_grace_period_seconds = Some(99);
    l.enable_execute_command = true;
    l.tags.insert("cost-centre".to_owned(), "42".to_owned());
    assert_eq!(step(WEB, Some(l)).action, Action::InSync);
}

mod rollouts {
    //! The hold inside a whole Service step: what is written and what is not.
    use super::*;
    use crate::aws::ecs::{DeploymentConfig, DeploymentRecord};
    use crate::model::service::CircuitBreaker;

    const OLD: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";

    fn rolled_back(desired_count: u32) -> ObservedService {
        let mut s = live(desired_count);
        s.task_definition = OLD.to_owned();
        s.deployment = Some(DeploymentConfig {
            circuit_breaker: Some(CircuitBreaker {
                enable: true,
                rollback: true,
            }),
            ..DeploymentConfig::default()
        });
        s
    }

    fn held_step(yaml: &str, live: ObservedService) -> Step {
        let mut observed = observed(Some(live));
        observed.rollouts.insert(
            ("prod".to_owned(), "web".to_owned()),
            Ok(vec![DeploymentRecord {
                arn: "sd-1".to_owned(),
                status: "ROLLBACK_SUCCESSFUL".to_owned(),
                status_reason: Some("tasks failed to start".to_owned()),
                task_definition: Some(TD.to_owned()),
                rolled_back_to: Some(OLD.to_owned()),
                rollback_reason: None,
                created_at: None,
                finished_at: None,
            }]),
        );
        step_in(yaml, &observed)
    }

    #[test]
    fn a_held_revision_is_not_sent_but_desired_count_still_is() {
        let s = held_step(WEB, rolled_back(5));
        assert!(s.hold.is_some());
        assert_eq!(
            s.health.as_ref().map(|h| h.state),
            Some(rollout::HealthState::Degraded)
        );
        let Some(Op::UpdateService(u)) = s.ops.first() else {
            panic!("{s:?}")
        };
        assert_eq!(u.desired_count, Some(2));
        assert_eq!(u.task_definition, None);
        assert!(s.changes.iter().all(|c| c.field != "taskDefinition"));
    }

    #[test]
    fn a_held_service_that_is_otherwise_in_sync_sends_nothing() {
        let s = held_step(WEB, rolled_back(2));
        assert_eq!(s.action, Action::InSync);
        assert!(s.ops.is_empty(), "{s:?}");
    }

    #[test]
    fn a_retry_sends_the_revision_then_tags_the_value() {
        let yaml = WEB.replace(
            "metadata: {name: web}",
            "metadata: {name: web, annotations: {ecs-operator/retry-rollout: again}}",
        );
        let s = held_step(&yaml, rolled_back(2));
        assert_eq!(s.hold, None);
        let calls: Vec<&str> = s.ops.iter().map(crate::plan::json::call_name).collect();
        assert_eq!(calls, ["ecs:UpdateService", "ecs:TagResource"]);
        let Some(Op::UpdateService(u)) = s.ops.first() else {
            panic!("{s:?}")
        };
        assert_eq!(u.task_definition.as_deref(), Some(TD));
    }
}
