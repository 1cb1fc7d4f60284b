//! Live ECS services matched to the Service documents that declare them, in
//! one merge of two maps sorted by (cluster, name): no lookup per service and
//! no key to allocate, which at 10,000 services is most of a plan's time.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::aws::ecs::ObservedService;
use crate::desired::Desired;
use crate::observed::Observed;

pub struct EcsIndex<'a> {
    /// Service document → its live service.
    pub live: BTreeMap<&'a str, &'a ObservedService>,
    /// Every live service with the document that declares it, if any, in
    /// (cluster, name) order.
    pub all: Vec<(&'a ObservedService, Option<&'a str>)>,
}

impl<'a> EcsIndex<'a> {
    pub fn new(desired: &'a Desired, observed: &'a Observed) -> Self {
        let mut declared = desired.ecs_services.iter().peekable();
        let mut all = Vec::with_capacity(observed.services.len());
        for (key, live) in &observed.services {
            let mut doc = None;
            while let Some((k, d)) = declared.peek() {
                match (*k).cmp(key) {
                    Ordering::Less => {
                        declared.next();
                    }
                    Ordering::Equal => {
                        doc = Some(d.as_str());
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
            all.push((live, doc));
        }
        let live = all
            .iter()
            .filter_map(|(live, doc)| Some(((*doc)?, *live)))
            .collect();
        EcsIndex { live, all }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Source;

    fn live(cluster: &str, name: &str) -> ObservedService {
        ObservedService {
            cluster: cluster.to_owned(),
            name: name.to_owned(),
            ..ObservedService::default()
        }
    }

    #[test]
    fn live_services_are_matched_to_their_documents_by_cluster_and_name() {
        let docs = "apiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec: {cluster: b, taskDefinition: t, serviceName: web-svc}\n---\napiVersion: ecs-operator/v1alpha1\nkind: Service\nmetadata: {name: api}\nspec: {cluster: a, taskDefinition: t}\n";
        let source = Source {
            files: vec![("d.yaml".to_owned(), docs.to_owned())],
            revision: "r".to_owned(),
        };
        let d = Desired::from_source(&source).unwrap_or_else(|e| panic!("{e}"));
        let mut o = Observed::default();
        for (c, n) in [
            ("a", "api"),
            ("a", "old"),
            ("b", "web"),
            ("b", "web-svc"),
            ("c", "x"),
        ] {
            o.services.insert((c.to_owned(), n.to_owned()), live(c, n));
        }
        let index = EcsIndex::new(&d, &o);
        let matched: Vec<(&str, Option<&str>)> = index
            .all
            .iter()
            .map(|(l, doc)| (l.name.as_str(), *doc))
            .collect();
        assert_eq!(
            matched,
            [
                ("api", Some("api")),
                ("old", None),
                ("web", None),
                ("web-svc", Some("web")),
                ("x", None)
            ]
        );
        assert_eq!(index.live["web"].name, "web-svc");
        assert_eq!(index.live.len(), 2);
    }
}
