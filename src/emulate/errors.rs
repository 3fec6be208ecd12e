//! Errors in AWS's shapes: the status code, `x-amzn-errortype` and a JSON `message`, as the
//! SDKs parse them into modelled exceptions.

use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Clone, Debug, PartialEq)]
pub struct AwsError {
    pub status: StatusCode,
    /// The error type, e.g. `ThrottlingException`, `ValidationException`, `ValidationError`.
    pub code: &'static str,
    pub message: String,
    /// Answer with `connection: close`: the request's body was left unread (or only partly
    /// read), so the connection cannot carry another request.
    pub close: bool,
}

impl AwsError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status: StatusCode::from_u16(status).expect("a valid status"),
            code,
            message: message.into(),
            close: false,
        }
    }

    /// The same error, closing the connection when `close`.
    pub fn closing_if(mut self, close: bool) -> AwsError {
        self.close |= close;
        self
    }

    pub fn validation(service: Service, message: impl Into<String>) -> AwsError {
        match service {
            Service::Bedrock => AwsError::new(400, "ValidationException", message),
            Service::Sagemaker => AwsError::new(400, "ValidationError", message),
        }
    }

    pub fn throttling(message: impl Into<String>) -> AwsError {
        AwsError::new(429, "ThrottlingException", message)
    }

    pub fn unavailable(service: Service) -> AwsError {
        match service {
            Service::Bedrock => AwsError::new(
                503,
                "ServiceUnavailableException",
                "The service is temporarily unavailable (injected fault).",
            ),
            Service::Sagemaker => AwsError::new(
                503,
                "ServiceUnavailable",
                "The service is unavailable (injected fault).",
            ),
        }
    }

    /// The service's 503 with its own message (ServiceUnavailableException on Bedrock,
    /// ServiceUnavailable on SageMaker).
    pub fn busy(service: Service, message: impl Into<String>) -> AwsError {
        match service {
            Service::Bedrock => AwsError::new(503, "ServiceUnavailableException", message),
            Service::Sagemaker => AwsError::new(503, "ServiceUnavailable", message),
        }
    }

    pub fn not_ready() -> AwsError {
        AwsError::new(
            429,
            "ModelNotReadyException",
            "The model is not ready to serve inference requests; try again shortly.",
        )
    }
}

/// Which service's conventions an error follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Bedrock,
    Sagemaker,
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "message": self.message })),
        )
            .into_response();
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        if self.close {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}
