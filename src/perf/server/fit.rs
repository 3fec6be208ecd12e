//! Fitting the server model by simulation: the parameters are chosen so that the closed-loop
//! benchmark of the model (`bench`) reproduces the measured levels, TTFT and TPOT together, in
//! log space (every level weighs by its relative error). The benchmark is deterministic, so the
//! objective is smooth enough for Levenberg–Marquardt with finite differences.
//!
//! The sharing policy and the batch limit B are discrete: each policy is fitted with B
//! unbounded, then B is searched on a grid for the best policy; the candidate with the lowest
//! error corrected for degrees of freedom wins, so B is kept only when the data pay for it.
//!
//! Every parameter has a weak prior (a factor of ten either way at one standard deviation,
//! centred on the starting point the levels suggest), so a short table (three levels: six
//! figures for eight or nine parameters) still fits: what the levels identify comes from them,
//! what they cannot tell apart (the step's cost per sequence and per context token at one
//! prompt size) stays near its prior and its interval says so.

use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{storage::Owned, DMatrix, DVector, Dyn};
use serde::{Deserialize, Serialize};

use super::interval::Uncertainty;
pub use super::params::{
    effective_parameters, jacobian_at, model_from, parameter_names, residuals, vector_of, Prior,
    Shape, Target, LEVEL_SCATTER, PARAMETERS, PRIOR_SD,
};
use super::{Experts, Floors, Served, ServerModel, Sharing, REPLY_SPREAD};

/// How one candidate did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerCandidate {
    pub sharing: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<f64>,
    pub parameters: usize,
    /// Root-mean-square log error over every measured TTFT and TPOT, in percent.
    pub in_sample_rms_pct: f64,
    /// The same, corrected for the parameters spent: `rms·sqrt(m/(m − k))`.
    pub corrected_rms_pct: f64,
    pub chosen: bool,
}

/// The fitted server with what the intervals need.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerFit {
    pub model: ServerModel,
    pub uncertainty: Option<Uncertainty>,
    pub candidates: Vec<ServerCandidate>,
}

struct Problem<'a> {
    targets: &'a [Target],
    shape: Shape,
    prior: &'a Prior,
    u: DVector<f64>,
}

impl Problem<'_> {
    /// The levels' log errors followed by the prior's rows.
    fn at(&self, u: &[f64]) -> DVector<f64> {
        let mut r = residuals(&model_from(u, self.shape), self.targets);
        r.extend(self.prior.residuals(u));
        DVector::from_vec(r)
    }
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.u.copy_from(x);
    }
    fn params(&self) -> DVector<f64> {
        self.u.clone()
    }
    fn residuals(&self) -> Option<DVector<f64>> {
        Some(self.at(self.u.as_slice()))
    }
    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let data = jacobian_at(self.targets, self.shape, self.u.as_slice());
        let k = data.ncols();
        let precision = self.prior.precision();
        let mut j = DMatrix::zeros(data.nrows() + k, k);
        j.rows_mut(0, data.nrows()).copy_from(&data);
        for i in 0..k {
            j[(data.nrows() + i, i)] = precision[i].sqrt();
        }
        Some(j)
    }
}

/// Least squares from each start; the best `(u, sum of squares with the prior's rows)`.
fn solve(
    targets: &[Target],
    shape: Shape,
    prior: &Prior,
    starts: &[Vec<f64>],
    patience: usize,
) -> (Vec<f64>, f64) {
    // Converged once the sum of squares and the parameters move by less than 1e-4 relative: a
    // level's error is read to a tenth of a per cent, and tighter tolerances cost 2-5× the
    // benchmark runs for the same figures.
    let solver = LevenbergMarquardt::new()
        .with_patience(patience)
        .with_ftol(1e-4)
        .with_xtol(1e-4);
    starts
        .iter()
        .map(|start| {
            let problem = Problem {
                targets,
                shape,
                prior,
                u: DVector::from_column_slice(start),
            };
            let (solved, _) = solver.minimize(problem);
            let cost = solved.at(solved.u.as_slice()).norm_squared();
            (
                solved.u.as_slice().to_vec(),
                if cost.is_finite() {
                    cost
                } else {
                    f64::INFINITY
                },
            )
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((starts[0].clone(), f64::INFINITY))
}

/// Starting points from the levels: the decode step from the lowest-concurrency TPOT, the
/// prefill from how the lowest-concurrency TTFT grows with the prompt.
fn starts(targets: &[Target], experts: Option<Experts>) -> Vec<Vec<f64>> {
    let c_min = targets
        .iter()
        .map(|t| t.concurrency)
        .fold(f64::INFINITY, f64::min);
    let low: Vec<&Target> = targets
        .iter()
        .filter(|t| t.concurrency <= c_min * 1.001)
        .collect();
    let tpot0 = low
        .iter()
        .chain(targets.iter().collect::<Vec<_>>().iter())
        .filter_map(|t| t.tpot_s)
        .fold(f64::INFINITY, f64::min);
    let tpot0 = if tpot0.is_finite() { tpot0 } else { 0.02 };
    let k_max = targets
        .iter()
        .map(|t| t.concurrency * (t.prompt_tokens + t.output_tokens / 2.0))
        .fold(1.0, f64::max);
    let n_max = targets.iter().map(|t| t.concurrency).fold(1.0, f64::max);
    // TTFT at the lowest concurrency against prompt size: a line through the extremes.
    let mut ttft_low: Vec<(f64, f64)> = low
        .iter()
        .filter_map(|t| t.ttft_s.map(|v| (t.prompt_tokens, v)))
        .collect();
    ttft_low.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (slope, ttft_small, p_small) = match (ttft_low.first(), ttft_low.last()) {
        (Some(&(p0, v0)), Some(&(p1, v1))) if p1 > p0 * 1.5 && v1 > v0 => {
            ((v1 - v0) / (p1 - p0), v0, p0)
        }
        (Some(&(p0, v0)), _) => (0.5 * v0 / p0.max(1.0), v0, p0),
        _ => (1e-5, 0.1, 1.0),
    };
    let p_max = targets.iter().map(|t| t.prompt_tokens).fold(1.0, f64::max);
    let overhead = (ttft_small - slope * p_small - 0.5 * tpot0).max(0.05 * ttft_small);
    let l = |x: f64| x.max(1e-300).ln();
    let mut out = Vec::new();
    for (attention_share, per_n) in [(0.02, 0.2), (0.3, 0.5), (0.02, 1.0)] {
        let prefill = slope * p_max * (1.0 - attention_share);
        let mut u = vec![
            l(0.8 * tpot0),
            l(per_n * tpot0 / n_max),
            l(0.3 * tpot0 / k_max),
            l(0.1 * tpot0 * n_max / k_max),
            l(overhead),
            l(prefill / p_max),
            l(2.0 * slope * p_max * attention_share / (p_max * p_max)),
            l(0.2 * overhead),
        ];
        if experts.is_some() {
            // Reading every routed expert: about as long as the lightest step again.
            u.push(l(0.5 * tpot0));
        }
        out.push(u);
    }
    out
}

/// Indices of the floored parameters in the vector and their floors.
fn floored(floors: Floors) -> [(usize, f64); 5] {
    [
        (0, floors.step_t0_s),
        (2, floors.step_s_per_held_token),
        (5, floors.prefill_s_per_token),
        (6, floors.attention_s_per_token2),
        (8, floors.experts_step_s),
    ]
}

/// A start (log parameters) as excesses over the floors: a floored parameter starts at the
/// level-suggested value's excess over its floor, or at twice its floor when the levels
/// suggest less (half the peak, a typical efficiency).
fn above_floors(mut u: Vec<f64>, floors: Option<Floors>) -> Vec<f64> {
    let Some(f) = floors else { return u };
    for (i, floor) in floored(f) {
        if let Some(x) = u.get_mut(i) {
            if floor > 0.0 {
                *x = (x.exp() - floor).max(floor).ln();
            }
        }
    }
    u
}

/// How little a prefill prior is trusted where the levels cannot tell prefill from overhead:
/// a factor of two either way around half the peak. An assumption, not a measurement: large
/// prefills are matrix products that commonly run at a third to two thirds of the peak, and
/// the intervals carry the factor of two.
pub const ROOFLINE_PRIOR_SD: f64 = std::f64::consts::LN_2;

/// The prior: centred on the first start, a factor of ten either way; with the hardware's
/// floors and one prompt length (prefill and the fixed overhead told apart by nothing), the
/// prefill's per-token and attention costs centred on twice their floors, a factor of two
/// either way (`prefill_prior_from_roofline`).
fn prior_of(targets: &[Target], start: &[f64], floors: Option<Floors>) -> Prior {
    let mut prior = Prior {
        centre: start.to_vec(),
        sd: vec![PRIOR_SD; start.len()],
    };
    if let Some(f) = floors.filter(|_| prefill_unidentified(targets)) {
        for (i, floor) in [(5, f.prefill_s_per_token), (6, f.attention_s_per_token2)] {
            if floor > 0.0 {
                prior.centre[i] = floor.ln();
                prior.sd[i] = ROOFLINE_PRIOR_SD;
            }
        }
    }
    prior
}

/// Whether the levels measure TTFT at only one prompt length, so that a prompt token's cost
/// and the fixed overhead cannot be told apart.
pub fn prefill_unidentified(targets: &[Target]) -> bool {
    let mut prompts: Vec<f64> = targets
        .iter()
        .filter(|t| t.ttft_s.is_some())
        .map(|t| t.prompt_tokens)
        .collect();
    prompts.sort_by(f64::total_cmp);
    prompts.dedup_by(|a, b| (*a - *b).abs() <= 0.05 * b.abs());
    prompts.len() < 2
}

/// Number of residuals the targets give (the levels' figures, not the prior's rows).
fn residual_count(targets: &[Target]) -> usize {
    targets
        .iter()
        .map(|t| usize::from(t.ttft_s.is_some()) + usize::from(t.tpot_s.is_some()))
        .sum()
}

/// Fits the server model to the targets (`experts`: the model's routed experts, from the model
/// catalog, for a mixture-of-experts model).
pub fn fit(targets: &[Target], served: Served) -> Option<ServerFit> {
    let m = residual_count(targets);
    if m < 2 || targets.is_empty() {
        return None;
    }
    let experts = served.experts;
    let floors = served.floors;
    let starts: Vec<Vec<f64>> = starts(targets, experts)
        .into_iter()
        .map(|u| above_floors(u, floors))
        .collect();
    let prior = prior_of(targets, &starts[0], floors);
    let mut tried: Vec<(Shape, Vec<f64>, f64)> = Vec::new();
    for reply_spread in [0.0, REPLY_SPREAD] {
        for sharing in Sharing::CANDIDATES {
            let shape = Shape {
                sharing,
                max_batch: None,
                experts,
                floors,
                reply_spread,
                shared_prefix_tokens: served.shared_prefix_tokens,
            };
            // From the prior's centre: with every parameter held near it, the other starting
            // points reached the same fits on every published table at three times the cost.
            let (u, cost) = solve(targets, shape, &prior, &starts[..1], 30);
            tried.push((shape, u, cost));
        }
    }
    // B: a coarse grid (between the second-lowest and the highest concurrency, ×1.5),
    // warm-started from each policy's unbounded fit; then a finer one (×1.04) around the best
    // pair, and a full solve there.
    let mut concurrencies: Vec<f64> = targets.iter().map(|t| t.concurrency).collect();
    concurrencies.sort_by(f64::total_cmp);
    concurrencies.dedup();
    if concurrencies.len() >= 3 {
        let (lo, hi) = (concurrencies[1], concurrencies[concurrencies.len() - 1]);
        let mut grid = Vec::new();
        let mut b = lo;
        while b < hi {
            grid.push(b.round().max(1.0));
            b *= 1.5;
        }
        grid.dedup();
        let try_b = |like: Shape, b: f64, start: &[f64]| {
            let shape = Shape {
                max_batch: Some(b),
                ..like
            };
            let (u, cost) = solve(targets, shape, &prior, &[start.to_vec()], 4);
            (shape, u, cost)
        };
        // Every policy's grid: the policy that fits worst without a limit can be the one that
        // fits best with it (a plateau reads as a different sharing until B explains it).
        let unbounded = tried.clone();
        let coarse: Vec<_> = unbounded
            .iter()
            .flat_map(|(shape, u, _)| grid.iter().map(|&b| try_b(*shape, b, u)))
            .collect();
        // Each candidate's best B refined and solved in full, so that candidates fitting the
        // levels alike are compared on equal terms.
        for like in unbounded.iter().map(|t| t.0) {
            let Some(top) = coarse
                .iter()
                .filter(|c| c.0.sharing == like.sharing && c.0.reply_spread == like.reply_spread)
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .cloned()
            else {
                continue;
            };
            let centre = top.0.max_batch.unwrap_or(hi);
            let mut fine: Vec<f64> = (-5..=5)
                .map(|i| (centre * 1.04_f64.powi(i)).round().max(1.0))
                .collect();
            fine.dedup();
            let refined = fine
                .iter()
                .map(|&b| try_b(top.0, b, &top.1))
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .unwrap_or(top);
            let (u, cost) = solve(
                targets,
                refined.0,
                &prior,
                std::slice::from_ref(&refined.1),
                30,
            );
            tried.push((refined.0, u, cost));
        }
    }
    // Each candidate scored by its levels' error corrected for the parameters the levels
    // actually determined (the effective count under the prior), B counting as one more.
    let scored: Vec<Scored> = tried
        .iter()
        .map(|(shape, u, _)| Scored::of(targets, *shape, u, &prior))
        .collect();
    let chosen = (0..tried.len())
        .min_by(|&a, &b| {
            scored[a]
                .corrected_rms_pct
                .total_cmp(&scored[b].corrected_rms_pct)
        })
        .expect("candidates tried");
    let candidates = tried
        .iter()
        .zip(&scored)
        .enumerate()
        .map(|(i, (t, s))| ServerCandidate {
            sharing: if t.0.reply_spread > 0.0 {
                format!("{}, replies 80–100 %", t.0.sharing.label())
            } else {
                t.0.sharing.label()
            },
            max_batch: t.0.max_batch,
            parameters: t.1.len() + usize::from(t.0.max_batch.is_some()),
            in_sample_rms_pct: s.rms_pct,
            corrected_rms_pct: s.corrected_rms_pct,
            chosen: i == chosen,
        })
        .collect();
    let (shape, u, cost) = tried.swap_remove(chosen);
    if !cost.is_finite() || !scored[chosen].corrected_rms_pct.is_finite() {
        return None;
    }
    let model = without_vanishing_terms(model_from(&u, shape));
    let uncertainty = Uncertainty::estimate(targets, shape, &u, &prior);

    Some(ServerFit {
        model,
        uncertainty,
        candidates,
    })
}

/// A candidate's error on its levels, plain and corrected for the parameters spent.
struct Scored {
    rms_pct: f64,
    corrected_rms_pct: f64,
}

impl Scored {
    fn of(targets: &[Target], shape: Shape, u: &[f64], prior: &Prior) -> Scored {
        let errors = residuals(&model_from(u, shape), targets);
        let m = errors.len() as f64;
        let rms = 100.0 * (errors.iter().map(|e| e * e).sum::<f64>() / m).sqrt();
        let k = effective_parameters(&jacobian_at(targets, shape, u), prior)
            + f64::from(u8::from(shape.max_batch.is_some()));
        let corrected = if m - k >= 0.5 {
            rms * (m / (m - k)).sqrt()
        } else {
            f64::INFINITY
        };
        Scored {
            rms_pct: if rms.is_finite() { rms } else { f64::INFINITY },
            corrected_rms_pct: if corrected.is_finite() {
                corrected
            } else {
                f64::INFINITY
            },
        }
    }
}

/// A term the fit drove to nothing (below 1e-30 of its unit: the data show no such cost) is
/// written as 0 rather than as a denormal with three hundred digits.
fn without_vanishing_terms(mut model: ServerModel) -> ServerModel {
    for value in [
        &mut model.step.t1_s,
        &mut model.step.t2_s,
        &mut model.step_s_per_mean_context,
        &mut model.overhead_s,
        &mut model.prefill_s_per_token,
        &mut model.attention_s_per_token2,
        &mut model.prefill_s_per_request,
    ] {
        if *value < 1e-30 {
            *value = 0.0;
        }
    }
    model
}
