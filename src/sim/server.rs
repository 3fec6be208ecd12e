//! One continuous-batching server on a shared decode clock (docs/DESIGN.md, "The simulator").
//!
//! Every decoding request advances one token per step and all share the step time, so progress
//! is one clock counting median-step tokens. A request needing `w` clock tokens finishes when the
//! clock has advanced `w` since it joined: a heap of finish marks gives the next completion in
//! O(log n).
//!
//! With a profile's server model (`[server]`, docs/DESIGN.md "The server model") the server runs
//! its mechanism, in fluid form so each request still costs O(log n):
//! - at most `B` requests hold a batch slot; the rest wait in `waiting`;
//! - prefills queue one behind another (FIFO). Whole prefills run alone between decode steps; a
//!   chunked prefill runs `tokens_per_step` prompt tokens a step beside the decodes, so a prompt of
//!   `p` tokens takes `p / tokens_per_step` steps plus its compute;
//! - either way the decodes lose the prefill's compute time: the decode clock pauses for it
//!   (`stall_until_s`), which stretches every running request's TPOT as the step-level server does;
//! - the step time is the server's decode step with the *decoding* sequences and their context.
//!
//! Without one, TTFT is drawn from the closed form at the admitted concurrency and the clock runs
//! at `1 / step(n, K)` with `n` the admitted requests and `K = Σ (prompt + output/2)`, the
//! convention the closed forms are fitted with.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::rngs::StdRng;

use super::endpoint::Admitted;
use super::request::{Attempt, Slab};

/// Whole-prefill batches remembered (a member asks for its own within a few).
const KEPT_BATCHES: usize = 64;
use crate::perf::server::{ServerModel, Sharing};
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
    /// Σ (prompt + output/2) over the admitted requests (the closed forms' `K`).
    held_context: f64,
    /// Requests decoding and their Σ (prompt + output/2) (the server model's `n` and `K`).
    decoders: u32,
    decoding_context: f64,
    clock: f64,
    clock_at_s: f64,
    step_s: f64,
    /// The decode clock is paused from `stall_from_s` to `stall_until_s`: prefill compute the
    /// decodes wait for.
    stall_from_s: f64,
    stall_until_s: f64,
    /// When the prefills queued so far are done.
    prefill_until_s: f64,
    /// Whole prefills: the batches planned, oldest first, as (serial, start, end). A prompt
    /// arriving before the last one starts joins it, and every member's first token waits for
    /// the batch's end, as the step-level server prefills every prompt waiting at a step
    /// boundary in one step. Bounded: a member asks for its batch within a few batches.
    batches: VecDeque<(u32, f64, f64)>,
    next_batch: u32,
    decoding: BinaryHeap<Reverse<Mark>>,
    /// Most requests in flight at once; beyond it requests wait in `waiting`.
    slots: Option<u32>,
    pub waiting: VecDeque<u32>,
}

impl BatchServer {
    /// A server for `model` with at most `slots` requests (the hosting's setting); a server
    /// model's batch limit `B` binds as well.
    pub fn new(model: &PerfModel, slots: Option<u32>) -> BatchServer {
        let batch = model
            .server
            .as_ref()
            .and_then(|s| s.max_batch)
            .map(|b| b.floor().clamp(1.0, f64::from(u32::MAX)) as u32);
        let slots = match (slots, batch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        BatchServer {
            admitted: 0,
            held_context: 0.0,
            decoders: 0,
            decoding_context: 0.0,
            clock: 0.0,
            clock_at_s: 0.0,
            step_s: f64::INFINITY,
            stall_from_s: 0.0,
            stall_until_s: 0.0,
            prefill_until_s: 0.0,
            batches: VecDeque::new(),
            next_batch: 0,
            decoding: BinaryHeap::new(),
            slots,
            waiting: VecDeque::new(),
        }
    }

    pub fn admitted(&self) -> u32 {
        self.admitted
    }

    /// The most requests it holds at once (`None`: unbounded).
    pub fn slots(&self) -> Option<u32> {
        self.slots
    }

    /// Requests admitted plus waiting: what a least-outstanding router compares.
    pub fn outstanding(&self) -> usize {
        self.admitted as usize + self.waiting.len()
    }

    pub fn has_free_slot(&self) -> bool {
        self.slots.is_none_or(|s| self.admitted < s)
    }

    fn advance(&mut self, now_s: f64) {
        if !self.decoding.is_empty() && self.step_s.is_finite() && now_s > self.clock_at_s {
            let paused =
                (now_s.min(self.stall_until_s) - self.clock_at_s.max(self.stall_from_s)).max(0.0);
            self.clock += (now_s - self.clock_at_s - paused) / self.step_s;
        }
        self.clock_at_s = now_s;
    }

    /// Pauses the decodes for `seconds` of prefill compute from `start_s` (or from the end of
    /// the pause already planned, if it runs past `start_s`).
    fn stall(&mut self, start_s: f64, seconds: f64) {
        if self.stall_until_s >= start_s {
            self.stall_until_s += seconds;
        } else {
            self.stall_from_s = start_s;
            self.stall_until_s = start_s + seconds;
        }
    }

    fn restep(&mut self, model: &PerfModel) {
        self.step_s = match &model.server {
            Some(server) if self.decoders > 0 => {
                server.decode_step_s(f64::from(self.decoders), self.decoding_context)
            }
            Some(_) => f64::INFINITY,
            None if self.admitted > 0 => {
                model.tpot_median_s(f64::from(self.admitted), self.held_context)
            }
            None => f64::INFINITY,
        };
    }

    /// Admits a request and draws its TTFT (seconds from now to its first token, as far as is
    /// known now: a whole-prefill batch it joins may grow, see [`BatchServer::first_token_delay_s`]).
    pub fn admit(
        &mut self,
        model: &PerfModel,
        now_s: f64,
        attempt: &mut Attempt,
        rng: &mut StdRng,
    ) -> f64 {
        let (prompt, output) = (attempt.prompt, attempt.output);
        attempt.prefill_batch = u32::MAX;
        self.advance(now_s);
        self.admitted += 1;
        self.held_context += prompt + output / 2.0;
        self.restep(model);
        let n = f64::from(self.admitted);
        let computed = prompt - attempt.prefix_hit;
        match &model.server {
            None => model.ttft_distribution(n, computed).sample(rng),
            Some(server) => {
                let ready_s = self.queue_prefill(server, now_s, prompt, attempt);
                let ttft = server.overhead_s + (ready_s - now_s);
                ttft * model.ttft_factor(n).sample(rng)
            }
        }
    }

    /// Puts a prompt in the prefill queue; returns when its first token is out (for a whole
    /// prefill, when its batch ends as planned now; the attempt keeps the batch).
    fn queue_prefill(
        &mut self,
        server: &ServerModel,
        now_s: f64,
        prompt: f64,
        attempt: &mut Attempt,
    ) -> f64 {
        // A prefix whose KV the server holds is not computed again; the rest attends to it.
        let hit = attempt.prefix_hit.clamp(0.0, prompt);
        let compute = server.prefill_part_s(hit, hit, prompt - hit);
        let prompt = prompt - hit;
        let decoding = self.step_s.is_finite();
        let step = if decoding {
            self.step_s
        } else {
            server.step.t0_s
        };
        // A prompt reaching an idle prefill queue still waits for the decode step in progress:
        // half a step on average.
        let start = if self.prefill_until_s > now_s {
            self.prefill_until_s
        } else if decoding {
            now_s + step / 2.0
        } else {
            now_s
        };
        match server.sharing {
            Sharing::Whole => {
                // A batch not yet started takes the prompt in; otherwise a new batch, paying
                // the step's fixed cost, starts when the one running ends.
                let (serial, end) = match self.batches.back_mut() {
                    Some((serial, batch_start, batch_end)) if *batch_start >= now_s => {
                        *batch_end += compute;
                        let (serial, batch_start, end) = (*serial, *batch_start, *batch_end);
                        self.stall(batch_start, compute);
                        (serial, end)
                    }
                    _ => {
                        let serial = self.next_batch;
                        self.next_batch = self.next_batch.wrapping_add(1);
                        let end = start + server.step.t0_s + compute;
                        self.batches.push_back((serial, start, end));
                        if self.batches.len() > KEPT_BATCHES {
                            self.batches.pop_front();
                        }
                        self.stall(start, server.step.t0_s + compute);
                        (serial, end)
                    }
                };
                self.prefill_until_s = self.prefill_until_s.max(end);
                attempt.prefill_batch = serial;
                attempt.prefill_ready_s = end;
                end
            }
            Sharing::Chunked { tokens_per_step } => {
                self.prefill_until_s = start + prompt / tokens_per_step * step + compute;
                // The chunks run beside the decodes from the next step on: the decodes lose
                // their compute now, one pause after another.
                self.stall(now_s, compute);
                // A prompt shorter than a step's budget still waits for the whole step.
                self.prefill_until_s.max(start + step + compute)
            }
        }
    }

    /// How much later than planned at its admission the first token of `attempt` comes: the
    /// whole-prefill batch it joined took more prompts in after it. Moves the plan to the
    /// batch's end, so a second call says 0.
    pub fn first_token_delay_s(&self, attempt: &mut Attempt) -> f64 {
        let Some(&(front, _, _)) = self.batches.front() else {
            return 0.0;
        };
        let index = attempt.prefill_batch.wrapping_sub(front) as usize;
        match self.batches.get(index) {
            Some(&(serial, _, end)) if serial == attempt.prefill_batch => {
                let delay = (end - attempt.prefill_ready_s).max(0.0);
                attempt.prefill_ready_s = end;
                delay
            }
            _ => 0.0,
        }
    }

    /// Starts decoding the rest of request `id` (`output − 1` tokens, times its noise).
    pub fn start_decode(
        &mut self,
        model: &PerfModel,
        now_s: f64,
        id: u32,
        prompt: f64,
        output: f64,
        rng: &mut StdRng,
    ) {
        self.advance(now_s);
        let factor = model.tpot_factor(f64::from(self.admitted)).sample(rng);
        let work = (output - 1.0).max(0.0) * factor;
        self.decoding.push(Reverse(Mark(self.clock + work, id)));
        self.decoders += 1;
        self.decoding_context += prompt + output / 2.0;
        self.restep(model);
    }

    /// When the next decoding request finishes, if nothing else changes.
    pub fn next_completion_s(&self) -> f64 {
        match self.decoding.peek() {
            Some(Reverse(Mark(mark, _))) if self.step_s.is_finite() => {
                let running = (mark - self.clock).max(0.0) * self.step_s;
                let before_pause = (self.stall_from_s - self.clock_at_s).max(0.0);
                if self.stall_until_s <= self.clock_at_s || running <= before_pause {
                    self.clock_at_s + running
                } else {
                    self.clock_at_s.max(self.stall_until_s) + running - before_pause
                }
            }
            _ => f64::INFINITY,
        }
    }

    /// Takes the request whose decode finishes first (call at `next_completion_s`).
    pub fn pop_completion(&mut self, now_s: f64) -> Option<u32> {
        self.advance(now_s);
        self.decoding.pop().map(|Reverse(Mark(_, id))| id)
    }

    /// Frees the resources of a request that has left (finished or failed); it decoded when its
    /// reply was longer than one token.
    pub fn release(&mut self, model: &PerfModel, now_s: f64, prompt: f64, output: f64) {
        self.advance(now_s);
        self.admitted = self.admitted.saturating_sub(1);
        self.held_context = (self.held_context - (prompt + output / 2.0)).max(0.0);
        if output > 1.0 && self.decoders > 0 {
            self.decoders -= 1;
            self.decoding_context = (self.decoding_context - (prompt + output / 2.0)).max(0.0);
        }
        if self.admitted == 0 {
            self.held_context = 0.0;
        }
        if self.decoders == 0 {
            self.decoding_context = 0.0;
        }
        self.restep(model);
    }

    /// Admits waiting requests while slots are free, oldest first, into `admitted` (an attempt
    /// abandoned while it waited is handed back with a NaN TTFT, so the engine frees it).
    pub fn admit_waiting(
        &mut self,
        model: &PerfModel,
        now_s: f64,
        attempts: &mut Slab,
        rng: &mut StdRng,
        admitted: &mut Vec<Admitted>,
    ) {
        while self.has_free_slot() {
            let Some(next) = self.waiting.pop_front() else {
                break;
            };
            let attempt = attempts.get_mut(next);
            if attempt.abandoned {
                admitted.push(Admitted {
                    id: next,
                    ttft_s: f64::NAN,
                });
                continue;
            }
            attempt.admitted_s = now_s;
            let ttft_s = self.admit(model, now_s, attempt, rng);
            admitted.push(Admitted { id: next, ttft_s });
        }
    }

    /// The median step time right now (seconds per token for every decoding request).
    pub fn step_s(&self) -> f64 {
        self.step_s
    }
}
