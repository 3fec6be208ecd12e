//! The Bedrock on-demand planner: users supported with and without the account's quota, the
//! quota the peak needs (asked only where the current value throttles), and the monthly cost.

use super::builder::{Context, Evidence, BUDGET_SAMPLES};
use super::capacity::{search, search_with_curve};
use super::error::PlanError;
use super::hosting::check_bedrock;
use super::quota::{QuotaCheck, QuotaEvidence, QuotaName, HEADROOM};
use super::simulate::{mean_tokens, minutes_of, throttle_rate};
use super::types::{OptionKind, OptionPlan};
use crate::cost::budget::{realistic, seed000_factors};
use crate::cost::money::{bedrock_batch, bedrock_on_demand, TokenVolume, HOURS_PER_MONTH};
use crate::perf::Profile;
use crate::quota::QuotaLimits;
use crate::sim::EndpointSpec;

/// A quota so large it never binds (for simulating one quota with the other out of the way).
const UNBOUNDED: f64 = 1e15;

pub struct BedrockOption<'a> {
    pub name: &'a str,
    pub model: &'a str,
    pub model_id: &'a str,
    pub quota_tpm: Option<f64>,
    pub quota_rpm: Option<f64>,
    pub model_max_tokens: f64,
    pub provisioned_model_units: Option<u32>,
}

fn endpoint(quota: Option<(f64, Option<f64>)>, model_max_tokens: f64) -> EndpointSpec {
    EndpointSpec::Bedrock {
        quota: quota.map(|(tpm, rpm)| {
            QuotaLimits {
                tpm,
                rpm,
                tpd: None,
                output_burndown: 1.0,
                headroom: 1.0,
            }
            .into()
        }),
        model_max_tokens,
        cached_prefix_tokens: 0.0,
    }
}

pub fn plan(ctx: &Context, o: &BedrockOption, profile: &Profile) -> Result<OptionPlan, PlanError> {
    let err = |why: String| PlanError::option(ctx.origin, o.name, why);
    let served = ctx.hosting.model(o.model).map_err(err)?;
    check_bedrock(served, o.model_id).map_err(err)?;
    if profile.model_id != o.model_id
        && !profile.model_id.ends_with(o.model_id)
        && !o.model_id.ends_with(&profile.model_id)
    {
        return Err(err(format!(
            "its profile measures `{}`, not `{}`: use a profile of this model (calibrate it, or `llmcap profile-from-ranges`)",
            profile.model_id, o.model_id
        )));
    }
    // The scenario's quota, else the profile's default for the model.
    let defaults = profile.limits.as_ref();
    let current_tpm = o
        .quota_tpm
        .or_else(|| defaults.and_then(|l| l.quota_tpm))
        .ok_or_else(|| {
            err("no `quota_tpm`, and its profile has no default ([limits] quota_tpm); set quota_tpm to your account's Service Quotas value".into())
        })?;
    let current_rpm = o.quota_rpm.or_else(|| defaults.and_then(|l| l.quota_rpm));
    let price = ctx
        .catalog
        .bedrock(o.model_id, &ctx.scenario.region, false)
        .map_err(|e| err(e.to_string()))?;
    let sim = ctx.simulator(o.name, profile, served);
    let at = |quota: Option<(f64, Option<f64>)>| endpoint(quota, o.model_max_tokens);
    let limit = ctx.search_limit();
    let slo = &ctx.scenario.slo;
    let (capacity, curve) = search_with_curve(limit, slo, |u| sim.search_point(u, at(None)))?;
    let mut failure = None;
    let at_quota = search(limit, slo, |u| {
        sim.search_point(u, at(Some((current_tpm, current_rpm))))
            .unwrap_or_else(|e| {
                failure.get_or_insert(e);
                Default::default()
            })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let users = ctx.peak_users;
    let peak = sim.peak(users, at(None))?;

    // Each quota at its current value with the other out of the way: which one is short.
    let tpm_only = sim.peak(users, at(Some((current_tpm, None))))?;
    let tpm = QuotaCheck::decide(
        QuotaName::Tpm,
        current_tpm,
        peak.reserved_tpm_percentile(0.99),
        throttle_rate(&tpm_only),
    );
    let rpm = match current_rpm {
        Some(rpm_now) => {
            let rpm_only = sim.peak(users, at(Some((UNBOUNDED, Some(rpm_now)))))?;
            Some(QuotaCheck::decide(
                QuotaName::Rpm,
                rpm_now,
                peak.rpm_percentile(0.99),
                throttle_rate(&rpm_only),
            ))
        }
        None => None,
    };
    let current = match current_rpm {
        Some(_) => sim.peak(users, at(Some((current_tpm, current_rpm))))?,
        None => tpm_only,
    };
    let any_short = tpm.short || rpm.as_ref().is_some_and(|r| r.short);
    let planned_quota = (tpm.planned(), rpm.as_ref().map(QuotaCheck::planned));
    let planned = if any_short {
        sim.peak(users, at(Some(planned_quota)))?
    } else {
        current.clone()
    };

    // Cost: the simulated tokens (system prompt and history included) at on-demand prices.
    let monthly_requests = ctx.monthly_requests;
    let (mean_in, mean_out) = mean_tokens(&peak);
    let volume = |input: f64, output: f64| TokenVolume {
        input_tokens: monthly_requests * input,
        output_tokens: monthly_requests * output,
        ..TokenVolume::default()
    };
    let on_demand = bedrock_on_demand(&volume(mean_in, mean_out), price);
    let batch = bedrock_batch(&volume(mean_in, mean_out), price);
    let system = ctx.workload.system_prompt_tokens;
    let cached = price.cache_read_per_mtok.map(|_| {
        bedrock_on_demand(
            &TokenVolume {
                input_tokens: monthly_requests * (mean_in - system).max(0.0),
                output_tokens: monthly_requests * mean_out,
                cache_read_tokens: monthly_requests * system,
                cache_write_tokens: 0.0,
            },
            price,
        )
    });
    // The price calculator's view: the bare message and the reply.
    let bare_in = ctx.workload.prompt.mean();
    let list = bedrock_on_demand(&volume(bare_in, mean_out), price);
    let per_request_list = list / monthly_requests.max(1.0);
    let uplift = |tokens: f64| {
        if per_request_list > 0.0 {
            tokens * price.input_per_mtok / 1e6 / per_request_list
        } else {
            0.0
        }
    };
    let history = (mean_in - system - bare_in).max(0.0);
    let budget = realistic(
        list,
        &seed000_factors(uplift(system), uplift(history)),
        BUDGET_SAMPLES,
        ctx.scenario.seed,
    );
    let provisioned = match (o.provisioned_model_units, price.provisioned_per_model_unit_hour) {
        (Some(units), Some(hourly)) => Some(f64::from(units) * hourly * HOURS_PER_MONTH),
        (Some(_), None) => {
            return Err(err(format!(
                "provisioned_model_units is set but the catalog has no provisioned_per_model_unit_hour for {} in {}; add it to pricing/bedrock.toml with its source and date",
                o.model_id, ctx.scenario.region
            )))
        }
        _ => None,
    };
    let quota = QuotaEvidence {
        option: o.name.to_string(),
        model_id: o.model_id.to_string(),
        region: ctx.scenario.region.clone(),
        use_case: ctx.scenario.use_case.clone(),
        workload: format!(
            "{} employees, {:.0} % active in the peak hour ({users} users); workload `{}`: {}",
            crate::format::thousands(f64::from(ctx.scenario.employees)),
            ctx.scenario.peak_active_fraction * 100.0,
            ctx.workload.name,
            ctx.workload.description
        ),
        calibration: format!(
            "{} ({}; {})",
            profile.provenance.source, profile.provenance.date, profile.provenance.method
        ),
        peak_users: users,
        knee_users: capacity.knee,
        knee_at_search_limit: capacity.at_limit,
        planned_users: capacity.planned,
        warmup_s: super::simulate::peak_warmup_s(ctx.workload),
        measured_minutes: minutes_of(&peak).len() as u32,
        peak_tpm_charged: peak.tpm_percentile(0.99),
        headroom: HEADROOM,
        tpm,
        rpm,
        throttle_rate_current: throttle_rate(&current),
        throttle_rate_planned: throttle_rate(&planned),
        error_rate_current: current.error_rate,
        error_rate_planned: planned.error_rate,
    };
    let mut plan = ctx.build(Evidence {
        name: o.name,
        kind: OptionKind::Bedrock,
        model: o.model,
        service: format!("Amazon Bedrock on-demand, {}", o.model_id),
        profile,
        capacity,
        curve,
        curve_scale: 1,
        peak: &peak,
        monthly_usd: on_demand,
        monthly_fixed_usd: 0.0,
        budget,
        price_source: format!("{} ({})", price.source, price.date),
    });
    plan.knee_users_at_current_quota = Some(at_quota.knee);
    plan.knee_at_current_quota_at_search_limit = at_quota.at_limit;
    plan.peak_minutes = minutes_of(&peak);
    plan.quota = Some(quota);
    plan.monthly_list_usd = list;
    plan.monthly_batch_usd = batch;
    plan.monthly_cached_prompt_usd = cached;
    plan.monthly_provisioned_usd = provisioned;
    Ok(plan)
}
