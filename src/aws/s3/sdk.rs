//! S3 through the AWS SDK: ListObjectsV2 and GetObject.

use std::sync::Arc;

use aws_smithy_types::DateTime;

use super::{Fetched, ObjectInfo, S3Api};
use crate::aws::call::{Caller, RetryPolicy};
use crate::aws::{AwsError, ErrorKind};
use crate::metrics::Metrics;

const S3: &str = "s3";

#[derive(Clone)]
pub struct SdkS3 {
    client: aws_sdk_s3::Client,
    calls: Caller,
}

impl SdkS3 {
    pub fn new(config: &aws_config::SdkConfig, metrics: Arc<Metrics>, retry: RetryPolicy) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        // S3's endpoint rules name a bucket in the host (`bucket.host`) unless
        // the endpoint's host is an IP address; then they use the path. For
        // `localhost` (an emulator on a laptop) they would call
        // `bucket.localhost`, which most resolvers do not answer. Path-style
        // there too; AWS's own endpoints keep virtual-hosted addressing.
        if config.endpoint_url().is_some_and(is_local) {
            s3 = s3.force_path_style(true);
        }
        SdkS3 {
            client: aws_sdk_s3::Client::from_conf(s3.build()),
            calls: Caller::new(S3, metrics, retry),
        }
    }
}

/// Whether an endpoint URL's host is `localhost` or an IP address.
fn is_local(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok()
}

fn to_timestamp(t: &DateTime) -> jiff::Timestamp {
    jiff::Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).unwrap_or(0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl S3Api for SdkS3 {
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectInfo>, AwsError> {
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .max_keys(1000)
                .set_continuation_token(token);
            let page = self
                .calls
                .call(S3, "ListObjectsV2", || page.clone().send())
                .await?;
            found.extend(page.contents().iter().filter_map(|o| {
                Some(ObjectInfo {
                    key: o.key()?.to_owned(),
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                    // S3 always sends it; an object without one sorts as the oldest.
                    last_modified: o
                        .last_modified()
                        .map_or(jiff::Timestamp::UNIX_EPOCH, to_timestamp),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                })
            }));
            token = page.next_continuation_token().map(str::to_owned);
            if page.is_truncated() != Some(true) || token.is_none() {
                return Ok(found);
            }
        }
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Fetched, AwsError> {
        let out = self.client.get_object().bucket(bucket).key(key);
        let out = self
            .calls
            .call(S3, "GetObject", || out.clone().send())
            .await?;
        let etag = out.e_tag().unwrap_or_default().to_owned();
        // The body streams after the response head: a broken connection shows here.
        let bytes = out.body.collect().await.map_err(|e| AwsError {
            service: S3,
            operation: "GetObject",
            kind: ErrorKind::Transient,
            code: None,
            message: format!("reading the body of {key}: {e}"),
        })?;
        Ok(Fetched {
            etag,
            bytes: bytes.into_bytes().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn emulator_endpoints_are_local_and_aws_endpoints_are_not() {
        for url in [
            "http://127.0.0.1:5055",
            "http://localhost:4566",
            "http://LOCALHOST",
            "http://[::1]:9000/",
            "http://user@10.0.0.5:9000/path",
        ] {
            assert!(is_local(url), "{url}");
        }
        for url in [
            "https://s3.us-east-1.amazonaws.com",
            "http://minio.internal:9000",
            "http://localhost.example.com",
        ] {
            assert!(!is_local(url), "{url}");
        }
    }
}
