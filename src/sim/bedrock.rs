//! Bedrock on-demand: one shared fleet per model × region, driven by a profile, behind the
//! account's quota buckets (`quota::bucket`).

use rand::rngs::StdRng;

use super::endpoint::{Admitted, Endpoint, Submit};
use super::request::Slab;
use super::server::BatchServer;
use crate::perf::PerfModel;
use crate::quota::{Ask, Quota, QuotaState, Reservation, Used};

pub struct BedrockEndpoint {
    model: PerfModel,
    server: BatchServer,
    quota: Option<QuotaState>,
}

impl BedrockEndpoint {
    pub fn new(model: PerfModel, quota: Option<Quota>) -> BedrockEndpoint {
        BedrockEndpoint {
            server: BatchServer::new(&model, None),
            model,
            quota: quota.map(QuotaState::new),
        }
    }
}

impl Endpoint for BedrockEndpoint {
    fn submit(&mut self, now_s: f64, id: u32, attempts: &mut Slab, rng: &mut StdRng) -> Submit {
        let attempt = attempts.get_mut(id);
        if let Some(quota) = &mut self.quota {
            let ask = Ask {
                input: attempt.prompt,
                cache_read: attempt.cache_read,
                max_tokens: attempt.max_tokens,
            };
            match quota.try_start(now_s, &ask) {
                Ok(reservation) => attempt.reserved = reservation.tokens,
                Err(_) => return Submit::Refused,
            }
        }
        if !self.server.has_free_slot() {
            // The profile's server model holds at most B requests: the rest wait for a slot.
            self.server.waiting.push_back(id);
            return Submit::Queued;
        }
        Submit::Started {
            ttft_s: self.server.admit(&self.model, now_s, attempt, rng),
        }
    }

    fn start_decode(&mut self, now_s: f64, id: u32, attempts: &Slab, rng: &mut StdRng) {
        let attempt = attempts.get(id);
        self.server
            .start_decode(&self.model, now_s, id, attempt.prompt, attempt.output, rng);
    }

    fn first_token_delay_s(&mut self, id: u32, attempts: &mut Slab) -> f64 {
        self.server.first_token_delay_s(attempts.get_mut(id))
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
        rng: &mut StdRng,
        admitted: &mut Vec<Admitted>,
    ) -> f64 {
        let (prompt, output) = {
            let attempt = attempts.get(id);
            (attempt.prompt, attempt.output)
        };
        self.server.release(&self.model, now_s, prompt, output);
        self.server
            .admit_waiting(&self.model, now_s, attempts, rng, admitted);
        let attempt = attempts.get(id);
        match &mut self.quota {
            Some(quota) => {
                quota
                    .settle(
                        now_s,
                        Reservation {
                            tokens: attempt.reserved,
                        },
                        &Used {
                            input: attempt.prompt,
                            cache_read: attempt.cache_read,
                            output: attempt.output,
                        },
                    )
                    .tokens
            }
            None => attempt.prompt - attempt.cache_read + attempt.output,
        }
    }
}
