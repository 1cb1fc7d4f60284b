//! The hold and health decisions, on deployment histories shaped like ECS's.

use std::collections::BTreeMap;

use super::*;
use crate::aws::ecs::{Deployment, DeploymentConfig};
use crate::desired::Desired;
use crate::load::Source;
use crate::model::service::CircuitBreaker;

const WEB42: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:42";
const WEB43: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:43";

fn desired(annotations: &str) -> DesiredService {
    let yaml = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {{name: web{annotations}}}\nspec: {{cluster: prod, taskDefinition: 'web:43'}}\n"
    );
    let source = Source {
        files: vec![("d.yaml".to_owned(), yaml)],
        revision: "r1".to_owned(),
    };
    let d = Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"));
    d.services["web"].clone()
}

fn deployment(id: &str, status: &str, td: &str, state: &str) -> Deployment {
    Deployment {
        id: id.to_owned(),
        status: status.to_owned(),
        task_definition: td.to_owned(),
        rollout_state: Some(state.to_owned()),
        rollout_state_reason: Some(format!("ECS deployment {id} {state}")),
        desired_count: 2,
        running_count: 2,
        ..Deployment::default()
    }
}

/// A service ECS rolled back from web:43 to web:42.
fn rolled_back_service() -> ObservedService {
    ObservedService {
        name: "web".to_owned(),
        cluster: "prod".to_owned(),
        status: "ACTIVE".to_owned(),
        desired_count: 2,
        running_count: 2,
        task_definition: WEB42.to_owned(),
        deployment: Some(DeploymentConfig {
            circuit_breaker: Some(CircuitBreaker {
                enable: true,
                rollback: true,
            }),
            ..DeploymentConfig::default()
        }),
        deployments: vec![deployment("ecs-svc/2", "PRIMARY", WEB42, "COMPLETED")],
        tags: BTreeMap::new(),
        ..ObservedService::default()
    }
}

fn record(td: &str, status: &str, arn: &str) -> DeploymentRecord {
    DeploymentRecord {
        arn: arn.to_owned(),
        status: status.to_owned(),
        status_reason: Some("3 tasks failed to start".to_owned()),
        task_definition: Some(td.to_owned()),
        rolled_back_to: Some(WEB42.to_owned()),
        rollback_reason: None,
        created_at: None,
        finished_at: None,
    }
}

fn history(records: Vec<DeploymentRecord>) -> Result<Vec<DeploymentRecord>, String> {
    Ok(records)
}

#[test]
fn a_rolled_back_revision_is_held_with_ecs_reason() {
    let h = history(vec![record(WEB43, "ROLLBACK_SUCCESSFUL", "sd-2")]);
    let r = decide(&desired(""), &rolled_back_service(), WEB43, Some(&h));
    let hold = r.hold.clone().expect("held");
    assert_eq!(
        hold.message(),
        "rollout of web:43 failed: 3 tasks failed to start; ECS rolled back to web:42"
    );
    assert!(r.frozen());
    assert!(!r.retrying);
}

#[test]
fn a_revision_that_once_succeeded_and_was_changed_by_hand_is_drift_not_a_hold() {
    let h = history(vec![
        record(WEB42, "SUCCESSFUL", "sd-3"),
        record(WEB43, "SUCCESSFUL", "sd-2"),
    ]);
    let r = decide(&desired(""), &rolled_back_service(), WEB43, Some(&h));
    assert_eq!(r.hold, None);
    assert!(!r.frozen());
}

#[test]
fn only_the_newest_attempt_at_a_revision_counts() {
    // Failed once, then deployed fine after a retry: no hold.
    let h = history(vec![
        record(WEB43, "SUCCESSFUL", "sd-3"),
        record(WEB43, "ROLLBACK_SUCCESSFUL", "sd-2"),
    ]);
    let r = decide(&desired(""), &rolled_back_service(), WEB43, Some(&h));
    assert_eq!(r.hold, None);
}

#[test]
fn a_rollback_in_progress_holds_already() {
    let h = history(vec![record(WEB43, "ROLLBACK_IN_PROGRESS", "sd-2")]);
    let r = decide(&desired(""), &rolled_back_service(), WEB43, Some(&h));
    assert!(r.hold.is_some());
}

#[test]
fn a_history_that_cannot_be_read_freezes_the_task_definition_without_a_hold() {
    let h = Err("AccessDenied".to_owned());
    let r = decide(&desired(""), &rolled_back_service(), WEB43, Some(&h));
    assert_eq!(r.hold, None);
    assert!(r.frozen(), "never re-send a revision blindly");
}

#[test]
fn a_new_retry_annotation_value_releases_the_hold_once() {
    let h = history(vec![record(WEB43, "ROLLBACK_SUCCESSFUL", "sd-2")]);
    let ds = desired(", annotations: {ecs-operator/retry-rollout: '1'}");
    let r = decide(&ds, &rolled_back_service(), WEB43, Some(&h));
    assert!(r.retrying);
    assert!(!r.frozen());
    assert_eq!(r.retry_tag.as_deref(), Some("1"));

    // The value was acted on (the service carries it): held again.
    let mut live = rolled_back_service();
    live.tags.insert(RETRY_TAG.to_owned(), "1".to_owned());
    let r = decide(&ds, &live, WEB43, Some(&h));
    assert!(r.hold.is_some());
    assert_eq!(r.retry_tag, None);
}

#[test]
fn a_retry_value_set_while_nothing_is_held_is_only_recorded() {
    let ds = desired(", annotations: {ecs-operator/retry-rollout: '1'}");
    let mut live = rolled_back_service();
    live.task_definition = WEB43.to_owned();
    let r = decide(&ds, &live, WEB43, None);
    assert!(!r.retrying);
    assert_eq!(
        r.retry_tag.as_deref(),
        Some("1"),
        "tagged, so a later hold is not retried"
    );
}

#[test]
fn health_follows_the_primary_deployment() {
    let mut live = rolled_back_service();
    assert_eq!(
        health(&live, None).map(|h| h.state),
        Some(HealthState::Healthy)
    );
    live.deployments = vec![
        deployment("ecs-svc/3", "PRIMARY", WEB43, "IN_PROGRESS"),
        deployment("ecs-svc/2", "ACTIVE", WEB42, "COMPLETED"),
    ];
    let h = health(&live, None).expect("health");
    assert_eq!(h.state, HealthState::Progressing);
    assert_eq!(h.revision.as_deref(), Some("web:43"));
    assert_eq!(h.deployment.as_deref(), Some("ecs-svc/3"));
    live.deployments[0].rollout_state = Some("FAILED".to_owned());
    assert_eq!(
        health(&live, None).map(|h| h.state),
        Some(HealthState::Degraded)
    );
}

#[test]
fn a_completed_deployment_short_of_tasks_is_not_healthy() {
    let mut live = rolled_back_service();
    live.running_count = 1;
    live.deployments[0].failed_tasks = 4;
    let h = health(&live, None).expect("health");
    assert_eq!(h.state, HealthState::Degraded);
    live.deployments[0].failed_tasks = 0;
    assert_eq!(
        health(&live, None).map(|h| h.state),
        Some(HealthState::Progressing)
    );
}

#[test]
fn a_hold_is_degraded_with_the_rollback_as_reason() {
    let h = history(vec![record(WEB43, "ROLLBACK_SUCCESSFUL", "sd-2")]);
    let live = rolled_back_service();
    let r = decide(&desired(""), &live, WEB43, Some(&h));
    let health = health(&live, r.hold.as_ref()).expect("health");
    assert_eq!(health.state, HealthState::Degraded);
    assert_eq!(health.deployment.as_deref(), Some("sd-2"));
    assert!(
        health
            .reason
            .unwrap_or_default()
            .contains("rolled back to web:42")
    );
}
