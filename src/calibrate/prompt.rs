//! Prompts of a requested token count, unique per request so that prefix caches cannot flatter
//! TTFT (on llama.cpp here, repeating one 1,293-token prompt cut TTFT from 1.6 s to 0.07 s).
//!
//! Unique across runs too: every run draws a random nonce (kept in its manifest, reused by
//! `--resume`), and each prompt opens with a tag hashed from the nonce and the request id.
//! Calibrating the same server twice would otherwise send the first run's prompts again, and
//! llama-server, vLLM and SGLang keep those prefixes cached: the second run measured the cache.
//! `--seed` still fixes arrivals and lengths; it no longer fixes the text.
//!
//! Token counts depend on the model's tokenizer, which llmcap does not have. The prompt is made
//! of common English words, and the words-to-tokens relation is measured against the target
//! (two probes, see `runner::probe_prompt_size`); the server's own counts are what get recorded.

use std::hash::{BuildHasher, Hasher};

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

/// A run's prompt nonce: random per run, so no two runs send the same text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PromptNonce(pub u64);

impl PromptNonce {
    /// A new nonce from the operating system's randomness (std's per-process hash keys), the
    /// clock and the process id.
    pub fn fresh() -> PromptNonce {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        hasher.write_u128(since_epoch);
        hasher.write_u32(std::process::id());
        PromptNonce(hasher.finish())
    }

    /// As the manifest stores it: 16 hex digits.
    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }

    pub fn from_hex(text: &str) -> Option<PromptNonce> {
        u64::from_str_radix(text.trim(), 16).ok().map(PromptNonce)
    }

    /// The nonce of the prompt-sizing probes: their own, so a probe never repeats a sweep
    /// request's text.
    pub fn for_probes(self) -> PromptNonce {
        PromptNonce(self.0 ^ 0xA5A5_5A5A_0F0F_F0F0)
    }
}

/// A prompt of `words` words, unique to (`nonce`, `request_id`): the first word is a tag hashed
/// from both, so no two requests, in this run or another, share a cacheable prefix.
pub fn prompt_text(words: usize, nonce: PromptNonce, request_id: u64) -> String {
    let mut rng = StdRng::seed_from_u64(nonce.0 ^ request_id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let tag = rng.random::<u64>() >> 16;
    let mut text = format!("{tag:012x} #{request_id}:");
    // The prefix counts as two of the words.
    for _ in 2..words {
        text.push(' ');
        text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    text.push('.');
    text
}

/// `words` common words drawn for `request_id`, with no tag: the rest of a prompt whose start
/// (a shared prefix from [`prompt_text`]) carries the tag, so the template and tag are paid
/// once, as the probes that sized the words paid them.
pub fn prompt_words(words: usize, nonce: PromptNonce, request_id: u64) -> String {
    let mut rng = StdRng::seed_from_u64(nonce.0 ^ request_id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut text = String::with_capacity(words * 7);
    for k in 0..words {
        if k > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    text.push('.');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_word(s: &str) -> &str {
        s.split(' ').next().unwrap_or_default()
    }

    #[test]
    fn prompts_are_unique_from_the_start() {
        let nonce = PromptNonce(7);
        let a = prompt_text(50, nonce, 1);
        let b = prompt_text(50, nonce, 2);
        // They part at the first word (a cached prefix can cover a token or two at most).
        assert_ne!(first_word(&a), first_word(&b));
        assert_eq!(a.split(' ').count(), 50);
        assert_eq!(a, prompt_text(50, nonce, 1), "deterministic for a nonce");
        // Probes never repeat a request's text.
        assert_ne!(
            first_word(&prompt_text(50, nonce.for_probes(), 1)),
            first_word(&a)
        );
    }

    #[test]
    fn two_runs_with_one_seed_send_different_prompts_from_the_first_word() {
        // Two runs, same --seed: each draws its own nonce.
        let (first, second) = (PromptNonce::fresh(), PromptNonce::fresh());
        assert_ne!(first, second);
        for request_id in 0..200 {
            let a = prompt_text(64, first, request_id);
            let b = prompt_text(64, second, request_id);
            assert_ne!(first_word(&a), first_word(&b), "request {request_id}");
            // Different from the very first character on, for almost every request: a
            // shared leading hex digit is one token at most.
            assert_eq!(a.split(' ').nth(1), b.split(' ').nth(1), "the id follows");
        }
        let head = |n: PromptNonce| -> Vec<char> {
            (0..200)
                .map(|id| prompt_text(8, n, id).chars().next().unwrap_or(' '))
                .collect()
        };
        let same = head(first)
            .iter()
            .zip(head(second))
            .filter(|(a, b)| **a == *b)
            .count();
        // 16 hex digits: about 1 in 16 share the first character by chance.
        assert!(
            same < 40,
            "{same} of 200 prompts open with the same character"
        );
    }

    #[test]
    fn the_nonce_survives_the_manifest() {
        let nonce = PromptNonce::fresh();
        assert_eq!(PromptNonce::from_hex(&nonce.to_hex()), Some(nonce));
        assert_eq!(PromptNonce::from_hex("not hex"), None);
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
