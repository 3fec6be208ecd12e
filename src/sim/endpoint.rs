//! What every endpoint model offers the engine.

use rand::rngs::StdRng;

use super::request::Slab;

/// The outcome of offering an attempt to an endpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Submit {
    /// Admitted now; its first token comes after `ttft_s`.
    Started { ttft_s: f64 },
    /// Waiting for a slot; it will be started by a later completion.
    Queued,
    /// Refused: HTTP 429 (quota, concurrency cap) or 503 (no capacity).
    Refused,
}

/// An attempt admitted from a queue when a slot freed (`ttft_s` NaN: it had been abandoned
/// while queued and only needs freeing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Admitted {
    pub id: u32,
    pub ttft_s: f64,
}

pub trait Endpoint {
    fn submit(&mut self, now_s: f64, id: u32, attempts: &mut Slab, rng: &mut StdRng) -> Submit;

    /// How much later than its admission said attempt `id`'s first token comes (a batch of
    /// whole prefills it joined grew); 0 once told.
    fn first_token_delay_s(&mut self, _id: u32, _attempts: &mut Slab) -> f64 {
        0.0
    }

    /// The first token is out; decode the rest.
    fn start_decode(&mut self, now_s: f64, id: u32, attempts: &Slab, rng: &mut StdRng);

    /// When the next decode finishes.
    fn next_completion_s(&self) -> f64;

    /// The attempt whose decode finished (call at `next_completion_s`).
    fn pop_completion(&mut self, now_s: f64) -> Option<u32>;

    /// The attempt leaves its server: frees its resources, settles its quota (returns the tokens
    /// charged) and admits waiting attempts into `admitted`.
    fn release(
        &mut self,
        now_s: f64,
        id: u32,
        attempts: &mut Slab,
        rng: &mut StdRng,
        admitted: &mut Vec<Admitted>,
    ) -> f64;

    /// Periodic work (autoscaling); returns (instances in service, instances in all).
    fn tick(&mut self, _now_s: f64) -> (u32, u32) {
        (1, 1)
    }

    /// Seconds between ticks, if the endpoint wants them.
    fn tick_period_s(&self) -> Option<f64> {
        None
    }

    /// Instance-seconds billed up to `now_s` (SageMaker real-time).
    fn instance_seconds(&self, _now_s: f64) -> f64 {
        0.0
    }

    /// Seconds of compute billed (SageMaker serverless).
    fn compute_seconds(&self) -> f64 {
        0.0
    }
}
