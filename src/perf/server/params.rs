//! The server model as a vector of parameters: the fixed, discrete shape of a candidate, the
//! targets a fit matches, the log errors of a model against them and their Jacobian. Shared by
//! the fit and the intervals.

use nalgebra::{DMatrix, DVector};

use super::bench::closed_run;
use super::{ExpertStep, Experts, Floors, ServerModel, Sharing};
use crate::perf::model::{TpotForm, TpotModel};

/// Names of the continuous parameters of a dense model, in the order of the fit's vector (each
/// fitted as its log); a mixture-of-experts model adds [`EXPERT_PARAMETER`].
pub const PARAMETERS: [&str; 8] = [
    "step.t0_s",
    "step.t1_s",
    "step.t2_s",
    "step_s_per_mean_context",
    "overhead_s",
    "prefill_s_per_token",
    "attention_s_per_token2",
    "prefill_s_per_request",
];

/// The routed experts' step time, the ninth parameter of a mixture-of-experts model.
pub const EXPERT_PARAMETER: &str = "experts.step_s_all_experts";

/// Names of a shape's parameters, in the order of its vector.
pub fn parameter_names(shape: Shape) -> Vec<&'static str> {
    let mut names = PARAMETERS.to_vec();
    if shape.experts.is_some() {
        names.push(EXPERT_PARAMETER);
    }
    names
}

/// One measured level as the fit sees it (targets already divided by the noise's median shift).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub concurrency: f64,
    pub prompt_tokens: f64,
    pub output_tokens: f64,
    pub ttft_s: Option<f64>,
    pub tpot_s: Option<f64>,
    /// Requests the run sent in all (a short run from a synchronised start); `None`: steady.
    pub run_requests: Option<usize>,
}

/// The fixed, discrete part of a candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub sharing: Sharing,
    pub max_batch: Option<f64>,
    /// The model's routed experts (from the model catalog), `None` for a dense model.
    pub experts: Option<Experts>,
    /// Roofline floors: a floored parameter is its floor plus the exponential of its entry.
    pub floors: Option<Floors>,
    /// The benchmark's reply spread (`ServerModel::reply_spread`).
    pub reply_spread: f64,
    /// Measured, not fitted (`ServerModel::shared_prefix_tokens`).
    pub shared_prefix_tokens: f64,
}

impl Shape {
    /// The shape of a fitted model.
    pub fn of(model: &ServerModel) -> Shape {
        Shape {
            sharing: model.sharing,
            max_batch: model.max_batch,
            experts: model.experts.map(|e| e.experts),
            floors: model.floors,
            reply_spread: model.reply_spread,
            shared_prefix_tokens: model.shared_prefix_tokens,
        }
    }
}

pub fn model_from(u: &[f64], shape: Shape) -> ServerModel {
    let e = |x: f64| x.clamp(-700.0, 700.0).exp();
    let f = shape.floors.unwrap_or_default();
    ServerModel {
        max_batch: shape.max_batch,
        step: TpotModel {
            form: TpotForm::Linear,
            t0_s: f.step_t0_s + e(u[0]),
            t1_s: e(u[1]),
            t2_s: f.step_s_per_held_token + e(u[2]),
            theta: None,
            equation: TpotForm::Linear.equation().to_string(),
        },
        step_s_per_mean_context: e(u[3]),
        overhead_s: e(u[4]),
        prefill_s_per_token: f.prefill_s_per_token + e(u[5]),
        attention_s_per_token2: f.attention_s_per_token2 + e(u[6]),
        prefill_s_per_request: e(u[7]),
        sharing: shape.sharing,
        experts: shape.experts.map(|experts| ExpertStep {
            experts,
            step_s_all_experts: f.experts_step_s + u.get(8).map_or(0.0, |&x| e(x)),
        }),
        floors: shape.floors,
        reply_spread: shape.reply_spread,
        shared_prefix_tokens: shape.shared_prefix_tokens,
    }
}

/// The parameter vector of a model (inverse of [`model_from`]); zeros become tiny.
pub fn vector_of(model: &ServerModel) -> Vec<f64> {
    let l = |x: f64| x.max(1e-300).ln();
    let f = model.floors.unwrap_or_default();
    let mut u = vec![
        l(model.step.t0_s - f.step_t0_s),
        l(model.step.t1_s),
        l(model.step.t2_s - f.step_s_per_held_token),
        l(model.step_s_per_mean_context),
        l(model.overhead_s),
        l(model.prefill_s_per_token - f.prefill_s_per_token),
        l(model.attention_s_per_token2 - f.attention_s_per_token2),
        l(model.prefill_s_per_request),
    ];
    if let Some(e) = model.experts {
        u.push(l(e.step_s_all_experts - f.experts_step_s));
    }
    u
}

/// How far a level's p50 TPOT is expected to lie from the model a priori (log units).
pub const TPOT_SCATTER: f64 = 0.05;
/// The same for TTFT. A level's TTFT carries more than its decode: which step its prefill lands
/// in, how a harness's clients fall into waves, a service's admission machinery. On the
/// published tables (`calibration/reference/published/`, docs/DESIGN.md) the server model's
/// held-out TTFT errors are about three times its TPOT errors, so a TTFT interval is three
/// times as wide.
pub const TTFT_SCATTER: f64 = 0.15;

/// Log errors of a model against the targets (TTFT then TPOT per level); a non-finite or
/// non-positive prediction is a very bad fit, not a crash.
pub fn residuals(model: &ServerModel, targets: &[Target]) -> Vec<f64> {
    let mut out = Vec::with_capacity(2 * targets.len());
    for t in targets {
        let sim = closed_run(
            model,
            t.concurrency,
            t.prompt_tokens,
            t.output_tokens,
            t.run_requests,
        );
        let log_error = |predicted: Option<f64>, measured: f64| match predicted {
            Some(v) if v.is_finite() && v > 0.0 => v.ln() - measured.ln(),
            _ => 10.0,
        };
        if let Some(m) = t.ttft_s {
            out.push(log_error(Some(sim.ttft_s), m));
        }
        if let Some(m) = t.tpot_s {
            out.push(log_error(sim.tpot_s, m));
        }
    }
    out
}

/// Finite-difference step in log space: 1 %, wide enough to step over the benchmark's discrete
/// events (which step a prefill lands in) and narrow enough for the curvature.
const FD_STEP: f64 = 0.01;

/// Forward differences: one benchmark of every level per parameter, the columns shared out
/// over the machine's cores (each column is an independent set of runs).
pub fn jacobian_at(targets: &[Target], shape: Shape, u: &[f64]) -> DMatrix<f64> {
    let base = DVector::from_vec(residuals(&model_from(u, shape), targets));
    let column = |k: usize| {
        let mut v = u.to_vec();
        v[k] = u[k] + FD_STEP;
        let plus = DVector::from_vec(residuals(&model_from(&v, shape), targets));
        (plus - &base) / FD_STEP
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, u.len().max(1));
    let columns: Vec<DVector<f64>> = if workers <= 1 {
        (0..u.len()).map(column).collect()
    } else {
        std::thread::scope(|scope| {
            let column = &column;
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    scope.spawn(move || {
                        (w..u.len())
                            .step_by(workers)
                            .map(|k| (k, column(k)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut out: Vec<Option<DVector<f64>>> = vec![None; u.len()];
            for handle in handles {
                let done = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                for (k, c) in done {
                    out[k] = Some(c);
                }
            }
            out.into_iter()
                .map(|c| c.unwrap_or_else(|| DVector::zeros(base.len())))
                .collect()
        })
    };
    let mut j = DMatrix::zeros(base.len(), u.len());
    for (k, c) in columns.iter().enumerate() {
        j.set_column(k, c);
    }
    j
}

/// The scatter of a level's median about the model assumed a priori (log units): how much a
/// prior's pull weighs against a level's error. Five per cent is the closed forms' assumed
/// noise for tables of medians (`fit::noise::assumed_for_medians`).
pub const LEVEL_SCATTER: f64 = TPOT_SCATTER;
/// A parameter's prior standard deviation in log units: a factor of ten either way.
pub const PRIOR_SD: f64 = std::f64::consts::LN_10;

/// A weak Gaussian prior on the log parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Prior {
    pub centre: Vec<f64>,
    pub sd: Vec<f64>,
}

impl Prior {
    /// The prior's rows of the least-squares problem, in the units of a level's log error.
    pub fn residuals(&self, u: &[f64]) -> Vec<f64> {
        u.iter()
            .zip(self.centre.iter().zip(&self.sd))
            .map(|(x, (c, sd))| LEVEL_SCATTER * (x - c) / sd)
            .collect()
    }
    /// The prior's precision in the same units (the diagonal its rows add to JᵀJ).
    pub fn precision(&self) -> DVector<f64> {
        DVector::from_iterator(
            self.sd.len(),
            self.sd.iter().map(|sd| (LEVEL_SCATTER / sd).powi(2)),
        )
    }
}

/// The number of parameters the levels determine under the prior: the trace of the hat matrix
/// `J (JᵀJ + Λ)⁻¹ Jᵀ` (each parameter counts 1 when the data pin it, 0 when the prior does).
pub fn effective_parameters(j: &DMatrix<f64>, prior: &Prior) -> f64 {
    let mut a = j.transpose() * j;
    for (i, p) in prior.precision().iter().enumerate() {
        a[(i, i)] += p;
    }
    match a.try_inverse() {
        Some(inverse) => (j * inverse * j.transpose()).trace(),
        None => j.ncols() as f64,
    }
}
