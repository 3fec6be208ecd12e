//! One continuous-batching server on a shared decode clock (docs/DESIGN.md, "The simulator").
//!
//! Every decoding request advances one token per step and all share the step time, so progress
//! is one clock counting median-step tokens. A request needing `w` clock tokens finishes when the
//! clock has advanced `w` since it joined: a heap of finish marks gives the next completion in
//! O(log n). Between events the clock runs at `1 / step(n, K)` with `n` the admitted requests and
//! `K = Σ (prompt + output/2)`, the same convention the performance model is fitted with.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::perf::PerfModel;

/// A finish mark with a total order, so the heap needs no float wrapper crate.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Mark(f64, u32);

impl Eq for Mark {}
impl PartialOrd for Mark {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Mark {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

#[derive(Debug)]
pub struct BatchServer {
    /// Requests admitted (prefilling or decoding).
    admitted: u32,
    held_context: f64,
    clock: f64,
    clock_at_s: f64,
    step_s: f64,
    decoding: BinaryHeap<Reverse<Mark>>,
    /// Most requests in flight at once; beyond it requests wait in `waiting`.
    pub slots: Option<u32>,
    pub waiting: VecDeque<u32>,
}

impl BatchServer {
    pub fn new(slots: Option<u32>) -> BatchServer {
        BatchServer {
            admitted: 0,
            held_context: 0.0,
            clock: 0.0,
            clock_at_s: 0.0,
            step_s: f64::INFINITY,
            decoding: BinaryHeap::new(),
            slots,
            waiting: VecDeque::new(),
        }
    }

    pub fn admitted(&self) -> u32 {
        self.admitted
    }

    /// Requests admitted plus waiting: what a least-outstanding router compares.
    pub fn outstanding(&self) -> usize {
        self.admitted as usize + self.waiting.len()
    }

    pub fn has_free_slot(&self) -> bool {
        self.slots.is_none_or(|s| self.admitted < s)
    }

    fn advance(&mut self, now_s: f64) {
        if !self.decoding.is_empty() && self.step_s.is_finite() {
            self.clock += (now_s - self.clock_at_s) / self.step_s;
        }
        self.clock_at_s = now_s;
    }

    fn restep(&mut self, model: &PerfModel) {
        self.step_s = if self.admitted == 0 {
            f64::INFINITY
        } else {
            model.tpot_median_s(f64::from(self.admitted), self.held_context)
        };
    }

    /// Admits a request; returns the concurrency it sees (itself included).
    pub fn admit(&mut self, model: &PerfModel, now_s: f64, prompt: f64, output: f64) -> f64 {
        self.advance(now_s);
        self.admitted += 1;
        self.held_context += prompt + output / 2.0;
        self.restep(model);
        f64::from(self.admitted)
    }

    /// Starts decoding `work` clock tokens for request `id` (its remaining tokens × its noise).
    pub fn start_decode(&mut self, now_s: f64, id: u32, work: f64) {
        self.advance(now_s);
        self.decoding.push(Reverse(Mark(self.clock + work, id)));
    }

    /// When the next decoding request finishes, if nothing else changes.
    pub fn next_completion_s(&self) -> f64 {
        match self.decoding.peek() {
            Some(Reverse(Mark(mark, _))) if self.step_s.is_finite() => {
                self.clock_at_s + (mark - self.clock).max(0.0) * self.step_s
            }
            _ => f64::INFINITY,
        }
    }

    /// Takes the request whose decode finishes first (call at `next_completion_s`).
    pub fn pop_completion(&mut self, now_s: f64) -> Option<u32> {
        self.advance(now_s);
        self.decoding.pop().map(|Reverse(Mark(_, id))| id)
    }

    /// Frees the resources of a request that has left (finished or failed).
    pub fn release(&mut self, model: &PerfModel, now_s: f64, prompt: f64, output: f64) {
        self.advance(now_s);
        self.admitted = self.admitted.saturating_sub(1);
        self.held_context = (self.held_context - (prompt + output / 2.0)).max(0.0);
        if self.admitted == 0 {
            self.held_context = 0.0;
        }
        self.restep(model);
    }

    /// The median step time right now (seconds per token for every decoding request).
    pub fn step_s(&self) -> f64 {
        self.step_s
    }
}
