//! The performance model's equations (docs/DESIGN.md, "The performance model").
//!
//! A continuous-batching server advances every in-flight request by one token per step, so all
//! decoding requests share one step time. That step time grows with the number of requests `n`
//! and with the context they hold `K`; TTFT grows with the prompt and with load.

use serde::{Deserialize, Serialize};

/// Above this fraction of capacity the queue-style saturation `1/(1 − x)` is continued along its
/// tangent, so predictions beyond the measured range stay finite and monotone instead of
/// exploding at `x = 1`. Such points are always flagged as extrapolation.
pub const QUEUE_TANGENT_FROM: f64 = 0.9;

/// Context held by `n` in-flight requests with `prompt_tokens` each, half-way through generating
/// `output_tokens` on average (requests join and leave a batch at random phases).
pub fn held_context(concurrency: f64, prompt_tokens: f64, output_tokens: f64) -> f64 {
    concurrency * (prompt_tokens + output_tokens / 2.0)
}

/// How decode speed saturates as held context grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TpotForm {
    /// `step(n, K)`: no saturation.
    Linear,
    /// `step(n, K) / (1 − K/θ)`: queueing-style knee, θ in context tokens.
    Queue,
    /// `max(step(n, K), K/θ)`: hard roofline, θ in context tokens read per second.
    Roofline,
    /// `sqrt(step² + (K/θ)²)`: the roofline with a rounded corner.
    SmoothRoofline,
}

impl TpotForm {
    /// The forms a fit tries. The hard roofline is not among them: real knees are smooth
    /// (seed 002's large-prompt speed bends 121 → 85 → 58 tokens/s), and a hard corner fitted
    /// to levels 1, 10, 50 misses level 30 by ~14 %. It stays loadable for hand-made profiles.
    pub const CANDIDATES: [TpotForm; 3] =
        [TpotForm::Linear, TpotForm::Queue, TpotForm::SmoothRoofline];
    pub const ALL: [TpotForm; 4] = [
        TpotForm::Linear,
        TpotForm::Queue,
        TpotForm::Roofline,
        TpotForm::SmoothRoofline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TpotForm::Linear => "linear",
            TpotForm::Queue => "queue",
            TpotForm::Roofline => "roofline",
            TpotForm::SmoothRoofline => "smooth_roofline",
        }
    }

    pub fn equation(self) -> &'static str {
        match self {
            TpotForm::Linear => "tpot = t0 + t1*n + t2*K",
            TpotForm::Queue => "tpot = (t0 + t1*n + t2*K) / (1 - K/theta)",
            TpotForm::Roofline => "tpot = max(t0 + t1*n + t2*K, K/theta)",
            TpotForm::SmoothRoofline => "tpot = sqrt((t0 + t1*n + t2*K)^2 + (K/theta)^2)",
        }
    }

    pub fn parameter_count(self) -> usize {
        match self {
            TpotForm::Linear => 3,
            _ => 4,
        }
    }
}

/// Median time per output token (decode only; GuideLLM and AIPerf call it ITL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TpotModel {
    pub form: TpotForm,
    /// Step time of an idle server, seconds per token.
    pub t0_s: f64,
    /// Step time added per in-flight request, seconds.
    pub t1_s: f64,
    /// Step time added per held context token, seconds.
    pub t2_s: f64,
    /// Saturation scale: context tokens (queue) or context tokens per second (roofline forms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// Human-readable form of the equation, written into profiles for their readers.
    #[serde(default)]
    pub equation: String,
}

impl TpotModel {
    /// Unsaturated step time.
    pub fn step_s(&self, concurrency: f64, held_context: f64) -> f64 {
        self.t0_s + self.t1_s * concurrency + self.t2_s * held_context
    }

    /// Median TPOT at `concurrency` requests holding `held_context` tokens in all.
    pub fn median_s(&self, concurrency: f64, held_context: f64) -> f64 {
        let step = self.step_s(concurrency, held_context);
        let theta = self.theta.unwrap_or(f64::INFINITY);
        match self.form {
            TpotForm::Linear => step,
            TpotForm::Queue => step * queue_factor(held_context / theta),
            TpotForm::Roofline => step.max(held_context / theta),
            TpotForm::SmoothRoofline => step.hypot(held_context / theta),
        }
    }

    /// True when `held_context` is past the point where the queue form is continued linearly.
    pub fn beyond_knee(&self, held_context: f64) -> bool {
        self.form == TpotForm::Queue
            && held_context / self.theta.unwrap_or(f64::INFINITY) > QUEUE_TANGENT_FROM
    }
}

/// `1/(1 − x)`, continued along its tangent past [`QUEUE_TANGENT_FROM`].
fn queue_factor(x: f64) -> f64 {
    let x = x.max(0.0);
    if x <= QUEUE_TANGENT_FROM {
        1.0 / (1.0 - x)
    } else {
        let gap = 1.0 - QUEUE_TANGENT_FROM;
        1.0 / gap + (x - QUEUE_TANGENT_FROM) / (gap * gap)
    }
}

/// How TTFT grows with load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TtftForm {
    /// `a0 + a1·p`: prefill time only, no load effect.
    Flat,
    /// `a0 + a1·p + a2·(n − 1)·p`: other requests' prefill tokens compete linearly.
    PrefillLoad,
    /// `(a0 + a1·p)·(1 + a2·((n − 1)/(n_ref − 1))^γ)`: a smooth knee in concurrency; `a2` is
    /// the relative rise with [`TTFT_REFERENCE_CONCURRENCY`] requests in flight.
    ConcurrencyPower,
}

/// The concurrency at which `concurrency_power`'s `a2` is read. Anchoring the knee at a typical
/// measured level, rather than at 2, keeps `a2` and `γ` from trading off against each other in
/// the fit (their correlation put a2's scatter at ~7 % instead of ~1 %).
pub const TTFT_REFERENCE_CONCURRENCY: f64 = 32.0;

/// Bounds of the knee exponent γ: steep enough for seed 002's late rise, never a step.
pub const GAMMA_MIN: f64 = 1.0;
pub const GAMMA_MAX: f64 = 8.0;

impl TtftForm {
    pub const ALL: [TtftForm; 3] = [
        TtftForm::Flat,
        TtftForm::PrefillLoad,
        TtftForm::ConcurrencyPower,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TtftForm::Flat => "flat",
            TtftForm::PrefillLoad => "prefill_load",
            TtftForm::ConcurrencyPower => "concurrency_power",
        }
    }

    pub fn equation(self) -> &'static str {
        match self {
            TtftForm::Flat => "ttft = a0 + a1*p",
            TtftForm::PrefillLoad => "ttft = a0 + a1*p + a2*(n-1)*p",
            TtftForm::ConcurrencyPower => "ttft = (a0 + a1*p) * (1 + a2*((n-1)/31)^gamma)",
        }
    }

    pub fn parameter_count(self) -> usize {
        match self {
            TtftForm::Flat => 2,
            TtftForm::PrefillLoad => 3,
            TtftForm::ConcurrencyPower => 4,
        }
    }
}

/// Median time to first token for a request admitted at once (queueing for a slot is the
/// simulator's business, not the model's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TtftModel {
    pub form: TtftForm,
    /// Fixed overhead, seconds.
    pub a0_s: f64,
    /// Prefill time per prompt token, seconds.
    pub a1_s: f64,
    /// Load coefficient: seconds per competing prompt token (`prefill_load`), or the relative
    /// rise at the reference concurrency (`concurrency_power`).
    #[serde(default)]
    pub a2: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    #[serde(default)]
    pub equation: String,
}

impl TtftModel {
    pub fn median_s(&self, concurrency: f64, prompt_tokens: f64) -> f64 {
        let base = self.a0_s + self.a1_s * prompt_tokens;
        let others = (concurrency - 1.0).max(0.0);
        match self.form {
            TtftForm::Flat => base,
            TtftForm::PrefillLoad => base + self.a2 * others * prompt_tokens,
            TtftForm::ConcurrencyPower => {
                let relative = others / (TTFT_REFERENCE_CONCURRENCY - 1.0);
                base * (1.0 + self.a2 * relative.powf(self.gamma.unwrap_or(GAMMA_MIN)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpot(form: TpotForm) -> TpotModel {
        TpotModel {
            form,
            t0_s: 0.007,
            t1_s: 2e-5,
            t2_s: 1e-9,
            theta: Some(match form {
                TpotForm::Queue => 6e5,
                _ => 2e7,
            }),
            equation: String::new(),
        }
    }

    /// TPOT never falls as n or K grows, for every form, including past the knee.
    #[test]
    fn tpot_is_monotone_in_concurrency_and_context() {
        for form in TpotForm::ALL {
            let model = tpot(form);
            for prompt in [10.0, 500.0, 6000.0, 30000.0] {
                let mut last = 0.0;
                for n in 1..=400 {
                    let n = n as f64;
                    let value = model.median_s(n, held_context(n, prompt, 350.0));
                    assert!(value.is_finite(), "{form:?} not finite at n={n}");
                    assert!(value >= last, "{form:?} fell at n={n}, p={prompt}");
                    last = value;
                }
            }
            for n in [1.0, 10.0, 50.0] {
                let mut last = 0.0;
                for k in (0..2_000_000).step_by(5_000) {
                    let value = model.median_s(n, k as f64);
                    assert!(value >= last, "{form:?} fell at K={k}");
                    last = value;
                }
            }
        }
    }

    #[test]
    fn queue_factor_is_continuous_at_the_tangent_point() {
        let below = queue_factor(QUEUE_TANGENT_FROM - 1e-9);
        let above = queue_factor(QUEUE_TANGENT_FROM + 1e-9);
        assert!((below - above).abs() < 1e-5);
        assert!(queue_factor(5.0) > queue_factor(2.0));
    }

    #[test]
    fn ttft_is_monotone_in_concurrency_and_prompt() {
        for form in TtftForm::ALL {
            let model = TtftModel {
                form,
                a0_s: 0.28,
                a1_s: 9e-5,
                a2: 3e-7,
                gamma: Some(4.0),
                equation: String::new(),
            };
            let mut last = 0.0;
            for n in 1..=200 {
                let value = model.median_s(n as f64, 6000.0);
                assert!(value >= last, "{form:?} fell at n={n}");
                last = value;
            }
            assert!(model.median_s(10.0, 6000.0) > model.median_s(10.0, 40.0));
        }
    }
}
