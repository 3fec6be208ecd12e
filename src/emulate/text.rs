//! What the emulator says: token counts from a cheap, documented estimate, and filler text.
//!
//! Input tokens ≈ characters / 4, rounded up (OpenAI's rule of thumb for English; real
//! tokenizers differ by ±25 %). Output is `max_tokens` tokens of filler, one word per token.

const WORDS: &[&str] = &[
    "The", " model", " answers", " with", " plain", " words", " so", " that", " the", " load",
    " test", " can", " count", " tokens", " and", " time", " each", " one", ".",
];

pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

/// The `index`-th generated token's text.
pub fn token(index: u64) -> &'static str {
    WORDS[(index % WORDS.len() as u64) as usize]
}

pub fn generated_text(tokens: u64) -> String {
    (0..tokens).map(token).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_characters_a_token() {
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens(""), 1);
        assert_eq!(generated_text(3), "The model answers");
    }
}
