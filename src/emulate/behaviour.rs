//! How the emulated endpoint behaves: latency from the profile at the live concurrency, Bedrock
//! quotas through `crate::quota::bucket` (the simulator's own arithmetic; bedrock-runtime's and
//! bedrock-mantle's quotas kept apart, as the service keeps them), and injected faults.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::errors::{AwsError, Service};
use super::meter::Meter;
use super::prompt::Prompt;
use super::prompt_cache::CacheUse;
use crate::perf::PerfModel;
use crate::quota::bucket::{
    Ask, MantleLimits, QuotaLimits, QuotaState, Reservation, ThrottleReason, Used,
};

/// A `--fault` the emulator cannot apply; each message quotes the flag and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("--fault {spec}: expected NAME=VALUE, e.g. error=0.05")]
    Shape { spec: String },
    #[error("--fault {spec}: `{value}` is not a non-negative number")]
    NotANumber { spec: String, value: String },
    #[error("--fault {spec}: a probability is between 0 and 1")]
    NotAProbability { spec: String },
    #[error(
        "--fault {name}: unknown; use error, drop, stream-throttle, spike, cold-start or not-ready"
    )]
    Unknown { name: String },
}

/// Faults to inject, each a probability per request unless noted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Answer 503 ServiceUnavailable instead of serving.
    pub error_rate: f64,
    /// Break the connection half-way through the stream.
    pub drop_rate: f64,
    /// Send a throttlingException inside the stream half-way through.
    pub stream_throttle_rate: f64,
    /// Multiply TTFT by `spike_factor`.
    pub spike_rate: f64,
    pub spike_factor: f64,
    /// Extra seconds on the first request's TTFT (a cold model).
    pub cold_start_s: f64,
    /// For this many seconds after start, answer ModelNotReadyException.
    pub not_ready_s: f64,
}

impl Faults {
    /// `error=0.05`, `drop=0.02`, `stream-throttle=0.1`, `spike=0.01:5`, `cold-start=3`,
    /// `not-ready=10`.
    pub fn apply(&mut self, spec: &str) -> Result<(), FaultError> {
        let (name, value) = spec.split_once('=').ok_or_else(|| FaultError::Shape {
            spec: spec.to_string(),
        })?;
        let number = |text: &str| {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| FaultError::NotANumber {
                    spec: spec.to_string(),
                    value: text.to_string(),
                })
        };
        let probability = |text: &str| {
            number(text).and_then(|p| {
                if p <= 1.0 {
                    Ok(p)
                } else {
                    Err(FaultError::NotAProbability {
                        spec: spec.to_string(),
                    })
                }
            })
        };
        match name {
            "error" => self.error_rate = probability(value)?,
            "drop" => self.drop_rate = probability(value)?,
            "stream-throttle" => self.stream_throttle_rate = probability(value)?,
            "spike" => {
                let (p, factor) = value.split_once(':').unwrap_or((value, "5"));
                self.spike_rate = probability(p)?;
                self.spike_factor = number(factor)?;
            }
            "cold-start" => self.cold_start_s = number(value)?,
            "not-ready" => self.not_ready_s = number(value)?,
            other => {
                return Err(FaultError::Unknown {
                    name: other.to_string(),
                })
            }
        }
        Ok(())
    }
}

/// A fault that strikes inside a stream after `after_tokens` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFault {
    Drop { after_tokens: u64 },
    Throttle { after_tokens: u64 },
}

/// One admitted request: when its tokens are due, and what ends it.
#[derive(Debug)]
pub struct Generation {
    pub start: Instant,
    pub ttft: Duration,
    pub tpot: Duration,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub fault: Option<StreamFault>,
    /// This request's draw from the profile's TPOT noise (median 1).
    tpot_factor: f64,
    /// Live concurrency and quota are released when the generation is dropped.
    _slot: Slot,
}

impl Generation {
    /// When token `index` (0-based) is due if the step time stays as it was at admission
    /// (non-streaming answers and time limits).
    pub fn due(&self, index: u64) -> Instant {
        self.start + self.ttft + self.tpot * index as u32
    }

    /// The decode step now: all generating requests share one step, so a streaming request
    /// slows down or speeds up as others start and finish, as on a continuous-batching server.
    pub fn step_now(&self) -> Duration {
        let behaviour = &self._slot.behaviour;
        let n = f64::from(behaviour.in_flight().max(1));
        let held = n * (self.input_tokens as f64 + self.output_tokens as f64 / 2.0);
        Duration::from_secs_f64(
            (behaviour.model.tpot_median_s(n, held) * self.tpot_factor).max(0.0),
        )
    }

    /// Records what was actually produced, for the quota settlement.
    pub fn produced(&self, tokens: u64) {
        self._slot.produced.store(tokens as u32, Ordering::SeqCst);
    }

    /// Settles the quota now, before the answer's last frames reach the client, so a request
    /// sent the moment it has them meets the settled quota (dropping settles otherwise).
    pub fn settle(&mut self) {
        self._slot.settle();
    }
}

#[derive(Debug)]
struct Slot {
    behaviour: Arc<Behaviour>,
    /// The quota that admitted the request and what it reserved there.
    reservation: Option<(Endpoint, Reservation)>,
    input_tokens: u64,
    cache_read: u64,
    cache_write: u64,
    produced: AtomicU32,
    /// The Bedrock model id the invocation is metered under (once; none on SageMaker) and its
    /// operation for the invocation log.
    metered: Option<(String, Option<&'static str>)>,
    start: Instant,
}

impl Slot {
    /// Settles the quota reservation (once) with what was produced so far, and meters the
    /// invocation (once).
    fn settle(&mut self) {
        if let Some((model_id, operation)) = self.metered.take() {
            self.behaviour.meter.invocation(&super::meter::Invocation {
                model_id: &model_id,
                operation,
                input: self.input_tokens.saturating_sub(self.cache_read),
                cache_read: self.cache_read,
                cache_write: self.cache_write,
                output: u64::from(self.produced.load(Ordering::SeqCst)),
                latency_ms: self.start.elapsed().as_secs_f64() * 1000.0,
            });
        }
        if let Some((endpoint, reservation)) = self.reservation.take() {
            let now = self.behaviour.now_s();
            let produced = f64::from(self.produced.load(Ordering::SeqCst));
            let mut quota = self.behaviour.quota(endpoint).lock().expect("quota lock");
            if let Some(q) = quota.as_mut() {
                q.settle(
                    now,
                    reservation,
                    &Used {
                        input: self.input_tokens as f64,
                        cache_read: self.cache_read as f64,
                        output: produced,
                    },
                );
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.behaviour.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.settle();
    }
}

/// Which of Bedrock's inference endpoints a request came to; each has its own quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// bedrock-runtime (Converse, InvokeModel): the combined tokens-per-minute quota.
    Runtime,
    /// bedrock-mantle (Chat Completions, Messages): input and output tokens per minute.
    Mantle,
}

/// Why admission refused a request, before a service words it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Refusal {
    /// The `not-ready` fault.
    NotReady,
    /// The `error` fault.
    Unavailable,
    /// A quota did not fit; `retry_after_s` is when it would (infinite: never).
    Throttled {
        reason: ThrottleReason,
        retry_after_s: f64,
    },
}

/// What a request brings to admission.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Admission<'a> {
    /// The Bedrock model id its invocation and throttles are metered under (none: SageMaker).
    pub model_id: Option<&'a str>,
    /// The bedrock-runtime operation, for the invocation log (none: not logged).
    pub operation: Option<&'static str>,
    /// The quota to admit against (`None`: SageMaker, never throttled by a quota).
    pub endpoint: Option<Endpoint>,
    /// Prompt tokens (cached ones included), cache reads, and the max_tokens reserved.
    pub ask: Ask,
    /// Of the prompt, the tokens written to the prompt cache (for the invocation log).
    pub cache_write: u64,
    /// Tokens to generate.
    pub output_tokens: u64,
    pub stream: bool,
}

#[derive(Debug)]
pub struct Behaviour {
    model: PerfModel,
    faults: Faults,
    /// Draw latency noise from the profile (off: every request at the median).
    noise: bool,
    started: Instant,
    in_flight: AtomicU32,
    served: AtomicU32,
    quota: Mutex<Option<QuotaState>>,
    mantle_quota: Mutex<Option<QuotaState>>,
    rng: Mutex<StdRng>,
    /// The CloudWatch metrics of the Bedrock traffic served.
    meter: Arc<Meter>,
}

impl Behaviour {
    pub fn new(
        model: PerfModel,
        quota: Option<QuotaLimits>,
        mantle_quota: Option<MantleLimits>,
        faults: Faults,
        noise: bool,
        seed: u64,
        meter: Arc<Meter>,
    ) -> Arc<Behaviour> {
        Arc::new(Behaviour {
            model,
            faults,
            noise,
            started: Instant::now(),
            in_flight: AtomicU32::new(0),
            served: AtomicU32::new(0),
            quota: Mutex::new(quota.map(QuotaState::new)),
            mantle_quota: Mutex::new(mantle_quota.map(QuotaState::new)),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            meter,
        })
    }

    fn now_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    fn quota(&self, endpoint: Endpoint) -> &Mutex<Option<QuotaState>> {
        match endpoint {
            Endpoint::Runtime => &self.quota,
            Endpoint::Mantle => &self.mantle_quota,
        }
    }

    /// Admits a Bedrock Runtime or SageMaker request at its estimated size
    /// (`Prompt::estimated_tokens`, `cache` of it read from or written to the prompt cache) or
    /// answers with the error the service would give; a Bedrock request is metered under
    /// `model_id`.
    pub fn admit(
        self: &Arc<Self>,
        service: Service,
        model_id: Option<&str>,
        operation: Option<&'static str>,
        prompt: &Prompt,
        cache: CacheUse,
        stream: bool,
    ) -> Result<Generation, AwsError> {
        let admission = Admission {
            model_id,
            operation,
            endpoint: (service == Service::Bedrock).then_some(Endpoint::Runtime),
            ask: Ask {
                input: prompt.estimated_tokens() as f64,
                cache_read: cache.read as f64,
                max_tokens: prompt.max_tokens as f64,
            },
            cache_write: cache.written,
            output_tokens: prompt.max_tokens,
            stream,
        };
        self.admit_with(&admission)
            .map_err(|refusal| match refusal {
                Refusal::NotReady => AwsError::not_ready(),
                Refusal::Unavailable => AwsError::unavailable(service),
                Refusal::Throttled { reason, .. } => AwsError::throttling(throttle_message(reason)),
            })
    }

    /// Admits a request against its endpoint's quota, or says why not.
    pub fn admit_with(self: &Arc<Self>, admission: &Admission<'_>) -> Result<Generation, Refusal> {
        let ask = admission.ask;
        let input_tokens = ask.input.max(0.0) as u64;
        let cache_read = ask.cache_read.max(0.0) as u64;
        let max_tokens = admission.output_tokens;
        let start = Instant::now();
        if self.now_s() < self.faults.not_ready_s {
            return Err(Refusal::NotReady);
        }
        let mut rng = self.rng.lock().expect("rng lock");
        if rng.random::<f64>() < self.faults.error_rate {
            return Err(Refusal::Unavailable);
        }
        let reservation = match admission.endpoint {
            Some(endpoint) => match self.quota(endpoint).lock().expect("quota lock").as_mut() {
                Some(quota) => {
                    let now = self.now_s();
                    match quota.try_start(now, &ask) {
                        Ok(reservation) => Some((endpoint, reservation)),
                        Err(reason) => {
                            if let Some(model_id) = admission.model_id {
                                self.meter.throttle(model_id);
                            }
                            return Err(Refusal::Throttled {
                                reason,
                                retry_after_s: quota.seconds_until_fits(now, &ask),
                            });
                        }
                    }
                }
                None => None,
            },
            None => None,
        };
        let concurrency = f64::from(self.in_flight.fetch_add(1, Ordering::SeqCst) + 1);
        let slot = Slot {
            behaviour: Arc::clone(self),
            reservation,
            input_tokens,
            cache_read,
            cache_write: admission.cache_write,
            produced: AtomicU32::new(0),
            metered: admission
                .model_id
                .map(|id| (id.to_string(), admission.operation)),
            start,
        };
        let prompt = input_tokens as f64;
        let held_context = concurrency * (prompt + max_tokens as f64 / 2.0);
        let (mut ttft_s, tpot_factor) = if self.noise {
            (
                self.model
                    .ttft_distribution(concurrency, prompt)
                    .sample(&mut *rng),
                self.model.tpot_factor(concurrency).sample(&mut *rng),
            )
        } else {
            (self.model.ttft_median_s(concurrency, prompt), 1.0)
        };
        let tpot_s = self.model.tpot_median_s(concurrency, held_context) * tpot_factor;
        if rng.random::<f64>() < self.faults.spike_rate {
            ttft_s *= self.faults.spike_factor.max(1.0);
        }
        if self.served.fetch_add(1, Ordering::SeqCst) == 0 {
            ttft_s += self.faults.cold_start_s;
        }
        let halfway = max_tokens / 2;
        let stream = admission.stream;
        let fault = if stream && rng.random::<f64>() < self.faults.drop_rate {
            Some(StreamFault::Drop {
                after_tokens: halfway,
            })
        } else if stream && rng.random::<f64>() < self.faults.stream_throttle_rate {
            Some(StreamFault::Throttle {
                after_tokens: halfway,
            })
        } else {
            None
        };
        Ok(Generation {
            start,
            ttft: Duration::from_secs_f64(ttft_s.max(0.0)),
            tpot: Duration::from_secs_f64(tpot_s.max(0.0)),
            input_tokens,
            output_tokens: max_tokens,
            fault,
            tpot_factor,
            _slot: slot,
        })
    }
}

pub fn throttle_message(reason: ThrottleReason) -> &'static str {
    match reason {
        ThrottleReason::TokensPerMinute => {
            "Too many tokens, please wait before trying again. (tokens per minute quota)"
        }
        ThrottleReason::RequestsPerMinute => {
            "Too many requests, please wait before trying again. (requests per minute quota)"
        }
        ThrottleReason::TokensPerDay => "Too many tokens per day, please wait before trying again.",
        ThrottleReason::InputTokensPerMinute => {
            "Too many input tokens, please wait before trying again. (input tokens per minute quota)"
        }
        ThrottleReason::OutputTokensPerMinute => {
            "Too many output tokens, please wait before trying again. (output tokens per minute quota)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs_parse_and_bad_ones_say_why() {
        let mut faults = Faults::default();
        faults.apply("error=0.05").unwrap();
        faults.apply("spike=0.01:8").unwrap();
        faults.apply("not-ready=2").unwrap();
        assert_eq!(faults.error_rate, 0.05);
        assert_eq!((faults.spike_rate, faults.spike_factor), (0.01, 8.0));
        assert_eq!(faults.not_ready_s, 2.0);
        let message = |spec: &str| faults.clone().apply(spec).unwrap_err().to_string();
        assert_eq!(
            message("error=2"),
            "--fault error=2: a probability is between 0 and 1"
        );
        assert_eq!(
            message("drop=lots"),
            "--fault drop=lots: `lots` is not a non-negative number"
        );
        assert!(message("boom=1").starts_with("--fault boom: unknown"));
        assert!(message("error").contains("NAME=VALUE"));
    }
}
