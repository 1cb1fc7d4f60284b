//! `ecs-operator import`: reads the cluster, refuses what would overwrite or
//! duplicate, writes the files (src/import.rs makes them).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use super::{FAILED, OK, load};
use crate::aws::Clients;
use crate::aws::call::RetryPolicy;
use crate::cli::{Files, ImportArgs};
use crate::metrics::Metrics;

/// `import`: one file per live service no document declares.
pub async fn import(retry: RetryPolicy, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let mut declared = std::collections::BTreeSet::new();
    let mut taken = std::collections::BTreeSet::new();
    let mut families = std::collections::BTreeMap::new();
    let mut channels = std::collections::BTreeMap::new();
    if !args.files.is_empty() {
        let Some(desired) = load(&Files {
            files: args.files.clone(),
        }) else {
            return Ok(ExitCode::from(FAILED));
        };
        declared.extend(desired.ecs_services.keys().cloned());
        use crate::model::Kind;
        taken.extend(desired.services.keys().map(|n| (Kind::Service, n.clone())));
        taken.extend(
            desired
                .autoscalers
                .keys()
                .map(|n| (Kind::Autoscaler, n.clone())),
        );
        taken.extend(desired.alarms.keys().map(|n| (Kind::Alarm, n.clone())));
        for (name, c) in &desired.channels {
            let spec = &c.doc.spec;
            if let Some(topic) = spec.topic_arn.clone().or_else(|| spec.topic_name.clone()) {
                channels.insert(name.clone(), topic);
            }
        }
        for (name, td) in &desired.task_definitions {
            taken.insert((Kind::TaskDefinition, name.clone()));
            families.insert(td.doc.spec.family_or(name).to_owned(), name.clone());
        }
    }
    let cluster = crate::aws::ecs::cluster_name(&args.cluster).to_owned();
    let options = crate::import::ImportOptions {
        cluster: cluster.clone(),
        services: args.services.clone(),
        with_task_definitions: args.with_task_definitions,
        declared,
        taken,
        channels,
        families,
        schema: args.schema.clone(),
    };
    for name in &args.services {
        if options.declared.contains(&(cluster.clone(), name.clone())) {
            anyhow::bail!("service {cluster}/{name} is already declared by a document in -f");
        }
    }
    let metrics = Arc::new(Metrics::default());
    let aws = Clients::from_environment(metrics.clone(), retry).await;
    let started = std::time::Instant::now();
    let files = crate::import::import(&aws, &options, |done, total| {
        eprintln!("import: {done} of {total} services of {cluster}");
    })
    .await
    .context("reading the cluster")?;
    let existing: Vec<String> = files
        .iter()
        .map(|f| args.out.join(&f.name))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        anyhow::bail!(
            "{} exist already; nothing was written (--force overwrites them)",
            existing.join(", ")
        );
    }
    std::fs::create_dir_all(&args.out).context("creating the output directory")?;
    for f in &files {
        for w in &f.warnings {
            eprintln!(
                "warning: {}: environment variable {w} looks like a credential: move it to `secrets` (valueFrom)",
                f.name
            );
        }
        let path = args.out.join(&f.name);
        std::fs::write(&path, &f.text).with_context(|| format!("writing {}", path.display()))?;
    }
    let calls: u64 = metrics.call_counts().values().sum();
    println!(
        "import: {} services of {cluster} written to {} ({calls} AWS calls, {:.1} s)",
        files.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::from(OK))
}
