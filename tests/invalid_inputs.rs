//! Every bad input gets a precise, located error and changes nothing.
//!
//! Each folder of `tests/fixtures/invalid/` is one case: its documents and
//! `expected.txt`, the exact stderr of `validate` (`{dir}` stands for the folder).
//! Adding a case is adding a folder; `UPDATE_EXPECT=1 cargo test` rewrites the
//! expectations (review the diff).

mod support;

use std::path::{Path, PathBuf};

use support::{Moto, path_str, platform};

fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(support::root().join("tests/fixtures/invalid"))
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check(moto: &Moto, dir: &Path, expected: Option<String>) -> Result<(), String> {
    let run = moto.operator(&["validate", "-f", path_str(dir)]);
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("?")
        .to_owned();
    if run.code != 1 {
        return Err(format!(
            "{name}: exit {} instead of 1\n{}{}",
            run.code, run.stdout, run.stderr
        ));
    }
    let actual = run.stderr.replace(path_str(dir), "{dir}");
    let expected_path = dir.join("expected.txt");
    let expected = expected.or_else(|| std::fs::read_to_string(&expected_path).ok());
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
    } else if expected.as_deref() != Some(actual.as_str()) {
        return Err(format!(
            "{name}: diagnostics differ\n--- expected\n{}\n--- actual\n{actual}",
            expected.unwrap_or_default()
        ));
    }
    // The same set given to apply: refused before any AWS call.
    let apply = moto.operator(&[
        "apply",
        "-f",
        path_str(dir),
        "--instance",
        "invalid-fixtures",
    ]);
    if apply.code != 1
        || apply.stdout.contains("apply:")
        || apply.stderr.replace(path_str(dir), "{dir}") != actual
    {
        return Err(format!(
            "{name}: apply did not refuse the same way\n{}{}",
            apply.stdout, apply.stderr
        ));
    }
    Ok(())
}

#[test]
fn every_invalid_input_gets_its_exact_located_diagnostics_and_no_write() {
    let moto = Moto::shared();
    // If validation were skipped, these would let the documents create services.
    platform(moto, "invalid-fixtures", &["web"]);
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 25, "only {} invalid cases", cases.len());
    for dir in &cases {
        if let Err(e) = check(moto, dir, None) {
            failures.push(e);
        }
    }

    // Generated: a huge file and a file that is not UTF-8.
    let tmp = tempfile::tempdir().expect("tmp");
    let huge = tmp.path().join("huge");
    std::fs::create_dir(&huge).expect("dir");
    let big = "# padding\n".repeat(300_000);
    std::fs::write(huge.join("big.yaml"), big).expect("write");
    let binary = tmp.path().join("binary");
    std::fs::create_dir(&binary).expect("dir");
    std::fs::write(
        binary.join("latin1.yaml"),
        b"kind: Service\nname: caf\xe9\n",
    )
    .expect("write");
    for (dir, expected) in [
        (
            &huge,
            "error: {dir}/big.yaml: file is 3000000 bytes; the limit is 2097152\n1 error in the desired state; nothing was changed\n",
        ),
        (
            &binary,
            "error: {dir}/latin1.yaml: file is not UTF-8 text\n1 error in the desired state; nothing was changed\n",
        ),
    ] {
        if let Err(e) = check(moto, dir, Some(expected.to_owned())) {
            failures.push(e);
        }
    }

    let services = support::block_on(
        moto.ecs()
            .list_services()
            .cluster("invalid-fixtures")
            .send(),
    )
    .expect("list");
    assert!(
        services.service_arns().is_empty(),
        "an invalid set created {:?}",
        services.service_arns()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len() + 2,
        failures.join("\n")
    );
}

#[test]
fn errors_point_at_the_real_line_and_column_of_the_field() {
    let dir = support::root().join("tests/fixtures/invalid/max-below-min");
    let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("expected");
    // `maxCapacity: 2` is on line 16 of docs.yaml, its value at column 16.
    assert!(
        expected.contains("{dir}/docs.yaml:16:16: Autoscaler/web: spec.maxCapacity"),
        "{expected}"
    );
}
