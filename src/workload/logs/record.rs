//! One line of a request log → one [`LogRecord`], or the named reason it is skipped.
//!
//! **Bedrock model invocation logs** (Amazon Bedrock User Guide, "Monitor model invocation using
//! CloudWatch Logs and Amazon S3", docs.aws.amazon.com/bedrock/latest/userguide/
//! model-invocation-logging.html). Each invocation is one JSON object: one CloudWatch Logs event,
//! or one line of a gzipped JSON-lines object under `AWSLogs/<account>/BedrockModelInvocationLogs/`
//! in S3. The fields read here: `schemaType` (`"ModelInvocationLog"`), `timestamp` (RFC 3339,
//! `2025-04-29T23:00:17Z`), `modelId`, `operation`, `identity.arn`, `input.inputTokenCount`,
//! `output.outputTokenCount`, and, for a request that used prompt caching,
//! `input.cacheReadInputTokenCount` and `input.cacheWriteInputTokenCount` (both listed in the
//! Panther schema of the log, docs.panther.com "AWS.BedrockModelInvocation", which points to the
//! user guide). The request and response bodies (`input.inputBodyJson`, `output.outputBodyJson`)
//! are skipped unread.
//!
//! *Cached tokens.* The user guide does not say in words whether `inputTokenCount` includes
//! cached tokens. It is the Converse response's `usage.inputTokens` (an example record shown in a
//! public talk on Bedrock LLMOps, d1eu30co0ohy4w.cloudfront.net/licux/…, has `inputTokenCount: 35`
//! beside `outputBodyJson.usage.inputTokens: 35`; not an AWS page), and the Bedrock API
//! reference (TokenUsage, docs.aws.amazon.com/bedrock/latest/APIReference/
//! API_runtime_TokenUsage.html) lists `cacheReadInputTokens` and `cacheWriteInputTokens` as
//! counts of their own beside `inputTokens`; as in Anthropic's API, whose usage Bedrock passes on,
//! the input count is the tokens *not* read from or written to the cache. So the whole prompt is
//! read here as `inputTokenCount + cacheReadInputTokenCount + cacheWriteInputTokenCount`. Had
//! AWS counted them inside, prompts would come out larger by the cached tokens, which
//! `cached_share` in the fitted file would show as more than 50 % of the input on cached traffic.
//!
//! **OpenAI-compatible usage logs**: one JSON object a line with `usage.prompt_tokens`,
//! `usage.completion_tokens` and optionally `usage.prompt_tokens_details.cached_tokens` (OpenAI's
//! Chat Completions usage object; cached tokens are *part of* `prompt_tokens` there), or the
//! Responses API's `usage.input_tokens`, `usage.output_tokens`,
//! `usage.input_tokens_details.cached_tokens`; a timestamp `created` (seconds since 1970) or
//! `timestamp` (ISO 8601 or seconds); optional `model` and `user`.
//!
//! **CSV**: a header naming `timestamp,input_tokens,output_tokens` and optionally
//! `cached_tokens`, `user`, `model` (any order, other columns ignored); `input_tokens` is the
//! whole prompt including any cached tokens, as OpenAI counts it.
//!
//! Timestamps are ISO 8601 (read by [`crate::timestamp::parse_iso`]) or seconds since 1970; a
//! number above 10^11 is read as milliseconds (10^11 seconds is the year 5138). Times before 2000
//! or after 2100 are refused as bad timestamps, so one stray zero cannot stretch the span.

use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Skip, SkipReason};
use crate::bounds::MAX_PROMPT_TOKENS;
use crate::timestamp::parse_iso;

/// One request as the logs tell it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRecord {
    /// When it was made, seconds since 1970 (UTC).
    pub time_s: i64,
    /// The whole prompt, cached tokens included.
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    /// Tokens of the prompt read from the cache.
    pub cache_read_tokens: f64,
    /// Tokens of the prompt written to the cache.
    pub cache_write_tokens: f64,
    pub model: Option<String>,
    pub user: Option<String>,
}

/// Which log format to read; `Auto` tells each JSON record by its fields, and a file is CSV
/// when [`sniff`] says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Auto,
    Bedrock,
    #[value(name = "openai")]
    OpenAi,
    Csv,
}

/// How a file is read, from its first non-empty line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    JsonLines,
    Csv,
}

/// CSV when asked for, or when the first non-empty line is not a JSON object and has a comma
/// (a header); else JSON lines, so a JSON-lines file whose first line is damaged is still read
/// as one (that line named as not JSON).
pub fn sniff(first_line: &str, format: LogFormat) -> FileKind {
    let line = first_line.trim_start();
    match format {
        LogFormat::Csv => FileKind::Csv,
        LogFormat::Bedrock | LogFormat::OpenAi => FileKind::JsonLines,
        LogFormat::Auto if !line.starts_with('{') && line.contains(',') => FileKind::Csv,
        LogFormat::Auto => FileKind::JsonLines,
    }
}

/// Users and model names longer than this are cut (bounded memory per user).
const MAX_NAME_BYTES: usize = 256;
/// 2000-01-01 and 2100-01-01, seconds since 1970.
const EARLIEST_S: i64 = 946_684_800;
const LATEST_S: i64 = 4_102_444_800;

// ---------------------------------------------------------------------------------------------
// JSON lines

/// The fields of either JSON format that are read; everything else is skipped unread.
#[derive(Deserialize)]
struct JsonLine {
    #[serde(rename = "schemaType")]
    schema_type: Option<Value>,
    timestamp: Option<Value>,
    created: Option<Value>,
    #[serde(rename = "modelId")]
    model_id: Option<Value>,
    model: Option<Value>,
    user: Option<Value>,
    #[serde(default)]
    identity: Lenient<Identity>,
    #[serde(default)]
    input: Lenient<BedrockInput>,
    #[serde(default)]
    output: Lenient<BedrockOutput>,
    #[serde(default)]
    usage: Lenient<Usage>,
}

#[derive(Deserialize)]
struct Identity {
    arn: Option<Value>,
}

#[derive(Deserialize)]
struct BedrockInput {
    #[serde(rename = "inputTokenCount")]
    input_token_count: Option<Value>,
    #[serde(rename = "cacheReadInputTokenCount")]
    cache_read: Option<Value>,
    #[serde(rename = "cacheWriteInputTokenCount")]
    cache_write: Option<Value>,
}

#[derive(Deserialize)]
struct BedrockOutput {
    #[serde(rename = "outputTokenCount")]
    output_token_count: Option<Value>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<Value>,
    completion_tokens: Option<Value>,
    input_tokens: Option<Value>,
    output_tokens: Option<Value>,
    #[serde(default)]
    prompt_tokens_details: Lenient<Details>,
    #[serde(default)]
    input_tokens_details: Lenient<Details>,
}

#[derive(Deserialize)]
struct Details {
    cached_tokens: Option<Value>,
}

/// An object read as `T`, and anything else (a string, a number, an array, null) as absent:
/// `"input": "Hello"` in a usage log is not the Bedrock `input` object, and is not an error.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

/// One line of a JSON-lines log (Bedrock or OpenAI-compatible; `format` may insist on one).
pub fn parse_json_line(line: &str, format: LogFormat) -> Result<LogRecord, Skip> {
    let text = line.trim();
    if !text.starts_with('{') {
        return Err(Skip::new(
            SkipReason::NotJson,
            format!("does not start with '{{': {}", excerpt(text)),
        ));
    }
    let parsed: JsonLine = serde_json::from_str(text).map_err(|e| {
        let reason = match e.classify() {
            serde_json::error::Category::Data => SkipReason::WrongShape,
            _ => SkipReason::NotJson,
        };
        Skip::new(reason, e.to_string())
    })?;
    let bedrock_fields = parsed.schema_type.is_some()
        || parsed
            .input
            .0
            .as_ref()
            .is_some_and(|i| i.input_token_count.is_some());
    let openai_fields = parsed.usage.0.is_some();
    match format {
        LogFormat::Bedrock => bedrock(parsed),
        LogFormat::OpenAi => openai(parsed),
        _ if bedrock_fields => bedrock(parsed),
        _ if openai_fields => openai(parsed),
        _ => Err(Skip::new(
            SkipReason::NoTokenCounts,
            "neither input.inputTokenCount (Bedrock) nor usage.prompt_tokens (OpenAI)",
        )),
    }
}

fn bedrock(line: JsonLine) -> Result<LogRecord, Skip> {
    if let Some(kind) = &line.schema_type {
        if kind.as_str() != Some("ModelInvocationLog") {
            return Err(Skip::new(
                SkipReason::NotInvocation,
                format!("schemaType is {}", excerpt(&kind.to_string())),
            ));
        }
    }
    let input = line.input.0.as_ref();
    let uncached = required(
        input.and_then(|i| i.input_token_count.as_ref()),
        "input.inputTokenCount",
    )?;
    let output = required(
        line.output
            .0
            .as_ref()
            .and_then(|o| o.output_token_count.as_ref()),
        "output.outputTokenCount",
    )?;
    let cache_read = optional(
        input.and_then(|i| i.cache_read.as_ref()),
        "input.cacheReadInputTokenCount",
    )?;
    let cache_write = optional(
        input.and_then(|i| i.cache_write.as_ref()),
        "input.cacheWriteInputTokenCount",
    )?;
    let prompt = in_range(uncached + cache_read + cache_write, "the whole prompt")?;
    let time_s = timestamp(line.timestamp.as_ref(), "timestamp")?;
    Ok(LogRecord {
        time_s,
        prompt_tokens: prompt,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        model: line.model_id.as_ref().and_then(name),
        user: line
            .identity
            .0
            .as_ref()
            .and_then(|i| i.arn.as_ref())
            .and_then(name),
    })
}

fn openai(line: JsonLine) -> Result<LogRecord, Skip> {
    let Some(usage) = line.usage.0.as_ref() else {
        return Err(Skip::new(SkipReason::NoTokenCounts, "no usage object"));
    };
    let (prompt, prompt_field) = match (&usage.prompt_tokens, &usage.input_tokens) {
        (Some(v), _) => (Some(v), "usage.prompt_tokens"),
        (None, v) => (v.as_ref(), "usage.input_tokens"),
    };
    let prompt = required(prompt, prompt_field)?;
    let output = required(
        usage
            .completion_tokens
            .as_ref()
            .or(usage.output_tokens.as_ref()),
        "usage.completion_tokens",
    )?;
    let cached = optional(
        usage
            .prompt_tokens_details
            .0
            .as_ref()
            .and_then(|d| d.cached_tokens.as_ref())
            .or(usage
                .input_tokens_details
                .0
                .as_ref()
                .and_then(|d| d.cached_tokens.as_ref())),
        "usage.prompt_tokens_details.cached_tokens",
    )?;
    if cached > prompt {
        return Err(Skip::new(
            SkipReason::BadTokenCount,
            format!("cached_tokens {cached} is more than the prompt's {prompt}"),
        ));
    }
    let (stamp, field) = match (&line.created, &line.timestamp) {
        (Some(v), _) => (Some(v), "created"),
        (None, v) => (v.as_ref(), "timestamp"),
    };
    Ok(LogRecord {
        time_s: timestamp(stamp, field)?,
        prompt_tokens: prompt,
        output_tokens: output,
        cache_read_tokens: cached,
        cache_write_tokens: 0.0,
        model: line.model.as_ref().and_then(name),
        user: line.user.as_ref().and_then(name),
    })
}

fn required(value: Option<&Value>, field: &str) -> Result<f64, Skip> {
    match value {
        None | Some(Value::Null) => {
            Err(Skip::new(SkipReason::NoTokenCounts, format!("no {field}")))
        }
        Some(v) => count(v, field),
    }
}

fn optional(value: Option<&Value>, field: &str) -> Result<f64, Skip> {
    match value {
        None | Some(Value::Null) => Ok(0.0),
        Some(v) => count(v, field),
    }
}

/// A token count: a JSON number, or a string holding one.
fn count(value: &Value, field: &str) -> Result<f64, Skip> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(n) => in_range(n, field),
        None => Err(Skip::new(
            SkipReason::BadTokenCount,
            format!("{field} is {}", excerpt(&value.to_string())),
        )),
    }
}

/// Finite, at least 0, at most [`MAX_PROMPT_TOKENS`].
fn in_range(tokens: f64, field: &str) -> Result<f64, Skip> {
    if tokens.is_finite() && (0.0..=MAX_PROMPT_TOKENS).contains(&tokens) {
        Ok(tokens)
    } else {
        Err(Skip::new(
            SkipReason::BadTokenCount,
            format!("{field} is {tokens}: give 0 to 2,000,000 tokens"),
        ))
    }
}

fn timestamp(value: Option<&Value>, field: &str) -> Result<i64, Skip> {
    let bad = |shown: &str| {
        Skip::new(
            SkipReason::BadTimestamp,
            format!(
                "{field} is {}: give ISO 8601 or seconds since 1970, 2000 to 2100",
                excerpt(shown)
            ),
        )
    };
    let seconds = match value {
        None | Some(Value::Null) => {
            return Err(Skip::new(SkipReason::NoTimestamp, format!("no {field}")))
        }
        Some(Value::Number(n)) => n.as_f64().and_then(epoch),
        Some(Value::String(s)) => parse_time_text(s),
        Some(other) => return Err(bad(&other.to_string())),
    };
    seconds.ok_or_else(|| bad(&value.map(Value::to_string).unwrap_or_default()))
}

/// ISO 8601, or a number of seconds (milliseconds above 10^11) since 1970.
fn parse_time_text(text: &str) -> Option<i64> {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(n) => epoch(n),
        Err(_) => parse_iso(text).filter(|s| (EARLIEST_S..LATEST_S).contains(s)),
    }
}

fn epoch(number: f64) -> Option<i64> {
    if !number.is_finite() {
        return None;
    }
    let seconds = if number.abs() > 1e11 {
        number / 1000.0
    } else {
        number
    };
    let seconds = seconds.floor();
    ((EARLIEST_S as f64)..(LATEST_S as f64))
        .contains(&seconds)
        .then_some(seconds as i64)
}

/// A user or model name: a string (cut to [`MAX_NAME_BYTES`]) or a number; empty is none.
fn name(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then(|| cut(&text, MAX_NAME_BYTES).to_string())
}

/// At most `bytes` bytes of `text`, ending on a character boundary.
fn cut(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A short quote of bad input for a message.
fn excerpt(text: &str) -> String {
    if text.len() <= 60 {
        text.to_string()
    } else {
        format!("{}…", cut(text, 60))
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Where each column is, from the header line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvColumns {
    timestamp: usize,
    input: usize,
    output: usize,
    cached: Option<usize>,
    user: Option<usize>,
    model: Option<usize>,
    /// The number of columns the header names.
    width: usize,
}

impl CsvColumns {
    /// The header `timestamp,input_tokens,output_tokens[,cached_tokens,user[,model]]` (names in
    /// any order and case, other columns ignored).
    pub fn from_header(line: &str) -> Result<CsvColumns, Skip> {
        let names: Vec<String> = split_csv(line)?
            .into_iter()
            .map(|n| n.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let find = |wanted: &str| names.iter().position(|n| n == wanted);
        let missing: Vec<&str> = ["timestamp", "input_tokens", "output_tokens"]
            .into_iter()
            .filter(|n| find(n).is_none())
            .collect();
        match (
            find("timestamp"),
            find("input_tokens"),
            find("output_tokens"),
        ) {
            (Some(timestamp), Some(input), Some(output)) => Ok(CsvColumns {
                timestamp,
                input,
                output,
                cached: find("cached_tokens"),
                user: find("user"),
                model: find("model"),
                width: names.len(),
            }),
            _ => Err(Skip::new(
                SkipReason::BadCsvHeader,
                format!("no column {}: {}", missing.join(", "), excerpt(line.trim())),
            )),
        }
    }

    /// One data row.
    pub fn parse_row(&self, line: &str) -> Result<LogRecord, Skip> {
        let fields = split_csv(line)?;
        if fields.len() < self.width {
            return Err(Skip::new(
                SkipReason::BadCsvRow,
                format!(
                    "{} fields where the header names {}",
                    fields.len(),
                    self.width
                ),
            ));
        }
        let field = |i: usize| fields[i].trim();
        let number = |i: usize, name: &str| -> Result<f64, Skip> {
            match field(i).parse::<f64>() {
                Ok(n) => in_range(n, name),
                Err(_) if field(i).is_empty() => Err(Skip::new(
                    SkipReason::NoTokenCounts,
                    format!("{name} is empty"),
                )),
                Err(_) => Err(Skip::new(
                    SkipReason::BadTokenCount,
                    format!("{name} is {}", excerpt(field(i))),
                )),
            }
        };
        let prompt = number(self.input, "input_tokens")?;
        let output = number(self.output, "output_tokens")?;
        let cached = match self.cached {
            Some(i) if !field(i).is_empty() => number(i, "cached_tokens")?,
            _ => 0.0,
        };
        if cached > prompt {
            return Err(Skip::new(
                SkipReason::BadTokenCount,
                format!("cached_tokens {cached} is more than input_tokens {prompt}"),
            ));
        }
        let stamp = field(self.timestamp);
        if stamp.is_empty() {
            return Err(Skip::new(SkipReason::NoTimestamp, "timestamp is empty"));
        }
        let time_s = parse_time_text(stamp).ok_or_else(|| {
            Skip::new(
                SkipReason::BadTimestamp,
                format!(
                    "timestamp is {}: give ISO 8601 or seconds since 1970, 2000 to 2100",
                    excerpt(stamp)
                ),
            )
        })?;
        let text = |column: Option<usize>| {
            column
                .map(field)
                .filter(|t| !t.is_empty())
                .map(|t| cut(t, MAX_NAME_BYTES).to_string())
        };
        Ok(LogRecord {
            time_s,
            prompt_tokens: prompt,
            output_tokens: output,
            cache_read_tokens: cached,
            cache_write_tokens: 0.0,
            model: text(self.model),
            user: text(self.user),
        })
    }
}

/// The fields of one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote; no line breaks
/// inside a field).
fn split_csv(line: &str) -> Result<Vec<String>, Skip> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            _ => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(Skip::new(SkipReason::BadCsvRow, "a quote is not closed"));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Converse call as Bedrock logs it to CloudWatch Logs (fields as in the user guide's
    /// example), with a long request body and prompt caching.
    fn bedrock_line(body_chars: usize) -> String {
        let long_text = "The quick brown fox jumps over the lazy dog. ".repeat(body_chars / 45 + 1);
        let value = serde_json::json!({
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": "2026-11-30T12:00:17Z",
            "accountId": "123456789012",
            "identity": { "arn": "arn:aws:sts::123456789012:assumed-role/app/alice" },
            "region": "us-east-1",
            "requestId": "915a6a04-3f83-4c70-a277-7fbf7ea546b3",
            "operation": "Converse",
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "input": {
                "inputContentType": "application/json",
                "inputBodyJson": {
                    "messages": [ { "role": "user", "content": [ { "text": long_text } ] } ],
                    "inferenceConfig": { "maxTokens": 512, "temperature": 0.2 },
                    "nested": [[1, 2, {"inputTokenCount": 999}], {"deep": {"deeper": [null, true]}}]
                },
                "inputTokenCount": 35,
                "cacheReadInputTokenCount": 1200,
                "cacheWriteInputTokenCount": 64
            },
            "output": {
                "outputContentType": "application/json",
                "outputBodyJson": {
                    "output": { "message": { "role": "assistant", "content": [ { "text": "yyyy" } ] } },
                    "stopReason": "end_turn",
                    "metrics": { "latencyMs": 3640 },
                    "usage": { "inputTokens": 35, "outputTokens": 446, "totalTokens": 481 }
                },
                "outputTokenCount": 446
            },
            "requestMetadata": { "traceId": "b956002a" }
        });
        value.to_string()
    }

    #[test]
    fn a_bedrock_invocation_log_line_gives_the_whole_prompt_and_the_cache() {
        let line = bedrock_line(20_000);
        assert!(line.len() > 20_000);
        let record = parse_json_line(&line, LogFormat::Auto).unwrap();
        // 2026-11-30T12:00:17Z: 20,787 days after 1970-01-01, plus 12 h and 17 s.
        assert_eq!(record.time_s, 20_787 * 86_400 + 12 * 3_600 + 17);
        assert_eq!(record.prompt_tokens, 35.0 + 1_200.0 + 64.0);
        assert_eq!(record.output_tokens, 446.0);
        assert_eq!(record.cache_read_tokens, 1_200.0);
        assert_eq!(record.cache_write_tokens, 64.0);
        assert_eq!(
            record.model.as_deref(),
            Some("anthropic.claude-3-haiku-20240307-v1:0")
        );
        assert_eq!(
            record.user.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/app/alice")
        );
        // The same line read as Bedrock by insistence; as OpenAI it has no usage object.
        assert_eq!(parse_json_line(&line, LogFormat::Bedrock), Ok(record));
        assert_eq!(
            parse_json_line(&line, LogFormat::OpenAi)
                .unwrap_err()
                .reason,
            SkipReason::NoTokenCounts
        );
    }

    #[test]
    fn bedrock_records_without_cache_fields_and_other_schema_types() {
        let line = r#"{"schemaType":"ModelInvocationLog","timestamp":"2026-11-01T00:00:00.123Z","modelId":"meta.llama3-3-70b-instruct-v1:0","operation":"InvokeModel","input":{"inputTokenCount":812},"output":{"outputTokenCount":0}}"#;
        let record = parse_json_line(line, LogFormat::Auto).unwrap();
        assert_eq!(record.prompt_tokens, 812.0);
        assert_eq!(record.output_tokens, 0.0, "an error with no output is kept");
        assert_eq!(record.cache_read_tokens, 0.0);
        assert_eq!(record.user, None);
        let check = r#"{"schemaType":"ModelInvocationLogPermissionCheck","timestamp":"2026-11-01T00:00:00Z"}"#;
        assert_eq!(
            parse_json_line(check, LogFormat::Auto).unwrap_err().reason,
            SkipReason::NotInvocation
        );
        let no_output = r#"{"schemaType":"ModelInvocationLog","timestamp":"2026-11-01T00:00:00Z","input":{"inputTokenCount":5},"output":{}}"#;
        let skip = parse_json_line(no_output, LogFormat::Auto).unwrap_err();
        assert_eq!(skip.reason, SkipReason::NoTokenCounts);
        assert!(skip.detail.contains("output.outputTokenCount"), "{skip}");
    }

    #[test]
    fn openai_usage_lines_count_cached_tokens_inside_the_prompt() {
        let line = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1796040000,"model":"gpt-4o","user":"u-17","input":"hello","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0}}}"#;
        let record = parse_json_line(line, LogFormat::Auto).unwrap();
        assert_eq!(
            record,
            LogRecord {
                time_s: 1_796_040_000,
                prompt_tokens: 2006.0,
                output_tokens: 300.0,
                cache_read_tokens: 1920.0,
                cache_write_tokens: 0.0,
                model: Some("gpt-4o".into()),
                user: Some("u-17".into()),
            }
        );
        // ISO and millisecond timestamps, the Responses API's names.
        let iso = r#"{"timestamp":"2026-11-30T13:00:00+01:00","usage":{"input_tokens":10,"output_tokens":2}}"#;
        let record = parse_json_line(iso, LogFormat::OpenAi).unwrap();
        assert_eq!(
            (record.time_s, record.prompt_tokens, record.output_tokens),
            (1_796_040_000, 10.0, 2.0)
        );
        let ms =
            r#"{"timestamp":1796040000500,"usage":{"prompt_tokens":"10","completion_tokens":2}}"#;
        assert_eq!(
            parse_json_line(ms, LogFormat::Auto).unwrap().time_s,
            1_796_040_000
        );
    }

    #[test]
    fn malformed_json_lines_are_named() {
        let cases = [
            ("not json at all", SkipReason::NotJson),
            (r#"{"usage": {"prompt_tokens": 10"#, SkipReason::NotJson),
            (r#"{"created": 1796040000}"#, SkipReason::NoTokenCounts),
            (
                r#"{"created": 1796040000, "usage": {"prompt_tokens": -3, "completion_tokens": 2}}"#,
                SkipReason::BadTokenCount,
            ),
            (
                r#"{"created": 1796040000, "usage": {"prompt_tokens": 2000001, "completion_tokens": 2}}"#,
                SkipReason::BadTokenCount,
            ),
            (
                r#"{"created": 1796040000, "usage": {"prompt_tokens": 10, "completion_tokens": "many"}}"#,
                SkipReason::BadTokenCount,
            ),
            (
                r#"{"created": 1796040000, "usage": {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 11}}}"#,
                SkipReason::BadTokenCount,
            ),
            (
                r#"{"usage": {"prompt_tokens": 10, "completion_tokens": 2}}"#,
                SkipReason::NoTimestamp,
            ),
            (
                r#"{"timestamp": "yesterday", "usage": {"prompt_tokens": 10, "completion_tokens": 2}}"#,
                SkipReason::BadTimestamp,
            ),
            (
                r#"{"created": 0, "usage": {"prompt_tokens": 10, "completion_tokens": 2}}"#,
                SkipReason::BadTimestamp,
            ),
            (
                r#"{"schemaType":"ModelInvocationLog","timestamp":"2026-11-31T00:00:00Z","input":{"inputTokenCount":5},"output":{"outputTokenCount":1}}"#,
                SkipReason::BadTimestamp,
            ),
            (
                r#"{"created": 1796040000, "usage": {"prompt_tokens": 10, "completion_tokens": 2}, "model": {"a": 1}, "created": 5}"#,
                SkipReason::WrongShape,
            ),
        ];
        for (line, reason) in cases {
            let skip = parse_json_line(line, LogFormat::Auto).unwrap_err();
            assert_eq!(skip.reason, reason, "{line}: {skip}");
        }
    }

    #[test]
    fn csv_rows_by_their_header() {
        let columns = CsvColumns::from_header(
            "timestamp,input_tokens,output_tokens,cached_tokens,user,model",
        )
        .unwrap();
        let record = columns
            .parse_row(
                "2026-11-30T12:00:00Z,900,120,512,\"Smith, J\",meta.llama3-3-70b-instruct-v1:0",
            )
            .unwrap();
        assert_eq!(
            record,
            LogRecord {
                time_s: 1_796_040_000,
                prompt_tokens: 900.0,
                output_tokens: 120.0,
                cache_read_tokens: 512.0,
                cache_write_tokens: 0.0,
                model: Some("meta.llama3-3-70b-instruct-v1:0".into()),
                user: Some("Smith, J".into()),
            }
        );
        // Columns in another order, unix seconds, optional columns absent.
        let short = CsvColumns::from_header("output_tokens,Timestamp,input_tokens").unwrap();
        let record = short.parse_row("7,1796040000,30\r\n").unwrap();
        assert_eq!(
            (
                record.time_s,
                record.prompt_tokens,
                record.output_tokens,
                record.user
            ),
            (1_796_040_000, 30.0, 7.0, None)
        );
        assert_eq!(
            CsvColumns::from_header("time,input,output")
                .unwrap_err()
                .reason,
            SkipReason::BadCsvHeader
        );
        for (row, reason) in [
            ("1796040000,30", SkipReason::BadCsvRow),
            ("7,1796040000,\"30", SkipReason::BadCsvRow),
            ("7,noon,30", SkipReason::BadTimestamp),
            ("7,,30", SkipReason::NoTimestamp),
            ("7,1796040000,", SkipReason::NoTokenCounts),
            ("7,1796040000,NaN", SkipReason::BadTokenCount),
            ("7,1796040000,inf", SkipReason::BadTokenCount),
        ] {
            assert_eq!(short.parse_row(row).unwrap_err().reason, reason, "{row}");
        }
    }

    #[test]
    fn files_are_told_apart_by_their_first_line() {
        assert_eq!(sniff("  {\"a\":1}", LogFormat::Auto), FileKind::JsonLines);
        assert_eq!(
            sniff("timestamp,input_tokens", LogFormat::Auto),
            FileKind::Csv
        );
        assert_eq!(sniff("{", LogFormat::Csv), FileKind::Csv);
        assert_eq!(sniff("garbage", LogFormat::Auto), FileKind::JsonLines);
        assert_eq!(sniff("x", LogFormat::Bedrock), FileKind::JsonLines);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lines_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            for format in [LogFormat::Auto, LogFormat::Bedrock, LogFormat::OpenAi] {
                let _ = parse_json_line(&text, format);
                let _ = parse_json_line(&format!("{{{text}"), format);
            }
            let _ = CsvColumns::from_header(&text);
            let columns = CsvColumns::from_header("timestamp,input_tokens,output_tokens,cached_tokens,user,model").unwrap();
            let _ = columns.parse_row(&text);
        }

        #[test]
        fn json_shaped_noise_never_panics(
            stamp in proptest::prelude::any::<f64>(),
            prompt in proptest::prelude::any::<f64>(),
            out in proptest::prelude::any::<i64>(),
            name in proptest::collection::vec(proptest::char::any(), 0..300),
        ) {
            let name: String = name.into_iter().collect();
            let line = serde_json::json!({
                "created": stamp, "user": name, "model": name,
                "usage": {"prompt_tokens": prompt, "completion_tokens": out}
            }).to_string();
            if let Ok(record) = parse_json_line(&line, LogFormat::Auto) {
                proptest::prop_assert!(record.prompt_tokens.is_finite() && record.prompt_tokens >= 0.0);
                proptest::prop_assert!(record.user.map_or(0, |u| u.len()) <= MAX_NAME_BYTES);
            }
        }
    }
}
