//! `make test-image` (not part of `make test`; `.ci/run` runs it after): the
//! image `make image` built, run as `deploy/task-definition.json` runs it
//! (read-only root, its user, its environment and command) with podman
//! against a moto server on loopback (`--network host`). Checks readiness,
//! the container health check without a shell, that a desired state mounted
//! read-only is applied, the CA bundle, and that SIGTERM stops it within the
//! task definition's `stopTimeout` with the `operator stopping` message sent.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::docs::{service_of, task_definition};
use support::{Moto, block_on, path_str, poll, root, unique, write_docs};

fn image() -> String {
    std::env::var("ECS_OPERATOR_IMAGE").unwrap_or_else(|_| "localhost/ecs-operator:dev".to_owned())
}

/// podman with the settings these machines need (deploy/image/containers.conf).
fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .env(
            "CONTAINERS_CONF",
            root().join("deploy/image/containers.conf"),
        )
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "podman cannot be run ({e}): `make test-image` builds the image and installs podman"
            )
        })
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Removes the container when the test ends, however it ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        podman(&["rm", "--force", &self.0]);
    }
}

impl Container {
    fn logs(&self) -> String {
        text(&podman(&["logs", &self.0]))
    }
}

#[test]
fn the_image_runs_as_its_task_definition_runs_it() {
    let image = image();
    let inspect = podman(&["image", "inspect", &image, "--format", "{{.Size}}"]);
    assert!(
        inspect.status.success(),
        "no image {image}: run `make image` first ({})",
        text(&inspect)
    );
    let size: u64 = String::from_utf8_lossy(&inspect.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    println!("image {image}: {:.1} MiB", size as f64 / 1024.0 / 1024.0);

    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/task-definition.json"))
            .expect("task definition"),
    )
    .expect("task definition JSON");
    let c = &spec["containerDefinitions"][0];
    assert_eq!(
        c["readonlyRootFilesystem"], true,
        "the task definition runs a read-only root"
    );
    let user = c["user"]
        .as_str()
        .expect("the task definition names a user");
    let stop_timeout = c["stopTimeout"].as_u64().expect("stopTimeout");

    // The desired state: a TaskDefinition and its Service, and a channel whose
    // `operator` messages an SQS queue receives.
    let moto = Moto::shared();
    let cluster = unique("imgc");
    moto.platform(&["cluster", &cluster]);
    let (url, arn) = moto.queue();
    let topic = unique("img-oncall");
    let family = unique("imgweb");
    let channel = format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: oncall}}\nspec:\n  topicName: {topic}\n  subscriptions: [{{protocol: sqs, endpoint: \"{arn}\"}}]\n  events: [operator]\n"
    );
    let docs = format!(
        "{}---\n{}---\n{channel}",
        task_definition("web", &family, "repo/web:1"),
        service_of("web", &cluster, "web")
            .fargate(moto.network())
            .build()
    );
    let dir = write_docs(&[("desired.yaml", docs)]);
    // The container's user reads it through a read-only bind mount.
    for p in [dir.path().to_path_buf(), dir.path().join("desired.yaml")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    // The task definition's environment, but the listener on a free port
    // (--network host shares the machine's ports) and the AWS environment
    // pointing at moto.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut env: Vec<(String, String)> = c["environment"]
        .as_array()
        .expect("environment")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (k, v) in env.iter_mut() {
        if k == "ECS_OPERATOR_LISTEN" {
            *v = format!("127.0.0.1:{port}");
        }
        if k == "ECS_OPERATOR_INTERVAL" {
            *v = "2s".to_owned();
        }
    }
    env.extend(moto.env().into_iter().map(|(k, v)| (k.to_owned(), v)));
    let instance = env
        .iter()
        .find(|(k, _)| k == "ECS_OPERATOR_INSTANCE")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    // Another instance name than the task definition's `prod`, so runs do not share owners.
    let name = unique("ecs-operator");
    env.retain(|(k, _)| k != "ECS_OPERATOR_INSTANCE");
    env.push(("ECS_OPERATOR_INSTANCE".to_owned(), name.clone()));
    assert_eq!(instance, "prod");

    let mount = format!("{}:/desired:ro", path_str(dir.path()));
    let mut args: Vec<String> = [
        "run",
        "--detach",
        "--name",
        &name,
        "--runtime",
        "/usr/sbin/runc",
        "--network",
        "host",
        "--read-only",
        "--user",
        user,
        "--volume",
        &mount,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for (k, v) in &env {
        args.push("--env".to_owned());
        args.push(format!("{k}={v}"));
    }
    args.push(image.clone());
    args.extend(
        c["command"]
            .as_array()
            .expect("command")
            .iter()
            .map(|a| a.as_str().unwrap_or_default().to_owned()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = podman(&args);
    assert!(
        started.status.success(),
        "podman run failed: {}",
        text(&started)
    );
    let container = Container(name.clone());

    let ready = Instant::now();
    let mut answered = false;
    for _ in 0..600 {
        if support::http_get(port, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        answered,
        "/readyz never answered 200 within 60 s; the container said:\n{}",
        container.logs()
    );
    println!("ready after {:.1} s", ready.elapsed().as_secs_f64());

    // ECS runs the health check inside the container, without a shell.
    let check: Vec<String> = c["healthCheck"]["command"]
        .as_array()
        .expect("health check")
        .iter()
        .skip(1) // "CMD": run without a shell
        .map(|a| {
            a.as_str()
                .unwrap_or_default()
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        })
        .collect();
    let mut exec = vec!["exec", name.as_str()];
    exec.extend(check.iter().map(String::as_str));
    let health = podman(&exec);
    assert!(
        health.status.success(),
        "the health check {check:?} failed inside the image: {}",
        text(&health)
    );

    // The operator found a CA bundle: HTTPS to AWS needs one.
    let logs = container.logs();
    let certs = logs
        .split("\"ca_certificates\":")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        certs.is_some_and(|n| n > 0),
        "the image has no CA certificates (the operator logged {certs:?}): its HTTPS calls to AWS would fail; the base needs /etc/ssl/certs/ca-certificates.crt\n{logs}"
    );

    // The desired state is applied.
    poll(Duration::from_secs(60), "the service is created", || {
        let out = block_on(
            moto.ecs()
                .describe_services()
                .cluster(&cluster)
                .services("web")
                .send(),
        );
        out.is_ok_and(|o| o.services().iter().any(|s| s.status() == Some("ACTIVE")))
    });
    // The channel's topic exists and the controller told on-call it started.
    let mut got = Vec::new();
    moto.receive_until(
        &url,
        &mut got,
        "the `operator started` message arrives",
        |got| {
            got.iter().any(|m| {
                m["Subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("operator started"))
            })
        },
    );
    // Idle: the loops have nothing left to do. The container's process as the host sees it.
    let pid = podman(&["inspect", &name, "--format", "{{.State.Pid}}"]);
    let pid = String::from_utf8_lossy(&pid.stdout).trim().to_owned();
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        });
    println!("idle {}", rss.as_deref().unwrap_or("VmRSS: unknown"));

    // SIGTERM (what ECS sends first): gone within the stop timeout, exit 0,
    // and on-call told.
    let stop = Instant::now();
    let stopped = podman(&["stop", "--time", &stop_timeout.to_string(), &name]);
    let took = stop.elapsed();
    assert!(stopped.status.success(), "podman stop: {}", text(&stopped));
    let code = podman(&["inspect", &name, "--format", "{{.State.ExitCode}}"]);
    let code = String::from_utf8_lossy(&code.stdout).trim().to_owned();
    println!(
        "stopped in {:.1} s (stopTimeout {stop_timeout} s), exit code {code}",
        took.as_secs_f64()
    );
    assert!(
        took < Duration::from_secs(stop_timeout),
        "SIGTERM took {took:?}; ECS kills it after {stop_timeout} s"
    );
    assert_eq!(code, "0", "{}", container.logs());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && !got.iter().any(|m: &serde_json::Value| {
            m["Subject"]
                .as_str()
                .is_some_and(|s| s.contains("operator stopping"))
        })
    {
        got.extend(moto.receive(&url));
        std::thread::sleep(Duration::from_millis(200));
    }
    let subjects: Vec<&str> = got.iter().filter_map(|m| m["Subject"].as_str()).collect();
    assert!(
        subjects.iter().any(|s| s.contains("operator stopping")),
        "no `operator stopping` message; the queue got {subjects:?}; the container said:\n{}",
        container.logs()
    );
}
