//! Properties of the normaliser over generated tasks: it is idempotent, blind
//! to the order of unordered lists, and agrees with the field diff.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::normalise;
use crate::plan::task_definition::field_diff::diff;

/// A task with unique container and variable names, ports, empties and defaults
/// left out at random: the shapes the rules touch.
fn task() -> impl Strategy<Value = Value> {
    let port = (
        1u16..4,
        prop::option::of(prop::sample::select(vec![0u16, 1000, 2000, 8080])),
        any::<bool>(),
    )
        .prop_map(|(port, host, udp)| {
            let mut m = json!({"containerPort": port * 1000});
            if let Some(h) = host {
                m["hostPort"] = json!(h);
            }
            if udp {
                m["protocol"] = json!("udp");
            }
            m
        });
    let container = (
        prop::collection::btree_map("[A-Z]{1,3}", "[a-z]{0,2}", 0..4),
        prop::collection::vec(port, 0..3),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![5u32, 30])),
    )
        .prop_map(|(env, ports, essential, empties, interval)| {
            let env: Vec<Value> = env
                .into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            let mut c = json!({"image": "repo:1", "environment": env, "portMappings": ports});
            if let Some(e) = essential {
                c["essential"] = json!(e);
            }
            if empties {
                c["mountPoints"] = json!([]);
                c["linuxParameters"] = json!({"capabilities": {"add": []}});
            }
            if let Some(i) = interval {
                c["healthCheck"] = json!({"command": ["CMD", "true"], "interval": i});
            }
            c
        });
    (
        prop::collection::btree_map("[a-z]{1,4}", container, 1..4),
        prop::option::of(prop::sample::select(vec!["awsvpc", "bridge", "host"])),
        prop::option::of(prop::sample::select(vec![
            json!(256),
            json!("256"),
            json!("0.25 vCPU"),
            json!("1 vCPU"),
        ])),
    )
        .prop_map(|(containers, network, cpu)| {
            let containers: Vec<Value> = containers
                .into_iter()
                .map(|(name, mut c)| {
                    c["name"] = json!(name);
                    c
                })
                .collect();
            let mut t = json!({"family": "web", "containerDefinitions": containers});
            if let Some(n) = network {
                t["networkMode"] = json!(n);
            }
            if let Some(c) = cpu {
                t["cpu"] = c;
            }
            t
        })
}

/// Fisher-Yates driven by a xorshift of `seed`: the order proptest's seed
/// picks, reproducible like every other generated value.
fn permute<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = usize::try_from(*seed % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

/// `task` with its containers, environments and port mappings reordered.
fn shuffled(mut task: Value, seed: u64) -> Value {
    let mut seed = seed | 1;
    if let Some(containers) = task["containerDefinitions"].as_array_mut() {
        permute(containers, &mut seed);
        for c in containers {
            for list in ["environment", "portMappings"] {
                if let Some(items) = c[list].as_array_mut() {
                    permute(items, &mut seed);
                }
            }
        }
    }
    task
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn normalise_is_idempotent(t in task()) {
        let once = normalise(t);
        prop_assert_eq!(normalise(once.clone()), once);
    }

    #[test]
    fn reordering_containers_environment_and_ports_changes_nothing(t in task(), seed in any::<u64>()) {
        prop_assert_eq!(normalise(shuffled(t.clone(), seed)), normalise(t));
    }

    #[test]
    fn field_diff_is_empty_exactly_when_normal_forms_are_equal(a in task(), b in task(), seed in any::<u64>()) {
        let (na, nb) = (normalise(a.clone()), normalise(b));
        prop_assert_eq!(diff(&na, &nb).is_empty(), na == nb);
        prop_assert!(diff(&na, &normalise(shuffled(a, seed))).is_empty());
    }
}
