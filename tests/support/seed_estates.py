"""The ECS estates of the five seed systems, built the way each team's own scripts build them.

Not with the operator: with boto3, as `infra/setup.sh` (gengar), SST (espejo), Terraform
plus the readiness report's CLI steps (rfp-copilot, amapiano) or a console and script
(cti-scraper) would leave the account. `ecs-operator import` turns such an estate into
documents (issue 17); the values are those of `examples/<team>/*.yaml`, which quote the
seeds in `seeds/`.

  seed_estates.py TEAM PREFIX

TEAM is one of espejo, cti-scraper, amapiano, gengar, rfp-copilot. PREFIX (lower-case
letters, digits, `-`; may be empty) is prepended as it is to every name the script gives
(VPC, subnet and security group names, clusters, services, task definition families, load
balancers, target groups, topics, alarms, Cloud Map namespaces, secrets, buckets), so that
several runs share one moto server; the names inside a resource that are scoped by a
prefixed one (a container, a scaling policy, a Cloud Map service, a scheduled action) are
the team's. Same TEAM and PREFIX, same names; a second run with the same PREFIX finds what
the first made and creates nothing twice (as gengar's "idempotent, safe to re-run"
setup.sh), except that a service is updated again.

The AWS environment is the standard one (AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, keys), as
for estate.py. Progress goes to stderr; stdout is one JSON object:

  {"clusters": [...], "services": [[cluster, service], ...], "families": [...],
   "topics": {name: arn}, "namespaces": [...], "alarms": [...]}

(`alarms`: the names of the alarms the team made, not Application Auto Scaling's own
TargetTracking-* ones.)

moto workarounds (see ../../../shared/MOTO.md), each also commented where it is made:
- CreateService drops deploymentConfiguration, enableExecuteCommand,
  healthCheckGracePeriodSeconds and capacityProviderStrategy (MOTO.md 3): every service is
  created and then given them again with UpdateService, which moto keeps.
- A service created with a capacityProviderStrategy shows launchType EC2 (moto's default)
  next to the strategy; nothing through the API removes it (UpdateService has no
  launchType). `import` already writes no launchType when there is a strategy.
- CreateService on an existing name silently replaces the service, losing its load
  balancers, registries and tags (MOTO.md 3): a re-run describes first and only updates.
- PutScalingPolicy on an existing name gives a new policy ARN and leaks the old
  TargetTracking alarms (MOTO.md 4): a policy that exists is left alone.
- Cloud Map accepts duplicate service names (MOTO.md 5) and refuses any second private
  DNS namespace in the same VPC (ConflictingDomainExists): both are looked up by name
  first, filtering client-side because ListNamespaces/ListServices ignore Filters.
- Cloud Map operations complete at once (SUCCESS), so the wait loop returns on the first
  GetOperation; it is kept because AWS needs it.
"""

import json
import re
import sys
import time

import boto3
from botocore.exceptions import ClientError

TEAMS = ["espejo", "cti-scraper", "amapiano", "gengar", "rfp-copilot"]


def log(msg):
    print(msg, file=sys.stderr)


def env(d):
    return [{"name": k, "value": v} for k, v in d.items()]


def secrets(d):
    return [{"name": k, "valueFrom": v} for k, v in d.items()]


def ecs_tags(d):
    return [{"key": k, "value": v} for k, v in d.items()]


def aws_tags(d):
    return [{"Key": k, "Value": v} for k, v in d.items()]


def health_check(url, start_period):
    """The container health checks of the examples (node or python, no curl in the images)."""
    if url.startswith("node:"):
        cmd = f"node -e \"fetch('{url[5:]}').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))\""
    else:
        cmd = ("python -c \"import sys, urllib.request; sys.exit(0 if urllib.request.urlopen("
               f"'{url}', timeout=4).status == 200 else 1)\"")
    return {"command": ["CMD-SHELL", cmd], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": start_period}


class Estate:
    def __init__(self, team, prefix):
        self.team = team
        self.prefix = prefix
        session = boto3.session.Session()
        self.region = session.region_name or "us-east-1"
        self.ec2 = boto3.client("ec2")
        self.elb = boto3.client("elbv2")
        self.ecs = boto3.client("ecs")
        self.aas = boto3.client("application-autoscaling")
        self.cw = boto3.client("cloudwatch")
        self.sns = boto3.client("sns")
        self.sd = boto3.client("servicediscovery")
        self.account = boto3.client("sts").get_caller_identity()["Account"]
        self.made = {"clusters": set(), "services": set(), "families": set(), "topics": {},
                     "namespaces": set(), "alarms": set()}

    def n(self, name):
        return self.prefix + name

    def arn(self, service, resource):
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def role(self, name):
        return f"arn:aws:iam::{self.account}:role/{name}"

    def sm(self, name_with_suffix):
        """A Secrets Manager reference the team's IaC made (not created here: ECS does not read it on moto)."""
        return self.arn("secretsmanager", f"secret:{name_with_suffix}")

    # ---- network --------------------------------------------------------------------

    def vpc(self, name, cidr):
        """A VPC with an internet gateway; found by its Name tag on a re-run."""
        name = self.n(name)
        found = self.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
        if found:
            return found[0]["VpcId"]
        vpc = self.ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": aws_tags({"Name": name})}])["Vpc"]["VpcId"]
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        log(f"vpc {name} {vpc}")
        return vpc

    def subnet(self, vpc, name, cidr, az, public):
        name = self.n(name)
        found = self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                   {"Name": "tag:Name", "Values": [name]}])["Subnets"]
        if found:
            return found[0]["SubnetId"]
        sid = self.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{self.region}{az}",
                                     TagSpecifications=[{"ResourceType": "subnet", "Tags": aws_tags({"Name": name})}]
                                     )["Subnet"]["SubnetId"]
        if public:
            self.ec2.modify_subnet_attribute(SubnetId=sid, MapPublicIpOnLaunch={"Value": True})
            igw = self.ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"][0]["InternetGatewayId"]
            rt = self.ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            self.ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
            self.ec2.associate_route_table(RouteTableId=rt, SubnetId=sid)
        return sid

    def group(self, vpc, name, description, ingress_from=None, port=None):
        """A security group; with ingress_from, admitting only that group on port."""
        name = self.n(name)
        found = self.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                           {"Name": "group-name", "Values": [name]}])["SecurityGroups"]
        if found:
            return found[0]["GroupId"]
        gid = self.ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc)["GroupId"]
        if ingress_from:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                "UserIdGroupPairs": [{"GroupId": ingress_from}]}])
        elif port:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        return gid

    # ---- load balancers -------------------------------------------------------------

    def elb_name(self, name):
        name = self.n(name)
        if len(name) > 32:
            sys.exit(f"{name!r}: Elastic Load Balancing names are at most 32 characters; use a shorter PREFIX")
        return name

    def alb(self, name, subnets, group, internal):
        name = self.elb_name(name)
        try:
            return self.elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]["LoadBalancerArn"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "LoadBalancerNotFound":
                raise
        return self.elb.create_load_balancer(
            Name=name, Subnets=subnets, SecurityGroups=[group], Type="application",
            Scheme="internal" if internal else "internet-facing", IpAddressType="ipv4",
        )["LoadBalancers"][0]["LoadBalancerArn"]

    def target_group(self, name, vpc, port, health_path):
        name = self.elb_name(name)
        try:
            return self.elb.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "TargetGroupNotFound":
                raise
        return self.elb.create_target_group(
            Name=name, Protocol="HTTP", Port=port, VpcId=vpc, TargetType="ip",
            HealthCheckPath=health_path, HealthCheckIntervalSeconds=30, HealthyThresholdCount=2,
            UnhealthyThresholdCount=3, Matcher={"HttpCode": "200"},
        )["TargetGroups"][0]["TargetGroupArn"]

    def listener(self, lb, default_tg, rules=()):
        """HTTP :80 forwarding to default_tg, plus (priority, path pattern, target group) rules."""
        if self.elb.describe_listeners(LoadBalancerArn=lb)["Listeners"]:
            return
        arn = self.elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "TargetGroupArn": default_tg}])["Listeners"][0]["ListenerArn"]
        for priority, pattern, tg in rules:
            self.elb.create_rule(ListenerArn=arn, Priority=priority,
                                 Conditions=[{"Field": "path-pattern", "Values": [pattern]}],
                                 Actions=[{"Type": "forward", "TargetGroupArn": tg}])

    @staticmethod
    def lb_dim(lb_arn):
        """CloudWatch's LoadBalancer dimension: app/NAME/ID."""
        return lb_arn.split(":loadbalancer/", 1)[1]

    @staticmethod
    def tg_dim(tg_arn):
        """CloudWatch's TargetGroup dimension: targetgroup/NAME/ID."""
        return tg_arn.rsplit(":", 1)[1]

    # ---- ECS ------------------------------------------------------------------------

    def cluster(self, name, tags, spot=False):
        name = self.n(name)
        kwargs = {"capacityProviders": ["FARGATE", "FARGATE_SPOT"]} if spot else {}
        if spot:
            kwargs["defaultCapacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        self.ecs.create_cluster(clusterName=name, tags=ecs_tags(tags), **kwargs)
        self.made["clusters"].add(name)
        log(f"cluster {name}")
        return name

    def task_definition(self, family, **kwargs):
        """Registers FAMILY as the team writes it; a re-run reuses the latest ACTIVE revision."""
        family = self.n(family)
        self.made["families"].add(family)
        try:
            td = self.ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
            if td["status"] == "ACTIVE":
                return td["taskDefinitionArn"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "ClientException":
                raise
        td = self.ecs.register_task_definition(family=family, **kwargs)["taskDefinition"]
        log(f"task definition {td['family']}:{td['revision']}")
        return td["taskDefinitionArn"]

    def service(self, cluster, name, task_definition, desired, *, subnets, groups, public_ip,
                tags, deployment, launch_type="FARGATE", strategy=None, platform_version=None,
                load_balancers=(), registries=(), grace=None, execute_command=False,
                propagate="SERVICE"):
        name = self.n(name)
        network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": groups,
                                           "assignPublicIp": "ENABLED" if public_ip else "DISABLED"}}
        dropped = {"deploymentConfiguration": deployment, "enableExecuteCommand": execute_command}
        if grace is not None:
            dropped["healthCheckGracePeriodSeconds"] = grace
        if strategy:
            dropped["capacityProviderStrategy"] = strategy
        live = self.ecs.describe_services(cluster=cluster, services=[name])["services"]
        if live and live[0]["status"] == "ACTIVE":
            # moto: CreateService on an existing name replaces the service silently (AWS
            # refuses it); a re-run updates instead, as an idempotent script does.
            self.ecs.update_service(cluster=cluster, service=name, taskDefinition=task_definition,
                                    networkConfiguration=network, **dropped)
        else:
            create = dict(cluster=cluster, serviceName=name, taskDefinition=task_definition,
                          desiredCount=desired, networkConfiguration=network,
                          schedulingStrategy="REPLICA", deploymentController={"type": "ECS"},
                          propagateTags=propagate, tags=ecs_tags(tags), **dropped)
            if not strategy:  # with a strategy (in `dropped`), no launchType, as AWS requires
                create["launchType"] = launch_type
            if platform_version:
                create["platformVersion"] = platform_version
            if load_balancers:
                create["loadBalancers"] = list(load_balancers)
            if registries:
                create["serviceRegistries"] = list(registries)
            self.ecs.create_service(**create)
            # moto: CreateService accepts but drops deploymentConfiguration,
            # enableExecuteCommand, healthCheckGracePeriodSeconds and
            # capacityProviderStrategy (MOTO.md 3); UpdateService keeps them, so they are
            # sent again there (no desiredCount: moto would set runningCount from it).
            self.ecs.update_service(cluster=cluster, service=name, **dropped)
        self.made["services"].add((cluster, name))
        log(f"service {cluster}/{name}")
        return name

    # ---- Application Auto Scaling ---------------------------------------------------

    def scalable_target(self, cluster, service, lo, hi):
        rid = f"service/{cluster}/{service}"
        self.aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid,
                                          ScalableDimension="ecs:service:DesiredCount",
                                          MinCapacity=lo, MaxCapacity=hi)
        return rid

    def target_tracking(self, rid, policy, metric, target, out_cooldown=None, in_cooldown=None):
        # moto: putting a policy name again gives a new ARN and leaks the old
        # TargetTracking-* alarms (MOTO.md 4), so an existing policy is left alone.
        # The PolicyNames filter is ignored by moto: match the name here.
        existing = self.aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid)["ScalingPolicies"]
        if any(p["PolicyName"] == policy for p in existing):
            return
        config = {"TargetValue": float(target), "PredefinedMetricSpecification": {"PredefinedMetricType": metric}}
        if out_cooldown is not None:
            config["ScaleOutCooldown"] = out_cooldown
        if in_cooldown is not None:
            config["ScaleInCooldown"] = in_cooldown
        self.aas.put_scaling_policy(PolicyName=policy, ServiceNamespace="ecs", ResourceId=rid,
                                    ScalableDimension="ecs:service:DesiredCount",
                                    PolicyType="TargetTrackingScaling",
                                    TargetTrackingScalingPolicyConfiguration=config)
        log(f"scaling policy {rid} {policy}")

    def scheduled(self, rid, action, schedule, timezone, lo, hi):
        self.aas.put_scheduled_action(ServiceNamespace="ecs", ResourceId=rid,
                                      ScalableDimension="ecs:service:DesiredCount",
                                      ScheduledActionName=action, Schedule=schedule, Timezone=timezone,
                                      ScalableTargetAction={"MinCapacity": lo, "MaxCapacity": hi})

    # ---- SNS and CloudWatch ---------------------------------------------------------

    def topic(self, name, email=None, tags=None):
        name = self.n(name)
        arn = self.sns.create_topic(Name=name, Tags=aws_tags(tags or {}))["TopicArn"]
        if email:
            subs = self.sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
            if not any(s["Protocol"] == "email" and s["Endpoint"] == email for s in subs):
                self.sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
        self.made["topics"][name] = arn
        log(f"topic {name}")
        return arn

    def alarm(self, name, description, *, actions, metric=None, metrics=None, comparison, threshold,
              periods, datapoints=None, missing=None, ok_actions=False):
        """metric: (namespace, name, dimensions, statistic or pNN, period[, unit]);
        metrics: metric math, [(id, expression) | (id, (namespace, name, dims, stat, period))],
        the last one returned."""
        name = self.n(name)
        kwargs = dict(AlarmName=name, AlarmDescription=description, ActionsEnabled=True,
                      AlarmActions=actions, ComparisonOperator=comparison, Threshold=float(threshold),
                      EvaluationPeriods=periods)
        if ok_actions:
            kwargs["OKActions"] = actions
        if datapoints:
            kwargs["DatapointsToAlarm"] = datapoints
        if missing:
            kwargs["TreatMissingData"] = missing
        if metric:
            ns, mname, dims, stat, period, *unit = metric
            kwargs.update(Namespace=ns, MetricName=mname, Period=period,
                          Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()])
            if re.fullmatch(r"p\d+(\.\d+)?", stat):
                kwargs["ExtendedStatistic"] = stat
            else:
                kwargs["Statistic"] = stat
            if unit:
                kwargs["Unit"] = unit[0]
        else:
            queries = []
            for i, (qid, q) in enumerate(metrics):
                last = i == len(metrics) - 1
                if isinstance(q, str):
                    queries.append({"Id": qid, "Expression": q, "Label": qid, "ReturnData": last})
                else:
                    ns, mname, dims, stat, period = q
                    queries.append({"Id": qid, "ReturnData": last, "MetricStat": {
                        "Metric": {"Namespace": ns, "MetricName": mname,
                                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
                        "Period": period, "Stat": stat}})
            kwargs["Metrics"] = queries
        self.cw.put_metric_alarm(**kwargs)
        self.made["alarms"].add(name)
        log(f"alarm {name}")

    def ecs_dims(self, cluster, service):
        return {"ClusterName": cluster, "ServiceName": service}

    # ---- Cloud Map ------------------------------------------------------------------

    def wait_operation(self, op):
        # moto: every operation is SUCCESS at once (MOTO.md 5); AWS needs the wait.
        for _ in range(60):
            o = self.sd.get_operation(OperationId=op)["Operation"]
            if o["Status"] == "SUCCESS":
                return o["Targets"]
            if o["Status"] == "FAIL":
                sys.exit(f"Cloud Map operation {op} failed: {o.get('ErrorMessage')}")
            time.sleep(1)
        sys.exit(f"Cloud Map operation {op} did not finish")

    def private_namespace(self, name, vpc, tags):
        name = self.n(name)
        # moto: ListNamespaces ignores Filters, and a second private namespace in the same
        # VPC is refused (ConflictingDomainExists): look it up by name here first.
        for ns in self.sd.list_namespaces()["Namespaces"]:
            if ns["Name"] == name and ns["Type"] == "DNS_PRIVATE":
                self.made["namespaces"].add(name)
                return ns["Id"]
        op = self.sd.create_private_dns_namespace(Name=name, Vpc=vpc, CreatorRequestId=f"{name}-ns",
                                                  Description=f"{name} service discovery",
                                                  Tags=aws_tags(tags))["OperationId"]
        ns_id = self.wait_operation(op)["NAMESPACE"]
        self.made["namespaces"].add(name)
        log(f"namespace {name} {ns_id}")
        return ns_id

    def discovery_service(self, namespace_id, name, ttl, records, tags):
        # moto: ListServices ignores Filters and CreateService accepts a duplicate name in
        # a namespace (AWS: ServiceAlreadyExists): match namespace and name here.
        for s in self.sd.list_services()["Services"]:
            if s["Name"] == name and self.sd.get_service(Id=s["Id"])["Service"].get("NamespaceId") == namespace_id:
                return s["Arn"]
        return self.sd.create_service(
            Name=name, NamespaceId=namespace_id, CreatorRequestId=f"{namespace_id}-{name}",
            DnsConfig={"RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": t, "TTL": ttl} for t in records]},
            HealthCheckCustomConfig={"FailureThreshold": 1}, Tags=aws_tags(tags),
        )["Service"]["Arn"]

    # ---- output ---------------------------------------------------------------------

    def report(self):
        m = self.made
        return {
            "clusters": sorted(m["clusters"]),
            "services": [list(p) for p in sorted(m["services"])],
            "families": sorted(m["families"]),
            "topics": dict(sorted(m["topics"].items())),
            "namespaces": sorted(m["namespaces"]),
            "alarms": sorted(m["alarms"]),
        }


# ---- the teams ------------------------------------------------------------------------

CIRCUIT_BREAKER = {"enable": True, "rollback": True}


def gengar(e):
    """infra/setup.sh: AWS CLI only, "idempotent, safe to re-run". Public subnets with
    assignPublicIp (no NAT), one Fargate Spot ARM64 task registered in Cloud Map, which an
    API Gateway HTTP API reaches over a VPC link; errors stay in Rollbar, CloudWatch has one
    "no task running" alarm to email."""
    tags = {"app": "gengar"}
    vpc = e.vpc("gengar-vpc", "10.20.0.0/16")
    subnets = [e.subnet(vpc, f"gengar-public-{az}", f"10.20.{i}.0/24", az, public=True)
               for i, az in enumerate("ab")]
    vpclink_sg = e.group(vpc, "gengar-vpclink", "API Gateway VPC link")
    api_sg = e.group(vpc, "gengar-api", "gengar API tasks: only the VPC link", ingress_from=vpclink_sg, port=3000)
    cluster = e.cluster("gengar-prod", tags, spot=True)

    def ssm(name):  # the SecureString parameters infra/put-secrets.sh writes
        return e.arn("ssm", f"parameter/gengar/prod/{name}")

    td = e.task_definition(
        "gengar-api",
        requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        executionRoleArn=e.role("gengar-ecs-execution"), taskRoleArn=e.role("gengar-api-task"),
        containerDefinitions=[{
            "name": "api",
            "image": f"{e.account}.dkr.ecr.{e.region}.amazonaws.com/gengar-api:3f9c2e1",
            "essential": True,
            "command": ["node", "--expose-gc", "dist/src/main.js"],
            "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
            "environment": env({"NODE_ENV": "production", "PORT": "3000",
                                "FRONTEND_URL": "https://app.gengar.example.com", "AWS_REGION": e.region}),
            "secrets": secrets({k: ssm(k) for k in ["DATABASE_URL", "OPENAI_API_KEY", "STRIPE_SECRET_KEY",
                                                     "STRIPE_WEBHOOK_SECRET", "ROLLBAR_ACCESS_TOKEN"]}),
            "healthCheck": health_check("node:http://localhost:3000/health", 30),
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/gengar-api", "awslogs-region": e.region, "awslogs-stream-prefix": "api"}},
        }],
        tags=ecs_tags(tags),
    )

    # Cloud Map: SRV records, because API Gateway's VPC-link integration needs the port
    # (ECS registers AWS_INSTANCE_PORT only for SRV), and ECS reports task health.
    ns = e.private_namespace("gengar.internal", vpc, tags)
    registry = e.discovery_service(ns, "api", 10, ["SRV"], tags)

    service = e.service(
        cluster, "gengar-api", td, 1,
        strategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}], platform_version="1.4.0",
        subnets=subnets, groups=[api_sg], public_ip=True,
        registries=[{"registryArn": registry, "containerName": "api", "containerPort": 3000}],
        deployment={"minimumHealthyPercent": 100, "maximumPercent": 200, "deploymentCircuitBreaker": CIRCUIT_BREAKER},
        tags=tags,
    )

    # API Gateway HTTP API -> VPC link -> Cloud Map (setup.sh prints its endpoint).
    apigw = boto3.client("apigatewayv2")
    api_name = e.n("gengar-api")
    if not any(a["Name"] == api_name for a in apigw.get_apis()["Items"]):
        link = apigw.create_vpc_link(Name=e.n("gengar-vpclink"), SubnetIds=subnets,
                                     SecurityGroupIds=[vpclink_sg], Tags=tags)["VpcLinkId"]
        api = apigw.create_api(Name=api_name, ProtocolType="HTTP", Tags=tags)["ApiId"]
        integration = apigw.create_integration(
            ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY", IntegrationUri=registry,
            ConnectionType="VPC_LINK", ConnectionId=link, PayloadFormatVersion="1.0")["IntegrationId"]
        apigw.create_route(ApiId=api, RouteKey="$default", Target=f"integrations/{integration}")
        apigw.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
        log(f"http api {api_name} via vpc link")

    topic = e.topic("gengar-alerts", email="ops@gengar.example.com", tags=tags)
    e.alarm("gengar-api-no-running-task",
            "No gengar-api task has reported metrics for 5 minutes (Fargate Spot reclaim not replaced?).",
            metric=("AWS/ECS", "CPUUtilization", e.ecs_dims(cluster, service), "SampleCount", 60),
            comparison="LessThanThreshold", threshold=1, periods=5, missing="breaching", actions=[topic])


def espejo_task(e, stage, cpu, memory, image, secret, log_level, public_url, stop_timeout=None, exec_init=False):
    container = {
        "name": "api",
        "image": f"{e.account}.dkr.ecr.{e.region}.amazonaws.com/espejo-api:{image}",
        "essential": True,
        "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
        "environment": env({"NODE_ENV": "production", "STAGE": stage, "PORT": "3000", "AWS_REGION": e.region,
                            "LOG_FORMAT": "json", "LOG_LEVEL": log_level, "PUBLIC_URL": public_url}),
        "secrets": secrets({k: e.sm(f"espejo/{stage}/api-{secret}:{k}::") for k in
                            ["DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN",
                             "TELEGRAM_WEBHOOK_SECRET"]}),
        "healthCheck": health_check("node:http://localhost:3000/health", 60),
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/espejo/{stage}/api", "awslogs-region": e.region, "awslogs-stream-prefix": "api"}},
    }
    if stop_timeout:
        container["stopTimeout"] = stop_timeout
    if exec_init:
        container["linuxParameters"] = {"initProcessEnabled": True}
    return e.task_definition(
        f"espejo-api-{stage}", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu=cpu, memory=memory,
        executionRoleArn=e.role(f"espejo-api-{stage}-execution"), taskRoleArn=e.role(f"espejo-api-{stage}-task"),
        containerDefinitions=[container], tags=ecs_tags({"app": "espejo", "stage": stage}))


def espejo(e):
    """SST, one stage at a time (`sst deploy --stage dev|staging|prod`): per stage a
    cluster, an ALB and the `espejo-api` Fargate service in private subnets (dev and
    staging share the non-production VPC); the plan's prod alarms and usage alarms to the
    on-call email topic and the AWS Chatbot topic. None of those alarms is on ECS's
    ClusterName/ServiceName (ALB, logs, EventBridge, RDS and custom metrics)."""
    vpcs = {"nonprod": e.vpc("espejo-nonprod", "10.30.0.0/16"), "prod": e.vpc("espejo-prod", "10.31.0.0/16")}
    nets = {}
    for key, vpc in vpcs.items():
        octet = 30 if key == "nonprod" else 31
        nets[key] = {
            "public": [e.subnet(vpc, f"espejo-{key}-public-{az}", f"10.{octet}.{i}.0/24", az, True)
                       for i, az in enumerate("ab")],
            "private": [e.subnet(vpc, f"espejo-{key}-private-{az}", f"10.{octet}.{10 + i}.0/24", az, False)
                        for i, az in enumerate("ab")],
        }
    tds = {
        "dev": espejo_task(e, "dev", "512", "1024", "a41c9e2", "Q7mZ2k", "debug",
                           "https://api.dev.espejo.example.com", exec_init=True),
        "staging": espejo_task(e, "staging", "1024", "2048", "7d03b5f", "Xp4nL8", "info",
                               "https://api.staging.espejo.example.com"),
        "prod": espejo_task(e, "prod", "1024", "2048", "7d03b5f", "Hk3vR9", "info",
                            "https://api.espejo.example.com", stop_timeout=30),
    }
    lbs = {}
    for stage in ["dev", "staging", "prod"]:
        key = "prod" if stage == "prod" else "nonprod"
        vpc, net = vpcs[key], nets[key]
        tags = {"app": "espejo", "stage": stage}
        alb_sg = e.group(vpc, f"espejo-{stage}-alb", f"espejo {stage} ALB", port=443)
        task_sg = e.group(vpc, f"espejo-{stage}-api", f"espejo {stage} API tasks", ingress_from=alb_sg, port=3000)
        lb = e.alb(f"espejo-{stage}", net["public"], alb_sg, internal=False)
        tg = e.target_group(f"espejo-api-{stage}", vpc, 3000, "/health")
        e.listener(lb, tg)
        lbs[stage] = (lb, tg)
        cluster = e.cluster(f"espejo-{stage}", tags)
        e.service(
            cluster, "espejo-api", tds[stage], 2 if stage == "prod" else 1,
            subnets=net["private"], groups=[task_sg], public_ip=False,
            load_balancers=[{"targetGroupArn": tg, "containerName": "api", "containerPort": 3000}], grace=60,
            deployment={"minimumHealthyPercent": 0 if stage == "dev" else 100, "maximumPercent": 200,
                        "deploymentCircuitBreaker": CIRCUIT_BREAKER},
            execute_command=stage == "dev", tags=tags,
        )

    oncall = e.topic("espejo-prod-oncall", email="oncall@espejo.example.com", tags={"app": "espejo"})
    chatbot = e.topic("espejo-chatbot", tags={"app": "espejo"})  # AWS Chatbot subscribes itself
    to = [oncall, chatbot]
    lb, tg = lbs["prod"]
    alb = {"LoadBalancer": e.lb_dim(lb), "TargetGroup": e.tg_dim(tg)}
    prod = {"Stage": "prod"}
    e.alarm("espejo-api-prod-5xx", "espejo prod returned 5 or more 5xx responses in 5 minutes.",
            metric=("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", 300),
            comparison="GreaterThanOrEqualToThreshold", threshold=5, periods=1, missing="notBreaching", actions=to)
    e.alarm("espejo-api-prod-5xx-rate", "More than 5% of espejo prod requests failed with 5xx for 15 minutes.",
            metrics=[("errors", ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", 300)),
                     ("requests", ("AWS/ApplicationELB", "RequestCount", alb, "Sum", 300)),
                     ("errorRate", "100 * errors / requests")],
            comparison="GreaterThanThreshold", threshold=5, periods=3, missing="notBreaching", actions=to)
    e.alarm("espejo-api-prod-error-logs", "10 or more level=error log lines in 10 minutes in espejo prod.",
            metric=("Espejo/Logs", "ErrorLogCount", prod, "Sum", 600),
            comparison="GreaterThanOrEqualToThreshold", threshold=10, periods=1, missing="notBreaching", actions=to)
    e.alarm("espejo-api-prod-task-restarts", "espejo prod tasks stopped unexpectedly more than 3 times in an hour.",
            metric=("AWS/Events", "MatchedEvents", {"RuleName": e.n("espejo-prod-api-task-stopped")}, "Sum", 3600),
            comparison="GreaterThanThreshold", threshold=3, periods=1, missing="notBreaching", actions=to)
    db = {"DBInstanceIdentifier": e.n("espejo-prod-db")}
    e.alarm("espejo-db-prod-cpu-high", "espejo prod RDS PostgreSQL (pgvector) CPU above 80% for 15 minutes.",
            metric=("AWS/RDS", "CPUUtilization", db, "Average", 300, "Percent"),
            comparison="GreaterThanThreshold", threshold=80, periods=3, actions=to)
    e.alarm("espejo-db-prod-free-storage-low", "espejo prod RDS has less than 5 GiB of free storage.",
            metric=("AWS/RDS", "FreeStorageSpace", db, "Minimum", 300, "Bytes"),
            comparison="LessThanThreshold", threshold=5368709120, periods=2, actions=to)
    e.alarm("espejo-usage-daily-cost", "espejo LLM spend over the last 24 hours is above 40 USD.",
            metric=("Espejo/Usage", "CostUsdDaily", prod, "Maximum", 900),
            comparison="GreaterThanThreshold", threshold=40, periods=1, missing="notBreaching", actions=to)
    e.alarm("espejo-usage-monthly-projection",
            "At the current run rate espejo LLM spend would exceed 600 USD this month.",
            metrics=[("daily", ("Espejo/Usage", "CostUsdDaily", prod, "Average", 86400)),
                     ("projected", "daily * 30")],
            comparison="GreaterThanThreshold", threshold=600, periods=1, missing="notBreaching", actions=to)
    e.alarm("espejo-usage-ocr-daily-cost", "espejo OCR spend over the last 24 hours is above 5 USD.",
            metric=("Espejo/Usage", "CostUsdDaily", {"Stage": "prod", "Operation": "ocr"}, "Maximum", 900),
            comparison="GreaterThanThreshold", threshold=5, periods=1, missing="notBreaching", actions=to)
    e.alarm("espejo-usage-token-spike",
            "espejo used more than 1.5x the daily token baseline (2M) in the last 24 hours.",
            metrics=[("inputTokens", ("Espejo/Usage", "InputTokensDaily", prod, "Maximum", 900)),
                     ("outputTokens", ("Espejo/Usage", "OutputTokensDaily", prod, "Maximum", 900)),
                     ("totalTokens", "inputTokens + outputTokens")],
            comparison="GreaterThanThreshold", threshold=3000000, periods=1, missing="notBreaching", actions=to)
    e.alarm("espejo-usage-publisher-stale",
            "No Espejo/Usage data for 30 minutes; the usage aggregation job is not publishing.",
            metric=("Espejo/Usage", "CostUsdHourly", prod, "SampleCount", 1800),
            comparison="LessThanThreshold", threshold=1, periods=1, missing="breaching", actions=to)


def cti_scraper(e):
    """The plan's Phase 2 "Create ECS task definitions for web and worker services" and
    "Create ECS services with auto-scaling policies and business hours scheduling": web
    behind the ALB in private subnets, autoscaled 1-2 on CPU 70%; worker (Celery worker +
    beat in one task) in public subnets, stop-first, kept to 08:00-18:00 on weekdays by
    scheduled actions of Application Auto Scaling; seven alarms to one email topic."""
    vpc = e.vpc("cti-scraper-vpc", "10.40.0.0/16")
    public = [e.subnet(vpc, f"cti-scraper-public-{az}", f"10.40.{i}.0/24", az, True) for i, az in enumerate("ab")]
    private = [e.subnet(vpc, f"cti-scraper-private-{az}", f"10.40.{10 + i}.0/24", az, False)
               for i, az in enumerate("ab")]
    alb_sg = e.group(vpc, "cti-scraper-alb", "cti-scraper ALB", port=443)
    web_sg = e.group(vpc, "cti-scraper-web", "cti-scraper web tasks", ingress_from=alb_sg, port=8000)
    worker_sg = e.group(vpc, "cti-scraper-worker", "cti-scraper worker tasks: no inbound")
    cluster = e.cluster("cti-scraper-prod", {"app": "cti-scraper"})

    image = f"{e.account}.dkr.ecr.{e.region}.amazonaws.com/cti-scraper:c41d8a2"
    common_env = env({"AWS_REGION": e.region, "AWS_BEDROCK_REGION": e.region,
                      "AWS_BEDROCK_MODEL_ID": "anthropic.claude-3-haiku-20240307-v1:0",
                      "S3_BACKUP_BUCKET": "ctiscraper-backups", "S3_LOGS_BUCKET": "ctiscraper-logs",
                      "S3_MODELS_BUCKET": "ctiscraper-models"})
    common_secrets = secrets({"DATABASE_URL": e.sm("cti-scraper/prod/database-url-Bd0Kh8"),
                              "REDIS_URL": e.sm("cti-scraper/prod/redis-url-oOOL8d")})

    def logs(group, prefix):
        return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": e.region,
                                                    "awslogs-stream-prefix": prefix}}

    task = dict(requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="512", memory="1024",
                executionRoleArn=e.role("cti-scraper-ecs-execution"), taskRoleArn=e.role("cti-scraper-task"))
    web_td = e.task_definition("cti-scraper-web", **task, containerDefinitions=[{
        "name": "web", "image": image, "essential": True, "cpu": 512, "memory": 1024,
        "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
        "environment": common_env, "secrets": common_secrets,
        "healthCheck": health_check("http://localhost:8000/health", 60),
        "logConfiguration": logs("/ecs/cti-scraper/web", "web"),
    }], tags=ecs_tags({"app": "cti-scraper", "component": "web"}))
    worker_td = e.task_definition("cti-scraper-worker", **task, containerDefinitions=[{
        "name": "worker", "image": image, "essential": True, "cpu": 384, "memory": 768,
        "command": ["celery", "-A", "src.worker.celery_app", "worker", "--loglevel=INFO", "--concurrency=2"],
        "environment": common_env, "secrets": common_secrets, "stopTimeout": 120,
        "logConfiguration": logs("/ecs/cti-scraper/worker", "worker"),
    }, {
        "name": "beat", "image": image, "essential": True, "cpu": 128, "memory": 256,
        "command": ["celery", "-A", "src.worker.celery_app", "beat", "--loglevel=INFO",
                    "--schedule=/tmp/celerybeat-schedule"],
        "environment": common_env, "secrets": common_secrets, "stopTimeout": 30,
        "logConfiguration": logs("/ecs/cti-scraper/worker", "beat"),
    }], tags=ecs_tags({"app": "cti-scraper", "component": "worker"}))

    lb = e.alb("cti-scraper", public, alb_sg, internal=False)
    tg = e.target_group("cti-scraper-web", vpc, 8000, "/health")
    e.listener(lb, tg)

    web = e.service(cluster, "web", web_td, 1, subnets=private, groups=[web_sg], public_ip=False,
                    load_balancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8000}], grace=90,
                    deployment={"minimumHealthyPercent": 100, "maximumPercent": 200,
                                "deploymentCircuitBreaker": CIRCUIT_BREAKER},
                    tags={"app": "cti-scraper", "component": "web"})
    worker = e.service(cluster, "worker", worker_td, 1, subnets=public, groups=[worker_sg], public_ip=True,
                       deployment={"minimumHealthyPercent": 0, "maximumPercent": 100,
                                   "deploymentCircuitBreaker": CIRCUIT_BREAKER},
                       tags={"app": "cti-scraper", "component": "worker"})

    rid = e.scalable_target(cluster, web, 1, 2)
    e.target_tracking(rid, "web-cpu70", "ECSServiceAverageCPUUtilization", 70, out_cooldown=120, in_cooldown=600)
    # Business hours: 1 task 08:00-18:00 Mon-Fri (US Eastern), 0 outside.
    rid = e.scalable_target(cluster, worker, 0, 1)
    e.scheduled(rid, "worker-business-hours-start", "cron(0 8 ? * MON-FRI *)", "America/New_York", 1, 1)
    e.scheduled(rid, "worker-business-hours-stop", "cron(0 18 ? * MON-FRI *)", "America/New_York", 0, 0)

    to = [e.topic("cti-scraper-alerts", email="cti-alerts@example.com", tags={"app": "cti-scraper"})]
    w, k = e.ecs_dims(cluster, web), e.ecs_dims(cluster, worker)
    alb = {"LoadBalancer": e.lb_dim(lb), "TargetGroup": e.tg_dim(tg)}
    e.alarm("cti-scraper-web-cpu-high", "cti-scraper web CPU above 85% for 15 minutes (autoscaling at its ceiling).",
            metric=("AWS/ECS", "CPUUtilization", w, "Average", 300),
            comparison="GreaterThanThreshold", threshold=85, periods=3, actions=to)
    e.alarm("cti-scraper-web-memory-high", "cti-scraper web memory above 85% of its 1 GB for 15 minutes.",
            metric=("AWS/ECS", "MemoryUtilization", w, "Average", 300),
            comparison="GreaterThanThreshold", threshold=85, periods=3, actions=to)
    e.alarm("cti-scraper-worker-cpu-high", "cti-scraper Celery worker CPU above 90% for 30 minutes.",
            metric=("AWS/ECS", "CPUUtilization", k, "Average", 300),
            comparison="GreaterThanThreshold", threshold=90, periods=6, missing="notBreaching", actions=to)
    e.alarm("cti-scraper-worker-memory-high", "cti-scraper Celery worker memory above 90% of 1 GB for 10 minutes.",
            metric=("AWS/ECS", "MemoryUtilization", k, "Maximum", 300),
            comparison="GreaterThanThreshold", threshold=90, periods=2, missing="notBreaching", actions=to)
    e.alarm("cti-scraper-web-5xx", "cti-scraper web returned 5 or more 5xx responses in 10 minutes.",
            metric=("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", 600),
            comparison="GreaterThanOrEqualToThreshold", threshold=5, periods=1, missing="notBreaching", actions=to)
    e.alarm("cti-scraper-web-unhealthy", "A cti-scraper web target has failed ALB health checks for 5 minutes.",
            metric=("AWS/ApplicationELB", "UnHealthyHostCount", alb, "Maximum", 60),
            comparison="GreaterThanOrEqualToThreshold", threshold=1, periods=5, actions=to)
    e.alarm("cti-scraper-celery-backlog", "More than 100 Celery tasks have been waiting for 30 minutes.",
            metric=("CtiScraper/Celery", "QueueLength", {"Queue": "celery"}, "Maximum", 300),
            comparison="GreaterThanThreshold", threshold=100, periods=6, missing="notBreaching", actions=to)


def amapiano_task(e, family, stage, cpu, memory, storage, image, env_vars, db_secret, token_secret,
                  stop_timeout, exec_init=False):
    def sm(name, key):  # the RDS-managed JSON secret and the model tokens, read key by key
        return e.sm(f"amapiano-ai/{stage}/{name}:{key}::")

    container = {
        "name": "ai-service", "image": image, "essential": True,
        "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
        "environment": env(env_vars),
        "secrets": secrets({"DB_USER": sm(db_secret, "username"), "DB_PASSWORD": sm(db_secret, "password"),
                            "HF_TOKEN": sm(token_secret, "huggingface")}),
        "healthCheck": health_check("http://localhost:8000/health", 300),
        "stopTimeout": stop_timeout,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/amapiano-ai/ai-service" if stage == "prod" else "/ecs/amapiano-ai-dev/ai-service",
            "awslogs-region": e.region, "awslogs-stream-prefix": "ai-service"}},
    }
    if exec_init:
        container["linuxParameters"] = {"initProcessEnabled": True}
    suffix = "" if stage == "prod" else "-dev"
    return e.task_definition(
        family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu=cpu, memory=memory,
        ephemeralStorage={"sizeInGiB": storage},
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        executionRoleArn=e.role(f"amapiano-ai{suffix}-ecs-execution"),
        taskRoleArn=e.role(f"amapiano-ai-service{suffix}-task"),
        containerDefinitions=[container], tags=ecs_tags({"app": "amapiano-ai", "stage": stage}))


def amapiano(e):
    """Terraform (`terraform apply -target=aws_ecs_cluster.main`, `..._task_definition.ai_service`,
    `..._service.ai_service`, the section 4.5 `aws_appautoscaling_*`, section 5.3's
    `aws_cloudwatch_metric_alarm.ecs_cpu_high` / `alb_5xx_errors`): the prod AI service on CPU
    (4 vCPU / 16 GB) behind an ALB with an API and a /generate target group, autoscaled
    1-10 (cpu-scaling 70 %, memory-scaling 80 %), and a dev service (2 vCPU / 8 GB)."""
    vpc = e.vpc("amapiano-ai-vpc", "10.50.0.0/16")
    public = [e.subnet(vpc, f"amapiano-ai-public-{az}", f"10.50.{i}.0/24", az, True) for i, az in enumerate("ab")]
    private = [e.subnet(vpc, f"amapiano-ai-private-{az}", f"10.50.{10 + i}.0/24", az, False)
               for i, az in enumerate("ab")]
    dev_subnet = e.subnet(vpc, "amapiano-ai-dev-private-a", "10.50.20.0/24", "a", False)
    alb_sg = e.group(vpc, "amapiano-ai-alb", "amapiano AI ALB", port=443)
    prod_sg = e.group(vpc, "amapiano-ai-prod-tasks", "amapiano AI prod tasks", ingress_from=alb_sg, port=8000)
    dev_sg = e.group(vpc, "amapiano-ai-dev-tasks", "amapiano AI dev tasks", ingress_from=alb_sg, port=8000)

    repo = f"{e.account}.dkr.ecr.{e.region}.amazonaws.com/amapiano-ai/ai-service"
    prod_td = amapiano_task(
        e, "amapiano-ai-service", "prod", "4096", "16384", 50,
        f"{repo}@sha256:5b4a30db2791cecd7107b67e224d17eb52bf171c4322c1afa22edfdecccdfe16",
        {"S3_BUCKET": "amapiano-ai-models-prod", "DB_HOST": "amapiano-ai-prod.c8x2mqv1k9ld.us-east-1.rds.amazonaws.com",
         "DB_NAME": "amapiano_ai", "AWS_REGION": e.region, "CLOUDFRONT_URL": "https://d2f8k3m9x1q7zt.cloudfront.net",
         "MODEL_NAME": "musicgen-medium"},
        "db-u8jzPd", "model-tokens-e0IgxL", 120)
    dev_td = amapiano_task(
        e, "amapiano-ai-service-dev", "dev", "2048", "8192", 30, f"{repo}:9d2e4b7",
        {"S3_BUCKET": "amapiano-ai-models-dev", "DB_HOST": "amapiano-ai-dev.c8x2mqv1k9ld.us-east-1.rds.amazonaws.com",
         "DB_NAME": "amapiano_ai", "AWS_REGION": e.region, "CLOUDFRONT_URL": "https://d3q7w1n5v8r2pa.cloudfront.net",
         "MODEL_NAME": "musicgen-small", "LOG_LEVEL": "debug"},
        "db-d6Gncf", "model-tokens-BAepfJ", 30, exec_init=True)

    lb = e.alb("amapiano-ai-prod", public, alb_sg, internal=False)
    api_tg = e.target_group("amapiano-api", vpc, 8000, "/health")
    gen_tg = e.target_group("amapiano-generate", vpc, 8000, "/health")
    e.listener(lb, api_tg, rules=[(10, "/generate*", gen_tg)])
    dev_lb = e.alb("amapiano-ai-dev", public, alb_sg, internal=False)
    dev_tg = e.target_group("amapiano-dev", vpc, 8000, "/health")
    e.listener(dev_lb, dev_tg)

    prod_cluster = e.cluster("amapiano-ai-prod", {"app": "amapiano-ai", "stage": "prod"})
    dev_cluster = e.cluster("amapiano-ai-dev", {"app": "amapiano-ai", "stage": "dev"})
    prod = e.service(prod_cluster, "ai-service", prod_td, 2, subnets=private, groups=[prod_sg], public_ip=False,
                     load_balancers=[{"targetGroupArn": api_tg, "containerName": "ai-service", "containerPort": 8000},
                                     {"targetGroupArn": gen_tg, "containerName": "ai-service", "containerPort": 8000}],
                     grace=300, deployment={"minimumHealthyPercent": 100, "maximumPercent": 200,
                                            "deploymentCircuitBreaker": CIRCUIT_BREAKER},
                     tags={"app": "amapiano-ai", "stage": "prod"})
    e.service(dev_cluster, "ai-service", dev_td, 1, subnets=[dev_subnet], groups=[dev_sg], public_ip=False,
              load_balancers=[{"targetGroupArn": dev_tg, "containerName": "ai-service", "containerPort": 8000}],
              # No circuit breaker in dev; said explicitly, as AWS describes it (moto echoes only what is sent).
              grace=300, deployment={"minimumHealthyPercent": 0, "maximumPercent": 100,
                                     "deploymentCircuitBreaker": {"enable": False, "rollback": False}},
              execute_command=True, tags={"app": "amapiano-ai", "stage": "dev"})

    rid = e.scalable_target(prod_cluster, prod, 1, 10)
    e.target_tracking(rid, "cpu-scaling", "ECSServiceAverageCPUUtilization", 70, out_cooldown=60, in_cooldown=300)
    e.target_tracking(rid, "memory-scaling", "ECSServiceAverageMemoryUtilization", 80, out_cooldown=60,
                      in_cooldown=300)

    devops = e.topic("amapiano-ai-prod-alerts", tags={"app": "amapiano-ai"})  # Terraform's; billing alerts too
    oncall = e.topic("amapiano-ai-prod-oncall", email="devops-oncall@amapiano.example.com", tags={"app": "amapiano-ai"})
    to = [oncall, devops]
    dims = e.ecs_dims(prod_cluster, prod)
    e.alarm("amapiano-ai-prod-ecs-cpu-high",
            "amapiano ai-service CPU above 85% for 15 minutes despite autoscaling (max 10 tasks).",
            metric=("AWS/ECS", "CPUUtilization", dims, "Average", 300),
            comparison="GreaterThanThreshold", threshold=85, periods=3, actions=to, ok_actions=True)
    e.alarm("amapiano-ai-prod-ecs-memory-high",
            "amapiano ai-service memory above 90% for 10 minutes; MusicGen tasks are close to OOM.",
            metric=("AWS/ECS", "MemoryUtilization", dims, "Maximum", 300),
            comparison="GreaterThanThreshold", threshold=90, periods=2, actions=to, ok_actions=True)
    lbd = {"LoadBalancer": e.lb_dim(lb)}
    e.alarm("amapiano-ai-prod-alb-5xx", "10 or more 5xx responses (target + ALB) in 5 minutes on the AI service ALB.",
            metrics=[("target5xx", ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lbd, "Sum", 300)),
                     ("elb5xx", ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lbd, "Sum", 300)),
                     ("all5xx", "FILL(target5xx, 0) + FILL(elb5xx, 0)")],
            comparison="GreaterThanOrEqualToThreshold", threshold=10, periods=1, missing="notBreaching",
            actions=to, ok_actions=True)


def rfp_copilot(e):
    """The readiness report: Terraform (`terraform apply production.tfplan`) for the VPC,
    internal ALB, cluster `transparent-trust-prod` and service `transparent-trust-web`
    (2 tasks, ECS Exec, rollback on failed health checks and on the rollback-trigger
    alarms); its CLI steps as written: `aws secretsmanager create-secret` for the app's
    secrets (read by the task definition), `aws s3 mb` + encryption + versioning for the
    documents bucket, and `aws ecs update-service --force-new-deployment`."""
    tags = {"app": "transparent-trust", "env": "prod"}
    vpc = e.vpc("transparent-trust-vpc", "10.60.0.0/16")
    private = [e.subnet(vpc, f"transparent-trust-private-{az}", f"10.60.{10 + i}.0/24", az, False)
               for i, az in enumerate("ab")]
    alb_sg = e.group(vpc, "transparent-trust-alb", "internal ALB (Tailscale)", port=443)
    web_sg = e.group(vpc, "transparent-trust-web", "ALB -> ECS only", ingress_from=alb_sg, port=3000)

    # Step 4 "Create Secrets in AWS", plus the database URL (it holds the password).
    smc = boto3.client("secretsmanager")
    values = {"encryption-key": "your-32-char-encryption-key", "anthropic-api-key": "sk-ant-...",
              "google-oauth": '{"client_id":"...","client_secret":"..."}', "nextauth-secret": "your-nextauth-secret",
              "database-url": "postgresql://user:pass@rds-prod.example.us-east-1.rds.amazonaws.com:5432/"
                              "transparent_trust?connection_limit=100&pool_timeout=20"}
    arns = {}
    for key, value in values.items():
        name = e.n(f"transparent-trust/{key}")
        try:
            arns[key] = smc.describe_secret(SecretId=name)["ARN"]
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            arns[key] = smc.create_secret(Name=name, SecretString=value)["ARN"]

    # "Create S3 Bucket".
    s3 = boto3.client("s3")
    bucket = e.n("transparent-trust-documents-prod")
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    cluster = e.cluster("transparent-trust-prod", tags)
    td = e.task_definition(
        "transparent-trust-web", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="1024", memory="2048",
        executionRoleArn=e.role("transparent-trust-ecs-execution"), taskRoleArn=e.role("transparent-trust-ecs-task"),
        containerDefinitions=[{
            "name": "web",
            "image": f"{e.account}.dkr.ecr.{e.region}.amazonaws.com/transparent-trust:e7a91c3",
            "essential": True,
            "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
            "environment": env({"NODE_ENV": "production", "NEXTAUTH_URL": "https://transparent-trust.company.com",
                                "NEXT_PUBLIC_APP_URL": "https://transparent-trust.company.com",
                                "AWS_REGION": e.region, "S3_DOCUMENTS_BUCKET": bucket,
                                "GOOGLE_ALLOWED_DOMAINS": "company.com"}),
            "secrets": secrets({"NEXTAUTH_SECRET": arns["nextauth-secret"],
                                "ENCRYPTION_KEY": arns["encryption-key"],
                                "ANTHROPIC_API_KEY": arns["anthropic-api-key"],
                                "GOOGLE_CLIENT_ID": f"{arns['google-oauth']}:client_id::",
                                "GOOGLE_CLIENT_SECRET": f"{arns['google-oauth']}:client_secret::",
                                "DATABASE_URL": arns["database-url"]}),
            "healthCheck": health_check("node:http://localhost:3000/api/health", 60),
            "linuxParameters": {"initProcessEnabled": True},
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/transparent-trust-web", "awslogs-region": e.region,
                "awslogs-stream-prefix": "web"}},
        }],
        tags=ecs_tags(tags))

    lb = e.alb("transparent-trust-internal", private, alb_sg, internal=True)
    tg = e.target_group("transparent-trust-web", vpc, 3000, "/api/health")
    e.listener(lb, tg)

    slack = e.topic("transparent-trust-alerts", tags=tags)  # #transparent-trust-alerts through AWS Chatbot
    e.topic("transparent-trust-oncall", email="transparent-trust-oncall@company.com", tags=tags)
    to = [slack]
    alb = {"LoadBalancer": e.lb_dim(lb), "TargetGroup": e.tg_dim(tg)}
    e.alarm("rfp-copilot-5xx-rate", "ROLLBACK TRIGGER: more than 5% of transparent-trust-web requests failed "
                                    "with 5xx for 5 minutes.",
            metrics=[("errors", ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", 60)),
                     ("requests", ("AWS/ApplicationELB", "RequestCount", alb, "Sum", 60)),
                     ("errorRate", "100 * errors / requests")],
            comparison="GreaterThanThreshold", threshold=5, periods=5, missing="notBreaching", actions=to)
    e.alarm("rfp-copilot-unhealthy-targets",
            "ROLLBACK TRIGGER: transparent-trust-web targets keep failing ALB health checks.",
            metric=("AWS/ApplicationELB", "UnHealthyHostCount", alb, "Maximum", 60),
            comparison="GreaterThanOrEqualToThreshold", threshold=1, periods=5, datapoints=3, actions=to)
    e.alarm("rfp-copilot-healthy-below-two", "Fewer than 2 healthy transparent-trust-web targets for 5 minutes.",
            metric=("AWS/ApplicationELB", "HealthyHostCount", alb, "Minimum", 60),
            comparison="LessThanThreshold", threshold=2, periods=5, actions=to)
    e.alarm("rfp-copilot-response-time-p95", "transparent-trust-web p95 response time above 10 s for 10 minutes.",
            metric=("AWS/ApplicationELB", "TargetResponseTime", alb, "p95", 300),
            comparison="GreaterThanThreshold", threshold=10, periods=2, missing="notBreaching", actions=to)
    e.alarm("rfp-copilot-db-connections", "transparent-trust-db-prod above 80 of its 100 connections for 5 minutes.",
            metric=("AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": e.n("transparent-trust-db-prod")},
                    "Maximum", 60),
            comparison="GreaterThanThreshold", threshold=80, periods=5, actions=to)
    e.alarm("rfp-copilot-s3-upload-failures",
            "ROLLBACK TRIGGER: more than 10% of document uploads failed over 5 minutes.",
            metrics=[("failures", ("TransparentTrust/App", "S3UploadFailures", {"Bucket": bucket}, "Sum", 300)),
                     ("uploads", ("TransparentTrust/App", "S3Uploads", {"Bucket": bucket}, "Sum", 300)),
                     ("failureRate", "100 * failures / uploads")],
            comparison="GreaterThanThreshold", threshold=10, periods=1, missing="notBreaching", actions=to)

    service = e.service(
        cluster, "transparent-trust-web", td, 2, subnets=private, groups=[web_sg], public_ip=False,
        load_balancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 3000}], grace=60,
        deployment={"minimumHealthyPercent": 100, "maximumPercent": 200, "deploymentCircuitBreaker": CIRCUIT_BREAKER,
                    "alarms": {"alarmNames": [e.n("rfp-copilot-5xx-rate"), e.n("rfp-copilot-unhealthy-targets")],
                               "enable": True, "rollback": True}},
        execute_command=True, tags=tags)
    # "Deploy to ECS": the report's own command.
    e.ecs.update_service(cluster=cluster, service=service, forceNewDeployment=True)


# The longest Elastic Load Balancing name each team gives (at most 32 characters with the prefix).
ELB_NAMES = {"espejo": "espejo-api-staging", "cti-scraper": "cti-scraper-web", "amapiano": "amapiano-generate",
             "gengar": "", "rfp-copilot": "transparent-trust-internal"}

BUILDERS = {"espejo": espejo, "cti-scraper": cti_scraper, "amapiano": amapiano, "gengar": gengar,
            "rfp-copilot": rfp_copilot}


def main(argv):
    if len(argv) != 3 or argv[1] not in BUILDERS:
        sys.exit(__doc__)
    team, prefix = argv[1], argv[2]
    if not re.fullmatch(r"([a-z0-9][a-z0-9-]*)?", prefix):
        sys.exit(f"PREFIX {prefix!r}: lower-case letters, digits and '-' only, not starting with '-' "
                 "(it is part of bucket, target group and DNS names)")
    if len(prefix + ELB_NAMES[team]) > 32:
        sys.exit(f"PREFIX {prefix!r}: too long for {team}'s load balancer and target group names "
                 f"(at most {32 - len(ELB_NAMES[team])} characters)")
    estate = Estate(team, prefix)
    BUILDERS[team](estate)
    print(json.dumps(estate.report()))


if __name__ == "__main__":
    main(sys.argv)
