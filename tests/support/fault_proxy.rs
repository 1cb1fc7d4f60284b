//! An HTTP/1.1 proxy between the operator and moto that injects AWS faults at
//! configured rates per operation.
//!
//! Throttles, 500s and resets are injected INSTEAD of forwarding: the request
//! never reaches moto, so a write that failed never happened and counting
//! forwarded writes counts real writes. Latency delays, then forwards. A
//! request is counted once written to moto and before its response is relayed,
//! so counts read after a client call returned include that call.
//!
//! The plumbing is `http_proxy`'s. Control requests ("moto:control": no
//! `Authorization`, or `/moto-api`) are never faulted.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::http_proxy::{self, Protocol, Request, Response, Server, classify, json_error, lock};

/// Per-request probabilities in [0, 1]. One draw picks throttle, else
/// server_error, else reset (so their sum should not exceed 1); a forwarded
/// request is then delayed by `latency_ms` with probability `latency`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    pub throttle: f64,
    pub server_error: f64,
    pub reset: f64,
    pub latency: f64,
    pub latency_ms: u64,
}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }
}

#[derive(Default)]
struct State {
    upstream: String,
    rng: fastrand::Rng,
    default: Faults,
    per_operation: HashMap<String, Faults>,
    forwarded: BTreeMap<String, u64>,
    injected: BTreeMap<(String, String), u64>,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: Server,
}

impl FaultProxy {
    pub fn start(upstream: &str, faults: Faults, seed: u64) -> FaultProxy {
        let state = Arc::new(Mutex::new(State {
            upstream: http_proxy::upstream_addr(upstream),
            rng: fastrand::Rng::with_seed(seed),
            default: faults,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let server = Server::start("127.0.0.1:0", move |req, client| {
            handle(&shared, req, client)
        });
        let server = server.expect("fault proxy binds a loopback port");
        let url = server.url.clone();
        FaultProxy {
            url,
            state,
            _server: server,
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        lock(&self.state).default = faults;
    }

    /// `operation` is "UpdateService" (any service) or "ecs:UpdateService";
    /// either overrides the default faults for it.
    pub fn set_operation_faults(&self, operation: &str, faults: Faults) {
        let mut state = lock(&self.state);
        state.per_operation.insert(operation.to_owned(), faults);
    }

    /// Requests forwarded to moto, by "service:Operation".
    pub fn forwarded(&self) -> BTreeMap<String, u64> {
        lock(&self.state).forwarded.clone()
    }

    /// Faults injected, by ("service:Operation", kind).
    pub fn injected(&self) -> BTreeMap<(String, String), u64> {
        lock(&self.state).injected.clone()
    }

    pub fn reset_counts(&self) {
        let mut state = lock(&self.state);
        state.forwarded.clear();
        state.injected.clear();
    }
}

/// Returns whether the client connection stays open.
fn handle(state: &Mutex<State>, req: &Request, client: &mut TcpStream) -> io::Result<bool> {
    let (key, protocol) = classify(req);
    let fault = (protocol != Protocol::Control).then(|| decide(state, &key));
    let response = match fault.flatten() {
        Some(("reset", _)) => return Ok(false),
        Some(("throttle", _)) => fault_response(req, &key, protocol, true),
        Some(("server_error", _)) => fault_response(req, &key, protocol, false),
        latency => {
            if let Some((_, ms)) = latency {
                std::thread::sleep(Duration::from_millis(ms));
            }
            let upstream = lock(state).upstream.clone();
            let count = || *lock(state).forwarded.entry(key.clone()).or_default() += 1;
            let forwarded = http_proxy::forward(&upstream, req, count);
            forwarded.unwrap_or_else(|e| http_proxy::bad_gateway("fault proxy", &e))
        }
    };
    req.respond(client, response)
}

/// The fault to inject, with the latency to add when that is the fault.
fn decide(state: &Mutex<State>, key: &str) -> Option<(&'static str, u64)> {
    let mut state = lock(state);
    let operation = key.split_once(':').map_or(key, |(_, op)| op);
    let per_operation = &state.per_operation;
    let specific = per_operation.get(key).or(per_operation.get(operation));
    let f = specific.copied().unwrap_or(state.default);
    let draw = state.rng.f64();
    let kind = if draw < f.throttle {
        "throttle"
    } else if draw < f.throttle + f.server_error {
        "server_error"
    } else if draw < f.throttle + f.server_error + f.reset {
        "reset"
    } else if state.rng.f64() < f.latency {
        "latency"
    } else {
        return None;
    };
    let entry = (key.to_owned(), kind.to_owned());
    *state.injected.entry(entry).or_default() += 1;
    Some((kind, f.latency_ms))
}

/// Status, header lines and body of an injected error, shaped like the real
/// service's so the SDK parses the error code and classifies it.
fn fault_response(req: &Request, key: &str, protocol: Protocol, throttle: bool) -> Response {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = format!("fault-proxy-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let mut head = format!("x-amzn-RequestId: {id}\r\nx-amz-request-id: {id}\r\n");
    let status = match (protocol, throttle) {
        (Protocol::S3, true) => "503 Slow Down",
        (_, true) => "400 Bad Request",
        (_, false) => "500 Internal Server Error",
    };
    let (code, message) = match (protocol, throttle) {
        (Protocol::S3, true) => ("SlowDown", "Please reduce your request rate."),
        (Protocol::S3, false) => ("InternalError", "Internal error."),
        (_, true) => ("ThrottlingException", "Rate exceeded"),
        (_, false) => ("InternalFailure", "Internal failure"),
    };
    let body = match protocol {
        Protocol::Json => {
            // DynamoDB speaks JSON 1.0, the others 1.1.
            let content_type = req.header("content-type");
            let content_type = content_type.unwrap_or("application/x-amz-json-1.1");
            let (error_head, body) =
                json_error(content_type, code, &format!("{message} (injected)"));
            head += &error_head;
            body
        }
        Protocol::S3 => {
            head += "Content-Type: application/xml\r\n";
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>\
                 <Message>{message} (injected)</Message><RequestId>{id}</RequestId></Error>"
            )
        }
        Protocol::Query | Protocol::Control => {
            let namespace = match key.starts_with("cloudwatch:") {
                true => "http://monitoring.amazonaws.com/doc/2010-08-01/",
                false => "http://sns.amazonaws.com/doc/2010-03-31/",
            };
            let code = code.trim_end_matches("Exception"); // Throttling, InternalFailure
            let fault_type = if throttle { "Sender" } else { "Receiver" };
            head += "Content-Type: text/xml\r\n";
            format!(
                "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{fault_type}</Type>\
                 <Code>{code}</Code><Message>{message} (injected)</Message></Error>\
                 <RequestId>{id}</RequestId></ErrorResponse>"
            )
        }
    };
    (status.to_owned(), head, body.into_bytes())
}
