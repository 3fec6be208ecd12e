//! Attempts in flight, kept in a slab whose size follows concurrency, not the request count.

/// One attempt of a logical request.
#[derive(Clone, Debug, Default)]
pub struct Attempt {
    pub prompt: f64,
    pub output: f64,
    /// What the request asks for; Bedrock reserves prompt + this.
    pub max_tokens: f64,
    /// The closed-loop client or user who sent it (`u32::MAX` for open-loop traffic).
    pub client: u32,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub first_sent_s: f64,
    pub sent_s: f64,
    pub admitted_s: f64,
    pub first_token_s: f64,
    /// Which server or instance holds it.
    pub server: u32,
    /// Tokens reserved against the quota at start (0 when none).
    pub reserved: f64,
    /// Of `prompt`, tokens read from the prompt cache (a cached system prompt; 0 without).
    pub cache_read: f64,
    /// Of `prompt`, tokens whose KV the server already holds (its prefix cache hit the
    /// workload's cacheable prefix): its prefill skips them. 0 where the server has no such
    /// cache (or the endpoint's latency profile already includes it, as Bedrock's does).
    pub prefix_hit: f64,
    /// The client stopped waiting (timeout); the server may still be working on it.
    pub abandoned: bool,
    /// False once the slot is freed (stale timeouts check it).
    pub live: bool,
    /// Whole prefills: the prefill batch it joined (`u32::MAX`: none) and when that batch was
    /// due to end when it joined; prompts joining after it push the batch's end, and its first
    /// token with it.
    pub prefill_batch: u32,
    pub prefill_ready_s: f64,
    /// The workload's request class it belongs to.
    pub class: u32,
}

#[derive(Debug, Default)]
pub struct Slab {
    items: Vec<Attempt>,
    free: Vec<u32>,
}

impl Slab {
    pub fn insert(&mut self, mut attempt: Attempt) -> u32 {
        attempt.live = true;
        match self.free.pop() {
            Some(id) => {
                self.items[id as usize] = attempt;
                id
            }
            None => {
                self.items.push(attempt);
                (self.items.len() - 1) as u32
            }
        }
    }

    pub fn remove(&mut self, id: u32) {
        self.items[id as usize].live = false;
        self.free.push(id);
    }

    pub fn get(&self, id: u32) -> &Attempt {
        &self.items[id as usize]
    }

    pub fn get_mut(&mut self, id: u32) -> &mut Attempt {
        &mut self.items[id as usize]
    }

    pub fn capacity(&self) -> usize {
        self.items.len()
    }
}
