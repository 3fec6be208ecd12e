//! The report of a calibration run: speed and TTFT against concurrency over the fitted curves,
//! latency histograms, concurrency over time; the tables behind them as CSV and Parquet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::charts::calibration::{
    AgainstConcurrency, ConcurrencyOverTime, LevelHistograms, LevelSpread, SpreadSeries,
};
use super::charts::render;
use super::document::{Document, Figure, Section, TableBlock};
use super::ReportError;
use crate::calibrate::manifest::Manifest;
use crate::calibrate::record::RequestRecord;
use crate::calibrate::run_dir::read_records;
use crate::export::write_table;
use crate::files::{create_dir, load_profile, write_atomically};
use crate::perf::Profile;
use crate::stats::{quantile, quantile_sorted};

/// One level's spread, as charted and exported (`speed_by_level.csv`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeedRow {
    pub prompt_tokens_target: u32,
    pub concurrency: u32,
    pub requests_ok: u32,
    pub mean_input_tokens: f64,
    pub tokens_per_s_p25: f64,
    pub tokens_per_s_p50: f64,
    pub tokens_per_s_p75: f64,
    pub ttft_p25_s: f64,
    pub ttft_p50_s: f64,
    pub ttft_p75_s: f64,
    /// The fitted profile's p50 at this level (empty without a profile).
    pub fitted_tokens_per_s: Option<f64>,
    pub fitted_ttft_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct HistogramRow {
    metric: String,
    level: String,
    bin_low_s: f64,
    bin_high_s: f64,
    requests: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
struct InFlightRow {
    t_s: f64,
    in_flight: u32,
}

fn spread(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let q = |p| quantile_sorted(values, p).unwrap_or(f64::NAN);
    (q(0.25), q(0.5), q(0.75))
}

pub fn speed_rows(records: &[RequestRecord], profile: Option<&Profile>) -> Vec<SpeedRow> {
    let mut groups: BTreeMap<(u32, u32), Vec<&RequestRecord>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.is_measured() && r.is_ok()) {
        groups
            .entry((r.prompt_tokens_target, r.concurrency))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((prompt, c), rows)| {
            let mut tps: Vec<f64> = rows
                .iter()
                .filter_map(|r| r.tpot_s)
                .map(|t| 1.0 / t)
                .collect();
            let mut ttft: Vec<f64> = rows.iter().filter_map(|r| r.ttft_s).collect();
            let (t25, t50, t75) = spread(&mut tps);
            let (f25, f50, f75) = spread(&mut ttft);
            let mean_input =
                rows.iter().map(|r| r.input_tokens as f64).sum::<f64>() / rows.len() as f64;
            let output =
                rows.iter().map(|r| r.output_tokens as f64).sum::<f64>() / rows.len() as f64;
            let n = f64::from(c);
            SpeedRow {
                prompt_tokens_target: prompt,
                concurrency: c,
                requests_ok: rows.len() as u32,
                mean_input_tokens: mean_input,
                tokens_per_s_p25: t25,
                tokens_per_s_p50: t50,
                tokens_per_s_p75: t75,
                ttft_p25_s: f25,
                ttft_p50_s: f50,
                ttft_p75_s: f75,
                fitted_tokens_per_s: profile
                    .map(|p| 1.0 / p.model.tpot_median_s(n, n * (mean_input + output / 2.0))),
                fitted_ttft_s: profile.map(|p| p.model.ttft_median_s(n, mean_input)),
            }
        })
        .collect()
}

/// The sentence that reads the speed chart for one prompt size.
fn speed_reading(rows: &[&SpeedRow], label: &str) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let base = first.tokens_per_s_p50;
    if let Some(half) = rows.iter().find(|r| r.tokens_per_s_p50 <= 0.5 * base) {
        format!(
            "At {} concurrent requests, {label} prompts have lost half their speed: {:.0} → {:.0} tokens/s per request (p50) from {} request{}.",
            half.concurrency,
            base,
            half.tokens_per_s_p50,
            first.concurrency,
            if first.concurrency == 1 { "" } else { "s" }
        )
    } else {
        let last = rows.last().expect("non-empty");
        format!(
            "Up to {} concurrent requests, {label} prompts keep {:.0} % of their speed at {} ({:.0} → {:.0} tokens/s per request, p50).",
            last.concurrency,
            100.0 * last.tokens_per_s_p50 / base,
            first.concurrency,
            base,
            last.tokens_per_s_p50
        )
    }
}

pub struct ReportFiles {
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub figures: usize,
}

pub fn write(run: &Path, out: &Path) -> Result<ReportFiles, ReportError> {
    let records = read_records(&run.join("requests.csv"))?;
    if records.is_empty() {
        return Err(ReportError::NoRequests {
            requests: run.join("requests.csv"),
            run: run.to_path_buf(),
        });
    }
    let manifest: Option<Manifest> = std::fs::read_to_string(run.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let profile_path = run.join("profile.toml");
    let profile = if profile_path.exists() {
        Some(load_profile(&profile_path)?)
    } else {
        None
    };
    let charts = out.join("charts");
    let data = out.join("data");
    create_dir(&data)?;

    let rows = speed_rows(&records, profile.as_ref());
    write_table(&data, "speed_by_level", &rows)?;
    let mut by_prompt: BTreeMap<u32, Vec<&SpeedRow>> = BTreeMap::new();
    for row in &rows {
        by_prompt
            .entry(row.prompt_tokens_target)
            .or_default()
            .push(row);
    }
    let label = |prompt: u32, rows: &[&SpeedRow]| {
        let mean = rows.iter().map(|r| r.mean_input_tokens).sum::<f64>() / rows.len() as f64;
        format!("{prompt}-token ({mean:.0} measured)")
    };
    let series = |value: &dyn Fn(&SpeedRow) -> (f64, f64, f64),
                  fitted: &dyn Fn(&SpeedRow) -> Option<f64>| {
        by_prompt
            .iter()
            .map(|(prompt, rows)| SpreadSeries {
                label: label(*prompt, rows),
                levels: rows
                    .iter()
                    .map(|r| {
                        let (p25, p50, p75) = value(r);
                        LevelSpread {
                            concurrency: f64::from(r.concurrency),
                            p25,
                            p50,
                            p75,
                        }
                    })
                    .collect(),
                fitted: rows
                    .iter()
                    .filter_map(|r| fitted(r).map(|f| (f64::from(r.concurrency), f)))
                    .collect(),
            })
            .collect::<Vec<_>>()
    };
    let model = manifest
        .as_ref()
        .map_or("the model".to_string(), |m| m.model_id.clone());
    let speed_chart = AgainstConcurrency {
        title: format!("Tokens/s per request against concurrency — {model}"),
        y_label: "tokens/s per request (1/TPOT)".into(),
        series: series(
            &|r| (r.tokens_per_s_p25, r.tokens_per_s_p50, r.tokens_per_s_p75),
            &|r| r.fitted_tokens_per_s,
        ),
    };
    let ttft_chart = AgainstConcurrency {
        title: format!("Time to first token against concurrency — {model}"),
        y_label: "TTFT (s)".into(),
        series: series(&|r| (r.ttft_p25_s, r.ttft_p50_s, r.ttft_p75_s), &|r| {
            r.fitted_ttft_s
        }),
    };
    let speed_files = render(&speed_chart, &charts, "tokens_per_s_vs_concurrency")?;
    let ttft_files = render(&ttft_chart, &charts, "ttft_vs_concurrency")?;

    // Histograms: one outline per level.
    let measured: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| r.is_measured() && r.is_ok())
        .collect();
    let mut level_keys: Vec<(u32, u32)> = measured
        .iter()
        .map(|r| (r.prompt_tokens_target, r.concurrency))
        .collect();
    level_keys.sort();
    level_keys.dedup();
    let histogram = |metric: &str, value: &dyn Fn(&RequestRecord) -> Option<f64>| LevelHistograms {
        title: format!("{metric} per level — {model}"),
        x_label: format!("{metric} (s)"),
        levels: level_keys
            .iter()
            .map(|&(p, c)| {
                (
                    format!("c={c}, prompt {p}"),
                    measured
                        .iter()
                        .filter(|r| r.prompt_tokens_target == p && r.concurrency == c)
                        .filter_map(|r| value(r))
                        .collect(),
                )
            })
            .collect(),
        bins: 24,
    };
    let ttft_hist = histogram("TTFT", &|r| r.ttft_s);
    let tpot_hist = histogram("TPOT", &|r| r.tpot_s);
    let mut histogram_rows = Vec::new();
    for (metric, chart) in [("ttft", &ttft_hist), ("tpot", &tpot_hist)] {
        let (edges, counts) = chart.counts();
        for ((level, _), counts) in chart.levels.iter().zip(counts) {
            for (bin, count) in counts.into_iter().enumerate() {
                histogram_rows.push(HistogramRow {
                    metric: metric.into(),
                    level: level.clone(),
                    bin_low_s: edges[bin],
                    bin_high_s: edges[bin + 1],
                    requests: count,
                });
            }
        }
    }
    write_table(&data, "latency_histograms", &histogram_rows)?;
    let ttft_hist_files = render(&ttft_hist, &charts, "ttft_histograms")?;
    let tpot_hist_files = render(&tpot_hist, &charts, "tpot_histograms")?;

    let intervals: Vec<(f64, f64)> = records
        .iter()
        .map(|r| (r.sent_s, r.sent_s + r.e2e_s))
        .collect();
    let in_flight = ConcurrencyOverTime::from_intervals(
        format!("Requests in flight during the run — {model}"),
        &intervals,
    );
    write_table(
        &data,
        "concurrency_over_time",
        &in_flight
            .steps
            .iter()
            .map(|&(t_s, in_flight)| InFlightRow { t_s, in_flight })
            .collect::<Vec<_>>(),
    )?;
    let in_flight_files = render(&in_flight, &charts, "concurrency_over_time")?;

    // Readings, computed from the data.
    let speed_reading = by_prompt
        .iter()
        .map(|(p, rows)| speed_reading(rows, &format!("{p}-token")))
        .collect::<Vec<_>>()
        .join(" ");
    let ttft_reading = by_prompt
        .iter()
        .map(|(p, rows)| {
            let first = rows.first().expect("a level");
            let last = rows.last().expect("a level");
            format!(
                "For {p}-token prompts, p50 TTFT goes from {:.3} s at {} to {:.3} s at {} concurrent requests.",
                first.ttft_p50_s, first.concurrency, last.ttft_p50_s, last.concurrency
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let tail = |chart: &LevelHistograms, metric: &str| {
        let worst = chart
            .levels
            .iter()
            .filter(|l| l.1.len() >= 4)
            .map(|(label, values)| {
                let mut v = values.clone();
                let ratio =
                    quantile(&mut v, 0.99).unwrap_or(0.0) / quantile(&mut v, 0.5).unwrap_or(1.0);
                (ratio, label.clone())
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match worst {
            Some((ratio, label)) => {
                format!("The widest {metric} tail is at {label}: p99 is {ratio:.1}× the median.")
            }
            None => format!("Too few requests per level to read a {metric} tail."),
        }
    };
    let peak = in_flight.steps.iter().map(|s| s.1).max().unwrap_or(0);
    let duration = intervals.iter().map(|i| i.1).fold(0.0, f64::max);
    let in_flight_reading = format!(
        "The run held up to {peak} requests in flight and took {duration:.0} s; each plateau is one level."
    );

    let table = TableBlock {
        caption: "Per level (measured requests; tokens/s per request = 1/TPOT). Exported as data/speed_by_level.csv and .parquet.".into(),
        header: ["prompt", "concurrency", "ok", "tokens/s p50", "fitted tokens/s", "TTFT p50 s", "fitted TTFT s"]
            .map(String::from)
            .to_vec(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.prompt_tokens_target.to_string(),
                    r.concurrency.to_string(),
                    r.requests_ok.to_string(),
                    format!("{:.1}", r.tokens_per_s_p50),
                    r.fitted_tokens_per_s.map_or("—".into(), |v| format!("{v:.1}")),
                    format!("{:.3}", r.ttft_p50_s),
                    r.fitted_ttft_s.map_or("—".into(), |v| format!("{v:.3}")),
                ]
            })
            .collect(),
    };
    let counts = manifest.as_ref().map(|m| m.counts);
    let figure = |title: &str, files: &super::charts::ChartFiles, reading: String| Figure {
        title: title.into(),
        png: files.png.clone(),
        svg: files.svg.clone(),
        reading,
    };
    let doc = Document {
        title: format!("Calibration report — {model}"),
        intro: vec![match &manifest {
            Some(m) => format!(
                "Target {} ({}), started {}, status {}; sweep: {:?} mode, concurrency {:?}, prompts {:?} tokens, outputs {:?} tokens, {} requests per level.",
                m.target, m.endpoint, m.started_at, m.status, m.sweep.mode, m.sweep.concurrency,
                m.sweep.prompt_tokens, m.sweep.output_tokens, m.sweep.requests_per_level
            ),
            None => format!("Records from {}.", run.display()),
        }],
        sections: vec![
            Section {
                heading: "For architects: how speed decays with load".into(),
                figures: vec![
                    figure("Tokens/s per request against concurrency.", &speed_files, speed_reading),
                    figure("TTFT against concurrency.", &ttft_files, ttft_reading),
                ],
                tables: vec![table],
                ..Section::default()
            },
            Section {
                heading: "For engineers: tails, errors and the load applied".into(),
                paragraphs: counts
                    .map(|c| {
                        vec![format!(
                            "{} requests sent = {} ok + {} failed ({} throttled); {} warm-up and {} cool-down requests are excluded from the figures above.",
                            c.sent, c.ok, c.failed, c.throttled, c.warmup, c.cooldown
                        )]
                    })
                    .unwrap_or_default(),
                figures: vec![
                    figure("TTFT histograms per level.", &ttft_hist_files, tail(&ttft_hist, "TTFT")),
                    figure("TPOT histograms per level.", &tpot_hist_files, tail(&tpot_hist, "TPOT")),
                    figure("Requests in flight over time.", &in_flight_files, in_flight_reading),
                ],
                ..Section::default()
            },
            Section {
                heading: "For finance: what the run consumed".into(),
                paragraphs: vec![format!(
                    "The run used {} input and {} output tokens (server counts where reported). `llmcap plan` turns a profile like this run's into monthly cost.",
                    records.iter().map(|r| r.input_tokens).sum::<u64>(),
                    records.iter().map(|r| r.output_tokens).sum::<u64>()
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
        figures: 5,
    })
}
