//! `import` against moto: every seed system's estate built with boto3 the way
//! that team's own scripts would (`tests/support/seed_estates.py`), imported
//! per cluster; the files validate, the plan right after shows nothing but
//! `= adopt` (or in sync), and after one apply the plan is empty.

mod support;

use std::process::Command;

use support::{Moto, path_str, root, unique};

/// Builds `team`'s estate; the clusters it made.
fn seed(moto: &Moto, team: &str, prefix: &str) -> Vec<String> {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("tests/support/seed_estates.py"))
        .args([team, prefix])
        .envs(moto.env())
        .output()
        .expect("seed_estates.py runs");
    assert!(
        out.status.success(),
        "seed_estates.py {team} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("JSON of what was made");
    made["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect()
}

/// Imports every cluster of `team` into its own folder (each import given
/// the folders before it with `-f`, as a team importing cluster by cluster
/// would), then plans and applies the whole.
fn check_team(team: &str, kinds: &[&str]) {
    let moto = Moto::shared();
    // Short: the seeds' load balancer names are long already.
    let prefix = "im-";
    let instance = unique("imp");
    let root_dir = tempfile::tempdir().expect("tmp");
    let all = path_str(root_dir.path()).to_owned();
    for (i, cluster) in seed(moto, team, prefix).iter().enumerate() {
        let out = format!("{all}/{i}-{cluster}");
        let mut args = vec![
            "import",
            "--cluster",
            cluster,
            "--out",
            &out,
            "--with-task-definitions",
        ];
        if i > 0 {
            args.extend(["-f", &all]);
        }
        moto.operator(&args).expect_code(0);
    }
    moto.operator(&["validate", "-f", &all]).expect_code(0);
    let plan = moto.operator(&[
        "plan",
        "-f",
        &all,
        "--instance",
        &instance,
        "--output",
        "json",
    ]);
    plan.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    let steps = json["resources"].as_array().expect("resources");
    assert!(!steps.is_empty(), "{team}: nothing imported");
    for kind in kinds {
        assert!(
            steps.iter().any(|s| s["kind"] == *kind),
            "{team}: no {kind} imported:\n{}",
            plan.stdout
        );
    }
    for s in steps {
        let action = s["action"].as_str().unwrap_or_default();
        assert!(
            matches!(action, "adopt" | "inSync"),
            "{team}: {} is {action} after import:\n{}",
            s["resource"],
            serde_json::to_string_pretty(s).unwrap_or_default()
        );
    }
    moto.operator(&["apply", "-f", &all, "--instance", &instance])
        .expect_code(0);
    let after = moto.operator(&[
        "plan",
        "-f",
        &all,
        "--instance",
        &instance,
        "--detailed-exitcode",
    ]);
    assert_eq!(
        after.code, 0,
        "{team}: the plan after apply is not empty:\n{}",
        after.stdout
    );
}

#[test]
fn gengar_imports_to_adopt_only() {
    check_team(
        "gengar",
        &["TaskDefinition", "Service", "DiscoveryService", "Alarm"],
    );
}

#[test]
fn espejo_imports_to_adopt_only() {
    check_team("espejo", &["TaskDefinition", "Service"]);
}

#[test]
fn cti_scraper_imports_to_adopt_only() {
    check_team(
        "cti-scraper",
        &["TaskDefinition", "Service", "Autoscaler", "Alarm"],
    );
}

#[test]
fn amapiano_imports_to_adopt_only() {
    check_team(
        "amapiano",
        &["TaskDefinition", "Service", "Autoscaler", "Alarm"],
    );
}

#[test]
fn rfp_copilot_imports_to_adopt_only() {
    check_team("rfp-copilot", &["TaskDefinition", "Service"]);
}

#[test]
fn import_refuses_to_overwrite_and_to_import_a_declared_service() {
    let moto = Moto::shared();
    let clusters = seed(moto, "gengar", "ow-");
    let cluster = &clusters[0];
    let dir = tempfile::tempdir().expect("tmp");
    let out = path_str(dir.path());
    moto.operator(&["import", "--cluster", cluster, "--out", out])
        .expect_code(0);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("out")
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).expect("file");
    assert!(
        text.starts_with("# yaml-language-server: $schema=../crds/document.json\n"),
        "{text}"
    );
    assert!(root().join("crds/document.json").exists());
    assert!(
        text.contains("taskDefinition: ow-gengar-api:1"),
        "without --with-task-definitions the revision is pinned:\n{text}"
    );
    let again = moto.operator(&["import", "--cluster", cluster, "--out", out]);
    again.expect_code(1);
    assert!(
        again.stderr.contains("--force overwrites them"),
        "{}",
        again.stderr
    );
    moto.operator(&["import", "--cluster", cluster, "--out", out, "--force"])
        .expect_code(0);
    let declared = moto.operator(&[
        "import",
        "--cluster",
        cluster,
        "--service",
        "ow-gengar-api",
        "--out",
        out,
        "--force",
        "-f",
        out,
    ]);
    declared.expect_code(1);
    assert!(
        declared.stderr.contains("already declared"),
        "{}",
        declared.stderr
    );
}
