//! Command-line arguments (SPEC §5). Every flag also reads an `ECS_OPERATOR_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::duration::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "ecs-operator",
    version,
    about = "Keeps an AWS ECS estate equal to a committed desired-state document"
)]
pub struct Cli {
    /// Which operator instance owns the resources (tag `ecs-operator/instance`).
    #[arg(
        long,
        global = true,
        env = "ECS_OPERATOR_INSTANCE",
        default_value = "default"
    )]
    pub instance: String,
    /// Attempts of one AWS call before its resource is left for the next loop.
    #[arg(
        long,
        global = true,
        env = "ECS_OPERATOR_RETRY_ATTEMPTS",
        default_value_t = 5
    )]
    pub retry_attempts: usize,
    /// First retry delay in milliseconds; doubles (with jitter) up to 10 s.
    /// A throttle closes its AWS service to every call for that long.
    #[arg(
        long,
        global = true,
        env = "ECS_OPERATOR_RETRY_BASE_MS",
        default_value_t = 200
    )]
    pub retry_base_ms: u64,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn retry(&self) -> crate::aws::call::RetryPolicy {
        crate::aws::call::RetryPolicy {
            attempts: self.retry_attempts.max(1),
            base: std::time::Duration::from_millis(self.retry_base_ms),
            ..crate::aws::call::RetryPolicy::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check documents; makes no AWS calls.
    Validate(Files),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Change AWS to match the documents, in passes until converged.
    Apply(ApplyArgs),
    /// Reconcile forever: the controller.
    Run(Box<RunArgs>),
    /// Write one JSON Schema per document kind.
    Crds(CrdsArgs),
    /// Write documents for the live services of a cluster that no document declares.
    Import(ImportArgs),
    /// Print the upcoming transitions of every Schedule; makes no AWS calls.
    Schedule(ScheduleArgs),
    /// Print every SLO's burn rates, error budget left and alert state (reads CloudWatch).
    Slo(SloArgs),
    /// Exit 0 when `URL` answers 200: the container health check, in an image without a shell.
    Healthcheck(HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// An `http://host:port/path` URL, e.g. http://127.0.0.1:8080/healthz.
    #[arg(default_value = "http://127.0.0.1:8080/healthz")]
    pub url: String,
}

#[derive(Debug, Args)]
pub struct SloArgs {
    #[command(flatten)]
    pub files: Files,
    /// Evaluate as of this instant (RFC 3339) instead of now.
    #[arg(long, env = "ECS_OPERATOR_AT")]
    pub at: Option<jiff::Timestamp>,
    #[arg(long, env = "ECS_OPERATOR_OUTPUT", value_enum, default_value = "text")]
    pub output: Output,
    /// The controller's `--state-file`, to show which alerts are firing.
    #[arg(long, env = "ECS_OPERATOR_STATE_FILE")]
    pub state_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub files: Files,
    /// Start from this instant (RFC 3339) instead of now.
    #[arg(long, env = "ECS_OPERATOR_FROM")]
    pub from: Option<jiff::Timestamp>,
    /// How many days ahead to list.
    #[arg(long, env = "ECS_OPERATOR_DAYS", default_value_t = 7)]
    pub days: u32,
}

#[derive(Debug, Args)]
pub struct Files {
    /// Files or directories of desired-state documents (repeatable).
    #[arg(
        short = 'f',
        long = "file",
        env = "ECS_OPERATOR_FILE",
        value_delimiter = ',',
        required = true
    )]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Guard {
    /// Delete orphaned resources (owned, no longer declared).
    #[arg(long, env = "ECS_OPERATOR_PRUNE")]
    pub prune: bool,
    /// Delete and re-create resources whose change cannot be made in place.
    #[arg(long, env = "ECS_OPERATOR_ALLOW_REPLACE")]
    pub allow_replace: bool,
    /// Refuse every deletion of a plan that would delete more than this many resources.
    #[arg(long, env = "ECS_OPERATOR_MAX_DELETIONS", default_value_t = 5)]
    pub max_deletions: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub files: Files,
    #[command(flatten)]
    pub guard: Guard,
    /// Evaluate at this instant (RFC 3339) instead of now.
    #[arg(long, env = "ECS_OPERATOR_AT")]
    pub at: Option<jiff::Timestamp>,
    #[arg(long, env = "ECS_OPERATOR_OUTPUT", value_enum, default_value = "text")]
    pub output: Output,
    /// Exit 2 when the plan has changes (0 when none, 1 on error).
    #[arg(long, env = "ECS_OPERATOR_DETAILED_EXITCODE")]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub files: Files,
    #[command(flatten)]
    pub guard: Guard,
    /// Evaluate at this instant (RFC 3339) instead of now.
    #[arg(long, env = "ECS_OPERATOR_AT")]
    pub at: Option<jiff::Timestamp>,
    /// Reconcile passes before giving up on convergence.
    #[arg(long, env = "ECS_OPERATOR_MAX_PASSES", default_value_t = 3)]
    pub max_passes: u32,
    /// After converging, wait for every ECS deployment this apply started:
    /// exit 0 when all are healthy, 3 when one failed or was rolled back, 1 on timeout.
    #[arg(long, env = "ECS_OPERATOR_WAIT")]
    pub wait: bool,
    /// How long `--wait` waits at most (e.g. 15m).
    #[arg(long, env = "ECS_OPERATOR_WAIT_TIMEOUT", default_value = "15m", value_parser = positive_duration, requires = "wait")]
    pub wait_timeout: Duration,
    /// How often `--wait` asks ECS (DescribeServices, 10 services a call).
    #[arg(long, env = "ECS_OPERATOR_WAIT_POLL", default_value = "5s", value_parser = positive_duration)]
    pub wait_poll: Duration,
}

/// A duration above zero (`0s` would wait for nothing, or poll in a busy loop).
fn positive_duration(s: &str) -> Result<Duration, String> {
    let d: Duration = s.parse()?;
    if d.0.is_zero() {
        return Err("must be longer than 0s".to_owned());
    }
    Ok(d)
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Files or directories of desired-state documents (repeatable).
    #[arg(
        short = 'f',
        long = "file",
        env = "ECS_OPERATOR_FILE",
        value_delimiter = ',',
        required_unless_present = "source",
        conflicts_with = "source"
    )]
    pub files: Vec<PathBuf>,
    /// `s3://bucket/prefix/`: the documents CI uploaded there, with a `REVISION` object written last.
    #[arg(long, env = "ECS_OPERATOR_SOURCE", value_parser = crate::load::s3::S3Source::parse)]
    pub source: Option<crate::load::s3::S3Source>,
    /// Time between two listings of the S3 source.
    #[arg(long, env = "ECS_OPERATOR_SOURCE_POLL", default_value = "10s")]
    pub source_poll: Duration,
    #[command(flatten)]
    pub guard: Guard,
    /// Time between loops (jittered by ±10%).
    #[arg(long, env = "ECS_OPERATOR_INTERVAL", default_value = "30s")]
    pub interval: Duration,
    /// How often SLOs are evaluated, independently of the loop.
    #[arg(long, env = "ECS_OPERATOR_SLO_INTERVAL", default_value = "60s")]
    pub slo_interval: Duration,
    /// Observe and report; never write.
    #[arg(long, env = "ECS_OPERATOR_DRY_RUN")]
    pub dry_run: bool,
    /// File where the notifier remembers reported drift across restarts (JSON).
    #[arg(long, env = "ECS_OPERATOR_STATE_FILE")]
    pub state_file: Option<PathBuf>,
    /// An SNS topic ARN the heartbeat alarm also notifies (repeatable), e.g.
    /// the platform team's, so a dead operator pages even if no AlertChannel does.
    #[arg(long, env = "ECS_OPERATOR_HEARTBEAT_TOPIC", value_delimiter = ',')]
    pub heartbeat_topic: Vec<String>,
    /// SQS queue URL that EventBridge rules feed with ECS events and the
    /// CloudTrail events of the APIs the operator owns: a change is corrected
    /// within seconds, and reports say who made it. The lease holder reads it.
    #[arg(long, env = "ECS_OPERATOR_EVENTS_QUEUE")]
    pub events_queue: Option<String>,
    /// DynamoDB table of the leader lease (key `name`, a string): replicas
    /// take turns, only the holder writes. Unset: one replica, no lease.
    #[arg(long, env = crate::lease::TABLE_VARIABLE)]
    pub lease_table: Option<String>,
    /// How long a lease lasts without a renew; the holder stops writing a quarter earlier.
    #[arg(long, env = "ECS_OPERATOR_LEASE_DURATION", default_value = "20s")]
    pub lease_duration: Duration,
    /// How often the lease is renewed (by the holder) or tried (by a standby).
    #[arg(long, env = "ECS_OPERATOR_LEASE_RENEW", default_value = "5s")]
    pub lease_renew: Duration,
    /// Address of /healthz, /readyz, /status, /metrics and POST /sync.
    #[arg(long, env = "ECS_OPERATOR_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The cluster whose services are imported.
    #[arg(long, env = "ECS_OPERATOR_CLUSTER")]
    pub cluster: String,
    /// Only these services (repeatable); default: every service of the cluster.
    #[arg(long = "service")]
    pub services: Vec<String>,
    /// Directory the files are written to.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Each service's task definition as a TaskDefinition document (its
    /// latest revision's content); otherwise `taskDefinition: family:revision`.
    #[arg(long)]
    pub with_task_definitions: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
    /// Documents already written: services they declare are not imported.
    #[arg(short = 'f', long = "file")]
    pub files: Vec<PathBuf>,
    /// `$schema` of the editor line at the top of each file.
    #[arg(long, default_value = "../crds/document.json")]
    pub schema: String,
}

#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Directory to write the schemas to.
    #[arg(long, env = "ECS_OPERATOR_OUT")]
    pub out: PathBuf,
}
