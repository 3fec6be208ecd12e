//! The SageMaker Serverless planner: CPU-only containers billed per second of compute at a
//! memory size; only models whose weights fit in at most 6 GB can run there.

use super::builder::{Context, Evidence, BUDGET_SAMPLES};
use super::capacity::search_with_curve;
use super::error::PlanError;
use super::hosting::check_serverless;
use super::scenario::Precision;
use super::types::{OptionKind, OptionPlan};
use crate::cost::budget::{overhead_factors, per_request_factors, realistic, Measured};
use crate::perf::Profile;
use crate::sim::serverless::ServerlessConfig;
use crate::sim::EndpointSpec;

/// Seconds an idle serverless container is kept warm.
pub const KEEP_WARM_S: f64 = 600.0;

pub struct ServerlessOption<'a> {
    pub name: &'a str,
    pub model: &'a str,
    pub memory_mb: u32,
    pub max_concurrency: u32,
    pub cold_start_s: f64,
    pub precision: Precision,
}

pub fn plan(
    ctx: &Context,
    o: &ServerlessOption,
    profile: &Profile,
) -> Result<OptionPlan, PlanError> {
    let err = |why: String| PlanError::option(ctx.origin, o.name, why);
    let served = ctx.hosting.model(o.model).map_err(err)?;
    let hosting = check_serverless(served, o.memory_mb, o.precision).map_err(err)?;
    let region = &ctx.scenario.region;
    let price = ctx
        .catalog
        .sagemaker
        .serverless
        .iter()
        .find(|p| p.memory_mb == o.memory_mb && &p.region == region)
        .ok_or_else(|| {
            let sizes: Vec<String> = ctx
                .catalog
                .sagemaker
                .serverless
                .iter()
                .filter(|p| &p.region == region)
                .map(|p| p.memory_mb.to_string())
                .collect();
            err(format!(
                "field `memory_mb` = {} has no serverless price in {region}; use one of {} MB or add a [[serverless]] row to pricing/sagemaker.toml",
                o.memory_mb,
                sizes.join(", ")
            ))
        })?;
    let endpoint = || {
        EndpointSpec::Serverless(ServerlessConfig {
            memory_mb: o.memory_mb,
            max_concurrency: o.max_concurrency,
            cold_start_s: o.cold_start_s,
            keep_warm_s: KEEP_WARM_S,
        })
    };
    let sim = ctx.simulator(o.name, profile, served);
    let (capacity, curve) = search_with_curve(ctx.search_limit(), &ctx.scenario.slo, |u| {
        sim.search_point(u, endpoint())
    })?;
    let peak = sim.peak(ctx.peak_users, endpoint())?;
    // Serverless bills each request's compute seconds; cold starts are not billed.
    let compute_per_request = peak.serverless_compute_s / peak.completed.max(1) as f64;
    let monthly = compute_per_request * ctx.monthly_requests * price.usd_per_second;
    let (mean_in, mean_out) = super::simulate::mean_tokens(&peak);
    let budget = realistic(
        monthly,
        &per_request_factors(
            &Measured {
                system_prompt: 0.0,
                history: 0.0,
                prompt_cache: 0.0,
                prompt_cache_source: String::new(),
                billed_failures: peak.error_rate,
                month_over_list: 1.0,
                demand: Some(ctx.scenario.forecast.demand()),
            },
            overhead_factors(&ctx.overheads(mean_in, mean_out), monthly),
        ),
        BUDGET_SAMPLES,
        ctx.scenario.seed,
    );
    let mut plan = ctx.build(Evidence {
        name: o.name,
        kind: OptionKind::Serverless,
        model: o.model,
        service: format!("SageMaker Serverless, {} MB", o.memory_mb),
        profile,
        capacity,
        curve,
        curve_scale: 1,
        servers_per_unit: 1,
        peak: &peak,
        monthly_usd: monthly,
        monthly_fixed_usd: 0.0,
        budget,
        price_source: format!("{} ({})", price.source, price.date),
    });
    plan.hosting = Some(hosting);
    plan.fleet_basis = Some(format!(
        "per second of compute: {compute_per_request:.2} s per request at {} MB × ${}/s (cold starts of {} s are waited for, not billed)",
        o.memory_mb, price.usd_per_second, o.cold_start_s
    ));
    Ok(plan)
}
