//! Bedrock on-demand: one shared fleet per model × region, driven by a profile, behind the
//! account's quota buckets (`quota::bucket`).

use rand::rngs::StdRng;

use super::endpoint::{Admitted, Endpoint, Submit};
use super::request::Slab;
use super::server::BatchServer;
use crate::perf::PerfModel;
use crate::quota::{QuotaLimits, QuotaState};

pub struct BedrockEndpoint {
    model: PerfModel,
    server: BatchServer,
    quota: Option<QuotaState>,
}

impl BedrockEndpoint {
    pub fn new(model: PerfModel, quota: Option<QuotaLimits>) -> BedrockEndpoint {
        BedrockEndpoint {
            model,
            server: BatchServer::new(None),
            quota: quota.map(QuotaState::new),
        }
    }
}

impl Endpoint for BedrockEndpoint {
    fn submit(&mut self, now_s: f64, id: u32, attempts: &mut Slab, rng: &mut StdRng) -> Submit {
        let attempt = attempts.get_mut(id);
        if let Some(quota) = &mut self.quota {
            match quota.try_start(now_s, attempt.prompt, attempt.max_tokens) {
                Ok(reservation) => attempt.reserved = reservation.tokens,
                Err(_) => return Submit::Refused,
            }
        }
        let n = self
            .server
            .admit(&self.model, now_s, attempt.prompt, attempt.output);
        Submit::Started {
            ttft_s: self.model.ttft_distribution(n, attempt.prompt).sample(rng),
        }
    }

    fn start_decode(&mut self, now_s: f64, id: u32, attempts: &Slab, rng: &mut StdRng) {
        let attempt = attempts.get(id);
        let n = f64::from(self.server.admitted());
        let factor = self.model.tpot_factor(n).sample(rng);
        self.server
            .start_decode(now_s, id, (attempt.output - 1.0).max(0.0) * factor);
    }

    fn next_completion_s(&self) -> f64 {
        self.server.next_completion_s()
    }

    fn pop_completion(&mut self, now_s: f64) -> Option<u32> {
        self.server.pop_completion(now_s)
    }

    fn release(
        &mut self,
        now_s: f64,
        id: u32,
        attempts: &mut Slab,
        _rng: &mut StdRng,
        _admitted: &mut Vec<Admitted>,
    ) -> f64 {
        let attempt = attempts.get(id);
        self.server
            .release(&self.model, now_s, attempt.prompt, attempt.output);
        match &mut self.quota {
            Some(quota) => quota.settle(
                now_s,
                crate::quota::Reservation {
                    tokens: attempt.reserved,
                },
                attempt.prompt,
                0.0,
                attempt.output,
            ),
            None => attempt.prompt + attempt.output,
        }
    }
}
