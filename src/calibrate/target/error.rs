//! Why a target could not be set up: a flag it needs is missing, or the server it would
//! measure cannot be reached or does not say what it serves. Each message names the fix.

/// `flag` is the option that names the served model (`--model`, `--upstream-model`), the way
/// out when the server cannot be asked.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("no AWS region: pass --region (e.g. us-east-1) or set AWS_REGION")]
    NoRegion,
    #[error("--model-id is required for --target bedrock, e.g. meta.llama3-3-70b-instruct-v1:0")]
    NoModelId,
    #[error("--endpoint-name is required for --target sagemaker")]
    NoEndpointName,
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(reqwest::Error),
    /// `cause` is the whole chain of the connection error.
    #[error("cannot reach {url}; is the server running? (or pass {flag}): {cause}")]
    Unreachable {
        url: String,
        flag: &'static str,
        cause: String,
    },
    #[error("GET {url} answered {status}; pass {flag} NAME to name the served model")]
    Refused {
        url: String,
        flag: &'static str,
        status: reqwest::StatusCode,
    },
    #[error("{url} did not answer JSON; pass {flag} NAME: {cause}")]
    NotJson {
        url: String,
        flag: &'static str,
        cause: String,
    },
    #[error("{url} lists no model; pass {flag} NAME")]
    NoModel { url: String, flag: &'static str },
}
