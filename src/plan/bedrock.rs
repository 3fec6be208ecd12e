//! The Bedrock on-demand planner: users supported with and without the account's quotas, the
//! quotas the peak needs on its endpoint (asked only where the current value throttles), and
//! the month under every tier the model is sold in.

use super::borrowed::Borrowed;
use super::builder::{Context, Evidence, BUDGET_SAMPLES};
use super::capacity::{search, search_with_curve};
use super::error::PlanError;
use super::hosting::check_bedrock;
use super::quota::{QuotaCheck, QuotaEvidence, QuotaName, HEADROOM};
use super::scenario::InferenceProfile;
use super::simulate::{mean_tokens, minutes_of, throttle_rate};
use super::tiers::{on_demand_tiers, reserve, Tier, TierCost};
use super::types::{OptionKind, OptionPlan};
use crate::cost::budget::{overhead_factors, per_request_factors, realistic, Measured};
use crate::cost::catalog::BedrockPrice;
use crate::cost::money::{bedrock_on_demand, TokenVolume, HOURS_PER_MONTH};
use crate::perf::Profile;
use crate::quota::{InferenceEndpoint, MantleLimits, Quota, QuotaLimits};
use crate::sim::EndpointSpec;

/// A quota so large it never binds (for simulating one quota with the others out of the way).
const UNBOUNDED: f64 = 1e15;

pub struct BedrockOption<'a> {
    pub name: &'a str,
    pub model: &'a str,
    pub model_id: &'a str,
    pub endpoint: InferenceEndpoint,
    pub inference_profile: InferenceProfile,
    pub quota_tpm: Option<f64>,
    pub quota_rpm: Option<f64>,
    pub quota_input_tpm: Option<f64>,
    pub quota_output_tpm: Option<f64>,
    pub model_max_tokens: f64,
    pub provisioned_model_units: Option<u32>,
    pub borrowed: Option<&'a str>,
}

/// The quotas of one endpoint at the given values (absent ones out of the way).
fn quota_at(endpoint: InferenceEndpoint, values: &[(QuotaName, f64)], burndown: f64) -> Quota {
    let value = |name: QuotaName| values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    match endpoint {
        InferenceEndpoint::Runtime => Quota::Runtime(QuotaLimits {
            tpm: value(QuotaName::Tpm).unwrap_or(UNBOUNDED),
            rpm: value(QuotaName::Rpm),
            tpd: None,
            output_burndown: burndown,
            headroom: 1.0,
        }),
        InferenceEndpoint::Mantle => Quota::Mantle(MantleLimits {
            input_tpm: value(QuotaName::InputTpm).unwrap_or(UNBOUNDED),
            output_tpm: value(QuotaName::OutputTpm).unwrap_or(UNBOUNDED),
        }),
    }
}

/// The catalog row for the option: its endpoint's row where the catalog has one, else the
/// model's row (the endpoints share prices).
pub(super) fn price_row<'c>(
    ctx: &'c Context,
    o: &BedrockOption,
) -> Result<&'c BedrockPrice, String> {
    let global = o.inference_profile == InferenceProfile::Global;
    if o.endpoint == InferenceEndpoint::Mantle {
        let bare = o.model_id.trim_start_matches("bedrock_mantle/");
        if let Some(row) = ctx.catalog.bedrock.model.iter().find(|m| {
            m.endpoint == "mantle" && m.model_id == bare && m.region == ctx.scenario.region
        }) {
            return Ok(row);
        }
    }
    ctx.catalog
        .bedrock(o.model_id, &ctx.scenario.region, global)
        .map_err(|e| e.to_string())
}

/// The current quotas of the option: (name, current value) for each quota its endpoint has.
fn current_quotas(o: &BedrockOption, profile: &Profile) -> Result<Vec<(QuotaName, f64)>, String> {
    match o.endpoint {
        InferenceEndpoint::Runtime => {
            let tpm = o
                .quota_tpm
                .or_else(|| profile.limits.as_ref().and_then(|l| l.quota_tpm))
                .ok_or("no `quota_tpm`, and its profile has no default ([limits] quota_tpm); set quota_tpm to your account's Service Quotas value")?;
            let mut quotas = vec![(QuotaName::Tpm, tpm)];
            // RPM only where the scenario states one: AWS no longer enforces RPM quotas on
            // bedrock-runtime (User Guide, "Quotas for the bedrock-runtime endpoint", 2026-05).
            if let Some(rpm) = o.quota_rpm {
                quotas.push((QuotaName::Rpm, rpm));
            }
            Ok(quotas)
        }
        InferenceEndpoint::Mantle => Ok(vec![
            (
                QuotaName::InputTpm,
                o.quota_input_tpm.ok_or("no `quota_input_tpm`")?,
            ),
            (
                QuotaName::OutputTpm,
                o.quota_output_tpm.ok_or("no `quota_output_tpm`")?,
            ),
        ]),
    }
}

/// A month's tokens, with `prefix` tokens of each request's prompt cached at `hit_rate` (read
/// on a hit, written on a miss).
fn month(requests: f64, mean_in: f64, mean_out: f64, prefix: f64, hit_rate: f64) -> TokenVolume {
    let prefix = prefix.min(mean_in);
    TokenVolume {
        input_tokens: requests * (mean_in - prefix),
        output_tokens: requests * mean_out,
        cache_read_tokens: requests * prefix * hit_rate,
        cache_write_tokens: requests * prefix * (1.0 - hit_rate),
    }
}

/// How the option reaches its model (`super::invocation`): bedrock-mantle has no inference
/// profiles, so its ID is taken as given.
pub fn reached_through(
    ctx: &Context,
    name: &str,
    model: &str,
    model_id: &str,
    endpoint: InferenceEndpoint,
    declared: Option<InferenceProfile>,
) -> Result<InferenceProfile, PlanError> {
    let err = |why: String| PlanError::option(ctx.origin, name, why);
    if endpoint == InferenceEndpoint::Mantle {
        return Ok(declared.unwrap_or_default());
    }
    let served = ctx.hosting.model(model).map_err(err)?;
    check_bedrock(served, model_id).map_err(err)?;
    // A Region the catalog does not price the model in is named as such first.
    ctx.catalog
        .bedrock(model_id, &ctx.scenario.region, false)
        .map_err(|e| err(e.to_string()))?;
    super::invocation::resolve(served, model_id, &ctx.scenario.region, declared).map_err(err)
}

/// The endpoint the plan simulates the option as, at its current quotas (what `verify` drives
/// a live endpoint against).
pub fn endpoint_at_current(
    ctx: &Context,
    o: &BedrockOption,
    profile: &Profile,
) -> Result<EndpointSpec, PlanError> {
    let err = |why: String| PlanError::option(ctx.origin, o.name, why);
    let served = ctx.hosting.model(o.model).map_err(err)?;
    let current = current_quotas(o, profile).map_err(|e| err(e.to_string()))?;
    let price = price_row(ctx, o).map_err(err)?;
    let cache = prompt_cache(ctx, o, served, price);
    Ok(EndpointSpec::Bedrock {
        quota: Some(quota_at(o.endpoint, &current, served.output_burndown)),
        model_max_tokens: o.model_max_tokens,
        cached_prefix_tokens: cache.prefix * cache.hit_rate,
    })
}

pub fn plan(ctx: &Context, o: &BedrockOption, profile: &Profile) -> Result<OptionPlan, PlanError> {
    let err = |why: String| PlanError::option(ctx.origin, o.name, why);
    let served = ctx.hosting.model(o.model).map_err(err)?;
    check_bedrock(served, o.model_id).map_err(err)?;
    let borrowed = borrowed_for(o, profile).map_err(err)?;
    let current = current_quotas(o, profile).map_err(|e| err(e.to_string()))?;
    let price = price_row(ctx, o).map_err(err)?;
    let burndown = served.output_burndown;

    let system = ctx.workload.mean_system();
    let cache = prompt_cache(ctx, o, served, price);
    let (prefix, hit_rate) = (cache.prefix, cache.hit_rate);
    let cached_per_request = prefix * hit_rate;

    let sim = ctx.simulator(o.name, profile, served);
    let at = |quota: Option<Quota>| EndpointSpec::Bedrock {
        quota,
        model_max_tokens: o.model_max_tokens,
        cached_prefix_tokens: cached_per_request,
    };
    let limit = ctx.search_limit();
    let slo = &ctx.scenario.slo;
    let (capacity, curve) = search_with_curve(limit, slo, |u| sim.search_point(u, at(None)))?;
    let mut failure = None;
    let at_quota = search(limit, slo, |u| {
        sim.search_point(u, at(Some(quota_at(o.endpoint, &current, burndown))))
            .unwrap_or_else(|e| {
                failure.get_or_insert(e);
                Default::default()
            })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let users = ctx.peak_users;
    // The peak with every quota out of the way, but counted as the endpoint counts (output
    // burndown included).
    // Held for the quota evidence's ten peak hours.
    let peak = sim.quota_peak(users, at(Some(quota_at(o.endpoint, &[], burndown))))?;

    // Each quota at its current value with the others out of the way: which one is short.
    let aws_model = served.name.as_str();
    let (checks, at_current, planned) = quota_checks(&QuotaRuns {
        sim: &sim,
        at: &at,
        endpoint: o.endpoint,
        current: &current,
        burndown,
        users,
        peak: &peak,
        aws_model,
        profile: o.inference_profile,
    })?;

    // Cost: the simulated tokens (system prompt and history included) under each tier.
    let monthly_requests = ctx.monthly_requests;
    let (mean_in, mean_out) = mean_tokens(&peak);
    let volume = month(monthly_requests, mean_in, mean_out, prefix, hit_rate);
    let cached_variant = (cache.asked.is_none() && system > 0.0 && cache.cacheable(system))
        .then(|| month(monthly_requests, mean_in, mean_out, system, 0.95));
    let mut tiers = on_demand_tiers(&volume, cached_variant.as_ref(), price);
    let on_demand = tiers[0].monthly_usd;
    let reserve = reserve_tier(
        &mut tiers,
        price,
        &volume,
        &peak,
        cached_per_request,
        monthly_requests,
    );
    if let Some(tier) = provisioned_tier(ctx, o, price).map_err(err)? {
        tiers.push(tier);
    }

    // The price calculator's view: the bare message (with any retrieved context) and the reply.
    let bare_in = ctx.workload.mean_message();
    let list = bedrock_on_demand(
        &TokenVolume {
            input_tokens: monthly_requests * bare_in,
            output_tokens: monthly_requests * mean_out,
            ..TokenVolume::default()
        },
        price,
    );
    let per_request_list = list / monthly_requests.max(1.0);
    let uplift = |tokens: f64, per_mtok: f64| {
        if per_request_list > 0.0 {
            tokens * per_mtok / 1e6 / per_request_list
        } else {
            0.0
        }
    };
    // The prompt cache: the prefix read at the cache-read price on a hit and written at the
    // cache-write price on a miss, against the input price the steps above charged it at.
    let cached_prefix = prefix.min(mean_in);
    let cache_cost_per_mtok = hit_rate * price.cache_read_per_mtok.unwrap_or(price.input_per_mtok)
        + (1.0 - hit_rate) * price.cache_write_per_mtok.unwrap_or(price.input_per_mtok);
    let cache_step = if cached_prefix > 0.0 {
        uplift(cached_prefix, cache_cost_per_mtok - price.input_per_mtok)
    } else {
        0.0
    };
    let history = (mean_in - system - bare_in).max(0.0);
    // The simulated month against the list price: what every share of the month is worth in
    // uplift on list.
    let month_over_list = if list > 0.0 { on_demand / list } else { 0.0 };
    let budget = realistic(
        list,
        &per_request_factors(
            &Measured {
                system_prompt: uplift(system, price.input_per_mtok),
                history: uplift(history, price.input_per_mtok),
                prompt_cache: cache_step,
                prompt_cache_source: format!(
                    "measured in the simulation: a {}-token prefix, {:.0} % read from the cache at ${}/M tokens and the rest written at ${}/M, against ${}/M input ({}, {})",
                    crate::format::thousands(cached_prefix),
                    hit_rate * 100.0,
                    price.cache_read_per_mtok.unwrap_or(price.input_per_mtok),
                    price.cache_write_per_mtok.unwrap_or(price.input_per_mtok),
                    price.input_per_mtok,
                    price.source,
                    price.date
                ),
                billed_failures: at_current.error_rate,
                month_over_list,
                demand: Some(ctx.scenario.forecast.demand()),
            },
            overhead_factors(&ctx.overheads(mean_in, mean_out), list),
        ),
        BUDGET_SAMPLES,
        ctx.scenario.seed,
    );
    let completed_n = peak.completed.max(1) as f64;
    let max_tokens = ctx.workload.mean_max_tokens(o.model_max_tokens);
    let quota = QuotaEvidence {
        option: o.name.to_string(),
        model_id: o.model_id.to_string(),
        model: aws_model.to_string(),
        endpoint: o.endpoint,
        inference_profile: o.inference_profile,
        region: ctx.scenario.region.clone(),
        use_case: ctx.scenario.use_case.clone(),
        workload: format!(
            "{} employees, {} ({users} users); workload `{}`: {}{}",
            crate::format::thousands(f64::from(ctx.scenario.employees)),
            ctx.scenario.peak_basis(),
            ctx.workload.name,
            ctx.workload.description,
            if ctx.workload.description.is_empty() { "" } else { ". " },
        ) + &ctx.workload.describe_classes(),
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
        peak_tpm_reserved: peak.reserved_tpm_percentile(0.99),
        peak_rpm: peak.rpm_percentile(0.99),
        headroom: HEADROOM,
        mean_input_tokens: mean_in,
        mean_cached_input_tokens: cached_per_request.min(mean_in),
        mean_output_tokens: mean_out,
        max_tokens,
        mean_reservation_tokens: match o.endpoint {
            InferenceEndpoint::Runtime => mean_in + max_tokens,
            InferenceEndpoint::Mantle => (mean_in - cached_per_request).max(0.0) + max_tokens,
        },
        output_burndown: burndown,
        burndown_source: served.burndown_source.clone().unwrap_or_else(|| {
            "1 quota token per output token: AWS names no higher burndown for this model (catalog/models.toml)".into()
        }),
        share_over_25k_input: peak.completed_over_25k_input as f64 / completed_n,
        monthly_growth: ctx.scenario.monthly_growth(),
        measured: measured_beside(ctx, o.model_id, &peak),
        checks,
        throttle_rate_current: throttle_rate(&at_current),
        throttle_rate_planned: throttle_rate(&planned),
        error_rate_current: at_current.error_rate,
        error_rate_planned: planned.error_rate,
    };
    let service = format!(
        "Amazon Bedrock on-demand ({}{}), {}",
        o.endpoint.host(),
        match o.inference_profile {
            InferenceProfile::InRegion => "",
            InferenceProfile::Geographic => ", geographic cross-Region profile",
            InferenceProfile::Global => ", global cross-Region profile",
        },
        o.model_id
    );
    let mut plan = ctx.build(Evidence {
        name: o.name,
        kind: OptionKind::Bedrock,
        model: o.model,
        service,
        profile,
        capacity,
        curve,
        curve_scale: 1,
        servers_per_unit: 1,
        peak: &peak,
        monthly_usd: on_demand,
        monthly_fixed_usd: 0.0,
        budget,
        price_source: format!("{} ({})", price.source, price.date),
    });
    plan.knee_users_at_current_quota = Some(at_quota.knee);
    plan.knee_at_current_quota_at_search_limit = at_quota.at_limit;
    plan.borrowed = borrowed;
    plan.peak_minutes = minutes_of(&peak);
    plan.quota = Some(quota);
    plan.monthly_list_usd = list;
    plan.tiers = tiers;
    plan.reserve = reserve;
    plan.prompt_cache_note = cache.note;
    Ok(plan)
}

/// Why the option may use a profile that measured another model id (its `borrowed`), or the
/// refusal when it does not say.
fn borrowed_for(o: &BedrockOption, profile: &Profile) -> Result<Option<Borrowed>, String> {
    if profile.model_id != o.model_id
        && !profile.model_id.ends_with(o.model_id)
        && !o.model_id.ends_with(&profile.model_id)
    {
        let difference = format!(
            "its profile measures `{}`, not `{}`",
            profile.model_id, o.model_id
        );
        match o.borrowed {
            None => Err(format!(
                "{difference}: use a profile of this model (calibrate it, or `llmcap profile-from-ranges`), or say why it may stand in with borrowed = \"why\""
            )),
            Some(why) => Ok(Some(Borrowed::unwidened(why, vec![difference]))),
        }
    } else {
        Ok(o.borrowed.map(|why| Borrowed::unwidened(why, Vec::new())))
    }
}

/// The prompt cache as the plan applies it: the prefix asked for, what is read from the
/// cache (in expectation) and the note the plan prints.
struct CacheChoice {
    /// The prefix and hit rate asked for: [prompt_cache] (its prefix_tokens, else the
    /// classes' cached prefix, else the system prompt), or the classes' cached prefix alone at
    /// the default hit rate.
    asked: Option<(f64, f64)>,
    /// Applied (0 when the model offers no caching or the prefix is under its minimum).
    prefix: f64,
    hit_rate: f64,
    note: Option<String>,
    min_tokens: Option<f64>,
    offered: bool,
}

impl CacheChoice {
    /// Whether a prefix this long would be cached by the model.
    fn cacheable(&self, prefix: f64) -> bool {
        self.offered && self.min_tokens.is_some_and(|min| prefix >= min)
    }
}

fn prompt_cache(
    ctx: &Context,
    o: &BedrockOption,
    served: &super::hosting::ServedModel,
    price: &BedrockPrice,
) -> CacheChoice {
    let system = ctx.workload.mean_system();
    let mut choice = CacheChoice {
        asked: match &ctx.scenario.prompt_cache {
            Some(cache) => Some((
                cache
                    .prefix_tokens
                    .or(Some(ctx.workload.mean_cached_prefix()).filter(|p| *p > 0.0))
                    .unwrap_or(system),
                cache.hit_rate,
            )),
            None => Some(ctx.workload.mean_cached_prefix())
                .filter(|p| *p > 0.0)
                .map(|p| (p, super::scenario::DEFAULT_CACHE_HIT_RATE)),
        },
        prefix: 0.0,
        hit_rate: 0.0,
        note: None,
        min_tokens: served.prompt_cache_min_tokens,
        offered: price.cache_read_per_mtok.is_some(),
    };
    match choice.asked {
        Some((prefix, hit_rate)) if choice.cacheable(prefix) => {
            choice.prefix = prefix;
            choice.hit_rate = hit_rate;
            choice.note = Some(format!(
                "prompt cache: a {}-token prefix read from the cache by {:.0} % of requests and written by the rest{}",
                crate::format::thousands(prefix),
                hit_rate * 100.0,
                if ctx.scenario.prompt_cache.is_none() {
                    " (the default hit rate: set [prompt_cache] hit_rate from your traffic)"
                } else {
                    ""
                }
            ));
        }
        Some((prefix, _)) => {
            choice.note = Some(match (choice.offered, choice.min_tokens) {
                (true, Some(min)) => format!(
                    "prompt cache: not applied, the {}-token prefix is shorter than the {}-token minimum {} caches",
                    crate::format::thousands(prefix),
                    crate::format::thousands(min),
                    served.name
                ),
                _ => format!(
                    "prompt cache: not applied, {} in {} has no prompt caching in the catalogs (cache prices in pricing/bedrock.toml, prompt_cache_min_tokens in catalog/models.toml)",
                    o.model_id, ctx.scenario.region
                ),
            });
        }
        None => {}
    }
    choice
}

/// What the quota checks simulate with.
struct QuotaRuns<'a, F: Fn(Option<Quota>) -> EndpointSpec> {
    sim: &'a super::simulate::PeakSimulator<'a>,
    at: &'a F,
    endpoint: InferenceEndpoint,
    current: &'a [(QuotaName, f64)],
    burndown: f64,
    users: u32,
    /// The peak with every quota out of the way.
    peak: &'a crate::sim::SimResult,
    aws_model: &'a str,
    profile: InferenceProfile,
}

/// Each quota at its current value with the others out of the way (which one is short),
/// the peak at the current quotas, and at the planned ones (the asks where short).
fn quota_checks<F: Fn(Option<Quota>) -> EndpointSpec>(
    r: &QuotaRuns<'_, F>,
) -> Result<
    (
        Vec<QuotaCheck>,
        crate::sim::SimResult,
        crate::sim::SimResult,
    ),
    PlanError,
> {
    let (sim, at, peak) = (r.sim, r.at, r.peak);
    let mut checks = Vec::new();
    let mut alone_results = Vec::new();
    for &(name, value) in r.current {
        let alone = sim.peak(
            r.users,
            at(Some(quota_at(r.endpoint, &[(name, value)], r.burndown))),
        )?;
        // TPM: what admission reserves or what settlement charges (output × burndown),
        // whichever is larger: the bucket must hold the reservations, and drains by the charges.
        let (series, measure) = quota_minutes(peak, name);
        let mut sorted = series.clone();
        sorted.sort_by(f64::total_cmp);
        let minute = |q: f64| crate::stats::quantile_sorted(&sorted, q).unwrap_or(0.0);
        let p99 = minute(0.99);
        let mut check = QuotaCheck::decide(
            name,
            name.service_quota_name(r.aws_model, r.profile),
            value,
            p99,
            throttle_rate(&alone),
        );
        check.peak_p50_minute = minute(0.5);
        check.measure = measure.map(str::to_string);
        check.minutes = series.len() as u32;
        check.peak_p99_interval = crate::stats::block_bootstrap_interval(
            &series,
            0.99,
            super::simulate::QUOTA_BLOCK_MINUTES,
            400,
            u64::from(r.users),
        )
        .map_or([p99, p99], |(lo, hi)| [lo, hi]);
        checks.push(check);
        alone_results.push(alone);
    }
    let at_current = if r.current.len() == 1 {
        alone_results.swap_remove(0)
    } else {
        sim.peak(
            r.users,
            at(Some(quota_at(r.endpoint, r.current, r.burndown))),
        )?
    };
    let planned_values: Vec<(QuotaName, f64)> =
        checks.iter().map(|c| (c.quota, c.planned())).collect();
    let planned = if checks.iter().any(|c| c.short) {
        sim.peak(
            r.users,
            at(Some(quota_at(r.endpoint, &planned_values, r.burndown))),
        )?
    } else {
        at_current.clone()
    };
    Ok((checks, at_current, planned))
}

/// What `quota` counts in each measured minute of the peak. TPM: what admission reserves or what
/// settlement charges (output × burndown), whichever series has the larger p99: the bucket must
/// hold the reservations, and drains by the charges.
/// The peak's minutes as the quota counts them, and which count that is where there are two.
fn quota_minutes(
    peak: &crate::sim::SimResult,
    quota: QuotaName,
) -> (Vec<f64>, Option<&'static str>) {
    let minutes = peak.load_minutes();
    let series = |f: fn(&crate::sim::metrics::MinuteRow) -> f64| -> Vec<f64> {
        minutes.iter().map(f).collect()
    };
    match quota {
        QuotaName::Tpm => {
            let reserved = series(|m| m.tpm_reserved);
            let charged = series(|m| m.tpm_charged);
            let p99 = |v: &[f64]| crate::stats::quantile(&mut v.to_vec(), 0.99).unwrap_or(0.0);
            if p99(&reserved) >= p99(&charged) {
                (reserved, Some("reserved at admission, the larger"))
            } else {
                (charged, Some("charged at settlement, the larger"))
            }
        }
        QuotaName::Rpm => (series(|m| m.rpm as f64), None),
        QuotaName::InputTpm => (series(|m| m.input_tpm_reserved), None),
        QuotaName::OutputTpm => (series(|m| m.output_tokens), None),
    }
}

/// The Reserved tier where the model is sold in it: the peak's p99 minutes reserved, with the
/// reserve-or-not reading; pushed onto `tiers`.
fn reserve_tier(
    tiers: &mut Vec<TierCost>,
    price: &BedrockPrice,
    volume: &TokenVolume,
    peak: &crate::sim::SimResult,
    cached_per_request: f64,
    monthly_requests: f64,
) -> Option<super::tiers::ReserveDecision> {
    let completed = |m: &crate::sim::metrics::MinuteRow| m.completed as f64;
    let reserve = reserve(
        price,
        volume.input_tokens + volume.cache_write_tokens,
        volume.output_tokens,
        peak.minute_percentile(|m| m.input_tokens - cached_per_request * completed(m), 0.99),
        peak.output_tpm_percentile(0.99),
        monthly_requests,
    );
    if let Some(r) = &reserve {
        let three = match (
            price.reserved_3mo_input_per_ktpm_month,
            price.reserved_3mo_output_per_ktpm_month,
        ) {
            (Some(i), Some(o)) => Some((i, o)),
            _ => None,
        };
        let reserved = |tier: Tier, price_in: f64, price_out: f64, term: &str| {
            let monthly_usd = r.input_tpm / 1_000.0 * price_in + r.output_tpm / 1_000.0 * price_out;
            TierCost {
                tier,
                monthly_usd,
                fits_workload: true,
                note: format!(
                    "{} input and {} output TPM reserved ({}) at ${:.2} and ${:.2} per 1K TPM-month, {term}; {}",
                    crate::format::thousands(r.input_tpm),
                    crate::format::thousands(r.output_tpm),
                    reserved_basis(r),
                    price_in,
                    price_out,
                    if monthly_usd < r.standard_usd_same_tokens {
                        "pays at this volume"
                    } else {
                        "does not pay at this volume"
                    }
                ),
            }
        };
        let one_term = match three {
            Some(_) => "1-month term".to_string(),
            None => "1-month term (the 3-month term has no price in the catalog: AWS's account team quotes it; add reserved_3mo_input_per_ktpm_month and reserved_3mo_output_per_ktpm_month)".to_string(),
        };
        tiers.push(reserved(
            Tier::Reserved,
            r.price_input_per_ktpm_month,
            r.price_output_per_ktpm_month,
            &one_term,
        ));
        if let Some((i, o)) = three {
            let mut t = reserved(Tier::Reserved3Month, i, o, "billed monthly");
            t.note += &format!(
                "; the term commits three months: {} in all",
                crate::format::usd(3.0 * t.monthly_usd)
            );
            tiers.push(t);
        }
    }
    reserve
}

/// What the reservation was sized on: the peak's p99 minutes, or AWS's minimum where the peak
/// needs less.
fn reserved_basis(r: &super::tiers::ReserveDecision) -> String {
    use super::tiers::{RESERVED_MIN_INPUT_TPM, RESERVED_MIN_OUTPUT_TPM};
    let thousands = crate::format::thousands;
    let side = |needed: f64, min: f64, what: &str| {
        if needed < min {
            format!(
                "{what}: the peak's p99 minute is {}, below AWS's minimum reservation of {}, so the minimum is priced",
                thousands(needed),
                thousands(min)
            )
        } else {
            format!("{what}: the peak's p99 minute")
        }
    };
    format!(
        "{}; {}",
        side(r.needed_input_tpm, RESERVED_MIN_INPUT_TPM, "input"),
        side(r.needed_output_tpm, RESERVED_MIN_OUTPUT_TPM, "output")
    )
}

/// Provisioned Throughput at the option's model units, where it asks for them.
fn provisioned_tier(
    ctx: &Context,
    o: &BedrockOption,
    price: &BedrockPrice,
) -> Result<Option<TierCost>, String> {
    match (o.provisioned_model_units, price.provisioned_per_model_unit_hour) {
        (Some(units), Some(hourly)) => Ok(Some(TierCost {
            tier: Tier::Provisioned,
            monthly_usd: f64::from(units) * hourly * HOURS_PER_MONTH,
            fits_workload: true,
            note: format!(
                "{units} model unit(s) × ${hourly:.2} an hour × 730 h, no commitment; the throughput a unit carries is quoted by AWS, not simulated here"
            ),
        })),
        (Some(_), None) => Err(format!(
            "provisioned_model_units is set but the catalog has no provisioned_per_model_unit_hour for {} in {}; add it to pricing/bedrock.toml with its source and date",
            o.model_id, ctx.scenario.region
        )),
        _ => Ok(None),
    }
}

/// The logs' per-minute figures for this model beside the simulated peak's.
fn measured_beside(
    ctx: &Context,
    model_id: &str,
    peak: &crate::sim::SimResult,
) -> Option<super::quota::MeasuredBeside> {
    let measured = ctx.workload.measured.as_ref()?;
    let figures = super::quota::measured_for(measured, model_id)?.clone();
    let minutes = minutes_of(peak);
    let n = peak.minutes.len().min(minutes.len());
    let mut tpm: Vec<f64> = peak.minutes[..n]
        .iter()
        .map(|m| m.input_tokens + m.output_tokens)
        .collect();
    let mut rpm: Vec<f64> = peak.minutes[..n].iter().map(|m| m.rpm as f64).collect();
    let q = |v: &mut Vec<f64>, q: f64| crate::stats::quantile(v, q).unwrap_or(0.0);
    Some(super::quota::MeasuredBeside {
        source: format!(
            "{} records over {} days from {}",
            crate::format::thousands(measured.records as f64),
            (measured.days * 100.0).round() / 100.0,
            if measured.source.is_empty() {
                ctx.workload.name.as_str()
            } else {
                measured.source.as_str()
            }
        ),
        figures,
        simulated_tpm_p50: q(&mut tpm, 0.5),
        simulated_tpm_p99: q(&mut tpm, 0.99),
        simulated_tpm_max: q(&mut tpm, 1.0),
        simulated_rpm_p99: q(&mut rpm, 0.99),
    })
}
