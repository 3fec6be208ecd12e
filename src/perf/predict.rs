//! The prediction API: (concurrency, prompt tokens, output tokens) → TTFT and TPOT distributions,
//! per-request and system tokens/s, and whether the point lies outside what was measured.

use serde::{Deserialize, Serialize};

use super::error::PerfError;
use super::model::{held_context, TpotModel, TtftModel};
use super::noise::{NoiseModel, SpikedLogNormal};

/// The span of operating points a model was fitted on; outside it, predictions extrapolate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitRange {
    pub concurrency: [f64; 2],
    pub prompt_tokens: [f64; 2],
    pub output_tokens: [f64; 2],
}

impl FitRange {
    pub fn contains(&self, concurrency: f64, prompt_tokens: f64, output_tokens: f64) -> bool {
        let inside = |value: f64, [lo, hi]: [f64; 2]| value >= lo * 0.999 && value <= hi * 1.001;
        inside(concurrency, self.concurrency)
            && inside(prompt_tokens, self.prompt_tokens)
            && inside(output_tokens, self.output_tokens)
    }
}

/// Everything needed to predict speed at an operating point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerfModel {
    pub tpot: TpotModel,
    pub ttft: TtftModel,
    pub tpot_noise: NoiseModel,
    pub ttft_noise: NoiseModel,
    pub range: FitRange,
}

/// Speed at one operating point.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    pub ttft: SpikedLogNormal,
    pub tpot: SpikedLogNormal,
    /// Outside the fitted range, or past the queue form's knee continuation.
    pub extrapolated: bool,
}

impl Prediction {
    pub fn ttft_p50_s(&self) -> f64 {
        self.ttft.quantile(0.5)
    }
    pub fn tpot_p50_s(&self) -> f64 {
        self.tpot.quantile(0.5)
    }
    /// Median decode speed of one request (1 / median TPOT, as seed 002 computes it).
    pub fn tps_per_request(&self) -> f64 {
        1.0 / self.tpot_p50_s()
    }
    /// Decode tokens/s of the whole endpoint with `concurrency` requests in flight.
    pub fn system_tps(&self) -> f64 {
        self.concurrency * self.tps_per_request()
    }
}

impl PerfModel {
    /// Median TPOT (the noise-free centre) with `concurrency` requests holding `held_context` tokens.
    pub fn tpot_median_s(&self, concurrency: f64, held_context: f64) -> f64 {
        self.tpot.median_s(concurrency, held_context)
    }

    pub fn predict(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
    ) -> Result<Prediction, PerfError> {
        if !(concurrency.is_finite() && concurrency >= 1.0) {
            return Err(PerfError::BadRequest(format!(
                "concurrency must be a number ≥ 1, got {concurrency}"
            )));
        }
        if !(prompt_tokens.is_finite() && prompt_tokens >= 0.0) {
            return Err(PerfError::BadRequest(format!(
                "prompt tokens must be a number ≥ 0, got {prompt_tokens}"
            )));
        }
        if !(output_tokens.is_finite() && output_tokens >= 1.0) {
            return Err(PerfError::BadRequest(format!(
                "output tokens must be a number ≥ 1, got {output_tokens}"
            )));
        }
        let context = held_context(concurrency, prompt_tokens, output_tokens);
        let tpot_median = self.tpot.median_s(concurrency, context);
        let ttft_median = self.ttft.median_s(concurrency, prompt_tokens);
        Ok(Prediction {
            concurrency,
            prompt_tokens,
            output_tokens,
            ttft: self.ttft_noise.at(ttft_median, concurrency),
            tpot: self.tpot_noise.at(tpot_median, concurrency),
            extrapolated: !self
                .range
                .contains(concurrency, prompt_tokens, output_tokens)
                || self.tpot.beyond_knee(context),
        })
    }
}
