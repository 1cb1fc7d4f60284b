//! The commands, as the binary runs them. Each returns the process exit code.

mod import;
pub use import::import;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use crate::aws::Clients;
use crate::aws::call::RetryPolicy;
use crate::aws::s3::SdkS3;
use crate::cli::{
    ApplyArgs, CrdsArgs, Files, Guard, HealthcheckArgs, Output, PlanArgs, RunArgs, ScheduleArgs,
    SloArgs,
};
use crate::controller::source::DesiredSource;
use crate::controller::{self, RunOptions, Shared};
use crate::desired::Desired;
use crate::metrics::Metrics;
use crate::observe::observe;
use crate::plan::{self, PlanOptions};

pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const CHANGES: u8 = 2;
/// `apply --wait`: a deployment failed or ECS rolled it back.
pub const ROLLED_BACK: u8 = 3;

fn plan_options(instance: &str, guard: &Guard) -> PlanOptions {
    PlanOptions {
        instance: instance.to_owned(),
        prune: guard.prune,
        allow_replace: guard.allow_replace,
        max_deletions: guard.max_deletions,
        heartbeat: None,
        heartbeat_topics: Vec::new(),
    }
}

/// Loads and validates, printing every error; `None` means exit 1.
fn load(files: &Files) -> Option<Desired> {
    match Desired::load(&files.files) {
        Ok(d) => Some(d),
        Err(diags) => {
            eprintln!("{diags}");
            None
        }
    }
}

pub fn validate(files: &Files) -> ExitCode {
    match load(files) {
        Some(d) => {
            for w in d.warnings() {
                eprintln!("warning: {w}");
            }
            println!(
                "ok: {} documents valid (revision {})",
                d.count(),
                d.revision
            );
            ExitCode::from(OK)
        }
        None => ExitCode::from(FAILED),
    }
}

pub async fn plan(instance: &str, retry: RetryPolicy, args: &PlanArgs) -> ExitCode {
    let Some(desired) = load(&args.files) else {
        return ExitCode::from(FAILED);
    };
    let metrics = Arc::new(Metrics::default());
    let aws = Clients::from_environment(metrics, retry).await;
    let at = args.at.unwrap_or_else(jiff::Timestamp::now);
    let mut memory = crate::observed::Memory::default();
    let observed = observe(&desired, &aws, instance, &mut memory, at).await;
    let plan = plan::plan(
        &desired,
        &observed,
        at,
        &plan_options(instance, &args.guard),
    );
    match args.output {
        Output::Text => print!(
            "{}",
            plan::text::render(&plan, std::io::stdout().is_terminal())
        ),
        Output::Json => println!("{}", plan::json::render(&plan)),
    }
    for (scope, e) in &observed.errors {
        eprintln!("error: could not observe {scope}: {e}");
    }
    if !observed.errors.is_empty() || plan.has_blocked() {
        ExitCode::from(FAILED)
    } else if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(CHANGES)
    } else {
        ExitCode::from(OK)
    }
}

pub async fn apply(instance: &str, retry: RetryPolicy, args: &ApplyArgs) -> ExitCode {
    let Some(desired) = load(&args.files) else {
        return ExitCode::from(FAILED);
    };
    let metrics = Arc::new(Metrics::default());
    let aws = Clients::from_environment(metrics.clone(), retry).await;
    let options = plan_options(instance, &args.guard);
    let stop = AtomicBool::new(false);
    let colour = std::io::stdout().is_terminal();
    let mut failed = false;
    let mut passes = 0;
    let mut converged = false;
    // Stale Cloud Map instances are removed only once seen stale twice, staleAfter
    // apart: a one-shot apply rarely lives that long, `run` does.
    let mut memory = crate::observed::Memory::default();
    let mut followed: Vec<crate::deploy_wait::Followed> = Vec::new();
    while passes < args.max_passes.max(1) {
        passes += 1;
        let at = args.at.unwrap_or_else(jiff::Timestamp::now);
        let observed = observe(&desired, &aws, instance, &mut memory, at).await;
        let plan = plan::plan(&desired, &observed, at, &options);
        if !plan.has_ops() {
            converged = true;
            if passes == 1 {
                print!("{}", plan::text::render(&plan, colour));
            }
            failed |= plan.has_blocked() || !observed.errors.is_empty();
            let replace = plan.count(crate::plan::Action::RequiresReplacement);
            if replace > 0 {
                eprintln!(
                    "error: {replace} resource(s) require replacement; apply them with --allow-replace"
                );
                failed = true;
            }
            for (scope, e) in &observed.errors {
                eprintln!("error: could not observe {scope}: {e}");
            }
            break;
        }
        println!("--- pass {passes}");
        print!("{}", plan::text::render(&plan, colour));
        let outcome = crate::apply::apply(&plan, &aws, &stop, |_| true).await;
        memory.forget_tagged(&plan);
        for f in crate::deploy_wait::started(&plan, &observed, &outcome) {
            // A later pass's deployment of the same service replaces the earlier one.
            followed.retain(|g| g.resource != f.resource);
            followed.push(f);
        }
        for f in outcome.failures() {
            eprintln!(
                "error: {} ({}): {}",
                f.resource,
                f.target,
                f.error.as_deref().unwrap_or_default()
            );
        }
        if outcome.failures().next().is_some() {
            failed = true;
        }
    }
    let writes = metrics.writes();
    let calls: u64 = metrics.call_counts().values().sum();
    if converged {
        println!(
            "apply: converged after {passes} pass{}; {writes} write calls, {calls} AWS calls",
            if passes == 1 { "" } else { "es" }
        );
    } else {
        println!(
            "apply: not converged after {passes} passes; {writes} write calls, {calls} AWS calls"
        );
        failed = true;
    }
    if failed {
        return ExitCode::from(FAILED);
    }
    if args.wait {
        let at = args.at.unwrap_or_else(jiff::Timestamp::now);
        let observed = observe(&desired, &aws, instance, &mut memory, at).await;
        let last = plan::plan(&desired, &observed, at, &options);
        followed.extend(crate::deploy_wait::in_flight(&last, &observed, &followed));
        if followed.is_empty() {
            println!("wait: no deployment to wait for (none started, none in progress)");
            return ExitCode::from(OK);
        }
        use crate::deploy_wait::{Waited, wait};
        let waited = wait(&aws.ecs, &followed, args.wait_timeout.0, args.wait_poll.0).await;
        return ExitCode::from(match waited {
            Waited::Healthy => OK,
            Waited::Failed => ROLLED_BACK,
            Waited::TimedOut => FAILED,
        });
    }
    ExitCode::from(OK)
}

pub async fn run(instance: &str, retry: RetryPolicy, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let certificates = crate::ca_bundle::certificates();
    tracing::info!(ca_certificates = certificates, "CA certificates found");
    if certificates == 0 && crate::ca_bundle::needed() {
        anyhow::bail!(
            "no CA certificates found (SSL_CERT_FILE, SSL_CERT_DIR or /etc/ssl/certs): HTTPS calls to AWS cannot be verified; the image needs a CA bundle"
        );
    }
    let metrics = Arc::new(Metrics::default());
    let source = match &args.source {
        Some(s3) => DesiredSource::S3 {
            source: s3.clone(),
            client: SdkS3::new(&crate::aws::load_config().await, metrics.clone(), retry),
            poll: args.source_poll.0,
        },
        None => DesiredSource::Files(args.files.clone()),
    };
    let options = RunOptions {
        source,
        state_file: args.state_file.clone(),
        interval: args.interval.0,
        slo_interval: args.slo_interval.0,
        dry_run: args.dry_run,
        plan: PlanOptions {
            // A dry run writes nothing, the heartbeat alarm included.
            heartbeat: (!args.dry_run).then_some(args.interval.0.as_secs()),
            heartbeat_topics: args.heartbeat_topic.clone(),
            ..plan_options(instance, &args.guard)
        },
    };
    let aws = Clients::from_environment(metrics.clone(), retry).await;
    let (lease, lease_task, release) = match &args.lease_table {
        None => (crate::lease::LeaseHandle::unleased(), None, None),
        Some(table) => {
            let mut config = crate::lease::LeaseConfig::new(table, instance);
            config.duration = args.lease_duration.0;
            config.renew_every = args.lease_renew.0;
            let lease = crate::lease::Lease::new(config).context("invalid lease settings")?;
            let handle = lease.handle();
            let api = crate::aws::dynamodb::SdkLease::new(
                &crate::aws::load_config().await,
                metrics.clone(),
                retry,
            );
            let (release, released) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(crate::lease::maintain(lease, api, async move {
                let _ = released.await;
            }));
            (handle, Some(task), Some(release))
        }
    };
    let shared = Arc::new(Shared::with_lease(metrics, &options, lease));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), instance, dry_run = args.dry_run, "operator started");
    let server_shared = shared.clone();
    let server = tokio::spawn(async move {
        let stopped = server_shared.clone();
        let app = controller::http::router(server_shared);
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                while !stopped.stop.load(std::sync::atomic::Ordering::SeqCst) {
                    stopped.stopped.notified().await;
                }
            })
            .await
    });
    spawn_signal_handlers(shared.clone())?;
    let intake = match &args.events_queue {
        Some(url) => {
            tracing::info!(queue = %url, "reading events from the queue while this replica leads");
            let queue = crate::aws::sqs::SdkQueue::new(
                &crate::aws::load_config().await,
                shared.metrics.clone(),
                retry,
            );
            Some(tokio::spawn(crate::watch::intake::run(
                queue,
                url.clone(),
                shared.clone(),
            )))
        }
        None => None,
    };
    controller::run(options, aws, shared.clone()).await;
    shared.request_stop();
    if let Some(intake) = intake {
        // Deletes what the last passes consumed; a receive in flight is dropped.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), intake).await;
    }
    // The last write is done: give the lease up so a standby takes over at once.
    if let (Some(release), Some(task)) = (release, lease_task) {
        let _ = release.send(());
        let _ = task.await;
    }
    shared.request_stop();
    // The server has nothing in flight worth waiting long for.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), server).await;
    tracing::info!("operator stopped");
    Ok(ExitCode::from(OK))
}

fn spawn_signal_handlers(shared: Arc<Shared>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping after the write in flight"); shared.request_stop(); return; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping after the write in flight"); shared.request_stop(); return; }
                _ = hup.recv() => { tracing::info!("SIGHUP: sync requested"); shared.wake.notify_one(); }
            }
        }
    });
    Ok(())
}

pub fn crds(args: &CrdsArgs) -> anyhow::Result<ExitCode> {
    let changed = crate::crds::write_all(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} schemas (one per kind, and document.json for a file of several) to {} ({} changed)",
        crate::model::Kind::ALL.len() + 1,
        args.out.display(),
        changed.len()
    );
    Ok(ExitCode::from(OK))
}

/// Lists each Schedule's transitions over the next `--days` days, in local time and UTC.
pub fn schedule(args: &ScheduleArgs) -> ExitCode {
    use crate::capacity::schedule::{local, state_at, transitions};
    use crate::model::schedule::ScheduleState;
    let Some(desired) = load(&args.files) else {
        return ExitCode::from(FAILED);
    };
    let from = args.from.unwrap_or_else(jiff::Timestamp::now);
    let span = jiff::SignedDuration::from_hours(24 * i64::from(args.days));
    let Ok(until) = from.checked_add(span) else {
        eprintln!("error: --days {} reaches past the year 9999", args.days);
        return ExitCode::from(FAILED);
    };
    if desired.schedules.is_empty() {
        println!("no Schedule documents");
    }
    let word = |s: ScheduleState| match s {
        ScheduleState::Active => "active",
        ScheduleState::Inactive => "inactive",
    };
    for (name, s) in &desired.schedules {
        let spec = &s.doc.spec;
        let Ok(calendar) = spec.calendar() else {
            continue;
        };
        let now = state_at(&calendar, from);
        println!(
            "Schedule/{name} ({}) for {}",
            spec.timezone,
            spec.service_refs.join(", ")
        );
        println!(
            "  {}  {from}  {} ({})",
            local(&calendar, from),
            word(now.state),
            now.reason
        );
        for (t, state) in transitions(&calendar, from, until) {
            println!("  {}  {t}  → {}", local(&calendar, t), word(state));
        }
        println!();
    }
    ExitCode::from(OK)
}

/// Reads the SLO metrics once and prints every SLO's burn rates, budget and alerts.
pub async fn slo(retry: RetryPolicy, args: &SloArgs) -> ExitCode {
    let Some(desired) = load(&args.files) else {
        return ExitCode::from(FAILED);
    };
    if desired.slos.is_empty() {
        println!("no ServiceLevelObjective documents");
        return ExitCode::from(OK);
    }
    let metrics = Arc::new(Metrics::default());
    let aws = Clients::from_environment(metrics.clone(), retry).await;
    let at = args.at.unwrap_or_else(jiff::Timestamp::now);
    let reads = crate::slo::query::plan_reads(&desired, at);
    let readings = crate::slo::read::read(&reads, &aws.cloudwatch).await;
    let evaluations = crate::slo::evaluate(&desired, &reads, &readings, at);
    let states = crate::notify::Notifier::new(args.state_file.clone())
        .memory
        .slo;
    let calls = metrics
        .call_counts()
        .get("cloudwatch:GetMetricData")
        .copied()
        .unwrap_or(0);
    match args.output {
        Output::Text => print!(
            "{}",
            crate::slo::text::render(&evaluations, &states, at, calls)
        ),
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "at": at,
                "getMetricDataCalls": calls,
                "slos": evaluations
                    .into_iter()
                    .map(|e| crate::controller::status::SloStatus::new(e, &states))
                    .collect::<Vec<_>>(),
            }))
            .unwrap_or_default()
        ),
    }
    if readings.failed.is_empty() {
        ExitCode::from(OK)
    } else {
        ExitCode::from(FAILED)
    }
}

/// A plain HTTP/1.1 GET with a 3 s deadline; 0 on a 200 answer, 1 otherwise.
pub fn healthcheck(args: &HealthcheckArgs) -> ExitCode {
    use std::io::{Read, Write};
    let answer = (|| -> Result<String, String> {
        let rest = args
            .url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{}: only http:// URLs are checked", args.url))?;
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
        let deadline = std::time::Duration::from_secs(3);
        let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
            .map_err(|e| format!("{host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, deadline)
            .map_err(|e| format!("{host}: {e}"))?;
        s.set_read_timeout(Some(deadline))
            .map_err(|e| e.to_string())?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    })();
    match answer {
        Ok(a) if a.starts_with("HTTP/1.1 200") || a.starts_with("HTTP/1.0 200") => {
            ExitCode::from(OK)
        }
        Ok(a) => {
            eprintln!("unhealthy: {}", a.lines().next().unwrap_or_default());
            ExitCode::from(FAILED)
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::from(FAILED)
        }
    }
}
