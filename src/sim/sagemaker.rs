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
    /// The servers keep the KV of prompt prefixes they have computed and reuse it (vLLM's
    /// automatic prefix caching, SGLang's radix cache, TGI 3, llama-server's `cache_prompt`,
    /// all on by default): a request's cacheable prefix (the workload's `cached_prefix`) is
    /// not prefilled again.
    #[serde(default)]
    pub prefix_cache: bool,
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
}

impl Instance {
    fn serving(&self, now_s: f64) -> bool {
        self.terminated_s.is_none() && !self.draining && self.ready_s <= now_s
    }
}

pub struct Fleet {
    model: PerfModel,
    config: FleetConfig,
    /// Every instance launched, terminated ones included (they are billed to their end).
    instances: Vec<Instance>,
    /// Indices of the instances not yet terminated, in launch order: what routing, scaling and
    /// the next completion look at, so a long run's retired instances cost nothing per event.
    active: Vec<usize>,
    /// The next completion of each instance in `active`, at the same position: a compact row
    /// the soonest is searched in when the one holding it moves later.
    due: Vec<f64>,
    /// Each instance's position in `active` (`usize::MAX` once terminated).
    position: Vec<usize>,
    /// The earliest (next completion, instance index) over `active`.
    soonest: (f64, usize),
    /// Requests admitted or waiting, over every instance.
    outstanding: usize,
    invocations_this_period: u64,
    /// Requests refused this minute because no instance was serving (a fleet scaled to zero,
    /// or all still starting): what SageMaker's NoCapacityInvocationFailures metric counts.
    no_capacity_this_period: u64,
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
            active: Vec::new(),
            due: Vec::new(),
            position: Vec::new(),
            soonest: (f64::INFINITY, usize::MAX),
            outstanding: 0,
            invocations_this_period: 0,
            no_capacity_this_period: 0,
            outstanding_area: 0.0,
            outstanding_at_s: 0.0,
            above_periods: 0,
            below_periods: 0,
            last_scale_out_s: f64::NEG_INFINITY,
            last_scale_in_s: f64::NEG_INFINITY,
            config,
        };
        // Only a fleet that may scale to zero (inference components) starts with none.
        let initial = match &fleet.config.autoscaling {
            Some(a) if a.min_instances == 0 => fleet.config.instances,
            _ => fleet.config.instances.max(1),
        };
        for _ in 0..initial {
            fleet.launch(0.0, 0.0);
        }
        fleet
    }

    fn launch(&mut self, now_s: f64, cold_start_s: f64) {
        self.position.push(self.active.len());
        self.active.push(self.instances.len());
        self.due.push(f64::INFINITY);
        self.instances.push(Instance {
            server: BatchServer::new(&self.model, Some(self.config.slots_per_instance.max(1))),
            ready_s: now_s + cold_start_s,
            launched_s: now_s,
            terminated_s: None,
            draining: false,
        });
    }

    fn live(&self) -> impl Iterator<Item = &Instance> {
        self.active.iter().map(|&k| &self.instances[k])
    }

    fn integrate_outstanding(&mut self, now_s: f64) {
        self.outstanding_area += self.outstanding as f64 * (now_s - self.outstanding_at_s);
        self.outstanding_at_s = now_s;
    }

    /// Instance `k`'s next completion changed: records it and keeps `soonest` the earliest
    /// (ties to the lower index).
    fn refresh(&mut self, k: usize) {
        let t = self.instances[k].server.next_completion_s();
        self.due[self.position[k]] = t;
        let earlier = |a: (f64, usize), b: (f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if earlier((t, k), self.soonest).is_le() {
            self.soonest = (t, k);
        } else if self.soonest.1 == k {
            self.soonest = self.scan();
        }
    }

    /// The earliest (next completion, instance index) over `active`, by a pass over `due`
    /// (positions follow launch order, so the first of equal times is the lowest index).
    fn scan(&self) -> (f64, usize) {
        let mut best = (f64::INFINITY, usize::MAX);
        for (i, &t) in self.due.iter().enumerate() {
            if t < best.0 {
                best = (t, i);
            }
        }
        match best.1 {
            usize::MAX => (f64::INFINITY, usize::MAX),
            i => (best.0, self.active[i]),
        }
    }

    /// Instance `k` is done: billed to `now_s`, out of routing and of the completion search.
    fn terminate(&mut self, k: usize, now_s: f64) {
        self.instances[k].terminated_s = Some(now_s);
        let at = self.position[k];
        self.active.remove(at);
        self.due.remove(at);
        self.position[k] = usize::MAX;
        for &j in &self.active[at..] {
            self.position[j] -= 1;
        }
        if self.soonest.1 == k {
            self.soonest = self.scan();
        }
    }

    fn route(&self, now_s: f64, rng: &mut StdRng) -> Option<usize> {
        let serving = || {
            self.active
                .iter()
                .map(|&k| (k, &self.instances[k]))
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
        self.refresh(k);
        ttft_s
    }

    /// One autoscaling evaluation (every 60 s).
    fn evaluate(&mut self, now_s: f64) {
        self.integrate_outstanding(now_s);
        let no_capacity = std::mem::take(&mut self.no_capacity_this_period);
        let Some(policy) = self.config.autoscaling.clone() else {
            self.invocations_this_period = 0;
            self.outstanding_area = 0.0;
            return;
        };
        if self.live().all(|i| i.draining) {
            // Scaled to zero: target tracking has nothing to measure. The step-scaling
            // policy on the NoCapacityInvocationFailures alarm adds one instance after a
            // minute with refused requests (SageMaker Developer Guide, "Scale an endpoint to
            // zero instances"); requests fail until it has started.
            self.invocations_this_period = 0;
            self.outstanding_area = 0.0;
            if no_capacity > 0 && policy.max_instances > 0 {
                self.launch(now_s, self.config.cold_start_s);
                self.last_scale_out_s = now_s;
                self.above_periods = 0;
            }
            return;
        }
        let serving = self.live().filter(|i| i.serving(now_s)).count().max(1) as f64;
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
            .clamp(policy.min_instances, policy.max_instances.max(1));
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
            .active
            .iter()
            .copied()
            .filter(|&k| !self.instances[k].draining)
            .min_by_key(|&k| self.instances[k].server.outstanding());
        if let Some(k) = candidate {
            self.instances[k].draining = true;
            if self.instances[k].server.outstanding() == 0 {
                self.terminate(k, now_s);
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
            self.no_capacity_this_period += 1;
            return Submit::Refused;
        };
        self.integrate_outstanding(now_s);
        self.invocations_this_period += 1;
        self.outstanding += 1;
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
        self.refresh(attempt.server as usize);
    }

    fn first_token_delay_s(&mut self, id: u32, attempts: &mut Slab) -> f64 {
        let attempt = attempts.get_mut(id);
        match self.instances.get(attempt.server as usize) {
            Some(instance) => instance.server.first_token_delay_s(attempt),
            None => 0.0,
        }
    }

    fn next_completion_s(&self) -> f64 {
        self.soonest.0
    }

    fn pop_completion(&mut self, now_s: f64) -> Option<u32> {
        let k = self.soonest.1;
        let id = self.instances.get_mut(k)?.server.pop_completion(now_s);
        self.refresh(k);
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
        let before = self.instances[k].server.outstanding();
        self.instances[k]
            .server
            .release(&self.model, now_s, prompt, output);
        self.instances[k]
            .server
            .admit_waiting(&self.model, now_s, attempts, rng, admitted);
        self.outstanding = self.outstanding + self.instances[k].server.outstanding() - before;
        self.refresh(k);
        let instance = &self.instances[k];
        if instance.draining
            && instance.server.outstanding() == 0
            && instance.terminated_s.is_none()
        {
            self.terminate(k, now_s);
        }
        prompt + output
    }

    fn tick(&mut self, now_s: f64) -> (u32, u32) {
        self.evaluate(now_s);
        let serving = self.live().filter(|i| i.serving(now_s)).count() as u32;
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

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::perf::Profile;
    use crate::sim::request::Attempt;

    /// The fleet's running bookkeeping (the soonest completion, requests outstanding) against
    /// a scan of every instance, through random traffic that launches and retires instances.
    #[test]
    fn running_bookkeeping_matches_a_scan_of_every_instance() {
        let profile = Profile::from_toml_str(include_str!(
            "../../models/sagemaker-llama3-3-70b-nim-h100.toml"
        ))
        .expect("built-in profile");
        let mut fleet = Fleet::new(
            profile.model,
            FleetConfig {
                instance_type: "test".into(),
                instances: 3,
                slots_per_instance: 4,
                router: Router::Random,
                cold_start_s: 30.0,
                invocation_timeout_s: 60.0,
                autoscaling: Some(Autoscaling {
                    metric: ScalingMetric::ConcurrencyPerInstance,
                    target: 3.0,
                    min_instances: 1,
                    max_instances: 8,
                    scale_out_periods: 1,
                    scale_in_periods: 1,
                    scale_out_cooldown_s: 0.0,
                    scale_in_cooldown_s: 0.0,
                }),
                prefix_cache: false,
            },
        );
        let mut rng = StdRng::seed_from_u64(7);
        let mut attempts = Slab::default();
        let mut prefilling: Vec<u32> = Vec::new();
        let mut admitted = Vec::new();
        let (mut now, mut next_tick) = (0.0_f64, 60.0_f64);
        let (mut launched_most, mut completions) = (0, 0);
        for _ in 0..20_000 {
            // A busy phase, then a quiet one, so the fleet scales out and back in.
            let busy = ((now / 900.0) as u64).is_multiple_of(2);
            let step = rng.random_range(0.0..if busy { 0.5 } else { 20.0 });
            let at = (now + step).min(next_tick);
            if fleet.next_completion_s() <= at {
                now = fleet.next_completion_s();
                let id = fleet.pop_completion(now).expect("a completion is due");
                fleet.release(now, id, &mut attempts, &mut rng, &mut admitted);
                attempts.remove(id);
                completions += 1;
            } else if at == next_tick {
                now = at;
                fleet.tick(now);
                next_tick += 60.0;
            } else {
                now = at;
                match rng.random_range(0..4) {
                    0 | 1 => {
                        let id = attempts.insert(Attempt {
                            prompt: rng.random_range(100.0..4_000.0),
                            output: rng.random_range(2.0..400.0),
                            ..Attempt::default()
                        });
                        match fleet.submit(now, id, &mut attempts, &mut rng) {
                            Submit::Started { .. } => prefilling.push(id),
                            Submit::Queued => {
                                // Now and then a client gives up while it waits.
                                if rng.random_bool(0.1) {
                                    attempts.get_mut(id).abandoned = true;
                                }
                            }
                            Submit::Refused => attempts.remove(id),
                        }
                    }
                    _ if !prefilling.is_empty() => {
                        let id = prefilling.swap_remove(rng.random_range(0..prefilling.len()));
                        fleet.start_decode(now, id, &attempts, &mut rng);
                    }
                    _ => {}
                }
            }
            for a in admitted.drain(..) {
                if a.ttft_s.is_nan() {
                    attempts.remove(a.id);
                } else {
                    prefilling.push(a.id);
                }
            }
            let scan = fleet
                .instances
                .iter()
                .enumerate()
                .filter(|(_, i)| i.terminated_s.is_none())
                .map(|(k, i)| (i.server.next_completion_s(), k))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let soonest = scan.map_or(f64::INFINITY, |s| s.0);
            assert_eq!(fleet.next_completion_s(), soonest);
            if soonest.is_finite() {
                assert_eq!(Some(fleet.soonest.1), scan.map(|s| s.1));
            }
            let outstanding: usize = fleet
                .instances
                .iter()
                .filter(|i| i.terminated_s.is_none())
                .map(|i| i.server.outstanding())
                .sum();
            assert_eq!(fleet.outstanding, outstanding);
            launched_most = launched_most.max(fleet.instances.len());
        }
        // The walk did what it is for: instances came and went, and requests finished.
        let retired = fleet
            .instances
            .iter()
            .filter(|i| i.terminated_s.is_some())
            .count();
        assert!(
            launched_most > 3 && retired > 0,
            "{launched_most} {retired}"
        );
        assert!(completions > 1_000, "{completions}");
    }
}
