//! SageMaker serverless: one container per concurrent request (no batching), a concurrency cap,
//! a cold start when no warm container is idle, billed per second of compute.

use std::collections::BinaryHeap;

use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::endpoint::{Admitted, Endpoint, Submit};
use super::request::Slab;
use crate::perf::model::held_context;
use crate::perf::PerfModel;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerlessConfig {
    /// Memory size in MB (prices are per second by memory size).
    pub memory_mb: u32,
    /// Requests served at once (1–200).
    pub max_concurrency: u32,
    /// Seconds a new container takes before it can serve.
    pub cold_start_s: f64,
    /// Seconds an idle container stays warm.
    #[serde(default = "keep_warm")]
    pub keep_warm_s: f64,
}

fn keep_warm() -> f64 {
    600.0
}

pub struct Serverless {
    model: PerfModel,
    config: ServerlessConfig,
    busy: u32,
    /// Times at which idle warm containers became idle, most recent last.
    idle_since: Vec<f64>,
    finishing: BinaryHeap<std::cmp::Reverse<(u64, u32)>>,
    compute_s: f64,
    pub cold_starts: u64,
}

impl Serverless {
    pub fn new(model: PerfModel, config: ServerlessConfig) -> Serverless {
        Serverless {
            model,
            config,
            busy: 0,
            idle_since: Vec::new(),
            finishing: BinaryHeap::new(),
            compute_s: 0.0,
            cold_starts: 0,
        }
    }
}

impl Endpoint for Serverless {
    fn submit(&mut self, now_s: f64, id: u32, attempts: &mut Slab, rng: &mut StdRng) -> Submit {
        if self.busy >= self.config.max_concurrency {
            return Submit::Refused;
        }
        // Containers idle past keep-warm are gone: drop them (the oldest sit first).
        let keep = self.config.keep_warm_s;
        self.idle_since.retain(|&t| now_s - t <= keep);
        let cold = if self.idle_since.pop().is_some() {
            0.0
        } else {
            self.cold_starts += 1;
            self.config.cold_start_s
        };
        self.busy += 1;
        let attempt = attempts.get(id);
        let prefill = self
            .model
            .ttft_distribution(1.0, attempt.prompt)
            .sample(rng);
        self.compute_s += prefill;
        Submit::Started {
            ttft_s: cold + prefill,
        }
    }

    fn start_decode(&mut self, now_s: f64, id: u32, attempts: &Slab, rng: &mut StdRng) {
        let attempt = attempts.get(id);
        let tpot = self
            .model
            .tpot_median_s(1.0, held_context(1.0, attempt.prompt, attempt.output));
        let decode =
            (attempt.output - 1.0).max(0.0) * self.model.tpot_noise.at(tpot, 1.0).sample(rng);
        self.compute_s += decode;
        // Integer nanoseconds keep the heap ordered without a float wrapper.
        let done_ns = ((now_s + decode) * 1e9).round() as u64;
        self.finishing.push(std::cmp::Reverse((done_ns, id)));
    }

    fn next_completion_s(&self) -> f64 {
        self.finishing
            .peek()
            .map_or(f64::INFINITY, |std::cmp::Reverse((ns, _))| *ns as f64 / 1e9)
    }

    fn pop_completion(&mut self, _now_s: f64) -> Option<u32> {
        self.finishing.pop().map(|std::cmp::Reverse((_, id))| id)
    }

    fn release(
        &mut self,
        now_s: f64,
        id: u32,
        attempts: &mut Slab,
        _rng: &mut StdRng,
        _admitted: &mut Vec<Admitted>,
    ) -> f64 {
        self.busy = self.busy.saturating_sub(1);
        self.idle_since.push(now_s);
        let attempt = attempts.get(id);
        attempt.prompt + attempt.output
    }

    fn compute_seconds(&self) -> f64 {
        self.compute_s
    }
}
