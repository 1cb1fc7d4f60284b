//! Task definition families: the latest ACTIVE revision of each TaskDefinition
//! document's family (one DescribeTaskDefinition each, every loop), the ACTIVE
//! revisions retention looks at (listed only when the latest revision
//! changed), and the undeclared families this instance owns (listed only when
//! the desired state changed: only then can a family become orphaned).

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::ecs::{EcsApi, ObservedTaskDefinition, family_of_arn, revision_of_arn};
use crate::desired::Desired;
use crate::observed::{ActiveRevision, Memory, Observed};
use crate::plan::INSTANCE_TAG;

pub(super) async fn observe_task_definitions<E: EcsApi>(
    desired: &Desired,
    ecs: &E,
    instance: &str,
    memory: &mut Memory,
    observed: &mut Observed,
) {
    for (name, td) in &desired.task_definitions {
        let family = td.doc.spec.family_or(name);
        let latest = latest_active(ecs, family).await;
        if let Ok(Some(latest)) = &latest
            && latest.tags.get(INSTANCE_TAG).map(String::as_str) == Some(instance)
        {
            let keep = td.doc.spec.keep_revisions() as usize;
            active_revisions(ecs, latest, keep, memory, observed).await;
        }
        // An unowned latest revision over one of this instance's is drift (a
        // revision registered by hand), not a family to adopt: one more
        // describe, only while it lasts.
        if let Ok(Some(latest)) = &latest
            && !latest.tags.contains_key(INSTANCE_TAG)
            && latest.revision > 1
        {
            let previous = format!("{family}:{}", latest.revision - 1);
            if let Ok(Some(p)) = ecs.describe_task_definition(&previous).await
                && p.tags.get(INSTANCE_TAG).map(String::as_str) == Some(instance)
            {
                observed.foreign_latest.insert(name.clone());
            }
        }
        observed.revisions.insert(name.clone(), latest);
    }
    undeclared_families(desired, ecs, memory, observed).await;
    // Only this instance's families can be its orphans.
    let owned_orphans: Vec<ObservedTaskDefinition> = observed
        .undeclared_families
        .iter()
        .flat_map(|f| f.values())
        .filter(|td| td.tags.get(INSTANCE_TAG).map(String::as_str) == Some(instance))
        .cloned()
        .collect();
    for latest in &owned_orphans {
        // Every revision of an orphaned family may go: none is kept by count.
        active_revisions(ecs, latest, 0, memory, observed).await;
    }
    if retirement_possible(desired, instance, observed) {
        observed.running_task_definitions = running(ecs, observed).await;
    }
    let families: Vec<&str> = desired
        .task_definitions
        .iter()
        .map(|(n, td)| td.doc.spec.family_or(n))
        .chain(owned_orphans.iter().map(|td| td.family.as_str()))
        .collect();
    memory
        .active_revisions
        .retain(|family, _| families.contains(&family.as_str()));
}

/// Whether some ACTIVE revision may be deregistered this loop: a family with
/// more revisions than its document keeps, an orphaned family with any. Only
/// then are the running tasks listed.
fn retirement_possible(desired: &Desired, instance: &str, observed: &Observed) -> bool {
    let kept: BTreeMap<&str, usize> = desired
        .task_definitions
        .iter()
        .map(|(n, td)| {
            (
                td.doc.spec.family_or(n),
                td.doc.spec.keep_revisions() as usize,
            )
        })
        .collect();
    observed.active_revisions.iter().any(|(family, revisions)| {
        let keep = kept.get(family.as_str()).copied().unwrap_or(0);
        revisions
            .iter()
            .take(revisions.len().saturating_sub(keep))
            .any(|r| {
                r.tags
                    .as_ref()
                    .is_some_and(|t| t.get(INSTANCE_TAG).map(String::as_str) == Some(instance))
            })
    })
}

/// Task definitions of the tasks of every listed cluster, or `None` when one
/// cluster could not be read.
async fn running<E: EcsApi>(ecs: &E, observed: &mut Observed) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    let clusters: Vec<String> = observed.listed_clusters.iter().cloned().collect();
    for cluster in clusters
        .iter()
        .filter(|c| !observed.missing_clusters.contains(*c))
    {
        match ecs.running_task_definitions(cluster).await {
            Ok(tds) => all.extend(tds),
            Err(e) => {
                observed
                    .errors
                    .insert(format!("tasks of cluster {cluster}"), e.to_string());
                return None;
            }
        }
    }
    Some(all)
}

/// The latest ACTIVE revision of `family`. ECS describes a family by its
/// latest ACTIVE revision; moto by its highest, even INACTIVE
/// (TASKDEF-FACTS §3): then the ACTIVE ones are listed and the last described.
pub(super) async fn latest_active<E: EcsApi>(
    ecs: &E,
    family: &str,
) -> Result<Option<ObservedTaskDefinition>, String> {
    let found = ecs
        .describe_task_definition(family)
        .await
        .map_err(|e| e.to_string())?;
    match found {
        Some(td) if td.status != "ACTIVE" => {
            let active = ecs
                .list_task_definitions(family)
                .await
                .map_err(|e| e.to_string())?;
            match active.last() {
                Some(arn) => ecs
                    .describe_task_definition(arn)
                    .await
                    .map_err(|e| e.to_string()),
                None => Ok(None),
            }
        }
        other => Ok(other),
    }
}

/// The ACTIVE revisions of `latest`'s family, with the tags of those older
/// than the newest `keep` (the only ones retention may deregister). Listed
/// again only when the family's latest revision is another than last time.
async fn active_revisions<E: EcsApi>(
    ecs: &E,
    latest: &ObservedTaskDefinition,
    keep: usize,
    memory: &mut Memory,
    observed: &mut Observed,
) {
    let family = latest.family.clone();
    let remembered = memory.active_revisions.get(&family);
    let mut revisions = match remembered {
        Some((arn, revisions)) if *arn == latest.arn => revisions.clone(),
        _ => match ecs.list_task_definitions(&family).await {
            Ok(arns) => {
                let known: BTreeMap<&str, &ActiveRevision> = remembered
                    .iter()
                    .flat_map(|(_, r)| r.iter())
                    .map(|r| (r.arn.as_str(), r))
                    .collect();
                let mut revisions: Vec<ActiveRevision> = arns
                    .iter()
                    .map(|arn| ActiveRevision {
                        arn: arn.clone(),
                        revision: revision_of_arn(arn).unwrap_or_default(),
                        tags: known.get(arn.as_str()).and_then(|r| r.tags.clone()),
                    })
                    .collect();
                revisions.sort_by_key(|r| r.revision);
                revisions
            }
            Err(e) => {
                observed
                    .errors
                    .insert(format!("revisions of {family}"), e.to_string());
                return;
            }
        },
    };
    let older = revisions.len().saturating_sub(keep);
    for r in revisions
        .iter_mut()
        .take(older)
        .filter(|r| r.tags.is_none())
    {
        match ecs.tags_of(&r.arn).await {
            Ok(tags) => r.tags = Some(tags),
            Err(e) => {
                observed
                    .errors
                    .insert(format!("tags of {}", r.arn), e.to_string());
            }
        }
    }
    memory
        .active_revisions
        .insert(family.clone(), (latest.arn.clone(), revisions.clone()));
    observed.active_revisions.insert(family, revisions);
}

/// Families no document declares, with their latest revision: listed (one
/// ListTaskDefinitionFamilies, one DescribeTaskDefinition per family not seen
/// before) when the desired state is another revision than last time.
async fn undeclared_families<E: EcsApi>(
    desired: &Desired,
    ecs: &E,
    memory: &mut Memory,
    observed: &mut Observed,
) {
    // Families Services name with `taskDefinition` are someone else's by
    // declaration: not described again.
    let named = desired
        .services
        .values()
        .filter_map(|s| s.spec.task_definition.as_deref())
        .map(family_of_arn);
    let declared: Vec<&str> = desired
        .task_definitions
        .iter()
        .map(|(n, td)| td.doc.spec.family_or(n))
        .chain(named)
        .collect();
    if let Some((revision, found)) = &memory.undeclared_families
        && *revision == desired.revision
    {
        let mut found = found.clone();
        found.retain(|f, _| !declared.contains(&f.as_str()));
        observed.undeclared_families = Some(found);
        return;
    }
    let families = match ecs.list_task_definition_families().await {
        Ok(f) => f,
        Err(e) => {
            observed
                .errors
                .insert("task definition families".to_owned(), e.to_string());
            return;
        }
    };
    let before = memory.undeclared_families.take().map(|(_, f)| f);
    let mut found = BTreeMap::new();
    for family in families
        .into_iter()
        .filter(|f| !declared.contains(&f.as_str()))
    {
        // A family seen before keeps its owner: ownership tags are the operator's own.
        if let Some(td) = before.as_ref().and_then(|b| b.get(&family)) {
            found.insert(family, td.clone());
            continue;
        }
        match latest_active(ecs, &family).await {
            Ok(Some(td)) => {
                found.insert(family, td);
            }
            Ok(None) => {}
            Err(e) => {
                observed
                    .errors
                    .insert(format!("task definition family {family}"), e);
                return;
            }
        }
    }
    memory.undeclared_families = Some((desired.revision.clone(), found.clone()));
    observed.undeclared_families = Some(found);
}
