//! The command line without AWS: validate, crds, usage errors, environment variables.

mod support;

use std::process::Command;

use support::{Run, path_str, root};

fn operator(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-operator"));
    cmd.args(args).envs(env.iter().copied());
    // Nothing here may reach AWS: an endpoint that refuses connections.
    cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1");
    Run::from(cmd.output().expect("runs"))
}

const WEB: &str = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec: {cluster: prod, taskDefinition: web}\n";

#[test]
fn validate_accepts_a_valid_set_and_names_its_revision() {
    let dir = support::write_docs(&[("web.yaml", WEB.to_owned())]);
    let run = operator(&["validate", "-f", path_str(dir.path())], &[]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("ok: 1 documents valid (revision "),
        "{}",
        run.stdout
    );
}

#[test]
fn every_flag_has_an_environment_variable() {
    let dir = support::write_docs(&[("web.yaml", WEB.to_owned())]);
    let run = operator(
        &["validate"],
        &[("ECS_OPERATOR_FILE", path_str(dir.path()))],
    );
    run.expect_code(0);
    let help = operator(&["run", "--help"], &[]);
    help.expect_code(0);
    for var in [
        "ECS_OPERATOR_FILE",
        "ECS_OPERATOR_INSTANCE",
        "ECS_OPERATOR_INTERVAL",
        "ECS_OPERATOR_DRY_RUN",
        "ECS_OPERATOR_PRUNE",
        "ECS_OPERATOR_MAX_DELETIONS",
        "ECS_OPERATOR_LISTEN",
    ] {
        assert!(help.stdout.contains(var), "run --help lacks {var}");
    }
    let plan = operator(&["plan", "--help"], &[]);
    for var in [
        "ECS_OPERATOR_AT",
        "ECS_OPERATOR_OUTPUT",
        "ECS_OPERATOR_DETAILED_EXITCODE",
    ] {
        assert!(plan.stdout.contains(var), "plan --help lacks {var}");
    }
}

#[test]
fn usage_errors_exit_1_because_2_means_changes() {
    operator(&["plan", "--no-such-flag"], &[]).expect_code(1);
    operator(&["validate"], &[]).expect_code(1);
    operator(&["plan", "-f", "x", "--at", "yesterday"], &[]).expect_code(1);
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let run = operator(&["validate", "-f", "/nonexistent/desired"], &[]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("/nonexistent/desired: no such file or directory"),
        "{}",
        run.stderr
    );
}

#[test]
fn crds_writes_one_schema_per_kind_equal_to_the_committed_ones() {
    let out = tempfile::tempdir().expect("tmp");
    operator(&["crds", "--out", path_str(out.path())], &[]).expect_code(0);
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .expect("out")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "alarm.json",
            "alert-channel.json",
            "autoscaler.json",
            "discovery-service.json",
            "document.json",
            "schedule.json",
            "service-level-objective.json",
            "service.json",
            "task-definition.json"
        ]
    );
    for name in names {
        let generated = std::fs::read_to_string(out.path().join(&name)).expect("generated");
        let committed =
            std::fs::read_to_string(root().join("crds").join(&name)).expect("committed");
        assert_eq!(
            generated, committed,
            "crds/{name} is stale: run `make crds`"
        );
    }
}

#[test]
fn a_wait_timeout_of_zero_or_garbage_is_a_usage_error_before_any_aws_call() {
    let dir = support::write_docs(&[("web.yaml", WEB.to_owned())]);
    for bad in ["0s", "soon", "-5m"] {
        let timeout = format!("--wait-timeout={bad}");
        let run = operator(
            &["apply", "-f", path_str(dir.path()), "--wait", &timeout],
            &[],
        );
        // Usage errors exit 1: 2 means changes, 3 a rolled-back deploy.
        run.expect_code(1);
        assert!(
            run.stderr.contains("--wait-timeout"),
            "{bad}: {}",
            run.stderr
        );
        assert!(!run.stdout.contains("pass 1"), "{bad}: nothing is applied");
    }
}
