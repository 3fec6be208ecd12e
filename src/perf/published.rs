//! Profiles from published ranges (seed 000's TTFT/TPOT table) when no calibration exists:
//! TPOT rises linearly from the low to the high end over the concurrency range, TTFT along a
//! quadratic knee. Marked as such in the profile's provenance.

use super::error::PerfError;
use super::fit::noise::assumed_for_medians;
use super::model::{TpotForm, TpotModel, TtftForm, TtftModel, TTFT_REFERENCE_CONCURRENCY};
use super::predict::{FitRange, PerfModel};

/// `ttft_s`, `tpot_s`: (low, high) at concurrency 1 and `max_concurrency`.
pub fn from_ranges(
    ttft_s: (f64, f64),
    tpot_s: (f64, f64),
    max_concurrency: f64,
    max_prompt_tokens: f64,
) -> Result<PerfModel, PerfError> {
    for (name, (low, high)) in [("ttft", ttft_s), ("tpot", tpot_s)] {
        if !(low > 0.0 && high >= low) {
            return Err(PerfError::BadRange { name, low, high });
        }
    }
    if !(max_concurrency > 1.0 && max_concurrency.is_finite()) {
        return Err(PerfError::MaxConcurrency(max_concurrency));
    }
    if !(max_prompt_tokens >= 1.0 && max_prompt_tokens.is_finite()) {
        return Err(PerfError::MaxPromptTokens(max_prompt_tokens));
    }
    let gamma = 2.0;
    let per_request = (tpot_s.1 - tpot_s.0) / (max_concurrency - 1.0);
    let reach = ((max_concurrency - 1.0) / (TTFT_REFERENCE_CONCURRENCY - 1.0)).powf(gamma);
    Ok(PerfModel {
        tpot: TpotModel {
            form: TpotForm::Linear,
            // One request alone sees the low end, `max_concurrency` the high end.
            t0_s: tpot_s.0 - per_request,
            t1_s: per_request,
            t2_s: 0.0,
            theta: None,
            equation: TpotForm::Linear.equation().into(),
        },
        ttft: TtftModel {
            form: TtftForm::ConcurrencyPower,
            a0_s: ttft_s.0,
            a1_s: 0.0,
            a2: (ttft_s.1 / ttft_s.0 - 1.0) / reach,
            gamma: Some(gamma),
            equation: TtftForm::ConcurrencyPower.equation().into(),
        },
        tpot_noise: assumed_for_medians("TPOT"),
        ttft_noise: assumed_for_medians("TTFT"),
        range: FitRange {
            concurrency: [1.0, max_concurrency],
            prompt_tokens: [1.0, max_prompt_tokens],
            output_tokens: [1.0, 4_096.0],
        },
        server: None,
        uncertainty: None,
        not_measured: Vec::new(),
        measured_levels: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ends_of_the_ranges_are_met() {
        let m = super::from_ranges((0.3, 0.6), (0.025, 0.040), 200.0, 8_000.0).unwrap();
        assert!((m.ttft.median_s(1.0, 500.0) - 0.3).abs() < 1e-12);
        assert!((m.ttft.median_s(200.0, 500.0) - 0.6).abs() < 1e-9);
        assert!((m.tpot.median_s(200.0, 1e5) - 0.040).abs() < 1e-12);
        assert!(super::from_ranges((0.6, 0.3), (0.02, 0.03), 10.0, 1.0).is_err());
    }
}
