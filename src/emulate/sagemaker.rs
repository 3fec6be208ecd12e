//! SageMaker Runtime: InvokeEndpoint and InvokeEndpointWithResponseStream for an LLM container,
//! TGI-style (`inputs` + `parameters`, token events) or OpenAI-style (`messages`, chat chunks),
//! with the service's 6 MB payload (`inbound.rs`) and 60 s invocation limits.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::behaviour::Generation;
use super::errors::{AwsError, Service};
use super::frames::{bytes_event, exception};
use super::limits::{bounded, ModelLimits};
use super::prompt::{Message, Prompt};
use super::prompt_cache::CacheUse;
use super::refusal::{container_refusal, Field, Wording};
use super::stream::{stream_answer, whole_answer, Framing};
use super::App;

const DEFAULT_MAX_TOKENS: u64 = 256;
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

const TGI_MAX_TOKENS: Field = Field::new(Wording::Tgi, "parameters.max_new_tokens");
const OPENAI_MAX_TOKENS: Field = Field::new(Wording::OpenAi, "max_tokens");

/// The two container dialects.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Dialect {
    Tgi,
    OpenAi,
}

/// What SageMaker checks (body size and signature in `inbound.rs`, the endpoint), then what
/// the container checks of the payload.
async fn accept(
    app: &App,
    endpoint: &str,
    request: Request,
) -> Result<(Dialect, Prompt), AwsError> {
    let body = app.receive(Service::Sagemaker, request).await?;
    if !app.knows_endpoint(endpoint) {
        return Err(AwsError::validation(
            Service::Sagemaker,
            format!("Endpoint {endpoint} of account 000000000000 not found."),
        ));
    }
    parse_payload(&body, &app.limits)
}

/// A container's reading of the payload: TGI's `inputs` + `parameters.max_new_tokens`, or
/// OpenAI's `messages` + `max_tokens`; what it refuses comes back as SageMaker's ModelError.
pub(crate) fn parse_payload(
    body: &[u8],
    limits: &ModelLimits,
) -> Result<(Dialect, Prompt), AwsError> {
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        container_refusal(
            422,
            json!({"error": format!("Failed to parse the request body as JSON: {e}"),
                   "error_type": "validation"}),
        )
    })?;
    let (dialect, messages, requested, field) =
        if let Some(inputs) = request.get("inputs").and_then(Value::as_str) {
            let requested = request.pointer("/parameters/max_new_tokens");
            let messages = vec![Message::new("user", inputs)];
            (Dialect::Tgi, messages, requested, TGI_MAX_TOKENS)
        } else if let Some(messages) = request.get("messages").and_then(Value::as_array) {
            let turns = messages
                .iter()
                .map(|m| {
                    let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
                    let content = m.get("content").and_then(Value::as_str).unwrap_or("");
                    Message::new(role, content)
                })
                .collect();
            (
                Dialect::OpenAi,
                turns,
                request.get("max_tokens"),
                OPENAI_MAX_TOKENS,
            )
        } else {
            return Err(container_refusal(
                422,
                json!({"error": "the body needs `inputs` (TGI) or `messages` (OpenAI)",
                       "error_type": "validation"}),
            ));
        };
    let prompt = bounded(messages, requested, DEFAULT_MAX_TOKENS, field, limits)?;
    Ok((dialect, prompt))
}

fn timed_out(limit: Duration) -> AwsError {
    AwsError::new(
        424,
        "ModelError",
        format!(
            "Received server error (0) from primary with message \"Your invocation timed \
             out while waiting for a response from container primary.\" (limit {} s)",
            limit.as_secs_f64()
        ),
    )
}

pub async fn invoke_endpoint(
    State(app): State<Arc<App>>,
    Path(endpoint): Path<String>,
    request: Request,
) -> Response {
    let run = async {
        let (dialect, prompt) = accept(&app, &endpoint, request).await?;
        let mut generation = app.behaviour.admit(
            Service::Sagemaker,
            None,
            None,
            &prompt,
            CacheUse::default(),
            false,
        )?;
        let limit = app.invocation_timeout;
        let upstream = app.upstream.as_ref();
        if upstream.is_none() {
            // The profile says how long it will take: fail at the limit rather than after.
            let total = generation.due(generation.output_tokens.max(1) - 1) - generation.start;
            if total > limit {
                tokio::time::sleep(limit).await;
                return Err(timed_out(limit));
            }
        }
        let answer = whole_answer(upstream, Service::Sagemaker, &prompt, &mut generation);
        let answer = tokio::time::timeout(limit, answer)
            .await
            .map_err(|_| timed_out(limit))??;
        let n = generation.output_tokens;
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
    /// The text sent so far (TGI's final event repeats it as `generated_text`).
    generated: String,
    /// TGI's final event (with `details`) has been sent.
    closed: bool,
}

impl PayloadFraming {
    fn new(dialect: Dialect) -> PayloadFraming {
        PayloadFraming {
            dialect,
            lines: 0,
            generated: String::new(),
            closed: false,
        }
    }

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

    /// A TGI token event; the last one carries the whole text and `details`.
    fn tgi_event(
        &mut self,
        generation: &Generation,
        index: u64,
        text: &str,
        special: bool,
        last: bool,
    ) -> Vec<Bytes> {
        let (generated, details) = if last {
            self.closed = true;
            (
                json!(self.generated),
                json!({"finish_reason": "length",
                       "generated_tokens": generation.output_tokens, "seed": null}),
            )
        } else {
            (Value::Null, Value::Null)
        };
        let event = json!({"index": index,
                           "token": {"id": index, "text": text, "logprob": 0.0, "special": special},
                           "generated_text": generated, "details": details});
        self.parts(format!("data:{event}\n\n"))
    }
}

impl Framing for PayloadFraming {
    fn start(&mut self, _: &Generation) -> Vec<Bytes> {
        Vec::new()
    }

    fn token(&mut self, generation: &Generation, index: u64, text: &str, last: bool) -> Vec<Bytes> {
        self.generated.push_str(text);
        match self.dialect {
            Dialect::Tgi => self.tgi_event(generation, index, text, false, last),
            Dialect::OpenAi => {
                let event = json!({"id": "chatcmpl-emulated", "object": "chat.completion.chunk",
                                   "choices": [{"index": 0, "delta": {"content": text},
                                                "finish_reason": null}]});
                self.parts(format!("data: {event}\n\n"))
            }
        }
    }

    fn finish(&mut self, generation: &Generation, _: u64) -> Vec<Bytes> {
        match self.dialect {
            // A relayed stream learns of its end only now: close it as TGI does when a model
            // stops by itself, with the special end-of-sequence token.
            Dialect::Tgi if !self.closed => {
                let index = generation.output_tokens;
                self.tgi_event(generation, index, "</s>", true, true)
            }
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
        self.stream_error(
            "Your model stream was interrupted: the container reported too many requests.",
        )
    }

    fn stream_error(&mut self, message: &str) -> Bytes {
        exception("ModelStreamError", message)
    }
}

pub async fn invoke_endpoint_stream(
    State(app): State<Arc<App>>,
    Path(endpoint): Path<String>,
    request: Request,
) -> Response {
    let admitted = async {
        let (dialect, prompt) = accept(&app, &endpoint, request).await?;
        let generation = app.behaviour.admit(
            Service::Sagemaker,
            None,
            None,
            &prompt,
            CacheUse::default(),
            true,
        )?;
        Ok::<_, AwsError>((dialect, prompt, generation))
    }
    .await;
    match admitted {
        Ok((dialect, prompt, generation)) => {
            let framing = PayloadFraming::new(dialect);
            let upstream = app.upstream.as_ref();
            stream_answer(
                upstream,
                Service::Sagemaker,
                &prompt,
                generation,
                framing,
                EVENT_STREAM,
            )
            .await
        }
        Err(error) => error.into_response(),
    }
}

/// The invocation time limit real-time endpoints enforce.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);
