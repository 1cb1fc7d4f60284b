"""What a platform team (or a person at a terminal) does to AWS outside the operator.

Used by the tests and `make demo` against the local emulator, through boto3 and
the standard AWS environment (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, credentials).

  estate.py network                      -> JSON {vpc, subnets[], securityGroups[]}
  estate.py cluster NAME...              -> creates clusters
  estate.py taskdef FAMILY...            -> registers a Fargate task definition per family
  estate.py task CLUSTER FAMILY [SERVICE] -> starts a task (in SERVICE's group), prints its id
  estate.py queue NAME                   -> an SQS queue: JSON {url, arn}
  estate.py receive URL                  -> JSON list of the SNS envelopes received
  estate.py scale CLUSTER SERVICE COUNT  -> sets desiredCount by hand
  estate.py describe CLUSTER SERVICE     -> JSON of the live service
  estate.py prepare SRC DEST             -> what the platform team has before the operator
      runs SRC's documents (network, clusters, task definition families); DEST is a copy
      of SRC whose subnet and security group ids are the emulator's
"""

import json
import os
import re
import shutil
import sys

import boto3
import yaml


def network():
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24")["Subnet"]["SubnetId"]
        for i in range(4)
    ]
    groups = [
        ec2.create_security_group(GroupName=f"ecs-operator-{i}", Description="tasks", VpcId=vpc)["GroupId"]
        for i in range(4)
    ]
    print(json.dumps({"vpc": vpc, "subnets": subnets, "securityGroups": groups}))


def cluster(*names):
    ecs = boto3.client("ecs")
    for name in names:
        ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE", "FARGATE_SPOT"])
        print(f"cluster {name}")


def taskdef(*families):
    ecs = boto3.client("ecs")
    for family in families:
        td = ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            containerDefinitions=[{"name": family, "image": f"example/{family}:1", "essential": True}],
        )["taskDefinition"]
        print(f"task definition {td['family']}:{td['revision']}")


def task(cluster_name, family, service=None):
    """Starts a task (bridge networking: the emulator cannot start awsvpc tasks), in the
    group ECS gives a service's tasks (`service:NAME`) when a service is named; prints its id."""
    ecs = boto3.client("ecs")
    ecs.register_task_definition(
        family=family,
        networkMode="bridge",
        containerDefinitions=[{"name": family, "image": f"example/{family}:1", "memory": 128, "essential": True}],
    )
    group = {"group": f"service:{service}"} if service else {}
    arn = ecs.run_task(cluster=cluster_name, taskDefinition=family, launchType="FARGATE", **group)["tasks"][0]["taskArn"]
    print(arn.rsplit("/", 1)[-1])


def queue(name):
    """Creates an SQS queue (a subscriber's inbox); prints {url, arn}."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    print(json.dumps({"url": url, "arn": arn}))


def receive(url):
    """Prints what the subscriber received (the SNS envelopes), and removes it from the queue."""
    sqs = boto3.client("sqs")
    got = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        for m in batch:
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    print(json.dumps(got))


def scale(cluster_name, service, count):
    boto3.client("ecs").update_service(cluster=cluster_name, service=service, desiredCount=int(count))
    print(f"{cluster_name}/{service}: desiredCount set to {count} by hand")


def describe(cluster_name, service):
    out = boto3.client("ecs").describe_services(cluster=cluster_name, services=[service], include=["TAGS"])
    print(json.dumps(out["services"], default=str))


def prepare(src, dest):
    docs = []
    for root, _, files in sorted(os.walk(src)):
        for name in sorted(files):
            if name.endswith((".yaml", ".yml", ".json")):
                with open(os.path.join(root, name)) as f:
                    docs += [d for d in yaml.safe_load_all(f) if d]
    services = [d for d in docs if d.get("kind") == "Service"]
    # Topics that channels name by ARN exist before the operator (it never creates them).
    sns = boto3.client("sns")
    for d in docs:
        if d.get("kind") == "AlertChannel" and d["spec"].get("topicArn"):
            sns.create_topic(Name=d["spec"]["topicArn"].rsplit(":", 1)[-1])
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    ids = {}
    for doc in services:
        network = doc["spec"].get("network") or {}
        for sid in network.get("subnets", []):
            if sid not in ids:
                cidr = f"10.60.{len(ids)}.0/24"
                ids[sid] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        for gid in network.get("securityGroups", []):
            if gid not in ids:
                ids[gid] = ec2.create_security_group(GroupName=gid, Description="tasks", VpcId=vpc)["GroupId"]
    cluster(*sorted({d["spec"]["cluster"].split("/")[-1] for d in services}))
    # Services with taskDefinitionRef run what the operator registers.
    families = {d["spec"]["taskDefinition"].split("/")[-1].split(":")[0] for d in services if "taskDefinition" in d["spec"]}
    taskdef(*sorted(families))
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)
    pattern = re.compile("|".join(re.escape(k) for k in sorted(ids, key=len, reverse=True))) if ids else None
    for root, _, files in os.walk(dest):
        for name in files:
            path = os.path.join(root, name)
            with open(path) as f:
                text = f.read()
            if pattern:
                text = pattern.sub(lambda m: ids[m.group(0)], text)
            with open(path, "w") as f:
                f.write(text)
    print(f"prepared {len(services)} services in {dest}: {len(ids)} network ids mapped")


if __name__ == "__main__":
    commands = {
        "network": network,
        "cluster": cluster,
        "taskdef": taskdef,
        "scale": scale,
        "describe": describe,
        "task": task,
        "queue": queue,
        "receive": receive,
        "prepare": prepare,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
