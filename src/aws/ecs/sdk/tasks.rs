//! The tasks of a cluster through the SDK: every one not STOPPED, for the
//! live-task and running-revision reads of the `EcsApi` impl.

use aws_sdk_ecs::types as sdk;

use super::SdkEcs;
use crate::aws::AwsError;

// Its own copy: tests/deploy.rs reads the service of each `.call` from the
// consts of the file it is in.
const ECS: &str = "ecs";

impl SdkEcs {
    /// Every task of `cluster` that is not STOPPED: ListTasks for both
    /// desired statuses (a task on its way down is still running), every
    /// page, then DescribeTasks 100 a call.
    pub(super) async fn not_stopped_tasks(
        &self,
        cluster: &str,
    ) -> Result<Vec<sdk::Task>, AwsError> {
        let mut arns = Vec::new();
        for status in [sdk::DesiredStatus::Running, sdk::DesiredStatus::Stopped] {
            let mut token = None;
            loop {
                let page = self
                    .client
                    .list_tasks()
                    .cluster(cluster)
                    .desired_status(status.clone())
                    .max_results(100)
                    .set_next_token(token);
                let page = self
                    .calls
                    .call(ECS, "ListTasks", || page.clone().send())
                    .await?;
                arns.extend(page.task_arns().iter().cloned());
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        arns.sort();
        arns.dedup();
        let mut tasks = Vec::new();
        for batch in arns.chunks(100) {
            let out = self
                .client
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()));
            let out = self
                .calls
                .call(ECS, "DescribeTasks", || out.clone().send())
                .await?;
            let live = out
                .tasks()
                .iter()
                .filter(|t| t.last_status() != Some("STOPPED"));
            tasks.extend(live.cloned());
        }
        Ok(tasks)
    }
}
