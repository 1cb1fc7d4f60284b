//! `make bench` (not part of `make test`): AWS calls, writes, CPU time, wall
//! time and memory of no-op loops over an estate of N services on moto, next
//! to the floor the API batch limits allow; drift-to-corrected time; the same
//! estate on the in-memory fakes. `plan` over 10,000 resources is `benches/plan.rs`.
//!
//! Sizes: `BENCH_SIZES=100,500,1000` (default). Prints Markdown.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ecs_operator::observe::observe;
use ecs_operator::observed::Memory;
use ecs_operator::plan::{PlanOptions, plan};
use support::bench_estate::{CLUSTERS, FAMILIES, converge, estate, fakes, load};
use support::{Moto, block_on, path_str, poll, unique, write_docs};

/// The fewest calls a no-op loop can make with the API batch limits, by operation.
fn floor(n: usize) -> BTreeMap<&'static str, u64> {
    let per_cluster: Vec<usize> = (0..CLUSTERS)
        .map(|c| (0..n).filter(|i| i % CLUSTERS == c).count())
        .collect();
    let tenth = n.div_ceil(10) as u64;
    BTreeMap::from([
        ("ecs:ListClusters", 1),
        (
            "ecs:ListServices",
            per_cluster
                .iter()
                .map(|s| s.div_ceil(100).max(1) as u64)
                .sum(),
        ),
        (
            "ecs:DescribeServices",
            per_cluster.iter().map(|s| s.div_ceil(10) as u64).sum(),
        ),
        ("ecs:DescribeTaskDefinition", FAMILIES as u64),
        (
            "application-autoscaling:DescribeScalableTargets",
            n.div_ceil(50) as u64,
        ),
        ("application-autoscaling:DescribeScalingPolicies", tenth),
        ("cloudwatch:DescribeAlarms", tenth.div_ceil(100) + 1),
        ("sns:ListTopics", 1),
        ("servicediscovery:ListNamespaces", 1),
        ("servicediscovery:ListServices", 1),
        ("servicediscovery:ListInstances", tenth),
        // One task listing a cluster (both desired statuses) serves every Cloud Map service.
        ("ecs:ListTasks", 2 * CLUSTERS as u64),
        // The heartbeat.
        ("cloudwatch:PutMetricData", 1),
    ])
}

fn metrics(port: u16) -> BTreeMap<String, u64> {
    let text = support::http_get(port, "/metrics").unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("ecs_operator_aws_api_calls_total{"))
    {
        let field = |k: &str| {
            line.split(&format!("{k}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_owned()
        };
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        *out.entry(format!("{}:{}", field("service"), field("operation")))
            .or_default() += n;
    }
    out
}

fn status(port: u16) -> serde_json::Value {
    let r = support::http_get(port, "/status").unwrap_or_default();
    serde_json::from_str(r.split_once("\r\n\r\n").map_or("", |(_, b)| b)).unwrap_or_default()
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn wait_loop(port: u16) -> String {
    let before = status(port)["lastLoop"]["finishedAt"].to_string();
    poll(Duration::from_secs(600), "a loop finishes", || {
        status(port)["lastLoop"]["finishedAt"].to_string() != before
    });
    status(port)["lastLoop"]["finishedAt"].to_string()
}

fn on_moto(n: usize) {
    let moto = Moto::shared();
    let prefix = unique("b");
    for c in 0..CLUSTERS {
        moto.platform(&["cluster", &format!("{prefix}-c{c}")]);
    }
    // The task definition families are the operator's: 5 TaskDefinition documents.
    let net = moto.network();
    let files: Vec<(String, String)> = estate(n, &prefix, &net.subnets[0], &net.security_groups[0]);
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let dir = write_docs(&files);
    let files = path_str(dir.path());
    let started = Instant::now();
    moto.operator(&[
        "apply",
        "-f",
        files,
        "--instance",
        &prefix,
        "--max-passes",
        "5",
    ])
    .expect_code(0);
    let setup = started.elapsed();
    // `import` of every service of the estate (3 clusters), as a team bringing
    // it under management would: the summary line has its calls and time.
    let imported: Vec<String> = (0..CLUSTERS)
        .map(|c| {
            let out = tempfile::tempdir().expect("tmp");
            let run = moto.operator(&[
                "import",
                "--cluster",
                &format!("{prefix}-c{c}"),
                "--out",
                path_str(out.path()),
                "--with-task-definitions",
            ]);
            run.expect_code(0);
            run.stdout.trim().to_owned()
        })
        .collect();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let queue = support::events::events_queue(moto);
    let mut child = moto
        .operator_command(&[
            "run",
            "-f",
            files,
            "--interval",
            "300s",
            "--listen",
            &listen,
            "--instance",
            &prefix,
            "--events-queue",
            &queue,
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run");
    let pid = child.id();
    poll(Duration::from_secs(600), "the first loop", || {
        status(port)["lastLoop"]["finishedAt"].is_string()
    });
    // Three no-op loops, each started by POST /sync and measured alone.
    let (mut walls, mut cpus, mut calls) = (Vec::new(), Vec::new(), BTreeMap::<String, u64>::new());
    let mut writes = 0;
    for _ in 0..3 {
        let (m0, c0) = (metrics(port), cpu_ticks(pid));
        support::http(port, "POST", "/sync");
        wait_loop(port);
        // The loop's own duration (a sync waits up to 5 s after the previous loop first).
        let last = &status(port)["lastLoop"];
        let ts = |k: &str| {
            last[k]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        };
        if let (Some(a), Some(b)) = (ts("startedAt"), ts("finishedAt")) {
            walls.push(b.duration_since(a).as_secs_f64());
        }
        cpus.push((cpu_ticks(pid) - c0) as f64 / 100.0);
        let m1 = metrics(port);
        calls = m1
            .iter()
            .map(|(k, v)| (k.clone(), v - m0.get(k).copied().unwrap_or(0)))
            // The events queue's long poll is the intake's, not the loop's.
            .filter(|(k, v)| *v > 0 && !k.starts_with("sqs:"))
            .collect();
        writes += calls
            .iter()
            .filter(|(k, _)| ecs_operator::metrics::is_write(k.split(':').nth(1).unwrap_or("")))
            .map(|(_, v)| v)
            .sum::<u64>();
    }
    // moto's own latency, measured now: DescribeServices with 10 names.
    let ecs = moto.ecs();
    let names: Vec<String> = (0..10).map(|i| format!("s{}", i * CLUSTERS)).collect();
    let lat: Vec<f64> = (0..10)
        .map(|_| {
            let t = Instant::now();
            let _ = block_on(
                ecs.describe_services()
                    .cluster(format!("{prefix}-c0"))
                    .set_services(Some(names.clone()))
                    .send(),
            );
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    // Drift on 20 services without an Autoscaler (whose desiredCount is not drift),
    // just after a loop: corrected at the next (synced) loop.
    wait_loop_sync(port);
    let t = Instant::now();
    for i in 0..20 {
        let (cluster, service) = (
            format!("{prefix}-c{}", (i * n / 20 + 1) % CLUSTERS),
            format!("s{}", i * n / 20 + 1),
        );
        let _ = block_on(
            ecs.update_service()
                .cluster(cluster)
                .service(service)
                .desired_count(3)
                .send(),
        );
    }
    support::http(port, "POST", "/sync");
    poll(Duration::from_secs(600), "the drift is corrected", || {
        (0..20).all(|i| {
            let c = format!("{prefix}-c{}", (i * n / 20 + 1) % CLUSTERS);
            block_on(
                ecs.describe_services()
                    .cluster(&c)
                    .services(format!("s{}", i * n / 20 + 1))
                    .send(),
            )
            .ok()
            .and_then(|o| o.services().first().map(|s| s.desired_count()))
                == Some(1)
        })
    });
    let drift = t.elapsed().as_secs_f64();
    let targeted = targeted_passes(moto, port, &prefix, &queue);
    let rss = peak_rss_mib(pid);
    let _ = child.kill();
    let _ = child.wait();

    let total: u64 = calls.values().sum();
    let floors = floor(n);
    println!(
        "\n### {n} services on moto (setup apply {:.0} s)\n",
        setup.as_secs_f64()
    );
    println!("| figure | value |\n|---|---|");
    for line in &imported {
        println!("| {line} |  |");
    }
    println!("| AWS calls per no-op loop | {total} |");
    println!("| write calls in 3 no-op loops | {writes} |");
    println!("| loop wall time (median of 3) | {:.2} s |", median(walls));
    println!(
        "| operator CPU per loop, user+sys (median of 3) | {:.2} s |",
        median(cpus)
    );
    println!(
        "| moto DescribeServices (10 names), median | {:.1} ms |",
        median(lat)
    );
    println!(
        "| drift on 20 services → corrected (sync requested, ≤ 5 s of coalescing included) | {drift:.2} s |"
    );
    for line in &targeted {
        println!("{line}");
    }
    println!("| controller peak RSS | {rss:.1} MiB |");
    println!("\n| operation | calls per no-op loop | floor |\n|---|---|---|");
    for (op, n) in &calls {
        let f = floors
            .get(op.as_str())
            .map_or_else(|| "–".to_owned(), |f| f.to_string());
        println!("| {op} | {n} | {f} |");
    }
}

/// Events on one service (`--events-queue`): a hand-made desiredCount change
/// and its CloudTrail event, 5 times (event sent → corrected, and the pass's
/// AWS calls); then an event on a service with an Autoscaler, an Alarm and a
/// Cloud Map registration (the widest targeted pass). Table rows.
fn targeted_passes(moto: &Moto, port: u16, prefix: &str, queue: &str) -> Vec<String> {
    use support::events::{ALICE, send, update_service};
    let ecs = moto.ecs();
    let desired_count = |c: &str, s: &str| {
        block_on(ecs.describe_services().cluster(c).services(s).send())
            .ok()
            .and_then(|o| o.services().first().map(|s| s.desired_count()))
    };
    let passes = || {
        status(port)["eventsQueue"]["targetedPasses"]
            .as_u64()
            .unwrap_or(0)
    };
    let full = || {
        status(port)["eventsQueue"]["fullPasses"]
            .as_u64()
            .unwrap_or(0)
    };
    let (cluster, service) = (format!("{prefix}-c1"), "s1".to_owned());
    let full_before = full();
    let (mut took, mut calls) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let _ = block_on(
            ecs.update_service()
                .cluster(&cluster)
                .service(&service)
                .desired_count(5 + i)
                .send(),
        );
        let before = passes();
        let t = Instant::now();
        send(
            moto,
            queue,
            &[update_service(
                &unique("id"),
                &cluster,
                &service,
                ALICE,
                "aws-cli/2",
            )],
        );
        poll(Duration::from_secs(120), "the event's correction", || {
            desired_count(&cluster, &service) == Some(1)
        });
        took.push(t.elapsed().as_secs_f64());
        poll(
            Duration::from_secs(60),
            "the targeted pass is recorded",
            || passes() > before,
        );
        calls.push(
            status(port)["lastTargetedPass"]["calls"]
                .as_f64()
                .unwrap_or(f64::NAN),
        );
    }
    // s0: an Autoscaler, an Alarm, a Cloud Map service, its TaskDefinition.
    let before = passes();
    let cluster0 = format!("{prefix}-c0");
    send(
        moto,
        queue,
        &[update_service(
            &unique("id"),
            &cluster0,
            "s0",
            ALICE,
            "aws-cli/2",
        )],
    );
    poll(Duration::from_secs(60), "the widest targeted pass", || {
        passes() > before
    });
    let wide = &status(port)["lastTargetedPass"];
    vec![
        format!(
            "| event on 1 service → corrected, targeted pass (median of 5; full passes meanwhile: {}) | {:.2} s |",
            full() - full_before,
            median(took)
        ),
        format!(
            "| AWS calls of that targeted pass (median of 5) | {} |",
            median(calls)
        ),
        format!(
            "| AWS calls of a targeted pass on a service with an Autoscaler, an Alarm and a Cloud Map service ({}) | {} |",
            wide["resources"].as_array().map(Vec::len).unwrap_or(0),
            wide["calls"]
        ),
    ]
}

fn wait_loop_sync(port: u16) {
    support::http(port, "POST", "/sync");
    wait_loop(port);
}

fn on_fakes(n: usize) {
    let at = jiff::Timestamp::now();
    let d = load(estate(n, "f", "subnet-1", "sg-1"));
    let aws = fakes("f");
    converge(&d, &aws, at);
    let options = PlanOptions {
        instance: "bench".to_owned(),
        ..PlanOptions::default()
    };
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let observed = block_on(observe(&d, &aws, "bench", &mut Memory::default(), at));
            let p = plan(&d, &observed, at, &options);
            assert!(!p.has_ops(), "the fake estate converged");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    println!("| {n} | {:.1} ms |", median(times));
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "100,500,1000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("## estate benchmarks ({build} build)\n");
    println!(
        "### no-op loop on the in-memory fakes (observe + plan, median of 5)\n\n| services | time |\n|---|---|"
    );
    for &n in &sizes {
        on_fakes(n);
    }
    for &n in &sizes {
        on_moto(n);
    }
}
