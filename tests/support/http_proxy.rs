//! The HTTP/1.1 plumbing the test proxies in front of moto share: an accept
//! loop, request parsing, naming a request "service:Operation", forwarding
//! and re-framing responses.
//!
//! One thread per connection on `std::net`, so tests need no runtime. A proxy
//! never closes an idle client connection (that would race with hyper's pool:
//! a spurious, uncounted reset); each request goes to moto on a fresh
//! `Connection: close` connection and its response is re-framed for keep-alive.
//! Requests without `Authorization` (presigned URLs too) or to `/moto-api` are
//! named "moto:control".

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn header_has(&self, name: &str, token: &str) -> bool {
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
    pub fn respond(
        &self,
        client: &mut TcpStream,
        (status, head, body): Response,
    ) -> io::Result<bool> {
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

/// A panicking connection thread must not take a proxy's state with it.
pub fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Status, header lines without framing, body.
pub type Response = (String, String, Vec<u8>);

/// Handles one request; returns whether the client connection stays open.
type Handler = dyn Fn(&Request, &mut TcpStream) -> io::Result<bool> + Send + Sync;

/// The accept loop; dropping it stops accepting, open connections live on.
pub struct Server {
    pub url: String,
    addr: SocketAddr,
    stopped: Arc<AtomicBool>,
}

impl Server {
    pub fn start(
        listen: &str,
        handle: impl Fn(&Request, &mut TcpStream) -> io::Result<bool> + Send + Sync + 'static,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stopped = Arc::new(AtomicBool::new(false));
        let accept = Arc::clone(&stopped);
        let handle: Arc<Handler> = Arc::new(handle);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if accept.load(Ordering::SeqCst) {
                    break;
                }
                let handle = Arc::clone(&handle);
                std::thread::spawn(move || serve(&*handle, stream));
            }
        });
        let url = format!("http://{addr}");
        Ok(Server { url, addr, stopped })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(handle: &Handler, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut client = stream
        .try_clone()
        .expect("a second handle on the client socket");
    let mut reader = BufReader::new(stream);
    while let Ok(Some(req)) = read_request(&mut reader, &mut client) {
        if !handle(&req, &mut client).unwrap_or(false) {
            break;
        }
    }
    // Also how a reset fault ends: the request read, no response written.
    let _ = client.shutdown(Shutdown::Both);
}

/// `host:port` of an upstream given as a URL.
pub fn upstream_addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Loud rather than a silent reset when moto died or sent garbage.
pub fn bad_gateway(proxy: &str, error: &io::Error) -> Response {
    let body = format!("{proxy}: {error}").into_bytes();
    ("502 Bad Gateway".to_owned(), String::new(), body)
}

/// Header lines and body of an AWS JSON-protocol error: the SDKs read the code
/// from `__type` (and the header) to pick the typed error.
pub fn json_error(content_type: &str, code: &str, message: &str) -> (String, String) {
    let head = format!("Content-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\n");
    let body = serde_json::json!({ "__type": code, "message": message });
    (head, body.to_string())
}

/// A JSON-protocol call of the proxy's own to `upstream`, under `target`
/// (`x-amz-target`), with a client's `headers`: moto checks no signatures.
pub fn call_json(
    upstream: &str,
    headers: &[(String, String)],
    target: &str,
    body: &Value,
) -> io::Result<Option<Value>> {
    let mut headers = headers.to_vec();
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-target"));
    headers.push(("X-Amz-Target".to_owned(), target.to_owned()));
    let (method, path, body) = ("POST".to_owned(), "/".to_owned(), body.to_string());
    let req = Request {
        method,
        target: path,
        headers,
        body: body.into_bytes(),
    };
    Ok(json_body(&forward(upstream, &req, || {})?))
}

/// The body of a 200 response, as JSON.
pub fn json_body((status, _, body): &Response) -> Option<Value> {
    let ok = status.starts_with("200");
    ok.then(|| serde_json::from_slice(body).ok()).flatten()
}

#[derive(Clone, Copy, PartialEq)]
pub enum Protocol {
    Control,
    Json,
    Query,
    S3,
}

/// Part `n` of the SigV4 credential scope `AKID/DATE/REGION/SERVICE/aws4_request`.
pub fn scope(authorization: &str, n: usize) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split('/').nth(n)
}

/// The "service:Operation" key of a request and the protocol to answer in.
pub fn classify(req: &Request) -> (String, Protocol) {
    let auth = req.header("authorization");
    let Some(auth) = auth.filter(|_| !req.target.starts_with("/moto-api")) else {
        return ("moto:control".to_owned(), Protocol::Control);
    };
    let service = match scope(auth, 3).unwrap_or("unknown") {
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

/// Sends `req` to `upstream` (`host:port`); `sent` runs once the request is
/// written and before the response is read.
pub fn forward(upstream: &str, req: &Request, sent: impl FnOnce()) -> io::Result<Response> {
    let mut moto = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (name, value) in req.headers.iter().filter(|(n, _)| !is_framing(n)) {
        head += &format!("{name}: {value}\r\n");
    }
    head += &format!("Content-Length: {}\r\n", req.body.len());
    head += "Connection: close\r\n\r\n";
    moto.write_all(&[head.as_bytes(), &req.body].concat())?;
    sent();
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

/// Headers a proxy rewrites: it re-frames every message, and answers
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
