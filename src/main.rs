//! The `ecs-operator` binary: parse arguments, set up logs, run one command.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use ecs_operator::cli::{Cli, Command};
use ecs_operator::commands;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Usage errors exit 1, not clap's 2: 2 means "the plan has changes" (SPEC §5).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                commands::FAILED
            } else {
                commands::OK
            });
        }
    };
    init_logs(matches!(cli.command, Command::Run(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(commands::FAILED);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate(files) => Ok(commands::validate(files)),
            Command::Plan(args) => Ok(commands::plan(&cli.instance, cli.retry(), args).await),
            Command::Apply(args) => Ok(commands::apply(&cli.instance, cli.retry(), args).await),
            Command::Run(args) => commands::run(&cli.instance, cli.retry(), args).await,
            Command::Crds(args) => commands::crds(args),
            Command::Import(args) => commands::import(cli.retry(), args).await,
            Command::Schedule(args) => Ok(commands::schedule(args)),
            Command::Slo(args) => Ok(commands::slo(cli.retry(), args).await),
            Command::Healthcheck(args) => Ok(commands::healthcheck(args)),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::FAILED)
        }
    }
}

/// `run` logs JSON lines to stdout when it is not a terminal (CloudWatch Logs);
/// the one-shot commands keep stdout for their output and log warnings to stderr.
fn init_logs(controller: bool) {
    let default = if controller { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if controller && !std::io::stdout().is_terminal() {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else if controller {
        builder.init();
    } else {
        builder.with_writer(std::io::stderr).init();
    }
}
