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
mod tests;
