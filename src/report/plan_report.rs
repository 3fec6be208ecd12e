//! The report of a plan (from its plan.json): latency against users with the SLO and knee, TPM
//! against quota, cost against volume with the break-even points, and the budget waterfalls;
//! the tables behind them as CSV and Parquet.

use std::path::Path;

use serde::Serialize;

use super::charts::plan::{
    BudgetWaterfall, CostAgainstVolume, CostCurveSeries, LatencyAgainstUsers, LatencySeries,
    TpmAgainstQuota, TpmSeries,
};
use super::charts::{render, ChartFiles};
use super::document::{Document, Figure, Section, TableBlock};
use super::plan_text::{break_even_sentence, capacity_notes, profile_lines, summary_rows};
use super::quota_request::ask_sentences;
use super::run_report::ReportFiles;
use super::ReportError;
use crate::export::write_table;
use crate::files::write_atomically;
use crate::format::{thousands, usd};
use crate::plan::Plan;

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
    /// A line's fixed part and slope (zero for an always-on fleet, which is a staircase).
    pub fixed_monthly_usd: f64,
    pub per_request_usd: f64,
    /// An always-on fleet's step: one instance's month and the requests it carries.
    pub usd_per_instance_month: Option<f64>,
    pub requests_per_instance_month: Option<f64>,
    pub monthly_usd_at_plan: f64,
}

/// One Bedrock option's month under one tier (data/tiers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierRow {
    pub option: String,
    pub tier: String,
    pub monthly_usd: f64,
    pub fits_workload: bool,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BudgetRow {
    pub option: String,
    pub step: String,
    pub monthly_usd: f64,
}

/// Reads a plan.json written by `llmcap plan` back into the planner's types.
pub fn read_plan(plan_dir: &Path) -> Result<Plan, ReportError> {
    let path = plan_dir.join("plan.json");
    let text = std::fs::read_to_string(&path).map_err(|e| ReportError::Plan {
        path: path.clone(),
        why: format!("cannot read it: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| ReportError::Plan {
        path,
        why: format!(
            "not a plan written by this version of `llmcap plan` ({e}); run `llmcap plan` again"
        ),
    })
}

pub fn write(plan: &Plan, out: &Path) -> Result<ReportFiles, ReportError> {
    let options = &plan.options;
    let charts = out.join("charts");
    let data = out.join("data");
    std::fs::create_dir_all(&data).map_err(|cause| ReportError::Directory {
        path: data.clone(),
        cause,
    })?;
    let slo_ttft = plan.slo.ttft_p95_s;

    // Capacity: latency against users.
    let mut curve_rows = Vec::new();
    let mut latency = Vec::new();
    for option in options {
        let scale = f64::from(option.curve_scale);
        let mut points = Vec::new();
        for p in &option.curve {
            let users = f64::from(p.users) * scale;
            curve_rows.push(CurveRow {
                option: option.name.clone(),
                users,
                ttft_p95_s: p.ttft_p95_s,
                tpot_p95_s: p.tpot_p95_s,
                error_rate: p.error_rate,
                meets_slo: p.meets_slo,
            });
            points.push((users, p.ttft_p95_s));
        }
        latency.push(LatencySeries {
            name: option.name.clone(),
            points,
            knee_users: f64::from(option.knee_users),
            knee_at_limit: option.knee_at_search_limit,
        });
    }
    write_table(&data, "latency_vs_users", &curve_rows)?;
    let latency_chart = LatencyAgainstUsers {
        title: "Simulated p95 TTFT against peak-hour users".into(),
        slo_ttft_p95_s: slo_ttft,
        peak_users: f64::from(plan.peak_users),
        series: latency,
    };
    let latency_files = render(&latency_chart, &charts, "latency_vs_users")?;
    let capacity_reading = options
        .iter()
        .map(|o| {
            format!(
                "{} meets the SLO up to {}{} peak-hour users; plan for {}.",
                o.name,
                if o.knee_at_search_limit {
                    "at least "
                } else {
                    ""
                },
                thousands(f64::from(o.knee_users)),
                thousands(f64::from(o.planned_users))
            )
        })
        .chain(capacity_notes(plan))
        .collect::<Vec<_>>()
        .join(" ");

    // Quota: TPM per minute at the peak.
    let mut tpm_rows = Vec::new();
    let mut tpm_series = Vec::new();
    let mut quota_sentences = Vec::new();
    for option in options {
        let Some(quota) = &option.quota else {
            continue;
        };
        let main = quota.main_check();
        let quota_tpm = main.current;
        let mut minutes = Vec::new();
        for m in &option.peak_minutes {
            tpm_rows.push(TpmRow {
                option: option.name.clone(),
                minute: f64::from(m.minute),
                tpm_reserved: m.main_figure(quota.endpoint),
                tpm_charged: m.tpm_charged,
                quota_tpm,
            });
            minutes.push((f64::from(m.minute), m.main_figure(quota.endpoint)));
        }
        quota_sentences.push(format!(
            "At the peak, {} uses {} against a quota of {} ({:.0} %). {}",
            option.name,
            super::quota_request::p99_phrase(main),
            thousands(quota_tpm),
            100.0 * main.peak_p99_minute / quota_tpm,
            ask_sentences(quota)
        ));
        tpm_series.push(TpmSeries {
            name: option.name.clone(),
            minutes,
            quota_tpm,
        });
    }
    write_table(&data, "tpm_per_minute", &tpm_rows)?;
    let tpm_files = render(
        &TpmAgainstQuota {
            title: "Tokens per minute reserved at the peak (after the warm-up), against the quota"
                .into(),
            series: tpm_series,
        },
        &charts,
        "tpm_vs_quota",
    )?;

    let (cost_files, cost_reading, cost_table) = cost_against_volume(plan, &data, &charts)?;

    // Budgets: one waterfall per option.
    let mut budget_rows = Vec::new();
    let mut budget_figures = Vec::new();
    for (i, option) in options.iter().enumerate() {
        let name = option.name.clone();
        let budget = &option.budget;
        let list = budget.list_monthly_usd;
        let steps: Vec<(String, f64)> = budget
            .shares
            .iter()
            .map(|s| (s.factor.clone(), s.usd))
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
        let (p50, p90) = (budget.p50_monthly_usd, budget.p90_monthly_usd);
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
                budget.multiplier_p50
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
    // Bedrock tiers: the same month at each way AWS sells it, and whether reserving pays.
    let tier_rows: Vec<TierRow> = options
        .iter()
        .flat_map(|o| {
            o.tiers.iter().map(|t| TierRow {
                option: o.name.clone(),
                tier: t.tier.label().to_string(),
                monthly_usd: t.monthly_usd,
                fits_workload: t.fits_workload,
                note: t.note.clone(),
            })
        })
        .collect();
    write_table(&data, "tiers", &tier_rows)?;
    let tier_table = TableBlock {
        caption: "Each Bedrock option's month under every tier its model is sold in (the same tokens; Flex and Batch do not suit interactive traffic). Exported as data/tiers.csv and .parquet.".into(),
        header: ["option", "tier", "USD/month", "for this workload", "note"].map(String::from).to_vec(),
        rows: tier_rows
            .iter()
            .map(|t| {
                vec![
                    t.option.clone(),
                    t.tier.clone(),
                    thousands(t.monthly_usd),
                    if t.fits_workload { "yes" } else { "no" }.to_string(),
                    t.note.clone(),
                ]
            })
            .collect(),
    };
    let reserve_paragraphs: Vec<String> = options
        .iter()
        .filter_map(|o| {
            o.reserve.as_ref().map(|r| {
                format!(
                    "{}: {}",
                    o.name,
                    crate::report::plan_text::reserve_sentence(r, o.monthly_requests)
                )
            })
        })
        .collect();
    let mut finance = vec![figure(
        "Monthly cost against volume.",
        &cost_files,
        cost_reading,
    )];
    finance.extend(budget_figures);
    let doc = Document {
        title: format!("Deployment plan — {}", plan.scenario),
        intro: plan
            .assumptions
            .iter()
            .map(|a| format!("Assumption: {a}"))
            .collect(),
        sections: vec![
            Section {
                heading: "For architects: users supported".into(),
                paragraphs: options
                    .iter()
                    .map(|o| {
                        let serves = match &o.hosting {
                            Some(h) => format!("{} serves {} on {}: {}.", o.name, o.model, o.service, h.reading),
                            None => format!("{} serves {} on {}.", o.name, o.model, o.service),
                        };
                        let reach: Vec<String> = profile_lines(o).iter().map(|l| format!(" Its {l}.")).collect();
                        format!("{serves}{}", reach.concat())
                    })
                    .collect(),
                tables: vec![{
                    let (header, rows) = summary_rows(plan);
                    TableBlock {
                        caption: "Each option at a glance: users supported, the SLO at the scenario's peak, quota and monthly cost (the same table as plan.md and the terminal).".into(),
                        header,
                        rows,
                    }
                }],
                figures: vec![figure(
                    "p95 TTFT against users, with the SLO and each knee.",
                    &latency_files,
                    capacity_reading,
                )],
            },
            Section {
                heading: "For finance: cost, break-even and the realistic budget".into(),
                paragraphs: reserve_paragraphs,
                figures: finance,
                tables: vec![cost_table, tier_table],
            },
            Section {
                heading: "For engineers: quota".into(),
                paragraphs: vec![
                    "Each Bedrock option's quota document (quota-*.md beside plan.json) states current against needed for every quota, and asks only where the simulated peak throttles at the current value."
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

/// Cost against volume: each option's curve as it is bought (a fleet's staircase of whole
/// instances, a per-request line), every break-even crossing marked, data/cost_vs_volume.
fn cost_against_volume(
    plan: &Plan,
    data: &Path,
    charts: &Path,
) -> Result<(ChartFiles, String, TableBlock), ReportError> {
    let options = &plan.options;
    let monthly_requests = plan.monthly_requests;
    let mut cost_rows = Vec::new();
    let mut curves = Vec::new();
    for option in options {
        let line = option.cost_line();
        let steps = option.fleet_steps;
        cost_rows.push(CostRow {
            option: option.name.clone(),
            fixed_monthly_usd: if steps.is_some() { 0.0 } else { line.fixed_usd },
            per_request_usd: if steps.is_some() {
                0.0
            } else {
                line.per_request_usd
            },
            usd_per_instance_month: steps.map(|s| s.usd_per_instance_month),
            requests_per_instance_month: steps.map(|s| s.requests_per_instance_month),
            monthly_usd_at_plan: option.monthly_on_demand_usd,
        });
        curves.push(CostCurveSeries {
            name: option.name.clone(),
            curve: option.cost_curve(),
        });
    }
    write_table(data, "cost_vs_volume", &cost_rows)?;
    let crossovers: Vec<(f64, f64, String)> = plan
        .break_even
        .iter()
        .flat_map(|b| {
            let dedicated = options.iter().find(|o| o.name == b.dedicated);
            b.crossings.iter().filter_map(move |c| {
                let v = c.requests_per_month;
                Some((
                    v,
                    dedicated?.cost_curve().at(v),
                    format!("{} vs {}", b.per_request, b.dedicated),
                ))
            })
        })
        .collect();
    let volume_max = crossovers
        .iter()
        .map(|c| c.0 * 3.0)
        .fold(monthly_requests * 10.0, f64::max);
    let cost_reading = if plan.break_even.is_empty() {
        "No two options serve the same model, so no break-even is shown.".to_string()
    } else {
        plan.break_even
            .iter()
            .map(|b| break_even_sentence(b, monthly_requests))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let cost_files = render(
        &CostAgainstVolume {
            title: "Monthly cost against volume (on-demand prices, simulated usage; fleets by whole instances)".into(),
            lines: curves,
            volume_min: monthly_requests / 10.0,
            volume_max,
            crossovers,
            planned_volume: monthly_requests,
        },
        charts,
        "cost_vs_volume",
    )?;
    let money =
        |x: Option<f64>, digits: usize| x.map_or("—".to_string(), |x| format!("{x:.digits$}"));
    let cost_table = TableBlock {
        caption: "Monthly cost per option at on-demand prices for the simulated usage (system prompt and history included): a line (fixed + USD per request) or, for an always-on fleet, whole instances (one instance's month and the requests it carries at the SLO). Exported as data/cost_vs_volume.csv and .parquet.".into(),
        header: [
            "option",
            "fixed USD/month",
            "USD per request",
            "USD per instance-month",
            "requests per instance-month",
            "USD/month at plan",
        ]
        .map(String::from)
        .to_vec(),
        rows: cost_rows
            .iter()
            .map(|c| {
                vec![
                    c.option.clone(),
                    format!("{:.2}", c.fixed_monthly_usd),
                    format!("{:.6}", c.per_request_usd),
                    money(c.usd_per_instance_month, 2),
                    money(c.requests_per_instance_month, 0),
                    format!("{:.2}", c.monthly_usd_at_plan),
                ]
            })
            .collect(),
    };
    Ok((cost_files, cost_reading, cost_table))
}
