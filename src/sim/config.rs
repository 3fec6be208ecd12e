//! What a simulation is asked to do.

use serde::{Deserialize, Serialize};

use super::client::ClientPolicy;
use super::error::SimError;
use super::metrics::Slo;
use super::sagemaker::FleetConfig;
use super::serverless::ServerlessConfig;
use crate::perf::noise::NoiseModel;
use crate::perf::PerfModel;
use crate::quota::Quota;
use crate::workload::{ArrivalProcess, WorkloadSpec};

/// How traffic is generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Load {
    /// `concurrency` clients, each sending its next request as soon as the last one ends.
    Closed { concurrency: u32, requests: u64 },
    /// Independent requests from an arrival process, sent for `duration_s`.
    Open {
        arrivals: ArrivalProcess,
        duration_s: f64,
    },
    /// Active users with think time, sessions and growing conversations, for `duration_s`.
    Users { users: u32, duration_s: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EndpointSpec {
    Bedrock {
        #[serde(default)]
        quota: Option<Quota>,
        /// Reserved when a request leaves max_tokens unset.
        model_max_tokens: f64,
        /// Tokens of every prompt read from the prompt cache (a cached system prompt, in
        /// expectation: prefix × hit rate); 0 without prompt caching.
        #[serde(default)]
        cached_prefix_tokens: f64,
    },
    SageMaker(FleetConfig),
    Serverless(ServerlessConfig),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    pub model: PerfModel,
    pub endpoint: EndpointSpec,
    pub workload: WorkloadSpec,
    pub load: Load,
    pub client: ClientPolicy,
    pub seed: u64,
    /// Off: every request gets the model's median (checks against `predict` and queueing theory).
    pub noise: bool,
    pub slo: Slo,
    /// Prompts are capped at this, less room for the reply.
    pub context_window: f64,
    /// Seconds simulated before the measured window (open loop and users): traffic runs for
    /// `warmup_s + duration_s` and every statistic covers the last `duration_s` only.
    pub warmup_s: f64,
}

impl SimConfig {
    /// Every setting in range; the error names the setting as the scenario file spells it.
    pub fn validate(&self) -> Result<(), SimError> {
        self.workload.validate()?;
        self.client.validate()?;
        if !(self.warmup_s >= 0.0 && self.warmup_s <= MAX_WARMUP_S) {
            return Err(SimError::out_of_range(
                "warmup_s",
                self.warmup_s,
                "between 0 and 86,400 s",
            ));
        }
        match &self.load {
            Load::Closed {
                concurrency,
                requests,
            } => {
                at_least_one("load.concurrency", f64::from(*concurrency))?;
                at_least_one("load.requests", *requests as f64)?;
                if *requests > MAX_REQUESTS {
                    return Err(too_many_requests("load.requests", *requests as f64));
                }
            }
            Load::Open {
                arrivals,
                duration_s,
            } => {
                arrivals.validate()?;
                positive_duration(*duration_s)?;
                self.bounded_time(*duration_s)?;
                // A trace's count is the file's; a process's is its rate over the run.
                if !matches!(arrivals, ArrivalProcess::Trace { .. }) {
                    let expected = arrivals.mean_rate_per_s() * (self.warmup_s + duration_s);
                    if expected > MAX_REQUESTS as f64 {
                        return Err(too_many_requests(
                            "expected requests (rate × (warm-up + duration))",
                            expected,
                        ));
                    }
                }
            }
            Load::Users { users, duration_s } => {
                at_least_one("load.users", f64::from(*users))?;
                positive_duration(*duration_s)?;
                if *users > MAX_USERS {
                    return Err(SimError::TooLarge {
                        field: "load.users",
                        value: users.to_string(),
                        limit: format!("{MAX_USERS} users"),
                        why: USERS_WHY,
                    });
                }
                self.bounded_time(*duration_s)?;
                let expected = f64::from(*users)
                    * self.workload.behaviour().max_rate_per_s().unwrap_or(0.0)
                    * (self.warmup_s + duration_s);
                if expected > MAX_REQUESTS as f64 {
                    return Err(too_many_requests(
                        "expected requests (users × their rate × (warm-up + duration))",
                        expected,
                    ));
                }
            }
        }
        match &self.endpoint {
            EndpointSpec::Bedrock {
                quota,
                model_max_tokens,
                cached_prefix_tokens,
            } => {
                at_least_one("endpoint.model_max_tokens", *model_max_tokens)?;
                if !(*cached_prefix_tokens >= 0.0 && cached_prefix_tokens.is_finite()) {
                    return Err(SimError::out_of_range(
                        "endpoint.cached_prefix_tokens",
                        *cached_prefix_tokens,
                        "a finite number ≥ 0",
                    ));
                }
                if let Some(Err((field, value))) = quota.as_ref().map(Quota::check) {
                    return Err(SimError::out_of_range(
                        match field {
                            "tpm" => "endpoint.quota.tpm",
                            "rpm" => "endpoint.quota.rpm",
                            "tpd" => "endpoint.quota.tpd",
                            "output_burndown" => "endpoint.quota.output_burndown",
                            "headroom" => "endpoint.quota.headroom",
                            "input_tpm" => "endpoint.quota.input_tpm",
                            _ => "endpoint.quota.output_tpm",
                        },
                        value,
                        "a finite number > 0",
                    ));
                }
            }
            EndpointSpec::SageMaker(fleet) => {
                // A fleet that may scale to zero may also start at zero.
                let to_zero = fleet
                    .autoscaling
                    .as_ref()
                    .is_some_and(|a| a.min_instances == 0);
                if !(to_zero && fleet.instances == 0) {
                    within(
                        "endpoint.instances",
                        f64::from(fleet.instances),
                        MAX_INSTANCES,
                    )?;
                }
                within(
                    "endpoint.slots_per_instance",
                    f64::from(fleet.slots_per_instance),
                    crate::bounds::MAX_CONCURRENCY,
                )?;
                if let Some(a) = &fleet.autoscaling {
                    within(
                        "endpoint.autoscaling.max_instances",
                        f64::from(a.max_instances),
                        MAX_INSTANCES,
                    )?;
                    if !(a.target.is_finite()) {
                        return Err(SimError::out_of_range(
                            "endpoint.autoscaling.target",
                            a.target,
                            "a finite number > 0",
                        ));
                    }
                }
                if let Some(a) = &fleet.autoscaling {
                    if a.min_instances > a.max_instances || !(a.target > 0.0) {
                        return Err(SimError::Autoscaling {
                            min: a.min_instances,
                            max: a.max_instances,
                            target: a.target,
                        });
                    }
                }
            }
            EndpointSpec::Serverless(s) => {
                if !(1..=200).contains(&s.max_concurrency) {
                    return Err(SimError::out_of_range(
                        "endpoint.max_concurrency",
                        f64::from(s.max_concurrency),
                        "1–200 (SageMaker Serverless)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The model as the run uses it: noise removed when `noise` is off.
    pub fn effective_model(&self) -> PerfModel {
        let mut model = self.model.clone();
        if !self.noise {
            let quiet = NoiseModel {
                sigma0: 0.0,
                sigma_per_request: 0.0,
                spike_probability: 0.0,
                spike_factor: 1.0,
                source: "noise off".into(),
            };
            model.tpot_noise = quiet.clone();
            model.ttft_noise = quiet;
        }
        model
    }
}

/// A day of warm-up is already far more than any queue needs to fill.
const MAX_WARMUP_S: f64 = 86_400.0;

/// The most requests one simulation sends. Memory does not grow with requests (latencies go
/// into fixed-size histograms, counts into one row per simulated minute), but time does: the
/// engine simulates on the order of a million requests per wall-clock second, so this is a
/// couple of minutes of work. Percentiles settle long before; ask a bigger question as several
/// shorter runs.
pub const MAX_REQUESTS: u64 = 100_000_000;

/// The most users one simulation keeps. Each holds a conversation, a pending event and, while
/// waiting for a reply, a request slot: about 150 bytes, so 500,000 users stay under 100 MB.
pub const MAX_USERS: u32 = 500_000;

/// The longest simulated span (warm-up + duration). The per-minute series is the one part of
/// a run that grows with simulated time: 90 days is 129,600 rows, about 35 MB with the copy
/// exported at the end.
pub const MAX_SIMULATED_S: f64 = 90.0 * 86_400.0;

const REQUESTS_WHY: &str = "memory stays flat in requests but run time does not (about a \
    million simulated requests per second); simulate a shorter window or fewer requests";
const USERS_WHY: &str = "each user keeps about 150 bytes of state, so the limit keeps a run \
    under 100 MB; simulate a sample of the users and scale the load";
const TIME_WHY: &str = "the per-minute series grows with simulated time; simulate a \
    representative window (a peak hour or day) instead";

fn too_many_requests(field: &'static str, value: f64) -> SimError {
    SimError::TooLarge {
        field,
        value: format!("{value:.4e}"),
        limit: format!("{MAX_REQUESTS} requests"),
        why: REQUESTS_WHY,
    }
}

impl SimConfig {
    /// Open loops and users: warm-up + duration within [`MAX_SIMULATED_S`].
    fn bounded_time(&self, duration_s: f64) -> Result<(), SimError> {
        let span = self.warmup_s + duration_s;
        if span > MAX_SIMULATED_S {
            return Err(SimError::TooLarge {
                field: "warm-up + load.duration_s",
                value: format!("{span} s"),
                limit: format!("{MAX_SIMULATED_S} s (90 days)"),
                why: TIME_WHY,
            });
        }
        Ok(())
    }
}

fn positive_duration(duration_s: f64) -> Result<(), SimError> {
    if duration_s.is_finite() && duration_s > 0.0 {
        Ok(())
    } else {
        Err(SimError::out_of_range(
            "load.duration_s",
            duration_s,
            "a finite number of seconds > 0",
        ))
    }
}

/// The most instances one simulated fleet holds: far past SageMaker's default per-type quotas
/// (a handful to a few dozen), and a bound on the fleet's per-instance state.
pub const MAX_INSTANCES: f64 = 1_000.0;

/// `1 ≤ value ≤ most`.
fn within(field: &'static str, value: f64, most: f64) -> Result<(), SimError> {
    at_least_one(field, value)?;
    if value > most {
        return Err(SimError::TooLarge {
            field,
            value: value.to_string(),
            limit: crate::format::thousands(most),
            why: "past any endpoint llmcap plans (see src/bounds.rs and sim/config.rs)",
        });
    }
    Ok(())
}

fn at_least_one(field: &'static str, value: f64) -> Result<(), SimError> {
    if value >= 1.0 {
        Ok(())
    } else {
        Err(SimError::out_of_range(field, value, "≥ 1"))
    }
}
