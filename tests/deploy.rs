//! `deploy/` stays true to the code: the IAM policy grants exactly the AWS
//! operations the code can call (no more, no fewer), and the CloudFormation
//! template and the task definition agree on what the container needs.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::root;

/// Permissions a call needs besides its own action, and why (AWS's Service
/// Authorization Reference and the Cloud Map API permissions reference).
const IMPLIED: [(&str, &str); 15] = [
    (
        "iam:PassRole",
        "RegisterTaskDefinition with a task or execution role",
    ),
    (
        "application-autoscaling:TagResource",
        "RegisterScalableTarget sends the ownership tags",
    ),
    (
        "iam:CreateServiceLinkedRole",
        "Application Auto Scaling's role for ECS, made by the first RegisterScalableTarget",
    ),
    (
        "route53:CreateHostedZone",
        "Create{Private,Public}DnsNamespace",
    ),
    (
        "route53:GetHostedZone",
        "DNS namespaces and their instances",
    ),
    (
        "route53:ListHostedZonesByName",
        "DNS namespaces and their instances",
    ),
    ("ec2:DescribeVpcs", "CreatePrivateDnsNamespace"),
    ("ec2:DescribeRegions", "CreatePrivateDnsNamespace"),
    (
        "route53:ChangeResourceRecordSets",
        "RegisterInstance in a DNS namespace",
    ),
    (
        "route53:CreateHealthCheck",
        "RegisterInstance with a health check",
    ),
    ("route53:GetHealthCheck", "Register/DeregisterInstance"),
    ("route53:UpdateHealthCheck", "Register/DeregisterInstance"),
    ("route53:DeleteHealthCheck", "Register/DeregisterInstance"),
    (
        "ec2:DescribeInstances",
        "RegisterInstance (AWSCloudMapRegisterInstanceAccess)",
    ),
    (
        "sns:TagResource",
        "CreateTopic with tags (also called on its own)",
    ),
];

/// Operations whose IAM action has another name (Service Authorization Reference).
const ACTION_OF: [(&str, &str); 2] = [
    ("s3:ListObjectsV2", "s3:ListBucket"),
    ("sqs:DeleteMessageBatch", "sqs:DeleteMessage"),
];

/// Every `.call(SERVICE, "Operation", ..)` of `src/aws/`, as the IAM action
/// `prefix:Operation` (or its `ACTION_OF`): each SDK call goes through
/// `aws::call::Caller::call`, which names it.
fn operations_in_code() -> BTreeSet<String> {
    let mut files = Vec::new();
    walk(&root().join("src/aws"), &mut files);
    let mut ops = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("source");
        let consts: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("const ")?;
                let (name, value) = rest.split_once(": &str = \"")?;
                Some((name.to_owned(), value.trim_end_matches("\";").to_owned()))
            })
            .collect();
        for call in text.split(".call(").skip(1) {
            let Some((service, rest)) = call.split_once(',') else {
                continue;
            };
            let Some(op) = rest.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some((op, _)) = op.split_once('"') else {
                continue;
            };
            let Some((_, prefix)) = consts.iter().find(|(n, _)| n == service.trim()) else {
                continue;
            };
            let op = format!("{prefix}:{op}");
            let action = ACTION_OF.iter().find(|(o, _)| *o == op).map(|(_, a)| *a);
            ops.insert(action.map_or(op, str::to_owned));
        }
    }
    ops
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.starts_with(root().join("src/aws/fake"))
        {
            files.push(path);
        }
    }
}

/// Every action the policy's statements allow (a template's statement under
/// `Fn::If` counts as present: it is there when its condition holds).
fn actions_in_policy(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in policy["Statement"].as_array().expect("Statement list") {
        let s = if s["Fn::If"].is_array() {
            &s["Fn::If"][1]
        } else {
            s
        };
        assert_eq!(s["Effect"], "Allow", "{s}");
        match &s["Action"] {
            serde_json::Value::String(a) => {
                out.insert(a.clone());
            }
            serde_json::Value::Array(list) => {
                out.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)));
            }
            other => panic!("Action must be a string or a list: {other}"),
        }
    }
    out
}

/// What the policy lacks and what it grants that no call needs.
fn coverage(policy: &BTreeSet<String>) -> Result<(), String> {
    let mut needed = operations_in_code();
    needed.extend(IMPLIED.iter().map(|(a, _)| (*a).to_owned()));
    let missing: Vec<&String> = needed.difference(policy).collect();
    let extra: Vec<&String> = policy.difference(&needed).collect();
    if missing.is_empty() && extra.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "deploy/iam-policy.json does not match the code:\n  missing (the code calls them): {missing:?}\n  not called by the code: {extra:?}"
        ))
    }
}

/// The `ECS_OPERATOR_INSTANCE` of the task definition.
fn task_definition_instance() -> serde_json::Value {
    task_definition()["containerDefinitions"][0]["environment"]
        .as_array()
        .expect("environment")
        .iter()
        .find(|e| e["name"] == "ECS_OPERATOR_INSTANCE")
        .map(|e| e["value"].clone())
        .expect("ECS_OPERATOR_INSTANCE")
}

fn policy() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("deploy/iam-policy.json")).expect("policy");
    serde_json::from_str(&text).expect("policy JSON")
}

#[test]
fn the_code_calls_every_aws_operation_through_the_caller() {
    let ops = operations_in_code();
    // One per service at least, and the calls this project is known to make.
    for op in [
        "ecs:UpdateService",
        "application-autoscaling:RegisterScalableTarget",
        "servicediscovery:GetOperation",
        "sns:Publish",
        "cloudwatch:GetMetricData",
        "cloudwatch:PutMetricData",
        "s3:ListBucket",
    ] {
        assert!(ops.contains(op), "{op} not found in {ops:?}");
    }
    assert!(ops.len() >= 45, "{} operations: {ops:?}", ops.len());
}

#[test]
fn the_iam_policy_grants_exactly_what_the_code_calls() {
    coverage(&actions_in_policy(&policy())).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_coverage_check_fails_when_the_policy_misses_or_adds_an_action() {
    let mut granted = actions_in_policy(&policy());
    granted.remove("ecs:UpdateService");
    let e = coverage(&granted).expect_err("a missing action is found");
    assert!(
        e.contains("missing (the code calls them): [\"ecs:UpdateService\"]"),
        "{e}"
    );
    let mut granted = actions_in_policy(&policy());
    granted.insert("ecs:DeleteCluster".to_owned());
    let e = coverage(&granted).expect_err("an extra action is found");
    assert!(
        e.contains("not called by the code: [\"ecs:DeleteCluster\"]"),
        "{e}"
    );
}

#[test]
fn updates_and_deletions_are_conditioned_on_the_ownership_tag_of_the_task_definitions_instance() {
    let p = policy();
    let instance = task_definition_instance();
    let conditioned: BTreeSet<String> = p["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| {
            s["Condition"]["StringEquals"]["aws:ResourceTag/ecs-operator/instance"] == instance
        })
        .flat_map(|s| actions_in_policy(&serde_json::json!({"Statement": [s]})))
        .collect();
    let created: BTreeSet<String> = p["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| {
            s["Condition"]["StringEquals"]["aws:RequestTag/ecs-operator/instance"] == instance
        })
        .flat_map(|s| actions_in_policy(&serde_json::json!({"Statement": [s]})))
        .collect();
    assert!(created.contains("ecs:CreateService"), "{created:?}");
    for action in [
        "ecs:UpdateService",
        "ecs:DeleteService",
        "application-autoscaling:DeregisterScalableTarget",
        "servicediscovery:DeleteService",
        "sns:DeleteTopic",
        "cloudwatch:DeleteAlarms",
    ] {
        assert!(
            conditioned.contains(action),
            "{action} is not conditioned on aws:ResourceTag/ecs-operator/instance"
        );
    }
}

#[test]
fn the_lease_grant_is_scoped_to_the_lease_table_and_the_item_of_the_instance() {
    let p = policy();
    let instance = task_definition_instance();
    let dynamodb: Vec<&serde_json::Value> = p["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| {
            actions_in_policy(&serde_json::json!({"Statement": [s]}))
                .iter()
                .any(|a| a.starts_with("dynamodb:"))
        })
        .collect();
    assert_eq!(dynamodb.len(), 1, "{dynamodb:?}");
    let s = dynamodb[0];
    assert_eq!(s["Action"], "dynamodb:UpdateItem");
    assert!(
        s["Resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:dynamodb:") && r.contains(":table/")),
        "{s}"
    );
    // The lease item's key is the instance (LeaseConfig::new): one instance
    // cannot take another's lease.
    assert_eq!(
        s["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
        serde_json::json!([instance])
    );
}

fn task_definition() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("deploy/task-definition.json"))
        .expect("task definition");
    serde_json::from_str(&text).expect("task definition JSON")
}

#[test]
fn the_task_definition_sets_only_variables_the_binary_reads_and_listens_where_it_maps() {
    let td = task_definition();
    let c = &td["containerDefinitions"][0];
    let help = support::Moto::shared().operator(&["run", "--help"]);
    help.expect_code(0);
    let env: Vec<(&str, &str)> = c["environment"]
        .as_array()
        .expect("environment")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().expect("name"),
                e["value"].as_str().expect("value"),
            )
        })
        .collect();
    // And the template's optional ones (S3 source, lease, heartbeat topic).
    let optional_names = [
        "ECS_OPERATOR_SOURCE",
        ecs_operator::lease::TABLE_VARIABLE,
        "ECS_OPERATOR_HEARTBEAT_TOPIC",
    ];
    for name in env.iter().map(|(n, _)| *n).chain(optional_names) {
        if name.starts_with("ECS_OPERATOR_") {
            assert!(
                // clap wraps `[env: NAME=]` across lines; the name and `=]` stay together.
                help.stdout.contains(&format!("{name}=]")),
                "{name} is not a variable of `run`:\n{}",
                help.stdout
            );
        }
    }
    let listen = env
        .iter()
        .find(|(n, _)| *n == "ECS_OPERATOR_LISTEN")
        .map(|(_, v)| *v)
        .expect("ECS_OPERATOR_LISTEN");
    let port = c["portMappings"][0]["containerPort"]
        .as_u64()
        .expect("port");
    assert!(listen.ends_with(&format!(":{port}")), "{listen} vs {port}");
    let check = c["healthCheck"]["command"]
        .as_array()
        .expect("health check");
    assert_eq!(check[1], "/ecs-operator");
    assert_eq!(check[2], "healthcheck");
    assert_eq!(check[3], format!("http://127.0.0.1:{port}/healthz"));
    // ECS's default stop timeout: SIGTERM, then SIGKILL 30 s later; the operator stops well inside.
    assert_eq!(c["stopTimeout"], 30);
    assert_eq!(td["runtimePlatform"]["cpuArchitecture"], "ARM64");
    assert_eq!(
        (td["cpu"].as_str(), td["memory"].as_str()),
        (Some("256"), Some("512"))
    );
    assert_eq!(c["logConfiguration"]["logDriver"], "awslogs");
}

#[test]
fn the_health_check_command_passes_on_a_running_controller_and_fails_without_one() {
    let moto = support::Moto::shared();
    let dir = support::write_docs(&[(
        "channel.yaml",
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: ops}\nspec: {topicArn: \"arn:aws:sns:us-east-1:123456789012:ops\"}\n".to_owned(),
    )]);
    let ctl = support::controller::Controller::start(
        moto,
        support::path_str(dir.path()),
        &support::unique("health"),
        "30s",
        &["--dry-run"],
        &[],
    );
    let url = format!("http://127.0.0.1:{}/healthz", ctl.port);
    moto.operator(&["healthcheck", &url]).expect_code(0);
    drop(ctl);
    let closed = moto.operator(&["healthcheck", &url]);
    closed.expect_code(1);
    assert!(closed.stderr.contains("unhealthy"), "{}", closed.stderr);
}

fn template() -> serde_json::Value {
    let text =
        std::fs::read_to_string(root().join("deploy/cloudformation.yaml")).expect("template");
    serde_saphyr::from_str(&text).expect("the template is plain YAML (long-form intrinsics)")
}

/// `Fn::If: [condition, value, {Ref: AWS::NoValue}]`: (Some(condition), value),
/// present only when the condition holds; anything else is (None, itself).
fn optional(v: &serde_json::Value) -> (Option<&str>, &serde_json::Value) {
    match v["Fn::If"].as_array().map(Vec::as_slice) {
        Some([condition, value, absent]) => {
            assert_eq!(absent, &serde_json::json!({"Ref": "AWS::NoValue"}), "{v}");
            (Some(condition.as_str().expect("condition name")), value)
        }
        _ => (None, v),
    }
}

/// The template's inline policy with its conditional statements as plain ones.
fn template_policy(t: &serde_json::Value) -> (serde_json::Value, Vec<(&str, &serde_json::Value)>) {
    let inline = &t["Resources"]["TaskRole"]["Properties"]["Policies"][0]["PolicyDocument"];
    let mut conditional = Vec::new();
    let statements: Vec<serde_json::Value> = inline["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|st| {
            let (condition, st) = optional(st);
            if let Some(c) = condition {
                conditional.push((c, st));
            }
            st.clone()
        })
        .collect();
    (serde_json::json!({"Statement": statements}), conditional)
}

#[test]
fn the_template_runs_the_task_definition_with_the_policy_and_one_writer() {
    let t = template();
    let td = task_definition();
    let want = &td["containerDefinitions"][0];
    let r = &t["Resources"];
    let props = &r["TaskDefinition"]["Properties"];
    let got = &props["ContainerDefinitions"][0];
    assert_eq!(props["Cpu"], td["cpu"]);
    assert_eq!(props["Memory"], td["memory"]);
    assert_eq!(props["RuntimePlatform"]["CpuArchitecture"], "ARM64");
    assert_eq!(
        got["PortMappings"][0]["ContainerPort"],
        want["portMappings"][0]["containerPort"]
    );
    assert_eq!(
        got["HealthCheck"]["Command"],
        want["healthCheck"]["command"]
    );
    assert_eq!(got["StopTimeout"], want["stopTimeout"]);
    assert_eq!(got["User"], want["user"]);
    assert_eq!(
        got["ReadonlyRootFilesystem"],
        want["readonlyRootFilesystem"]
    );
    let names = |list: &serde_json::Value, key: &str| -> Vec<String> {
        list.as_array()
            .expect("environment")
            .iter()
            .map(|e| e[key].as_str().expect("name").to_owned())
            .collect()
    };
    // The lease table's variable is there only with the table (the task
    // definition is the single-replica deployment); every other one always.
    // The desired state comes from the image's /desired (as in the task
    // definition) or from S3, never both.
    let mut always = Vec::new();
    let mut with_lease = Vec::new();
    let mut in_s3 = Vec::new();
    for e in got["Environment"].as_array().expect("environment") {
        match optional(e) {
            (None | Some("DesiredStateInImage"), e) => always.push(e.clone()),
            (Some("HasLeaseTable"), e) => with_lease.push(e.clone()),
            (Some("DesiredStateInS3"), e) => in_s3.push(e.clone()),
            (Some("HasEventsQueue"), e) => {
                assert_eq!(e["Name"], "ECS_OPERATOR_EVENTS_QUEUE");
                assert_eq!(e["Value"], serde_json::json!({"Ref": "EventsQueue"}));
            }
            (Some("HasHeartbeatTopic"), e) => {
                assert_eq!(e["Name"], "ECS_OPERATOR_HEARTBEAT_TOPIC");
                assert_eq!(e["Value"], serde_json::json!({"Ref": "HeartbeatTopicArn"}));
            }
            (Some(c), _) => panic!("variable under an unknown condition {c}"),
        }
    }
    assert_eq!(
        names(&serde_json::json!(always), "Name"),
        names(&want["environment"], "name")
    );
    assert_eq!(
        names(&serde_json::json!(in_s3), "Name"),
        ["ECS_OPERATOR_SOURCE"]
    );
    assert_eq!(
        with_lease,
        [
            serde_json::json!({"Name": ecs_operator::lease::TABLE_VARIABLE, "Value": {"Ref": "LeaseTable"}})
        ]
    );
    assert_eq!(got["LogConfiguration"]["LogDriver"], "awslogs");
    assert!(r["LogGroup"]["Properties"]["RetentionInDays"].is_object());
    // The task role's policy is deploy/iam-policy.json, the instance a parameter;
    // the lease's grant exists with the lease table only.
    let (inline, conditional) = template_policy(&t);
    let inline = &inline;
    assert_eq!(actions_in_policy(inline), actions_in_policy(&policy()));
    let lease_grants: Vec<&serde_json::Value> = conditional
        .iter()
        .filter(|(c, _)| *c == "HasLeaseTable")
        .map(|(_, st)| *st)
        .collect();
    let s3_grants: Vec<&serde_json::Value> = conditional
        .iter()
        .filter(|(c, _)| *c == "DesiredStateInS3")
        .map(|(_, st)| *st)
        .collect();
    let events_grants: Vec<&serde_json::Value> = conditional
        .iter()
        .filter(|(c, _)| *c == "HasEventsQueue")
        .map(|(_, st)| *st)
        .collect();
    assert_eq!(
        lease_grants.len() + s3_grants.len() + events_grants.len(),
        conditional.len(),
        "{conditional:?}"
    );
    // The queue's two actions, on the stack's queue only.
    assert_eq!(events_grants.len(), 1, "{conditional:?}");
    assert_eq!(
        events_grants[0]["Action"],
        serde_json::json!(["sqs:ReceiveMessage", "sqs:DeleteMessage"])
    );
    assert_eq!(
        events_grants[0]["Resource"],
        serde_json::json!({"Fn::GetAtt": ["EventsQueue", "Arn"]})
    );
    assert_eq!(
        s3_grants.first().map(|st| &st["Action"]),
        Some(&serde_json::json!(["s3:ListBucket", "s3:GetObject"]))
    );
    assert_eq!(lease_grants.len(), 1, "{conditional:?}");
    assert_eq!(lease_grants[0]["Action"], "dynamodb:UpdateItem");
    assert_eq!(
        lease_grants[0]["Resource"],
        serde_json::json!({"Fn::GetAtt": ["LeaseTable", "Arn"]})
    );
    assert_eq!(
        lease_grants[0]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
        serde_json::json!([{"Ref": "Instance"}])
    );
    assert_eq!(
        t["Conditions"]["HasLeaseTable"],
        serde_json::json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "LeaseTableName"}, ""]}]})
    );
    assert_eq!(t["Parameters"]["LeaseTableName"]["Default"], "");
    let table = &r["LeaseTable"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["Condition"], "HasLeaseTable");
    assert_eq!(table["Properties"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["Properties"]["KeySchema"],
        serde_json::json!([{"AttributeName": "name", "KeyType": "HASH"}])
    );
    assert_eq!(
        table["Properties"]["AttributeDefinitions"],
        serde_json::json!([{"AttributeName": "name", "AttributeType": "S"}])
    );
    let conditioned: Vec<&serde_json::Value> = inline["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|st| {
            let c = &st["Condition"]["StringEquals"];
            c["aws:ResourceTag/ecs-operator/instance"]["Ref"] == "Instance"
                || c["aws:RequestTag/ecs-operator/instance"]["Ref"] == "Instance"
        })
        .collect();
    assert_eq!(conditioned.len(), 3, "create, update and delete statements");
    // Without the lease: never two writers.
    let deploy = &r["Service"]["Properties"]["DeploymentConfiguration"];
    assert_eq!(
        (&deploy["MinimumHealthyPercent"], &deploy["MaximumPercent"]),
        (&serde_json::json!(0), &serde_json::json!(100))
    );
    assert_eq!(r["Service"]["Properties"]["DesiredCount"], 1);
}

#[test]
fn the_events_queue_is_encrypted_fed_by_two_rules_only_and_takes_write_calls_only() {
    let t = template();
    let r = &t["Resources"];
    for name in [
        "EventsQueue",
        "EventsDeadLetterQueue",
        "EventsQueuePolicy",
        "ApiCallRule",
        "EcsRule",
    ] {
        assert_eq!(r[name]["Condition"], "HasEventsQueue", "{name}");
    }
    for name in ["Trail", "TrailBucket", "TrailBucketPolicy"] {
        assert_eq!(r[name]["Condition"], "HasTrail", "{name}");
    }
    let queue = &r["EventsQueue"]["Properties"];
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    assert_eq!(
        r["EventsDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"],
        true
    );
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        serde_json::json!({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]})
    );
    // Longer than the operator's long poll, which must outlast no attempt timeout.
    assert!(queue["VisibilityTimeout"].as_u64().is_some_and(|v| v > 20));
    let statement = &r["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(statement.as_array().map(Vec::len), Some(1));
    assert_eq!(statement[0]["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement[0]["Action"], "sqs:SendMessage");
    assert_eq!(
        statement[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        serde_json::json!([
            {"Fn::GetAtt": ["ApiCallRule", "Arn"]},
            {"Fn::GetAtt": ["EcsRule", "Arn"]}
        ])
    );
    let api = &r["ApiCallRule"]["Properties"]["EventPattern"];
    assert_eq!(
        api["detail"]["errorCode"],
        serde_json::json!([{"exists": false}])
    );
    assert_eq!(api["source"][2], "aws.monitoring", "CloudWatch's source");
    let names = api["detail"]["eventName"].as_array().expect("event names");
    for name in names {
        let name = name.as_str().expect("name");
        assert!(
            !["Describe", "List", "Get"]
                .iter()
                .any(|p| name.starts_with(p)),
            "{name} is a read"
        );
    }
    let ecs = &r["EcsRule"]["Properties"]["EventPattern"];
    assert_eq!(
        ecs["detail-type"],
        serde_json::json!(["ECS Service Action", "ECS Deployment State Change"])
    );
    for rule in ["ApiCallRule", "EcsRule"] {
        let target = &r[rule]["Properties"]["Targets"][0];
        assert_eq!(
            target["Arn"],
            serde_json::json!({"Fn::GetAtt": ["EventsQueue", "Arn"]})
        );
        assert_eq!(
            target["DeadLetterConfig"]["Arn"],
            serde_json::json!({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}),
            "{rule}"
        );
    }
    assert_eq!(r["Trail"]["Properties"]["IsLogging"], true);
}

/// The operator arguments of every `docker run … "<image>" ARGS` line of the workflow.
fn workflow_commands() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("deploy/github-actions/desired-state.yml"))
        .expect("workflow");
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).expect("workflow YAML");
    let mut out = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            let run = run
                .replace("\\\n", " ")
                .replace("${{ vars.INSTANCE }}", "workflow");
            for line in run.lines().filter(|l| l.contains("docker run")) {
                let Some((_, args)) = line.split_once("\"${{ vars.OPERATOR_IMAGE }}\" ") else {
                    continue;
                };
                let args = args.split(" > ").next().unwrap_or(args);
                out.push(
                    args.split_whitespace()
                        .map(|a| a.trim_matches('"').to_owned())
                        .collect(),
                );
            }
        }
    }
    out
}

#[test]
fn the_workflows_operator_commands_run_on_a_desired_state_repository() {
    let commands = workflow_commands();
    let mut verbs: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    verbs.sort_unstable();
    assert_eq!(verbs, ["apply", "plan", "validate"], "{commands:?}");
    let moto = support::Moto::shared();
    // A desired-state repository: `desired/` with the documents.
    let dir = support::write_docs(&[(
        "desired/channel.yaml",
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: ops}\nspec: {topicName: workflow-ops}\n".to_owned(),
    )]);
    for args in &commands {
        let args: Vec<String> = args
            .iter()
            .map(|a| match a.as_str() {
                "desired" => dir.path().join("desired").display().to_string(),
                other => other.to_owned(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = moto.operator(&args);
        match args[0] {
            "validate" => {
                run.expect_code(0);
            }
            "apply" => {
                // The topic is created; no ECS deployment to follow.
                run.expect_code(0);
                assert!(args.contains(&"--wait"), "{args:?}");
                assert!(run.stdout.contains("wait: no deployment"), "{}", run.stdout);
            }
            _ => {
                // 2: changes (the topic does not exist yet); the JSON is what the comment shows.
                run.expect_code(2);
                let plan: serde_json::Value = serde_json::from_str(&run.stdout).expect("plan JSON");
                assert_eq!(plan["schema"], "ecs-operator/plan/v1");
                assert_eq!(plan["summary"]["create"], 1, "{plan:#}");
            }
        }
    }
}

#[test]
fn the_workflow_uploads_the_documents_before_revision_and_ships_one_way() {
    let text = std::fs::read_to_string(root().join("deploy/github-actions/desired-state.yml"))
        .expect("workflow");
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).expect("workflow YAML");
    let jobs = &workflow["jobs"];
    let script: String = jobs["upload"]["steps"]
        .as_array()
        .expect("upload steps")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    let sync = script
        .find("aws s3 sync desired/")
        .expect("a sync of desired/");
    let revision = script
        .find("REVISION\"")
        .expect("a copy of the commit into REVISION");
    // The operator acts on a set only once REVISION is newer than its documents.
    assert!(sync < revision, "{script}");
    assert!(script.contains("--exclude REVISION"), "{script}");
    assert!(script.contains("github.sha"), "{script}");
    // On a merge, either the S3 upload or the image, never both.
    let when = |job: &str| jobs[job]["if"].as_str().expect("condition").to_owned();
    assert!(
        when("upload").ends_with("vars.DESIRED_BUCKET != ''"),
        "{}",
        when("upload")
    );
    assert!(
        when("publish").ends_with("vars.DESIRED_BUCKET == ''"),
        "{}",
        when("publish")
    );
}
