//! `llmcap plan`: users supported, quota needed, monthly cost, break-even and a realistic budget
//! for each option of a scenario, into a report directory.

use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::{Deserialize, Serialize};

use super::pricing::load_catalog;
use crate::cli::{PlanArgs, PlannerArgs};
use crate::cost::budget::{realistic, seed000_factors, Budget};
use crate::cost::catalog::Catalog;
use crate::cost::fleet;
use crate::cost::money::{
    bedrock_batch, bedrock_on_demand, breakeven_hours, crossover_volume, TokenVolume,
    HOURS_PER_MONTH,
};
use crate::files::{today_utc, write_atomically};
use crate::perf::Profile;
use crate::quota::capacity::{search, SloLimits};
use crate::quota::justify::{justification_markdown, tidy, QuotaEvidence, HEADROOM};
use crate::quota::QuotaLimits;
use crate::sim::sagemaker::{Autoscaling, FleetConfig, Router, ScalingMetric};
use crate::sim::serverless::ServerlessConfig;
use crate::sim::{ClientPolicy, EndpointSpec, Load, SimConfig, SimResult, Slo};
use crate::workload::arrivals::ArrivalProcess;
use crate::workload::{profiles, WorkloadSpec};

const BUILTIN_SCENARIO: &str = include_str!("../../scenarios/chat-assistant.toml");
/// Profiles the built-in scenario names, compiled in so `plan` runs from any directory.
const BUILTIN_PROFILES: [(&str, &str); 4] = [
    (
        "../models/sagemaker-serverless.toml",
        include_str!("../../models/sagemaker-serverless.toml"),
    ),
    (
        "../models/bedrock-claude-3-5-sonnet.toml",
        include_str!("../../models/bedrock-claude-3-5-sonnet.toml"),
    ),
    (
        "../models/bedrock-llama3-3-70b-instruct.toml",
        include_str!("../../models/bedrock-llama3-3-70b-instruct.toml"),
    ),
    (
        "../models/sagemaker-ml-g5-12xlarge.toml",
        include_str!("../../models/sagemaker-ml-g5-12xlarge.toml"),
    ),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanScenario {
    name: String,
    use_case: String,
    employees: u32,
    peak_active_fraction: f64,
    sessions_per_user_per_day: f64,
    workdays_per_month: f64,
    workload: String,
    region: String,
    #[serde(default)]
    slo: SloLimits,
    #[serde(default = "one")]
    seed: u64,
    #[serde(default = "half_hour")]
    peak_duration_s: f64,
    option: Vec<PlanOption>,
}

fn one() -> u64 {
    1
}
fn half_hour() -> f64 {
    1_800.0
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum PlanOption {
    Bedrock {
        name: String,
        profile: String,
        model_id: String,
        /// The account's current quota; default: the profile's `[limits]`.
        #[serde(default)]
        quota_tpm: Option<f64>,
        #[serde(default)]
        quota_rpm: Option<f64>,
        #[serde(default = "model_max")]
        model_max_tokens: f64,
        /// Bedrock Provisioned Throughput model units to price as well (no commitment).
        #[serde(default)]
        provisioned_model_units: Option<u32>,
    },
    Sagemaker {
        name: String,
        profile: String,
        instance_type: String,
        slots_per_instance: u32,
        /// Target tracking on requests in flight per instance; none: always on, sized for the peak.
        #[serde(default)]
        autoscaling: Option<PlanAutoscaling>,
    },
    /// SageMaker Serverless Inference: billed per second of compute at a memory size.
    Serverless {
        name: String,
        profile: String,
        memory_mb: u32,
        #[serde(default = "serverless_concurrency")]
        max_concurrency: u32,
        /// Seconds a new container takes (seed 000: 2-10 s).
        #[serde(default = "serverless_cold_start")]
        cold_start_s: f64,
    },
}

fn serverless_concurrency() -> u32 {
    200
}

fn serverless_cold_start() -> f64 {
    6.0
}

/// A SageMaker option's autoscaling policy (ConcurrentRequestsPerModel target tracking).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanAutoscaling {
    min_instances: u32,
    /// Default: the instances the peak needs.
    #[serde(default)]
    max_instances: Option<u32>,
    /// Requests in flight per instance to hold.
    target_concurrency: f64,
}

fn model_max() -> f64 {
    4_096.0
}

/// One simulation of the capacity search: load and what it got (the latency-vs-users chart).
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    pub users: u32,
    pub ttft_p95_s: f64,
    pub tpot_p95_s: f64,
    pub error_rate: f64,
    pub meets_slo: bool,
}

/// One simulated minute at the planned peak (the TPM-against-quota chart).
#[derive(Clone, Debug, Serialize)]
pub struct MinuteTpm {
    pub minute: u32,
    pub tpm_reserved: f64,
    pub tpm_charged: f64,
    pub rpm: u64,
}

/// Runs the capacity search and keeps every point it simulated.
fn search_with_curve(
    limit: u32,
    slo: &SloLimits,
    mut simulate: impl FnMut(u32) -> SimResult,
) -> (crate::quota::capacity::Capacity, Vec<CurvePoint>) {
    let mut curve = Vec::new();
    let capacity = search(limit, slo, |users| {
        let result = simulate(users);
        curve.push(CurvePoint {
            users,
            ttft_p95_s: result.ttft_s.p95,
            tpot_p95_s: result.tpot_s.p95,
            error_rate: result.error_rate,
            meets_slo: slo.met_by(&result),
        });
        result
    });
    curve.sort_by_key(|p| p.users);
    (capacity, curve)
}

fn minutes_of(result: &SimResult) -> Vec<MinuteTpm> {
    let n = ((result.duration_s / 60.0).ceil() as usize).min(result.minutes.len());
    result.minutes[..n]
        .iter()
        .map(|m| MinuteTpm {
            minute: m.minute,
            tpm_reserved: m.tpm_reserved,
            tpm_charged: m.tpm_charged,
            rpm: m.rpm,
        })
        .collect()
}

#[derive(Clone, Debug, Serialize)]
struct OptionPlan {
    name: String,
    kind: String,
    profile_source: String,
    /// Most peak-hour users meeting the SLO (the knee), and 60 % of it.
    knee_users: u32,
    planned_users: u32,
    /// Bedrock: the knee at the current quota. SageMaker: per instance.
    knee_users_at_current_quota: Option<u32>,
    instances: Option<u32>,
    peak_users: u32,
    peak_meets_slo: bool,
    peak_ttft_p95_s: f64,
    peak_tpot_p95_s: f64,
    quota: Option<QuotaEvidence>,
    monthly_requests: f64,
    mean_input_tokens: f64,
    mean_output_tokens: f64,
    /// Requests one active user sends per hour at the peak (simulated).
    requests_per_user_hour: f64,
    monthly_list_usd: f64,
    monthly_on_demand_usd: f64,
    monthly_batch_usd: Option<f64>,
    monthly_cached_prompt_usd: Option<f64>,
    cost_per_request_usd: f64,
    /// The part of the monthly on-demand cost that does not follow volume: all of an
    /// always-on fleet's, an autoscaled fleet's minimum instances around the clock, nothing
    /// for per-request billing. The rest scales with requests (the cost-against-volume line).
    monthly_fixed_usd: f64,
    /// SageMaker: instance-hours a month and how they were found.
    instance_hours_per_month: Option<f64>,
    fleet_basis: Option<String>,
    /// Bedrock Provisioned Throughput: model units × hourly price × 730 h, when the scenario
    /// asks and the catalog prices it.
    monthly_provisioned_usd: Option<f64>,
    budget: Budget,
    price_source: String,
    /// The capacity search's simulations, by users (SageMaker: one instance's).
    curve: Vec<CurvePoint>,
    /// Users in `curve` are multiplied by this for the whole option (SageMaker: instances).
    curve_scale: u32,
    /// TPM and RPM per simulated minute at the planned peak (Bedrock).
    peak_minutes: Vec<MinuteTpm>,
}

impl OptionPlan {
    /// Monthly cost against volume v: `fixed + per_request × v`, through this plan's point.
    fn cost_line(&self) -> (f64, f64) {
        let variable = (self.monthly_on_demand_usd - self.monthly_fixed_usd).max(0.0);
        (
            self.monthly_fixed_usd,
            variable / self.monthly_requests.max(1.0),
        )
    }
}

#[derive(Clone, Debug, Serialize)]
struct BreakEven {
    per_token: String,
    dedicated: String,
    /// Requests a month above which the dedicated fleet costs less.
    crossover_requests_per_month: Option<f64>,
    /// Hours a month of one instance's planned traffic above which it costs less.
    breakeven_hours_per_month: f64,
}

#[derive(Clone, Debug, Serialize)]
struct Plan {
    scenario: String,
    generated_on: String,
    peak_users: u32,
    monthly_requests: f64,
    slo: SloLimits,
    options: Vec<OptionPlan>,
    break_even: Vec<BreakEven>,
    elapsed_s: f64,
    assumptions: Vec<String>,
}

pub fn run(args: &PlanArgs) -> Result<()> {
    let (plan, scenario) = compute(args.scenario.as_deref(), &args.pricing)?;
    write_report(&args.out, &plan, &scenario)?;
    // Charts, report.html and report.md from the plan.json just written.
    crate::report::plan_report::write(&args.out, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print_summary(&plan, &args.out);
    }
    Ok(())
}

/// Runs every planner for a scenario (the built-in one when `path` is none).
fn compute(path: Option<&Path>, pricing: &Path) -> Result<(Plan, PlanScenario)> {
    let clock = Instant::now();
    let (text, origin, base) = match path {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read scenario {}", path.display()))?,
            path.display().to_string(),
            Some(path.parent().unwrap_or(Path::new(".")).to_path_buf()),
        ),
        None => (
            BUILTIN_SCENARIO.to_string(),
            "built-in scenario (scenarios/chat-assistant.toml)".to_string(),
            None,
        ),
    };
    let scenario: PlanScenario = toml::from_str(&text).map_err(|e| anyhow!("{origin}: {e}"))?;
    validate(&scenario, &origin)?;
    let catalog = load_catalog(pricing)?;
    let workload = profiles::by_name(&scenario.workload).ok_or_else(|| {
        anyhow!(
            "{origin}: field `workload`: unknown workload `{}`; see `llmcap workloads`",
            scenario.workload
        )
    })?;
    let peak_users = (f64::from(scenario.employees) * scenario.peak_active_fraction).ceil() as u32;
    let monthly_requests = f64::from(scenario.employees)
        * scenario.sessions_per_user_per_day
        * workload.behaviour.turns_per_session
        * scenario.workdays_per_month;
    let mut options = Vec::new();
    for option in &scenario.option {
        let profile = load_option_profile(option, base.as_deref(), &origin)?;
        options.push(plan_option(
            &scenario,
            option,
            &profile,
            &workload,
            &catalog,
            peak_users,
            monthly_requests,
            &origin,
        )?);
    }
    let break_even = break_even(&options);
    let plan = Plan {
        scenario: scenario.name.clone(),
        generated_on: today_utc(),
        peak_users,
        monthly_requests,
        slo: scenario.slo.clone(),
        options,
        break_even,
        elapsed_s: clock.elapsed().as_secs_f64(),
        assumptions: assumptions(&scenario, &workload),
    };
    Ok((plan, scenario))
}

/// One planner's view of the plan: `capacity`, `quota`, `cost`, `breakeven` or `budget`.
pub fn run_view(view: PlannerView, args: &PlannerArgs) -> Result<()> {
    let (plan, _) = compute(args.scenario.as_deref(), &args.pricing)?;
    let value = match view {
        PlannerView::Capacity => serde_json::json!(plan.options.iter().map(|o| serde_json::json!({
            "option": o.name, "knee_users": o.knee_users, "planned_users": o.planned_users,
            "knee_users_at_current_quota": o.knee_users_at_current_quota, "instances": o.instances,
            "peak_users": o.peak_users, "peak_meets_slo": o.peak_meets_slo,
            "peak_ttft_p95_s": o.peak_ttft_p95_s, "peak_tpot_p95_s": o.peak_tpot_p95_s,
        })).collect::<Vec<_>>()),
        PlannerView::Quota => serde_json::json!(plan.options.iter().filter_map(|o| o.quota.as_ref()).collect::<Vec<_>>()),
        PlannerView::Cost => serde_json::json!(plan.options.iter().map(|o| serde_json::json!({
            "option": o.name, "monthly_requests": o.monthly_requests, "monthly_on_demand_usd": o.monthly_on_demand_usd,
            "monthly_batch_usd": o.monthly_batch_usd, "monthly_cached_prompt_usd": o.monthly_cached_prompt_usd,
            "cost_per_request_usd": o.cost_per_request_usd, "monthly_fixed_usd": o.monthly_fixed_usd,
            "instances": o.instances, "instance_hours_per_month": o.instance_hours_per_month, "fleet_basis": o.fleet_basis,
            "monthly_provisioned_usd": o.monthly_provisioned_usd, "price_source": o.price_source,
        })).collect::<Vec<_>>()),
        PlannerView::Breakeven => serde_json::json!(plan.break_even),
        PlannerView::Budget => serde_json::json!(plan.options.iter().map(|o| serde_json::json!({
            "option": o.name, "budget": o.budget,
        })).collect::<Vec<_>>()),
    };
    if let (PlannerView::Quota, Some(path)) = (view, &args.justify) {
        let quota = plan
            .options
            .iter()
            .find_map(|o| o.quota.as_ref())
            .ok_or_else(|| anyhow!("the scenario has no Bedrock option to justify a quota for"))?;
        write_atomically(path, &justification_markdown(quota, &plan.generated_on))?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if let PlannerView::Budget = view {
        println!("{}: {}", plan.scenario, view.title());
        for o in &plan.options {
            print_budget(&o.name, &o.budget);
        }
    } else {
        println!("{}: {}", plan.scenario, view.title());
        print_view(&value);
    }
    Ok(())
}

fn print_budget(name: &str, b: &Budget) {
    println!(
        "{name}: list ${:.0}/month → P50 ${:.0} ({:.2}x), P90 ${:.0} ({:.2}x)",
        b.list_monthly_usd,
        b.p50_monthly_usd,
        b.multiplier_p50,
        b.p90_monthly_usd,
        b.multiplier_p90
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "factor",
        "mean $/month",
        "share of uplift",
    ]);
    for s in &b.shares {
        t.add_row(vec![
            s.factor.clone(),
            format!("{:.0}", s.usd),
            format!("{:.1} %", s.fraction_of_uplift * 100.0),
        ]);
    }
    println!("{t}");
}

/// A readable two-level listing of a planner's JSON (each option, then its fields).
fn print_view(value: &serde_json::Value) {
    for item in value.as_array().into_iter().flatten() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_header(vec!["field", "value"]);
        for (k, v) in item.as_object().into_iter().flatten() {
            let text = match v {
                serde_json::Value::Number(n) => n.as_f64().map_or(n.to_string(), |f| {
                    if f.fract() == 0.0 {
                        format!("{f:.0}")
                    } else {
                        format!("{f:.4}")
                    }
                }),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            t.add_row(vec![k.clone(), text]);
        }
        println!("{t}");
    }
}

#[derive(Clone, Copy, Debug)]
pub enum PlannerView {
    Capacity,
    Quota,
    Cost,
    Breakeven,
    Budget,
}

impl PlannerView {
    fn title(self) -> &'static str {
        match self {
            PlannerView::Capacity => "users supported (the knee) and the 60 % planning point",
            PlannerView::Quota => "quota needed at the planned peak",
            PlannerView::Cost => "monthly cost per option",
            PlannerView::Breakeven => "break-even between per-token and dedicated options",
            PlannerView::Budget => "realistic budget: list price × hidden-cost factors",
        }
    }
}

fn validate(s: &PlanScenario, origin: &str) -> Result<()> {
    let bad = |field: &str, why: &str| anyhow!("{origin}: field `{field}`: {why}");
    if s.employees == 0 {
        return Err(bad("employees", "must be ≥ 1"));
    }
    if !(s.peak_active_fraction > 0.0 && s.peak_active_fraction <= 1.0) {
        return Err(bad(
            "peak_active_fraction",
            "must be in (0, 1]: the share of employees active in the peak hour",
        ));
    }
    if !(s.sessions_per_user_per_day > 0.0) || !(s.workdays_per_month > 0.0) {
        return Err(bad(
            "sessions_per_user_per_day / workdays_per_month",
            "must be > 0",
        ));
    }
    if !(s.peak_duration_s >= 300.0) {
        return Err(bad(
            "peak_duration_s",
            "must be ≥ 300 s so that quota minutes are meaningful",
        ));
    }
    if s.option.is_empty() {
        bail!("{origin}: no [[option]]: add at least one bedrock or sagemaker option");
    }
    Ok(())
}

fn load_option_profile(option: &PlanOption, base: Option<&Path>, origin: &str) -> Result<Profile> {
    let path = match option {
        PlanOption::Bedrock { profile, .. }
        | PlanOption::Sagemaker { profile, .. }
        | PlanOption::Serverless { profile, .. } => profile,
    };
    match base {
        Some(dir) => Ok(crate::files::load_profile(&dir.join(path))?),
        None => {
            let text = BUILTIN_PROFILES
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, t)| *t)
                .ok_or_else(|| anyhow!("{origin}: profile `{path}` is not built in"))?;
            Profile::from_toml_str(text).map_err(|e| anyhow!("built-in profile {path}: {e}"))
        }
    }
}

fn sim_config(
    scenario: &PlanScenario,
    model: &Profile,
    workload: &WorkloadSpec,
    users: u32,
    endpoint: EndpointSpec,
) -> SimConfig {
    SimConfig {
        model: model.model.clone(),
        endpoint,
        workload: workload.clone(),
        load: Load::Users {
            users,
            duration_s: scenario.peak_duration_s,
        },
        client: ClientPolicy::default(),
        seed: scenario.seed,
        noise: true,
        slo: Slo {
            ttft_s: scenario.slo.ttft_p95_s,
            tpot_s: scenario.slo.tpot_p95_s,
        },
        context_window: 128_000.0,
    }
}

/// One simulated workday of open arrivals: the month's volume spread over its workdays, with
/// the day's peak at the simulated peak hour's rate (a diurnal curve peaking mid-afternoon).
fn workday_config(
    scenario: &PlanScenario,
    model: &Profile,
    workload: &WorkloadSpec,
    peak: &SimResult,
    monthly_requests: f64,
    endpoint: EndpointSpec,
) -> SimConfig {
    let mean_rate = monthly_requests / scenario.workdays_per_month / 86_400.0;
    let peak_rate = peak.requests as f64 / peak.duration_s.max(1.0);
    let mut config = sim_config(scenario, model, workload, 1, endpoint);
    config.load = Load::Open {
        arrivals: ArrivalProcess::Diurnal {
            mean_rate_per_s: mean_rate,
            peak_factor: (peak_rate / mean_rate).max(1.0),
            period_s: 86_400.0,
            peak_at_s: 14.0 * 3_600.0,
        },
        duration_s: 86_400.0,
    };
    config
}

fn run_sim(config: &SimConfig) -> SimResult {
    crate::sim::run(config).expect("plan builds valid simulations")
}

/// Users are searched up to this many times the peak, so an option far above need stops early.
const SEARCH_LIMIT_FACTOR: u32 = 4;

#[allow(clippy::too_many_arguments)]
fn plan_option(
    scenario: &PlanScenario,
    option: &PlanOption,
    profile: &Profile,
    workload: &WorkloadSpec,
    catalog: &Catalog,
    peak_users: u32,
    monthly_requests: f64,
    origin: &str,
) -> Result<OptionPlan> {
    let limit = peak_users * SEARCH_LIMIT_FACTOR;
    let slo = &scenario.slo;
    match option {
        PlanOption::Bedrock {
            name,
            model_id,
            quota_tpm,
            quota_rpm,
            model_max_tokens,
            provisioned_model_units,
            ..
        } => {
            // The scenario's quota, else the profile's default for the model.
            let defaults = profile.limits.as_ref();
            let quota_tpm = &match quota_tpm.or_else(|| defaults.and_then(|l| l.quota_tpm)) {
                Some(tpm) => tpm,
                None => bail!(
                    "{origin}: option `{name}`: no `quota_tpm`, and its profile has no default \
                     ([limits] quota_tpm); set quota_tpm to your account's Service Quotas value"
                ),
            };
            let quota_rpm = &quota_rpm.or_else(|| defaults.and_then(|l| l.quota_rpm));
            let price = catalog
                .bedrock(model_id, &scenario.region, false)
                .map_err(|e| anyhow!("{origin}: option `{name}`: {e}"))?;
            let bedrock = |quota: Option<QuotaLimits>| EndpointSpec::Bedrock {
                quota,
                model_max_tokens: *model_max_tokens,
            };
            let limits = |tpm: f64, rpm: Option<f64>| QuotaLimits {
                tpm,
                rpm,
                tpd: None,
                output_burndown: 1.0,
                headroom: 1.0,
            };
            let (service, curve) = search_with_curve(limit, slo, |u| {
                run_sim(&sim_config(scenario, profile, workload, u, bedrock(None)))
            });
            let at_quota = search(limit, slo, |u| {
                run_sim(&sim_config(
                    scenario,
                    profile,
                    workload,
                    u,
                    bedrock(Some(limits(*quota_tpm, *quota_rpm))),
                ))
            });
            let peak = run_sim(&sim_config(
                scenario,
                profile,
                workload,
                peak_users,
                bedrock(None),
            ));
            let reserved = peak.reserved_tpm_percentile(0.99);
            let requested_tpm = tidy(reserved * HEADROOM, 100_000.0).max(*quota_tpm);
            let requested_rpm =
                quota_rpm.map(|r| tidy(peak.rpm_percentile(0.99) * HEADROOM, 100.0).max(r));
            let current = run_sim(&sim_config(
                scenario,
                profile,
                workload,
                peak_users,
                bedrock(Some(limits(*quota_tpm, *quota_rpm))),
            ));
            let requested = run_sim(&sim_config(
                scenario,
                profile,
                workload,
                peak_users,
                bedrock(Some(limits(requested_tpm, requested_rpm))),
            ));
            let throttle_rate = |r: &SimResult| {
                if r.attempts > 0 {
                    r.throttled as f64 / r.attempts as f64
                } else {
                    0.0
                }
            };
            let (mean_in, mean_out) = mean_tokens(&peak);
            let volume = |input: f64, output: f64| TokenVolume {
                input_tokens: monthly_requests * input,
                output_tokens: monthly_requests * output,
                ..TokenVolume::default()
            };
            let on_demand = bedrock_on_demand(&volume(mean_in, mean_out), price);
            let batch = bedrock_batch(&volume(mean_in, mean_out), price);
            let cached = price.cache_read_per_mtok.map(|_| {
                let system = workload.system_prompt_tokens;
                bedrock_on_demand(
                    &TokenVolume {
                        input_tokens: monthly_requests * (mean_in - system),
                        output_tokens: monthly_requests * mean_out,
                        cache_read_tokens: monthly_requests * system,
                        cache_write_tokens: 0.0,
                    },
                    price,
                )
            });
            // The price calculator's view: the bare message and the reply.
            let bare_in = workload.prompt.mean();
            let list = bedrock_on_demand(&volume(bare_in, mean_out), price);
            let per_request_list = list / monthly_requests;
            let uplift = |tokens: f64| tokens * price.input_per_mtok / 1e6 / per_request_list;
            let history = (mean_in - workload.system_prompt_tokens - bare_in).max(0.0);
            let budget = realistic(
                list,
                &seed000_factors(uplift(workload.system_prompt_tokens), uplift(history)),
                20_000,
                scenario.seed,
            );
            Ok(OptionPlan {
                name: name.clone(),
                kind: "bedrock".into(),
                curve,
                curve_scale: 1,
                peak_minutes: minutes_of(&peak),
                profile_source: profile.provenance.source.clone(),
                knee_users: service.knee,
                planned_users: service.planned,
                knee_users_at_current_quota: Some(at_quota.knee),
                instances: None,
                peak_users,
                peak_meets_slo: slo.met_by(&peak),
                peak_ttft_p95_s: peak.ttft_s.p95,
                peak_tpot_p95_s: peak.tpot_s.p95,
                quota: Some(QuotaEvidence {
                    option: name.clone(),
                    model_id: model_id.clone(),
                    region: scenario.region.clone(),
                    use_case: scenario.use_case.clone(),
                    workload: format!(
                        "{} employees, {:.0} % active in the peak hour ({peak_users} users); workload `{}`: {}",
                        scenario.employees,
                        scenario.peak_active_fraction * 100.0,
                        workload.name,
                        workload.description
                    ),
                    calibration: format!("{} ({}; {})", profile.provenance.source, profile.provenance.date, profile.provenance.method),
                    planned_users: peak_users,
                    knee_users: service.knee,
                    peak_tpm_reserved: reserved,
                    peak_tpm_charged: peak.tpm_percentile(0.99),
                    peak_rpm: peak.rpm_percentile(0.99),
                    current_tpm: *quota_tpm,
                    current_rpm: *quota_rpm,
                    requested_tpm,
                    requested_rpm,
                    throttle_rate_current: throttle_rate(&current),
                    throttle_rate_requested: throttle_rate(&requested),
                    error_rate_current: current.error_rate,
                    error_rate_requested: requested.error_rate,
                }),
                monthly_requests,
                mean_input_tokens: mean_in,
                mean_output_tokens: mean_out,
                requests_per_user_hour: requests_per_user_hour(&peak, peak_users),
                monthly_list_usd: list,
                monthly_on_demand_usd: on_demand,
                monthly_batch_usd: batch,
                monthly_cached_prompt_usd: cached,
                cost_per_request_usd: on_demand / monthly_requests,
                monthly_fixed_usd: 0.0,
                instance_hours_per_month: None,
                fleet_basis: None,
                monthly_provisioned_usd: match (provisioned_model_units, price.provisioned_per_model_unit_hour) {
                    (Some(units), Some(hourly)) => Some(f64::from(*units) * hourly * HOURS_PER_MONTH),
                    (Some(_), None) => bail!(
                        "{origin}: option `{name}`: provisioned_model_units is set but the catalog \
                         has no provisioned_per_model_unit_hour for {model_id} in {}; add it to \
                         pricing/bedrock.toml with its source and date",
                        scenario.region
                    ),
                    _ => None,
                },
                budget,
                price_source: format!("{} ({})", price.source, price.date),
            })
        }
        PlanOption::Sagemaker {
            name,
            instance_type,
            slots_per_instance,
            autoscaling,
            ..
        } => {
            let price = catalog
                .instance(instance_type, &scenario.region)
                .map_err(|e| anyhow!("{origin}: option `{name}`: {e}"))?;
            let fleet = |instances: u32| {
                EndpointSpec::SageMaker(FleetConfig {
                    instance_type: instance_type.clone(),
                    instances,
                    slots_per_instance: *slots_per_instance,
                    router: Router::LeastOutstanding,
                    cold_start_s: 0.0,
                    invocation_timeout_s: 60.0,
                    autoscaling: None,
                })
            };
            let (per_instance, curve) = search_with_curve(limit, slo, |u| {
                run_sim(&sim_config(scenario, profile, workload, u, fleet(1)))
            });
            let instances = if per_instance.planned == 0 {
                bail!("{origin}: option `{name}`: one {instance_type} cannot meet the SLO even for one user")
            } else {
                peak_users.div_ceil(per_instance.planned)
            };
            let peak = run_sim(&sim_config(
                scenario,
                profile,
                workload,
                peak_users,
                fleet(instances),
            ));
            let (mean_in, mean_out) = mean_tokens(&peak);
            let (hours, basis) = match autoscaling {
                None => (
                    fleet::always_on_hours(instances),
                    format!("always on: {instances} instances × 730 h"),
                ),
                Some(policy) => {
                    let max = policy
                        .max_instances
                        .unwrap_or(instances)
                        .max(policy.min_instances);
                    let day = run_sim(&workday_config(
                        scenario,
                        profile,
                        workload,
                        &peak,
                        monthly_requests,
                        EndpointSpec::SageMaker(FleetConfig {
                            instance_type: instance_type.clone(),
                            instances: policy.min_instances.max(1),
                            slots_per_instance: *slots_per_instance,
                            router: Router::LeastOutstanding,
                            cold_start_s: 300.0,
                            invocation_timeout_s: 60.0,
                            autoscaling: Some(Autoscaling {
                                metric: ScalingMetric::ConcurrencyPerInstance,
                                target: policy.target_concurrency,
                                min_instances: policy.min_instances.max(1),
                                max_instances: max,
                                scale_out_periods: 3,
                                scale_in_periods: 15,
                                scale_out_cooldown_s: 300.0,
                                scale_in_cooldown_s: 300.0,
                            }),
                        }),
                    ));
                    (
                        fleet::autoscaled_hours(day.instance_hours, scenario.workdays_per_month, policy.min_instances.max(1)),
                        format!(
                            "autoscaled {}–{max} instances at {} requests in flight each: a simulated workday \
                             ({:.1} instance-hours, 5-minute instance start, p95 TTFT {:.2} s, {:.1} % errors) \
                             × {} workdays + {} instance(s) around the clock on the other days",
                            policy.min_instances.max(1),
                            policy.target_concurrency,
                            day.instance_hours,
                            day.ttft_s.p95,
                            day.error_rate * 100.0,
                            scenario.workdays_per_month,
                            policy.min_instances.max(1)
                        ),
                    )
                }
            };
            let monthly = hours * price.usd_per_hour;
            let fixed = match autoscaling {
                None => monthly,
                Some(policy) => (fleet::always_on_hours(policy.min_instances.max(1))
                    * price.usd_per_hour)
                    .min(monthly),
            };
            let budget = realistic(monthly, &seed000_factors(0.0, 0.0), 20_000, scenario.seed);
            Ok(OptionPlan {
                name: name.clone(),
                kind: "sagemaker".into(),
                curve,
                curve_scale: instances,
                peak_minutes: Vec::new(),
                profile_source: profile.provenance.source.clone(),
                knee_users: per_instance.knee * instances,
                planned_users: per_instance.planned * instances,
                knee_users_at_current_quota: None,
                instances: Some(instances),
                peak_users,
                peak_meets_slo: slo.met_by(&peak),
                peak_ttft_p95_s: peak.ttft_s.p95,
                peak_tpot_p95_s: peak.tpot_s.p95,
                quota: None,
                monthly_requests,
                mean_input_tokens: mean_in,
                mean_output_tokens: mean_out,
                requests_per_user_hour: requests_per_user_hour(&peak, peak_users),
                monthly_list_usd: monthly,
                monthly_on_demand_usd: monthly,
                monthly_batch_usd: None,
                monthly_cached_prompt_usd: None,
                cost_per_request_usd: monthly / monthly_requests,
                monthly_fixed_usd: fixed,
                instance_hours_per_month: Some(hours),
                fleet_basis: Some(basis),
                monthly_provisioned_usd: None,
                budget,
                price_source: format!("{} ({})", price.source, price.date),
            })
        }
        PlanOption::Serverless {
            name,
            memory_mb,
            max_concurrency,
            cold_start_s,
            ..
        } => {
            let price = catalog
                .sagemaker
                .serverless
                .iter()
                .find(|p| p.memory_mb == *memory_mb && p.region == scenario.region)
                .ok_or_else(|| {
                    let sizes: Vec<String> = catalog
                        .sagemaker
                .serverless
                        .iter()
                        .filter(|p| p.region == scenario.region)
                        .map(|p| p.memory_mb.to_string())
                        .collect();
                    anyhow!(
                        "{origin}: option `{name}`: field `memory_mb` = {memory_mb} has no serverless \
                         price in {}; use one of {} MB or add a [[serverless]] row to pricing/sagemaker.toml",
                        scenario.region,
                        sizes.join(", ")
                    )
                })?;
            let endpoint = || {
                EndpointSpec::Serverless(ServerlessConfig {
                    memory_mb: *memory_mb,
                    max_concurrency: *max_concurrency,
                    cold_start_s: *cold_start_s,
                    keep_warm_s: 600.0,
                })
            };
            let (capacity, curve) = search_with_curve(limit, slo, |u| {
                run_sim(&sim_config(scenario, profile, workload, u, endpoint()))
            });
            let peak = run_sim(&sim_config(
                scenario,
                profile,
                workload,
                peak_users,
                endpoint(),
            ));
            let (mean_in, mean_out) = mean_tokens(&peak);
            // Serverless bills each request's compute seconds; cold starts are not billed.
            let compute_per_request = peak.serverless_compute_s / peak.completed.max(1) as f64;
            let monthly = compute_per_request * monthly_requests * price.usd_per_second;
            let budget = realistic(monthly, &seed000_factors(0.0, 0.0), 20_000, scenario.seed);
            Ok(OptionPlan {
                name: name.clone(),
                kind: "serverless".into(),
                curve,
                curve_scale: 1,
                peak_minutes: Vec::new(),
                profile_source: profile.provenance.source.clone(),
                knee_users: capacity.knee,
                planned_users: capacity.planned,
                knee_users_at_current_quota: None,
                instances: None,
                peak_users,
                peak_meets_slo: slo.met_by(&peak),
                peak_ttft_p95_s: peak.ttft_s.p95,
                peak_tpot_p95_s: peak.tpot_s.p95,
                quota: None,
                monthly_requests,
                mean_input_tokens: mean_in,
                mean_output_tokens: mean_out,
                requests_per_user_hour: requests_per_user_hour(&peak, peak_users),
                monthly_list_usd: monthly,
                monthly_on_demand_usd: monthly,
                monthly_batch_usd: None,
                monthly_cached_prompt_usd: None,
                cost_per_request_usd: monthly / monthly_requests,
                monthly_fixed_usd: 0.0,
                instance_hours_per_month: None,
                fleet_basis: Some(format!(
                    "per second of compute: {compute_per_request:.2} s per request at {memory_mb} MB \
                     × ${}/s (cold starts of {cold_start_s} s are waited for, not billed)",
                    price.usd_per_second
                )),
                monthly_provisioned_usd: None,
                budget,
                price_source: format!("{} ({})", price.source, price.date),
            })
        }
    }
}

fn requests_per_user_hour(r: &SimResult, users: u32) -> f64 {
    r.completed as f64 / f64::from(users.max(1)) / (r.duration_s / 3_600.0)
}

fn mean_tokens(r: &SimResult) -> (f64, f64) {
    let n = r.completed.max(1) as f64;
    (r.input_tokens / n, r.output_tokens / n)
}

fn break_even(options: &[OptionPlan]) -> Vec<BreakEven> {
    let mut rows = Vec::new();
    for dedicated in options.iter().filter(|o| o.kind == "sagemaker") {
        let instances = f64::from(dedicated.instances.unwrap_or(1));
        // The instance's list price an hour: autoscaling changes the hours billed, not this.
        let instance_hourly = match dedicated.instance_hours_per_month {
            Some(hours) if hours > 0.0 => dedicated.monthly_on_demand_usd / hours,
            _ => dedicated.monthly_on_demand_usd / instances / HOURS_PER_MONTH,
        };
        // Requests an hour one instance carries at its planning point.
        let per_instance_hourly_requests =
            dedicated.planned_users as f64 / instances * dedicated.requests_per_user_hour;
        // Per-request options (Bedrock tokens, serverless seconds) against a fixed fleet.
        for per_token in options
            .iter()
            .filter(|o| o.kind == "bedrock" || o.kind == "serverless")
        {
            rows.push(BreakEven {
                per_token: per_token.name.clone(),
                dedicated: dedicated.name.clone(),
                crossover_requests_per_month: {
                    let (fixed_a, per_a) = per_token.cost_line();
                    let (fixed_b, per_b) = dedicated.cost_line();
                    crossover_volume(fixed_a, per_a, fixed_b, per_b)
                },
                breakeven_hours_per_month: breakeven_hours(
                    instance_hourly,
                    per_instance_hourly_requests * per_token.cost_per_request_usd,
                ),
            });
        }
    }
    rows
}

fn assumptions(s: &PlanScenario, w: &WorkloadSpec) -> Vec<String> {
    vec![
        format!("Peak hour: {:.0} % of {} employees in conversation at once, simulated for {:.0} s.", s.peak_active_fraction * 100.0, s.employees, s.peak_duration_s),
        format!("Monthly volume: employees × {} sessions a day × {} turns × {} workdays.", s.sessions_per_user_per_day, w.behaviour.turns_per_session, s.workdays_per_month),
        "Bedrock list price counts the bare message and reply; the realistic budget adds the simulated system prompt and history, and seed 000's ranges for the rest.".into(),
        "SageMaker fleets are sized for the peak; always-on ones bill 730 h a month, autoscaled ones the hours of a simulated workday. Against volume, an autoscaled fleet's hours above its minimum are taken to grow in proportion to requests.".into(),
        "Break-even hours assume an instance's planned traffic per hour; profiles marked 'published ranges' or 'ASSUMED' extrapolate beyond any measurement.".into(),
    ]
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn summary_table(plan: &Plan) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "option",
        "users (knee → plan 60 %)",
        "at current quota",
        "peak SLO",
        "quota needed TPM / RPM",
        "list $/mo",
        "P50 $/mo",
        "P90 $/mo",
        "x list",
    ]);
    for o in &plan.options {
        let quota = o.quota.as_ref().map_or_else(
            || match o.instances {
                Some(n) => format!("{n} instances"),
                None => "— (per request)".to_string(),
            },
            |q| {
                format!(
                    "{:.0} / {}",
                    q.requested_tpm,
                    q.requested_rpm.map_or("—".into(), |r| format!("{r:.0}"))
                )
            },
        );
        t.add_row(vec![
            o.name.clone(),
            format!("{} → {}", o.knee_users, o.planned_users),
            o.knee_users_at_current_quota
                .map_or("—".into(), |k| k.to_string()),
            if o.peak_meets_slo {
                "met".into()
            } else {
                "missed".into()
            },
            quota,
            format!("{:.0}", o.budget.list_monthly_usd),
            format!("{:.0}", o.budget.p50_monthly_usd),
            format!("{:.0}", o.budget.p90_monthly_usd),
            format!(
                "{:.2}–{:.2}",
                o.budget.multiplier_p50, o.budget.multiplier_p90
            ),
        ]);
    }
    t
}

/// A whole number with thousands separators: 8,482,319.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// Reads the utilisation break-even: past a month's 730 hours, a dedicated instance never wins
/// at this traffic's mix, however busy it is kept.
fn dedicated_hours_phrase(hours: f64) -> String {
    if hours <= HOURS_PER_MONTH {
        format!("a dedicated instance wins when busy more than {hours:.0} h/month")
    } else {
        format!(
            "a dedicated instance would need {hours:.0} busy h/month to win, more than a month's \
             {HOURS_PER_MONTH:.0}: per-token stays cheaper"
        )
    }
}

fn print_summary(plan: &Plan, out: &Path) {
    println!(
        "{} — peak {} users, {} requests/month; SLO p95 TTFT ≤ {} s, p95 TPOT ≤ {} s, errors ≤ {:.0} %",
        plan.scenario, plan.peak_users, thousands(plan.monthly_requests), plan.slo.ttft_p95_s, plan.slo.tpot_p95_s, plan.slo.max_error_rate * 100.0
    );
    println!("{}", summary_table(plan));
    for b in &plan.break_even {
        println!(
            "break-even {} vs {}: {}; {}",
            b.per_token,
            b.dedicated,
            b.crossover_requests_per_month.map_or(
                "the cost lines never cross".into(),
                |v| format!("{} requests/month", thousands(v))
            ),
            dedicated_hours_phrase(b.breakeven_hours_per_month)
        );
    }
    println!(
        "report: {}/report.html (charts, for architects, finance and engineers), report.md, \
         plan.md, plan.json, quota-*.md, data/ — finished in {:.1} s",
        out.display(),
        plan.elapsed_s
    );
}

fn write_report(dir: &Path, plan: &Plan, scenario: &PlanScenario) -> Result<()> {
    let mut md = format!(
        "# {}\n\nGenerated by llmcap on {}.\n\n{}\n\n",
        plan.scenario, plan.generated_on, scenario.use_case
    );
    md += "## For architects: capacity\n\n";
    md += &format!("{}\n\n", summary_table(plan));
    md += "## For finance: cost and budget\n\n";
    for o in &plan.options {
        md += &format!(
            "### {}\n\n- list price: ${:.0}/month; realistic P50 ${:.0}, P90 ${:.0} ({:.2}x–{:.2}x list)\n- on-demand as simulated: ${:.0}/month{}{}\n- prices: {}\n- profile: {}\n\n| factor | mean $/month | share of uplift |\n| --- | --- | --- |\n",
            o.name,
            o.budget.list_monthly_usd,
            o.budget.p50_monthly_usd,
            o.budget.p90_monthly_usd,
            o.budget.multiplier_p50,
            o.budget.multiplier_p90,
            o.monthly_on_demand_usd,
            o.monthly_batch_usd.map_or(String::new(), |b| format!("; batch ${b:.0}")),
            o.monthly_cached_prompt_usd.map_or(String::new(), |c| format!("; system prompt cached ${c:.0}")),
            o.price_source,
            o.profile_source
        );
        for s in &o.budget.shares {
            md += &format!(
                "| {} | {:.0} | {:.1} % |\n",
                s.factor,
                s.usd,
                s.fraction_of_uplift * 100.0
            );
        }
        md += "\n";
    }
    for b in &plan.break_even {
        md += &format!(
            "Break-even {} vs {}: {}; {}.\n\n",
            b.per_token,
            b.dedicated,
            b.crossover_requests_per_month.map_or(
                "the cost lines never cross".into(),
                |v| format!("{} requests/month", thousands(v))
            ),
            dedicated_hours_phrase(b.breakeven_hours_per_month)
        );
    }
    md += "## For engineers: quota\n\n";
    for o in &plan.options {
        if let Some(q) = &o.quota {
            let file = format!("quota-{}.md", slug(&o.name));
            write_atomically(
                &dir.join(&file),
                &justification_markdown(q, &plan.generated_on),
            )?;
            md += &format!(
                "- {}: p99 minute {:.0} TPM reserved at the planned peak; ask {:.0} TPM (current {:.0}): see [{file}]({file})\n",
                o.name, q.peak_tpm_reserved, q.requested_tpm, q.current_tpm
            );
        }
    }
    md += "\n## Assumptions\n\n";
    for a in &plan.assumptions {
        md += &format!("- {a}\n");
    }
    write_atomically(&dir.join("plan.md"), &md)?;
    write_atomically(&dir.join("plan.json"), &serde_json::to_string_pretty(plan)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{dedicated_hours_phrase, thousands};

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(thousands(8_482_319.4), "8,482,319");
        assert_eq!(thousands(528_000.0), "528,000");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(-1_234.0), "-1,234");
    }

    #[test]
    fn break_even_hours_past_a_month_say_per_token_stays_cheaper() {
        assert!(dedicated_hours_phrase(127.0).contains("more than 127 h/month"));
        assert!(dedicated_hours_phrase(975.0).contains("per-token stays cheaper"));
    }
}
