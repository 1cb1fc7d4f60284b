//! Document builders that read like sentences: `service("web").in_cluster(c).build()`.

use super::Network;

pub struct ServiceDoc {
    name: String,
    lines: Vec<String>,
    annotations: Vec<String>,
}

pub fn service(name: &str, cluster: &str, task_definition: &str) -> ServiceDoc {
    ServiceDoc {
        name: name.to_owned(),
        lines: vec![
            format!("cluster: {cluster}"),
            format!("taskDefinition: {task_definition}"),
        ],
        annotations: Vec::new(),
    }
}

/// A Service that runs the revisions the operator registers for the
/// TaskDefinition document `task_definition`.
pub fn service_of(name: &str, cluster: &str, task_definition: &str) -> ServiceDoc {
    ServiceDoc {
        name: name.to_owned(),
        lines: vec![
            format!("cluster: {cluster}"),
            format!("taskDefinitionRef: {task_definition}"),
        ],
        annotations: Vec::new(),
    }
}

/// A Fargate TaskDefinition document of one `web` container running `image`.
pub fn task_definition(name: &str, family: &str, image: &str) -> String {
    format!(
        r#"apiVersion: ecs-operator/v1alpha1
kind: TaskDefinition
metadata:
  name: {name}
spec:
  family: {family}
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "0.25 vCPU"
  memory: "0.5 GB"
  executionRoleArn: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
  containerDefinitions:
    - name: web
      image: {image}
      portMappings: [{{containerPort: 8080}}]
      environment:
        - {{name: LOG_LEVEL, value: info}}
        - {{name: APP_ENV, value: test}}
      secrets:
        - {{name: DB_PASSWORD, valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/db"}}
      healthCheck:
        command: [CMD, /app/healthcheck]
      logConfiguration:
        logDriver: awslogs
        options: {{awslogs-group: /ecs/{family}, awslogs-region: us-east-1, awslogs-stream-prefix: web}}
  tags: {{team: core}}
"#
    )
}

impl ServiceDoc {
    pub fn field(mut self, yaml: &str) -> Self {
        self.lines.extend(yaml.lines().map(str::to_owned));
        self
    }

    pub fn desired_count(self, n: u32) -> Self {
        self.field(&format!("desiredCount: {n}"))
    }

    pub fn fargate(self, net: &Network) -> Self {
        self.field("launchType: FARGATE").network(net)
    }

    pub fn network(self, net: &Network) -> Self {
        self.field(&format!(
            "network:\n  subnets: [{}]\n  securityGroups: [{}]\n  assignPublicIp: false",
            net.subnets[0], net.security_groups[0]
        ))
    }

    pub fn paused(mut self, reason: &str) -> Self {
        self.annotations
            .push("ecs-operator/paused: \"true\"".to_owned());
        self.annotations
            .push(format!("ecs-operator/paused-reason: \"{reason}\""));
        self
    }

    pub fn annotate(mut self, key: &str, value: &str) -> Self {
        self.annotations.push(format!("{key}: \"{value}\""));
        self
    }

    pub fn build(&self) -> String {
        let mut out = format!(
            "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata:\n  name: {}\n",
            self.name
        );
        if !self.annotations.is_empty() {
            out.push_str("  annotations:\n");
            for a in &self.annotations {
                out.push_str(&format!("    {a}\n"));
            }
        }
        out.push_str("spec:\n");
        for l in &self.lines {
            out.push_str(&format!("  {l}\n"));
        }
        out
    }
}
