//! A deployment simulator: an HTTP/1.1 proxy in front of moto that plays the
//! part of ECS's deployment engine, which moto lacks (MOTO.md §12). A change
//! that starts a deployment makes a new PRIMARY deployment that completes, or
//! fails and rolls back, a fixed `duration` after it started; the
//! service-deployments and service-revisions APIs answer from that history.
//!
//! Not simulated: tasks (none run: a deployment "runs" its desiredCount once
//! COMPLETED and none before), alarms (never evaluated: only the task
//! definitions named by `fail` fail, always with 3 failed tasks against a
//! threshold of 3), lifecycle hooks, paging, and changes made on moto behind
//! the simulator's back (a service is adopted once, at first sight). Time
//! moves lazily: each ECS request first advances every service to the clock.

use std::collections::BTreeMap;
use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::http_proxy::{self, Request, Response, Server, json_body, lock};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";
const JSON: &str = "application/x-amz-json-1.1";
const ACCOUNT: &str = "123456789012";
/// The circuit breaker's threshold for a small service; every failure reaches it.
const FAILED_TASKS: i64 = 3;
const ROLLBACK_REASON: &str =
    "Service deployment rolled back because the circuit breaker threshold was exceeded.";
/// The members of a `ServiceDeployment` that its `ServiceDeploymentBrief` repeats.
const BRIEF: &str = "serviceDeploymentArn serviceArn clusterArn createdAt startedAt finishedAt \
                     status statusReason";

// One service's deployments: starting, advancing, failing, rendering.
#[path = "deploy_sim/service.rs"]
mod service;

/// (cluster name, service name).
type Key = (String, String);

#[derive(Default)]
struct Settings {
    duration: Duration,
    default_rollback: bool,
    /// "family:revision" → the reason its deployments fail.
    failing: BTreeMap<String, String>,
}

impl Settings {
    fn failure(&self, task_definition: &str) -> Option<String> {
        let mut failing = self.failing.iter();
        let hit = failing.find(|(family_rev, _)| {
            let suffix = format!(":task-definition/{family_rev}");
            task_definition == *family_rev || task_definition.ends_with(&suffix)
        });
        hit.map(|(_, reason)| reason.clone())
    }
}

#[derive(Default)]
struct State {
    upstream: String,
    settings: Settings,
    services: BTreeMap<Key, Service>,
    requests: Vec<(String, Value)>,
    calls: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Service {
    cluster: String,
    name: String,
    region: String,
    service_arn: String,
    cluster_arn: String,
    desired: i64,
    launch_type: Option<String>,
    /// What the last request that sent a rollback setting asked for.
    rollback: Option<bool>,
    /// Of the last request about this service: a rollback the simulator sends
    /// moto reuses them, so it lands in the service's region.
    headers: Vec<(String, String)>,
    /// Newest first; the first is the PRIMARY one.
    deployments: Vec<Deployment>,
    /// `ServiceDeployment`s, newest first, kept after their deployments go.
    records: Vec<Value>,
    /// `ServiceRevision`s.
    revisions: Vec<Value>,
    /// The last deployment that completed: what a failure rolls back to.
    stable: Option<Deployment>,
}

#[derive(Clone)]
struct Deployment {
    id: String,
    primary: bool,
    task_definition: String,
    desired: i64,
    rollout: &'static str,
    reason: String,
    created: f64,
    updated: f64,
    /// Seconds; fixed when the deployment starts, so `set_duration` can shape
    /// the next one (a rollback too) without moving this one.
    duration: f64,
    record: String,
    revision: String,
    /// The failed deployment's record, which this rollback finishes.
    rolls_back: Option<String>,
}

/// Ends a service deployment record.
fn close(r: &mut Value, status: &str, at: f64) {
    (r["status"], r["finishedAt"], r["updatedAt"]) = (json!(status), json!(at), json!(at));
    if status == "STOPPED" {
        r["stoppedAt"] = json!(at);
    }
    let target = &mut r["targetServiceRevision"];
    target["pendingTaskCount"] = json!(0);
    if status != "SUCCESSFUL" {
        return;
    }
    target["runningTaskCount"] = target["requestedTaskCount"].clone();
    // The target took over: the sources run nothing.
    let sources = r["sourceServiceRevisions"].as_array_mut();
    for source in sources.into_iter().flatten() {
        (source["requestedTaskCount"], source["runningTaskCount"]) = (json!(0), json!(0));
    }
}

fn brief(record: &Value) -> Value {
    let member = |m: &str| Some((m.to_owned(), record.get(m)?.clone()));
    let mut brief: Map<String, Value> = BRIEF.split_whitespace().filter_map(member).collect();
    let target = record["targetServiceRevision"]["arn"].clone();
    brief.insert("targetServiceRevisionArn".to_owned(), target);
    Value::Object(brief)
}

impl State {
    /// Advances every service to `now` and sends moto the rollbacks that fell due.
    fn advance(&mut self, now: f64) {
        for s in self.services.values_mut() {
            let Some(td) = s.advance(now, &self.settings) else {
                continue;
            };
            let body = json!({"cluster": s.cluster, "service": s.name, "taskDefinition": td});
            let target = format!("{ECS}.UpdateService");
            let sent = http_proxy::call_json(&self.upstream, &s.headers, &target, &body);
            if !sent.is_ok_and(|out| out.is_some()) {
                eprintln!("deploy sim: moto refused to roll {} back", s.name);
            }
        }
    }

    /// Adopts a service moto has, with one COMPLETED deployment of what it runs.
    fn adopt(&mut self, svc: &Value, req: &Request, now: f64) {
        let Some(mut s) = Service::from_moto(svc, req) else {
            return;
        };
        let td = svc["taskDefinition"].as_str().unwrap_or_default();
        s.deploy(td, None, now, 0.0);
        s.complete(now);
        self.services.insert(key_of_service(svc), s);
    }

    /// The service, asked of moto at first sight.
    fn ensure(&mut self, req: &Request, key: &Key, now: f64) -> io::Result<Option<&mut Service>> {
        if !self.services.contains_key(key) {
            let body = json!({"cluster": key.0, "services": [key.1]});
            let target = format!("{ECS}.DescribeServices");
            let out = http_proxy::call_json(&self.upstream, &req.headers, &target, &body)?;
            let svc = out.as_ref().and_then(|o| o["services"].get(0));
            if let Some(svc) = svc.filter(|s| s["status"] == "ACTIVE") {
                self.adopt(svc, req, now);
            }
        }
        Ok(self.services.get_mut(key))
    }

    /// Forwards a call whose answer carries deployments, and keeps the model in step.
    fn forward(&mut self, req: &Request, op: &str, body: &Value, now: f64) -> io::Result<Response> {
        let key = key_of(body);
        let mut current = None;
        if op == "UpdateService" {
            let service = self.ensure(req, &key, now)?;
            let primary = service.and_then(|s| s.deployments.first());
            current = primary.map(|d| d.task_definition.clone());
        }
        let response = http_proxy::forward(&self.upstream, req, || {})?;
        let Some(mut out) = json_body(&response) else {
            return Ok(response);
        };
        let duration = self.settings.duration.as_secs_f64();
        let td = out["service"]["taskDefinition"].as_str().map(str::to_owned);
        let td = td.unwrap_or_default();
        match op {
            "DeleteService" => {
                self.services.remove(&key);
                return Ok(response);
            }
            "DescribeServices" => {
                for svc in out["services"].as_array_mut().into_iter().flatten() {
                    let key = key_of_service(svc);
                    if svc["status"] != "ACTIVE" {
                        self.services.remove(&key);
                        continue;
                    }
                    if !self.services.contains_key(&key) {
                        self.adopt(svc, req, now);
                    }
                    if let Some(s) = self.services.get_mut(&key) {
                        s.sync(svc);
                    }
                }
            }
            "CreateService" => {
                // Moto replaces a service of the same name: so does the model.
                let svc = &mut out["service"];
                if let Some(mut s) = Service::from_moto(svc, req) {
                    s.rollback = rollback_setting(body);
                    s.deploy(&td, None, now, duration);
                    s.sync(svc);
                    self.services.insert(key_of_service(svc), s);
                }
            }
            _ => {
                let svc = &mut out["service"];
                if !self.services.contains_key(&key) {
                    self.adopt(svc, req, now);
                }
                let Some(s) = self.services.get_mut(&key) else {
                    return Ok(response);
                };
                s.headers = req.headers.clone();
                let launch_type = svc["launchType"].as_str().map(str::to_owned);
                s.launch_type = launch_type.or(s.launch_type.take());
                s.rollback = rollback_setting(body).or(s.rollback);
                if starts_deployment(body, current.as_deref()) {
                    // A new deployment stops the service deployments under way.
                    let records = s.records.iter_mut();
                    for r in records.filter(|r| r.get("finishedAt").is_none()) {
                        close(r, "STOPPED", now);
                        r["statusReason"] = json!("A newer service deployment started.");
                    }
                    s.desired = svc["desiredCount"].as_i64().unwrap_or(s.desired);
                    s.deploy(&td, None, now, duration);
                }
                s.sync(svc);
            }
        }
        let (status, head, _) = response;
        Ok((status, head, out.to_string().into_bytes()))
    }

    fn list_deployments(&mut self, req: &Request, body: &Value, now: f64) -> io::Result<Response> {
        let Some(s) = self.ensure(req, &key_of(body), now)? else {
            return Ok(error("ServiceNotFoundException", "Service not found."));
        };
        let statuses = strings(&body["status"]);
        let after = body["createdAt"]["after"].as_f64().unwrap_or(f64::MIN);
        let before = body["createdAt"]["before"].as_f64().unwrap_or(f64::MAX);
        let max = usize::try_from(body["maxResults"].as_u64().unwrap_or(20));
        let max = max.unwrap_or(usize::MAX);
        let wanted = |r: &&Value| {
            let status = r["status"].as_str().unwrap_or_default();
            let created = r["createdAt"].as_f64().unwrap_or_default();
            let listed = statuses.is_empty() || statuses.contains(&status);
            listed && (after..=before).contains(&created)
        };
        let records = s.records.iter().filter(wanted).take(max);
        let briefs: Vec<Value> = records.map(brief).collect();
        Ok(answer(json!({"serviceDeployments": briefs})))
    }

    /// Up to 20 ARNs of `member`, each found in `of(service)` or MISSING.
    fn lookup(&self, body: &Value, member: &str, of: impl Fn(&Service) -> &[Value]) -> Response {
        let arns = strings(&body[member]);
        if arns.len() > 20 {
            return error("InvalidParameterException", "Too many ARNs.");
        }
        // "serviceDeploymentArns" asks for "serviceDeployments", and holds their
        // "serviceDeploymentArn"s.
        let (answers, arn_member) = (member.replace("Arns", "s"), member.trim_end_matches('s'));
        let (mut found, mut failures) = (Vec::new(), Vec::new());
        for arn in arns {
            let mut all = self.services.values().flat_map(|s| of(s).iter());
            match all.find(|v| v[arn_member] == arn) {
                Some(v) => found.push(v.clone()),
                None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
            }
        }
        answer(json!({ answers: found, "failures": failures }))
    }
}

fn handle(state: &Mutex<State>, req: &Request, client: &mut TcpStream) -> io::Result<bool> {
    let response = route(state, req).unwrap_or_else(|e| http_proxy::bad_gateway("deploy sim", &e));
    req.respond(client, response)
}

fn route(state: &Mutex<State>, req: &Request) -> io::Result<Response> {
    let (key, _) = http_proxy::classify(req);
    let mut st = lock(state);
    *st.calls.entry(key.clone()).or_default() += 1;
    let ecs = req
        .header("x-amz-target")
        .unwrap_or_default()
        .starts_with(ECS);
    let operation = key.strip_prefix("ecs:").filter(|_| ecs).unwrap_or_default();
    let mut body = Value::Null;
    if !operation.is_empty() {
        body = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        st.requests.push((operation.to_owned(), body.clone()));
        st.advance(now());
    }
    match operation {
        "ListServiceDeployments" => st.list_deployments(req, &body, now()),
        "DescribeServiceDeployments" => {
            Ok(st.lookup(&body, "serviceDeploymentArns", |s| &s.records))
        }
        "DescribeServiceRevisions" => Ok(st.lookup(&body, "serviceRevisionArns", |s| &s.revisions)),
        "CreateService" | "UpdateService" | "DeleteService" | "DescribeServices" => {
            st.forward(req, operation, &body, now())
        }
        _ => {
            let upstream = st.upstream.clone();
            drop(st);
            http_proxy::forward(&upstream, req, || {})
        }
    }
}

fn answer(body: Value) -> Response {
    let head = format!("Content-Type: {JSON}\r\n");
    ("200 OK".to_owned(), head, body.to_string().into_bytes())
}

fn error(code: &str, message: &str) -> Response {
    let (head, body) = http_proxy::json_error(JSON, code, message);
    ("400 Bad Request".to_owned(), head, body.into_bytes())
}

/// ECS leaves absent members out rather than sending null.
fn compact(mut v: Value) -> Value {
    if let Some(members) = v.as_object_mut() {
        members.retain(|_, v| !v.is_null());
    }
    v
}

fn strings(v: &Value) -> Vec<&str> {
    let items = v.as_array().into_iter().flatten();
    items.filter_map(Value::as_str).collect()
}

/// ECS takes names or ARNs; the name is an ARN's last path segment.
fn last(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

fn key_of(body: &Value) -> Key {
    let cluster = body["cluster"].as_str().map_or("default", last);
    let service = body["service"].as_str().map_or("", last);
    (cluster.to_owned(), service.to_owned())
}

fn key_of_service(svc: &Value) -> Key {
    let cluster = svc["clusterArn"].as_str().map_or("", last);
    let name = svc["serviceName"].as_str().unwrap_or_default();
    (cluster.to_owned(), name.to_owned())
}

fn region(req: &Request) -> String {
    let scope = req
        .header("authorization")
        .and_then(|a| http_proxy::scope(a, 2));
    scope.unwrap_or("us-east-1").to_owned()
}

/// `deploymentCircuitBreaker.rollback`, else `alarms.rollback`, when sent.
fn rollback_setting(body: &Value) -> Option<bool> {
    let config = &body["deploymentConfiguration"];
    let breaker = config["deploymentCircuitBreaker"]["rollback"].as_bool();
    breaker.or(config["alarms"]["rollback"].as_bool())
}

/// What makes ECS start a deployment on UpdateService.
fn starts_deployment(body: &Value, current: Option<&str>) -> bool {
    let requested = body["taskDefinition"].as_str();
    // A family:revision names the same task definition as its ARN.
    let same = |c: &str, r: &str| c == r || c.ends_with(&format!("/{r}"));
    let changed = requested.is_some_and(|r| current.is_none_or(|c| !same(c, r)));
    let fields = [
        "networkConfiguration",
        "platformVersion",
        "loadBalancers",
        "serviceRegistries",
    ];
    changed || fields.iter().any(|f| !body[f].is_null()) || body["forceNewDeployment"] == true
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// 19 digits, increasing across every simulator in the process.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1_000_000_000_000_000_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub struct DeploySim {
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: Server,
}

impl DeploySim {
    pub fn start(upstream: &str, duration: Duration) -> DeploySim {
        let sim = DeploySim::listen("127.0.0.1:0", upstream, duration);
        sim.expect("deploy sim binds a loopback port")
    }

    /// On `addr` (`host:port`), for `examples/deploy_sim`.
    pub fn listen(addr: &str, upstream: &str, duration: Duration) -> io::Result<DeploySim> {
        let upstream = http_proxy::upstream_addr(upstream);
        let default_rollback = true;
        let settings = Settings {
            duration,
            default_rollback,
            ..Settings::default()
        };
        let state = Arc::new(Mutex::new(State {
            upstream,
            settings,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        let server = Server::start(addr, move |req, client| handle(&shared, req, client))?;
        let url = server.url.clone();
        Ok(DeploySim {
            url,
            state,
            _server: server,
        })
    }

    /// Deployments of `family_rev` ("web:3") that finish from now on fail with `reason`.
    pub fn fail(&self, family_rev: &str, reason: &str) {
        let failing = &mut lock(&self.state).settings.failing;
        failing.insert(family_rev.to_owned(), reason.to_owned());
    }

    pub fn heal(&self, family_rev: &str) {
        lock(&self.state).settings.failing.remove(family_rev);
    }

    /// For deployments that start from now on (rollbacks too).
    pub fn set_duration(&self, duration: Duration) {
        lock(&self.state).settings.duration = duration;
    }

    /// Whether a failure rolls back when the service never sent a rollback setting.
    pub fn set_default_rollback(&self, on: bool) {
        lock(&self.state).settings.default_rollback = on;
    }

    /// Bodies of the ECS `operation` requests received, in order, whatever became of them.
    pub fn requests(&self, operation: &str) -> Vec<Value> {
        let state = lock(&self.state);
        let of = state.requests.iter().filter(|(op, _)| op == operation);
        of.map(|(_, body)| body.clone()).collect()
    }

    /// The service's deployments now, as DescribeServices would show them.
    pub fn deployments(&self, cluster: &str, service: &str) -> Vec<Value> {
        let mut state = lock(&self.state);
        state.advance(now());
        let key = (cluster.to_owned(), service.to_owned());
        state
            .services
            .get(&key)
            .map(Service::rendered)
            .unwrap_or_default()
    }

    /// Every request received, by "service:Operation".
    pub fn calls(&self) -> BTreeMap<String, u64> {
        lock(&self.state).calls.clone()
    }
}
