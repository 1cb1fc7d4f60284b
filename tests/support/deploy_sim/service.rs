//! One simulated service's deployment engine: a deployment starts, completes
//! or fails and rolls back, and is rendered in ECS's shapes (with its deployments).

use serde_json::{Value, json};

use super::http_proxy::Request;
use super::{
    ACCOUNT, Deployment, FAILED_TASKS, ROLLBACK_REASON, Service, Settings, close, compact, last,
    next_id, region,
};

impl Service {
    /// From moto's `Service` shape.
    pub(super) fn from_moto(svc: &Value, req: &Request) -> Option<Service> {
        let cluster_arn = svc["clusterArn"].as_str()?;
        Some(Service {
            cluster: last(cluster_arn).to_owned(),
            name: svc["serviceName"].as_str()?.to_owned(),
            region: region(req),
            service_arn: svc["serviceArn"].as_str()?.to_owned(),
            cluster_arn: cluster_arn.to_owned(),
            desired: svc["desiredCount"].as_i64().unwrap_or(0),
            launch_type: svc["launchType"].as_str().map(str::to_owned),
            headers: req.headers.clone(),
            ..Service::default()
        })
    }

    pub(super) fn arn(&self, kind: &str, n: u64) -> String {
        let (region, cluster, name) = (&self.region, &self.cluster, &self.name);
        format!("arn:aws:ecs:{region}:{ACCOUNT}:{kind}/{cluster}/{name}/{n}")
    }

    /// A new PRIMARY deployment; a rollback reuses the revision it returns to.
    pub(super) fn deploy(&mut self, td: &str, revision: Option<String>, at: f64, duration: f64) {
        let (service, cluster, desired) = (&self.service_arn, &self.cluster_arn, self.desired);
        let revision = revision.unwrap_or_else(|| self.arn("service-revision", next_id()));
        let known = self
            .revisions
            .iter()
            .any(|r| r["serviceRevisionArn"] == revision.as_str());
        if !known {
            self.revisions.push(compact(json!({
                "serviceRevisionArn": revision, "serviceArn": service, "clusterArn": cluster,
                "taskDefinition": td, "launchType": self.launch_type, "createdAt": at,
            })));
        }
        let source = |d: &Deployment| {
            let n = d.counts().0;
            json!({"arn": d.revision, "requestedTaskCount": n, "runningTaskCount": n,
                "pendingTaskCount": 0})
        };
        let sources: Vec<Value> = self.deployments.iter().map(source).collect();
        let n = next_id();
        let record = self.arn("service-deployment", n);
        let started = json!({
            "serviceDeploymentArn": record, "serviceArn": service, "clusterArn": cluster,
            "createdAt": at, "startedAt": at, "updatedAt": at, "status": "IN_PROGRESS",
            "sourceServiceRevisions": sources,
            "targetServiceRevision": {"arn": revision, "requestedTaskCount": desired,
                "runningTaskCount": 0, "pendingTaskCount": desired},
        });
        self.records.insert(0, started);
        for d in &mut self.deployments {
            d.primary = false;
        }
        let id = format!("ecs-svc/{n}");
        let deployment = Deployment {
            reason: format!("ECS deployment {id} in progress."),
            id,
            primary: true,
            task_definition: td.to_owned(),
            desired,
            rollout: "IN_PROGRESS",
            created: at,
            updated: at,
            duration,
            record,
            revision,
            rolls_back: None,
        };
        self.deployments.insert(0, deployment);
    }

    pub(super) fn record(&mut self, arn: &str) -> Option<&mut Value> {
        self.records
            .iter_mut()
            .find(|r| r["serviceDeploymentArn"] == arn)
    }

    pub(super) fn finish(&mut self, arn: &str, status: &str, at: f64) {
        if let Some(r) = self.record(arn) {
            close(r, status, at);
        }
    }

    /// Moves the PRIMARY deployment on to `now`, step by step at the times the
    /// steps fell due; returns the task definition to roll moto back to.
    pub(super) fn advance(&mut self, now: f64, settings: &Settings) -> Option<String> {
        let mut rollback_to = None;
        while let Some(d) = self.deployments.first() {
            let at = d.created + d.duration;
            if d.rollout != "IN_PROGRESS" || at > now {
                break;
            }
            match settings.failure(&d.task_definition) {
                None => self.complete(at),
                Some(reason) => {
                    let rollback = self.rollback.unwrap_or(settings.default_rollback);
                    let duration = settings.duration.as_secs_f64();
                    rollback_to = self.fail(at, &reason, rollback, duration).or(rollback_to);
                }
            }
        }
        rollback_to
    }

    pub(super) fn complete(&mut self, at: f64) {
        self.deployments.truncate(1);
        let Some(d) = self.deployments.first_mut() else {
            return;
        };
        d.rollout = "COMPLETED";
        d.reason = format!("ECS deployment {} completed.", d.id);
        d.updated = at;
        let d = d.clone();
        self.finish(&d.record, "SUCCESSFUL", at);
        if let Some(failed) = &d.rolls_back {
            self.finish(failed, "ROLLBACK_SUCCESSFUL", at);
        }
        self.stable = Some(d);
    }

    pub(super) fn fail(
        &mut self,
        at: f64,
        reason: &str,
        rollback: bool,
        duration: f64,
    ) -> Option<String> {
        let d = self.deployments.first_mut()?;
        d.rollout = "FAILED";
        d.reason = format!("ECS deployment circuit breaker: {reason}");
        d.updated = at;
        let d = d.clone();
        // A failed rollback does not roll back again: ECS gives up too.
        let stable = self.stable.clone();
        let stable = stable.filter(|_| rollback && d.rolls_back.is_none());
        let r = self.record(&d.record)?;
        let breaker = json!({"status": "TRIGGERED", "failureCount": FAILED_TASKS,
            "threshold": FAILED_TASKS});
        (r["statusReason"], r["deploymentCircuitBreaker"]) = (json!(reason), breaker);
        match &stable {
            None => close(r, "STOPPED", at),
            Some(stable) => {
                (r["status"], r["updatedAt"]) = (json!("ROLLBACK_IN_PROGRESS"), json!(at));
                r["rollback"] = json!({"reason": ROLLBACK_REASON, "startedAt": at,
                    "serviceRevisionArn": stable.revision});
            }
        }
        let Some(stable) = stable else {
            if let Some(failed) = &d.rolls_back {
                self.finish(failed, "ROLLBACK_FAILED", at);
            }
            return None;
        };
        let revision = Some(stable.revision.clone());
        self.deploy(&stable.task_definition, revision, at, duration);
        let back = self.deployments.first_mut()?;
        let to = &stable.id;
        back.reason = format!("ECS deployment circuit breaker: rolling back to deploymentId {to}.");
        back.rolls_back = Some(d.record);
        Some(stable.task_definition)
    }

    pub(super) fn rendered(&self) -> Vec<Value> {
        let render = |d: &Deployment| d.render(&self.launch_type);
        self.deployments.iter().map(render).collect()
    }

    /// Takes desiredCount from moto (it may be scaled behind our back) and
    /// gives it the model in its `Service` shape; the rest stays moto's.
    pub(super) fn sync(&mut self, svc: &mut Value) {
        self.desired = svc["desiredCount"].as_i64().unwrap_or(self.desired);
        if let Some(d) = self.deployments.first_mut() {
            d.desired = self.desired;
        }
        let running = self.deployments.first().map_or(0, |d| d.counts().0);
        if let Some(svc) = svc.as_object_mut() {
            svc.insert("deployments".to_owned(), Value::from(self.rendered()));
            svc.insert("runningCount".to_owned(), Value::from(running));
        }
    }
}

impl Deployment {
    /// (running, pending): tasks exist only in the counts.
    pub(super) fn counts(&self) -> (i64, i64) {
        match self.rollout {
            "COMPLETED" => (self.desired, 0),
            "IN_PROGRESS" => (0, self.desired),
            _ => (0, 0),
        }
    }

    /// ECS's `Deployment` shape.
    pub(super) fn render(&self, launch_type: &Option<String>) -> Value {
        let (running, pending) = self.counts();
        compact(json!({
            "id": self.id, "status": if self.primary { "PRIMARY" } else { "ACTIVE" },
            "taskDefinition": self.task_definition, "desiredCount": self.desired,
            "pendingCount": pending, "runningCount": running,
            "failedTasks": if self.rollout == "FAILED" { FAILED_TASKS } else { 0 },
            "createdAt": self.created, "updatedAt": self.updated, "launchType": launch_type,
            "rolloutState": self.rollout, "rolloutStateReason": self.reason,
        }))
    }
}
