//! The live run beside the plan's simulations of it: each figure measured, the simulations'
//! median and 90 % interval (5th to 95th percentile over the seeded runs: the spread a run of
//! this length shows if the plan is right), and whether the measurement falls inside, above or
//! below. Pure.

use serde::{Deserialize, Serialize};

use crate::calibrate::record::RequestRecord;
use crate::sim::SimResult;

/// The figures one run gives, measured or simulated.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    pub requests: u64,
    pub ttft_p50_s: f64,
    pub ttft_p95_s: f64,
    pub tpot_p50_s: f64,
    pub tpot_p95_s: f64,
    /// Requests completed a minute, and input + output tokens a minute.
    pub requests_per_minute: f64,
    pub tokens_per_minute: f64,
    pub error_rate: f64,
    pub throttle_rate: f64,
    /// Requests in flight (sent, not yet answered), averaged over the measured window.
    #[serde(default)]
    pub in_flight: f64,
}

impl RunFigures {
    /// From the live run's records: those sent after the warm-up (`warmup_s` on the run's
    /// clock), for latencies, rates and counts; every request's time in flight within the
    /// measured window, for the mean in flight (as the simulator's time average counts it).
    pub fn measured(records: &[RequestRecord], warmup_s: f64, duration_s: f64) -> RunFigures {
        let measured: Vec<&RequestRecord> = records.iter().filter(|r| !r.warmup).collect();
        let ok: Vec<&&RequestRecord> = measured.iter().filter(|r| r.is_ok()).collect();
        let pct = |f: fn(&RequestRecord) -> Option<f64>, q: f64| {
            let mut v: Vec<f64> = ok.iter().filter_map(|r| f(r)).collect();
            crate::stats::quantile(&mut v, q).unwrap_or(f64::NAN)
        };
        let n = measured.len().max(1) as f64;
        let minutes = (duration_s / 60.0).max(1e-9);
        let tokens: f64 = ok
            .iter()
            .map(|r| (r.input_tokens + r.output_tokens) as f64)
            .sum();
        RunFigures {
            requests: measured.len() as u64,
            ttft_p50_s: pct(|r| r.ttft_s, 0.5),
            ttft_p95_s: pct(|r| r.ttft_s, 0.95),
            tpot_p50_s: pct(|r| r.tpot_s, 0.5),
            tpot_p95_s: pct(|r| r.tpot_s, 0.95),
            requests_per_minute: ok.len() as f64 / minutes,
            tokens_per_minute: tokens / minutes,
            error_rate: (measured.len() - ok.len()) as f64 / n,
            throttle_rate: measured.iter().filter(|r| r.status == "throttled").count() as f64 / n,
            in_flight: records
                .iter()
                .map(|r| {
                    let (from, to) = (r.sent_s, r.sent_s + r.e2e_s);
                    (to.min(warmup_s + duration_s) - from.max(warmup_s)).max(0.0)
                })
                .sum::<f64>()
                / duration_s.max(1e-9),
        }
    }

    pub fn simulated(r: &SimResult) -> RunFigures {
        let minutes = (r.duration_s / 60.0).max(1e-9);
        RunFigures {
            requests: r.requests,
            ttft_p50_s: r.ttft_s.p50,
            ttft_p95_s: r.ttft_s.p95,
            tpot_p50_s: r.tpot_s.p50,
            tpot_p95_s: r.tpot_s.p95,
            requests_per_minute: r.completed as f64 / minutes,
            tokens_per_minute: (r.input_tokens + r.output_tokens) / minutes,
            error_rate: r.error_rate,
            throttle_rate: if r.attempts > 0 {
                r.throttled as f64 / r.attempts as f64
            } else {
                0.0
            },
            in_flight: r.mean_in_flight(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Inside,
    Above,
    Below,
}

/// The names of the figures the charts draw (each step's `figures` lists every one).
pub const TTFT_P95: &str = "p95 TTFT (s)";
pub const TPOT_P95: &str = "p95 TPOT (s)";
pub const IN_FLIGHT: &str = "requests in flight (mean)";

/// One figure: measured against the simulations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub measured: f64,
    pub simulated: f64,
    pub interval: [f64; 2],
    pub verdict: Verdict,
}

/// How uncertain the profile's fit leaves the median latencies (its 90 % band as ratios to
/// the prediction, low and high): the plan's interval for a latency is the runs' spread
/// widened by it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FitBands {
    pub ttft: Option<(f64, f64)>,
    pub tpot: Option<(f64, f64)>,
}

/// Each figure of the live run against the simulations' median and 90 % interval (the runs'
/// 5th to 95th percentile, latencies widened by the fit's band).
pub fn compare(measured: &RunFigures, simulated: &[RunFigures], bands: FitBands) -> Vec<Figure> {
    type Get = fn(&RunFigures) -> f64;
    type Band = Option<(f64, f64)>;
    let figures: [(&str, Get, Band); 9] = [
        ("p50 TTFT (s)", |f| f.ttft_p50_s, bands.ttft),
        (TTFT_P95, |f| f.ttft_p95_s, bands.ttft),
        ("p50 TPOT (s)", |f| f.tpot_p50_s, bands.tpot),
        (TPOT_P95, |f| f.tpot_p95_s, bands.tpot),
        ("requests a minute", |f| f.requests_per_minute, None),
        ("tokens a minute", |f| f.tokens_per_minute, None),
        ("error rate", |f| f.error_rate, None),
        ("throttle rate", |f| f.throttle_rate, None),
        // A request is in flight for its TTFT and its decode, mostly the decode: as uncertain
        // as the TPOT the fit gives.
        (IN_FLIGHT, |f| f.in_flight, bands.tpot),
    ];
    figures
        .iter()
        .map(|(name, get, band)| {
            let mut values: Vec<f64> = simulated
                .iter()
                .map(get)
                .filter(|v| v.is_finite())
                .collect();
            values.sort_by(f64::total_cmp);
            let q = |p: f64| crate::stats::quantile_sorted(&values, p).unwrap_or(f64::NAN);
            let (low, high) = band.unwrap_or((1.0, 1.0));
            let (lo, mid, hi) = (q(0.05) * low.min(1.0), q(0.5), q(0.95) * high.max(1.0));
            let value = get(measured);
            let verdict = if value > hi {
                Verdict::Above
            } else if value < lo {
                Verdict::Below
            } else {
                Verdict::Inside
            };
            Figure {
                name: name.to_string(),
                measured: value,
                simulated: mid,
                interval: [lo, hi],
                verdict,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ttft: f64) -> RunFigures {
        RunFigures {
            ttft_p50_s: ttft,
            ..RunFigures::default()
        }
    }

    #[test]
    fn a_measurement_is_judged_against_the_simulations_5th_to_95th_percentile() {
        // Twenty runs at 1.00, 1.01, … 1.19 s: the interval is their 5th–95th percentile.
        let runs: Vec<RunFigures> = (0..20).map(|k| at(1.0 + f64::from(k) / 100.0)).collect();
        let judge = |v: f64| compare(&at(v), &runs, FitBands::default())[0].clone();
        let inside = judge(1.1);
        assert_eq!(inside.verdict, Verdict::Inside);
        assert!(
            inside.interval[0] >= 1.0 && inside.interval[1] <= 1.19,
            "{inside:?}"
        );
        assert_eq!(judge(1.3).verdict, Verdict::Above);
        assert_eq!(judge(0.9).verdict, Verdict::Below);
        // The fit's band (here ±20 %) widens a latency's interval: 1.3 s is then inside.
        let wide = FitBands {
            ttft: Some((0.8, 1.2)),
            tpot: None,
        };
        assert_eq!(compare(&at(1.3), &runs, wide)[0].verdict, Verdict::Inside);
        assert_eq!(compare(&at(1.5), &runs, wide)[0].verdict, Verdict::Above);
    }
}
