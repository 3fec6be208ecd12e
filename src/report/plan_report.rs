//! The report of a plan (from its plan.json): latency against users with the SLO and knee, TPM
//! against quota, cost against volume with the break-even points, and the budget waterfalls;
//! the tables behind them as CSV and Parquet.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::charts::plan::{
    BudgetWaterfall, CostAgainstVolume, CostLine, LatencyAgainstUsers, LatencySeries,
    TpmAgainstQuota, TpmSeries,
};
use super::charts::{render, ChartFiles};
use super::document::{Document, Figure, Section, TableBlock};
use super::export::write_table;
use super::run_report::ReportFiles;
use crate::files::write_atomically;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurveRow {
    pub option: String,
    pub users: f64,
    pub ttft_p95_s: f64,
    pub tpot_p95_s: f64,
    pub error_rate: f64,
    pub meets_slo: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TpmRow {
    pub option: String,
    pub minute: f64,
    pub tpm_reserved: f64,
    pub tpm_charged: f64,
    pub quota_tpm: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostRow {
    pub option: String,
    pub fixed_monthly_usd: f64,
    pub per_request_usd: f64,
    pub monthly_usd_at_plan: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetRow {
    pub option: String,
    pub step: String,
    pub monthly_usd: f64,
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn usd(v: f64) -> String {
    let whole = v.round() as i64;
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("${}{grouped}", if whole < 0 { "-" } else { "" })
}

pub fn write(plan_dir: &Path, out: &Path) -> Result<ReportFiles> {
    let path = plan_dir.join("plan.json");
    let plan: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?,
    )
    .with_context(|| format!("{} is not a plan written by `llmcap plan`", path.display()))?;
    let options = plan["options"].as_array().cloned().unwrap_or_default();
    let charts = out.join("charts");
    let data = out.join("data");
    std::fs::create_dir_all(&data)?;
    let slo_ttft = plan["slo"]["ttft_p95_s"].as_f64().unwrap_or(0.5);
    let monthly_requests = num(&plan, "monthly_requests");

    // Capacity: latency against users.
    let mut curve_rows = Vec::new();
    let mut latency = Vec::new();
    for option in &options {
        let name = text(option, "name");
        let scale = option["curve_scale"].as_f64().unwrap_or(1.0);
        let mut points = Vec::new();
        for p in option["curve"].as_array().into_iter().flatten() {
            let users = num(p, "users") * scale;
            curve_rows.push(CurveRow {
                option: name.clone(),
                users,
                ttft_p95_s: num(p, "ttft_p95_s"),
                tpot_p95_s: num(p, "tpot_p95_s"),
                error_rate: num(p, "error_rate"),
                meets_slo: p["meets_slo"].as_bool().unwrap_or(false),
            });
            points.push((users, num(p, "ttft_p95_s")));
        }
        latency.push(LatencySeries {
            name: name.clone(),
            points,
            knee_users: num(option, "knee_users"),
        });
    }
    write_table(&data, "latency_vs_users", &curve_rows)?;
    let latency_chart = LatencyAgainstUsers {
        title: "Simulated p95 TTFT against peak-hour users".into(),
        slo_ttft_p95_s: slo_ttft,
        series: latency,
    };
    let latency_files = render(&latency_chart, &charts, "latency_vs_users")?;
    let capacity_reading = options
        .iter()
        .map(|o| {
            format!(
                "{} meets the SLO up to {:.0} peak-hour users; plan for {:.0}.",
                text(o, "name"),
                num(o, "knee_users"),
                num(o, "planned_users")
            )
        })
        .collect::<Vec<_>>()
        .join(" ");

    // Quota: TPM per minute at the peak.
    let mut tpm_rows = Vec::new();
    let mut tpm_series = Vec::new();
    let mut quota_sentences = Vec::new();
    for option in &options {
        let Some(quota) = option.get("quota").filter(|q| q.is_object()) else {
            continue;
        };
        let name = text(option, "name");
        let quota_tpm = num(quota, "current_tpm");
        let mut minutes = Vec::new();
        for m in option["peak_minutes"].as_array().into_iter().flatten() {
            tpm_rows.push(TpmRow {
                option: name.clone(),
                minute: num(m, "minute"),
                tpm_reserved: num(m, "tpm_reserved"),
                tpm_charged: num(m, "tpm_charged"),
                quota_tpm,
            });
            minutes.push((num(m, "minute"), num(m, "tpm_reserved")));
        }
        let peak = num(quota, "peak_tpm_reserved");
        quota_sentences.push(format!(
            "At the planned peak, {name} reserves up to {:.0} TPM (p99 minute) against a quota of {:.0} ({:.0} %).",
            peak,
            quota_tpm,
            100.0 * peak / quota_tpm
        ));
        tpm_series.push(TpmSeries {
            name,
            minutes,
            quota_tpm,
        });
    }
    write_table(&data, "tpm_per_minute", &tpm_rows)?;
    let tpm_files = render(
        &TpmAgainstQuota {
            title: "Tokens per minute reserved at the planned peak, against the quota".into(),
            series: tpm_series,
        },
        &charts,
        "tpm_vs_quota",
    )?;

    // Cost against volume: each option's line through its planned point (plan.json's
    // monthly_fixed_usd is the part that does not follow volume).
    let mut cost_rows = Vec::new();
    let mut lines = Vec::new();
    for option in &options {
        let name = text(option, "name");
        // On-demand cost of the simulated tokens (system prompt and history included), the
        // figure the break-even points are computed from.
        let monthly = num(option, "monthly_on_demand_usd");
        // Bedrock and serverless bill per request; an always-on fleet bills its hours; an
        // autoscaled one its minimum around the clock plus hours that follow traffic.
        let fixed = option
            .get("monthly_fixed_usd")
            .and_then(Value::as_f64)
            // Plans written before the field: fleets were all fixed cost.
            .unwrap_or(if matches!(text(option, "kind").as_str(), "sagemaker") {
                monthly
            } else {
                0.0
            });
        let per_request = (monthly - fixed).max(0.0) / monthly_requests;
        cost_rows.push(CostRow {
            option: name.clone(),
            fixed_monthly_usd: fixed,
            per_request_usd: per_request,
            monthly_usd_at_plan: monthly,
        });
        lines.push(CostLine {
            name,
            fixed_usd: fixed,
            per_request_usd: per_request,
        });
    }
    write_table(&data, "cost_vs_volume", &cost_rows)?;
    let crossovers: Vec<(f64, f64, String)> = plan["break_even"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| {
            let v = b["crossover_requests_per_month"].as_f64()?;
            let dedicated = text(b, "dedicated");
            let line = cost_rows.iter().find(|c| c.option == dedicated)?;
            let cost = line.fixed_monthly_usd + line.per_request_usd * v;
            Some((
                v,
                cost,
                format!("{} vs {}", text(b, "per_token"), dedicated),
            ))
        })
        .collect();
    let volume_max = crossovers
        .iter()
        .map(|c| c.0 * 1.3)
        .fold(monthly_requests * 3.0, f64::max);
    let cost_reading = if crossovers.is_empty() {
        "No option pair crosses within the range shown.".to_string()
    } else {
        crossovers
            .iter()
            .map(|(v, cost, label)| {
                format!(
                    "{label}: the lines cross at {:.1} M requests a month ({}), {:.1}× this scenario's volume.",
                    v / 1e6,
                    usd(*cost),
                    v / monthly_requests
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let cost_files = render(
        &CostAgainstVolume {
            title: "Monthly cost against volume (on-demand prices, simulated usage)".into(),
            lines,
            volume_max,
            crossovers,
            planned_volume: monthly_requests,
        },
        &charts,
        "cost_vs_volume",
    )?;

    // Budgets: one waterfall per option.
    let mut budget_rows = Vec::new();
    let mut budget_figures = Vec::new();
    for (i, option) in options.iter().enumerate() {
        let name = text(option, "name");
        let budget = &option["budget"];
        let list = num(budget, "list_monthly_usd");
        let steps: Vec<(String, f64)> = budget["shares"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| (text(s, "factor"), num(s, "usd")))
            .collect();
        budget_rows.push(BudgetRow {
            option: name.clone(),
            step: "list price".into(),
            monthly_usd: list,
        });
        for (factor, amount) in &steps {
            budget_rows.push(BudgetRow {
                option: name.clone(),
                step: factor.clone(),
                monthly_usd: *amount,
            });
        }
        let (p50, p90) = (
            num(budget, "p50_monthly_usd"),
            num(budget, "p90_monthly_usd"),
        );
        budget_rows.push(BudgetRow {
            option: name.clone(),
            step: "P50".into(),
            monthly_usd: p50,
        });
        budget_rows.push(BudgetRow {
            option: name.clone(),
            step: "P90".into(),
            monthly_usd: p90,
        });
        let largest = steps
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(f, v)| format!(" The largest addition is {f} ({}).", usd(*v)))
            .unwrap_or_default();
        let files = render(
            &BudgetWaterfall {
                title: format!("Budget: list price to realistic — {name}"),
                list_usd: list,
                steps,
                p50_usd: p50,
                p90_usd: p90,
            },
            &charts,
            &format!("budget_waterfall_{}", i + 1),
        )?;
        budget_figures.push(Figure {
            title: format!("Budget waterfall, {name}."),
            png: files.png.clone(),
            svg: files.svg.clone(),
            reading: format!(
                "{name}: {} a month at list price becomes {} at P50 and {} at P90 ({:.2}× list at P50).{largest}",
                usd(list),
                usd(p50),
                usd(p90),
                num(budget, "multiplier_p50")
            ),
        });
    }
    write_table(&data, "budget_waterfall", &budget_rows)?;

    let figure = |title: &str, files: &ChartFiles, reading: String| Figure {
        title: title.into(),
        png: files.png.clone(),
        svg: files.svg.clone(),
        reading,
    };
    let cost_table = TableBlock {
        caption: "Monthly cost per option at on-demand prices for the simulated usage (system prompt and history included). Exported as data/cost_vs_volume.csv and .parquet.".into(),
        header: ["option", "fixed USD/month", "USD per request", "USD/month at plan"].map(String::from).to_vec(),
        rows: cost_rows
            .iter()
            .map(|c| {
                vec![
                    c.option.clone(),
                    format!("{:.2}", c.fixed_monthly_usd),
                    format!("{:.6}", c.per_request_usd),
                    format!("{:.2}", c.monthly_usd_at_plan),
                ]
            })
            .collect(),
    };
    let mut finance = vec![figure(
        "Monthly cost against volume.",
        &cost_files,
        cost_reading,
    )];
    finance.extend(budget_figures);
    let doc = Document {
        title: format!("Deployment plan — {}", text(&plan, "scenario")),
        intro: plan["assumptions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(|s| format!("Assumption: {s}")))
            .collect(),
        sections: vec![
            Section {
                heading: "For architects: users supported".into(),
                figures: vec![figure(
                    "p95 TTFT against users, with the SLO and each knee.",
                    &latency_files,
                    capacity_reading,
                )],
                ..Section::default()
            },
            Section {
                heading: "For finance: cost, break-even and the realistic budget".into(),
                figures: finance,
                tables: vec![cost_table],
                ..Section::default()
            },
            Section {
                heading: "For engineers: quota".into(),
                paragraphs: vec![
                    "The quota-increase justifications are the quota-*.md files beside plan.json."
                        .into(),
                ],
                figures: vec![figure(
                    "TPM per minute at the planned peak, against the quota.",
                    &tpm_files,
                    quota_sentences.join(" "),
                )],
                ..Section::default()
            },
        ],
    };
    let markdown = out.join("report.md");
    let html = out.join("report.html");
    write_atomically(&markdown, &doc.markdown(out))?;
    write_atomically(&html, &doc.html()?)?;
    Ok(ReportFiles {
        html,
        markdown,
        figures: 3 + options.len(),
    })
}
