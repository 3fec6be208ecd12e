//! The endpoints calibrate measures, behind one trait: an OpenAI-compatible server, Bedrock
//! Runtime (ConverseStream / InvokeModelWithResponseStream) and SageMaker Runtime
//! (InvokeEndpointWithResponseStream).
//!
//! A target sends one streamed request and timestamps what comes back; it never retries (the
//! runner schedules and counts every attempt itself) and never decides what the numbers mean.

pub mod aws;
pub mod bedrock;
pub mod chunks;
pub mod error;
pub mod openai;
pub mod sagemaker;

use std::time::Instant;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use error::TargetError;

/// One request as the runner asks for it.
#[derive(Clone, Debug)]
pub struct TargetRequest {
    pub prompt: String,
    pub max_tokens: u32,
    /// Ask the server to generate exactly `max_tokens` (ignore_eos / min_tokens) where it can.
    pub fixed_output: bool,
}

/// Why a request failed, in the categories a capacity planner cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// HTTP 429, ThrottlingException, ServiceQuotaExceeded — the quota said no.
    Throttled,
    /// No complete answer within the time allowed (client or model timeout).
    Timeout,
    /// 5xx, ServiceUnavailable, InternalServer.
    ServerError,
    /// The model failed: ModelError, ModelStreamError, ModelNotReady, an error inside the stream.
    ModelError,
    /// Our side: a rejected request (4xx), a refused connection, an unreadable response.
    ClientError,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ServerError => "server_error",
            ErrorKind::ModelError => "model_error",
            ErrorKind::ClientError => "client_error",
        }
    }

    /// From an HTTP status code of a failed response.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            429 => ErrorKind::Throttled,
            408 | 504 => ErrorKind::Timeout,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::ClientError,
        }
    }

    /// From an AWS error code or exception name, e.g. `ThrottlingException`,
    /// `throttlingException` (in-stream, camelCase) or `ModelStreamErrorException`.
    pub fn from_error_code(code: &str) -> Option<ErrorKind> {
        let code = code.to_ascii_lowercase();
        let kind = if code.contains("throttl")
            || code.contains("quotaexceeded")
            || code.contains("toomanyrequests")
        {
            ErrorKind::Throttled
        } else if code.contains("timeout") {
            ErrorKind::Timeout
        } else if code.contains("model") {
            ErrorKind::ModelError
        } else if code.contains("unavailable") || code.contains("internal") {
            ErrorKind::ServerError
        } else if code.contains("validation")
            || code.contains("accessdenied")
            || code.contains("notfound")
        {
            ErrorKind::ClientError
        } else {
            return None;
        };
        Some(kind)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

/// What one request did, as the client saw it.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub sent: Instant,
    /// Arrival of every chunk that carried content text, in order.
    pub chunk_times: Vec<Instant>,
    /// The last byte of the response (or the failure).
    pub end: Instant,
    pub input_tokens: Option<u64>,
    /// Of the input, tokens the server took from its prefix cache, where it says
    /// (`usage.prompt_tokens_details.cached_tokens`).
    pub cached_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// Characters of generated text, for the client-side token estimate.
    pub output_chars: usize,
    pub failure: Option<Failure>,
    /// 1, or more when a connection that failed before any response was replaced (a pooled
    /// keep-alive connection the server had just closed); recorded, never hidden.
    pub attempts: u32,
}

/// Builds an [`Exchange`] as a response streams in, timestamping on arrival.
#[derive(Debug)]
pub struct ExchangeRecorder {
    exchange: Exchange,
}

impl ExchangeRecorder {
    /// Starts the clock: call immediately before the request goes out.
    pub fn start() -> ExchangeRecorder {
        let now = Instant::now();
        ExchangeRecorder {
            exchange: Exchange {
                sent: now,
                chunk_times: Vec::new(),
                end: now,
                input_tokens: None,
                cached_tokens: None,
                output_tokens: None,
                output_chars: 0,
                failure: None,
                attempts: 1,
            },
        }
    }

    /// Starts over after a failure that happened before any response: the clock restarts
    /// (the request was never served) and the attempt is counted.
    pub fn restart(&mut self) {
        let attempts = self.exchange.attempts + 1;
        *self = ExchangeRecorder::start();
        self.exchange.attempts = attempts;
    }

    pub fn content(&mut self, text: &str) {
        if !text.is_empty() {
            self.exchange.chunk_times.push(Instant::now());
            self.exchange.output_chars += text.chars().count();
        }
    }

    pub fn input_tokens(&mut self, tokens: u64) {
        self.exchange.input_tokens = Some(tokens);
    }

    pub fn cached_tokens(&mut self, tokens: u64) {
        self.exchange.cached_tokens = Some(tokens);
    }

    pub fn output_tokens(&mut self, tokens: u64) {
        self.exchange.output_tokens = Some(tokens);
    }

    pub fn fail(&mut self, kind: ErrorKind, message: impl Into<String>) {
        if self.exchange.failure.is_none() {
            self.exchange.failure = Some(Failure {
                kind,
                message: message.into(),
            });
        }
    }

    pub fn attempts(&self) -> u32 {
        self.exchange.attempts
    }

    pub fn has_failed(&self) -> bool {
        self.exchange.failure.is_some()
    }

    pub fn finish(mut self) -> Exchange {
        self.exchange.end = Instant::now();
        self.exchange
    }
}

/// What a target says about itself for the run's manifest. Never a credential.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    /// `openai`, `bedrock` or `sagemaker`.
    pub target: String,
    pub model_id: String,
    /// A URL, an endpoint name or `bedrock-runtime` — where the requests went.
    pub endpoint: String,
    pub region: Option<String>,
    /// Paid per token (Bedrock): the spend guard applies.
    pub paid_per_token: bool,
}

/// One endpoint that can be calibrated.
pub trait Target: Send + Sync {
    fn info(&self) -> &TargetInfo;

    /// Sends one streamed request and records it. Never retries; failures are in the result.
    fn send<'a>(&'a self, request: &'a TargetRequest) -> BoxFuture<'a, Exchange>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_error_codes_fall_into_the_planner_categories() {
        let kind = |c| ErrorKind::from_error_code(c);
        assert_eq!(kind("ThrottlingException"), Some(ErrorKind::Throttled));
        assert_eq!(kind("throttlingException"), Some(ErrorKind::Throttled));
        assert_eq!(
            kind("ServiceQuotaExceededException"),
            Some(ErrorKind::Throttled)
        );
        assert_eq!(kind("ModelTimeoutException"), Some(ErrorKind::Timeout));
        assert_eq!(
            kind("ModelStreamErrorException"),
            Some(ErrorKind::ModelError)
        );
        assert_eq!(kind("ModelNotReadyException"), Some(ErrorKind::ModelError));
        assert_eq!(
            kind("ServiceUnavailableException"),
            Some(ErrorKind::ServerError)
        );
        assert_eq!(kind("ValidationException"), Some(ErrorKind::ClientError));
        assert_eq!(kind("SomethingNew"), None);
        assert_eq!(ErrorKind::from_status(429), ErrorKind::Throttled);
        assert_eq!(ErrorKind::from_status(503), ErrorKind::ServerError);
        assert_eq!(ErrorKind::from_status(400), ErrorKind::ClientError);
    }

    #[test]
    fn empty_deltas_are_not_tokens() {
        let mut recorder = ExchangeRecorder::start();
        recorder.content("");
        recorder.content("Hello");
        recorder.content(" world");
        let exchange = recorder.finish();
        assert_eq!(exchange.chunk_times.len(), 2);
        assert_eq!(exchange.output_chars, 11);
        assert!(exchange.end >= exchange.chunk_times[1]);
    }
}
