//! Prediction intervals of the server model: the fit's parameter covariance
//! (`(JᵀJ/s² + P)⁻¹` in log-parameter space, `P` the prior's precision) carried to a predicted
//! figure by its gradient, plus the scatter of a level about the model (`s²`), read with
//! Student's t for the degrees of freedom the fit had left. `s²` is the levels' residual
//! variance pooled with an assumed 5 % scatter worth [`SCATTER_PRIOR_LEVELS`] levels, so three
//! levels that a model happens to fit exactly do not claim a zero-width interval. An interval is
//! for a new measured level's figure, so a held-out level is judged against it.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::bench::closed_run;
use super::params::{
    effective_parameters, jacobian_at, model_from, parameter_names, residuals, vector_of, Prior,
    Shape, Target, LEVEL_SCATTER, TPOT_SCATTER, TTFT_SCATTER,
};
use super::ServerModel;

/// How many levels' worth of weight the assumed scatter ([`LEVEL_SCATTER`]) has beside the
/// fit's own residuals.
pub const SCATTER_PRIOR_LEVELS: f64 = 4.0;

/// The central share an interval covers.
pub const COVERAGE: f64 = 0.90;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Uncertainty {
    /// Names of the parameters, as in the covariance's rows (each a log).
    pub parameters: Vec<String>,
    /// Covariance of the log parameters.
    pub covariance: Vec<Vec<f64>>,
    /// Variance of one level's log figure about the model.
    pub residual_variance: f64,
    pub degrees_of_freedom: usize,
}

/// A figure with its 90 % interval (`low`–`high`) and its 99 % one, the stricter test a gate
/// uses: a figure outside it is a model that does not hold, not bad luck.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub low_99: f64,
    pub high_99: f64,
}

impl Band {
    pub fn contains(&self, x: f64) -> bool {
        x >= self.low && x <= self.high
    }
    pub fn contains_99(&self, x: f64) -> bool {
        x >= self.low_99 && x <= self.high_99
    }
    /// Whether the measurements pin the figure at all: an interval wider than ten times its
    /// centre (e.g. "0.0–14,062,007,593 ms around 29 ms") says they do not, and is printed as
    /// such rather than as numbers.
    pub fn identified(&self) -> bool {
        self.high.is_finite() && self.high - self.low <= 10.0 * self.value.abs()
    }

    /// The band with every figure multiplied by `k`.
    pub fn scaled(self, k: f64) -> Band {
        Band {
            value: self.value * k,
            low: self.low * k,
            high: self.high * k,
            low_99: self.low_99 * k,
            high_99: self.high_99 * k,
        }
    }
}

/// TTFT and TPOT at one level with their intervals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelBands {
    pub ttft_s: Band,
    pub tpot_s: Option<Band>,
}

/// Two-sided 90 % quantile of Student's t (`t₀.₉₅`) for `dof` degrees of freedom.
pub fn student_t90(dof: usize) -> f64 {
    const TABLE: [f64; 30] = [
        6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
        1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
        1.703, 1.701, 1.699, 1.697,
    ];
    match dof {
        0 => f64::INFINITY,
        d if d <= 30 => TABLE[d - 1],
        _ => 1.645,
    }
}

/// Two-sided 99 % quantile of Student's t (`t₀.₉₉₅`).
pub fn student_t99(dof: usize) -> f64 {
    const TABLE: [f64; 30] = [
        63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055, 3.012,
        2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779,
        2.771, 2.763, 2.756, 2.750,
    ];
    match dof {
        0 => f64::INFINITY,
        d if d <= 30 => TABLE[d - 1],
        _ => 2.576,
    }
}

impl Uncertainty {
    /// From a solved fit at `u` under `prior`.
    pub fn estimate(
        targets: &[Target],
        shape: Shape,
        u: &[f64],
        prior: &Prior,
    ) -> Option<Uncertainty> {
        let errors = residuals(&model_from(u, shape), targets);
        let cost: f64 = errors.iter().map(|e| e * e).sum();
        if !cost.is_finite() {
            return None;
        }
        let j = jacobian_at(targets, shape, u);
        let k = u.len();
        let spare = (errors.len() as f64 - effective_parameters(&j, prior)).max(0.0);
        let dof = spare + SCATTER_PRIOR_LEVELS;
        let s2 = (cost + SCATTER_PRIOR_LEVELS * LEVEL_SCATTER * LEVEL_SCATTER) / dof;
        let mut precision = j.transpose() * &j / s2;
        for (i, sd) in prior.sd.iter().enumerate() {
            precision[(i, i)] += 1.0 / (sd * sd);
        }
        let covariance = precision.try_inverse()?;
        Some(Uncertainty {
            parameters: parameter_names(shape)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            covariance: (0..k)
                .map(|r| (0..k).map(|c| covariance[(r, c)]).collect())
                .collect(),
            residual_variance: s2,
            degrees_of_freedom: dof.floor() as usize,
        })
    }

    fn matrix(&self) -> Option<DMatrix<f64>> {
        let k = self.covariance.len();
        if k != self.parameters.len() || self.covariance.iter().any(|row| row.len() != k) {
            return None;
        }
        Some(DMatrix::from_fn(k, k, |r, c| self.covariance[r][c]))
    }

    /// Both figures at a level with their intervals.
    pub fn bands(
        &self,
        model: &ServerModel,
        concurrency: f64,
        prompt_tokens: f64,
        output_tokens: f64,
        run_requests: Option<usize>,
    ) -> LevelBands {
        let shape = Shape::of(model);
        let u = vector_of(model);
        let at = |v: &[f64]| {
            closed_run(
                &model_from(v, shape),
                concurrency,
                prompt_tokens,
                output_tokens,
                run_requests,
            )
        };
        let centre = at(&u);
        let h = 0.01;
        let k = u.len();
        let mut g_ttft = DVector::zeros(k);
        let mut g_tpot = DVector::zeros(k);
        let mut v = u.clone();
        for i in 0..k {
            v[i] = u[i] + h;
            let plus = at(&v);
            v[i] = u[i] - h;
            let minus = at(&v);
            v[i] = u[i];
            g_ttft[i] = (plus.ttft_s.ln() - minus.ttft_s.ln()) / (2.0 * h);
            if let (Some(a), Some(b)) = (plus.tpot_s, minus.tpot_s) {
                g_tpot[i] = (a.ln() - b.ln()) / (2.0 * h);
            }
        }
        let t = student_t90(self.degrees_of_freedom);
        let t99 = student_t99(self.degrees_of_freedom);
        let band = |value: f64, g: &DVector<f64>, scale: f64| {
            // A covariance of another shape's parameters (a hand-edited profile) adds nothing.
            let parameter_var = self
                .matrix()
                .filter(|c| c.nrows() == g.len())
                .map(|c| (g.transpose() * c * g)[(0, 0)])
                .unwrap_or(0.0)
                .max(0.0);
            let sd = (parameter_var + scale * scale * self.residual_variance.max(0.0)).sqrt();
            let spread = (t * sd).min(20.0);
            let spread_99 = (t99 * sd).min(20.0);
            Band {
                value,
                low: value * (-spread).exp(),
                high: value * spread.exp(),
                low_99: value * (-spread_99).exp(),
                high_99: value * spread_99.exp(),
            }
        };
        LevelBands {
            ttft_s: band(centre.ttft_s, &g_ttft, TTFT_SCATTER / TPOT_SCATTER),
            tpot_s: centre.tpot_s.map(|v| band(v, &g_tpot, 1.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_ten_times_its_centre_is_not_identified() {
        let band = |low: f64, high: f64| Band {
            value: 29.0,
            low,
            high,
            low_99: low,
            high_99: high,
        };
        assert!(band(20.0, 40.0).identified());
        assert!(band(0.0, 290.0).identified());
        assert!(!band(0.0, 14_062_007_593.0).identified());
        assert!(!band(0.0, f64::INFINITY).identified());
    }
}
