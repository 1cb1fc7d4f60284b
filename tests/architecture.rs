//! The planning core stays pure: no clock, no randomness, no I/O, no SDK types.

use std::path::Path;

#[test]
fn plan_module_uses_no_clock_randomness_io_or_sdk() {
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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plan");
    let mut offences = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/plan") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for (n, line) in text.lines().enumerate() {
            for f in forbidden {
                if line.contains(f) && !line.trim_start().starts_with("//") {
                    offences.push(format!("{}:{}: {f}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(offences.is_empty(), "the plan must stay pure:\n{}", offences.join("\n"));
}
