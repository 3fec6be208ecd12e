//! What a request asks for, read from any service's body: its messages and its output limit.
//! The profile-driven emulator only needs the sizes; the proxy mode forwards the messages.

use serde::Serialize;
use serde_json::Value;

use super::text;

/// One chat turn as an OpenAI-compatible server takes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Message {
        Message {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// A turn's text: its content as a string, or the `text`s of its blocks joined (Converse,
/// Anthropic and OpenAI bodies alike; other blocks carry no text).
pub fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub messages: Vec<Message>,
    pub max_tokens: u64,
}

impl Prompt {
    /// Input tokens by the emulator's estimate (`text::estimate_tokens`) over all turns.
    pub fn estimated_tokens(&self) -> u64 {
        let all: String = self.messages.iter().map(|m| m.content.as_str()).collect();
        text::estimate_tokens(&all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_covers_every_turn() {
        let prompt = Prompt {
            messages: vec![Message::new("system", "abcd"), Message::new("user", "efgh")],
            max_tokens: 0,
        };
        assert_eq!(prompt.estimated_tokens(), 2);
    }
}
