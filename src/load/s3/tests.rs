//! The S3 source on the in-memory bucket: ETags, REVISION, partial uploads.

use super::*;
use crate::aws::ErrorKind;
use crate::aws::fake::FakeS3;

const B: &str = "desired-state";

fn channel(name: &str) -> String {
    format!(
        "apiVersion: ecs-operator/v1alpha1\nkind: AlertChannel\nmetadata: {{name: {name}}}\nspec: {{topicName: {name}}}\n"
    )
}

fn source() -> S3Source {
    S3Source::parse(&format!("s3://{B}/desired/")).expect("url")
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("timestamp")
}

fn info(key: &str, second: i64) -> ObjectInfo {
    ObjectInfo {
        key: key.to_owned(),
        etag: format!("\"{key}\""),
        last_modified: at(second),
        size: 10,
    }
}

async fn ready(src: &mut S3Source, s3: &FakeS3) -> Source {
    match src.read(s3).await {
        Ok(S3Read::Ready(source)) => source,
        other => panic!("not ready: {other:?}"),
    }
}

async fn errors(src: &mut S3Source, s3: &FakeS3) -> Vec<String> {
    match src.read(s3).await {
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
        other => panic!("no diagnostics: {other:?}"),
    }
}

fn names(source: &Source) -> Vec<&str> {
    source.files.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn a_second_read_of_an_unchanged_prefix_lists_once_and_gets_nothing() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/a.yaml", channel("a"))
        .put(B, "desired/b.yaml", channel("b"));
    let mut src = source();
    let first = ready(&mut src, &s3).await;
    assert_eq!((s3.calls("ListObjectsV2"), s3.calls("GetObject")), (1, 2));
    let second = ready(&mut src, &s3).await;
    assert_eq!((s3.calls("ListObjectsV2"), s3.calls("GetObject")), (2, 2));
    assert_eq!(first.files, second.files);
    assert_eq!(first.revision, second.revision);
}

#[tokio::test]
async fn changing_one_object_refetches_only_it() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/a.yaml", channel("a"))
        .put(B, "desired/b.yaml", channel("b"));
    let mut src = source();
    let before = ready(&mut src, &s3).await;
    s3.put(B, "desired/b.yaml", channel("b2"));
    let after = ready(&mut src, &s3).await;
    assert_eq!(s3.calls("GetObject"), 3);
    assert_eq!(after.files[0], before.files[0]);
    assert_eq!(after.files[1].1, channel("b2"));
    assert_ne!(after.revision, before.revision);
}

#[tokio::test]
async fn the_revision_object_names_the_revision_and_is_not_a_document() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/a.yaml", channel("a"))
        .put(B, "desired/REVISION", "3f9a0c1d\n");
    let mut src = source();
    let source = ready(&mut src, &s3).await;
    assert_eq!(source.revision, "3f9a0c1d");
    assert_eq!(names(&source), ["s3://desired-state/desired/a.yaml"]);
    ready(&mut src, &s3).await;
    assert_eq!(s3.calls("GetObject"), 2, "REVISION is cached by ETag too");
}

#[tokio::test]
async fn without_revision_the_revision_is_the_content_hash_stable_across_restarts() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/a.yaml", channel("a"));
    let first = ready(&mut source(), &s3).await;
    assert_eq!(first.revision, content_revision(&first.files));
    let restarted = ready(&mut source(), &s3).await;
    assert_eq!(restarted.revision, first.revision);
    s3.put(B, "desired/a.yaml", channel("a2"));
    let changed = ready(&mut source(), &s3).await;
    assert_ne!(changed.revision, first.revision);
}

#[test]
fn read_sources_uses_the_same_content_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.yaml"), channel("a")).expect("write");
    let files = super::super::read_sources(&[dir.path().to_owned()]).expect("read");
    assert_eq!(files.revision, content_revision(&files.files));
}

#[tokio::test]
async fn a_removed_object_leaves_the_source_and_the_cache() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/a.yaml", channel("a"))
        .put(B, "desired/b.yaml", channel("b"));
    let mut src = source();
    ready(&mut src, &s3).await;
    s3.remove(B, "desired/b.yaml");
    let source = ready(&mut src, &s3).await;
    assert_eq!(names(&source), ["s3://desired-state/desired/a.yaml"]);
    assert_eq!(src.cache.keys().collect::<Vec<_>>(), ["desired/a.yaml"]);
    // Put back unchanged: not cached any more, so fetched again.
    s3.put(B, "desired/b.yaml", channel("b"));
    ready(&mut src, &s3).await;
    assert_eq!(s3.calls("GetObject"), 3);
}

#[tokio::test]
async fn a_document_newer_than_revision_is_an_upload_in_progress() {
    let s3 = FakeS3::new();
    s3.put_at(B, "desired/a.yaml", channel("a"), at(0))
        .put_at(B, "desired/b.yaml", channel("b"), at(0))
        .put_at(B, "desired/REVISION", "old", at(1));
    let mut src = source();
    assert_eq!(ready(&mut src, &s3).await.revision, "old");
    // CI uploads a, then b, then REVISION.
    s3.put_at(B, "desired/a.yaml", channel("a2"), at(5));
    match src.read(&s3).await {
        Ok(S3Read::Incomplete {
            revision_hint,
            newest_document,
            revision_written,
        }) => {
            assert_eq!(revision_hint, "old");
            assert_eq!((newest_document, revision_written), (at(5), at(1)));
        }
        other => panic!("not incomplete: {other:?}"),
    }
    assert_eq!(s3.calls("GetObject"), 3, "nothing is fetched mid-upload");
    s3.put_at(B, "desired/b.yaml", channel("b2"), at(6)).put_at(
        B,
        "desired/REVISION",
        "new",
        at(6),
    );
    let source = ready(&mut src, &s3).await;
    assert_eq!(source.revision, "new");
    assert_eq!(source.files[0].1, channel("a2"));
    assert_eq!(source.files[1].1, channel("b2"));
    assert_eq!(s3.calls("GetObject"), 6);
}

#[tokio::test]
async fn a_document_written_in_the_same_second_as_revision_is_complete() {
    let s3 = FakeS3::new();
    s3.put_at(B, "desired/a.yaml", channel("a"), at(3))
        .put_at(B, "desired/REVISION", "abc", at(3));
    assert_eq!(ready(&mut source(), &s3).await.revision, "abc");
    // Sub-second times (other stores keep them) compare by the second too.
    let listing = Listing {
        documents: vec![ObjectInfo {
            last_modified: at(3) + jiff::SignedDuration::from_millis(900),
            ..info("desired/a.yaml", 0)
        }],
        revision: Some(info("desired/REVISION", 3)),
    };
    assert_eq!(mid_upload(&listing), None);
}

#[tokio::test]
async fn an_empty_multi_line_or_overlong_revision_is_rejected_naming_the_object() {
    for (text, wanted) in [
        ("  \n", "REVISION is empty"),
        ("abc\ndef\n", "more than one line"),
        (&"x".repeat(101), "101 characters long; the limit is 100"),
    ] {
        let s3 = FakeS3::new();
        s3.put(B, "desired/a.yaml", channel("a"))
            .put(B, "desired/REVISION", text);
        let errors = errors(&mut source(), &s3).await;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("s3://desired-state/desired/REVISION: ")
                && errors[0].contains(wanted),
            "{errors:?}"
        );
    }
    assert_eq!(check_revision(&"x".repeat(100)).map(str::len), Ok(100));
}

#[test]
fn documents_are_found_like_files_and_everything_else_is_ignored() {
    let keys = [
        "desired/z.json",
        "desired/team-a/web.yaml",
        "desired/team-a.yml",
        "desired/.hidden.yaml",
        "desired/.git/config.yaml",
        "desired/team-b/.draft/x.yaml",
        "desired/README.md",
        "desired/folder/",
        "desired/team-a/REVISION",
        "desired/REVISION",
    ];
    let listing = split_listing("desired/", keys.iter().map(|k| info(k, 0)).collect());
    let documents: Vec<&str> = listing.documents.iter().map(|o| o.key.as_str()).collect();
    // Path order: `team-a/` sorts before `team-a.yml`, as directories walk.
    assert_eq!(
        documents,
        [
            "desired/team-a/web.yaml",
            "desired/team-a.yml",
            "desired/z.json"
        ]
    );
    assert_eq!(
        listing.revision.map(|o| o.key),
        Some("desired/REVISION".to_owned())
    );
}

#[tokio::test]
async fn nested_documents_are_read_with_their_s3_names() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/team/web.yaml", channel("web"))
        .put(B, "other/x.yaml", channel("x"));
    let source = ready(&mut source(), &s3).await;
    assert_eq!(names(&source), ["s3://desired-state/desired/team/web.yaml"]);
}

#[tokio::test]
async fn a_prefix_without_documents_is_a_diagnostic() {
    let s3 = FakeS3::new();
    s3.create_bucket(B).put(B, "desired/REVISION", "abc");
    let errors = errors(&mut source(), &s3).await;
    assert_eq!(
        errors,
        ["s3://desired-state/desired/: no *.yaml, *.yml or *.json objects found"]
    );
}

#[tokio::test]
async fn oversized_and_non_utf8_objects_are_diagnostics_and_oversized_ones_are_not_fetched() {
    let s3 = FakeS3::new();
    let big = vec![b'#'; usize::try_from(MAX_FILE_BYTES).expect("size") + 1];
    s3.put(B, "desired/big.yaml", big)
        .put(B, "desired/bin.yaml", vec![0xff, 0xfe])
        .put(B, "desired/ok.yaml", channel("ok"));
    let mut errors = errors(&mut source(), &s3).await;
    errors.sort();
    assert_eq!(
        errors,
        [
            format!(
                "s3://desired-state/desired/big.yaml: object is {} bytes; the limit is {MAX_FILE_BYTES}",
                MAX_FILE_BYTES + 1
            ),
            "s3://desired-state/desired/bin.yaml: object is not UTF-8 text".to_owned(),
        ]
    );
    assert_eq!(s3.calls("GetObject"), 2);
}

#[tokio::test]
async fn a_failed_get_names_the_object_and_the_next_read_fetches_it() {
    let s3 = FakeS3::new();
    s3.put(B, "desired/a.yaml", channel("a"))
        .put(B, "desired/b.yaml", channel("b"));
    s3.fail_next("GetObject", ErrorKind::Throttled);
    let mut src = source();
    let errors = errors(&mut src, &s3).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("s3://desired-state/desired/a.yaml: cannot read: s3:GetObject"),
        "{errors:?}"
    );
    ready(&mut src, &s3).await;
    assert_eq!(s3.calls("GetObject"), 3, "b stayed cached");
}

#[tokio::test]
async fn a_missing_bucket_is_a_diagnostic_naming_the_source() {
    let errors = errors(&mut source(), &FakeS3::new()).await;
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with(
            "s3://desired-state/desired/: cannot list: s3:ListObjectsV2: NoSuchBucket"
        ),
        "{errors:?}"
    );
}

#[test]
fn urls_name_a_bucket_and_a_folder_prefix() {
    let parsed =
        |url: &str| S3Source::parse(url).map(|s| (s.bucket().to_owned(), s.prefix().to_owned()));
    let ok = |b: &str, p: &str| Ok((b.to_owned(), p.to_owned()));
    assert_eq!(parsed("s3://bucket"), ok("bucket", ""));
    assert_eq!(parsed("s3://bucket/"), ok("bucket", ""));
    assert_eq!(parsed("s3://bucket/desired"), ok("bucket", "desired/"));
    assert_eq!(parsed("s3://my.bucket-1/a/b/"), ok("my.bucket-1", "a/b/"));
    assert_eq!(
        S3Source::parse("s3://bucket/desired").map(|s| s.to_string()),
        Ok("s3://bucket/desired/".to_owned())
    );
    for (url, wanted) in [
        ("https://bucket/desired/", "is not an S3 URL"),
        ("bucket/desired", "is not an S3 URL"),
        ("s3://", "`` is not a bucket name"),
        ("s3:///desired", "`` is not a bucket name"),
        ("s3://My_Bucket/", "`My_Bucket` is not a bucket name"),
        ("s3://ab/", "`ab` is not a bucket name"),
        ("s3://bucket//desired", "the prefix starts with `/`"),
        ("s3://bucket/desired/?versionId=1", "no query or fragment"),
    ] {
        let e = S3Source::parse(url).expect_err(url);
        assert!(e.contains(wanted), "{url}: {e}");
    }
}
