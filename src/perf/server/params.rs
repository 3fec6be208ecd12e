//! The server model as a vector of parameters: the fixed, discrete shape of a candidate, the
//! targets a fit matches, the log errors of a model against them and their Jacobian. Shared by
//! the fit and the intervals.

use nalgebra::{DMatrix, DVector};

use super::bench::closed_run;
use super::{ServerModel, Sharing};
use crate::perf::model::{TpotForm, TpotModel};

/// Names of the continuous parameters, in the order of the fit's vector (each fitted as its log).
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
}

pub fn model_from(u: &[f64], shape: Shape) -> ServerModel {
    let e = |x: f64| x.clamp(-700.0, 700.0).exp();
    ServerModel {
        max_batch: shape.max_batch,
        step: TpotModel {
            form: TpotForm::Linear,
            t0_s: e(u[0]),
            t1_s: e(u[1]),
            t2_s: e(u[2]),
            theta: None,
            equation: TpotForm::Linear.equation().to_string(),
        },
        step_s_per_mean_context: e(u[3]),
        overhead_s: e(u[4]),
        prefill_s_per_token: e(u[5]),
        attention_s_per_token2: e(u[6]),
        prefill_s_per_request: e(u[7]),
        sharing: shape.sharing,
    }
}

/// The parameter vector of a model (inverse of [`model_from`]); zeros become tiny.
pub fn vector_of(model: &ServerModel) -> Vec<f64> {
    let l = |x: f64| x.max(1e-300).ln();
    vec![
        l(model.step.t0_s),
        l(model.step.t1_s),
        l(model.step.t2_s),
        l(model.step_s_per_mean_context),
        l(model.overhead_s),
        l(model.prefill_s_per_token),
        l(model.attention_s_per_token2),
        l(model.prefill_s_per_request),
    ]
}

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

/// Forward differences: one benchmark of every level per parameter.
pub fn jacobian_at(targets: &[Target], shape: Shape, u: &[f64]) -> DMatrix<f64> {
    let base = DVector::from_vec(residuals(&model_from(u, shape), targets));
    let mut j = DMatrix::zeros(base.len(), u.len());
    let mut v = u.to_vec();
    for k in 0..u.len() {
        v[k] = u[k] + FD_STEP;
        let plus = DVector::from_vec(residuals(&model_from(&v, shape), targets));
        v[k] = u[k];
        j.set_column(k, &((plus - &base) / FD_STEP));
    }
    j
}
