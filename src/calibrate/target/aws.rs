//! What the Bedrock and SageMaker targets share: loading the AWS configuration the way a
//! measurement needs it, and sorting SDK errors into the planner's categories.

use std::error::Error;
use std::fmt::Debug;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::{ErrorKind, TargetError};

/// Where the AWS requests go and as whom; credentials come from the standard chain
/// (environment, profile, SSO, container or instance role) and are never recorded.
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// A non-AWS endpoint speaking the same protocol, e.g. `llmcap emulate`'s URL.
    pub endpoint_url: Option<String>,
}

/// The SDK configuration for measuring: retries off (the standard mode silently retries a
/// throttle up to 3 times, which hides throttling and adds seconds to TTFT) and stalled-stream
/// protection off (a long TTFT under load is data, not a reason to abort).
pub async fn sdk_config(options: &AwsOptions) -> Result<SdkConfig, TargetError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(TargetError::NoRegion);
    }
    Ok(config)
}

/// Sorts any SDK error — an operation's or one raised inside an event stream — by its AWS error
/// code, falling back to the modelled variant's name (in-stream exceptions carry no code).
pub fn classify<E, R>(error: &SdkError<E, R>) -> (ErrorKind, String)
where
    E: ProvideErrorMetadata + Error + Debug + Send + Sync + 'static,
    R: Debug,
{
    let message = DisplayErrorContext(error).to_string();
    let kind = match error {
        SdkError::TimeoutError(_) => ErrorKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ErrorKind::Timeout,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => ErrorKind::ClientError,
        SdkError::ResponseError(_) => ErrorKind::ServerError,
        SdkError::ServiceError(service) => {
            let err = service.err();
            let variant = format!("{err:?}");
            err.code()
                .and_then(ErrorKind::from_error_code)
                .or_else(|| ErrorKind::from_error_code(variant_name(&variant)))
                .unwrap_or(ErrorKind::ServerError)
        }
        _ => ErrorKind::ClientError,
    };
    (kind, message)
}

/// `ThrottlingException(ThrottlingException { .. })` → `ThrottlingException`.
fn variant_name(debug: &str) -> &str {
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or(debug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_come_from_debug_output() {
        assert_eq!(
            variant_name("ThrottlingException(ThrottlingException { message: None })"),
            "ThrottlingException"
        );
        assert_eq!(variant_name("Unhandled(..)"), "Unhandled");
    }
}
