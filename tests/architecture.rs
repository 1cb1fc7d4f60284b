//! The planning core and the SLO evaluation stay pure: no clock, no
//! randomness, no I/O, no SDK types (`src/slo/read.rs` is the SLO's one edge).

use std::path::Path;

#[test]
fn plan_and_slo_modules_use_no_clock_randomness_io_or_sdk() {
    let forbidden = [
        "Timestamp::now",
        "SystemTime",
        "Instant::now",
        "fastrand",
        "aws_sdk_",
        "tokio",
        "async ",
        ".await",
        "std::fs",
        "std::net",
        "std::env",
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src.join("plan"), &mut files);
    assert!(files.len() >= 4, "src/plan has {} files", files.len());
    let mut slo = Vec::new();
    walk(&src.join("slo"), &mut slo);
    slo.retain(|p| !p.ends_with("read.rs"));
    assert!(slo.len() >= 6, "src/slo has {} pure files", slo.len());
    files.extend(slo);
    let mut offences = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read");
        for (n, line) in text.lines().enumerate() {
            for f in forbidden {
                if line.contains(f) && !line.trim_start().starts_with("//") {
                    offences.push(format!("{}:{}: {f}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the plan must stay pure:\n{}",
        offences.join("\n")
    );
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}
