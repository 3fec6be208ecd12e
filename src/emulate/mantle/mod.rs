//! Amazon Bedrock's `bedrock-mantle` endpoint: OpenAI Chat Completions (`POST
//! /v1/chat/completions`, `openai.rs`) and Anthropic Messages (`POST /v1/messages`,
//! `anthropic.rs`), authenticated with a Bedrock API key (`auth.rs`), admitted against
//! mantle's own quota (separate input- and output-tokens-per-minute buckets, the simulator's
//! arithmetic in `crate::quota::bucket`), with a prompt cache whose reads do not count against
//! input TPM (`prompt_cache.rs`). Timing, text and faults are the emulator's, as on the
//! bedrock-runtime paths; errors are in the shape of the API spoken (`error.rs`).

mod anthropic;
mod auth;
mod error;
mod openai;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::Value;

use super::behaviour::{throttle_message, Admission, Endpoint, Generation, Refusal};
use super::errors::Service;
use super::inbound::{
    declared_length, late_body_message, leaves_unread, read_body, BodyError, BEDROCK_MAX_BODY_BYTES,
};
use super::limits::ModelLimits;
use super::prompt::Prompt;
use super::prompt_cache::{CacheUse, Prefix};
use super::stream::{stream_answer, whole_answer};
use super::App;
use crate::quota::bucket::Ask;
use error::{Dialect, Kind, MantleError};

const EVENT_STREAM: &str = "text/event-stream";

/// Output tokens generated when a Chat Completions request sets no limit.
const DEFAULT_MAX_TOKENS: u64 = 512;

/// A mantle request as read from its body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Parsed {
    pub model: String,
    /// The turns and the tokens to generate.
    pub prompt: Prompt,
    /// max_tokens as checked against input TPM: as sent, or the most the model could
    /// generate for this prompt when unset.
    pub reserve: u64,
    /// The prompt prefix to read from or write to the prompt cache (empty: none).
    pub prefix: Prefix,
    pub stream: bool,
    /// OpenAI's `stream_options.include_usage`.
    pub include_usage: bool,
}

pub async fn chat_completions(State(app): State<Arc<App>>, request: Request) -> Response {
    serve(&app, Dialect::OpenAi, request).await
}

pub async fn messages(State(app): State<Arc<App>>, request: Request) -> Response {
    serve(&app, Dialect::Anthropic, request).await
}

async fn serve(app: &App, dialect: Dialect, request: Request) -> Response {
    let admitted = async {
        let body = accept(app, dialect, request).await?;
        let parsed = match dialect {
            Dialect::OpenAi => openai::parse(&body, &app.limits)?,
            Dialect::Anthropic => anthropic::parse(&body, &app.limits)?,
        };
        if !app.knows_model(&parsed.model) {
            return Err(unknown_model(dialect, &parsed.model));
        }
        let now = Instant::now();
        let cache = app.prompt_cache.lookup(&parsed.model, &parsed.prefix, now);
        let generation = admit(app, dialect, &parsed, cache)?;
        app.prompt_cache.keep(&parsed.model, &parsed.prefix, now);
        Ok((parsed, cache, generation))
    };
    let (parsed, cache, mut generation) = match admitted.await {
        Ok(admitted) => admitted,
        Err(error) => return error.into_response(),
    };
    let upstream = app.upstream.as_ref();
    let prompt = &parsed.prompt;
    if parsed.stream {
        return match dialect {
            Dialect::OpenAi => {
                let framing = openai::Chunks::new(&parsed, cache);
                stream_answer(
                    upstream,
                    Service::Bedrock,
                    prompt,
                    generation,
                    framing,
                    EVENT_STREAM,
                )
                .await
            }
            Dialect::Anthropic => {
                let framing = anthropic::Events::new(&parsed, cache);
                stream_answer(
                    upstream,
                    Service::Bedrock,
                    prompt,
                    generation,
                    framing,
                    EVENT_STREAM,
                )
                .await
            }
        };
    }
    match whole_answer(upstream, Service::Bedrock, prompt, &mut generation).await {
        Ok(answer) => {
            let body = match dialect {
                Dialect::OpenAi => openai::reply(&parsed, &generation, cache, &answer),
                Dialect::Anthropic => anthropic::reply(&parsed, &generation, cache, &answer),
            };
            // Settles the quota before the client has the answer.
            drop(generation);
            Json(body).into_response()
        }
        Err(error) => MantleError::from_aws(dialect, error).into_response(),
    }
}

/// The key (before any of the body is read), the body within Bedrock's size limit and the
/// body deadline, and JSON.
async fn accept(app: &App, dialect: Dialect, request: Request) -> Result<Value, MantleError> {
    let (parts, body) = request.into_parts();
    let declared = declared_length(&parts.headers);
    auth::check(&parts.headers, &app.api_key)
        .map_err(|e| auth::refusal(dialect, e).closing_if(leaves_unread(declared)))?;
    // The key holder's body: read without the unverified-body budget.
    let deadline = app.inbound.deadline();
    let body = read_body(body, BEDROCK_MAX_BODY_BYTES, declared, deadline, None)
        .await
        .map_err(|error| {
            let close = error.closes(declared);
            let answer = match error {
                BodyError::TooLarge(size) => MantleError::new(
                    dialect,
                    Kind::TooLarge,
                    format!(
                        "The request body ({size} bytes) is over the limit of \
                         {BEDROCK_MAX_BODY_BYTES} bytes."
                    ),
                ),
                BodyError::Broken => {
                    MantleError::invalid(dialect, "The request body could not be read to its end.")
                }
                BodyError::TimedOut => {
                    MantleError::new(dialect, Kind::Timeout, late_body_message(deadline))
                }
                BodyError::Busy => MantleError::new(
                    dialect,
                    Kind::Overloaded,
                    "The service is busy receiving other request bodies; retry shortly.",
                ),
            };
            answer.closing_if(close)
        })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        MantleError::invalid(dialect, format!("The request body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(MantleError::invalid(
            dialect,
            "The request body must be a JSON object.",
        ));
    }
    Ok(value)
}

fn unknown_model(dialect: Dialect, model: &str) -> MantleError {
    let message = match dialect {
        Dialect::OpenAi => {
            format!("The model `{model}` does not exist or you do not have access to it.")
        }
        Dialect::Anthropic => format!("model: {model}"),
    };
    MantleError::new(dialect, Kind::NotFound, message)
}

/// Admits against mantle's quota: uncached input + max_tokens against input TPM, refused
/// while output TPM is exhausted.
fn admit(
    app: &App,
    dialect: Dialect,
    parsed: &Parsed,
    cache: CacheUse,
) -> Result<Generation, MantleError> {
    let admission = Admission {
        model_id: Some(&parsed.model),
        // bedrock-mantle's invocations are not written to the invocation log.
        operation: None,
        endpoint: Some(Endpoint::Mantle),
        ask: Ask {
            input: parsed.prompt.estimated_tokens() as f64,
            cache_read: cache.read as f64,
            max_tokens: parsed.reserve as f64,
        },
        cache_write: cache.written,
        output_tokens: parsed.prompt.max_tokens,
        stream: parsed.stream,
    };
    app.behaviour
        .admit_with(&admission)
        .map_err(|refusal| refused(dialect, refusal))
}

fn refused(dialect: Dialect, refusal: Refusal) -> MantleError {
    match refusal {
        Refusal::NotReady => MantleError::new(
            dialect,
            Kind::Overloaded,
            "The model is not ready to serve inference requests; try again shortly.",
        ),
        Refusal::Unavailable => MantleError::new(
            dialect,
            Kind::Overloaded,
            "The service is temporarily unavailable (injected fault).",
        ),
        Refusal::Throttled {
            reason,
            retry_after_s,
        } => {
            let mut message = throttle_message(reason).to_string();
            if !retry_after_s.is_finite() {
                message.push_str(
                    " This request's uncached input tokens and max_tokens exceed the quota \
                     itself; lower max_tokens.",
                );
            }
            let mut error = MantleError::new(dialect, Kind::RateLimit, message);
            error.retry_after_s = retry_after_s
                .is_finite()
                .then(|| retry_after_s.ceil().max(1.0) as u64);
            error
        }
    }
}

/// A response id: `prefix` and a number unique in this process.
fn next_id(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{prefix}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// True when the whole `max_tokens` was generated (the paced answer always; an upstream may
/// stop sooner).
fn hit_limit(generation: &Generation, max_tokens: u64) -> bool {
    generation.output_tokens >= max_tokens
}

/// An optional boolean field; anything but true, false or null is refused.
fn flag(body: &Value, pointer: &str, name: &str, dialect: Dialect) -> Result<bool, MantleError> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(MantleError::invalid(
            dialect,
            format!("{name}: Input should be a valid boolean, got {other}"),
        )),
    }
}

/// One SSE event: `data:` alone (OpenAI) or with its `event:` name (Anthropic).
fn sse(event: Option<&str>, data: &Value) -> Bytes {
    match event {
        Some(name) => Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

/// The model maximum a Chat Completions request without max_tokens reserves: the model's
/// output limit, or what the context window leaves after the prompt if less.
fn unset_reservation(input: u64, limits: &ModelLimits) -> u64 {
    limits
        .max_output_tokens
        .min(limits.context_window.saturating_sub(input))
}
