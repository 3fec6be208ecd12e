//! `llmcap actual`: read a CloudWatch export (and a Cost and Usage Report), compute the plan,
//! compare, re-fit the workload, and write the comparison.

use std::path::Path;

use crate::bounds::Range;
use anyhow::{anyhow, bail, Context, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use super::plan::{compute_with_scenario, load_catalog};
use crate::actual::compare::{compare, Comparison, Inputs};
use crate::actual::cur::{summarise, CurSummary, CurTable};
use crate::actual::{cloudwatch, shown};
use crate::cli::ActualArgs;
use crate::files::write_atomically;
use crate::plan::forecast_spec::{ForecastSpec, Uncertain};
use crate::plan::PlanOption;
use crate::report::charts::actual::{ActualAgainstPlan, OptionErrors};
use crate::report::charts::render;

/// The most users (`--users`) and workdays (`--days`) an export can stand for.
const MAX_USERS: f64 = 1e9;
const MAX_DAYS: f64 = 3_660.0;

pub fn run(args: &ActualArgs) -> Result<()> {
    if let Some(models) = &args.print_queries {
        return print_queries(models, args.period);
    }
    let Some(cw_path) = &args.cloudwatch else {
        bail!(
            "--cloudwatch FILE.json is required (or --print-queries MODEL_ID to build the queries)"
        );
    };
    // Everything is read and checked, and every result computed, before anything is written.
    check_flags(args)?;
    crate::files::check_dir(&args.out).context("--out")?;
    let text = std::fs::read_to_string(cw_path)
        .with_context(|| format!("cannot read the CloudWatch export {}", cw_path.display()))?;
    let usage = cloudwatch::parse(&text, &cw_path.display().to_string())?;
    let cur = args.cur.as_deref().map(read_cur).transpose()?;
    let (scenario, plan) =
        compute_with_scenario(args.scenario.as_deref(), args.catalog.as_deref())?;
    let prices = bedrock_prices(&scenario, args.catalog.as_deref())?;
    let comparison = compare(&Inputs {
        plan: &plan,
        employees: scenario.employees,
        workdays_per_month: scenario.workdays_per_month,
        users: args.users,
        days: args.days,
        usage: &usage,
        cur: cur.as_ref(),
        prices: &prices,
    })?;
    let (spec, adoption) = reforecast_spec(&scenario, &comparison)?;
    let reforecast = crate::forecast::run(&plan, &spec, scenario.seed);
    write_outputs(&args.out, &comparison, cur.as_ref())?;
    super::forecast::write_outputs(&reforecast, &args.out.join("forecast"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", terminal(&comparison));
        println!(
            "re-forecast at the measured adoption ({}), use per user (×{:.3}) and tokens per request (×{:.3}), {} months:",
            crate::format::percent(adoption),
            comparison.refit.usage_per_user,
            comparison.refit.tokens_per_request,
            reforecast.months
        );
        for o in &reforecast.options {
            if let Some(total) = o.cumulative.last() {
                println!(
                    "  {}: {} (P10 {}, P90 {})",
                    o.name,
                    crate::format::usd(total.p50),
                    crate::format::usd(total.p10),
                    crate::format::usd(total.p90)
                );
            }
        }
        println!(
            "wrote {} (actual.json, actual.md, forecast.toml, data/, charts/, forecast/report.html)",
            args.out.display()
        );
    }
    Ok(())
}

/// `--users` and `--days`: finite, > 0 and no more than an export can stand for.
fn check_flags(args: &ActualArgs) -> Result<()> {
    if let Some(users) = args.users {
        Range::above(0.0, MAX_USERS, "people").check("--users", users)?;
    }
    if let Some(days) = args.days {
        Range::above(0.0, MAX_DAYS, "workdays (ten years at most)").check("--days", days)?;
    }
    Ok(())
}

/// Per Bedrock option of the scenario, the catalog's input and output USD per million tokens.
fn bedrock_prices(
    scenario: &crate::plan::scenario::Scenario,
    catalog_dir: Option<&Path>,
) -> Result<Vec<(String, f64, f64)>> {
    let catalog = load_catalog(catalog_dir)?;
    Ok(scenario
        .option
        .iter()
        .filter_map(|o| match o {
            PlanOption::Bedrock {
                name,
                model_id,
                inference_profile,
                ..
            } => catalog
                .bedrock(
                    model_id,
                    &scenario.region,
                    inference_profile
                        .unwrap_or_else(|| crate::plan::invocation::profile_of(model_id))
                        == crate::plan::scenario::InferenceProfile::Global,
                )
                .ok()
                .map(|p| (name.clone(), p.input_per_mtok, p.output_per_mtok)),
            _ => None,
        })
        .collect())
}

/// The re-forecast's inputs, and the measured adoption: the scenario's forecast with what the
/// export measured held fixed — adoption at the users seen ÷ employees, use per user and tokens
/// per request at the re-fitted factors — and the rest (growth a month, capacity, hidden costs)
/// as stated. Checked as a scenario's `[forecast]` is: a factor outside (0, 100] (traffic
/// a hundred times the plan's, or none) is refused, naming it, since forecast.toml would hold
/// what no scenario accepts.
fn reforecast_spec(
    scenario: &crate::plan::scenario::Scenario,
    comparison: &Comparison,
) -> Result<(ForecastSpec, f64)> {
    let mut spec = scenario.forecast.clone();
    let adoption = (comparison.users / f64::from(scenario.employees.max(1))).min(1.0);
    spec.adoption_start = Uncertain::fixed(adoption);
    spec.adoption_target = Uncertain::fixed(adoption);
    spec.usage_per_user = Uncertain::fixed(comparison.refit.usage_per_user);
    spec.tokens_per_request = Uncertain::fixed(comparison.refit.tokens_per_request);
    if let Err((field, why)) = spec.check() {
        let value = field
            .strip_prefix("forecast.")
            .and_then(|name| spec.input(name))
            .map_or(f64::NAN, |u| u.quantile(0.5));
        let hint = if value == 0.0 {
            "the export has no tokens for the plan's models; query all five metrics (`llmcap actual --print-queries MODEL_ID`)"
        } else {
            "the export's traffic is that far from the plan's; check the export's values and --users/--days, or compare against a scenario nearer to the traffic"
        };
        bail!(
            "the re-fitted {field} is {}, but it {why}; {hint} (nothing was written)",
            shown(value)
        );
    }
    Ok((spec, adoption))
}

fn print_queries(models: &[String], period: u32) -> Result<()> {
    if models
        .iter()
        .any(|m| m.trim().is_empty() || m.contains(' '))
    {
        bail!("--print-queries: a model id is non-empty and has no spaces, e.g. meta.llama3-3-70b-instruct-v1:0");
    }
    if period == 0 || (period > 60 && !period.is_multiple_of(60)) {
        bail!("--period {period}: CloudWatch takes 1, 5, 10, 30, 60 or a multiple of 60 seconds");
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&cloudwatch::queries(models, period))?
    );
    Ok(())
}

/// A CUR 2.0 export: Parquet by its extension, else CSV.
fn read_cur(path: &Path) -> Result<CurSummary> {
    let origin = path.display().to_string();
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let table = if is_parquet {
        use polars::prelude::{ParquetReader, SerReader};
        let file = std::fs::File::open(path)
            .with_context(|| format!("cannot read the Cost and Usage Report {origin}"))?;
        let frame = ParquetReader::new(file)
            .finish()
            .map_err(|e| anyhow!("{origin}: not a readable Parquet file: {e}"))?;
        CurTable::from_frame(&frame, &origin)?
    } else {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the Cost and Usage Report {origin} (CSV, uncompressed; or .parquet)"
            )
        })?;
        CurTable::from_csv(&text, &origin)?
    };
    Ok(summarise(&table, &origin)?)
}

#[derive(Serialize)]
struct TableRow {
    option: String,
    model_id: String,
    metric: String,
    plan: f64,
    actual: f64,
    error: Option<f64>,
}

fn write_outputs(dir: &Path, c: &Comparison, cur: Option<&CurSummary>) -> Result<()> {
    crate::files::create_dir(dir)?;
    let mut json = serde_json::to_value(c)?;
    if let (Some(cur), Some(object)) = (cur, json.as_object_mut()) {
        object.insert("cur".to_string(), serde_json::to_value(cur)?);
    }
    write_atomically(
        &dir.join("actual.json"),
        &serde_json::to_string_pretty(&json)?,
    )?;
    write_atomically(&dir.join("actual.md"), &markdown(c))?;
    write_atomically(&dir.join("forecast.toml"), &c.refit.toml())?;
    let rows: Vec<TableRow> = c
        .options
        .iter()
        .flat_map(|o| {
            o.rows.iter().map(|r| TableRow {
                option: o.option.clone(),
                model_id: o.model_id.clone(),
                metric: r.metric.clone(),
                plan: r.plan,
                actual: r.actual,
                error: r.error,
            })
        })
        .collect();
    crate::export::write_table(&dir.join("data"), "actual_vs_plan", &rows)?;
    let chart = ActualAgainstPlan {
        title: format!("{}: actual against plan", c.scenario),
        metrics: c
            .options
            .first()
            .map(|o| o.rows.iter().map(|r| short_label(&r.metric)).collect())
            .unwrap_or_default(),
        options: c
            .options
            .iter()
            .map(|o| OptionErrors {
                name: o.option.clone(),
                errors: o.rows.iter().map(|r| r.error).collect(),
            })
            .collect(),
    };
    render(&chart, &dir.join("charts"), "actual_vs_plan")?;
    Ok(())
}

/// A metric's name short enough for the chart's axis.
fn short_label(metric: &str) -> String {
    match metric {
        "requests per month" => "requests/month",
        "requests per user per workday" => "requests/user/day",
        "input tokens per request" => "input tokens/req",
        "output tokens per request" => "output tokens/req",
        "spend per month (USD)" => "spend/month",
        other => other,
    }
    .to_string()
}

fn count(v: f64) -> String {
    crate::format::thousands(v.round())
}

fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        crate::format::thousands(v)
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

fn error_text(e: Option<f64>) -> String {
    e.map_or("—".to_string(), |e| format!("{:+.1} %", e * 100.0))
}

fn terminal(c: &Comparison) -> String {
    let mut out = format!(
        "{}: actual against plan ({} users; days from {})\n",
        c.scenario,
        number(c.users),
        c.days_source
    );
    for o in &c.options {
        out.push_str(&format!(
            "{} — {}: {} invocations, {} throttles over {:.2} days{}; spend from {}\n",
            o.option,
            o.model_id,
            count(o.invocations),
            count(o.throttles),
            o.days,
            o.mean_latency_ms
                .map_or(String::new(), |l| format!(", mean latency {l:.0} ms")),
            o.spend_source
        ));
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
            "metric",
            "plan",
            "actual",
            "error (actual ÷ plan − 1)",
        ]);
        for r in &o.rows {
            t.add_row(vec![
                r.metric.clone(),
                number(r.plan),
                number(r.actual),
                error_text(r.error),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    for m in &c.unmatched_models {
        out.push_str(&format!("not in the plan: {m} (traffic in the export)\n"));
    }
    for o in &c.options_without_traffic {
        out.push_str(&format!("no traffic in the export: {o}\n"));
    }
    for n in &c.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&format!(
        "re-fitted workload (paste into the scenario):\n{}",
        c.refit.toml()
    ));
    out
}

fn markdown(c: &Comparison) -> String {
    let mut md = format!(
        "# Actual against plan: {}\n\nUsers: {}. Days covered: from {}.\n\n",
        c.scenario,
        number(c.users),
        c.days_source
    );
    for o in &c.options {
        md.push_str(&format!(
            "## {} ({})\n\n{} invocations and {} throttles over {:.2} days; spend from {}.\n\n| metric | plan | actual | error |\n| --- | ---: | ---: | ---: |\n",
            o.option,
            o.model_id,
            count(o.invocations),
            count(o.throttles),
            o.days,
            o.spend_source
        ));
        for r in &o.rows {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                r.metric,
                number(r.plan),
                number(r.actual),
                error_text(r.error)
            ));
        }
        md.push('\n');
    }
    if !c.unmatched_models.is_empty() {
        md.push_str(&format!(
            "Models with traffic that the plan does not serve: {}.\n\n",
            c.unmatched_models.join(", ")
        ));
    }
    for n in &c.notes {
        md.push_str(&format!("Note: {n}\n\n"));
    }
    md.push_str(&format!(
        "## Re-fitted workload\n\nPaste into the scenario for a forecast:\n\n```toml\n{}```\n",
        c.refit.toml()
    ));
    md
}
