//! Proxy mode (`llmcap emulate --upstream URL`): a real OpenAI-compatible server (llama-server,
//! vLLM, TGI) generates, and the emulator re-frames its stream in Bedrock's or SageMaker's wire
//! format, so the AWS SDK paths meet a real model. Admission stays the emulator's (signature
//! check, quotas, injected faults, live concurrency); timing, text and token counts become the
//! upstream model's.

use eventsource_stream::Eventsource;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::errors::{AwsError, Service};
use super::prompt::Prompt;
use super::start_error::StartError;
use crate::calibrate::target::openai::{
    completions_url, discover_model, error_chain, http_client, is_stale_connection, STALE_ATTEMPTS,
};

/// One piece of the upstream's answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// A streamed chunk of text (one token on llama-server and vLLM).
    Text(String),
    /// The server's own token counts (`stream_options.include_usage`).
    Usage { input: u64, output: u64 },
}

/// What went wrong inside the upstream's stream once it had started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("the upstream stream ended without [DONE]")]
    NoDone,
    #[error("the upstream stream broke: {0}")]
    Broke(String),
    #[error("an unreadable upstream chunk ({0})")]
    Unreadable(String),
    /// The upstream's own message from an `error` chunk, passed on as it is.
    #[error("{0}")]
    Model(String),
}

/// The upstream's pieces, or the error that ended its stream.
pub type PieceStream = BoxStream<'static, Result<Piece, UpstreamError>>;

#[derive(Clone, Debug)]
pub struct Upstream {
    client: reqwest::Client,
    /// Keeps no connections: a retry after a stale pooled one goes out on its own.
    fresh: reqwest::Client,
    completions_url: String,
    model: String,
}

impl Upstream {
    /// `model`: the served model's name; `None` asks the server (`GET /v1/models`).
    pub async fn connect(url: &str, model: Option<String>) -> Result<Upstream, StartError> {
        let client = http_client(usize::MAX).map_err(StartError::UpstreamClient)?;
        let fresh = http_client(0).map_err(StartError::UpstreamClient)?;
        let completions_url = completions_url(url);
        let model = match model {
            Some(model) => model,
            None => discover_model(
                &client,
                &completions_url,
                None,
                "--upstream-model",
                crate::calibrate::target::openai::DISCOVERY_DEADLINE,
            )
            .await
            .map_err(StartError::Upstream)?,
        };
        Ok(Upstream {
            client,
            fresh,
            completions_url,
            model,
        })
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn url(&self) -> &str {
        &self.completions_url
    }

    /// Starts a streamed generation; a refusal comes back in `service`'s error shape.
    pub async fn open(&self, prompt: &Prompt, service: Service) -> Result<PieceStream, AwsError> {
        let body = json!({
            "model": self.model,
            "messages": prompt.messages,
            "max_tokens": prompt.max_tokens,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        let mut attempts = 1;
        let mut pending = self.client.post(&self.completions_url).json(&body).send();
        let response = loop {
            match pending.await {
                Ok(response) => break response,
                // A pooled connection the upstream had just closed: the request never reached
                // it; once more, on a connection of its own.
                Err(e) if is_stale_connection(&e) && attempts < STALE_ATTEMPTS => {
                    attempts += 1;
                    pending = self.fresh.post(&self.completions_url).json(&body).send();
                }
                Err(e) => return Err(unreachable(service, &error_chain(&e))),
            }
        };
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(refused(service, status, &text));
        }
        Ok(pieces(response))
    }
}

/// The upstream's SSE chunks as pieces; ends at `[DONE]`, or with an error if the stream
/// ends without it.
fn pieces(response: reqwest::Response) -> PieceStream {
    let events = response.bytes_stream().eventsource();
    futures_util::stream::unfold((events, false), |(mut events, ended)| async move {
        if ended {
            return None;
        }
        loop {
            let item = match events.next().await {
                None => Err(UpstreamError::NoDone),
                Some(Err(e)) => Err(UpstreamError::Broke(e.to_string())),
                Some(Ok(event)) if event.data.trim() == "[DONE]" => return None,
                Some(Ok(event)) => match serde_json::from_str::<Value>(&event.data) {
                    Ok(chunk) => match piece(&chunk) {
                        Ok(Some(piece)) => Ok(piece),
                        Ok(None) => continue,
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(UpstreamError::Unreadable(e.to_string())),
                },
            };
            let ended = item.is_err();
            return Some((item, (events, ended)));
        }
    })
    .boxed()
}

/// A chunk's text or usage; `None` for chunks carrying neither (role-only, finish reason).
fn piece(chunk: &Value) -> Result<Option<Piece>, UpstreamError> {
    if let Some(error) = chunk.get("error") {
        let message = error.get("message").and_then(Value::as_str);
        return Err(UpstreamError::Model(
            message.map_or_else(|| error.to_string(), str::to_string),
        ));
    }
    if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
        let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
        return Ok(Some(Piece::Usage {
            input: count("prompt_tokens"),
            output: count("completion_tokens"),
        }));
    }
    let text: String = chunk
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/delta/content").and_then(Value::as_str))
        .collect();
    Ok((!text.is_empty()).then_some(Piece::Text(text)))
}

/// The upstream cannot be reached: the service is unavailable (Bedrock) or the container
/// did not answer (SageMaker).
fn unreachable(service: Service, why: &str) -> AwsError {
    match service {
        Service::Bedrock => AwsError::new(
            503,
            "ServiceUnavailableException",
            format!("The upstream model server cannot be reached: {why}"),
        ),
        Service::Sagemaker => AwsError::new(
            424,
            "ModelError",
            format!("Received server error (0) from primary: {why}"),
        ),
    }
}

/// The upstream answered with an error status: a 429 stays a throttle on Bedrock; SageMaker
/// reports any container error as ModelError with the container's status.
fn refused(service: Service, status: u16, text: &str) -> AwsError {
    let text: String = text.chars().take(300).collect();
    match (service, status) {
        (Service::Bedrock, 429) => AwsError::throttling(format!("Upstream: {text}")),
        (Service::Bedrock, 400..=499) => {
            AwsError::validation(service, format!("Upstream {status}: {text}"))
        }
        (Service::Bedrock, _) => AwsError::new(
            424,
            "ModelErrorException",
            format!("The upstream model answered {status}: {text}"),
        ),
        (Service::Sagemaker, _) => AwsError::new(
            424,
            "ModelError",
            format!("Received server error ({status}) from primary with message \"{text}\""),
        ),
    }
}

/// The upstream's stream failed before a non-streaming answer was complete.
pub fn stream_failed(service: Service, error: &UpstreamError) -> AwsError {
    let message = error.to_string();
    match service {
        Service::Bedrock => AwsError::new(424, "ModelErrorException", message),
        Service::Sagemaker => AwsError::new(
            424,
            "ModelError",
            format!("Received server error from primary with message \"{message}\""),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_become_text_usage_or_nothing() {
        let text = json!({"choices": [{"index": 0, "delta": {"content": "Hi"}}]});
        assert_eq!(piece(&text), Ok(Some(Piece::Text("Hi".into()))));
        let role = json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]});
        assert_eq!(piece(&role), Ok(None));
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}});
        assert_eq!(
            piece(&usage),
            Ok(Some(Piece::Usage {
                input: 9,
                output: 3
            }))
        );
        let error = json!({"error": {"message": "context full"}});
        assert_eq!(
            piece(&error),
            Err(UpstreamError::Model("context full".to_string()))
        );
    }

    #[test]
    fn refusals_take_each_service_shape() {
        assert_eq!(
            refused(Service::Bedrock, 429, "busy").code,
            "ThrottlingException"
        );
        assert_eq!(
            refused(Service::Bedrock, 400, "bad").code,
            "ValidationException"
        );
        assert_eq!(
            refused(Service::Bedrock, 500, "boom").code,
            "ModelErrorException"
        );
        let sagemaker = refused(Service::Sagemaker, 500, "boom");
        assert_eq!(
            (sagemaker.code, sagemaker.status.as_u16()),
            ("ModelError", 424)
        );
    }
}
