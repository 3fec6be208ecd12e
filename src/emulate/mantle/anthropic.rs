//! Anthropic Messages on bedrock-mantle: `model`, `system` (a string or text blocks),
//! `messages`, `max_tokens` (required), `stream`; the reply's `content[0].text` and `usage`
//! with `cache_read_input_tokens` and `cache_creation_input_tokens`; streamed as the
//! message_start … message_stop events. The prompt up to the last block carrying
//! `cache_control: {"type": "ephemeral"}` (system blocks, then the messages' blocks) is the
//! cached prefix.

use bytes::Bytes;
use serde_json::{json, Value};

use super::super::bedrock::turns;
use super::super::behaviour::Generation;
use super::super::limits::{check_fit, read_tokens, ModelLimits};
use super::super::prompt::Prompt;
use super::super::prompt_cache::{CacheUse, Prefix};
use super::super::refusal::{Field, Wording};
use super::super::stream::Framing;
use super::error::{Dialect, Kind, MantleError};
use super::{flag, hit_limit, next_id, sse, Parsed};

/// Anthropic takes at most four cache breakpoints a request.
const MAX_BREAKPOINTS: usize = 4;

fn invalid(message: impl Into<String>) -> MantleError {
    MantleError::invalid(Dialect::Anthropic, message)
}

pub(super) fn parse(body: &Value, limits: &ModelLimits) -> Result<Parsed, MantleError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("model: Field required"))?;
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => return Err(invalid("messages: at least one message is required")),
        Some(_) => return Err(invalid("messages: Input should be a valid list")),
        None => return Err(invalid("messages: Field required")),
    };
    let system = body.get("system").filter(|s| !s.is_null());
    if !matches!(
        system,
        None | Some(Value::String(_)) | Some(Value::Array(_))
    ) {
        return Err(invalid("system: Input should be a valid string or list"));
    }
    let field = Field::new(Wording::Anthropic, "max_tokens");
    let requested = body
        .get("max_tokens")
        .filter(|v| !v.is_null())
        .ok_or_else(|| invalid("max_tokens: Field required"))?;
    let max_tokens = read_tokens(Some(requested), limits.max_output_tokens)
        .map_err(|e| invalid(field.words(e)))?
        .unwrap_or(1);
    let prompt = Prompt {
        messages: turns(system, messages),
        max_tokens,
    };
    check_fit(prompt.estimated_tokens(), max_tokens, limits)
        .map_err(|e| invalid(field.words(e)))?;
    Ok(Parsed {
        model: model.to_string(),
        reserve: max_tokens,
        prefix: cached_prefix(system, messages)?,
        stream: flag(body, "/stream", "stream", Dialect::Anthropic)?,
        include_usage: false,
        prompt,
    })
}

/// One text block of the prompt: its turn's role, its text, and whether it is a cache
/// breakpoint.
type Block<'a> = (&'a str, &'a str, bool);

fn add_blocks<'a>(
    blocks: &mut Vec<Block<'a>>,
    role: &'a str,
    content: Option<&'a Value>,
) -> Result<(), MantleError> {
    match content {
        Some(Value::String(text)) => blocks.push((role, text, false)),
        Some(Value::Array(list)) => {
            for block in list {
                let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                let breakpoint = match block.get("cache_control") {
                    None | Some(Value::Null) => false,
                    Some(control) if control.get("type") == Some(&json!("ephemeral")) => true,
                    Some(_) => {
                        return Err(invalid("cache_control.type: Input should be 'ephemeral'"))
                    }
                };
                blocks.push((role, text, breakpoint));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The turns' texts up to and including the last block with a `cache_control` breakpoint.
fn cached_prefix(system: Option<&Value>, messages: &[Value]) -> Result<Prefix, MantleError> {
    let mut blocks = Vec::new();
    add_blocks(&mut blocks, "system", system)?;
    for message in messages {
        let role = match message.get("role").and_then(Value::as_str) {
            Some(role @ ("user" | "assistant")) => role,
            _ => {
                return Err(invalid(
                    "messages: each role must be \"user\" or \"assistant\"",
                ))
            }
        };
        add_blocks(&mut blocks, role, message.get("content"))?;
    }
    let breakpoints = blocks.iter().filter(|b| b.2).count();
    if breakpoints > MAX_BREAKPOINTS {
        return Err(invalid(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found \
             {breakpoints}."
        )));
    }
    Ok(Prefix::through_last_breakpoint(&blocks))
}

fn stop_reason(generation: &Generation, max_tokens: u64) -> &'static str {
    if hit_limit(generation, max_tokens) {
        "max_tokens"
    } else {
        "end_turn"
    }
}

/// Anthropic's `input_tokens` leaves out the cached ones.
fn usage(generation: &Generation, cache: CacheUse, output: u64) -> Value {
    json!({
        "input_tokens": generation.input_tokens.saturating_sub(cache.read + cache.written),
        "output_tokens": output,
        "cache_read_input_tokens": cache.read,
        "cache_creation_input_tokens": cache.written,
    })
}

pub(super) fn reply(
    parsed: &Parsed,
    generation: &Generation,
    cache: CacheUse,
    answer: &str,
) -> Value {
    let reason = stop_reason(generation, parsed.prompt.max_tokens);
    json!({
        "id": next_id("msg_emulated_"),
        "type": "message",
        "role": "assistant",
        "model": parsed.model,
        "content": [{"type": "text", "text": answer}],
        "stop_reason": reason,
        "stop_sequence": null,
        "usage": usage(generation, cache, generation.output_tokens),
    })
}

/// message_start, content_block_start, a content_block_delta per token, content_block_stop,
/// message_delta (stop reason, output tokens), message_stop.
pub(super) struct Events {
    id: String,
    model: String,
    cache: CacheUse,
    max_tokens: u64,
}

impl Events {
    pub fn new(parsed: &Parsed, cache: CacheUse) -> Events {
        Events {
            id: next_id("msg_emulated_"),
            model: parsed.model.clone(),
            cache,
            max_tokens: parsed.prompt.max_tokens,
        }
    }
}

impl Framing for Events {
    fn start(&mut self, generation: &Generation) -> Vec<Bytes> {
        vec![
            sse(
                Some("message_start"),
                &json!({"type": "message_start", "message": {
                    "id": self.id, "type": "message", "role": "assistant",
                    "model": self.model, "content": [], "stop_reason": null,
                    "stop_sequence": null, "usage": usage(generation, self.cache, 1)}}),
            ),
            sse(
                Some("content_block_start"),
                &json!({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}}),
            ),
            sse(Some("ping"), &json!({"type": "ping"})),
        ]
    }

    fn token(&mut self, _: &Generation, _: u64, text: &str, _: bool) -> Vec<Bytes> {
        vec![sse(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}}),
        )]
    }

    fn finish(&mut self, generation: &Generation, _: u64) -> Vec<Bytes> {
        vec![
            sse(
                Some("content_block_stop"),
                &json!({"type": "content_block_stop", "index": 0}),
            ),
            sse(
                Some("message_delta"),
                &json!({"type": "message_delta",
                        "delta": {"stop_reason": stop_reason(generation, self.max_tokens),
                                  "stop_sequence": null},
                        "usage": {"output_tokens": generation.output_tokens}}),
            ),
            sse(Some("message_stop"), &json!({"type": "message_stop"})),
        ]
    }

    fn throttle(&mut self) -> Bytes {
        MantleError::new(
            Dialect::Anthropic,
            Kind::Overloaded,
            "Overloaded: too many tokens, please wait before trying again.",
        )
        .sse_event()
    }

    fn stream_error(&mut self, message: &str) -> Bytes {
        MantleError::new(Dialect::Anthropic, Kind::Api, message).sse_event()
    }
}
