//! Judging a followed deployment from what DescribeServices says.

use super::*;
use crate::aws::ecs::Deployment;

const OLD: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:1";
const NEW: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";

fn followed() -> Followed {
    Followed {
        resource: "Service/web".to_owned(),
        cluster: "prod".to_owned(),
        service: "web".to_owned(),
        task_definition: Some(NEW.to_owned()),
        replaced: BTreeSet::from(["ecs-svc/1".to_owned()]),
    }
}

fn deployment(id: &str, status: &str, td: &str, state: &str) -> Deployment {
    Deployment {
        id: id.to_owned(),
        status: status.to_owned(),
        task_definition: td.to_owned(),
        rollout_state: Some(state.to_owned()),
        rollout_state_reason: Some("tasks failed to start".to_owned()),
        ..Deployment::default()
    }
}

fn service(td: &str, deployments: Vec<Deployment>, running: u32) -> ObservedService {
    ObservedService {
        status: "ACTIVE".to_owned(),
        task_definition: td.to_owned(),
        desired_count: 2,
        running_count: running,
        deployments,
        ..ObservedService::default()
    }
}

#[test]
fn the_old_deployment_still_primary_is_in_progress() {
    let live = service(
        NEW,
        vec![deployment("ecs-svc/1", "PRIMARY", OLD, "COMPLETED")],
        2,
    );
    assert!(matches!(
        judge(&followed(), Some(&live)),
        Verdict::InProgress(_)
    ));
}

#[test]
fn a_new_primary_that_completed_with_every_task_running_is_healthy() {
    let mut live = service(
        NEW,
        vec![deployment("ecs-svc/2", "PRIMARY", NEW, "IN_PROGRESS")],
        0,
    );
    assert!(matches!(
        judge(&followed(), Some(&live)),
        Verdict::InProgress(_)
    ));
    live.deployments[0].rollout_state = Some("COMPLETED".to_owned());
    live.running_count = 2;
    assert!(matches!(
        judge(&followed(), Some(&live)),
        Verdict::Healthy(_)
    ));
}

#[test]
fn a_failed_deployment_or_a_rollback_is_a_failure() {
    let live = service(
        OLD,
        vec![
            deployment("ecs-svc/3", "PRIMARY", OLD, "IN_PROGRESS"),
            deployment("ecs-svc/2", "ACTIVE", NEW, "FAILED"),
        ],
        2,
    );
    let Verdict::Failed(why) = judge(&followed(), Some(&live)) else {
        panic!("not failed")
    };
    assert!(why.contains("tasks failed to start"), "{why}");
    // The failed one already drained: the task definition says it.
    let live = service(
        OLD,
        vec![deployment("ecs-svc/3", "PRIMARY", OLD, "COMPLETED")],
        2,
    );
    let Verdict::Failed(why) = judge(&followed(), Some(&live)) else {
        panic!("not failed")
    };
    assert_eq!(why, "ECS rolled web:2 back to web:1");
}

#[test]
fn a_rollback_deployment_that_completed_is_never_healthy() {
    let mut f = followed();
    f.task_definition = None; // a network change: the task definition says nothing
    let live = service(
        OLD,
        vec![deployment("ecs-svc/3", "PRIMARY", OLD, "FAILED")],
        2,
    );
    assert!(matches!(judge(&f, Some(&live)), Verdict::Failed(_)));
}

#[test]
fn a_deleted_service_fails() {
    assert!(matches!(judge(&followed(), None), Verdict::Failed(_)));
}
