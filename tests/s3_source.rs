//! `run --source s3://bucket/prefix/` against moto's S3: objects uploaded the
//! way CI uploads them, read through `SdkS3`, calls counted by the metrics.

mod support;

use std::path::Path;
use std::sync::Arc;

use ecs_operator::aws::call::RetryPolicy;
use ecs_operator::aws::s3::{S3Api, SdkS3};
use ecs_operator::desired::Desired;
use ecs_operator::load::Source;
use ecs_operator::load::s3::{S3Read, S3Source};
use ecs_operator::metrics::Metrics;
use jiff::Timestamp;
use support::{Moto, block_on, root, unique};

const CHANNEL: &str = "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {name: NAME}\nspec: {topicName: NAME}\n";

fn channel(name: &str) -> String {
    CHANNEL.replace("NAME", name)
}

/// A new bucket and a reader with its own metrics.
async fn bucket(moto: &Moto) -> (String, SdkS3, Arc<Metrics>) {
    let bucket = unique("desired");
    moto.s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let metrics = Arc::new(Metrics::default());
    let reader = SdkS3::new(&moto.sdk_config(), metrics.clone(), RetryPolicy::default());
    (bucket, reader, metrics)
}

async fn put(moto: &Moto, bucket: &str, key: &str, text: impl Into<Vec<u8>>) {
    moto.s3()
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(text.into().into())
        .send()
        .await
        .expect("put object");
}

fn calls(metrics: &Metrics, operation: &str) -> u64 {
    metrics
        .call_counts()
        .get(&format!("s3:{operation}"))
        .copied()
        .unwrap_or(0)
}

async fn ready(src: &mut S3Source, s3: &SdkS3) -> Source {
    match src.read(s3).await {
        Ok(S3Read::Ready(source)) => source,
        Ok(incomplete) => panic!("not ready: {incomplete:?}"),
        Err(diags) => panic!("{diags}"),
    }
}

/// The modification time S3 gave an object, as a listing shows it.
async fn written(s3: &SdkS3, bucket: &str, key: &str) -> Timestamp {
    let listing = s3.list(bucket, key).await.expect("list");
    listing
        .iter()
        .find(|o| o.key == key)
        .map(|o| o.last_modified)
        .expect("object listed")
}

/// Returns once the clock is in a later second than `t` (S3 keeps whole seconds).
fn wait_for_the_second_after(t: Timestamp) {
    support::poll(std::time::Duration::from_secs(3), "the next second", || {
        Timestamp::now().as_second() > t.as_second()
    });
}

#[test]
fn an_unchanged_object_is_not_fetched_again_and_a_changed_one_is_fetched_alone() {
    let moto = Moto::shared();
    block_on(async {
        let (bucket, s3, metrics) = bucket(moto).await;
        put(moto, &bucket, "desired/a.yaml", channel("a")).await;
        put(moto, &bucket, "desired/b.yaml", channel("b")).await;
        let mut src = S3Source::parse(&format!("s3://{bucket}/desired")).expect("url");
        let first = ready(&mut src, &s3).await;
        assert_eq!(
            (
                calls(&metrics, "ListObjectsV2"),
                calls(&metrics, "GetObject")
            ),
            (1, 2)
        );
        let again = ready(&mut src, &s3).await;
        assert_eq!(
            (
                calls(&metrics, "ListObjectsV2"),
                calls(&metrics, "GetObject")
            ),
            (2, 2)
        );
        assert_eq!(again.revision, first.revision);
        put(moto, &bucket, "desired/b.yaml", channel("b2")).await;
        let changed = ready(&mut src, &s3).await;
        assert_eq!(calls(&metrics, "GetObject"), 3);
        assert_eq!(changed.files[1].1, channel("b2"));
        assert_ne!(changed.revision, first.revision);
    });
}

#[test]
fn the_revision_object_ci_writes_names_the_revision() {
    let moto = Moto::shared();
    block_on(async {
        let (bucket, s3, _) = bucket(moto).await;
        put(moto, &bucket, "desired/a.yaml", channel("a")).await;
        put(moto, &bucket, "desired/REVISION", "3f9a0c1d2e\n").await;
        let mut src = S3Source::parse(&format!("s3://{bucket}/desired/")).expect("url");
        let source = ready(&mut src, &s3).await;
        assert_eq!(source.revision, "3f9a0c1d2e");
        let names: Vec<&str> = source.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, [format!("s3://{bucket}/desired/a.yaml")]);
    });
}

#[test]
fn a_document_uploaded_after_revision_is_an_upload_in_progress_until_revision_follows() {
    let moto = Moto::shared();
    block_on(async {
        let (bucket, s3, metrics) = bucket(moto).await;
        put(moto, &bucket, "desired/a.yaml", channel("a")).await;
        put(moto, &bucket, "desired/REVISION", "r1").await;
        let mut src = S3Source::parse(&format!("s3://{bucket}/desired/")).expect("url");
        assert_eq!(ready(&mut src, &s3).await.revision, "r1");
        let r1 = written(&s3, &bucket, "desired/REVISION").await;
        wait_for_the_second_after(r1);
        // The next upload has begun: a document, not yet REVISION.
        put(moto, &bucket, "desired/a.yaml", channel("a2")).await;
        let gets = calls(&metrics, "GetObject");
        match src.read(&s3).await {
            Ok(S3Read::Incomplete {
                revision_hint,
                newest_document,
                revision_written,
            }) => {
                assert_eq!(revision_hint, "r1");
                assert_eq!(revision_written, r1);
                assert!(newest_document > revision_written, "{newest_document}");
            }
            other => panic!("not incomplete: {other:?}"),
        }
        assert_eq!(
            calls(&metrics, "GetObject"),
            gets,
            "nothing fetched mid-upload"
        );
        // REVISION last, in the same second or later: complete.
        put(moto, &bucket, "desired/REVISION", "r2").await;
        let source = ready(&mut src, &s3).await;
        assert_eq!(source.revision, "r2");
        assert_eq!(source.files[0].1, channel("a2"));
    });
}

#[test]
fn nested_keys_are_documents_and_hidden_or_other_keys_are_not() {
    let moto = Moto::shared();
    block_on(async {
        let (bucket, s3, _) = bucket(moto).await;
        for key in [
            "desired/team-a/web.yaml",
            "desired/team-a/deep/er.yml",
            "desired/top.json",
            "desired/.drafts/x.yaml",
            "desired/notes.txt",
            "elsewhere/y.yaml",
        ] {
            let name = Path::new(key)
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("stem");
            let text = if key.ends_with(".json") {
                format!(
                    r#"{{"apiVersion": "ecs-operator/v1alpha1", "kind": "AlertChannel", "metadata": {{"name": "{name}"}}, "spec": {{"topicName": "{name}"}}}}"#
                )
            } else {
                channel(name)
            };
            put(moto, &bucket, key, text).await;
        }
        let mut src = S3Source::parse(&format!("s3://{bucket}/desired/")).expect("url");
        let source = ready(&mut src, &s3).await;
        let names: Vec<String> = source.files.iter().map(|(n, _)| n.clone()).collect();
        let want: Vec<String> = ["team-a/deep/er.yml", "team-a/web.yaml", "top.json"]
            .iter()
            .map(|k| format!("s3://{bucket}/desired/{k}"))
            .collect();
        assert_eq!(names, want);
        let desired = Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(desired.count(), 3);
    });
}

/// Every `*.yaml` under `dir`, relative to it.
fn example_files(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("examples") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            example_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let key = path.strip_prefix(base).expect("relative");
            out.push((
                key.to_str().expect("utf-8").to_owned(),
                std::fs::read(&path).expect("read"),
            ));
        }
    }
}

#[test]
fn the_examples_uploaded_to_s3_are_the_same_valid_desired_state_as_on_disk() {
    let moto = Moto::shared();
    let examples = root().join("examples");
    let mut files = Vec::new();
    example_files(&examples, &examples, &mut files);
    assert!(files.len() >= 10, "{} example files", files.len());
    block_on(async {
        let (bucket, s3, metrics) = bucket(moto).await;
        for (key, bytes) in &files {
            put(moto, &bucket, &format!("estate/{key}"), bytes.clone()).await;
        }
        put(moto, &bucket, "estate/REVISION", "e3b0c44298fc").await;
        let mut src = S3Source::parse(&format!("s3://{bucket}/estate")).expect("url");
        let source = ready(&mut src, &s3).await;
        assert_eq!(source.files.len(), files.len());
        assert_eq!(calls(&metrics, "GetObject"), files.len() as u64 + 1);
        let from_s3 = Desired::from_source(&source).unwrap_or_else(|d| panic!("{d}"));
        let on_disk = Desired::load(&[examples]).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(from_s3.revision, "e3b0c44298fc");
        assert_eq!(from_s3.count(), on_disk.count());
        assert_eq!(
            from_s3.services.keys().collect::<Vec<_>>(),
            on_disk.services.keys().collect::<Vec<_>>()
        );
    });
}

#[test]
fn an_invalid_document_in_s3_is_located_by_its_object() {
    let moto = Moto::shared();
    block_on(async {
        let (bucket, s3, _) = bucket(moto).await;
        put(
            moto,
            &bucket,
            "desired/bad.yaml",
            channel("ops").replace("topicName", "topicNmae"),
        )
        .await;
        let mut src = S3Source::parse(&format!("s3://{bucket}/desired/")).expect("url");
        let source = ready(&mut src, &s3).await;
        let diags = Desired::from_source(&source).expect_err("unknown field");
        let text = diags.to_string();
        assert!(
            text.contains(&format!("error: s3://{bucket}/desired/bad.yaml:4:")),
            "{text}"
        );
    });
}

#[test]
fn an_emulator_on_localhost_is_addressed_by_path() {
    let moto = Moto::shared();
    block_on(async {
        let (bucket, _, _) = bucket(moto).await;
        put(moto, &bucket, "desired/a.yaml", channel("a")).await;
        // `bucket.localhost` does not resolve on most machines; the path does.
        let config = moto
            .sdk_config()
            .into_builder()
            .endpoint_url(moto.endpoint.replace("127.0.0.1", "localhost"))
            .build();
        let s3 = SdkS3::new(
            &config,
            Arc::new(Metrics::default()),
            RetryPolicy::default(),
        );
        let listing = s3
            .list(&bucket, "desired/")
            .await
            .expect("list on localhost");
        assert_eq!(listing.len(), 1);
        let got = s3.get(&bucket, "desired/a.yaml").await.expect("get");
        assert_eq!(got.bytes, channel("a").into_bytes());
        assert_eq!(got.etag, listing[0].etag);
    });
}
