//! Test bed: a real moto server on a free loopback port, the platform fixtures
//! (network, clusters, task definitions), and the operator binary run against it.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod bench_estate;
pub mod controller;
pub mod deploy_sim;
pub mod docs;
pub mod events;
pub mod fault_proxy;
pub mod http_proxy;
pub mod json_schema;
pub mod recorded;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python that has moto: `MOTO_PYTHON`, else the project's `.venv`.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("MOTO_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    let ok = Command::new(&venv)
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "moto is not installed in {}: run `make test` (it creates .venv with the pinned moto from \
         tests/requirements-moto.txt), or set MOTO_PYTHON to a python that has moto[server] and boto3",
        venv.display()
    );
    venv
}

/// A moto server for this test process. It runs with its stdin piped from us:
/// when this process exits, for whatever reason, moto sees EOF and exits too.
pub struct Moto {
    pub endpoint: String,
    _child: Child,
    network: OnceLock<Network>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

impl Moto {
    pub fn shared() -> &'static Moto {
        MOTO.get_or_init(Moto::start)
    }

    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let script = format!(
            "import os, sys, threading\n\
             threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()\n\
             from moto.server import main\n\
             main(['-H', '127.0.0.1', '-p', '{port}'])\n"
        );
        let log = std::fs::File::create(std::env::temp_dir().join(format!("moto-{port}.log")))
            .expect("moto log file");
        let child = Command::new(python())
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("moto starts");
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: child,
            network: OnceLock::new(),
        };
        poll(
            Duration::from_secs(60),
            "moto answers on /moto-api/",
            || {
                http_get(port, "/moto-api/")
                    .is_some_and(|s| s.starts_with("HTTP/1.1 200") || s.starts_with("HTTP/1.0 200"))
            },
        );
        moto
    }

    fn port(&self) -> u16 {
        self.endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// The standard AWS environment pointing at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            // boto3 (the fixtures) reads this one.
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// A VPC with subnets and security groups, made once per server.
    pub fn network(&self) -> &Network {
        self.network.get_or_init(|| {
            let out = self.platform(&["network"]);
            serde_json::from_slice(&out.stdout).expect("network JSON")
        })
    }

    /// Runs `tests/support/estate.py` (boto3) against this server.
    pub fn platform(&self, args: &[&str]) -> Output {
        let out = Command::new(python())
            .arg(root().join("tests/support/estate.py"))
            .args(args)
            .envs(self.env())
            .output()
            .expect("estate.py runs");
        assert!(
            out.status.success(),
            "estate.py {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// SDK configuration for this server, as a test's own client (not the operator) uses it.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "tests",
            )))
            .http_client(ecs_operator::aws::http_client())
            .build()
    }

    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.sdk_config())
    }

    pub fn scaling(&self) -> aws_sdk_applicationautoscaling::Client {
        aws_sdk_applicationautoscaling::Client::new(&self.sdk_config())
    }

    /// S3 as CI uses it (uploads); `run --source` reads through `SdkS3` with `sdk_config()`.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::new(&self.sdk_config())
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.sdk_config())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
    }

    /// A new lease table as deploy/cloudformation.yaml makes it (key `name`, a string).
    pub fn lease_table(&self) -> String {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let table = unique("leases");
        block_on(
            self.dynamodb()
                .create_table()
                .table_name(&table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("name")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .expect("attribute"),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("name")
                        .key_type(KeyType::Hash)
                        .build()
                        .expect("key"),
                )
                .send(),
        )
        .expect("create table");
        table
    }

    /// An SQS queue (a subscriber's inbox): (url, arn).
    pub fn queue(&self) -> (String, String) {
        let q: serde_json::Value =
            serde_json::from_slice(&self.platform(&["queue", &unique("inbox")]).stdout)
                .expect("queue");
        (
            q["url"].as_str().expect("url").to_owned(),
            q["arn"].as_str().expect("arn").to_owned(),
        )
    }

    /// The SNS envelopes the queue received since the last call.
    pub fn receive(&self, url: &str) -> Vec<serde_json::Value> {
        serde_json::from_slice(&self.platform(&["receive", url]).stdout).expect("messages")
    }

    /// Adds what the queue receives to `got` until `done(got)` holds (60 s at most).
    pub fn receive_until(
        &self,
        url: &str,
        got: &mut Vec<serde_json::Value>,
        what: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) {
        poll(Duration::from_secs(60), what, || {
            got.extend(self.receive(url));
            done(got)
        });
    }

    /// Puts one value per (minutes ago, value) of a metric, as an application would.
    pub fn put_metric(
        &self,
        namespace: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        points: &[(i64, f64)],
    ) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let now = jiff::Timestamp::now().as_second();
        let data: Vec<MetricDatum> = points
            .iter()
            .map(|&(ago, value)| {
                MetricDatum::builder()
                    .metric_name(name)
                    .set_dimensions(Some(
                        dimensions
                            .iter()
                            .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
                            .collect(),
                    ))
                    .value(value)
                    .timestamp(aws_smithy_types::DateTime::from_secs(now - ago * 60))
                    .build()
            })
            .collect();
        block_on(
            self.cloudwatch()
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(data))
                .send(),
        )
        .expect("put metric data");
    }

    /// Runs the operator binary with this server's environment.
    pub fn operator(&self, args: &[&str]) -> Run {
        let out = self.operator_command(args).output().expect("operator runs");
        Run::from(out)
    }

    pub fn operator_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-operator"));
        cmd.args(args).envs(self.env()).env_remove("RUST_LOG");
        for (k, _) in std::env::vars() {
            if k.starts_with("ECS_OPERATOR_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub vpc: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// A finished operator process.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing everything the process said when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Write calls reported by `apply`'s summary line.
    pub fn writes(&self) -> u64 {
        let line = self
            .stdout
            .lines()
            .find(|l| l.starts_with("apply: "))
            .unwrap_or_else(|| panic!("no apply summary in:\n{}", self.stdout));
        line.split("; ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no write count in {line}"))
    }
}

/// Polls `check` until it holds or the deadline passes (no sleeps as synchronisation).
pub fn poll(deadline: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(20);
    while Instant::now() < end {
        if check() {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
    panic!("timed out after {deadline:?} waiting until {what}");
}

/// A raw GET on loopback; the whole response as text.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path)
}

pub fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// A name no other test of this run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A current-thread runtime for SDK calls in synchronous tests.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Creates a cluster and registers task definition families in it.
pub fn platform(moto: &Moto, cluster: &str, families: &[&str]) {
    moto.platform(&["cluster", cluster]);
    let mut args = vec!["taskdef"];
    args.extend_from_slice(families);
    moto.platform(&args);
}

/// Writes `files` (name, text) into a new temporary directory.
pub fn write_docs(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write doc");
    }
    dir
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The live service with its tags, as another AWS client sees it.
pub fn describe(moto: &Moto, cluster: &str, service: &str) -> aws_sdk_ecs::types::Service {
    let out = block_on(
        moto.ecs()
            .describe_services()
            .cluster(cluster)
            .services(service)
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send(),
    )
    .expect("describe");
    out.services()[0].clone()
}

pub fn tag(s: &aws_sdk_ecs::types::Service, key: &str) -> Option<String> {
    s.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value().map(str::to_owned))
}

/// Someone scales a service by hand, as drift.
pub fn scale_by_hand(moto: &Moto, cluster: &str, service: &str, count: i32) {
    block_on(
        moto.ecs()
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(count)
            .send(),
    )
    .expect("scale by hand");
}

/// What people change by hand: a Fargate Spot strategy…
pub fn spot_strategy() -> aws_sdk_ecs::types::CapacityProviderStrategyItem {
    aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
        .capacity_provider("FARGATE_SPOT")
        .weight(1)
        .build()
        .expect("strategy item")
}

/// …and a rolling deployment that may stop every task.
pub fn min_healthy_zero() -> aws_sdk_ecs::types::DeploymentConfiguration {
    aws_sdk_ecs::types::DeploymentConfiguration::builder()
        .minimum_healthy_percent(0)
        .maximum_percent(200)
        .build()
}
