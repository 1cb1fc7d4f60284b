//! The deployment simulator (tests/support/deploy_sim.rs) as a process, for
//! `make demo`: point `AWS_ENDPOINT_URL` at the URL it prints.
//!
//!   deploy-sim --upstream URL [--listen 127.0.0.1:PORT] [--duration-ms N]
//!              [--fail FAMILY:REV=REASON]...
//!
//! It prints its URL on one line and serves until stdin reaches EOF (the
//! parent died or closed it) or it is killed.

// Shared with the tests, which use all of them.
#[allow(dead_code)]
#[path = "../../tests/support/deploy_sim.rs"]
mod deploy_sim;
#[allow(dead_code)]
#[path = "../../tests/support/http_proxy.rs"]
mod http_proxy;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: deploy-sim --upstream URL [--listen 127.0.0.1:PORT] \
                     [--duration-ms N] [--fail FAMILY:REV=REASON]...";

struct Args {
    upstream: String,
    listen: String,
    duration: Duration,
    failing: Vec<(String, String)>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut upstream, mut listen, mut duration_ms) = (None, "127.0.0.1:0".to_owned(), 2000);
    let mut failing = Vec::new();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--upstream" => upstream = Some(value()?),
            "--listen" => listen = value()?,
            "--duration-ms" => {
                let v = value()?;
                duration_ms = v
                    .parse()
                    .map_err(|_| format!("--duration-ms {v}: not a number"))?;
            }
            "--fail" => {
                let v = value()?;
                let (family_rev, reason) = v
                    .split_once('=')
                    .ok_or(format!("--fail {v}: not FAMILY:REV=REASON"))?;
                failing.push((family_rev.to_owned(), reason.to_owned()));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let upstream = upstream.ok_or("--upstream is required")?;
    let duration = Duration::from_millis(duration_ms);
    Ok(Args {
        upstream,
        listen,
        duration,
        failing,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("deploy-sim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sim = match deploy_sim::DeploySim::listen(&args.listen, &args.upstream, args.duration) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("deploy-sim: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    for (family_rev, reason) in &args.failing {
        sim.fail(family_rev, reason);
    }
    let mut out = std::io::stdout();
    if writeln!(out, "{}", sim.url)
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    // The connection threads serve; this one waits for the parent to go.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    drop(sim);
    ExitCode::SUCCESS
}
