//! Prompts of a requested token count, unique per request so that prefix caches cannot flatter
//! TTFT (on llama.cpp here, repeating one 1,293-token prompt cut TTFT from 1.6 s to 0.07 s).
//!
//! Token counts depend on the model's tokenizer, which llmcap does not have. The prompt is made
//! of common English words, and the words-to-tokens relation is measured against the target
//! (two probes, see `runner::probe_prompt_size`); the server's own counts are what get recorded.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "the",
    "report",
    "shows",
    "that",
    "our",
    "team",
    "will",
    "need",
    "more",
    "time",
    "to",
    "review",
    "each",
    "customer",
    "order",
    "before",
    "it",
    "ships",
    "from",
    "the",
    "north",
    "warehouse",
    "and",
    "every",
    "manager",
    "should",
    "check",
    "a",
    "weekly",
    "summary",
    "of",
    "sales",
    "numbers",
    "by",
    "region",
    "while",
    "new",
    "staff",
    "learn",
    "how",
    "system",
    "handles",
    "returns",
    "for",
    "small",
    "business",
    "accounts",
    "with",
    "late",
    "payments",
    "in",
    "spring",
    "after",
    "budget",
    "meeting",
    "we",
    "agreed",
    "plan",
    "travel",
    "costs",
    "under",
    "one",
    "policy",
    "so",
    "people",
    "can",
    "book",
    "flights",
    "hotels",
    "without",
    "waiting",
    "on",
    "approval",
    "which",
    "often",
    "takes",
    "days",
    "when",
    "office",
    "is",
    "busy",
    "market",
    "river",
    "garden",
    "light",
    "music",
    "window",
    "paper",
    "simple",
    "open",
];

/// tokens ≈ overhead + per_word × words, as measured on the target (or assumed).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokensPerWord {
    /// Tokens the chat template and the unique prefix add regardless of length.
    pub overhead: f64,
    pub per_word: f64,
    /// Whether the numbers were measured on the target or are the default guess.
    pub measured: bool,
}

impl Default for TokensPerWord {
    /// Short common English words are close to one token each in Llama, Mistral, GPT and
    /// SmolLM tokenizers; the chat template adds a dozen or so.
    fn default() -> Self {
        TokensPerWord {
            overhead: 12.0,
            per_word: 1.0,
            measured: false,
        }
    }
}

impl TokensPerWord {
    /// From two probes (words, tokens reported). Falls back to the default when the probes
    /// are degenerate.
    pub fn from_probes(short: (usize, u64), long: (usize, u64)) -> TokensPerWord {
        let (w1, t1) = (short.0 as f64, short.1 as f64);
        let (w2, t2) = (long.0 as f64, long.1 as f64);
        let per_word = (t2 - t1) / (w2 - w1);
        if !(per_word.is_finite() && per_word > 0.1 && per_word < 10.0) {
            return TokensPerWord::default();
        }
        TokensPerWord {
            overhead: (t1 - per_word * w1).max(0.0),
            per_word,
            measured: true,
        }
    }

    pub fn words_for(&self, tokens: u32) -> usize {
        (((f64::from(tokens) - self.overhead) / self.per_word).round()).max(1.0) as usize
    }

    pub fn tokens_for(&self, words: usize) -> f64 {
        self.overhead + self.per_word * words as f64
    }
}

/// A prompt of `words` words, unique to (`run_seed`, `request_id`): the first words differ per
/// request, so no two requests share a cacheable prefix.
pub fn prompt_text(words: usize, run_seed: u64, request_id: u64) -> String {
    let mut rng = StdRng::seed_from_u64(run_seed ^ request_id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut text = format!("Ticket {request_id}-{:08x}:", rng.random::<u32>());
    // The prefix counts as two of the words.
    for _ in 2..words {
        text.push(' ');
        text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_unique_from_the_start() {
        let a = prompt_text(50, 7, 1);
        let b = prompt_text(50, 7, 2);
        // They part within the first two words (a cached prefix can cover one token at most).
        let head = |s: &str| s.split(' ').take(2).collect::<Vec<_>>().join(" ");
        assert_ne!(head(&a), head(&b));
        assert_eq!(a.split(' ').count(), 50);
        assert_eq!(a, prompt_text(50, 7, 1), "deterministic for a seed");
    }

    #[test]
    fn probes_give_the_words_to_tokens_line() {
        let fit = TokensPerWord::from_probes((32, 52), (512, 652));
        assert!((fit.per_word - 1.25).abs() < 1e-12);
        assert!((fit.overhead - 12.0).abs() < 1e-12);
        assert_eq!(fit.words_for(1012), 800);
        let fallback = TokensPerWord::from_probes((32, 52), (32, 52));
        assert!(!fallback.measured);
    }
}
