//! Service deployments in the fake ECS: one completes at once, or, when its
//! task definition is marked failing and the service may roll back, rolls back.

use super::{ARN, State};
use crate::aws::ecs::{Deployment, DeploymentRecord};

impl State {
    /// A deployment of `live`'s task definition: completed, or rolled back to
    /// `previous` when it is failing and ECS may roll back.
    pub(super) fn deploy(&mut self, key: &(String, String), previous: Option<String>) {
        self.deployments_made += 1;
        let n = self.deployments_made;
        let Some(live) = self.services.get_mut(key) else {
            return;
        };
        let wanted = live.task_definition.clone();
        let failure = self.failing.get(&wanted).cloned();
        let mut record = DeploymentRecord {
            arn: format!("{ARN}:service-deployment/{}/{}/sd-{n}", key.0, key.1),
            status: "SUCCESSFUL".to_owned(),
            status_reason: None,
            task_definition: Some(wanted.clone()),
            rolled_back_to: None,
            rollback_reason: None,
            created_at: None,
            finished_at: None,
        };
        if let (Some(reason), Some(previous), true) = (failure, previous, live.rolls_back()) {
            live.task_definition = previous.clone();
            record.status = "ROLLBACK_SUCCESSFUL".to_owned();
            record.status_reason = Some(reason.clone());
            record.rollback_reason = Some(reason);
            record.rolled_back_to = Some(previous);
        }
        live.running_count = live.desired_count;
        live.deployments = vec![Deployment {
            id: format!("ecs-svc/{n}"),
            status: "PRIMARY".to_owned(),
            task_definition: live.task_definition.clone(),
            rollout_state: Some("COMPLETED".to_owned()),
            rollout_state_reason: Some(format!("ECS deployment ecs-svc/{n} completed.")),
            desired_count: live.desired_count,
            running_count: live.desired_count,
            failed_tasks: 0,
            created_at: None,
            updated_at: None,
        }];
        self.history.entry(key.clone()).or_default().push(record);
    }
}
