//! The simulations a plan runs: a peak hour of active users (after a warm-up, users starting in
//! their steady phase) and, for autoscaled fleets, a workday of open arrivals.

use super::error::PlanError;
use super::scenario::Scenario;
use super::types::MinuteTpm;
use crate::perf::Profile;
use crate::sim::{ClientPolicy, EndpointSpec, Load, SimConfig, SimResult, Slo};
use crate::workload::arrivals::{ArrivalProcess, MAX_PEAK_FACTOR};
use crate::workload::WorkloadSpec;

/// Simulated before each peak's measured window: users start in their steady phase (thinking
/// or between sessions, in proportion to the time spent in each), and the warm-up fills the
/// servers' batches and queues and lets the users who would have been waiting for a reply at
/// the start mix back in. That takes about one session gap; at least two minutes, at most 30.
pub fn peak_warmup_s(workload: &WorkloadSpec) -> f64 {
    workload.behaviour().session_gap_s.clamp(120.0, 1_800.0)
}

/// Users are searched until the SLO breaks, up to this many times the peak (a bound far above
/// any plausible peak: a knee is "at least" only there) ...
pub const SEARCH_LIMIT_FACTOR: u32 = 1_000;
/// ... and at most this many users.
pub const SEARCH_LIMIT_USERS: u32 = 1_000_000;

/// Each point of a capacity search measures at least this many requests (a p95 over fewer is
/// mostly noise): at low user counts the simulated span grows until it does.
pub const MIN_SEARCH_REQUESTS: f64 = 2_000.0;
/// ... up to a simulated week.
pub const MAX_SEARCH_SPAN_S: f64 = 604_800.0;

/// Peak minutes a quota's evidence is taken over: ten peak hours after one warm-up (the peak
/// held steady, as on ten busy days), so the p99 minute is the 594th of 600 rather than the
/// largest of the 30 in one half-hour peak, and its interval can be read.
pub const QUOTA_EVIDENCE_MINUTES: f64 = 600.0;
/// The blocks the p99 minute's interval resamples: an hour of consecutive minutes (users'
/// sessions tie neighbouring minutes together; hours apart they are nearly independent).
pub const QUOTA_BLOCK_MINUTES: usize = 60;

/// What every simulation of one scenario shares.
pub struct PeakSimulator<'a> {
    pub scenario: &'a Scenario,
    pub workload: &'a WorkloadSpec,
    pub profile: &'a Profile,
    /// The served model's context window (prompts are capped below it).
    pub context_window: f64,
    pub option: &'a str,
}

impl PeakSimulator<'_> {
    /// The peak hour at `users` active users against `endpoint`.
    pub fn config(&self, users: u32, endpoint: EndpointSpec) -> SimConfig {
        SimConfig {
            model: self.profile.model.clone(),
            endpoint,
            workload: self.workload.clone(),
            load: Load::Users {
                users,
                duration_s: self.scenario.peak_duration_s,
            },
            client: ClientPolicy::default(),
            seed: self.scenario.seed,
            noise: true,
            slo: Slo {
                ttft_s: self.scenario.slo.ttft_p95_s,
                tpot_s: self.scenario.slo.tpot_p95_s,
            },
            context_window: self.context_window,
            warmup_s: peak_warmup_s(self.workload),
        }
    }

    pub fn peak(&self, users: u32, endpoint: EndpointSpec) -> Result<SimResult, PlanError> {
        self.run(&self.config(users, endpoint))
    }

    /// The peak at `users` held for at least [`QUOTA_EVIDENCE_MINUTES`]: the quota evidence.
    pub fn quota_peak(&self, users: u32, endpoint: EndpointSpec) -> Result<SimResult, PlanError> {
        let mut config = self.config(users, endpoint);
        if let Load::Users { duration_s, .. } = &mut config.load {
            *duration_s = duration_s.max(QUOTA_EVIDENCE_MINUTES * 60.0);
        }
        self.run(&config)
    }

    /// One point of a capacity search: the peak at `users`, measured for long enough to hold
    /// `MIN_SEARCH_REQUESTS` requests at the workload's steady rate per user.
    pub fn search_point(&self, users: u32, endpoint: EndpointSpec) -> Result<SimResult, PlanError> {
        let b = self.workload.behaviour();
        let m = b.turns_per_session;
        let cycle = b.session_gap_s + (m - 1.0).max(0.0) * b.think_time_s;
        let per_user_s = if cycle > 0.0 {
            m / cycle
        } else {
            f64::INFINITY
        };
        let needed_s = MIN_SEARCH_REQUESTS / (f64::from(users.max(1)) * per_user_s);
        let mut config = self.config(users, endpoint);
        if let Load::Users { duration_s, .. } = &mut config.load {
            *duration_s = duration_s.max(needed_s.min(MAX_SEARCH_SPAN_S));
        }
        self.run(&config)
    }

    /// One simulated workday of open arrivals: the month's volume spread over its workdays, with
    /// the day's peak at the simulated peak hour's rate (a diurnal curve peaking mid-afternoon).
    pub fn workday(
        &self,
        peak: &SimResult,
        monthly_requests: f64,
        endpoint: EndpointSpec,
    ) -> Result<SimResult, PlanError> {
        let mean_rate = (monthly_requests / self.scenario.workdays_per_month / 86_400.0).max(1e-9);
        let peak_rate = peak.requests as f64 / peak.duration_s.max(1.0);
        let mut config = self.config(1, endpoint);
        config.warmup_s = 0.0;
        // The workload's own daily curve (its zones mixed, in UTC) where it has one.
        if let Some(daily) = &self.workload.daily {
            let per_day = mean_rate * 86_400.0;
            config.load = Load::Open {
                arrivals: ArrivalProcess::Hourly {
                    rates_per_s: daily.utc().iter().map(|s| per_day * s / 3_600.0).collect(),
                },
                duration_s: 86_400.0,
            };
            return self.run(&config);
        }
        config.load = Load::Open {
            arrivals: ArrivalProcess::Diurnal {
                mean_rate_per_s: mean_rate,
                // The peak hour's rate comes from the workload's think times, the mean from the
                // scenario's sessions a day; a daily curve peaks at most 15× its mean.
                peak_factor: (peak_rate / mean_rate).clamp(1.0, MAX_PEAK_FACTOR),
                period_s: 86_400.0,
                peak_at_s: 14.0 * 3_600.0,
            },
            duration_s: 86_400.0,
        };
        self.run(&config)
    }

    pub fn run(&self, config: &SimConfig) -> Result<SimResult, PlanError> {
        crate::sim::run(config).map_err(|e| PlanError::Simulation {
            option: self.option.to_string(),
            why: e.to_string(),
        })
    }
}

/// The measured minutes of a peak (the drain after sending stopped is left out).
pub fn minutes_of(result: &SimResult) -> Vec<MinuteTpm> {
    let n = ((result.duration_s / 60.0).ceil() as usize).min(result.minutes.len());
    result.minutes[..n]
        .iter()
        .map(|m| MinuteTpm {
            minute: m.minute,
            tpm_reserved: m.tpm_reserved,
            tpm_charged: m.tpm_charged,
            rpm: m.rpm,
            input_tpm_reserved: m.input_tpm_reserved,
            output_tokens: m.output_tokens,
        })
        .collect()
}

pub fn requests_per_user_hour(r: &SimResult, users: u32) -> f64 {
    r.completed as f64 / f64::from(users.max(1)) / (r.duration_s / 3_600.0)
}

/// Mean input and output tokens per completed request.
pub fn mean_tokens(r: &SimResult) -> (f64, f64) {
    let n = r.completed.max(1) as f64;
    (r.input_tokens / n, r.output_tokens / n)
}

/// Share of attempts throttled.
pub fn throttle_rate(r: &SimResult) -> f64 {
    if r.attempts > 0 {
        r.throttled as f64 / r.attempts as f64
    } else {
        0.0
    }
}
