//! OpenAI Chat Completions on bedrock-mantle: `model`, `messages`, `max_completion_tokens` or
//! `max_tokens`, `stream`, `stream_options.include_usage`; the reply's `choices[0].message`,
//! and `usage` with `prompt_tokens_details.cached_tokens`; streamed as `data: {chunk}` lines
//! ending `data: [DONE]`. A prompt's leading system (or developer) messages are cached
//! automatically once they reach 1,024 tokens, as OpenAI's prompt caching does.

use bytes::Bytes;
use serde_json::{json, Value};

use super::super::behaviour::Generation;
use super::super::limits::{check_fit, read_tokens, ModelLimits};
use super::super::prompt::{content_text, Message, Prompt};
use super::super::prompt_cache::{CacheUse, Prefix, OPENAI_MIN_TOKENS};
use super::super::refusal::{Field, Wording};
use super::super::stream::Framing;
use super::error::{Dialect, Kind, MantleError};
use super::{
    flag, hit_limit, next_id, sse, unix_seconds, unset_reservation, Parsed, DEFAULT_MAX_TOKENS,
};

fn invalid(message: impl Into<String>) -> MantleError {
    MantleError::invalid(Dialect::OpenAi, message)
}

pub(super) fn parse(body: &Value, limits: &ModelLimits) -> Result<Parsed, MantleError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("you must provide a model parameter"))?;
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("Missing required parameter: 'messages'."))?;
    let mut turns = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("Missing required parameter: 'messages[{i}].role'.")))?;
        turns.push(Message::new(role, content_text(message.get("content"))));
    }
    let field = match body.get("max_completion_tokens") {
        Some(v) if !v.is_null() => Field::new(Wording::OpenAi, "max_completion_tokens"),
        _ => Field::new(Wording::OpenAi, "max_tokens"),
    };
    let requested = read_tokens(body.get(field.name), limits.max_output_tokens)
        .map_err(|e| invalid(field.words(e)))?;
    let max_tokens = requested.unwrap_or(DEFAULT_MAX_TOKENS.min(limits.max_output_tokens));
    let prompt = Prompt {
        messages: turns,
        max_tokens,
    };
    let input = prompt.estimated_tokens();
    check_fit(input, max_tokens, limits).map_err(|e| invalid(field.words(e)))?;
    let mut prefix = Prefix::default();
    for turn in prompt
        .messages
        .iter()
        .take_while(|m| m.role == "system" || m.role == "developer")
    {
        prefix.push(&turn.role, &turn.content);
    }
    if prefix.tokens() < OPENAI_MIN_TOKENS {
        prefix = Prefix::default();
    }
    Ok(Parsed {
        model: model.to_string(),
        reserve: requested.unwrap_or_else(|| unset_reservation(input, limits)),
        prefix,
        stream: flag(body, "/stream", "stream", Dialect::OpenAi)?,
        include_usage: flag(
            body,
            "/stream_options/include_usage",
            "stream_options.include_usage",
            Dialect::OpenAi,
        )?,
        prompt,
    })
}

fn usage(generation: &Generation, cache: CacheUse) -> Value {
    let (input, output) = (generation.input_tokens, generation.output_tokens);
    json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
           "prompt_tokens_details": {"cached_tokens": cache.read}})
}

fn finish_reason(generation: &Generation, max_tokens: u64) -> &'static str {
    if hit_limit(generation, max_tokens) {
        "length"
    } else {
        "stop"
    }
}

pub(super) fn reply(
    parsed: &Parsed,
    generation: &Generation,
    cache: CacheUse,
    answer: &str,
) -> Value {
    json!({
        "id": next_id("chatcmpl-emulated-"),
        "object": "chat.completion",
        "created": unix_seconds(),
        "model": parsed.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer, "refusal": null},
            "logprobs": null,
            "finish_reason": finish_reason(generation, parsed.prompt.max_tokens),
        }],
        "usage": usage(generation, cache),
    })
}

/// `chat.completion.chunk`s: the role, one per token, the finish reason, the usage when asked
/// for, then `[DONE]`.
pub(super) struct Chunks {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    cache: CacheUse,
    max_tokens: u64,
}

impl Chunks {
    pub fn new(parsed: &Parsed, cache: CacheUse) -> Chunks {
        Chunks {
            id: next_id("chatcmpl-emulated-"),
            model: parsed.model.clone(),
            created: unix_seconds(),
            include_usage: parsed.include_usage,
            cache,
            max_tokens: parsed.prompt.max_tokens,
        }
    }

    fn chunk(&self, choices: Value) -> Bytes {
        let mut chunk = json!({"id": self.id, "object": "chat.completion.chunk",
                               "created": self.created, "model": self.model,
                               "choices": choices});
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        sse(None, &chunk)
    }
}

impl Framing for Chunks {
    fn start(&mut self, _: &Generation) -> Vec<Bytes> {
        vec![self.chunk(json!([{"index": 0,
                                "delta": {"role": "assistant", "content": ""},
                                "logprobs": null, "finish_reason": null}]))]
    }

    fn token(&mut self, _: &Generation, _: u64, text: &str, _: bool) -> Vec<Bytes> {
        vec![self.chunk(json!([{"index": 0, "delta": {"content": text},
                                "logprobs": null, "finish_reason": null}]))]
    }

    fn finish(&mut self, generation: &Generation, _: u64) -> Vec<Bytes> {
        let reason = finish_reason(generation, self.max_tokens);
        let mut frames = vec![self.chunk(json!([{"index": 0, "delta": {},
                                                 "logprobs": null,
                                                 "finish_reason": reason}]))];
        if self.include_usage {
            let mut last = json!({"id": self.id, "object": "chat.completion.chunk",
                                  "created": self.created, "model": self.model,
                                  "choices": []});
            last["usage"] = usage(generation, self.cache);
            frames.push(sse(None, &last));
        }
        frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
        frames
    }

    fn throttle(&mut self) -> Bytes {
        MantleError::new(
            Dialect::OpenAi,
            Kind::RateLimit,
            "Too many tokens, please wait before trying again.",
        )
        .sse_event()
    }

    fn stream_error(&mut self, message: &str) -> Bytes {
        MantleError::new(Dialect::OpenAi, Kind::Api, message).sse_event()
    }
}
