//! What `llmcap verify` holds a live run to: the plan's simulation of the option at the same
//! users for the same time, after the same warm-up, run with several seeds so that the spread
//! a run of that length shows is known (its 90 % interval). Pure.

use super::builder::Context;
use super::capacity::search_with_curve;
use super::error::PlanError;
use super::knee_search::KneeSearch;
use super::{monthly_requests, prepared, typed, Inputs, Typed};
use crate::sim::{ClientPolicy, Load, SimResult};

/// The live run the simulations mirror.
#[derive(Clone, Copy, Debug)]
pub struct LiveRun {
    pub users: u32,
    /// Measured seconds, after the warm-up.
    pub duration_s: f64,
    pub warmup_s: f64,
    /// SageMaker: instances behind the endpoint (always on, warm).
    pub instances: u32,
    /// Simulations, each with its own seed.
    pub runs: u32,
}

/// The simulations, and how far the profile's fit leaves a median latency uncertain at the
/// run's operating point: its 90 % band as ratios to the prediction (low, high), per figure.
pub struct Simulated {
    pub runs: Vec<SimResult>,
    /// Bedrock: the option's price a token (None for a SageMaker fleet or an unpriced model).
    pub price: Option<TokenPrice>,
    pub ttft_band: Option<(f64, f64)>,
    pub tpot_band: Option<(f64, f64)>,
}

/// The plan's knee at the live endpoint's size (Bedrock at its current quota; SageMaker with
/// the instances driven), and the interval a live search's knee should fall in: the knee each
/// of the live run's seeded simulations (its length, its warm-up) gives when searched on its
/// own, with the server as slow as the slow end of the profile's 90 % fit bands at the knee
/// (the 5th percentile of those knees) and as fast as the fast end (their 95th): every time the
/// model holds scaled by the wider of the TTFT and TPOT band ends (`PerfModel::time_scaled`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KneeEstimate {
    pub knee: u32,
    /// The 5th percentile of the live-length runs' knees with the server slowed by
    /// `slow_factor`, and the 95th with it sped up by `fast_factor`.
    pub low: u32,
    pub high: u32,
    pub slow_factor: f64,
    pub fast_factor: f64,
    /// The SLO still held at the search limit: the knee is at least this.
    pub at_limit: bool,
}

/// The option as verify sees it: its simulator, the endpoint the live run drives, and the
/// servers its requests in flight are shared among.
struct Live<'a> {
    sim: super::simulate::PeakSimulator<'a>,
    endpoint: crate::sim::EndpointSpec,
    servers: f64,
    profile: &'a crate::perf::Profile,
    limit: u32,
    price: Option<TokenPrice>,
}

/// What a Bedrock option is billed a token (standard tier, the catalog's row), for the live
/// run's spend guard.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenPrice {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// The row's model, Region, source and date.
    pub note: String,
}

impl TokenPrice {
    pub fn usd(&self, input_tokens: f64, output_tokens: f64) -> f64 {
        (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6
    }
}

fn with_option<T>(
    inputs: &Inputs,
    option: &str,
    instances: u32,
    f: impl FnOnce(&Live) -> Result<T, PlanError>,
) -> Result<T, PlanError> {
    let (scenario, workload) = prepared(inputs)?;
    let ctx = Context {
        scenario: &scenario,
        origin: inputs.origin,
        workload: &workload,
        catalog: inputs.catalog,
        hosting: inputs.hosting,
        peak_users: scenario.peak_users(),
        monthly_requests: monthly_requests(&scenario, &workload),
    };
    let names: Vec<&str> = scenario.option.iter().map(|o| o.name()).collect();
    let index = names.iter().position(|n| *n == option).ok_or_else(|| {
        PlanError::Source(format!(
            "{}: no option named `{option}`; the scenario's options: {}",
            inputs.origin,
            names.join(", ")
        ))
    })?;
    let (planned, profile) = (&scenario.option[index], &inputs.profiles[index]);
    let err = |why: String| PlanError::option(inputs.origin, option, why);
    let served = ctx.hosting.model(planned.model()).map_err(err)?;
    let (endpoint, servers, price) = match typed(&ctx, planned)? {
        Typed::Bedrock(o) => {
            let price = super::bedrock::price_row(&ctx, &o).ok().map(|row| TokenPrice {
                input_per_mtok: row.input_per_mtok,
                output_per_mtok: row.output_per_mtok,
                note: format!(
                    "{} in {}: ${}/M input, ${}/M output ({}, {})",
                    row.model_id,
                    row.region,
                    row.input_per_mtok,
                    row.output_per_mtok,
                    row.source,
                    row.date
                ),
            });
            let endpoint = super::bedrock::endpoint_at_current(&ctx, &o, profile)?;
            (endpoint, 1.0, price)
        }
        Typed::Sagemaker(o) => (
            o.fixed_fleet(instances.max(1)),
            f64::from(instances.max(1) * o.model_copies.max(1)),
            None,
        ),
        Typed::Serverless(_) => {
            return Err(err(
                "verify drives Bedrock or a SageMaker real-time endpoint; a serverless option is planned from its cold starts, not verified here".into(),
            ))
        }
    };
    f(&Live {
        sim: ctx.simulator(option, profile, served),
        endpoint,
        servers,
        profile,
        limit: ctx.search_limit(),
        price,
    })
}

/// A 90 % band as ratios to the prediction (low, high), where the profile gives one.
type Ratios = Option<(f64, f64)>;

/// The profile's 90 % bands for median TTFT and TPOT at `in_flight` requests a server, as
/// ratios to the prediction.
fn bands(
    profile: &crate::perf::Profile,
    in_flight: f64,
    prompt: f64,
    output: f64,
) -> (Ratios, Ratios) {
    let ratio = |b: Option<crate::perf::server::interval::Band>| {
        b.filter(|b| b.value > 0.0 && b.low > 0.0 && b.high.is_finite())
            .map(|b| (b.low / b.value, b.high / b.value))
    };
    match profile.model.predict(in_flight.max(1.0), prompt, output) {
        Ok(p) => (ratio(p.ttft_p50_band), ratio(p.tpot_p50_band)),
        Err(_) => (None, None),
    }
}

/// The plan's knee for the live endpoint, with its interval (see [`KneeEstimate`]).
pub fn knee(inputs: &Inputs, option: &str, run: &LiveRun) -> Result<KneeEstimate, PlanError> {
    with_option(inputs, option, run.instances, |live| {
        let slo = &live.sim.scenario.slo;
        let (capacity, curve) = search_with_curve(live.limit, slo, |u| {
            live.sim.search_point(u, live.endpoint.clone())
        })?;
        let at_knee = curve
            .iter()
            .find(|p| p.users == capacity.knee)
            .map_or(1.0, |p| p.in_flight / live.servers);
        let w = live.sim.workload;
        let (ttft, tpot) = bands(live.profile, at_knee, w.mean_prompt(), w.mean_reply());
        let ends = [ttft, tpot].into_iter().flatten();
        let slow = ends.clone().map(|b| b.1).fold(1.0, f64::max);
        let fast = ends.map(|b| b.0).fold(1.0, f64::min);
        // The knee a live search measures: each seed's run of the live length searched on its
        // own, with the server at one end of the band.
        let measured = |k: f64| -> Result<Vec<f64>, PlanError> {
            let profile = crate::perf::Profile {
                model: live.profile.model.time_scaled(k),
                ..live.profile.clone()
            };
            let sim = super::simulate::PeakSimulator {
                profile: &profile,
                ..live.sim
            };
            (0..run.runs.max(1))
                .map(|seed| {
                    let mut search = KneeSearch::from_plan(capacity.knee);
                    while let Some(u) = search.next() {
                        let r = sim.run(&live_config(&sim, &live.endpoint, run, u, seed))?;
                        search.record(u, slo.met_by(&r));
                    }
                    Ok(f64::from(search.knee().0))
                })
                .collect()
        };
        let (mut slow_knees, mut fast_knees) = (measured(slow)?, measured(fast)?);
        let q = |v: &mut Vec<f64>, p: f64| crate::stats::quantile(v, p).unwrap_or(0.0);
        let low = q(&mut slow_knees, 0.05).floor() as u32;
        let high = q(&mut fast_knees, 0.95).ceil() as u32;
        Ok(KneeEstimate {
            knee: capacity.knee,
            low: low.min(capacity.knee),
            high: high.max(capacity.knee),
            slow_factor: slow,
            fast_factor: fast,
            at_limit: capacity.at_limit,
        })
    })
}

/// What the option bills a token (Bedrock's standard tier; `None` for a fleet, billed by the
/// instance-hour, or a model the price catalog lacks).
pub fn price(inputs: &Inputs, option: &str) -> Result<Option<TokenPrice>, PlanError> {
    with_option(inputs, option, 1, |live| Ok(live.price.clone()))
}

/// One simulation of the live run at `users`, seed `seed` of its runs.
fn live_config(
    sim: &super::simulate::PeakSimulator,
    endpoint: &crate::sim::EndpointSpec,
    run: &LiveRun,
    users: u32,
    seed: u32,
) -> crate::sim::SimConfig {
    let mut config = sim.config(users, endpoint.clone());
    config.load = Load::Users {
        users,
        duration_s: run.duration_s,
    };
    config.warmup_s = run.warmup_s;
    config.client = ClientPolicy::verify();
    config.seed = sim.scenario.seed.wrapping_add(u64::from(seed));
    config
}

/// The option's simulations at the live run's users and duration. The client sends each
/// request once, as `verify` does (a failure is recorded, not retried).
pub fn simulate(inputs: &Inputs, option: &str, run: &LiveRun) -> Result<Simulated, PlanError> {
    with_option(inputs, option, run.instances, |live| {
        let runs = (0..run.runs.max(1))
            .map(|k| {
                live.sim
                    .run(&live_config(&live.sim, &live.endpoint, run, run.users, k))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The operating point: requests in flight per server, mean prompt and reply.
        let n = runs.len().max(1) as f64;
        let in_flight = runs.iter().map(SimResult::mean_in_flight).sum::<f64>() / n / live.servers;
        let mean = |f: fn(&SimResult) -> f64| {
            runs.iter()
                .map(|r| f(r) / r.completed.max(1) as f64)
                .sum::<f64>()
                / n
        };
        let (prompt, output) = (mean(|r| r.input_tokens), mean(|r| r.output_tokens));
        let (ttft_band, tpot_band) = bands(live.profile, in_flight, prompt, output);
        Ok(Simulated {
            runs,
            price: live.price.clone(),
            ttft_band,
            tpot_band,
        })
    })
}
