//! SageMaker real-time: N instances, each its own batching server with a slot limit, a router,
//! and target-tracking autoscaling with a cold start before a new instance serves. Instances are
//! billed per second from launch to termination, busy or idle.

use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::endpoint::{Admitted, Endpoint, Submit};
use super::request::Slab;
use super::server::BatchServer;
use crate::perf::PerfModel;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Router {
    Random,
    LeastOutstanding,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// SageMakerVariantInvocationsPerInstance: requests per instance per minute.
    InvocationsPerInstance,
    /// ConcurrentRequestsPerModel: average requests in flight per instance.
    ConcurrencyPerInstance,
}

/// Target tracking as Application Auto Scaling runs it for SageMaker: scale out after
/// `scale_out_periods` minutes above target, in after `scale_in_periods` minutes below 90 % of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Autoscaling {
    pub metric: ScalingMetric,
    pub target: f64,
    pub min_instances: u32,
    pub max_instances: u32,
    #[serde(default = "three")]
    pub scale_out_periods: u32,
    #[serde(default = "fifteen")]
    pub scale_in_periods: u32,
    #[serde(default = "five_minutes")]
    pub scale_out_cooldown_s: f64,
    #[serde(default = "five_minutes")]
    pub scale_in_cooldown_s: f64,
}

fn three() -> u32 {
    3
}
fn fifteen() -> u32 {
    15
}
fn five_minutes() -> f64 {
    300.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FleetConfig {
    pub instance_type: String,
    pub instances: u32,
    /// Requests one instance serves at once (the container's max batch / parallel slots).
    pub slots_per_instance: u32,
    pub router: Router,
    /// Seconds from launch until a new instance serves (image pull, model load).
    pub cold_start_s: f64,
    /// The invocation limit; the client sees a failure past it.
    #[serde(default = "sixty")]
    pub invocation_timeout_s: f64,
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
}

fn sixty() -> f64 {
    60.0
}

struct Instance {
    server: BatchServer,
    ready_s: f64,
    launched_s: f64,
    terminated_s: Option<f64>,
    draining: bool,
    next_completion_s: f64,
}

impl Instance {
    fn serving(&self, now_s: f64) -> bool {
        self.terminated_s.is_none() && !self.draining && self.ready_s <= now_s
    }
}

pub struct Fleet {
    model: PerfModel,
    config: FleetConfig,
    instances: Vec<Instance>,
    invocations_this_period: u64,
    outstanding_area: f64,
    outstanding_at_s: f64,
    above_periods: u32,
    below_periods: u32,
    last_scale_out_s: f64,
    last_scale_in_s: f64,
}

impl Fleet {
    pub fn new(model: PerfModel, config: FleetConfig) -> Fleet {
        let mut fleet = Fleet {
            model,
            instances: Vec::new(),
            invocations_this_period: 0,
            outstanding_area: 0.0,
            outstanding_at_s: 0.0,
            above_periods: 0,
            below_periods: 0,
            last_scale_out_s: f64::NEG_INFINITY,
            last_scale_in_s: f64::NEG_INFINITY,
            config,
        };
        for _ in 0..fleet.config.instances.max(1) {
            fleet.launch(0.0, 0.0);
        }
        fleet
    }

    fn launch(&mut self, now_s: f64, cold_start_s: f64) {
        self.instances.push(Instance {
            server: BatchServer::new(&self.model, Some(self.config.slots_per_instance.max(1))),
            ready_s: now_s + cold_start_s,
            launched_s: now_s,
            terminated_s: None,
            draining: false,
            next_completion_s: f64::INFINITY,
        });
    }

    fn live(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter().filter(|i| i.terminated_s.is_none())
    }

    fn total_outstanding(&self) -> usize {
        self.live().map(|i| i.server.outstanding()).sum()
    }

    fn integrate_outstanding(&mut self, now_s: f64) {
        self.outstanding_area += self.total_outstanding() as f64 * (now_s - self.outstanding_at_s);
        self.outstanding_at_s = now_s;
    }

    fn route(&self, now_s: f64, rng: &mut StdRng) -> Option<usize> {
        let serving = || {
            self.instances
                .iter()
                .enumerate()
                .filter(|(_, i)| i.serving(now_s))
        };
        match self.config.router {
            Router::LeastOutstanding => serving()
                .min_by_key(|(_, i)| i.server.outstanding())
                .map(|(k, _)| k),
            Router::Random => {
                let count = serving().count();
                if count == 0 {
                    None
                } else {
                    serving().nth(rng.random_range(0..count)).map(|(k, _)| k)
                }
            }
        }
    }

    fn admit(
        &mut self,
        now_s: f64,
        k: usize,
        id: u32,
        attempts: &mut Slab,
        rng: &mut StdRng,
    ) -> f64 {
        let attempt = attempts.get_mut(id);
        attempt.server = k as u32;
        let instance = &mut self.instances[k];
        let ttft_s = instance.server.admit(&self.model, now_s, attempt, rng);
        instance.next_completion_s = instance.server.next_completion_s();
        ttft_s
    }

    /// One autoscaling evaluation (every 60 s).
    fn evaluate(&mut self, now_s: f64) {
        self.integrate_outstanding(now_s);
        let Some(policy) = self.config.autoscaling.clone() else {
            self.invocations_this_period = 0;
            self.outstanding_area = 0.0;
            return;
        };
        let serving = self
            .instances
            .iter()
            .filter(|i| i.serving(now_s))
            .count()
            .max(1) as f64;
        let metric = match policy.metric {
            ScalingMetric::InvocationsPerInstance => self.invocations_this_period as f64 / serving,
            ScalingMetric::ConcurrencyPerInstance => self.outstanding_area / 60.0 / serving,
        };
        self.invocations_this_period = 0;
        self.outstanding_area = 0.0;
        if metric > policy.target {
            self.above_periods += 1;
        } else {
            self.above_periods = 0;
        }
        if metric < 0.9 * policy.target {
            self.below_periods += 1;
        } else {
            self.below_periods = 0;
        }
        let current = self.live().filter(|i| !i.draining).count() as u32;
        let desired = ((f64::from(current) * metric / policy.target).ceil() as u32)
            .clamp(policy.min_instances.max(1), policy.max_instances.max(1));
        if self.above_periods >= policy.scale_out_periods
            && desired > current
            && now_s - self.last_scale_out_s >= policy.scale_out_cooldown_s
        {
            for _ in current..desired {
                self.launch(now_s, self.config.cold_start_s);
            }
            self.last_scale_out_s = now_s;
            self.above_periods = 0;
        } else if self.below_periods >= policy.scale_in_periods
            && desired < current
            && now_s - self.last_scale_in_s >= policy.scale_in_cooldown_s
        {
            for _ in desired..current {
                self.retire_one(now_s);
            }
            self.last_scale_in_s = now_s;
            self.below_periods = 0;
        }
    }

    /// Retires the least busy instance: at once when idle, else after it drains.
    fn retire_one(&mut self, now_s: f64) {
        let candidate = self
            .instances
            .iter_mut()
            .filter(|i| i.terminated_s.is_none() && !i.draining)
            .min_by_key(|i| i.server.outstanding());
        if let Some(instance) = candidate {
            instance.draining = true;
            if instance.server.outstanding() == 0 {
                instance.terminated_s = Some(now_s);
            }
        }
    }

    pub fn config(&self) -> &FleetConfig {
        &self.config
    }
}

impl Endpoint for Fleet {
    fn submit(&mut self, now_s: f64, id: u32, attempts: &mut Slab, rng: &mut StdRng) -> Submit {
        let Some(k) = self.route(now_s, rng) else {
            return Submit::Refused;
        };
        self.integrate_outstanding(now_s);
        self.invocations_this_period += 1;
        if self.instances[k].server.has_free_slot() {
            Submit::Started {
                ttft_s: self.admit(now_s, k, id, attempts, rng),
            }
        } else {
            attempts.get_mut(id).server = k as u32;
            self.instances[k].server.waiting.push_back(id);
            Submit::Queued
        }
    }

    fn start_decode(&mut self, now_s: f64, id: u32, attempts: &Slab, rng: &mut StdRng) {
        let attempt = attempts.get(id);
        let instance = &mut self.instances[attempt.server as usize];
        instance
            .server
            .start_decode(&self.model, now_s, id, attempt.prompt, attempt.output, rng);
        instance.next_completion_s = instance.server.next_completion_s();
    }

    fn first_token_delay_s(&mut self, id: u32, attempts: &mut Slab) -> f64 {
        let attempt = attempts.get_mut(id);
        match self.instances.get(attempt.server as usize) {
            Some(instance) => instance.server.first_token_delay_s(attempt),
            None => 0.0,
        }
    }

    fn next_completion_s(&self) -> f64 {
        self.instances
            .iter()
            .map(|i| i.next_completion_s)
            .fold(f64::INFINITY, f64::min)
    }

    fn pop_completion(&mut self, now_s: f64) -> Option<u32> {
        let k = (0..self.instances.len()).min_by(|&a, &b| {
            self.instances[a]
                .next_completion_s
                .total_cmp(&self.instances[b].next_completion_s)
        })?;
        let instance = &mut self.instances[k];
        let id = instance.server.pop_completion(now_s);
        instance.next_completion_s = instance.server.next_completion_s();
        id
    }

    fn release(
        &mut self,
        now_s: f64,
        id: u32,
        attempts: &mut Slab,
        rng: &mut StdRng,
        admitted: &mut Vec<Admitted>,
    ) -> f64 {
        self.integrate_outstanding(now_s);
        let (k, prompt, output) = {
            let a = attempts.get(id);
            (a.server as usize, a.prompt, a.output)
        };
        self.instances[k]
            .server
            .release(&self.model, now_s, prompt, output);
        self.instances[k]
            .server
            .admit_waiting(&self.model, now_s, attempts, rng, admitted);
        let instance = &mut self.instances[k];
        instance.next_completion_s = instance.server.next_completion_s();
        if instance.draining
            && instance.server.outstanding() == 0
            && instance.terminated_s.is_none()
        {
            instance.terminated_s = Some(now_s);
        }
        prompt + output
    }

    fn tick(&mut self, now_s: f64) -> (u32, u32) {
        self.evaluate(now_s);
        let serving = self.instances.iter().filter(|i| i.serving(now_s)).count() as u32;
        let total = self.live().count() as u32;
        (serving, total)
    }

    fn tick_period_s(&self) -> Option<f64> {
        Some(60.0)
    }

    fn instance_seconds(&self, now_s: f64) -> f64 {
        self.instances
            .iter()
            .map(|i| i.terminated_s.unwrap_or(now_s).max(i.launched_s) - i.launched_s)
            .sum()
    }
}
