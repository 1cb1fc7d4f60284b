//! The deployment simulator (tests/support/deploy_sim.rs) on moto, through the
//! real SDK client: deployments roll forward, fail and roll back as ECS's do,
//! and its answers to the service-deployments APIs parse.

mod support;

use std::time::Duration;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Deployment, DeploymentCircuitBreaker, DeploymentConfiguration, LaunchType,
    NetworkConfiguration, ServiceDeploymentRollbackMonitorsStatus as Breaker,
    ServiceDeploymentStatus as Status,
};
use support::deploy_sim::DeploySim;
use support::{Moto, Network, block_on, describe, platform, poll, unique};

const SHORT: Duration = Duration::from_millis(300);
const DEADLINE: Duration = Duration::from_secs(20);

/// ECS through the simulator, on one runtime for the whole test: the client's
/// pooled connections belong to it.
struct Ecs {
    rt: tokio::runtime::Runtime,
    client: aws_sdk_ecs::Client,
}

impl Ecs {
    fn through(moto: &Moto, sim: &DeploySim) -> Ecs {
        let config = aws_sdk_ecs::config::Builder::from(&moto.sdk_config())
            .endpoint_url(&sim.url)
            .build();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = aws_sdk_ecs::Client::from_conf(config);
        Ecs { rt, client }
    }

    fn service(&self, cluster: &str, name: &str) -> aws_sdk_ecs::types::Service {
        let call = self
            .client
            .describe_services()
            .cluster(cluster)
            .services(name);
        let out = self
            .rt
            .block_on(call.send())
            .expect("describe through the sim");
        out.services()[0].clone()
    }

    fn deployments(&self, cluster: &str, name: &str) -> Vec<String> {
        shape(self.service(cluster, name).deployments())
    }

    fn history(
        &self,
        cluster: &str,
        name: &str,
    ) -> Vec<aws_sdk_ecs::types::ServiceDeploymentBrief> {
        let call = self
            .client
            .list_service_deployments()
            .cluster(cluster)
            .service(name);
        let out = self
            .rt
            .block_on(call.send())
            .expect("list service deployments");
        out.service_deployments().to_vec()
    }
}

/// "STATUS family:rev ROLLOUT" per deployment.
fn shape(deployments: &[Deployment]) -> Vec<String> {
    let line = |d: &Deployment| {
        let status = d.status().unwrap_or("-");
        let td = rev(d.task_definition().unwrap_or("-"));
        let rollout = d.rollout_state().map_or("-", |r| r.as_str());
        format!("{status} {td} {rollout}")
    };
    deployments.iter().map(line).collect()
}

fn rev(task_definition_arn: &str) -> &str {
    task_definition_arn.rsplit('/').next().unwrap_or_default()
}

fn latest(moto: &Moto, family: &str) -> String {
    let out = block_on(
        moto.ecs()
            .describe_task_definition()
            .task_definition(family)
            .send(),
    );
    let td = out.expect("describe task definition");
    let arn = td.task_definition().and_then(|t| t.task_definition_arn());
    arn.expect("task definition ARN").to_owned()
}

fn network(net: &Network) -> NetworkConfiguration {
    let vpc = AwsVpcConfiguration::builder()
        .subnets(&net.subnets[0])
        .security_groups(&net.security_groups[0])
        .build()
        .expect("awsvpc configuration");
    NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build()
}

#[test]
fn a_deployment_rolls_forward_and_a_failing_one_rolls_back() {
    let moto = Moto::shared();
    let cluster = unique("sim");
    platform(moto, &cluster, &["web"]);
    let td1 = latest(moto, "web");
    moto.platform(&["taskdef", "web"]);
    let td2 = latest(moto, "web");
    moto.platform(&["taskdef", "web"]);
    let td3 = latest(moto, "web");
    let (r1, r2, r3) = (rev(&td1), rev(&td2), rev(&td3));
    let sim = DeploySim::start(&moto.endpoint, SHORT);
    let ecs = Ecs::through(moto, &sim);

    let create = ecs
        .client
        .create_service()
        .cluster(&cluster)
        .service_name("web");
    let create = create.task_definition(&td1).desired_count(2);
    let create = create
        .launch_type(LaunchType::Fargate)
        .network_configuration(network(moto.network()));
    let created = ecs.rt.block_on(create.send()).expect("create service");
    let created = created.service().expect("service");
    assert_eq!(
        shape(created.deployments()),
        [format!("PRIMARY {r1} IN_PROGRESS")]
    );
    assert_eq!(created.running_count(), 0);
    let done = [format!("PRIMARY {r1} COMPLETED")];
    poll(DEADLINE, "the first deployment completes", || {
        ecs.deployments(&cluster, "web") == done
    });
    assert_eq!(ecs.service(&cluster, "web").running_count(), 2);

    let update = ecs.client.update_service().cluster(&cluster).service("web");
    let updated = ecs
        .rt
        .block_on(update.task_definition(&td2).send())
        .expect("update to web:2");
    let rolling = [
        format!("PRIMARY {r2} IN_PROGRESS"),
        format!("ACTIVE {r1} COMPLETED"),
    ];
    assert_eq!(
        shape(updated.service().expect("service").deployments()),
        rolling
    );
    let done = [format!("PRIMARY {r2} COMPLETED")];
    poll(
        DEADLINE,
        "the update completes, the old deployment gone",
        || ecs.deployments(&cluster, "web") == done,
    );
    let stable = ecs.service(&cluster, "web").deployments()[0].clone();
    let stable_id = stable.id().expect("deployment id");
    let completed = format!("ECS deployment {stable_id} completed.");
    assert_eq!(stable.rollout_state_reason(), Some(completed.as_str()));

    // Scaling alone starts nothing.
    let scale = ecs
        .client
        .update_service()
        .cluster(&cluster)
        .service("web")
        .desired_count(3);
    let scaled = ecs.rt.block_on(scale.send()).expect("scale");
    let scaled = scaled.service().expect("service");
    assert_eq!(shape(scaled.deployments()), done);
    assert_eq!(scaled.deployments()[0].id(), Some(stable_id));
    assert_eq!(scaled.running_count(), 3);

    let reason = "essential container in task exited";
    sim.fail(r3, reason);
    let update = ecs.client.update_service().cluster(&cluster).service("web");
    let updated = ecs
        .rt
        .block_on(update.task_definition(&td3).send())
        .expect("update to web:3");
    let rolling = [
        format!("PRIMARY {r3} IN_PROGRESS"),
        format!("ACTIVE {r2} COMPLETED"),
    ];
    assert_eq!(
        shape(updated.service().expect("service").deployments()),
        rolling
    );
    // web:3 fails after SHORT; the rollback it starts lasts long enough to be seen.
    sim.set_duration(Duration::from_secs(2));
    let rolling_back = [
        format!("PRIMARY {r2} IN_PROGRESS"),
        format!("ACTIVE {r3} FAILED"),
        format!("ACTIVE {r2} COMPLETED"),
    ];
    poll(DEADLINE, "web:3 fails and rolls back", || {
        ecs.deployments(&cluster, "web") == rolling_back
    });
    let deployments = ecs.service(&cluster, "web").deployments().to_vec();
    let back = format!("ECS deployment circuit breaker: rolling back to deploymentId {stable_id}.");
    assert_eq!(deployments[0].rollout_state_reason(), Some(back.as_str()));
    let failed = format!("ECS deployment circuit breaker: {reason}");
    assert_eq!(deployments[1].rollout_state_reason(), Some(failed.as_str()));
    assert_eq!(deployments[1].failed_tasks(), 3);
    let rendered = sim.deployments(&cluster, "web");
    assert_eq!(rendered.len(), 3);
    assert_eq!(rendered[1]["id"], deployments[1].id().expect("id"));
    // ECS reverts the service itself; so moto, asked directly, runs web:2 again.
    assert_eq!(
        describe(moto, &cluster, "web").task_definition(),
        Some(td2.as_str())
    );
    let statuses = |h: &[aws_sdk_ecs::types::ServiceDeploymentBrief]| -> Vec<Status> {
        h.iter().filter_map(|b| b.status().cloned()).collect()
    };
    let history = ecs.history(&cluster, "web");
    let under_way = [
        Status::InProgress,
        Status::RollbackInProgress,
        Status::Successful,
        Status::Successful,
    ];
    assert_eq!(statuses(&history), under_way);

    poll(DEADLINE, "the rollback succeeds", || {
        statuses(&ecs.history(&cluster, "web"))[1] == Status::RollbackSuccessful
    });
    assert_eq!(
        ecs.deployments(&cluster, "web"),
        [format!("PRIMARY {r2} COMPLETED")]
    );
    let list = ecs
        .client
        .list_service_deployments()
        .cluster(&cluster)
        .service("web");
    let list = list.status(Status::RollbackSuccessful);
    let listed = ecs.rt.block_on(list.send()).expect("list rolled back");
    let [brief] = listed.service_deployments() else {
        panic!("one rolled-back deployment: {listed:?}");
    };
    assert_eq!(brief.status_reason(), Some(reason));
    assert!(brief.finished_at().is_some());

    let arn = brief
        .service_deployment_arn()
        .expect("service deployment ARN");
    let missing = arn.replace("/web/", "/nope/");
    let call = ecs
        .client
        .describe_service_deployments()
        .service_deployment_arns(arn);
    let out = ecs
        .rt
        .block_on(call.service_deployment_arns(&missing).send())
        .expect("describe");
    let [record] = out.service_deployments() else {
        panic!("one service deployment: {out:?}");
    };
    assert_eq!(record.status(), Some(&Status::RollbackSuccessful));
    assert_eq!(record.status_reason(), Some(reason));
    let breaker = record
        .deployment_circuit_breaker()
        .expect("circuit breaker");
    assert_eq!(breaker.status(), Some(&Breaker::Triggered));
    assert_eq!((breaker.failure_count(), breaker.threshold()), (3, 3));
    let previous = history[2]
        .target_service_revision_arn()
        .expect("web:2's revision");
    let rollback = record.rollback().expect("rollback");
    assert_eq!(rollback.service_revision_arn(), Some(previous));
    assert!(rollback.started_at().is_some() && record.finished_at().is_some());
    let target = record.target_service_revision().and_then(|t| t.arn());
    let target = target.expect("target revision");
    assert_eq!(brief.target_service_revision_arn(), Some(target));
    assert_eq!(record.source_service_revisions().len(), 1);
    let failures: Vec<_> = out
        .failures()
        .iter()
        .map(|f| (f.arn(), f.reason()))
        .collect();
    assert_eq!(failures, [(Some(missing.as_str()), Some("MISSING"))]);

    let call = ecs
        .client
        .describe_service_revisions()
        .service_revision_arns(target);
    let out = ecs
        .rt
        .block_on(call.service_revision_arns(previous).send())
        .expect("revisions");
    let tds: Vec<_> = out
        .service_revisions()
        .iter()
        .map(|r| r.task_definition())
        .collect();
    assert_eq!(tds, [Some(td3.as_str()), Some(td2.as_str())]);

    // What the client sent, not the simulator's own rollback call.
    let bodies = sim.requests("UpdateService");
    let sent: Vec<_> = bodies
        .iter()
        .map(|b| b["taskDefinition"].as_str())
        .collect();
    assert_eq!(sent, [Some(td2.as_str()), None, Some(td3.as_str())]);
    assert_eq!(bodies[1]["desiredCount"], 3);
    let calls = sim.calls();
    assert_eq!(calls.get("ecs:CreateService"), Some(&1));
    assert_eq!(calls.get("ecs:UpdateService"), Some(&3));
    assert_eq!(
        calls.get("ecs:DescribeServiceRevisions"),
        Some(&1),
        "{calls:?}"
    );
}

#[test]
fn without_rollback_a_failure_stops_and_a_service_made_on_moto_is_adopted() {
    let moto = Moto::shared();
    let cluster = unique("sim");
    platform(moto, &cluster, &["worker"]);
    let td1 = latest(moto, "worker");
    moto.platform(&["taskdef", "worker"]);
    let td2 = latest(moto, "worker");
    let (r1, r2) = (rev(&td1), rev(&td2));
    let create = moto
        .ecs()
        .create_service()
        .cluster(&cluster)
        .service_name("worker");
    let create = create
        .task_definition(&td1)
        .desired_count(1)
        .launch_type(LaunchType::Fargate);
    let create = create.network_configuration(network(moto.network()));
    block_on(create.send()).expect("create on moto, before the simulator");
    let sim = DeploySim::start(&moto.endpoint, SHORT);
    let ecs = Ecs::through(moto, &sim);

    assert_eq!(
        ecs.deployments(&cluster, "worker"),
        [format!("PRIMARY {r1} COMPLETED")]
    );
    assert_eq!(ecs.service(&cluster, "worker").running_count(), 1);
    let history = ecs.history(&cluster, "worker");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status(), Some(&Status::Successful));

    let reason = "container health checks failed";
    sim.fail(r2, reason);
    let breaker = DeploymentCircuitBreaker::builder()
        .enable(true)
        .rollback(false)
        .build();
    let config = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(breaker)
        .build();
    let update = ecs
        .client
        .update_service()
        .cluster(&cluster)
        .service("worker");
    let update = update
        .task_definition(&td2)
        .deployment_configuration(config);
    let updated = ecs.rt.block_on(update.send()).expect("update to worker:2");
    let rolling = [
        format!("PRIMARY {r2} IN_PROGRESS"),
        format!("ACTIVE {r1} COMPLETED"),
    ];
    assert_eq!(
        shape(updated.service().expect("service").deployments()),
        rolling
    );
    let stuck = [
        format!("PRIMARY {r2} FAILED"),
        format!("ACTIVE {r1} COMPLETED"),
    ];
    poll(DEADLINE, "worker:2 fails and stays", || {
        ecs.deployments(&cluster, "worker") == stuck
    });
    let history = ecs.history(&cluster, "worker");
    assert_eq!(history[0].status(), Some(&Status::Stopped));
    assert_eq!(history[0].status_reason(), Some(reason));
    assert_eq!(
        describe(moto, &cluster, "worker").task_definition(),
        Some(td2.as_str())
    );
    let sent = &sim.requests("UpdateService")[0]["deploymentConfiguration"];
    assert_eq!(sent["deploymentCircuitBreaker"]["rollback"], false);

    let list = ecs
        .client
        .list_service_deployments()
        .cluster(&cluster)
        .service("nope");
    let err = ecs.rt.block_on(list.send()).expect_err("no such service");
    let err = err.as_service_error().expect("a service error");
    assert!(err.is_service_not_found_exception(), "{err:?}");
}
