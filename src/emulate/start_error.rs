//! Why the emulator could not start: its profile is unusable, its keys or idle timeout cannot
//! be used, the upstream it would relay cannot be asked what it serves, or the port is taken.

use crate::calibrate::target::TargetError;
use crate::perf::PerfError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the emulator's profile: {0}")]
    Profile(PerfError),
    #[error("the access key id and the secret access key must both be non-empty")]
    EmptyCredentials,
    #[error("the API key for the mantle paths must be non-empty")]
    EmptyApiKey,
    #[error("the idle timeout must be longer than zero")]
    ZeroIdleTimeout,
    #[error("the budget for request bodies kept before their signatures are checked must be more than zero bytes")]
    ZeroBodyBudget,
    #[error("cannot build the HTTP client for --upstream: {0}")]
    UpstreamClient(reqwest::Error),
    #[error("--upstream: {0}")]
    Upstream(TargetError),
    #[error("--cloudwatch-period must be at least 1 second (CloudWatch's periods: 1, 5, 10, 30, 60 or a multiple of 60)")]
    ZeroCloudWatchPeriod,
    #[error("--invocation-log: cannot open {0}")]
    InvocationLog(String),
    #[error("--cloudwatch-out: {0}")]
    CloudWatch(String),
    #[error("cannot bind 127.0.0.1:{port}: {cause}")]
    Bind { port: u16, cause: std::io::Error },
}
