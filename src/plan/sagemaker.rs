//! The SageMaker real-time planner: what one instance holds, the instances the peak needs, and
//! the month's instance-hours (always on, or autoscaled from a simulated workday).
//!
//! An instance may hold several copies of the model (inference components), each a server with
//! its own batch slots; the simulator sees `instances × model_copies` servers behind one
//! least-outstanding-requests router.

use super::borrowed::{self, OptionHardware};
use super::builder::{Context, Evidence, BUDGET_SAMPLES};
use super::capacity::search_with_curve;
use super::error::PlanError;
use super::hosting::check_instance;
use super::scenario::{AutoscalingPolicy, Precision, SavingsPlan};
use super::staircase::FleetSteps;
use super::types::{OptionKind, OptionPlan, Scaling};
use crate::cost::budget::{overhead_factors, realistic};
use crate::cost::fleet;
use crate::perf::server::interval::Band;
use crate::perf::server::Floors;
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
    pub savings_plan: Option<&'a SavingsPlan>,
    /// The server reuses a cacheable prefix's KV (`FleetConfig::prefix_cache`).
    pub prefix_cache: bool,
    pub borrowed: Option<&'a str>,
}

impl SagemakerOption<'_> {
    /// `instances` always on, warm (what `verify` drives a live endpoint against).
    pub fn fixed_fleet(&self, instances: u32) -> EndpointSpec {
        self.fleet(instances, None, 0.0)
    }

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
            prefix_cache: self.prefix_cache,
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
    let runs = OptionHardware {
        model: served,
        hardware,
        copies: o.model_copies,
        precision: o.precision,
    };
    let mut borrowed = borrowed::check(profile, ctx.hosting, &runs, o.borrowed).map_err(err)?;
    // A borrowed profile runs no faster than this hardware's roofline allows.
    let held;
    let profile = match (&mut borrowed, borrowed::option_roofline(ctx.hosting, &runs)) {
        (Some(b), Some(roofline)) => {
            let on = format!(
                "{} × {}",
                hardware.accelerators / o.model_copies.max(1),
                hardware.accelerator
            );
            let (p, notes) = borrowed::held_to_floors(profile, &Floors::of(&roofline), &on);
            b.held_to_floors = notes;
            held = p;
            &held
        }
        _ => profile,
    };
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
    let users_per_instance = per_instance.planned;
    let peak = sim.peak(users, o.fleet(instances, None, 0.0))?;
    let (hours, basis, scaling) = match o.autoscaling {
        None => (
            fleet::always_on_hours(instances),
            format!("always on: {instances} instance(s) × 730 h"),
            None,
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
            let scaling = Scaling {
                min_instances: min,
                max_instances: max,
                peak_instances: instances,
                workday_instance_hours: day_hours,
                workday_error_rate: day.error_rate,
            };
            let basis = autoscaled_basis(
                &scaling,
                policy.target_concurrency,
                day.ttft_s.p95,
                ctx.scenario.workdays_per_month,
                slo.max_error_rate,
            );
            (
                fleet::autoscaled_hours(day_hours, ctx.scenario.workdays_per_month, min),
                basis,
                Some(scaling),
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
    let (peak_in, peak_out) = super::simulate::mean_tokens(&peak);
    let overheads = overhead_factors(&ctx.overheads(peak_in, peak_out), monthly);
    let budget = realistic(monthly, &overheads, BUDGET_SAMPLES, ctx.scenario.seed);
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
        servers_per_unit: o.model_copies,
        peak: &peak,
        monthly_usd: monthly,
        monthly_fixed_usd: fixed,
        budget,
        price_source: format!("{} ({})", price.source, price.date),
    });
    // One copy's capacity follows its decode speed: the profile's 90 % TPOT interval at the
    // knee's requests in flight per copy is how far the capacity could be off.
    let (mean_in, mean_out) = super::simulate::mean_tokens(&peak);
    let per_copy = plan.operating_point.as_ref().map_or_else(
        || peak.littles_law.l / f64::from((instances * o.model_copies).max(1)),
        |p| p.in_flight,
    );
    let widening = borrowed.as_ref().map_or(1.0, |b| b.widening);
    if let Ok(p) = profile.model.predict(per_copy.max(1.0), mean_in, mean_out) {
        if let Some(band) = p.tpot_p50_band {
            (plan.capacity_log_sigma, plan.capacity_interval) =
                capacity_spread(&band, p.extrapolated, widening, per_copy, mean_in, mean_out);
        }
    }
    plan.hosting = Some(hosting);
    plan.borrowed = borrowed;
    plan.instances = Some(instances);
    plan.instance_hours_per_month = Some(hours);
    plan.fleet_basis = Some(basis);
    // A Savings Plan commits to what runs around the clock: the whole always-on fleet, or an
    // autoscaled one's minimum.
    plan.savings_plan = o.savings_plan.map(|sp| {
        let committed = scaling.as_ref().map_or(instances, |s| s.min_instances);
        super::savings_plan::price(sp, price.usd_per_hour, committed, hours)
    });
    plan.scaling = scaling;
    // An always-on fleet grows by whole instances, each holding what the search found.
    plan.fleet_steps = o.autoscaling.is_none().then(|| FleetSteps {
        users_per_instance,
        requests_per_instance_month: f64::from(users_per_instance) * ctx.monthly_requests
            / f64::from(users.max(1)),
        usd_per_instance_month: fleet::always_on_hours(1) * price.usd_per_hour,
        min_instances: 1,
    });
    Ok(plan)
}

/// How an autoscaled fleet's hours were found; a fleet that may scale to zero says what its
/// idle hours save and what its starts cost in failed requests.
fn autoscaled_basis(
    s: &Scaling,
    target_concurrency: f64,
    ttft_p95_s: f64,
    workdays: f64,
    max_error_rate: f64,
) -> String {
    let (min, max) = (s.min_instances, s.max_instances);
    let errors = format!(
        "{:.1} % errors{}",
        s.workday_error_rate * 100.0,
        if s.workday_error_rate > max_error_rate {
            format!(", above the SLO's {:.1} %", max_error_rate * 100.0)
        } else {
            String::new()
        }
    );
    let day = format!(
        "a simulated workday ({:.1} instance-hours, {:.0}-minute instance start, p95 TTFT {ttft_p95_s:.2} s, {errors}) × {workdays} workdays",
        s.workday_instance_hours,
        INSTANCE_START_S / 60.0,
    );
    if s.to_zero() {
        format!(
            "autoscaled 0–{max} instances at {target_concurrency} requests in flight each, scaling to zero \
             (inference components with MinInstanceCount 0): {day}, nothing on the other days; while no \
             instance runs, requests fail until the NoCapacityInvocationFailures alarm has started one"
        )
    } else {
        format!(
            "autoscaled {min}–{max} instances at {target_concurrency} requests in flight each: {day} \
             + {min} instance(s) around the clock on the other days"
        )
    }
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

/// The capacity's log-spread for the forecast, from the profile's 90 % TPOT interval at the
/// knee, and what the plan says about it; no spread where the interval is not identified, is
/// an extrapolation, or is too wide to draw from.
fn capacity_spread(
    band: &Band,
    extrapolated: bool,
    widening: f64,
    per_copy: f64,
    mean_in: f64,
    mean_out: f64,
) -> (Option<f64>, Option<String>) {
    if !(band.value > 0.0 && band.high > band.value) {
        return (None, None);
    }
    let at = format!(
        "the profile's 90 % interval of p50 TPOT at the knee ({per_copy:.1} requests in flight a copy, {mean_in:.0} prompt and {mean_out:.0} output tokens)"
    );
    if !band.identified() {
        return (
            None,
            Some(format!(
                "capacity: {at} is not identified from these measurements; the forecast's default capacity spread stands"
            )),
        );
    }
    let reading = format!(
        "{at}: {:.1}–{:.1} ms around {:.1} ms",
        band.low * 1e3,
        band.high * 1e3,
        band.value * 1e3
    );
    let sigma = widening * (band.high / band.value).ln() / crate::uncertain::normal_quantile(0.95);
    let widened = if widening > 1.0 {
        format!(", widened ×{widening} for the borrowed profile")
    } else {
        String::new()
    };
    if extrapolated || sigma > 1.0 {
        let why = match (extrapolated, sigma > 1.0) {
            (true, true) => "it is an extrapolation beyond the profile's fitted range and too wide to draw from",
            (true, false) => "it is an extrapolation beyond the profile's fitted range (the interval holds inside it only)",
            _ => "it is too wide to draw from",
        };
        (
            None,
            Some(format!(
                "capacity: {reading}{widened}; {why}, so the forecast's default capacity spread stands"
            )),
        )
    } else {
        (
            Some(sigma),
            Some(format!(
                "capacity drawn from {reading} (σ = {sigma:.3} in log terms{widened})"
            )),
        )
    }
}
