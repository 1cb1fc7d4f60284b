//! TaskDefinition documents against a real moto server: register, no-op,
//! a new image rolls every referencing service once, tags alone register
//! nothing, a revert registers the old content again, adoption, a revision
//! registered by hand, retention and prune.

mod support;

use std::collections::BTreeMap;

use support::docs::{service_of, task_definition};
use support::{Moto, block_on, describe, path_str, unique, write_docs};

/// ACTIVE revisions of `family`, oldest first (moto ignores `sort`).
fn active(moto: &Moto, family: &str) -> Vec<String> {
    let out = block_on(
        moto.ecs()
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send(),
    )
    .expect("ListTaskDefinitions");
    let mut arns = out.task_definition_arns().to_vec();
    arns.sort_by_key(|a| revision(a));
    arns
}

fn revision(arn: &str) -> u32 {
    arn.rsplit(':')
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn tags(moto: &Moto, arn: &str) -> BTreeMap<String, String> {
    let out = block_on(moto.ecs().list_tags_for_resource().resource_arn(arn).send())
        .expect("ListTagsForResource");
    out.tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn image(moto: &Moto, arn: &str) -> String {
    let out = block_on(
        moto.ecs()
            .describe_task_definition()
            .task_definition(arn)
            .send(),
    )
    .expect("DescribeTaskDefinition");
    let td = out.task_definition().expect("a task definition");
    td.container_definitions()[0]
        .image()
        .unwrap_or_default()
        .to_owned()
}

fn running(moto: &Moto, cluster: &str, service: &str) -> String {
    let td = describe(moto, cluster, service)
        .task_definition()
        .unwrap_or_default()
        .to_owned();
    td.rsplit('/').next().unwrap_or_default().to_owned()
}

struct Estate {
    cluster: String,
    family: String,
    instance: String,
}

impl Estate {
    fn new(moto: &Moto) -> Estate {
        let cluster = unique("tdc");
        moto.platform(&["cluster", &cluster]);
        Estate {
            cluster,
            family: unique("tdweb"),
            instance: unique("inst"),
        }
    }

    /// The TaskDefinition `web` running `image` and two Services that reference it.
    fn docs(&self, moto: &Moto, image: &str) -> String {
        let net = moto.network();
        format!(
            "{}---\n{}---\n{}",
            task_definition("web", &self.family, image),
            service_of("web", &self.cluster, "web").fargate(net).build(),
            service_of("web-canary", &self.cluster, "web")
                .fargate(net)
                .build(),
        )
    }

    fn apply(&self, moto: &Moto, docs: &str, extra: &[&str]) -> support::Run {
        let dir = write_docs(&[("estate.yaml", docs.to_owned())]);
        let mut args = vec![
            "apply",
            "-f",
            path_str(dir.path()),
            "--instance",
            &self.instance,
        ];
        args.extend_from_slice(extra);
        let run = moto.operator(&args);
        run.expect_code(0);
        run
    }

    fn plan(&self, moto: &Moto, docs: &str) -> support::Run {
        let dir = write_docs(&[("estate.yaml", docs.to_owned())]);
        moto.operator(&[
            "plan",
            "-f",
            path_str(dir.path()),
            "--instance",
            &self.instance,
        ])
    }
}

#[test]
fn an_image_change_is_one_registration_and_one_update_per_service_and_tags_alone_register_nothing()
{
    let moto = Moto::shared();
    let e = Estate::new(moto);
    let v1 = e.docs(moto, "repo/web:1.4");

    let first = e.apply(moto, &v1, &[]);
    assert!(
        first.stdout.contains("+ TaskDefinition/web"),
        "{}",
        first.stdout
    );
    let revisions = active(moto, &e.family);
    assert_eq!(revisions.len(), 1);
    let t = tags(moto, &revisions[0]);
    assert_eq!(t.get("ecs-operator/instance"), Some(&e.instance));
    assert_eq!(
        t.get("ecs-operator/owner").map(String::as_str),
        Some("TaskDefinition/web")
    );
    assert_eq!(t.get("team").map(String::as_str), Some("core"));
    assert!(t.contains_key("ecs-operator/content"));
    for s in ["web", "web-canary"] {
        assert_eq!(running(moto, &e.cluster, s), format!("{}:1", e.family));
    }

    // No-op: nothing written over three applies, and the plan is empty.
    for _ in 0..3 {
        let again = e.apply(moto, &v1, &[]);
        assert_eq!(again.writes(), 0, "{}", again.stdout);
    }
    let plan = e.plan(moto, &v1);
    plan.expect_code(0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);

    // A new image: the plan reads as a field diff; one registration, one
    // UpdateService for each of the two services.
    let v2 = v1.replace("repo/web:1.4", "repo/web:1.5");
    let plan = e.plan(moto, &v2);
    assert!(
        plan.stdout
            .contains("containerDefinitions[web].image: repo/web:1.4 → repo/web:1.5"),
        "{}",
        plan.stdout
    );
    let roll = e.apply(moto, &v2, &[]);
    assert_eq!(roll.writes(), 3, "{}", roll.stdout);
    assert_eq!(active(moto, &e.family).len(), 2);
    for s in ["web", "web-canary"] {
        assert_eq!(running(moto, &e.cluster, s), format!("{}:2", e.family));
    }

    // Tags alone: the revision is tagged, nothing registered, nothing rolls.
    let retagged = v2.replace("tags: {team: core}", "tags: {team: payments}");
    let tag = e.apply(moto, &retagged, &[]);
    assert_eq!(tag.writes(), 1, "{}", tag.stdout);
    let revisions = active(moto, &e.family);
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        tags(moto, &revisions[1]).get("team").map(String::as_str),
        Some("payments")
    );

    // git revert: a new revision with the old content, and the services roll to it.
    let reverted = retagged.replace("repo/web:1.5", "repo/web:1.4");
    e.apply(moto, &reverted, &[]);
    let revisions = active(moto, &e.family);
    assert_eq!(revisions.len(), 3);
    assert_eq!(image(moto, &revisions[2]), "repo/web:1.4");
    assert_eq!(running(moto, &e.cluster, "web"), format!("{}:3", e.family));
}

#[test]
fn an_unowned_family_equal_to_its_document_is_adopted_without_a_registration() {
    let moto = Moto::shared();
    let e = Estate::new(moto);
    let docs = e.docs(moto, "repo/web:2.0");
    // First registered by someone else (another tool, another instance name
    // that was then removed): the same content, no ownership tags.
    let other = Estate {
        instance: unique("gone"),
        ..Estate {
            cluster: e.cluster.clone(),
            family: e.family.clone(),
            instance: String::new(),
        }
    };
    let td_only = task_definition("web", &e.family, "repo/web:2.0");
    other.apply(moto, &td_only, &[]);
    let arn = active(moto, &e.family)[0].clone();
    block_on(
        moto.ecs()
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(vec![
                "ecs-operator/instance".into(),
                "ecs-operator/owner".into(),
                "ecs-operator/content".into(),
            ]))
            .send(),
    )
    .expect("UntagResource");

    let plan = e.plan(moto, &docs);
    assert!(
        plan.stdout.contains("= TaskDefinition/web"),
        "{}",
        plan.stdout
    );
    e.apply(moto, &docs, &[]);
    assert_eq!(active(moto, &e.family), vec![arn.clone()]);
    assert_eq!(
        tags(moto, &arn).get("ecs-operator/instance"),
        Some(&e.instance)
    );
}

#[test]
fn a_revision_registered_by_hand_is_reported_and_the_document_registered_again() {
    let moto = Moto::shared();
    let e = Estate::new(moto);
    let docs = e.docs(moto, "repo/web:3.0");
    e.apply(moto, &docs, &[]);
    // Someone registers a hotfix by hand over the operator's revision.
    let container = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("web")
        .image("repo/web:hotfix")
        .build();
    block_on(
        moto.ecs()
            .register_task_definition()
            .family(&e.family)
            .container_definitions(container)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .send(),
    )
    .expect("RegisterTaskDefinition by hand");

    let plan = e.plan(moto, &docs);
    assert!(
        plan.stdout.contains("~ TaskDefinition/web"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("containerDefinitions[web].image: repo/web:hotfix → repo/web:3.0"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("registered over the operator's revisions"),
        "{}",
        plan.stdout
    );
    e.apply(moto, &docs, &[]);
    let revisions = active(moto, &e.family);
    assert_eq!(revisions.len(), 3);
    assert_eq!(image(moto, &revisions[2]), "repo/web:3.0");
}

#[test]
fn retention_keeps_the_newest_revisions_and_prune_retires_an_orphaned_family() {
    let moto = Moto::shared();
    let e = Estate::new(moto);
    let keep = |docs: String| {
        docs.replace(
            "  tags: {team: core}",
            "  keepRevisions: 2\n  tags: {team: core}",
        )
    };
    for v in 1..=4 {
        e.apply(moto, &keep(e.docs(moto, &format!("repo/web:{v}"))), &[]);
    }
    // One deregistration a loop: a few more applies converge.
    let last = keep(e.docs(moto, "repo/web:4"));
    for _ in 0..3 {
        e.apply(moto, &last, &[]);
    }
    // Kept: the newest two, and what a deployment still uses (moto never
    // moves a service's PRIMARY deployment off the revision it was created
    // with: :1 stays in use there).
    let mut kept = vec![3, 4];
    for s in ["web", "web-canary"] {
        let svc = describe(moto, &e.cluster, s);
        kept.extend(
            svc.deployments()
                .iter()
                .map(|d| revision(d.task_definition().unwrap_or_default())),
        );
    }
    kept.sort();
    kept.dedup();
    let revisions = active(moto, &e.family);
    assert_eq!(
        revisions.iter().map(|a| revision(a)).collect::<Vec<_>>(),
        kept,
        "{revisions:?}"
    );
    assert!(!kept.contains(&2), "the unused :2 is deregistered");

    // A TaskDefinition document no service references, then removed.
    let batch = unique("tdbatch");
    let with_batch = format!(
        "{last}---\n{}",
        task_definition("batch", &batch, "repo/batch:1")
    );
    e.apply(moto, &with_batch, &[]);
    assert_eq!(active(moto, &batch).len(), 1);
    let plan = e.plan(moto, &last);
    assert!(
        plan.stdout.contains("! TaskDefinition/batch"),
        "{}",
        plan.stdout
    );
    e.apply(moto, &last, &[]);
    assert_eq!(active(moto, &batch).len(), 1, "kept without --prune");
    e.apply(moto, &last, &["--prune"]);
    assert!(active(moto, &batch).is_empty());
    // The family still declared keeps its revisions.
    assert_eq!(active(moto, &e.family).len(), kept.len());
}
