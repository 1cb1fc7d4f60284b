//! An HTTP/1.1 proxy between the operator and moto that injects AWS faults at
//! configured rates per operation.
//!
//! Throttles, 500s and resets are injected INSTEAD of forwarding: the request
//! never reaches moto, so a write that failed never happened and counting
//! forwarded writes counts real writes. Latency delays, then forwards. A
//! request is counted once written to moto and before its response is relayed,
//! so counts read after a client call returned include that call.
//!
//! One thread per connection on `std::net`, so tests need no runtime. The
//! proxy never closes an idle client connection (that would race with hyper's
//! pool: a spurious, uncounted reset); each request goes to moto on a fresh
//! `Connection: close` connection and its response is re-framed for keep-alive.
//! Requests without `Authorization` (presigned URLs too) or to `/moto-api` are
//! never faulted and are counted as "moto:control".

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

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
    stopped: bool,
    rng: fastrand::Rng,
    default: Faults,
    per_operation: HashMap<String, Faults>,
    forwarded: BTreeMap<String, u64>,
    injected: BTreeMap<(String, String), u64>,
}

// A panicking connection thread must not take the test's counts with it.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct FaultProxy {
    pub url: String,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    pub fn start(upstream: &str, faults: Faults, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fault proxy binds a loopback port");
        let addr = listener.local_addr().expect("fault proxy address");
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/');
        let state = Arc::new(Mutex::new(State {
            upstream: upstream.to_owned(),
            rng: fastrand::Rng::with_seed(seed),
            default: faults,
            ..State::default()
        }));
        let accept = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if lock(&accept).stopped {
                    break;
                }
                let state = Arc::clone(&accept);
                std::thread::spawn(move || serve(&state, stream));
            }
        });
        let url = format!("http://{addr}");
        FaultProxy { url, addr, state }
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

impl Drop for FaultProxy {
    fn drop(&mut self) {
        lock(&self.state).stopped = true;
        // Wakes the accept loop so it sees the flag; open connections live on.
        let _ = TcpStream::connect(self.addr);
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    fn header_has(&self, name: &str, token: &str) -> bool {
        let value = self.header(name).unwrap_or_default();
        value.to_ascii_lowercase().contains(token)
    }

    /// HEAD's Content-Length is the object's size, with no body after it.
    /// (Moto sends no 1xx: `Expect` is answered here, never forwarded.)
    fn has_no_body(&self, status: &str) -> bool {
        self.method == "HEAD" || status.starts_with("204") || status.starts_with("304")
    }

    /// Writes a response whose `head` holds every header line but the framing
    /// ones, which this adds; returns whether the connection stays open.
    fn respond(&self, client: &mut TcpStream, (status, head, body): Response) -> io::Result<bool> {
        let close = self.header_has("connection", "close");
        let connection = if close { "close" } else { "keep-alive" };
        let (length, body) = match self.has_no_body(&status) {
            true => (String::new(), &[][..]),
            false => (format!("Content-Length: {}\r\n", body.len()), &body[..]),
        };
        let head = format!("HTTP/1.1 {status}\r\n{head}{length}Connection: {connection}\r\n\r\n");
        client.write_all(&[head.as_bytes(), body].concat())?;
        Ok(!close)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Control,
    Json,
    Query,
    S3,
}

fn serve(state: &Mutex<State>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut client = stream
        .try_clone()
        .expect("a second handle on the client socket");
    let mut reader = BufReader::new(stream);
    while let Ok(Some(req)) = read_request(&mut reader, &mut client) {
        if !handle(state, &req, &mut client).unwrap_or(false) {
            break;
        }
    }
    // Also how a reset fault ends: the request read, no response written.
    let _ = client.shutdown(Shutdown::Both);
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
            // Loud rather than a silent reset when moto died or sent garbage.
            forward(state, req, &key).unwrap_or_else(|e| {
                let body = format!("fault proxy: {e}").into_bytes();
                ("502 Bad Gateway".to_owned(), String::new(), body)
            })
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

/// The "service:Operation" key of a request and the protocol to answer in.
fn classify(req: &Request) -> (String, Protocol) {
    let auth = req.header("authorization");
    let Some(auth) = auth.filter(|_| !req.target.starts_with("/moto-api")) else {
        return ("moto:control".to_owned(), Protocol::Control);
    };
    // Credential=AKID/20261201/us-east-1/<service>/aws4_request
    let scope = auth.split("Credential=").nth(1).unwrap_or_default();
    let service = match scope.split('/').nth(3).unwrap_or("unknown") {
        "monitoring" => "cloudwatch",
        other => other,
    };
    let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let body = String::from_utf8_lossy(&req.body);
    let (operation, protocol) = if let Some(target) = req.header("x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or_default();
        (operation, Protocol::Json)
    } else if service == "s3" {
        (s3_operation(&req.method, path, query), Protocol::S3)
    } else {
        let action = form_value(&body, "Action").or(form_value(query, "Action"));
        (action.unwrap_or("Unknown"), Protocol::Query)
    };
    (format!("{service}:{operation}"), protocol)
}

fn form_value<'a>(form: &'a str, name: &str) -> Option<&'a str> {
    let mut pairs = form
        .split('&')
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")));
    pairs.find(|(k, _)| *k == name).map(|(_, v)| v)
}

fn s3_operation<'a>(method: &str, path: &str, query: &'a str) -> &'a str {
    // The Rust SDK names most operations itself, e.g. `?x-id=GetObject`.
    if let Some(id) = form_value(query, "x-id") {
        return id;
    }
    let path = path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let has = |name| form_value(query, name).is_some();
    match (method, bucket.is_empty(), key.is_empty()) {
        ("GET", true, _) => "ListBuckets",
        ("GET", _, true) if has("list-type") => "ListObjectsV2",
        ("GET", _, true) => "ListObjects",
        ("PUT", _, true) => "CreateBucket",
        ("HEAD", _, true) => "HeadBucket",
        ("DELETE", _, true) => "DeleteBucket",
        ("POST", _, true) if has("delete") => "DeleteObjects",
        ("GET", ..) => "GetObject",
        ("HEAD", ..) => "HeadObject",
        ("PUT", ..) => "PutObject",
        ("DELETE", ..) => "DeleteObject",
        _ => "Unknown",
    }
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
            head += &format!("Content-Type: {content_type}\r\n");
            head += &format!("x-amzn-ErrorType: {code}\r\n");
            format!(r#"{{"__type":"{code}","message":"{message} (injected)"}}"#)
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

/// Status, header lines without framing, body.
type Response = (String, String, Vec<u8>);

fn forward(state: &Mutex<State>, req: &Request, key: &str) -> io::Result<Response> {
    let upstream = lock(state).upstream.clone();
    let mut moto = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (name, value) in req.headers.iter().filter(|(n, _)| !is_framing(n)) {
        head += &format!("{name}: {value}\r\n");
    }
    head += &format!("Content-Length: {}\r\n", req.body.len());
    head += "Connection: close\r\n\r\n";
    moto.write_all(&[head.as_bytes(), &req.body].concat())?;
    *lock(state).forwarded.entry(key.to_owned()).or_default() += 1;
    let mut raw = Vec::new();
    moto.read_to_end(&mut raw)?;

    let mut reader = &raw[..];
    let status_line = read_line(&mut reader)?;
    let status = status_line.split_once(' ').map(|(_, s)| s.to_owned());
    let status = status.ok_or(io::ErrorKind::InvalidData)?;
    let mut headers = Vec::new();
    while let Some(header) = parse_header(&read_line(&mut reader)?) {
        headers.push(header);
    }
    let mut body = reader.to_vec();
    if header(&headers, "transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&mut reader)?;
    }
    // The size HEAD reports must reach the client; `respond` frames the rest.
    let no_body = req.has_no_body(&status);
    let relayed = headers
        .iter()
        .filter(|(n, _)| !is_framing(n) || (no_body && n.eq_ignore_ascii_case("content-length")));
    let head = relayed.map(|(n, v)| format!("{n}: {v}\r\n")).collect();
    Ok((status, head, body))
}

/// Headers the proxy rewrites: it re-frames every message, and answers
/// `Expect: 100-continue` itself.
fn is_framing(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "connection" | "transfer-encoding" | "content-length" | "expect"
    )
}

/// `None` when the client closed the connection between requests.
fn read_request(reader: &mut impl BufRead, client: &mut TcpStream) -> io::Result<Option<Request>> {
    if reader.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let line = read_line(reader)?;
    let parts: Vec<String> = line.split(' ').map(str::to_owned).collect();
    let parts = <[String; 3]>::try_from(parts).map_err(|_| io::ErrorKind::InvalidData);
    let [method, target, _version] = parts?;
    let mut headers = Vec::new();
    while let Some(header) = parse_header(&read_line(reader)?) {
        headers.push(header);
    }
    let body = Vec::new();
    let mut req = Request {
        method,
        target,
        headers,
        body,
    };
    // Without this botocore waits a second before sending an S3 body.
    if req.header_has("expect", "100-continue") {
        client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    if req.header_has("transfer-encoding", "chunked") {
        req.body = dechunk(reader)?;
    } else if let Some(length) = req.header("content-length") {
        let length = length.parse().map_err(|_| io::ErrorKind::InvalidData)?;
        req.body = vec![0; length];
        reader.read_exact(&mut req.body)?;
    }
    Ok(Some(req))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let found = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name));
    found.map(|(_, v)| v.as_str())
}

/// `None` for the blank line that ends a head.
fn parse_header(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once(':')?;
    Some((name.trim().to_owned(), value.trim().to_owned()))
}

/// One line without its line end; a stream that ends first is an error.
fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

fn dechunk(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| io::ErrorKind::InvalidData)?;
        if size == 0 {
            // Trailers, up to the blank line that ends the message.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}
