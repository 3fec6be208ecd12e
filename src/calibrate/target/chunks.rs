//! Streamed chunk bodies shared by several targets: OpenAI chat-completion chunks (vLLM, TGI's
//! Messages API, llama-server, SageMaker's OpenAI-style containers), TGI token events, and the
//! server-sent-event lines they arrive in when a transport (SageMaker's PayloadPart) splits them
//! at arbitrary bytes.

use serde_json::Value;

use super::{ErrorKind, ExchangeRecorder};

/// Applies one OpenAI chat-completion chunk: content text, `usage`, or an in-stream `error`.
pub fn apply_openai_chunk(chunk: &Value, recorder: &mut ExchangeRecorder) {
    if let Some(error) = chunk.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        recorder.fail(ErrorKind::ModelError, message);
        return;
    }
    if let Some(choices) = chunk.get("choices").and_then(Value::as_array) {
        for choice in choices {
            let text = choice
                .pointer("/delta/content")
                .or_else(|| choice.get("text"))
                .and_then(Value::as_str)
                .unwrap_or("");
            recorder.content(text);
        }
    }
    apply_usage(chunk.get("usage"), recorder);
}

fn apply_usage(usage: Option<&Value>, recorder: &mut ExchangeRecorder) {
    let Some(usage) = usage.filter(|u| u.is_object()) else {
        return;
    };
    if let Some(n) = usage.get("prompt_tokens").and_then(Value::as_u64) {
        recorder.input_tokens(n);
    }
    if let Some(n) = usage
        .pointer("/prompt_tokens_details/cached_tokens")
        .and_then(Value::as_u64)
    {
        recorder.cached_tokens(n);
    }
    if let Some(n) = usage.get("completion_tokens").and_then(Value::as_u64) {
        recorder.output_tokens(n);
    }
}

/// Applies one TGI/LMI streaming event: `{"token":{"text":..,"special":..}, "details":{..}}`.
/// TGI reports generated tokens in the final event's `details`; it reports no prompt count.
pub fn apply_tgi_event(event: &Value, recorder: &mut ExchangeRecorder) {
    if let Some(error) = event.get("error") {
        recorder.fail(ErrorKind::ModelError, error.to_string());
        return;
    }
    if let Some(token) = event.get("token") {
        let special = token
            .get("special")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !special {
            recorder.content(token.get("text").and_then(Value::as_str).unwrap_or(""));
        }
    }
    if let Some(n) = event
        .pointer("/details/generated_tokens")
        .and_then(Value::as_u64)
    {
        recorder.output_tokens(n);
    }
    if let Some(n) = event
        .pointer("/details/prompt_tokens")
        .and_then(Value::as_u64)
    {
        recorder.input_tokens(n);
    }
}

/// Either body format, told apart by its fields.
pub fn apply_any_chunk(value: &Value, recorder: &mut ExchangeRecorder) {
    if value.get("token").is_some() || value.get("generated_text").is_some() {
        apply_tgi_event(value, recorder);
    } else {
        apply_openai_chunk(value, recorder);
    }
}

/// Reassembles lines from byte parts split anywhere (even inside a UTF-8 character) and yields
/// the JSON payloads of `data:` lines (or bare JSON lines, as LMI's jsonlines output sends).
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

/// One complete line's meaning.
#[derive(Debug, PartialEq)]
pub enum Line {
    Json(Value),
    Done,
    Unreadable(String),
}

impl LineBuffer {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Line> {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.pending.drain(..=end).collect();
            if let Some(line) = interpret(&raw) {
                lines.push(line);
            }
        }
        lines
    }

    /// Whatever is left when the stream ends without a final newline.
    pub fn finish(&mut self) -> Option<Line> {
        let raw = std::mem::take(&mut self.pending);
        interpret(&raw)
    }
}

fn interpret(raw: &[u8]) -> Option<Line> {
    let text = String::from_utf8_lossy(raw);
    let text = text.trim();
    let payload = match text.strip_prefix("data:") {
        Some(rest) => rest.trim(),
        None if text.starts_with('{') => text,
        None => return None, // blank separators, `event:` and `:` comment lines
    };
    if payload == "[DONE]" {
        return Some(Line::Done);
    }
    Some(match serde_json::from_str(payload) {
        Ok(value) => Line::Json(value),
        Err(_) => Line::Unreadable(payload.chars().take(200).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_split_across_parts_are_reassembled() {
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"héllo\"}}]}\n\n\
                      data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1}}\n\n\
                      data: [DONE]\n\n";
        let bytes = stream.as_bytes();
        // Split at every byte boundary, including inside the two-byte `é`.
        for cut in 1..bytes.len() {
            let mut buffer = LineBuffer::default();
            let mut lines = buffer.push(&bytes[..cut]);
            lines.extend(buffer.push(&bytes[cut..]));
            assert_eq!(lines.len(), 3, "cut at {cut}");
            assert_eq!(lines[2], Line::Done);
            let mut recorder = ExchangeRecorder::start();
            for line in &lines {
                if let Line::Json(v) = line {
                    apply_any_chunk(v, &mut recorder);
                }
            }
            let exchange = recorder.finish();
            assert_eq!(exchange.output_chars, 5);
            assert_eq!(exchange.input_tokens, Some(7));
        }
    }

    #[test]
    fn tgi_events_count_tokens_and_skip_special_ones() {
        let mut recorder = ExchangeRecorder::start();
        apply_any_chunk(
            &json!({"token": {"text": "Hi", "special": false}}),
            &mut recorder,
        );
        apply_any_chunk(
            &json!({"token": {"text": "</s>", "special": true}, "generated_text": "Hi",
                    "details": {"generated_tokens": 2}}),
            &mut recorder,
        );
        let exchange = recorder.finish();
        assert_eq!(exchange.chunk_times.len(), 1);
        assert_eq!(exchange.output_tokens, Some(2));
        assert!(exchange.failure.is_none());
    }

    #[test]
    fn an_error_inside_the_stream_is_a_model_error() {
        let mut recorder = ExchangeRecorder::start();
        apply_openai_chunk(&json!({"error": {"message": "boom"}}), &mut recorder);
        let failure = recorder.finish().failure.unwrap();
        assert_eq!(failure.kind, ErrorKind::ModelError);
        assert_eq!(failure.message, "boom");
    }
}
