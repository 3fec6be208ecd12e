//! The per-level table calibrate prints: p50/p90/p99 latencies, throughput and errors.

use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};

use crate::calibrate::summary::LevelSummary;

fn ms3(a: Option<f64>, b: Option<f64>, c: Option<f64>) -> String {
    let f = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |s| format!("{:.0}", s * 1e3));
    format!("{}/{}/{}", f(a), f(b), f(c))
}

/// One row per level; latencies in ms as p50/p90/p99.
pub fn levels(rows: &[LevelSummary]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "c",
        "prompt",
        "out",
        "ok/sent",
        "TTFT ms\np50/p90/p99",
        "TPOT ms\np50/p90/p99",
        "ITL ms\np50/p90/p99",
        "NTPOT\nms p50",
        "E2E s\np50/p99",
        "output\ntok/s",
        "errors",
    ]);
    for index in 0..11 {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    for r in rows {
        let opt = |v: Option<f64>, scale: f64, d: usize| {
            v.map_or_else(|| "—".to_string(), |x| format!("{:.d$}", x * scale))
        };
        let errors = if r.failed == 0 {
            "0".to_string()
        } else {
            format!("{} ({} throttled)", r.failed, r.throttled)
        };
        table.add_row(vec![
            r.concurrency.to_string(),
            r.prompt_tokens_target.to_string(),
            r.output_tokens_target.to_string(),
            format!("{}/{}", r.ok, r.sent),
            ms3(r.ttft_p50_s, r.ttft_p90_s, r.ttft_p99_s),
            ms3(r.tpot_p50_s, r.tpot_p90_s, r.tpot_p99_s),
            ms3(r.itl_p50_s, r.itl_p90_s, r.itl_p99_s),
            opt(r.ntpot_p50_s, 1e3, 1),
            format!("{}/{}", opt(r.e2e_p50_s, 1.0, 2), opt(r.e2e_p99_s, 1.0, 2)),
            opt(r.output_tokens_per_s, 1.0, 0),
            errors,
        ]);
    }
    table
}
