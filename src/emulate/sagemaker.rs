//! SageMaker Runtime: InvokeEndpoint and InvokeEndpointWithResponseStream for an LLM container,
//! TGI-style (`inputs` + `parameters`, token events) or OpenAI-style (`messages`, chat chunks),
//! with the service's 6 MB payload and 60 s invocation limits.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::behaviour::Generation;
use super::errors::{AwsError, Service};
use super::frames::{bytes_event, exception};
use super::stream::{paced, wait_for_completion, Framing};
use super::{text, App};

/// SageMaker real-time endpoints accept request payloads up to 6 MB.
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

const DEFAULT_MAX_TOKENS: u64 = 256;

/// The two container dialects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Dialect {
    Tgi,
    OpenAi,
}

fn accept(
    app: &App,
    headers: &HeaderMap,
    endpoint: &str,
    body: &Bytes,
) -> Result<(Dialect, u64, u64), AwsError> {
    app.check_signed(headers, Service::Sagemaker)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(AwsError::validation(
            Service::Sagemaker,
            format!(
                "Request payload of {} bytes exceeds the 6 MB limit for real-time endpoints.",
                body.len()
            ),
        ));
    }
    if !app.knows_endpoint(endpoint) {
        return Err(AwsError::validation(
            Service::Sagemaker,
            format!("Endpoint {endpoint} of account 000000000000 not found."),
        ));
    }
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        AwsError::new(
            424,
            "ModelError",
            format!("Received client error (422) from primary: unreadable JSON ({e})"),
        )
    })?;
    if let Some(inputs) = request.get("inputs").and_then(Value::as_str) {
        let max = request
            .pointer("/parameters/max_new_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_MAX_TOKENS);
        return Ok((Dialect::Tgi, text::estimate_tokens(inputs), max.max(1)));
    }
    if let Some(messages) = request.get("messages").and_then(Value::as_array) {
        let prompt: String = messages
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_str))
            .collect();
        let max = request
            .get("max_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_MAX_TOKENS);
        return Ok((Dialect::OpenAi, text::estimate_tokens(&prompt), max.max(1)));
    }
    Err(AwsError::new(
        424,
        "ModelError",
        "Received client error (422) from primary: the body needs `inputs` (TGI) or `messages` (OpenAI)",
    ))
}

pub async fn invoke_endpoint(
    State(app): State<Arc<App>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let (dialect, input, max_tokens) = accept(&app, &headers, &endpoint, &body)?;
        let generation = app
            .behaviour
            .admit(Service::Sagemaker, input, max_tokens, false)?;
        let total = generation.due(generation.output_tokens.max(1) - 1) - generation.start;
        if total > app.invocation_timeout {
            tokio::time::sleep(app.invocation_timeout).await;
            return Err(AwsError::new(
                424,
                "ModelError",
                format!(
                    "Received server error (0) from primary with message \"Your invocation timed \
                     out while waiting for a response from container primary.\" (limit {} s)",
                    app.invocation_timeout.as_secs_f64()
                ),
            ));
        }
        wait_for_completion(&generation).await;
        let n = generation.output_tokens;
        let answer = text::generated_text(n);
        let body = match dialect {
            Dialect::Tgi => json!([{"generated_text": answer,
                                    "details": {"finish_reason": "length", "generated_tokens": n}}]),
            Dialect::OpenAi => json!({
                "id": "chatcmpl-emulated", "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "length",
                             "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": generation.input_tokens, "completion_tokens": n,
                          "total_tokens": generation.input_tokens + n},
            }),
        };
        let mut response = Json(body).into_response();
        response.headers_mut().insert(
            "x-amzn-invoked-production-variant",
            "AllTraffic".parse().expect("ascii"),
        );
        Ok(response)
    };
    run.await.into_response()
}

/// Server-sent-event lines carried in PayloadPart events; every third line is split across
/// two parts, as the service may split them anywhere.
struct PayloadFraming {
    dialect: Dialect,
    lines: u64,
}

impl PayloadFraming {
    fn parts(&mut self, line: String) -> Vec<Bytes> {
        self.lines += 1;
        let bytes = Bytes::from(line);
        if self.lines.is_multiple_of(3) && bytes.len() > 8 {
            let cut = bytes.len() / 2;
            vec![
                bytes_event("PayloadPart", bytes.slice(..cut)),
                bytes_event("PayloadPart", bytes.slice(cut..)),
            ]
        } else {
            vec![bytes_event("PayloadPart", bytes)]
        }
    }
}

impl Framing for PayloadFraming {
    fn start(&mut self, _: &Generation) -> Vec<Bytes> {
        Vec::new()
    }

    fn token(&mut self, generation: &Generation, index: u64, text: &str) -> Vec<Bytes> {
        let last = index + 1 == generation.output_tokens;
        let line = match self.dialect {
            Dialect::Tgi => {
                let (generated, details) = if last {
                    (
                        json!(text::generated_text(generation.output_tokens)),
                        json!({"finish_reason": "length",
                               "generated_tokens": generation.output_tokens, "seed": null}),
                    )
                } else {
                    (Value::Null, Value::Null)
                };
                let event = json!({"index": index,
                                   "token": {"id": index, "text": text, "logprob": 0.0, "special": false},
                                   "generated_text": generated, "details": details});
                format!("data:{event}\n\n")
            }
            Dialect::OpenAi => {
                let event = json!({"id": "chatcmpl-emulated", "object": "chat.completion.chunk",
                                   "choices": [{"index": 0, "delta": {"content": text},
                                                "finish_reason": null}]});
                format!("data: {event}\n\n")
            }
        };
        self.parts(line)
    }

    fn finish(&mut self, generation: &Generation, _: u64) -> Vec<Bytes> {
        match self.dialect {
            Dialect::Tgi => Vec::new(),
            Dialect::OpenAi => {
                let n = generation.output_tokens;
                let stop = json!({"object": "chat.completion.chunk",
                                  "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]});
                let usage = json!({"object": "chat.completion.chunk", "choices": [],
                                   "usage": {"prompt_tokens": generation.input_tokens,
                                             "completion_tokens": n,
                                             "total_tokens": generation.input_tokens + n}});
                let mut parts = self.parts(format!("data: {stop}\n\n"));
                parts.extend(self.parts(format!("data: {usage}\n\n")));
                parts.extend(self.parts("data: [DONE]\n\n".to_string()));
                parts
            }
        }
    }

    /// SageMaker models no in-stream throttle; a container's failure arrives as
    /// ModelStreamError.
    fn throttle(&mut self) -> Bytes {
        exception(
            "ModelStreamError",
            "Your model stream was interrupted: the container reported too many requests.",
        )
    }
}

pub async fn invoke_endpoint_stream(
    State(app): State<Arc<App>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admitted = accept(&app, &headers, &endpoint, &body).and_then(|(dialect, input, max)| {
        app.behaviour
            .admit(Service::Sagemaker, input, max, true)
            .map(|g| (dialect, g))
    });
    match admitted {
        Ok((dialect, generation)) => paced(
            generation,
            PayloadFraming { dialect, lines: 0 },
            "application/vnd.amazon.eventstream",
        ),
        Err(error) => error.into_response(),
    }
}

/// The invocation time limit real-time endpoints enforce.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);
