//! `llmcap plan` and the planner views: read the scenario, catalogs and profiles (compiled in,
//! or from disk where given), call the planner, write the plan and its report.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::cli::{PlanArgs, PlannerArgs};
use crate::cost::budget::Budget;
use crate::cost::catalog::Catalog;
use crate::files::{today_utc, write_atomically};
use crate::format::thousands;
use crate::perf::Profile;
use crate::plan::scenario::{InferenceProfile, BUILTIN_ORIGIN, BUILTIN_SCENARIO};
use crate::plan::{HostingCatalog, Inputs, Plan, Scenario};
use crate::report::plan_text::{plan_markdown, profile_lines, quota_file, terminal_summary};
use crate::report::{plan_report, quota_request};

/// Profiles compiled in, by file name: the built-in scenario's, and any a scenario names by a
/// path that does not exist on disk.
const BUILTIN_PROFILES: [(&str, &str); 10] = [
    (
        "bedrock-claude-3-5-sonnet.toml",
        include_str!("../../models/bedrock-claude-3-5-sonnet.toml"),
    ),
    (
        "bedrock-claude-sonnet-4-5.toml",
        include_str!("../../models/bedrock-claude-sonnet-4-5.toml"),
    ),
    (
        "bedrock-claude-3-5-haiku.toml",
        include_str!("../../models/bedrock-claude-3-5-haiku.toml"),
    ),
    (
        "bedrock-claude-3-opus.toml",
        include_str!("../../models/bedrock-claude-3-opus.toml"),
    ),
    (
        "bedrock-llama3-3-70b-instruct.toml",
        include_str!("../../models/bedrock-llama3-3-70b-instruct.toml"),
    ),
    (
        "sagemaker-llama3-3-70b-nim-h100.toml",
        include_str!("../../models/sagemaker-llama3-3-70b-nim-h100.toml"),
    ),
    (
        "sagemaker-ml-g5-12xlarge.toml",
        include_str!("../../models/sagemaker-ml-g5-12xlarge.toml"),
    ),
    (
        "sagemaker-ml-g5-xlarge.toml",
        include_str!("../../models/sagemaker-ml-g5-xlarge.toml"),
    ),
    (
        "sagemaker-ml-p4d-24xlarge.toml",
        include_str!("../../models/sagemaker-ml-p4d-24xlarge.toml"),
    ),
    (
        "sagemaker-serverless.toml",
        include_str!("../../models/sagemaker-serverless.toml"),
    ),
];

const BUILTIN_BEDROCK_PRICES: &str = include_str!("../../pricing/bedrock.toml");
const BUILTIN_SAGEMAKER_PRICES: &str = include_str!("../../pricing/sagemaker.toml");

/// A catalog file from `dir` when given and present there, else the built-in one.
fn catalog_text(dir: Option<&Path>, file: &str, builtin: &str) -> Result<(String, String)> {
    if let Some(dir) = dir {
        let path = dir.join(file);
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read catalog {}", path.display()))?;
            return Ok((text, path.display().to_string()));
        }
    }
    Ok((builtin.to_string(), format!("built-in {file}")))
}

/// The price catalogs: built in, or overridden file by file from `dir`.
pub fn load_catalog(dir: Option<&Path>) -> Result<Catalog> {
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(anyhow!(
                "--catalog {}: not a directory; give a directory holding bedrock.toml, sagemaker.toml, overheads.toml, models.toml or hardware.toml",
                dir.display()
            ));
        }
    }
    let (bedrock, bedrock_origin) = catalog_text(dir, "bedrock.toml", BUILTIN_BEDROCK_PRICES)?;
    let (sagemaker, sagemaker_origin) =
        catalog_text(dir, "sagemaker.toml", BUILTIN_SAGEMAKER_PRICES)?;
    let mut catalog = Catalog::parse(&bedrock, &bedrock_origin, &sagemaker, &sagemaker_origin)
        .map_err(|e| anyhow!("{e}"))?;
    let (overheads, overheads_origin) =
        catalog_text(dir, "overheads.toml", crate::cost::overheads::BUILTIN)?;
    catalog.overheads = crate::cost::overheads::OverheadRates::parse(&overheads, &overheads_origin)
        .map_err(|e| anyhow!("{e}"))?;
    Ok(catalog)
}

fn load_hosting(dir: Option<&Path>) -> Result<HostingCatalog> {
    use crate::plan::hosting::{BUILTIN_HARDWARE, BUILTIN_MODELS};
    let (models, models_origin) = catalog_text(dir, "models.toml", BUILTIN_MODELS)?;
    let (hardware, hardware_origin) = catalog_text(dir, "hardware.toml", BUILTIN_HARDWARE)?;
    HostingCatalog::parse(&models, &models_origin, &hardware, &hardware_origin)
        .map_err(|e| anyhow!("{e}"))
}

/// An option's profile: the file the scenario names (relative to it) when it exists; a bare
/// file name that is not next to the scenario is the built-in profile of that name. A path
/// with a directory that does not exist is refused (never silently replaced by a built-in).
fn load_profile(path: &str, base: Option<&Path>, origin: &str, option: &str) -> Result<Profile> {
    let file = Path::new(path)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(path);
    let builtin_names = || {
        BUILTIN_PROFILES
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(dir) = base {
        let on_disk = dir.join(path);
        if on_disk.exists() {
            return Ok(crate::files::load_profile(&on_disk)?);
        }
        if file != path {
            let builtin = BUILTIN_PROFILES.iter().any(|(name, _)| *name == file);
            return Err(anyhow!(
                "{origin}: option `{option}`: field `profile` = {path:?}: no such file ({}). Fix the path (it is relative to the scenario's directory){}",
                std::path::absolute(&on_disk).unwrap_or(on_disk).display(),
                if builtin {
                    format!(", or write profile = {file:?} to use the built-in profile of that name")
                } else {
                    format!("; built-in profiles, named bare: {}", builtin_names())
                }
            ));
        }
    }
    let text = BUILTIN_PROFILES
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, text)| *text)
        .ok_or_else(|| {
            anyhow!(
                "{origin}: option `{option}`: field `profile` = {path:?}: no such file{}, and no built-in profile of that name (built in: {})",
                base.map_or(String::new(), |b| format!(" next to the scenario ({})", b.join(path).display())),
                builtin_names()
            )
        })?;
    Profile::from_toml_str(text).map_err(|e| anyhow!("built-in profile {file}: {e}"))
}

/// Reads everything a plan needs (and the logs to measure against, if any) and computes it.
fn compute(
    scenario_path: Option<&Path>,
    catalog_dir: Option<&Path>,
    from_logs: &[PathBuf],
) -> Result<Plan> {
    Ok(compute_measured(scenario_path, catalog_dir, from_logs)?.1)
}

/// The scenario and its plan, with the workload's measured traffic taken from `from_logs`
/// when any are given (replacing a learned workload's own `[measured]`).
pub fn compute_measured(
    scenario_path: Option<&Path>,
    catalog_dir: Option<&Path>,
    from_logs: &[PathBuf],
) -> Result<(Scenario, Plan)> {
    let mut scenario = read_scenario(scenario_path)?;
    if !from_logs.is_empty() {
        let measured = match cloudwatch_export(from_logs)? {
            Some(measured) => measured,
            None => {
                super::workload_fit::learn(from_logs, crate::workload::logs::LogFormat::Auto)?
                    .measured
            }
        };
        let mut workload = scenario
            .workload_spec()
            .ok_or_else(|| anyhow!("the scenario's workload is unknown"))?;
        workload.measured = Some(measured);
        scenario.workload = crate::plan::scenario::WorkloadRef::Inline(Box::new(workload));
    }
    plan_scenario(scenario_path, catalog_dir, scenario)
}

/// A single file that is a CloudWatch export (`aws cloudwatch get-metric-data`'s JSON, as
/// `llmcap actual --cloudwatch` reads it): its measured minutes. `None` for request logs.
fn cloudwatch_export(paths: &[PathBuf]) -> Result<Option<crate::workload::logs::fit::Measured>> {
    let [path] = paths else { return Ok(None) };
    if !path.is_file() {
        return Ok(None);
    }
    // An export is one JSON document; read only a file that starts like one and is small
    // enough to be one (request logs are read line by line instead).
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX);
    if len > 256 * 1024 * 1024 {
        return Ok(None);
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    if !(text.trim_start().starts_with('{') && text.contains("MetricDataResults")) {
        return Ok(None);
    }
    let origin = path.display().to_string();
    let usage = crate::actual::cloudwatch::parse(&text, &origin)?;
    Ok(Some(crate::actual::cloudwatch::measured(&usage, &origin)))
}

/// The scenario (the file, or the built-in one) and its plan.
pub fn compute_with_scenario(
    scenario_path: Option<&Path>,
    catalog_dir: Option<&Path>,
) -> Result<(Scenario, Plan)> {
    compute_measured(scenario_path, catalog_dir, &[])
}

/// The directory a scenario's relative paths start from (none for the built-in one).
fn scenario_base(scenario_path: Option<&Path>) -> Option<PathBuf> {
    scenario_path.map(|path| path.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// The scenario file (or the built-in one), parsed and validated, its workload file read.
fn read_scenario(scenario_path: Option<&Path>) -> Result<Scenario> {
    let (text, origin): (String, String) = match scenario_path {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read scenario {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (BUILTIN_SCENARIO.to_string(), BUILTIN_ORIGIN.to_string()),
    };
    let base = scenario_base(scenario_path);
    Ok(Scenario::parse_with(&text, &origin, |file| {
        match base.as_deref() {
            Some(dir) => read_beside(dir, file),
            None => Err("the built-in scenario names no workload file".into()),
        }
    })?)
}

/// A workload file a scenario names, read relative to the scenario's directory: its text and
/// its path for errors, or why it cannot be read (for `Scenario::parse_with`).
pub(crate) fn read_beside(dir: &Path, file: &str) -> Result<(String, String), String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .map(|text| (text, path.display().to_string()))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The plan of a parsed scenario: its profiles and the catalogs read, everything computed.
fn plan_scenario(
    scenario_path: Option<&Path>,
    catalog_dir: Option<&Path>,
    scenario: Scenario,
) -> Result<(Scenario, Plan)> {
    let plan = with_inputs(scenario_path, catalog_dir, &scenario, |inputs| {
        Ok(crate::plan::compute(inputs)?)
    })?;
    Ok((scenario, plan))
}

/// A scenario file (or the built-in one) read, with what its planners take from it.
pub fn read_inputs<T>(
    scenario_path: Option<&Path>,
    catalog_dir: Option<&Path>,
    f: impl FnOnce(&Inputs) -> Result<T>,
) -> Result<T> {
    let scenario = read_scenario(scenario_path)?;
    with_inputs(scenario_path, catalog_dir, &scenario, f)
}

/// The profiles and catalogs a scenario's planners take, read, and handed to `f`.
fn with_inputs<T>(
    scenario_path: Option<&Path>,
    catalog_dir: Option<&Path>,
    scenario: &Scenario,
    f: impl FnOnce(&Inputs) -> Result<T>,
) -> Result<T> {
    let origin = scenario_path.map_or(BUILTIN_ORIGIN.to_string(), |p| p.display().to_string());
    let base = scenario_base(scenario_path);
    let catalog = load_catalog(catalog_dir)?;
    let hosting = load_hosting(catalog_dir)?;
    let profiles = scenario
        .option
        .iter()
        .map(|o| load_profile(o.profile(), base.as_deref(), &origin, o.name()))
        .collect::<Result<Vec<_>>>()?;
    f(&Inputs {
        scenario,
        origin: &origin,
        profiles: &profiles,
        catalog: &catalog,
        hosting: &hosting,
        generated_on: &today_utc(),
    })
}

pub fn run(args: &PlanArgs) -> Result<()> {
    crate::files::check_dir(&args.out)?;
    let plan = compute(
        args.scenario.as_deref(),
        args.catalog.as_deref(),
        &args.from_logs,
    )?;
    write_plan(&args.out, &plan)?;
    plan_report::write(&plan, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", terminal_summary(&plan, &args.out));
    }
    Ok(())
}

/// plan.json, plan.md and one quota document per Bedrock option.
fn write_plan(dir: &Path, plan: &Plan) -> Result<()> {
    crate::files::create_dir(dir)?;
    for o in &plan.options {
        if let Some(q) = &o.quota {
            write_atomically(
                &dir.join(quota_file(&o.name)),
                &quota_request::markdown(q, &profile_lines(o), &plan.slo, &plan.generated_on),
            )?;
        }
    }
    write_atomically(&dir.join("plan.md"), &plan_markdown(plan))?;
    write_atomically(&dir.join("plan.json"), &serde_json::to_string_pretty(plan)?)?;
    Ok(())
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
            PlannerView::Quota => "each Bedrock quota: current against needed at the peak",
            PlannerView::Cost => "monthly cost per option",
            PlannerView::Breakeven => "break-even between options serving the same model",
            PlannerView::Budget => "realistic budget: list price × hidden-cost factors",
        }
    }
}

/// One planner's view of the plan: `capacity`, `quota`, `cost`, `breakeven` or `budget`.
pub fn run_view(view: PlannerView, args: &PlannerArgs) -> Result<()> {
    let plan = compute(
        args.scenario.as_deref(),
        args.catalog.as_deref(),
        &args.from_logs,
    )?;
    let value = match view {
        PlannerView::Capacity => serde_json::json!(plan.options.iter().map(|o| serde_json::json!({
            "option": o.name, "model": o.model, "service": o.service, "hosting": o.hosting,
            "knee_users": o.knee_users, "planned_users": o.planned_users,
            "knee_users_at_current_quota": o.knee_users_at_current_quota, "instances": o.instances, "scaling": o.scaling,
            "peak_users": o.peak_users, "peak_meets_slo": o.peak_meets_slo,
            "peak_ttft_p95_s": o.peak_ttft_p95_s, "peak_tpot_p95_s": o.peak_tpot_p95_s,
            "capacity_note": o.capacity_note,
        })).collect::<Vec<_>>()),
        PlannerView::Quota => serde_json::json!(plan.options.iter().filter_map(|o| o.quota.as_ref()).collect::<Vec<_>>()),
        PlannerView::Cost => serde_json::json!(plan.options.iter().map(|o| serde_json::json!({
            "option": o.name, "model": o.model, "monthly_requests": o.monthly_requests, "monthly_on_demand_usd": o.monthly_on_demand_usd,
            "tiers": o.tiers, "reserve": o.reserve,
            "cost_per_request_usd": o.cost_per_request_usd, "monthly_fixed_usd": o.monthly_fixed_usd,
            "instances": o.instances, "scaling": o.scaling, "instance_hours_per_month": o.instance_hours_per_month, "fleet_basis": o.fleet_basis,
            "price_source": o.price_source,
        })).collect::<Vec<_>>()),
        PlannerView::Breakeven => serde_json::json!(plan.break_even),
        PlannerView::Budget => serde_json::json!(plan.options.iter().map(|o| serde_json::json!({
            "option": o.name, "budget": o.budget,
        })).collect::<Vec<_>>()),
    };
    if let (PlannerView::Quota, Some(path)) = (view, &args.justify) {
        let (option, quota) = plan
            .options
            .iter()
            .find_map(|o| o.quota.as_ref().map(|q| (o, q)))
            .ok_or_else(|| anyhow!("the scenario has no Bedrock option to justify a quota for"))?;
        write_atomically(
            path,
            &quota_request::markdown(quota, &profile_lines(option), &plan.slo, &plan.generated_on),
        )?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if let PlannerView::Budget = view {
        println!("{}: {}", plan.scenario, view.title());
        for o in &plan.options {
            print_budget(&o.name, &o.budget);
        }
    } else if let PlannerView::Quota = view {
        println!("{}: {}", plan.scenario, view.title());
        for q in plan.options.iter().filter_map(|o| o.quota.as_ref()) {
            print_quota(q);
        }
    } else if let PlannerView::Breakeven = view {
        println!("{}: {}", plan.scenario, view.title());
        for b in &plan.break_even {
            println!(
                "{}",
                crate::report::plan_text::break_even_sentence(b, plan.monthly_requests)
            );
        }
    } else {
        println!("{}: {}", plan.scenario, view.title());
        print_view(&value);
    }
    Ok(())
}

/// One Bedrock option's quotas: each quota on its own row (bedrock-mantle's input and output
/// TPM apart), then the asks.
fn print_quota(q: &crate::plan::quota::QuotaEvidence) {
    println!(
        "{} — {} on {} in {}{}",
        q.option,
        q.model_id,
        q.endpoint.host(),
        q.region,
        match q.inference_profile {
            InferenceProfile::InRegion => "",
            InferenceProfile::Geographic => " (geographic cross-Region profile)",
            InferenceProfile::Global => " (global cross-Region profile)",
        }
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "quota",
        "current",
        "median minute",
        "p99 minute (90 % interval, minutes)",
        "throttled at current",
        "needed (p99 × 1.25)",
        "verdict",
    ]);
    for c in q.checks() {
        t.add_row(vec![
            c.service_quota_name.clone(),
            thousands(c.current),
            thousands(c.peak_p50_minute),
            crate::report::quota_request::p99_with_interval(c),
            crate::format::percent(c.throttle_rate_at_current),
            thousands(c.needed),
            crate::report::quota_request::verdict(c),
        ]);
    }
    println!("{t}");
    println!(
        "per request: {} input tokens ({} from the prompt cache), {} output, max_tokens {}, {} reserved at admission",
        thousands(q.mean_input_tokens),
        thousands(q.mean_cached_input_tokens),
        thousands(q.mean_output_tokens),
        thousands(q.max_tokens),
        thousands(q.mean_reservation_tokens)
    );
    println!("{}\n", crate::report::quota_request::ask_sentences(q));
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
