//! The prediction API: (concurrency, prompt tokens, output tokens) → TTFT and TPOT distributions,
//! per-request and system tokens/s, and whether the point lies outside what was measured.

use serde::{Deserialize, Serialize};

use super::anchors::{bracket, Anchor};
use super::error::PerfError;
pub use super::levels::Metric;
use super::model::{held_context, TpotModel, TtftModel};
use super::noise::{NoiseModel, SpikedLogNormal};
use super::server::bench::closed_run;
use super::server::interval::{Band, Uncertainty};
use super::server::ServerModel;

/// The span of operating points a model was fitted on; outside it, predictions extrapolate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitRange {
    pub concurrency: [f64; 2],
    pub prompt_tokens: [f64; 2],
    pub output_tokens: [f64; 2],
}

/// One way an operating point lies outside what a profile measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extrapolation {
    /// "requests in flight", "prompt tokens" or "output tokens".
    pub quantity: String,
    pub value: f64,
    /// The measured span.
    pub low: f64,
    pub high: f64,
}

impl Extrapolation {
    /// How far outside: the value over the nearest measured end (above 1: beyond the most
    /// measured; below 1: under the least).
    pub fn factor(&self) -> f64 {
        if self.value > self.high {
            self.value / self.high.max(1e-12)
        } else {
            self.value / self.low.max(1e-12)
        }
    }

    /// "prompt tokens ×0.18" for a table cell.
    pub fn short(&self) -> String {
        format!("{} ×{}", self.quantity, factor_text(self.factor()))
    }

    /// "prompt tokens 899, measured 5,000 only (×0.18)".
    pub fn reading(&self) -> String {
        let span = if (self.high - self.low).abs() <= 1e-9 * self.high.abs().max(1.0) {
            format!("measured {} only", crate::format::thousands(self.low))
        } else {
            format!(
                "measured {}–{}",
                crate::format::thousands(self.low),
                crate::format::thousands(self.high)
            )
        };
        format!(
            "{} {}, {span} (×{})",
            self.quantity,
            crate::format::thousands(self.value),
            factor_text(self.factor())
        )
    }
}

fn factor_text(f: f64) -> String {
    if f >= 10.0 {
        format!("{f:.0}")
    } else if f >= 0.1 {
        format!("{f:.2}")
    } else {
        format!("{f:.3}")
    }
}

impl FitRange {
    /// Each quantity of the operating point outside the measured span (within 0.1 %), with how
    /// far; empty inside.
    pub fn outside(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
    ) -> Vec<Extrapolation> {
        [
            ("requests in flight", concurrency, self.concurrency),
            ("prompt tokens", prompt_tokens, self.prompt_tokens),
            ("output tokens", output_tokens, self.output_tokens),
        ]
        .into_iter()
        .filter(|(_, v, [lo, hi])| !(*v >= lo * 0.999 && *v <= hi * 1.001))
        .map(|(quantity, value, [low, high])| Extrapolation {
            quantity: quantity.to_string(),
            value,
            low,
            high,
        })
        .collect()
    }

    pub fn contains(&self, concurrency: f64, prompt_tokens: f64, output_tokens: f64) -> bool {
        self.outside(concurrency, prompt_tokens, output_tokens)
            .is_empty()
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
    /// The mechanistic server (docs/DESIGN.md, "The server model"); when present, predictions
    /// are its closed-loop steady state and the closed forms above are its starting point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerModel>,
    /// The server fit's parameter covariance, for prediction intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<Uncertainty>,
    /// Figures the measurements did not include (a table of TPOT only, or TTFT only): what is
    /// predicted for them comes from the server model's priors, not from data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_measured: Vec<Metric>,
    /// The levels it was fitted on, with their measured medians: a prediction between two of
    /// them is held between their measurements (`anchors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measured_levels: Vec<Anchor>,
}

impl PerfModel {
    /// Whether `metric` was measured by the data the model was fitted on.
    pub fn measured(&self, metric: Metric) -> bool {
        !self.not_measured.contains(&metric)
    }
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
    /// 90 % intervals of the p50 figures (a new measurement's), when the profile has them.
    pub ttft_p50_band: Option<Band>,
    pub tpot_p50_band: Option<Band>,
    /// Output tokens/s of the whole endpoint as the server model runs it (past its batch limit
    /// only B sequences decode); `None` for the closed forms.
    pub served_tps: Option<f64>,
    /// Figures the profile's measurements did not include (their values are the model's
    /// priors, not data).
    pub not_measured: Vec<Metric>,
    /// Figures the model put outside the measurements of the two measured levels around
    /// them, moved to the nearer one (`anchors`).
    pub held_to_measurements: Vec<Metric>,
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
    /// Output tokens/s of the whole endpoint with `concurrency` clients: the server model's
    /// throughput when there is one (requests waiting for a slot produce nothing), else
    /// `concurrency × tokens/s per request`.
    pub fn system_tps(&self) -> f64 {
        self.served_tps
            .unwrap_or(self.concurrency * self.tps_per_request())
    }
}

impl PerfModel {
    /// What times requests, in one line: the server model's mechanism and its figures, or the
    /// closed forms (which have no batch limit and no prefill queue).
    pub fn describe(&self) -> String {
        match &self.server {
            Some(s) => format!(
                "server model: {}, {}; decode step {:.1} ms + {} a sequence + {} a held token; prefill {:.2} ms a prompt + {:.2} µs a prompt token; overhead {:.0} ms",
                s.max_batch.map_or("no batch limit".to_string(), |b| format!(
                    "at most {b:.0} sequences in the batch"
                )),
                s.sharing.label(),
                s.step.t0_s * 1e3,
                crate::format::seconds_short(s.step.t1_s),
                crate::format::seconds_short(s.step.t2_s),
                s.prefill_s_per_request * 1e3,
                s.prefill_s_per_token * 1e6,
                s.overhead_s * 1e3
            ),
            None => format!(
                "closed forms: TPOT {}, TTFT {} (no batch limit, no prefill queue)",
                self.tpot.form.name(),
                self.ttft.form.name()
            ),
        }
    }

    /// Median TPOT (the noise-free centre) with `concurrency` requests holding `held_context` tokens.
    pub fn tpot_median_s(&self, concurrency: f64, held_context: f64) -> f64 {
        self.tpot.median_s(concurrency, held_context)
    }

    /// Median TTFT at `concurrency`. Past the highest fitted concurrency the curve is continued
    /// along its tangent: a knee exponent fitted on 1–50 requests (γ ≈ 4.6 for seed 002) would
    /// otherwise promise minutes of TTFT at 300, which no measurement supports.
    pub fn ttft_median_s(&self, concurrency: f64, prompt_tokens: f64) -> f64 {
        let edge = self.range.concurrency[1];
        if concurrency <= edge || !edge.is_finite() {
            return self.ttft.median_s(concurrency, prompt_tokens);
        }
        let h = (edge * 1e-4).max(1e-6);
        let at_edge = self.ttft.median_s(edge, prompt_tokens);
        let slope = (at_edge - self.ttft.median_s(edge - h, prompt_tokens)) / h;
        at_edge + slope.max(0.0) * (concurrency - edge)
    }

    /// Concurrency at which to read the noise spread: the fitted range's top at most, since a
    /// spread growing linearly with n means nothing far past the measurements.
    fn noise_concurrency(&self, concurrency: f64) -> f64 {
        concurrency.min(self.range.concurrency[1])
    }

    /// TTFT distribution at `concurrency` for a prompt of `prompt_tokens`.
    pub fn ttft_distribution(&self, concurrency: f64, prompt_tokens: f64) -> SpikedLogNormal {
        let median = self.ttft_median_s(concurrency, prompt_tokens);
        self.ttft_noise
            .at(median, self.noise_concurrency(concurrency))
    }

    /// A request's TTFT relative to the server model's (median 1) at `concurrency`.
    pub fn ttft_factor(&self, concurrency: f64) -> SpikedLogNormal {
        self.ttft_noise.at(1.0, self.noise_concurrency(concurrency))
    }

    /// A request's TPOT relative to the median step (median 1) at `concurrency`.
    pub fn tpot_factor(&self, concurrency: f64) -> SpikedLogNormal {
        self.tpot_noise.at(1.0, self.noise_concurrency(concurrency))
    }

    /// The prediction at a level with its intervals (a dozen extra runs of the server model).
    pub fn predict(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
    ) -> Result<Prediction, PerfError> {
        self.predict_with(concurrency, prompt_tokens, output_tokens, true, None)
    }

    /// The prediction at a level as a benchmark ran it: `run_requests` requests in all from a
    /// synchronised start (means over all of them), or the steady state (`None`).
    pub fn predict_run(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
        run_requests: Option<usize>,
    ) -> Result<Prediction, PerfError> {
        self.predict_with(
            concurrency,
            prompt_tokens,
            output_tokens,
            true,
            run_requests,
        )
    }

    /// The prediction without intervals: one run of the server model, for sweeps of many levels.
    pub fn predict_centre(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
    ) -> Result<Prediction, PerfError> {
        self.predict_with(concurrency, prompt_tokens, output_tokens, false, None)
    }

    fn predict_with(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
        intervals: bool,
        run_requests: Option<usize>,
    ) -> Result<Prediction, PerfError> {
        let mut p = self.model_prediction(
            concurrency,
            prompt_tokens,
            output_tokens,
            intervals,
            run_requests,
        )?;
        self.hold_to_measurements(&mut p);
        Ok(p)
    }

    /// Moves a p50 the model put outside its measured neighbours' bracket to the nearer end,
    /// its distribution and interval with it.
    fn hold_to_measurements(&self, p: &mut Prediction) {
        let (c, pt, o) = (p.concurrency, p.prompt_tokens, p.output_tokens);
        // The factor that moves a p50 into its measured neighbours' bracket, when it is out.
        let factor = |metric: Metric, p50: f64| {
            let [lo, hi] = bracket(&self.measured_levels, c, pt, o, |a| a.get(metric))?;
            let held = p50.clamp(lo, hi);
            (held != p50 && p50 > 0.0).then_some(held / p50)
        };
        if let Some(k) = factor(Metric::Ttft, p.ttft_p50_s()) {
            p.ttft.median *= k;
            p.ttft_p50_band = p.ttft_p50_band.map(|b| b.scaled(k));
            p.held_to_measurements.push(Metric::Ttft);
        }
        if let Some(k) = factor(Metric::Tpot, p.tpot_p50_s()) {
            p.tpot.median *= k;
            p.tpot_p50_band = p.tpot_p50_band.map(|b| b.scaled(k));
            p.served_tps = p.served_tps.map(|tps| tps / k);
            p.held_to_measurements.push(Metric::Tpot);
        }
    }

    fn model_prediction(
        &self,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
        intervals: bool,
        run_requests: Option<usize>,
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
        let extrapolated = !self
            .range
            .contains(concurrency, prompt_tokens, output_tokens)
            || (self.server.is_none() && self.tpot.beyond_knee(context));
        if let Some(server) = &self.server {
            let level = closed_run(
                server,
                concurrency,
                prompt_tokens,
                output_tokens,
                run_requests,
            );
            let ttft = self
                .ttft_noise
                .at(level.ttft_s, self.noise_concurrency(concurrency));
            let tpot = SpikedLogNormal {
                median: level.tpot_s.unwrap_or(server.step.t0_s),
                ..self.tpot_factor(concurrency)
            };
            let bands = self.uncertainty.as_ref().filter(|_| intervals).map(|u| {
                u.bands(
                    server,
                    concurrency,
                    prompt_tokens,
                    output_tokens,
                    run_requests,
                )
            });
            // The bands are of the noise-free centre; a p50 sits at the centre times the
            // noise's median shift.
            let shift =
                |band: Band, dist: &SpikedLogNormal| band.scaled(dist.quantile(0.5) / dist.median);
            return Ok(Prediction {
                concurrency,
                prompt_tokens,
                output_tokens,
                ttft_p50_band: bands.map(|b| shift(b.ttft_s, &ttft)),
                tpot_p50_band: bands.and_then(|b| b.tpot_s).map(|b| shift(b, &tpot)),
                ttft,
                tpot,
                extrapolated,
                // Closed loop: each client's cycle is one request's TTFT + decode (Little's
                // law), so throughput counts the time requests spend waiting for a slot.
                served_tps: {
                    let o = output_tokens.round().max(1.0);
                    let cycle = level.ttft_s + (o - 1.0) * level.tpot_s.unwrap_or(0.0);
                    (cycle > 0.0).then(|| concurrency.round().max(1.0) / cycle * o)
                },
                not_measured: self.not_measured.clone(),
                held_to_measurements: Vec::new(),
            });
        }
        let tpot_median = self.tpot.median_s(concurrency, context);
        Ok(Prediction {
            concurrency,
            prompt_tokens,
            output_tokens,
            ttft: self.ttft_distribution(concurrency, prompt_tokens),
            tpot: SpikedLogNormal {
                median: tpot_median,
                ..self.tpot_factor(concurrency)
            },
            extrapolated,
            ttft_p50_band: None,
            tpot_p50_band: None,
            served_tps: None,
            not_measured: self.not_measured.clone(),
            held_to_measurements: Vec::new(),
        })
    }
}
