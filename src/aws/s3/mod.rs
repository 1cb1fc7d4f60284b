//! S3 reads of the desired-state source (`run --source s3://bucket/prefix/`):
//! list a prefix, get one object. Nothing is ever written.

mod sdk;

pub use sdk::SdkS3;

use std::future::Future;

use super::AwsError;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    /// As S3 sends it, quotes included (`"9b2c…"`); compared, never parsed.
    pub etag: String,
    /// S3 keeps whole seconds.
    pub last_modified: jiff::Timestamp,
    pub size: u64,
}

/// One object's content and the ETag of that content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub etag: String,
    pub bytes: Vec<u8>,
}

/// The S3 calls the desired-state source makes.
pub trait S3Api: Send + Sync {
    /// Every object whose key starts with `prefix` (ListObjectsV2, every page of
    /// up to 1000 keys), in S3's key order. An empty prefix lists the bucket. A
    /// missing bucket is `NotFound`; an empty prefix is an empty list.
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<ObjectInfo>, AwsError>> + Send;

    /// The whole object (GetObject) with the ETag of the bytes returned, which
    /// may be newer than a listing's. A missing key is `NotFound`.
    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Fetched, AwsError>> + Send;
}
