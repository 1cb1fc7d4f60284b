#!/usr/bin/env bash
# `make demo`: an operator's day against a local AWS emulator (moto), step by step.
# Everything it starts is stopped on exit; nothing outside a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
[ -x "$PY" ] || { echo "error: $PY missing: run 'make demo' (it creates .venv with moto)"; exit 1; }
# Where cargo put the binaries: CARGO_TARGET_DIR or a config may move them.
target=$("${CARGO:-cargo}" metadata --format-version 1 --no-deps \
  | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$target/debug/ecs-operator
SIM=$target/debug/examples/deploy-sim
[ -x "$BIN" ] || { echo "error: $BIN missing: run 'make demo' (it builds it)"; exit 1; }
[ -x "$SIM" ] || { echo "error: $SIM missing: run 'make demo' (it builds it)"; exit 1; }

work=$(mktemp -d)
moto_pid="" ctl_pid="" sim_pid=""
cleanup() {
  [ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

bold() { if [ -t 1 ]; then printf '\n\033[1m%s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # url, what
  for _ in $(seq 1 150); do
    "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "error: $2 did not answer at $1"; exit 1
}

port=$(free_port)
bold "0. A local AWS (moto) on 127.0.0.1:$port"
"$PY" -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
wait_http "http://127.0.0.1:$port/moto-api/" "moto"
# The standard AWS environment is the only configuration the operator reads.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true

# moto never runs a task: the deployment simulator in front of it runs each ECS
# deployment for 2 s to COMPLETED, or (revision 3 of rfp-copilot's web) to
# FAILED and ECS's rollback, with the service-deployments API moto lacks.
# The operator's calls go through it; the platform team's go to moto.
mkfifo "$work/sim.in"
exec 3<>"$work/sim.in"  # its stdin: open until this script ends
"$SIM" --upstream "$AWS_ENDPOINT_URL" --duration-ms 2000 \
  --fail "transparent-trust-web:3=essential container web exited: Error: Cannot find module 'next'" \
  <&3 >"$work/sim.url" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 1 100); do [ -s "$work/sim.url" ] && break; sleep 0.1; done
sim_url=$(head -1 "$work/sim.url")
[ -n "$sim_url" ] || { echo "error: the deployment simulator did not start"; cat "$work/sim.log"; exit 1; }
op() { AWS_ENDPOINT_URL="$sim_url" "$BIN" "$@"; }

bold "1. The platform team creates the network and the clusters (the operator registers the task definitions)"
"$PY" tests/support/estate.py prepare examples "$work/desired"
desired="$work/desired"

# The service "someone" will scale by hand: rfp-copilot's web service (no
# Autoscaler owns its desiredCount, so a hand-made change is drift).
read -r cluster service < <("$PY" - "$desired" <<'PY'
import os, sys, yaml
for root, _, files in sorted(os.walk(sys.argv[1])):
    for name in sorted(files):
        if name.endswith(".yaml"):
            for d in yaml.safe_load_all(open(os.path.join(root, name))):
                if d and d.get("kind") == "Service" and d["metadata"]["name"] == "rfp-copilot-web":
                    s = d["spec"]
                    print(s["cluster"], s.get("serviceName", d["metadata"]["name"]))
                    sys.exit(0)
PY
)

bold "2. validate: the five seed systems' desired state, no AWS calls"
op validate -f "$desired"

bold "3. apply: register every task definition, create every service (passes until converged)"
op apply -f "$desired" --instance demo

bold "4. Someone scales $cluster/$service to 9 tasks by hand"
"$PY" tests/support/estate.py scale "$cluster" "$service" 9

bold "5. plan shows the drift (exit code 2 = changes)"
set +e
op plan -f "$desired" --instance demo --detailed-exitcode
echo "(plan exited $?)"
set -e

# The service's desiredCount once it is no longer $1 (20 s at most).
count_moves_off() {
  local count
  for _ in $(seq 1 200); do
    count=$("$PY" tests/support/estate.py describe "$cluster" "$service" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["desiredCount"])')
    [ "$count" != "$1" ] && break
    sleep 0.1
  done
  echo "$count"
}

ctl_port=$(free_port)
# The queue EventBridge would feed (deploy/cloudformation.yaml, WatchEvents=true).
events_queue=$("$PY" -c 'import boto3; print(boto3.client("sqs").create_queue(QueueName="ecs-operator-demo-events")["QueueUrl"])')
bold "6. The controller (run --interval 300s --events-queue) corrects it at its first loop"
AWS_ENDPOINT_URL="$sim_url" "$BIN" run -f "$desired" --instance demo --interval 300s --events-queue "$events_queue" --listen "127.0.0.1:$ctl_port" >"$work/run.log" 2>&1 &
ctl_pid=$!
wait_http "http://127.0.0.1:$ctl_port/healthz" "the controller"
count=$(count_moves_off 9)
echo "$cluster/$service desiredCount is now $count"
echo "The controller's log says:"
grep -E '"message":"(drift|write sent)"' "$work/run.log" | head -4 | cut -c1-240 || true

bold "6b. alice scales it to 7 in the console; CloudTrail's event reaches the queue; a targeted pass corrects it"
"$PY" tests/support/estate.py scale "$cluster" "$service" 7
"$PY" - "$events_queue" "$cluster" "$service" <<'PY'
import datetime, json, sys, uuid, boto3
url, cluster, service = sys.argv[1:]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
alice = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com"
event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
         "source": "aws.ecs", "account": "123456789012", "time": now, "region": "us-east-1", "resources": [],
         "detail": {"eventVersion": "1.08", "userIdentity": {"type": "AssumedRole", "arn": alice},
                    "eventTime": now, "eventSource": "ecs.amazonaws.com", "eventName": "UpdateService",
                    "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "AWS Internal",
                    "requestParameters": {"cluster": cluster, "service": service, "desiredCount": 7},
                    "eventID": str(uuid.uuid4()), "readOnly": False, "eventType": "AwsApiCall"}}
boto3.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(event))
PY
sent=$(date +%s%N)
count=$(count_moves_off 7)
echo "$cluster/$service desiredCount is $count again, $(( ($(date +%s%N) - sent) / 1000000 )) ms after the event (the next full loop is 300 s away)"
grep -E '"message":"drift".*changed_by' "$work/run.log" | tail -1 | grep -oE '"changed_by":"[^"]*"' || true
echo "GET /status for it:"
"$PY" - "$ctl_port" <<'PY'
import json, sys, urllib.request
status = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status"))
r = status["resources"]["Service/rfp-copilot-web"]
q = status["eventsQueue"]
print(f"  Service/rfp-copilot-web: action={r['action']} changedBy={r.get('changedBy', {}).get('arn')}")
print(f"  eventsQueue: received={q['received']} targetedPasses={q['targetedPasses']} fullPasses={q['fullPasses']}")
PY
kill -TERM "$ctl_pid"; wait "$ctl_pid" || true; ctl_pid=""
echo "(controller stopped on SIGTERM)"

bold "7. A 5xx burst on rfp-copilot-web: 15% of requests fail for 10 minutes"
"$PY" - <<'PY'
import datetime, boto3
dims = [{"Name": "LoadBalancer", "Value": "app/transparent-trust-internal/76e7d9abfc6cfbf3"},
        {"Name": "TargetGroup", "Value": "targetgroup/transparent-trust-web/8ea3aba3b7820337"}]
now = datetime.datetime.now(datetime.timezone.utc)
data = []
for m in range(10):
    t = now - datetime.timedelta(minutes=m)
    data.append({"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": t, "Value": 200})
    data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Timestamp": t, "Value": 30})
boto3.client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
PY
echo "What on-call sees (ecs-operator slo; run pages the SLO's channel when a rule holds):"
op slo -f "$desired/rfp-copilot"

bold "8. Someone deletes the gengar folder from the repository: its service is orphaned"
rm -rf "$desired/gengar"
set +e
op plan -f "$desired" --instance demo | grep -E '^(!|Plan|No changes)|# '
set -e
echo "(nothing is deleted without --prune; apply --prune would scale it to 0 and delete it)"

td="$desired/rfp-copilot/task-definitions.yaml"
bold "9. CI pushes image 5b2d8f0 and writes its tag into the TaskDefinition document: plan shows the field, apply --wait follows the roll-out of transparent-trust-web:2"
sed -i 's/transparent-trust:e7a91c3$/transparent-trust:5b2d8f0/' "$td"
op plan -f "$desired" --instance demo | grep -E '^[~+] TaskDefinition/|containerDefinitions\[|^[~] Service/rfp-copilot-web|  taskDefinition:'
op apply -f "$desired" --instance demo --wait --wait-timeout 2m --wait-poll 1s | grep -E '^(waiting|  Service/[^ ]+ \(|wait:|apply:)'

bold "10. A broken image: transparent-trust-web:3 cannot start, ECS rolls it back, apply --wait exits 3"
sed -i 's/transparent-trust:5b2d8f0$/transparent-trust:0c4e9a2/' "$td"
set +e
op apply -f "$desired" --instance demo --wait --wait-timeout 2m --wait-poll 1s | grep -E '^(waiting|  Service/[^ ]+ \(|wait:|apply:)'
echo "(apply --wait exited ${PIPESTATUS[0]}: 3 = a deployment failed or was rolled back)"
set -e

bold "11. The operator holds the rolled-back revision: it is not sent again, and plan says why"
op plan -f "$desired" --instance demo | grep -A2 '^  Service/rfp-copilot-web '
echo "(a new revision in the document, or a new ecs-operator/retry-rollout annotation value, ends the hold)"

bold "Done: moto, the simulator and the controller are stopped."
