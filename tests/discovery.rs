//! Cloud Map on moto: namespaces of each type (operation wait), services and
//! their drift, static instances, ECS registries, stale-instance cleanup and its
//! safety rule.

mod support;

use std::time::Duration;

use support::controller::Controller;
use support::{Moto, block_on, describe, path_str, platform, poll, unique, write_docs};

fn discovery(name: &str, namespace: &str, kind: &str, extra: &str) -> String {
    // moto refuses a second private namespace in one VPC whatever its name: one VPC each.
    let vpc_id = namespace.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    let vpc = if kind == "DNS_PRIVATE" {
        format!(", vpc: vpc-{vpc_id:016x}")
    } else {
        String::new()
    };
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: DiscoveryService\nmetadata: {{name: {name}}}\nspec:\n  namespace: {{name: {namespace}, type: {kind}{vpc}}}\n{extra}"
    )
}

fn cm() -> impl Fn(&Moto) -> aws_sdk_servicediscovery::Client {
    |moto: &Moto| {
        let config = aws_sdk_servicediscovery::Config::builder()
            .behavior_version(aws_sdk_servicediscovery::config::BehaviorVersion::latest())
            .region(aws_sdk_servicediscovery::config::Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(aws_sdk_servicediscovery::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .http_client(ecs_operator::aws::http_client())
            .build();
        aws_sdk_servicediscovery::Client::from_conf(config)
    }
}

/// (id, arn, ttl) of the Cloud Map service named `name` in namespace `namespace`.
fn cm_service(moto: &Moto, namespace: &str, name: &str) -> Option<(String, String, i64)> {
    let client = cm()(moto);
    let ns = block_on(client.list_namespaces().send()).expect("namespaces");
    let ns_id = ns
        .namespaces()
        .iter()
        .find(|n| n.name() == Some(namespace))?
        .id()?
        .to_owned();
    let services = block_on(client.list_services().send()).expect("services");
    for s in services.services() {
        let full = block_on(client.get_service().id(s.id()?).send()).expect("service");
        let full = full.service()?;
        if full.name() == Some(name) && full.namespace_id() == Some(ns_id.as_str()) {
            let ttl = full
                .dns_config()
                .and_then(|d| d.dns_records().first())
                .map_or(-1, |r| r.ttl());
            return Some((full.id()?.to_owned(), full.arn()?.to_owned(), ttl));
        }
    }
    None
}

fn instances(moto: &Moto, service_id: &str) -> Vec<(String, Vec<(String, String)>)> {
    let out =
        block_on(cm()(moto).list_instances().service_id(service_id).send()).expect("instances");
    let mut found: Vec<(String, Vec<(String, String)>)> = out
        .instances()
        .iter()
        .map(|i| {
            let mut attrs: Vec<(String, String)> = i
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            attrs.sort();
            (i.id().unwrap_or_default().to_owned(), attrs)
        })
        .collect();
    // moto appends a duplicate entry when an instance is registered again (AWS upserts).
    found.sort();
    found
}

fn register_by_hand(moto: &Moto, service_id: &str, id: &str, cluster: &str) {
    block_on(
        cm()(moto)
            .register_instance()
            .service_id(service_id)
            .instance_id(id)
            .attributes("AWS_INSTANCE_IPV4", "10.0.0.9")
            .attributes("ECS_CLUSTER_NAME", cluster)
            .send(),
    )
    .expect("register by hand");
}

#[test]
fn namespaces_of_each_type_and_their_services_are_created_then_kept_equal() {
    let moto = Moto::shared();
    let instance = unique("inst");
    let (http, private, public) = (
        unique("http"),
        format!("{}.internal", unique("priv")),
        format!("{}.example.com", unique("pub")),
    );
    let dir = write_docs(&[(
        "cm.yaml",
        [
            discovery("api-http", &http, "HTTP", ""),
            discovery(
                "api-private",
                &private,
                "DNS_PRIVATE",
                "  dns: {ttl: 10, recordTypes: [A, SRV]}\n  healthCheckCustom: true\n",
            ),
            discovery("api-public", &public, "DNS_PUBLIC", "  dns: {ttl: 300}\n"),
        ]
        .join("---\n"),
    )]);
    let files = path_str(dir.path());
    let first = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    first.expect_code(0);
    assert!(
        first.stdout.contains("+ DiscoveryService/api-private"),
        "{}",
        first.stdout
    );
    assert!(cm_service(moto, &http, "api-http").is_some());
    assert_eq!(
        cm_service(moto, &private, "api-private").map(|s| s.2),
        Some(10)
    );
    assert_eq!(
        cm_service(moto, &public, "api-public").map(|s| s.2),
        Some(300)
    );
    let again = moto.operator(&["apply", "-f", files, "--instance", &instance]);
    again.expect_code(0);
    assert_eq!(again.writes(), 0, "{}", again.stdout);

    // Drift by hand: the TTL of the private service.
    let (id, _, _) = cm_service(moto, &private, "api-private").expect("service");
    block_on(
        cm()(moto)
            .update_service()
            .id(&id)
            .service(
                aws_sdk_servicediscovery::types::ServiceChange::builder()
                    .dns_config(
                        aws_sdk_servicediscovery::types::DnsConfigChange::builder()
                            .dns_records(
                                aws_sdk_servicediscovery::types::DnsRecord::builder()
                                    .r#type(aws_sdk_servicediscovery::types::RecordType::A)
                                    .ttl(999)
                                    .build()
                                    .expect("record"),
                            )
                            .build()
                            .expect("change"),
                    )
                    .build(),
            )
            .send(),
    )
    .expect("update by hand");
    let plan = moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    plan.expect_code(2);
    assert!(
        plan.stdout.contains("~ DiscoveryService/api-private"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("dns: {"), "{}", plan.stdout);
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    assert_eq!(
        cm_service(moto, &private, "api-private").map(|s| s.2),
        Some(10)
    );
    moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ])
    .expect_code(0);
}

#[test]
fn static_instances_are_registered_updated_and_deregistered_and_ecs_services_register_into_the_service()
 {
    let moto = Moto::shared();
    let instance = unique("inst");
    let cluster = unique("cm");
    let td = unique("api");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let ns = format!("{}.internal", unique("svc"));
    let db = |ip: &str| {
        format!(
            "  instances:\n    - {{id: db, attributes: {{AWS_INSTANCE_IPV4: \"{ip}\", AWS_INSTANCE_PORT: \"5432\"}}}}\n"
        )
    };
    let api = support::docs::service("api", &cluster, &td)
        .fargate(net)
        .field(
            "serviceRegistries: [{discoveryService: api, containerName: api, containerPort: 3000}]",
        )
        .build();
    let v1 = write_docs(&[(
        "cm.yaml",
        format!(
            "{}---\n{api}",
            discovery(
                "api",
                &ns,
                "DNS_PRIVATE",
                &format!("  dns: {{recordTypes: [SRV]}}\n{}", db("10.0.0.5"))
            )
        ),
    )]);
    moto.operator(&["apply", "-f", path_str(v1.path()), "--instance", &instance])
        .expect_code(0);
    let (id, arn, _) = cm_service(moto, &ns, "api").expect("service");
    let found = instances(moto, &id);
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .1
            .contains(&("AWS_INSTANCE_IPV4".to_owned(), "10.0.0.5".to_owned())),
        "{found:?}"
    );
    let registries = describe(moto, &cluster, "api")
        .service_registries()
        .to_vec();
    assert_eq!(
        registries.first().and_then(|r| r.registry_arn()),
        Some(arn.as_str()),
        "the ECS service registers into it"
    );

    let v2 = write_docs(&[(
        "cm.yaml",
        format!(
            "{}---\n{api}",
            discovery(
                "api",
                &ns,
                "DNS_PRIVATE",
                &format!("  dns: {{recordTypes: [SRV]}}\n{}", db("10.0.0.6"))
            )
        ),
    )]);
    moto.operator(&["apply", "-f", path_str(v2.path()), "--instance", &instance])
        .expect_code(0);
    let found = instances(moto, &id);
    assert!(
        found.iter().any(|i| i
            .1
            .contains(&("AWS_INSTANCE_IPV4".to_owned(), "10.0.0.6".to_owned()))),
        "{found:?}"
    );

    let v3 = write_docs(&[(
        "cm.yaml",
        format!(
            "{}---\n{api}",
            discovery("api", &ns, "DNS_PRIVATE", "  dns: {recordTypes: [SRV]}\n")
        ),
    )]);
    let plan = moto.operator(&["plan", "-f", path_str(v3.path()), "--instance", &instance]);
    assert!(plan.stdout.contains("instances.db:"), "{}", plan.stdout);
    moto.operator(&["apply", "-f", path_str(v3.path()), "--instance", &instance])
        .expect_code(0);
    assert!(
        instances(moto, &id).iter().all(|i| i.0 != "db"),
        "{:?}",
        instances(moto, &id)
    );
}

fn notes(ctl: &Controller, resource: &str) -> String {
    ctl.status()["resources"][resource]["notes"].to_string()
}

#[test]
fn a_stale_instance_is_removed_after_stale_after_and_one_backed_by_a_task_is_kept() {
    let moto = Moto::shared();
    let instance = unique("inst");
    let cluster = unique("stale");
    let td = unique("api");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let ns = format!("{}.internal", unique("stale"));
    let docs = write_docs(&[(
        "cm.yaml",
        format!(
            "{}---\n{}",
            discovery("api", &ns, "DNS_PRIVATE", "  staleAfter: 3s\n"),
            support::docs::service("api", &cluster, &td)
                .fargate(net)
                .field("serviceRegistries: [{discoveryService: api}]")
                .build()
        ),
    )]);
    let files = path_str(docs.path());
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    let (id, _, _) = cm_service(moto, &ns, "api").expect("service");
    // A task of the service that runs (ECS registers it by task id) and one that is gone.
    let task_id = String::from_utf8(
        moto.platform(&["task", &cluster, &unique("bridge"), "api"])
            .stdout,
    )
    .expect("utf-8");
    let task_id = task_id.trim().to_owned();
    register_by_hand(moto, &id, &task_id, &cluster);
    register_by_hand(moto, &id, "0123456789abcdef-gone", &cluster);

    let ctl = Controller::start(moto, files, &instance, "1s", &[], &[]);
    poll(
        Duration::from_secs(20),
        "the gone task's instance is seen stale",
        || {
            notes(&ctl, "DiscoveryService/api")
                .contains("0123456789abcdef-gone has looked stale since")
        },
    );
    // Seen stale once: not removed yet.
    assert!(
        instances(moto, &id)
            .iter()
            .any(|i| i.0 == "0123456789abcdef-gone")
    );
    poll(
        Duration::from_secs(20),
        "the stale instance is removed after staleAfter",
        || {
            instances(moto, &id)
                .iter()
                .all(|i| i.0 != "0123456789abcdef-gone")
        },
    );
    let left: Vec<String> = instances(moto, &id).into_iter().map(|i| i.0).collect();
    drop(ctl);
    assert_eq!(left, [task_id], "the instance of the running task stays");
}

#[test]
fn stale_instances_are_never_removed_when_the_task_listing_fails() {
    let moto = Moto::shared();
    let instance = unique("inst");
    let cluster = unique("unsafe");
    let td = unique("api");
    platform(moto, &cluster, &[&td]);
    let net = moto.network();
    let ns = format!("{}.internal", unique("unsafe"));
    let docs = write_docs(&[(
        "cm.yaml",
        format!(
            "{}---\n{}",
            discovery("api", &ns, "DNS_PRIVATE", "  staleAfter: 1s\n"),
            support::docs::service("api", &cluster, &td)
                .fargate(net)
                .field("serviceRegistries: [{discoveryService: api}]")
                .build()
        ),
    )]);
    let files = path_str(docs.path());
    moto.operator(&["apply", "-f", files, "--instance", &instance])
        .expect_code(0);
    let (id, _, _) = cm_service(moto, &ns, "api").expect("service");
    register_by_hand(moto, &id, "0123456789abcdef-gone", &cluster);

    // A fault: every ECS call fails (nothing listens there); Cloud Map still answers.
    let ctl = Controller::start(
        moto,
        files,
        &instance,
        "1s",
        &[],
        &[("AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:9")],
    );
    poll(
        Duration::from_secs(60),
        "the controller says why it does not remove",
        || {
            notes(&ctl, "DiscoveryService/api")
                .contains("stale instances are not removed this time")
        },
    );
    // Two more loops: still there.
    ctl.loops(2);
    let left = instances(moto, &id);
    drop(ctl);
    assert!(
        left.iter().any(|i| i.0 == "0123456789abcdef-gone"),
        "removed while tasks were unknown: {left:?}"
    );
}
