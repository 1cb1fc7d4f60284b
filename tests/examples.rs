//! The users' examples (one folder per seed system) validate, and their Services
//! apply and converge on moto.

mod support;

use support::{Moto, path_str, root};

/// The seed systems' folders: those with documents (`deploy_sim/` holds the
/// demo's simulator, Rust).
fn folders() -> Vec<std::path::PathBuf> {
    let has_documents = |dir: &std::path::Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
    };
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && has_documents(p))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_seed_system_has_an_example_that_validates_alone_and_together() {
    let moto = Moto::shared();
    let names: Vec<String> = folders()
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    assert_eq!(
        names,
        ["amapiano", "cti-scraper", "espejo", "gengar", "rfp-copilot"]
    );
    for dir in folders() {
        moto.operator(&["validate", "-f", path_str(&dir)])
            .expect_code(0);
    }
    let all = moto.operator(&["validate", "-f", path_str(&root().join("examples"))]);
    all.expect_code(0);
}

#[test]
fn the_examples_services_apply_and_converge_on_moto() {
    let moto = Moto::shared();
    let tmp = tempfile::tempdir().expect("tmp");
    let desired = tmp.path().join("desired");
    moto.platform(&[
        "prepare",
        path_str(&root().join("examples")),
        path_str(&desired),
    ]);
    let files = path_str(&desired);
    let first = moto.operator(&["apply", "-f", files, "--instance", "examples"]);
    first.expect_code(0);
    assert!(first.writes() >= 5, "{}", first.stdout);
    // Every example's task definitions are registered, and stay equal to
    // their documents: three more applies write nothing.
    assert_eq!(
        first.stdout.matches("+ TaskDefinition/").count(),
        9,
        "{}",
        first.stdout
    );
    for _ in 0..3 {
        let again = moto.operator(&["apply", "-f", files, "--instance", "examples"]);
        again.expect_code(0);
        assert_eq!(again.writes(), 0, "{}", again.stdout);
    }
    moto.operator(&[
        "plan",
        "-f",
        files,
        "--instance",
        "examples",
        "--detailed-exitcode",
    ])
    .expect_code(0);
}
