//! In-memory S3 for the desired-state source: buckets of objects with ETags
//! (quoted hex of a content hash) and whole-second modification times.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{Calls, error};
use crate::aws::s3::{Fetched, ObjectInfo, S3Api};
use crate::aws::{AwsError, ErrorKind};

const S3: &str = "s3";
/// ListObjectsV2's page size: a listing costs one call per 1000 keys.
const PAGE: usize = 1000;

#[derive(Debug, Clone)]
struct Object {
    bytes: Vec<u8>,
    etag: String,
    last_modified: jiff::Timestamp,
}

#[derive(Debug, Default)]
struct S3State {
    buckets: BTreeMap<String, BTreeMap<String, Object>>,
    /// Seconds since the fake's epoch: each `put` is one second later than the last.
    clock: i64,
    calls: Calls,
}

/// In-memory S3. A bucket exists once something was put in it (or `create_bucket`).
#[derive(Debug, Default)]
pub struct FakeS3 {
    state: Mutex<S3State>,
}

/// Where the fake's clock starts: 2026-01-01T00:00:00Z.
const EPOCH: i64 = 1_767_225_600;

fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

impl FakeS3 {
    pub fn new() -> Self {
        FakeS3::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut S3State) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    pub fn create_bucket(&self, bucket: &str) -> &Self {
        self.with(|s| {
            s.buckets.entry(bucket.to_owned()).or_default();
        });
        self
    }

    /// Uploads an object one second after the previous upload.
    pub fn put(&self, bucket: &str, key: &str, bytes: impl Into<Vec<u8>>) -> &Self {
        let at = self.with(|s| {
            s.clock += 1;
            jiff::Timestamp::from_second(EPOCH + s.clock).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        });
        self.put_at(bucket, key, bytes, at)
    }

    /// Uploads an object as of `at` (S3 keeps whole seconds; so does this).
    pub fn put_at(
        &self,
        bucket: &str,
        key: &str,
        bytes: impl Into<Vec<u8>>,
        at: jiff::Timestamp,
    ) -> &Self {
        let bytes = bytes.into();
        let last_modified =
            jiff::Timestamp::from_second(at.as_second()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        self.with(|s| {
            let object = Object {
                etag: etag(&bytes),
                bytes,
                last_modified,
            };
            s.buckets
                .entry(bucket.to_owned())
                .or_default()
                .insert(key.to_owned(), object);
        });
        self
    }

    pub fn remove(&self, bucket: &str, key: &str) -> &Self {
        self.with(|s| {
            if let Some(b) = s.buckets.get_mut(bucket) {
                b.remove(key);
            }
        });
        self
    }

    /// The modification time of an object, as a listing shows it.
    pub fn last_modified(&self, bucket: &str, key: &str) -> Option<jiff::Timestamp> {
        self.with(|s| Some(s.buckets.get(bucket)?.get(key)?.last_modified))
    }

    pub fn fail_next(&self, operation: &'static str, kind: ErrorKind) {
        self.with(|s| s.calls.failures.entry(operation).or_default().push(kind));
    }

    /// Calls of `operation` so far (`ListObjectsV2` counts pages).
    pub fn calls(&self, operation: &str) -> u64 {
        self.with(|s| s.calls.counts.get(operation).copied().unwrap_or(0))
    }
}

impl S3Api for FakeS3 {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, AwsError> {
        self.with(|s| {
            let Some(objects) = s.buckets.get(bucket) else {
                s.calls.call(S3, "ListObjectsV2")?;
                return Err(error(
                    S3,
                    "ListObjectsV2",
                    ErrorKind::NotFound,
                    "NoSuchBucket: The specified bucket does not exist",
                ));
            };
            let found: Vec<ObjectInfo> = objects
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(key, o)| ObjectInfo {
                    key: key.clone(),
                    etag: o.etag.clone(),
                    last_modified: o.last_modified,
                    size: o.bytes.len() as u64,
                })
                .collect();
            for _ in 0..found.len().div_ceil(PAGE).max(1) {
                s.calls.call(S3, "ListObjectsV2")?;
            }
            Ok(found)
        })
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Fetched, AwsError> {
        self.with(|s| {
            s.calls.call(S3, "GetObject")?;
            let object = s.buckets.get(bucket).and_then(|b| b.get(key));
            let object = object.ok_or_else(|| {
                error(
                    S3,
                    "GetObject",
                    ErrorKind::NotFound,
                    "NoSuchKey: The specified key does not exist.",
                )
            })?;
            Ok(Fetched {
                etag: object.etag.clone(),
                bytes: object.bytes.clone(),
            })
        })
    }
}
