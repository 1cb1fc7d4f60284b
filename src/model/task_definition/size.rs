//! Task size: CPU units or vCPU, memory in MiB or GB. ECS stores `"1 vCPU"`
//! as `"1024"` and `"2 GB"` as `"2048"` (TASKDEF-FACTS §2), so both sides are
//! compared as canonical integers.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `256`, `"256"`, `"0.25 vCPU"`, `512`, `"2 GB"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TaskSize {
    Number(u32),
    Text(String),
}

impl fmt::Display for TaskSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskSize::Number(n) => write!(f, "{n}"),
            TaskSize::Text(s) => f.write_str(s),
        }
    }
}

impl TaskSize {
    /// CPU units: `"0.25 vCPU"` → 256. `None` when it is not a CPU size.
    pub fn cpu_units(&self) -> Option<u32> {
        self.scaled(&["vcpu"])
    }

    /// MiB: `"2 GB"` → 2048. `None` when it is not a memory size.
    pub fn mib(&self) -> Option<u32> {
        self.scaled(&["gb", "gib"])
    }

    /// A plain number, or a number with one of `units` (× 1024).
    fn scaled(&self, units: &[&str]) -> Option<u32> {
        let text = match self {
            TaskSize::Number(n) => return Some(*n),
            TaskSize::Text(s) => s.trim().to_ascii_lowercase(),
        };
        if let Ok(n) = text.parse::<u32>() {
            return Some(n);
        }
        let unit = units.iter().find(|u| text.ends_with(**u))?;
        let number: f64 = text.strip_suffix(unit)?.trim().parse().ok()?;
        let value = number * 1024.0;
        (value.fract() == 0.0 && value > 0.0 && value <= f64::from(u32::MAX))
            .then_some(value as u32)
    }
}

/// Whether Fargate runs a task of `cpu` units and `memory` MiB
/// (the table in the ECS developer guide, "Task CPU and memory").
pub fn fargate_pair_ok(cpu: u32, memory: u32) -> bool {
    let gib = |n: u32| n * 1024;
    let steps = |from: u32, to: u32, step: u32| {
        memory >= from && memory <= to && (memory - from).is_multiple_of(step)
    };
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => steps(gib(1), gib(4), 1024),
        1024 => steps(gib(2), gib(8), 1024),
        2048 => steps(gib(4), gib(16), 1024),
        4096 => steps(gib(8), gib(30), 1024),
        8192 => steps(gib(16), gib(60), gib(4)),
        16384 => steps(gib(32), gib(120), gib(8)),
        _ => false,
    }
}
