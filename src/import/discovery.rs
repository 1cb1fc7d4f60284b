//! The Cloud Map service an ECS service registers into as the
//! `DiscoveryService` document that declares it: the namespace must exist
//! (`create: false`), and stale-instance cleanup starts off where instances
//! are registered already, so the first apply removes nothing.

use crate::aws::discovery::{ObservedCmService, ObservedNamespace};
use crate::model::discovery::{DiscoveryServiceSpec, Dns, Namespace};

/// The spec, and the comment that says why cleanup is on or off.
pub fn spec(
    service: &ObservedCmService,
    namespace: &ObservedNamespace,
    doc_name: &str,
    instances: usize,
) -> Option<(DiscoveryServiceSpec, String)> {
    let kind = serde_json::from_value(serde_json::json!(namespace.kind)).ok()?;
    let dns = match &service.dns {
        Some(d) => Some(Dns {
            ttl: Some(d.ttl),
            record_types: Some(
                d.record_types
                    .iter()
                    .map(|t| serde_json::from_value(serde_json::json!(t)).ok())
                    .collect::<Option<Vec<_>>>()?,
            ),
            routing_policy: serde_json::from_value(serde_json::json!(d.routing_policy)).ok(),
        }),
        None => None,
    };
    let cleanup_off = instances > 0;
    let comment = if cleanup_off {
        format!(
            "{instances} instances are registered now: removeStaleInstances is off, so the first apply deregisters none. Turn it on once they are what ECS's running tasks register."
        )
    } else {
        "No instances are registered: stale-instance cleanup stays on (the default).".to_owned()
    };
    let spec = DiscoveryServiceSpec {
        namespace: Namespace {
            name: namespace.name.clone(),
            kind,
            vpc: None,
            create: Some(false),
        },
        service_name: (service.name != doc_name).then(|| service.name.clone()),
        dns,
        health_check_custom: service.health_check_custom.then_some(true),
        instances: None,
        remove_stale_instances: cleanup_off.then_some(false),
        stale_after: None,
    };
    Some((spec, comment))
}
