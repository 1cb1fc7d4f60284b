//! The desired state as objects CI uploaded under `s3://bucket/prefix/`: listed
//! every read, fetched only when an ETag changed, and taken only once the
//! `REVISION` object CI writes last is at least as new as every document.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use jiff::Timestamp;

use super::diagnostic::{Diagnostic, Diagnostics};
use super::tree::Pos;
use super::{MAX_FILE_BYTES, Source, content_revision, is_document};
use crate::aws::s3::{ObjectInfo, S3Api};

/// The object, directly under the prefix, that names the revision of the set.
pub const REVISION_OBJECT: &str = "REVISION";
/// Longer than any commit id or tag CI would write.
pub const MAX_REVISION_CHARS: usize = 100;
/// GetObject calls in flight at once on a first (or a large) read.
const FETCH_CONCURRENCY: usize = 8;

/// What one read of the source found.
#[derive(Debug, Clone)]
pub enum S3Read {
    /// A complete document set: act on it.
    Ready(Source),
    /// A document is newer than `REVISION`: an upload is under way (CI writes
    /// `REVISION` last), or someone edited an object without writing a new
    /// `REVISION`. Keep the last revision; read again later.
    Incomplete {
        /// `REVISION` as it stands: the revision being replaced.
        revision_hint: String,
        newest_document: Timestamp,
        revision_written: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cached {
    etag: String,
    text: String,
}

/// `s3://bucket/prefix/` and what was last read from it.
#[derive(Debug, Clone)]
pub struct S3Source {
    bucket: String,
    /// Empty (the whole bucket) or ending in `/`.
    prefix: String,
    /// Key → the ETag and text last fetched.
    cache: BTreeMap<String, Cached>,
}

impl fmt::Display for S3Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The objects of a listing that matter, in the order `read_sources` walks files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Listing {
    documents: Vec<ObjectInfo>,
    revision: Option<ObjectInfo>,
}

impl S3Source {
    /// `s3://bucket`, `s3://bucket/` or `s3://bucket/some/prefix[/]`; a prefix
    /// gets a trailing `/` (a prefix names a folder, not the start of a key).
    pub fn parse(url: &str) -> Result<S3Source, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{url}` is not an S3 URL: expected s3://bucket/prefix/"))?;
        if rest.contains(['?', '#']) {
            return Err(format!(
                "`{url}`: an S3 source takes no query or fragment: expected s3://bucket/prefix/"
            ));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_bucket(bucket) {
            return Err(format!(
                "`{url}`: `{bucket}` is not a bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit"
            ));
        }
        if prefix.starts_with('/') {
            return Err(format!(
                "`{url}`: the prefix starts with `/`; keys do not: write s3://{bucket}/{}",
                prefix.trim_start_matches('/')
            ));
        }
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        Ok(S3Source {
            bucket: bucket.to_owned(),
            prefix,
            cache: BTreeMap::new(),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Empty or ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Lists the prefix and fetches the documents (and `REVISION`) whose ETag
    /// is not the one last fetched; keys gone from the listing are forgotten.
    /// Every error names the object, `s3://bucket/key`. A failed fetch is
    /// retried by the next read; what was fetched stays cached.
    pub async fn read(&mut self, s3: &impl S3Api) -> Result<S3Read, Diagnostics> {
        let objects = s3.list(&self.bucket, &self.prefix).await.map_err(|e| {
            one(Diagnostic::new(
                &self.to_string(),
                Pos::default(),
                format!("cannot list: {e}"),
            ))
        })?;
        let listing = split_listing(&self.prefix, objects);
        let present: BTreeSet<&str> = listing.objects().map(|o| o.key.as_str()).collect();
        self.cache.retain(|k, _| present.contains(k.as_str()));
        let mut diags = Diagnostics::default();
        if let Some((newest_document, revision_written)) = mid_upload(&listing) {
            // Only REVISION is read: the documents are still changing.
            let revision = listing.revision.iter().cloned().collect::<Vec<_>>();
            self.fetch(s3, &revision, &mut diags).await;
            let revision_hint = self.revision(&listing, &mut diags);
            return match revision_hint {
                Some(revision_hint) if diags.is_empty() => Ok(S3Read::Incomplete {
                    revision_hint,
                    newest_document,
                    revision_written,
                }),
                _ => Err(diags),
            };
        }
        let wanted: Vec<ObjectInfo> = listing.objects().cloned().collect();
        self.fetch(s3, &wanted, &mut diags).await;
        self.assemble(&listing, diags).map(S3Read::Ready)
    }

    /// GetObject for every object of `objects` that is not cached at its ETag.
    async fn fetch(&mut self, s3: &impl S3Api, objects: &[ObjectInfo], diags: &mut Diagnostics) {
        let mut stale = Vec::new();
        for o in objects {
            if o.size > MAX_FILE_BYTES {
                diags.push(Diagnostic::new(
                    &self.url(&o.key),
                    Pos::default(),
                    format!("object is {} bytes; the limit is {MAX_FILE_BYTES}", o.size),
                ));
            } else if self.cache.get(&o.key).is_none_or(|c| c.etag != o.etag) {
                stale.push(o);
            }
        }
        for chunk in stale.chunks(FETCH_CONCURRENCY) {
            let gets = chunk.iter().map(|o| s3.get(&self.bucket, &o.key));
            let results = futures_util::future::join_all(gets).await;
            for (o, result) in chunk.iter().zip(results) {
                let name = self.url(&o.key);
                let fetched = match result {
                    Ok(f) => f,
                    Err(e) => {
                        diags.push(Diagnostic::new(
                            &name,
                            Pos::default(),
                            format!("cannot read: {e}"),
                        ));
                        continue;
                    }
                };
                match String::from_utf8(fetched.bytes) {
                    // The ETag of what came back: it may be newer than the listing's.
                    Ok(text) => {
                        self.cache.insert(
                            o.key.clone(),
                            Cached {
                                etag: fetched.etag,
                                text,
                            },
                        );
                    }
                    Err(_) => diags.push(Diagnostic::new(
                        &name,
                        Pos::default(),
                        "object is not UTF-8 text",
                    )),
                }
            }
        }
    }

    /// `REVISION`'s text, checked; `None` when absent or unusable (a diagnostic says why).
    fn revision(&self, listing: &Listing, diags: &mut Diagnostics) -> Option<String> {
        let object = listing.revision.as_ref()?;
        let cached = self.cache.get(&object.key)?;
        match check_revision(&cached.text) {
            Ok(r) => Some(r.to_owned()),
            Err(message) => {
                diags.push(Diagnostic::new(
                    &self.url(&object.key),
                    Pos::default(),
                    message,
                ));
                None
            }
        }
    }

    /// The Source of a complete listing, from the cache.
    fn assemble(&self, listing: &Listing, mut diags: Diagnostics) -> Result<Source, Diagnostics> {
        if listing.documents.is_empty() {
            diags.push(Diagnostic::new(
                &self.to_string(),
                Pos::default(),
                "no *.yaml, *.yml or *.json objects found",
            ));
        }
        let files: Vec<(String, String)> = listing
            .documents
            .iter()
            .filter_map(|o| Some((self.url(&o.key), self.cache.get(&o.key)?.text.clone())))
            .collect();
        let revision = self.revision(listing, &mut diags);
        if !diags.is_empty() {
            return Err(diags);
        }
        let revision = revision.unwrap_or_else(|| content_revision(&files));
        Ok(Source { files, revision })
    }
}

impl Listing {
    fn objects(&self) -> impl Iterator<Item = &ObjectInfo> {
        self.documents.iter().chain(&self.revision)
    }
}

/// Documents (as `walk` finds files: `*.yaml`, `*.yml`, `*.json` at any depth,
/// no segment starting with `.`) and `<prefix>REVISION`; everything else is ignored.
fn split_listing(prefix: &str, objects: Vec<ObjectInfo>) -> Listing {
    let mut listing = Listing::default();
    for o in objects {
        let Some(relative) = o.key.strip_prefix(prefix) else {
            continue;
        };
        if relative == REVISION_OBJECT {
            listing.revision = Some(o);
        } else if !relative.split('/').any(|s| s.starts_with('.'))
            && is_document(Path::new(relative))
        {
            listing.documents.push(o);
        }
    }
    // Path order, segment by segment, as `read_sources` sorts files.
    listing
        .documents
        .sort_by(|a, b| a.key.split('/').cmp(b.key.split('/')));
    listing
}

/// (newest document, REVISION) when a document was written after REVISION.
/// S3 keeps whole seconds, so the same second counts as written before.
fn mid_upload(listing: &Listing) -> Option<(Timestamp, Timestamp)> {
    let revision = listing.revision.as_ref()?.last_modified;
    let newest = listing.documents.iter().map(|o| o.last_modified).max()?;
    (newest.as_second() > revision.as_second()).then_some((newest, revision))
}

/// One line, not empty, at most `MAX_REVISION_CHARS`: a commit id or a tag.
fn check_revision(text: &str) -> Result<&str, String> {
    let revision = text.trim();
    if revision.is_empty() {
        return Err(
            "REVISION is empty: CI writes the revision it uploaded, e.g. `git rev-parse HEAD`"
                .to_owned(),
        );
    }
    if revision.contains(['\n', '\r']) {
        return Err("REVISION holds more than one line: it names one revision".to_owned());
    }
    let chars = revision.chars().count();
    if chars > MAX_REVISION_CHARS {
        return Err(format!(
            "REVISION is {chars} characters long; the limit is {MAX_REVISION_CHARS}"
        ));
    }
    Ok(revision)
}

/// S3's rules for new buckets.
fn valid_bucket(name: &str) -> bool {
    let b = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && inner(&b[0])
        && inner(&b[b.len() - 1])
        && b.iter().all(|c| inner(c) || *c == b'.' || *c == b'-')
}

fn one(d: Diagnostic) -> Diagnostics {
    let mut diags = Diagnostics::default();
    diags.push(d);
    diags
}

#[cfg(test)]
mod tests {
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
        s3.put_at(B, "desired/a.yaml", channel("a"), at(3)).put_at(
            B,
            "desired/REVISION",
            "abc",
            at(3),
        );
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
        let parsed = |url: &str| {
            S3Source::parse(url).map(|s| (s.bucket().to_owned(), s.prefix().to_owned()))
        };
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
}
