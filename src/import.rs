//! `ecs-operator import`: documents for the live services of a cluster that no
//! document declares, written so that the plan right after shows nothing but
//! `= adopt` (SPEC §5). Reads are batched like every observation: services
//! 10 a call, scalable targets 50.

mod alarm;
mod autoscaler;
mod discovery;
mod service;
mod task_definition;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::aws::autoscaling::{DESCRIBE_TARGETS_BATCH, ScalingApi, resource_id};
use crate::aws::cloudwatch::CloudWatchApi;
use crate::aws::discovery::DiscoveryApi;
use crate::aws::ecs::{EcsApi, ObservedService, ObservedTaskDefinition};
use crate::aws::{Aws, AwsError};
use crate::model::{API_VERSION, Document, Kind, Metadata};
use crate::observe::DESCRIBE_SERVICES_BATCH;
use crate::plan::service::short_td;
use service::TaskDefinitionName;

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub cluster: String,
    /// Only these services; all of the cluster's when empty.
    pub services: Vec<String>,
    /// Write each service's task definition as a TaskDefinition document.
    pub with_task_definitions: bool,
    /// ECS services (cluster, name) documents already declare: left out.
    pub declared: BTreeSet<(String, String)>,
    /// Names documents already given with `-f` use, by kind: a new document
    /// whose name is taken gets the cluster's name appended.
    pub taken: BTreeSet<(Kind, String)>,
    /// AlertChannel documents given with `-f`, with their topic ARN or name:
    /// an alarm whose actions are their topics notifies them by name.
    pub channels: BTreeMap<String, String>,
    /// Task definition families a TaskDefinition document already declares,
    /// with its name: a service of one references it instead of a new document.
    pub families: BTreeMap<String, String>,
    /// `$schema` of the editor line, relative to where the files go.
    pub schema: String,
}

/// One file: `<service document>.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedFile {
    pub name: String,
    pub text: String,
    /// Environment variables whose names look like credentials, `container.NAME`.
    pub warnings: Vec<String>,
}

/// A document name from an AWS name: lowercase letters, digits and `-`, at most 63.
pub fn doc_name(aws_name: &str) -> String {
    let mut name: String = aws_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(63);
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        "imported".to_owned()
    } else {
        name
    }
}

/// `doc_name(aws_name)`, or with the cluster appended when `-f` documents
/// use that name already (the same service name in several clusters).
fn unique_name(
    taken: &BTreeSet<(Kind, String)>,
    kind: Kind,
    aws_name: &str,
    cluster: &str,
) -> String {
    let name = doc_name(aws_name);
    if !taken.contains(&(kind, name.clone())) {
        return name;
    }
    doc_name(&format!("{aws_name}-{cluster}"))
}

fn document<S: Serialize>(kind: Kind, name: &str, spec: S) -> Document<S> {
    Document {
        api_version: API_VERSION.to_owned(),
        kind: kind.as_str().to_owned(),
        metadata: Metadata {
            name: name.to_owned(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        },
        spec,
    }
}

fn yaml<S: Serialize>(comment: &str, doc: &Document<S>) -> String {
    let body = serde_saphyr::to_string(doc).unwrap_or_default();
    let mut out = String::new();
    for line in comment.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Environment variable names that look like credentials.
fn credential_like(spec: &crate::model::task_definition::TaskDefinitionSpec) -> Vec<String> {
    let mut out = Vec::new();
    for c in &spec.container_definitions {
        for e in c.environment.iter().flatten() {
            let upper = e.name.to_ascii_uppercase();
            if ["PASSWORD", "SECRET", "TOKEN", "KEY"]
                .iter()
                .any(|w| upper.contains(w))
            {
                out.push(format!("{}.{}", c.name, e.name));
            }
        }
    }
    out
}

/// Reads the cluster and writes the documents; `progress(done, total)` is
/// called every 50 services.
pub async fn import<A: Aws>(
    aws: &A,
    options: &ImportOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<ImportedFile>, AwsError> {
    let ecs = aws.ecs();
    let names = if options.services.is_empty() {
        ecs.list_services(&options.cluster).await?
    } else {
        options.services.clone()
    };
    let mut live: Vec<ObservedService> = Vec::new();
    for batch in names.chunks(DESCRIBE_SERVICES_BATCH) {
        live.extend(
            ecs.describe_services(&options.cluster, batch)
                .await?
                .into_iter()
                .filter(|s| s.status == "ACTIVE")
                .filter(|s| {
                    !options
                        .declared
                        .contains(&(s.cluster.clone(), s.name.clone()))
                }),
        );
    }
    live.sort_by(|a, b| a.name.cmp(&b.name));
    let ids: Vec<String> = live
        .iter()
        .map(|s| resource_id(&s.cluster, &s.name))
        .collect();
    let mut targets = BTreeMap::new();
    for batch in ids.chunks(DESCRIBE_TARGETS_BATCH) {
        targets.extend(aws.scaling().describe_targets(batch).await?);
    }
    // One listing serves every service (100 alarms a page).
    let alarms = if live.is_empty() {
        Vec::new()
    } else {
        aws.cloudwatch().list_alarms().await?
    };
    // Cloud Map, only when a service registers into it.
    let registered = live.iter().any(|s| !s.service_registries.is_empty());
    let (namespaces, mut cm_services) = if registered {
        let cm = aws.discovery();
        (cm.list_namespaces().await?, cm.list_services().await?)
    } else {
        (Vec::new(), Vec::new())
    };
    // Families are shared by services: each is read and written once.
    let mut families: BTreeMap<String, Option<ObservedTaskDefinition>> = BTreeMap::new();
    let mut written_families = BTreeSet::new();
    let mut written_discovery = BTreeSet::new();
    let mut files = Vec::new();
    let total = live.len();
    for (i, s) in live.iter().enumerate() {
        if i > 0 && i % 50 == 0 {
            progress(i, total);
        }
        let name = unique_name(&options.taken, Kind::Service, &s.name, &s.cluster);
        let mut docs = Vec::new();
        let mut warnings = Vec::new();
        let source = format!(
            "Imported from ECS service {}/{} ({}).",
            s.cluster, s.name, s.arn
        );
        let pinned = TaskDefinitionName::Pinned(short_td(&s.task_definition).to_owned());
        let td_name = if options.with_task_definitions {
            let family = crate::aws::ecs::family_of_arn(&s.task_definition).to_owned();
            if !families.contains_key(&family) {
                let latest = ecs.describe_task_definition(&family).await?;
                families.insert(family.clone(), latest);
            }
            match &families[&family] {
                // Declared already (another cluster's import): referenced.
                Some(latest)
                    if latest.arn == s.task_definition
                        && options.families.contains_key(&family) =>
                {
                    TaskDefinitionName::Ref(options.families[&family].clone())
                }
                // The document is the family's latest revision; a service on
                // an older one would roll to it, so it stays pinned instead.
                Some(latest) if latest.arn == s.task_definition => {
                    let td_doc =
                        unique_name(&options.taken, Kind::TaskDefinition, &family, &s.cluster);
                    if written_families.insert(family.clone()) {
                        let spec = task_definition::spec(latest, &td_doc);
                        warnings.extend(credential_like(&spec));
                        let comment = format!(
                            "Imported from ECS task definition {} (its latest ACTIVE revision). Secrets stay references (valueFrom).",
                            short_td(&latest.arn)
                        );
                        docs.push(yaml(
                            &comment,
                            &document(Kind::TaskDefinition, &td_doc, spec),
                        ));
                    }
                    TaskDefinitionName::Ref(td_doc)
                }
                Some(latest) => {
                    docs.push(format!(
                        "# {} runs {}, not its family's latest revision {}: pinned with taskDefinition.\n",
                        s.name,
                        short_td(&s.task_definition),
                        short_td(&latest.arn)
                    ));
                    pinned
                }
                None => pinned,
            }
        } else {
            pinned
        };
        let id = resource_id(&s.cluster, &s.name);
        let target = targets.get(&id);
        let mut spec = service::spec(s, &name, td_name, target.is_some());
        for r in spec.service_registries.iter_mut().flatten() {
            let Some(arn) = r.registry_arn.clone() else {
                continue;
            };
            let Some(cm) = cm_services.iter_mut().find(|c| c.arn == arn) else {
                continue;
            };
            if cm.namespace_id.is_empty() {
                cm.namespace_id = aws.discovery().service_namespace(&cm.id).await?;
            }
            let Some(ns) = namespaces.iter().find(|n| n.id == cm.namespace_id) else {
                continue;
            };
            let instances = aws.discovery().list_instances(&cm.id).await?.len();
            let cm_doc = unique_name(&options.taken, Kind::DiscoveryService, &cm.name, &s.cluster);
            let Some((cm_spec, why)) = discovery::spec(cm, ns, &cm_doc, instances) else {
                continue;
            };
            if written_discovery.insert(cm.arn.clone()) {
                let comment = format!("Imported from Cloud Map service {}.\n{why}", cm.arn);
                docs.push(yaml(
                    &comment,
                    &document(Kind::DiscoveryService, &cm_doc, cm_spec),
                ));
            }
            r.registry_arn = None;
            r.discovery_service = Some(cm_doc);
        }
        docs.push(yaml(&source, &document(Kind::Service, &name, spec)));
        if let Some(target) = target {
            let policies = aws.scaling().describe_policies(&id).await?;
            let (spec, others) = autoscaler::spec(target, &policies, &name, &name);
            let mut comment = format!("Imported from Application Auto Scaling target {id}.");
            if others {
                comment.push_str("\nIt has policies that are not target tracking: targetTracking is left out, so none is touched.");
            }
            docs.push(yaml(&comment, &document(Kind::Autoscaler, &name, spec)));
        }
        for a in alarms
            .iter()
            .filter(|a| alarm::watches(a, &s.cluster, &s.name))
        {
            let alarm_doc = unique_name(&options.taken, Kind::Alarm, &a.config.name, &s.cluster);
            let Some((spec, left_out)) = alarm::spec(a, &alarm_doc, &name, &options.channels)
            else {
                continue;
            };
            let mut comment = format!("Imported from CloudWatch alarm {}.", a.arn);
            if left_out {
                comment.push_str("\nIts actions are topics no AlertChannel document declares: `notify` is left out, so they are left as they are.");
            }
            docs.push(yaml(&comment, &document(Kind::Alarm, &alarm_doc, spec)));
        }
        let text = format!(
            "# yaml-language-server: $schema={}\n{}",
            options.schema,
            docs.join("---\n")
        );
        files.push(ImportedFile {
            name: format!("{name}.yaml"),
            text,
            warnings,
        });
    }
    Ok(files)
}
