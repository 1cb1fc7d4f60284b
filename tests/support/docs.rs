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
