//! Errors on the mantle paths, in the shape of the API the request spoke: OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` or Anthropic's
//! `{"type": "error", "error": {"type", "message"}}`, with a `retry-after` header on a 429.

use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::super::errors::AwsError;

/// Which API a mantle request spoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI Chat Completions (`/v1/chat/completions`).
    OpenAi,
    /// Anthropic Messages (`/v1/messages`).
    Anthropic,
}

/// What went wrong, before a dialect names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    InvalidRequest,
    Authentication,
    NotFound,
    TooLarge,
    RateLimit,
    Overloaded,
    /// The body did not arrive within the emulator's body deadline.
    Timeout,
    Api,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MantleError {
    pub dialect: Dialect,
    pub status: StatusCode,
    pub kind: Kind,
    pub message: String,
    /// Whole seconds until the request would be admitted (429s whose wait is finite).
    pub retry_after_s: Option<u64>,
    /// Answer with `connection: close` (the body was left unread or only partly read).
    pub close: bool,
}

impl MantleError {
    pub fn new(dialect: Dialect, kind: Kind, message: impl Into<String>) -> MantleError {
        let status = match (kind, dialect) {
            (Kind::InvalidRequest, _) => StatusCode::BAD_REQUEST,
            (Kind::Authentication, _) => StatusCode::UNAUTHORIZED,
            (Kind::NotFound, _) => StatusCode::NOT_FOUND,
            (Kind::TooLarge, _) => StatusCode::PAYLOAD_TOO_LARGE,
            (Kind::RateLimit, _) => StatusCode::TOO_MANY_REQUESTS,
            (Kind::Timeout, _) => StatusCode::REQUEST_TIMEOUT,
            // Anthropic's "overloaded" status; OpenAI answers 503.
            (Kind::Overloaded, Dialect::Anthropic) => {
                StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            (Kind::Overloaded, Dialect::OpenAi) => StatusCode::SERVICE_UNAVAILABLE,
            (Kind::Api, _) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        MantleError {
            dialect,
            status,
            kind,
            message: message.into(),
            retry_after_s: None,
            close: false,
        }
    }

    /// The same error, closing the connection when `close`.
    pub fn closing_if(mut self, close: bool) -> MantleError {
        self.close |= close;
        self
    }

    pub fn invalid(dialect: Dialect, message: impl Into<String>) -> MantleError {
        MantleError::new(dialect, Kind::InvalidRequest, message)
    }

    /// An error the shared machinery gave in AWS's shape (an output limit the model cannot
    /// take, an upstream failure in proxy mode), re-dressed in the dialect's.
    pub fn from_aws(dialect: Dialect, error: AwsError) -> MantleError {
        let kind = match error.status.as_u16() {
            400 | 422 | 424 => Kind::InvalidRequest,
            404 => Kind::NotFound,
            408 => Kind::Timeout,
            413 => Kind::TooLarge,
            429 => Kind::RateLimit,
            503 | 529 => Kind::Overloaded,
            _ => Kind::Api,
        };
        MantleError::new(dialect, kind, error.message).closing_if(error.close)
    }

    /// The error object inside the body (also an SSE event's payload).
    pub fn body(&self) -> Value {
        match self.dialect {
            Dialect::OpenAi => {
                let (kind, code) = match self.kind {
                    Kind::InvalidRequest => ("invalid_request_error", Value::Null),
                    Kind::Authentication => ("invalid_request_error", json!("invalid_api_key")),
                    Kind::NotFound => ("invalid_request_error", json!("model_not_found")),
                    Kind::TooLarge => ("invalid_request_error", json!("request_too_large")),
                    Kind::RateLimit => ("rate_limit_error", json!("rate_limit_exceeded")),
                    Kind::Overloaded => ("server_error", json!("service_unavailable")),
                    Kind::Timeout => ("invalid_request_error", json!("request_timeout")),
                    Kind::Api => ("server_error", Value::Null),
                };
                json!({"error": {"message": self.message, "type": kind, "param": null,
                                 "code": code}})
            }
            Dialect::Anthropic => {
                let kind = match self.kind {
                    Kind::InvalidRequest => "invalid_request_error",
                    Kind::Authentication => "authentication_error",
                    Kind::NotFound => "not_found_error",
                    Kind::TooLarge => "request_too_large",
                    Kind::RateLimit => "rate_limit_error",
                    Kind::Overloaded => "overloaded_error",
                    Kind::Timeout => "timeout_error",
                    Kind::Api => "api_error",
                };
                json!({"type": "error", "error": {"type": kind, "message": self.message}})
            }
        }
    }

    /// The error as an event inside an SSE stream that has already begun.
    pub fn sse_event(&self) -> Bytes {
        match self.dialect {
            Dialect::OpenAi => Bytes::from(format!("data: {}\n\n", self.body())),
            Dialect::Anthropic => Bytes::from(format!("event: error\ndata: {}\n\n", self.body())),
        }
    }
}

impl IntoResponse for MantleError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        if self.close {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_has_its_shape() {
        let openai = MantleError::new(Dialect::OpenAi, Kind::RateLimit, "slow down").body();
        assert_eq!(openai["error"]["type"], "rate_limit_error");
        assert_eq!(openai["error"]["code"], "rate_limit_exceeded");
        assert_eq!(openai["error"]["message"], "slow down");
        let anthropic = MantleError::new(Dialect::Anthropic, Kind::RateLimit, "slow down").body();
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "rate_limit_error");
        let overloaded = MantleError::new(Dialect::Anthropic, Kind::Overloaded, "busy");
        assert_eq!(overloaded.status.as_u16(), 529);
        let aws = AwsError::validation(super::super::super::errors::Service::Bedrock, "too big");
        let redressed = MantleError::from_aws(Dialect::OpenAi, aws);
        assert_eq!(
            (redressed.status.as_u16(), redressed.kind),
            (400, Kind::InvalidRequest)
        );
    }
}
