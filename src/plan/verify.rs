//! What `llmcap verify` holds a live run to: the plan's simulation of the option at the same
//! users for the same time, after the same warm-up, run with several seeds so that the spread
//! a run of that length shows is known (its 90 % interval). Pure.

use super::builder::Context;
use super::error::PlanError;
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
    pub ttft_band: Option<(f64, f64)>,
    pub tpot_band: Option<(f64, f64)>,
}

/// The option's simulations at the live run's users and duration. The client sends each
/// request once, as `verify` does (a failure is recorded, not retried).
pub fn simulate(inputs: &Inputs, option: &str, run: &LiveRun) -> Result<Simulated, PlanError> {
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
    // The endpoint, and the servers the runs' requests in flight are shared among.
    let (endpoint, servers) = match typed(&ctx, planned)? {
        Typed::Bedrock(o) => (super::bedrock::endpoint_at_current(&ctx, &o, profile)?, 1.0),
        Typed::Sagemaker(o) => (
            o.fixed_fleet(run.instances.max(1)),
            f64::from(run.instances.max(1) * o.model_copies.max(1)),
        ),
        Typed::Serverless(_) => {
            return Err(err(
                "verify drives Bedrock or a SageMaker real-time endpoint; a serverless option is planned from its cold starts, not verified here".into(),
            ))
        }
    };
    let sim = ctx.simulator(option, profile, served);
    let runs = (0..run.runs.max(1))
        .map(|k| {
            let mut config = sim.config(run.users, endpoint.clone());
            config.load = Load::Users {
                users: run.users,
                duration_s: run.duration_s,
            };
            config.warmup_s = run.warmup_s;
            config.client = ClientPolicy::single_attempt();
            config.seed = scenario.seed.wrapping_add(u64::from(k));
            sim.run(&config)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The operating point: requests in flight per server, mean prompt and reply.
    let n = runs.len().max(1) as f64;
    let in_flight = runs.iter().map(|r| r.littles_law.l).sum::<f64>() / n / servers;
    let mean = |f: fn(&SimResult) -> f64| {
        runs.iter()
            .map(|r| f(r) / r.completed.max(1) as f64)
            .sum::<f64>()
            / n
    };
    let (prompt, output) = (mean(|r| r.input_tokens), mean(|r| r.output_tokens));
    let ratio = |b: Option<crate::perf::server::interval::Band>| {
        b.filter(|b| b.value > 0.0 && b.low > 0.0 && b.high.is_finite())
            .map(|b| (b.low / b.value, b.high / b.value))
    };
    let (ttft_band, tpot_band) = match profile.model.predict(in_flight.max(1.0), prompt, output) {
        Ok(p) => (ratio(p.ttft_p50_band), ratio(p.tpot_p50_band)),
        Err(_) => (None, None),
    };
    Ok(Simulated {
        runs,
        ttft_band,
        tpot_band,
    })
}
