//! The SageMaker real-time planner: what one instance holds, the instances the peak needs, and
//! the month's instance-hours (always on, or autoscaled from a simulated workday).
//!
//! An instance may hold several copies of the model (inference components), each a server with
//! its own batch slots; the simulator sees `instances × model_copies` servers behind one
//! least-outstanding-requests router.

use super::builder::{Context, Evidence, BUDGET_SAMPLES};
use super::capacity::search_with_curve;
use super::error::PlanError;
use super::hosting::check_instance;
use super::scenario::{AutoscalingPolicy, Precision};
use super::types::{OptionKind, OptionPlan};
use crate::cost::budget::{fleet_factors, realistic};
use crate::cost::fleet;
use crate::perf::Profile;
use crate::sim::sagemaker::{Autoscaling, FleetConfig, Router, ScalingMetric};
use crate::sim::EndpointSpec;

/// Seconds a new instance takes to serve (image pull, weights load): scale-out waits this long.
pub const INSTANCE_START_S: f64 = 300.0;

pub struct SagemakerOption<'a> {
    pub name: &'a str,
    pub model: &'a str,
    pub instance_type: &'a str,
    pub slots_per_instance: u32,
    pub model_copies: u32,
    pub precision: Precision,
    pub autoscaling: Option<&'a AutoscalingPolicy>,
}

impl SagemakerOption<'_> {
    fn fleet(
        &self,
        instances: u32,
        autoscaling: Option<Autoscaling>,
        cold_start_s: f64,
    ) -> EndpointSpec {
        EndpointSpec::SageMaker(FleetConfig {
            instance_type: self.instance_type.to_string(),
            instances: instances * self.model_copies,
            slots_per_instance: self.slots_per_instance,
            router: Router::LeastOutstanding,
            cold_start_s,
            invocation_timeout_s: 60.0,
            autoscaling,
        })
    }
}

pub fn plan(
    ctx: &Context,
    o: &SagemakerOption,
    profile: &Profile,
) -> Result<OptionPlan, PlanError> {
    let err = |why: String| PlanError::option(ctx.origin, o.name, why);
    let served = ctx.hosting.model(o.model).map_err(err)?;
    let hardware = ctx.hosting.hardware(o.instance_type).map_err(err)?;
    ctx.hosting
        .check_arithmetic(hardware, o.precision)
        .map_err(err)?;
    let hosting = check_instance(served, hardware, o.precision, o.model_copies).map_err(err)?;
    let price = ctx
        .catalog
        .instance(o.instance_type, &ctx.scenario.region)
        .map_err(|e| err(e.to_string()))?;
    let sim = ctx.simulator(o.name, profile, served);
    let slo = &ctx.scenario.slo;
    let (per_instance, curve) = search_with_curve(ctx.search_limit(), slo, |u| {
        sim.search_point(u, o.fleet(1, None, 0.0))
    })?;
    if per_instance.planned == 0 {
        return Err(err(format!(
            "one {} cannot meet the SLO even for one user (profile: {})",
            o.instance_type, profile.provenance.source
        )));
    }
    let users = ctx.peak_users;
    let instances = users.div_ceil(per_instance.planned);
    let peak = sim.peak(users, o.fleet(instances, None, 0.0))?;
    let (hours, basis) = match o.autoscaling {
        None => (
            fleet::always_on_hours(instances),
            format!("always on: {instances} instance(s) × 730 h"),
        ),
        Some(policy) => {
            let min = policy.min_instances;
            let max = policy.max_instances.unwrap_or(instances).max(min);
            let copies = o.model_copies;
            let scaling = Autoscaling {
                metric: ScalingMetric::ConcurrencyPerInstance,
                target: policy.target_concurrency / f64::from(copies),
                min_instances: min * copies,
                max_instances: max * copies,
                scale_out_periods: 3,
                scale_in_periods: 15,
                scale_out_cooldown_s: INSTANCE_START_S,
                scale_in_cooldown_s: INSTANCE_START_S,
            };
            let day = sim.workday(
                &peak,
                ctx.monthly_requests,
                o.fleet(min, Some(scaling), INSTANCE_START_S),
            )?;
            // The simulator counts servers (model copies); an instance bills for all its copies.
            let day_hours = day.instance_hours / f64::from(copies);
            (
                fleet::autoscaled_hours(day_hours, ctx.scenario.workdays_per_month, min),
                format!(
                    "autoscaled {min}–{max} instances at {} requests in flight each: a simulated workday \
                     ({day_hours:.1} instance-hours, {:.0}-minute instance start, p95 TTFT {:.2} s, {:.1} % errors) \
                     × {} workdays + {min} instance(s) around the clock on the other days",
                    policy.target_concurrency,
                    INSTANCE_START_S / 60.0,
                    day.ttft_s.p95,
                    day.error_rate * 100.0,
                    ctx.scenario.workdays_per_month,
                ),
            )
        }
    };
    let monthly = hours * price.usd_per_hour;
    let fixed = match o.autoscaling {
        None => monthly,
        Some(policy) => {
            (fleet::always_on_hours(policy.min_instances) * price.usd_per_hour).min(monthly)
        }
    };
    let budget = realistic(monthly, &fleet_factors(), BUDGET_SAMPLES, ctx.scenario.seed);
    let mut plan = ctx.build(Evidence {
        name: o.name,
        kind: OptionKind::Sagemaker,
        model: o.model,
        service: format!(
            "SageMaker real-time {}, {} model cop{} × {}",
            o.instance_type,
            o.model_copies,
            if o.model_copies == 1 { "y" } else { "ies" },
            slots_held(o.slots_per_instance, profile)
        ),
        profile,
        capacity: per_instance,
        curve,
        curve_scale: instances,
        peak: &peak,
        monthly_usd: monthly,
        monthly_fixed_usd: fixed,
        budget,
        price_source: format!("{} ({})", price.source, price.date),
    });
    // One copy's capacity follows its decode speed: the profile's 90 % TPOT interval at the
    // peak's requests in flight per copy is how far the capacity could be off.
    let per_copy = peak.littles_law.l / f64::from((instances * o.model_copies).max(1));
    let (mean_in, mean_out) = super::simulate::mean_tokens(&peak);
    if let Ok(p) = profile.model.predict(per_copy.max(1.0), mean_in, mean_out) {
        if let Some(band) = p.tpot_p50_band {
            if band.value > 0.0 && band.high > band.value {
                let sigma = (band.high / band.value).ln() / crate::uncertain::normal_quantile(0.95);
                let reading = format!(
                    "the profile's 90 % interval of p50 TPOT at {per_copy:.1} requests in flight a copy, {:.0} prompt and {:.0} output tokens: {:.1}–{:.1} ms around {:.1} ms",
                    mean_in,
                    mean_out,
                    band.low * 1e3,
                    band.high * 1e3,
                    band.value * 1e3
                );
                if p.extrapolated || sigma > 1.0 {
                    let why = match (p.extrapolated, sigma > 1.0) {
                        (true, true) => "is an extrapolation beyond the profile's fitted range and too wide to draw from",
                        (true, false) => "is an extrapolation beyond the profile's fitted range (the interval holds inside it only)",
                        _ => "is too wide to draw from",
                    };
                    plan.capacity_interval = Some(format!(
                        "capacity: {reading} {why}; the forecast's default capacity spread stands"
                    ));
                } else {
                    plan.capacity_log_sigma = Some(sigma);
                    plan.capacity_interval = Some(format!(
                        "capacity drawn from {reading} (σ = {sigma:.3} in log terms)"
                    ));
                }
            }
        }
    }
    plan.hosting = Some(hosting);
    plan.instances = Some(instances);
    plan.instance_hours_per_month = Some(hours);
    plan.fleet_basis = Some(basis);
    Ok(plan)
}

/// The slots one copy holds as the simulator runs it: the configured slots, or the profile's
/// server batch limit `B` where that is smaller (said so, since the scenario asked for more).
fn slots_held(configured: u32, profile: &Profile) -> String {
    match profile.model.server.as_ref().and_then(|s| s.max_batch) {
        Some(b) if b.floor() < f64::from(configured) => format!(
            "{:.0} slots (the profile's batch limit B; {configured} configured)",
            b.floor()
        ),
        _ => format!("{configured} slots"),
    }
}
