//! What every operation does first, in the services' order: read the body within the service's
//! size limit (answering an oversized one in the service's error shape), then verify its SigV4
//! signature over the body as received.

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::Request;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::errors::{AwsError, Service};
use super::sigv4::{self, AuthError, Credentials, SignedRequest};

/// InvokeModel's `body`: "Length Constraints: Maximum length of 25000000" (Bedrock API
/// reference); applied to Converse bodies too.
pub const BEDROCK_MAX_BODY_BYTES: usize = 25_000_000;
/// InvokeEndpoint's `Body`: 6 MB, "Maximum length of 6291456" (SageMaker API reference).
pub const SAGEMAKER_MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// An oversized body is read and dropped up to this many bytes, so the client, still sending,
/// gets the error rather than a reset connection; past it the connection is closed.
const DRAIN_BYTES: usize = 256 * 1024 * 1024;

impl Service {
    /// The SigV4 signing name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Bedrock => "bedrock",
            Service::Sagemaker => "sagemaker",
        }
    }

    pub fn max_body_bytes(self) -> usize {
        match self {
            Service::Bedrock => BEDROCK_MAX_BODY_BYTES,
            Service::Sagemaker => SAGEMAKER_MAX_BODY_BYTES,
        }
    }
}

/// How the body read ended, when it did not end well.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// At least this many bytes (all of them if the client finished within the drain limit).
    TooLarge(usize),
    Broken,
}

pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge(seen));
    }
    Ok(kept.freeze())
}

/// The service's answer to a body over its limit: a ValidationException (ValidationError on
/// SageMaker) in the wording of AWS's length constraints.
pub fn too_large(service: Service, size: usize) -> AwsError {
    let limit = service.max_body_bytes();
    let member = match service {
        Service::Bedrock => "body",
        Service::Sagemaker => "Body",
    };
    AwsError::validation(
        service,
        format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: \
             Member must have length less than or equal to {limit} (the request carried \
             {size} bytes)"
        ),
    )
}

fn refused(service: Service, error: AuthError) -> AwsError {
    let message = error.to_string();
    match error {
        AuthError::Missing => match service {
            Service::Bedrock => AwsError::new(
                403,
                "AccessDeniedException",
                "Missing Authentication Token: requests must be signed with SigV4.",
            ),
            Service::Sagemaker => {
                AwsError::new(403, "MissingAuthenticationTokenException", message)
            }
        },
        AuthError::Incomplete(_) => AwsError::new(400, "IncompleteSignatureException", message),
        AuthError::UnknownAccessKey => AwsError::new(403, "UnrecognizedClientException", message),
        AuthError::WrongService(_)
        | AuthError::Expired { .. }
        | AuthError::NotYetCurrent { .. }
        | AuthError::Mismatch => AwsError::new(403, "InvalidSignatureException", message),
    }
}

/// Reads and authenticates a request for `service`: its body, once both checks pass.
pub async fn receive(
    service: Service,
    credentials: &Credentials,
    request: Request,
) -> Result<Bytes, AwsError> {
    let (parts, body) = request.into_parts();
    let body = read_body(body, service.max_body_bytes())
        .await
        .map_err(|error| match error {
            BodyError::TooLarge(size) => too_large(service, size),
            BodyError::Broken => AwsError::new(
                400,
                "SerializationException",
                "The request body could not be read to its end.",
            ),
        })?;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    sigv4::verify(
        &signed,
        credentials,
        service.signing_name(),
        SystemTime::now(),
    )
    .map_err(|error| refused(service, error))?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_within_the_limit_are_kept_and_larger_ones_measured() {
        let body = || Body::from(vec![b'x'; 10]);
        assert_eq!(read_body(body(), 10).await.unwrap().len(), 10);
        assert_eq!(read_body(body(), 9).await, Err(BodyError::TooLarge(10)));
        let error = too_large(Service::Bedrock, 30_000_000);
        assert_eq!(
            (error.status.as_u16(), error.code),
            (400, "ValidationException")
        );
        assert!(error.message.contains("less than or equal to 25000000"));
    }
}
