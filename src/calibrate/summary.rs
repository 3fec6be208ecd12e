//! Per-level statistics of a run, from its records (warm-up excluded): what the level table
//! prints and `levels.csv` holds.

use serde::Serialize;

use super::delivered::delivered_tokens_per_s;
use super::record::RequestRecord;
use super::sweep::LevelSpec;
use crate::stats::quantile_sorted;

/// p50/p90/p99 of one metric (nearest rank, see [`crate::stats`]); non-finite values are
/// left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        Spread {
            p50: quantile_sorted(&sorted, 0.50),
            p90: quantile_sorted(&sorted, 0.90),
            p99: quantile_sorted(&sorted, 0.99),
        }
    }
}

/// One level, flattened for CSV/Parquet (times in seconds).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelSummary {
    pub level: u32,
    pub concurrency: u32,
    pub prompt_tokens_target: u32,
    pub output_tokens_target: u32,
    pub sent: u64,
    pub ok: u64,
    pub throttled: u64,
    pub failed: u64,
    pub early_stops: u64,
    pub mean_input_tokens: Option<f64>,
    pub ttft_p50_s: Option<f64>,
    pub ttft_p90_s: Option<f64>,
    pub ttft_p99_s: Option<f64>,
    pub tpot_p50_s: Option<f64>,
    pub tpot_p90_s: Option<f64>,
    pub tpot_p99_s: Option<f64>,
    pub itl_p50_s: Option<f64>,
    pub itl_p90_s: Option<f64>,
    pub itl_p99_s: Option<f64>,
    pub ntpot_p50_s: Option<f64>,
    pub e2e_p50_s: Option<f64>,
    pub e2e_p90_s: Option<f64>,
    pub e2e_p99_s: Option<f64>,
    /// Output tokens/s the endpoint delivered while the level's measured requests were in
    /// flight, counting the warm-up and cool-down requests that shared it (`delivered`).
    pub output_tokens_per_s: Option<f64>,
    /// Median of 1/TPOT: what one user sees while text streams.
    pub tokens_per_s_per_request_p50: Option<f64>,
}

/// Summaries for the levels that have measured (non-warm-up) requests, in level order.
pub fn summarize(levels: &[LevelSpec], records: &[RequestRecord]) -> Vec<LevelSummary> {
    levels
        .iter()
        .filter_map(|level| {
            let all: Vec<&RequestRecord> =
                records.iter().filter(|r| r.level == level.index).collect();
            let rows: Vec<&RequestRecord> =
                all.iter().copied().filter(|r| r.is_measured()).collect();
            (!rows.is_empty()).then(|| summarize_level(level, &rows, &all))
        })
        .collect()
}

/// `rows`: the level's measured requests; `all`: every record of the level (warm-up and
/// cool-down ones deliver tokens while the measured ones run).
fn summarize_level(
    level: &LevelSpec,
    rows: &[&RequestRecord],
    all: &[&RequestRecord],
) -> LevelSummary {
    let ok: Vec<&RequestRecord> = rows.iter().copied().filter(|r| r.is_ok()).collect();
    let ttft = Spread::of(ok.iter().filter_map(|r| r.ttft_s));
    let tpot = Spread::of(ok.iter().filter_map(|r| r.tpot_s));
    let itl = Spread::of(ok.iter().flat_map(|r| r.chunk_gaps()));
    let ntpot = Spread::of(ok.iter().filter_map(|r| r.ntpot_s));
    let e2e = Spread::of(ok.iter().map(|r| r.e2e_s));
    let tps = Spread::of(ok.iter().filter_map(|r| r.tpot_s).map(|t| 1.0 / t));
    LevelSummary {
        level: level.index,
        concurrency: level.concurrency,
        prompt_tokens_target: level.prompt_tokens,
        output_tokens_target: level.output_tokens,
        sent: rows.len() as u64,
        ok: ok.len() as u64,
        throttled: rows.iter().filter(|r| r.status == "throttled").count() as u64,
        failed: (rows.len() - ok.len()) as u64,
        early_stops: ok.iter().filter(|r| r.early_stop).count() as u64,
        mean_input_tokens: (!ok.is_empty())
            .then(|| ok.iter().map(|r| r.input_tokens as f64).sum::<f64>() / ok.len() as f64),
        ttft_p50_s: ttft.p50,
        ttft_p90_s: ttft.p90,
        ttft_p99_s: ttft.p99,
        tpot_p50_s: tpot.p50,
        tpot_p90_s: tpot.p90,
        tpot_p99_s: tpot.p99,
        itl_p50_s: itl.p50,
        itl_p90_s: itl.p90,
        itl_p99_s: itl.p99,
        ntpot_p50_s: ntpot.p50,
        e2e_p50_s: e2e.p50,
        e2e_p90_s: e2e.p90,
        e2e_p99_s: e2e.p99,
        output_tokens_per_s: delivered_tokens_per_s(rows, all),
        tokens_per_s_per_request_p50: tps.p50,
    }
}

/// Successful measured requests a level needs before its medians mean anything (fewer when
/// the sweep asks for fewer requests per level).
pub const MIN_OK_PER_LEVEL: u64 = 3;

/// Levels with fewer than `MIN_OK_PER_LEVEL` (or `requests_per_level`, if smaller) successful
/// measured requests, described for the manifest and the error, e.g.
/// `c=4 prompt=128 out=48: 0 of 20 succeeded (last error: throttled rate limited)`.
pub fn levels_short_of_successes(
    levels: &[LevelSpec],
    records: &[RequestRecord],
    requests_per_level: u32,
) -> Vec<String> {
    let needed = MIN_OK_PER_LEVEL.min(u64::from(requests_per_level.max(1)));
    levels
        .iter()
        .filter_map(|level| {
            let rows: Vec<&RequestRecord> = records
                .iter()
                .filter(|r| r.level == level.index && r.is_measured())
                .collect();
            let ok = rows.iter().filter(|r| r.is_ok()).count() as u64;
            (ok < needed).then(|| {
                let last_error = rows
                    .iter()
                    .rev()
                    .find(|r| !r.is_ok())
                    .map(|r| {
                        format!(
                            " (last error: {} {})",
                            r.status,
                            r.error.chars().take(120).collect::<String>()
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "{}: {ok} of {} succeeded, needs {needed}{last_error}",
                    level.label(),
                    rows.len()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_nearest_rank_of_the_finite_values() {
        // 10 values: p50 → rank 5, p90 → rank 9, p99 → rank ⌈9.9⌉ = 10.
        let values = [10.0, 1.0, 9.0, 2.0, 8.0, f64::NAN, 3.0, 7.0, 4.0, 6.0, 5.0];
        let spread = Spread::of(values);
        assert_eq!(spread.p50, Some(5.0));
        assert_eq!(spread.p90, Some(9.0));
        assert_eq!(spread.p99, Some(10.0));
        assert_eq!(Spread::of([]), Spread::default());
    }
}
