//! `DiscoveryService`: an AWS Cloud Map service, its namespace and its static
//! instances (SPEC §2.4).

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::duration::Duration;
use super::{Cx, Kind, Spec};

pub const DEFAULT_TTL: u64 = 60;
pub const MAX_TTL: u64 = 2_147_483_647;
pub const DEFAULT_STALE_AFTER: Duration = Duration::secs(120);
/// Cloud Map's limit of custom attributes per instance.
pub const MAX_ATTRIBUTES: usize = 30;

/// A Cloud Map service that ECS services register into (`Service.serviceRegistries`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscoveryServiceSpec {
    /// The namespace the service lives in.
    pub namespace: Namespace,
    /// Cloud Map service name; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// DNS records of the service; DNS namespaces only (default: A records, TTL 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    /// Health reported by ECS (`HealthCheckCustomConfig`); set at creation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_custom: Option<bool>,
    /// Static registrations the operator owns, e.g. an external database endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<Instance>>,
    /// Deregister instances that are neither declared nor backed by a running ECS task; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_stale_instances: Option<bool>,
    /// An instance is removed once seen stale twice this far apart; default `2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_after: Option<Duration>,
}

/// A Cloud Map namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Namespace {
    /// Namespace name: a domain such as `internal.example.com` for DNS namespaces.
    pub name: String,
    /// `HTTP` (API discovery only), `DNS_PRIVATE` (a VPC's private zone) or `DNS_PUBLIC`.
    #[serde(rename = "type")]
    pub kind: NamespaceType,
    /// VPC id of a `DNS_PRIVATE` namespace the operator creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// Create the namespace when it is missing; default true. False: it must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NamespaceType {
    Http,
    DnsPrivate,
    DnsPublic,
}

impl NamespaceType {
    pub fn as_str(self) -> &'static str {
        match self {
            NamespaceType::Http => "HTTP",
            NamespaceType::DnsPrivate => "DNS_PRIVATE",
            NamespaceType::DnsPublic => "DNS_PUBLIC",
        }
    }

    pub fn is_dns(self) -> bool {
        self != NamespaceType::Http
    }
}

/// DNS configuration of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dns {
    /// Seconds resolvers cache the records, 0 to 2147483647; default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Record types, each once; default `[A]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_types: Option<Vec<RecordType>>,
    /// `MULTIVALUE` (up to eight healthy records) or `WEIGHTED` (one at random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_policy: Option<RoutingPolicy>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordType {
    A,
    Aaaa,
    Srv,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Srv => "SRV",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoutingPolicy {
    Multivalue,
    Weighted,
}

impl RoutingPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingPolicy::Multivalue => "MULTIVALUE",
            RoutingPolicy::Weighted => "WEIGHTED",
        }
    }
}

/// A static instance registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Instance {
    /// Instance id, unique in the service: 1 to 64 characters.
    pub id: String,
    /// Attributes, e.g. `AWS_INSTANCE_IPV4: 10.0.0.5` and `AWS_INSTANCE_PORT: "5432"`; at most 30.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Namespace {
    pub fn create(&self) -> bool {
        self.create.unwrap_or(true)
    }
}

impl Dns {
    pub fn ttl(&self) -> u64 {
        self.ttl.unwrap_or(DEFAULT_TTL)
    }

    pub fn record_types(&self) -> Vec<RecordType> {
        self.record_types
            .clone()
            .unwrap_or_else(|| vec![RecordType::A])
    }
}

impl DiscoveryServiceSpec {
    pub fn service_name<'a>(&'a self, doc_name: &'a str) -> &'a str {
        self.service_name.as_deref().unwrap_or(doc_name)
    }

    pub fn instances(&self) -> &[Instance] {
        self.instances.as_deref().unwrap_or_default()
    }

    pub fn remove_stale_instances(&self) -> bool {
        self.remove_stale_instances.unwrap_or(true)
    }

    pub fn stale_after(&self) -> Duration {
        self.stale_after.unwrap_or(DEFAULT_STALE_AFTER)
    }

    pub fn health_check_custom(&self) -> bool {
        self.health_check_custom.unwrap_or(false)
    }
}

/// A DNS name: dot-separated labels of letters, digits and `-`, at most 253 characters.
fn valid_domain(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    (1..=253).contains(&name.len()) && name.split('.').all(|l| valid_label(l, false))
}

/// 1 to 63 letters, digits and `-` (and `_` if allowed), not starting or ending with `-`.
fn valid_label(label: &str, underscore: bool) -> bool {
    (1..=63).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || (underscore && c == '_'))
}

fn valid_instance_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/:.@-".contains(c))
}

impl Spec for DiscoveryServiceSpec {
    const KIND: Kind = Kind::DiscoveryService;

    fn validate(&self, cx: &mut Cx<'_>) {
        let ns = &self.namespace;
        if ns.kind.is_dns() && !valid_domain(&ns.name) {
            cx.error(
                "spec.namespace.name",
                format!("`{}` is not a domain name: a DNS namespace is named like `internal.example.com`", ns.name),
            );
        } else if !(1..=1024).contains(&ns.name.len())
            || !ns.name.chars().all(|c| c.is_ascii_graphic())
        {
            cx.error(
                "spec.namespace.name",
                "must be 1 to 1024 printable characters without spaces",
            );
        }
        match (&ns.vpc, ns.kind) {
            (None, NamespaceType::DnsPrivate) if ns.create() => cx.error(
                "spec.namespace.vpc",
                "required to create a DNS_PRIVATE namespace: the VPC id (vpc-…)",
            ),
            (Some(_), NamespaceType::Http | NamespaceType::DnsPublic) => cx.error(
                "spec.namespace.vpc",
                format!(
                    "only DNS_PRIVATE namespaces have a VPC, not {}",
                    ns.kind.as_str()
                ),
            ),
            (Some(vpc), _) if !vpc.starts_with("vpc-") => cx.error(
                "spec.namespace.vpc",
                format!("`{vpc}` is not a VPC id (vpc-…)"),
            ),
            _ => {}
        }
        if let Some(name) = &self.service_name
            && !(name.len() <= 127 && name.split('.').all(|l| valid_label(l, true)))
        {
            cx.error(
                "spec.serviceName",
                format!("`{name}` is not a valid Cloud Map service name: dot-separated labels of letters, digits, `-` and `_`, at most 127 characters"),
            );
        }
        if let Some(dns) = &self.dns {
            if !ns.kind.is_dns() {
                cx.error("spec.dns", "only DNS namespaces have DNS records: remove `dns` or use a DNS_PRIVATE or DNS_PUBLIC namespace");
            }
            if let Some(ttl) = dns.ttl {
                cx.range("spec.dns.ttl", ttl, 0, MAX_TTL);
            }
            if let Some(types) = &dns.record_types {
                if types.is_empty() {
                    cx.error(
                        "spec.dns.recordTypes",
                        "must list at least one of A, AAAA and SRV",
                    );
                }
                let mut seen = BTreeSet::new();
                for (i, t) in types.iter().enumerate() {
                    if !seen.insert(t) {
                        let m = format!("{} is listed twice", t.as_str());
                        cx.error(&format!("spec.dns.recordTypes[{i}]"), m);
                    }
                }
            }
        }
        let mut ids = BTreeSet::new();
        for (i, inst) in self.instances().iter().enumerate() {
            let at = format!("spec.instances[{i}]");
            if !valid_instance_id(&inst.id) {
                cx.error(
                    &format!("{at}.id"),
                    format!(
                        "`{}` is not a valid instance id: 1 to 64 letters, digits and `_/:.@-`",
                        inst.id
                    ),
                );
            } else if !ids.insert(inst.id.as_str()) {
                let m = format!("instance id `{}` is used twice", inst.id);
                cx.error(&format!("{at}.id"), m);
            }
            let count = inst.attributes.len();
            cx.range(&format!("{at}.attributes"), count, 0, MAX_ATTRIBUTES);
            for (key, value) in &inst.attributes {
                if key.is_empty() || key.len() > 255 || value.chars().count() > 1024 {
                    cx.error(
                        &format!("{at}.attributes.{key}"),
                        "attribute keys are 1 to 255 characters and values at most 1024",
                    );
                }
            }
        }
        if let Some(after) = self.stale_after
            && after.as_secs() == 0
        {
            cx.error(
                "spec.staleAfter",
                "0s is too short: expected at least 1s, e.g. 2m",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{errors, spec};

    const PRIVATE: &str =
        "namespace: {name: internal.example.com, type: DNS_PRIVATE, vpc: vpc-1}\n";

    #[test]
    fn discovery_service_defaults_follow_the_spec() {
        let yaml = format!(
            "{PRIVATE}dns: {{routingPolicy: MULTIVALUE}}\ninstances: [{{id: db, attributes: {{AWS_INSTANCE_IPV4: 10.0.0.5}}}}]\n"
        );
        assert_eq!(errors::<DiscoveryServiceSpec>(&yaml), Vec::<String>::new());
        let d = spec::<DiscoveryServiceSpec>(&yaml);
        assert!(d.namespace.create());
        assert_eq!(d.service_name("api"), "api");
        let dns = d.dns.as_ref().expect("dns is set");
        assert_eq!((dns.ttl(), dns.record_types()), (60, vec![RecordType::A]));
        assert!(d.remove_stale_instances());
        assert_eq!(d.stale_after(), Duration::secs(120));
        assert_eq!(d.instances()[0].attributes["AWS_INSTANCE_IPV4"], "10.0.0.5");
    }

    #[test]
    fn discovery_service_needs_a_vpc_to_create_a_private_namespace() {
        let e = errors::<DiscoveryServiceSpec>(
            "namespace: {name: internal.example.com, type: DNS_PRIVATE}\n",
        );
        assert_eq!(
            e,
            ["spec.namespace.vpc: required to create a DNS_PRIVATE namespace: the VPC id (vpc-…)"]
        );
        let e = errors::<DiscoveryServiceSpec>(
            "namespace: {name: internal.example.com, type: DNS_PRIVATE, create: false}\n",
        );
        assert_eq!(e, Vec::<String>::new());
    }

    #[test]
    fn discovery_service_rejects_dns_in_an_http_namespace() {
        let e = errors::<DiscoveryServiceSpec>(
            "namespace: {name: apps, type: HTTP, vpc: vpc-1}\ndns: {ttl: 10}\n",
        );
        assert_eq!(
            e,
            [
                "spec.namespace.vpc: only DNS_PRIVATE namespaces have a VPC, not HTTP",
                "spec.dns: only DNS namespaces have DNS records: remove `dns` or use a DNS_PRIVATE or DNS_PUBLIC namespace",
            ]
        );
    }

    #[test]
    fn discovery_service_checks_ttl_and_record_types() {
        let e = errors::<DiscoveryServiceSpec>(&format!(
            "{PRIVATE}dns: {{ttl: 2147483648, recordTypes: [A, SRV, A]}}\n"
        ));
        assert_eq!(
            e,
            [
                "spec.dns.ttl: 2147483648 is out of range: expected 0 to 2147483647",
                "spec.dns.recordTypes[2]: A is listed twice",
            ]
        );
        let e = errors::<DiscoveryServiceSpec>(&format!("{PRIVATE}dns: {{recordTypes: []}}\n"));
        assert_eq!(
            e,
            ["spec.dns.recordTypes: must list at least one of A, AAAA and SRV"]
        );
    }

    #[test]
    fn discovery_service_checks_instances() {
        let attrs: Vec<String> = (0..31).map(|i| format!("k{i}: v")).collect();
        let e = errors::<DiscoveryServiceSpec>(&format!(
            "{PRIVATE}instances:\n  - {{id: db}}\n  - {{id: db}}\n  - {{id: ''}}\n  - {{id: x, attributes: {{{}}}}}\n",
            attrs.join(", ")
        ));
        assert_eq!(
            e,
            [
                "spec.instances[1].id: instance id `db` is used twice",
                "spec.instances[2].id: `` is not a valid instance id: 1 to 64 letters, digits and `_/:.@-`",
                "spec.instances[3].attributes: 31 is out of range: expected 0 to 30",
            ]
        );
    }

    #[test]
    fn discovery_service_rejects_a_namespace_that_is_not_a_domain() {
        let e = errors::<DiscoveryServiceSpec>(
            "namespace: {name: 'bad name', type: DNS_PUBLIC}\nstaleAfter: 0s\n",
        );
        assert_eq!(
            e,
            [
                "spec.namespace.name: `bad name` is not a domain name: a DNS namespace is named like `internal.example.com`",
                "spec.staleAfter: 0s is too short: expected at least 1s, e.g. 2m",
            ]
        );
    }
}
