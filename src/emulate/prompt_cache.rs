//! The mantle endpoint's prompt cache: a prompt prefix, keyed by a hash of the model and the
//! prefix's turns, is kept for five minutes after it was last written or read (Anthropic's
//! default `ephemeral` lifetime, which each hit refreshes). A request whose prefix is cached
//! reads it (`cache_read_input_tokens`, OpenAI's `cached_tokens`); one whose prefix is not
//! writes it once admitted (`cache_creation_input_tokens`; a throttled request writes nothing).
//! Reads do not count against mantle's input TPM; writes do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::text;

/// How long an entry lives after its last write or read.
pub const TTL: Duration = Duration::from_secs(5 * 60);

/// OpenAI's automatic caching starts at prompts of this many tokens.
pub const OPENAI_MIN_TOKENS: u64 = 1_024;

/// A prompt prefix to look up: the model and each turn's role and text, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prefix {
    parts: Vec<(String, String)>,
}

impl Prefix {
    /// The prompt's blocks (role, text, whether the block is a cache breakpoint) up to and
    /// including the last breakpoint; empty when there is none.
    pub fn through_last_breakpoint(blocks: &[(&str, &str, bool)]) -> Prefix {
        let mut prefix = Prefix::default();
        if let Some(last) = blocks.iter().rposition(|b| b.2) {
            for (role, text, _) in &blocks[..=last] {
                prefix.push(role, text);
            }
        }
        prefix
    }

    pub fn push(&mut self, role: &str, text: &str) {
        self.parts.push((role.to_string(), text.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Tokens by the emulator's estimate, counted as `Prompt::estimated_tokens` counts them
    /// (the texts joined), so a prefix never counts more than the prompt it begins.
    pub fn tokens(&self) -> u64 {
        let all: String = self.parts.iter().map(|(_, t)| t.as_str()).collect();
        text::estimate_tokens(&all)
    }

    fn key(&self, model: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(model.as_bytes());
        for (role, text) in &self.parts {
            hash.update([0u8]);
            hash.update(role.as_bytes());
            hash.update([0u8]);
            hash.update((text.len() as u64).to_le_bytes());
            hash.update(text.as_bytes());
        }
        hash.finalize().into()
    }
}

/// What the cache did for one request, in prompt tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheUse {
    pub read: u64,
    pub written: u64,
}

#[derive(Debug, Default)]
pub struct PromptCache {
    /// Each entry's expiry.
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

impl PromptCache {
    /// What `prefix` would do now: read if cached and alive, else write.
    pub fn lookup(&self, model: &str, prefix: &Prefix, now: Instant) -> CacheUse {
        if prefix.is_empty() {
            return CacheUse::default();
        }
        let tokens = prefix.tokens();
        let entries = self.entries.lock().expect("prompt cache lock");
        match entries.get(&prefix.key(model)) {
            Some(expiry) if *expiry > now => CacheUse {
                read: tokens,
                written: 0,
            },
            _ => CacheUse {
                read: 0,
                written: tokens,
            },
        }
    }

    /// Writes `prefix`, or refreshes its lifetime (once the request is admitted).
    pub fn keep(&self, model: &str, prefix: &Prefix, now: Instant) {
        if prefix.is_empty() {
            return;
        }
        let mut entries = self.entries.lock().expect("prompt cache lock");
        entries.retain(|_, expiry| *expiry > now);
        entries.insert(prefix.key(model), now + TTL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(text: &str) -> Prefix {
        let mut p = Prefix::default();
        p.push("system", text);
        p
    }

    /// A lookup, then the entry kept as an admitted request keeps it.
    fn use_at(cache: &PromptCache, model: &str, p: &Prefix, now: Instant) -> CacheUse {
        let outcome = cache.lookup(model, p, now);
        cache.keep(model, p, now);
        outcome
    }

    #[test]
    fn a_prefix_is_written_then_read_until_it_expires() {
        let cache = PromptCache::default();
        let t0 = Instant::now();
        let p = prefix(&"x".repeat(400));
        // A lookup alone (a refused request) writes nothing.
        assert_eq!(cache.lookup("m", &p, t0).written, 100);
        assert_eq!(cache.lookup("m", &p, t0).written, 100);
        let write = CacheUse {
            read: 0,
            written: 100,
        };
        let read = CacheUse {
            read: 100,
            written: 0,
        };
        assert_eq!(use_at(&cache, "m", &p, t0), write);
        assert_eq!(use_at(&cache, "m", &p, t0 + TTL / 2), read);
        // The read refreshed the lifetime: still there 5 minutes after the write.
        assert_eq!(use_at(&cache, "m", &p, t0 + TTL), read);
        // Another model or another text is another entry.
        assert_eq!(use_at(&cache, "other", &p, t0 + TTL), write);
        assert_eq!(
            use_at(&cache, "m", &prefix(&"y".repeat(400)), t0 + TTL),
            write
        );
        // Untouched for longer than the lifetime: written again.
        assert_eq!(use_at(&cache, "m", &p, t0 + TTL * 3), write);
        assert_eq!(
            use_at(&cache, "m", &Prefix::default(), t0),
            CacheUse::default()
        );
    }

    #[test]
    fn turn_boundaries_are_part_of_the_key() {
        let mut a = Prefix::default();
        a.push("system", "ab");
        a.push("user", "c");
        let mut b = Prefix::default();
        b.push("system", "a");
        b.push("user", "bc");
        assert_ne!(a.key("m"), b.key("m"));
        assert_eq!(a.tokens(), 1);
    }
}
