//! Bedrock Runtime: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream with
//! the service's paths, bodies, event sequence and errors.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::behaviour::Generation;
use super::errors::{AwsError, Service};
use super::frames::{exception, json_event};
use super::limits::{bounded, ModelLimits};
use super::prompt::{content_text, Message, Prompt};
use super::prompt_cache::{CacheUse, Prefix};
use super::refusal::{Field, Wording};
use super::stream::{stream_answer, whole_answer, Framing};
use super::App;

const DEFAULT_MAX_TOKENS: u64 = 512;
const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

const CONVERSE_MAX_TOKENS: Field = Field::new(Wording::Converse, "inferenceConfig.maxTokens");

/// A body as JSON, or Bedrock's refusal of it.
pub(crate) fn read_json(body: &[u8]) -> Result<Value, AwsError> {
    serde_json::from_slice(body).map_err(|e| {
        AwsError::validation(Service::Bedrock, format!("Malformed input request: {e}"))
    })
}

/// What every Bedrock operation checks first: body size and signature (`inbound.rs`), JSON,
/// model id.
async fn accept(app: &App, model_id: &str, request: Request) -> Result<Value, AwsError> {
    let body = app.receive(Service::Bedrock, request).await?;
    let request = read_json(&body)?;
    if !app.knows_model(model_id) {
        return Err(AwsError::validation(
            Service::Bedrock,
            "The provided model identifier is invalid.",
        ));
    }
    Ok(request)
}

/// Converse bodies: `system[].text`, `messages[].role` and `messages[].content[].text`;
/// `inferenceConfig.maxTokens`.
pub(crate) fn converse_prompt(request: &Value, limits: &ModelLimits) -> Result<Prompt, AwsError> {
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            AwsError::validation(Service::Bedrock, "A conversation must have messages.")
        })?;
    bounded(
        turns(request.get("system"), messages),
        request.pointer("/inferenceConfig/maxTokens"),
        DEFAULT_MAX_TOKENS,
        CONVERSE_MAX_TOKENS,
        limits,
    )
}

/// Converse's prompt-cache checkpoints: the turns' texts up to the last `cachePoint` block in
/// `system` or a message's `content` (a checkpoint marks the block before it; empty: no
/// checkpoint, nothing cached).
pub(crate) fn converse_prefix<'a>(request: &'a Value) -> Prefix {
    let mut blocks: Vec<(&str, &str, bool)> = Vec::new();
    let mut add = |role: &'static str, content: Option<&'a Value>| {
        for b in content.and_then(Value::as_array).into_iter().flatten() {
            if b.get("cachePoint").is_some() {
                if let Some(before) = blocks.last_mut() {
                    before.2 = true;
                }
            } else if let Some(text) = b.get("text").and_then(Value::as_str) {
                blocks.push((role, text, false));
            }
        }
    };
    add("system", request.get("system"));
    for message in request
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role = match message.get("role").and_then(Value::as_str) {
            Some("assistant") => "assistant",
            _ => "user",
        };
        add(role, message.get("content"));
    }
    Prefix::through_last_breakpoint(&blocks)
}

/// Chat turns from a `system` field and `messages[]` (Converse and Anthropic bodies): content
/// is a string or a list of blocks whose `text`s are joined.
pub(crate) fn turns(system: Option<&Value>, messages: &[Value]) -> Vec<Message> {
    let text_of = content_text;
    let mut turns = Vec::new();
    let system = text_of(system);
    if !system.is_empty() {
        turns.push(Message::new("system", system));
    }
    for message in messages {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user");
        turns.push(Message::new(role, text_of(message.get("content"))));
    }
    turns
}

/// Admits a non-streaming request and waits for its whole answer (profile or upstream).
async fn answer_whole(
    app: &App,
    model_id: &str,
    operation: &'static str,
    prompt: &Prompt,
    prefix: &Prefix,
) -> Result<(Generation, Option<CacheUse>, String), AwsError> {
    let (mut generation, cache) = admit_cached(app, model_id, prefix, |cache| {
        app.behaviour.admit(
            Service::Bedrock,
            Some(model_id),
            Some(operation),
            prompt,
            cache,
            false,
        )
    })?;
    let upstream = app.upstream.as_ref();
    let answer = whole_answer(upstream, Service::Bedrock, prompt, &mut generation).await?;
    Ok((generation, cache, answer))
}

/// Bedrock's token usage: `inputTokens` are the prompt's tokens neither read from nor written to
/// the cache; the cache's two counts are present when the request had a checkpoint.
fn usage(generation: &Generation, cache: Option<CacheUse>, output: u64) -> Value {
    let c = cache.unwrap_or_default();
    let input = generation.input_tokens.saturating_sub(c.read + c.written);
    let mut usage = json!({"inputTokens": input, "outputTokens": output,
                           "totalTokens": generation.input_tokens + output});
    if cache.is_some() {
        usage["cacheReadInputTokens"] = json!(c.read);
        usage["cacheWriteInputTokens"] = json!(c.written);
    }
    usage
}

/// Looks `prefix` up in the prompt cache, admits with what it would read or write, and keeps
/// the prefix once admitted (a throttled request writes nothing).
fn admit_cached<T>(
    app: &App,
    model_id: &str,
    prefix: &Prefix,
    admit: impl FnOnce(CacheUse) -> Result<T, AwsError>,
) -> Result<(T, Option<CacheUse>), AwsError> {
    let now = std::time::Instant::now();
    let cache = app.prompt_cache.lookup(model_id, prefix, now);
    let admitted = admit(cache)?;
    app.prompt_cache.keep(model_id, prefix, now);
    Ok((admitted, (!prefix.is_empty()).then_some(cache)))
}

pub async fn converse(
    State(app): State<Arc<App>>,
    Path(model_id): Path<String>,
    request: Request,
) -> Response {
    let run = async {
        let request = accept(&app, &model_id, request).await?;
        let prompt = converse_prompt(&request, &app.limits)?;
        let prefix = converse_prefix(&request);
        let (generation, cache, answer) =
            answer_whole(&app, &model_id, "Converse", &prompt, &prefix).await?;
        let n = generation.output_tokens;
        Ok::<_, AwsError>(Json(json!({
            "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
            "stopReason": "max_tokens",
            "usage": usage(&generation, cache, n),
            "metrics": {"latencyMs": generation.start.elapsed().as_millis() as u64},
        })))
    };
    run.await.into_response()
}

struct ConverseFraming {
    cache: Option<CacheUse>,
}

impl Framing for ConverseFraming {
    fn start(&mut self, _: &Generation) -> Vec<Bytes> {
        vec![json_event("messageStart", &json!({"role": "assistant"}))]
    }

    fn token(&mut self, _: &Generation, _: u64, text: &str, _: bool) -> Vec<Bytes> {
        vec![json_event(
            "contentBlockDelta",
            &json!({"contentBlockIndex": 0, "delta": {"text": text}}),
        )]
    }

    fn finish(&mut self, generation: &Generation, latency_ms: u64) -> Vec<Bytes> {
        vec![
            json_event("contentBlockStop", &json!({"contentBlockIndex": 0})),
            json_event("messageStop", &json!({"stopReason": "max_tokens"})),
            json_event(
                "metadata",
                &json!({"usage": usage(generation, self.cache, generation.output_tokens),
                        "metrics": {"latencyMs": latency_ms}}),
            ),
        ]
    }

    fn throttle(&mut self) -> Bytes {
        exception(
            "throttlingException",
            "Too many tokens, please wait before trying again.",
        )
    }

    fn stream_error(&mut self, message: &str) -> Bytes {
        exception("modelStreamErrorException", message)
    }
}

pub async fn converse_stream(
    State(app): State<Arc<App>>,
    Path(model_id): Path<String>,
    request: Request,
) -> Response {
    let admitted = async {
        let request = accept(&app, &model_id, request).await?;
        let prompt = converse_prompt(&request, &app.limits)?;
        let prefix = converse_prefix(&request);
        let (generation, cache) = admit_cached(&app, &model_id, &prefix, |cache| {
            app.behaviour.admit(
                Service::Bedrock,
                Some(&model_id),
                Some("ConverseStream"),
                &prompt,
                cache,
                true,
            )
        })?;
        Ok::<_, AwsError>((prompt, generation, cache))
    }
    .await;
    match admitted {
        Ok((prompt, generation, cache)) => {
            let upstream = app.upstream.as_ref();
            stream_answer(
                upstream,
                Service::Bedrock,
                &prompt,
                generation,
                ConverseFraming { cache },
                EVENT_STREAM,
            )
            .await
        }
        Err(error) => error.into_response(),
    }
}

/// The native body families InvokeModel understands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Family {
    /// `{"anthropic_version", "max_tokens", "messages"}`
    Anthropic,
    /// `{"prompt", "max_gen_len"}`
    MetaLlama,
    /// Anything else with a `prompt`/`inputText` and `max_tokens`: answered Titan-style.
    Other,
}

pub(crate) fn family(model_id: &str) -> Family {
    if model_id.contains("anthropic.") {
        Family::Anthropic
    } else if model_id.contains("meta.") {
        Family::MetaLlama
    } else {
        Family::Other
    }
}

/// Native bodies: Anthropic's `system` + `messages` (string or block content), or a raw
/// `prompt` (Meta Llama; `inputText` for Titan-style), forwarded upstream as one user turn.
pub(crate) fn native_prompt(
    family: Family,
    request: &Value,
    limits: &ModelLimits,
) -> Result<Prompt, AwsError> {
    let invalid = |what: &str| {
        AwsError::validation(
            Service::Bedrock,
            format!("Malformed input request: {what}, please reformat your input and try again."),
        )
    };
    match family {
        Family::Anthropic => {
            let messages = request
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("#: required key [messages] not found"))?;
            let requested = request
                .get("max_tokens")
                .filter(|v| !v.is_null())
                .ok_or_else(|| invalid("#: required key [max_tokens] not found"))?;
            let field = Field::new(Wording::Schema, "max_tokens");
            bounded(
                turns(request.get("system"), messages),
                Some(requested),
                DEFAULT_MAX_TOKENS,
                field,
                limits,
            )
        }
        Family::MetaLlama | Family::Other => {
            let prompt = request
                .get("prompt")
                .or_else(|| request.get("inputText"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("#: required key [prompt] not found"))?;
            let (name, requested) = [
                ("max_gen_len", "/max_gen_len"),
                ("max_tokens", "/max_tokens"),
                (
                    "textGenerationConfig/maxTokenCount",
                    "/textGenerationConfig/maxTokenCount",
                ),
            ]
            .into_iter()
            .find_map(|(name, pointer)| request.pointer(pointer).map(|v| (name, Some(v))))
            .unwrap_or(("max_gen_len", None));
            let field = Field::new(Wording::Schema, name);
            let messages = vec![Message::new("user", prompt)];
            bounded(messages, requested, DEFAULT_MAX_TOKENS, field, limits)
        }
    }
}

fn invocation_metrics(generation: &Generation, output: u64, latency_ms: u64) -> Value {
    json!({"inputTokenCount": generation.input_tokens, "outputTokenCount": output,
           "invocationLatency": latency_ms,
           "firstByteLatency": generation.ttft.as_millis() as u64})
}

pub async fn invoke(
    State(app): State<Arc<App>>,
    Path(model_id): Path<String>,
    request: Request,
) -> Response {
    let family = family(&model_id);
    let run = async {
        let request = accept(&app, &model_id, request).await?;
        let prompt = native_prompt(family, &request, &app.limits)?;
        let (generation, _, answer) =
            answer_whole(&app, &model_id, "InvokeModel", &prompt, &Prefix::default()).await?;
        let n = generation.output_tokens;
        let body = match family {
            Family::Anthropic => json!({
                "id": "msg_emulated", "type": "message", "role": "assistant", "model": model_id,
                "content": [{"type": "text", "text": answer}],
                "stop_reason": "max_tokens", "stop_sequence": null,
                "usage": {"input_tokens": generation.input_tokens, "output_tokens": n},
            }),
            Family::MetaLlama => json!({
                "generation": answer, "prompt_token_count": generation.input_tokens,
                "generation_token_count": n, "stop_reason": "length",
            }),
            Family::Other => json!({
                "inputTextTokenCount": generation.input_tokens,
                "results": [{"tokenCount": n, "outputText": answer, "completionReason": "LENGTH"}],
            }),
        };
        let mut response = Json(body).into_response();
        let h = response.headers_mut();
        h.insert(
            "x-amzn-bedrock-input-token-count",
            generation.input_tokens.into(),
        );
        h.insert("x-amzn-bedrock-output-token-count", n.into());
        h.insert(
            "x-amzn-bedrock-invocation-latency",
            (generation.start.elapsed().as_millis() as u64).into(),
        );
        Ok::<_, AwsError>(response)
    };
    run.await.into_response()
}

/// InvokeModelWithResponseStream wraps each native chunk as `{"bytes": base64}` in a `chunk`
/// event.
struct NativeFraming {
    family: Family,
    model_id: String,
}

fn chunk(value: Value) -> Bytes {
    let encoded = aws_smithy_types::base64::encode(value.to_string());
    json_event("chunk", &json!({ "bytes": encoded }))
}

impl Framing for NativeFraming {
    fn start(&mut self, generation: &Generation) -> Vec<Bytes> {
        match self.family {
            Family::Anthropic => vec![
                chunk(json!({"type": "message_start", "message": {
                    "id": "msg_emulated", "type": "message", "role": "assistant",
                    "model": self.model_id, "content": [], "stop_reason": null,
                    "usage": {"input_tokens": generation.input_tokens, "output_tokens": 1}}})),
                chunk(json!({"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": ""}})),
            ],
            _ => Vec::new(),
        }
    }

    fn token(&mut self, generation: &Generation, index: u64, text: &str, _: bool) -> Vec<Bytes> {
        vec![match self.family {
            Family::Anthropic => chunk(json!({"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}})),
            Family::MetaLlama => chunk(json!({
                "generation": text,
                "prompt_token_count": if index == 0 { Some(generation.input_tokens) } else { None },
                "generation_token_count": index + 1, "stop_reason": null})),
            Family::Other => chunk(json!({"outputText": text, "index": 0,
                                          "totalOutputTextTokenCount": index + 1,
                                          "completionReason": null})),
        }]
    }

    fn finish(&mut self, generation: &Generation, latency_ms: u64) -> Vec<Bytes> {
        let n = generation.output_tokens;
        let metrics = invocation_metrics(generation, n, latency_ms);
        match self.family {
            Family::Anthropic => vec![
                chunk(json!({"type": "content_block_stop", "index": 0})),
                chunk(json!({"type": "message_delta",
                             "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
                             "usage": {"output_tokens": n}})),
                chunk(json!({"type": "message_stop",
                             "amazon-bedrock-invocationMetrics": metrics})),
            ],
            Family::MetaLlama => vec![chunk(json!({
                "generation": "", "prompt_token_count": null, "generation_token_count": n,
                "stop_reason": "length", "amazon-bedrock-invocationMetrics": metrics}))],
            Family::Other => vec![chunk(json!({
                "outputText": "", "index": 0, "totalOutputTextTokenCount": n,
                "completionReason": "LENGTH", "amazon-bedrock-invocationMetrics": metrics}))],
        }
    }

    fn throttle(&mut self) -> Bytes {
        exception(
            "throttlingException",
            "Too many tokens, please wait before trying again.",
        )
    }

    fn stream_error(&mut self, message: &str) -> Bytes {
        exception("modelStreamErrorException", message)
    }
}

pub async fn invoke_stream(
    State(app): State<Arc<App>>,
    Path(model_id): Path<String>,
    request: Request,
) -> Response {
    let family = family(&model_id);
    let admitted = async {
        let request = accept(&app, &model_id, request).await?;
        let prompt = native_prompt(family, &request, &app.limits)?;
        let generation = app.behaviour.admit(
            Service::Bedrock,
            Some(&model_id),
            Some("InvokeModelWithResponseStream"),
            &prompt,
            CacheUse::default(),
            true,
        )?;
        Ok::<_, AwsError>((prompt, generation))
    }
    .await;
    match admitted {
        Ok((prompt, generation)) => {
            let framing = NativeFraming { family, model_id };
            let upstream = app.upstream.as_ref();
            stream_answer(
                upstream,
                Service::Bedrock,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_cache_point_caches_the_turns_before_it_written_then_read() {
        let body = |question: &str| {
            json!({"system": [{"text": "rules"}, {"cachePoint": {"type": "default"}}],
                   "messages": [{"role": "user", "content": [{"text": question}]}]})
        };
        let (a, b) = (
            converse_prefix(&body("one?")),
            converse_prefix(&body("two?")),
        );
        assert_eq!(a, b, "the prefix stops at the checkpoint");
        let mut expected = Prefix::default();
        expected.push("system", "rules");
        assert_eq!(a, expected);
        let cache = super::super::prompt_cache::PromptCache::default();
        let (now, n) = (Instant::now(), a.tokens());
        assert_eq!(
            cache.lookup("m", &a, now),
            CacheUse {
                read: 0,
                written: n
            }
        );
        cache.keep("m", &a, now);
        assert_eq!(
            cache.lookup("m", &b, now),
            CacheUse {
                read: n,
                written: 0
            }
        );
        // No checkpoint: nothing cached.
        let plain = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
        assert!(converse_prefix(&plain).is_empty());
    }
}
