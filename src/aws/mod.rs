//! The edge to AWS: one narrow trait per API (ours types in and out), the SDK
//! implementations, and the mapping of SDK errors to a few modeled kinds.

pub mod autoscaling;
pub mod call;
pub mod cloudwatch;
pub mod discovery;
pub mod dynamodb;
pub mod ecs;
pub mod fake;
pub mod s3;
pub mod sns;
pub mod sqs;

use std::fmt;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::metrics::Metrics;

/// What kind of failure an AWS call had; decides retry and reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Throttled,
    AccessDenied,
    Invalid,
    Transient,
    Other,
}

/// A failed AWS call, naming the operation. The rest of the code never sees `SdkError`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service}:{operation}: {message}")]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub kind: ErrorKind,
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Transient)
    }

    pub fn metric_label(&self) -> &'static str {
        match self.kind {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Transient => "transient",
            ErrorKind::Other => "error",
        }
    }

    /// Maps any SDK error to a modeled one.
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        let (kind, code, message) = match &err {
            SdkError::ServiceError(e) => {
                let code = e.err().code().map(str::to_owned);
                let message = e.err().message().unwrap_or_default().to_owned();
                let kind = match classify(code.as_deref(), &message) {
                    // An unmodeled answer with a 5xx status (an HTML error page) is the server's fault.
                    ErrorKind::Other if e.raw().status().is_server_error() => ErrorKind::Transient,
                    kind => kind,
                };
                (kind, code, message)
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                (ErrorKind::Transient, None, DisplayChain(&err).to_string())
            }
            SdkError::ResponseError(_) => {
                (ErrorKind::Transient, None, DisplayChain(&err).to_string())
            }
            _ => (ErrorKind::Other, None, DisplayChain(&err).to_string()),
        };
        let message = match &code {
            Some(c) if !message.contains(c.as_str()) => format!("{c}: {message}"),
            _ => message,
        };
        AwsError {
            service,
            operation,
            kind,
            code,
            message,
        }
    }
}

fn classify(code: Option<&str>, message: &str) -> ErrorKind {
    match code.unwrap_or_default() {
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException"
        // S3's throttle (HTTP 503).
        | "SlowDown" => ErrorKind::Throttled,
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            ErrorKind::AccessDenied
        }
        "ServiceNotFoundException"
        | "ClusterNotFoundException"
        | "ResourceNotFoundException"
        | "NotFound"
        | "NoSuchBucket"
        | "NoSuchKey" => ErrorKind::NotFound,
        "ServerException"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "InternalServerError"
        | "TransactionConflictException"
        // S3's 500.
        | "InternalError" => ErrorKind::Transient,
        "InvalidParameterException"
        | "ClientException"
        | "ValidationException"
        | "InvalidParameter" => {
            // ECS says "Unable to describe task definition." for a missing one.
            if message.contains("Unable to describe task definition") {
                ErrorKind::NotFound
            } else {
                ErrorKind::Invalid
            }
        }
        _ => ErrorKind::Other,
    }
}

/// An error and its sources on one line.
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// Loads AWS configuration from the standard environment and credential chain
/// only (`AWS_REGION`, `AWS_ENDPOINT_URL`, profile, ECS task role), so the same
/// binary works in ECS and against a local emulator.
pub async fn load_config() -> SdkConfig {
    // The SDK's retries are off: `call::Caller` retries, so every throttled
    // attempt is counted and backs off its whole service (see call.rs).
    let retry = aws_config::retry::RetryConfig::disabled();
    // A hung connection costs one attempt, not the loop.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry)
        .timeout_config(timeouts);
    // `app/ecs-operator` in every call's User-Agent, which CloudTrail records:
    // how the operator tells its own calls from people's (src/events.rs).
    if let Ok(name) = aws_config::AppName::new(crate::events::APP_NAME) {
        loader = loader.app_name(name);
    }
    loader.load().await
}

/// The one HTTPS client: hyper 1 + rustls on ring (plain HTTP works too, for emulators).
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{Builder, tls};
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// One client per AWS API the reconcilers use.
pub struct Clients<E, S, D, N, C> {
    pub ecs: E,
    pub scaling: S,
    pub discovery: D,
    pub sns: N,
    pub cloudwatch: C,
}

/// Every AWS API the operator uses, as one bound for generic code.
pub trait Aws: Send + Sync {
    type Ecs: ecs::EcsApi;
    type Scaling: autoscaling::ScalingApi;
    type Discovery: discovery::DiscoveryApi;
    type Sns: sns::SnsApi;
    type CloudWatch: cloudwatch::CloudWatchApi;
    fn ecs(&self) -> &Self::Ecs;
    fn scaling(&self) -> &Self::Scaling;
    fn discovery(&self) -> &Self::Discovery;
    fn sns(&self) -> &Self::Sns;
    fn cloudwatch(&self) -> &Self::CloudWatch;
}

impl<E, S, D, N, C> Aws for Clients<E, S, D, N, C>
where
    E: ecs::EcsApi,
    S: autoscaling::ScalingApi,
    D: discovery::DiscoveryApi,
    N: sns::SnsApi,
    C: cloudwatch::CloudWatchApi,
{
    type Ecs = E;
    type Scaling = S;
    type Discovery = D;
    type Sns = N;
    type CloudWatch = C;
    fn ecs(&self) -> &E {
        &self.ecs
    }
    fn scaling(&self) -> &S {
        &self.scaling
    }
    fn discovery(&self) -> &D {
        &self.discovery
    }
    fn sns(&self) -> &N {
        &self.sns
    }
    fn cloudwatch(&self) -> &C {
        &self.cloudwatch
    }
}

/// Shared clients are clients: a caller can keep a handle on what it hands out.
impl<A: Aws> Aws for std::sync::Arc<A> {
    type Ecs = A::Ecs;
    type Scaling = A::Scaling;
    type Discovery = A::Discovery;
    type Sns = A::Sns;
    type CloudWatch = A::CloudWatch;
    fn ecs(&self) -> &A::Ecs {
        (**self).ecs()
    }
    fn scaling(&self) -> &A::Scaling {
        (**self).scaling()
    }
    fn discovery(&self) -> &A::Discovery {
        (**self).discovery()
    }
    fn sns(&self) -> &A::Sns {
        (**self).sns()
    }
    fn cloudwatch(&self) -> &A::CloudWatch {
        (**self).cloudwatch()
    }
}

/// The SDK clients.
pub type SdkClients = Clients<
    ecs::SdkEcs,
    autoscaling::SdkScaling,
    discovery::SdkDiscovery,
    sns::SdkSns,
    cloudwatch::SdkCloudWatch,
>;

impl SdkClients {
    /// SDK clients configured from the standard AWS environment.
    pub async fn from_environment(
        metrics: std::sync::Arc<Metrics>,
        retry: call::RetryPolicy,
    ) -> Self {
        let config = load_config().await;
        Clients {
            ecs: ecs::SdkEcs::new(&config, metrics.clone(), retry),
            scaling: autoscaling::SdkScaling::new(&config, metrics.clone(), retry),
            discovery: discovery::SdkDiscovery::new(&config, metrics.clone(), retry),
            sns: sns::SdkSns::new(&config, metrics.clone(), retry),
            cloudwatch: cloudwatch::SdkCloudWatch::new(&config, metrics, retry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorKind, classify};

    #[test]
    fn s3_throttling_and_server_errors_are_retried_and_missing_objects_are_not_found() {
        assert_eq!(classify(Some("SlowDown"), ""), ErrorKind::Throttled);
        assert_eq!(classify(Some("InternalError"), ""), ErrorKind::Transient);
        assert_eq!(classify(Some("NoSuchKey"), ""), ErrorKind::NotFound);
        assert_eq!(classify(Some("NoSuchBucket"), ""), ErrorKind::NotFound);
        assert_eq!(classify(Some("AccessDenied"), ""), ErrorKind::AccessDenied);
    }
}
