//! Prediction intervals of the server model: the fit's parameter covariance
//! (`s²·(JᵀJ)⁺` in log-parameter space) carried to a predicted figure by its gradient, plus the
//! scatter of a level about the model (`s²`), read with Student's t for the degrees of freedom
//! the fit had left. An interval is for a new measured level's figure, so a held-out level is
//! judged against it.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use super::bench::closed_run;
use super::params::{jacobian_at, model_from, vector_of, Shape, Target, PARAMETERS};
use super::ServerModel;

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
    /// From a solved fit: `cost` is the sum of squared log errors over `m` residuals.
    pub fn estimate(
        targets: &[Target],
        shape: Shape,
        u: &[f64],
        cost: f64,
        m: usize,
    ) -> Option<Uncertainty> {
        let k = u.len();
        if m <= k || !cost.is_finite() {
            return None;
        }
        let s2 = cost / (m - k) as f64;
        let j = jacobian_at(targets, shape, u);
        let jtj = j.transpose() * &j;
        let tolerance = 1e-10 * jtj.norm();
        let inverse = jtj.pseudo_inverse(tolerance).ok()?;
        let covariance = inverse * s2;
        Some(Uncertainty {
            parameters: PARAMETERS.iter().map(|s| s.to_string()).collect(),
            covariance: (0..k)
                .map(|r| (0..k).map(|c| covariance[(r, c)]).collect())
                .collect(),
            residual_variance: s2,
            degrees_of_freedom: m - k,
        })
    }

    fn matrix(&self) -> Option<DMatrix<f64>> {
        let k = self.covariance.len();
        if k != PARAMETERS.len() || self.covariance.iter().any(|row| row.len() != k) {
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
        let shape = Shape {
            sharing: model.sharing,
            max_batch: model.max_batch,
        };
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
        let band = |value: f64, g: &DVector<f64>| {
            let parameter_var = self
                .matrix()
                .map(|c| (g.transpose() * c * g)[(0, 0)])
                .unwrap_or(0.0)
                .max(0.0);
            let sd = (parameter_var + self.residual_variance.max(0.0)).sqrt();
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
            ttft_s: band(centre.ttft_s, &g_ttft),
            tpot_s: centre.tpot_s.map(|v| band(v, &g_tpot)),
        }
    }
}
