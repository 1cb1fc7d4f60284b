//! The validated desired state: every document of a revision, cross-references
//! resolved, defaults applied where the reconcilers need them.

use std::collections::BTreeMap;

use crate::load::diagnostic::{Diagnostic, Diagnostics};
use crate::load::{self, AnyDoc, Loaded, Source};
use crate::model::alarm::AlarmSpec;
use crate::model::alert_channel::AlertChannelSpec;
use crate::model::autoscaler::AutoscalerSpec;
use crate::model::discovery::DiscoveryServiceSpec;
use crate::model::schedule::ScheduleSpec;
use crate::model::service::ServiceSpec;
use crate::model::slo::SloSpec;
use crate::model::task_definition::TaskDefinitionSpec;
use crate::model::{Cx, DocRef, Kind, Origin, Reference, Spec};

/// A desired `Service` with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredService {
    pub name: String,
    /// Cluster name (an ARN in the document is reduced to its name).
    pub cluster: String,
    pub service_name: String,
    pub desired_count: u32,
    pub spec: ServiceSpec,
    pub paused: Option<String>,
    /// The Autoscaler that targets it, if any (also in `Desired::autoscaler_for`).
    pub autoscaler: Option<String>,
    /// The Schedule that targets it, if any (also in `Desired::schedule_for`).
    pub schedule: Option<String>,
    /// `spec.deployment.alarms` with the Alarm documents' CloudWatch names filled in.
    pub deployment_alarms: Option<crate::aws::ecs::DeploymentAlarms>,
    /// Alarm document → its CloudWatch name, of `spec.deployment.alarms.alarmRefs`.
    pub deployment_alarm_refs: BTreeMap<String, String>,
    /// The `ecs-operator/retry-rollout` annotation: a new value sends a held
    /// revision once more (SPEC §3.1).
    pub retry_rollout: Option<String>,
}

/// Every document of one desired-state revision. Only built when all validate.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub revision: String,
    pub services: BTreeMap<String, DesiredService>,
    pub autoscalers: BTreeMap<String, Loaded<AutoscalerSpec>>,
    pub schedules: BTreeMap<String, Loaded<ScheduleSpec>>,
    pub discovery: BTreeMap<String, Loaded<DiscoveryServiceSpec>>,
    pub task_definitions: BTreeMap<String, Loaded<TaskDefinitionSpec>>,
    pub channels: BTreeMap<String, Loaded<AlertChannelSpec>>,
    pub alarms: BTreeMap<String, Loaded<AlarmSpec>>,
    /// Service → the Autoscaler that targets it (at most one: validated).
    pub autoscaler_for: BTreeMap<String, String>,
    /// Service → the Schedule that targets it (at most one: validated).
    pub schedule_for: BTreeMap<String, String>,
    /// (cluster, ECS service name) → the Service document that declares it.
    pub ecs_services: BTreeMap<(String, String), String>,
    pub slos: BTreeMap<String, Loaded<SloSpec>>,
}

impl Desired {
    /// Reads, parses and validates `paths`; every error of every file at once.
    pub fn load(paths: &[std::path::PathBuf]) -> Result<Desired, Diagnostics> {
        let source = load::read_sources(paths)?;
        Desired::from_source(&source)
    }

    pub fn from_source(source: &Source) -> Result<Desired, Diagnostics> {
        let mut diags = Diagnostics::default();
        let docs = load::parse_documents(source, &mut diags);
        let desired = build(&docs, &source.revision, &mut diags);
        if diags.is_empty() {
            Ok(desired)
        } else {
            Err(diags)
        }
    }

    /// The Autoscaler that targets a service, if any.
    pub fn autoscaler_of(&self, service: &str) -> Option<(&str, &AutoscalerSpec)> {
        let name = self.autoscaler_for.get(service)?;
        self.autoscalers
            .get(name)
            .map(|a| (name.as_str(), &a.doc.spec))
    }

    /// The Schedule that targets a service, if any.
    pub fn schedule_of(&self, service: &str) -> Option<(&str, &ScheduleSpec)> {
        let name = self.schedule_for.get(service)?;
        self.schedules
            .get(name)
            .map(|s| (name.as_str(), &s.doc.spec))
    }

    /// Number of documents of each kind.
    pub fn count(&self) -> usize {
        self.services.len()
            + self.autoscalers.len()
            + self.schedules.len()
            + self.discovery.len()
            + self.task_definitions.len()
            + self.channels.len()
            + self.alarms.len()
            + self.slos.len()
    }
}

fn build(docs: &[AnyDoc], revision: &str, diags: &mut Diagnostics) -> Desired {
    let mut desired = Desired {
        revision: revision.to_owned(),
        ..Desired::default()
    };
    // Unique kind/name, first definition wins.
    let mut seen: BTreeMap<DocRef, &Origin> = BTreeMap::new();
    let mut unique = Vec::new();
    for doc in docs {
        let r = load::doc_ref(doc);
        let origin = doc.origin();
        if let Some(first) = seen.get(&r) {
            let pos = origin.index.value_pos("metadata.name");
            let first_pos = first.index.value_pos("metadata.name");
            diags.push(
                Diagnostic::new(
                    &origin.file,
                    pos,
                    format!(
                        "duplicate {r}: first defined at {}:{}:{}",
                        first.file, first_pos.line, first_pos.col
                    ),
                )
                .in_document(r.to_string())
                .at_field("metadata.name"),
            );
            continue;
        }
        seen.insert(r.clone(), origin);
        unique.push(doc);
    }
    for doc in &unique {
        check_references(doc, &seen, diags);
    }
    let mut ecs_names: BTreeMap<(String, String), DocRef> = BTreeMap::new();
    let mut scheduled: BTreeMap<String, String> = BTreeMap::new();
    let mut autoscaled: BTreeMap<String, String> = BTreeMap::new();
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    for doc in unique {
        match doc {
            AnyDoc::Service(d) => {
                let s = desired_service(d);
                let key = (s.cluster.clone(), s.service_name.clone());
                let r = DocRef::new(Kind::Service, &s.name);
                if let Some(other) = ecs_names.get(&key) {
                    error(
                        diags,
                        &d.origin,
                        &r,
                        "spec.serviceName",
                        format!(
                            "ECS service {}/{} is already declared by {other}",
                            key.0, key.1
                        ),
                    );
                }
                ecs_names.insert(key, r);
                desired.services.insert(s.name.clone(), s);
            }
            AnyDoc::Autoscaler(d) => {
                let name = &d.doc.metadata.name;
                if let Some(other) = autoscaled.insert(d.doc.spec.service_ref.clone(), name.clone())
                {
                    let r = DocRef::new(Kind::Autoscaler, name);
                    error(
                        diags,
                        &d.origin,
                        &r,
                        "spec.serviceRef",
                        format!(
                            "Service/{} is already targeted by Autoscaler/{other}",
                            d.doc.spec.service_ref
                        ),
                    );
                }
                desired.autoscalers.insert(name.clone(), d.clone());
            }
            AnyDoc::Schedule(d) => {
                let name = &d.doc.metadata.name;
                for (i, svc) in d.doc.spec.service_refs.iter().enumerate() {
                    if let Some(other) = scheduled.insert(svc.clone(), name.clone()) {
                        let r = DocRef::new(Kind::Schedule, name);
                        error(
                            diags,
                            &d.origin,
                            &r,
                            &format!("spec.serviceRefs[{i}]"),
                            format!("Service/{svc} is already targeted by Schedule/{other}"),
                        );
                    }
                }
                desired.schedules.insert(name.clone(), d.clone());
            }
            AnyDoc::AlertChannel(d) => {
                desired
                    .channels
                    .insert(d.doc.metadata.name.clone(), d.clone());
            }
            AnyDoc::Alarm(d) => {
                desired
                    .alarms
                    .insert(d.doc.metadata.name.clone(), d.clone());
            }
            AnyDoc::DiscoveryService(d) => {
                desired
                    .discovery
                    .insert(d.doc.metadata.name.clone(), d.clone());
            }
            AnyDoc::TaskDefinition(d) => {
                let name = &d.doc.metadata.name;
                let family = d.doc.spec.family_or(name).to_owned();
                // One document per family: two would register over each other every loop.
                if let Some(other) = families.insert(family.clone(), name.clone()) {
                    let r = DocRef::new(Kind::TaskDefinition, name);
                    error(
                        diags,
                        &d.origin,
                        &r,
                        "spec.family",
                        format!("family {family} is already declared by TaskDefinition/{other}"),
                    );
                }
                desired.task_definitions.insert(name.clone(), d.clone());
            }
            AnyDoc::ServiceLevelObjective(d) => {
                desired.slos.insert(d.doc.metadata.name.clone(), d.clone());
            }
        }
    }
    desired.ecs_services = ecs_names
        .into_iter()
        .map(|(key, doc)| (key, doc.name))
        .collect();
    // On each service too: planning asks once per service, at 10,000 services.
    for (service, a) in &autoscaled {
        if let Some(s) = desired.services.get_mut(service) {
            s.autoscaler = Some(a.clone());
        }
    }
    for (service, sc) in &scheduled {
        if let Some(s) = desired.services.get_mut(service) {
            s.schedule = Some(sc.clone());
        }
    }
    desired.autoscaler_for = autoscaled;
    desired.schedule_for = scheduled;
    for s in desired.services.values_mut() {
        s.deployment_alarms = deployment_alarms(&s.spec, &desired.alarms);
        let refs = s.spec.deployment.as_ref().and_then(|d| d.alarms.as_ref());
        s.deployment_alarm_refs = refs
            .and_then(|a| a.alarm_refs.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let alarm = desired.alarms.get(r)?;
                Some((r.clone(), alarm.doc.spec.alarm_name(r).to_owned()))
            })
            .collect();
    }
    desired
}

/// ECS's `deploymentConfiguration.alarms` of a Service: references resolved
/// (a dangling one is reported by `check_references` and left out here).
fn deployment_alarms(
    spec: &ServiceSpec,
    alarms: &BTreeMap<String, Loaded<AlarmSpec>>,
) -> Option<crate::aws::ecs::DeploymentAlarms> {
    let a = spec.deployment.as_ref()?.alarms.as_ref()?;
    let refs = a.alarm_refs.iter().flatten();
    let mut alarm_names: Vec<String> = refs
        .filter_map(|r| Some(alarms.get(r)?.doc.spec.alarm_name(r).to_owned()))
        .chain(a.alarm_names.iter().flatten().cloned())
        .collect();
    alarm_names.sort();
    alarm_names.dedup();
    Some(crate::aws::ecs::DeploymentAlarms {
        alarm_names,
        enable: true,
        rollback: a.rollback.unwrap_or(true),
    })
}

fn error(diags: &mut Diagnostics, origin: &Origin, doc: &DocRef, field: &str, message: String) {
    let mut cx = Cx {
        origin,
        doc: doc.to_string(),
        diags,
    };
    cx.error(field, message);
}

fn references(doc: &AnyDoc) -> Vec<Reference> {
    match doc {
        AnyDoc::Service(d) => d.doc.spec.references(),
        AnyDoc::Autoscaler(d) => d.doc.spec.references(),
        AnyDoc::Schedule(d) => d.doc.spec.references(),
        AnyDoc::DiscoveryService(d) => d.doc.spec.references(),
        AnyDoc::TaskDefinition(d) => d.doc.spec.references(),
        AnyDoc::Alarm(d) => d.doc.spec.references(),
        AnyDoc::AlertChannel(d) => d.doc.spec.references(),
        AnyDoc::ServiceLevelObjective(d) => d.doc.spec.references(),
    }
}

fn check_references(doc: &AnyDoc, seen: &BTreeMap<DocRef, &Origin>, diags: &mut Diagnostics) {
    let me = load::doc_ref(doc);
    for r in references(doc) {
        let target = DocRef::new(r.kind, &r.name);
        if !seen.contains_key(&target) {
            let candidates: Vec<&str> = seen
                .keys()
                .filter(|k| k.kind == r.kind)
                .map(|k| k.name.as_str())
                .collect();
            let hint = if candidates.is_empty() {
                format!("there is no {} document", r.kind)
            } else {
                format!("known: {}", candidates.join(", "))
            };
            error(
                diags,
                doc.origin(),
                &me,
                &r.field,
                format!("{target} does not exist ({hint})"),
            );
        }
    }
}

fn desired_service(d: &Loaded<ServiceSpec>) -> DesiredService {
    let spec = &d.doc.spec;
    DesiredService {
        name: d.doc.metadata.name.clone(),
        cluster: crate::aws::ecs::cluster_name(&spec.cluster).to_owned(),
        service_name: spec
            .service_name
            .clone()
            .unwrap_or_else(|| d.doc.metadata.name.clone()),
        desired_count: spec.desired_count.unwrap_or(1),
        spec: spec.clone(),
        paused: d.doc.metadata.paused(),
        autoscaler: None,
        schedule: None,
        deployment_alarms: None,
        deployment_alarm_refs: BTreeMap::new(),
        retry_rollout: d
            .doc
            .metadata
            .annotations
            .get(crate::model::RETRY_ROLLOUT_ANNOTATION)
            .cloned(),
    }
}

impl Desired {
    /// What deserves a look but is valid: images that a push would not roll out.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (name, td) in &self.task_definitions {
            let containers = td.doc.spec.container_definitions.iter().enumerate();
            for (i, c) in containers {
                let Some(message) = crate::model::task_definition::image_warning(&c.image) else {
                    continue;
                };
                let field = format!("spec.containerDefinitions[{i}].image");
                let pos = td.origin.index.value_pos(&field);
                out.push(
                    Diagnostic::new(&td.origin.file, pos, message)
                        .in_document(DocRef::new(Kind::TaskDefinition, name).to_string())
                        .at_field(field),
                );
            }
        }
        out
    }
}
