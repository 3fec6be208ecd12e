//! Terminal tables (comfy-table) for fits and predictions.

use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};

use crate::perf::fit::{CandidateScore, LevelFit};
use crate::perf::predict::Metric;
use crate::perf::Prediction;

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    for index in 0..header.len() {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.decimals$}"))
}

fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:+.1}"))
}

/// Measured against predicted, one row per level.
pub fn level_fits(rows: &[LevelFit]) -> Table {
    let mut t = table(&[
        "concurrency",
        "prompt tok",
        "output tok",
        "tok/s/req measured",
        "tok/s/req predicted",
        "error %",
        "TTFT s measured",
        "TTFT s predicted",
        "error %",
    ]);
    for r in rows {
        t.add_row(vec![
            format!("{}", r.concurrency),
            format!("{}", r.prompt_tokens),
            format!("{}", r.output_tokens),
            optional(r.measured_tps_per_request, 1),
            format!("{:.1}", r.predicted_tps_per_request),
            signed(r.tps_error_pct),
            optional(r.measured_ttft_s, 3),
            format!("{:.3}", r.predicted_ttft_s),
            signed(r.ttft_error_pct),
        ]);
    }
    t
}

pub fn candidates(rows: &[CandidateScore]) -> Table {
    let mut t = table(&[
        "metric",
        "form",
        "parameters",
        "in-sample RMS %",
        "leave-one-level-out RMS %",
        "chosen",
    ]);
    for r in rows {
        t.add_row(vec![
            r.metric.clone(),
            r.form.clone(),
            r.parameters.to_string(),
            format!("{:.2}", r.in_sample_rms_pct),
            optional(r.leave_one_level_out_rms_pct, 2),
            if r.chosen { "✔" } else { "" }.to_string(),
        ]);
    }
    t
}

/// The server model's candidates: sharing policy × batch limit.
pub fn server_candidates(rows: &[crate::perf::server::fit::ServerCandidate]) -> Table {
    let mut t = table(&[
        "prefill sharing",
        "batch limit B",
        "parameters",
        "in-sample RMS %",
        "corrected RMS %",
        "chosen",
    ]);
    for r in rows {
        t.add_row(vec![
            r.sharing.clone(),
            r.max_batch
                .map_or("none".to_string(), |b| format!("{b:.0}")),
            r.parameters.to_string(),
            format!("{:.2}", r.in_sample_rms_pct),
            format!("{:.2}", r.corrected_rms_pct),
            if r.chosen { "✔" } else { "" }.to_string(),
        ]);
    }
    t
}

/// A figure, with its 90 % interval when it has one: `0.874 (0.61–1.25)`.
fn with_band(
    value: f64,
    band: Option<crate::perf::server::interval::Band>,
    digits: usize,
) -> String {
    match band {
        Some(b) if b.identified() => {
            format!("{value:.digits$} ({:.digits$}–{:.digits$})", b.low, b.high)
        }
        Some(_) => format!("{value:.digits$} (not identified from these measurements)"),
        None => format!("{value:.digits$}"),
    }
}

pub fn predictions(rows: &[Prediction]) -> Table {
    let mut t = table(&[
        "concurrency",
        "prompt tok",
        "output tok",
        "TTFT p50 s (90 %)",
        "TPOT p50 s (90 %)",
        "tok/s per request",
        "system tok/s",
        "extrapolated",
    ]);
    for p in rows {
        t.add_row(vec![
            format!("{}", p.concurrency),
            format!("{}", p.prompt_tokens),
            format!("{}", p.output_tokens),
            measured_or_not(
                p,
                Metric::Ttft,
                with_band(p.ttft_p50_s(), p.ttft_p50_band, 3),
            ),
            measured_or_not(
                p,
                Metric::Tpot,
                with_band(p.tpot_p50_s(), p.tpot_p50_band, 5),
            ),
            format!("{:.1}", p.tps_per_request()),
            format!("{:.0}", p.system_tps()),
            if p.extrapolated { "yes" } else { "no" }.to_string(),
        ]);
    }
    t
}

/// A figure the profile never measured reads so, its prior-driven value beside it.
fn measured_or_not(p: &Prediction, metric: Metric, cell: String) -> String {
    if p.not_measured.contains(&metric) {
        format!("not measured (prior {cell})")
    } else {
        cell
    }
}

/// Latency percentiles of a simulation.
pub fn latencies(r: &crate::sim::SimResult) -> Table {
    let mut t = table(&["latency (s)", "p50", "p90", "p95", "p99", "mean"]);
    for (name, p) in [
        ("TTFT", &r.ttft_s),
        ("TPOT", &r.tpot_s),
        ("E2E", &r.e2e_s),
        ("queue wait", &r.queue_wait_s),
    ] {
        t.add_row(vec![
            name.to_string(),
            format!("{:.4}", p.p50),
            format!("{:.4}", p.p90),
            format!("{:.4}", p.p95),
            format!("{:.4}", p.p99),
            format!("{:.4}", p.mean),
        ]);
    }
    t
}

/// Counts, tokens and capacity of a simulation.
pub fn outcomes(r: &crate::sim::SimResult) -> Table {
    let mut t = table(&["measure", "value"]);
    let rows = [
        ("requests resolved", r.requests.to_string()),
        ("completed", r.completed.to_string()),
        ("throttled attempts (429/503)", r.throttled.to_string()),
        ("retries", r.retries.to_string()),
        (
            "failed (gave up)",
            format!("{} ({:.2} %)", r.failed, r.error_rate * 100.0),
        ),
        ("timeouts", r.timeouts.to_string()),
        (
            "goodput within SLO (req/s)",
            format!("{:.2}", r.goodput_per_s),
        ),
        ("input tokens", format!("{:.0}", r.input_tokens)),
        ("output tokens", format!("{:.0}", r.output_tokens)),
        (
            "TPM charged, p99 minute",
            format!("{:.0}", r.tpm_percentile(0.99)),
        ),
        ("RPM, p99 minute", format!("{:.0}", r.rpm_percentile(0.99))),
        ("instance-hours", format!("{:.2}", r.instance_hours)),
    ];
    for (name, value) in rows {
        t.add_row(vec![name.to_string(), value]);
    }
    t
}
